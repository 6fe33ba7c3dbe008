"""The model registry: register versions (from local files, uploaded blobs or a run's files), look them up,
change their tags, move them between stages, alias and delete them.

Two functions change what a version is to others, and each is the only caller of its store method:
``record_version`` (a new version: ``store.add_model_version``) and ``transition_stage``
(``store.set_model_stage``). The store writes the matching event (``model.version_registered``,
``model.stage_changed``) in the same transaction (``storage.sql.outbox``).

Who did it (``actor``) is ``token:<name>`` through the server, ``user:<login>`` in an embedded workspace and
``run:<run id>/<step>`` for a step's own registration.
"""

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from headrace import clock
from headrace.core.model import (
    ModelFile,
    check_alias,
    check_name,
    check_stage,
    clean_relative,
    model_id,
    parse_id,
)
from headrace.errors import HeadraceError, ModelError, NotFoundError
from headrace.services import model_files
from headrace.services.bundle import Services
from headrace.storage.model_records import ModelAliasRecord, ModelRecord, StageChangeRecord
from headrace.storage.records import RunRecord, StepRunRecord

logger = logging.getLogger(__name__)

_MAX_TAGS = 100


def local_actor() -> str:
    """Who works in an embedded workspace: the login name."""
    try:
        return f"user:{getpass.getuser()}"
    except (KeyError, OSError):
        return "user:unknown"


def _strings(kind: str, values: Mapping[str, Any] | None) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ModelError(f"{kind} must be a dict of name -> value, not {type(values).__name__}")
    if len(values) > _MAX_TAGS:
        raise ModelError(f"at most {_MAX_TAGS} {kind}, got {len(values)}")
    return {str(k): str(v) for k, v in values.items()}


def record_version(svc: Services, *, name: str, root: str, files: Sequence[ModelFile], actor: str | None,
                   tags: Mapping[str, Any] | None = None, properties: Mapping[str, Any] | None = None,
                   description: str | None = None, framework: str | None = None,
                   framework_version: str | None = None, datasets: Sequence[Mapping[str, Any]] = (),
                   run_id: str | None = None, step_name: str | None = None, experiment_name: str | None = None,
                   source: str | None = None, stored: bool = False) -> ModelRecord:
    """Record a new version whose blobs are stored (checked unless ``stored``: this process just wrote them):
    the one place a version is created.

    Raises:
        ModelError: a bad name, no file, a framework version without a framework, a blob not stored.
    """
    check_name(name)
    if not files:
        raise ModelError(f"model {name!r}: no file to register")
    if framework is None and framework_version is not None:
        raise ModelError("model_framework_version needs model_framework")
    for f in () if stored else files:
        if not model_files.has_blob(svc, f.sha256):
            raise ModelError(f"model {name!r}: the content of {f.path!r} (sha256 {f.sha256}) is not uploaded")
    ordered = sorted(files, key=lambda f: f.path)
    record = ModelRecord(
        id="", name=name, version=0, root=root, files=[f.as_dict() for f in ordered], file_count=len(ordered),
        total_bytes=sum(f.size for f in ordered), description=description, tags=_strings("tags", tags),
        properties=_strings("properties", properties), framework=framework, framework_version=framework_version,
        datasets=[dict(d) for d in datasets], run_id=run_id, step_name=step_name, experiment_name=experiment_name,
        source=source, created_by=actor, created_at=clock.now(),
    )
    stored = svc.store.add_model_version(record)
    logger.info("model %s registered by %s (%d files, %d bytes)", stored.id, actor, stored.file_count,
                stored.total_bytes)
    return stored


def register_local(svc: Services, model_path: str | os.PathLike[str], name: str, *, actor: str | None,
                   child_paths: Iterable[str] | None = None, **details: Any) -> ModelRecord:
    """Register a local file or folder (``Model.register`` in an embedded workspace).

    Raises:
        ModelError: the path does not exist; see ``record_version``.
    """
    check_name(name)
    pairs = model_files.local_files(model_path, child_paths)
    root = pairs[0][1].split("/", 1)[0] if pairs else os.path.basename(os.path.abspath(model_path))
    files = model_files.store_local(svc, pairs)
    return record_version(svc, name=name, root=root, files=files, actor=actor, source="upload", stored=True,
                          **details)


def register_from_run(svc: Services, run_id: str, model_path: str, name: str, *, actor: str | None,
                      step_name: str | None = None, **details: Any) -> ModelRecord:
    """Register files a run produced: ``model_path`` is ``<output name>/<path>`` in a step output, or
    ``outputs/<path>`` in the ``./outputs`` its script left (``<step name>/outputs/<path>`` in a pipeline of
    several steps); only ``step_name``'s files when given. The datasets the producing step read join the lineage.

    Raises:
        NotFoundError: no such run or step.
        ModelError: the path names none of the run's files (the message lists them).
    """
    check_name(name)
    run = svc.store.get_run(run_id)
    steps = svc.store.list_step_runs(run_id)
    if step_name is not None:
        steps = [s for s in steps if s.name == step_name]
        if not steps:
            raise NotFoundError("step", step_name, f"run {run_id} has no such step")
    where = f"run {run_id}" + (f" step {step_name!r}" if step_name else "")
    found = model_files.run_files(svc, run_id, steps, step_scope=step_name is not None)
    root, picked = model_files.pick(found, model_path, where)
    producing = {s.name for s in steps if any(_from_step(svc, s, d, p) for d, p, _ in picked)}
    return _register_picked(svc, run, name, root, picked, producing, actor=actor, model_path=model_path,
                            where=where, step_name=step_name, **details)


def _from_step(svc: Services, step: StepRunRecord, datastore: str, path: str) -> bool:
    if datastore == model_files.ARTIFACTS:
        return path.startswith(model_files.files_path(step.id) + "/")
    return picked_from(step.outputs, datastore, path)


def _register_picked(svc: Services, run: RunRecord, name: str, root: str, picked: list[tuple[str, str, str]],
                     producing: set[str], *, actor: str | None, model_path: str, where: str,
                     step_name: str | None, **details: Any) -> ModelRecord:
    by_store: dict[str, list[tuple[str, str]]] = {}
    for datastore, path, rel in picked:
        by_store.setdefault(datastore, []).append((path, rel))
    files = [f for ds_name, pairs in by_store.items()
             for f in model_files.store_from_datastore(svc, model_files.open_source(svc, ds_name), pairs)]
    used = [u for u in svc.store.list_dataset_uses(run_id=run.id)
            if u.role == "input" and (not producing or u.step_name in producing)]
    lineage = list(details.pop("datasets", ()) or ())
    known = {d.get("id") for d in lineage}
    lineage += [_dataset_ref(svc, "training", i) for i in dict.fromkeys(u.dataset_id for u in used) if i not in known]
    return record_version(svc, name=name, root=root, files=files, actor=actor, run_id=run.id,
                          step_name=step_name or (sorted(producing)[0] if len(producing) == 1 else None),
                          experiment_name=run.experiment_name, datasets=lineage,
                          source=f"{where}: {clean_relative(model_path)}", stored=True, **details)


def register_step_requests(svc: Services, run: RunRecord, step_name: str, step_run_id: str,
                           outputs: Mapping[str, Mapping[str, str]], requests: Sequence[Mapping[str, Any]]) -> list[str]:
    """Register what a step's script asked for with ``run.register_model`` (the agent calls this when the step
    ends, before it is recorded Finished); returns the problems, each naming the call (they fail the step).
    Each registration is whole or absent."""
    found = model_files.output_files(svc, outputs)
    found.update(model_files.kept_files(svc, step_run_id))
    found.update(model_files.kept_files(svc, run.id))  # a script run keeps its files under the run's id
    where = f"step {step_name!r} of run {run.id}"
    problems = []
    for req in requests:
        name, path = str(req.get("name")), str(req.get("path") or req.get("name"))
        try:
            root, picked = model_files.pick(found, path, where)
            details = {k: req.get(k) for k in ("tags", "properties", "description", "framework", "framework_version")}
            details["datasets"] = dataset_refs(svc, req.get("datasets") or ())
            _register_picked(svc, run, check_name(name), root, picked, {step_name}, actor=f"run:{run.id}/{step_name}",
                             model_path=path, where=where, step_name=step_name, **details)
        except HeadraceError as exc:
            problems.append(f"run.register_model({name!r}, {path!r}): {exc}")
    return problems


def picked_from(outputs: Mapping[str, Mapping[str, str]] | None, datastore: str, path: str) -> bool:
    return any(o["datastore"] == datastore and (path == o["path"] or path.startswith(o["path"].rstrip("/") + "/"))
               for o in (outputs or {}).values())


def _dataset_ref(svc: Services, scenario: str, dataset_id: str) -> dict[str, Any]:
    try:
        d = svc.store.get_dataset(dataset_id)
        return {"scenario": scenario, "id": d.id, "name": d.name, "version": d.version}
    except NotFoundError:
        return {"scenario": scenario, "id": dataset_id, "name": None, "version": None}


def dataset_refs(svc: Services, pairs: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """``[(scenario, dataset id)]`` -> lineage entries (unknown ids are kept by id)."""
    return [_dataset_ref(svc, str(scenario), str(ds_id)) for scenario, ds_id in pairs]


# -- lookups -------------------------------------------------------------------------------------------
def get(svc: Services, name: str | None = None, version: int | str | None = None, *, alias: str | None = None,
        id: str | None = None) -> ModelRecord:  # noqa: A002 - Azure ML's argument name
    """One version: by ``id`` (``name:version``), by ``name`` and ``version`` (latest when None) or ``alias``.

    Raises:
        NotFoundError: no such name (the message lists the registered ones), version (lists the versions)
            or alias (lists the aliases).
        ModelError: no name and no id, or a version that is not a number.
    """
    if id is not None:
        name, version = parse_id(id)
    if not name:
        raise ModelError("give a model name or id")
    number = _number(version)
    if alias is not None:
        if number is not None:
            raise ModelError("give a version or an alias, not both")
        aliases = {a.alias: a.version for a in svc.store.list_model_aliases(name)}
        if alias not in aliases:
            known = ", ".join(f"{a}={v}" for a, v in sorted(aliases.items())) or "none"
            raise NotFoundError("model alias", f"{name}@{alias}", f"aliases of {name!r}: {known}")
        number = aliases[alias]
    try:
        return svc.store.get_model_version(name, number)
    except NotFoundError:
        versions = [m.version for m in svc.store.list_model_versions(name)]
        if versions:
            raise NotFoundError("model", model_id(name, number or 0),
                                f"versions of {name!r}: {', '.join(map(str, versions))}") from None
        known = ", ".join(m.name for m in svc.store.list_model_versions(latest=True)) or "none"
        raise NotFoundError("model", name, f"registered models: {known}") from None


def _number(version: int | str | None) -> int | None:
    if version is None or version == "latest":
        return None
    try:
        return int(version)
    except (TypeError, ValueError):
        raise ModelError(f"invalid model version {version!r}: a version is a number (or 'latest')") from None


def matches(record: ModelRecord, tags: Iterable[Any] | None, properties: Iterable[Any] | None) -> bool:
    """Azure ML's filters: each item is a key, or ``[key, value]``."""
    for wanted, have in ((tags, record.tags), (properties, record.properties)):
        for item in wanted or ():
            if isinstance(item, list | tuple):
                if have.get(str(item[0])) != str(item[1]):
                    return False
            elif str(item) not in have:
                return False
    return True


def list_versions(svc: Services, name: str | None = None, *, tags: Iterable[Any] | None = None,
                  properties: Iterable[Any] | None = None, latest: bool = False,
                  run_id: str | None = None) -> list[ModelRecord]:
    """Versions (by name, then version) with Azure ML's filters; ``latest`` keeps each name's highest."""
    found = svc.store.list_model_versions(name, latest=latest, run_id=run_id)
    return [m for m in found if matches(m, tags, properties)]


# -- changes -------------------------------------------------------------------------------------------
def update(svc: Services, name: str, version: int, *, add_tags: Mapping[str, Any] | None = None,
           remove_tags: Iterable[str] | None = None, add_properties: Mapping[str, Any] | None = None,
           description: str | None = None) -> ModelRecord:
    """Add or remove tags, add properties (an existing property keeps its value: changing it is refused),
    change the description.

    Raises:
        NotFoundError: no such version.
        ModelError: a property would change.
    """
    current = svc.store.get_model_version(name, version)
    tags = {**current.tags, **_strings("tags", add_tags)}
    for key in remove_tags or ():
        tags.pop(str(key), None)
    new_props = _strings("properties", add_properties)
    clash = sorted(k for k, v in new_props.items() if k in current.properties and current.properties[k] != v)
    if clash:
        raise ModelError(f"properties cannot be changed once set: {', '.join(clash)} (use tags for values that change)")
    changes: dict[str, Any] = {"tags": tags, "properties": {**current.properties, **new_props}}
    if description is not None:
        changes["description"] = description
    return svc.store.update_model_version(name, version, **changes)


def transition_stage(svc: Services, name: str, version: int, stage: str | None, *, actor: str | None,
                     comment: str | None = None, archive_existing: bool = False,
                     ) -> tuple[ModelRecord, list[StageChangeRecord]]:
    """Move a version to a stage (``None``, ``Staging``, ``Production``, ``Archived``): the one place a stage
    changes. ``archive_existing`` moves the name's other versions in that stage to ``Archived``.

    Raises:
        ModelError: an unknown stage (the message lists the stages).
        NotFoundError: no such version.
    """
    canonical = check_stage(stage)
    get(svc, name, version)  # a clear NotFoundError naming the versions
    record, changes = svc.store.set_model_stage(name, version, canonical, changed_by=actor, comment=comment,
                                                archive_existing=archive_existing)
    for c in changes:
        logger.info("model %s:%s moved from %s to %s by %s", c.name, c.version, c.from_stage, c.to_stage, actor)
    return record, changes


def set_alias(svc: Services, name: str, alias: str, version: int, *, actor: str | None) -> ModelAliasRecord:
    """Point ``alias`` at a version (moving it from another one).

    Raises:
        ModelError: an invalid alias.
        NotFoundError: no such version.
    """
    check_alias(alias)
    get(svc, name, version)
    return svc.store.set_model_alias(ModelAliasRecord(name, alias, int(version), actor, clock.now()))


def delete_alias(svc: Services, name: str, alias: str) -> None:
    """Raises: NotFoundError."""
    svc.store.delete_model_alias(name, alias)


def delete(svc: Services, name: str, version: int) -> None:
    """Delete a version (its history and aliases with it); blobs other versions share stay.

    Raises: NotFoundError."""
    svc.store.delete_model_version(name, version)
    logger.info("model %s deleted", model_id(name, version))


def files_of(record: ModelRecord) -> list[ModelFile]:
    return [ModelFile.from_dict(f) for f in record.files]


def download(svc: Services, record: ModelRecord, target_dir: str | os.PathLike[str], exist_ok: bool = False) -> str:
    """Copy a version's files under ``target_dir``; returns the path of its root file or folder."""
    return model_files.download(svc, record.root, files_of(record), target_dir, exist_ok)


def aliases_of(svc: Services, record: ModelRecord) -> list[str]:
    return [a.alias for a in svc.store.list_model_aliases(record.name) if a.version == record.version]
