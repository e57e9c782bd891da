"""``/join``: the public request-access page (French and English).

Protected against cross-site posts (a signed, single-use token bound to a cookie), rate-limited
per client address (one budget for every worker, through Redis), escaped by Jinja, and it
answers the same whether or not the e-mail is in the roster, so it cannot be used to find out
who works here.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from flask import Blueprint, Response, current_app, make_response, render_template, request
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from plugin.cohorts.waitlist import REASON_MAX_LENGTH, submit_request
from plugin.db import transaction
from plugin.errors import EnvolError
from plugin.people.models import Language
from plugin.people.roster import is_valid_email, normalise_email
from plugin.security.service import RequestRejected, Signer
from webhooks.context import envol_context

log = logging.getLogger(__name__)

blueprint = Blueprint("join", __name__, template_folder="templates")

COOKIE = "envol_join"
TOKEN_PURPOSE = "join-form"
TOKEN_LIFETIME = dt.timedelta(hours=2)
# Default: 5 submissions per address per 10 minutes. Override with app.config["JOIN_RATE_LIMIT"].
DEFAULT_RATE_LIMIT = (5, 600.0)

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Demander à rejoindre le réseau",
        "intro": "Votre service n'a pas encore été invité ? Dites-nous pourquoi vous aimeriez "
        "rejoindre le réseau : le comité de lancement vous placera en priorité dans la "
        "prochaine vague.",
        "email": "Adresse e-mail professionnelle",
        "reason": "Pourquoi souhaitez-vous rejoindre le réseau ? (facultatif)",
        "submit": "Envoyer ma demande",
        "switch": "English",
        "done_title": "Merci !",
        "done": "Si cette adresse peut rejoindre le réseau, vous allez recevoir un e-mail de "
        "confirmation. Le comité de lancement examinera votre demande.",
        "invalid_email": "Cette adresse e-mail n'est pas valide.",
        "reason_too_long": f"Merci de rester sous {REASON_MAX_LENGTH} caractères.",
        "expired": "Le formulaire a expiré ou a déjà été envoyé : rechargez la page et réessayez.",
        "too_many": "Trop de demandes depuis votre adresse. Réessayez dans quelques minutes.",
    },
    "en": {
        "title": "Ask to join the network",
        "intro": "Your department has not been invited yet? Tell us why you would like to join: "
        "the launch committee will place you first in the next wave.",
        "email": "Work e-mail address",
        "reason": "Why would you like to join? (optional)",
        "submit": "Send my request",
        "switch": "Français",
        "done_title": "Thank you!",
        "done": "If this address can join the network, you will receive a confirmation e-mail. "
        "The launch committee will review your request.",
        "invalid_email": "This e-mail address is not valid.",
        "reason_too_long": f"Please keep it under {REASON_MAX_LENGTH} characters.",
        "expired": "The form has expired or was already sent: reload the page and try again.",
        "too_many": "Too many requests from your address. Try again in a few minutes.",
    },
}


class RateLimiter:
    """A moving window of recent submissions per client address, counted by ``limits`` in
    ``storage``: Redis shares one budget between every worker and server (``memory://``
    counts per process, for a single-process install). The address is the client's, as the
    ``ENVOL_TRUSTED_PROXIES`` reverse proxies forwarded it (``ProxyFix`` in ``create_app``).

    A storage that cannot be reached lets the request through with one log line: a Redis
    outage must not close the page to everyone."""

    def __init__(self, limit: int, window_seconds: float, storage: str = "memory://") -> None:
        self.item = RateLimitItemPerSecond(limit, max(1, round(window_seconds)))
        self._strategy = MovingWindowRateLimiter(storage_from_string(storage))

    def allow(self, key: str) -> bool:
        try:
            return bool(self._strategy.hit(self.item, "envol-join", key))
        except Exception as error:  # the storage is down: serve, and say so once per request
            log.warning("join rate limit not counted: %s", type(error).__name__)
            return True


def _limiter() -> RateLimiter:
    limiter = current_app.extensions.get("envol.join_limiter")
    if limiter is None:
        limit, window = current_app.config.get("JOIN_RATE_LIMIT", DEFAULT_RATE_LIMIT)
        storage = envol_context(current_app).settings.effective_rate_limit_storage
        limiter = RateLimiter(int(limit), float(window), storage)
        current_app.extensions["envol.join_limiter"] = limiter
    return limiter


def _language() -> str:
    chosen = request.args.get("lang") or request.form.get("lang")
    if chosen in TEXTS:
        return chosen
    best = request.accept_languages.best_match(["fr", "en"])
    if best:
        return best
    return envol_context(current_app).runtime.current.default_language


def _signer() -> Signer:
    return Signer(envol_context(current_app).settings.secret_keys)


def _form(
    lang: str, *, status: int = 200, error: str = "", email: str = "", reason: str = ""
) -> Response:
    # The cookie holds a random value; the form's token is signed for that value only, so a
    # page on another site can neither read the token nor forge one that matches the cookie.
    binding = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
    token = _signer().sign(TOKEN_PURPOSE, binding, single_use=True)
    body = render_template(
        "join/form.html",
        t=TEXTS[lang],
        lang=lang,
        other="en" if lang == "fr" else "fr",
        token=token,
        error=error,
        email=email,
        reason=reason,
        reason_max=REASON_MAX_LENGTH,
    )
    response = make_response(body, status)
    response.set_cookie(
        COOKIE,
        binding,
        max_age=int(TOKEN_LIFETIME.total_seconds()),
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )
    return _secure_headers(response)


def _secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/join")
def join_form() -> Any:
    return _form(_language())


@blueprint.post("/join")
def join_submit() -> Any:
    lang = _language()
    t = TEXTS[lang]
    if not _limiter().allow(request.remote_addr or "unknown"):
        return _form(lang, status=429, error=t["too_many"])
    email = request.form.get("email", "")[:254]
    reason = request.form.get("reason", "")
    context = envol_context(current_app)
    binding = request.cookies.get(COOKIE)
    with transaction(context.sessions) as session:
        try:
            if not binding:
                raise RequestRejected("missing cookie", status=400)
            _signer().verify(
                request.form.get("token", ""),
                purpose=TOKEN_PURPOSE,
                user_id=binding,
                max_age=TOKEN_LIFETIME,
                session=session,
            )
        except RequestRejected:
            return _form(lang, status=400, error=t["expired"], email=email, reason=reason)
        address = normalise_email(email)
        if not is_valid_email(address):
            return _form(lang, status=400, error=t["invalid_email"], email=email, reason=reason)
        if len(reason) > REASON_MAX_LENGTH:
            return _form(lang, status=400, error=t["reason_too_long"], email=email, reason=reason)
        try:
            submit_request(
                session,
                address,
                reason,
                Language(lang),
                extra_domains=current_app.config.get("JOIN_ALLOWED_DOMAINS", ()),
            )
        except EnvolError:
            return _form(lang, status=400, error=t["invalid_email"], email=email, reason=reason)
    # The same page whether or not anything was stored: no enumeration of the roster.
    body = render_template("join/done.html", t=t, lang=lang)
    return _secure_headers(make_response(body, 200))
