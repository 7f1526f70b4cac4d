#!/usr/bin/env node
// Device registrations with the official Node provisioning device SDK over MQTT
// (azure-iot-provisioning-device + azure-iot-provisioning-device-mqtt, with the
// azure-iot-security-x509 and azure-iot-security-symmetric-key security clients; versions in
// package.json beside this file).
//
// Runs each case of a JSON case file (the format python_register.py reads; "transport" is
// "mqtt" or "mqttWs") through ProvisioningDeviceClient.create(...).register(), the SDK's public
// API and nothing else, and prints one line per case:
//
//     device-sdk-case: {"sdk":"node","case":NAME,"ok":true,"result":{...registration state...}}
//     device-sdk-case: {"sdk":"node","case":NAME,"ok":false,"error":"UnauthorizedError",...}
//
// then `device-sdk-summary: {...}` last. The MQTT transport connects to port 8883 of the host,
// the WebSocket transport to port 443. The emulator's CA is trusted through
// NODE_EXTRA_CA_CERTS, as Node does for any private CA; caFile in the case file is not read.
// Exit status: 0 when every case ran (a refusal is a result), 2 on bad usage.
'use strict';

const fs = require('fs');
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device');
const { Mqtt, MqttWs } = require('azure-iot-provisioning-device-mqtt');
const { X509Security } = require('azure-iot-security-x509');
const { SymmetricKeySecurityClient } = require('azure-iot-security-symmetric-key');

const CASE_PREFIX = 'device-sdk-case: ';
const SUMMARY_PREFIX = 'device-sdk-summary: ';

function emit(prefix, value) {
  process.stdout.write(prefix + JSON.stringify(value) + '\n');
}

function transportFor(c) {
  switch (c.transport || 'mqtt') {
    case 'mqtt':
      return new Mqtt();
    case 'mqttWs':
      return new MqttWs();
    default:
      throw new Error('unknown transport ' + JSON.stringify(c.transport));
  }
}

function securityFor(c) {
  if (c.attestation === 'x509') {
    // The certificate file holds the leaf and the CAs above it; Node's TLS sends them all.
    return new X509Security(c.registrationId, {
      cert: fs.readFileSync(c.certFile, 'utf8'),
      key: fs.readFileSync(c.keyFile, 'utf8'),
    });
  }
  if (c.attestation === 'symmetricKey') {
    return new SymmetricKeySecurityClient(c.registrationId, c.symmetricKey);
  }
  throw new Error('unknown attestation ' + JSON.stringify(c.attestation));
}

function describeError(err) {
  const out = {
    error: (err && (err.name || (err.constructor && err.constructor.name))) || String(err),
    message: err && err.message !== undefined ? String(err.message) : String(err),
  };
  if (err && err.transportError) {
    out.transportError = {
      name: err.transportError.name,
      message: String(err.transportError.message),
    };
  }
  if (err && err.result !== undefined) {
    out.result = err.result;
  }
  return out;
}

function runCase(config, c) {
  return new Promise((resolve) => {
    const line = {
      sdk: 'node',
      case: c.name,
      registrationId: c.registrationId,
      transport: c.transport || 'mqtt',
    };
    const started = process.hrtime.bigint();
    const done = () => {
      line.seconds = Number((process.hrtime.bigint() - started) / 10000000n) / 100;
      emit(CASE_PREFIX, line);
      resolve(line);
    };
    let client;
    try {
      client = ProvisioningDeviceClient.create(
        config.host,
        config.idScope,
        transportFor(c),
        securityFor(c),
      );
    } catch (err) {
      Object.assign(line, { ok: false }, describeError(err));
      done();
      return;
    }
    client.register((err, result) => {
      if (err) {
        Object.assign(line, { ok: false }, describeError(err));
        process.stderr.write(`${c.name}: ${err && err.stack ? err.stack : err}\n`);
      } else {
        Object.assign(line, { ok: true, result });
      }
      done();
    });
  });
}

async function main(argv) {
  if (argv.length !== 3) {
    process.stderr.write('usage: node node_register.js CASES.json\n');
    return 2;
  }
  const config = JSON.parse(fs.readFileSync(argv[2], 'utf8'));
  const lines = [];
  for (const c of config.cases) {
    lines.push(await runCase(config, c));
  }
  const version = (name) => require(name + '/package.json').version;
  emit(SUMMARY_PREFIX, {
    sdk: 'node',
    packages: {
      'azure-iot-provisioning-device': version('azure-iot-provisioning-device'),
      'azure-iot-provisioning-device-mqtt': version('azure-iot-provisioning-device-mqtt'),
      'azure-iot-security-x509': version('azure-iot-security-x509'),
      'azure-iot-security-symmetric-key': version('azure-iot-security-symmetric-key'),
    },
    cases: lines.length,
    registered: lines.filter((l) => l.ok).length,
  });
  return 0;
}

main(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`node_register.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
