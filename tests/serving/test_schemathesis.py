"""Property-based fuzzing of real servers, driven by their own /openapi.json (schemathesis).

For a column-signature and a tensor-signature scikit-learn model: no 5xx, and every response
has a documented status code, content type and body schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.fixture
def column_api(column_server):
    return schemathesis.openapi.from_url(column_server.url + "/openapi.json")


@pytest.fixture
def tensor_api(tensor_server):
    return schemathesis.openapi.from_url(tensor_server.url + "/openapi.json")


column_schema = schemathesis.pytest.from_fixture("column_api")
tensor_schema = schemathesis.pytest.from_fixture("tensor_api")


@column_schema.parametrize()
@FUZZ
def test_column_model_server_conforms_to_its_document(case, column_server):
    case.call_and_validate(base_url=column_server.url, checks=CHECKS)


@tensor_schema.parametrize()
@FUZZ
def test_tensor_model_server_conforms_to_its_document(case, tensor_server):
    case.call_and_validate(base_url=tensor_server.url, checks=CHECKS)
