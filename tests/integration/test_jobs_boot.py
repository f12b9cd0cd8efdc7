"""jobs/ on a booted cluster in the local cloud's isolated mode (the
workstation cannot reach any instance): `cp job.sh jobs/` submits through
the bucket to the head's agent, which runs sbatch as the image's default
user and answers with the job id, which jobs/job.sh then names; jobs/<id>/
follows Slurm from the view the agent publishes: a two-node job goes
PENDING or RUNNING then COMPLETED with exit_code 0 on two distinct nodes, a
failing script ends FAILED with its exit code, and `rmdir jobs/<id>` of a
running one cancels it (CANCELLED), after which jobs/ stops listing it.
Copying the same name again is EEXIST, not a second job."""
import errno
import json
import os
import subprocess
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


def submit(c, tmp_path, name):
    """cp name jobs/, then the job id once jobs/name names it."""
    src = tmp_path / name
    src.write_text(SCRIPTS[name])
    r = subprocess.run(["cp", str(src), str(c / "jobs" / name)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: (c / "jobs" / name).read_text().startswith("job "), timeout=60), \
        ((c / "jobs" / name).read_text(), (c / "events").read_text()[-1500:])
    return (c / "jobs" / name).read_text().split()[1]


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
        two = submit(c, tmp_path, "two.sh")
        acked_s = time.time() - t0
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

        # the same name again is the record's: EEXIST, no second job
        r = subprocess.run(["cp", str(tmp_path / "two.sh"), str(c / "jobs" / "two.sh")],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "File exists" in r.stderr, r.stderr
        assert "jobs/two.sh: the head submitted it to Slurm as job %s" % two in \
            (c / "events").read_text()

        # written under a scratch name and renamed, as Ansible's copy does
        (c / "jobs" / ".renamed.sh.tmp").write_text(SCRIPTS["fails.sh"])
        os.rename(c / "jobs" / ".renamed.sh.tmp", c / "jobs" / "renamed.sh")
        assert wait_for(lambda: (c / "jobs" / "renamed.sh").read_text().startswith("job "),
                        timeout=60), (c / "events").read_text()[-1500:]
        assert not (c / "jobs" / ".renamed.sh.tmp").exists()
        renamed = (c / "jobs" / "renamed.sh").read_text().split()[1]

        fails = submit(c, tmp_path, "fails.sh")
        assert wait_for(lambda: job_file(c, fails, "state") == "FAILED", timeout=120), \
            job_file(c, fails, "job.json")
        assert job_file(c, fails, "exit_code") == "3"

        sleeps = submit(c, tmp_path, "sleeps.sh")
        assert wait_for(lambda: job_file(c, sleeps, "state") == "RUNNING", timeout=120)
        assert job_file(c, sleeps, "exit_code") == ""       # not ended: no exit code yet
        (c / "jobs" / sleeps).rmdir()
        assert wait_for(lambda: "jobs/%s: the head cancelled it" % sleeps in
                        (c / "events").read_text(), timeout=120), (c / "events").read_text()
        r = lc.in_instance(head, "scontrol show job %s" % sleeps)
        assert "JobState=CANCELLED" in r.stdout, r.stdout
        assert wait_for(lambda: not (c / "jobs" / sleeps).exists(), timeout=60)
        assert wait_for(lambda: job_file(c, renamed, "state") == "FAILED", timeout=60)
        assert sorted(p.name for p in (c / "jobs").iterdir()) == sorted(
            [two, fails, renamed, "two.sh", "fails.sh", "renamed.sh", "sleeps.sh"])
        print("\njobs: job id in jobs/<name> %.1f s after cp, jobs/<id>/ %.1f s, "
              "COMPLETED shown %.1f s after cp" % (acked_s, seen_s, done_s))
    finally:
        assert m.stop() == 0, m.log_text()
