"""RFC 9457 problem details: the one place where errors become HTTP responses.

Every error a handler raises ends here: hopgraph's own errors (``core.errors``),
Litestar's HTTP exceptions (validation, 401, 403, 404, 405, 413, 415, 429) and
anything unexpected (500, logged with its traceback, never sent to the client).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from core import errors as e

log = logging.getLogger("hopgraph.api")
PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_S = 5

# most specific first: the first class the error is an instance of decides
_ERRORS: list[tuple[type[e.HopgraphError], int, str, str]] = [
    (e.UnsupportedFormatError, 415, "unsupported-media-type", "Unsupported media type"),
    (e.DocumentTooLargeError, 413, "content-too-large", "Content too large"),
    (e.InputError, 400, "invalid-input", "Invalid input"),
    (e.NotFoundError, 404, "not-found", "Not found"),
    (e.ConflictError, 409, "conflict", "Conflict"),
    (e.AccessDeniedError, 403, "forbidden", "Forbidden"),
    (e.OntologyError, 422, "invalid-ontology", "Invalid ontology"),
    (e.StoreUnavailableError, 503, "store-unavailable", "Store unavailable"),
    (e.StoreError, 500, "store-error", "Store error"),
    (e.ModelError, 500, "model-error", "Model error"),
    (e.ConfigError, 500, "configuration-error", "Configuration error"),
]
_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           409: "Conflict", 413: "Content too large", 415: "Unsupported media type", 422: "Unprocessable content",
           429: "Too many requests", 500: "Internal server error", 503: "Service unavailable"}
_SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
          409: "conflict", 413: "content-too-large", 415: "unsupported-media-type", 422: "validation-error",
          429: "too-many-requests", 500: "internal-error", 503: "unavailable"}
_AT = re.compile(r" - at `\$\.?(.*)`$")
_MISSING = re.compile(r"Missing required (\w+) parameter '([^']+)'")
_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def problem_type(slug: str) -> str:
    """The ``type`` URI of a problem."""
    return f"urn:hopgraph:problem:{slug}"


def problem(status: int, detail: str, slug: str | None = None, title: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> Response[dict[str, Any]]:
    """A problem-details response.

    Args:
        status: HTTP status.
        detail: what went wrong, for people.
        slug: the problem type's last part (default from the status).
        title: short summary (default from the status).
        headers: extra response headers.
        **extra: extension members (e.g. ``field``, ``invalid_params``).
    """
    body = {"type": problem_type(slug or _SLUGS.get(status, "error")), "title": title or _TITLES.get(status, "Error"),
            "status": status, "detail": detail, **extra}
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_body(exc: e.HopgraphError) -> dict[str, Any]:
    """The problem-details object of a hopgraph error (for an SSE ``error`` event)."""
    status, slug, title, detail = _classify(exc)
    return {"type": problem_type(slug), "title": title, "status": status, "detail": detail}


def _classify(exc: e.HopgraphError) -> tuple[int, str, str, str]:
    for cls, status, slug, title in _ERRORS:
        if isinstance(exc, cls):
            if status == 503:
                return status, slug, title, "a store is unavailable; retry later"
            if status >= 500:
                return status, slug, title, f"{title.lower()}; the server log has the details"
            return status, slug, title, str(exc)
    return 500, "internal-error", "Internal server error", "internal error; the server log has the details"


def hopgraph_error(request: Request[Any, Any, Any], exc: e.HopgraphError) -> Response[dict[str, Any]]:
    """Map a hopgraph error to its problem response."""
    status, slug, title, detail = _classify(exc)
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    extensions = getattr(exc, "problem_extensions", None) if status < 500 else None
    if isinstance(exc, e.InputError) and exc.field:
        extensions = {**(extensions or {}), "field": exc.field}
    return problem(status, detail, slug, title, headers, **(extensions or {}))


def _field_name(message: str, key: str) -> str:
    """The dotted path of the field a msgspec/Litestar validation message is about."""
    at = _AT.search(message)
    base = at.group(1) if at else ""
    if named := _FIELD.search(message):
        return f"{base}.{named.group(1)}" if base else named.group(1)
    if base:
        return base
    return "" if key in ("", "data") else key


def _invalid_params(extra: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        name = _field_name(message, str(item.get("key") or ""))
        source = item.get("source")  # a ParamType (query, path, header, cookie) or nothing for the body
        where = str(getattr(source, "value", source) or "body")
        out.append({"name": name, "reason": _AT.sub("", message), "in": where})
    return out


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Map Litestar's HTTP exceptions (validation, auth, routing, size, rate limits) to problems."""
    status = exc.status_code
    headers = dict(exc.headers or {})
    if isinstance(exc, ValidationException):
        params = _invalid_params(exc.extra)
        if params and params[0]["name"]:
            first = params[0]
            detail = f"invalid {first['in']} field {first['name']!r}: {first['reason']}"
            return problem(422, detail, "validation-error", headers=headers or None, field=first["name"],
                           invalid_params=params)
        if missing := _MISSING.search(str(exc.detail)):
            where, name = missing.groups()
            return problem(400, f"missing required {where} parameter {name!r}", "bad-request",
                           headers=headers or None, field=name,
                           invalid_params=[{"name": name, "reason": "required", "in": where}])
        return problem(400, str(exc.detail), "bad-request", headers=headers or None)
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="hopgraph"')
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.detail)
    return problem(status, str(exc.detail), headers=headers or None)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Anything unexpected: 500, logged with its traceback, nothing of it in the response."""
    log.error("%s %s failed unexpectedly", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal error; the server log has the details", "internal-error")


OPENAI_PATHS = ("/openai/", "/v1/chat/")


def _openai_aware(handler: Any) -> Any:
    """The handler, adding OpenAI's ``error`` object to the problem of a request to the OpenAI-compatible paths
    (its clients read ``error.message``; everyone else reads the problem)."""
    def handle(request: Request[Any, Any, Any], exc: Any) -> Response[dict[str, Any]]:
        response: Response[dict[str, Any]] = handler(request, exc)
        body = response.content
        if request.url.path.startswith(OPENAI_PATHS) and isinstance(body, dict):
            body["error"] = {"message": body.get("detail", ""), "type": str(body.get("type", "")).rsplit(":", 1)[-1],
                             "code": body.get("status")}
        return response
    return handle


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    e.HopgraphError: _openai_aware(hopgraph_error),
    HTTPException: _openai_aware(http_error),
    Exception: _openai_aware(unexpected_error),
}
