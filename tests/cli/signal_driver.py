"""Interrupt ``colossus simulate`` with real signals at evenly spread moments; print what each left, as JSON.

Run as a script (``python signal_driver.py WORKDIR MOMENTS``): it imports
colossus and runs the command once in its own process (a warm-up: the lazy
imports and plotly's first figures cost a second), then forks one child per
run, so each run starts at once and the moments fall inside the simulation
and the writing, not inside Python's start-up. (A Ctrl-C that lands inside a
first import is ``tests/cli/test_signals.py``'s own unit test.) A reference run gives the length ``T`` of a run; run
``k`` of ``MOMENTS`` gets SIGINT or SIGTERM (alternately) at ``k T / (MOMENTS + 1)``.
Then one run is killed outright (SIGKILL, no clean-up possible) and the
next run to the same folder must clean up after it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
import signal
import sys
import time
import traceback

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from hostile_helpers import tiny_doc, write_yaml  # noqa: E402

from colossus.cli import main  # noqa: E402
from colossus.results.paths import FILES, REPORT  # noqa: E402


def _child(args: list[str], log: Path) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    code = 1
    try:
        code = main(args)
    except BaseException:  # noqa: BLE001 (a traceback is what the test looks for; print it)
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)


def run(args: list[str], log: Path, *, signum: int | None = None, after_s: float = 0.0) -> tuple[int, float]:
    """Fork a child running ``colossus ARGS``; signal it after ``after_s``; its exit code and wall time."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        _child(args, log)
    if signum is not None:
        time.sleep(after_s)
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code, time.perf_counter() - start


def run_until_writing(args: list[str], log: Path, out: Path, *, limit_s: float = 60.0) -> int:
    """Fork ``colossus ARGS`` and SIGKILL it as soon as its temporary results folder appears."""
    pid = os.fork()
    if pid == 0:
        _child(args, log)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if any(p.name.startswith(f".{out.name}.tmp-") for p in out.parent.iterdir()):
            os.kill(pid, signal.SIGKILL)
            break
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.002)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def state(out: Path) -> dict[str, object]:
    """What a results folder holds: nothing, a complete result, or something else (a failure)."""
    leftovers = sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))
    if not out.exists():
        return {"state": "absent", "leftovers": leftovers}
    names = {p.name for p in out.iterdir()}
    complete = set(FILES) | {REPORT} <= names
    summary_ok = False
    if complete:
        try:
            summary = json.loads((out / "summary.json").read_text())
            summary_ok = summary.get("report_path", "").endswith(REPORT) and (out / REPORT).stat().st_size > 0
        except (OSError, ValueError):
            summary_ok = False
    return {"state": "complete" if complete and summary_ok else "partial", "files": sorted(names),
            "leftovers": leftovers}


def main_driver(work: Path, moments: int) -> dict[str, object]:
    scenario = write_yaml(work / "tiny.yaml", tiny_doc())
    base = ["simulate", str(scenario), "--days", "0.5", "--json"]
    with open(work / "warm-up.log", "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        main([*base, "--out", str(work / "warm-up")])
    code, length_s = run([*base, "--out", str(work / "reference")], work / "reference.log")
    runs = []
    for k in range(1, moments + 1):
        out = work / f"run-{k}"
        signum = signal.SIGINT if k % 2 else signal.SIGTERM
        at = k * length_s / (moments + 1)
        code_k, _ = run([*base, "--out", str(out)], work / f"run-{k}.log", signum=signum, after_s=at)
        runs.append({"k": k, "signal": signal.Signals(signum).name, "at_s": at, "code": code_k,
                     "stderr": (work / f"run-{k}.log").read_text(errors="replace"), **state(out)})
    # A result already there is kept whole when a new run to it is interrupted.
    kept = work / "reference"
    before = (kept / "summary.json").read_bytes()
    code_kept, _ = run([*base, "--out", str(kept)], work / "kept.log", signum=signal.SIGINT, after_s=length_s / 2)
    kept_state = {**state(kept), "code": code_kept, "same": (kept / "summary.json").read_bytes() == before
                  if (kept / "summary.json").exists() else False}
    # SIGKILL cannot be handled: killed while it writes, a run leaves its temporary folder; the next
    # run to the folder removes it.
    killed = work / "killed"
    code_killed = run_until_writing([*base, "--out", str(killed)], work / "killed.log", killed)
    after_kill = state(killed)
    code_next, _ = run([*base, "--out", str(killed)], work / "next.log")
    return {"length_s": length_s, "reference_code": code, "runs": runs, "kept": kept_state,
            "killed": {"code": code_killed, **after_kill}, "next": {"code": code_next, **state(killed)}}


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    print(json.dumps(main_driver(folder, int(sys.argv[2]))))
