"""A signed AWS request with timeouts and bounded retries, for the head
node's agent: the one place that speaks HTTP to AWS. Endpoints are chosen as
the SDKs do (AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the
region's). Retried: connection errors, timeouts, 5xx, throttling; an expired
token once, with fresh credentials. Errors come back as AwsError with AWS's
code and message. Python 3 standard library only, Python 3.6 syntax.
"""
import http.client
import os
import random
import ssl
import time
import urllib.parse
import xml.etree.ElementTree as ET

import agent_sigv4

RETRY_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "SlowDown",
               "RequestTimeout", "InternalError", "ServiceUnavailable", "RequestThrottled"}
EXPIRED_CODES = {"ExpiredToken", "RequestExpired", "ExpiredTokenException"}


class AwsError(Exception):
    def __init__(self, status, code, message, what):
        Exception.__init__(self, "%s: %s (%s%s)" % (
            what, message or code, code, ", HTTP %d" % status if status else ""))
        self.status, self.code, self.message = status, code, message


class Response(object):
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers      # lower-case names
        self.body = body


def strip_ns(tag):
    return tag.rsplit("}", 1)[-1]


def error_of(body):
    """(code, message) of an AWS XML error body (EC2's or S3's shape)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None, None
    for el in root.iter():
        if strip_ns(el.tag) == "Error":
            fields = {strip_ns(c.tag): (c.text or "") for c in el}
            return fields.get("Code"), fields.get("Message")
    return None, None


def endpoint_for(service, region):
    env = os.environ.get("AWS_ENDPOINT_URL_" + service.upper()) or \
        os.environ.get("AWS_ENDPOINT_URL")
    if env:
        return env.rstrip("/")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return "https://%s.%s.%s" % (service, region, suffix)


class Client(object):
    """Signs and sends requests to one service in one region."""

    def __init__(self, service, region, credentials, endpoint=None, timeout=10.0,
                 attempts=4, backoff=0.25, sleep=time.sleep):
        self.service, self.region = service, region
        self.credentials = credentials          # has get(force=False) -> Credentials
        self.endpoint = (endpoint or endpoint_for(service, region)).rstrip("/")
        u = urllib.parse.urlsplit(self.endpoint)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("bad endpoint %r" % self.endpoint)
        self.scheme, self.host, self.port = u.scheme, u.hostname, u.port
        self.base_path = u.path.rstrip("/")
        self.host_header = u.netloc
        self.timeout, self.attempts, self.backoff, self.sleep = timeout, attempts, backoff, sleep
        self.ssl = ssl.create_default_context() if self.scheme == "https" else None

    def _connection(self):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=self.ssl)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _send_once(self, method, path, query, headers, body, creds, s3):
        hdrs = [("Host", self.host_header)] + list(headers)
        signed = agent_sigv4.sign(method, self.base_path + path, query, hdrs, body,
                                  self.service, self.region, creds,
                                  normalize=not s3, sign_body=s3)
        url = agent_sigv4.quote_path(self.base_path + path) or "/"
        q = agent_sigv4.canonical_query(query)
        if q:
            url += "?" + q
        conn = self._connection()
        try:
            conn.putrequest(method, url, skip_host=True, skip_accept_encoding=True)
            for name, value in hdrs + signed.add_headers:
                conn.putheader(name, value)
            if body or method in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body or b"")))
            conn.endheaders(body or None)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def request(self, method, path, query=(), headers=(), body=b"", what=None, ok=(200,),
                s3=False):
        """Sends the request, retrying what is worth retrying; returns the
        Response when its status is in ok, else raises AwsError."""
        what = what or "%s %s" % (method, path)
        expired_retry = True
        force = False
        last = None
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(random.uniform(0, min(5.0, self.backoff * (2 ** attempt))))
            creds = self.credentials.get(force=force)
            force = False
            try:
                r = self._send_once(method, path, list(query), list(headers), body, creds, s3)
            except (OSError, http.client.HTTPException) as e:
                last = AwsError(0, "RequestFailed", "%s: %s" % (type(e).__name__, e), what)
                continue
            if r.status in ok:
                return r
            code, message = error_of(r.body)
            last = AwsError(r.status, code or "HTTP%d" % r.status, message, what)
            if code in EXPIRED_CODES and expired_retry:
                expired_retry, force = False, True
                continue
            if r.status >= 500 or r.status == 429 or code in RETRY_CODES:
                continue
            raise last
        raise last
