"""Credentials for the head node's agent: the instance role's, from the
instance metadata service (IMDSv2: a session token first), refreshed well
before they expire. The IMDS is at AWS_EC2_METADATA_SERVICE_ENDPOINT when set
(the local cloud serves it on a port of its own), else the standard address.
Only root reaches the IMDS on a node (stage 1 of the bootstrap sees to it).
Python 3 standard library only, Python 3.6 syntax.
"""
import calendar
import http.client
import json
import os
import threading
import time
import urllib.parse

DEFAULT_ENDPOINT = "http://169.254.169.254/"
TOKEN_TTL = 21600          # the longest IMDSv2 allows
REFRESH_BEFORE = 15 * 60   # renew when less than this is left (AWS SDKs: 5-15 min)


class CredentialsError(Exception):
    pass


class Credentials(object):
    def __init__(self, access_key_id, secret_access_key, session_token=None, expires=None):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token
        self.expires = expires      # Unix seconds, None: never

    def __repr__(self):             # never the secret or the token
        return "Credentials(%s, expires=%s)" % (self.access_key_id, self.expires)


def parse_expiration(text):
    """Unix seconds of an IMDS "Expiration" ("2026-12-01T07:00:00Z")."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


class ImdsCredentials(object):
    """Role credentials from the IMDS; get() is cheap while they are fresh
    and thread-safe."""

    def __init__(self, endpoint=None, timeout=3.0, clock=time.time):
        endpoint = endpoint or os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") \
            or DEFAULT_ENDPOINT
        u = urllib.parse.urlsplit(endpoint)
        if u.scheme != "http" or not u.hostname:
            raise CredentialsError("IMDS endpoint %r is not an http:// URL" % endpoint)
        self.host, self.port = u.hostname, u.port or 80
        self.timeout = timeout
        self.clock = clock
        self.lock = threading.Lock()
        self.token = None
        self.token_expires = 0
        self.creds = None

    def _request(self, method, path, headers):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException) as e:
            raise CredentialsError("IMDS at %s:%d: %s %s: %s" % (
                self.host, self.port, method, path, e))
        finally:
            conn.close()

    def _token(self):
        now = self.clock()
        if self.token and now < self.token_expires - 60:
            return self.token
        status, body = self._request("PUT", "/latest/api/token", {
            "X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL)})
        if status != 200:
            raise CredentialsError("IMDS refused a session token (HTTP %d)" % status)
        self.token, self.token_expires = body.decode("ascii").strip(), now + TOKEN_TTL
        return self.token

    def _get(self, path):
        for again in (True, False):
            status, body = self._request("GET", path, {"X-aws-ec2-metadata-token": self._token()})
            if status == 401 and again:     # the token lapsed early: take a new one
                self.token = None
                continue
            if status != 200:
                raise CredentialsError("IMDS GET %s: HTTP %d" % (path, status))
            return body.decode("utf-8")

    def _fetch(self):
        base = "/latest/meta-data/iam/security-credentials/"
        roles = self._get(base).split()
        if not roles:
            raise CredentialsError("this instance has no IAM role")
        doc = json.loads(self._get(base + roles[0]))
        if doc.get("Code") != "Success":
            raise CredentialsError("IMDS credentials: %s" % doc.get("Code"))
        return Credentials(doc["AccessKeyId"], doc["SecretAccessKey"], doc.get("Token"),
                           parse_expiration(doc["Expiration"]))

    def get(self, force=False):
        with self.lock:
            c = self.creds
            if force or c is None or (c.expires is not None and
                                      c.expires - self.clock() < REFRESH_BEFORE):
                try:
                    self.creds = self._fetch()
                except (CredentialsError, ValueError, KeyError) as e:
                    # Keep using ones that still work rather than fail a call.
                    if c is not None and c.expires and c.expires - self.clock() > 60 and not force:
                        return c
                    raise CredentialsError(str(e))
            return self.creds

    def region(self):
        with self.lock:
            return self._get("/latest/meta-data/placement/region").strip()

    def instance_id(self):
        with self.lock:
            return self._get("/latest/meta-data/instance-id").strip()
