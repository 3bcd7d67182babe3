"""HTTP route serving the app's OpenAPI 3.1 document, `routes/openapi.json`, at GET /api/openapi.json.

The document is a checked-in file next to this module (so it ships with the app: `.funcignore`
leaves `docs/` out of a deployment) and is served byte for byte; `tests/api/` checks that it is a
valid OpenAPI 3.1 document, that it lists exactly the app's routes, and that the live app honours it.

The document is also the one list of the fields each request body may carry: `unknown_fields`
names every other field, and the routes reject a body with any (400, one detail per field).
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from routes.responses import field_error

bp = df.Blueprint()

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
MAX_LISTED = 20


@cache
def _read_document() -> bytes:
    """The document's bytes, read once per worker process (it never changes while the app runs)."""
    return DOCUMENT_PATH.read_bytes()


@cache
def request_fields(schema_name: str) -> frozenset[str]:
    """The property names a request schema of the document declares (it lists each one explicitly)."""
    schemas: dict[str, Any] = json.loads(_read_document())["components"]["schemas"]
    return frozenset(schemas[schema_name]["properties"])


def unknown_fields(schema_name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """One error detail for each field of `body` that schema `schema_name` does not declare."""
    known = request_fields(schema_name)
    unknown = [str(name) for name in body if name not in known]
    details = [field_error(name[:100], "is not a field of this request", sorted(known))
               for name in unknown[:MAX_LISTED]]
    if len(unknown) > MAX_LISTED:
        details.append(field_error("(body)", f"{len(unknown) - MAX_LISTED} more unknown fields"))
    return details


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI document of every HTTP route of the app."""
    return func.HttpResponse(_read_document(), status_code=200, mimetype="application/json")
