"""Pseudonymous patient ids: a keyed hash at ingest (``VIGIL_PSEUDONYM_KEY``).

With a key set, every patient id that enters the worker (readings, profiles, outcomes,
feedback) is replaced by ``ps-`` and the first 24 hex digits of its HMAC-SHA256 under the key
(RFC 2104; a pseudonym in the sense of GDPR Art. 4(5): the link back needs the key or the
mapping). Topics after ingest, checkpoints, alerts, webhooks and metrics only ever carry the
pseudonym; the mapping back to the program's own id lives in Redis (``<prefix>vigil:identity``)
and only the ``clinician`` role may read it through the API. Without a key, ids pass unchanged.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "ps-"
DIGITS = 24


class Pseudonymizer:
    """Maps a patient id to its pseudonym (identity when no key is configured).

    >>> p = Pseudonymizer(b"k")
    >>> p("p-0001"), p(p("p-0001")) == p("p-0001")
    ('ps-164412aadde61a3637e56cc6', True)
    >>> Pseudonymizer(None)("p-0001")
    'p-0001'
    """

    def __init__(self, key: bytes | None) -> None:
        self.key = key or None

    @property
    def enabled(self) -> bool:
        return self.key is not None

    def is_pseudonym(self, patient_id: str) -> bool:
        return len(patient_id) == len(PREFIX) + DIGITS and patient_id.startswith(PREFIX)

    def __call__(self, patient_id: str) -> str:
        if self.key is None or self.is_pseudonym(patient_id):
            return patient_id
        digest = hmac.new(self.key, patient_id.encode(), hashlib.sha256).hexdigest()
        return PREFIX + digest[:DIGITS]
