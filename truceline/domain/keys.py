"""Ed25519 keys: raw bytes in, text forms out. A public key is written `ed25519:<base64>`."""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from truceline.i18n.message import M

PREFIX = "ed25519:"


def generate() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PREFIX + base64.b64encode(raw).decode("ascii")


def parse_public(text: str) -> Ed25519PublicKey:
    if not text.startswith(PREFIX):
        raise ValueError(M("not an ed25519 public key: {key!r}", key=text))
    raw = base64.b64decode(text[len(PREFIX) :], validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_pem(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(M("not an Ed25519 private key"))
    return key


def sign(key: Ed25519PrivateKey, digest_hex: str) -> str:
    return base64.b64encode(key.sign(bytes.fromhex(digest_hex))).decode("ascii")


def verify(public: Ed25519PublicKey, digest_hex: str, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), bytes.fromhex(digest_hex))
    except (InvalidSignature, ValueError):
        return False
    return True


def fingerprint(text: str) -> str:
    """A public key's fingerprint: SHA-256 of its 32 raw bytes, the first 16 bytes in hex,
    in groups of four (what a reader compares with what a contingent publishes)."""
    raw = parse_public(text).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))
