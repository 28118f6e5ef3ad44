"""Static requirement inference for custom Python code (ast only, never imported or run)."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import sys
import textwrap
from pathlib import Path

import pytest

from saveur import environment
from saveur.environment import infer_code_requirements
from saveur.errors import SaveError


def make_dist(site: Path, name: str, version: str, top_level: list[str] | None = None) -> None:
    info = site / f"{name.replace('-', '_')}-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if top_level is not None:
        (info / "top_level.txt").write_text("".join(f"{m}\n" for m in top_level))


@pytest.fixture(autouse=True)
def fresh_caches() -> None:
    environment._clear_caches()
    yield
    environment._clear_caches()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    environment._clear_caches()
    return path


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def pin(dist: str, name: str | None = None) -> str:
    return f"{name or dist}=={importlib.metadata.version(dist)}"


SKLEARN = pin("scikit-learn")
PYYAML = pin("PyYAML", "pyyaml")
NUMPY = pin("numpy")


def test_imports_map_to_pinned_distributions(tmp_path: Path) -> None:
    model = write(
        tmp_path / "model.py",
        """
        import numpy as np
        import yaml, sklearn.linear_model
        from sklearn.base import BaseEstimator
        """,
    )
    assert infer_code_requirements([model]) == sorted([NUMPY, PYYAML, SKLEARN])


def test_stdlib_and_future_imports_are_dropped(tmp_path: Path) -> None:
    model = write(
        tmp_path / "model.py",
        """
        from __future__ import annotations
        import os, json, collections.abc
        from typing import TYPE_CHECKING
        import __main__
        """,
    )
    assert infer_code_requirements([model]) == []


def test_relative_imports_are_ignored(tmp_path: Path) -> None:
    model = write(tmp_path / "pkg" / "model.py", "from . import yaml\nfrom .numpy import x\n")
    assert infer_code_requirements([model]) == []


def test_literal_dynamic_imports_are_counted(tmp_path: Path) -> None:
    model = write(
        tmp_path / "model.py",
        """
        import importlib
        from importlib import import_module
        importlib.import_module("sklearn.linear_model")
        mod = import_module("yaml")
        np = __import__("numpy")
        name = "pandas"
        importlib.import_module(name)           # not a literal: not inferred
        importlib.import_module(".sibling", "pkg")  # relative: not inferred
        """,
    )
    assert infer_code_requirements([model]) == sorted([NUMPY, PYYAML, SKLEARN])


def test_type_checking_imports_are_ignored_but_else_branch_counts(tmp_path: Path) -> None:
    model = write(
        tmp_path / "model.py",
        """
        import typing
        if typing.TYPE_CHECKING:
            import numpy
        else:
            import yaml
        if TYPE_CHECKING:
            import sklearn
        """,
    )
    assert infer_code_requirements([model]) == [PYYAML]


def test_nested_imports_in_functions_and_classes_count(tmp_path: Path) -> None:
    model = write(
        tmp_path / "model.py",
        """
        class M:
            def predict(self, context, model_input):
                try:
                    import sklearn
                except ImportError:
                    pass
                return [__import__("yaml") for _ in ()]
        """,
    )
    assert infer_code_requirements([model]) == sorted([PYYAML, SKLEARN])


def test_modules_of_the_code_paths_are_not_requirements(tmp_path: Path) -> None:
    model = write(
        tmp_path / "model.py",
        "import helpers\nimport mylib.sub\nimport yaml\nimport numpy\nimport shadow_pkg\n",
    )
    helpers = write(tmp_path / "helpers.py", "import sklearn\n")
    write(tmp_path / "code" / "mylib" / "__init__.py", "")
    write(tmp_path / "code" / "mylib" / "sub.py", "from mylib import other\n")
    write(tmp_path / "code" / "yaml.py", "# shadows the installed PyYAML\n")
    write(tmp_path / "shadow_pkg" / "__init__.py", "")
    result = infer_code_requirements([model, helpers, tmp_path / "code", tmp_path / "shadow_pkg"])
    assert result == sorted([NUMPY, SKLEARN])


def test_directories_are_scanned_recursively_skipping_caches_and_venvs(tmp_path: Path) -> None:
    root = tmp_path / "src"
    write(root / "a" / "b" / "deep.py", "import yaml\n")
    write(root / "__pycache__" / "junk.py", "import sklearn\n")
    write(root / ".hidden" / "junk.py", "import sklearn\n")
    write(root / "venv" / "pyvenv.cfg", "home = /usr\n")
    write(root / "venv" / "lib" / "junk.py", "import sklearn\n")
    write(root / "notes.txt", "import numpy\n")
    assert infer_code_requirements([root]) == [PYYAML]


def test_non_python_files_given_explicitly_are_ignored(tmp_path: Path) -> None:
    data = write(tmp_path / "weights.txt", "import numpy\n")
    assert infer_code_requirements([data]) == []


def test_missing_code_path_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.py"
    with pytest.raises(
        SaveError, match=rf"code path '{missing}' does not exist; pass existing files"
    ):
        infer_code_requirements([missing])


def test_syntax_error_is_a_warning_naming_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = write(tmp_path / "broken.py", "import numpy\ndef f(:\n")
    good = write(tmp_path / "good.py", "import yaml\n")
    with caplog.at_level(logging.WARNING, logger="saveur.environment"):
        assert infer_code_requirements([broken, good]) == [PYYAML]
    assert f"could not parse '{broken}' to infer its requirements (line 2:" in caplog.text
    assert "fix the file or pass pip_requirements" in caplog.text


def test_undecodable_file_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "latin.py"
    bad.write_bytes(b"# -*- coding: utf-8 -*-\nx = '\xff'\n")
    with caplog.at_level(logging.WARNING, logger="saveur.environment"):
        assert infer_code_requirements([bad]) == []
    assert f"'{bad}'" in caplog.text


def test_uninstalled_module_is_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = write(tmp_path / "model.py", "import no_such_module_saveur_test\nimport yaml\n")
    with caplog.at_level(logging.INFO, logger="saveur.environment"):
        assert infer_code_requirements([model]) == [PYYAML]
    assert (
        f"module 'no_such_module_saveur_test' imported by '{model}' is not provided by any "
        "installed distribution" in caplog.text
    )


def test_module_maps_to_its_distribution_through_metadata(site: Path, tmp_path: Path) -> None:
    make_dist(site, "Fake_Vision", "4.9.0+cu121", top_level=["fakecv"])
    model = write(tmp_path / "model.py", "import fakecv\n")
    assert infer_code_requirements([model]) == ["fake-vision==4.9.0"]


def test_module_provided_by_two_distributions_pins_both(site: Path, tmp_path: Path) -> None:
    make_dist(site, "fakens-a", "1.0", top_level=["fakens"])
    make_dist(site, "fakens-b", "2.0", top_level=["fakens"])
    model = write(tmp_path / "model.py", "import fakens.a\n")
    assert infer_code_requirements([model]) == ["fakens-a==1.0", "fakens-b==2.0"]


def test_editable_install_without_file_list_maps_by_name(site: Path, tmp_path: Path) -> None:
    make_dist(site, "fake-editable", "0.3.0")
    model = write(tmp_path / "model.py", "import fake_editable\n")
    assert infer_code_requirements([model]) == ["fake-editable==0.3.0"]


def test_saveur_itself_is_inferred_like_any_distribution(tmp_path: Path) -> None:
    model = write(tmp_path / "model.py", "from saveur.pyfunc import PythonModel\n")
    assert infer_code_requirements([model]) == [pin("saveur")]


def test_code_is_never_imported_or_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    model = write(
        tmp_path / "evil_model.py",
        f"""
        import yaml
        open({str(marker)!r}, "w").write("x")
        raise SystemExit(1)
        """,
    )
    assert infer_code_requirements([model]) == [PYYAML]
    assert not marker.exists()
    assert "evil_model" not in sys.modules


def test_second_scan_uses_the_cache_and_sees_edits(tmp_path: Path) -> None:
    model = write(tmp_path / "model.py", "import yaml\n")
    assert infer_code_requirements([model]) == [PYYAML]
    assert infer_code_requirements([model]) == [PYYAML]
    model.write_text("import yaml\nimport numpy\n")
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert infer_code_requirements([model]) == sorted([NUMPY, PYYAML])


def test_inferred_requirements_feed_resolve(tmp_path: Path) -> None:
    model = write(tmp_path / "model.py", "import yaml\nimport saveur\n")
    reqs = environment.resolve_requirements(infer_code_requirements([model]))
    assert reqs == [pin("saveur"), PYYAML]


def test_deep_expression_is_walked_without_recursion(tmp_path: Path) -> None:
    # 1500 chained additions parse, but a recursive walk of them exceeds Python's stack limit.
    terms = "+".join(["1"] * 1500)
    model = write(tmp_path / "model.py", f"import yaml\nx = {terms}\nimport numpy\n")
    assert infer_code_requirements([model]) == sorted([NUMPY, PYYAML])


def test_file_too_deep_for_the_parser_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    terms = "+".join(["1"] * 20000)
    model = write(tmp_path / "model.py", f"import yaml\nx = {terms}\n")
    with caplog.at_level(logging.WARNING, logger="saveur.environment"):
        assert infer_code_requirements([model]) == []
    assert f"could not parse '{model}' to infer its requirements (too deeply nested" in caplog.text


# --- source files of a pickled model's class ------------------------------------------------------
def test_object_source_paths_names_the_user_module_and_bases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "userbase_saveur_test.py", "import yaml\nclass Base:\n    pass\n")
    write(
        tmp_path / "usermodel_saveur_test.py",
        "import numpy\nfrom userbase_saveur_test import Base\nclass M(Base, dict):\n    pass\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("usermodel_saveur_test", "userbase_saveur_test"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import usermodel_saveur_test

    paths = environment.object_source_paths(usermodel_saveur_test.M())
    assert [p.name for p in paths] == ["usermodel_saveur_test.py", "userbase_saveur_test.py"]
    assert infer_code_requirements(paths) == sorted([NUMPY, PYYAML])


def _import_user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> object:
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    import importlib

    return importlib.import_module(names[0])


def test_object_requirements_skip_imports_of_unrelated_functions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "objreq_unrelated_saveur_test.py",
        """
        import os

        def benchmark():
            import yaml
            return yaml

        class M:
            def predict(self, x):
                return os.sep
        """,
    )
    module = _import_user_module(tmp_path, monkeypatch, "objreq_unrelated_saveur_test")
    obj = module.M()  # type: ignore[attr-defined]
    assert environment.infer_object_requirements(obj) == []
    # The whole-file scan (code paths, models from code) still counts it.
    assert infer_code_requirements(environment.object_source_paths(obj)) == [PYYAML]


def test_object_requirements_count_top_level_method_and_called_helper_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "objreq_counted_saveur_test.py",
        """
        try:
            import numpy
        except ImportError:
            numpy = None

        def featurize(x):
            import sklearn
            return x

        def unrelated():
            import pandas

        class Other:
            def f(self):
                import pandas

        class M:
            def predict(self, x):
                import yaml
                return featurize(x)
        """,
    )
    module = _import_user_module(tmp_path, monkeypatch, "objreq_counted_saveur_test")
    assert environment.infer_object_requirements(module.M()) == sorted(  # type: ignore[attr-defined]
        [NUMPY, PYYAML, SKLEARN]
    )


def test_object_requirements_count_a_base_class_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "objreq_base_saveur_test.py",
        """
        def unrelated():
            import numpy

        class Base:
            def load(self):
                import yaml
        """,
    )
    write(
        tmp_path / "objreq_model_saveur_test.py",
        """
        from objreq_base_saveur_test import Base

        def unrelated():
            import numpy

        class Helper:
            def f(self):
                import yaml

        class M(Base):
            pass
        """,
    )
    module = _import_user_module(
        tmp_path, monkeypatch, "objreq_model_saveur_test", "objreq_base_saveur_test"
    )
    assert environment.infer_object_requirements(module.M()) == [PYYAML]  # type: ignore[attr-defined]


def test_object_requirements_find_a_class_defined_in_a_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "objreq_nested_saveur_test.py",
        """
        def make():
            class M:
                def predict(self):
                    import yaml
            return M()

        def other():
            import numpy
        """,
    )
    module = _import_user_module(tmp_path, monkeypatch, "objreq_nested_saveur_test")
    assert environment.infer_object_requirements(module.make()) == [PYYAML]  # type: ignore[attr-defined]


def test_object_source_paths_skips_installed_and_builtin_classes() -> None:
    from sklearn.linear_model import LinearRegression

    assert environment.object_source_paths(LinearRegression()) == []
    assert environment.object_source_paths({"a": 1}) == []
    assert environment.object_source_paths(Path(".")) == []


def test_version_from_pkg_info_of_an_egg_info(site: Path) -> None:
    info = site / "fake_egg-1.0.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: fake-egg\nVersion: 0.9.1\n")
    assert environment.pin_requirement("fake-egg") == "fake-egg==0.9.1"


def test_metadata_without_version_counts_as_not_installed(site: Path) -> None:
    info = site / "fake_nover-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-nover\n")
    assert environment.pin_requirement("fake-nover") is None
