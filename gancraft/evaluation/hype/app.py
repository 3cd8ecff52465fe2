"""The rater and owner web app (FastAPI): thin routes over :mod:`service`.

Routes (``TOKEN`` is a rater's token, ``OWNER`` the owner token):

* ``GET /r/TOKEN``                    the rater page
* ``GET /api/r/TOKEN/state``          progress, current trial, next trial to preload
* ``POST /api/r/TOKEN/answer``        save one answer, return the new state
* ``GET /api/r/TOKEN/image/ID``       an image of this rater's trials, by id
* ``GET /owner/OWNER``, ``GET /api/owner/OWNER``   the owner page and its data
* ``GET /static/NAME``                the page's own script and style (a fixed list)

An unknown or foreign token gets a plain 404 with no detail. Files are looked up
by id in the database; nothing a request says is ever joined to a path.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from gancraft.evaluation.hype import db, service
from gancraft.evaluation.hype.service import AnswerIn

STATIC_DIR = Path(__file__).parent / "static"
# the only static files served: name -> media type
STATIC_FILES = {
    "rater.js": "text/javascript",
    "owner.js": "text/javascript",
    "style.css": "text/css",
}
TOKEN_RE = r"^[A-Za-z0-9_-]{16,64}$"
IMAGE_ID_RE = r"^[0-9a-f]{16}$"
Token = Annotated[str, PathParam(pattern=TOKEN_RE, max_length=64)]
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
CSP = "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"


def _not_found() -> HTTPException:
    return HTTPException(status_code=404, detail="not found")


def create_app(study_dir: str | Path) -> FastAPI:
    """The app for one study directory."""
    study_dir = Path(study_dir).resolve()
    images_dir = (study_dir / db.IMAGES_DIR).resolve()
    with db.opened(study_dir) as con:
        settings = service.Settings.load(con)
        owner_token = service.owner_token(con)

    app = FastAPI(title=f"HYPE study {settings.name}", docs_url=None, redoc_url=None, openapi_url=None)

    def connection():
        con = db.connect(study_dir)
        try:
            yield con
        finally:
            con.close()

    def page(name: str) -> HTMLResponse:
        html = (STATIC_DIR / name).read_text(encoding="utf-8")
        return HTMLResponse(html, headers={**NO_STORE, "Content-Security-Policy": CSP})

    @app.exception_handler(service.NotFound)
    async def _nf(_request, _exc):
        return JSONResponse({"detail": "not found"}, status_code=404, headers=NO_STORE)

    @app.exception_handler(service.Conflict)
    async def _conflict(_request, exc):
        return JSONResponse({"detail": str(exc)}, status_code=409, headers=NO_STORE)

    @app.exception_handler(service.Invalid)
    async def _invalid(_request, exc):
        return JSONResponse({"detail": str(exc)}, status_code=422, headers=NO_STORE)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        # says nothing about the study: a link with a token is needed
        return HTMLResponse("<!doctype html><title>HYPE</title><p>Open the link you were sent.</p>", headers=NO_STORE)

    @app.get("/static/{name}")
    def static(name: str) -> FileResponse:
        if name not in STATIC_FILES:
            raise _not_found()
        return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"})

    @app.get("/r/{token}", response_class=HTMLResponse)
    def rater_page(token: Token, con=Depends(connection)) -> HTMLResponse:
        service.find_rater(con, token)
        return page("rater.html")

    @app.get("/api/r/{token}/state")
    def state(token: Token, con=Depends(connection)) -> JSONResponse:
        return JSONResponse(service.rater_state(con, token, settings), headers=NO_STORE)

    @app.post("/api/r/{token}/answer")
    def answer(body: AnswerIn, token: Token, con=Depends(connection)) -> JSONResponse:
        # committed inside submit_answer, before this response is sent
        return JSONResponse(service.submit_answer(con, token, body, settings), headers=NO_STORE)

    @app.get("/api/r/{token}/image/{image_id}")
    def image(
        token: Token,
        image_id: Annotated[str, PathParam(pattern=IMAGE_ID_RE)],
        con=Depends(connection),
    ) -> FileResponse:
        name = service.image_file(con, token, image_id)
        path = (images_dir / name).resolve()
        if path.parent != images_dir or not path.is_file():  # belt and braces: ids come from our own DB
            raise _not_found()
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    def check_owner(token: str) -> None:
        if not secrets.compare_digest(token.encode(), owner_token.encode()):
            raise _not_found()

    @app.get("/owner/{token}", response_class=HTMLResponse)
    def owner_page(token: Token) -> HTMLResponse:
        check_owner(token)
        return page("owner.html")

    @app.get("/api/owner/{token}")
    def owner_data(token: Token, con=Depends(connection)) -> JSONResponse:
        check_owner(token)
        return JSONResponse(_json_safe(service.owner_view(con, settings)), headers=NO_STORE)

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    # a malformed token or id must look exactly like an unknown one: 404, not 422
    @app.exception_handler(RequestValidationError)
    async def _validation(request, exc):
        if any(err.get("loc", [None])[0] == "path" for err in exc.errors()):
            return JSONResponse({"detail": "not found"}, status_code=404, headers=NO_STORE)
        return JSONResponse({"detail": "invalid answer"}, status_code=422, headers=NO_STORE)

    return app


def _json_safe(x):
    from gancraft.evaluation.hype.analysis import _clean

    return _clean(x)

