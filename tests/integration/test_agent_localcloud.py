"""The head node's agent against the local cloud (boot off): its IMDS
credentials, EC2 and S3 clients (retries bounded, a lost RunInstances answer
giving back the same instance through its ClientToken), and its publisher of
Slurm's view, which PUTs only when the view changes beyond its volatile
fields, both in-process against a stand-in slurmrestd serving Slurm 24.11's
recorded answers and as the real program (agent.sh) against this machine's
Slurm."""
import hashlib
import json
import os
import re
import secrets
import stat
import subprocess
import time

import pytest

from agent_modules import EMBED, REPO, SLURM_DATA, FakeSlurmrestd, load


def agent(name):
    return load(name)


@pytest.fixture
def cloud(localcloud):
    """The local cloud, a bucket in it, and the agent's clients on the
    credentials the IMDS hands out (the host gets the test role's)."""
    lc = localcloud
    bucket = "agent-" + secrets.token_hex(4)
    lc.client("s3").create_bucket(Bucket=bucket,
                                  CreateBucketConfiguration={"LocationConstraint": lc.region})
    aws, creds = agent("agent_aws"), agent("agent_creds")
    lc.creds = creds.ImdsCredentials(endpoint=lc.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"])
    lc.bucket = bucket
    lc.ec2 = agent("agent_ec2").Ec2(aws.Client("ec2", lc.region, lc.creds, endpoint=lc.endpoint,
                                              backoff=0.01))
    lc.s3 = agent("agent_s3").S3(aws.Client("s3", lc.region, lc.creds, endpoint=lc.endpoint,
                                            backoff=0.01), bucket, lc.account_id)
    return lc


def audit(lc, action=None):
    """The local cloud's audit entries (who signed what), oldest first."""
    try:
        with open(os.path.join(lc.dir, "audit.jsonl")) as f:
            entries = [json.loads(ln) for ln in f if ln.strip()]
    except FileNotFoundError:
        return []
    return [e for e in entries if action is None or e["action"] == action]


def test_imds_credentials_are_the_roles_and_refreshed(cloud):
    creds_mod = agent("agent_creds")
    c = cloud.creds.get()
    assert c.access_key_id.startswith("ASIA") and c.session_token and c.expires > time.time()
    assert cloud.creds.get() is c                    # fresh ones are reused
    clock = [time.time()]
    near = creds_mod.ImdsCredentials(endpoint=cloud.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"],
                                     clock=lambda: clock[0])
    first = near.get()
    clock[0] = first.expires - creds_mod.REFRESH_BEFORE + 1   # about to expire: fetched again
    assert near.get() is not first
    assert "Secret" not in repr(first) and first.secret_access_key not in repr(first)
    bad = creds_mod.ImdsCredentials(endpoint="http://127.0.0.1:9/", timeout=0.5)
    with pytest.raises(creds_mod.CredentialsError):
        bad.get()


def test_ec2_run_describe_terminate_with_tags_and_client_token(cloud):
    lc = cloud
    aws = agent("agent_aws")
    key = lc.creds.get().access_key_id
    tags = {"pclusterfs:cluster": "lab3", "pclusterfs:node": "compute-st-t2micro-1",
            "pclusterfs:node-type": "Compute", "pclusterfs:owner": lc.bucket,
            "Name": "lab3-compute-st-t2micro-1"}
    image = lc.image_id()
    token = "agent-" + secrets.token_hex(8)
    # The first answer is lost after it took effect: the retry, with the
    # same ClientToken, must come back with the same instance.
    lc.fault("RunInstances:throttle:after:1")
    a = lc.ec2.run_instance(image, "t2.micro", token, tags, subnet_id=lc.subnet_id)
    assert a["InstanceId"].startswith("i-") and a["InstanceType"] == "t2.micro"
    b = lc.ec2.run_instance(image, "t2.micro", token, tags, subnet_id=lc.subnet_id)
    assert b["InstanceId"] == a["InstanceId"]
    other = lc.ec2.run_instance(image, "t2.micro", token + "x", dict(tags, **{
        "pclusterfs:cluster": "lab30"}), subnet_id=lc.subnet_id)

    found = lc.ec2.describe_instances({"tag:pclusterfs:cluster": ["lab3"],
                                       "instance-state-name": ["pending", "running"]})
    assert [i["InstanceId"] for i in found] == [a["InstanceId"]]
    assert found[0]["Tags"] == tags and found[0]["ClientToken"] == token
    assert found[0]["PrivateIpAddress"]
    # Seen by the AWS CLI too: the volume tags came with the launch.
    cli = lc.aws_json("ec2", "describe-instances", "--instance-ids", a["InstanceId"])
    got = {t["Key"]: t["Value"] for t in cli["Reservations"][0]["Instances"][0]["Tags"]}
    assert got == tags

    states = lc.ec2.terminate_instances([a["InstanceId"]])
    assert states[a["InstanceId"]] in ("shutting-down", "terminated")
    deadline = time.time() + 20
    while True:
        st = lc.ec2.describe_instances({"instance-id": [a["InstanceId"]]})[0]["State"]
        if st == "terminated" or time.time() > deadline:
            break
        time.sleep(0.2)
    assert st == "terminated"
    live = lc.ec2.describe_instances({"instance-state-name": ["pending", "running"]})
    assert [i["InstanceId"] for i in live] == [other["InstanceId"]]

    # An error EC2 means (a bad AMI) is not retried; every call was signed
    # with the IMDS's key.
    before = len(audit(lc, "RunInstances"))
    with pytest.raises(aws.AwsError) as e:
        lc.ec2.run_instance("ami-00000000000000000", "t2.micro", token + "y", tags)
    assert e.value.code.startswith("InvalidAMIID"), e.value
    assert len(audit(lc, "RunInstances")) == before + 1
    # (the AWS CLI above used the test's own key)
    for action in ("RunInstances", "DescribeInstances", "TerminateInstances"):
        keys = {x["access_key"] for x in audit(lc, action)} - {lc.env["AWS_ACCESS_KEY_ID"]}
        assert keys == {key}, action


def test_ec2_retries_are_bounded(cloud):
    aws = agent("agent_aws")
    cloud.fault("DescribeInstances:503:before:0")
    before = len(audit(cloud, "DescribeInstances"))
    t0 = time.time()
    with pytest.raises(aws.AwsError) as e:
        cloud.ec2.describe_instances({})
    assert e.value.status == 503
    assert time.time() - t0 < 10
    tries = len(audit(cloud, "DescribeInstances")) - before
    assert tries == cloud.ec2.client.attempts, tries
    cloud.clear_faults()
    assert cloud.ec2.describe_instances({"tag:pclusterfs:cluster": ["none"]}) == []


def test_s3_get_put_list_delete_with_etags_and_owner(cloud):
    lc = cloud
    aws, s3_mod = agent("agent_aws"), agent("agent_s3")
    key = "clusters/lab3/head/slurm/probe"
    etag = lc.s3.put(key, b"one", "text/plain")
    assert etag == '"%s"' % hashlib.md5(b"one").hexdigest()
    got = lc.s3.get(key)
    assert got.body == b"one" and got.etag == etag
    assert lc.s3.get(key, if_none_match=etag) is None          # 304: unchanged
    lc.s3.put(key, b"two")
    assert lc.s3.get(key, if_none_match=etag).body == b"two"
    for i in range(3):
        lc.s3.put("clusters/lab3/head/acks/%d" % i, b"x")
    listed = lc.s3.list("clusters/lab3/head/")
    assert [o.key for o in listed] == ["clusters/lab3/head/acks/0", "clusters/lab3/head/acks/1",
                                       "clusters/lab3/head/acks/2", key]
    assert all(o.etag and o.last_modified for o in listed)
    # A key needing encoding survives the round trip (signed as sent).
    odd = "clusters/lab3/head/slurm/a b+c~(1).json"
    lc.s3.put(odd, b"odd")
    assert lc.s3.get(odd).body == b"odd"
    lc.s3.delete(odd)
    with pytest.raises(aws.AwsError) as e:
        lc.s3.get(odd)
    assert e.value.code == "NoSuchKey" and e.value.status == 404
    # The bucket's owner is checked on every call.
    wrong = s3_mod.S3(lc.s3.client, lc.bucket, "999999999999")
    with pytest.raises(aws.AwsError) as e:
        wrong.get(key)
    assert e.value.code == "AccessDenied"
    with pytest.raises(ValueError):
        s3_mod.S3(lc.s3.client, lc.bucket, "")


def test_published_keys_are_the_layouts_head_keys():
    # fs/store/layout.c's writer table gives head/slurm/ to the head, and
    # layout.h names the two objects the workstation reads there.
    table = open(os.path.join(REPO, "fs", "store", "layout.c")).read()
    assert re.search(r'\{"head/slurm/",\s*LAYOUT_BY_HEAD,', table)
    header = open(os.path.join(REPO, "fs", "store", "layout.h")).read()
    names = dict(re.findall(r'#define (LAYOUT_HEAD_SLURM_\w+) "([^"]+)"', header))
    pub = agent("agent_publish")
    assert names == {"LAYOUT_HEAD_SLURM_VIEW": pub.VIEW_NAME,
                     "LAYOUT_HEAD_SLURM_HEARTBEAT": pub.HEARTBEAT_NAME}
    for name in names.values():
        assert pub.head_slurm_key("lab3", name) == "clusters/lab3/head/slurm/" + name


def test_pick_version_as_slurm_client_does():
    sl = agent("agent_slurm")
    for gen, want in (("24.11", 42), ("22.05", 38)):
        with open(os.path.join(SLURM_DATA, gen, "openapi_v3.json")) as f:
            assert sl.pick_version(json.load(f)) == want
    with pytest.raises(sl.SlurmError, match="offers: v0.0.37"):
        sl.pick_version({"paths": {"/slurm/v0.0.37/nodes": {}}})


# ---------- the publisher ----------
@pytest.fixture
def fake_slurm():
    f = FakeSlurmrestd(secrets.token_bytes(32))
    yield f
    f.close()


def test_publisher_puts_only_on_change(cloud, fake_slurm, tmp_path):
    lc = cloud
    pub_mod, sl = agent("agent_publish"), agent("agent_slurm")
    clock = [1000000.0]
    state = str(tmp_path / "agent-state")

    def publisher():
        return pub_mod.Publisher(lc.s3, sl.Slurmrestd(fake_slurm.url, fake_slurm.key),
                                 "lab3", "i-0123456789abcdef0", state, heartbeat=60,
                                 clock=lambda: clock[0])

    def view():
        return json.loads(lc.s3.get(pub_mod.head_slurm_key("lab3", "view.json")).body)

    p = publisher()
    puts = len(audit(lc, "PutObject"))
    assert p.cycle() == ["view", "heartbeat"]
    assert len(audit(lc, "PutObject")) == puts + 2
    v = view()
    assert v["format"] == 1 and v["cluster"] == "lab3" and v["api_version"] == "v0.0.42"
    assert v["instance_id"] == "i-0123456789abcdef0"
    assert v["nodes"] == fake_slurm.docs["/slurm/v0.0.42/nodes"]
    assert set(v) >= {"nodes", "partitions", "jobs", "ping", "observed_at"}
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    for f in os.listdir(state):
        assert stat.S_IMODE(os.stat(os.path.join(state, f)).st_mode) == 0o600, f

    # Load, free memory, stamps and latency move: nothing is PUT.
    clock[0] += 10
    for n in fake_slurm.nodes():
        n["cpu_load"] = {"set": True, "infinite": False, "number": 777}
        n["free_mem"] = {"set": True, "infinite": False, "number": 12345}
    for part in ("nodes", "jobs"):
        fake_slurm.docs["/slurm/v0.0.42/" + part]["last_update"] = {"number": 2000000000}
        fake_slurm.docs["/slurm/v0.0.42/" + part]["meta"]["client"]["source"] = "elsewhere"
    fake_slurm.docs["/slurm/v0.0.42/ping"]["pings"][0]["latency"] = 99999
    puts = len(audit(lc, "PutObject"))
    assert p.cycle() == []
    assert len(audit(lc, "PutObject")) == puts

    # A node drained: the view is PUT again, with it.
    clock[0] += 10
    fake_slurm.nodes()[0]["state"] = ["IDLE", "DRAIN"]
    fake_slurm.nodes()[0]["reason"] = "disk check"
    assert p.cycle() == ["view"]
    assert view()["nodes"]["nodes"][0]["reason"] == "disk check"
    assert p.cycle() == []

    # A minute with no change: one heartbeat, naming the view's ETag.
    clock[0] += 61
    assert p.cycle() == ["heartbeat"]
    hb = json.loads(lc.s3.get(pub_mod.head_slurm_key("lab3", "heartbeat")).body)
    assert hb["error"] is None and hb["view_etag"] == \
        lc.s3.get(pub_mod.head_slurm_key("lab3", "view.json")).etag

    # A restarted agent publishes nothing that is already there ...
    assert publisher().cycle() == []
    # ... but puts back a view that went behind its back.
    lc.s3.delete(pub_mod.head_slurm_key("lab3", "view.json"))
    assert publisher().cycle() == ["view"]
    assert view()["nodes"]["nodes"][0]["reason"] == "disk check"

    # slurmrestd gone: the heartbeat says so at once, the view stays.
    fake_slurm.close()
    assert p.cycle() == ["heartbeat"]
    hb = json.loads(lc.s3.get(pub_mod.head_slurm_key("lab3", "heartbeat")).body)
    assert "slurmrestd at %s" % fake_slurm.url in hb["error"]
    assert p.cycle() == []


def test_publisher_refuses_a_state_dir_of_another_user(cloud, fake_slurm, tmp_path):
    pub_mod, sl = agent("agent_publish"), agent("agent_slurm")
    d = tmp_path / "theirs"
    d.mkdir(mode=0o755)
    os.chown(d, 65534, 65534)
    with pytest.raises(OSError, match="uid 65534"):
        pub_mod.Publisher(cloud.s3, sl.Slurmrestd(fake_slurm.url, fake_slurm.key), "lab3",
                          "i-0123456789abcdef0", str(d))
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    pub_mod.Publisher(cloud.s3, sl.Slurmrestd(fake_slurm.url, fake_slurm.key), "lab3",
                      "i-0123456789abcdef0", str(mine))
    assert stat.S_IMODE(os.stat(mine).st_mode) == 0o700


def test_agent_program_publishes_a_real_slurm(cloud, slurm_cluster_host, tmp_path):
    """agent.sh CONFIG --once, as the head will run it, against this
    machine's Slurm (22.05, API v0.0.38) and the local cloud."""
    lc, sc = cloud, slurm_cluster_host
    cfg = tmp_path / "agent.json"
    cfg.write_text(json.dumps({
        "cluster": "lab3", "bucket": lc.bucket, "bucket_owner": lc.account_id,
        "region": lc.region, "state_dir": str(tmp_path / "state"),
        "instance_id": "i-0123456789abcdef0",   # the host is no instance: the IMDS has none
        "slurmrestd": sc.rest_url, "jwt_key_file": sc.write_client_key()}))
    env = {k: v for k, v in lc.client_env().items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    key = "clusters/lab3/head/slurm/view.json"

    def once():
        r = subprocess.run(["sh", os.path.join(EMBED, "agent.sh"), str(cfg), "--once"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stderr

    once()
    first = lc.s3.get(key)
    v = json.loads(first.body)
    assert v["api_version"] == "v0.0.38"
    assert sorted(n["name"] for n in v["nodes"]["nodes"]) == ["n1", "n2", "n3", "n4"]
    assert v["ping"]["pings"][0]["ping"] == "UP"
    once()
    assert lc.s3.get(key, if_none_match=first.etag) is None       # unchanged: not PUT
    sc.run("scontrol", "update", "nodename=n2", "state=drain", "reason=agent test")
    try:
        once()
        v = json.loads(lc.s3.get(key).body)
        n2 = [n for n in v["nodes"]["nodes"] if n["name"] == "n2"][0]
        assert n2["reason"] == "agent test"
        second = lc.s3.get(key).etag
        assert second != first.etag
        once()
        assert lc.s3.get(key, if_none_match=second) is None    # unchanged: not PUT
    finally:
        sc.run("scontrol", "update", "nodename=n2", "state=resume", check=False)
    # Every request was signed with the IMDS's key, none with the host's.
    assert lc.env["AWS_ACCESS_KEY_ID"] not in {e["access_key"] for e in audit(lc, "PutObject")}


def _spec(lc, cluster, generation, extra=""):
    doc = {"schema": 1, "cluster": cluster, "owner": lc.bucket, "generation": generation,
           "incarnation": 1700000000, "region": lc.region, "launch": {"image": "ami-1"},
           "hooks": {"pre": [], "post": []}, "queues": [], "note": extra}
    doc["specId"] = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return doc


class _Counting:
    """The agent's S3 client, counting its requests."""

    def __init__(self, s3):
        self.s3, self.calls = s3, []

    def __getattr__(self, name):
        f = getattr(self.s3, name)

        def counted(*a, **kw):
            self.calls.append(name)
            return f(*a, **kw)
        return counted


def test_spec_follower_reads_on_etag_change_and_acks_once(cloud, tmp_path):
    """The fleet spec is read only when its ETag changes (a conditional GET
    a round otherwise), acknowledged once per spec under head/acks/, across
    a restart too; a spec not of this cluster is refused, and nothing is
    acknowledged for it."""
    lc = cloud
    spec_mod = agent("agent_spec")
    s3 = lc.client("s3")
    key, ack_key = "clusters/lab3/fleet/spec.json", "clusters/lab3/head/acks/fleet.json"
    state = str(tmp_path / "state")
    logs = []
    counting = _Counting(lc.s3)

    def follower():
        return spec_mod.SpecFollower(counting, "lab3", lc.bucket, "i-0123456789abcdef0", state,
                                     clock=lambda: 1700000100, log=logs.append)

    f = follower()
    assert f.cycle() is None and not f.spec                 # no spec yet: nothing to ack
    one = _spec(lc, "lab3", 1)
    s3.put_object(Bucket=lc.bucket, Key=key, Body=json.dumps(one).encode())
    assert f.cycle() == 1
    ack = json.loads(lc.s3.get(ack_key).body)
    assert ack == {"format": 1, "cluster": "lab3", "instance_id": "i-0123456789abcdef0",
                   "generation": 1, "specId": one["specId"], "appliedAt": "2023-11-14T22:15:00Z"}
    # Unchanged: one conditional GET a round, no PUT.
    counting.calls.clear()
    for _ in range(3):
        assert f.cycle() is None
    assert counting.calls == ["get"] * 3
    # A restart: the same ETag asked for, nothing acknowledged again.
    counting.calls.clear()
    assert follower().cycle() is None
    assert counting.calls == ["get"]
    mode = os.stat(state).st_mode
    assert stat.S_IMODE(mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(state, "fleet_spec.json")).st_mode) == 0o600
    # A new generation is taken and acknowledged.
    two = _spec(lc, "lab3", 2)
    s3.put_object(Bucket=lc.bucket, Key=key, Body=json.dumps(two).encode())
    f = follower()
    assert f.cycle() == 2
    assert json.loads(lc.s3.get(ack_key).body)["specId"] == two["specId"]
    # Another cluster's spec, or garbage, is refused (told once); the last good one stays.
    for bad in (json.dumps(_spec(lc, "other", 3)).encode(), b"{not json"):
        s3.put_object(Bucket=lc.bucket, Key=key, Body=bad)
        logs.clear()
        assert f.cycle() is None and f.cycle() is None
        assert len([m for m in logs if "refused" in m]) == 1, logs
        assert f.spec["generation"] == 2
        assert json.loads(lc.s3.get(ack_key).body)["generation"] == 2
    # What is applied is the caller's: not applied, not acknowledged.
    three = _spec(lc, "lab3", 3)
    s3.put_object(Bucket=lc.bucket, Key=key, Body=json.dumps(three).encode())
    held = spec_mod.SpecFollower(lc.s3, "lab3", lc.bucket, "i-0123456789abcdef0", state,
                                 apply=lambda spec: False)
    assert held.cycle() is None and held.spec["generation"] == 3
    assert json.loads(lc.s3.get(ack_key).body)["generation"] == 2
