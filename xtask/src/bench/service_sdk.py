#!/usr/bin/env python3
"""The `service-10k` workload through the official Python service SDK (the reference of
`cargo xtask bench service`).

With `azure-iothub-provisioningserviceclient` 1.2.0, as its samples use it: COUNT TPM
individual enrollments created with `run_bulk_operation` in chunks of 10 (the service's limit;
the SDK sends one request at a time), listed back with the query iterator at PAGE_SIZE per page,
then deleted with bulk deletes in chunks of 10. One untimed query first opens the connection.

Usage:
    DPS_CONNECTION_STRING=... REQUESTS_CA_BUNDLE=emulator-ca.cert.pem \
        python service_sdk.py COUNT PAGE_SIZE ENDORSEMENT_KEY

Prints `bench-worker-result: {json}` with the phase times, like `xtask bench-worker service`.
"""

import json
import os
import sys
import time

from provisioningserviceclient import (
    BulkEnrollmentOperation,
    ProvisioningServiceClient,
    QuerySpecification,
)
from provisioningserviceclient.models import AttestationMechanism, IndividualEnrollment

CHUNK = 10


def run_bulk(client, mode, enrollments):
    for i in range(0, len(enrollments), CHUNK):
        result = client.run_bulk_operation(BulkEnrollmentOperation(mode, enrollments[i:i + CHUNK]))
        if not result.is_successful:
            raise SystemExit("bulk {} failed: {}".format(mode, result.errors))


def count_all(client, page_size):
    query = client.create_individual_enrollment_query(QuerySpecification("*"), page_size=page_size)
    return sum(len(page) for page in query)


def main():
    count, page_size, endorsement_key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    client = ProvisioningServiceClient.create_from_connection_string(
        os.environ["DPS_CONNECTION_STRING"])
    attestation = AttestationMechanism.create_with_tpm(endorsement_key)
    enrollments = [
        IndividualEnrollment.create("bench-{:06d}".format(i), attestation) for i in range(count)
    ]
    count_all(client, 1)

    start = time.perf_counter()
    run_bulk(client, "create", enrollments)
    created = time.perf_counter()
    listed = count_all(client, page_size)
    listed_at = time.perf_counter()
    run_bulk(client, "delete", enrollments)
    deleted = time.perf_counter()

    if listed != count:
        raise SystemExit("the query returned {} enrollments, not {}".format(listed, count))
    left = count_all(client, page_size)
    if left != 0:
        raise SystemExit("{} enrollments are left after the bulk delete".format(left))
    print("bench-worker-result: " + json.dumps({
        "count": count,
        "createSecs": created - start,
        "listSecs": listed_at - created,
        "deleteSecs": deleted - listed_at,
        "totalSecs": deleted - start,
        "listed": listed,
    }), flush=True)


if __name__ == "__main__":
    main()
