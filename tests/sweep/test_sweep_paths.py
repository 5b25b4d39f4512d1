"""Resolving ``--vary`` paths: shorthands, list items by name, aliases, ambiguity, "did you mean"."""

from __future__ import annotations

import copy

import pytest
from sweep_helpers import BIG, MEMPHIS

from colossus.errors import SpecError
from colossus.spec import Scenario, read_yaml, validate
from colossus.sweep import ALIASES, assign, parse_path, resolve
from colossus.sweep.paths import _nodes, column_name


@pytest.fixture(scope="module")
def memphis() -> dict:
    return read_yaml(MEMPHIS)


@pytest.fixture(scope="module")
def big() -> dict:
    """The 200k scenario with two unnamed generator fleets (its own turbines are a named fleet)."""
    doc = read_yaml(BIG)
    doc["power"]["supply"]["generators"] = [{"unit": "gas-recip-2500kw", "count": 14},
                                            {"unit": "gas-turbine-titan130", "count": 6}]
    return doc


@pytest.mark.parametrize(
    ("text", "column", "location"),
    [
        ("supply.generators.count", "power.supply.generators[0].count", ("power", "supply", "generators", 0, "count")),
        (
            "power.supply.generators[0].count",
            "power.supply.generators[0].count",
            ("power", "supply", "generators", 0, "count"),
        ),
        ("generators.0.count", "power.supply.generators[0].count", ("power", "supply", "generators", 0, "count")),
        ("jobs.grok2.gpus", "jobs[grok2].num_gpus", ("jobs", 0, "num_gpus")),
        ("jobs[grok2].num_gpus", "jobs[grok2].num_gpus", ("jobs", 0, "num_gpus")),
        ("grok2.gpus", "jobs[grok2].num_gpus", ("jobs", 0, "num_gpus")),
        ("jobs.gpus", "jobs[grok2].num_gpus", ("jobs", 0, "num_gpus")),
        (
            "jobs.0.checkpoint.interval_min",
            "jobs[grok2].checkpoint.interval_min",
            ("jobs", 0, "checkpoint", "interval_min"),
        ),
        ("interval_min", "jobs[grok2].checkpoint.interval_min", ("jobs", 0, "checkpoint", "interval_min")),
        ("contract_mw", "power.supply.grid.contract_mw", ("power", "supply", "grid", "contract_mw")),
        ("seed", "seed", ("seed",)),
        ("cluster.pools.h100-phase1.gpu", "cluster.pools[h100-phase1].gpu", ("cluster", "pools", 0, "gpu")),
        ("heat_rejection_cop", "power.cooling.heat_rejection_cop", ("power", "cooling", "heat_rejection_cop")),
    ],
)
def test_shorthands_resolve_to_one_location(memphis, text, column, location):
    target = resolve(text, memphis)
    assert target.column == column
    assert target.location == location


def test_fields_left_to_defaults_can_be_varied(memphis):
    """Without a simulation block, its fields still resolve (from the schema) and apply."""
    doc = copy.deepcopy(memphis)
    doc.pop("simulation", None)
    target = resolve("failures.rate_scale", doc)
    assert target.location == ("simulation", "failures", "rate_scale")
    assign(doc, target.location, 2.0)
    assert validate(Scenario, doc).simulation.failures.rate_scale == 2.0


def test_catalog_name_becomes_name_plus_override(memphis):
    target = resolve("jobs.grok2.model.layers", memphis)
    doc = copy.deepcopy(memphis)
    assign(doc, target.location, 32)
    assert doc["jobs"][0]["model"] == {"name": "grok-1-314b", "layers": 32}
    scenario = validate(Scenario, doc)
    assert scenario.jobs[0].model.layers == 32 and scenario.jobs[0].model.name == "grok-1-314b"


def test_free_mapping_takes_the_rest_as_one_key(memphis):
    target = resolve("power.assumptions.load.training.cpu_frac", memphis)
    assert target.location == ("power", "assumptions", "load.training.cpu_frac")
    assert target.column == "power.assumptions[load.training.cpu_frac]"
    assert resolve(target.column, memphis).location == target.location


def test_free_mapping_is_not_a_suffix_start(memphis):
    """power.assumptions takes any key; a shorthand must not disappear into it."""
    assert resolve("supply.generators.count", memphis).location[-1] == "count"


def test_root_anchored_path_wins(memphis):
    assert resolve("seed", memphis).location == ("seed",)


def test_ambiguous_lists_the_candidates(big):
    with pytest.raises(SpecError) as err:
        resolve("supply.generators.count", big)
    text = str(err.value)
    assert "ambiguous" in text
    assert "power.supply.generators[0].count" in text and "power.supply.generators[1].count" in text
    # more of the path settles it
    assert resolve("supply.generators[1].count", big).location == ("power", "supply", "generators", 1, "count")


def test_ambiguous_across_pools_and_jobs(big):
    with pytest.raises(SpecError, match=r"cluster.pools\[h200\].num_gpus.*jobs\[grok3\].num_gpus"):
        resolve("num_gpus", big)
    assert resolve("pools.h200.gpus", big).location == ("cluster", "pools", 2, "num_gpus")


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("supply.generators.cnt", "power.supply.generators[0].count"),
        ("jobs.grok3.gpus", "jobs[grok2].num_gpus"),
        ("jobs.grok2.num_gpu", "jobs[grok2].num_gpus"),
    ],
)
def test_unknown_path_says_did_you_mean(memphis, text, suggestion):
    with pytest.raises(SpecError) as err:
        resolve(text, memphis)
    message = str(err.value)
    assert f"no scenario field matches '{text}'" in message
    assert "did you mean" in message and suggestion in message
    assert "\n" not in message


def test_unknown_path_with_nothing_close(memphis):
    with pytest.raises(SpecError, match="give a full path"):
        resolve("zzzz.qqqq", memphis)


def test_bracket_must_select_an_item(memphis):
    with pytest.raises(SpecError):
        resolve("jobs[nope].num_gpus", memphis)
    with pytest.raises(SpecError):
        resolve("jobs[3].num_gpus", memphis)


def test_alias_table_is_explicit():
    assert ALIASES == {"gpus": "num_gpus"}


def test_alias_does_not_shadow_a_real_field(memphis):
    """An alias applies only where the model has no field of that name."""
    assert resolve("jobs.grok2.num_gpus", memphis).column == "jobs[grok2].num_gpus"


@pytest.mark.parametrize("text", ["", "a..b", ".a", "a.", "a[", "a[]", "a]b", "a[0]b"])
def test_malformed_paths(text):
    with pytest.raises(SpecError):
        parse_path(text)


@pytest.mark.parametrize("path", [MEMPHIS, BIG])
def test_every_column_name_resolves_back(path):
    """The stored column name of every location in the document is itself a path to it."""
    doc = read_yaml(path)
    for node in _nodes(Scenario, doc):
        if not node.loc or not isinstance(node.loc[-1], str):
            continue
        column = column_name(doc, node.loc)
        assert resolve(column, doc).location == node.loc, column
