"""Security (issue 7): no secret access key, munge key, JWT key or Slurm
token in a file of the tree, in events, in the daemon's log or in user data
(read back with DescribeInstanceAttribute), whose presigned URLs are
short-lived and carry only the key id; the mount is private unless
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

URL_SECONDS_MAX = 6 * 3600     # fs/reconcile.c URL_SECONDS: presigned URLs live 6 hours
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
    urls = re.findall(rb"https?://[^'\"\s]+", ud)
    assert len(urls) == 1, urls
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(urls[0].decode()).query)
    assert 0 < int(q["X-Amz-Expires"][0]) <= URL_SECONDS_MAX
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
        assert any("/launch" in k or "manifest" in k for k in objects), sorted(objects)
        assert_nowhere(secrets, objects)
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


@pytest.mark.boot
@pytest.mark.slow
def test_a_booted_cluster_leaks_no_key_or_token(tmp_path, localcloud_factory):
    """With Slurm up (munge and JWT keys in use, the daemon minting tokens
    for slurmrestd at every refresh), the same surfaces plus the nodes'
    bootstrap logs hold none of them."""
    lc = localcloud_factory(boot=True)
    lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "sec"
        c.mkdir()
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
    finally:
        rc = m.stop()
    surfaces["the daemon's log"] = m.log.read_bytes()
    assert rc == 0, m.log_text()
    assert_nowhere(secrets, surfaces)
