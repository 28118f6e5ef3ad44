"""The template passes the conformance kit: start your plugin's tests from this file."""

from __future__ import annotations

import numpy as np
import pytest

from saveur.testing import FlavorConformance


class TestPolynomialFlavor(FlavorConformance):
    @pytest.fixture
    def flavor_key(self):
        return "polynomial"

    @pytest.fixture
    def distribution(self):
        return "saveur-polynomial"

    @pytest.fixture
    def model(self):
        x = np.linspace(-1.0, 2.0, 50)
        return np.polynomial.Polynomial.fit(x, 3 * x**2 - x + 0.5, deg=2)

    @pytest.fixture
    def model_input(self):
        return np.array([-0.5, 0.0, 0.25, 1.0, 1.75])

    @pytest.fixture
    def native_predict(self):
        return lambda model, data: model(data)

    @pytest.fixture
    def framework_modules(self):
        # numpy itself cannot be blocked (saveur needs it); the part the plugin imports can.
        return ("numpy.polynomial",)


class TestChebyshevFlavor(TestPolynomialFlavor):
    @pytest.fixture
    def model(self):
        x = np.linspace(0.0, 4.0, 40)
        return np.polynomial.Chebyshev.fit(x, np.sin(x), deg=5)
