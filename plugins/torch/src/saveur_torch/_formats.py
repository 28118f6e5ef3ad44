"""The three ways a module is written to (and read from) a model's ``data/`` folder.

- ``export``: ``torch.export`` to ``data/model.pt2``, MLflow 3's own pt2 layout, with the batch
  dimension dynamic; loaded without pickle (the archive is audited first, see _pt2_audit).
- ``state_dict``: the weights in ``data/model.safetensors`` plus the module's class and
  constructor keywords in MLmodel; rebuilt from installed code (or the model's code_paths).
- ``pickle``: ``torch.save`` of the whole module to ``data/model.pth`` with
  ``pickle_module_info.txt`` (MLflow's layout); loading needs trust.

torch is imported inside the functions: the plugin is imported at discovery.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

from saveur.errors import MissingDependencyError, MLmodelError, PluginError, SaveError, TrustError

EXPORT = "export"
STATE_DICT = "state_dict"
PICKLE = "pickle"
FORMATS = (EXPORT, STATE_DICT, PICKLE)

DATA_DIR = "data"
PT2_FILE = "model.pt2"
PTH_FILE = "model.pth"
SAFETENSORS_FILE = "model.safetensors"
PICKLE_INFO_FILE = "pickle_module_info.txt"
#: What MLflow 3 records as the pickle module (a re-export of cloudpickle).
MLFLOW_PICKLE_MODULE = "mlflow.pytorch.pickle_module"
#: Pickle modules a model may name; all of them write streams the standard unpickler reads
#: (cloudpickle's helpers are ordinary globals), so loading never imports a module the model
#: names.
_KNOWN_PICKLE_MODULES = frozenset({"pickle", "cloudpickle", MLFLOW_PICKLE_MODULE})

_CLASS_REF = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def import_torch() -> Any:
    """Import torch, or say how to install it."""
    try:
        import torch
    except ImportError as e:
        raise MissingDependencyError(
            f"the 'pytorch' flavor needs PyTorch, which cannot be imported ({e}): "
            "pip install torch"
        ) from e
    return torch


def check_format(fmt: object) -> str:
    """Return ``fmt`` when it is a known format, else raise :class:`SaveError`."""
    if fmt not in FORMATS:
        raise SaveError(
            f"serialization_format {fmt!r} is not supported by the 'pytorch' flavor; use one "
            f"of {', '.join(FORMATS)}"
        )
    return str(fmt)


def is_exported_program(obj: object) -> bool:
    return any(
        f"{c.__module__}.{c.__qualname__}" == "torch.export.exported_program.ExportedProgram"
        for c in type(obj).__mro__
    )


# --- export -------------------------------------------------------------------------------


def example_tensors(example: Any, forward_names: list[str] | None) -> tuple[Any, ...]:
    """Turn an input example (array, DataFrame, dict of arrays, tuple) into forward's args."""
    import numpy as np

    torch = import_torch()

    def one(value: Any, what: str) -> Any:
        if isinstance(value, torch.Tensor):
            return value
        if hasattr(value, "to_numpy") and hasattr(value, "columns"):  # a DataFrame
            return torch.from_numpy(np.ascontiguousarray(value.to_numpy(dtype=np.float32)))
        arr = np.asarray(value)
        if arr.dtype == object:
            raise SaveError(f"the input example's {what} is not numeric (dtype object)")
        return torch.from_numpy(np.ascontiguousarray(arr))

    if isinstance(example, dict):
        if forward_names is not None and set(example) <= set(forward_names):
            ordered = [n for n in forward_names if n in example]
        else:
            ordered = list(example)
        return tuple(one(example[n], f"input {n!r}") for n in ordered)
    # A tuple, or a list of arrays, is one value per forward argument (as in MLflow); a
    # nested list of numbers is one array.
    if isinstance(example, tuple) or (
        isinstance(example, list) and example
        and all(isinstance(v, (np.ndarray, torch.Tensor)) for v in example)
    ):
        return tuple(one(v, f"input {i}") for i, v in enumerate(example))
    return (one(example, "input"),)


def forward_names(module: Any) -> list[str] | None:
    """Positional parameter names of ``module.forward`` (``None`` when it takes ``*args``)."""
    try:
        params = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return None
    names = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            return None if not names else names
        names.append(p.name)
    return names


def save_export(module: Any, data_dir: Path, example: Any) -> None:
    """Export ``module`` with a dynamic batch dimension and write ``model.pt2``."""
    torch = import_torch()
    target = data_dir / PT2_FILE
    if is_exported_program(module):
        torch.export.save(module, str(target))
        return
    if example is None:
        raise SaveError(
            "serialization_format='export' traces the module, so it needs an input example: "
            "pass input_example= (or example_inputs=), or save with "
            "serialization_format='state_dict'"
        )
    args = example_tensors(example, forward_names(module))
    batch = torch.export.Dim("batch", min=1)
    # torch.export specializes a size-1 dimension to a constant, so a 1-row example would
    # give a program that takes only 1 row (MLflow 3's pitfall): trace on two copies instead.
    traced = tuple(
        torch.cat([a, a]) if a.dim() > 0 and a.shape[0] == 1 else a for a in args
    )
    dynamic = tuple({0: batch} if a.dim() > 0 else None for a in traced)
    was_training = module.training
    module.eval()  # the program records eval-mode behaviour (dropout off, batch-norm stats)
    try:
        program = torch.export.export(module, traced, dynamic_shapes=dynamic)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise SaveError(
            f"torch.export could not export {type(module).__name__} "
            f"({type(e).__name__}: {first[:300]}). Models with data-dependent control flow "
            "(an `if` on a tensor's values, say) cannot be exported: save them with "
            "serialization_format='state_dict' (or 'pickle')"
        ) from e
    finally:
        module.train(was_training)
    torch.export.save(program, str(target))


def load_export(path: Path, rel_name: str, *, trust_code: bool) -> Any:
    """Load ``model.pt2`` (audited first unless trusted) and return its module."""
    from saveur_torch._pt2_audit import audit_pt2

    torch = import_torch()
    if not trust_code:
        audit_pt2(path, rel_name)
    try:
        program = torch.export.load(str(path))
    except Exception as e:
        raise PluginError(f"cannot load the exported program {rel_name!r}: "
                          f"{type(e).__name__}: {e}") from e
    # Without the compiled guard function the module checks its inputs with torch's
    # constraint checker instead (same shapes and ranges, no generated code), and a
    # pyfunc with a tensor signature can turn that check off: the signature already did it.
    try:
        return program.module(check_guards=False)
    except TypeError:  # a torch without the argument
        return program.module()


# --- state_dict ---------------------------------------------------------------------------


def class_reference(module: Any) -> str:
    """``package.module:QualName`` of the module's class, refused if it cannot be imported."""
    cls = type(module)
    mod, qual = cls.__module__, cls.__qualname__
    if mod == "__main__" or "<locals>" in qual:
        raise SaveError(
            f"serialization_format='state_dict' rebuilds {qual} from its class at load, but "
            f"the class is defined in {'a function' if '<locals>' in qual else '__main__'}: "
            "move it to an importable module (pass code_paths= if it is not installed)"
        )
    return f"{mod}:{qual}"


def check_init_kwargs(init_kwargs: object) -> dict[str, Any]:
    if init_kwargs is None:
        return {}
    if not isinstance(init_kwargs, dict) or not all(isinstance(k, str) for k in init_kwargs):
        raise SaveError("init_kwargs must be a dict of keyword arguments of the module's class")
    for key, value in init_kwargs.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise SaveError(
                f"init_kwargs[{key!r}] is a {type(value).__name__}, which MLmodel cannot hold: "
                "constructor arguments must be JSON values (numbers, strings, lists, dicts)"
            ) from None
    return dict(init_kwargs)


def save_state_dict(module: Any, data_dir: Path, init_kwargs: dict[str, Any]) -> str:
    """Write the weights as safetensors; returns the class reference. Checks it rebuilds."""
    from safetensors.torch import save_file

    import_torch()
    if is_exported_program(module):
        raise SaveError("an ExportedProgram can be saved only with serialization_format='export'")
    ref = class_reference(module)
    state = module.state_dict()
    seen: set[int] = set()
    tensors = {}
    for key, value in state.items():
        t = value.detach().to("cpu")
        ptr = t.untyped_storage().data_ptr()
        # safetensors refuses tensors that share memory (tied weights): store a copy of each;
        # the rebuilt module ties them again itself.
        if ptr in seen or not t.is_contiguous():
            t = t.clone().contiguous()
        seen.add(ptr)
        tensors[key] = t
    # Rebuild now, not at load: a missing constructor argument must fail the save.
    try:
        rebuilt = type(module)(**init_kwargs)
    except Exception as e:
        raise SaveError(
            f"serialization_format='state_dict' rebuilds {ref} as {type(module).__name__}"
            f"(**init_kwargs), which failed ({type(e).__name__}: {e}): pass the constructor's "
            "arguments as init_kwargs={...}"
        ) from e
    expected = {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()}
    actual = {k: tuple(v.shape) for k, v in tensors.items()}
    if expected != actual:
        diff = sorted(set(expected) ^ set(actual)) or sorted(
            k for k in actual if expected.get(k) != actual[k]
        )
        raise SaveError(
            f"{type(module).__name__}(**init_kwargs) does not rebuild the saved module: "
            f"tensor {diff[0]!r} differs; pass the constructor's arguments as init_kwargs"
        )
    del rebuilt
    save_file(tensors, str(data_dir / SAFETENSORS_FILE), metadata={"format": "pt"})
    return ref


def import_module_class(ref: object, model_dir: Path, *, trust_code: bool) -> type:
    """Import the class named by MLmodel; it must be a ``torch.nn.Module`` subclass.

    The model names the module, so the model could name its own file: a module that resolves
    inside the model directory needs ``trust_code`` (``code/`` is put on the path by the host
    only with trust). Importing an installed package's module is the environment's code.
    """
    torch = import_torch()
    if not isinstance(ref, str) or not _CLASS_REF.fullmatch(ref):
        raise MLmodelError(f"the 'pytorch' flavor's module_class {ref!r} is not 'package.module:Class'")
    module_name, _, qualname = ref.partition(":")
    top = module_name.split(".")[0]
    if module_name == "__main__" or "__main__" in module_name.split(".") or top in (
        sys.stdlib_module_names
    ):
        raise TrustError(
            f"module_class {ref!r} is refused: a module class must come from an installed "
            "package (not the standard library or a __main__ module)"
        )
    if not trust_code:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            spec = None
        origin = getattr(spec, "origin", None) or ""
        locations = [origin, *(getattr(spec, "submodule_search_locations", None) or [])]
        model_root = model_dir.resolve()
        for loc in locations:
            if loc and Path(loc).resolve().is_relative_to(model_root):
                raise TrustError(
                    f"module_class {ref!r} would import {top!r} from inside the model "
                    f"directory ({loc}): that is code the model carries; pass trust_code=True "
                    "only if you trust the model's source"
                )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise PluginError(
            f"module_class {ref!r}: cannot import {module_name!r} ({e}); install the package "
            "that defines the model's class, or save it with code_paths="
        ) from e
    except (Exception, SystemExit) as e:
        raise PluginError(
            f"module_class {ref!r}: importing {module_name!r} failed: {type(e).__name__}: {e}"
        ) from e
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not (isinstance(obj, type) and issubclass(obj, torch.nn.Module)):
        raise TrustError(f"module_class {ref!r} is refused: it is not a torch.nn.Module subclass")
    return obj


def load_state_dict(
    path: Path, rel_name: str, ref: object, init_kwargs: object, model_dir: Path,
    *, trust_code: bool,
) -> Any:
    """Rebuild the module from its class and load the safetensors weights into it."""
    from safetensors.torch import load_file

    if not isinstance(init_kwargs, dict):
        raise MLmodelError("the 'pytorch' flavor's init_kwargs must be a mapping")
    torch = import_torch()
    cls = import_module_class(ref, model_dir, trust_code=trust_code)
    try:
        state = load_file(str(path), device="cpu")
    except Exception as e:
        raise PluginError(f"{rel_name!r} is not a readable safetensors file: {e}") from e
    # Built on the meta device, the module allocates and initializes no weights (random
    # init of 100 MB costs more than reading them); the loaded tensors are then assigned.
    try:
        with torch.device("meta"):
            module = cls(**init_kwargs)
    except Exception:
        module = None
    if module is not None:
        module = _assign_weights(module, state, rel_name, ref)
    if module is None:  # a class that cannot live on meta (non-persistent buffers, say)
        try:
            module = cls(**init_kwargs)
        except Exception as e:
            raise PluginError(f"rebuilding {ref} with init_kwargs {init_kwargs!r} failed: "
                              f"{type(e).__name__}: {e}") from e
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise PluginError(f"the weights in {rel_name!r} do not fit {ref}: {e}") from e
    return module


def _assign_weights(module: Any, state: dict[str, Any], rel_name: str, ref: str) -> Any:
    """Assign ``state`` into a meta-device module, tying shared tensors again; None if unfit."""
    shared: dict[int, list[str]] = {}
    for name, tensor in [*module.named_parameters(remove_duplicate=False),
                         *module.named_buffers(remove_duplicate=False)]:
        shared.setdefault(id(tensor), []).append(name)
    try:
        module.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise PluginError(f"the weights in {rel_name!r} do not fit {ref}: {e}") from e
    for names in shared.values():
        if len(names) > 1:  # tied weights: one tensor again, as the class built them
            first = module.get_parameter(names[0]) if _is_param(module, names[0]) else (
                module.get_buffer(names[0]))
            for name in names[1:]:
                owner, _, attr = name.rpartition(".")
                setattr(module.get_submodule(owner), attr, first)
    if any(t.is_meta for t in [*module.parameters(), *module.buffers()]):
        return None
    return module


def _is_param(module: Any, name: str) -> bool:
    try:
        module.get_parameter(name)
    except AttributeError:
        return False
    return True


# --- pickle -------------------------------------------------------------------------------


def save_pickle(module: Any, data_dir: Path) -> None:
    torch = import_torch()
    if is_exported_program(module):
        raise SaveError("an ExportedProgram can be saved only with serialization_format='export'")
    (data_dir / PICKLE_INFO_FILE).write_text("pickle", encoding="utf-8")
    torch.save(module, str(data_dir / PTH_FILE))


def load_pickle(path: Path, rel_name: str, info_file: Path | None, *, trust_code: bool) -> Any:
    """``torch.load`` of a whole pickled module: code runs, so trust is required first."""
    from saveur.security import require_trust

    torch = import_torch()
    require_trust(trust_code, f"loading {rel_name!r} (a pickled PyTorch module)")
    if info_file is not None and info_file.is_file():
        name = info_file.read_text(encoding="utf-8").strip()
        if name not in _KNOWN_PICKLE_MODULES:
            raise MLmodelError(
                f"{PICKLE_INFO_FILE} names pickle module {name[:80]!r}; saveur-torch reads "
                f"{', '.join(sorted(_KNOWN_PICKLE_MODULES))}"
            )
    try:
        return torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as e:
        raise PluginError(f"cannot unpickle {rel_name!r}: {type(e).__name__}: {e}") from e
