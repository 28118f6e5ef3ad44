"""The whole store API on PostgreSQL (and SQLite, for comparison) through one fixture."""

from __future__ import annotations

import pytest

import saveur
import saveur.store as st
from saveur.errors import IntegrityError, NotFoundError
from saveur.pyfunc import PythonModel


class Double(PythonModel):
    def predict(self, context, model_input, params=None):
        return [2 * x for x in model_input]


def test_runs_on_both_databases(any_store, tmp_path) -> None:
    (tmp_path / "a.txt").write_text("a")
    with st.start_run(name="r", tags={"t": "1"}) as run:
        st.log_params({"lr": 0.5})
        st.log_metric("acc", 0.9, step=2)
        st.log_artifact(tmp_path / "a.txt", "files")
    got = st.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params == {"lr": "0.5"} and got.data.metrics == {"acc": 0.9}
    assert [r.info.run_id for r in st.search_runs("metrics.acc >= 0.9 AND tags.t = '1'")] == [
        run.info.run_id
    ]
    assert st.list_artifacts(run.info.run_id, "files") == [st.FileInfo("files/a.txt", False, 1)]


def test_registry_end_to_end_on_both_databases(any_store) -> None:
    with st.start_run():
        info = st.log_model(Double(), "model", flavor="python_function",
                            registered_model_name="doubler")
    assert info.registered_model_version == 1
    st.register_model(info.model_uri, "doubler", tags={"stage": "prod"})
    st.set_model_alias("doubler", "champion", 2)
    assert [v.version for v in st.search_model_versions("tags.stage = 'prod'")] == [2]
    assert [m.name for m in st.search_registered_models("name LIKE 'doub%'")] == ["doubler"]
    assert [m.name for m in st.search_registered_models("name LIKE 'DOUB%'")] == []
    st.rename_registered_model("doubler", "twice")
    from saveur.loading import open_model

    opened = open_model("models:/twice@champion")
    assert opened.resolved.registered_version == "2"
    st.delete_model_version("twice", 1)
    with pytest.raises(NotFoundError):
        st.get_model_version("twice", 1)
    st.delete_registered_model("twice")
    assert st.search_registered_models() == []


def test_tampered_version_refused_on_both_databases(any_store) -> None:
    with st.start_run():
        info = st.log_model(Double(), "model", flavor="python_function")
    version = st.register_model(info.model_uri, "d")
    with open(f"{version.storage_location}/MLmodel", "a") as f:
        f.write("# tamper\n")
    from saveur.loading import open_model

    with pytest.raises(IntegrityError, match="recorded at registration"):
        open_model("models:/d/1")


def test_predict_through_alias_on_both_databases(any_store) -> None:
    with st.start_run():
        info = saveur.pyfunc.log_model(Double(), "model", registered_model_name="dbl")
    st.set_model_alias("dbl", "champion", info.registered_model_version)
    model = saveur.pyfunc.load_model("models:/dbl@champion", trust_code=True)
    assert list(model.predict([1, 2])) == [2, 4]
