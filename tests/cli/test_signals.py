"""Real signals at ten evenly spread moments of ``colossus simulate``: a complete result or nothing, never a traceback.

The runs are forked by ``signal_driver.py`` (one process that imports colossus
once, so each run starts at once and the moments fall in the simulation and
the writing of results, DuckDB and report). SIGINT and SIGTERM alternate. A
run killed with SIGKILL while it writes leaves its temporary folder; the next
run to that folder must remove it. Interrupting a new run to a folder that
holds a result keeps the old result whole.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import pytest

DRIVER = Path(__file__).resolve().parent / "signal_driver.py"
MOMENTS = 10


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("signals")
    done = subprocess.run([sys.executable, str(DRIVER), str(work), str(MOMENTS)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_every_moment_leaves_a_complete_result_or_nothing(report: dict):
    assert report["reference_code"] == 0
    assert len(report["runs"]) == MOMENTS
    for run in report["runs"]:
        expected = {"SIGINT": 130, "SIGTERM": 143}[run["signal"]]
        assert run["code"] in (0, expected), run
        assert run["state"] in ("absent", "complete"), run
        assert run["leftovers"] == [], run  # the interrupted run cleaned up after itself
        assert "Traceback" not in run["stderr"], run["stderr"]
        if run["code"] != 0:
            lines = [line for line in run["stderr"].splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("interrupted:"), run["stderr"]


@pytest.mark.slow
def test_an_interrupted_rewrite_keeps_the_old_result(report: dict):
    kept = report["kept"]
    assert kept["code"] in (0, 130) and kept["state"] == "complete" and kept["leftovers"] == []
    assert kept["same"] or kept["code"] == 0  # untouched, unless the new run finished first


@pytest.mark.slow
def test_the_next_run_cleans_up_after_a_killed_one(report: dict):
    killed, after = report["killed"], report["next"]
    assert killed["code"] == -9 and killed["state"] == "absent"
    assert any(name.startswith(".killed.tmp-") for name in killed["leftovers"]), killed
    assert after["code"] == 0 and after["state"] == "complete" and after["leftovers"] == []


def test_an_interrupt_python_cannot_raise_is_delivered_again_not_printed(capsys):
    """A Ctrl-C that lands in a callback (a module lock's during a first import) reaches
    ``sys.unraisablehook``; under the CLI it is delivered again as a signal, so the command stops
    where it can, with no "Exception ignored" traceback on stderr."""
    import signal
    import sys
    import time
    import types

    import pytest

    from colossus.cli import _terminate_as_interrupt

    args = types.SimpleNamespace(exc_type=KeyboardInterrupt, exc_value=KeyboardInterrupt(), exc_traceback=None,
                                 err_msg=None, object=None)
    # Ctrl-C as an interactive shell leaves it: a suite started in the background (``pytest &``, nohup)
    # inherits SIGINT ignored, and an ignored signal delivered again is rightly ignored again.
    previous_sigint = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), _terminate_as_interrupt():
            sys.unraisablehook(args)
            time.sleep(5)  # the re-delivered SIGINT interrupts this at once
    finally:
        signal.signal(signal.SIGINT, previous_sigint)
    assert "Exception ignored" not in capsys.readouterr().err
    other = types.SimpleNamespace(exc_type=ValueError, exc_value=ValueError("x"), exc_traceback=None,
                                  err_msg="boom", object=None)
    seen: list[object] = []
    previous, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        with _terminate_as_interrupt():
            sys.unraisablehook(other)  # anything else goes to the hook that was there, as before
        assert seen == [other] and sys.unraisablehook == seen.append  # and that hook is back afterwards
    finally:
        sys.unraisablehook = previous


@pytest.mark.parametrize("after_the_answer", [True, False])
def test_a_signal_after_the_whole_answer_stops_nothing(monkeypatch, capsys, after_the_answer):
    """A signal that lands once the JSON answer is printed (the command is returning) leaves a complete
    answer: exit 0 and no "interrupted" line under it; one that lands before it is an interrupt (130)."""
    from colossus.cli import main, show

    real = show.print_json

    def answer_then_signal(document):
        if after_the_answer:
            real(document)
        raise KeyboardInterrupt

    monkeypatch.setattr(show, "print_json", answer_then_signal)
    code = main(["show", "--catalog", "--json"])
    out, err = capsys.readouterr()
    if after_the_answer:
        assert code == 0 and json.loads(out) and "interrupted" not in err
    else:
        assert code == 130 and out == "" and err.startswith("interrupted:")
