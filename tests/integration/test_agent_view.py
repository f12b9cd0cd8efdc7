"""The workstation reads Slurm through the bucket: the view the head's agent
publishes (here the agent's own publisher, fed by a stand-in slurmrestd
that serves Slurm 24.11's answers renamed to the cluster's nodes) fills
nodes/*/slurm_state and lets the cluster complete while no slurmrestd is
reachable (the local cloud runs with boot off); a view another head
instance wrote, or one older than the limit, makes Slurm's state unknown
and status.json's slurm_stale say why (the view's age)."""
import copy
import json
import os
import time

from agent_modules import FakeSlurmrestd, load
from fault_helpers import config, instances, put_report, status_json
from fixture_mount import bucket_mount, wait_for

NODES = ["compute-st-t2micro-1", "compute-st-t2micro-2"]


def rename_nodes(fake):
    """The recorded n1 (idle) and n3 (drained) become the cluster's nodes."""
    recorded = {n["name"]: n for n in fake.nodes()}
    fake.docs["/slurm/v0.0.42/nodes"]["nodes"] = []
    for name, src in zip(NODES, ("n1", "n3")):
        n = copy.deepcopy(recorded[src])
        n["name"] = n["hostname"] = name
        fake.nodes().append(n)


def test_slurm_state_and_completion_come_from_the_published_view(tmp_path, localcloud):
    lc = localcloud
    lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    fake = FakeSlurmrestd(b"k" * 32)
    try:
        c = m / "lab3"
        c.mkdir()
        (c / "config").write_text(config(lc, 2))
        assert wait_for(lambda: "head" in instances(lc, bucket, "lab3"), 30)
        put_report(lc, bucket, "lab3", "head")
        assert wait_for(lambda: sorted(instances(lc, bucket, "lab3")) == NODES + ["head"], 30), \
            (c / "events").read_text()
        for n in NODES:
            put_report(lc, bucket, "lab3", n)
        # No view yet: slurmrestd at the head cannot be reached.
        assert wait_for(lambda: status_json(c)["slurm_stale"], 30), status_json(c)
        assert (c / "status").read_text() == "CREATE_IN_PROGRESS\n"

        aws, creds_mod = load("agent_aws"), load("agent_creds")
        pub_mod, sl = load("agent_publish"), load("agent_slurm")
        creds = creds_mod.ImdsCredentials(endpoint=lc.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"])
        s3 = load("agent_s3").S3(aws.Client("s3", lc.region, creds, endpoint=lc.endpoint),
                                 bucket, lc.account_id)
        rename_nodes(fake)

        def slurm_state(n):
            try:
                return (c / "nodes" / n / "slurm_state").read_text()
            except FileNotFoundError:
                return "(no node %s: %s)" % (n, sorted(os.listdir(c / "nodes")))

        # A view counts only for the head instance that wrote it.
        clock = [time.time()]
        other = pub_mod.Publisher(s3, sl.Slurmrestd(fake.url, fake.key), "lab3",
                                  "i-00000000000000000", str(tmp_path / "other"),
                                  clock=lambda: clock[0])
        assert other.cycle() == ["view", "heartbeat"]
        assert wait_for(lambda: "is of instance i-00000000000000000" in
                        (status_json(c)["slurm_stale_reason"] or ""), 30), status_json(c)
        assert slurm_state(NODES[0]) == "unknown\n"

        head = instances(lc, bucket, "lab3")["head"][0]
        pub = pub_mod.Publisher(s3, sl.Slurmrestd(fake.url, fake.key), "lab3", head,
                                str(tmp_path / "agent"), clock=lambda: clock[0])
        assert pub.cycle() == ["view", "heartbeat"]
        assert wait_for(lambda: slurm_state(NODES[0]) == "idle\n", 30), \
            (slurm_state(NODES[0]), status_json(c), (c / "events").read_text())
        assert slurm_state(NODES[1]) == "drained\n"
        node = json.loads((c / "nodes" / NODES[1] / "node.json").read_text())
        assert "disk check" in json.dumps(node), node
        st = status_json(c)
        assert st["slurm_stale"] is False and st["slurm_stale_reason"] is None, st
        # Every static node is registered in Slurm: the cluster completes on
        # the view alone.
        assert wait_for(lambda: (c / "status").read_text() == "CREATE_COMPLETE\n", 30), \
            status_json(c)

        # A change the agent publishes shows.
        fake.nodes()[1]["state"] = ["IDLE"]
        fake.nodes()[1]["reason"] = ""
        clock[0] = time.time()
        assert pub.cycle() == ["view"]
        assert wait_for(lambda: slurm_state(NODES[1]) == "idle\n", 30), status_json(c)

        # The head falls silent: its last words (a view and a heartbeat, from
        # a restarted agent) are older than the limit.
        fake.nodes()[0]["state"] = ["IDLE", "DRAIN"]
        clock[0] = time.time() - 400
        pub = pub_mod.Publisher(s3, sl.Slurmrestd(fake.url, fake.key), "lab3", head,
                                str(tmp_path / "agent2"), clock=lambda: clock[0])
        assert pub.cycle() == ["view", "heartbeat"]
        assert wait_for(lambda: status_json(c)["slurm_stale"], 30), status_json(c)
        reason = status_json(c)["slurm_stale_reason"]
        assert "published Slurm view is" in reason and "s old" in reason, reason
        assert slurm_state(NODES[0]) == "unknown\n"

        # A heartbeat brings it back without a new view.
        clock[0] = time.time()
        assert pub.cycle() == ["heartbeat"]
        assert wait_for(lambda: not status_json(c)["slurm_stale"], 30), status_json(c)
        assert slurm_state(NODES[0]) == "drained\n"
    finally:
        fake.close()
        rc = m.stop()
    log = m.log_text()
    assert rc == 0, log
    assert "AddressSanitizer" not in log and "runtime error" not in log, log
