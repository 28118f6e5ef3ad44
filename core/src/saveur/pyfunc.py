"""The generic ``pyfunc`` interface: :class:`PyFuncModel`, loading, and custom Python models.

``load_model(uri)`` gives a :class:`PyFuncModel` for any model with a ``python_function``
flavor, whatever its framework: its ``predict`` checks the input against the signature and
then makes one direct call into the flavor plugin's predict function.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.errors import SaveurError, SchemaError
from saveur.python_model import PythonModel as PythonModel
from saveur.python_model import PythonModelContext as PythonModelContext

if TYPE_CHECKING:
    from saveur.hookspecs import ResolvedURI
    from saveur.mlmodel import Model
    from saveur.signature import ModelSignature
    from saveur.store import ModelInfo

__all__ = [
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "log_model",
    "save_model",
]


class PyFuncModel:
    """A loaded model with a guaranteed ``predict(data, params=None)``.

    ``predict`` enforces the signature (converting safe types, rejecting the rest with a
    :class:`saveur.errors.SchemaError`) and calls the flavor's predict function directly.
    """

    def __init__(
        self,
        *,
        metadata: Model,
        predict_fn: Callable[[Any, dict[str, Any] | None], Any],
        raw_model: object,
        model_dir: Path,
        resolved: ResolvedURI | None = None,
    ) -> None:
        from saveur.enforce import compile_enforcer, compile_fit_check

        self.metadata = metadata
        self.model_dir = model_dir
        self.resolved = resolved
        self._predict_fn = predict_fn
        self._raw_model = raw_model
        self._enforce = compile_enforcer(metadata.signature)
        # Input that the enforcer would hand back untouched (an array of the declared dtype
        # and shape, no params) skips it: a 1-row predict pays a few attribute reads.
        self._fits = compile_fit_check(metadata.signature)
        self._array = _array_route(metadata.signature, predict_fn)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Check ``data`` and ``params`` against the signature, then predict."""
        fits = self._fits
        if params is None and fits is not None and fits(data):
            return self._predict_fn(data, None)
        data, params = self._enforce(data, params)
        return self._predict_fn(data, params)

    def check_input(
        self, data: Any, params: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any] | None]:
        """Enforce the signature only: return the converted input and params, or raise.

        With :meth:`predict_checked`, this lets a caller (the server's batcher) check each
        request alone and then predict on several merged ones in one call.
        """
        return self._enforce(data, params)

    def predict_checked(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict on input that :meth:`check_input` already returned (no second check)."""
        return self._predict_fn(data, params)

    @property
    def array_columns(self) -> tuple[str, ...] | None:
        """The columns :meth:`predict_array` takes, in order; ``None`` when it takes none.

        Set when the signature names exactly these columns, all ``double`` (or all
        ``float``), with no params, and the flavor's predict function offers an
        :class:`saveur.hookspecs.ArrayInput` for them.
        """
        route = self._array
        return None if route is None else route[0]

    def predict_array(self, values: Any) -> Any:
        """Predict on a table given as its values: a 2-D ndarray, one column per name of
        :attr:`array_columns`, in that order.

        The answer is :meth:`predict`'s on ``pandas.DataFrame(values, columns=array_columns)``,
        without building that frame when ``values`` already has the signature's dtype
        (``float64`` for ``double`` columns). Other arrays are checked as that frame would be.
        """
        route = self._array
        if route is None:
            raise SaveurError(
                "predict_array() needs a model whose array_columns is set (a column signature "
                "of all-double or all-float columns and a flavor that takes their values as "
                "an array); this model has none: call predict() with a DataFrame"
            )
        columns, dtype, predict = route
        import numpy as np

        if (
            type(values) is np.ndarray
            and values.ndim == 2
            and values.shape[1] == len(columns)
            and values.dtype == dtype
        ):
            return predict(values)
        import pandas as pd

        try:
            frame = pd.DataFrame(values, columns=list(columns))
        except (TypeError, ValueError) as exc:
            raise SchemaError(
                f"predict_array() takes a 2-D array with one column per name of "
                f"array_columns ({len(columns)}): {exc}"
            ) from None
        return self.predict(frame)

    @property
    def signature(self) -> ModelSignature | None:
        """The model's signature, or ``None``."""
        return self.metadata.signature

    @property
    def loader_module(self) -> str | None:
        """The ``python_function.loader_module`` recorded in MLmodel."""
        conf = self.metadata.pyfunc_conf or {}
        return conf.get("loader_module")

    def get_raw_model(self) -> object:
        """Return the framework's own object (an estimator, a module, a PythonModel...)."""
        return self._raw_model

    def unwrap_python_model(self) -> PythonModel:
        """Return the :class:`PythonModel` instance of a custom model."""
        if not isinstance(self._raw_model, PythonModel):
            raise SaveurError(
                "unwrap_python_model() works only for custom Python models; this model's "
                f"loader module is {self.loader_module!r}: use get_raw_model()"
            )
        return self._raw_model

    def __repr__(self) -> str:
        flavors = ", ".join(sorted(self.metadata.flavors))
        return f"PyFuncModel(flavors=[{flavors}], path={str(self.model_dir)!r})"


def load_model(
    model_uri: str | os.PathLike[str],
    *,
    trust_code: bool | None = None,
    verify: bool = True,
    **options: Any,
) -> PyFuncModel:
    """Load any model with a ``python_function`` flavor as a :class:`PyFuncModel`.

    ``model_uri`` is a path, ``file://``, ``runs:/<run_id>/<path>`` or ``models:/<name>/<version>``
    (or ``@alias``). Code the model carries (pickles, code files, code paths, a custom loader
    module) runs only with ``trust_code=True`` or ``SAVEUR_TRUST_CODE=1``. ``verify=False``
    skips the per-file digest check (the registry's MLmodel digest is always checked).
    """
    from saveur.loading import add_code_paths, load_custom_loader, prepare_load, pyfunc_owner

    setup = prepare_load(model_uri, trust_code=trust_code, verify=verify, options=options)
    mlmodel, path, trust = setup.mlmodel, setup.path, setup.context.trust_code
    flavor = pyfunc_owner(mlmodel, setup.plugins)
    conf = mlmodel.pyfunc_conf or {}
    add_code_paths(path, conf, trust)
    if flavor is None:
        raw = load_custom_loader(path, conf, setup.context)
        predict_fn = _custom_loader_predict(raw)
    else:
        # The owning flavor's own entry holds its configuration (for the built-in
        # python_function plugin, that entry is this one).
        flavor_conf = mlmodel.flavors.get(flavor, conf)
        add_code_paths(path, flavor_conf, trust)
        raw = setup.plugins.load_model(flavor, flavor_conf, setup.context)
        predict_fn = setup.plugins.predict_function(flavor, raw, conf, setup.context)
    return PyFuncModel(
        metadata=mlmodel,
        predict_fn=predict_fn,
        raw_model=raw,
        model_dir=path,
        resolved=setup.opened.resolved,
    )


def _array_route(signature: Any, predict_fn: Any) -> tuple[tuple[str, ...], Any, Any] | None:
    """``(columns, dtype, predict)`` when ``predict_fn`` may take a table's values for this
    signature: the enforcer would pass a frame of exactly those columns, of that one float
    dtype, through untouched (no params to fill in), so giving its values instead changes
    nothing."""
    from saveur.hookspecs import ArrayInput
    from saveur.types import DataType

    offer = getattr(predict_fn, "array_input", None)
    if not isinstance(offer, ArrayInput) or signature is None:
        return None
    inputs = getattr(signature, "inputs", None)
    if inputs is None or getattr(signature, "params", None) is not None:
        return None
    if inputs.is_tensor_spec():
        return None
    specs = list(inputs.inputs)
    names = tuple(spec.name for spec in specs)
    if not names or names != tuple(offer.columns) or len(set(names)) != len(names):
        return None
    kinds = {spec.type.name if isinstance(spec.type, DataType) else None for spec in specs}
    if kinds == {"double"}:
        dtype = "float64"
    elif kinds == {"float"}:
        dtype = "float32"
    else:
        return None
    import numpy as np

    return names, np.dtype(dtype), offer.predict


def _custom_loader_predict(raw: Any) -> Callable[[Any, dict[str, Any] | None], Any]:
    predict = raw.predict
    try:
        import inspect

        takes_params = "params" in inspect.signature(predict).parameters
    except (TypeError, ValueError):
        takes_params = False
    if takes_params:
        return lambda data, params: predict(data, params=params)
    return lambda data, params: predict(data)


def save_model(
    path: str | os.PathLike[str],
    python_model: PythonModel | str,
    *,
    artifacts: dict[str, str | os.PathLike[str]] | None = None,
    model_config: dict[str, Any] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | str | None = None,
    extra_pip_requirements: Sequence[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Save a custom Python model.

    ``python_model`` is a :class:`PythonModel` instance (saved with cloudpickle), a path to a
    ``.py`` file that calls :func:`saveur.models.set_model` (models from code: no pickle), or
    ``"package.module:ClassName"`` naming an installed :class:`PythonModel` subclass (by
    reference: built with no arguments; ``model_config`` reaches it through the context).
    ``artifacts`` are copied into the model and handed to ``load_context`` with their new
    paths.
    """
    from saveur.saving import save_model as _save

    return _save(
        python_model,
        path,
        flavor="python_function",
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        code_paths=code_paths,
        metadata=metadata,
        artifacts=artifacts,
        model_config=model_config,
    )


def log_model(python_model: PythonModel | str, name: str, **kwargs: Any) -> ModelInfo:
    """Log a custom Python model to the active run (see :func:`save_model` for options)."""
    from saveur.store import log_model as _log_model

    return _log_model(python_model, name, flavor="python_function", **kwargs)
