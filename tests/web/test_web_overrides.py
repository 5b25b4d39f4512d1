"""The knobs applied to a scenario document, and the names that may lead into a folder."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
import pytest
from web_helpers import REPO_SCENARIOS

from colossus.errors import SpecError
from colossus.spec import read_yaml
from colossus.web.folders import Folders, valid_name
from colossus.web.models import Overrides
from colossus.web.overrides import OverrideError, apply_overrides, scenario_with

MEMPHIS = REPO_SCENARIOS / "colossus-memphis.yaml"


@pytest.fixture(scope="module")
def memphis() -> dict:
    return read_yaml(MEMPHIS)


def test_no_overrides_is_the_file(memphis: dict):
    scenario, edited = scenario_with(memphis, Overrides(), file="m.yaml")
    assert edited.document == memphis and not edited.written and not edited.notes
    assert scenario.cluster.num_gpus == 100000


def test_every_knob_lands_in_its_field(memphis: dict):
    ov = Overrides.model_validate({
        "pools": {"h100-phase1": {"num_gpus": 50000, "gpu": "h200-sxm-141gb"}},
        "jobs": {"grok2": {"model": "llama3-405b", "num_gpus": 16384, "checkpoint_interval_min": 45}},
        "grid_interim_mw": 20, "grid_contract_mw": 120, "grid_contract_start_day": 60,
        "generators": {"gas-recip-2500kw": 4, "gas-turbine-titan130": 2}, "batteries": {"megapack2-xl-4h": 5},
        "days": 10, "seed": 3,
    })
    s, edited = scenario_with(memphis, ov, file="m.yaml")
    pool, job, supply = s.cluster.pools[0], s.jobs[0], s.power.supply
    assert (pool.num_gpus, pool.gpu.name) == (50000, "h200-sxm-141gb")
    assert (job.model.name, job.num_gpus, job.checkpoint.interval_min) == ("llama3-405b", 16384, 45)
    assert (supply.grid.interim_mw, supply.grid.contract_mw, supply.grid.contract_start_day) == (20, 120, 60)
    assert [(f.unit.name, f.count) for f in supply.generators] == [("gas-recip-2500kw", 4), ("gas-turbine-titan130", 2)]
    assert [(b.unit.name, b.count) for b in supply.batteries] == [("megapack2-xl-4h", 5)]
    assert (s.simulation.days, s.seed) == (10, 3)
    assert memphis["cluster"]["pools"][0]["num_gpus"] == 100000  # the file's document is not touched
    assert edited.written[("cluster", "pools", 0, "gpu")] == ("body", "overrides", "pools", "h100-phase1", "gpu")


def test_the_routing_knob_states_the_jobs_software_field(memphis: dict):
    """The MoE routing knob writes jobs[].software.expert_routing, making the block if the job has none, and an
    error about it names the knob."""
    from colossus.spec import ExpertRouting

    s, edited = scenario_with(memphis, Overrides.model_validate({"jobs": {"grok2": {"expert_routing": "dropless"}}}),
                              file="m.yaml")
    assert s.jobs[0].software is not None and s.jobs[0].software.expert_routing is ExpertRouting.DROPLESS
    assert edited.written[("jobs", 0, "software", "expert_routing")] == (
        "body", "overrides", "jobs", "grok2", "expert_routing")
    assert "software" not in memphis["jobs"][0]  # the file's document is not touched
    with pytest.raises(ValueError, match="expert_routing"):
        Overrides.model_validate({"jobs": {"grok2": {"expert_routing": "random"}}})


def test_contract_start_day_null_means_not_signed(memphis: dict):
    signed, _ = scenario_with(memphis, Overrides(grid_contract_start_day=30), file="m.yaml")
    assert signed.power.supply.grid.contract_start_day == 30
    doc = apply_overrides(memphis, Overrides(grid_contract_start_day=30)).document
    unsigned, _ = scenario_with(doc, Overrides.model_validate({"grid_contract_start_day": None}), file="m.yaml")
    assert unsigned.power.supply.grid.contract_start_day is None
    untouched, _ = scenario_with(doc, Overrides(), file="m.yaml")
    assert untouched.power.supply.grid.contract_start_day == 30


def test_a_rejected_override_names_its_place_in_the_request(memphis: dict):
    with pytest.raises(OverrideError) as err:
        scenario_with(memphis, Overrides.model_validate({"jobs": {"grok2": {"num_gpus": 100008}}}), file="m.yaml")
    assert err.value.loc == ("body", "overrides", "jobs", "grok2", "num_gpus")
    assert str(err.value).startswith("m.yaml (with overrides): jobs")


def test_an_error_in_the_file_itself_stays_a_spec_error(memphis: dict):
    broken = {**memphis, "seed": "soon"}
    with pytest.raises(SpecError) as err:
        scenario_with(broken, Overrides(days=3), file="m.yaml")
    assert not isinstance(err.value, OverrideError) and "seed" in str(err.value)


@pytest.mark.parametrize("name, ok", [
    ("colossus-memphis", True), ("run_1.v2", True), ("a", True),
    ("..", False), ("a..b", False), (".hidden", False), ("-x", False), ("a/b", False), ("a\\b", False),
    ("/etc", False), ("", False), ("x" * 129, False), ("a\x00b", False), ("ä", False),
])
def test_valid_names(name: str, ok: bool):
    assert valid_name(name) is ok


@given(st.text(max_size=40))
def test_a_valid_name_is_one_plain_path_component(name: str):
    if valid_name(name):
        assert Path(name).name == name and name not in (".", "..") and not name.startswith(".")
        assert "/" not in name and "\\" not in name and "\x00" not in name


def test_folders_follow_no_link_out(tmp_path: Path):
    scenarios, runs, outside = tmp_path / "s", tmp_path / "r", tmp_path / "o"
    for folder in (scenarios, runs, outside):
        folder.mkdir()
    (outside / "x.yaml").write_text("name: x\n")
    (scenarios / "inside.yaml").write_text("name: inside\n")
    (scenarios / "link-in.yaml").symlink_to(scenarios / "inside.yaml")
    (scenarios / "link-out.yaml").symlink_to(outside / "x.yaml")
    (outside / "summary.json").write_text("{}")
    (runs / "out").symlink_to(outside)
    folders = Folders.of(scenarios, runs)
    assert folders.scenario_names() == ["inside", "link-in"]
    assert folders.scenario_file("link-out") is None and folders.scenario_file("../o/x") is None
    assert folders.run_dir("out") is None and folders.run_ids() == []
    with pytest.raises(ValueError):
        folders.new_run_dir("../escape")
