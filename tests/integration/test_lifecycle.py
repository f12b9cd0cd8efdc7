"""Clusters for real (issue 6): a config written through the mount becomes
EC2 instances in the local cloud whose own bootstrap brings up munge,
slurmctld, slurmrestd and slurmd; status, nodes/ and events follow it; hooks
run on every node; failures are reported with v3 codes and stop billing;
updates resize; rmdir ends it. The local cloud boots instances for real."""
import json
import os
import re
import signal
import subprocess

import pytest

from fixture_mount import Mount, bucket_mount
from fixture_mount import wait_for as _wait_for

pytestmark = [pytest.mark.boot, pytest.mark.slow]

BOOT_WAIT = 240


def wait_for(pred, timeout=BOOT_WAIT, step=1.0):
    return _wait_for(pred, timeout, step)




def status(c):
    return (c / "status").read_text().strip()


def status_json(c):
    return json.loads((c / "status.json").read_text())


def node_file(c, node, name):
    try:
        return (c / "nodes" / node / name).read_text().strip()
    except FileNotFoundError:
        return None


def listed_nodes(c):
    """nodes/ but the dynamic nodes (max_queue_size beyond initial_queue_size,
    listed as Slurm lists them once the head made them)."""
    return sorted(n for n in os.listdir(c / "nodes") if "-dy-" not in n)


def config(lc, initial=0, extra=""):
    return f"""[aws]
aws_region_name = ap-northeast-1

[cluster default]
key_name = lab-3-your-key
vpc_settings = public
base_os = alinux2
scheduler = slurm
initial_queue_size = {initial}
{extra}
[vpc public]
vpc_id = {lc.env["LOCALCLOUD_VPC_ID"]}
master_subnet_id = {lc.env["LOCALCLOUD_SUBNET_ID"]}
"""


def on_node(lc, instance_id, *cmd, timeout=90):
    """Runs cmd inside an instance's namespaces, as an admin would over ssh."""
    pid = open(os.path.join(lc.dir, "instances", instance_id, "pid")).read().strip()
    return subprocess.run(["nsenter", "-t", pid, "-m", "-u", "-n", "-p", "--", *cmd],
                          capture_output=True, text=True, timeout=timeout)


def our_instances(lc, bucket, states=("pending", "running", "shutting-down", "stopping",
                                     "stopped")):
    r = lc.aws_json("ec2", "describe-instances", "--filters",
                    f"Name=tag:pclusterfs:owner,Values={bucket}",
                    "Name=instance-state-name,Values=" + ",".join(states))
    return [i for res in (r or {}).get("Reservations", []) for i in res["Instances"]]


@pytest.fixture
def lc(localcloud_factory):
    cloud = localcloud_factory(boot=True)
    cloud.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    return cloud


@pytest.fixture
def mounted(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    m.bucket = m.options[0].split("=", 1)[1]
    try:
        yield m
    finally:
        rc = m.stop()
        assert rc == 0, m.log_text()


HOOK_PRE = """#!/bin/bash
echo "pre on $PCLUSTERFS_NODE_NAME as $cfn_node_type in $cfn_cluster_name"
date +%s.%N > /var/lib/pclusterfs-pre-ran
"""

HOOK_POST = """#!/usr/bin/env python3
import os
assert os.path.exists("/var/lib/pclusterfs-pre-ran"), "pre must run before post"
print("post on", os.environ["PCLUSTERFS_NODE_NAME"], "as", os.environ["cfn_node_type"])
"""


def test_create_hooks_update_and_delete(mounted, lc):
    c = mounted / "lab3"
    c.mkdir()
    (c / "hooks" / "pre" / "10-pre.sh").write_text(HOOK_PRE)
    (c / "hooks" / "post" / "20-post.py").write_text(HOOK_POST)
    (c / "config").write_text(config(lc, initial=2))
    assert status(c) == "CREATE_IN_PROGRESS"
    assert wait_for(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED")), \
        (c / "events").read_text()
    assert status(c) == "CREATE_COMPLETE", status_json(c)

    nodes = listed_nodes(c)
    assert nodes == ["compute-st-t2micro-1", "compute-st-t2micro-2", "head"]
    for n in nodes:
        assert node_file(c, n, "ec2_state") == "running"
        assert node_file(c, n, "bootstrap") == "done"
        log = (c / "nodes" / n / "bootstrap.log").read_text()
        kind = "MasterServer" if n == "head" else "ComputeFleet"
        assert f"pre on {n} as {kind} in lab3" in log, log
        assert f"post on {n} as {kind}" in log, log
        assert log.index("pre on") < log.index("post on")
        # node.json names the hook set the node ran and its config generation
        ran = json.loads((c / "nodes" / n / "node.json").read_text())["hooks"]
        assert ran == {"generation": 1, "pre": ["10-pre.sh"], "post": ["20-post.py"]}, ran
    for n in nodes[:2]:
        assert node_file(c, n, "slurm_state") == "idle"
        # node.json carries what Slurm says of the node (issue 11.12).
        facts = json.loads((c / "nodes" / n / "node.json").read_text())
        assert facts["slurmState"] == "idle" and facts["cpus"] >= 1, facts
        assert facts["memoryMiB"] > 0 and facts["partitions"], facts
        assert facts["reason"] is None and isinstance(facts["slurmFlags"], list), facts
    head_id = node_file(c, "head", "instance_id")
    r = on_node(lc, head_id, "srun", "-N2", "hostname")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == ["compute-st-t2micro-1", "compute-st-t2micro-2"]
    st = status_json(c)
    assert st["headNode"]["instanceId"] == head_id and st["failures"] == []

    # An update: one more static node.
    (c / "config").write_text(config(lc, initial=3))
    assert status(c) == "UPDATE_IN_PROGRESS"
    assert wait_for(lambda: status(c) in ("UPDATE_COMPLETE", "UPDATE_FAILED"))
    assert status(c) == "UPDATE_COMPLETE", (c / "events").read_text()
    assert "compute-st-t2micro-3" in os.listdir(c / "nodes")
    assert node_file(c, "head", "instance_id") == head_id  # the head stays
    # the new node booted with generation 2; the head keeps what it ran
    def generation(n):
        return json.loads((c / "nodes" / n / "node.json").read_text())["hooks"]["generation"]
    assert generation("compute-st-t2micro-3") == 2 and generation("head") == 1
    # Back to two: the third node's instance ends and it leaves Slurm (the
    # head's agent removes it: the workstation does not reach slurmrestd).
    (c / "config").write_text(config(lc, initial=2))

    def slurm_nodes():
        r = on_node(lc, head_id, "sinfo", "-h", "-N", "-o", "%N")
        return sorted(set(n for n in r.stdout.split() if "-dy-" not in n)) \
            if r.returncode == 0 else r
    assert wait_for(lambda: slurm_nodes() == ["compute-st-t2micro-1", "compute-st-t2micro-2"],
                    timeout=150), (slurm_nodes(), (c / "events").read_text())
    assert wait_for(lambda: listed_nodes(c) ==
                    ["compute-st-t2micro-1", "compute-st-t2micro-2", "head"])
    assert wait_for(lambda: status(c) == "UPDATE_COMPLETE")
    # Fields a live cluster cannot change are refused; the cluster is untouched.
    with pytest.raises(OSError):
        (c / "config").write_text(config(lc, initial=2).replace("alinux2", "centos7"))
    assert status(c) == "UPDATE_COMPLETE"

    os.rmdir(c)
    assert wait_for(lambda: not c.exists(), timeout=90)
    assert our_instances(lc, mounted.bucket) == []
    keys = lc.aws_json("s3api", "list-objects-v2", "--bucket", mounted.bucket,
                       "--prefix", "clusters/lab3/")
    assert not (keys or {}).get("Contents")


def test_a_failing_post_hook_fails_the_cluster_and_stops_billing(mounted, lc):
    c = mounted / "bad"
    c.mkdir()
    (c / "hooks" / "post" / "20-mount.sh").write_text(
        "echo mounting /shared\necho 'mount: /shared: no such device' >&2\nexit 3\n")
    (c / "config").write_text(config(lc))
    assert wait_for(lambda: status(c) == "CREATE_FAILED"), (c / "events").read_text()
    f = status_json(c)["failures"]
    assert f[0]["failureCode"] == "OnNodeConfiguredExecutionFailure", f
    assert "20-mount.sh" in f[0]["failureReason"] and "exited 3" in f[0]["failureReason"]
    assert "no such device" in f[0]["failureReason"]
    assert wait_for(lambda: our_instances(lc, mounted.bucket, ("pending", "running")) == [],
                    timeout=60)
    assert "no such device" in (c / "nodes" / "head" / "bootstrap.log").read_text() \
        if os.path.exists(c / "nodes" / "head") else True
    # Rewriting the config without the hook tries again.
    os.unlink(c / "hooks" / "post" / "20-mount.sh")
    (c / "config").write_text(config(lc, extra="max_queue_size = 4\n"))
    assert status(c) == "CREATE_IN_PROGRESS"
    assert wait_for(lambda: status(c) == "CREATE_COMPLETE"), (c / "events").read_text()


def test_hook_names_and_args_never_run_as_code(mounted, lc, tmp_path):
    c = mounted / "meta"
    c.mkdir()
    name = "$(touch pwned);'\"`touch pwned2`"
    (c / "hooks" / "pre" / name).write_text('echo "args: $# [$1] [$2]"\n')
    (c / "config").write_text(config(lc))
    assert wait_for(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED"))
    assert status(c) == "CREATE_COMPLETE", status_json(c)
    log = (c / "nodes" / "head" / "bootstrap.log").read_text()
    assert name in log
    head = node_file(c, "head", "instance_id")
    r = on_node(lc, head, "sh", "-c", "find / -xdev -name 'pwned*' 2>/dev/null | head -1")
    assert r.stdout.strip() == ""
    assert not os.path.exists("pwned") and not os.path.exists("/pwned")


def test_sigkill_mid_creation_converges_without_duplicates(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    bucket = m.options[0].split("=", 1)[1]
    c = m / "crash"
    c.mkdir()
    (c / "config").write_text(config(lc, initial=1))
    assert wait_for(lambda: our_instances(lc, bucket) != [], timeout=60)
    m.proc.send_signal(signal.SIGKILL)
    m.proc.wait(timeout=10)
    subprocess.run(["fusermount3", "-u", "-z", str(m.path)], check=False)
    m.proc = None

    again = Mount(tmp_path, options=m.options, env=m.env, name="again").start()
    try:
        c = again / "crash"
        assert wait_for(lambda: status(c) == "CREATE_COMPLETE"), (c / "events").read_text()
        names = sorted(next(t["Value"] for t in i["Tags"] if t["Key"] == "pclusterfs:node")
                       for i in our_instances(lc, bucket))
        assert names == ["compute-st-t2micro-1", "head"]  # no duplicate, no orphan
    finally:
        assert again.stop() == 0, again.log_text()


def test_bootstrap_timeout_fails_the_head(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=2", "bootstrap_timeout=20"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "slow"
        c.mkdir()
        (c / "hooks" / "pre" / "sleep.sh").write_text("echo sleeping\nsleep 600\n")
        (c / "config").write_text(config(lc))
        assert wait_for(lambda: status(c) == "CREATE_FAILED", timeout=120)
        f = status_json(c)["failures"]
        assert f[0]["failureCode"] == "HeadNodeBootstrapFailure", f
        assert wait_for(lambda: our_instances(lc, bucket, ("pending", "running")) == [],
                        timeout=60)
        # The instance is gone; what its bootstrap reported stays readable.
        assert "sleep.sh" in (c / "nodes" / "head" / "bootstrap.log").read_text()
        os.unlink(c / "hooks" / "pre" / "sleep.sh")
        (c / "config").write_text(config(lc, extra="max_queue_size = 5\n"))
        assert wait_for(lambda: status(c) == "CREATE_COMPLETE"), (c / "events").read_text()
    finally:
        assert m.stop() == 0, m.log_text()


def instance_pids(lc):
    """Every process of every instance of lc (those in its network namespaces)."""
    nets = {"net:[%d]" % os.stat("/run/netns/" + n).st_ino for n in os.listdir("/run/netns")
            if n.startswith("lc-%s-" % lc.bridge)}
    pids = []
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and os.readlink("/proc/%s/ns/net" % p) in nets:
                pids.append(int(p))
        except OSError:
            pass
    return pids


def test_unmount_ends_the_daemon_after_instances_booted(tmp_path, lc):
    """An instance booted after the mount holds no copy of it (issue 11.13):
    `fusermount3 -u` alone ends the daemon, no SIGTERM needed."""
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "um"
        c.mkdir()
        (c / "config").write_text(config(lc))
        assert wait_for(lambda: our_instances(lc, bucket) != [], timeout=60)
        iid = our_instances(lc, bucket)[0]["InstanceId"]
        lc.wait_console(iid, r"running user data", timeout=60)
        pids = instance_pids(lc)
        assert pids
        for p in pids:
            try:
                table = open("/proc/%d/mountinfo" % p).read()
            except (FileNotFoundError, ProcessLookupError):
                continue
            assert str(m.path) not in table, (p, table)
            assert not re.search(r" - fuse[. ]", table), (p, table)   # nor any FUSE mount
        subprocess.run(["fusermount3", "-u", str(m.path)], check=True)
        try:
            rc = m.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the daemon still runs 20 s after fusermount3 -u")
        assert rc == 0, m.log_text()
    finally:
        assert m.stop() == 0, m.log_text()
