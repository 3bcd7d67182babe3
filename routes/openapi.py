"""HTTP route serving the app's OpenAPI 3.1 document, `routes/openapi.json`, at GET /api/openapi.json.

The document is a checked-in file next to this module (so it ships with the app: `.funcignore`
leaves `docs/` out of a deployment) and is served byte for byte; `tests/api/` checks that it is a
valid OpenAPI 3.1 document, that it lists exactly the app's routes, and that the live app honours it.
"""

from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
_document: bytes | None = None


def _read_document() -> bytes:
    """The document's bytes, read once per worker process (it never changes while the app runs)."""
    global _document
    if _document is None:
        _document = DOCUMENT_PATH.read_bytes()
    return _document


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI document of every HTTP route of the app."""
    return func.HttpResponse(_read_document(), status_code=200, mimetype="application/json")
