"""Passwords (argon2id) and bearer tokens (random, stored only as sha256)."""

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TOKEN_PREFIX = "gsmc_"
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps response times alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A bearer token: 256 random bits. Shown once; only its hash is kept."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # A fast hash is right here: the token is random and long, not a guessable password.
    return hashlib.sha256(token.encode()).hexdigest()
