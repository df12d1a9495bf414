"""Bearer-token authorization of the care-team API (``VIGIL_API_TOKENS``, roles viewer and
clinician; a clinician may do everything a viewer may). Tokens are compared in constant time."""

from __future__ import annotations

import hmac

RANK = {"viewer": 1, "clinician": 2}


def authorize(header: str | None, tokens: dict[str, str], needed: str) -> tuple[int, str] | None:
    """None when the request may proceed, else (HTTP status, error detail).

    >>> tokens = {"v-tok": "viewer", "c-tok": "clinician"}
    >>> authorize("Bearer c-tok", tokens, "viewer") is None
    True
    >>> authorize("Bearer v-tok", tokens, "clinician")
    (403, 'this needs the clinician role')
    >>> authorize(None, tokens, "viewer")[0]
    401
    """
    if not header or not header.startswith("Bearer "):
        return 401, "missing bearer token"
    offered = header[len("Bearer ") :].strip().encode()
    role = None
    for token, token_role in tokens.items():  # no early exit: constant time over all tokens
        if hmac.compare_digest(offered, token.encode()):
            role = token_role
    if role is None:
        return 401, "unknown token"
    if RANK[role] < RANK[needed]:
        return 403, f"this needs the {needed} role"
    return None
