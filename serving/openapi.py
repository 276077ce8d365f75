"""The OpenAPI document (``/docs.json``): BentoML's, plus what the service's own middlewares answer.

BentoML 1.4 builds the document in ``Service.openapi_spec`` and offers no hook to extend it (its spec classes
model neither security schemes nor operation security). :class:`DocumentedService`, passed to
``bentoml.service(service_class=...)``, overrides that property; the document it returns serves (and, for
``bentoml build``, dumps to YAML) BentoML's dictionary completed by :func:`document`:

- ``info.version`` is the package's version (BentoML writes "None" when serving from source), and
  ``info.description`` says what the service does (in place of BentoML's own README, whose badges are images
  on other sites and whose contact is BentoML's team);
- every POST route (the API) lists 415 (:class:`serving.errors.JsonBodyMiddleware`) and 503 (not ready, or
  scoring at another date unavailable), with the service's ``{"error": ...}`` schema;
- when ``CSAT_API_TOKEN`` is set, a bearer scheme is declared, and every route but the health probes requires
  it and lists 401 (:class:`serving.security.TokenMiddleware`, which reads the same variable).
"""

from __future__ import annotations

import copy
import functools
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

import attrs
import bentoml
import yaml  # type: ignore[import-untyped]  # PyYAML, a dependency of BentoML (no stubs here)
from bentoml._internal.service.openapi.specification import OpenAPISpecification

from serving.security import OPEN_PATHS, configured_token

T = TypeVar("T")
#: The distribution whose version the document states (``[project] name`` in pyproject.toml).
PACKAGE = "csat-collab"
SCHEME = "bearerAuth"
_SCHEMAS = "#/components/schemas/"
#: Status -> (schema name, what it means for the caller).
ERRORS = {
    401: ("Unauthorized", "missing or invalid bearer token: send `Authorization: Bearer <CSAT_API_TOKEN>`"),
    415: ("UnsupportedMediaType", "the request body is not JSON: send `Content-Type: application/json`"),
    503: (
        "ServiceUnavailable",
        "the service is not ready, or scoring at another date is not available now: the error says what is"
        " missing and what to run; `Retry-After` is sent only when waiting helps",
    ),
}
DESCRIPTION = (
    "Satisfaction and churn risk per account, with the reasons in business words.\n\n"
    "- The account-risk page for CS managers: `/ui/`.\n"
    "- Health: `/livez` (the process runs), `/readyz` (models and store loaded); metrics: `/metrics`.\n"
    '- Every error body is `{"error": "..."}`, saying what is wrong and where.\n'
)
RETRY_AFTER = {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}


@functools.cache
def package_version() -> str | None:
    """The installed package's version, or ``None`` (a bento carries the sources, not the distribution)."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return None


def document(spec: dict[str, Any], token_required: bool) -> dict[str, Any]:
    """BentoML's OpenAPI dictionary with the version, the error answers and the token requirement.

    Args:
        spec: the dictionary BentoML serves (left unchanged).
        token_required: whether the routes need the bearer token (``CSAT_API_TOKEN`` is set).

    Returns:
        A completed copy.

    """
    out = copy.deepcopy(spec)
    out["info"]["version"] = package_version() or out["info"].get("version", "unknown")
    out["info"]["description"] = DESCRIPTION
    out["info"].pop("contact", None)
    components = out.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, meaning in ERRORS.values():
        schemas[name] = _error_schema(name, meaning)
    if token_required:
        components["securitySchemes"] = {SCHEME: {"type": "http", "scheme": "bearer"}}
    for path, item in out["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _complete(operation, method, token_required and path not in OPEN_PATHS)
    return out


def _complete(operation: dict[str, Any], method: str, token_required: bool) -> None:
    """Add the middlewares' answers (and the token requirement) to one operation."""
    statuses = ([415, 503] if method == "post" else []) + ([401] if token_required else [])
    for status in statuses:
        operation["responses"][status] = _error_response(status)  # int keys, as BentoML writes its own
    if token_required:
        operation["security"] = [{SCHEME: []}]


def _error_schema(name: str, meaning: str) -> dict[str, Any]:
    """The service's error body, ``{"error": ...}``, as BentoML declares its own error schemas."""
    message = {"type": "string", "title": "Message"}
    return {"type": "object", "title": name, "description": meaning, "required": ["error"],
            "properties": {"error": message}}  # fmt: skip


def _error_response(status: int) -> dict[str, Any]:
    """One documented error answer, its body referring to the schema of :data:`ERRORS`."""
    name, meaning = ERRORS[status]
    answer: dict[str, Any] = {
        "description": meaning,
        "content": {"application/json": {"schema": {"$ref": _SCHEMAS + name}}},
    }
    if status == 503:
        answer["headers"] = {"Retry-After": RETRY_AFTER}
    return answer


class DocumentedSpec(OpenAPISpecification):
    """BentoML's specification object; its dictionary is completed by :func:`document`."""

    def asdict(self) -> dict[str, Any]:
        """The served (and, by ``bentoml build``, dumped) document."""
        return document(super().asdict(), token_required=configured_token() is not None)


def _dump(dumper: yaml.Dumper, spec: DocumentedSpec) -> yaml.Node:
    return dumper.represent_dict(spec.asdict())


# BentoML registers its YAML form for its own class only; `bentoml build` dumps the spec into the bento.
yaml.add_representer(DocumentedSpec, _dump)


class DocumentedService(bentoml.Service[T]):
    """A BentoML service whose OpenAPI document says what the service's middlewares answer."""

    @property
    def openapi_spec(self) -> OpenAPISpecification:
        """BentoML's specification, as a :class:`DocumentedSpec`."""
        spec = super().openapi_spec
        return DocumentedSpec(**attrs.asdict(spec, recurse=False))
