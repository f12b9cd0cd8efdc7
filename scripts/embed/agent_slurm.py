"""The head node's local slurmrestd, read by its agent: the API version is
discovered as slurm/client.c does (the newest of v0.0.42, v0.0.41, v0.0.40,
v0.0.38 that slurmrestd offers), each call carries a short-lived HS256 JWT
minted from the cluster's key, renewed when a third of its life is left.
Answers are returned as parsed JSON, untouched: slurm/ on the workstation
stays the one parser of their meaning. Python 3 standard library only,
Python 3.6 syntax.
"""
import http.client
import json
import re
import time
import urllib.parse

import agent_jwt

KNOWN_VERSIONS = (42, 41, 40, 38)     # newest first, as slurm/parse.c knows them
VIEW_PARTS = ("nodes", "partitions", "jobs", "ping")


class SlurmError(Exception):
    pass


def pick_version(openapi):
    """The newest known version the OpenAPI document's paths offer."""
    seen = set()
    for path in (openapi.get("paths") or {}):
        m = re.match(r"^/slurm/v0\.0\.(\d{1,2})(/|$)", path)
        if m:
            seen.add(int(m.group(1)))
    for v in KNOWN_VERSIONS:
        if v in seen:
            return v
    raise SlurmError("slurmrestd offers no API version the agent speaks (%s); it offers: %s" % (
        ", ".join("v0.0.%d" % v for v in KNOWN_VERSIONS),
        " ".join("v0.0.%d" % v for v in sorted(seen)) or "none under /slurm/"))


class Slurmrestd(object):
    def __init__(self, url, key, user="slurm", timeout=10.0, token_lifetime=300,
                 clock=time.time):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http" or not u.hostname:
            raise ValueError("slurmrestd URL %r is not http://host:port" % url)
        self.host, self.port, self.url = u.hostname, u.port or 80, url
        self.key, self.user = key, user
        self.timeout, self.lifetime, self.clock = timeout, token_lifetime, clock
        self.token, self.token_expires = None, 0
        self.version = None

    def _token(self):
        now = self.clock()
        if self.token is None or self.token_expires - now < self.lifetime / 3.0:
            self.token = agent_jwt.mint(self.key, self.user, self.lifetime, now)
            self.token_expires = now + self.lifetime
        return self.token

    def _get(self, path):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("GET", path, headers={
                "X-SLURM-USER-NAME": self.user, "X-SLURM-USER-TOKEN": self._token(),
                "Accept": "application/json"})
            r = conn.getresponse()
            status, body = r.status, r.read()
        except (OSError, http.client.HTTPException) as e:
            raise SlurmError("slurmrestd at %s: GET %s: %s" % (self.url, path, e))
        finally:
            conn.close()
        if status == 404:
            return None
        if status != 200:
            raise SlurmError("slurmrestd at %s: GET %s: HTTP %d: %s" % (
                self.url, path, status, body[:200].decode("utf-8", "replace")))
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise SlurmError("slurmrestd at %s: GET %s: not JSON: %s" % (self.url, path, e))

    def discover(self):
        if self.version is None:
            doc = self._get("/openapi/v3")
            if doc is None:              # older slurmrestd: the document's other name
                doc = self._get("/openapi")
            if doc is None:
                raise SlurmError("slurmrestd at %s serves no OpenAPI document" % self.url)
            self.version = pick_version(doc)
        return "v0.0.%d" % self.version

    def get(self, what):
        """The parsed answer of GET /slurm/<version>/<what>."""
        version = self.discover()
        doc = self._get("/slurm/%s/%s" % (version, what))
        if doc is None:
            self.version = None          # an upgraded slurmrestd: discover again next time
            raise SlurmError("slurmrestd at %s has no %s in %s" % (self.url, what, version))
        return doc

    def view(self):
        """Slurm's view: the API version and each part's answer."""
        out = {"api_version": self.discover()}
        for part in VIEW_PARTS:
            out[part] = self.get(part)
        return out
