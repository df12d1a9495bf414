"""``/api/docs``: Swagger UI for the OpenAPI document, from the files of the installed
``swagger-ui-bundle`` package (no CDN: the worker may have no internet, and a care-team
network should not load scripts from elsewhere)."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.app import Application

ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
          "favicon-32x32.png")  # fmt: skip
INIT_JS = b"""window.onload = function () {
  window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"});
};
"""
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vigilstream API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
<link rel="icon" href="/api/docs/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/swagger-ui-standalone-preset.js"></script>
<script src="/api/docs/init.js"></script></body></html>
"""
HEADERS = {"Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data:", "X-Content-Type-Options": "nosniff"}  # fmt: skip


def asset_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(swagger_ui_path)


def register(application: Application) -> None:
    app = application.faust
    files = {name: asset_dir() / name for name in ASSETS}

    @app.page("/api/docs")
    async def docs(web: Any, request: Any) -> Any:
        return web.html(PAGE, headers=dict(HEADERS))

    @app.page("/api/docs/{asset}")
    async def asset(web: Any, request: Any, asset: str) -> Any:
        if asset == "init.js":
            return web.bytes(INIT_JS, content_type="text/javascript", headers=dict(HEADERS))
        path = files.get(asset)  # only the named files: no path from the request is opened
        if path is None:
            from streams.api import error

            return error(web, 404, "no such file")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return web.bytes(path.read_bytes(), content_type=kind, headers=dict(HEADERS))
