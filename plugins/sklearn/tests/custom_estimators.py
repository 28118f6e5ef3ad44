"""A user's own transformer, importable by name, for the trust tests."""

from __future__ import annotations

from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin


class AddOne(TransformerMixin, BaseEstimator):
    """Adds one to every value: a class saveur-sklearn does not vouch for."""

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return X + 1


class Boosted(ClassifierMixin, BaseEstimator):
    """Stands in for a third-party estimator built on scikit-learn's base (XGBClassifier)."""

    def fit(self, X, y=None):
        self.classes_ = [0, 1]
        return self

    def predict(self, X):
        return (X[:, 0] > 0).astype(int)
