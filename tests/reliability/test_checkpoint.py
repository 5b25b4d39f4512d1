"""Checkpoint size, write and stall time, restart, Young/Daly."""

from __future__ import annotations

import math

import pytest

from colossus import reliability as rel
from colossus.errors import SpecError
from colossus.spec import LayoutSpec


def test_size_is_14_bytes_per_parameter(llama):
    assert llama.checkpoint.size_bytes == pytest.approx(14 * llama.job.model.num_params)
    assert 5.5e12 < llama.checkpoint.size_bytes < 5.9e12  # 405B x 14 bytes


def test_storage_bound_write_and_async_stall(make_job, llama):
    ck = llama.checkpoint
    a = rel.default_assumptions()
    assert ck.write_s == pytest.approx(a.sync_s + ck.size_bytes / 2e12)  # 2 TB/s Tectonic
    assert ck.stall_s < ck.write_s
    blocking = rel.analyse(make_job(asynchronous=False)).checkpoint
    assert blocking.stall_s == blocking.write_s and blocking.durability_lag_s == 0


def test_unsharded_layout_writes_from_one_replica(make_job):
    layout = LayoutSpec(tp=8, pp=16, dp=128, global_batch=2048, zero=0)
    a = rel.default_assumptions()
    assert rel.num_writers(16384, layout, a) == 128
    sharded = layout.model_copy(update={"zero": 1})
    assert rel.num_writers(16384, sharded, a) == 16384
    slow = rel.analyse(make_job(layout=layout, asynchronous=False)).checkpoint
    fast = rel.analyse(make_job(layout=sharded, asynchronous=False)).checkpoint
    assert slow.write_s > fast.write_s  # 16 servers' NICs limit the replicated write


def test_daly_close_to_young_when_checkpoints_are_cheap():
    assert rel.daly_interval_s(10.0, 1e5) == pytest.approx(rel.young_interval_s(10.0, 1e5), rel=0.01)
    assert rel.daly_interval_s(3e5, 1e5) == 1e5
    assert math.isinf(rel.daly_interval_s(10.0, math.inf))


def test_restart_adds_its_phases(llama):
    r = llama.restart
    assert llama.restart_s == pytest.approx(r.detect_s + r.schedule_s + r.process_start_s + r.collective_init_s
                                            + r.warmup_s + llama.checkpoint.load_s)
    assert r.load_s == llama.checkpoint.load_s
    assert r.first_start_s == pytest.approx(llama.restart_s - r.detect_s - r.load_s)


def test_in_memory_checkpoints_are_durable_fast_and_load_from_peers(make_job, llama):
    mem = rel.analyse(make_job(in_memory=True))
    c = mem.checkpoint
    assert c.mode == "in_memory" and c.asynchronous
    assert c.durability_lag_s < llama.checkpoint.durability_lag_s  # a copy to a peer, not the storage write
    assert c.load_s < llama.checkpoint.load_s and c.storage_load_s == pytest.approx(llama.checkpoint.load_s)
    assert c.fallback_loss_s >= c.persistent_interval_s / 2
    with pytest.raises(SpecError):
        rel.mode_of(asynchronous=False, in_memory=True)


def test_user_interval_is_compared(make_job, llama):
    slow = rel.analyse(make_job(interval_s=4 * 3600.0))
    assert slow.interval_s == 4 * 3600.0
    assert slow.goodput.ettr < slow.goodput_optimal.ettr == pytest.approx(llama.goodput.ettr)
