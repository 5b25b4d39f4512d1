"""Property-based requests from the OpenAPI spec (schemathesis): no input makes the server answer 5xx.

Every operation of the spec is exercised, simulate included: a fuzzed simulate
request either fails validation (422), names an unknown scenario (404), is
refused by the full queue (429), or queues a background job that the app's
shutdown stops at the end of the module, so a fuzzed "730 days" costs nothing.
The app has one worker and one waiting place to keep that cheap. Stored runs
for the run endpoints come from one short simulation made before the fuzzing.

Bounded for CI: a few examples per operation (``MAX_EXAMPLES``), about 20 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import shutil
import tempfile

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from web_helpers import TEST_HOSTS, make_scenarios, wait_for_job

from colossus.web import create_app

MAX_EXAMPLES = 12


# Built at import: schemathesis' fixture-based loader (``from_fixture``) does not run on pytest 9
# (it reads ``request.node._nodeid``), so the schema is loaded from an app made here.
_ROOT = Path(tempfile.mkdtemp(prefix="colossus-fuzz-"))
APP = create_app(make_scenarios(_ROOT / "scenarios"), _ROOT / "runs", max_concurrent=1, max_queued=1,
                 allowed_hosts=TEST_HOSTS)
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
    shutil.rmtree(_ROOT, ignore_errors=True)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_makes_a_server_error(case: schemathesis.Case, stored_run: None):
    case.call_and_validate(checks=[not_a_server_error])


def test_the_spec_covers_every_route():
    spec = APP.openapi()
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert len(operations) == 21
    assert ("POST", "/api/scenarios/{name}/simulate") in operations
    body = spec["components"]["schemas"]["Overrides"]["properties"]
    assert body["days"]["anyOf"][0]["maximum"] == 730
