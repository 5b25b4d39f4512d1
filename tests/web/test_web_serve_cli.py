"""``colossus serve``: its options reach the server; loopback by default (tested in-process, no socket)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import colossus.web
from colossus.cli import main
from colossus.errors import SpecError
from colossus.web.app import is_loopback


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(colossus.web, "serve", lambda **kwargs: calls.append(kwargs))
    return calls


def test_defaults_bind_loopback(served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "scenarios").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["serve"]) == 0
    assert served == [{"host": "127.0.0.1", "port": 8000, "scenarios_dir": Path("scenarios"),
                       "runs_dir": Path("runs"), "max_concurrent": 2, "max_queued": 8}]


def test_options_pass_through(served: list[dict[str, Any]], tmp_path: Path):
    args = ["serve", "--host", "0.0.0.0", "--port", "9001", "--scenarios", str(tmp_path), "--runs",
            str(tmp_path / "r"), "--max-concurrent", "3", "--max-queued", "0"]
    assert main(args) == 0
    assert served[0] == {"host": "0.0.0.0", "port": 9001, "scenarios_dir": tmp_path, "runs_dir": tmp_path / "r",
                         "max_concurrent": 3, "max_queued": 0}


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
