"""MLflow 3's logged models over headrace's records: ``mlflow.<flavor>.log_model`` and ``autolog()``.

A logged model is a ``LoggedModelRecord`` in the metadata store (``store.*_logged_model``) and a folder of
files in the artifact store (``logged-models/<id>/artifacts``, ``engine.run_files.logged_model_path``). It
belongs to the run (or step run) that logged it (``source_run_id``) and to that run's experiment. Both MLflow
front ends call this module, in the JSON shapes of MLflow's REST API: the routes under
``/api/2.0/mlflow/logged-models`` and the tracking-store plugin of an embedded workspace. MLflow reads a
model back by ``models:/<id>`` (its ``artifact_uri``) or by ``runs:/<run>/<name>``, which it resolves by
searching the run's experiment for a model of that name logged by that run.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from headrace import clock
from headrace.errors import ConfigError, NotFoundError, ParameterError
from headrace.services import mlflow_tracking as tracking
from headrace.services.bundle import Services
from headrace.services.mlflow_tracking import find_experiment, resolve
from headrace.storage.model_records import LoggedModelRecord

ArtifactLocation = Callable[[str], str]
"""Model id -> the ``artifact_uri`` a client is given for it (the REST API and the plugin differ)."""

_TO_MLFLOW = {"PENDING": "LOGGED_MODEL_PENDING", "READY": "LOGGED_MODEL_READY", "FAILED": "LOGGED_MODEL_UPLOAD_FAILED"}
_FROM_MLFLOW = {v: k for k, v in _TO_MLFLOW.items()} | {"2": "READY", "3": "FAILED", "1": "PENDING"}
_ATTRIBUTES = {"name": "name", "source_run_id": "source_run_id", "model_type": "model_type", "status": "status",
               "model_id": "id", "experiment_id": "experiment_id"}
_CLAUSE = re.compile(r"""^\s*(?:(tags|tag|params|param|metrics|metric|attributes|attribute)\.)?"""
                     r"""(?:"([^"]+)"|`([^`]+)`|([\w.\-]+))\s*(=|!=|>=|<=|>|<|LIKE|ILIKE)\s*('([^']*)'|[-\d.eE+]+)\s*$""",
                     re.IGNORECASE)


def model_json(rec: LoggedModelRecord, artifact_location: ArtifactLocation) -> dict[str, Any]:
    """MLflow's ``LoggedModel`` (info, data) for a record."""
    info = {"model_id": rec.id, "experiment_id": rec.experiment_id, "name": rec.name,
            "creation_timestamp_ms": _ms(rec.created_at), "last_updated_timestamp_ms": _ms(rec.updated_at),
            "artifact_uri": artifact_location(rec.id), "status": _TO_MLFLOW.get(rec.status, "LOGGED_MODEL_PENDING"),
            "tags": [{"key": k, "value": v} for k, v in rec.tags.items()]}
    for key in ("model_type", "source_run_id", "status_message"):
        if getattr(rec, key):
            info[key] = getattr(rec, key)
    metrics = [{**m, "model_id": rec.id} for m in rec.metrics]
    return {"info": info, "data": {"params": [{"key": k, "value": v} for k, v in rec.params.items()],
                                   "metrics": metrics}}


def get(svc: Services, model_id: str, *, allow_deleted: bool = False) -> LoggedModelRecord:
    """Raises: NotFoundError (no such model, or a deleted one unless ``allow_deleted``)."""
    rec = svc.store.get_logged_model(model_id)
    if rec.deleted and not allow_deleted:
        raise NotFoundError("logged model", model_id, "it was deleted")
    return rec


def create(svc: Services, experiment_id: str, *, name: str | None = None, source_run_id: str | None = None,
           model_type: str | None = None, tags: Iterable[dict[str, Any]] = (),
           params: Iterable[dict[str, Any]] = ()) -> LoggedModelRecord:
    """A new logged model (status PENDING until MLflow finalizes it) of an experiment and, usually, a run.

    Raises:
        NotFoundError: no such experiment or run.
        ConfigError: a name that cannot be a folder or URI part.
    """
    experiment = find_experiment(svc, experiment_id)
    if source_run_id:
        resolve(svc, source_run_id)
    name = name or "model"
    if "/" in name or name in (".", "..") or len(name) > 255:
        raise ConfigError(f"invalid logged model name {name!r}: give a name without '/' of at most 255 characters")
    now = clock.now()
    rec = LoggedModelRecord(id=f"m-{uuid.uuid4().hex}", experiment_id=experiment.id, name=name,
                            source_run_id=source_run_id or None, model_type=model_type or None,
                            tags=_pairs(tags), params=_pairs(params), created_at=now, updated_at=now)
    return svc.store.add_logged_model(rec)


def finalize(svc: Services, model_id: str, status: Any) -> LoggedModelRecord:
    """Mark a model READY (its files are uploaded) or FAILED. Raises: NotFoundError, ParameterError."""
    get(svc, model_id)
    new = _FROM_MLFLOW.get(str(status), str(status) if str(status) in _TO_MLFLOW else None)
    if new is None:
        raise ParameterError(f"unknown logged model status {status!r}: use LOGGED_MODEL_READY or "
                             "LOGGED_MODEL_UPLOAD_FAILED")
    return svc.store.update_logged_model(model_id, status=new, updated_at=clock.now())


def set_tags(svc: Services, model_id: str, tags: Iterable[dict[str, Any]] = (), *,
             delete: Iterable[str] = ()) -> LoggedModelRecord:
    """Set (and remove) tags. Raises: NotFoundError (no such model, or a tag to delete it lacks)."""
    current = dict(get(svc, model_id).tags)
    current.update(_pairs(tags))
    for key in delete:
        if key not in current:
            raise NotFoundError("tag", key, f"tags of logged model {model_id}: {', '.join(sorted(current)) or 'none'}")
        current.pop(key)
    return svc.store.update_logged_model(model_id, tags=current, updated_at=clock.now())


def log_params(svc: Services, model_id: str, params: Iterable[dict[str, Any]]) -> LoggedModelRecord:
    """Add params. Raises: NotFoundError."""
    rec = get(svc, model_id)
    return svc.store.update_logged_model(model_id, params={**rec.params, **_pairs(params)}, updated_at=clock.now())


def log_batch(svc: Services, run_id: str, *, metrics: Iterable[dict[str, Any]] = (),
              params: Iterable[dict[str, Any]] = (), tags: Iterable[dict[str, Any]] = ()) -> None:
    """``mlflow_tracking.log_batch``; metrics naming a ``model_id`` go to that model too.

    MLflow logs a model's metrics on the run and the model at once, and repeats the run's metrics of the step
    a model was logged at with its ``model_id``: a repeated value (same key, step, timestamp and value) is not
    recorded on the run again, as MLflow's own stores keep one row for it.

    Raises: NotFoundError, ParameterError (as ``mlflow_tracking.log_batch``).
    """
    metrics = list(metrics)
    for_models = [m for m in metrics if m.get("model_id")]
    if for_models:
        seen = {key: {_identity(h) for h in tracking.metric_history(svc, run_id, key)}
                for key in {str(m.get("key", "")) for m in for_models}}
        metrics = [m for m in metrics if not m.get("model_id") or _identity(m) not in seen[str(m.get("key", ""))]]
    tracking.log_batch(svc, run_id, metrics=metrics, params=params, tags=tags)
    if for_models:
        log_metrics(svc, run_id, for_models)


def _identity(m: dict[str, Any]) -> tuple[int, int, str]:
    return int(m.get("step") or 0), int(m.get("timestamp") or 0), str(_finite(m.get("value")))


def log_metrics(svc: Services, run_id: str, metrics: list[dict[str, Any]]) -> None:
    """Keep metrics logged for a model (MLflow repeats a run's metrics with ``model_id`` set) on that model,
    not again on the run. Raises: NotFoundError (no such model)."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for m in metrics:
        value = m.get("value")
        entry = {"key": str(m.get("key", "")), "value": value if isinstance(value, str) else _finite(value),
                 "timestamp": int(m.get("timestamp") or 0), "step": int(m.get("step") or 0), "run_id": run_id}
        by_model.setdefault(str(m["model_id"]), []).append(entry)
    for model_id, entries in by_model.items():
        rec = get(svc, model_id)
        svc.store.update_logged_model(model_id, metrics=[*rec.metrics, *entries], updated_at=clock.now())


def delete(svc: Services, model_id: str) -> None:
    """Delete a model (its record is kept, hidden; its files stay). Raises: NotFoundError."""
    get(svc, model_id)
    svc.store.update_logged_model(model_id, deleted=True, updated_at=clock.now())


def log_outputs(svc: Services, run_id: str, outputs: Iterable[dict[str, Any]]) -> None:
    """MLflow links a model to the run that logged it; the model's ``source_run_id`` already says so.

    Raises: NotFoundError (no such run or model)."""
    resolve(svc, run_id)
    for out in outputs:
        get(svc, str(out.get("model_id", "")))


def run_models(svc: Services, run_id: str) -> list[LoggedModelRecord]:
    """The models a run or step run logged, newest first."""
    return svc.store.list_logged_models(source_run_id=run_id)[0]


def search(svc: Services, experiment_ids: Iterable[str], *, filter_string: str | None = None,
           max_results: int | None = None, order_by: Iterable[dict[str, Any]] = (),
           page_token: str | None = None) -> tuple[list[LoggedModelRecord], str | None]:
    """Models of these experiments matching ``filter_string`` (clauses joined by AND on ``name``,
    ``source_run_id``, ``model_type``, ``status``, ``tags.<k>``, ``params.<k>``, ``metrics.<k>``), newest first
    unless ``order_by`` says otherwise (``{"field_name", "ascending"}``); a page and the next page's token.

    Raises:
        ParameterError: a filter, order or page token of another form.
        NotFoundError: no such experiment.
    """
    ids = [find_experiment(svc, e).id for e in experiment_ids]
    clauses = parse_filter(filter_string)
    pushed = {c[1]: c[3] for c in clauses if c[0] == "attributes" and c[1] in ("name", "source_run_id") and c[2] == "="}
    found = svc.store.list_logged_models(experiment_ids=ids, name=pushed.get("name"),
                                         source_run_id=pushed.get("source_run_id"))[0]
    return select(found, filter_string=filter_string, max_results=max_results, order_by=order_by,
                  page_token=page_token)


def select(found: list[LoggedModelRecord], *, filter_string: str | None = None, max_results: int | None = None,
           order_by: Iterable[dict[str, Any]] = (), page_token: str | None = None,
           ) -> tuple[list[LoggedModelRecord], str | None]:
    """The page of ``found`` (newest first) that ``search`` answers. Raises: ParameterError."""
    clauses = parse_filter(filter_string)
    found = [m for m in found if all(_matches(m, c) for c in clauses)]
    for order in reversed(list(order_by)):
        field = str(order.get("field_name", ""))
        found.sort(key=lambda m, f=field: _sort_key(m, f), reverse=not order.get("ascending", True))
    try:
        start = int(page_token) if page_token else 0
    except ValueError:
        raise ParameterError(f"invalid page token {page_token!r}: pass the token a previous page returned") from None
    end = start + max_results if max_results else len(found)
    return found[start:end], (str(end) if end < len(found) else None)


def parse_filter(text: str | None) -> list[tuple[str, str, str, str]]:
    """``(kind, key, op, value)`` of each clause of a search filter (kind ``attributes``, ``tags``, ``params`` or
    ``metrics``). Raises: ParameterError."""
    out = []
    for clause in re.split(r"\s+(?i:and)\s+", text.strip()) if text and text.strip() else []:
        found = _CLAUSE.match(clause)
        if found is None:
            raise ParameterError(f"unsupported logged model filter {clause!r}: headrace answers clauses such as "
                                 "name = 'model', source_run_id = '<id>', tags.k = 'v', params.k = 'v', "
                                 "metrics.acc > 0.9, joined by AND")
        kind = (found.group(1) or "attributes").lower().rstrip("s") + "s"
        key = found.group(2) or found.group(3) or found.group(4)
        value = found.group(7) if found.group(7) is not None else found.group(6)
        if kind == "attributes" and key not in _ATTRIBUTES:
            raise ParameterError(f"unsupported logged model filter {clause!r}: of attributes, headrace answers "
                                 f"{', '.join(sorted(_ATTRIBUTES))}")
        out.append((kind, key, found.group(5).upper(), value))
    return out


def _matches(m: LoggedModelRecord, clause: tuple[str, str, str, str]) -> bool:
    kind, key, op, wanted = clause
    if kind == "metrics":
        values = [x["value"] for x in m.metrics if x.get("key") == key and not isinstance(x.get("value"), str)]
        if not values:
            return False
        try:
            return _compare(float(values[-1]), op, float(wanted))
        except ValueError:
            return False
    have: Any = {"tags": m.tags, "params": m.params}[kind].get(key) if kind != "attributes" else \
        getattr(m, _ATTRIBUTES[key])
    if kind == "attributes" and key == "status":
        have = _TO_MLFLOW.get(str(have), have)
        wanted = wanted if wanted.startswith("LOGGED_MODEL_") else _TO_MLFLOW.get(wanted.upper(), wanted)
    if have is None:
        return False
    return _compare(str(have), op, wanted)


def _compare(have: Any, op: str, wanted: Any) -> bool:
    if op in ("LIKE", "ILIKE"):
        pattern = "^" + re.escape(str(wanted)).replace("%", ".*").replace("_", ".") + "$"
        return re.match(pattern, str(have), re.IGNORECASE if op == "ILIKE" else 0) is not None
    return {"=": have == wanted, "!=": have != wanted, ">": have > wanted, "<": have < wanted,
            ">=": have >= wanted, "<=": have <= wanted}[op]


def _sort_key(m: LoggedModelRecord, field: str) -> Any:
    if field.startswith("metrics."):
        values = [x["value"] for x in m.metrics if x.get("key") == field[8:] and not isinstance(x.get("value"), str)]
        return (0, float(values[-1])) if values else (1, 0.0)
    attr = {"creation_timestamp": "created_at", "creation_time": "created_at",
            "last_updated_timestamp": "updated_at"}.get(field, field)
    if attr not in ("created_at", "updated_at", "name", "model_type", "status", "id"):
        raise ParameterError(f"unsupported logged model order {field!r}: use creation_timestamp, "
                             "last_updated_timestamp, name or metrics.<key>")
    return getattr(m, attr) or ""


def _pairs(items: Iterable[dict[str, Any]]) -> dict[str, str]:
    return {str(i["key"]): str(i.get("value", "")) for i in items}


def _finite(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"metric value {value!r} is not a number") from None
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def _ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None
