"""onnxruntime sessions: explicit providers, session options, and MLflow's config keys.

MLflow 3 records ``providers`` and ``onnx_session_options`` in the ``onnx`` flavor; the same
keys are read here, so models saved by either load with the same session settings.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from saveur.errors import PluginError, SaveError

_log = logging.getLogger(__name__)

#: saveur's default: always explicit, never "whatever onnxruntime picks".
DEFAULT_PROVIDERS = ["CPUExecutionProvider"]

#: The ``onnx_session_options`` keys MLflow 3 applies (``mlflow.onnx._OnnxModelWrapper``).
SESSION_OPTION_KEYS = (
    "intra_op_num_threads",
    "inter_op_num_threads",
    "execution_mode",
    "graph_optimization_level",
    "extra_session_config",
)
_EXECUTION_MODES = ("sequential", "parallel")


def _provider_name(entry: Any) -> str:
    return entry[0] if isinstance(entry, (list, tuple)) else entry


def check_providers(providers: Any, error: type[Exception]) -> list[Any]:
    """Validate a providers list: names, or ``(name, {options})`` pairs."""
    if isinstance(providers, str):
        providers = [providers]
    if not isinstance(providers, (list, tuple)) or not providers:
        raise error(
            "providers must be a non-empty list of onnxruntime execution provider names, e.g. "
            f"['CUDAExecutionProvider', 'CPUExecutionProvider'], got {providers!r}"
        )
    out: list[Any] = []
    for entry in providers:
        if isinstance(entry, (list, tuple)):
            ok = (len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], dict))
            if not ok:
                raise error(
                    f"provider entry {entry!r} must be a name or a (name, options dict) pair"
                )
            out.append([entry[0], dict(entry[1])])  # a list: it round-trips through YAML
        elif isinstance(entry, str) and entry.endswith("ExecutionProvider"):
            out.append(entry)
        else:
            raise error(
                f"provider {entry!r} is not an onnxruntime execution provider name "
                "(they end in 'ExecutionProvider', e.g. 'CPUExecutionProvider')"
            )
    return out


def check_session_options(options: Any, error: type[Exception]) -> dict[str, Any] | None:
    """Validate ``onnx_session_options``: only the keys MLflow applies, with sane values."""
    if options is None:
        return None
    if not isinstance(options, dict):
        raise error(f"onnx_session_options must be a dict, got {type(options).__name__}")
    unknown = sorted(k for k in options if k not in SESSION_OPTION_KEYS)
    if unknown:
        raise error(
            f"unknown onnx_session_options key(s): {', '.join(map(str, unknown))}; accepted: "
            f"{', '.join(SESSION_OPTION_KEYS)}"
        )
    for key in ("intra_op_num_threads", "inter_op_num_threads", "graph_optimization_level"):
        value = options.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise error(f"onnx_session_options[{key!r}] must be an integer >= 0, got {value!r}")
    mode = options.get("execution_mode")
    if mode is not None and (not isinstance(mode, str) or mode.lower() not in _EXECUTION_MODES):
        raise error(
            f"onnx_session_options['execution_mode'] must be 'sequential' or 'parallel', "
            f"got {mode!r}"
        )
    extra = options.get("extra_session_config")
    if extra is not None and (
        not isinstance(extra, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items())
    ):
        raise error("onnx_session_options['extra_session_config'] must map strings to strings")
    return dict(options)


def session_options(ort: Any, options: dict[str, Any] | None) -> Any:
    """Build ``onnxruntime.SessionOptions`` from the validated dict."""
    so = ort.SessionOptions()
    if not options:
        return so
    if options.get("intra_op_num_threads") is not None:
        so.intra_op_num_threads = options["intra_op_num_threads"]
    if options.get("inter_op_num_threads") is not None:
        so.inter_op_num_threads = options["inter_op_num_threads"]
    mode = options.get("execution_mode")
    if mode is not None:
        so.execution_mode = (ort.ExecutionMode.ORT_PARALLEL if mode.lower() == "parallel"
                             else ort.ExecutionMode.ORT_SEQUENTIAL)
    if options.get("graph_optimization_level") is not None:
        so.graph_optimization_level = ort.GraphOptimizationLevel(
            options["graph_optimization_level"]
        )
    for key, value in (options.get("extra_session_config") or {}).items():
        so.add_session_config_entry(key, value)
    return so


def usable_providers(ort: Any, requested: list[Any]) -> list[Any]:
    """The requested providers this onnxruntime build has, in order; CPU if none is left.

    A model saved on a GPU machine (MLflow's default asks for CUDA first) still loads on a CPU
    machine; the dropped providers are logged, never silently.
    """
    available = set(ort.get_available_providers())
    usable = [tuple(p) if isinstance(p, list) else p for p in requested
              if _provider_name(p) in available]
    dropped = [_provider_name(p) for p in requested if _provider_name(p) not in available]
    if dropped:
        _log.warning(
            "onnxruntime here has no %s (available: %s); running with %s",
            ", ".join(dropped), ", ".join(sorted(available)),
            ", ".join(map(_provider_name, usable)) or "CPUExecutionProvider",
        )
    return usable or ["CPUExecutionProvider"]


def create_session(
    source: bytes | Path, flavor_conf: dict[str, Any], options: dict[str, Any]
) -> Any:
    """An ``InferenceSession`` on a serialized graph or a file, with explicit providers.

    ``options`` (load options) override the flavor config's ``providers`` and
    ``onnx_session_options``. For a file, the caller has checked its external-data locations.
    """
    from saveur_onnx._files import import_onnxruntime

    ort = import_onnxruntime()
    providers = options.get("providers", flavor_conf.get("providers") or DEFAULT_PROVIDERS)
    providers = check_providers(providers, PluginError)
    sess_conf = options.get("onnx_session_options", flavor_conf.get("onnx_session_options"))
    sess_conf = check_session_options(sess_conf, PluginError)
    what = f"{source.name!r}" if isinstance(source, Path) else "the ONNX graph"
    try:
        return ort.InferenceSession(
            source if isinstance(source, bytes) else str(source),
            sess_options=session_options(ort, sess_conf),
            providers=usable_providers(ort, providers),
        )
    except Exception as e:  # onnxruntime's Fail/InvalidGraph/NotImplemented...
        raise PluginError(
            f"onnxruntime cannot create a session for {what} ({type(e).__name__}: {e})"
        ) from e


def validate_save_conf(options: dict[str, Any]) -> tuple[list[Any], dict[str, Any] | None]:
    """The providers and session options to record at save, validated."""
    providers = check_providers(options.get("onnx_execution_providers", DEFAULT_PROVIDERS),
                                SaveError)
    return providers, check_session_options(options.get("onnx_session_options"), SaveError)
