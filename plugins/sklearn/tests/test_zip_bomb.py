"""A small skops file that declares a huge uncompressed size is refused without trust."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import saveur.pyfunc
import saveur_sklearn
from saveur.errors import IntegrityError


def _bomb(tmp_path):
    x = np.random.RandomState(0).rand(20, 3)
    model = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))
    path = tmp_path / "m"
    saveur_sklearn.save_model(model, path)
    skops_file = path / "model.skops"
    with zipfile.ZipFile(skops_file) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    npy = next(name for name in members if name.endswith(".npy"))
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(25_000_000))
    members[npy] = buffer.getvalue()
    with zipfile.ZipFile(skops_file, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    doc = yaml.safe_load((path / "MLmodel").read_text())
    del doc["saveur"]  # no digests, as a model from elsewhere
    (path / "MLmodel").write_text(yaml.safe_dump(doc))
    return path


def test_skops_zip_bomb_is_refused_without_trust(tmp_path):
    path = _bomb(tmp_path)
    with pytest.raises(IntegrityError, match="refused as a possible zip bomb"):
        saveur.pyfunc.load_model(path)


def test_ordinary_skops_model_is_far_below_the_limit(tmp_path):
    from saveur_sklearn._formats import _MAX_EXPANSION

    x = np.random.RandomState(0).rand(50, 4)
    model = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))
    saveur_sklearn.save_model(model, tmp_path / "m")
    data = (tmp_path / "m" / "model.skops").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        total = sum(i.file_size for i in zf.infolist())
    assert total < 2 * len(data) < _MAX_EXPANSION * len(data)
    assert saveur.pyfunc.load_model(tmp_path / "m").predict(x[:2]).shape == (2,)
