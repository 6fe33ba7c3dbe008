"""Tiny wheels made on the spot, so environment tests install packages offline (``--no-index --find-links``)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(folder: Path, name: str, version: str, code: str = "", requires: list[str] | None = None) -> Path:
    """Write ``{name}-{version}-py3-none-any.whl`` (module ``name``: ``VERSION`` plus ``code``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires or [])
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n{code}\n".encode(),
        f"{info}/METADATA": metadata.encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: headrace-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},{_digest(data)},{len(data)}\n" for path, data in files.items()) + f"{info}/RECORD,,\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name_in_zip, data in files.items():
            zf.writestr(name_in_zip, data)
        zf.writestr(f"{info}/RECORD", record)
    return path


def offline(folder: Path) -> list[str]:
    """The pip option lines that install from ``folder`` only."""
    return ["--no-index", f"--find-links {folder}"]
