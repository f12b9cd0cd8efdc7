"""Security (issues 7 and 11): no secret access key, munge key, JWT key or
Slurm token in a file of the tree, in events, in the daemon's log or in user
data (read back with DescribeInstanceAttribute), whose presigned URLs are
short-lived (minutes) and carry only the key id; on a booted node, a user
other than root (uid 65534) reaches none of them: not through the instance
metadata service, the instance's files, any process's command line, nor the
bucket objects a URL they could read names. The mount is private unless
allow_other is given, and then the kernel checks modes
(default_permissions)."""
import base64
import errno
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse

import pytest

from fixture_mount import Mount, bucket_mount, wait_for

GET_SECONDS_MAX = 15 * 60      # fs/launch.c FETCH_URL_SECONDS: GET URLs live 15 minutes
JWT_RE = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def forms(secret):
    """The ways a secret could leak: raw, base64, base64url, hex."""
    out = {secret, base64.b64encode(secret), base64.urlsafe_b64encode(secret).rstrip(b"="),
           secret.hex().encode()}
    return {f for f in out if len(f) >= 8}


def tree_files(root):
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            if not os.stat(p).st_mode & 0o444:
                continue    # write-only (nodes/<n>/ctl): nothing to read
            with open(p, "rb") as f:
                files[p] = f.read()
    return files


def user_data(lc, iid):
    r = lc.aws_json("ec2", "describe-instance-attribute", "--instance-id", iid,
                    "--attribute", "userData")
    return base64.b64decode(r["UserData"]["Value"])


def our_instances(lc, bucket):
    r = lc.aws_json("ec2", "describe-instances", "--filters",
                    f"Name=tag:pclusterfs:owner,Values={bucket}")
    return [i["InstanceId"] for res in (r or {}).get("Reservations", []) for i in res["Instances"]]


def bucket_object(lc, bucket, key, tmp_path):
    out = tmp_path / "obj"
    lc.aws("s3api", "get-object", "--bucket", bucket, "--key", key, str(out))
    return out.read_bytes()


def bucket_objects_but_keys(lc, bucket):
    """Every object of the bucket but the cluster keys themselves."""
    s3 = lc.client("s3")
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            if not o["Key"].endswith(("/generated/munge.key", "/generated/jwt.key")):
                objects["s3://" + o["Key"]] = s3.get_object(Bucket=bucket,
                                                            Key=o["Key"])["Body"].read()
    return objects


def check_user_data(ud, access_key_id):
    """User data: small, one presigned GET URL, short-lived, key id only."""
    assert len(ud) < 16 * 1024
    urls = [u for u in re.findall(rb"https?://[^'\"\s]+", ud) if b"X-Amz-" in u]
    assert len(urls) == 1, urls
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(urls[0].decode()).query)
    assert 0 < int(q["X-Amz-Expires"][0]) <= GET_SECONDS_MAX
    assert q["X-Amz-Credential"][0].startswith(access_key_id + "/")
    assert q["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and "X-Amz-Signature" in q
    assert not re.search(rb"(?i)aws_secret_access_key|aws_access_key_id|aws_session_token", ud)


def assert_nowhere(secrets, surfaces):
    for sname, secret in secrets.items():
        for f in forms(secret):
            for where, data in surfaces.items():
                assert f not in data, f"{sname} appears in {where}"
    for where, data in surfaces.items():
        assert not JWT_RE.search(data), f"a JWT appears in {where}"


def test_no_secret_in_the_tree_events_log_or_user_data(tmp_path, shared_localcloud):
    lc = shared_localcloud
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "sec"
        c.mkdir()
        (c / "hooks" / "pre" / "10.sh").write_text("echo pre\n")
        (c / "config").write_text(m.good)
        # A config that tries to carry credentials is refused, and they do not echo.
        with pytest.raises(OSError):
            (c / "config").write_text(m.good.replace(
                "[aws]\n", "[aws]\naws_secret_access_key = %s\n" % lc.env["AWS_SECRET_ACCESS_KEY"]))
        assert wait_for(lambda: len(our_instances(lc, bucket)) >= 1, timeout=60)
        assert wait_for(lambda: (c / "nodes" / "head" / "instance_id").exists(), timeout=30)
        surfaces = {p: d for p, d in tree_files(m.path).items()}
        iids = our_instances(lc, bucket)
        for iid in iids:
            surfaces["user data of " + iid] = ud = user_data(lc, iid)
            check_user_data(ud, lc.env["AWS_ACCESS_KEY_ID"])
        secrets = {"secret access key": lc.env["AWS_SECRET_ACCESS_KEY"].encode()}
        if lc.env.get("AWS_SESSION_TOKEN"):
            secrets["session token"] = lc.env["AWS_SESSION_TOKEN"].encode()
        # The cluster's keys, as the launch stored them in the bucket.
        for name in ("munge.key", "jwt.key"):
            secrets[name] = bucket_object(lc, bucket, f"clusters/sec/generated/{name}", tmp_path)
            assert len(secrets[name]) >= 32, name
        # In the bucket the keys live in their own objects (the nodes fetch
        # them by presigned URL); no other object holds them or the AWS key.
        objects = bucket_objects_but_keys(lc, bucket)
        manifests = [k for k in objects if "/launch/" in k and k.endswith("/manifest")]
        assert manifests, sorted(objects)
        assert_nowhere(secrets, objects)
        # Every GET URL of a manifest lives minutes; the report PUT longer.
        for k in manifests:
            for url in re.findall(rb"https?://\S+", objects[k]):
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(url.decode()).query)
                if b"X-Amz-Signature" in url and b"/reports/" not in url:
                    assert 0 < int(q["X-Amz-Expires"][0]) <= GET_SECONDS_MAX, (k, url)
        os.rmdir(c)
    finally:
        rc = m.stop()
    surfaces["the daemon's log"] = m.log.read_bytes()
    assert rc == 0, m.log_text()
    assert_nowhere(secrets, surfaces)


@pytest.fixture
def open_dir():
    """A directory others may enter (pytest's tmp dirs are private to root)."""
    d = tempfile.mkdtemp(prefix="pcfs-perm-")
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def as_nobody(*argv):
    return subprocess.run(NOBODY + list(argv), capture_output=True, text=True, timeout=30)


def test_the_mount_is_private_without_allow_other(open_dir):
    m = Mount(open_dir, options=["memory"]).start()
    try:
        os.mkdir(m / "lab")
        r = as_nobody("ls", str(m.path))
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        r = as_nobody("cat", str(m / "lab" / "status"))
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        assert (m / "lab" / "status").read_text() == "NO_CONFIG\n"   # the owner still can
    finally:
        assert m.stop() == 0, m.log_text()


def test_allow_other_applies_the_modes(open_dir):
    m = Mount(open_dir, options=["memory", "allow_other"]).start()
    try:
        c = m / "lab"
        c.mkdir()
        (c / "config").write_text(m.good)
        (c / "hooks" / "pre" / "10.sh").write_text("echo hi\n")
        # Others read what the modes let them read ...
        r = as_nobody("cat", str(c / "status"), str(c / "config"), str(c / "hooks/pre/10.sh"))
        assert r.returncode == 0, r.stderr
        assert r.stdout.endswith("\n" + m.good + "echo hi\n"), r.stdout
        assert as_nobody("ls", "-lR", str(m.path)).returncode == 0
        # ... and change nothing: every write is EACCES from the kernel.
        for argv in (["sh", "-c", f"echo x > {c}/config"],
                     ["sh", "-c", f"echo x > {c}/hooks/pre/20.sh"],
                     ["sh", "-c", f"echo x >> {c}/hooks/pre/10.sh"],
                     ["mkdir", str(m / "other")],
                     ["rm", "-f", str(c / "hooks/pre/10.sh")],
                     ["rmdir", str(c)],
                     ["truncate", "-s", "0", str(c / "config")]):
            r = as_nobody(*argv)
            assert r.returncode != 0 and "Permission denied" in r.stderr, (argv, r)
        assert (c / "config").read_text() == m.good
        assert os.listdir(c / "hooks" / "pre") == ["10.sh"]
        assert (c / "hooks" / "pre" / "10.sh").read_text() == "echo hi\n"
        assert sorted(os.listdir(m.path)) == ["lab"]
    finally:
        assert m.stop() == 0, m.log_text()


# A pre hook leaves this running as nobody for the rest of the bootstrap:
# every command line it sees, of every process, goes to CMDLINES.
CMDLINES = "/tmp/cmdlines-seen-by-nobody"
SAMPLER_HOOK = r"""#!/bin/bash
cat > /tmp/sampler.py <<'PY'
import os, time
seen, end = set(), time.time() + 900
while time.time() < end:
    for p in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                c = f.read()
        except (OSError, ValueError):
            continue
        if c not in seen:
            seen.add(c)
            with open("CMDLINES", "ab") as o:
                o.write(c.replace(b"\0", b" ") + b"\n")
    time.sleep(0.002)
PY
chmod 644 /tmp/sampler.py    # the bootstrap's umask is 077
setsid setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 /tmp/sampler.py \
  < /dev/null > /dev/null 2>&1 &
echo $! > /tmp/sampler.pid
for i in $(seq 1 50); do [ -s CMDLINES ] && break; sleep 0.1; done
[ -s CMDLINES ] && echo sampler started
""".replace("CMDLINES", CMDLINES)
URL_RE = re.compile(rb"https?://[^\s'\"]+")
PRIVATE = ["/run/localcloud", "/run/localcloud/user-data", "/var/lib/cloud/instance/user-data.txt",
           "/var/lib/pclusterfs", "/var/lib/pclusterfs/manifest",
           "/var/lib/pclusterfs/bootstrap.log", "/etc/munge/munge.key",
           "/var/spool/slurmctld/jwt_hs256.key"]


def in_node(lc, iid, script, nobody=False, timeout=120):
    """Runs a shell script inside the instance (all its namespaces), as root
    or as uid 65534."""
    unshare = int(open(os.path.join(lc.dir, "instances", iid, "pid")).read())
    with open("/proc/%d/task/%d/children" % (unshare, unshare)) as f:
        pid = f.read().split()[0]        # the instance's init: its PID namespace is ours
    return subprocess.run(["nsenter", "-t", pid, "-m", "-u", "-n", "-p", "--", "env", "-i",
                           "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "IMDS=" + imds(lc),
                           *(NOBODY if nobody else []), "/bin/sh", "-c", script],
                          capture_output=True, timeout=timeout)


def imds(lc):
    return lc.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/")


IMDS_USER_DATA = """T=$(curl -sS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
  $IMDS/latest/api/token) && curl -sS -m 5 -H "X-aws-ec2-metadata-token: $T" $IMDS/latest/user-data \
  && curl -sS -m 5 -H "X-aws-ec2-metadata-token: $T" $IMDS/latest/meta-data/instance-id"""


def check_node_as_nobody(lc, iid, node, secrets):
    """What uid 65534 reaches on a booted node: returns every text it could
    read (for the URLs in it). Each channel is checked as root first, so that
    a refusal means the channel is closed, not that it is not there."""
    seen = {}
    # Command lines: all the bootstrap ran after its first pre hook (sampled
    # as nobody; stopped first, so that it sees none of this test's own).
    r = in_node(lc, iid, "kill $(cat /tmp/sampler.pid) && cat " + CMDLINES)
    assert r.returncode == 0 and b"bootstrap.sh" in r.stdout, (node, r)
    seen["command lines during the bootstrap of " + node] = r.stdout
    # The metadata service: root gets the user data, nobody nothing at all.
    r = in_node(lc, iid, IMDS_USER_DATA)
    assert r.returncode == 0 and b"X-Amz-Signature" in r.stdout, (node, r)
    r = in_node(lc, iid, IMDS_USER_DATA, nobody=True)
    assert r.returncode != 0 and b"X-Amz-Signature" not in r.stdout, (node, r)
    seen["IMDS as nobody on " + node] = r.stdout
    # The instance's files: what holds URLs or keys is root's (and the
    # key's daemon's); slurm.conf is for everyone.
    for path in PRIVATE:
        exists = in_node(lc, iid, "test -e " + path).returncode == 0
        if not exists and (path.endswith(("manifest", "jwt_hs256.key"))):
            continue   # deleted after the bootstrap / a compute node has no JWT key
        assert exists, (node, path)
        r = in_node(lc, iid, "if [ -d %s ]; then ls %s; else cat %s; fi" % ((path,) * 3),
                    nobody=True)
        assert r.returncode != 0 and b"Permission denied" in r.stderr, (node, path, r)
    r = in_node(lc, iid, "stat -c '%U %a' /etc/munge/munge.key; cat /etc/munge/munge.key")
    assert r.stdout.startswith(b"munge 400\n") and r.stdout[10:] == secrets["munge.key"], node
    if node == "head":
        r = in_node(lc, iid, "stat -c '%U %a' /var/spool/slurmctld/jwt_hs256.key")
        assert r.stdout == b"slurm 400\n", r
        r = in_node(lc, iid, "cat /etc/slurm/slurm.conf", nobody=True)
        assert r.returncode == 0 and b"ClusterName=" in r.stdout, (node, r)
        # slurmrestd (holding callers' tokens) runs as a user of its own
        r = in_node(lc, iid, "ps -o user= -C slurmrestd")
        assert r.stdout.split() == [b"slurmrestd"], r
    # Every file nobody can read where a node keeps state.
    r = in_node(lc, iid, "grep -rlsI -e X-Amz-Signature -e X-Amz-Credential /run /var /etc "
                "/tmp /root /home /opt /srv 2>/dev/null | grep -v -x %s" % CMDLINES, nobody=True)
    assert r.stdout == b"", (node, r.stdout)
    # Command lines of every process now.
    r = in_node(lc, iid, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '", nobody=True)
    assert b"munged" in r.stdout, r
    seen["command lines on " + node] = r.stdout
    for where, text in seen.items():
        assert b"X-Amz-Signature" not in text, where
    assert_nowhere(secrets, seen)
    return seen


@pytest.mark.boot
@pytest.mark.slow
def test_a_booted_cluster_leaks_no_key_or_token(tmp_path, localcloud_factory):
    """With Slurm up (munge and JWT keys in use, the daemon minting tokens
    for slurmrestd at every refresh), the same surfaces plus the nodes'
    bootstrap logs hold none of them, and on each node a user other than
    root reaches no key and no URL (issue 11)."""
    lc = localcloud_factory(boot=True)
    lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "sec"
        c.mkdir()
        (c / "hooks" / "pre" / "00-sampler.sh").write_text(SAMPLER_HOOK)
        (c / "hooks" / "post" / "10.sh").write_text("echo post; env | sort\n")
        (c / "config").write_text(m.good.replace("scheduler = slurm\n",
                                                 "scheduler = slurm\ninitial_queue_size = 1\n"))

        def status():
            return (c / "status").read_text().strip()
        assert wait_for(lambda: status() in ("CREATE_COMPLETE", "CREATE_FAILED"), timeout=300,
                        step=2)
        assert status() == "CREATE_COMPLETE", (c / "events").read_text()
        # A few refreshes, each asking slurmrestd with a fresh token.
        def slurm_states():
            return [(n / "slurm_state").read_text().strip() for n in (c / "nodes").iterdir()]
        assert wait_for(lambda: any(s not in ("", "none") for s in slurm_states()), timeout=30)
        surfaces = tree_files(m.path)
        assert any(p.endswith("bootstrap.log") and len(d) > 0 for p, d in surfaces.items())
        for iid in our_instances(lc, bucket):
            surfaces["user data of " + iid] = ud = user_data(lc, iid)
            check_user_data(ud, lc.env["AWS_ACCESS_KEY_ID"])
        secrets = {"secret access key": lc.env["AWS_SECRET_ACCESS_KEY"].encode()}
        for name in ("munge.key", "jwt.key"):
            secrets[name] = bucket_object(lc, bucket, f"clusters/sec/generated/{name}", tmp_path)
        # The nodes' reports (their whole bootstrap output) are in the bucket.
        objects = bucket_objects_but_keys(lc, bucket)
        assert any("report" in k for k in objects), sorted(objects)
        assert_nowhere(secrets, objects)
        # On the nodes, as nobody.
        seen = {}
        nodes = {n.name: (n / "instance_id").read_text().strip() for n in (c / "nodes").iterdir()
                 if "-dy-" not in n.name}   # powered down: no instance
        assert sorted(nodes) == ["compute-st-t2micro-1", "head"], nodes
        for node, iid in nodes.items():
            seen.update(check_node_as_nobody(lc, iid, node, secrets))
        # A presigned URL nobody could read anywhere gets nothing from the
        # bucket (there should be none: this holds if one slips through).
        for where, text in seen.items():
            for url in (u for u in URL_RE.findall(text) if b"X-Amz-Signature" in u):
                r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-K",
                                    "-"], input=b'url = "%s"\n' % url, capture_output=True)
                assert not r.stdout.startswith(b"2"), (where, url)
    finally:
        rc = m.stop()
    surfaces["the daemon's log"] = m.log.read_bytes()
    assert rc == 0, m.log_text()
    assert_nowhere(secrets, surfaces)
