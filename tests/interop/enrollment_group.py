#!/usr/bin/env python3
"""Enrollment-group lifecycle with the official Python service SDK.

The steps of the Azure DPS X.509 quickstart's enrollment-group program, run with
`azure-iothub-provisioningserviceclient` 1.2.0 (import name `provisioningserviceclient`),
plus checks after every step:

  1. create an X.509 enrollment group whose primary signing certificate is the given CA;
  2. read it back;
  3. query all enrollment groups and find it;
  4. delete it, sending its etag;
  5. read it again, which must fail with 404.

Usage:
    DPS_CONNECTION_STRING='HostName=...;SharedAccessKeyName=...;SharedAccessKey=...' \
        python enrollment_group.py CA_CERT_PEM GROUP_ID [--keep]

`--keep` stops after step 3 and leaves the group in place, so that another client can
inspect what this SDK wrote.

Nothing here is specific to the dps-rs emulator. Against the emulator, the connection string
names `HostName=localhost:PORT` and `REQUESTS_CA_BUNDLE` points at the emulator's CA
certificate; against Azure, neither is needed.

The last line of stdout is `interop-summary: {json}`, for callers that check the results.
Exit status: 0 when every check passes, 1 on a failed check or a service error, 2 on bad usage.
"""

import hashlib
import json
import logging
import os
import re
import ssl
import sys

from provisioningserviceclient import (
    ProvisioningServiceClient,
    ProvisioningServiceError,
    QuerySpecification,
)
from provisioningserviceclient.models import AttestationMechanism, EnrollmentGroup

# The API version the 1.2.0 SDK sends on every request.
EXPECTED_API_VERSION = "2018-09-01-preview"


class CheckFailed(Exception):
    """A result differs from what the step should have produced."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


class WireLog(logging.Handler):
    """Keeps the request line and status of every HTTP exchange.

    urllib3 (under requests, under msrest) logs one debug line per response, of the form
    `https://host:port "PUT /path?query HTTP/1.1" 200 123`. Reading that log changes nothing
    in what the SDK sends.
    """

    LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3})')

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.exchanges = []

    def emit(self, record):
        match = self.LINE.search(record.getMessage())
        if match:
            method, target, status = match.group(1), match.group(2), int(match.group(3))
            self.exchanges.append((method, target, status))
            print("  wire: {} {} -> {}".format(method, target, status), flush=True)


def install_wire_log():
    handler = WireLog()
    logger = logging.getLogger("urllib3.connectionpool")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    logger.propagate = False
    return handler


def thumbprints(pem_text):
    der = ssl.PEM_cert_to_DER_cert(pem_text)
    return (
        hashlib.sha1(der).hexdigest().upper(),
        hashlib.sha256(der).hexdigest().upper(),
    )


def primary_signing_info(group, what):
    x509 = group.attestation.x509 if group.attestation else None
    check(x509 is not None, "{}: the attestation has no x509 section".format(what))
    signing = x509.signing_certificates
    check(signing is not None and signing.primary is not None,
          "{}: no primary signing certificate".format(what))
    info = signing.primary.info
    check(info is not None, "{}: the primary signing certificate has no info".format(what))
    return info


def check_group(group, group_id, sha1, sha256, what):
    check(group.enrollment_group_id == group_id,
          "{}: enrollmentGroupId is {!r}, expected {!r}".format(
              what, group.enrollment_group_id, group_id))
    check(group.attestation is not None and group.attestation.type == "x509",
          "{}: attestation type is {!r}, expected 'x509'".format(
              what, group.attestation.type if group.attestation else None))
    check(group.etag, "{}: no etag".format(what))
    check(group.provisioning_status == "enabled",
          "{}: provisioningStatus is {!r}, expected 'enabled'".format(
              what, group.provisioning_status))
    info = primary_signing_info(group, what)
    check((info.sha1_thumbprint or "").upper() == sha1,
          "{}: sha1Thumbprint is {!r}, expected {}".format(what, info.sha1_thumbprint, sha1))
    check((info.sha256_thumbprint or "").upper() == sha256,
          "{}: sha256Thumbprint is {!r}, expected {}".format(
              what, info.sha256_thumbprint, sha256))
    check(info.not_before_utc is not None and info.not_after_utc is not None
          and info.not_before_utc < info.not_after_utc,
          "{}: bad validity {!r} .. {!r}".format(what, info.not_before_utc, info.not_after_utc))
    return info


def show(model):
    """Prints a model as the JSON the service returned (read-only fields included)."""
    try:
        text = json.dumps(model.serialize(keep_readonly=True), indent=2, sort_keys=True)
    except Exception:  # printing must never hide the real result
        text = str(model)
    print(text, flush=True)


def status_of(error):
    """The HTTP status behind a ProvisioningServiceError, if it has one."""
    response = getattr(error.cause, "response", None)
    return getattr(response, "status_code", None)


def run(connection_string, cert_path, group_id, keep):
    with open(cert_path, "r", encoding="utf-8") as f:
        cert_pem = f.read()
    sha1, sha256 = thumbprints(cert_pem)
    wire = install_wire_log()

    client = ProvisioningServiceClient.create_from_connection_string(connection_string)

    print("== create enrollment group {!r}".format(group_id), flush=True)
    attestation = AttestationMechanism.create_with_x509_signing_certs(cert_pem)
    created = client.create_or_update(EnrollmentGroup.create(group_id, attestation))
    show(created)
    info = check_group(created, group_id, sha1, sha256, "create")
    print("created: etag={} subject={!r} sha256={}".format(
        created.etag, info.subject_name, info.sha256_thumbprint), flush=True)

    print("== get enrollment group {!r}".format(group_id), flush=True)
    got = client.get_enrollment_group(group_id)
    show(got)
    check_group(got, group_id, sha1, sha256, "get")
    check(got.etag == created.etag,
          "get: etag {!r} differs from the one create returned ({!r})".format(
              got.etag, created.etag))

    print("== query enrollment groups ('*')", flush=True)
    query = client.create_enrollment_group_query(QuerySpecification(query="*"))
    found_ids = []
    for page in query:
        found_ids.extend(g.enrollment_group_id for g in page)
    print("query returned: {}".format(found_ids), flush=True)
    check(group_id in found_ids,
          "query: {!r} is not among the groups returned: {}".format(group_id, found_ids))

    summary = {
        "groupId": group_id,
        "etag": got.etag,
        "sha1Thumbprint": sha1,
        "sha256Thumbprint": sha256,
        "subjectName": info.subject_name,
        "kept": keep,
    }

    if not keep:
        print("== delete enrollment group {!r} with If-Match {}".format(group_id, got.etag),
              flush=True)
        client.delete(got)

        print("== get after delete (must be 404)", flush=True)
        try:
            gone = client.get_enrollment_group(group_id)
        except ProvisioningServiceError as e:
            check(status_of(e) == 404,
                  "get after delete: expected 404, got {!r} ({})".format(status_of(e), e))
            print("get after delete failed as expected: {}".format(e), flush=True)
        else:
            raise CheckFailed("get after delete: the group still exists: {}".format(gone))

    check(wire.exchanges, "no HTTP exchange was logged (is urllib3 logging disabled?)")
    for method, target, _status in wire.exchanges:
        check("api-version=" + EXPECTED_API_VERSION in target,
              "{} {} does not carry api-version={}".format(method, target, EXPECTED_API_VERSION))
    summary["requests"] = ["{} {} {}".format(m, t, s) for m, t, s in wire.exchanges]
    summary["apiVersion"] = EXPECTED_API_VERSION
    print("interop-summary: " + json.dumps(summary), flush=True)


def main(argv):
    args = [a for a in argv[1:] if a != "--keep"]
    keep = len(args) != len(argv) - 1
    if len(args) != 2:
        print("usage: {} CA_CERT_PEM GROUP_ID [--keep]  (connection string in "
              "DPS_CONNECTION_STRING)".format(argv[0]), file=sys.stderr)
        return 2
    connection_string = os.environ.get("DPS_CONNECTION_STRING")
    if not connection_string:
        print("error: set DPS_CONNECTION_STRING to the service connection string",
              file=sys.stderr)
        return 2
    cert_path, group_id = args
    try:
        run(connection_string, cert_path, group_id, keep)
    except CheckFailed as e:
        print("CHECK FAILED: {}".format(e), file=sys.stderr)
        return 1
    except ProvisioningServiceError as e:
        detail = getattr(getattr(e.cause, "response", None), "text", "")
        print("SERVICE ERROR: {} {}".format(e, detail), file=sys.stderr)
        return 1
    print("OK: the enrollment group lifecycle passed every check", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
