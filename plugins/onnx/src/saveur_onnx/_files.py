"""Reading and writing ``.onnx`` files, with their external-data sidecars kept contained.

An ONNX file may keep its tensors in other files (``external_data`` entries: ``location``,
``offset``, ``length``). ``location`` comes from the model file, so it is untrusted: onnx and
onnxruntime have had path-traversal bugs with it (``../../etc/passwd``, absolute paths,
symlinks). Every location is checked here, on the graph parsed *without* its external data,
before onnx or onnxruntime reads any of those files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.errors import IntegrityError, MissingDependencyError, SaveError

if TYPE_CHECKING:
    import onnx

#: The file names of a saved model, as MLflow 3 writes them (``mlflow.onnx``).
MODEL_FILE = "model.onnx"
#: The sidecar saveur writes tensors to; the torch dynamo exporter's ``<name>.onnx.data`` form.
DATA_FILE = MODEL_FILE + ".data"
#: Tensors smaller than this stay inside the graph file (onnx's own default threshold).
EXTERNAL_THRESHOLD = 1024


def import_onnx() -> Any:
    """Import onnx, or say what to install."""
    try:
        import onnx
    except ImportError as e:
        raise MissingDependencyError(
            f"the 'onnx' flavor needs the onnx package, which cannot be imported ({e}): "
            "pip install onnx onnxruntime"
        ) from e
    return onnx


def import_onnxruntime() -> Any:
    """Import onnxruntime, or say what to install."""
    try:
        import onnxruntime
    except ImportError as e:
        raise MissingDependencyError(
            f"the 'onnx' flavor predicts with onnxruntime, which cannot be imported ({e}): "
            "pip install onnxruntime"
        ) from e
    return onnxruntime


def _graph_tensors(graph: Any) -> Any:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        yield from _node_tensors(node)


def _node_tensors(node: Any) -> Any:
    for attr in node.attribute:
        if attr.HasField("t"):
            yield attr.t
        yield from attr.tensors
        if attr.HasField("g"):
            yield from _graph_tensors(attr.g)
        for sub in attr.graphs:
            yield from _graph_tensors(sub)


def _all_tensors(model: onnx.ModelProto) -> Any:
    """Every tensor of the model: initializers, attributes, subgraphs and functions."""
    yield from _graph_tensors(model.graph)
    for function in model.functions:
        for node in function.node:
            yield from _node_tensors(node)


def _external_tensors(model: onnx.ModelProto) -> list[Any]:
    """The tensors whose data lives in another file."""
    from onnx import TensorProto

    return [t for t in _all_tensors(model)
            if t.HasField("data_location") and t.data_location == TensorProto.EXTERNAL]


def external_locations(model: onnx.ModelProto) -> list[str]:
    """The ``location`` of every external tensor, in graph order, without duplicates."""
    seen: dict[str, None] = {}
    for tensor in _external_tensors(model):
        location = next((e.value for e in tensor.external_data if e.key == "location"), None)
        if location is None:
            raise IntegrityError(
                f"tensor {tensor.name!r} is stored externally but names no 'location'"
            )
        seen.setdefault(location, None)
    return list(seen)


def check_locations(model: onnx.ModelProto, model_file: Path, root: Path, what: str) -> bool:
    """Refuse external-data locations that leave ``root``; True if the model has any.

    Locations are relative to the directory of ``model_file``. Absolute paths, ``..``,
    backslashes, drive letters and symlinks that resolve outside ``root`` raise
    :class:`UnsafePathError`; a location that is missing or is not a regular file (a device,
    a FIFO, a directory) raises :class:`IntegrityError`. Nothing is read.
    """
    from pathlib import PurePosixPath

    from saveur.security import check_relative, contained_path

    root = root.resolve()
    base = PurePosixPath(model_file.resolve().parent.relative_to(root).as_posix())
    locations = external_locations(model)
    for location in locations:
        # The location itself first (absolute, drive letter, backslash, NUL, '..'), then
        # where it resolves, symlinks followed, from the model file's own directory.
        check_relative(location, f"{what} external data location")
        path = contained_path(root, (base / location).as_posix(),
                              f"{what} external data location")
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise IntegrityError(
                f"{what} names external data {location!r}, which is missing"
            ) from None
        if not stat.S_ISREG(mode):
            raise IntegrityError(
                f"{what} names external data {location!r}, which is not a regular file"
            )
    return bool(locations)


def read_graph(path: Path, what: str) -> onnx.ModelProto:
    """Parse an ONNX file without its external data (nothing else is opened)."""
    onnx = import_onnx()
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf's DecodeError and friends
        raise IntegrityError(
            f"{what} is not a valid ONNX file ({type(e).__name__}: {e})"
        ) from e


def load_checked(path: Path, root: Path, what: str) -> onnx.ModelProto:
    """Load an ONNX file and its external data, after checking every location."""
    model = read_graph(path, what)  # imports onnx, or says what to install
    if check_locations(model, path, root, what):
        from onnx.external_data_helper import load_external_data_for_model

        try:
            load_external_data_for_model(model, str(path.resolve().parent))
        except Exception as e:
            raise IntegrityError(
                f"{what}: its external data cannot be read ({type(e).__name__}: {e})"
            ) from e
    return model


def check_model(model: onnx.ModelProto, what: str) -> None:
    """Run ``onnx.checker`` (full check for models under 2 GB), as a :class:`SaveError`."""
    onnx = import_onnx()
    try:
        if model.ByteSize() < 2**31 - 1:
            onnx.checker.check_model(model, full_check=True)
        else:  # protobuf cannot serialize it in one piece: check the structure only
            onnx.checker.check_model(model)
    except Exception as e:  # onnx.checker.ValidationError, shape inference errors
        raise SaveError(
            f"{what} fails onnx.checker ({type(e).__name__}: {e}); fix the graph before saving"
        ) from e


def source_model(obj: object, what: str) -> onnx.ModelProto:
    """A ``ModelProto`` (external data loaded) from a ``ModelProto`` or a ``.onnx`` path."""
    onnx = import_onnx()
    if isinstance(obj, (str, os.PathLike)):
        path = Path(obj).expanduser()
        if not path.is_file():
            raise SaveError(f"ONNX file {str(obj)!r} does not exist or is not a file")
        # A file from the caller: its sidecars must still sit beside it, not anywhere.
        return load_checked(path, path.resolve().parent, f"ONNX file {path.name!r}")
    if not isinstance(obj, onnx.ModelProto):
        raise SaveError(
            f"the 'onnx' flavor saves an onnx.ModelProto or a path to a .onnx file, "
            f"got {type(obj).__name__}"
        )
    unloaded = [t.name for t in _external_tensors(obj)]
    if unloaded:
        raise SaveError(
            f"{what} refers to external data it has not loaded (tensor {unloaded[0]!r}): "
            "load it with onnx.load(path) (external data included) or pass the .onnx path"
        )
    return obj


def write_model(model: onnx.ModelProto, model_dir: Path, external: bool) -> tuple[str, ...]:
    """Write ``model.onnx`` (and ``model.onnx.data`` when tensors go outside it)."""
    onnx = import_onnx()
    target = model_dir / MODEL_FILE
    # Over 2 GB protobuf cannot hold the graph in one message: the sidecar is mandatory.
    external = external or model.ByteSize() >= 2**31 - 1
    if external:
        # Work on a copy: converting to external data rewrites the caller's ModelProto.
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        onnx.save_model(copy, str(target), save_as_external_data=True,
                        all_tensors_to_one_file=True, location=DATA_FILE,
                        size_threshold=EXTERNAL_THRESHOLD)
    else:
        onnx.save_model(model, str(target))
    return (MODEL_FILE, DATA_FILE) if (model_dir / DATA_FILE).exists() else (MODEL_FILE,)
