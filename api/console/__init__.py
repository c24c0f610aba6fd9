"""The console: pages for marketers and reviewers, a thin client of the same ``/v1`` API.

The server renders page shells and keeps the sign-in: a key is entered once, checked, and
the signed session cookie then names the key by id (never the key itself) with a CSRF token.
Everything a page shows or changes goes through ``/v1`` from the page's JavaScript, with the
cookie and the token in ``X-CSRF-Token`` (see ``api/auth.py``): no second path into the engine.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from api.services import Services, services
from engine.ledger.keys import authenticate
from engine.ledger.secrets import shared_secret

bp = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)
PAGES = {  # path → (template, title, roles that may use it; the API still decides)
    "programmes": ("programmes.html", "Programmes", ("pos", "marketer", "reviewer")),
    "edit": ("edit.html", "Edit and validate", ("marketer",)),
    "try": ("try.html", "Try it", ("pos", "marketer")),
    "members": ("members.html", "Members", ("pos", "marketer")),
    "review": ("review.html", "Review", ("reviewer",)),
    "campaigns": ("campaigns.html", "Campaigns", ("marketer",)),
}
# Our pages load only our own files; Swagger UI styles its elements inline.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'{inline}; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def init_app(app: Flask, state: Services) -> None:
    """Sign sessions with a secret every worker shares; strict, HttpOnly cookies."""
    settings = state.settings
    app.secret_key = settings.secret_key or shared_secret(state.database, "console-session")
    app.config.update(
        SESSION_COOKIE_NAME="loyalty_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_minutes),
    )
    app.register_blueprint(bp)


@bp.after_request
def _headers(response: Response) -> Response:
    inline = " 'unsafe-inline'" if request.path.startswith("/docs") else ""
    response.headers["Content-Security-Policy"] = CSP.format(inline=inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"  # pages carry the CSRF token
    return response


@bp.get("/")
def home() -> BaseResponse:
    if _signed_in():
        return redirect(url_for("console.page", name="programmes"))
    return redirect(url_for("console.sign_in"))


@bp.get("/sign-in")
def sign_in() -> str:
    return render_template("sign_in.html", csrf=_csrf(), error=None)


@bp.post("/sign-in")
def sign_in_with_key() -> BaseResponse | tuple[str, int]:
    if not _form_token_matches():
        error = "The sign-in form had expired. Please enter the key again."
        return render_template("sign_in.html", csrf=_csrf(), error=error), 403
    presented = request.form.get("key", "").strip()
    key = authenticate(services().database, presented) if presented else None
    if key is None:
        error = "That key is not valid (unknown, mistyped or revoked)."
        return render_template("sign_in.html", csrf=_csrf(), error=error), 401
    session.clear()  # a fresh session (and token) on every sign-in: no fixation
    session.permanent = True
    session.update(key_id=key.id, role=key.role, label=key.label, csrf=secrets.token_urlsafe(32))
    return redirect(url_for("console.page", name="programmes"))


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    if _signed_in() and not _form_token_matches():
        abort(403, "the form's CSRF token is missing or stale: reload the page and try again")
    session.clear()
    return redirect(url_for("console.sign_in"))


@bp.get("/<any(programmes, edit, try, members, review, campaigns):name>")
def page(name: str) -> BaseResponse | str:
    if not _signed_in():
        return redirect(url_for("console.sign_in"))
    template, title, _roles = PAGES[name]
    return render_template(template, **_context(name, title))


@bp.get("/docs")
def docs() -> str:
    """Swagger UI on /openapi.json; signed in, "Try it out" calls with the session."""
    return render_template("docs.html", **_context("docs", "API explorer"))


@bp.get("/docs/assets/<path:filename>")
def docs_assets(filename: str) -> Response:
    return send_from_directory(_swagger_ui_folder(), filename, max_age=3600)


def _context(name: str, title: str) -> dict[str, Any]:
    role = session.get("role") if _signed_in() else None
    visible = [
        (path, page_title)
        for path, (_template, page_title, roles) in PAGES.items()
        if role == "admin" or role in roles
    ]
    return {
        "page": name,
        "title": title,
        "role": role,
        "label": session.get("label"),
        "csrf": session.get("csrf", "") if role else "",
        "pages": visible,
    }


def _signed_in() -> bool:
    return isinstance(session.get("key_id"), str) and isinstance(session.get("csrf"), str)


def _csrf() -> str:
    """The session's token, created for a visitor before sign-in (the sign-in form uses it)."""
    if not isinstance(session.get("csrf"), str):
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def _form_token_matches() -> bool:
    expected, presented = session.get("csrf"), request.form.get("csrf", "")
    return (
        isinstance(expected, str) and bool(presented) and hmac.compare_digest(expected, presented)
    )


def _swagger_ui_folder() -> Path:
    import swagger_ui  # swagger-ui-py ships Swagger UI's built assets (Apache-2.0)

    return Path(swagger_ui.__file__).with_name("static")
