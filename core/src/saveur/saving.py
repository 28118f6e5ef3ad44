"""The save path: object -> flavor plugin -> MLmodel, signature, example, env files, digests.

:func:`save_model` stages everything in a private directory next to the target and renames it
into place at the end, so a failure at any point leaves nothing at the target path.
:func:`write_model` does the work inside a directory the caller provides; the store's
``log_model`` stages with it, and every plugin's ``save_model``/``log_model`` is a one-line
call of these helpers.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.errors import (
    ModelExistsError,
    SaveError,
    SaveurError,
    SchemaError,
    SignatureError,
)
from saveur.mlmodel import MLMODEL_FILE_NAME, PYFUNC_FLAVOR, Model

if TYPE_CHECKING:
    from saveur.hookspecs import FlavorInfo, SavedFlavor
    from saveur.plugins import Plugins
    from saveur.signature import ModelSignature

_log = logging.getLogger(__name__)

CODE_DIR = "code"
_BYTECODE_SUFFIXES = frozenset({".pyc", ".pyo"})


def _not_source(rel: str, is_dir: bool) -> bool:
    """What a code path copy leaves out: bytecode caches, bytecode files and ``.git``."""
    name = rel.rsplit("/", 1)[-1]
    if is_dir:
        return name in {"__pycache__", ".git"}
    return Path(name).suffix in _BYTECODE_SUFFIXES


def save_model(
    model: object,
    path: str | os.PathLike[str],
    *,
    flavor: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | str | None = None,
    extra_pip_requirements: Sequence[str] | str | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    metadata: dict[str, Any] | None = None,
    **flavor_options: Any,
) -> Model:
    """Save ``model`` as an MLmodel directory at ``path``, atomically.

    The flavor is picked by the installed plugins unless ``flavor=`` names it. ``signature``
    is inferred from ``input_example`` when not given. ``pip_requirements`` replaces the
    inferred requirements; ``extra_pip_requirements`` adds to them. Extra keyword options go
    to the flavor plugin. An existing non-empty ``path`` is refused.
    """
    from saveur.security import private_tempdir

    target = Path(path).expanduser().absolute()
    _refuse_existing(target)
    staging = private_tempdir(target.parent, prefix=f".{target.name}.saveur-staging-")
    try:
        saved = write_model(
            model,
            staging,
            flavor=flavor,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            code_paths=code_paths,
            metadata=metadata,
            **flavor_options,
        )
        os.chmod(staging, 0o777 & ~_umask())
        _refuse_existing(target)
        if target.is_dir():
            target.rmdir()  # empty, checked just above; rename needs it gone or empty
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return saved


def write_model(
    model: object,
    model_dir: str | os.PathLike[str],
    *,
    flavor: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | str | None = None,
    extra_pip_requirements: Sequence[str] | str | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    **flavor_options: Any,
) -> Model:
    """Write a complete model into the existing, empty directory ``model_dir``.

    This is the whole save except the staging and the final rename; ``run_id`` and
    ``artifact_path`` are recorded in MLmodel when the model is logged to a run.
    """
    from saveur.plugins import get_plugins

    model_dir = Path(model_dir)
    if any(model_dir.iterdir()):
        raise ModelExistsError(f"cannot write a model into {str(model_dir)!r}: it is not empty")
    if metadata is not None and not isinstance(metadata, dict):
        raise SaveError(f"metadata must be a dict, got {type(metadata).__name__}")
    plugins = get_plugins()
    flavor = flavor or plugins.detect_flavor(model)
    info = plugins.flavor_info(flavor)  # fail early, naming the distribution, if not installed

    code_dir = _copy_code_paths(model_dir, code_paths) if code_paths else None
    # A plugin that traces the model (torch.export) gets the example's data part.
    example_data = None if input_example is None else _split_example(input_example)[0]
    saved = plugins.save_model(
        flavor, model, model_dir, dict(flavor_options), input_example=example_data
    )

    portable = _is_portable(info, saved)
    mlmodel = Model(metadata=metadata, run_id=run_id, artifact_path=artifact_path)
    _record_flavors(mlmodel, flavor, saved, code_dir)
    mlmodel.saveur = {"plugin": _plugin_record(plugins, flavor, info.distribution)}
    signature = _signature_and_example(
        mlmodel, plugins, flavor, model, model_dir, signature, input_example
    )
    if signature is None and input_example is None and saved.signature is not None:
        # The model declared its own inputs and outputs (an ONNX graph): record them.
        signature = _signature_and_example(
            mlmodel, plugins, flavor, model, model_dir, saved.signature, None
        )
    if signature is not None:
        mlmodel.signature = signature

    from saveur import environment

    inferred = plugins.infer_requirements(flavor, model, model_dir, mlmodel.flavors[flavor])
    if code_dir is not None:
        inferred += environment.infer_code_requirements([model_dir / CODE_DIR])
    if portable:
        inferred = _without_saveur(inferred)
    requirements = environment.resolve_requirements(
        inferred, pip_requirements, extra_pip_requirements, pin_saveur=not portable
    )
    if portable:
        requirements = _with_mlflow(requirements)
    environment.write_environment_files(model_dir, requirements)

    _seal(mlmodel, model_dir)
    return mlmodel


def _is_portable(info: FlavorInfo, saved: SavedFlavor) -> bool:
    """Whether the plugin saved this model for stock MLflow's own loader.

    Decided per model: one plugin may save some formats for MLflow's loader (saveur-torch's
    ``export``) and others for its own (``state_dict``), which then pin the plugin.
    """
    if info.mlflow_loader_module is None or saved.pyfunc_conf is None:
        return False
    return bool(saved.pyfunc_conf.get("loader_module") == info.mlflow_loader_module)


def _without_saveur(inferred: list[str]) -> list[str]:
    """Drop inferred saveur pins: a portable model installs from a package index alone.

    The caller's own pip_requirements stand as given (``saveur models show`` then says why the
    model is not portable); only an inferred pin would make it so behind their back.
    """
    from saveur.portability import names_saveur_distribution

    return [r for r in inferred if not names_saveur_distribution(r)]


def _with_mlflow(requirements: list[str]) -> list[str]:
    """Name MLflow first, as MLflow does, unless the caller named it (or mlflow-skinny)."""
    from saveur.portability import MLFLOW_REQUIREMENT, names_mlflow

    if any(names_mlflow(r) for r in requirements):
        return requirements
    return [MLFLOW_REQUIREMENT, *requirements]


def _plugin_record(plugins: Plugins, flavor: str, distribution: str) -> dict[str, str]:
    """``{distribution, version}`` of the plugin that writes the model, for MLmodel's block."""
    from saveur import __version__

    for info, source, version in plugins.installed():
        if info.key == flavor:
            if source == "builtin":
                version = __version__
            break
    else:  # pragma: no cover - flavor_info above has found it
        version = None
    record = {"distribution": distribution}
    if version:
        record["version"] = str(version)
    return record


def _refuse_existing(target: Path) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ModelExistsError(f"cannot save a model to {str(target)!r}: a file is already there")
    if target.is_dir() and any(target.iterdir()):
        raise ModelExistsError(
            f"cannot save a model to {str(target)!r}: the directory is not empty; choose a new "
            "path or remove it first"
        )


def _umask() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # no /proc: read it the racy way, once per save
    os.umask(mask)
    return mask


def _copy_code_paths(model_dir: Path, code_paths: Sequence[str | os.PathLike[str]]) -> Path:
    if isinstance(code_paths, (str, os.PathLike)):
        raise SaveError("code_paths must be a list of paths, not a single path")
    from saveur.security import copy_regular_file, walk_files

    dest = model_dir / CODE_DIR
    dest.mkdir()
    for item in code_paths:
        src = Path(item).expanduser()
        if not src.exists():
            raise SaveError(f"code path {str(item)!r} does not exist")
        target = dest / src.name
        if target.exists():
            raise SaveError(f"two code paths share the name {src.name!r}; rename one of them")
        if src.is_dir():
            # Bytecode is never copied: a model's code is its reviewed source, and a .pyc
            # (cached or sourceless) would run instead of it. Special files and links that
            # leave the code path are refused by the walk.
            for rel, path in walk_files(src, links="inside", skip=_not_source, what="code path"):
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                copy_regular_file(path, target / rel)
            target.mkdir(exist_ok=True)
        elif src.suffix in _BYTECODE_SUFFIXES:
            raise SaveError(
                f"code path {str(item)!r} is compiled bytecode; pass the .py source instead"
            )
        else:
            copy_regular_file(src, target)
    return dest


def _record_flavors(mlmodel: Model, flavor: str, saved: SavedFlavor, code_dir: Path | None) -> None:
    """Record ``flavors[flavor]`` and, if the plugin gave one, ``flavors.python_function``.

    The same rule for every plugin: for the built-in ``python_function`` plugin both land on
    one entry, the pyfunc keys written over its (empty) flavor configuration.
    """
    from saveur.environment import python_env_conf

    code = CODE_DIR if code_dir is not None else None
    conf = dict(saved.flavor_conf)
    if "code" in conf or code is not None:
        conf["code"] = code
    mlmodel.flavors[flavor] = conf
    if saved.pyfunc_conf is not None:
        pyfunc = {**mlmodel.flavors.get(PYFUNC_FLAVOR, {}), **saved.pyfunc_conf}
        pyfunc["python_version"] = "{}.{}.{}".format(*sys.version_info[:3])
        pyfunc["env"] = python_env_conf()
        if code is not None or "code" in pyfunc:
            pyfunc["code"] = code
        mlmodel.flavors[PYFUNC_FLAVOR] = pyfunc


def _signature_and_example(
    mlmodel: Model,
    plugins: Plugins,
    flavor: str,
    model: object,
    model_dir: Path,
    signature: ModelSignature | None,
    input_example: Any,
) -> ModelSignature | None:
    """Infer or check the signature, and write the input example files."""
    if signature is not None and not _is_signature(signature):
        raise SaveError(f"signature must be a ModelSignature, got {type(signature).__name__}")
    if input_example is None:
        return signature

    from saveur.examples import read_serving_input_example, write_input_example

    data, params = _split_example(input_example)
    if signature is None:
        signature = _infer_signature(mlmodel, plugins, flavor, model, model_dir, data, params)
    mlmodel.saved_input_example_info = write_input_example(model_dir, input_example)

    # The endpoint must accept its own example: parse it as a request, then enforce it.
    serving = read_serving_input_example(model_dir)
    if serving is not None:
        from saveur.enforce import compile_enforcer
        from saveur.protocol import parse_request

        try:
            request = parse_request(serving.encode("utf-8"), "application/json", signature)
            compile_enforcer(signature)(request.data, request.params)
        except SaveurError as e:
            raise SaveError(
                f"the input example does not fit the model's signature, so the model's own "
                f"endpoint would reject it: {e}"
            ) from e
    return signature


def _is_signature(obj: object) -> bool:
    from saveur.signature import ModelSignature

    return isinstance(obj, ModelSignature)


def _split_example(example: Any) -> tuple[Any, dict[str, Any] | None]:
    if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
        return example[0], example[1]
    return example, None


def _infer_signature(
    mlmodel: Model,
    plugins: Plugins,
    flavor: str,
    model: object,
    model_dir: Path,
    data: Any,
    params: dict[str, Any] | None,
) -> ModelSignature:
    from saveur.signature import infer_signature, infer_signature_from_example

    try:
        input_only = infer_signature(data, None, params)
    except SaveurError as e:
        raise SignatureError(f"cannot infer a signature from the input example: {e}") from e
    except Exception as e:
        raise SignatureError(
            f"cannot infer a signature from the input example ({type(e).__name__}: {e}); pass "
            "signature= explicitly"
        ) from e
    pyfunc_conf = mlmodel.flavors.get(PYFUNC_FLAVOR)
    if pyfunc_conf is None:
        return input_only
    # The caller's own model, in the caller's process, as MLflow does: output schema only.
    from saveur.hookspecs import LoadContext

    context = LoadContext(model_dir=model_dir, mlmodel=mlmodel, trust_code=True, saving=True)
    try:
        predict = plugins.predict_function(flavor, model, pyfunc_conf, context)
        output = predict(data, params)
        return infer_signature_from_example(data, output, params)
    except (SchemaError, SignatureError):
        raise
    except Exception as e:
        _log.warning(
            "could not infer the output schema by running the model on the input example "
            "(%s: %s); the signature has inputs only", type(e).__name__, e,
        )
        return input_only


def _seal(mlmodel: Model, model_dir: Path) -> None:
    """Record the digests and size of every file, then write MLmodel last."""
    _seal_digests_only(mlmodel, model_dir)
    mlmodel.save(model_dir / MLMODEL_FILE_NAME)


def reseal(model_dir: str | os.PathLike[str]) -> Model:
    """Re-record the digests of a local model after a deliberate edit (``saveur models reseal``)."""
    from saveur.security import private_tempdir

    path = Path(model_dir)
    mlmodel = Model.load(path)
    _seal_digests_only(mlmodel, path)
    # Write the new MLmodel beside the old one and rename: never a half-written MLmodel.
    tmp = private_tempdir(path, prefix=".MLmodel-")
    try:
        mlmodel.save(tmp / MLMODEL_FILE_NAME)
        os.replace(tmp / MLMODEL_FILE_NAME, path / MLMODEL_FILE_NAME)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return mlmodel


def _seal_digests_only(mlmodel: Model, model_dir: Path) -> None:
    from saveur import __version__
    from saveur.security import compute_digests

    # Every file, bytecode included: a file left out of the digests could replace code that
    # was reviewed (a .pyc runs instead of its source) and nobody would notice.
    digests = compute_digests(model_dir)
    mlmodel.saveur = {**(mlmodel.saveur or {}), "version": __version__, "digests": digests}
    mlmodel.model_size_bytes = sum((model_dir / rel).stat().st_size for rel in digests)
