"""``saveur flavors`` and ``saveur models show|verify|reseal`` (plus the registry commands)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``flavors`` and ``models`` commands."""
    p = sub.add_parser("flavors", help="list installed flavors and plugins that failed to load")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_flavors)

    models = sub.add_parser("models", help="inspect, verify and register models")
    msub = models.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    models.set_defaults(handler=lambda args: models.print_help() or 2)

    show = msub.add_parser(
        "show", help="flavors, signature, requirements, integrity and portability to MLflow"
    )
    show.add_argument("model_uri", metavar="PATH_OR_URI")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_show)

    verify = msub.add_parser("verify", help="check every file against its recorded digest")
    verify.add_argument("model_uri", metavar="PATH_OR_URI")
    verify.set_defaults(handler=_verify)

    reseal = msub.add_parser("reseal", help="re-record digests after a deliberate edit")
    reseal.add_argument("path", metavar="PATH", help="a local model directory")
    reseal.set_defaults(handler=_reseal)

    try:
        from saveur.cli.registry import register_models_subcommands
    except ModuleNotFoundError as e:
        if e.name != "saveur.cli.registry":
            raise
    else:
        register_models_subcommands(msub)


def _flavors(args: argparse.Namespace) -> int:
    from saveur.plugins import get_plugins

    plugins = get_plugins()
    rows = [
        {"flavor": info.key, "distribution": info.distribution,
         "version": version or ("builtin" if source == "builtin" else ""), "source": source}
        for info, source, version in plugins.installed()
    ]
    failed = [{"name": f.name, "distribution": f.distribution, "reason": f.reason}
              for f in plugins.failed]
    if args.json:
        print(json.dumps({"flavors": rows, "failed": failed}, indent=2))
        return 0
    _table(rows, ["flavor", "distribution", "version"])
    if failed:
        print("\nplugins that failed to load:")
        for f in failed:
            print(f"  {f['name']} ({f['distribution'] or '?'}): {f['reason']}")
    return 0


def _describe(uri: str) -> dict[str, Any]:
    from saveur.environment import read_requirements
    from saveur.errors import IntegrityError
    from saveur.loading import open_model

    opened = open_model(uri, verify=False)
    mlmodel = opened.mlmodel
    integrity = "no digests recorded (not saved by saveur)"
    if mlmodel.digests is not None:
        try:
            open_model(uri, verify=True)
            integrity = f"ok ({len(mlmodel.digests)} files verified)"
        except IntegrityError as e:
            integrity = f"FAILED: {e}"
    from saveur.portability import check_portability

    portability = check_portability(opened.path, mlmodel)
    sig = mlmodel.signature
    return {
        "path": str(opened.path),
        "flavors": {k: v for k, v in mlmodel.flavors.items()},
        "signature": sig.to_dict() if sig is not None else None,
        "requirements": read_requirements(opened.path),
        "integrity": integrity,
        "portable": {"portable": portability.portable, "reason": portability.reason},
        "saved_by": (mlmodel.saveur or {}).get("plugin"),
        "model_uuid": mlmodel.model_uuid,
        "utc_time_created": mlmodel.utc_time_created,
        "run_id": mlmodel.run_id,
    }


def _show(args: argparse.Namespace) -> int:
    info = _describe(args.model_uri)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(f"model:      {info['path']}")
    print(f"uuid:       {info['model_uuid']}   created {info['utc_time_created']} UTC")
    if info["run_id"]:
        print(f"run:        {info['run_id']}")
    print("flavors:")
    for key, conf in info["flavors"].items():
        detail = conf.get("loader_module") or conf.get("serialization_format") or ""
        print(f"  {key:<18} {detail}")
    sig = info["signature"]
    if sig is None:
        print("signature:  none")
    else:
        for part in ("inputs", "outputs", "params"):
            if sig.get(part):
                print(f"{part + ':':<11} {_summarize_schema(sig[part])}")
    print("requirements:")
    for req in info["requirements"]:
        print(f"  {req}")
    print(f"integrity:  {info['integrity']}")
    portable = info["portable"]
    verdict = "yes" if portable["portable"] else "no"
    print(f"portable:   {verdict}, to stock MLflow without saveur: {portable['reason']}")
    saved_by = _saved_by(info["saved_by"])
    if saved_by:
        print(f"saved by:   {saved_by}")
    return 0 if not info["integrity"].startswith("FAILED") else 1


def _saved_by(record: object) -> str | None:
    """``saveur-sklearn 0.1.0`` from MLmodel's ``saveur.plugin``; shown only if well-formed.

    The block is the model's own claim: anything but a plain name and version (control
    characters that would rewrite the terminal, say) is not printed.
    """
    import re

    if not isinstance(record, dict):
        return None
    name, version = record.get("distribution"), record.get("version")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        return None
    if isinstance(version, str) and re.fullmatch(r"[A-Za-z0-9.+!_-]{1,64}", version):
        return f"{name} {version}"
    return name


def _summarize_schema(raw: str) -> str:
    items = json.loads(raw)
    parts = []
    for item in items:
        name = item.get("name")
        kind = item.get("type")
        if kind == "tensor":
            spec = item.get("tensor-spec", {})
            kind = f"{spec.get('dtype')}{tuple(spec.get('shape', ()))}"
        opt = "" if item.get("required", True) else "?"
        parts.append(f"{name}{opt}: {kind}" if name is not None else str(kind))
    return ", ".join(parts)


def _verify(args: argparse.Namespace) -> int:
    from saveur.loading import open_model

    opened = open_model(args.model_uri, verify=True)
    digests = opened.mlmodel.digests
    if digests is None:
        print(f"{opened.path}: no digests recorded (not saved by saveur); nothing to verify")
        return 0
    print(f"{opened.path}: ok, {len(digests)} files match their recorded digests")
    return 0


def _reseal(args: argparse.Namespace) -> int:
    from saveur.saving import reseal

    mlmodel = reseal(args.path)
    print(f"{args.path}: resealed, {len(mlmodel.digests or {})} files recorded")
    return 0


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max([len(c), *(len(str(r.get(c) or "")) for r in rows)]) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c) or "").ljust(widths[c]) for c in columns))
    sys.stdout.flush()
