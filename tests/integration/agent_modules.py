"""The head node's agent (scripts/embed/agent*) as the tests load it: every
module's source, and the modules imported without writing bytecode (a
__pycache__ in scripts/embed would be taken for a file to embed); and a
stand-in slurmrestd for the agent to read."""
import base64
import hashlib
import hmac
import http.server
import importlib
import json
import os
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EMBED = os.path.join(REPO, "scripts", "embed")
SLURM_DATA = os.path.join(REPO, "tests", "data", "slurm")


def sources():
    """{file name: source} of every agent module."""
    return {n: open(os.path.join(EMBED, n), encoding="utf-8").read()
            for n in sorted(os.listdir(EMBED)) if n.startswith("agent") and n.endswith(".py")}


def load(name):
    sys.dont_write_bytecode = True
    if EMBED not in sys.path:
        sys.path.insert(0, EMBED)
    return importlib.import_module(name)


class FakeSlurmrestd:
    """Serves Slurm 24.11's recorded answers (v0.0.42), editable by the
    test, to requests with a valid JWT of the key only."""

    def __init__(self, key):
        self.key = key
        d = os.path.join(SLURM_DATA, "24.11")
        self.docs = {"/openapi/v3": json.load(open(os.path.join(d, "openapi_v3.json")))}
        for part in ("nodes", "partitions", "jobs", "ping"):
            self.docs["/slurm/v0.0.42/" + part] = json.load(
                open(os.path.join(d, "%s_v0.0.42.json" % part)))
        self.requests = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                fake.requests += 1
                if not fake.token_ok(self.headers.get("X-SLURM-USER-TOKEN", ""),
                                     self.headers.get("X-SLURM-USER-NAME")):
                    self.send_response(401)
                    self.end_headers()
                    return
                doc = fake.docs.get(self.path)
                body = json.dumps(doc).encode() if doc is not None else b"{}"
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token_ok(self, token, user):
        try:
            h, c, s = token.split(".")
            pad = lambda x: x + "=" * (-len(x) % 4)  # noqa: E731
            want = hmac.new(self.key, (h + "." + c).encode(), hashlib.sha256).digest()
            claims = json.loads(base64.urlsafe_b64decode(pad(c)))
            return hmac.compare_digest(base64.urlsafe_b64decode(pad(s)), want) and \
                claims["sun"] == user == "slurm" and claims["exp"] > time.time()
        except (ValueError, KeyError):
            return False

    def nodes(self):
        return self.docs["/slurm/v0.0.42/nodes"]["nodes"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
