"""The OpenAPI 3.1 document of /api/v1, built from the operation table that registers the routes.

web/api.py describes every route once, as an ``Operation`` holding its handler; ``document``
turns that table and the pydantic models' JSON schemas into the published description, so
the document cannot list a route the app lacks or miss one it has.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from core.models import Role
from web.api_models import ErrorResponse

REF = "#/components/schemas/{model}"
BEARER = "bearer"
Mode = Literal["validation", "serialization"]
H = TypeVar("H", bound=Callable[..., Any])

ERRORS: dict[int, str] = {
    400: "Invalid input: malformed JSON, a missing or wrong field or parameter",
    401: "Not signed in, or the session expired",
    403: "The caller's role or the ticket's assignment does not allow this",
    404: "No such ticket or agent",
    409: "The ticket's lifecycle does not allow this now",
    413: "The request body is larger than allowed",
    415: "The request body is not application/json",
}


@dataclass(frozen=True, kw_only=True)
class Operation(Generic[H]):
    """One route of the API: its handler, where it is, what it takes and answers, who may call."""

    handler: H
    method: str
    path: str
    summary: str
    tag: str
    roles: tuple[Role, ...] | None = ()  # None: public; (): any signed-in agent
    path_params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None  # None: no body (204) or a free-form object
    status: int = 200
    errors: tuple[int, ...] = ()  # besides those its inputs and roles imply

    @property
    def name(self) -> str:
        return str(self.handler.__name__)

    @property
    def public(self) -> bool:
        return self.roles is None

    def error_statuses(self) -> list[int]:
        found = set(self.errors)
        if not self.public:
            found.add(401)
        if self.roles:
            found.add(403)
        if self.path_params or self.query or self.body:
            found.add(400)
        if self.body:
            found.update((413, 415))
        return sorted(found)


class _Schemas:
    """components/schemas, filled as operations refer to models."""

    def __init__(self) -> None:
        self.collected: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: Mode) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=REF, mode=mode)
        for name, nested in schema.pop("$defs", {}).items():
            self._add(name, nested)
        self._add(model.__name__, schema)
        return {"$ref": REF.format(model=model.__name__)}

    def _add(self, name: str, schema: dict[str, Any]) -> None:
        if self.collected.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are named {name}")


def document(operations: Sequence[Operation[Any]], version: str = "1") -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        methods = paths.setdefault(op.path, {})
        if op.method.lower() in methods:
            raise ValueError(f"{op.method} {op.path} is described twice")
        methods[op.method.lower()] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Otklik API",
            "version": version,
            "description": (
                "Tickets, messages and agents' actions. Sign in with POST /api/v1/session and "
                "send the token as Authorization: Bearer <token>. Every error answers "
                '{"error": {"status", "message"}}.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas.collected,
            "securitySchemes": {
                BEARER: {"type": "http", "scheme": "bearer", "description": "A session token"}
            },
        },
        "security": [{BEARER: []}],
        "tags": [{"name": tag} for tag in dict.fromkeys(op.tag for op in operations)],
    }


def _operation(op: Operation[Any], schemas: _Schemas) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.roles:
        described["description"] = f"Only for the role {' or '.join(op.roles)}."
    if op.public:
        described["security"] = []
    parameters = _path_parameters(op) + _parameters(op.query, "query")
    if parameters:
        described["parameters"] = parameters
    if op.body:
        described["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.ref(op.body, "validation")}},
        }
    described["responses"] = _responses(op, schemas)
    return described


def _responses(op: Operation[Any], schemas: _Schemas) -> dict[str, Any]:
    responses: dict[str, Any] = {str(op.status): _success(op, schemas)}
    error = {"application/json": {"schema": schemas.ref(ErrorResponse, "serialization")}}
    for status in op.error_statuses():
        responses[str(status)] = {"description": ERRORS.get(status, "Refused"), "content": error}
    return responses


def _success(op: Operation[Any], schemas: _Schemas) -> dict[str, Any]:
    if op.response is not None:
        schema = schemas.ref(op.response, "serialization")
    elif op.status == 204:
        return {"description": "Done"}
    else:
        schema = {"type": "object"}
    return {"description": op.summary, "content": {"application/json": {"schema": schema}}}


def _path_parameters(op: Operation[Any]) -> list[dict[str, Any]]:
    placeholders = re.findall(r"{(\w+)}", op.path)
    declared = list(op.path_params.model_fields) if op.path_params else []
    if sorted(placeholders) != sorted(declared):
        raise ValueError(f"{op.path}: placeholders {placeholders} but parameters {declared}")
    return _parameters(op.path_params, "path")


def _parameters(model: type[BaseModel] | None, where: str) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    if "$defs" in schema:
        raise ValueError(f"{model.__name__}: parameters must be plain values")
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema["properties"].items():
        field = {k: v for k, v in field.items() if k != "title"}
        parameter: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
        }
        if "description" in field:
            parameter["description"] = field.pop("description")
        parameters.append({**parameter, "schema": _without_null(field)})
    return parameters


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter is absent or has a value, never null: ``X | None`` is documented as X."""
    options = [o for o in schema.get("anyOf", ()) if o != {"type": "null"}]
    if len(options) != 1 or len(schema["anyOf"]) != 2:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**options[0], **rest}
