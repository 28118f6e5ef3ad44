"""The ``saveur`` command. Each command group lives in its own module with ``register()``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from saveur.errors import SaveurError

#: modules whose ``register(subparsers)`` adds top-level commands, in help order
_COMMAND_MODULES = (
    "saveur.cli.models", "saveur.cli.runs", "saveur.cli.serve", "saveur.cli.predict",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every command group."""
    from saveur import __version__

    parser = argparse.ArgumentParser(
        prog="saveur", description="Package, load and deploy models in the MLmodel format."
    )
    parser.add_argument("--version", action="version", version=f"saveur {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (1 on a saveur error, with its message)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except SaveurError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def run() -> int:
    """The ``saveur`` command's process entry point: :func:`main`, then a short shutdown.

    At exit, CPython's garbage collector walks every object of every module the command
    imported: with scikit-learn, scipy and pandas loaded that is about 0.25 s, a tenth of a
    batch run. Once the command is done, the garbage there is is collected (its finalizers
    run, as at a normal exit) and what is left is frozen (:func:`gc.freeze`), so shutdown only
    releases the modules (~0.03 s). Python never promises finalizers for objects still alive
    at exit, and the command's own files are closed (and outputs renamed) before it returns.
    Only the process entry does this: :func:`main` stays an ordinary function.
    """
    import gc

    code = main()
    gc.collect()
    gc.freeze()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
