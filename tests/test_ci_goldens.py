"""Golden tests fail, not skip, under CI when ../shared is missing (CI green must mean validated)."""

from __future__ import annotations

import pytest

from tests.conftest import need_shared


def test_missing_shared_fails_under_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="the probe data is not beside the repository"):
        need_shared(tmp_path / "absent", "the probe data")


def test_missing_shared_skips_elsewhere(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="the probe data"):
        need_shared(tmp_path / "absent", "the probe data")


def test_present_shared_is_returned(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert need_shared(tmp_path, "the probe data") == tmp_path
