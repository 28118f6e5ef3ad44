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
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from saveur.mlmodel import Model

PROJECT = "saveur"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: ``predict(model_input, params) -> output``: what :func:`saveur_predict_function` returns.
#: ``model_input`` is whatever the signature's enforcement produced (a DataFrame for a column
#: signature, an ndarray or a dict of ndarrays for a tensor signature, the caller's object when
#: the model has no signature); the output is the framework's.
PredictFunction = Callable[[Any, "dict[str, Any] | None"], Any]


@dataclass(frozen=True)
class ArrayInput:
    """A predict function's offer to take a table's values as one 2-D ndarray.

    Set as the ``array_input`` attribute of the function :func:`saveur_predict_function`
    returns. ``predict(values)`` must answer exactly what the function answers for
    ``pandas.DataFrame(values, columns=columns)``, for any 2-D ``float64`` or ``float32``
    ndarray with one column per name of ``columns``, in that order. The host uses it only
    where the signature's enforcement would hand that DataFrame over untouched (a column
    signature naming exactly ``columns``, in that order, all ``double`` or all ``float``, no
    params), and then never builds the frame: a scikit-learn estimator fitted on a frame
    converts it back to this very array anyway.
    """

    columns: tuple[str, ...]
    predict: Callable[[Any], Any]


@dataclass(frozen=True)
class FlavorClaim:
    """How a plugin claims an object in :func:`saveur_detect_flavor`.

    ``flavor`` is the flavor key the plugin would save the object as; ``matched`` the class in
    ``type(model).__mro__`` the plugin recognised (``sklearn.base.BaseEstimator``, or the
    object's own class). When several plugins claim one object, the claim whose ``matched`` is
    nearest to ``type(model)`` in the MRO wins, so a plugin for ``XGBClassifier`` beats one for
    every ``BaseEstimator``; only equally near claims from different plugins are ambiguous.
    """

    flavor: str
    matched: type


@dataclass(frozen=True)
class FlavorInfo:
    """What a plugin says about one flavor it provides.

    ``key`` is the MLmodel flavor key (``sklearn``); ``distribution`` the pip name of the
    plugin (``saveur-sklearn``); ``framework_requirements`` the pip names of the framework
    packages it needs at load (``["scikit-learn", "skops"]``), used in error messages;
    ``loader_modules`` the module names that may appear as ``python_function.loader_module``
    for models of this flavor (MLflow's ``mlflow.sklearn`` and the plugin's own module).

    ``mlflow_loader_module`` is set by a plugin whose flavor MLflow also has
    (``"mlflow.sklearn"``): a model whose saved ``python_function`` block names that module
    promises to be exactly the block MLflow 3 writes for that flavor, so the model loads in
    stock MLflow with no saveur distribution installed (a *portable* model). Its requirements
    then name no saveur distribution; the host records the plugin in MLmodel's ``saveur``
    block. A model saved with another loader module (a format MLflow lacks, such as
    saveur-torch's ``state_dict``), or a flavor with ``None`` here (the default), keeps the
    plugin's own loader module, and its requirements pin the plugin and saveur.
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
    model directory) the plugin wrote; the host digests every file anyway. ``signature`` is a
    :class:`saveur.signature.ModelSignature` the plugin read from the model itself (an ONNX
    graph declares its tensors); the host records it only when the caller gave neither a
    signature nor an input example.
    """

    flavor_conf: dict[str, Any]
    pyfunc_conf: dict[str, Any] | None = None
    files: tuple[str, ...] = ()
    signature: Any = None


@dataclass(frozen=True)
class LoadContext:
    """Everything a load hook may need besides the flavor config.

    ``model_dir`` is the verified local model directory; ``mlmodel`` the parsed
    :class:`saveur.models.Model`; ``trust_code`` whether the caller consented to run code the
    model carries (pickles, code files); ``options`` the caller's extra keyword options, with
    the host's own (``trust_code``, ``verify``, ``flavor``) already removed.
    """

    model_dir: Path
    mlmodel: Model
    trust_code: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    #: True only when the host calls :func:`saveur_predict_function` during a save, to infer
    #: the output schema from the input example: ``model`` is then the caller's own object
    #: (what the save hook received), not what :func:`saveur_load_model` returns.
    saving: bool = False


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
def saveur_detect_flavor(model: object) -> FlavorClaim | str | None:
    """Say whether this plugin can save ``model``, without importing its framework.

    Called on every plugin when :func:`saveur.save_model` gets no ``flavor=``. Check the
    object's type cheaply (walk ``type(model).__mro__`` comparing ``__module__`` and
    ``__qualname__``) and import nothing heavy. The claim nearest to the object's own class
    wins; equally near claims from two plugins are an
    :class:`~saveur.errors.AmbiguousFlavorError`.

    :param model: the object the caller wants to save.
    :return: a :class:`FlavorClaim` naming the flavor and the class matched on, or ``None``.
        A bare flavor key is accepted and counts as a match on ``object`` (the least
        specific claim).
    """


@hookspec(firstresult=True)
def saveur_resolve_uri(uri: str) -> ResolvedURI | None:
    """Turn a model URI into a local directory.

    Stops at first non-None result. Return ``None`` for a scheme you do not handle; raise
    :class:`saveur.errors.InvalidURIError` for a URI of your scheme that is malformed.

    :param uri: a path, ``file://`` URI, ``runs:/``, ``models:/`` or a plugin's own scheme.
    :return: a :class:`ResolvedURI`, or ``None``.
    """


# --- flavor-keyed hooks: called on the one plugin that owns ``flavor`` -----------------


@hookspec
def saveur_save_model(  # type: ignore[empty-body]
    flavor: str, model: object, path: Path, options: dict[str, Any], input_example: object
) -> SavedFlavor:
    """Write ``model`` into the (private, empty) directory ``path``.

    Called only on the plugin that owns ``flavor``. Write only inside ``path``; record no
    absolute path of the saving machine. Reject unknown ``options`` with an error naming them.

    :param flavor: the flavor key being saved.
    :param model: the framework object.
    :param path: the staging model directory; MLmodel and env files are the host's job.
    :param options: the caller's flavor options (``serialization_format=...``).
    :param input_example: the data part of the caller's ``input_example`` (without its
        params), or ``None``; for plugins that trace the model (``torch.export``). The host
        writes the example files itself.
    :return: the flavor and pyfunc configuration to record in MLmodel.
    """


@hookspec
def saveur_load_model(
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
    :return: ``predict(model_input, params) -> output``. It may carry an ``array_input``
        attribute, an :class:`ArrayInput`, when it can take a numeric table as a plain 2-D
        ndarray (the host then skips building a DataFrame for such input).
    """


@hookspec
def saveur_infer_requirements(  # type: ignore[empty-body]
    flavor: str, model: object, model_dir: Path, flavor_conf: dict[str, Any]
) -> list[str]:
    """Name the pinned pip requirements a saved model needs to load.

    Called on the plugin that owns ``flavor`` after its save hook. Pin the framework and the
    plugin's own distribution as installed (``scikit-learn==1.9.1``,
    ``saveur-sklearn==0.1.0``), and the distributions of the classes ``model`` holds (a
    pipeline step from another package); the host adds ``saveur`` itself and scans
    ``code_paths``. A model saved with ``FlavorInfo.mlflow_loader_module`` as its loader pins
    no saveur distribution: it must install from a package index alone. Never run the model.
    An implementation may leave out ``model`` (or any argument): pluggy passes only the
    arguments it names.

    :param flavor: the flavor key.
    :param model: the object the save hook received.
    :param model_dir: the staging model directory as saved.
    :param flavor_conf: the flavor configuration the save hook returned.
    :return: requirement strings.
    """
