"""Hostile requests: bodies over the limit (chunked or not), non-finite and mistyped numbers, server paths.

The body limit is enforced on the bytes read: a 100 MB chunked body (no
Content-Length) is refused once 64 KiB have arrived, in-process and over a
real socket. NaN, infinities and ``1e400`` are refused with a 422 that is
itself strict JSON; ``false`` is not a number and ``"5"`` not an integer.
No answer names an absolute path of the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import http.client
import json
from pathlib import Path
import socket
import threading
import time
from typing import Any

from fastapi.testclient import TestClient
import pytest
from web_helpers import TEST_HOSTS, make_scenarios, wait_for_job

from colossus.web import create_app
from colossus.web.app import MAX_BODY_BYTES

MEMPHIS = "/api/scenarios/colossus-memphis"
CHUNK = 64 * 1024
HUNDRED_MB = 100 * 10**6


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def app_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hostile-web")
    return make_scenarios(root / "scenarios"), root / "runs"


@pytest.fixture(scope="module")
def client(app_dirs: tuple[Path, Path]) -> Iterator[TestClient]:
    app = create_app(*app_dirs, max_concurrent=1, allowed_hosts=TEST_HOSTS)
    with TestClient(app) as test_client:
        yield test_client


# --- the body limit, on the bytes read ---------------------------------------------------------------


def test_a_100_mb_chunked_body_is_refused_within_the_limit(app_dirs: tuple[Path, Path]):
    """Through httpx's ASGI transport, which hands the app the body chunk by chunk as the app asks for it
    (Starlette's TestClient would read it all first): the app stops asking past 64 KiB."""
    import asyncio

    import httpx

    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        block = b" " * CHUNK
        while sent < HUNDRED_MB:
            sent += len(block)
            yield block

    async def post() -> httpx.Response:
        app = create_app(*app_dirs, max_concurrent=1, allowed_hosts=TEST_HOSTS)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(f"{MEMPHIS}/estimate", content=body(),
                                     headers={"Content-Type": "application/json"})

    start = time.perf_counter()
    response = asyncio.run(post())
    assert response.status_code == 413, response.text[:200]
    assert "64 KiB" in response.json()["detail"] and response.headers["connection"] == "close"
    assert sent <= MAX_BODY_BYTES + 2 * CHUNK, f"the app read {sent:,} bytes of a chunked body"
    assert len(response.content) < 1000 and time.perf_counter() - start < 10


def test_a_declared_length_over_the_limit_is_refused_unread(client: TestClient):
    response = client.post(f"{MEMPHIS}/estimate", content=b"{}" + b" " * (MAX_BODY_BYTES + 1),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_a_body_just_under_the_limit_is_read(client: TestClient):
    padded = json.dumps({"overrides": {}}) + " " * (MAX_BODY_BYTES - 100)
    response = client.post(f"{MEMPHIS}/estimate", content=padded.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200


@pytest.fixture(scope="module")
def live_server(app_dirs: tuple[Path, Path]) -> Iterator[int]:
    """The app on a real socket (uvicorn in a thread), for what the in-process client cannot show."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(*app_dirs, max_concurrent=1)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def test_a_chunked_body_over_a_real_socket_is_refused(live_server: int):
    """Sent with ``Transfer-Encoding: chunked``: the answer is a 413 long before 100 MB are sent."""
    conn = http.client.HTTPConnection("127.0.0.1", live_server, timeout=30)
    conn.putrequest("POST", f"{MEMPHIS}/estimate")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    block = b" " * CHUNK
    sent = 0
    try:
        while sent < HUNDRED_MB:
            conn.send(b"%x\r\n%s\r\n" % (len(block), block))
            sent += len(block)
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed the connection: the rest is never read
    response = conn.getresponse()
    assert response.status == 413
    assert sent < HUNDRED_MB, "the server read the whole body before answering"
    conn.close()


# --- numbers ---------------------------------------------------------------------------------------------

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]


@pytest.mark.parametrize("number", NON_FINITE)
@pytest.mark.parametrize("field", ["days", "grid_interim_mw", "grid_contract_start_day"])
def test_a_non_finite_number_is_a_422_in_strict_json(client: TestClient, field: str, number: str):
    body = f'{{"overrides": {{"{field}": {number}}}}}'
    response = client.post(f"{MEMPHIS}/estimate", content=body.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    detail = _strict_json(response.text)["detail"]
    assert detail[0]["loc"][-1] == field


@pytest.mark.parametrize("number", NON_FINITE)
def test_non_finite_numbers_elsewhere(client: TestClient, number: str):
    for path, body in ((f"{MEMPHIS}/power", f'{{"supply_mw": {number}}}'),
                       (f"{MEMPHIS}/reliability", f'{{"deadline_days": {number}, "runs": 10}}'),
                       (f"{MEMPHIS}/simulate", f'{{"overrides": {{"jobs": {{"grok2": {{"checkpoint_interval_min":'
                                                f' {number}}}}}}}}}')):
        response = client.post(path, content=body.encode(), headers={"Content-Type": "application/json"})
        assert response.status_code == 422, (path, response.text)
        _strict_json(response.text)


@pytest.mark.parametrize(("body", "field"), [
    ({"overrides": {"seed": False}}, "seed"),
    ({"overrides": {"days": True}}, "days"),
    ({"overrides": {"generators": {"gas-recip-2500kw": True}}}, "gas-recip-2500kw"),
    ({"overrides": {"seed": "5"}}, "seed"),
    ({"overrides": {"days": "5"}}, "days"),
    ({"overrides": {"seed": 5.5}}, "seed"),
    ({"overrides": {"seed": 2**60}}, "seed"),
])
def test_strict_types(client: TestClient, body: dict[str, Any], field: str):
    response = client.post(f"{MEMPHIS}/estimate", json=body)
    assert response.status_code == 422, response.text
    assert any(field in map(str, d["loc"]) for d in response.json()["detail"])


def test_an_integral_float_is_an_integer(client: TestClient):
    """JSON does not tell 14 from 14.0; the schema's integer accepts both."""
    response = client.post(f"{MEMPHIS}/estimate", json={"overrides": {"generators": {"gas-recip-2500kw": 14.0}}})
    assert response.status_code == 200, response.text


def test_a_long_rejected_value_is_not_echoed_whole(client: TestClient):
    response = client.post(f"{MEMPHIS}/estimate", json={"overrides": {"days": "x" * 50_000}})
    assert response.status_code == 422 and len(response.content) < 2000


# --- no server paths -------------------------------------------------------------------------------------


def test_no_answer_names_a_server_path(client: TestClient, app_dirs: tuple[Path, Path]):
    roots = [str(app_dirs[0].resolve()), str(app_dirs[1].resolve()), str(Path.home())]
    answers = [client.get("/api/scenarios"), client.get("/api/scenarios/broken"),
               client.post("/api/scenarios/broken/estimate", json={}),
               client.post(f"{MEMPHIS}/estimate", json={"overrides": {"pools": {"h100-phase1": {"num_gpus": 7}}}})]
    job = client.post("/api/scenarios/fails-in-sim/simulate", json={"overrides": {"days": 1}}).json()
    final, _ = wait_for_job(client, job["id"])
    assert final["status"] == "failed" and "no-such-trace.json" in final["message"]
    answers.append(client.get(f"/api/jobs/{job['id']}"))
    for response in answers:
        for root in roots:
            assert root not in response.text, (response.request.url, response.text[:300])
        assert "/tmp/" not in response.text and "/home/" not in response.text, response.text[:300]


def test_every_405_lists_every_method(client: TestClient):
    response = client.request("PUT", "/api/jobs/0123456789ab")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "DELETE"}
