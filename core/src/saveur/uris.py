"""Model URIs: the entry point every loader uses, and the built-in local resolver.

:func:`resolve_model_uri` asks the ``saveur_resolve_uri`` hook; this module is itself a
built-in plugin that handles plain paths and ``file://`` URIs (last, so any plugin's scheme
wins). ``runs:/`` and ``models:/`` are resolved by :mod:`saveur.store.resolver`.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from saveur.errors import InvalidURIError
from saveur.hookspecs import ResolvedURI, hookimpl

_KNOWN_REMOTE = ("runs:", "models:")


def resolve_model_uri(uri: str | os.PathLike[str]) -> ResolvedURI:
    """Turn a model URI (path, ``file://``, ``runs:/``, ``models:/``...) into a local directory."""
    from saveur.plugins import get_plugins

    text = os.fspath(uri)
    if not isinstance(text, str) or not text:
        raise InvalidURIError(f"model URI must be a non-empty string, got {uri!r}")
    if "\x00" in text:
        raise InvalidURIError(f"model URI {text!r} contains a NUL byte")
    resolved = get_plugins().resolve_uri(text)
    if resolved is None:
        scheme = urlsplit(text).scheme
        raise InvalidURIError(
            f"no resolver handles the URI scheme {scheme!r} of {text!r}; install a plugin that "
            "provides it, or use a local path, file://, runs:/ or models:/ URI"
        )
    return resolved


@hookimpl(trylast=True)
def saveur_resolve_uri(uri: str) -> ResolvedURI | None:
    """Resolve plain local paths and ``file://`` URIs."""
    if uri.startswith(_KNOWN_REMOTE):
        return None
    parts = urlsplit(uri)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidURIError(f"file URI {uri!r} names a remote host {parts.netloc!r}")
        if parts.query or parts.fragment:
            raise InvalidURIError(f"file URI {uri!r} must not carry a query or fragment")
        path = Path(unquote(parts.path))
    elif parts.scheme and len(parts.scheme) > 1:
        return None  # another plugin's scheme (a single letter is a Windows drive)
    else:
        path = Path(uri)
    path = path.expanduser()
    if not path.exists():
        raise InvalidURIError(f"no model at {str(path)!r}: the path does not exist")
    if path.is_file() and path.name == "MLmodel":
        path = path.parent
    return ResolvedURI(local_path=path.resolve())
