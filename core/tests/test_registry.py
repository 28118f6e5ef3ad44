"""Model registry: versions, aliases, tags, search, rename, delete, immutability, trust."""

from __future__ import annotations

import os
import stat

import pytest

import saveur.store as st
from saveur.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidURIError,
    MLmodelError,
    NotFoundError,
    StoreError,
    UnsafePathError,
)
from saveur.pyfunc import PythonModel


class AddN(PythonModel):
    def __init__(self, n: int = 1) -> None:
        self.n = n

    def predict(self, context, model_input, params=None):
        return [x + self.n for x in model_input]


@pytest.fixture
def logged(store):
    with st.start_run() as run:
        info = st.log_model(AddN(1), "model", flavor="python_function")
    return run, info


def _open(uri):
    from saveur.loading import open_model

    return open_model(uri)


# --- log_model -------------------------------------------------------------------------


def test_log_model_returns_model_info(logged) -> None:
    run, info = logged
    assert info.model_uri == f"runs:/{run.info.run_id}/model"
    assert info.run_id == run.info.run_id
    assert info.artifact_path == "model"
    assert "python_function" in info.flavors
    assert info.registered_model_version is None
    names = {f.path for f in st.list_artifacts(run.info.run_id, "model")}
    assert "model/MLmodel" in names


def test_logged_mlmodel_records_run_id_and_artifact_path(logged) -> None:
    run, info = logged
    opened = _open(info.model_uri)
    assert opened.mlmodel.run_id == run.info.run_id
    assert opened.mlmodel.artifact_path == "model"


def test_log_model_without_active_run_makes_a_finished_run(store) -> None:
    info = st.log_model(AddN(), "m", flavor="python_function")
    assert st.active_run() is None
    assert st.get_run(info.run_id).info.status == "FINISHED"


def test_log_model_failure_without_active_run_marks_it_failed(store) -> None:
    with pytest.raises(Exception, match="flavor"):
        st.log_model(AddN(), "m", flavor="no-such-flavor")
    (run,) = st.search_runs()
    assert run.info.status == "FAILED"
    assert st.list_artifacts(run.info.run_id) == []


def test_log_model_twice_under_one_name_is_refused(store) -> None:
    with st.start_run():
        st.log_model(AddN(), "m", flavor="python_function")
        with pytest.raises(AlreadyExistsError, match="already has an artifact 'm'"):
            st.log_model(AddN(), "m", flavor="python_function")


def test_log_model_bad_name_is_refused(store) -> None:
    with st.start_run(), pytest.raises(UnsafePathError, match="model name '../x'"):
        st.log_model(AddN(), "../x", flavor="python_function")


def test_log_model_registers(store) -> None:
    with st.start_run():
        info = st.log_model(AddN(), "m", flavor="python_function", registered_model_name="adder")
    assert info.registered_model_version == 1
    assert st.get_model_version("adder", 1).run_id == info.run_id


def test_log_model_staging_is_private(store, monkeypatch) -> None:
    from saveur import security

    seen = []
    real = security.private_tempdir

    def spy(*a, **k):
        path = real(*a, **k)
        seen.append(stat.S_IMODE(os.stat(path).st_mode))
        return path

    monkeypatch.setattr(security, "private_tempdir", spy)
    with st.start_run():
        st.log_model(AddN(), "m", flavor="python_function")
    assert seen == [0o700]


# --- register_model --------------------------------------------------------------------


def test_register_numbers_versions(logged) -> None:
    _, info = logged
    v1 = st.register_model(info.model_uri, "adder", tags={"k": "v"}, description="first")
    v2 = st.register_model(info.model_uri, "adder")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.tags == {"k": "v"} and v1.description == "first"
    assert v1.run_id == info.run_id and v1.source == info.model_uri
    assert v1.status == "READY" and len(v1.mlmodel_sha256) == 64
    assert st.get_latest_version("adder").version == 2
    assert st.get_registered_model("adder").latest_version == 2


def test_register_local_path_and_file_uri(store, tmp_path) -> None:
    import saveur

    saveur.save_model(AddN(), tmp_path / "local", flavor="python_function")
    assert st.register_model(str(tmp_path / "local"), "m").version == 1
    assert st.register_model(f"file://{tmp_path / 'local'}", "m").version == 2
    assert st.register_model("models:/m/1", "copy").version == 1


def test_register_refuses_non_models(store, tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(MLmodelError, match="no MLmodel file"):
        st.register_model(str(tmp_path / "empty"), "m")
    with st.start_run() as run:
        pass
    with pytest.raises(NotFoundError, match="has no model at 'nothing'"):
        st.register_model(f"runs:/{run.info.run_id}/nothing", "m")
    with pytest.raises(InvalidURIError, match="names no model path"):
        st.register_model(f"runs:/{run.info.run_id}", "m")
    with pytest.raises(InvalidURIError, match="may not contain '/'"):
        st.register_model(str(tmp_path), "a/b")


def test_register_refuses_a_tampered_source(store, tmp_path) -> None:
    import saveur

    saveur.save_model(AddN(), tmp_path / "m", flavor="python_function")
    (tmp_path / "m" / "requirements.txt").write_text("evil==1\n")
    with pytest.raises(IntegrityError, match="'requirements.txt' does not match the digest"):
        st.register_model(str(tmp_path / "m"), "m")
    with pytest.raises(NotFoundError):
        st.get_registered_model("m")
    assert not list((store / "artifacts" / "registry").glob("*/*"))


def test_register_refuses_escaping_symlink_in_source(store, tmp_path) -> None:
    import saveur

    saveur.save_model(AddN(), tmp_path / "m", flavor="python_function")
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", tmp_path / "m" / "extra")
    with pytest.raises(UnsafePathError, match="outside"):
        st.register_model(str(tmp_path / "m"), "m")


def test_version_is_an_immutable_copy(logged) -> None:
    run, info = logged
    version = st.register_model(info.model_uri, "adder")
    st.delete_run(run.info.run_id, permanent=True)
    opened = _open("models:/adder/1")
    assert opened.resolved.registered_name == "adder"
    assert opened.resolved.registered_version == "1"
    assert opened.resolved.mlmodel_sha256 == version.mlmodel_sha256
    assert str(opened.path).startswith(str(st.get_model_version("adder", 1).storage_location))


def test_models_uri_refuses_a_model_edited_after_registration(logged) -> None:
    _, info = logged
    version = st.register_model(info.model_uri, "adder")
    mlmodel = os.path.join(version.storage_location, "MLmodel")
    with open(mlmodel, "a") as f:
        f.write("\n# edited\n")
    with pytest.raises(IntegrityError, match="digest recorded at registration"):
        _open("models:/adder/1")


def test_models_uri_forms_resolve(logged) -> None:
    _, info = logged
    st.register_model(info.model_uri, "adder")
    st.register_model(info.model_uri, "adder")
    st.set_model_alias("adder", "champion", 1)
    assert _open("models:/adder@champion").resolved.registered_version == "1"
    assert _open("models:/adder/latest").resolved.registered_version == "2"
    assert _open("models:/adder/2").resolved.registered_version == "2"
    with pytest.raises(NotFoundError, match="has no version 9"):
        _open("models:/adder/9")
    with pytest.raises(NotFoundError, match="has no alias 'gone'"):
        _open("models:/adder@gone")
    with pytest.raises(NotFoundError, match="registered model 'nope' does not exist"):
        _open("models:/nope/1")


def test_end_to_end_predict_through_alias(logged) -> None:
    pytest.importorskip("saveur.enforce", reason="saveur.enforce (helper B) not present yet")
    import saveur

    _, info = logged
    st.register_model(info.model_uri, "adder")
    st.set_model_alias("adder", "champion", 1)
    model = saveur.pyfunc.load_model("models:/adder@champion", trust_code=True)
    assert list(model.predict([1, 2])) == [2, 3]


# --- aliases, tags, search, rename, delete -----------------------------------------------


def test_aliases_move_and_delete(logged) -> None:
    _, info = logged
    st.register_model(info.model_uri, "adder")
    st.register_model(info.model_uri, "adder")
    st.set_model_alias("adder", "champion", 1)
    st.set_model_alias("adder", "champion", "2")
    assert st.get_model_version_by_alias("adder", "champion").version == 2
    assert st.get_model_version("adder", 2).aliases == ("champion",)
    assert st.get_registered_model("adder").aliases == {"champion": 2}
    st.delete_model_alias("adder", "champion")
    with pytest.raises(NotFoundError, match="no alias 'champion'"):
        st.delete_model_alias("adder", "champion")
    with pytest.raises(NotFoundError, match="has no version 5"):
        st.set_model_alias("adder", "x", 5)
    with pytest.raises(InvalidURIError, match="reserved"):
        st.set_model_alias("adder", "latest", 1)


def test_tags_and_descriptions(logged) -> None:
    _, info = logged
    st.register_model(info.model_uri, "adder")
    st.set_model_version_tag("adder", 1, "validated", "yes")
    st.set_registered_model_tag("adder", "team", "ml")
    st.update_model_version("adder", 1, description="good")
    st.update_registered_model("adder", description="adds")
    assert st.get_model_version("adder", 1).tags == {"validated": "yes"}
    assert st.get_model_version("adder", 1).description == "good"
    assert st.get_registered_model("adder").tags == {"team": "ml"}
    assert st.get_registered_model("adder").description == "adds"
    st.delete_model_version_tag("adder", 1, "validated")
    st.delete_registered_model_tag("adder", "team")
    assert st.get_model_version("adder", 1).tags == {}
    with pytest.raises(NotFoundError, match="has no tag 'team'"):
        st.delete_registered_model_tag("adder", "team")


def test_create_registered_model(store) -> None:
    model = st.create_registered_model("empty", tags={"a": "b"}, description="d")
    assert model.latest_version is None and model.tags == {"a": "b"}
    with pytest.raises(AlreadyExistsError, match="'empty' already exists"):
        st.create_registered_model("empty")
    with pytest.raises(NotFoundError, match="has no versions"):
        st.get_latest_version("empty")


def test_search_registered_models_and_versions(logged) -> None:
    _, info = logged
    for name in ("iris-a", "iris-b", "wine"):
        st.register_model(info.model_uri, name)
    st.register_model(info.model_uri, "iris-a", tags={"stage": "prod"})
    st.set_registered_model_tag("wine", "team", "x")
    names = lambda models: [m.name for m in models]  # noqa: E731
    assert names(st.search_registered_models("name = 'wine'")) == ["wine"]
    assert names(st.search_registered_models("name LIKE 'iris%'")) == ["iris-a", "iris-b"]
    assert names(st.search_registered_models("tags.team = 'x'")) == ["wine"]
    assert names(st.search_registered_models("name ILIKE 'IRIS-%'")) == ["iris-a", "iris-b"]
    assert names(st.search_registered_models("name LIKE 'IRIS%'")) == []  # case-sensitive
    assert names(st.search_registered_models()) == ["iris-a", "iris-b", "wine"]
    found = st.search_model_versions("name = 'iris-a'")
    assert [(v.name, v.version) for v in found] == [("iris-a", 2), ("iris-a", 1)]
    assert [v.version for v in st.search_model_versions("tags.stage = 'prod'")] == [2]
    assert len(st.search_model_versions(f"run_id = '{info.run_id}'")) == 4
    assert len(st.search_model_versions("name IN ('wine', 'iris-b')")) == 2
    assert [v.version for v in st.search_model_versions("name = 'iris-a' AND version >= 2")] == [2]
    with pytest.raises(StoreError, match="cannot filter registered models on 'colour'"):
        st.search_registered_models("colour = 'x'")
    with pytest.raises(StoreError, match="cannot filter model versions on 'colour'"):
        st.search_model_versions("colour = 'x'")
    with pytest.raises(StoreError, match="invalid filter"):
        st.search_model_versions("name =")


def test_rename_keeps_versions(logged) -> None:
    _, info = logged
    st.register_model(info.model_uri, "old")
    st.set_model_alias("old", "champion", 1)
    st.register_model(info.model_uri, "taken")
    with pytest.raises(AlreadyExistsError, match="to 'taken': that name is already registered"):
        st.rename_registered_model("old", "taken")
    st.rename_registered_model("old", "new")
    assert st.get_model_version_by_alias("new", "champion").version == 1
    with pytest.raises(NotFoundError):
        st.get_registered_model("old")
    assert _open("models:/new@champion").resolved.registered_name == "new"


def test_delete_version_never_reuses_its_number(logged) -> None:
    _, info = logged
    st.register_model(info.model_uri, "adder")
    v2 = st.register_model(info.model_uri, "adder")
    st.set_model_alias("adder", "champion", 2)
    st.delete_model_version("adder", 2)
    assert not os.path.exists(v2.storage_location)
    with pytest.raises(NotFoundError, match="no alias 'champion'"):
        st.get_model_version_by_alias("adder", "champion")
    assert st.register_model(info.model_uri, "adder").version == 3


def test_delete_registered_model_removes_everything(logged) -> None:
    _, info = logged
    v1 = st.register_model(info.model_uri, "adder")
    st.set_registered_model_tag("adder", "t", "v")
    st.delete_registered_model("adder")
    assert st.search_registered_models() == []
    assert st.search_model_versions() == []
    assert not os.path.exists(v1.storage_location)
    with pytest.raises(NotFoundError):
        st.delete_registered_model("adder")
