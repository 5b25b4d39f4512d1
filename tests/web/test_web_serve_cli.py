"""``colossus serve``: its options reach the server; loopback by default (tested in-process, no socket)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from colossus.cli import main
from colossus.errors import SpecError
import colossus.web
from colossus.web.app import is_loopback


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> None:
        kwargs.pop("announce")()
        calls.append(kwargs)

    monkeypatch.setattr(colossus.web, "serve", record)
    return calls


def test_defaults_bind_loopback(served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "scenarios").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLOSSUS_TOKEN", raising=False)
    assert main(["serve"]) == 0
    assert served == [{"host": "127.0.0.1", "port": 8000, "scenarios_dir": Path("scenarios"),
                       "runs_dir": Path("runs"), "max_concurrent": 2, "max_queued": 8}]


def test_options_pass_through(served: list[dict[str, Any]], tmp_path: Path):
    token = "t" * 32
    args = ["serve", "--host", "0.0.0.0", "--port", "9001", "--scenarios", str(tmp_path), "--runs",
            str(tmp_path / "r"), "--max-concurrent", "3", "--max-queued", "0", "--token", token,
            "--allow-host", "twin.example"]
    assert main(args) == 0
    assert served[0] == {"host": "0.0.0.0", "port": 9001, "scenarios_dir": tmp_path, "runs_dir": tmp_path / "r",
                         "max_concurrent": 3, "max_queued": 0, "token": token, "allowed_hosts": ("twin.example",)}


def test_the_token_may_come_from_the_environment(served: list[dict[str, Any]], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLOSSUS_TOKEN", "e" * 32)
    assert main(["serve", "--host", "0.0.0.0", "--scenarios", str(tmp_path), "--runs", str(tmp_path / "r")]) == 0
    assert served[0]["token"] == "e" * 32


@pytest.fixture
def no_uvicorn(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The real ``serve``, its checks included, up to the point where uvicorn would start."""
    started: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: started.append((app, kwargs)))
    monkeypatch.delenv("COLOSSUS_TOKEN", raising=False)
    return started


@pytest.mark.parametrize(("host", "extra", "words"), [
    ("0.0.0.0", [], "needs an access token"),
    ("192.0.2.7", [], "needs an access token"),
    ("999.1.1.1", ["--token", "x" * 32], "cannot listen on"),
    ("no-such-host.invalid", ["--token", "x" * 32], "cannot listen on"),
    ("0.0.0.0", ["--token", "short"], "at least 16 characters"),
])
def test_serve_refuses_before_it_starts(no_uvicorn: list[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        host: str, extra: list[str], words: str):
    args = ["serve", "--host", host, "--port", "0", "--scenarios", str(tmp_path), "--runs", str(tmp_path / "r"),
            *extra]
    args[args.index("--port") + 1] = "8999"
    assert main(args) == 2
    err = capsys.readouterr()
    assert no_uvicorn == [] and words in err.err and len(err.err.strip().splitlines()) == 1, err.err
    assert "dashboard on" not in err.out  # nothing announced before the checks


def test_a_port_in_use_is_one_line(no_uvicorn: list[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port), "--scenarios", str(tmp_path), "--runs", str(tmp_path / "r")]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err and no_uvicorn == []


def test_beyond_loopback_the_host_check_stays_and_the_token_is_required(no_uvicorn: list[Any], tmp_path: Path):
    import socket

    from fastapi.testclient import TestClient

    token = "s" * 32
    with socket.socket() as free:
        free.bind(("0.0.0.0", 0))
        port = free.getsockname()[1]
    assert main(["serve", "--host", "0.0.0.0", "--port", str(port), "--scenarios", str(tmp_path), "--runs",
                 str(tmp_path / "r"), "--token", token, "--allow-host", "twin.example"]) == 0
    app = no_uvicorn[0][0]
    with TestClient(app, base_url="http://twin.example") as client:
        assert client.get("/api/catalog").status_code == 401
        assert client.get("/api/catalog", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/api/catalog", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        rebinding = client.get("/api/catalog", headers={"Host": "attacker.example",
                                                        "Authorization": f"Bearer {token}"})
        assert rebinding.status_code == 400  # DNS rebinding: the token does not lift the Host check
        page = client.get(f"/?token={token}")
        assert page.status_code == 200 and "colossus_token" in page.headers["set-cookie"]
        assert "samesite=strict" in page.headers["set-cookie"].lower()
        assert client.get("/api/catalog").status_code == 200  # the page's cookie now carries the token
        assert client.get("/static/app.js").status_code == 200
    spec = app.openapi()
    assert "401" in spec["paths"]["/api/catalog"]["get"]["responses"]


@pytest.mark.parametrize("args", [
    ["serve", "--scenarios", "no-such-folder"],
    ["serve", "--port", "0"],
    ["serve", "--max-concurrent", "0"],
])
def test_bad_options_exit_2(served: list[dict[str, Any]], args: list[str], tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").mkdir()
    assert main(args) == 2
    assert served == []


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False), ("::", False),
])
def test_loopback(host: str, loopback: bool):
    assert is_loopback(host) is loopback


def test_an_unwritable_runs_folder_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("must not start serving"))
    (tmp_path / "file").write_text("not a folder")
    args = ["serve", "--scenarios", str(tmp_path), "--runs", str(tmp_path / "file" / "runs")]
    assert main(args) == 2
    assert "cannot create the runs folder" in capsys.readouterr().err


def test_create_app_refuses_an_unwritable_runs_folder(tmp_path: Path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(SpecError, match="cannot create the runs folder"):
        colossus.web.create_app(tmp_path, tmp_path / "file" / "runs")
