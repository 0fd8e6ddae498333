"""Users' credentials as RabbitMQ stores them in a definitions file.

``password_hash`` is base64 of a 4-byte salt followed by H(salt + password),
H named by ``hashing_algorithm`` (``rabbit_password_hashing_sha256`` by
default, also sha512 and md5).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ALGORITHMS = {
    "rabbit_password_hashing_sha256": "sha256",
    "rabbit_password_hashing_sha512": "sha512",
    "rabbit_password_hashing_md5": "md5",
}
DEFAULT_ALGORITHM = "rabbit_password_hashing_sha256"


def hash_password(
    password: str, algorithm: str = DEFAULT_ALGORITHM, salt: bytes | None = None
) -> str:
    """RabbitMQ's salted hash of ``password``."""
    salt = os.urandom(4) if salt is None else salt
    digest = hashlib.new(ALGORITHMS[algorithm], salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def check_password(password: str, password_hash: str, algorithm: str = DEFAULT_ALGORITHM) -> bool:
    """Whether ``password`` matches a RabbitMQ ``password_hash``."""
    if algorithm not in ALGORITHMS:
        return False
    try:
        raw = base64.b64decode(password_hash, validate=True)
    except ValueError:
        return False
    if len(raw) < 5:
        return False
    expected = hash_password(password, algorithm, raw[:4])
    return hmac.compare_digest(expected, password_hash)
