"""Running a hostile case in-process: the CLI's ``main`` under a time limit, its output captured, its writes listed.

What a case may do (``Outcome``): exit 0 (accepted) or 2 (refused in one
line); anything escaping ``main`` is a traceback, a case still running after
``HANG_S`` seconds is a hang (SIGALRM ends it), and a file that appears
outside the declared folders is a write outside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import copy
from dataclasses import dataclass, field
import functools
import io
import json
import math
import os
from pathlib import Path
import signal
import sys
import time
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "sim"))
from sim_helpers import small_doc  # noqa: E402

#: A case that runs longer than this is a hang (the issue's bound).
HANG_S = 60.0


class Hang(BaseException):
    """Raised by SIGALRM in a case that runs past ``HANG_S`` (a BaseException: nothing swallows it)."""


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str
    escaped: BaseException | None = None
    hung: bool = False
    seconds: float = 0.0
    written_outside: list[str] = field(default_factory=list)

    @property
    def traceback(self) -> bool:
        return self.escaped is not None or "Traceback" in self.err or "Traceback" in self.out

    @property
    def one_line_error(self) -> bool:
        lines = [line for line in self.err.splitlines() if line.strip()]
        return len(lines) == 1 and lines[0].startswith("error:")


@functools.cache
def _tiny() -> dict[str, Any]:
    doc = small_doc(days=1.0, gpus=512, job_gpus=256)
    doc["name"] = "tiny"
    doc["simulation"]["workload"].update({"arrivals_per_day": 20, "max_job_gpus": 64})
    return doc


def tiny_doc(**simulation: Any) -> dict[str, Any]:
    """A scenario that simulates a day in well under a second: 512 GPUs, one 256-GPU job, few fillers."""
    doc = copy.deepcopy(_tiny())
    doc["simulation"].update(simulation)
    return doc


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: a dump per case adds up


def write_yaml(path: Path, doc: Any) -> Path:
    path.write_text(yaml.dump(doc, Dumper=_DUMPER, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def alarm(_signum: int, _frame: Any) -> None:
        raise Hang(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def files_under(root: Path) -> set[str]:
    found: set[str] = set()
    for folder, dirs, names in os.walk(root):
        for name in [*names, *dirs]:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


def run_cli(args: list[str], *, cwd: Path, watch: Path, allowed: tuple[Path, ...] = (),
            limit_s: float = HANG_S) -> Outcome:
    """``colossus ARGS`` in-process with ``cwd`` as working directory; files new under ``watch`` outside
    ``allowed`` (and their parents) are writes outside."""
    from colossus.cli import main  # noqa: PLC0415

    before = files_under(watch)
    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    escaped: BaseException | None = None
    hung = False
    start = time.perf_counter()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), time_limit(limit_s):
            code = main(args)
    except Hang as exc:
        hung, escaped = True, exc
    except BaseException as exc:  # noqa: BLE001 (what escapes main is exactly what this counts)
        escaped = exc
    finally:
        os.chdir(old)
    seconds = time.perf_counter() - start
    outside = []
    for rel in sorted(files_under(watch) - before):
        path = (watch / rel).resolve()
        if not any(path == a.resolve() or path.is_relative_to(a.resolve()) or a.resolve().is_relative_to(path)
                   for a in allowed):
            outside.append(rel)
    return Outcome(code, out.getvalue(), err.getvalue(), escaped, hung, seconds, outside)


def non_finite(value: Any) -> bool:
    """A value no field may accept: NaN, an infinity, or a number too large for a float."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):
        try:
            return not math.isfinite(float(value))
        except ValueError:
            return False
    return False


#: Set to a file name to get one JSON line per case checked (the tallies of the issue's closing note).
TALLY_ENV = "COLOSSUS_HOSTILE_TALLY"


def tally(case: str, problems: list[str], *, value: Any = None, accepted: bool | None = None) -> None:
    """Append one case's outcome to the tally file, when ``TALLY_ENV`` names one."""
    path = os.environ.get(TALLY_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"case": case, "problems": problems, "accepted": accepted,
                              "non_finite": non_finite(value)}) + "\n")


def check(outcome: Outcome, *, value: Any = None, refuse: bool | None = None) -> list[str]:
    """What is wrong with ``outcome`` (empty: nothing): the kinds counted by the hostile table."""
    problems = _problems(outcome, value=value, refuse=refuse)
    tally(os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0], problems, value=value,
          accepted=outcome.code == 0)
    return problems


def _problems(outcome: Outcome, *, value: Any, refuse: bool | None) -> list[str]:
    problems = []
    if outcome.hung:
        problems.append("hang")
    elif outcome.traceback:
        problems.append(f"traceback: {outcome.escaped!r} {outcome.err[-300:]}")
    elif outcome.code not in (0, 2):
        problems.append(f"exit code {outcome.code}")
    elif outcome.code == 2 and not outcome.one_line_error:
        problems.append(f"not one error line: {outcome.err!r}")
    if outcome.code == 0 and non_finite(value):
        problems.append(f"accepted non-finite {value!r}")
    if refuse is True and outcome.code == 0:
        problems.append("accepted a value it must refuse")
    if refuse is False and outcome.code != 0:
        problems.append(f"refused a valid value: {outcome.err.strip()}")
    if outcome.written_outside:
        problems.append(f"wrote outside: {outcome.written_outside[:5]}")
    return problems


def set_path(doc: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    node: Any = doc
    for part in path[:-1]:
        if isinstance(part, str) and not isinstance(node.get(part), dict) and not isinstance(node.get(part), list):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value
    return doc


Runner = Callable[[Path], Outcome]
