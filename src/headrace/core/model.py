"""Registered models, the pure part: names, stages, ids, and the file list of a version.

A model version is an immutable set of files stored content-addressed (one blob per distinct
content, named by its sha256), with the list of ``ModelFile`` entries that make it up. ``root`` is
the file or folder name the model was registered from: downloading a version recreates it under
the target folder, as Azure ML does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headrace.errors import ModelError

STAGES = ("None", "Staging", "Production", "Archived")
"""The stages a version can be in (MLflow's); a new version starts in ``None``."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}$"
_NAME = re.compile(NAME_PATTERN)
ALIAS_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$"
_ALIAS = re.compile(ALIAS_PATTERN)


@dataclass(frozen=True)
class ModelFile:
    """One file of a model version: its path (``/``-separated, starting with the version's root),
    size and the sha256 of its content (which names its blob)."""

    path: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ModelFile:
        return cls(str(data["path"]), int(data["size"]), str(data["sha256"]))  # type: ignore[call-overload]


BLOBS = "models/blobs"
"""Artifact-area folder of model files, one blob per distinct content, named by its sha256."""


def blob_path(sha256: str) -> str:
    """Raises: ModelError: not 64 lowercase hex digits."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ModelError(f"invalid sha256 {sha256!r}: 64 lowercase hex digits")
    return f"{BLOBS}/{sha256}"


def check_name(name: object) -> str:
    """Raises ModelError unless ``name`` is a model name (letters, digits, ``_.-``; 255 at most)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ModelError(f"invalid model name {name!r}: use letters, digits, '_', '.' and '-' (at most 255, "
                         "starting with a letter or digit)")
    return name


def check_alias(alias: object) -> str:
    """Raises ModelError unless ``alias`` is an alias name (``champion``, ``blue-2``), which is never a number."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise ModelError(f"invalid alias {alias!r}: use letters, digits, '_' and '-' (at most 64), starting "
                         "with a letter or '_'")
    return alias


def check_stage(stage: object) -> str:
    """The canonical spelling of ``stage`` (any case; Python's None means ``"None"``).

    Raises:
        ModelError: not one of ``STAGES`` (the message lists them).
    """
    if stage is None:
        return "None"
    if isinstance(stage, str):
        for known in STAGES:
            if stage.strip().lower() == known.lower():
                return known
    raise ModelError(f"unknown stage {stage!r}: a stage is one of {', '.join(STAGES)}")


def model_id(name: str, version: int) -> str:
    """Azure ML's id of a version: ``name:version``."""
    return f"{name}:{version}"


def parse_id(value: str) -> tuple[str, int]:
    """``name:version`` -> ``(name, version)``.

    Raises:
        ModelError: not of that form.
    """
    name, sep, version = str(value).rpartition(":")
    if not sep or not name or not version.isdigit():
        raise ModelError(f"invalid model id {value!r}: a model id is NAME:VERSION, e.g. 'churn:3'")
    return name, int(version)


def clean_relative(path: str) -> str:
    """A relative ``/``-separated path without ``.``/``..`` parts or leading slashes.

    Raises:
        ModelError: the path is empty or leaves its folder.
    """
    parts = [p for p in str(path).replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ModelError(f"invalid model path {path!r}: give a relative path inside the run's files")
    return "/".join(parts)
