"""Pinning installed distributions as ``name==version``, saveur itself included."""

from __future__ import annotations

import importlib.metadata
import logging
import re

_logger = logging.getLogger("saveur.environment")

# Patterns as strings: `re` caches them on first use, so importing this module compiles nothing.
_NORMALIZE = r"[-_.]+"
_VERSION_HEADER = r"^Version:[ \t]*(?P<version>\S+)[ \t]*$"


def _installed_version(dist_name: str) -> str | None:
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None
    # `dist.version` runs the whole METADATA file through the email parser (about 0.5 ms a
    # package); the Version header sits in the first lines, so read just that.
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    if text:
        header = text.split("\n\n", 1)[0]
        match = re.search(_VERSION_HEADER, header, re.MULTILINE)
        if match:
            return match.group("version")
    version = dist.version
    return str(version) if version else None


def _normalize_name(name: str) -> str:
    return re.sub(_NORMALIZE, "-", name).lower()


def pin_requirement(dist_name: str) -> str | None:
    """Pin an installed distribution as ``name==version`` (``scikit-learn==1.9.1``).

    The name is normalized (PEP 503) and a local version label (``+cpu``) is dropped so that
    the pin installs from PyPI. Returns ``None`` when the distribution is not installed.
    """
    version = _installed_version(dist_name)
    if version is None:
        return None
    public, _, local = version.partition("+")
    if local:
        _logger.debug(
            "dropping the local version label '+%s' of %s %s so that the pin installs from PyPI",
            local,
            dist_name,
            version,
        )
    return f"{_normalize_name(dist_name)}=={public}"


def saveur_requirement() -> str:
    """Return the pin of saveur itself (``saveur==0.1.0``), which every saved model needs."""
    pinned = pin_requirement("saveur")
    if pinned is not None:
        return pinned
    import saveur

    version = getattr(saveur, "__version__", None)
    if version:
        return f"saveur=={str(version).partition('+')[0]}"
    _logger.warning(
        "saveur's installed version is unknown; requirements.txt gets 'saveur' unpinned"
    )
    return "saveur"
