"""Wire models of the datastore routes (``/api/v1/datastores``), used by the remote SDK."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from headrace.schemas import DATASTORE_NAME_PATTERN, _Request, _Wire


class DatastoreCreate(_Request):
    Name: str = Field(json_schema_extra={"pattern": DATASTORE_NAME_PATTERN}, description="Letters, digits, '_' and '-'; 255 at most.")
    Path: str = Field(description="A folder on the server's machine (created when missing); a relative path is "
                                  "taken from the server's home. The home itself and folders holding it are refused.")


class CloudDatastoreCreate(_Request):
    """A cloud datastore (``Datastore.register_azure_blob_container`` / ``register_azure_data_lake_gen2`` /
    ``register_s3``): ``Fields`` are those calls' parameters, secrets included; they are stored encrypted."""

    Name: str = Field(min_length=1, max_length=255)
    Kind: str = Field(pattern="^(azure_blob|adls_gen2|s3)$")
    Fields: dict[str, str] = Field(description="azure_blob: container_name, account_name, account_key | "
                                               "sas_token, protocol, endpoint; adls_gen2: filesystem, account_name, "
                                               "tenant_id, client_id, client_secret (or account_key), protocol, "
                                               "endpoint; s3: bucket, prefix, endpoint_url, key, secret, region.",
                                   max_length=20)
    Overwrite: bool = False
    CreateIfNotExists: bool = False


class DatastoreRead(_Wire):
    Name: str
    Kind: str
    RootUri: str
    CreatedTime: datetime
    Options: dict[str, Any] = Field(default_factory=dict, description="What may be shown of a cloud datastore's "
                                    "settings (account, endpoint, how it signs in); never a secret.")
    IsDefault: bool = Field(default=False, description="Whether this is the workspace's default datastore, where "
                                                       "PipelineData without a datastore goes.")


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
