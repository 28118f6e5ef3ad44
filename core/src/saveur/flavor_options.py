"""Checking the options a flavor's save or load hook is given.

The host hands a plugin's ``saveur_save_model`` the caller's keywords it does not use itself,
and ``saveur_load_model`` the caller's load options (``LoadContext.options``). An option the
flavor does not know is a caller's typo or a keyword meant for another flavor: it is refused by
name, with the accepted ones listed, never ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["check_options"]


def check_options(
    flavor: str,
    options: Mapping[str, object],
    accepted: Iterable[str],
    *,
    what: str,
    error: type[Exception],
) -> None:
    """Raise ``error`` naming every key of ``options`` not in ``accepted``.

    ``what`` says which options these are ("save", "load"). Keys with a leading underscore are
    skipped: hosts before plugin contract 2 passed their own notes that way (``_code_dir``).

    >>> check_options("onnx", {"providers": 1}, ("providers",), what="load", error=ValueError)
    >>> check_options("onnx", {"colour": 1}, ("providers",), what="load", error=ValueError)
    Traceback (most recent call last):
    ...
    ValueError: unknown load option(s) for flavor 'onnx': colour; accepted: providers
    """
    allowed = tuple(accepted)
    unknown = sorted(k for k in options if k not in allowed and not k.startswith("_"))
    if unknown:
        raise error(
            f"unknown {what} option(s) for flavor {flavor!r}: {', '.join(unknown)}; "
            f"accepted: {', '.join(allowed) or 'none'}"
        )
