"""nodes/<n>/ctl on a booted cluster in the local cloud's isolated mode
(the workstation cannot reach any instance): the command goes through the
bucket to the head's agent, which runs it and acknowledges it; the node's
files show the new state from the view the agent publishes.
`echo 'drain maintenance' > ctl` drains the node with its reason in
node.json, `echo resume` brings it back to idle, `echo replace` terminates
its instance and the node comes back with a new instance id, without the
replace counting as a failed try."""
import json
import subprocess
import time

import pytest

from fixture_mount import bucket_mount
from test_lifecycle import config, node_file, status, status_json, wait_for

pytestmark = [pytest.mark.boot, pytest.mark.slow]

NODE = "compute-st-t2micro-1"


@pytest.fixture
def lc(localcloud_factory):
    cloud = localcloud_factory(boot=True, isolated=True)
    cloud.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    return cloud


def sh(cmd):
    return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True)


def node_json(c):
    return json.loads((c / "nodes" / NODE / "node.json").read_text())


def test_drain_resume_replace_through_the_bucket(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    bucket = m.options[0].split("=", 1)[1]
    s3 = lc.client("s3")
    try:
        c = m / "lab3"
        c.mkdir()
        (c / "config").write_text(config(lc, initial=1))
        assert wait_for(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED")), \
            (c / "events").read_text()
        assert status(c) == "CREATE_COMPLETE", status_json(c)
        assert wait_for(lambda: node_file(c, NODE, "slurm_state") == "idle", timeout=120)
        ctl = c / "nodes" / NODE / "ctl"

        t0 = time.time()
        r = sh("echo 'drain maintenance' > %s" % ctl)
        assert r.returncode == 0, r.stderr
        assert wait_for(lambda: node_file(c, NODE, "slurm_state") == "drained", timeout=120), \
            (node_json(c), (c / "events").read_text()[-2000:])
        drained_s = time.time() - t0
        assert node_json(c)["reason"] == "maintenance"
        assert wait_for(lambda: "nodes/%s/ctl: drain" % NODE in (c / "events").read_text() and
                        "carried out by the head" in (c / "events").read_text(), timeout=60)

        t0 = time.time()
        assert sh("echo resume > %s" % ctl).returncode == 0
        assert wait_for(lambda: node_file(c, NODE, "slurm_state") == "idle", timeout=120), \
            node_json(c)
        resumed_s = time.time() - t0

        old = node_file(c, NODE, "instance_id")
        t0 = time.time()
        assert sh("echo replace > %s" % ctl).returncode == 0
        assert wait_for(lambda: node_file(c, NODE, "instance_id") not in (None, "", old),
                        timeout=180), (c / "events").read_text()[-2000:]
        replaced_s = time.time() - t0
        new = node_file(c, NODE, "instance_id")
        assert new.startswith("i-") and new != old
        ev = (c / "events").read_text()
        assert "nodes/%s/ctl: replace" % NODE in ev and old in ev
        assert wait_for(lambda: "terminated %s" % old in (c / "events").read_text(), timeout=60)
        # The new instance comes up and joins; the replace cost no try and
        # is no failure.
        assert wait_for(lambda: node_file(c, NODE, "bootstrap") == "done", timeout=300)
        assert status(c) in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), status_json(c)
        assert not status_json(c).get("failures")
        intent = s3.get_object(Bucket=bucket, Key="clusters/lab3/launch/%s/intent" % NODE)
        assert intent["Body"].read().decode().split()[-2:] == ["tries", "1"]
        # Every command and ack was told and removed.
        assert wait_for(lambda: not s3.list_objects_v2(
            Bucket=bucket, Prefix="clusters/lab3/ctl/").get("Contents"), timeout=60)
        assert not [ln for ln in (c / "events").read_text().splitlines()
                    if " error " in ln and "ctl" in ln]
        print("\nnodectl: drained in %.1f s, resumed in %.1f s, new instance id in %.1f s"
              % (drained_s, resumed_s, replaced_s))
    finally:
        assert m.stop() == 0, m.log_text()
