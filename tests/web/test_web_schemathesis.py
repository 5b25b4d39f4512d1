"""Property-based requests from the OpenAPI spec (schemathesis) with every check (``--checks all``).

Every operation of the spec is exercised, simulate included, with schema-valid
and schema-violating requests, and every schemathesis check runs on each
answer: no 5xx; every status, header and body as documented; invalid data
refused, valid data accepted (a valid request the scenario rejects is a
documented 409, not a 422); the ``Allow`` header of a 405 lists every method.
A fuzzed simulate request fails validation (422), names an unknown scenario
(404), is refused by the full queue (429), or queues a background job that
the app's shutdown stops at the end of the module, so a fuzzed "730 days"
costs nothing. The app has one worker and one waiting place to keep that
cheap. Stored runs for the run endpoints come from one short simulation made
before the fuzzing.

Bounded for CI: a few examples per operation (``MAX_EXAMPLES``).
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from pathlib import Path
import shutil
import sys
import tempfile

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
import pytest
import schemathesis
from schemathesis.checks import CHECKS, load_all_checks
from web_helpers import TEST_HOSTS, make_scenarios, wait_for_job

from colossus.web import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hostile_helpers import tiny_doc, write_yaml  # noqa: E402

MAX_EXAMPLES = 4

load_all_checks()
#: Every check schemathesis has (the CLI's ``--checks all``).
ALL_CHECKS = list(CHECKS.get_all())


# Built at import: schemathesis' fixture-based loader (``from_fixture``) does not run on pytest 9
# (it reads ``request.node._nodeid``), so the schema is loaded from an app made here.
# The spec's example scenario name is the default one; here it is a 512-GPU copy, so that the hundreds of
# valid analysis requests the checks send (power, plan, reliability) take milliseconds, not seconds: what is
# tested is the API's conformance, not the models.
_ROOT = Path(tempfile.mkdtemp(prefix="colossus-fuzz-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
_SCENARIOS = make_scenarios(_ROOT / "scenarios")
write_yaml(_SCENARIOS / "colossus-memphis.yaml", {**tiny_doc(), "name": "colossus-memphis"})
for _big in ("colossus-200k.yaml",):
    (_SCENARIOS / _big).unlink(missing_ok=True)
APP = create_app(_SCENARIOS, _ROOT / "runs", max_concurrent=1, max_queued=1, allowed_hosts=TEST_HOSTS)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def stored_run() -> Iterator[None]:
    """One stored run, so that the run endpoints have something to read; afterwards stop and clean up."""
    with TestClient(APP) as client:
        response = client.post("/api/scenarios/colossus-memphis/simulate", json={"overrides": {"days": 1}})
        assert response.status_code == 202, response.text
        job = response.json()
        assert wait_for_job(client, job["id"])[0]["status"] == "done"
        yield
    APP.state.web.jobs.close()  # stop what the fuzzing queued (schemathesis ends its lifespan only at exit)
    # (the scenarios stay until the process exits: with --dist worksteal this module's tests may be split,
    # and the fixture set up again on this worker after its first teardown)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_check_passes(case: schemathesis.Case, stored_run: None):
    case.call_and_validate(checks=ALL_CHECKS)


def test_the_spec_covers_every_route():
    spec = APP.openapi()
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert len(operations) == 22
    assert ("POST", "/api/scenarios/{name}/simulate") in operations
    assert ("POST", "/api/scenarios/{name}/forecast") in operations
    body = spec["components"]["schemas"]["Overrides"]["properties"]
    assert body["days"]["anyOf"][0]["maximum"] == 730
