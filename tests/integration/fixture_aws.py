"""Drives the AWS layer (aws/) through tests/tools/awsprobe against a local cloud.

    def test_x(localcloud, awsprobe):
        out = awsprobe(localcloud, "describe-vpcs")          # parsed JSON, rc 0 asserted
        err = awsprobe(localcloud, "describe-key-pairs", "nope", ok=False)["error"]

The probe runs with the local cloud's environment only (none of the host's
AWS variables, no config files, instance metadata disabled unless a test
passes env). AWSPROBE picks the binary; by default the variant that
PCLUSTERFS_BIN names (the sanitizer build under `make integration`'s first
pass, so leaks and undefined behaviour fail the test), else whichever is
built. Backoff delays run at a tenth of the SDKs' unless a test passes
backoff=1.0, so retry tests stay quick."""
import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def probe_binary():
    if os.environ.get("AWSPROBE"):
        return os.environ["AWSPROBE"]
    bin_ = os.environ.get("PCLUSTERFS_BIN", "")
    order = ("asan", "rel") if "/asan/" in bin_ or not bin_ else ("rel", "asan")
    for variant in order:
        p = os.path.join(REPO, "build", variant, "tools", "awsprobe")
        if os.path.exists(p):
            return p
    subprocess.run(["make", "-C", REPO, "build/rel/tools/awsprobe"], check=True,
                   capture_output=True)
    return os.path.join(REPO, "build", "rel", "tools", "awsprobe")


class Probe:
    def __init__(self):
        self.binary = probe_binary()
        self.last = None     # CompletedProcess of the last run

    def __call__(self, lc, *args, ok=True, env=None, drop=(), timeout=120, backoff=0.1):
        e = lc.client_env(AWS_EC2_METADATA_DISABLED="true",
                          ASAN_OPTIONS="detect_leaks=1:abort_on_error=0")
        for k in drop:
            e.pop(k, None)
        e.update(env or {})
        r = subprocess.run([self.binary, "--backoff-scale", str(backoff), *args], env=e, capture_output=True, text=True,
                           timeout=timeout)
        self.last = r
        assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
        try:
            out = json.loads(r.stdout)
        except ValueError:
            raise AssertionError("awsprobe %s printed no JSON (rc %d): %s %s"
                                 % (" ".join(args), r.returncode, r.stdout, r.stderr))
        if ok:
            assert r.returncode == 0, "awsprobe %s failed: %s\n%s" % (" ".join(args), out, r.stderr)
        else:
            assert r.returncode == 1 and "error" in out, (out, r.stderr)
        return out


@pytest.fixture
def awsprobe():
    return Probe()
