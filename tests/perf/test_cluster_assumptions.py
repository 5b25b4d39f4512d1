"""A cluster's own performance assumptions (``cluster.performance_assumptions``): checked when read, used by
every job's estimate on it, and under the command line's ``--assume``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colossus.cli import main
from colossus.errors import SpecError
from colossus.perf.jobs import job_perf
from colossus.spec import load_scenario

MEMPHIS = Path(__file__).resolve().parents[2] / "scenarios" / "colossus-memphis.yaml"


def _with(tmp_path: Path, block: str, where: str = "cluster:\n  name: colossus\n") -> Path:
    text = MEMPHIS.read_text()
    assert where in text
    path = tmp_path / "scenario.yaml"
    path.write_text(text.replace(where, where + block, 1))
    return path


def test_a_clusters_measured_figures_are_every_jobs_assumptions(tmp_path):
    base = load_scenario(MEMPHIS)
    slow = load_scenario(_with(tmp_path, "  performance_assumptions:\n    network.nccl.net_busbw_eff: 0.45\n"))
    shipped = job_perf(base.cluster, base.jobs[0])
    # the layout the shipped figures plan, kept (a slower network may well plan another)
    job = slow.jobs[0].model_copy(update={"layout": shipped.estimate.layout})
    measured = job_perf(slow.cluster, job)
    assert measured.estimate.step_time_s > shipped.estimate.step_time_s
    assert measured.estimate.parts_s["compute_s"] == pytest.approx(shipped.estimate.parts_s["compute_s"])


@pytest.mark.parametrize(
    ("block", "said"),
    [("    network.nccl.nope: 0.5\n", "unknown performance assumption 'network.nccl.nope'"),
     ("    network.nccl: 0.5\n", "is a table, not a value"),
     ("    network.nccl.net_busbw_eff: true\n", "must be like 0.9"),
     ("    network.nccl.net_busbw_eff: 0\n", "must be > 0"),
     ("    overlap.dp.contention_frac: 1.5\n", "is a fraction: at most 1")],
)
def test_a_bad_cluster_assumption_is_refused_when_the_scenario_is_read(tmp_path, block, said, capsys):
    path = _with(tmp_path, "  performance_assumptions:\n" + block)
    with pytest.raises(SpecError, match="cluster.performance_assumptions"):
        load_scenario(path)
    assert main(["estimate", str(path), "--job", "grok2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and said in err


@pytest.mark.parametrize(
    ("line", "said"),
    [("load.training.cpu_fraction: 1.0", "unknown power assumption"), ("load.training.cpu_frac: 1.5", "at most 1")],
)
def test_a_bad_power_assumption_is_refused_when_the_scenario_is_read(tmp_path, line, said):
    path = _with(tmp_path, f"  assumptions:\n    {line}\n", where="power:\n")
    with pytest.raises(SpecError, match=f"power.assumptions.*{said}"):
        load_scenario(path)


def test_assume_on_the_command_line_goes_over_the_clusters_own(tmp_path, capsys):
    path = _with(tmp_path, "  performance_assumptions:\n    network.nccl.net_busbw_eff: 0.45\n")
    assert main(["estimate", str(path), "--job", "grok2", "--json"]) == 0
    cluster = json.loads(capsys.readouterr().out)
    assert main(["estimate", str(path), "--job", "grok2", "--json", "--assume", "overlap.dp.contention_frac=0.3"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert both["assumptions_set"] == {"overlap.dp.contention_frac": 0.3}
    assert both["step_time_s"] >= cluster["step_time_s"]
    assert main(["estimate", str(MEMPHIS), "--job", "grok2", "--json"]) == 0
    shipped = json.loads(capsys.readouterr().out)
    assert cluster["step_time_s"] > shipped["step_time_s"]  # the cluster's figure stayed under --assume


def test_the_collectives_and_the_fit_of_a_cluster_use_its_own_figures(tmp_path):
    from colossus.perf.collective import collective_costs
    from colossus.perf.fit import fit_model
    from colossus.spec import lookup

    base = load_scenario(MEMPHIS)
    slow = load_scenario(_with(tmp_path, "  performance_assumptions:\n    network.nccl.net_busbw_eff: 0.45\n"))
    (shipped,) = collective_costs(base.cluster, group_gpus=4096, sizes_bytes=(2.0**30,), ops=("all-reduce",))
    (measured,) = collective_costs(slow.cluster, group_gpus=4096, sizes_bytes=(2.0**30,), ops=("all-reduce",))
    assert measured.time_s > 1.5 * shipped.time_s
    model = lookup("models", "llama3-8b")
    fast_fit = fit_model(model, base.cluster.pools[0], base.cluster)
    slow_fit = fit_model(model, slow.cluster.pools[0], slow.cluster)
    assert fast_fit.min_gpus == slow_fit.min_gpus  # memory decides where it fits ...
    assert slow_fit.estimate.step_time_s >= fast_fit.estimate.step_time_s  # ... the cluster's figures how fast
