"""AWS Signature Version 4 for the head node's agent (header form only).

sign() takes a request as the caller will send it (raw path, raw query
pairs, headers, body) and returns what to add to it; the HTTP layer sends
the path and query exactly as quote_path()/canonical_query() render them, so
what is signed is what goes on the wire. Tested against AWS's SigV4 test
suite (tests/data/aws-sigv4-test-suite), as aws/sigv4.c is.
Python 3 standard library only, Python 3.6 syntax (it runs on cluster nodes).
"""
import hashlib
import hmac
import time
import urllib.parse

ALGORITHM = "AWS4-HMAC-SHA256"
UNRESERVED = "-_.~"


def quote(s):
    """RFC 3986 percent-encoding of everything but unreserved characters."""
    return urllib.parse.quote(s, safe=UNRESERVED)


def quote_path(path):
    """The path with each segment encoded and its slashes kept."""
    return "/".join(quote(seg) for seg in path.split("/"))


def normalize_path(path):
    """Removes "." and ".." segments and empty segments, keeping a trailing
    slash; what SigV4 asks of every service but S3."""
    out = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    norm = "/" + "/".join(out)
    if path.endswith("/") and norm != "/":
        norm += "/"
    return norm


def parse_query(query):
    """Pairs of a wire query string ("a=1&b"), decoded."""
    pairs = []
    for part in query.split("&") if query else ():
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((urllib.parse.unquote(k), urllib.parse.unquote(v)))
    return pairs


def canonical_query(pairs):
    """The pairs encoded and sorted: both the canonical and the wire form."""
    enc = sorted((quote(k), quote(v)) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in enc)


def _canonical_value(value):
    # Folded lines join with a space; runs of blanks become one.
    return " ".join(value.split())


def _amz_date(now):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, day, region, service):
    k = _hmac(("AWS4" + secret).encode("utf-8"), day)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


class Signed(object):
    """The result: headers to add (in order) and the intermediate texts
    (tests compare them with the suite's)."""

    def __init__(self, add_headers, canonical_request, string_to_sign, signature):
        self.add_headers = add_headers
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign
        self.signature = signature


def sign(method, path, query_pairs, headers, body, service, region, creds, now=None,
         normalize=True, sign_body=False, omit_session_token=False):
    """Signs a request. headers: a list of (name, value) the request carries
    (Host among them; added from nowhere else). creds: an object with
    access_key_id, secret_access_key and session_token (None or "").
    sign_body adds x-amz-content-sha256 (S3 wants it); omit_session_token
    adds the token after signing (services that want it unsigned)."""
    now = time.time() if now is None else now
    amz_date = _amz_date(now)
    day = amz_date[:8]
    body = body or b""
    payload_hash = hashlib.sha256(body).hexdigest()

    add = []
    token = getattr(creds, "session_token", None)
    if token and not omit_session_token:
        add.append(("X-Amz-Security-Token", token))
    add.append(("X-Amz-Date", amz_date))
    if sign_body:
        add.append(("X-Amz-Content-Sha256", payload_hash))

    merged = {}
    order = []
    for name, value in list(headers) + add:
        lname = name.lower().strip()
        if lname not in merged:
            merged[lname] = []
            order.append(lname)
        merged[lname].append(_canonical_value(value))
    names = sorted(order)
    canonical_headers = "".join("%s:%s\n" % (n, ",".join(merged[n])) for n in names)
    signed_headers = ";".join(names)

    cpath = normalize_path(path) if normalize else path
    canonical_request = "\n".join([
        method, quote_path(cpath) or "/", canonical_query(query_pairs),
        canonical_headers, signed_headers, payload_hash])
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    string_to_sign = "\n".join([
        ALGORITHM, amz_date, scope,
        hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    key = signing_key(creds.secret_access_key, day, region, service)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()

    if token and omit_session_token:
        add.insert(0, ("X-Amz-Security-Token", token))
    add.append(("Authorization", "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ALGORITHM, creds.access_key_id, scope, signed_headers, signature)))
    return Signed(add, canonical_request, string_to_sign, signature)
