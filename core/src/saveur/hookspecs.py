"""Every hook a saveur plugin may implement, and nothing else.

A plugin is a module (or object) registered under the entry-point group ``saveur``; the
entry-point name is the flavor key it provides. Implement hooks with the
:data:`saveur.hookimpl` marker. Flavor-keyed hooks (save, load, predict, requirements) are
called on the one plugin that owns the flavor, never broadcast; the others are broadcast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

PROJECT = "saveur"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: ``predict(model_input, params) -> output``: what :func:`saveur_predict_function` returns.
PredictFunction = Callable[[Any, "dict[str, Any] | None"], Any]


@dataclass(frozen=True)
class FlavorInfo:
    """What a plugin says about one flavor it provides.

    ``key`` is the MLmodel flavor key (``sklearn``); ``distribution`` the pip name of the
    plugin (``saveur-sklearn``); ``framework_requirements`` the pip names of the framework
    packages it needs at load (``["scikit-learn", "skops"]``), used in error messages;
    ``loader_modules`` the module names that may appear as ``python_function.loader_module``
    for models of this flavor (MLflow's ``mlflow.sklearn`` and the plugin's own module).

    ``mlflow_loader_module`` is set by a plugin whose flavor MLflow also has
    (``"mlflow.sklearn"``): it promises that the ``python_function`` block it saves is exactly
    the one MLflow 3 writes for that flavor, naming that module, so the model loads in stock
    MLflow with no saveur distribution installed (a *portable* model). Its requirements then
    name no saveur distribution; the host records the plugin in MLmodel's ``saveur`` block.
    ``None`` (the default) keeps the plugin's own loader module, and the model's requirements
    pin the plugin and saveur.
    """

    key: str
    distribution: str
    framework_requirements: tuple[str, ...] = ()
    loader_modules: tuple[str, ...] = ()
    description: str = ""
    mlflow_loader_module: str | None = None


@dataclass(frozen=True)
class SavedFlavor:
    """What a plugin's save hook wrote, for the host to record in MLmodel.

    ``flavor_conf`` becomes ``flavors[<key>]``. ``pyfunc_conf`` holds the plugin's keys of
    the ``python_function`` flavor (``loader_module``, ``model_path`` or ``data``,
    ``predict_fn``...); the host adds ``python_version``, ``env`` and ``code``. ``None``
    means the model cannot be used through pyfunc. ``files`` are the paths (relative to the
    model directory) the plugin wrote; the host digests every file anyway.
    """

    flavor_conf: dict[str, Any]
    pyfunc_conf: dict[str, Any] | None = None
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadContext:
    """Everything a load hook may need besides the flavor config.

    ``model_dir`` is the verified local model directory; ``mlmodel`` the parsed
    :class:`saveur.models.Model`; ``trust_code`` whether the caller consented to run code the
    model carries (pickles, code files); ``options`` the caller's extra keyword options.
    """

    model_dir: Path
    mlmodel: Any
    trust_code: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolvedURI:
    """A model URI turned into a local directory, plus what the resolver knows of it.

    ``mlmodel_sha256`` is the digest of the MLmodel file that a trust anchor (the registry)
    recorded, checked by the loader; ``registered_name``/``registered_version`` are set for
    ``models:/`` URIs.
    """

    local_path: Path
    mlmodel_sha256: str | None = None
    registered_name: str | None = None
    registered_version: str | None = None


# --- broadcast hooks -------------------------------------------------------------------


@hookspec
def saveur_flavors() -> list[FlavorInfo]:  # type: ignore[empty-body]
    """Say which flavor(s) this plugin provides.

    :return: one :class:`FlavorInfo` per flavor key. The entry-point name under which the
        plugin was found must be one of the keys.
    """


@hookspec
def saveur_detect_flavor(model: object) -> str | None:  # type: ignore[empty-body]
    """Say whether this plugin can save ``model``, without importing its framework.

    Called on every plugin when :func:`saveur.save_model` gets no ``flavor=``. Check the
    object's type cheaply (``type(model).__module__``) and import nothing heavy.

    :param model: the object the caller wants to save.
    :return: the flavor key this plugin would save it as, or ``None``.
    """


@hookspec(firstresult=True)
def saveur_resolve_uri(uri: str) -> ResolvedURI | None:  # type: ignore[empty-body]
    """Turn a model URI into a local directory.

    Stops at first non-None result. Return ``None`` for a scheme you do not handle; raise
    :class:`saveur.errors.InvalidURIError` for a URI of your scheme that is malformed.

    :param uri: a path, ``file://`` URI, ``runs:/``, ``models:/`` or a plugin's own scheme.
    :return: a :class:`ResolvedURI`, or ``None``.
    """


# --- flavor-keyed hooks: called on the one plugin that owns ``flavor`` -----------------


@hookspec
def saveur_save_model(  # type: ignore[empty-body]
    flavor: str, model: object, path: Path, options: dict[str, Any]
) -> SavedFlavor:
    """Write ``model`` into the (private, empty) directory ``path``.

    Called only on the plugin that owns ``flavor``. Write only inside ``path``; record no
    absolute path of the saving machine. Reject unknown ``options`` with an error naming them.

    :param flavor: the flavor key being saved.
    :param model: the framework object.
    :param path: the staging model directory; MLmodel and env files are the host's job.
    :param options: the caller's flavor options (``serialization_format=...``).
    :return: the flavor and pyfunc configuration to record in MLmodel.
    """


@hookspec
def saveur_load_model(  # type: ignore[empty-body]
    flavor: str, flavor_conf: dict[str, Any], context: LoadContext
) -> object:
    """Load the framework's own object from a model directory.

    Called only on the plugin that owns ``flavor``. Open files only through
    :func:`saveur.security.contained_path`. Deserializers that can run code (pickle) need
    ``context.trust_code``; raise :class:`saveur.errors.TrustError` otherwise.

    :param flavor: the flavor key being loaded.
    :param flavor_conf: ``flavors[<flavor>]`` from MLmodel.
    :param context: the model directory, parsed MLmodel, trust and options.
    :return: the framework object.
    """


@hookspec
def saveur_predict_function(  # type: ignore[empty-body]
    flavor: str, model: object, pyfunc_conf: dict[str, Any], context: LoadContext
) -> PredictFunction:
    """Return the function that makes predictions with a loaded model.

    Called once per pyfunc load, on the plugin that owns ``flavor``; the returned callable is
    then called directly on every ``predict``. It gets input already checked against the
    signature, and params (or ``None``).

    :param flavor: the flavor key.
    :param model: what :func:`saveur_load_model` returned.
    :param pyfunc_conf: the ``python_function`` flavor of MLmodel (``predict_fn``...).
    :param context: the model directory, parsed MLmodel, trust and options.
    :return: ``predict(model_input, params) -> output``.
    """


@hookspec
def saveur_infer_requirements(  # type: ignore[empty-body]
    flavor: str, model_dir: Path, flavor_conf: dict[str, Any]
) -> list[str]:
    """Name the pinned pip requirements a saved model needs to load.

    Called on the plugin that owns ``flavor`` after its save hook. Pin the framework and the
    plugin's own distribution as installed (``scikit-learn==1.9.1``,
    ``saveur-sklearn==0.1.0``); the host adds ``saveur`` itself. A plugin that declares
    ``FlavorInfo.mlflow_loader_module`` pins no saveur distribution: its models must install
    from a package index alone. Never run the model.

    :param flavor: the flavor key.
    :param model_dir: the staging model directory as saved.
    :param flavor_conf: the flavor configuration the save hook returned.
    :return: requirement strings.
    """
