"""The head's agent carrying out node commands (agent_ctl.py) against the
local cloud (boot off): commands stored as a workstation stores them are
listed, run once in id order (scontrol stood in for, recording its argv;
replace is a real TerminateInstances of the named instance with the
cluster's tags), acknowledged under head/acks/ctl/, remembered root-only so
a restarted agent redoes nothing, forgotten once the workstation removed
them; bad commands get a failed ack; idle, the listing costs a few requests
a minute."""
import json
import os
import re
import secrets
import stat
import time

import pytest

from agent_modules import REPO, load
from test_agent_localcloud import audit, cloud  # noqa: F401 (the fixture)

NODE = "compute-st-t2micro-1"


class Clock:
    def __init__(self):
        self.t = time.time()

    def __call__(self):
        return self.t


class FakeScontrol:
    def __init__(self, ok=True, out=""):
        self.calls, self.ok, self.out = [], ok, out

    def __call__(self, argv):
        self.calls.append(argv)
        return self.ok, self.out


SEQ = [0]


def put_cmd(lc, command, node=NODE, reason="", instance_id="", cmd_id=None):
    SEQ[0] += 1      # ids as a workstation makes them: time (ms), then random
    cmd_id = cmd_id or time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + ".%03dZ-" % SEQ[0] + \
        secrets.token_hex(8)
    body = {"format": 1, "id": cmd_id, "node": node, "command": command, "reason": reason,
            "instance_id": instance_id, "requested_at": "2026-12-02T00:00:00Z"}
    lc.s3.put("clusters/lab3/ctl/%s/%s" % (node, cmd_id), json.dumps(body).encode())
    return cmd_id


def ack(lc, cmd_id, node=NODE):
    return json.loads(lc.s3.get("clusters/lab3/head/acks/ctl/%s/%s" % (node, cmd_id)).body)


def commands(lc, state_dir, run, clock):
    ctl = load("agent_ctl")
    return ctl.NodeCommands(lc.s3, lc.ec2, "lab3", lc.bucket, str(state_dir), scontrol="scontrol",
                            run=run, clock=clock)


def test_keys_are_the_layouts():
    layout = open(os.path.join(REPO, "fs", "store", "layout.c")).read()
    assert '#define CTL "ctl/"' in layout and '#define CTL_ACKS "head/acks/ctl/"' in layout
    assert re.search(r"\{CTL,\s*LAYOUT_BY_WORKSTATION,", layout)
    ctl = load("agent_ctl")
    assert ctl.ctl_prefix("lab3") == "clusters/lab3/ctl/"
    assert ctl.ack_key("lab3", "n-1", "x") == "clusters/lab3/head/acks/ctl/n-1/x"
    launch = open(os.path.join(REPO, "fs", "control", "launch.c")).read()
    assert '"agent_ctl.py"' in launch


def test_commands_run_once_acked_and_not_redone_after_a_restart(cloud, tmp_path):  # noqa: F811
    lc = cloud
    tags = {"pclusterfs:cluster": "lab3", "pclusterfs:node": NODE, "pclusterfs:owner": lc.bucket,
            "pclusterfs:node-type": "Compute", "Name": "lab3-" + NODE}
    inst = lc.ec2.run_instance(lc.image_id(), "t2.micro", "ctl-" + secrets.token_hex(6), tags,
                               subnet_id=lc.subnet_id)["InstanceId"]
    # Another cluster's node of the same name, and an untagged-owner twin:
    # never touched.
    other = lc.ec2.run_instance(lc.image_id(), "t2.micro", "ctl-" + secrets.token_hex(6),
                                dict(tags, **{"pclusterfs:cluster": "lab30"}),
                                subnet_id=lc.subnet_id)["InstanceId"]
    d = put_cmd(lc, "drain", reason='disk "sdb" failing')
    r = put_cmd(lc, "resume")
    x = put_cmd(lc, "replace", instance_id=inst)
    bad = put_cmd(lc, "reboot", node="compute-st-t2micro-2")
    lc.s3.put("clusters/lab3/ctl/%s/%s" % (NODE, "zz-not-json"), b"\x00garbage")
    state = tmp_path / "state"
    run, clock = FakeScontrol(), Clock()
    a = commands(lc, state, run, clock)
    acked = a.cycle()
    assert sorted(acked) == sorted([d, r, x, bad, "zz-not-json"])
    assert run.calls == [
        ["scontrol", "update", "NodeName=" + NODE, "State=DRAIN", 'Reason=disk "sdb" failing'],
        ["scontrol", "update", "NodeName=" + NODE, "State=RESUME"]]
    got = ack(lc, d)
    assert got["outcome"] == "done" and got["command"] == "drain" and got["id"] == d
    assert got["node"] == NODE and 'disk "sdb" failing' in got["message"] and got["done_at"]
    assert ack(lc, r)["outcome"] == "done"
    rep = ack(lc, x)
    assert rep["outcome"] == "done" and inst in rep["message"], rep
    assert "new instance" in rep["message"]
    states = {i["InstanceId"]: i["State"] for i in lc.ec2.describe_instances(
        {"instance-id": [inst, other]})}
    assert states[inst] in ("shutting-down", "terminated")
    assert states[other] in ("pending", "running")
    assert ack(lc, bad, node="compute-st-t2micro-2")["outcome"] == "failed"
    assert "unknown command" in ack(lc, bad, node="compute-st-t2micro-2")["message"]
    assert ack(lc, "zz-not-json")["outcome"] == "failed"
    # What it did is root's alone.
    st = os.stat(state / "ctl.json")
    assert stat.S_IMODE(st.st_mode) == 0o600 and stat.S_IMODE(os.stat(state).st_mode) == 0o700

    # A restart (a new agent on the same state): nothing is run or acked again.
    terminations = len(audit(lc, "TerminateInstances"))
    puts = len([e for e in audit(lc, "PutObject") if "/head/acks/" in e.get("resource", "")
                or "/head/acks/" in json.dumps(e)])
    b = commands(lc, state, run, clock)
    assert b.cycle() == []
    assert len(run.calls) == 2 and len(audit(lc, "TerminateInstances")) == terminations
    assert len([e for e in audit(lc, "PutObject") if "/head/acks/" in json.dumps(e)]) == puts
    # A failed Slurm call is a failed ack with scontrol's words.
    run2 = FakeScontrol(ok=False, out="scontrol: error: Invalid node name specified")
    b.run = run2
    e = put_cmd(lc, "resume")
    assert b.cycle() == []            # idle: not listed again before idle_interval
    clock.t += b.idle_interval
    assert b.cycle() == [e]
    assert ack(lc, e)["outcome"] == "failed" and "Invalid node name" in ack(lc, e)["message"]

    # The workstation told them and removed command and ack: forgotten.
    for o in lc.s3.list("clusters/lab3/ctl/") + lc.s3.list("clusters/lab3/head/acks/ctl/"):
        lc.s3.delete(o.key)
    clock.t += 1
    assert b.cycle() == []
    assert json.load(open(state / "ctl.json"))["done"] == {}


def test_an_idle_agent_lists_every_idle_interval_only(cloud, tmp_path):  # noqa: F811
    lc = cloud
    run, clock = FakeScontrol(), Clock()
    a = commands(lc, tmp_path / "state", run, clock)
    before = len(audit(lc, "ListObjectsV2"))
    for _ in range(18):            # three minutes of 10 s rounds, nothing to do
        a.cycle()
        clock.t += 10
    idle = len(audit(lc, "ListObjectsV2")) - before
    assert idle <= 3 * 60 // a.idle_interval + 1, idle      # 3 a minute at 20 s
    # A new command makes it list every round for a while, then idle again.
    put_cmd(lc, "resume")
    clock.t += a.idle_interval
    a.cycle()
    before = len(audit(lc, "ListObjectsV2"))
    for _ in range(6):
        clock.t += 10
        a.cycle()
    assert len(audit(lc, "ListObjectsV2")) - before == 6
    assert len(run.calls) == 1
