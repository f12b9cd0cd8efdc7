"""EC2 as the controller sees it: instances tagged for this mount's bucket
show in nodes/ and status.json, and rmdir terminates them, and only them:
an instance without our owner tag is never touched, whatever its other tags.
The instances are launched here with the aws CLI into a cluster that has no
config yet, so pclusterfs's own launches stay out of the picture."""
import json
import os
import time

import pytest

from fixture_mount import bucket_mount, wait_for




def launch(lc, tags):
    spec = "ResourceType=instance,Tags=[" + ",".join(
        "{Key=%s,Value=%s}" % kv for kv in tags.items()) + "]"
    out = lc.aws_json("ec2", "run-instances", "--image-id", lc.image_id("amzn2"),
                      "--instance-type", "t2.micro", "--subnet-id", lc.env["LOCALCLOUD_SUBNET_ID"],
                      "--tag-specifications", spec)
    return out["Instances"][0]["InstanceId"]


def state_of(lc, iid):
    r = lc.aws_json("ec2", "describe-instances", "--instance-ids", iid)
    return r["Reservations"][0]["Instances"][0]["State"]["Name"]


@pytest.fixture
def lc(shared_localcloud):
    yield shared_localcloud
    shared_localcloud.clear_faults()


def test_nodes_show_ec2_and_rmdir_terminates_only_ours(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "lab3"
        c.mkdir()
        ours = {"pclusterfs:cluster": "lab3", "pclusterfs:owner": bucket}
        head = launch(lc, dict(ours, **{"pclusterfs:node": "head",
                                        "pclusterfs:node-type": "HeadNode"}))
        compute = launch(lc, dict(ours, **{"pclusterfs:node": "compute-st-t2micro-1",
                                           "pclusterfs:node-type": "Compute"}))
        stranger = launch(lc, {"pclusterfs:cluster": "lab3", "pclusterfs:node": "head"})

        assert wait_for(lambda: sorted(os.listdir(c / "nodes")) == ["compute-st-t2micro-1", "head"])
        assert (c / "nodes" / "head" / "instance_id").read_text() == head + "\n"
        assert wait_for(lambda: (c / "nodes" / "head" / "ec2_state").read_text() == "running\n")
        assert (c / "nodes" / "head" / "instance_type").read_text() == "t2.micro\n"
        assert (c / "nodes" / "head" / "slurm_state").read_text() == "none\n"
        node = json.loads((c / "nodes" / "compute-st-t2micro-1" / "node.json").read_text())
        assert node["instanceId"] == compute and node["launchTime"].endswith("Z")
        # Both leave pending on their own time; wait for the second too.
        assert wait_for(lambda: json.loads((c / "status.json").read_text())["nodes"]["ec2"]
                        == {"running": 2})
        st = json.loads((c / "status.json").read_text())
        assert st["headNode"]["instanceId"] == head
        assert st["nodes"]["total"] == 2

        os.rmdir(c)
        assert wait_for(lambda: not c.exists(), timeout=30)
        ev = lc.aws_json("ec2", "describe-instances", "--instance-ids", head, compute)
        states = {i["InstanceId"]: i["State"]["Name"]
                  for r in ev["Reservations"] for i in r["Instances"]}
        assert states == {head: "terminated", compute: "terminated"}
        assert state_of(lc, stranger) == "running"
        keys = (lc.aws_json("s3api", "list-objects-v2", "--bucket", bucket) or {}).get("Contents", [])
        assert [k["Key"] for k in keys if k["Key"].startswith("clusters/lab3/")] == []
    finally:
        assert m.stop() == 0, m.log_text()


def test_ec2_unreachable_keeps_the_last_nodes_marked_stale(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "lab4"
        c.mkdir()
        launch(lc, {"pclusterfs:cluster": "lab4", "pclusterfs:owner": bucket,
                    "pclusterfs:node": "head"})
        assert wait_for(lambda: os.listdir(c / "nodes") == ["head"])
        lc.fault("DescribeInstances:503")
        assert wait_for(lambda: json.loads((c / "status.json").read_text())["stale"])
        assert os.listdir(c / "nodes") == ["head"]  # the last known nodes stay
        reason = json.loads((c / "status.json").read_text())["stale_reason"]
        assert "EC2" in reason, reason
        # A deletion waits while EC2 cannot be seen: nothing is forgotten.
        os.rmdir(c)
        time.sleep(2.5)
        assert (c / "status").read_text() == "DELETE_IN_PROGRESS\n"
        lc.clear_faults()
        assert wait_for(lambda: not c.exists(), timeout=30)
    finally:
        lc.clear_faults()
        assert m.stop() == 0, m.log_text()
