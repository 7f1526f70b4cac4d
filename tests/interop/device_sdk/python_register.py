#!/usr/bin/env python3
"""Device registrations with the official Python device SDK (`azure-iot-device` 2.14.0).

Runs each case of a JSON case file through `ProvisioningDeviceClient.register()`, the SDK's
public API and nothing else, and prints one line per case:

    device-sdk-case: {"sdk": "python", "case": NAME, "ok": true, "status": ..., ...}
    device-sdk-case: {"sdk": "python", "case": NAME, "ok": false, "error": "CredentialError", ...}

then `device-sdk-summary: {...}` last. The SDK provisions only over MQTT: port 8883, or MQTT
over WebSocket on port 443 (`"websockets": true`); neither port can be changed, so against a
local emulator these must be its ports.

The case file:

    {
      "host": "localhost",                  # provisioning_host
      "idScope": "0ne...",
      "caFile": "emulator-ca.cert.pem",     # trusted as PEM text (server_verification_cert)
      "cases": [
        {"name": "x509", "registrationId": "dev1", "attestation": "x509",
         "certFile": "dev1-full-chain.cert.pem", "keyFile": "dev1.key.pem", "websockets": false},
        {"name": "key", "registrationId": "dev2", "attestation": "symmetricKey",
         "symmetricKey": "base64..."}
      ]
    }

Nothing here is specific to the dps-rs emulator: against Azure, `host` is
`global.azure-devices-provisioning.net` and no CA is needed. Set `DPS_DEVICE_SDK_LOG=debug` to
see the SDK's own log (paho's MQTT packets included) on stderr.

Exit status: 0 when every case ran (a refusal is a result, reported on its line, not a failure
of the script), 2 on bad usage.
"""

import json
import logging
import os
import sys
import time
import traceback
from importlib import metadata

from azure.iot.device import ProvisioningDeviceClient, X509

CASE_PREFIX = "device-sdk-case: "
SUMMARY_PREFIX = "device-sdk-summary: "


def emit(prefix, value):
    print(prefix + json.dumps(value, sort_keys=True), flush=True)


def make_client(config, case, ca_pem):
    common = dict(
        provisioning_host=config["host"],
        registration_id=case["registrationId"],
        id_scope=config["idScope"],
        server_verification_cert=ca_pem,
        websockets=bool(case.get("websockets", False)),
    )
    if case["attestation"] == "x509":
        return ProvisioningDeviceClient.create_from_x509_certificate(
            x509=X509(cert_file=case["certFile"], key_file=case["keyFile"]), **common
        )
    if case["attestation"] == "symmetricKey":
        return ProvisioningDeviceClient.create_from_symmetric_key(
            symmetric_key=case["symmetricKey"], **common
        )
    raise ValueError("unknown attestation " + repr(case["attestation"]))


def causes(exc):
    """The exception's cause chain (type and message), outermost first after `exc`."""
    out = []
    seen = {id(exc)}
    inner = exc.__cause__ or exc.__context__
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        out.append({"type": type(inner).__name__, "message": str(inner)})
        inner = inner.__cause__ or inner.__context__
    return out


def run_case(config, case, ca_pem):
    line = {
        "sdk": "python",
        "case": case["name"],
        "registrationId": case["registrationId"],
        "websockets": bool(case.get("websockets", False)),
    }
    started = time.monotonic()
    try:
        client = make_client(config, case, ca_pem)
        result = client.register()
    except Exception as exc:  # every refusal is a result to report
        line.update(
            ok=False,
            error=type(exc).__name__,
            message=str(exc),
            causes=causes(exc),
        )
        traceback.print_exc(file=sys.stderr)
    else:
        state = result.registration_state
        line.update(
            ok=True,
            operationId=result.operation_id,
            status=result.status,
            assignedHub=state.assigned_hub if state else None,
            deviceId=state.device_id if state else None,
            substatus=state.sub_status if state else None,
            etag=state.etag if state else None,
        )
    line["seconds"] = round(time.monotonic() - started, 2)
    emit(CASE_PREFIX, line)
    return line


def main(argv):
    if len(argv) != 2:
        print("usage: python_register.py CASES.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        config = json.load(f)
    level = os.environ.get("DPS_DEVICE_SDK_LOG", "warning").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.WARNING),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with open(config["caFile"], encoding="utf-8") as f:
        ca_pem = f.read()

    lines = [run_case(config, case, ca_pem) for case in config["cases"]]
    emit(
        SUMMARY_PREFIX,
        {
            "sdk": "python",
            "package": "azure-iot-device",
            "version": metadata.version("azure-iot-device"),
            "cases": len(lines),
            "registered": sum(1 for l in lines if l["ok"]),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
