"""The plugin manager and the typed facade the rest of the host calls.

Plugins are found through the entry-point group ``saveur`` (the entry-point name is the flavor
key), plus the host's built-in plugins, which are registered like any other. A plugin that
fails to import is reported by name and skipped; a second plugin claiming a flavor key that is
already owned is reported and skipped. Flavor-keyed hooks are dispatched to the owning plugin
only, never broadcast, and always through pluggy (a hook caller limited to that plugin), so
pluggy's argument matching holds: a hookimpl may take a subset of the spec's arguments, be
named through ``specname=``, and keep working when a spec gains an argument.

The manager is built on first use (:func:`get_plugins`), never at import time.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.errors import AmbiguousFlavorError, FlavorNotFoundError, PluginError, SaveurError

if TYPE_CHECKING:
    import pluggy

    from saveur.hookspecs import (
        FlavorClaim,
        FlavorInfo,
        LoadContext,
        PredictFunction,
        ResolvedURI,
        SavedFlavor,
    )

_log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "saveur"
DISABLE_ENV_VAR = "SAVEUR_DISABLE_PLUGINS"

#: Built-in plugins, registered like any other (pluggy's eggsample pattern).
BUILTIN_PLUGINS = ("saveur.pyfunc_flavor", "saveur.uris", "saveur.store.resolver")

#: Where to get the plugin for the flavors MLflow writes, for "pip install ..." messages.
KNOWN_DISTRIBUTIONS = {
    "sklearn": "saveur-sklearn",
    "pytorch": "saveur-torch",
    "onnx": "saveur-onnx",
    "fastai": "saveur-fastai",
}


@dataclass(frozen=True)
class FailedPlugin:
    """A plugin that could not be used, and why."""

    name: str
    reason: str
    distribution: str | None = None


@dataclass
class _Registered:
    plugin: object
    info: FlavorInfo
    source: str  # "builtin" or the distribution name
    version: str | None = None


@dataclass
class Plugins:
    """The typed facade over the pluggy manager: the only code that calls hooks."""

    pm: pluggy.PluginManager
    flavors: dict[str, _Registered] = field(default_factory=dict)
    failed: list[FailedPlugin] = field(default_factory=list)

    # --- introspection ---------------------------------------------------------------
    def flavor_info(self, flavor: str) -> FlavorInfo:
        """Return the :class:`FlavorInfo` of an installed flavor, or raise naming what to install."""
        return self._owner(flavor).info

    def installed(self) -> list[tuple[FlavorInfo, str, str | None]]:
        """Return ``(info, source, version)`` for every usable flavor, sorted by key."""
        return [(r.info, r.source, r.version) for _, r in sorted(self.flavors.items())]

    def flavor_for_loader_module(self, module: str) -> str | None:
        """Return the flavor whose plugin declares ``module`` as a loader module, if any."""
        for key, reg in self.flavors.items():
            if module in reg.info.loader_modules:
                return key
        return None

    def _owner(self, flavor: str) -> _Registered:
        reg = self.flavors.get(flavor)
        if reg is None:
            raise FlavorNotFoundError(missing_flavor_message(flavor, self.failed))
        return reg

    def plugin_name(self, plugin: object) -> str:
        """How messages name a plugin: its distribution, else its registration name."""
        for reg in self.flavors.values():
            if reg.plugin is plugin and reg.source not in ("builtin", "extra"):
                return reg.source
        return self.pm.get_name(plugin) or repr(plugin)

    def call_plugin(self, plugin: object, hook: str, /, **kwargs: Any) -> list[Any]:
        """Call one plugin's implementation(s) of ``hook`` through pluggy; ``[]`` if none.

        A subset hook caller keeps pluggy's argument matching (and ``specname=``), which a
        plain ``getattr(plugin, hook)(**kwargs)`` would bypass.
        """
        return list(self._caller(plugin, hook)(**kwargs))

    def _caller(self, plugin: object, hook: str) -> pluggy.HookCaller:
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        return self.pm.subset_hook_caller(hook, remove_plugins=others)

    def _call_owner(self, owner_of: str, hook: str, /, **kwargs: Any) -> Any:
        reg = self._owner(owner_of)
        caller = self._caller(reg.plugin, hook)
        if not caller.get_hookimpls():
            raise PluginError(
                f"plugin for flavor {owner_of!r} ({reg.source}) does not implement {hook}"
            )
        results = caller(**kwargs)
        return results[0] if results else None

    # --- broadcast hooks -------------------------------------------------------------
    def detect_flavor(self, model: object) -> str:
        """Pick the flavor that saves ``model``: the claim nearest to its class in the MRO.

        Raise :class:`FlavorNotFoundError` if no plugin claims it, and
        :class:`AmbiguousFlavorError` naming the plugins if the nearest claims tie.
        """
        mro = type(model).__mro__
        best: dict[str, tuple[int, str, FlavorClaim]] = {}  # plugin name -> nearest claim
        plugins_seen: list[object] = []
        for impl in self.pm.hook.saveur_detect_flavor.get_hookimpls():
            if impl.plugin not in plugins_seen:
                plugins_seen.append(impl.plugin)
        for plugin in plugins_seen:
            name = self.plugin_name(plugin)
            try:
                results = self.call_plugin(plugin, "saveur_detect_flavor", model=model)
            except SaveurError:
                raise
            except Exception as e:
                raise PluginError(
                    f"plugin {name} failed in saveur_detect_flavor on an object of type "
                    f"{_type_name(model)}: {_one_line(e)}; pass flavor= to skip detection"
                ) from e
            for result in results:
                claim = _as_claim(result, name, mro)
                distance = mro.index(claim.matched)
                if name not in best or distance < best[name][0]:
                    best[name] = (distance, name, claim)
        if not best:
            raise FlavorNotFoundError(
                f"no installed plugin can save an object of type {_type_name(model)}; install "
                "the plugin for its framework (e.g. pip install saveur-sklearn) or pass flavor="
            )
        nearest = min(distance for distance, _, _ in best.values())
        winners = sorted(
            (entry for entry in best.values() if entry[0] == nearest), key=lambda e: e[1]
        )
        if len({claim.flavor for _, _, claim in winners}) > 1:
            named = ", ".join(
                f"{name} (flavor {claim.flavor!r}, matched {claim.matched.__qualname__})"
                for _, name, claim in winners
            )
            raise AmbiguousFlavorError(
                f"several plugins claim an object of type {_type_name(model)} equally: "
                f"{named}; pass flavor= to choose one"
            )
        return winners[0][2].flavor

    def resolve_uri(self, uri: str) -> ResolvedURI | None:
        """Ask the URI resolvers in turn; ``None`` if no plugin handles the scheme."""
        return self.pm.hook.saveur_resolve_uri(uri=uri)

    # --- flavor-keyed hooks ----------------------------------------------------------
    def save_model(
        self,
        flavor: str,
        model: object,
        path: Path,
        options: dict[str, Any],
        input_example: object = None,
    ) -> SavedFlavor:
        """Call the owning plugin's save hook."""
        result = self._call_owner(
            flavor, "saveur_save_model",
            flavor=flavor, model=model, path=path, options=options, input_example=input_example,
        )
        from saveur.hookspecs import SavedFlavor

        if not isinstance(result, SavedFlavor):
            raise PluginError(
                f"plugin for flavor {flavor!r} returned {type(result).__name__} from "
                "saveur_save_model; expected SavedFlavor"
            )
        return result

    def load_model(self, flavor: str, flavor_conf: dict[str, Any], context: LoadContext) -> object:
        """Call the owning plugin's load hook.

        A plugin that trips over a malformed (or hostile) flavor configuration with a bare
        ``KeyError``/``TypeError``... is reported as a :class:`PluginError` naming the flavor
        and the model directory; saveur's own errors pass through unchanged.
        """
        self._owner(flavor)
        try:
            return self._call_owner(
                flavor, "saveur_load_model", flavor=flavor, flavor_conf=flavor_conf,
                context=context,
            )
        except SaveurError:
            raise
        except Exception as e:
            raise PluginError(
                f"the {flavor!r} plugin ({self.flavors[flavor].source}) could not load the "
                f"model in {str(context.model_dir)!r}: {_one_line(e)}; check the model's "
                f"flavors.{flavor} entry in MLmodel and its files"
            ) from e

    def predict_function(
        self, flavor: str, model: object, pyfunc_conf: dict[str, Any], context: LoadContext
    ) -> PredictFunction:
        """Resolve the predict callable once, from the owning plugin."""
        fn = self._call_owner(
            flavor, "saveur_predict_function", flavor=flavor, model=model,
            pyfunc_conf=pyfunc_conf, context=context,
        )
        if not callable(fn):
            raise PluginError(
                f"plugin for flavor {flavor!r} returned a non-callable from saveur_predict_function"
            )
        return fn

    def infer_requirements(
        self, flavor: str, model: object, model_dir: Path, flavor_conf: dict[str, Any]
    ) -> list[str]:
        """Ask the owning plugin for the pinned requirements of the model it just saved."""
        reqs = self._call_owner(
            flavor, "saveur_infer_requirements", flavor=flavor, model=model,
            model_dir=model_dir, flavor_conf=flavor_conf,
        )
        return [str(r) for r in (reqs or [])]


def _type_name(model: object) -> str:
    return f"{type(model).__module__}.{type(model).__qualname__}"


def _as_claim(result: object, plugin: str, mro: tuple[type, ...]) -> FlavorClaim:
    """Check one detection result; a bare key is a claim on ``object`` (the least specific)."""
    from saveur.hookspecs import FlavorClaim

    if isinstance(result, str):
        return FlavorClaim(result, object)
    if not isinstance(result, FlavorClaim):
        raise PluginError(
            f"plugin {plugin} returned {type(result).__name__} from saveur_detect_flavor; "
            "expected a FlavorClaim, a flavor key or None"
        )
    if result.matched not in mro:
        raise PluginError(
            f"plugin {plugin} claimed flavor {result.flavor!r} matching "
            f"{result.matched!r}, which is not a class of the object (not in its __mro__); "
            "FlavorClaim.matched must be the class the plugin recognised"
        )
    return result


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def missing_flavor_message(flavor: str, failed: list[FailedPlugin] | None = None) -> str:
    """Build the "no plugin provides flavor X: pip install ..." message."""
    for f in failed or ():
        if f.name == flavor:
            return f"the plugin for flavor {flavor!r} is installed but could not load: {f.reason}"
    dist = KNOWN_DISTRIBUTIONS.get(flavor, f"saveur-{flavor}")
    return f"no plugin provides flavor {flavor!r}: pip install {dist}"


# --- building the manager ----------------------------------------------------------------

_lock = threading.Lock()
_plugins: Plugins | None = None


def get_plugins() -> Plugins:
    """Return the process-wide plugin facade, building it on first use."""
    global _plugins
    if _plugins is None:
        with _lock:
            if _plugins is None:
                _plugins = build_plugins()
    return _plugins


def reset_plugins(plugins: Plugins | None = None) -> None:
    """Drop (or replace) the process-wide facade; tests use this to register their own."""
    global _plugins
    with _lock:
        _plugins = plugins


def _disabled() -> set[str]:
    raw = os.environ.get(DISABLE_ENV_VAR, "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def build_plugins(
    *, entry_points: bool = True, extra: list[tuple[str, object]] | None = None
) -> Plugins:
    """Build a plugin manager with the built-ins, installed entry points and ``extra``.

    ``extra`` is a list of ``(name, plugin)`` registered after the built-ins; the host's own
    tests use it with ``entry_points=False`` so installed plugins never leak into them.
    """
    import pluggy

    from saveur import hookspecs

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm=pm)
    disabled = _disabled()

    for module_name in BUILTIN_PLUGINS:
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:  # reported like any broken plugin; the rest keeps working
            _log.warning("built-in plugin %r failed to load: %s", module_name, e)
            plugins.failed.append(FailedPlugin(module_name, f"{type(e).__name__}: {e}", "saveur"))
            continue
        _register(plugins, module_name, module, source="builtin", version=None, disabled=set())
    for name, plugin in extra or ():
        _register(plugins, name, plugin, source="extra", version=None, disabled=disabled)
    if entry_points:
        _load_entry_points(plugins, disabled)
    return plugins


def _load_entry_points(plugins: Plugins, disabled: set[str]) -> None:
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        if ep.name in disabled:
            _log.info("plugin %r disabled by %s", ep.name, DISABLE_ENV_VAR)
            continue
        try:
            plugin = ep.load()
        except Exception as e:  # a broken plugin must never break the host
            reason = _one_line(e)
            _log.warning("saveur plugin %r (%s) failed to load and is skipped: %s",
                         ep.name, dist_name or ep.value, reason)
            plugins.failed.append(FailedPlugin(ep.name, reason, dist_name))
            continue
        _register(plugins, ep.name, plugin, source=dist_name or ep.value, version=version,
                  disabled=disabled)


def _register(
    plugins: Plugins,
    name: str,
    plugin: object,
    *,
    source: str,
    version: str | None,
    disabled: set[str],
) -> None:
    if name in disabled:
        return
    pm = plugins.pm
    try:
        if pm.is_registered(plugin):
            pass  # one module may back several entry points (several flavors)
        else:
            pm.register(plugin, name=name)
            pm.check_pending()
    except Exception as e:  # pluggy validates hookimpls against the specs here
        reason = _one_line(e)
        _log.warning("saveur plugin %r (%s) is invalid and is skipped: %s", name, source, reason)
        if pm.is_registered(plugin):
            pm.unregister(plugin)
        plugins.failed.append(FailedPlugin(name, reason, source))
        return
    try:
        infos = [info for res in plugins.call_plugin(plugin, "saveur_flavors") for info in res]
    except Exception as e:  # its own listing fails: skip it like a plugin that fails to import
        reason = f"saveur_flavors failed: {_one_line(e)}"
        _log.warning("saveur plugin %r (%s) is skipped: %s", name, source, reason)
        pm.unregister(plugin)
        plugins.failed.append(FailedPlugin(name, reason, source))
        return
    kept = 0
    for info in infos:
        owner = plugins.flavors.get(info.key)
        if owner is not None and owner.plugin is not plugin:
            msg = f"flavor {info.key!r} is already provided by {owner.source}; skipped"
            _log.warning("saveur plugin %r (%s): %s", name, source, msg)
            plugins.failed.append(FailedPlugin(name, msg, source))
            continue
        plugins.flavors[info.key] = _Registered(plugin, info, source, version)
        kept += 1
    if infos and not kept and not any(r.plugin is plugin for r in plugins.flavors.values()):
        # Every flavor it offers is owned by another plugin: keep it out of broadcasts too.
        pm.unregister(plugin)
    if source not in ("builtin", "extra") and infos and name not in {i.key for i in infos}:
        _log.warning(
            "saveur plugin entry point %r does not match its flavor keys %s",
            name, [i.key for i in infos],
        )
