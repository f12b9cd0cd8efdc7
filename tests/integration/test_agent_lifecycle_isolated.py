"""The guide's flow from a workstation outside the VPC (issue 15): the local
cloud in isolated mode, where the host cannot open a connection to any
instance, so Slurm is seen only through the view the head's agent publishes
in the bucket. The head's bootstrap starts the agent (root only, supervised,
with the head's role from the IMDS); the cluster is created with two static
nodes, resized to three and removed. The agent's idle cost is measured from
the local cloud's audit log of the head role's requests."""
import json
import os
import time

import pytest

from fixture_mount import bucket_mount
from test_cluster_iam import role_name
from test_lifecycle import (config, node_file, on_node, our_instances, status, status_json,
                            wait_for)
from test_localcloud_isolated import host_connects

pytestmark = [pytest.mark.boot, pytest.mark.slow]

AGENT_DIR = "/opt/pclusterfs/agent"
AGENT_LOG = "/var/log/pclusterfs-agent.log"
AGENT_STATE = "/var/lib/pclusterfs/agent"
IDLE_LIMIT_PER_MINUTE = 20     # issue 15: an idle head's AWS requests a minute
IDLE_WINDOW = 75               # seconds: longer than the agent's heartbeat (60 s)


def head_requests(lc, bucket, head_id):
    """The audit entries of requests signed with the head's role session."""
    with open(os.path.join(lc.dir, "audit.jsonl")) as f:
        entries = [json.loads(ln) for ln in f if ln.strip()]
    role = role_name(bucket, "lab3", "head")
    return [e for e in entries if e.get("instance") == head_id and e.get("role") == role]


PROCS = r"""for d in /proc/[0-9]*; do
  a=$(tr '\0' ' ' < $d/cmdline 2>/dev/null) || continue
  case $a in *agent_main.py*) echo "$(stat -c %U $d) ${d#/proc/} $a" ;; esac
done"""


def agent_pids(lc, head_id):
    """(user, pid) of the agent's Python processes on the head."""
    r = lc.in_instance(head_id, PROCS)
    procs = [ln.split() for ln in r.stdout.splitlines()]
    return [(p[0], int(p[1])) for p in procs if len(p) > 3 and "python" in p[2]]


def slurm_facts(c, n):
    return json.loads((c / "nodes" / n / "node.json").read_text())


@pytest.fixture
def lc(localcloud_factory):
    cloud = localcloud_factory(boot=True, isolated=True)
    cloud.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    return cloud


def test_guide_flow_through_the_published_view(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "lab3"
        c.mkdir()
        (c / "config").write_text(config(lc, initial=2))
        assert wait_for(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED")), \
            (c / "events").read_text()
        assert status(c) == "CREATE_COMPLETE", status_json(c)
        head_id = node_file(c, "head", "instance_id")
        head_ip = next(i["PrivateIpAddress"] for i in our_instances(lc, bucket)
                       if i["InstanceId"] == head_id)
        compute_id = node_file(c, "compute-st-t2micro-1", "instance_id")

        # The workstation cannot reach the head's slurmrestd, which serves
        # the cluster's own nodes: what it knows of Slurm came from the bucket.
        assert not host_connects(head_ip, 6820)
        r = on_node(lc, compute_id, "curl", "-s", "-m", "5", "-o", "/dev/null", "-w",
                    "%{http_code}", "http://%s:6820/openapi" % head_ip)
        assert r.stdout == "401", r
        view = json.loads(lc.aws("s3", "cp", "s3://%s/clusters/lab3/head/slurm/view.json" % bucket,
                                 "-").stdout)
        assert view["instance_id"] == head_id
        names = sorted(n["name"] for n in view["nodes"]["nodes"])
        assert [n for n in names if "-dy-" not in n] == \
            ["compute-st-t2micro-1", "compute-st-t2micro-2"]
        # max_queue_size 10: eight dynamic nodes, the head's agent made them
        assert [n for n in names if "-dy-" in n] == sorted(
            "compute-dy-t2micro-%d" % i for i in range(1, 9)), names

        # Every slurm_state as Slurm has it, node.json's Slurm fields filled.
        r = on_node(lc, head_id, "sinfo", "-h", "-N", "-o", "%N %T")
        told = dict(ln.split() for ln in r.stdout.splitlines() if "-dy-" not in ln)
        assert set(told) == {"compute-st-t2micro-1", "compute-st-t2micro-2"}, r
        for n, state in told.items():
            assert node_file(c, n, "slurm_state") == state == "idle"
            facts = slurm_facts(c, n)
            assert facts["slurmState"] == "idle" and facts["cpus"] >= 1, facts
            assert facts["memoryMiB"] > 0 and facts["partitions"], facts
            assert isinstance(facts["slurmFlags"], list), facts

        # The head's agent read the fleet spec of generation 1 and said so,
        # once, through the bucket.
        assert wait_for(lambda: status_json(c)["fleetGenerationApplied"] == 1, timeout=60), \
            status_json(c)
        assert wait_for(lambda: "applied fleet spec generation 1 " in (c / "events").read_text(),
                        timeout=30)
        spec = json.loads(lc.aws("s3", "cp", "s3://%s/clusters/lab3/fleet/spec.json" % bucket,
                                 "-").stdout)
        ack = json.loads(lc.aws("s3", "cp", "s3://%s/clusters/lab3/head/acks/fleet.json" % bucket,
                                "-").stdout)
        assert ack["specId"] == spec["specId"] and ack["instance_id"] == head_id, (ack, spec)
        assert spec["queues"][0]["computeResources"][0]["staticNodes"] == \
            ["compute-st-t2micro-1", "compute-st-t2micro-2"], spec

        # The agent runs as root under its supervisor, its loop continual.
        pids = agent_pids(lc, head_id)
        assert [u for u, _ in pids] == ["root"], lc.in_instance(
            head_id, PROCS + "; tail -n 20 " + AGENT_LOG).stdout
        # Idle: the head's AWS requests in a window longer than a heartbeat.
        before = len(head_requests(lc, bucket, head_id))
        time.sleep(IDLE_WINDOW)
        idle = head_requests(lc, bucket, head_id)[before:]
        per_minute = len(idle) * 60.0 / IDLE_WINDOW
        print("idle head: %d AWS requests in %d s (%.1f a minute): %s" % (
            len(idle), IDLE_WINDOW, per_minute, sorted({e["action"] for e in idle})))
        assert idle, "the agent's loop made no request in %d s" % IDLE_WINDOW
        assert per_minute <= IDLE_LIMIT_PER_MINUTE, idle
        assert all(e["decision"] == "allow" for e in idle), idle

        # Killed, the agent is started again by its supervisor.
        assert lc.in_instance(head_id, "kill -9 %d" % pids[0][1]).returncode == 0
        assert wait_for(lambda: [p for _, p in agent_pids(lc, head_id)] not in ([], [pids[0][1]]),
                        timeout=30), agent_pids(lc, head_id)

        # An unprivileged user reads none of the agent's files, state, log
        # or credentials.
        for cmd in ("ls " + AGENT_DIR, "cat %s/config.json" % AGENT_DIR,
                    "cat %s/agent_main.py" % AGENT_DIR, "cat " + AGENT_LOG, "ls " + AGENT_STATE,
                    "cat %s/publish.json" % AGENT_STATE, "cat %s/fleet_spec.json" % AGENT_STATE):
            r = lc.in_instance(head_id, cmd, nobody=True)
            assert r.returncode != 0 and "Permission denied" in r.stderr, (cmd, r)
        r = lc.in_instance(head_id, "cat /proc/%d/environ" % agent_pids(lc, head_id)[0][1],
                           nobody=True)
        assert r.returncode != 0 and not r.stdout, r
        r = lc.in_instance(head_id, "curl -sf -m 3 -X PUT -H "
                           "'X-aws-ec2-metadata-token-ttl-seconds: 60' $IMDS/latest/api/token",
                           nobody=True)
        assert r.returncode != 0 and not r.stdout, r
        # (the paths tested exist: root reads them)
        r = lc.in_instance(head_id, "stat -c '%%a %%U %%n' %s %s/config.json %s %s" % (
            AGENT_DIR, AGENT_DIR, AGENT_LOG, AGENT_STATE))
        modes = [ln.split()[:2] for ln in r.stdout.splitlines()]
        assert modes == [["700", "root"], ["600", "root"], ["600", "root"], ["700", "root"]], r

        # Resize: one more static node, seen idle through the view; the head
        # acknowledges the new spec (the time it took is printed for bench).
        committed = time.monotonic()
        (c / "config").write_text(config(lc, initial=3))
        assert wait_for(lambda: status_json(c)["fleetGenerationApplied"] == 2, timeout=60), \
            status_json(c)
        print("config commit to the head's acknowledgement seen: %.1f s" % (
            time.monotonic() - committed))
        assert wait_for(lambda: status(c) in ("UPDATE_COMPLETE", "UPDATE_FAILED"))
        assert status(c) == "UPDATE_COMPLETE", (c / "events").read_text()
        assert node_file(c, "compute-st-t2micro-3", "slurm_state") == "idle"
        assert slurm_facts(c, "compute-st-t2micro-3")["slurmState"] == "idle"
        assert node_file(c, "head", "instance_id") == head_id

        os.rmdir(c)
        assert wait_for(lambda: not c.exists(), timeout=90)
        assert our_instances(lc, bucket) == []
    finally:
        assert m.stop() == 0, m.log_text()


# A head hook that keeps the IMDS from root too: the agent gets no
# credentials, so the head cannot start it.
NO_IMDS_HOOK = """#!/bin/bash
hp=${AWS_EC2_METADATA_SERVICE_ENDPOINT#http://}
hp=${hp%/}
[ "$PCLUSTERFS_NODE_NAME" = head ] || exit 0
iptables -w -I OUTPUT 1 -d ${hp%:*} -p tcp --dport ${hp#*:} -j REJECT
"""


def test_a_head_that_cannot_start_its_agent_fails_at_step_agent(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    try:
        c = m / "noagent"
        c.mkdir()
        (c / "hooks" / "pre" / "10-no-imds.sh").write_text(NO_IMDS_HOOK)
        (c / "config").write_text(config(lc))
        assert wait_for(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED")), \
            (c / "events").read_text()
        assert status(c) == "CREATE_FAILED", status_json(c)
        f = status_json(c)["failures"]
        assert f and "agent" in f[0]["failureReason"], f
        log = (c / "nodes" / "head" / "bootstrap.log").read_text()
        assert "agent failed" in log and "cannot start" in log, log[-3000:]
    finally:
        assert m.stop() == 0, m.log_text()
