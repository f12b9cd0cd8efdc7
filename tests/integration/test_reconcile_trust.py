"""What the controller may believe and do (issue 11, items 3, 4, 8, 10, 11):
a report counts only for the instance and attempt it was issued to, and no
report can undo a finished bootstrap; a failed update leaves a running
cluster running; a failed or held-back action says why; a cluster re-created
under a used name launches anew; per-launch objects go once a node reported.
Black-box: through the mount, the aws CLI and the local cloud."""
import os
import time

import pytest

from fault_helpers import keys
from fixture_mount import bucket_mount, wait_for
from test_lifecycle import (config, lc, mounted, node_file, our_instances,  # noqa: F401
                            status, status_json)
from test_lifecycle import wait_for as boot_wait

FORGED_FAILED = ("state failed\nstep forged\nfailure HeadNodeBootstrapFailure\nexit 1\n"
                 "attempt {attempt}\n--\nforged by an attacker\n")


def live_ids(lc, bucket):
    return sorted(i["InstanceId"] for i in our_instances(lc, bucket, ("pending", "running")))


def events(c):
    return (c / "events").read_text()


def complete_cluster(mounted, lc, name):
    """A booted cluster of a head and one static node, CREATE_COMPLETE."""
    c = mounted / name
    c.mkdir()
    (c / "config").write_text(config(lc, initial=1))
    assert boot_wait(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED")), events(c)
    assert status(c) == "CREATE_COMPLETE", events(c)
    return c


def put_object(lc, bucket, key, body, tmp_path):
    """As an attacker holding a report URL would: any bytes, to the report key."""
    f = tmp_path / "forged"
    f.write_text(body)
    lc.aws("s3api", "put-object", "--bucket", bucket, "--key", key, "--body", str(f))


@pytest.mark.boot
@pytest.mark.slow
def test_forged_reports_cannot_fail_a_complete_cluster(mounted, lc, tmp_path):
    c = complete_cluster(mounted, lc, "trust")
    before = live_ids(lc, mounted.bucket)
    assert len(before) == 2
    # What served one launch is gone once its node reported done; the
    # reports (bootstrap.log in the tree) stay.
    prefix = "clusters/trust/"
    assert wait_for(lambda: [k for k in keys(lc, mounted.bucket, prefix + "launch/")
                             if k.endswith("/manifest")] == [], timeout=30)
    assert sorted(k for k in keys(lc, mounted.bucket, prefix + "reports/")) == \
        [prefix + "reports/compute-st-t2micro-1", prefix + "reports/head"]
    assert "state done" in (c / "nodes" / "head" / "bootstrap.log").read_text() or \
        (c / "nodes" / "head" / "bootstrap.log").read_text()

    # `failed` for the head, for its own attempt, after it finished; and for
    # the compute node with an attempt it was never launched as.
    put_object(lc, mounted.bucket, prefix + "reports/head", FORGED_FAILED.format(attempt=1),
               tmp_path)
    put_object(lc, mounted.bucket, prefix + "reports/compute-st-t2micro-1",
               FORGED_FAILED.format(attempt=7), tmp_path)
    assert wait_for(lambda: "after its bootstrap finished" in events(c) and
                    "a report for attempt 7" in events(c), timeout=30), events(c)
    time.sleep(8)  # four refresh periods: any verdict would be in by now
    assert status(c) == "CREATE_COMPLETE", status_json(c)
    assert status_json(c)["failures"] == []
    assert live_ids(lc, mounted.bucket) == before
    assert node_file(c, "head", "bootstrap") == "done"
    assert node_file(c, "compute-st-t2micro-1", "bootstrap") == "done"
    assert "forged by an attacker" not in (c / "nodes" / "head" / "bootstrap.log").read_text()
    # Said once, not once a pass.
    assert events(c).count("a report for attempt 7") == 1, events(c)


FAIL_ON_NODE_2 = """#!/bin/bash
if [ "$PCLUSTERFS_NODE_NAME" = compute-st-t2micro-2 ]; then
  echo "no scratch disk on $PCLUSTERFS_NODE_NAME" >&2
  exit 4
fi
echo "scratch ready on $PCLUSTERFS_NODE_NAME"
"""


@pytest.mark.boot
@pytest.mark.slow
def test_a_failed_update_leaves_the_cluster_running(mounted, lc):
    c = complete_cluster(mounted, lc, "upd")
    head = node_file(c, "head", "instance_id")
    node1 = node_file(c, "compute-st-t2micro-1", "instance_id")
    kept = sorted([head, node1])

    # 1. Raising the queue while EC2 has no capacity for it.
    lc.fault("RunInstances:ice")
    try:
        (c / "config").write_text(config(lc, initial=2))
        assert boot_wait(lambda: status(c) in ("UPDATE_FAILED", "UPDATE_COMPLETE"),
                         timeout=180), events(c)
    finally:
        lc.clear_faults()
    assert status(c) == "UPDATE_FAILED", events(c)
    f = status_json(c)["failures"]
    assert f and "InsufficientInstanceCapacity" in f[0]["failureCode"] + f[0]["failureReason"], f
    assert "compute-st-t2micro-2" in f[0]["failureReason"], f
    time.sleep(6)
    assert live_ids(lc, mounted.bucket) == kept, events(c)
    assert node_file(c, "head", "bootstrap") == "done"

    # 2. A resize 1 -> 2 whose post hook fails only on the new node.
    (c / "hooks" / "post" / "30-scratch.sh").write_text(FAIL_ON_NODE_2)
    (c / "config").write_text(config(lc, initial=2, extra="max_queue_size = 5\n"))
    assert status(c) == "UPDATE_IN_PROGRESS"
    assert boot_wait(lambda: status(c) in ("UPDATE_FAILED", "UPDATE_COMPLETE"),
                     timeout=600), events(c)
    assert status(c) == "UPDATE_FAILED", events(c)
    f = status_json(c)["failures"]
    reason = f[0]["failureReason"]
    assert f[0]["failureCode"] == "StaticNodeBootstrapFailure", f
    # It names the node, the failing hook and its last output.
    assert "compute-st-t2micro-2 failed to come up 3 times" in reason, reason
    assert "30-scratch.sh" in reason and "exited 4" in reason, reason
    assert "no scratch disk on compute-st-t2micro-2" in reason, reason
    assert wait_for(lambda: live_ids(lc, mounted.bucket) == kept, timeout=60), events(c)
    assert node_file(c, "head", "instance_id") == head
    assert node_file(c, "compute-st-t2micro-1", "ec2_state") == "running"


@pytest.mark.boot
@pytest.mark.slow
def test_a_node_lost_after_completion_does_not_take_the_head_down(mounted, lc):
    c = complete_cluster(mounted, lc, "lost")
    head = node_file(c, "head", "instance_id")
    # The compute node dies and EC2 has no capacity to replace it.
    lc.fault("RunInstances:ice")
    try:
        lc.aws("ec2", "terminate-instances", "--instance-ids",
               node_file(c, "compute-st-t2micro-1", "instance_id"))
        assert boot_wait(lambda: status(c) != "CREATE_COMPLETE", timeout=120), events(c)
        assert boot_wait(lambda: status_json(c)["failures"], timeout=120), events(c)
    finally:
        lc.clear_faults()
    assert status(c) == "UPDATE_FAILED", status_json(c)
    assert "InsufficientInstanceCapacity" in status_json(c)["failures"][0]["failureReason"]
    time.sleep(6)
    assert live_ids(lc, mounted.bucket) == [head], events(c)


# ---------------------------------------------------------------- no boot


@pytest.fixture
def cloud(shared_localcloud):
    shared_localcloud.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key", check=False)
    yield shared_localcloud
    shared_localcloud.clear_faults()


def head_launches(c):
    """Instance ids of the head's launches, as events name them."""
    return [line.split("launched head ", 1)[1].split()[0]
            for line in events(c).splitlines() if "launched head " in line]


def test_a_cluster_recreated_under_its_name_launches_anew(tmp_path, cloud):
    m = bucket_mount(tmp_path, cloud, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "again"
        c.mkdir()
        (c / "config").write_text(config(cloud))
        assert wait_for(lambda: head_launches(c), timeout=30), events(c)
        first = head_launches(c)[0]
        os.rmdir(c)
        assert wait_for(lambda: not c.exists(), timeout=60)
        assert live_ids(cloud, bucket) == []
        time.sleep(1.1)  # a new second: a new incarnation even at mkdir's granularity
        c.mkdir()
        (c / "config").write_text(config(cloud))
        assert wait_for(lambda: head_launches(c), timeout=30), events(c)
        second = head_launches(c)[0]
        assert second != first, events(c)  # not the old, terminated instance
        assert wait_for(lambda: live_ids(cloud, bucket) == [second], timeout=30), events(c)
        assert "attempt 1" in events(c)
        os.rmdir(c)
        assert wait_for(lambda: not c.exists(), timeout=60)
    finally:
        assert m.stop() == 0, m.log_text()


def test_an_action_held_back_says_why(tmp_path, cloud):
    cloud.fault("RunInstances:503")
    m = bucket_mount(tmp_path, cloud, options=["refresh=1"]).start()
    try:
        c = m / "stuck"
        c.mkdir()
        (c / "config").write_text(config(cloud))
        assert wait_for(lambda: status_json(c).get("action_error"), timeout=30), events(c)
        why = status_json(c)["action_error"]
        assert "launching head" in why and "Unavailable" in why, why
        assert "launching head" in events(c) and "Unavailable" in events(c)
        time.sleep(4)  # more passes meet the same refusal: said once, not once a pass
        assert events(c).count("Unavailable") == 1, events(c)
        assert status(c) == "CREATE_IN_PROGRESS"
        assert wait_for(lambda: "launching head" in m.log_text(), timeout=10)
        # Once EC2 answers again, the launch goes through and the reason goes.
        cloud.clear_faults()
        assert wait_for(lambda: head_launches(c), timeout=30), events(c)
        assert wait_for(lambda: status_json(c)["action_error"] is None, timeout=10)
        os.rmdir(c)
        assert wait_for(lambda: not c.exists(), timeout=60)
    finally:
        assert m.stop() == 0, m.log_text()


def test_a_head_that_never_reported_fails_with_a_whole_reason(tmp_path, cloud):
    # The local cloud here boots nothing: the head never reports.
    m = bucket_mount(tmp_path, cloud, options=["refresh=1", "bootstrap_timeout=10"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "mute"
        c.mkdir()
        (c / "config").write_text(config(cloud))
        assert wait_for(lambda: status(c) == "CREATE_FAILED", timeout=60), events(c)
        f = status_json(c)["failures"][0]
        assert f["failureCode"] == "HeadNodeBootstrapFailure", f
        reason = f["failureReason"].rstrip()
        assert "did not finish within 10 s" in reason and "no report" in reason, reason
        assert not reason.endswith(":"), reason
        assert wait_for(lambda: live_ids(cloud, bucket) == [], timeout=30)
        os.rmdir(c)
        assert wait_for(lambda: not c.exists(), timeout=60)
    finally:
        assert m.stop() == 0, m.log_text()


def test_a_failing_client_token_lookup_is_not_a_silent_stall(tmp_path, cloud):
    m = bucket_mount(tmp_path, cloud, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "lookup"
        c.mkdir()
        (c / "config").write_text(config(cloud))
        assert wait_for(lambda: head_launches(c), timeout=30), events(c)
        first = head_launches(c)[0]
        # The head's instance goes; replacing it needs to know whether its
        # attempt launched, and EC2 will not say.
        cloud.fault("DescribeInstancesByClientToken:500")
        cloud.aws("ec2", "terminate-instances", "--instance-ids", first)
        assert wait_for(lambda: status_json(c).get("action_error"), timeout=30), events(c)
        why = status_json(c)["action_error"]
        assert "not launching head" in why and "client-token" in why, why
        assert "client-token lookup" in events(c)
        assert "client-token lookup" in m.log_text()
        assert live_ids(cloud, bucket) == []
        cloud.clear_faults()
        assert wait_for(lambda: len(head_launches(c)) == 2, timeout=30), events(c)
        assert "attempt 2" in events(c)
        assert wait_for(lambda: status_json(c)["action_error"] is None, timeout=10)
        os.rmdir(c)
        assert wait_for(lambda: not c.exists(), timeout=60)
    finally:
        assert m.stop() == 0, m.log_text()
