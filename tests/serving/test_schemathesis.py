"""Property-based fuzzing of real servers, driven by their own /openapi.json (schemathesis).

For a column-signature and a tensor-signature scikit-learn model, every documented operation
gets requests that fit the document and requests that do not: no 5xx, and every response has
a documented status code, content type and body schema. (schemathesis' pytest plugin does not
run under pytest 9 yet, so the operations' Hypothesis strategies are driven directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
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
# Media types schemathesis cannot generate bodies for (it has no parquet serializer).
_SKIP_MEDIA = {"application/vnd.apache.parquet"}


def _fuzz(server, mode: GenerationMode, max_examples: int) -> list[str]:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if mode == GenerationMode.NEGATIVE and not (operation.body or operation.path_parameters):
            continue  # nothing to get wrong in a request without a body or parameters
        media_types = [None]
        if operation.body:
            media_types = [b.media_type for b in operation.body
                           if b.media_type not in _SKIP_MEDIA]
        for media_type in media_types:
            strategy = operation.as_strategy(generation_mode=mode, media_type=media_type)

            @settings(max_examples=max_examples, deadline=None, derandomize=True,
                      suppress_health_check=list(HealthCheck), database=None)
            @given(case=strategy)
            def check(case):
                case.call_and_validate(base_url=server.url, checks=CHECKS)

            try:
                check()
            except Exception as exc:  # collect every operation's failure, then report
                failures.append(f"{operation.label} [{media_type}]: {exc}")
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_column_model_server_conforms_to_its_document(column_server, mode):
    before = column_server.log.count("POST /invocations ")
    failures = _fuzz(column_server, mode, max_examples=30)
    assert not failures, "\n\n".join(failures)
    assert column_server.log.count("POST /invocations ") - before >= 30  # it did fuzz


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_tensor_model_server_conforms_to_its_document(tensor_server, mode):
    failures = _fuzz(tensor_server, mode, max_examples=30)
    assert not failures, "\n\n".join(failures)
