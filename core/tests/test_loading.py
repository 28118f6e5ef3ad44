from __future__ import annotations

import shutil

import pytest
import yaml

import saveur
import saveur.pyfunc
import saveur_echo
from saveur.errors import (
    FlavorNotFoundError,
    IntegrityError,
    InvalidURIError,
    MLmodelError,
    PluginError,
    TrustError,
    UnsafePathError,
)


@pytest.fixture
def saved(tmp_path, echo_model):
    saveur.save_model(echo_model, tmp_path / "m")
    return tmp_path / "m"


def test_native_load_returns_the_framework_object(saved):
    model = saveur.load_model(saved)
    assert isinstance(model, saveur_echo.EchoModel) and model.factor == 3.0


def test_pyfunc_load_predicts_through_the_plugin(saved):
    model = saveur.pyfunc.load_model(saved)
    assert model.predict(2.0) == 6.0
    assert model.predict(2.0, params={"offset": 1}) == 7.0
    assert isinstance(model.get_raw_model(), saveur_echo.EchoModel)
    assert model.metadata.flavors["echo"]["data"] == "echo.json"


@pytest.mark.parametrize("form", ["path", "str", "file_uri", "mlmodel_file"])
def test_local_uri_forms(saved, form):
    uri = {"path": saved, "str": str(saved), "file_uri": saved.as_uri(),
           "mlmodel_file": saved / "MLmodel"}[form]
    assert saveur.load_model(uri).factor == 3.0


def test_a_plugin_can_add_a_uri_scheme(saved):
    assert saveur.load_model(f"echo://{saved}").factor == 3.0


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("/does/not/exist", "the path does not exist"),
        ("s3x://bucket/m", "no resolver handles the URI scheme 's3x'"),
        ("file://remotehost/m", "names a remote host"),
    ],
)
def test_bad_uris_are_refused(uri, message):
    with pytest.raises(InvalidURIError, match=message):
        saveur.load_model(uri)


def test_tampered_file_is_refused(saved):
    (saved / "echo.json").write_text('{"factor": 100}')
    with pytest.raises(IntegrityError, match="'echo.json' does not match its recorded BLAKE3 digest"):
        saveur.pyfunc.load_model(saved)


def test_verify_false_skips_digest_check(saved):
    (saved / "echo.json").write_text('{"factor": 100}')
    assert saveur.load_model(saved, verify=False).factor == 100


def test_added_file_is_refused(saved):
    (saved / "extra.py").write_text("print('hi')")
    with pytest.raises(IntegrityError, match="'extra.py' is not recorded in MLmodel"):
        saveur.load_model(saved)


def test_reseal_accepts_a_deliberate_edit(saved):
    from saveur.saving import reseal

    (saved / "requirements.txt").write_text("saveur-echo==0.1.0\n")
    with pytest.raises(IntegrityError):
        saveur.load_model(saved)
    reseal(saved)
    assert saveur.load_model(saved).factor == 3.0


def test_model_without_digests_loads(saved):
    doc = yaml.safe_load((saved / "MLmodel").read_text())
    del doc["saveur"]
    (saved / "MLmodel").write_text(yaml.safe_dump(doc))
    assert saveur.load_model(saved).factor == 3.0


def _edit_mlmodel(path, edit):
    doc = yaml.safe_load((path / "MLmodel").read_text())
    edit(doc)
    del doc["saveur"]
    (path / "MLmodel").write_text(yaml.safe_dump(doc))


def test_data_path_escaping_the_model_is_refused(saved):
    _edit_mlmodel(saved, lambda d: d["flavors"]["echo"].update(data="../../etc/passwd"))
    with pytest.raises(UnsafePathError, match="contains '..'"):
        saveur.load_model(saved)


def test_mlflow_flavor_without_plugin_names_the_distribution(saved):
    def edit(doc):
        doc["flavors"] = {"fastai": {"data": "model.fastai"},
                          "python_function": {"loader_module": "mlflow.fastai"}}

    _edit_mlmodel(saved, edit)
    with pytest.raises(FlavorNotFoundError, match="pip install saveur-fastai"):
        saveur.pyfunc.load_model(saved)
    with pytest.raises(FlavorNotFoundError, match="pip install saveur-fastai"):
        saveur.load_model(saved)


def test_mlflow_python_model_says_it_needs_mlflow(saved):
    _edit_mlmodel(saved, lambda d: d.update(
        flavors={"python_function": {"loader_module": "mlflow.pyfunc.model",
                                     "python_model": "python_model.pkl"}}))
    with pytest.raises(PluginError, match="needs MLflow's own classes"):
        saveur.pyfunc.load_model(saved)


def test_custom_loader_module_needs_trust(saved, tmp_path, monkeypatch):
    (tmp_path / "my_loader.py").write_text(
        "class M:\n    def predict(self, data):\n        return data + 1\n"
        "def _load_pyfunc(path):\n    return M()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _edit_mlmodel(saved, lambda d: d.update(
        flavors={"python_function": {"loader_module": "my_loader"}}))
    with pytest.raises(TrustError, match="loader module 'my_loader'.*trust_code=True"):
        saveur.pyfunc.load_model(saved)
    assert saveur.pyfunc.load_model(saved, trust_code=True).predict(1) == 2


def test_code_paths_need_trust(tmp_path, echo_model):
    (tmp_path / "helper_mod_xyz.py").write_text("X = 1\n")
    saveur.save_model(echo_model, tmp_path / "m", code_paths=[tmp_path / "helper_mod_xyz.py"])
    with pytest.raises(TrustError, match="code directory 'code'"):
        saveur.pyfunc.load_model(tmp_path / "m")
    saveur.pyfunc.load_model(tmp_path / "m", trust_code=True)
    import sys

    assert str((tmp_path / "m" / "code").resolve()) in sys.path
    sys.path.remove(str((tmp_path / "m" / "code").resolve()))


def test_model_without_pyfunc_flavor_explains(saved):
    _edit_mlmodel(saved, lambda d: d["flavors"].pop("python_function"))
    with pytest.raises(MLmodelError, match="no python_function flavor"):
        saveur.pyfunc.load_model(saved)


def test_missing_mlmodel_is_reported(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MLmodelError, match="no MLmodel file"):
        saveur.load_model(tmp_path / "empty")


def test_copied_model_still_loads(saved, tmp_path):
    shutil.copytree(saved, tmp_path / "copy")
    assert saveur.load_model(tmp_path / "copy").factor == 3.0


def test_pyfunc_owner_names_the_plugin_or_none_for_a_custom_loader(host_plugins):
    from saveur.loading import native_flavor, pyfunc_owner
    from saveur.models import Model

    echo = Model(flavors={"echo": {}, "python_function": {"loader_module": "saveur_echo"}})
    assert pyfunc_owner(echo, host_plugins) == "echo"
    custom = Model(flavors={"python_function": {"loader_module": "my_loader"}})
    assert pyfunc_owner(custom, host_plugins) is None
    assert native_flavor(custom, host_plugins) is None


def test_both_loaders_share_one_setup(saved, monkeypatch):
    from saveur import loading

    seen = []
    real = loading.prepare_load

    def spy(model_uri, **kwargs):
        setup = real(model_uri, **kwargs)
        seen.append((setup.path, setup.context.trust_code, dict(setup.context.options)))
        return setup

    monkeypatch.setattr(loading, "prepare_load", spy)
    saveur.load_model(saved)
    saveur.pyfunc.load_model(saved)
    assert seen == [(saved.resolve(), False, {}), (saved.resolve(), False, {})]
