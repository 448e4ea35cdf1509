import base64
import hashlib
import mimetypes
from pathlib import Path

import swagger_ui_bundle
from werkzeug.wrappers import Response

from shared.errors import NotFound

from gateway.http import API, json_response, route
from gateway.openapi import build_spec

SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
DOCS_SCRIPT = f'SwaggerUIBundle({{url: "{API}/openapi.json", dom_id: "#swagger-ui"}});'
DOCS_PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Secto API</title>
<link rel="stylesheet" href="{API}/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{API}/docs/static/swagger-ui-bundle.js"></script>
<script>{DOCS_SCRIPT}</script>
</body></html>"""
# our own scripts and this one inline script only (by its hash); Swagger UI sets inline styles
DOCS_CSP = ("default-src 'none'; script-src 'self' 'sha256-%s'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            % base64.b64encode(hashlib.sha256(DOCS_SCRIPT.encode()).digest()).decode())


class DocsRoutes:
    @route("GET", "/openapi.json", summary="This API's OpenAPI description", tag="operations", auth=False)
    def openapi(self, request):
        return json_response(build_spec())

    @route("GET", "/docs", summary="Swagger UI", tag="operations", auth=False)
    def docs(self, request):
        return Response(DOCS_PAGE, mimetype="text/html", headers={"Content-Security-Policy": DOCS_CSP})

    @route("GET", "/docs/static/<string:filename>", summary="Swagger UI assets", tag="operations", auth=False,
           statuses=(404,))
    def docs_static(self, request, filename):
        path = (SWAGGER_DIR / filename).resolve()
        if path.parent != SWAGGER_DIR.resolve() or not path.is_file():
            raise NotFound()
        return Response(path.read_bytes(), mimetype=mimetypes.guess_type(path.name)[0] or "application/octet-stream")
