"""The guide's cluster runs jobs (issue 16), booted in the local cloud's
isolated mode: v2's defaults (initial_queue_size 0, max_queue_size 10)
give a head alone, CREATE_COMPLETE, and ten dynamic nodes that Slurm keeps
powered down and nodes/ lists as Slurm does. With the workstation
unmounted, `srun -N1 hostname` on the head (as an admin after ssh) makes
Slurm resume one: the head's agent launches its instance, whose slurmd
registers under the node's name and runs the job. Idle past
scaledown_idletime (1 minute here), Slurm suspends it and the agent
terminates its instance. A remount shows it all: nodes/, status.json and
the head's events told in events."""
import json
import time

import pytest

from fixture_mount import Mount
from test_lifecycle import config, node_file, our_instances, status, status_json, wait_for

pytestmark = [pytest.mark.boot, pytest.mark.slow]

from fixture_mount import bucket_mount  # noqa: E402

DYNAMIC = ["compute-dy-t2micro-%d" % i for i in range(1, 11)]
# the guide's config with a [scaling] section: scaledown_idletime 1 minute
SCALING = "scaling_settings = quick\n"
QUICK = "\n[scaling quick]\nscaledown_idletime = 1\n"


@pytest.fixture
def lc(localcloud_factory):
    cloud = localcloud_factory(boot=True, isolated=True)
    cloud.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    return cloud


def compute_instances(lc, bucket, states=("pending", "running")):
    return [i for i in our_instances(lc, bucket, states)
            if {t["Key"]: t["Value"] for t in i.get("Tags", [])}.get("pclusterfs:node") != "head"]


def diagnose(lc, bucket, head):
    """What the head and the compute instances say, for a failure's message."""
    out = lc.in_instance(head, "tail -n 40 /var/log/pclusterfs-agent.log; "
                               "tail -n 30 /var/log/slurm/slurmctld.log; "
                               "scontrol show nodes | head -n 40").stdout
    for i in compute_instances(lc, bucket, ("pending", "running", "shutting-down", "terminated")):
        out += "\n--- %s %s\n" % (i["InstanceId"], i["State"]["Name"])
        out += lc.in_instance(i["InstanceId"], "tail -n 30 /var/lib/pclusterfs/bootstrap.log "
                              "/var/log/slurm/slurmd.log 2>&1").stdout if \
            i["State"]["Name"] == "running" else ""
    return out


def test_the_guides_cluster_scales_from_nothing_and_back(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    bucket = [o for o in m.options if o.startswith("bucket=")][0].split("=", 1)[1]
    mounted = True
    try:
        c = m / "lab3"
        c.mkdir()
        (c / "config").write_text(config(lc, initial=0, extra=SCALING) + QUICK)
        assert wait_for(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED")), \
            (c / "events").read_text()
        assert status(c) == "CREATE_COMPLETE", status_json(c)
        assert compute_instances(lc, bucket) == []          # the head alone
        # Slurm lists the ten dynamic nodes, powered down, without instances
        assert wait_for(lambda: all(node_file(c, n, "slurm_state") == "powered_down"
                                    for n in DYNAMIC), timeout=120), \
            {n: node_file(c, n, "slurm_state") for n in DYNAMIC}
        assert node_file(c, DYNAMIC[0], "ec2_state") == "none"
        head = node_file(c, "head", "instance_id")
        assert m.stop() == 0, m.log_text()
        mounted = False

        # The workstation is gone: the head scales by itself.
        t0 = time.time()
        r = lc.in_instance(head, "cd /tmp && su ec2-user -c 'timeout 240 srun -N1 hostname'",
                           timeout=300)
        ran_s = time.time() - t0
        if r.returncode != 0:
            print(diagnose(lc, bucket, head))
        assert r.returncode == 0, (r.stdout, r.stderr)
        ran_on = r.stdout.strip()
        assert ran_on in DYNAMIC, r.stdout
        launched = compute_instances(lc, bucket)
        assert len(launched) == 1, launched
        tags = {t["Key"]: t["Value"] for t in launched[0]["Tags"]}
        assert tags["pclusterfs:node"] == ran_on

        # Idle for scaledown_idletime: suspended, its instance terminated.
        t1 = time.time()
        assert wait_for(lambda: compute_instances(lc, bucket) == [], timeout=240), \
            lc.in_instance(head, "tail -n 30 /var/log/pclusterfs-agent.log").stdout
        stopped_s = time.time() - t1
        assert stopped_s < 180, stopped_s

        m = Mount(tmp_path, options=["bucket=" + bucket, "refresh=2"], env=lc.env,
                  name="again").start()
        mounted = True
        c = m / "lab3"
        assert wait_for(lambda: node_file(c, ran_on, "slurm_state") in (
            "powered_down", "powering_down"), timeout=90), node_file(c, ran_on, "node.json")
        doc = json.loads(node_file(c, ran_on, "node.json"))
        assert doc["ec2State"] in ("none", "terminated", "shutting-down"), doc
        counts = json.loads((c / "status.json").read_text())["nodes"]
        assert counts["total"] >= 11 and counts["slurm"].get("powered_down", 0) + \
            counts["slurm"].get("powering_down", 0) == 10, counts
        events = (c / "events").read_text()
        assert wait_for(lambda: "launched %s" % ran_on in (c / "events").read_text(),
                        timeout=60), events[-2000:]
        assert "stopped %s" % ran_on in (c / "events").read_text()
        print("\ndynamic: srun on a powered-down node returned after %.1f s; "
              "its instance was terminated %.1f s after the job ended" % (ran_s, stopped_s))
    finally:
        if mounted:
            assert m.stop() == 0, m.log_text()


MULTI = """
[queue compute]
compute_resource_settings = micro

[compute_resource micro]
instance_type = t2.micro
min_count = 1
max_count = 3
"""
# fails the bootstrap of compute-dy-t2micro-1 only, before its slurmd starts,
# as a bad image would
FAIL_ONE = ("#!/bin/sh\ncase \"$PCLUSTERFS_NODE_NAME\" in compute-dy-t2micro-1) "
            "echo no good >&2; exit 7;; esac\n")


def test_a_failed_dynamic_node_is_down_and_the_job_runs_on_another(tmp_path, lc):
    """min_count 1, max_count 3: one static node, two dynamic ones. A job on
    two nodes resumes compute-dy-t2micro-1, whose bootstrap fails: the head
    marks it down with the reason at once and terminates its instance, and
    Slurm runs the requeued job on the static node and compute-dy-t2micro-2."""
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    bucket = [o for o in m.options if o.startswith("bucket=")][0].split("=", 1)[1]
    try:
        c = m / "lab3"
        c.mkdir()
        (c / "hooks" / "pre" / "fail-one.sh").write_text(FAIL_ONE)   # before Slurm starts
        (c / "config").write_text(config(lc, initial=0, extra="queue_settings = compute\n")
                                  .replace("initial_queue_size = 0\n", "") + MULTI)
        assert wait_for(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED")), \
            (c / "events").read_text()
        assert status(c) == "CREATE_COMPLETE", status_json(c)
        assert wait_for(lambda: node_file(c, "compute-st-t2micro-1", "slurm_state") == "idle",
                        timeout=120)
        assert wait_for(lambda: node_file(c, "compute-dy-t2micro-2", "slurm_state") ==
                        "powered_down", timeout=120)
        assert len(compute_instances(lc, bucket)) == 1          # the static node alone
        head = node_file(c, "head", "instance_id")
        r = lc.in_instance(head, "cd /tmp && su ec2-user -c 'sbatch -N2 -o /tmp/two.out "
                                 "--wrap \"srun hostname\"'")
        assert r.returncode == 0, r.stderr
        job = r.stdout.split()[-1]

        def job_state():
            out = lc.in_instance(head, "scontrol -o show job %s" % job).stdout
            return out.split("JobState=")[1].split()[0] if "JobState=" in out else None
        assert wait_for(lambda: job_state() == "COMPLETED", timeout=300), (
            job_state(), diagnose(lc, bucket, head))
        out = lc.in_instance(head, "scontrol -o show job %s" % job).stdout
        ran_on = out.split(" NodeList=")[1].split()[0]
        assert ran_on in ("compute-dy-t2micro-2,compute-st-t2micro-1",
                          "compute-st-t2micro-1,compute-dy-t2micro-2"), out
        # the failed node: down with the bootstrap's reason, instance gone
        assert wait_for(lambda: "no good" in (json.loads(
            node_file(c, "compute-dy-t2micro-1", "node.json") or "{}").get("reason") or ""),
            timeout=90), node_file(c, "compute-dy-t2micro-1", "node.json")
        assert node_file(c, "compute-dy-t2micro-1", "slurm_state") in ("down", "unknown"), \
            node_file(c, "compute-dy-t2micro-1", "node.json")
        assert not [i for i in compute_instances(lc, bucket) if {
            t["Key"]: t["Value"] for t in i["Tags"]}["pclusterfs:node"] ==
            "compute-dy-t2micro-1"]
        assert wait_for(lambda: "compute-dy-t2micro-1 failed" in (c / "events").read_text(),
                        timeout=60), (c / "events").read_text()[-2000:]
    finally:
        assert m.stop() == 0, m.log_text()
