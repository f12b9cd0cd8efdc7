"""SigV4 verification with botocore's signer (not the project's C code).

The received request is rebuilt as a botocore AWSRequest holding exactly the
headers the client says it signed; botocore computes the canonical request,
string to sign and signature with the secret we know for the key id; the
result must equal what the client sent. Header auth (Authorization) and
query auth (presigned URLs) are both handled."""
import calendar
import hmac
import re
import time
import urllib.parse

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

_AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)")
MAX_SKEW = 15 * 60


def split_target(target):
    """Path and query of a request target. (urlsplit would read a path
    starting with // as a host name.)"""
    path, _, query = target.partition("?")
    return urllib.parse.SplitResult("", "", path, query, "")


class AuthError(Exception):
    """kind: missing | malformed | unknown_key | bad_token | bad_signature |
    expired | skew. The server maps kinds to each service's own error code."""

    def __init__(self, kind, message, service=None, region=None):
        super().__init__(message)
        self.kind = kind
        self.service = service
        self.region = region


class Signed:
    def __init__(self, service, region, access_key, presigned):
        self.service = service
        self.region = region
        self.access_key = access_key
        self.presigned = presigned


def _parse_amz_date(s):
    try:
        return calendar.timegm(time.strptime(s, "%Y%m%dT%H%M%SZ"))
    except (TypeError, ValueError):
        return None


def scope_of(headers, query):
    """(service, region) named by the request's credential scope, or (None, None)."""
    auth = headers.get("Authorization", "")
    m = _AUTH_RE.match(auth)
    cred = m.group(1) if m else None
    if cred is None:
        vals = query.get("X-Amz-Credential")
        cred = vals[0] if vals else None
    if not cred:
        return None, None
    parts = cred.split("/")
    if len(parts) != 5:
        return None, None
    return parts[3], parts[2]


def verify(method, raw_path, headers, body, lookup_secret, now=None, normalize=None):
    """Checks a request; returns Signed or raises AuthError.

    headers: an email.message-like mapping (case-insensitive get/get_all);
    lookup_secret(key_id) -> (secret, token or None) or None; normalize: whether
    the path is normalized before signing (default: every service but S3)."""
    now = time.time() if now is None else now
    split = split_target(raw_path)
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    auth = headers.get("Authorization")
    presigned = auth is None and "X-Amz-Signature" in query
    if auth is None and not presigned:
        raise AuthError("missing", "Request is missing Authentication Token")
    if presigned:
        try:
            cred = query["X-Amz-Credential"][0]
            signed_names = query["X-Amz-SignedHeaders"][0]
            their_sig = query["X-Amz-Signature"][0]
            amz_date = query["X-Amz-Date"][0]
            expires = int(query["X-Amz-Expires"][0])
            if query["X-Amz-Algorithm"][0] != "AWS4-HMAC-SHA256":
                raise ValueError
        except (KeyError, IndexError, ValueError):
            raise AuthError("malformed", "Query-string authentication requires the "
                            "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
                            "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        token = query.get("X-Amz-Security-Token", [None])[0]
    else:
        m = _AUTH_RE.match(auth)
        if not m:
            raise AuthError("malformed", "Authorization header is malformed or uses an "
                            "unsupported signature version")
        cred, signed_names, their_sig = m.groups()
        amz_date = headers.get("X-Amz-Date")
        token = headers.get("X-Amz-Security-Token")
        expires = None
    parts = cred.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise AuthError("malformed", "Credential scope is malformed: %s" % cred)
    key_id, scope_date, region, service, _ = parts
    when = _parse_amz_date(amz_date)
    if when is None or amz_date[:8] != scope_date:
        raise AuthError("malformed", "X-Amz-Date is missing or does not match the "
                        "credential scope date", service, region)
    found = lookup_secret(key_id)
    if found is None:
        raise AuthError("unknown_key", key_id, service, region)
    secret, want_token = found
    if want_token is not None and token != want_token:
        raise AuthError("bad_token", "The security token included in the request is invalid.",
                        service, region)
    if presigned:
        if expires > 604800:
            raise AuthError("malformed", "X-Amz-Expires must be less than a week "
                            "(in seconds) that is 604800", service, region)
        if now > when + expires:
            raise AuthError("expired", "Request has expired", service, region)
        if when > now + MAX_SKEW:
            raise AuthError("skew", "Request is not valid yet", service, region)
    elif abs(now - when) > MAX_SKEW:
        raise AuthError("skew", "The difference between the request time and the "
                        "current time is too large.", service, region)

    # Rebuild the request as signed: the signed headers only, and the query
    # decoded (AWS re-encodes it canonically, whatever the client sent),
    # minus the signature of a presigned URL.
    pairs = []
    for p in split.query.split("&") if split.query else []:
        k, _, v = p.partition("=")
        k, v = urllib.parse.unquote(k), urllib.parse.unquote(v)
        if not (presigned and k == "X-Amz-Signature"):
            pairs.append((k, v))
    host = headers.get("Host", "")
    if normalize is None:
        normalize = service != "s3"
    path = split.path
    if not normalize:
        # S3 style: the canonical URI is the decoded path encoded once.
        path = urllib.parse.quote(urllib.parse.unquote(path), safe="/~")
    req = AWSRequest(method=method, url="http://%s%s" % (host, path), data=body or b"")
    req.params = pairs
    for name in signed_names.split(";"):
        vals = headers.get_all(name) or ([] if name != "host" else [host])
        if not vals:
            raise AuthError("bad_signature", "signed header %s is missing" % name,
                            service, region)
        for v in vals:
            req.headers.add_header(name, v)
    creds = BotoCredentials(key_id, secret, token)
    if service == "s3":
        signer = (S3SigV4QueryAuth if presigned else S3SigV4Auth)(creds, service, region)
    else:   # other services sign the payload's hash in presigned URLs too
        signer = SigV4Auth(creds, service, region)
    if not normalize:
        signer._normalize_url_path = lambda p: p
    req.context["timestamp"] = amz_date
    canonical = signer.canonical_request(req)
    sts = signer.string_to_sign(req, canonical)
    ours = signer.signature(sts, req)
    if not hmac.compare_digest(ours, their_sig):
        raise AuthError("bad_signature", canonical, service, region)
    return Signed(service, region, key_id, presigned)
