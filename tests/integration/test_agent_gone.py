"""The head's removal of gone compute nodes from Slurm (scripts/embed/
agent_gone.py), run on the host against the local cloud's EC2 with the
credentials its IMDS hands out: a node Slurm lists whose instance is
terminated or never existed is removed, a live one is kept, another
cluster's instance does not count; EC2 is asked at most once a round and,
idle, once a minute (issue 15's budget is 20 requests a minute); a failing
scontrol is told and retried, never fatal; scontrol is called as Slurm
wants it. The booted removal is in test_cluster_ssh_boot.py."""
import json
import os
import secrets
import stat

import pytest

from agent_modules import load


@pytest.fixture
def cloud(localcloud):
    lc = localcloud
    aws, creds = load("agent_aws"), load("agent_creds")
    lc.creds = creds.ImdsCredentials(endpoint=lc.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"])
    lc.ec2 = load("agent_ec2").Ec2(aws.Client("ec2", lc.region, lc.creds, endpoint=lc.endpoint,
                                             backoff=0.01))
    return lc


def view(path, nodes):
    """A published view (agent_publish's view.json) listing nodes {name: state}."""
    doc = {"nodes": {"nodes": [{"name": n, "state": [s]} for n, s in nodes.items()]}}
    with open(path, "w") as f:
        json.dump(doc, f)


def launch(lc, cluster, owner, node):
    tags = {"pclusterfs:cluster": cluster, "pclusterfs:node": node,
            "pclusterfs:node-type": "Compute", "pclusterfs:owner": owner}
    return lc.ec2.run_instance(lc.image_id(), "t2.micro", "gone-" + secrets.token_hex(8), tags,
                               subnet_id=lc.subnet_id)["InstanceId"]


def test_gone_nodes_removed_live_kept_few_requests(cloud, tmp_path):
    lc, gone_mod = cloud, load("agent_gone")
    owner = "bk-" + secrets.token_hex(4)
    keep = launch(lc, "lab3", owner, "compute-st-t2micro-1")
    dead = launch(lc, "lab3", owner, "compute-st-t2micro-2")
    launch(lc, "lab30", owner, "compute-st-t2micro-3")    # another cluster's: does not count
    lc.ec2.terminate_instances([dead])
    path = str(tmp_path / "view.json")
    view(path, {"compute-st-t2micro-1": "IDLE", "compute-st-t2micro-2": "IDLE",
                "compute-st-t2micro-3": "IDLE", "compute-st-t2micro-4": "DOWN",
                # a dynamic node powered down has no instance: it stays
                "compute-dy-t2micro-1": "IDLE+CLOUD+POWERED_DOWN"})
    removed, logs, clock = [], [], [1000.0]
    g = gone_mod.GoneNodes(lc.ec2.describe_instances, "lab3", owner, path,
                           remove=removed.append, clock=lambda: clock[0], log=logs.append)
    assert g.cycle() == ["compute-st-t2micro-2", "compute-st-t2micro-3", "compute-st-t2micro-4"]
    assert removed == ["compute-st-t2micro-2", "compute-st-t2micro-3", "compute-st-t2micro-4"]
    assert g.requests == 1
    assert any("compute-st-t2micro-2 from Slurm" in m for m in logs)
    # The publisher's next view no longer lists them: looked at once (a change).
    view(path, {"compute-st-t2micro-1": "IDLE"})
    clock[0] += 10
    assert g.cycle() == [] and g.requests == 2
    # Idle: ten minutes of 10-second rounds, nothing changes: one request a minute.
    for _ in range(60):
        clock[0] += 10
        assert g.cycle() == []
    assert 2 + 9 <= g.requests <= 2 + 10, g.requests
    # A change in Slurm (the node stops responding) is looked at in the same round.
    before = g.requests
    clock[0] += 1
    lc.ec2.terminate_instances([keep])
    view(path, {"compute-st-t2micro-1": "IDLE+NOT_RESPONDING"})
    assert g.cycle() == ["compute-st-t2micro-1"] and g.requests == before + 1
    # No view yet (Slurm not up): nothing asked.
    os.unlink(path)
    assert g.cycle() == [] and g.requests == before + 1


def test_a_failing_removal_is_told_and_retried(tmp_path):
    gone_mod = load("agent_gone")
    path = str(tmp_path / "view.json")
    view(path, {"n1": "DOWN"})
    calls, logs, clock = [], [], [0.0]

    def remove(name):
        calls.append(name)
        if len(calls) == 1:
            raise OSError("slurmctld does not answer")

    g = gone_mod.GoneNodes(lambda f: [], "c", "o", path, remove=remove, every=60,
                           clock=lambda: clock[0], log=logs.append)
    assert g.cycle() == [] and "slurmctld does not answer" in logs[-1]
    clock[0] += 61
    assert g.cycle() == ["n1"] and calls == ["n1", "n1"]
    # run_round never raises, whatever breaks
    assert gone_mod.run_round({}, logs.append) == []
    assert "KeyError" in logs[-1]


def test_scontrol_delete_is_called_as_slurm_wants(tmp_path, monkeypatch):
    gone_mod = load("agent_gone")
    out = tmp_path / "args"
    fake = tmp_path / "scontrol"
    fake.write_text("#!/bin/sh\necho \"$SLURM_CONF $*\" > %s\n[ \"$2\" != nodename=bad ] || "
                    "{ echo 'Invalid node name specified' >&2; exit 1; }\n" % out)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", "%s:%s" % (tmp_path, os.environ["PATH"]))
    monkeypatch.setenv("SLURM_CONF", "/x/slurm.conf")
    gone_mod.scontrol_delete("compute-st-t2micro-1")
    assert out.read_text() == "/x/slurm.conf delete nodename=compute-st-t2micro-1\n"
    with pytest.raises(OSError) as e:
        gone_mod.scontrol_delete("bad")
    assert "Invalid node name" in str(e.value)


def test_hosts_file_names_the_nodes_slurm_lists(tmp_path):
    gone_mod = load("agent_gone")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n10.0.0.5 head\n")
    path = tmp_path / "view.json"
    doc = {"nodes": {"nodes": [
        {"name": "compute-st-t2micro-2", "address": "10.0.0.7", "state": ["IDLE"]},
        {"name": "compute-st-t2micro-1", "address": "10.0.0.6", "state": ["IDLE"]},
        {"name": "evil;rm", "address": "10.0.0.9"}, {"name": "x", "address": "1.2.3.4 y"}]}}
    path.write_text(json.dumps(doc))
    h = gone_mod.HostsFile(str(path), str(hosts))
    assert h.cycle() is True
    assert hosts.read_text() == ("127.0.0.1 localhost\n10.0.0.5 head\n" + gone_mod.HOSTS_BEGIN +
                                 "\n10.0.0.6 compute-st-t2micro-1\n10.0.0.7 compute-st-t2micro-2\n"
                                 + gone_mod.HOSTS_END + "\n")
    assert h.cycle() is False                      # unchanged: not written
    doc["nodes"]["nodes"] = doc["nodes"]["nodes"][1:2]
    path.write_text(json.dumps(doc))
    assert h.cycle() is True
    assert hosts.read_text().count("compute-") == 1 and "10.0.0.5 head\n" in hosts.read_text()
