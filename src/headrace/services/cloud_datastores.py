"""Cloud datastores: Azure Blob containers, ADLS Gen2 file systems and S3 (or MinIO) buckets.

A registration is a ``DatastoreRecord`` whose ``options`` hold the fsspec storage options that are not
secret (account, endpoint, region) under ``"storage"``, and the secret ones (account key, SAS token, client
secret, S3 secret key) Fernet-encrypted under ``"secret"`` with the workspace's key (as connection keys are).
:func:`storage_options` joins them back when a datastore is opened; nothing else ever sees a secret, and
:func:`public_options` is what APIs, pages and logs show.

Azure ML's ``endpoint`` is a DNS suffix (``core.windows.net``); a full URL there
(``http://127.0.0.1:10000/devstoreaccount1``) is used as the account's blob endpoint as given, for
emulators and private endpoints. Blob and ADLS Gen2 both go through adlfs (its blob API).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from headrace import clock
from headrace.errors import AlreadyExistsError, ConfigError, DatastoreError, NotFoundError
from headrace.services.bundle import Services
from headrace.storage.records import DatastoreRecord

CLOUD_KINDS = ("azure_blob", "adls_gen2", "s3")

_EXTRA = {"azure_blob": "azure", "adls_gen2": "azure", "s3": "s3"}
_PACKAGE = {"azure": "adlfs", "s3": "s3fs"}


def _endpoint_url(account_name: str, protocol: str | None, endpoint: str | None) -> str:
    scheme = protocol or "https"
    if scheme not in ("http", "https"):
        raise ConfigError(f"protocol must be 'http' or 'https', not {protocol!r}")
    if endpoint and "://" in endpoint:
        return endpoint.rstrip("/")
    return f"{scheme}://{account_name}.blob.{endpoint or 'core.windows.net'}"


def azure_options(account_name: str, *, account_key: str | None = None, sas_token: str | None = None,
                  tenant_id: str | None = None, client_id: str | None = None, client_secret: str | None = None,
                  protocol: str | None = None, endpoint: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(public, secret)`` adlfs options for an account and one way of signing in.

    Account key or SAS: a connection string naming the blob endpoint (the one form adlfs accepts for an
    http endpoint). Service principal: tenant, client id and secret. None of them: anonymous access.

    Raises:
        ConfigError: more than one way of signing in, or a service principal missing a part.
    """
    if not account_name:
        raise ConfigError("account_name is required")
    url = _endpoint_url(account_name, protocol, endpoint)
    principal = [tenant_id, client_id, client_secret]
    ways = [bool(account_key), bool(sas_token), any(principal)]
    if sum(ways) > 1:
        raise ConfigError("give one of account_key, sas_token or a service principal (tenant_id, client_id, "
                          "client_secret), not several")
    public: dict[str, Any] = {"account_name": account_name, "blob_endpoint": url}
    if account_key or sas_token:
        scheme = url.split("://", 1)[0]
        cred = f"AccountKey={account_key}" if account_key else f"SharedAccessSignature={sas_token.lstrip('?')}"
        conn = f"DefaultEndpointsProtocol={scheme};AccountName={account_name};{cred};BlobEndpoint={url};"
        return public | {"auth": "account_key" if account_key else "sas_token"}, {"connection_string": conn}
    if any(principal):
        if not all(principal):
            raise ConfigError("a service principal needs tenant_id, client_id and client_secret")
        if "://" in (endpoint or ""):
            raise ConfigError("a service principal signs in on the account's own host: give endpoint as a DNS "
                              "suffix (e.g. core.windows.net), not a URL")
        host = url.split("://", 1)[1]
        return (public | {"auth": "service_principal", "tenant_id": tenant_id, "client_id": client_id,
                          "account_host": host}, {"client_secret": client_secret})
    return public | {"auth": "anonymous", "anon": True}, {}


def s3_options(*, endpoint_url: str | None = None, key: str | None = None, secret: str | None = None,
               region: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(public, secret)`` s3fs options. No key and secret: the standard AWS chain (environment, profile).

    Raises:
        ConfigError: a key without a secret or the reverse.
    """
    if bool(key) != bool(secret):
        raise ConfigError("give both key and secret, or neither (then the standard AWS credentials are used)")
    public: dict[str, Any] = {"auth": "key" if key else "environment"}
    if endpoint_url:
        if not endpoint_url.startswith(("http://", "https://")):
            raise ConfigError(f"endpoint_url must be an http(s) URL, not {endpoint_url!r}")
        public["endpoint_url"] = endpoint_url.rstrip("/")
    if region:
        public["client_kwargs"] = {"region_name": region}
    if key:
        public["key"] = key  # an access key id is an identifier; the secret is the secret
        return public, {"secret": secret}
    return public, {}


def cloud_record(name: str, kind: str, root_uri: str, public: dict[str, Any], secret: dict[str, Any],
                 encrypt: Callable[[bytes], bytes], created_at: Any) -> DatastoreRecord:
    """The record to store: public options as given, secret ones encrypted."""
    sealed = encrypt(json.dumps(secret).encode()).decode("ascii") if secret else None
    return DatastoreRecord(name=name, kind=kind, root_uri=root_uri,
                           options={"storage": public, "secret": sealed}, created_at=created_at)


def storage_options(record: DatastoreRecord, decrypt: Callable[[bytes], bytes]) -> dict[str, Any]:
    """The fsspec storage options of a record, secrets decrypted (for opening the datastore only).

    Raises:
        DatastoreError: the secret cannot be decrypted (the workspace key changed), or the package the
            kind needs is not installed (naming the extra).
    """
    if record.kind not in CLOUD_KINDS:
        return dict(record.options or {})
    _require(record)
    storage = record.options.get("storage") or {}
    if record.kind == "s3":
        options = {k: storage[k] for k in ("endpoint_url", "key", "client_kwargs") if k in storage}
    else:
        options = {"account_name": storage["account_name"]}
        if storage.get("auth") == "anonymous" and storage.get("blob_endpoint"):
            # A connection string naming only the endpoint: anonymous, and the one form adlfs takes for an http
            # endpoint (an emulator's, a private one); account_name + anon would always go to *.core.windows.net.
            options = {"connection_string": f"BlobEndpoint={storage['blob_endpoint']};"}
        elif storage.get("auth") == "anonymous":
            options["anon"] = True
        elif storage.get("auth") == "service_principal":
            options |= {k: storage[k] for k in ("tenant_id", "client_id", "account_host")}
    sealed = record.options.get("secret")
    if sealed:
        try:
            options |= json.loads(decrypt(sealed.encode("ascii")))
        except Exception as exc:  # InvalidToken or a corrupt value: never show it
            raise DatastoreError(f"cannot decrypt the credentials of datastore {record.name!r}: the workspace's "
                                 "secret key changed since it was registered; register it again with "
                                 "overwrite=True") from exc
        if "connection_string" in options:
            options.pop("account_name", None)
    return options


def public_options(record: DatastoreRecord) -> dict[str, Any]:
    """What may be shown of a registration: never a secret."""
    if record.kind not in CLOUD_KINDS:
        return {}
    shown = dict(record.options.get("storage") or {})
    shown.setdefault("has_secret", bool(record.options.get("secret")))
    return shown


def redact(text: str, secret: Mapping[str, Any]) -> str:
    """``text`` with every secret value (and its parts in a connection string) replaced by ``***``."""
    for value in secret.values():
        if not isinstance(value, str) or not value:
            continue
        parts = [value] + [p.split("=", 1)[1] for p in value.split(";") if "=" in p and
                           p.split("=", 1)[0] in ("AccountKey", "SharedAccessSignature")]
        for part in parts:
            if part:
                text = text.replace(part, "***")
    return text


def _require(record: DatastoreRecord) -> None:
    extra = _EXTRA[record.kind]
    package = _PACKAGE[extra]
    try:
        __import__(package)
    except ImportError:
        raise DatastoreError(f"datastore {record.name!r} is on {record.kind.replace('_', ' ')} storage, which needs "
                             f"the {package!r} package: pip install \"headrace[{extra}]\"") from None


# -- use cases ------------------------------------------------------------------------------------------

#: The fields each kind takes (Azure ML's parameter names; ``endpoint_url``, ``key``, ``secret`` are S3's).
FIELDS = {
    "azure_blob": {"container_name", "account_name", "account_key", "sas_token", "protocol", "endpoint"},
    "adls_gen2": {"filesystem", "account_name", "account_key", "tenant_id", "client_id", "client_secret",
                  "protocol", "endpoint"},
    "s3": {"bucket", "prefix", "endpoint_url", "key", "secret", "region"},
}
_ROOT_FIELD = {"azure_blob": "container_name", "adls_gen2": "filesystem", "s3": "bucket"}


def build(kind: str, fields: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(root_uri, public options, secret options)`` of a registration, from Azure ML-style fields.

    Raises:
        ConfigError: an unknown kind, an unknown or missing field (naming the valid ones).
    """
    if kind not in FIELDS:
        raise ConfigError(f"unknown datastore kind {kind!r}; use one of {', '.join(CLOUD_KINDS)}")
    given = {k: v for k, v in fields.items() if v not in (None, "")}
    unknown = sorted(set(given) - FIELDS[kind])
    if unknown:
        raise ConfigError(f"a {kind} datastore takes {', '.join(sorted(FIELDS[kind]))}; not {', '.join(unknown)}")
    root = str(given.get(_ROOT_FIELD[kind], "")).strip("/")
    if not root or "/" in root:
        raise ConfigError(f"{_ROOT_FIELD[kind]} is required: the name of the {kind.replace('_', ' ')} "
                          f"{'bucket' if kind == 's3' else 'container'}")
    if kind == "s3":
        public, secret = s3_options(endpoint_url=given.get("endpoint_url"), key=given.get("key"),
                                    secret=given.get("secret"), region=given.get("region"))
        prefix = str(given.get("prefix", "")).strip("/")
        return (f"s3://{root}/{prefix}" if prefix else f"s3://{root}"), public, secret
    public, secret = azure_options(given.get("account_name", ""), account_key=given.get("account_key"),
                                   sas_token=given.get("sas_token"), tenant_id=given.get("tenant_id"),
                                   client_id=given.get("client_id"), client_secret=given.get("client_secret"),
                                   protocol=given.get("protocol"), endpoint=given.get("endpoint"))
    return f"abfs://{root}", public, secret


def register(svc: Services, name: str, kind: str, fields: dict[str, Any], *, overwrite: bool = False,
             create_if_not_exists: bool = False) -> DatastoreRecord:
    """Register (or, with ``overwrite``, re-register) a cloud datastore after reaching it once.

    Args:
        fields: see ``FIELDS`` and ``build``.

    Raises:
        ConfigError: an invalid name, kind or field.
        AlreadyExistsError: the name is taken and ``overwrite`` is False.
        DatastoreError: the store cannot be reached with these settings (the message names the datastore and
            never holds a secret).
    """
    from headrace.services.datastores import check_name

    check_name(name)
    root_uri, public, secret = build(kind, fields)
    try:
        existing = svc.store.get_datastore(name)
    except NotFoundError:
        existing = None
    if existing is not None and not overwrite:
        raise AlreadyExistsError("datastore", name, "pass overwrite=True to replace its registration")
    from cryptography.fernet import Fernet  # only when registering: keeps plain CLI start-up light

    from headrace.services.connections import secret_key

    fernet = Fernet(secret_key(svc.home))
    record = cloud_record(name, kind, root_uri, public, secret, fernet.encrypt, clock.now())
    try:
        svc.make_datastore(record).check(create=create_if_not_exists)
    except DatastoreError as exc:  # first line only: cloud errors append pages of XML; never a secret
        text = str(exc).removesuffix(f" ({exc.uri})") if exc.uri else str(exc)
        raise DatastoreError(redact(text.splitlines()[0], secret), uri=root_uri) from None
    saved = svc.store.replace_datastore(record) if existing is not None else svc.store.create_datastore(record)
    forget(svc, name)
    return saved


def unregister(svc: Services, name: str) -> None:
    """Remove a datastore's registration; its files are left alone.

    Raises:
        NotFoundError: no such datastore.
        ConfigError: it is the built-in ``workspaceblobstore`` or the workspace's default datastore.
    """
    from headrace.services.datastores import DEFAULT_DATASTORE, default_datastore_name

    if name == DEFAULT_DATASTORE:
        raise ConfigError(f"{DEFAULT_DATASTORE!r} is the workspace's built-in default datastore and cannot be unregistered")
    if name == default_datastore_name(svc):
        raise ConfigError(f"{name!r} is the workspace's default datastore and cannot be unregistered; make another "
                          "the default first (ws.set_default_datastore / headrace datastore set-default)")
    svc.store.delete_datastore(name)
    forget(svc, name)


def forget(svc: Services, name: str) -> None:
    """Drop this process's open copy of a datastore, so the next use reads the registration again."""
    with svc._lock:
        svc._datastores.pop(name, None)


def make_decrypt(home: Any) -> Callable[[bytes], bytes]:
    """A decrypt function bound to the workspace's key, read on first use."""
    holder: list[Any] = []

    def decrypt(token: bytes) -> bytes:
        if not holder:
            from cryptography.fernet import Fernet

            from headrace.services.connections import secret_key

            holder.append(Fernet(secret_key(home)))
        return holder[0].decrypt(token)

    return decrypt
