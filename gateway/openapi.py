"""OpenAPI 3 description built from the route table and the services' marshmallow schemas."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from services.marketing.schemas import PURPOSES

from gateway.http import API, ID_PATTERN, ROUTES

PATH_PARAM_RE = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
PATH_PARAMETERS = {"purpose": {"type": "string", "enum": list(PURPOSES)}}
ID_PARAMETER = {"type": "string", "format": "uuid", "pattern": f"^{ID_PATTERN}$"}
CURSOR = {"type": "string", "format": "cursor",
          "description": "`next_cursor` of the previous page (anything else: 400)"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")
DESCRIPTION = """JSON in and out. What this document says a request may contain is what the API accepts:
a `pattern` is enforced as written; a named `format` (`fi-hetu`, `fi-ytunnus`, `fi-ovt`, `iban`,
`phone`) adds what a pattern cannot check (checksums, dates, numbering plans) and answers 400
when it fails. Booleans are `true`/`false` and integers are JSON integers (in a query string:
`true`/`false` and digits); money is a decimal string. Text may not contain NUL characters or
unpaired surrogates (400). A PATCH changes only the fields it names. Rules between fields
(e.g. a driver account names its person) are given in an operation's summary and answered 400
with the field's message. Each operation lists every status it can answer."""
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "details"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
}


def _schema_name(schema):
    cls = schema if isinstance(schema, type) else type(schema)
    name = f"{cls.__module__.split('.')[1] if cls.__module__.startswith('services.') else 'shared'}.{cls.__name__}"
    return f"{name}.Patch" if getattr(schema, "partial", False) is True else name


def _field_document(self, field, **kwargs) -> dict:
    """What shared.schemas' validated fields publish: pattern, format, example."""
    return dict(getattr(field, "openapi", {}))


def _decimal_strings(self, field, **kwargs) -> dict:
    """Exact decimals travel as strings ("523.40"): a string with a pattern, not a number
    range (apispec would copy the Decimal bounds into string-typed minimum/maximum)."""
    if isinstance(field, fields.Decimal) and field.as_string:
        pattern = getattr(field, "pattern", r"^-?[0-9]+(\.[0-9]+)?$")
        return {"type": "string", "pattern": pattern, "minimum": None, "maximum": None}
    return {}


def build_spec() -> dict:
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(title="Secto customer & fleet platform", version="1.0.0", openapi_version="3.0.3",
                   plugins=[plugin], servers=[{"url": API}], info={"description": DESCRIPTION})
    plugin.converter.add_attribute_function(_decimal_strings)
    plugin.converter.add_attribute_function(_field_document)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Error", ERROR_SCHEMA)
    paths = {}
    for route in ROUTES:
        path = PATH_PARAM_RE.sub(r"{\1}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return _without_unset_bounds(spec.to_dict())


def _without_unset_bounds(node):
    if isinstance(node, dict):
        return {key: _without_unset_bounds(value) for key, value in node.items()
                if not (key in ("minimum", "maximum") and value is None)}
    if isinstance(node, list):
        return [_without_unset_bounds(item) for item in node]
    return node


def _operation(route) -> dict:
    operation = {"operationId": route.operation_id, "summary": route.summary, "tags": [route.tag],
                 "responses": _responses(route),
                 "parameters": [{"in": "path", "name": name, "required": True, "schema": _path_schema(name)}
                                for name in PATH_PARAM_RE.findall(route.path)]}
    if route.query is not None:
        operation["parameters"].append({"in": "query", "schema": route.query})
    if route.paginated:
        operation["parameters"] += [
            {"in": "query", "name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
            {"in": "query", "name": "cursor", "schema": CURSOR},
        ]
    if route.body is not None:
        body = route.body
        if route.method == "PATCH":  # every field optional: a PATCH changes what it names
            schema = body if isinstance(body, type) else type(body)
            if any(field.required for field in schema().fields.values()):
                body = schema(partial=True)
        operation["requestBody"] = {"required": True, "content": {ct: {"schema": body}
                                                                   for ct in route.content_types}}
    if route.auth:
        operation["security"] = [{"bearer": []}]
    if route.roles:
        operation["description"] = "Roles: " + ", ".join(route.roles)
    if route.rules:  # valid by the schema yet refused with 400: said here, and flagged for tools
        operation["description"] = " ".join(filter(None, [operation.get("description"), "Rules:", route.rules]))
        operation["x-field-rules"] = route.rules
    return operation


def _path_schema(name) -> dict:
    return ID_PARAMETER if name.endswith("_id") else PATH_PARAMETERS.get(name, {"type": "string"})


def _error_statuses(route) -> set[int]:
    """What this operation can answer besides success, from its declaration: 400 for input,
    401 without a valid token, 404 for a role or object outside the caller's scope, 409 for a
    write that conflicts, 413/415 for a body, 429 for everyone, 503 when a service it calls
    does not answer; plus what the route declares itself."""
    has_input = bool(route.body or route.query or route.paginated or PATH_PARAM_RE.search(route.path))
    statuses = {429, *route.statuses}
    if has_input:
        statuses.add(400)
    if route.auth:
        statuses |= {401, 404, 503}
        if route.method in WRITES:
            statuses.add(409)
    if PATH_PARAM_RE.search(route.path):
        statuses.add(404)
    if route.body is not None:
        statuses |= {413, 415}
    return statuses


def _responses(route) -> dict:
    error = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    body = {"description": "OK"}
    if route.response is not None:
        schema = route.response
        if route.paginated:
            schema = {"type": "object", "required": ["items", "next_cursor"],
                      "properties": {"items": {"type": "array", "items": schema},
                                     "next_cursor": {"type": "string", "nullable": True}}}
        body["content"] = {"application/json": {"schema": schema}}
    responses = {str(route.status): body}
    for status in sorted(_error_statuses(route)):
        responses[str(status)] = error
    return responses
