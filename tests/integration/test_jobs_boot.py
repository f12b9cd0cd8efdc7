"""jobs/ on a booted cluster in the local cloud's isolated mode (the
workstation cannot reach any instance): jobs submitted on the head as the
image's default user show up under jobs/<id>/ from the Slurm view the
head's agent publishes through the bucket, and follow Slurm: a two-node job
goes PENDING or RUNNING then COMPLETED with exit_code 0 on two distinct
nodes; a failing script ends FAILED with its exit code; a cancelled one
CANCELLED."""
import json
import time

import pytest

from test_lifecycle import config, node_file, status, status_json, wait_for

pytestmark = [pytest.mark.boot, pytest.mark.slow]

from fixture_mount import bucket_mount  # noqa: E402

COMPUTE = ["compute-st-t2micro-1", "compute-st-t2micro-2"]
SCRIPTS = {
    "two.sh": "#!/bin/sh\n#SBATCH -N 2\n#SBATCH -o two.out\nsrun hostname\n",
    "fails.sh": "#!/bin/sh\n#SBATCH -o fails.out\necho about to fail >&2\nexit 3\n",
    "sleeps.sh": "#!/bin/sh\n#SBATCH -o sleeps.out\nsleep 300\n",
}


@pytest.fixture
def lc(localcloud_factory):
    cloud = localcloud_factory(boot=True, isolated=True)
    cloud.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    return cloud


def job_file(c, job_id, name):
    try:
        return (c / "jobs" / job_id / name).read_text().strip()
    except FileNotFoundError:
        return None


def submit(lc, head, name):
    """sbatch on the head as the default user, as a user logged in would."""
    script = SCRIPTS[name]
    r = lc.in_instance(head, "cd /home/ec2-user && cat > %s <<'EOF'\n%sEOF\n"
                       "chown ec2-user %s && runuser -u ec2-user -- sbatch --parsable %s"
                       % (name, script, name, name))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip().split(";")[0]


def test_jobs_follow_slurm_through_the_bucket(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    try:
        c = m / "lab3"
        c.mkdir()
        assert (c / "jobs").is_dir() and not list((c / "jobs").iterdir())
        (c / "config").write_text(config(lc, initial=2))
        assert wait_for(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED")), \
            (c / "events").read_text()
        assert status(c) == "CREATE_COMPLETE", status_json(c)
        for n in COMPUTE:
            assert wait_for(lambda: node_file(c, n, "slurm_state") == "idle", timeout=120)
        head = node_file(c, "head", "instance_id")

        t0 = time.time()
        two = submit(lc, head, "two.sh")
        assert wait_for(lambda: job_file(c, two, "state") is not None, timeout=60), \
            sorted(p.name for p in (c / "jobs").iterdir())
        seen_s = time.time() - t0
        assert job_file(c, two, "state") in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING",
                                              "COMPLETED")
        assert wait_for(lambda: job_file(c, two, "state") == "COMPLETED", timeout=120), \
            job_file(c, two, "job.json")
        done_s = time.time() - t0
        assert job_file(c, two, "exit_code") == "0"
        doc = json.loads(job_file(c, two, "job.json"))
        assert doc["user"] == "ec2-user" and doc["name"] == "two.sh", doc
        assert doc["nodeCount"] == 2 and doc["exitCode"] == 0, doc
        assert job_file(c, two, "nodes") == "compute-st-t2micro-[1-2]"
        assert job_file(c, two, "user") == "ec2-user"
        # srun ran as the user on both nodes (its output stays on the batch
        # host until the cluster has a shared /home)
        out = lc.in_instance(node_file(c, COMPUTE[0], "instance_id"),
                             "cat /home/ec2-user/two.out").stdout.split()
        assert sorted(out) == COMPUTE, out

        fails = submit(lc, head, "fails.sh")
        assert wait_for(lambda: job_file(c, fails, "state") == "FAILED", timeout=120), \
            job_file(c, fails, "job.json")
        assert job_file(c, fails, "exit_code") == "3"

        sleeps = submit(lc, head, "sleeps.sh")
        assert wait_for(lambda: job_file(c, sleeps, "state") == "RUNNING", timeout=120)
        assert job_file(c, sleeps, "exit_code") == ""       # not ended: no exit code yet
        r = lc.in_instance(head, "runuser -u ec2-user -- scancel %s" % sleeps)
        assert r.returncode == 0, r.stderr
        assert wait_for(lambda: job_file(c, sleeps, "state") == "CANCELLED", timeout=120)
        assert sorted(p.name for p in (c / "jobs").iterdir()) == sorted([two, fails, sleeps])
        print("\njobs: seen in jobs/ %.1f s after sbatch, COMPLETED shown %.1f s after"
              % (seen_s, done_s))
    finally:
        assert m.stop() == 0, m.log_text()
