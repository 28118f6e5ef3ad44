"""Conformance: the plugin is found through its entry point and its hooks match the specs."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from saveur.testing._helpers import call_hook, normalize_dist

#: Hooks every flavor plugin implements.
REQUIRED_HOOKS = (
    "saveur_flavors",
    "saveur_detect_flavor",
    "saveur_save_model",
    "saveur_load_model",
    "saveur_predict_function",
    "saveur_infer_requirements",
)


class DiscoveryTests:
    """Entry point, hook validation, FlavorInfo, detection and a cheap import."""

    def test_entry_point_is_registered_under_the_flavor_key(
        self, flavor_key: str, distribution: str
    ) -> None:
        from importlib.metadata import entry_points

        found = list(entry_points(group="saveur").select(name=flavor_key))
        assert len(found) == 1, f"expected one 'saveur' entry point named {flavor_key!r}"
        dist = found[0].dist
        assert dist is not None
        assert normalize_dist(dist.metadata["Name"]) == normalize_dist(distribution)

    def test_hookimpls_match_the_specs(self, plugin: object, flavor_key: str) -> None:
        import pluggy

        from saveur import hookspecs

        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        pm.register(plugin, name=flavor_key)  # pluggy rejects unknown arguments here
        pm.check_pending()  # and hookimpls that match no spec here
        # Asked of pluggy, so an implementation named through specname= counts.
        missing = [
            h for h in REQUIRED_HOOKS
            if not any(i.plugin is plugin for i in getattr(pm.hook, h).get_hookimpls())
        ]
        assert not missing, f"hooks not implemented (or not marked @hookimpl): {missing}"

    def test_host_discovers_the_plugin(self, flavor_key: str, distribution: str) -> None:
        from saveur.plugins import get_plugins

        plugins = get_plugins()
        failed = [f for f in plugins.failed if f.name == flavor_key]
        assert not failed, f"the host skipped the plugin: {failed[0].reason}"
        info = plugins.flavor_info(flavor_key)
        assert normalize_dist(info.distribution) == normalize_dist(distribution)

    def test_flavor_info_describes_the_plugin(self, flavor_info: Any, distribution: str) -> None:
        assert normalize_dist(flavor_info.distribution) == normalize_dist(distribution)
        assert all(isinstance(r, str) and r for r in flavor_info.framework_requirements)
        assert flavor_info.loader_modules, "loader_modules must name the plugin's loader module"

    def test_detect_flavor_claims_the_model(
        self, plugin: object, model: Any, flavor_key: str
    ) -> None:
        from saveur.hookspecs import FlavorClaim

        claims = call_hook(plugin, "saveur_detect_flavor", model=model)
        assert len(claims) == 1, f"saveur_detect_flavor gave {claims!r} for the model"
        claim = claims[0]
        if isinstance(claim, FlavorClaim):
            assert claim.flavor == flavor_key, f"claimed flavor {claim.flavor!r}"
            assert claim.matched in type(model).__mro__, (
                f"FlavorClaim.matched {claim.matched!r} is not a class of the model "
                f"(not in type(model).__mro__)"
            )
        else:
            assert claim == flavor_key, f"saveur_detect_flavor gave {claim!r}"

    def test_detect_flavor_ignores_other_objects(self, plugin: object) -> None:
        for other in (object(), {"a": 1}, [1.0, 2.0], "text", 3):
            claims = call_hook(plugin, "saveur_detect_flavor", model=other)
            assert claims == [], f"saveur_detect_flavor claimed {other!r}: {claims!r}"

    def test_save_without_flavor_picks_the_plugin(
        self, tmp_path: Any, model: Any, save: Any, flavor_key: str
    ) -> None:
        from saveur.models import Model

        save(model, tmp_path / "auto", flavor=None)
        assert flavor_key in Model.load(tmp_path / "auto").flavors

    def test_importing_the_plugin_does_not_import_the_framework(
        self, flavor_key: str, framework_modules: tuple[str, ...]
    ) -> None:
        # A fresh interpreter: the host imports every plugin to list flavors, so a plugin
        # that imports its framework at module level makes every saveur command slow.
        code = (
            "import json, sys\n"
            "from importlib.metadata import entry_points\n"
            f"next(iter(entry_points(group='saveur').select(name={flavor_key!r}))).load()\n"
            f"print(json.dumps(sorted(m for m in {list(framework_modules)!r} "
            "if m in sys.modules)))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        imported = json.loads(out.stdout.strip().splitlines()[-1])
        assert imported == [], f"importing the plugin imported its framework: {imported}"
