"""The server's security rules, as pure functions over header values (no web framework here).

The server holds evidence, so every rule fails closed:

- a per-launch secret (``secrets.token_urlsafe``) given once in the printed URL, swapped for an
  HttpOnly, SameSite=Strict cookie; compared in constant time; never logged;
- a Host allowlist against DNS rebinding (a page on ``evil.example`` resolving to 127.0.0.1
  sends ``Host: evil.example``);
- writes need a JSON body, a custom header (which a cross-site form cannot send and a
  cross-site script cannot send without a CORS preflight that is never granted), and, when the
  browser says where the request comes from, ``Sec-Fetch-Site: same-origin`` and our Origin;
- a strict Content-Security-Policy and no referrer, so nothing leaves the page.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from typing import Mapping

#: Host header values accepted on a loopback bind.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")

#: The header a write must carry (any value); forms cannot set headers.
WRITE_HEADER = "x-archive-request"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; media-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'")

#: Headers on every response.
HEADERS: Mapping[str, str] = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def new_token() -> str:
    """A fresh secret for one launch of the server."""
    return secrets.token_urlsafe(32)


def same_secret(given: str | None, token: str) -> bool:
    """Constant-time comparison of a presented secret with the launch's."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def cookie_name(port: int) -> str:
    """The session cookie's name; cookies ignore ports, so two servers must not share one."""
    return f"archive_session_{port}"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(bind: str) -> list[str]:
    """Host header values to accept for a server bound to ``bind``."""
    hosts = list(LOOPBACK_HOSTS)
    if not is_loopback(bind):
        try:
            ip = ipaddress.ip_address(bind.strip("[]"))
            hosts.append(f"[{ip}]" if ip.version == 6 else str(ip))
        except ValueError:
            hosts.append(bind.lower())
    return hosts


def write_refusal(headers: Mapping[str, str], origin: str) -> str | None:
    """Why a state-changing request must be refused, or None to let it through.

    Args:
        headers: Request headers, lower-case names.
        origin: This server's origin as the browser sees it, ``http://host:port``.
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return f"cross-site write refused (Sec-Fetch-Site: {site[:20]})"
    given = headers.get("origin")
    if given is not None and given != origin:
        return "cross-origin write refused (Origin does not match this server)"
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return "writes need a JSON body (Content-Type: application/json)"
    if WRITE_HEADER not in headers:
        return f"writes need the {WRITE_HEADER} header"
    return None
