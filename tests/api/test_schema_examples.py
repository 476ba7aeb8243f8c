"""Every write in the OpenAPI schema carries a request example, every example is valid against
its operation's request schema (so examples cannot drift from the serializers), and a few
representative ones are accepted by the API itself."""

import copy
import json

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from msp.choices import UserRole
from tests.factories import (
    AssetFactory,
    ClientFactory,
    ContactFactory,
    SiteFactory,
    StaffFactory,
    TeamFactory,
)

WRITES = ("post", "put", "patch")


@pytest.fixture(scope="module")
def schema() -> dict:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


def _writes(schema: dict):
    """(method, path, operation, content) of each write with a request body."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if method in WRITES and content:
                yield method, path, operation, content


def _examples(content: dict):
    """(media type, name, value) of each request example of an operation."""
    for media_type, body in content.items():
        if "example" in body:
            yield media_type, "example", body["example"]
        for name, example in body.get("examples", {}).items():
            yield media_type, name, example["value"]


def _json_schema(node, components: dict):
    """OpenAPI 3.0's schema dialect as JSON Schema: `$ref`s into components resolved in place
    and `nullable: true` turned into "or null"."""
    if isinstance(node, list):
        return [_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        return _json_schema(copy.deepcopy(components[name]), components)
    converted = {key: _json_schema(value, components) for key, value in node.items()}
    if converted.pop("nullable", False):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_every_write_has_a_request_example(schema):
    missing = [
        f"{method.upper()} {path}"
        for method, path, _, content in _writes(schema)
        if not any(True for _ in _examples(content))
    ]
    assert not missing, "writes without a request example:\n" + "\n".join(missing)


def test_every_request_example_matches_its_schema(schema):
    components = schema["components"]["schemas"]
    checked, wrong = 0, []
    for method, path, _, content in _writes(schema):
        for media_type, name, value in _examples(content):
            if media_type != "application/json":
                # The one multipart body (a ticket's file upload) is a file, not JSON: its
                # example names the file and there is nothing to validate.
                continue
            body_schema = _json_schema(content[media_type]["schema"], components)
            validator = jsonschema.Draft7Validator(
                body_schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
            )
            errors = [
                f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
                for error in validator.iter_errors(value)
            ]
            if errors:
                wrong.append(f"{method.upper()} {path} example {name!r}: " + "; ".join(errors))
            checked += 1
    assert not wrong, "\n".join(wrong)
    assert checked >= 80


# Examples sent as they are, with only their ids swapped for the test's own rows: the API must
# accept each of them. One endpoint of each kind: the four alert intakes, opening a ticket,
# and creating a client, an asset, a contract and its service lines.


def _request_examples(schema: dict, method: str, path: str) -> dict:
    content = schema["paths"][path][method]["requestBody"]["content"]
    return {name: value for _, name, value in _examples(content)}


def _with_ids(value: dict, **ids) -> dict:
    return {name: ids.get(name, field) for name, field in value.items()}


@pytest.fixture
def acme(db):
    """Acme as the examples know it: slug, hosts and RMM ids (and Globex for Grafana's)."""
    acme = ClientFactory(name="Acme Manufacturing", slug="acme")
    globex = ClientFactory(name="Globex Logistics", slug="globex")
    AssetFactory(
        client=acme, name="ACME-FS01", hostname="acme-fs01.acme.local", rmm_id="rmm-acme-002"
    )
    AssetFactory(client=acme, name="ACME-APP02", hostname="acme-app02.acme.local")
    AssetFactory(client=acme, name="ACME-DC01", hostname="acme-dc01.acme.local")
    AssetFactory(client=globex, name="GLX-ESX01", hostname="glx-esx01")
    return acme


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/alerts/",
        "/api/v1/alerts/alertmanager/",
        "/api/v1/alerts/grafana/",
        "/api/v1/alerts/zabbix/",
    ],
)
def test_alert_examples_are_accepted_and_routed(schema, path, acme, rmm):
    examples = _request_examples(schema, "post", path)
    assert len(examples) >= 2
    for name, value in examples.items():  # firing first, then resolved: in declared order
        response = rmm.post(path, value, format="json")
        assert response.status_code == 202, (name, response.json())
        actions = {result["action"] for result in response.json()["results"]}
        assert actions and "unrouted" not in actions, (name, response.json())


@pytest.mark.django_db
def test_ticket_examples_are_accepted(schema, acme, technician, client_user_a, api_as, policy):
    contact = ContactFactory(client=acme)
    site = SiteFactory(client=acme)
    asset = AssetFactory(client=acme, site=site)
    team = TeamFactory()
    team.members.add(technician)
    ids = {
        "client": acme.pk,
        "contact": contact.pk,
        "site": site.pk,
        "asset": asset.pk,
        "team": team.pk,
        "assignee": technician.pk,
    }
    for name, value in _request_examples(schema, "post", "/api/v1/tickets/").items():
        if "client" in value:
            response = api_as(technician).post(
                "/api/v1/tickets/", _with_ids(value, **ids), format="json"
            )
        else:  # the client user's example: their own client, from their token
            response = api_as(client_user_a).post("/api/v1/tickets/", value, format="json")
        assert response.status_code == 201, (name, response.json())


@pytest.mark.django_db
def test_directory_and_contract_examples_are_accepted(schema, api_as, policy):
    admin = StaffFactory(role=UserRole.ADMIN)
    manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER)
    api = api_as(admin)

    (client_example,) = _request_examples(schema, "post", "/api/v1/clients/").values()
    response = api.post(
        "/api/v1/clients/", _with_ids(client_example, account_manager=manager.pk), format="json"
    )
    assert response.status_code == 201, response.json()
    client_id = response.json()["id"]

    site = SiteFactory(client_id=client_id)
    for name, value in _request_examples(schema, "post", "/api/v1/assets/").items():
        response = api.post(
            "/api/v1/assets/", _with_ids(value, client=client_id, site=site.pk), format="json"
        )
        assert response.status_code == 201, (name, response.json())

    (contract_example,) = _request_examples(schema, "post", "/api/v1/contracts/").values()
    response = api.post(
        "/api/v1/contracts/",
        _with_ids(contract_example, client=client_id, sla_policy=policy.pk),
        format="json",
    )
    assert response.status_code == 201, response.json()
    contract_id = response.json()["id"]

    for name, value in _request_examples(schema, "post", "/api/v1/service-lines/").items():
        response = api.post(
            "/api/v1/service-lines/", _with_ids(value, contract=contract_id), format="json"
        )
        assert response.status_code == 201, (name, response.json())
