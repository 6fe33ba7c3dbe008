"""What the Datastores and Datasets pages show: rows built from the services, never a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from headrace.datastores.base import FileInfo
from headrace.services import cloud_datastores, datasets, datastores
from headrace.services.bundle import Services
from headrace.storage.dataset_records import DatasetRecord, DatasetUse
from headrace.storage.records import DatastoreRecord

KINDS = {"local": "Local folder", "azure_blob": "Azure Blob", "adls_gen2": "ADLS Gen2", "s3": "S3"}
PREVIEW_ROWS = 10


@dataclass
class DatastoreRow:
    name: str
    kind: str
    location: str
    account: str
    auth: str
    default: bool
    created_at: datetime | None


def _row(record: DatastoreRecord, default: str) -> DatastoreRow:
    shown = cloud_datastores.public_options(record)
    account = shown.get("account_name") or shown.get("endpoint_url") or ""
    auth = shown.get("auth", "") if record.kind != "local" else ""
    if auth and shown.get("has_secret"):
        auth += " (stored encrypted)"
    location = record.root_uri.removeprefix("file://") if record.kind == "local" else record.root_uri
    return DatastoreRow(record.name, KINDS.get(record.kind, record.kind), location, account, auth,
                        record.name == default, record.created_at)


def datastore_rows(svc: Services) -> list[DatastoreRow]:
    default = datastores.default_datastore_name(svc)
    return [_row(r, default) for r in datastores.list_datastores(svc)]


def datastore_row(svc: Services, name: str) -> DatastoreRow:
    return _row(svc.store.get_datastore(name), datastores.default_datastore_name(svc))


@dataclass
class Listing:
    folders: list[str]
    files: list[FileInfo]


def browse(svc: Services, name: str, prefix: str) -> Listing:
    """The folders and files directly under ``prefix`` (one level)."""
    prefix = prefix.strip("/")
    found = datastores.list_files(svc, name, prefix, recursive=True)
    start = len(prefix) + 1 if prefix else 0
    folders: list[str] = []
    files: list[FileInfo] = []
    for info in found:
        rest = info.path[start:]
        if "/" in rest:
            folder = info.path[: start + rest.index("/")]
            if not folders or folders[-1] != folder:
                folders.append(folder)
        else:
            files.append(info)
    return Listing(sorted(set(folders)), files)


@dataclass
class DatasetRow:
    record: DatasetRecord
    sources: list[str]


def _sources(record: DatasetRecord) -> list[str]:
    return [s.get("url") or f"{s['datastore']}:{s['path']}" for s in record.definition.get("sources", [])]


def dataset_rows(svc: Services) -> list[DatasetRow]:
    return [DatasetRow(r, _sources(r)) for r in svc.store.list_datasets()]


@dataclass
class DatasetPage:
    record: DatasetRecord
    versions: list[DatasetRecord]
    sources: list[str]
    uses: list[DatasetUse]
    files: list[Any]
    more_files: int
    preview: dict[str, Any] | None = None
    problem: str | None = None
    transforms: list[str] = field(default_factory=list)


def dataset_page(svc: Services, name: str, version: str) -> DatasetPage:
    record = datasets.get_version(svc, name, version or "latest")
    entries = datasets.load_manifest(svc, record)
    shown = DatasetPage(record, svc.store.list_datasets(name, all_versions=True), _sources(record),
                        svc.store.list_dataset_uses(dataset_id=record.id), entries[:50], max(0, len(entries) - 50),
                        transforms=[_describe(t) for t in record.definition.get("transforms", [])])
    if record.kind == "tabular":
        shown.preview, shown.problem = _preview(svc, record, entries)
    return shown


def _describe(transform: dict[str, Any]) -> str:
    op = transform.get("op")
    if op in ("take", "skip"):
        return f"{op} {transform['count']}"
    if op in ("keep_columns", "drop_columns"):
        return f"{op.replace('_', ' ')}: {', '.join(transform['columns'])}"
    if op == "split":
        side = "first" if transform.get("side") == 0 else "second"
        return f"random split {transform['percentage']:.0%} (seed {transform.get('seed')}), {side} part"
    return str(op)


def _preview(svc: Services, record: DatasetRecord, entries: list[Any]) -> tuple[dict[str, Any] | None, str | None]:
    """Schema and first rows of the first file (read with the dataset's options), or why not."""
    from headrace.services.tabular import read_frame

    if not entries:
        return None, "This version matches no file."
    first = entries[:1]
    try:
        frame = read_frame({**record.definition, "transforms": []}, first,
                           lambda e: datastores.get_datastore(svc, e.datastore).read_bytes(e.path),
                           f"{record.name}:{record.version}")
    except Exception as exc:  # noqa: BLE001 - any reader error becomes a message on the page
        return None, f"No preview: {exc}"
    head = frame.head(PREVIEW_ROWS)
    return {"columns": [(str(c), str(t)) for c, t in frame.dtypes.items()],
            "rows": [[("" if v is None else str(v)) for v in row] for row in head.itertuples(index=False)],
            "file": f"{first[0].datastore}:{first[0].path}"}, None
