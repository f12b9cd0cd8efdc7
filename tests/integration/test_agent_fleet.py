"""The head's management of static compute nodes (scripts/embed/agent_fleet.py,
slice 3 prototype) against the local cloud (boot off): launching a spec's
static nodes once, terminating what a smaller spec drops, the relaunch cap,
and kill -9 in the middle of a launch leaving exactly the wanted instances."""
import json
import os
import signal
import subprocess
import sys
import time

from agent_modules import EMBED, load
from test_agent_localcloud import cloud  # noqa: F401  (the fixture)


def spec(lc, nodes, generation=1):
    return {"schema": 1, "cluster": "lab3", "owner": lc.bucket, "generation": generation,
            "incarnation": 1700000000, "specId": "0" * 64,
            "launch": {"image": lc.image_id(), "subnets": [lc.subnet_id], "securityGroups": []},
            "queues": [{"name": "compute", "market": "on-demand", "computeResources": [
                {"name": "t2micro", "instanceType": "t2.micro",
                 "staticNodes": ["compute-st-t2micro-%d" % i for i in range(1, nodes + 1)]}]}]}


def live(lc):
    found = lc.ec2.describe_instances({"tag:pclusterfs:cluster": ["lab3"],
                                       "tag:pclusterfs:owner": [lc.bucket],
                                       "instance-state-name": ["pending", "running"]})
    return sorted((i["Tags"]["pclusterfs:node"], i["InstanceId"]) for i in found)


def test_static_nodes_launched_once_and_dropped(cloud, tmp_path):  # noqa: F811
    lc = cloud
    fleet = load("agent_fleet")
    f = fleet.Fleet(lc.ec2, lc.bucket, "lab3", str(tmp_path / "st"), lambda n, a, r: b"#!/bin/sh\n")
    assert f.apply(spec(lc, 2)) is False
    first = live(lc)
    assert [n for n, _ in first] == ["compute-st-t2micro-1", "compute-st-t2micro-2"]
    assert f.apply(spec(lc, 2)) is True and live(lc) == first
    assert f.apply(spec(lc, 1, 2)) is False
    assert live(lc) == first[:1]
    # The token is the workstation's (launch_client_token).
    i = lc.ec2.describe_instances({"instance-id": [first[0][1]]})[0]
    assert i["ClientToken"] == fleet.client_token(lc.bucket, "lab3", 1700000000,
                                                  "compute-st-t2micro-1", 1)


def test_relaunch_cap(cloud, tmp_path):  # noqa: F811
    fleet = load("agent_fleet")
    i, ok = fleet.next_attempt(None, 1, 0)
    assert (i, ok) == ({"attempt": 1, "generation": 1, "tries": 1}, True)
    i, ok = fleet.next_attempt(i, 1, 1)
    i, ok = fleet.next_attempt(i, 1, 1)
    assert ok and i["attempt"] == 3
    i, ok = fleet.next_attempt(i, 1, 1)
    assert not ok                                  # a fourth launch: the cap
    i, ok = fleet.next_attempt(i, 2, 1)
    assert ok and i["attempt"] == 5                # a new generation: a new chance


DRIVER = r"""
import json, sys
sys.path.insert(0, %(embed)r)
sys.dont_write_bytecode = True
import agent_aws, agent_creds, agent_ec2, agent_fleet
creds = agent_creds.ImdsCredentials(endpoint=%(imds)r)
ec2 = agent_ec2.Ec2(agent_aws.Client("ec2", %(region)r, creds, endpoint=%(endpoint)r))
spec = json.loads(%(spec)r)
f = agent_fleet.Fleet(ec2, %(bucket)r, "lab3", %(state)r, lambda n, a, r: b"#!/bin/sh\n")
print(f.apply(spec)); sys.stdout.flush()
"""


def test_kill_9_mid_launch_leaves_exactly_the_wanted(cloud, tmp_path):  # noqa: F811
    lc = cloud
    code = DRIVER % {"embed": EMBED, "imds": lc.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"],
                     "region": lc.region, "endpoint": lc.endpoint, "bucket": lc.bucket,
                     "state": str(tmp_path / "st"), "spec": json.dumps(spec(lc, 3))}
    lc.fault("RunInstances:latency=1500")
    p = subprocess.Popen([sys.executable, "-c", code], env=lc.client_env())
    time.sleep(2.5)                  # the first launch done, the second in flight
    p.send_signal(signal.SIGKILL)
    p.wait()
    lc.clear_faults()
    for _ in range(2):
        r = subprocess.run([sys.executable, "-c", code], env=lc.client_env(),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    time.sleep(2)                    # a launch still in flight when it was killed lands
    nodes = [n for n, _ in live(lc)]
    assert nodes == ["compute-st-t2micro-1", "compute-st-t2micro-2", "compute-st-t2micro-3"]
    assert sorted(os.listdir(tmp_path / "st" / "intents")) == [
        "compute-st-t2micro-%d.json" % i for i in (1, 2, 3)]


def test_presigned_urls_of_the_heads_role(cloud):  # noqa: F811
    """The head presigns a node's GETs and its report's PUT with its own
    (session) credentials; the URL lives no longer than they do, and a
    tampered one is refused."""
    import urllib.error
    import urllib.request
    lc = cloud
    fleet = load("agent_fleet")
    lc.s3.put("clusters/lab3/generated/bootstrap.sh", b"#!/bin/sh\necho hi\n")
    url, life = fleet.presign(lc.s3, "GET", "clusters/lab3/generated/bootstrap.sh", 900)
    assert 0 < life <= 900 and "X-Amz-Security-Token=" in url
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"#!/bin/sh\necho hi\n"
    put, _ = fleet.presign(lc.s3, "PUT", "clusters/lab3/reports/compute-st-t2micro-1", 3600)
    req = urllib.request.Request(put, data=b"state=done\n", method="PUT")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    assert lc.s3.get("clusters/lab3/reports/compute-st-t2micro-1").body == b"state=done\n"
    creds = lc.s3.client.credentials.get()
    _, capped = fleet.presign(lc.s3, "GET", "x", 10 ** 7)
    assert capped <= creds.expires - time.time()
    bad = url.replace("bootstrap.sh", "bootstrap.sh2")
    try:
        urllib.request.urlopen(bad, timeout=10)
        assert False, "a tampered URL was served"
    except urllib.error.HTTPError as e:
        assert e.code == 403


def test_compute_manifest_as_the_workstation_writes_it(cloud):  # noqa: F811
    """The manifest names the node, its attempt, the head's address, and
    presigned URLs that work (stage 2, the munge key, hooks) and a report
    PUT; the user data holds only the manifest's URL."""
    import urllib.request
    lc = cloud
    fleet = load("agent_fleet")
    s = spec(lc, 1, 3)
    s.update(region=lc.region, hooks={"pre": [{"name": "10 a.sh",
                                               "key": "clusters/lab3/hooks/pre/10 a.sh"}],
                                      "post": []})
    s["launch"].update(files={"stage2": "clusters/lab3/generated/bootstrap.sh",
                              "mungeKey": "clusters/lab3/generated/munge.key"},
                       postInstall={"url": "s3://b/p.sh", "args": "-x 1"})
    for k, v in (("generated/bootstrap.sh", b"stage2"), ("generated/munge.key", b"M" * 32),
                 ("hooks/pre/10 a.sh", b"hook")):
        lc.s3.put("clusters/lab3/" + k, v)
    r = s["queues"][0]["computeResources"][0]
    text = fleet.compute_manifest(lc.s3, s, "compute-st-t2micro-1", 2, r, "10.0.0.5")
    lines = text.splitlines()
    assert lines[:11] == ["version 1", "cluster lab3", "node compute-st-t2micro-1",
                          "node_type Compute", "region %s" % lc.region, "head_hostname head",
                          "cpus 1", "memory_mib 512", "attempt 2", "generation 3",
                          "head_address 10.0.0.5"]
    got = {}
    for ln in lines[11:]:
        w = ln.split(" ")
        if w[0] in ("file", "hook"):
            with urllib.request.urlopen(w[-1], timeout=10) as f:
                got[w[1] if w[0] == "file" else w[2]] = f.read()
    assert got == {"stage2": b"stage2", "munge_key": b"M" * 32,
                   fleet.b64("10 a.sh"): b"hook"}
    assert [ln for ln in lines if ln.startswith("install ")] == [
        "install post s3://b/p.sh %s" % fleet.b64("-x 1")]
    assert [ln.split(" ")[0] for ln in lines].count("report") == 1
    ud = fleet.make_user_data(lc.s3, s, "curl <<< '@MANIFEST_URL@'", "10.0.0.5")(
        "compute-st-t2micro-1", 2, r).decode()
    assert "/head/launch/compute-st-t2micro-1/2/manifest?" in ud and "@" not in ud
