import mimetypes
from pathlib import Path

import swagger_ui_bundle
from werkzeug.wrappers import Response

from shared.errors import NotFound

from gateway.http import API, json_response, route
from gateway.openapi import build_spec

SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
DOCS_PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Secto API</title>
<link rel="stylesheet" href="{API}/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{API}/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "{API}/openapi.json", dom_id: "#swagger-ui"}});</script>
</body></html>"""


class DocsRoutes:
    @route("GET", "/openapi.json", summary="This API's OpenAPI description", tag="operations", auth=False)
    def openapi(self, request):
        return json_response(build_spec())

    @route("GET", "/docs", summary="Swagger UI", tag="operations", auth=False)
    def docs(self, request):
        return Response(DOCS_PAGE, mimetype="text/html")

    @route("GET", "/docs/static/<string:filename>", summary="Swagger UI assets", tag="operations", auth=False,
           statuses=(404,))
    def docs_static(self, request, filename):
        path = (SWAGGER_DIR / filename).resolve()
        if path.parent != SWAGGER_DIR.resolve() or not path.is_file():
            raise NotFound()
        return Response(path.read_bytes(), mimetype=mimetypes.guess_type(path.name)[0] or "application/octet-stream")
