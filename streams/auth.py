"""Who is asking: bearer tokens of the care-team API, static or OIDC/JWT, and their roles.

Static tokens come from ``VIGIL_API_TOKENS`` (``token:role``; roles viewer and clinician, a
clinician may do everything a viewer may); they are compared in constant time and recorded as
``token:<first 8 hex of their SHA-256>``, never in clear. A JWT from the program's identity
provider (RFC 7519) is accepted when ``VIGIL_JWT_JWKS`` is set: signature against the provider's
JWKS (a file or an https URL), ``iss`` = ``VIGIL_JWT_ISSUER``, ``aud`` = ``VIGIL_JWT_AUDIENCE``,
``exp`` in the future; the person is its ``sub`` (and ``name``), the role the highest one listed
in the ``VIGIL_JWT_ROLE_CLAIM`` claim. Failed attempts are limited per client
(``FailureLimiter``) so tokens cannot be guessed at speed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RANK = {"patient": 0, "viewer": 1, "clinician": 2}
JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: who (``subject``, ``name``) and with which role."""

    subject: str
    role: str
    name: str | None = None

    def audit(self) -> dict[str, Any]:
        return {"sub": self.subject, "name": self.name, "role": self.role}


Refusal = tuple[int, str]


def token_subject(token: str) -> str:
    """How a static token is recorded: a short digest, never the token.

    >>> token_subject("s3cret")
    'token:1ec1c26b'
    """
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:8]


class Authenticator:
    """Answers "who is this, and may they do this?" for one request header."""

    def __init__(self, tokens: dict[str, str], jwks: str | None = None,
                 issuer: str | None = None, audience: str | None = None,
                 role_claim: str = "roles") -> None:  # fmt: skip
        self.tokens = tokens
        self.issuer, self.audience, self.role_claim = issuer, audience, role_claim
        self._keys: Any = None
        self._client: Any = None
        if jwks:
            import jwt

            if jwks.startswith(("https://", "http://")):
                self._client = jwt.PyJWKClient(jwks, cache_keys=True)
            else:
                self._keys = jwt.PyJWKSet.from_dict(json.loads(Path(jwks).read_text()))

    def identify(self, header: str | None) -> Principal | Refusal:
        if not header or not header.startswith("Bearer "):
            return 401, "missing bearer token"
        offered = header[len("Bearer ") :].strip()
        role = None
        for token, token_role in self.tokens.items():  # no early exit: constant time
            if hmac.compare_digest(offered.encode(), token.encode()):
                role = token_role
        if role is not None:
            return Principal(token_subject(offered), role)
        if (self._keys is not None or self._client is not None) and offered.count(".") == 2:
            return self._from_jwt(offered)
        return 401, "unknown token"

    def authorize(self, header: str | None, needed: str) -> Principal | Refusal:
        """The principal when it may proceed, else (HTTP status, error detail).

        >>> auth = Authenticator({"v-tok": "viewer", "c-tok": "clinician"})
        >>> auth.authorize("Bearer c-tok", "viewer").role
        'clinician'
        >>> auth.authorize("Bearer v-tok", "clinician")
        (403, 'this needs the clinician role')
        >>> auth.authorize(None, "viewer")[0]
        401
        """
        who = self.identify(header)
        if isinstance(who, tuple):
            return who
        if RANK[who.role.split(":")[0]] < RANK[needed]:
            return 403, f"this needs the {needed} role"
        return who

    def patient_or_clinician(self, header: str | None, patient_id: str) -> Principal | Refusal:
        """A clinician, or the patient's own app (role ``patient:<that id>``)."""
        who = self.identify(header)
        if isinstance(who, tuple):
            return who
        if who.role == "clinician" or who.role == f"patient:{patient_id}":
            return who
        return 403, "this needs the clinician role or the patient's own token"

    def _from_jwt(self, token: str) -> Principal | Refusal:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            if self._client is not None:
                key = self._client.get_signing_key(header.get("kid")).key
            else:
                key = self._keys[header.get("kid")].key if header.get("kid") else \
                    self._keys.keys[0].key  # fmt: skip
            claims = jwt.decode(
                token, key, algorithms=JWT_ALGORITHMS, audience=self.audience,
                issuer=self.issuer, options={"require": ["exp", "sub"]},
            )  # fmt: skip
        except (jwt.PyJWTError, KeyError, IndexError) as exc:
            return 401, f"token not accepted: {type(exc).__name__}"
        roles = claims.get(self.role_claim) or []
        roles = [roles] if isinstance(roles, str) else list(roles)
        known = [r for r in roles if r in RANK]
        if not known:
            return 403, "the token carries no vigilstream role"
        role = max(known, key=RANK.__getitem__)
        name = claims.get("name") or claims.get("preferred_username")
        return Principal(str(claims["sub"]), role, name)


class FailureLimiter:
    """At most ``limit`` failed authentications per client in a sliding minute; more is 429.

    >>> f = FailureLimiter(2); f.fail("a", 0.0); f.fail("a", 1.0)
    >>> f.blocked("a", 2.0), f.blocked("b", 2.0), f.blocked("a", 61.5)
    (True, False, False)
    """

    def __init__(self, limit: int, window_s: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit, self.window_s, self.max_clients = limit, window_s, max_clients
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and now - times[0] > self.window_s:
            times.popleft()
        if not times:
            del self._failures[client]
        return times

    def blocked(self, client: str, now: float | None = None) -> bool:
        return len(self._recent(client, time.monotonic() if now is None else now)) >= self.limit

    def fail(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if client not in self._failures and len(self._failures) >= self.max_clients:
            self._failures.pop(next(iter(self._failures)))  # bounded memory under a flood
        self._failures.setdefault(client, deque()).append(now)
