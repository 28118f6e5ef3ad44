"""The one exception hierarchy of saveur, rooted at :class:`SaveurError`.

Every message names the thing that is wrong and, where there is one, what to do about it.
"""

from __future__ import annotations


class SaveurError(Exception):
    """Base class of every error saveur raises on purpose."""


# --- the MLmodel file and model directories -------------------------------------------
class MLmodelError(SaveurError):
    """An MLmodel file is missing, malformed or inconsistent."""


class ModelExistsError(SaveurError):
    """A save was asked into a path that already holds something."""


class SaveError(SaveurError):
    """Saving a model failed; nothing was left at the target path."""


# --- plugins ---------------------------------------------------------------------------
class PluginError(SaveurError):
    """A plugin misbehaved or cannot be used."""


class FlavorNotFoundError(PluginError):
    """No installed plugin provides the flavor a model needs."""


class AmbiguousFlavorError(PluginError):
    """Several plugins can save the same object; the caller must pass ``flavor=``."""


class MissingDependencyError(PluginError):
    """The framework a flavor needs is not installed."""


# --- trust and integrity ---------------------------------------------------------------
class TrustError(SaveurError):
    """Loading would run code the model carries, and the caller did not trust it."""


class IntegrityError(SaveurError):
    """A model file does not match the digest recorded for it, or is missing."""


class UnsafePathError(SaveurError):
    """A path from a model file, a URI or a request escapes where it must stay."""


# --- signatures and inputs -------------------------------------------------------------
class SchemaError(SaveurError):
    """Input or params do not fit the model's signature."""


class SignatureError(SaveurError):
    """A signature cannot be parsed, built or inferred."""


class ProtocolError(SaveurError):
    """A scoring request payload is malformed (maps to HTTP 400)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnsupportedContentTypeError(ProtocolError):
    """A scoring request has a content type the protocol does not accept (HTTP 415)."""


class BatchError(SaveurError):
    """Batch scoring of a file stopped: a bad input file or row, or the model failed.

    Nothing is left at the output path when it is raised.
    """


# --- store, registry and URIs ----------------------------------------------------------
class StoreError(SaveurError):
    """The run, artifact or registry store refused or failed an operation."""


class NotFoundError(StoreError):
    """A run, artifact, registered model, version or alias does not exist."""


class AlreadyExistsError(StoreError):
    """A name that must be unique is already taken."""


class InvalidURIError(SaveurError):
    """A model or artifact URI is malformed or uses an unknown scheme."""


# --- environments ----------------------------------------------------------------------
class EnvironmentBuildError(SaveurError):
    """A model's Python environment could not be built or matched."""
