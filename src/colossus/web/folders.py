"""The only two folders the dashboard reads and writes, and the names that lead into them.

Why one module: every request that touches a file goes through ``Folders``,
so the rule "nothing outside the scenarios and runs folders" is enforced in
one place and tested once. A name from a request must match ``NAME_PATTERN``
(no ``/``, no ``..``, no leading dot, so no hidden or temporary folders of
the results store), and the path it leads to, with every symlink resolved,
must still lie inside its folder. A name that breaks the pattern is a bad
request (422, from the route's declared pattern); a well-formed name that
leads nowhere, or out of the folder, is unknown (404), with no hint of what
lies outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import re

from colossus.errors import SpecError
from colossus.results.paths import SUMMARY

#: Names of scenarios, runs and sweeps as they appear in URLs.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
_NAME = re.compile(NAME_PATTERN)

SCENARIO_SUFFIXES = (".yaml", ".yml")
REPORT = "report.html"
#: The web's record of what a run was asked for (scenario, overrides); beside the results.
REQUEST = "request.json"
#: The file a ``colossus sweep`` writes into its folder (see ``colossus.sweep``).
SWEEP_STORE = "sweep.duckdb"


#: An absolute POSIX path in a message (not a URL path: those follow a host or start a request line).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?!api/)(?:[^/\s'\"`:;,()<>\[\]{}]+/)+[^/\s'\"`:;,()<>\[\]{}]*")


def scrub(text: str) -> str:
    """``text`` with every absolute path cut to its last part: no server path reaches a client.

    ``/srv/colossus/scenarios/x.yaml: field: rule`` -> ``x.yaml: field: rule``.
    """
    return _ABSOLUTE_PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1] or "/", text)


def valid_name(name: str) -> bool:
    """A name that may be joined to a folder: one path component, no traversal, not hidden."""
    return bool(_NAME.fullmatch(name)) and ".." not in name


def _inside(root: Path, path: Path) -> Path | None:
    """``path`` with symlinks resolved if it exists and lies inside ``root``, else None."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    return real if real.is_relative_to(root) else None


@dataclass(frozen=True)
class Folders:
    """The scenarios folder (read) and the runs folder (read and write), resolved once."""

    scenarios: Path
    runs: Path

    @classmethod
    def of(cls, scenarios_dir: Path | str, runs_dir: Path | str) -> Folders:
        runs = Path(runs_dir)
        try:
            runs.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpecError(f"cannot create the runs folder ({exc.strerror or exc})", file=str(runs)) from None
        return cls(Path(scenarios_dir).resolve(), runs.resolve())

    # --- scenarios -------------------------------------------------------------------

    def scenario_names(self) -> list[str]:
        """Scenario names (file stems), sorted; files whose link leaves the folder are left out."""
        if not self.scenarios.is_dir():
            return []
        names = {p.stem for p in self.scenarios.iterdir()
                 if p.suffix in SCENARIO_SUFFIXES and valid_name(p.stem) and self.scenario_file(p.stem)}
        return sorted(names)

    def scenario_file(self, name: str) -> Path | None:
        """The YAML file of scenario ``name``, or None if there is none inside the folder."""
        if not valid_name(name):
            return None
        for suffix in SCENARIO_SUFFIXES:
            real = _inside(self.scenarios, self.scenarios / f"{name}{suffix}")
            if real is not None and real.is_file():
                return real
        return None

    # --- runs --------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path | None:
        """The results folder of run ``run_id`` (a folder holding ``summary.json``), or None."""
        if not valid_name(run_id):
            return None
        real = _inside(self.runs, self.runs / run_id)
        if real is None or not real.is_dir() or _inside(self.runs, real / SUMMARY) is None:
            return None
        return real

    def run_ids(self) -> list[str]:
        if not self.runs.is_dir():
            return []
        return sorted(p.name for p in self.runs.iterdir() if self.run_dir(p.name) is not None)

    def run_file(self, run_id: str, filename: str) -> Path | None:
        """A file of a run's folder (``report.html``, ``request.json``), or None."""
        folder = self.run_dir(run_id)
        if folder is None:
            return None
        real = _inside(self.runs, folder / filename)
        return real if real is not None and real.is_file() else None

    def new_run_dir(self, run_id: str) -> Path:
        """Where a new run is written; the id is made by the server, checked all the same."""
        if not valid_name(run_id):
            raise ValueError(f"not a run id: {run_id!r}")
        return self.runs / run_id

    # --- sweeps ------------------------------------------------------------------------

    def sweep_store(self, sweep_id: str) -> Path | None:
        """The DuckDB file of sweep ``sweep_id`` (a folder of the runs folder holding one)."""
        if not valid_name(sweep_id):
            return None
        real = _inside(self.runs, self.runs / sweep_id / SWEEP_STORE)
        return real if real is not None and real.is_file() else None

    def sweep_ids(self) -> list[str]:
        if not self.runs.is_dir():
            return []
        return sorted(p.name for p in self.runs.iterdir() if self.sweep_store(p.name) is not None)

    def sweep_plots(self, sweep_id: str) -> dict[str, Path]:
        """The sweep's plot files by kind (``sweep-<kind>.html`` as ``colossus sweep`` writes them)."""
        store = self.sweep_store(sweep_id)
        if store is None:
            return {}
        plots = {}
        for path in sorted(store.parent.glob("sweep-*.html")):
            kind = path.stem.removeprefix("sweep-")
            real = _inside(self.runs, path)
            if valid_name(kind) and real is not None and real.is_file():
                plots[kind] = real
        return plots
