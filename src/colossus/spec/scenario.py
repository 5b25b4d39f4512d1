"""The top-level scenario: one cluster, its power and cooling, its jobs, a seed."""

from __future__ import annotations

from datetime import date

from pydantic import Field, ValidationInfo, field_validator

from colossus.spec.base import Spec
from colossus.spec.bounds import MAX_JOBS, Seed
from colossus.spec.cluster import ClusterSpec
from colossus.spec.forecast import ForecastSpec
from colossus.spec.jobs import JobSpec
from colossus.spec.power import PowerSpec
from colossus.spec.reliability import ReliabilitySpec
from colossus.spec.simulation import SimulationSpec
from colossus.spec.storage import StorageSpec


class Scenario(Spec):
    name: str
    description: str
    seed: Seed = Field(description="seed of every random process in a run of this scenario")
    cluster: ClusterSpec
    power: PowerSpec
    storage: StorageSpec
    jobs: list[JobSpec] = Field(default_factory=list, max_length=MAX_JOBS)
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    reliability: ReliabilitySpec = Field(default_factory=ReliabilitySpec)
    forecast: ForecastSpec = Field(default_factory=ForecastSpec, description="what a forecast is unsure of")
    start_date: date | None = Field(
        default=None, description="calendar date of day 0 (ISO, e.g. 2024-05-02); lets a forecast take a date")

    @field_validator("start_date", mode="before")
    @classmethod
    def _date_not_number(cls, value: object) -> object:
        if value is not None and not isinstance(value, (str, date)):
            raise ValueError(f"must be an ISO date such as 2024-05-02 (got {value!r})")
        return value

    @field_validator("jobs")
    @classmethod
    def _jobs_fit_the_cluster(cls, jobs: list[JobSpec], info: ValidationInfo) -> list[JobSpec]:
        cluster: ClusterSpec | None = info.data.get("cluster")
        names: set[str] = set()
        for job in jobs:
            if job.name in names:
                raise ValueError(f"job name '{job.name}' is used twice")
            names.add(job.name)
            if cluster is None:
                continue
            pools = {p.name for p in cluster.pools}
            if job.pool is not None and job.pool not in pools:
                raise ValueError(f"job '{job.name}' names pool '{job.pool}', which the cluster lacks")
            if job.num_gpus % cluster.gpus_per_server:  # (the scheduler allocates whole servers)
                raise ValueError(f"job '{job.name}' asks for {job.num_gpus} GPUs, not a whole number of the"
                                 f" cluster's {cluster.gpus_per_server}-GPU servers")
            room = cluster.pool(job.pool).num_gpus if job.pool else cluster.num_gpus
            if job.num_gpus > room:
                where = f"pool '{job.pool}'" if job.pool else "the cluster"
                raise ValueError(f"job '{job.name}' needs {job.num_gpus} GPUs; {where} has {room}")
        return jobs

    @field_validator("simulation")
    @classmethod
    def _simulation_pools_exist(cls, sim: SimulationSpec, info: ValidationInfo) -> SimulationSpec:
        cluster: ClusterSpec | None = info.data.get("cluster")
        if cluster is None:
            return sim
        pools = [p.name for p in cluster.pools]
        seen: set[str] = set()
        for b in sim.buildout:
            if b.pool not in pools:
                raise ValueError(f"buildout names pool '{b.pool}', which the cluster lacks (pools: {', '.join(pools)})")
            if b.pool in seen:
                raise ValueError(f"buildout lists pool '{b.pool}' twice")
            seen.add(b.pool)
        if sim.workload.pool is not None and sim.workload.pool not in pools:
            raise ValueError(f"workload names pool '{sim.workload.pool}', which the cluster lacks")
        return sim
