"""Experiments: the names runs are recorded under."""

from __future__ import annotations

from fastapi import APIRouter

from headrace.schemas import ExperimentList, ExperimentRead
from headrace.server import convert
from headrace.server.deps import Reader, ServicesDep

router = APIRouter(tags=["experiments"])


@router.get("/experiments", response_model=ExperimentList)
def list_experiments(_: Reader, svc: ServicesDep) -> ExperimentList:
    return ExperimentList(Value=[convert.experiment_read(e) for e in svc.store.list_experiments()])


@router.get("/experiments/{name}", response_model=ExperimentRead)
def get_experiment(name: str, _: Reader, svc: ServicesDep) -> ExperimentRead:
    return convert.experiment_read(svc.store.get_experiment(name))
