"""A user's own transformer, importable by name, for the trust tests."""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin


class AddOne(TransformerMixin, BaseEstimator):
    """Adds one to every value: a class saveur-sklearn does not vouch for."""

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return X + 1
