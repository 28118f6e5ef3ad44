"""A hostile .pt2 archive is refused without trust, and nothing in it runs.

Each test starts from a model saved by the plugin, rewrites one member of its archive the way
an attacker would (then reseals the digests, which live in the model directory and so are no
defence against its author), and checks the refusal names the member and that the marker file
the payload would create does not exist. Where it is cheap, the same archive is loaded with
``trust_code=True`` to show that torch really runs the payload, so a refusal is not vacuous.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_models import MLP, trained

import saveur
import saveur_torch
from saveur.errors import TrustError
from saveur.saving import reseal

PT2 = "data/model.pt2"


class _Marker:
    """Pickles to a call of open(path, 'w'): the payload creates a file when unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        import builtins

        return (builtins.open, (self.path, "w"))


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    path = tmp_path / "model"
    saveur_torch.save_model(trained(MLP(n_in=4, hidden=4)), path,
                            input_example=np.zeros((3, 4), dtype=np.float32))
    return path


def _rewrite(model_dir: Path, edit) -> None:
    """Rewrite the archive through ``edit({member: bytes}, prefix)`` and reseal the model."""
    archive = model_dir / PT2
    with zipfile.ZipFile(archive) as z:
        members = {name: z.read(name) for name in z.namelist()}
    prefix = next(iter(members)).split("/", 1)[0] + "/"
    edit(members, prefix)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    reseal(model_dir)


def _program(members: dict[str, bytes], prefix: str) -> dict:
    return json.loads(members[f"{prefix}models/model.json"])


def _set_program(members: dict[str, bytes], prefix: str, program: dict) -> None:
    members[f"{prefix}models/model.json"] = json.dumps(program).encode()


def _refused(model_dir: Path, member: str) -> None:
    with pytest.raises(TrustError, match=member):
        saveur.load_model(model_dir)
    with pytest.raises(TrustError, match=member):
        saveur.pyfunc.load_model(model_dir)


def test_the_plugins_own_archives_pass_the_audit(model_dir: Path) -> None:
    assert saveur_torch.load_model(model_dir) is not None


def test_a_pickled_weight_is_refused_and_does_not_run(model_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned-weight"

    def edit(members, prefix):
        config_name = f"{prefix}data/weights/model_weights_config.json"
        config = json.loads(members[config_name])
        first = next(iter(config["config"].values()))
        first["use_pickle"] = True
        members[f"{prefix}data/weights/{first['path_name']}"] = pickle.dumps(_Marker(marker))
        members[config_name] = json.dumps(config).encode()

    _rewrite(model_dir, edit)
    _refused(model_dir, "weight_0")
    assert not marker.exists()
    # torch.export.load really unpickles it: with trust the payload runs (and then fails).
    with pytest.raises(Exception):  # noqa: B017 - whatever torch makes of the open file
        saveur.load_model(model_dir, trust_code=True)
    assert marker.exists(), "the hostile archive is not hostile: the test proves nothing"


def test_a_pickle_in_the_sample_inputs_is_refused(model_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned-inputs"

    def edit(members, prefix):
        buffer = io.BytesIO()
        torch.save(_Marker(marker), buffer)  # a torch.save zip whose data.pkl calls open()
        members[f"{prefix}data/sample_inputs/model.pt"] = buffer.getvalue()

    _rewrite(model_dir, edit)
    _refused(model_dir, "sample_inputs")
    assert not marker.exists()


def test_code_in_a_symbolic_expression_is_refused(model_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned-sympy"
    payload = f"__import__('builtins').open({str(marker)!r}, 'w')"

    def edit(members, prefix):
        text = members[f"{prefix}models/model.json"].decode()
        symbol = "Symbol('s"
        start = text.index(symbol)
        end = text.index(")", start) + 1
        members[f"{prefix}models/model.json"] = text.replace(text[start:end], payload).encode()

    _rewrite(model_dir, edit)
    _refused(model_dir, "symbolic expression")
    assert not marker.exists()
    # torch parses the expression with sympy.sympify, an eval: with trust the payload runs.
    with pytest.raises(Exception):  # noqa: B017 - torch chokes on the file object afterwards
        saveur.load_model(model_dir, trust_code=True)
    assert marker.exists(), "the hostile archive is not hostile: the test proves nothing"


def test_code_in_guards_is_refused(model_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned-guard"

    def edit(members, prefix):
        program = _program(members, prefix)
        program["guards_code"] = [f"__import__('builtins').open({str(marker)!r}, 'w') is None"]
        _set_program(members, prefix, program)

    _rewrite(model_dir, edit)
    _refused(model_dir, "guard")
    assert not marker.exists()
    # torch compiles the guards into the module's input check (saveur asks for the module
    # without them, check_guards=False): torch's default module runs the payload.
    module = torch.export.load(str(model_dir / PT2)).module()
    try:
        module(torch.zeros(2, 4))
    except Exception:
        pass
    assert marker.exists(), "the hostile archive is not hostile: the test proves nothing"


@pytest.mark.parametrize("target", ["torch.os.system", "torch.ops.load_library",
                                    "torch.ops.import_module.x.y", "builtins.exec",
                                    "torch.ops.aten.__class__.__init__"])
def test_a_call_target_outside_torch_ops_is_refused(model_dir: Path, target: str) -> None:
    def edit(members, prefix):
        program = _program(members, prefix)
        program["graph_module"]["graph"]["nodes"][0]["target"] = target
        _set_program(members, prefix, program)

    _rewrite(model_dir, edit)
    _refused(model_dir, "calls target")


@pytest.mark.parametrize("member", ["data/aotinductor/model/model.so", "data/unknown.bin",
                                   "data/constants/opaque_obj_0"])
def test_members_torch_export_save_does_not_write_are_refused(
    model_dir: Path, member: str
) -> None:
    def edit(members, prefix):
        members[prefix + member] = b"\x7fELF not really"

    _rewrite(model_dir, edit)
    _refused(model_dir, member.rsplit("/", 1)[-1])


def test_a_custom_object_constant_is_refused(model_dir: Path) -> None:
    def edit(members, prefix):
        name = f"{prefix}data/constants/model_constants_config.json"
        config = {"config": {"obj": {"path_name": "custom_obj_0", "use_pickle": False}}}
        members[name] = json.dumps(config).encode()
        members[f"{prefix}data/constants/custom_obj_0"] = b"whatever"

    _rewrite(model_dir, edit)
    _refused(model_dir, "custom_obj_0")


def test_a_file_that_is_not_a_zip_is_refused(model_dir: Path) -> None:
    (model_dir / PT2).write_bytes(pickle.dumps({"not": "a zip"}))
    reseal(model_dir)
    _refused(model_dir, "model.pt2")


def test_an_archive_with_two_entries_of_one_name_is_refused(model_dir: Path) -> None:
    archive = model_dir / PT2
    with zipfile.ZipFile(archive) as z:
        name = next(n for n in z.namelist() if n.endswith("models/model.json"))
        original = z.read(name)
    with zipfile.ZipFile(archive, "a") as z, pytest.warns(UserWarning, match="Duplicate"):
        z.writestr(name, original)
    reseal(model_dir)
    _refused(model_dir, "appears twice")
