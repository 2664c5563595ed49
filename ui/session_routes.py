"""HTTP routes that keep the password sign-in's cookie out of the page's reach (HttpOnly).

Streamlit's script cannot set cookies (its runs talk over a websocket), so `serve.py` mounts these
routes with st.App. After a good password the page sends the browser to `/auth/session?code=…`: the
route exchanges the one-time code (a minute, once) for the session token, sets it as an HttpOnly,
SameSite=Strict cookie and sends the browser back to the page it came from. `/auth/signout` clears
the cookie after the page has revoked the session. Run as `streamlit run app.py` (no routes), the page
falls back to writing the cookie from a component (readable by the page's scripts).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.services import accounts, worker
from core.signin import SESSION_COOKIE, SESSION_DAYS

SESSION_PATH = "/auth/session"
SIGNOUT_PATH = "/auth/signout"
_mounted = False


def mark_mounted() -> None:
    """serve.py: these routes are served by this process, so the page may rely on them."""
    global _mounted
    _mounted = True


def mounted() -> bool:
    return _mounted


def local_path(target: str | None) -> str:
    """Where to send the browser back: a path on this site, else the app's root (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _back(request: Request) -> RedirectResponse:
    response = RedirectResponse(local_path(request.query_params.get("next")), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


async def session_route(request: Request) -> Response:
    """Exchange the one-time code for the session token, kept in an HttpOnly cookie."""
    engine = await run_in_threadpool(worker.open_app_database)
    token = await run_in_threadpool(accounts.exchange_handoff, engine, request.query_params.get("code"))
    response = _back(request)
    if token is not None:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_DAYS * 86400,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


async def signout_route(request: Request) -> Response:
    """Clear the cookie (the page revoked its session already; a revoked token signs nobody in)."""
    response = _back(request)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


ROUTES = [
    Route(SESSION_PATH, session_route, methods=["GET"]),
    Route(SIGNOUT_PATH, signout_route, methods=["GET"]),
]
