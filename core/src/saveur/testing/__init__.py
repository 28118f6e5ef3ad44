"""The flavor conformance kit: abstract pytest classes every saveur plugin's tests subclass.

Install with ``pip install saveur[testing]``, then in your plugin's tests::

    from saveur.testing import FlavorConformance

    class TestMyFlavor(FlavorConformance):
        @pytest.fixture
        def flavor_key(self): return "myflavor"
        @pytest.fixture
        def distribution(self): return "saveur-myflavor"
        @pytest.fixture
        def model(self): return train_a_small_model()
        @pytest.fixture
        def model_input(self): return some_input()

:class:`FlavorConformance` is the whole contract; its parts (:class:`DiscoveryTests`,
:class:`SaveTests`, :class:`LoadTests`, :class:`MlflowInteropTests`,
:class:`PortableFlavorTests`) can be used alone, each
together with :class:`FlavorFixtures`. ``docs/conformance-kit.md`` lists every check.
"""

from __future__ import annotations

from saveur.testing._discovery import REQUIRED_HOOKS, DiscoveryTests
from saveur.testing._fixtures import FlavorFixtures
from saveur.testing._helpers import (
    assert_predictions_equal,
    block_modules,
    call_hook,
    framework_modules_of,
    normalize_dist,
    read_requirements,
    requirement_name,
    to_comparable,
)
from saveur.testing._load import LoadTests
from saveur.testing._mlflow import MlflowInteropTests
from saveur.testing._portable import PortableFlavorTests
from saveur.testing._save import SaveTests

__all__ = [
    "REQUIRED_HOOKS",
    "DiscoveryTests",
    "FlavorConformance",
    "FlavorFixtures",
    "LoadTests",
    "MlflowInteropTests",
    "PortableFlavorTests",
    "SaveTests",
    "assert_predictions_equal",
    "block_modules",
    "call_hook",
    "framework_modules_of",
    "normalize_dist",
    "read_requirements",
    "requirement_name",
    "to_comparable",
]


class FlavorConformance(
    DiscoveryTests, SaveTests, LoadTests, MlflowInteropTests, PortableFlavorTests, FlavorFixtures
):
    """Every conformance check; subclass it as ``TestYourFlavor`` and provide the fixtures.

    The :class:`PortableFlavorTests` run only for a flavor that declares
    ``FlavorInfo.mlflow_loader_module``.
    """
