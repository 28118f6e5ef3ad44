"""scikit-learn models against real MLflow 3: saved by one, loaded by the other, same predictions.

Run in the MLflow env (``/work/venvs/mlflow`` or the ``compat`` tox env) with saveur and
saveur-sklearn installed.
"""

from __future__ import annotations

import json
import logging
import warnings

import pytest

try:
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import infer_signature as mlflow_infer_signature
except ImportError as exc:  # pragma: no cover - depends on the env
    pytest.skip(
        f"MLflow is not importable here ({exc}); run in the compat env", allow_module_level=True
    )

import numpy as np
import pandas as pd

import saveur
import saveur.pyfunc
import saveur_sklearn
from saveur.errors import TrustError
from saveur.signature import infer_signature

pytestmark = pytest.mark.mlflow

FORMATS = ["skops", "pickle", "cloudpickle"]
PREDICT_FNS = ["predict", "predict_proba"]


@pytest.fixture(autouse=True)
def _quiet_mlflow():
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(300, 6), columns=[f"f{i}" for i in range(6)])
    y = ((X["f0"] + X["f1"] * X["f2"]) > 0).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def models(data):
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(*data),
        "forest": RandomForestClassifier(n_estimators=20, random_state=0).fit(*data),
        "boosting": GradientBoostingClassifier(n_estimators=10, random_state=0).fit(*data),
    }


def _mlflow_save(model, path, X, fmt, predict_fn):
    output = getattr(model, predict_fn)(X)
    trusted = ["sklearn.tree._tree.Tree"] if fmt == "skops" and hasattr(model, "estimators_") \
        else None
    mlflow.sklearn.save_model(
        model, str(path), serialization_format=fmt, pyfunc_predict_fn=predict_fn,
        signature=mlflow_infer_signature(X, output), skops_trusted_types=trusted,
        # MLflow's requirement inference runs a subprocess per save (seconds): not under test.
        pip_requirements=["scikit-learn"],
    )


# --- MLflow saves, saveur loads --------------------------------------------------------


@pytest.mark.parametrize("predict_fn", PREDICT_FNS)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["pipeline", "forest"])
def test_mlflow_saved_model_predicts_the_same_in_saveur(
    tmp_model_dir, data, models, monkeypatch, kind, fmt, predict_fn
):
    X, _ = data
    model = models[kind]
    _mlflow_save(model, tmp_model_dir, X, fmt, predict_fn)
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")  # MLflow's own gate
    expected = mlflow.pyfunc.load_model(str(tmp_model_dir)).predict(X)

    trust = fmt != "skops"
    got = saveur.pyfunc.load_model(tmp_model_dir, trust_code=trust).predict(X)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    native = saveur_sklearn.load_model(tmp_model_dir, trust_code=trust)
    np.testing.assert_array_equal(getattr(native, predict_fn)(X), getattr(model, predict_fn)(X))


def test_mlflow_saved_tree_model_needs_no_trusted_types_in_saveur(tmp_model_dir, data, models):
    X, _ = data
    _mlflow_save(models["boosting"], tmp_model_dir, X, "skops", "predict")
    native = saveur_sklearn.load_model(tmp_model_dir)
    np.testing.assert_array_equal(native.predict(X), models["boosting"].predict(X))


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_mlflow_saved_pickle_needs_trust_in_saveur(tmp_model_dir, data, models, fmt):
    X, _ = data
    _mlflow_save(models["pipeline"], tmp_model_dir, X, fmt, "predict")
    with pytest.raises(TrustError, match="'model.pkl'.*trust_code=True"):
        saveur.pyfunc.load_model(tmp_model_dir)


def test_mlflow_saved_model_is_checked_against_its_signature(tmp_model_dir, data, models):
    from saveur.errors import SchemaError

    X, _ = data
    _mlflow_save(models["pipeline"], tmp_model_dir, X, "skops", "predict")
    pyfunc_model = saveur.pyfunc.load_model(tmp_model_dir)
    with pytest.raises(SchemaError, match="f5"):
        pyfunc_model.predict(X.drop(columns=["f5"]))


# --- saveur saves, MLflow loads --------------------------------------------------------


@pytest.mark.parametrize("predict_fn", PREDICT_FNS)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["pipeline", "forest"])
def test_saveur_saved_model_predicts_the_same_in_mlflow(
    tmp_model_dir, data, models, monkeypatch, kind, fmt, predict_fn
):
    X, _ = data
    model = models[kind]
    output = getattr(model, predict_fn)(X)
    saveur_sklearn.save_model(model, tmp_model_dir, serialization_format=fmt,
                              pyfunc_predict_fn=predict_fn, signature=infer_signature(X, output))
    # Portable: MLflow's own mlflow.sklearn loads it, under MLflow's own rules.
    got = mlflow.pyfunc.load_model(str(tmp_model_dir)).predict(X)
    np.testing.assert_array_equal(np.asarray(got), output)
    ours = saveur.pyfunc.load_model(tmp_model_dir, trust_code=fmt != "skops").predict(X)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(got))


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_models_naming_saveur_sklearn_still_need_the_deployers_consent_in_mlflow(
    tmp_model_dir, data, models, monkeypatch, fmt
):
    # Models saved before saveur-sklearn became portable name its own loader module, which
    # checks digests and asks for SAVEUR_TRUST_CODE=1 before unpickling.
    from saveur.saving import reseal

    X, _ = data
    saveur_sklearn.save_model(models["pipeline"], tmp_model_dir, serialization_format=fmt)
    mlmodel = tmp_model_dir / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("loader_module: mlflow.sklearn",
                                                   "loader_module: saveur_sklearn"))
    reseal(tmp_model_dir)
    with pytest.raises(TrustError, match="SAVEUR_TRUST_CODE=1"):
        mlflow.pyfunc.load_model(str(tmp_model_dir))
    monkeypatch.setenv("SAVEUR_TRUST_CODE", "1")
    got = mlflow.pyfunc.load_model(str(tmp_model_dir)).predict(X)
    np.testing.assert_array_equal(got, models["pipeline"].predict(X))


@pytest.mark.parametrize("predict_fn", PREDICT_FNS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_saveur_writes_mlflows_own_python_function_block_and_env_files(
    tmp_path, data, models, fmt, predict_fn
):
    X, _ = data
    model = models["pipeline"]
    signature = infer_signature(X, getattr(model, predict_fn)(X))
    ml_dir, sv_dir = tmp_path / "mlflow", tmp_path / "saveur"
    mlflow.sklearn.save_model(model, str(ml_dir), serialization_format=fmt,
                              pyfunc_predict_fn=predict_fn,
                              signature=mlflow_infer_signature(X, getattr(model, predict_fn)(X)))
    saveur_sklearn.save_model(model, sv_dir, serialization_format=fmt,
                              pyfunc_predict_fn=predict_fn, signature=signature)
    theirs = mlflow.models.Model.load(str(ml_dir)).flavors
    ours = mlflow.models.Model.load(str(sv_dir)).flavors
    assert ours["python_function"] == theirs["python_function"]
    # skops_trusted_types: MLflow records what its caller passed (None here), saveur the
    # types the file needs, for MLflow's loader; everything else is the same.
    assert {k: v for k, v in ours["sklearn"].items() if k != "skops_trusted_types"} == \
        {k: v for k, v in theirs["sklearn"].items() if k != "skops_trusted_types"}
    assert sorted(p.name for p in sv_dir.iterdir()) == sorted(p.name for p in ml_dir.iterdir())
    assert (sv_dir / "python_env.yaml").read_bytes() == (ml_dir / "python_env.yaml").read_bytes()
    # requirements: MLflow pins itself and whatever its import scan saw (pandas, pytest...);
    # saveur names MLflow as a range and pins exactly what the model needs, as installed.
    mlflow_reqs = (ml_dir / "requirements.txt").read_text().splitlines()
    saveur_reqs = (sv_dir / "requirements.txt").read_text().splitlines()
    from saveur.portability import MLFLOW_REQUIREMENT

    assert saveur_reqs[0] == MLFLOW_REQUIREMENT and mlflow_reqs[0].startswith("mlflow==")
    assert set(saveur_reqs[1:]) <= set(mlflow_reqs), (saveur_reqs, mlflow_reqs)
    framework = {"skops": "skops", "pickle": None, "cloudpickle": "cloudpickle"}[fmt]
    for name in filter(None, ["scikit-learn", framework]):
        assert any(r.startswith(f"{name}==") for r in saveur_reqs), saveur_reqs
    assert not any(r.startswith("saveur") for r in saveur_reqs)


def test_saveur_tree_model_loads_in_mlflow_sklearn_with_recorded_trusted_types(
    tmp_model_dir, data, models, monkeypatch
):
    # MLflow's own flavor loader reads skops_trusted_types from MLmodel; saveur wrote them.
    X, _ = data
    saveur_sklearn.save_model(models["forest"], tmp_model_dir)
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    loaded = mlflow.sklearn.load_model(str(tmp_model_dir))
    np.testing.assert_array_equal(loaded.predict_proba(X), models["forest"].predict_proba(X))


def test_saveur_model_loads_in_a_fresh_mlflow_process(tmp_model_dir, data, models,
                                                      run_snippet_json):
    X, _ = data
    saveur_sklearn.save_model(models["forest"], tmp_model_dir,
                              signature=infer_signature(X, models["forest"].predict(X)))
    X.to_csv(tmp_model_dir.parent / "x.csv", index=False)
    got = run_snippet_json(f"""
        import json, mlflow.pyfunc, pandas as pd
        X = pd.read_csv({str(tmp_model_dir.parent / "x.csv")!r})
        print(json.dumps(mlflow.pyfunc.load_model({str(tmp_model_dir)!r}).predict(X).tolist()))
    """)
    assert got == models["forest"].predict(X).tolist()


def test_saveur_model_mlmodel_reads_in_mlflow(tmp_model_dir, data, models):
    X, _ = data
    saveur_sklearn.save_model(models["pipeline"], tmp_model_dir, input_example=X.head(3))
    info = mlflow.models.Model.load(str(tmp_model_dir))
    conf = info.flavors["sklearn"]
    assert conf["serialization_format"] == "skops"
    assert conf["pickled_model"] == "model.skops"
    assert info.flavors["python_function"]["loader_module"] == "mlflow.sklearn"
    assert json.loads(info.signature.to_dict()["inputs"])[0]["name"] == "f0"
