"""Power against published figures: the reports' 70 MW / 150 MW, and the Zeus power-limit sweeps.

* MISSION.md F5: "about 70 MW for the GPUs alone; the site needs at least 150 MW".
  Bottom up from catalog figures (no scaling): GPUs at TDP are 70 MW exactly; the site
  at nameplate must be >= 150 MW; at typical training load it is below 150 MW because
  GPUs average below TDP over a step (communication and bubbles draw less) and every
  other component runs below its rating: the 150 MW is a sizing (nameplate) figure.
* Zeus (You et al., NSDI 2023; shared/data/zeus): the catalog's cap curve must reproduce
  the measured throughput and power under power limits, and re-fitting must give it.
"""

from __future__ import annotations

import numpy as np
import pytest

from colossus.power import LoadPoint, analyse, cap_curve, default_assumptions, fit_cap_curve, predict, read_zeus_sweeps
from colossus.spec import load_scenario
from tests.conftest import SCENARIOS

ZEUS_GPUS = ("a40", "p100", "rtx6000", "v100")


@pytest.fixture(scope="module")
def memphis_analysis():
    return analyse(load_scenario(SCENARIOS / "colossus-memphis.yaml"))


def test_gpus_are_about_70_mw(memphis_analysis):
    gpus_w = memphis_analysis.demand[LoadPoint.NAMEPLATE].gpus_w
    assert gpus_w == pytest.approx(70e6, rel=0.02)
    # while training they average below TDP: how far below is the job's step profile (perf): the default
    # Grok-2-scale job (16M tokens per step over 20,000 GPUs, so few micro-batches per replica) spends a
    # large share of its step in pipeline bubbles and exposed communication, where GPUs draw far less
    training_w = memphis_analysis.demand[LoadPoint.TRAINING].gpus_w
    assert 0.40 * 70e6 < training_w < 70e6


def test_site_needs_at_least_150_mw(memphis_analysis):
    assert memphis_analysis.demand[LoadPoint.NAMEPLATE].site_w >= 150e6
    assert memphis_analysis.demand[LoadPoint.NAMEPLATE].site_w < 1.3 * 150e6
    # typical training load is within 20% of 150 MW (below it: see the module docstring)
    assert memphis_analysis.demand[LoadPoint.TRAINING].site_w == pytest.approx(150e6, rel=0.2)


@pytest.fixture(scope="module")
def zeus_points(shared_dir_module):
    return [
        p
        for g in ZEUS_GPUS
        for p in read_zeus_sweeps(shared_dir_module / "data" / "zeus" / f"summary_power_{g}.csv", g)
    ]


@pytest.fixture(scope="module")
def shared_dir_module():
    from tests.conftest import need_shared

    return need_shared()


def test_catalog_curve_reproduces_zeus(zeus_points):
    curve = cap_curve(default_assumptions())
    kept, drawn = predict(curve, zeus_points)
    measured_kept = np.array([p.throughput_kept_frac for p in zeus_points])
    measured_drawn = np.array([p.drawn_frac_of_uncapped for p in zeus_points])
    assert len(zeus_points) > 1500
    # per run: within the runs' own scatter (repeat runs at ample headroom scatter ~4%)
    assert np.sqrt(np.mean((kept - measured_kept) ** 2)) < 0.07
    assert np.sqrt(np.mean((drawn - measured_drawn) ** 2)) < 0.045
    # binned by headroom, the curve follows the mean measurement within 5 points
    h = np.array([p.cap_frac_of_uncapped for p in zeus_points])
    for lo in np.arange(0.4, 1.6, 0.1):
        m = (h >= lo) & (h < lo + 0.1)
        if m.sum() >= 20:
            assert abs(kept[m].mean() - measured_kept[m].mean()) < 0.05, f"h in [{lo:.1f}, {lo + 0.1:.1f})"


@pytest.mark.parametrize("gpu", ZEUS_GPUS)
def test_each_gpu_is_reproduced(shared_dir_module, gpu):
    points = read_zeus_sweeps(shared_dir_module / "data" / "zeus" / f"summary_power_{gpu}.csv", gpu)
    kept, _ = predict(cap_curve(default_assumptions()), points)
    measured = np.array([p.throughput_kept_frac for p in points])
    assert np.sqrt(np.mean((kept - measured) ** 2)) < 0.09


def test_refit_gives_the_catalog_curve(zeus_points):
    fit = fit_cap_curve(zeus_points)
    shipped = cap_curve(default_assumptions())
    for name in ("knee", "sharpness", "low_exponent", "draw_knee", "draw_sharpness"):
        assert getattr(fit.curve, name) == pytest.approx(getattr(shipped, name), rel=0.01), name
    assert fit.rmse_frac == pytest.approx(default_assumptions().f("capping.curve.fit_rmse_frac"), abs=0.002)
