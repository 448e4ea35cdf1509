"""OpenAPI 3 description built from the route table and the services' marshmallow schemas."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from gateway.http import API, ROUTES

PATH_PARAM_RE = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "details"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
}


def _schema_name(schema):
    cls = schema if isinstance(schema, type) else type(schema)
    return f"{cls.__module__.split('.')[1] if cls.__module__.startswith('services.') else 'shared'}.{cls.__name__}"


def _decimal_strings(self, field, **kwargs) -> dict:
    """Exact decimals travel as strings ("523.40"): a string with a pattern, not a number
    range (apispec would copy the Decimal bounds into string-typed minimum/maximum)."""
    if isinstance(field, fields.Decimal) and field.as_string:
        return {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "minimum": None, "maximum": None}
    return {}


def build_spec() -> dict:
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(title="Secto customer & fleet platform", version="1.0.0", openapi_version="3.0.3",
                   plugins=[plugin], servers=[{"url": API}])
    plugin.converter.add_attribute_function(_decimal_strings)
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
                 "parameters": [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                                for name in PATH_PARAM_RE.findall(route.path)]}
    if route.query is not None:
        operation["parameters"].append({"in": "query", "schema": route.query})
    if route.paginated:
        operation["parameters"] += [
            {"in": "query", "name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
            {"in": "query", "name": "cursor", "schema": {"type": "string"}},
        ]
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {ct: {"schema": route.body}
                                                                   for ct in route.content_types}}
    if route.auth:
        operation["security"] = [{"bearer": []}]
    if route.roles:
        operation["description"] = "Roles: " + ", ".join(route.roles)
    return operation


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
    responses = {str(route.status): body, "400": error, "404": error, "409": error, "413": error, "415": error,
                 "429": error}
    if route.auth:
        responses["401"] = error
    responses["503"] = error
    return responses
