"""Planning a sweep: every point validated before anything runs; keys, seeds and tasks."""

from __future__ import annotations

import pytest
from sweep_helpers import MEMPHIS, small_document, write_scenario

from colossus.errors import SpecError
from colossus.spec import load_scenario
from colossus.sweep import content_hash, plan_sweep
from colossus.sweep.plan import ESTIMATE_DAYS


def test_points_are_the_cartesian_product(small_scenario):
    plan = plan_sweep(small_scenario, ["jobs.train70b.gpus=64,128", "supply.generators.count=0:28:14"],
                      seeds=3, kind="estimate")
    assert len(plan.points) == 6 and plan.num_runs == 18 and len(set(plan.keys())) == 18
    assert plan.columns == ["jobs[train70b].num_gpus", "power.supply.generators[0].count"]
    assert [dict(p.inputs) for p in plan.points][:2] == [
        {"jobs[train70b].num_gpus": 64, "power.supply.generators[0].count": 0},
        {"jobs[train70b].num_gpus": 64, "power.supply.generators[0].count": 14},
    ]
    assert plan.first_job == "train70b"


def test_seeds_are_the_scenario_seed_plus_i(small_scenario):
    plan = plan_sweep(small_scenario, ["jobs.train70b.gpus=64"], seeds=3, kind="estimate")
    base = load_scenario(small_scenario).seed
    assert [k[1] for k in plan.keys()] == [base, base + 1, base + 2]
    assert all(k[3] == ESTIMATE_DAYS for k in plan.keys())


def test_content_hash_is_of_the_modified_scenario(small_scenario):
    plan = plan_sweep(small_scenario, ["jobs.train70b.gpus=64,128"], seeds=1, kind="estimate")
    base = load_scenario(small_scenario)
    assert plan.points[0].content_hash == content_hash(base)  # 64 is the file's own value
    assert plan.points[1].content_hash != plan.points[0].content_hash
    assert len(plan.points[0].content_hash) == 64


def test_hash_ignores_spelling_but_not_content(tmp_path):
    doc = small_document()
    a = load_scenario(write_scenario(tmp_path / "a.yaml", doc))
    doc["jobs"][0]["model"] = {"name": "llama3-70b"}  # the same entry, spelled as name + no override
    b = load_scenario(write_scenario(tmp_path / "b.yaml", doc))
    doc["jobs"][0]["model"] = {"name": "llama3-70b", "layers": 40}
    c = load_scenario(write_scenario(tmp_path / "c.yaml", doc))
    assert content_hash(a) == content_hash(b) != content_hash(c)


def test_estimate_tasks_group_seeds_simulate_tasks_do_not(small_scenario):
    est = plan_sweep(small_scenario, ["jobs.train70b.gpus=64,128"], seeds=4, kind="estimate")
    assert [len(t.seeds) for t in est.tasks()] == [4, 4]
    sim = plan_sweep(small_scenario, ["jobs.train70b.gpus=64,128"], seeds=4, kind="simulate", days=2)
    assert [len(t.seeds) for t in sim.tasks()] == [1] * 8
    assert all(k[3] == 2.0 for k in sim.keys())
    skip = set(est.keys()[:3])
    assert sum(len(t.seeds) for t in est.tasks(skip)) == 5


def test_simulate_days_default_to_the_scenarios(small_scenario):
    plan = plan_sweep(small_scenario, ["jobs.train70b.gpus=64"], seeds=1, kind="simulate")
    assert plan.points[0].days == load_scenario(small_scenario).simulation.days


def test_a_bad_value_names_its_option_and_nothing_is_planned(small_scenario):
    with pytest.raises(SpecError) as err:
        plan_sweep(small_scenario, ["supply.generators.count=0:28:14", "jobs.train70b.gpus=64,2048"],
                   seeds=1, kind="estimate")
    message = str(err.value)
    assert message.startswith("--vary jobs.train70b.gpus=64,2048: jobs[train70b].num_gpus = 2048: ")
    assert "needs 2048 GPUs" in message and "\n" not in message


def test_a_bad_combination_names_both_options(small_scenario):
    """512 GPUs in the pool are fine, and so is a 1,024-GPU job, but not together."""
    options = ["cluster.pools.h100-phase1.gpus=512,1024", "jobs.train70b.gpus=64,1024"]
    with pytest.raises(SpecError) as err:
        plan_sweep(small_scenario, options, seeds=1, kind="estimate")
    message = str(err.value)
    assert message.startswith(f"--vary {options[0]} with --vary {options[1]}: the point ")
    assert "cluster.pools[h100-phase1].num_gpus = 512, jobs[train70b].num_gpus = 1024" in message


def test_every_point_is_validated_not_only_the_first(small_scenario):
    """The last value of the second option is the bad one: found before any run."""
    with pytest.raises(SpecError, match="does not fill whole servers"):
        plan_sweep(small_scenario, ["supply.generators.count=0:28:2", "cluster.pools.h100-phase1.gpus=1024,1020"],
                   seeds=2, kind="estimate")


@pytest.mark.parametrize(
    ("options", "kwargs", "problem"),
    [
        (["seed=1,2"], {}, "use --seeds"),
        (["jobs.train70b.gpus=64", "jobs[0].num_gpus=128"], {}, "both set jobs[train70b].num_gpus"),
        (["jobs.train70b.model=llama3-8b", "jobs.train70b.model.layers=2"], {}, "both set"),
        (["jobs.train70b.gpus=64"], {"days": 3.0}, "--days: only a simulate sweep"),
        (["jobs.train70b.gpus=64"], {"kind": "simulate", "days": -1.0}, "--days: must be > 0"),
        (["jobs.train70b.gpus=64"], {"kind": "nope"}, "--kind"),
        (["jobs.train70b.gpus=64"], {"seeds": 0}, "--seeds"),
        ([], {}, "at least one"),
        (["jobs.train70b.gpus=64,64.0"], {}, "give the same scenario"),
    ],
)
def test_bad_sweeps(small_scenario, options, kwargs, problem):
    args = {"seeds": 1, "kind": "estimate", **kwargs}
    with pytest.raises(SpecError) as err:
        plan_sweep(small_scenario, options, **args)
    assert problem in str(err.value)


def test_the_file_is_named_when_it_is_bad(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        plan_sweep(tmp_path / "missing.yaml", ["seed=1"], seeds=1, kind="estimate")


def test_plans_the_default_scenario_quickly():
    """Planning validates each point; 45 points of the default scenario take well under a few seconds."""
    plan = plan_sweep(MEMPHIS, ["supply.generators.count=0:28:2", "jobs.grok2.gpus=10000,20000,40000"],
                      seeds=20, kind="estimate")
    assert len(plan.points) == 45 and plan.num_runs == 900


def test_a_clusters_performance_assumption_can_be_swept_and_is_checked_per_point(small_scenario):
    """A sensitivity sweep: the cluster's own figure for a named performance assumption varies; the auto kind
    stays an estimate (a cluster field), and a name the catalog does not have is refused before any run."""
    option = "cluster.performance_assumptions.network.nccl.net_busbw_eff=0.6,0.9"
    plan = plan_sweep(small_scenario, [option], seeds=1, kind="auto")
    assert plan.kind == "estimate" and plan.columns == ["cluster.performance_assumptions[network.nccl.net_busbw_eff]"]
    with pytest.raises(SpecError, match="unknown performance assumption 'network.nccl.nope'"):
        plan_sweep(small_scenario, ["cluster.performance_assumptions.network.nccl.nope=0.6"], seeds=1, kind="auto")
