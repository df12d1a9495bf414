"""Bearer identities: static tokens and JWTs from an identity provider (no server needed)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from streams.auth import Authenticator, FailureLimiter, Principal, token_subject

ISS, AUD = "https://idp.test/realm", "vigilstream"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def auth(key: rsa.RSAPrivateKey, tmp_path: Path) -> Authenticator:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": "k1", "alg": "RS256"}]}))
    return Authenticator({"static-tok": "viewer"}, str(path), ISS, AUD)


def sign(key: rsa.RSAPrivateKey, **claims: object) -> str:
    body = {"iss": ISS, "aud": AUD, "sub": "u-1", "exp": int(time.time()) + 60,
            "roles": ["clinician"], "name": "Ada", **claims}  # fmt: skip
    return "Bearer " + jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


def test_a_valid_jwt_names_the_person_and_role(auth: Authenticator, key) -> None:
    assert auth.authorize(sign(key), "clinician") == Principal("u-1", "clinician", "Ada")
    assert auth.authorize(sign(key, roles=["viewer", "nurse"]), "viewer").role == "viewer"
    assert auth.authorize(sign(key, roles="viewer"), "clinician") == (
        403,
        "this needs the clinician role",
    )


@pytest.mark.parametrize("claims", [
    {"exp": int(time.time()) - 5}, {"iss": "https://evil.test"}, {"aud": "other"},
])  # fmt: skip
def test_expired_foreign_or_misaddressed_jwts_are_refused(auth: Authenticator, key,
                                                         claims: dict) -> None:  # fmt: skip
    status, detail = auth.authorize(sign(key, **claims), "viewer")
    assert status == 401 and detail.startswith("token not accepted")


def test_a_jwt_signed_by_another_key_or_without_role(auth: Authenticator, key) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert auth.authorize(sign(other), "viewer")[0] == 401
    assert auth.authorize(sign(key, roles=["nurse"]), "viewer") == (
        403,
        "the token carries no vigilstream role",
    )


def test_static_tokens_are_recorded_as_a_digest(auth: Authenticator) -> None:
    who = auth.authorize("Bearer static-tok", "viewer")
    assert who == Principal(token_subject("static-tok"), "viewer")
    assert "static-tok" not in who.subject
    assert auth.authorize("Bearer nope", "viewer") == (401, "unknown token")


def test_failure_limiter_forgets_after_the_window() -> None:
    limiter = FailureLimiter(3, window_s=60)
    for t in (0.0, 1.0, 2.0):
        limiter.fail("10.0.0.1", t)
    assert limiter.blocked("10.0.0.1", 3.0)
    assert not limiter.blocked("10.0.0.2", 3.0)
    assert not limiter.blocked("10.0.0.1", 62.5)
