"""``WebFiles``: files at http(s) URLs, read-only, for datasets defined on URLs.

Azure ML datasets may name files by URL (``Dataset.File.from_files("https://host/data.csv")``). Here a
URL is a path of the built-in datastore ``WEB_DATASTORE``: ``list(url)`` answers one ``HEAD`` (size, and
the ETag, else Last-Modified, as the version a dataset manifest pins), ``download`` streams a ``GET`` to
disk. A URL names one file; there is no listing of folders and no writing.
"""

from __future__ import annotations

import os
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

from headrace.datastores.base import Datastore, FileInfo
from headrace.datastores.localfs import atomic_local_write
from headrace.errors import DatastoreError

WEB_DATASTORE = "@web"
"""The name dataset manifests give files read from http(s) URLs."""

_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class WebFiles(Datastore):
    """Files at http(s) URLs (read-only). Paths are whole URLs."""

    def __init__(self) -> None:
        self.name = WEB_DATASTORE
        self.root_uri = "https://"

    def _url(self, path: str) -> str:
        if not path.startswith(("http://", "https://")):
            raise DatastoreError(f"{path!r} is not an http(s) URL", uri=path)
        return path

    def _fail(self, url: str, what: str, exc: Exception) -> DatastoreError:
        return DatastoreError(f"cannot {what} {url}: {type(exc).__name__}: {exc}", uri=url)

    def uri(self, path: str = "") -> str:
        return self._url(path)

    def local_path(self, path: str = "") -> str | None:
        return None

    def _head(self, url: str) -> httpx.Response | None:
        try:
            response = httpx.head(url, follow_redirects=True, timeout=_TIMEOUT)
        except httpx.HTTPError as exc:
            raise self._fail(url, "reach", exc) from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise DatastoreError(f"cannot read {url}: HTTP {response.status_code}", uri=url)
        return response

    def exists(self, path: str) -> bool:
        return self._head(self._url(path)) is not None

    def is_dir(self, path: str) -> bool:
        return False

    def list(self, prefix: str = "", recursive: bool = True) -> list[FileInfo]:
        """The file at URL ``prefix`` (one entry), or nothing when the server has none."""
        url = self._url(prefix)
        response = self._head(url)
        if response is None:
            return []
        headers = response.headers
        modified = None
        if headers.get("last-modified"):
            try:
                modified = parsedate_to_datetime(headers["last-modified"])
            except (TypeError, ValueError):
                modified = None
        etag = headers.get("etag") or (headers.get("last-modified") and f"lm:{headers['last-modified']}") or None
        return [FileInfo(url, int(headers.get("content-length") or 0), modified, etag)]

    def read_bytes(self, path: str) -> bytes:
        url = self._url(path)
        try:
            response = httpx.get(url, follow_redirects=True, timeout=_TIMEOUT)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise self._fail(url, "read", exc) from exc
        return response.content

    def download(self, path: str, local_path: str, overwrite: bool = True) -> int:
        url = self._url(path)

        def fetch(tmp: str) -> None:
            with httpx.stream("GET", url, follow_redirects=True, timeout=_TIMEOUT) as response:
                response.raise_for_status()
                with open(tmp, "wb") as f:
                    for chunk in response.iter_bytes(1 << 20):
                        f.write(chunk)

        if not overwrite and os.path.exists(local_path):
            raise DatastoreError(f"{local_path} exists; pass overwrite=True", uri=url)
        try:
            atomic_local_write(fetch, local_path)
        except httpx.HTTPError as exc:
            raise self._fail(url, "download", exc) from exc
        return Path(local_path).stat().st_size

    def _read_only(self, path: str) -> DatastoreError:
        return DatastoreError("files at URLs are read-only here", uri=path)

    def write_bytes(self, path: str, data: bytes) -> None:
        raise self._read_only(path)

    def upload(self, local_path: str, path: str, overwrite: bool = False) -> int:
        raise self._read_only(path)

    def delete(self, path: str) -> None:
        raise self._read_only(path)
