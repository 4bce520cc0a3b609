"""The service's OpenAPI 3.1 document: valid under openapi-spec-validator, with each decision's
facts schema; and a property-based API test generated from it (schemathesis) against a real
server process: no 5xx, no response outside its documented schema, every answer on a placement
route carrying `outcome`, and never an `allow` for facts the library finds invalid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from qpr_rules import Engine
from qpr_rules.errors import FactsError
from tests.service_server import Server, serving

ENGINE = Engine.from_bundled()
#: Generated requests per operation: ~60 operations, a few hundred requests in all.
EXAMPLES = 6
PLACEMENTS = {d for d in ENGINE.decision_ids if ENGINE.spec(d).decision.placement}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp=tmp_path_factory.mktemp("openapi")) as s:
        yield s


def test_the_document_is_valid_openapi_3_1_with_each_decisions_facts(server: Server) -> None:
    with server.client() as client:
        doc = client.get("/openapi.json").json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    for decision_id in ENGINE.decision_ids:
        body = doc["paths"][f"/v1/decisions/{decision_id}"]["post"]["requestBody"]["content"]
        ref = body["application/json"]["schema"]["$ref"]
        name = ref.rsplit("/", 1)[1]
        assert name == ENGINE.fact_model(decision_id).__name__
        assert set(doc["components"]["schemas"][name]["properties"]) == set(
            ENGINE.fact_model(decision_id).model_json_schema()["properties"])
    assert {"Decision", "Problem", "Explanation", "PartialDecision"} <= set(doc["components"]["schemas"])
    assert all(f"/v1/decisions/{d}/partial" in doc["paths"] for d in ENGINE.decision_ids)


@pytest.fixture(scope="module")
def api(server: Server) -> Any:
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """A batch body as schemathesis generates it (a string) sent as it is."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else json.dumps(value).encode()


def _invalid(decision_id: str, body: Any) -> bool:
    try:
        ENGINE.validate_facts(decision_id, body)
    except FactsError:
        return True
    return False


def _check(case: Any) -> None:
    response = case.call(timeout=30)
    # no 5xx; status, content type, headers and body as documented. Not "schema-valid data is
    # accepted": JSON Schema's integer takes 2.0, which the strict fact models refuse (as they
    # refuse what cross-field rules forbid), so schema-valid facts may rightly get a 422 answer
    # A batch answers each line, a bad line with its refusal, in a 200 stream: not "schema-violating
    # data is rejected" there either (the lines' answers are checked below and in test_service.py)
    excluded = [positive_data_acceptance]
    if case.operation.path.endswith("/batch"):
        excluded.append(negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded)
    assert response.status_code < 500, response.text
    path = case.operation.path
    decision_id = path.split("/")[3] if path.startswith("/v1/decisions/") else None
    if decision_id in PLACEMENTS and path.endswith("/batch") and response.status_code == 200:
        assert all(json.loads(line)["outcome"] != "allow" or json.loads(line)["status"] != "error"
                   for line in response.text.split("\n") if line)  # NDJSON: \n alone ends a line
    elif decision_id in PLACEMENTS and path.endswith("/partial"):
        body = response.json()
        assert "outcome" in body, body  # fail closed: an answer on every response
        if body["outcome"] == "allow":  # only when proved for every completion of what was sent
            assert body["status"] == "determined" and not body["errors"], body
            assert response.status_code == 200
    elif decision_id in PLACEMENTS and not path.endswith("/schema"):
        body = response.json()
        assert "outcome" in body, body  # fail closed: an answer on every response
        if body["outcome"] == "allow":
            sent = json.loads(json.dumps(case.body, default=str)) if case.body is not None else None
            assert not _invalid(decision_id, sent), (sent, body)
            assert response.status_code == 200 and body["status"] != "error"


def test_api_from_its_openapi_document(api: Any) -> None:
    """Every operation of the document, a few generated requests each (schemathesis's own
    strategies; its pytest plugin is not used, so the run does not depend on pytest internals)."""
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 4 + 5 * len(ENGINE.decision_ids)
    for operation in operations:
        if operation.path == "/v1/admin/reload":
            continue  # test_service_admin.py: it needs a token, and reloads the policies
        # schema-valid requests and, as many, requests that break the schema (wrong types,
        # missing fields, other content types): every one must be answered, and none allowed
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case: Any) -> None:
            _check(case)

        run()
