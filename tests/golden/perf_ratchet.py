"""The ratchet for families of published runs the performance model does not yet meet its bounds on.

``perf_ratchet.json`` records, per family (a run id up to its first ``-``),
the in-sample MAPE, worst |error| and number of unpredicted runs that the
model reached last, and under ``cv`` each family's leave-one-family-out MAPE
and the overall leave-one-family-out MAPE. ``test_validation`` fails if any
figure gets worse; when the model improves, run ``python
tests/golden/perf_ratchet.py`` to tighten the file. It never loosens a
recorded figure (it refuses and says which), so a regression cannot be
written into it by accident.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

HERE = Path(__file__).resolve().parent
RATCHET = HERE / "perf_ratchet.json"
RUNS = HERE.parents[2] / "shared" / "validation" / "training_runs.yaml"
#: Rounding slack so that float noise across machines does not trip the ratchet.
SLACK = 5e-4


def family_figures(validation) -> dict[str, dict[str, float]]:
    """Per family: n, mape, max_abs_error, unpredicted, not_fitting (in-sample, current assumptions)."""
    from colossus.perf import family_of

    out: dict[str, dict[str, float]] = {}
    for case in validation.cases:
        fam = out.setdefault(family_of(case.id), {"n": 0, "abs": [], "unpredicted": 0, "not_fitting": 0})
        fam["n"] += 1
        if case.fits is False:
            fam["not_fitting"] += 1
        if case.error is None:
            fam["unpredicted"] += 1
        else:
            fam["abs"].append(abs(case.error))
    for fam in out.values():
        errs = fam.pop("abs")
        fam["mape"] = round(sum(errs) / len(errs), 4) if errs else 0.0
        fam["max_abs_error"] = round(max(errs), 4) if errs else 0.0
    return out


def load() -> dict[str, dict[str, float]]:
    return json.loads(RATCHET.read_text())["families"]


def load_cv() -> dict[str, float]:
    """Recorded leave-one-family-out MAPE per family, and overall under ``"all"``."""
    return json.loads(RATCHET.read_text())["cv"]


def cv_figures(crossed) -> dict[str, float]:
    out = {f.family: round(f.cv_mape, 4) for f in crossed.families if f.cv_mape is not None}
    out["all"] = round(crossed.cv_mape, 4)
    return out


def cv_regressions(recorded: dict[str, float], now: dict[str, float]) -> list[str]:
    return [f"cv {fam}: recorded {old}, now {now.get(fam)}" for fam, old in recorded.items()
            if now.get(fam) is None or now[fam] > old + SLACK]


def regressions(recorded: dict[str, dict[str, float]], now: dict[str, dict[str, float]]) -> list[str]:
    """What got worse, family by family.

    Fewer unpredicted runs is an improvement whatever the errors of the newly
    predicted ones; so, next, is fewer runs whose published layout the model
    says does not fit in memory (a run a team ran that the model calls
    impossible is a wrong prediction, however close its speed); with the same
    numbers of both, neither the MAPE nor the worst |error| may grow (beyond
    ``SLACK``).
    """
    worse = []
    for fam, old in recorded.items():
        new = now.get(fam)
        if new is None:
            worse.append(f"{fam}: no runs of this family any more")
            continue
        old_nf, new_nf = old.get("not_fitting", 0), new.get("not_fitting", 0)
        if new["unpredicted"] > old["unpredicted"]:
            worse.append(f"{fam}.unpredicted: recorded {old['unpredicted']}, now {new['unpredicted']}")
        elif new["unpredicted"] < old["unpredicted"]:
            pass
        elif new_nf > old_nf:
            worse.append(f"{fam}.not_fitting: recorded {old_nf}, now {new_nf}")
        elif new_nf == old_nf:
            worse += [
                f"{fam}.{key}: recorded {old[key]}, now {new[key]}"
                for key in ("mape", "max_abs_error")
                if new[key] > old[key] + SLACK
            ]
    return worse


def tighten() -> int:
    from colossus.perf import validate_runs
    from colossus.perf.calibrate import cross_validate
    from colossus.spec import load_runs

    runs = load_runs(RUNS)
    recorded = load()
    now = family_figures(validate_runs(runs))
    cv_now = cv_figures(cross_validate(runs))
    recorded_cv = load_cv()
    worse = regressions(recorded, now) + cv_regressions(recorded_cv, cv_now)
    if worse:
        print("refusing to loosen the ratchet:\n  " + "\n  ".join(worse), file=sys.stderr)
        return 1
    # a figure worse by less than the slack keeps its recorded value: the slack forgives float noise, it
    # must not let the record creep up by it one tightening at a time
    families = {fam: {**now[fam], **{key: min(now[fam][key], old[key]) for key in ("mape", "max_abs_error")
                                     if key in old}} for fam, old in recorded.items()}
    cv = {fam: min(value, recorded_cv[fam]) if fam in recorded_cv else value
          for fam, value in cv_now.items()}
    body = {"families": families, "cv": cv}
    RATCHET.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    print(json.dumps(body, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(tighten())
