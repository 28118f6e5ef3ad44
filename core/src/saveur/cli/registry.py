"""``saveur models list|versions|register|alias``: the registry from the command line."""

from __future__ import annotations

import argparse
import json

from saveur.cli.runs import add_common, format_time, print_table, use_store


def register_models_subcommands(msub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the registry subcommands to the ``models`` group."""
    ls = msub.add_parser("list", help="list registered models")
    ls.add_argument("--filter", default=None, help="e.g. \"name LIKE 'iris%%'\"")
    add_common(ls)
    ls.set_defaults(handler=_list)

    versions = msub.add_parser("versions", help="list the versions of a registered model")
    versions.add_argument("name", metavar="NAME")
    add_common(versions)
    versions.set_defaults(handler=_versions)

    reg = msub.add_parser("register", help="register a model as the next version of NAME")
    reg.add_argument("model_uri", metavar="URI", help="runs:/, models:/, file:// or a path")
    reg.add_argument("name", metavar="NAME")
    reg.add_argument("--description", default=None)
    reg.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    add_common(reg)
    reg.set_defaults(handler=_register)

    alias = msub.add_parser("alias", help="point ALIAS of NAME at VERSION")
    alias.add_argument("name", metavar="NAME")
    alias.add_argument("alias", metavar="ALIAS")
    alias.add_argument("version", metavar="VERSION")
    add_common(alias)
    alias.set_defaults(handler=_alias)


def _list(args: argparse.Namespace) -> int:
    from saveur.store import search_registered_models

    use_store(args)
    models = search_registered_models(args.filter)
    if args.json:
        print(json.dumps([m.to_dict() for m in models], indent=2))
        return 0
    print_table([{"name": m.name, "latest": m.latest_version or "",
                  "aliases": ", ".join(f"{a}={v}" for a, v in sorted(m.aliases.items())),
                  "updated": format_time(m.last_updated_timestamp)} for m in models],
                ["name", "latest", "aliases", "updated"])
    return 0


def _versions(args: argparse.Namespace) -> int:
    from saveur.store import get_registered_model, search_model_versions

    use_store(args)
    get_registered_model(args.name)  # a clear error for an unknown name
    quoted = args.name.replace("'", "''")
    versions = search_model_versions(f"name = '{quoted}'")
    if args.json:
        print(json.dumps([v.to_dict() for v in versions], indent=2))
        return 0
    print_table([{"version": v.version, "aliases": ", ".join(v.aliases), "run_id": v.run_id or "",
                  "created": format_time(v.creation_timestamp), "source": v.source}
                 for v in versions], ["version", "aliases", "run_id", "created", "source"])
    return 0


def _register(args: argparse.Namespace) -> int:
    from saveur.errors import StoreError
    from saveur.store import register_model

    use_store(args)
    tags = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep:
            raise StoreError(f"--tag {item!r} must look like KEY=VALUE")
        tags[key] = value
    version = register_model(args.model_uri, args.name, tags=tags or None,
                             description=args.description)
    if args.json:
        print(json.dumps(version.to_dict(), indent=2))
    else:
        print(f"registered {version.name} version {version.version} "
              f"(models:/{version.name}/{version.version})")
    return 0


def _alias(args: argparse.Namespace) -> int:
    from saveur.store import get_model_version, set_model_alias

    use_store(args)
    set_model_alias(args.name, args.alias, args.version)
    version = get_model_version(args.name, args.version)
    if args.json:
        print(json.dumps(version.to_dict(), indent=2))
    else:
        print(f"models:/{args.name}@{args.alias} -> version {version.version}")
    return 0
