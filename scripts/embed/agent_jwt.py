"""HS256 JSON Web Tokens as Slurm's auth/jwt accepts them (the same shape
slurm/jwt.c mints): header {"alg":"HS256","typ":"JWT"}, claims exp, iat and
sun, base64url without padding, HMAC-SHA256 with the raw key bytes. The
token is a secret: keep it out of logs. Python 3 standard library only,
Python 3.6 syntax.
"""
import base64
import hashlib
import hmac
import json
import time


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def mint(key, user, lifetime=300, now=None):
    if not key or not user or lifetime <= 0:
        raise ValueError("a JWT needs a key, a user and a lifetime")
    iat = int(time.time() if now is None else now)
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"},
                               separators=(",", ":")).encode("utf-8"))
    claims = b64url(json.dumps({"exp": iat + int(lifetime), "iat": iat, "sun": user},
                               separators=(",", ":")).encode("utf-8"))
    signing_input = (header + "." + claims).encode("ascii")
    return header + "." + claims + "." + b64url(
        hmac.new(key, signing_input, hashlib.sha256).digest())
