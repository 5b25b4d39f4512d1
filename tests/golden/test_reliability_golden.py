"""Golden: the reliability model against the published records of shared/validation/reliability.yaml.

Two kinds of check, named for what they are:

* **in-sample**: Llama 3's 466 interruptions (47 planned, 419 unexpected) in 54
  days on 16,384 H100. The per-unit rates are that log's counts over its own
  exposure, so reproducing them only checks the bookkeeping (units spanned,
  shares);
* **out of sample**: a quantity no constant was fitted on, predicted from rates
  fitted on another record (or on another quantity of the same record, said so
  in the row). Each test states its bound and why.

``rows()`` computes the table the closing note of issue 12 gives (record,
quantity, published, predicted, error, fitted on); ``python -m
tests.golden.test_reliability_golden`` prints it. Rows marked "not reproduced"
are printed, not asserted: they are what the fleet spread is for.

When ``../shared`` is missing the tests fail under CI (``CI`` set) and skip
otherwise, so a CI run can never be green without its validation data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from colossus import reliability as rel
from colossus.reliability.fleets import expected_count
from colossus.spec import lookup

RECORDS = Path(__file__).resolve().parents[2].parent / "shared" / "validation" / "reliability.yaml"
DAY = 86400.0


@pytest.fixture(scope="module")
def records() -> dict[str, dict]:
    if not RECORDS.is_file():
        message = "shared/validation/reliability.yaml is not beside the repository"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return {r["id"]: r for r in yaml.safe_load(RECORDS.read_text())}


# --- predictions --------------------------------------------------------------------


def _causes(fleet: str, gpu: str) -> tuple[rel.CauseRate, ...]:
    return rel.fleet_causes(fleet, arch=lookup("gpus", gpu).architecture)


def count(fleet: str, gpu: str, select: str, num_gpus: int, days: float) -> float:
    """Interruptions of the ``select``-ed causes for a job of ``num_gpus`` over ``days``."""
    return expected_count(_causes(fleet, gpu), select, rel.reference_footprint(num_gpus), days)


def ettr(fleet: str, model: str, gpu: str, num_gpus: int, *, restart: str | None = None) -> float:
    """Closed-form effective training time ratio at the Young/Daly interval, async checkpoints."""
    m, g = lookup("models", model), lookup("gpus", gpu)
    rate = rel.tokens_per_s_from_mfu(m, g, num_gpus=num_gpus, mfu=rel.default_assumptions().mfu)
    job = rel.JobInput(model=m, num_gpus=num_gpus, gpus_per_server=8, fabric=rel.default_fabric(),
                       tokens_per_s=rate, train_tokens=rate * 30 * DAY, fleet=fleet, gpu_arch=g.architecture,
                       restart=rel.restart_profile(restart) if restart else None)
    return rel.analyse(job).goodput.ettr


@dataclass(frozen=True)
class Row:
    record: str
    quantity: str
    published: float
    predicted: float
    fitted_on: str
    kind: str  # in-sample | out-of-sample | same record, other quantity | not reproduced

    @property
    def error(self) -> float:
        return self.predicted / self.published - 1.0


#: OPT's logbook: 40+ restarts from Nov 17 to Dec 3, both days counted (17 days).
OPT_RESTARTS_PER_DAY = 40 / 17


@cache
def rows() -> tuple[Row, ...]:
    """Every comparison of the table, computed from the catalog (no validation file needed)."""
    llama_all = count("llama3-h100", "h100-sxm5-80gb", "all", 16384, 54.0)
    llama_unexpected = count("llama3-h100", "h100-sxm5-80gb", "unplanned", 16384, 54.0)
    return (
        Row(
            "llama3-table5",
            "interruptions in 54 days, 16,384 H100",
            466,
            llama_all,
            "llama3-table5 (its counts)",
            "in-sample",
        ),
        Row(
            "llama3-table5", "unexpected interruptions in 54 days", 419, llama_unexpected, "llama3-table5", "in-sample"
        ),
        Row(
            "llama3-table5",
            "effective training time (>90%)",
            0.90,
            ettr("llama3-h100", "llama3-405b", "h100-sxm5-80gb", 16384),
            "rates: llama3-table5 counts; restart: megascale phases; ETTR not fitted",
            "out-of-sample",
        ),
        Row(
            "bloom176b",
            "GPU deaths per week, 384 A100 (~1)",
            1.0,
            count("llama3-h100", "a100-sxm4-80gb", "gpu,hbm", 384, 7.0),
            "llama3-table5 (HBM carried to A100 by Delta's 3.2x)",
            "out-of-sample",
        ),
        Row(
            "megascale",
            "restarts in 4 weeks at 10,000 Ampere GPUs (>100)",
            100,
            count("llama3-h100", "a100-sxm4-80gb", "all", 10000, 28.0),
            "llama3-table5",
            "out-of-sample",
        ),
        Row(
            "megascale",
            "ETTR at 10,000 Ampere GPUs (>90%)",
            0.90,
            ettr("llama3-h100", "gpt3-175b", "a100-sxm4-80gb", 10000, restart="megascale"),
            "rates: llama3-table5; restart: megascale phases (Sec. 4.4, 5.1)",
            "out-of-sample",
        ),
        Row(
            "opt175b-logbook",
            "restarts per day, 992 A100 (40+ in 17 days)",
            OPT_RESTARTS_PER_DAY,
            count("opt175b-a100", "a100-sxm4-80gb", "all", 992, 1.0),
            "opt175b-logbook's machine failures (2/day) and Llama 3's cause mix",
            "same record, other quantity",
        ),
        Row(
            "opt175b-logbook",
            "restarts per day, 992 A100, from Llama 3's fleet",
            OPT_RESTARTS_PER_DAY,
            count("llama3-h100", "a100-sxm4-80gb", "all", 992, 1.0),
            "llama3-table5",
            "not reproduced",
        ),
        Row(
            "crusoe-h200-gtc25",
            "hardware faults in ~4 months, ~1,600 H200 (~205)",
            205,
            count("llama3-h100", "h200-sxm-141gb", "hardware", 1600, 120.0),
            "llama3-table5",
            "not reproduced",
        ),
        Row(
            "bloom176b",
            "GPU deaths per week, from OPT's fleet",
            1.0,
            count("opt175b-a100", "a100-sxm4-80gb", "gpu,hbm", 384, 7.0),
            "opt175b-logbook",
            "not reproduced",
        ),
    )


def _row(quantity_start: str, record: str) -> Row:
    return next(r for r in rows() if r.record == record and r.quantity.startswith(quantity_start))


# --- the records are the ones the catalog says ----------------------------------------


def test_every_fleet_names_a_published_record(records):
    for name in rel.fleet_names():
        assert rel.fleet(name).record in records, name


def test_the_figures_the_fleets_were_fitted_on_are_the_records(records):
    opt = records["opt175b-logbook"]["measured"]
    assert "2 machines go down every day" in opt["machine_failures"]
    assert opt["restarts_nov17_to_dec3"].startswith("40+")
    assert "week" in records["bloom176b"]["measured"]["gpu_failures"]
    assert records["bloom176b"]["config"]["gpu_count"] == 384
    assert records["megascale"]["measured"]["restarts"] == ">100"
    assert records["crusoe-h200-gtc25"]["measured"]["implied_failures"].startswith("~205")
    nccl = records["megascale"]["measured"]["nccl_init_time"]
    assert "1047" in nccl["Megatron-LM 2,048 GPUs"] and "<30 s" in nccl["optimized"]
    llama = records["llama3-table5"]["measured"]
    assert (llama["total_interruptions"], llama["planned"], llama["unexpected"]) == (466, 47, 419)


# --- in-sample ---------------------------------------------------------------------------


def test_in_sample_llama3_counts(records):
    """In-sample: the rates are this log's counts. Within 5%: our fabric has 640 switches
    for the job where Meta's had ~1,120, and the rack domains are added on top."""
    m = records["llama3-table5"]["measured"]
    assert _row("interruptions", "llama3-table5").predicted == pytest.approx(m["total_interruptions"], rel=0.05)
    assert _row("unexpected", "llama3-table5").predicted == pytest.approx(m["unexpected"], rel=0.05)


def test_in_sample_llama3_root_cause_shares():
    """In-sample: ~78% hardware; GPU issues between the text's 58.7% and the table's counts, 64%."""
    rates = rel.job_rates(rel.calibration_footprint(), rel.log_causes())
    assert rel.hardware_share(rates) == pytest.approx(0.78, abs=0.03)
    by = rel.by_cause_per_day(rates)
    gpu_share = (by["gpu"] + by["hbm"] + by["nvlink"]) / (rel.total_per_s(rates, planned=False) * DAY)
    assert 0.587 - 0.03 <= gpu_share <= 0.64 + 0.03


# --- out of sample -----------------------------------------------------------------------


def test_llama3_effective_training_time_from_megascale_restart_phases(records):
    """Out of sample for the ETTR: the rates come from Llama 3's counts, the restart phases from
    MegaScale, the checkpoint from Llama 3's storage; nothing was fitted on the ">90%".
    Bound 0.85-0.97: MegaScale's detection "< 10 min" is taken at its bound, an overestimate
    of Meta's, so up to 5 points below 90% are the restart's uncertainty; above 97% would
    contradict an interruption every ~3 h with minutes-long restarts."""
    assert records["llama3-table5"]["measured"]["effective_training_time"] == ">90%"
    assert 0.85 <= _row("effective", "llama3-table5").predicted <= 0.97


def test_bloom_gpu_deaths_from_llama3_rates(records):
    """Out of sample: Llama 3's GPU and HBM rates (HBM carried to A100 by Delta's 3.2x) on 384
    A100. Bound: a factor 2 either way. "Every week or so" is a rate between about one per
    two weeks and two a week; over BLOOM's ~3.5 months (~15 deaths) Poisson noise alone is
    ~25%; and Delta finds A100 weaker than H100 in non-memory parts by an unpublished factor."""
    assert records["bloom176b"]["config"]["gpu_count"] == 384
    predicted = _row("GPU deaths per week, 384", "bloom176b").predicted
    assert 0.5 <= predicted <= 2.0


def test_megascale_restart_count_from_llama3_rates(records):
    """Out of sample: Llama 3's rates for 10,000 Ampere GPUs over four weeks. Published: "more
    than 100" restarts over "several weeks" on "more than 10,000" GPUs. Bound 100-300: the
    published figure is a lower bound; three times it would have been reported as hundreds.
    Reading "several" as 3 or 6 weeks moves the prediction by -25% or +50%."""
    assert records["megascale"]["measured"]["restarts"] == ">100"
    assert 100 <= _row("restarts in 4 weeks", "megascale").predicted <= 300


def test_megascale_ettr_from_llama3_rates_and_its_restart_phases(records):
    """Out of sample: the ETTR of a 175B-class job on 10,000 Ampere GPUs with Llama 3's rates,
    MegaScale's restart phases and async checkpoints at the Daly interval. Published: "> 90%".
    Bound 0.90-0.99: the lower end is the published bound; above 99% would need restarts far
    shorter than MegaScale's own ten minutes of detection."""
    assert records["megascale"]["measured"]["ETTR"] == ">90%"
    assert 0.90 <= _row("ETTR", "megascale").predicted <= 0.99


def test_opt_restarts_from_its_machine_failures(records):
    """Same record, other quantity: the OPT fleet is fitted on "~2 machines go down every day";
    its restart rate adds Llama 3's non-hardware causes scaled alike. Published "40+" restarts
    from Nov 17 to Dec 3. Bound 1-2x the published rate: it is a lower bound ("40+"), and the
    machine rate it was fitted on is itself approximate ("~2")."""
    assert records["opt175b-logbook"]["measured"]["restarts_nov17_to_dec3"].startswith("40+")
    predicted = _row("restarts per day, 992 A100 (", "opt175b-logbook").predicted
    assert OPT_RESTARTS_PER_DAY <= predicted <= 2 * OPT_RESTARTS_PER_DAY


def test_the_fleet_spread_covers_the_misses():
    """What one fleet cannot predict, the spread between fleets must say: Llama 3's rates miss
    OPT's restarts by a factor the published fleets' spread spans (within its 2-sigma band)."""
    miss = _row("restarts per day, 992 A100, from", "opt175b-logbook")
    spread = rel.fleet_spread()
    assert abs(np.log(miss.published / miss.predicted)) <= 2.5 * spread.log_sd


def test_monte_carlo_agrees_with_the_closed_form_on_llama3():
    """The Monte Carlo of the Llama 3 job (same rates, restart and interval) agrees with the
    closed form within 1% on the mean finish (500 histories: ~0.1% standard error)."""
    m, g = lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb")
    rate = rel.tokens_per_s_from_mfu(m, g, num_gpus=16384, mfu=0.40)
    an = rel.analyse(rel.JobInput(model=m, num_gpus=16384, gpus_per_server=8, fabric=rel.default_fabric(),
                                  tokens_per_s=rate, train_tokens=rate * 54 * DAY, num_spares=200))
    mc = rel.simulate_job(an, num_runs=500, rng=np.random.default_rng(20240723))
    assert mc.finish_s.mean() == pytest.approx(an.goodput.expected_finish_s, rel=0.01)


def table() -> str:
    """The comparison table, as markdown."""
    lines = [
        "| record | quantity | published | predicted | error | fitted on | kind |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows():
        fmt = (lambda x: f"{x:.1%}") if r.published < 1.5 and r.quantity.find("%") >= 0 else (lambda x: f"{x:,.2f}")
        lines.append(f"| {r.record} | {r.quantity} | {fmt(r.published)} | {fmt(r.predicted)} | {r.error:+.0%} |"
                     f" {r.fitted_on} | {r.kind} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
