"""The head node's agent, offline: its SigV4 signer on AWS's test suite (the
vectors aws/'s unit test uses, header form), Python 3.6 syntax in every
module, its JWTs as Slurm's auth/jwt reads them, and the launcher finding
an interpreter."""
import ast
import base64
import calendar
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

import pytest

from agent_modules import EMBED, REPO, load, sources

SUITE = os.path.join(REPO, "tests", "data", "aws-sigv4-test-suite")
CASES = sorted(d for d in os.listdir(SUITE) if os.path.isdir(os.path.join(SUITE, d)))


class Creds:
    def __init__(self, d):
        self.access_key_id = d["access_key_id"]
        self.secret_access_key = d["secret_access_key"]
        self.session_token = d.get("token")


def parse_request(text):
    """(method, path, query, [(name, value)], body) of a suite request.txt;
    indented lines continue the previous header's value."""
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.rpartition(" ")[0]          # the path may hold spaces
    path, _, query = target.partition("?")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        if line[:1] in (" ", "\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + "\n" + line)
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return method, path, query, headers, body.encode("utf-8")


def read(case, name):
    with open(os.path.join(SUITE, case, name), encoding="utf-8") as f:
        return f.read()


def test_the_suite_is_all_there():
    assert len(CASES) >= 30, CASES        # a lost copy must not pass as an empty run


@pytest.mark.parametrize("case", CASES)
def test_sigv4_suite_header_form(case):
    sigv4 = load("agent_sigv4")
    ctx = json.loads(read(case, "context.json"))
    method, path, query, headers, body = parse_request(read(case, "request.txt"))
    now = calendar.timegm(time.strptime(ctx["timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
    s = sigv4.sign(method, path, sigv4.parse_query(query), headers, body, ctx["service"],
                   ctx["region"], Creds(ctx["credentials"]), now=now,
                   normalize=ctx["normalize"], sign_body=ctx["sign_body"],
                   omit_session_token=ctx.get("omit_session_token", False))
    assert s.canonical_request == read(case, "header-canonical-request.txt")
    assert s.string_to_sign == read(case, "header-string-to-sign.txt")
    assert s.signature == read(case, "header-signature.txt").strip()
    # The headers it adds are the ones the suite's signed request shows.
    signed = read(case, "header-signed-request.txt").partition("\n\n")[0].split("\n")[1:]
    want = {ln.partition(":")[0].lower(): ln.partition(":")[2] for ln in signed}
    for name, value in s.add_headers:
        assert want.get(name.lower()) == value, (name, value)


def test_every_agent_module_is_python_3_6():
    srcs = sources()
    assert {"agent_sigv4.py", "agent_creds.py", "agent_aws.py", "agent_ec2.py", "agent_s3.py",
            "agent_jwt.py", "agent_slurm.py", "agent_publish.py", "agent_main.py",
            "agent_spec.py"} <= set(srcs)
    for name, src in srcs.items():
        ast.parse(src, filename=name, feature_version=(3, 6))


def test_the_syntax_check_can_fail():
    # A walrus (3.8) must not pass as 3.6: the check above is a real one.
    with pytest.raises(SyntaxError):
        ast.parse("if (x := 1):\n    pass\n", feature_version=(3, 6))


def test_agent_uses_only_the_standard_library():
    stdlib = set(sys.stdlib_module_names)
    own = {n[:-3] for n in sources()}
    for name, src in sources().items():
        for node in ast.walk(ast.parse(src)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) else []
            for m in mods:
                top = m.split(".")[0]
                assert top in stdlib or top in own, "%s imports %s" % (name, m)


def test_jwt_is_hs256_as_slurm_reads_it():
    jwt = load("agent_jwt")
    key = b"\x00k3y\xff" * 8
    tok = jwt.mint(key, "slurm", lifetime=300, now=1700000000)
    h, c, sig = tok.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(h))) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(base64.urlsafe_b64decode(pad(c))) == \
        {"exp": 1700000300, "iat": 1700000000, "sun": "slurm"}
    want = hmac.new(key, (h + "." + c).encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(pad(sig)) == want
    assert "=" not in tok
    with pytest.raises(ValueError):
        jwt.mint(b"", "slurm")


def test_launcher_finds_python3():
    r = subprocess.run(["sh", os.path.join(EMBED, "agent.sh"), "--which"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "/usr/bin/python3"
    r = subprocess.run(["sh", os.path.join(EMBED, "agent.sh")], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "usage" in r.stderr, (r.returncode, r.stderr)


FALLBACK = """
set -e
real=$(readlink -f /usr/bin/python3)
# An image without /usr/bin/python3: a /usr/bin with only what this needs.
mount -t tmpfs pcfs-test /opt
mkdir /opt/usr-bin
mount --bind /usr/bin /opt/usr-bin
mount -t tmpfs pcfs-test /usr/bin
for n in sh dirname mkdir ln; do
  /opt/usr-bin/ln -s "$(/opt/usr-bin/readlink -f /opt/usr-bin/$n)" /usr/bin/$n
done
if [ "$1" = cookbook ]; then
  d=/opt/parallelcluster/pyenv/versions/3.6.9/envs/cookbook_virtualenv/bin
  mkdir -p "$d" && ln -s "/opt/usr-bin/${real##*/}" "$d/python3"
fi
sh "$2" --which
"""


@pytest.mark.parametrize("image", ["cookbook", "none"])
def test_launcher_falls_back_to_parallelclusters_python(image):
    # In a mount namespace of its own, so nothing here changes the host.
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", FALLBACK, "sh",
                        image, os.path.join(EMBED, "agent.sh")],
                       capture_output=True, text=True, timeout=30)
    if image == "cookbook":
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == \
            "/opt/parallelcluster/pyenv/versions/3.6.9/envs/cookbook_virtualenv/bin/python3"
    else:
        assert r.returncode == 1 and "no Python 3.6+ found" in r.stderr, (r.returncode, r.stderr)

