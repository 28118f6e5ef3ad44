"""The plain records the store API returns (names and fields mirror MLflow's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunInfo:
    """Identity and status of a run; times are milliseconds since the epoch."""

    run_id: str
    run_name: str
    status: str
    lifecycle_stage: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    parent_run_id: str | None = None


@dataclass(frozen=True)
class RunData:
    """What a run recorded: params, the latest value of each metric, tags."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """A run: :class:`RunInfo` plus :class:`RunData`."""

    info: RunInfo
    data: RunData

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``saveur runs show --json``)."""
        return {"info": self.info.__dict__.copy(), "data": {
            "params": dict(self.data.params),
            "metrics": dict(self.data.metrics),
            "tags": dict(self.data.tags),
        }}


@dataclass(frozen=True)
class FileInfo:
    """One entry of :func:`saveur.list_artifacts`: a file (with size) or a directory."""

    path: str
    is_dir: bool
    file_size: int | None


@dataclass(frozen=True)
class ModelInfo:
    """What :func:`saveur.log_model` logged."""

    model_uri: str
    run_id: str
    artifact_path: str
    flavors: dict[str, Any]
    signature: Any
    model_uuid: str | None = None
    utc_time_created: str | None = None
    metadata: dict[str, Any] | None = None
    registered_model_version: int | None = None


@dataclass(frozen=True)
class ModelVersion:
    """One version of a registered model; ``mlmodel_sha256`` is the trust anchor."""

    name: str
    version: int
    source: str
    run_id: str | None
    status: str
    description: str | None
    creation_timestamp: int
    last_updated_timestamp: int
    mlmodel_sha256: str
    storage_location: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = self.__dict__.copy()
        out["aliases"] = list(self.aliases)
        return out


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model: its name, tags, aliases and newest version."""

    name: str
    description: str | None
    creation_timestamp: int
    last_updated_timestamp: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return self.__dict__.copy()
