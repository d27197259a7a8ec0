"""The per-launch secret that every request must carry: a cookie for the page, a header for programs.

Like Jupyter's token: made at each launch, handed to the window in its URL (`?token=…`), kept by the page
as an HttpOnly, SameSite=Strict cookie, and sent by programs as `Authorization: Bearer <secret>`.
"""

from __future__ import annotations

import hmac
import html
import secrets
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlencode

TOKEN_PARAM = "token"


def make_secret() -> str:
    """A new secret for this launch (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def url_with_token(url: str, secret: str) -> str:
    """The address that opens the app with its secret (as it is when there is none: an older chatdesk)."""
    return f"{url}?{urlencode({TOKEN_PARAM: secret})}" if secret else url


def cookie_name(port: int) -> str:
    """The page's cookie: browsers share cookies across ports, so each port has its own name."""
    return f"chatdesk-{port}"


def _same(given: str, secret: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), secret.encode())


def bearer_ok(headers: Mapping[str, str], secret: str) -> bool:
    """Whether an `Authorization: Bearer <secret>` header came with the request (case-insensitive keys)."""
    scheme, _, given = headers.get("authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer" and _same(given.strip(), secret)


def cookie_ok(headers: Mapping[str, str], secret: str, port: int) -> bool:
    """Whether the page's cookie came with the request."""
    try:
        jar = SimpleCookie(headers.get("cookie", ""))
    except CookieError:
        return False
    morsel = jar.get(cookie_name(port))
    return morsel is not None and _same(morsel.value, secret)


def token_ok(query: str, secret: str) -> bool:
    """Whether the query string's `token` holds the secret."""
    given = [value for name, value in parse_qsl(query, keep_blank_values=True) if name == TOKEN_PARAM]
    return any(_same(value, secret) for value in given)


def address_without_token(path: str, query: str) -> str:
    """The same page without the token in its address, and always on the app (never `//elsewhere`)."""
    rest = urlencode([pair for pair in parse_qsl(query, keep_blank_values=True) if pair[0] != TOKEN_PARAM])
    return "/" + path.lstrip("/\\") + (f"?{rest}" if rest else "")


def set_cookie_header(secret: str, port: int) -> str:
    """The Set-Cookie value that lets the page in from now on (ends with the browser session)."""
    return f"{cookie_name(port)}={secret}; Path=/; HttpOnly; SameSite=Strict"


def login_page(target: str) -> str:
    """A page that moves on to `target` (the address without the token) once the cookie is set.

    Not an HTTP redirect: after a navigation from another site (the loading page is a file), Chromium
    withholds SameSite=Strict cookies from every request of the redirect chain. A refresh from this page
    comes from the app's own origin, so the cookie goes with it.
    """
    address = html.escape(target, quote=True)
    return (f'<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
            f'<meta http-equiv="refresh" content="0;url={address}"><title>chatdesk</title></head>'
            f'<body><a href="{address}">Open chatdesk</a></body></html>')
