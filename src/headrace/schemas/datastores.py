"""Wire models of the datastore routes (``/api/v1/datastores``), used by the remote SDK."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from headrace.schemas import DATASTORE_NAME_PATTERN, _Request, _Wire


class DatastoreCreate(_Request):
    Name: str = Field(json_schema_extra={"pattern": DATASTORE_NAME_PATTERN}, description="Letters, digits, '_' and '-'; 255 at most.")
    Path: str = Field(description="A folder on the server's machine (created when missing).")


class DatastoreRead(_Wire):
    Name: str
    Kind: str
    RootUri: str
    CreatedTime: datetime


class DatastoreList(_Wire):
    Value: list[DatastoreRead]
    ContinuationToken: str | None = None


class FileRead(_Wire):
    Path: str = Field(description="Relative to the datastore root, '/'-separated.")
    Size: int
    Modified: datetime | None = None
    Etag: str | None = None


class FileList(_Wire):
    Value: list[FileRead]
    ContinuationToken: str | None = None
