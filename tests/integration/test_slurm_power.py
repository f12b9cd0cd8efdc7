"""Slurm's power saving hands its decisions to the head's root agent (issue
16): slurm_power.sh, as slurmctld's ResumeProgram, SuspendProgram and
ResumeFailProgram, run by a real slurmctld (Debian's 22.05) as SlurmUser,
leaves one request per call in the power spool, and agent_power.py reads
them back in order with their host lists expanded. No instance is launched
here: what the agent does with a request is the fleet's business."""
import grp
import os
import pwd
import shutil
import stat
import subprocess
import time

import pytest

from agent_modules import EMBED, load
from fixture_slurm import SlurmCluster

pytestmark = pytest.mark.slow

PROGRAMS = {"resume": "slurm_resume", "suspend": "slurm_suspend",
            "resume_fail": "slurm_resume_fail"}


class PowerCluster(SlurmCluster):
    """The fixture's cluster with our programs in slurm.conf and a short
    ResumeTimeout, so a node that never comes up fails to resume."""

    def write_config(self):
        super().write_config()
        bin_dir, self.spool = self.h("bin"), self.h("spool", "power")
        os.makedirs(bin_dir)
        shutil.copy(os.path.join(EMBED, "slurm_power.sh"), bin_dir)
        wrappers = []
        for action, name in PROGRAMS.items():
            os.symlink("slurm_power.sh", os.path.join(bin_dir, name))
            # slurmctld gives its programs no environment of ours: a wrapper
            # says where the spool is, as the head's default does.
            w = self.h(f"{name}.sh")
            with open(w, "w") as f:
                f.write(f"#!/bin/sh\nPCFS_POWER_SPOOL={self.spool} exec {bin_dir}/{name} \"$@\"\n")
            os.chmod(w, 0o755)
            wrappers.append(w)
        conf = open(self.h("slurm.conf")).read()
        conf = conf.replace("SuspendProgram=/bin/true\n", f"SuspendProgram={wrappers[1]}\n")
        conf = conf.replace("ResumeProgram=/bin/true\n",
                            f"ResumeProgram={wrappers[0]}\nResumeFailProgram={wrappers[2]}\n")
        conf = conf.replace("ResumeTimeout=600\n", "ResumeTimeout=20\n")
        with open(self.h("slurm.conf"), "w") as f:
            f.write(conf)
        load("agent_power").prepare_spool(self.spool)


@pytest.fixture(scope="module")
def power_cluster():
    cl = PowerCluster("host")
    try:
        cl.start()
    except Exception:
        cl.cleanup()
        raise
    # The agent's scontrol finds the head's slurm.conf where the images keep
    # it; here it is the throw-away cluster's.
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = cl.h("slurm.conf")
    yield cl
    if saved is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = saved
    cl.cleanup()


def wait_requests(cl, action, timeout=90):
    power = load("agent_power")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = [r for r in power.pending(cl.spool) if r.action == action]
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"no {action} request in {timeout}s: {os.listdir(cl.spool)}\n"
                         + cl.log_tail())


def test_the_spool_is_root_and_slurm_only(power_cluster):
    st = os.stat(power_cluster.spool)
    assert (st.st_uid, st.st_gid) == (0, grp.getgrnam("slurm").gr_gid)
    assert stat.S_IMODE(st.st_mode) == 0o730
    # An ordinary user can neither add a request nor see what waits.
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        "sh", "-c", f"echo resume > {power_cluster.spool}/1.1.resume; "
                        f"ls {power_cluster.spool}"], capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert not os.path.exists(os.path.join(power_cluster.spool, "1.1.resume"))


def test_a_job_on_a_powered_down_node_asks_the_agent_to_resume_it(power_cluster):
    cl, power = power_cluster, load("agent_power")
    cl.run("sbatch", "-w", "n4", "-o", "/dev/null", "-J", "wants-n4", "--wrap", "true")
    (req,) = wait_requests(cl, "resume")
    assert req.error is None and req.nodes == ["n4"], req
    path = os.path.join(cl.spool, req.name)
    # Written by slurmctld's program as SlurmUser, readable by root only.
    st = os.stat(path)
    assert st.st_uid == pwd.getpwnam("slurm").pw_uid and stat.S_IMODE(st.st_mode) == 0o600
    # The jobs' JSON Slurm gives only during the call travels with it.
    assert req.jobs and any(j.get("job_id") for j in req.jobs.get("jobs", [])), req.jobs
    power.done(req, cl.spool)
    assert not os.path.exists(path) and not os.path.exists(path + ".json")
    # Nobody starts n4's slurmd: past ResumeTimeout Slurm gives up on it and
    # says so through ResumeFailProgram, whose instance the agent terminates.
    (fail,) = wait_requests(cl, "resume_fail", timeout=120)
    assert fail.error is None and fail.nodes == ["n4"], fail
    power.done(fail, cl.spool)
    cl.run("scancel", "-n", "wants-n4", check=False)


def test_a_powered_down_node_asks_the_agent_to_stop_its_instance(power_cluster):
    cl, power = power_cluster, load("agent_power")
    for n in ("n1", "n2"):
        cl.start_node(n)
    cl.run("scontrol", "update", "nodename=n[1-2]", "state=power_down_force")
    reqs = wait_requests(cl, "suspend")
    names = sorted(n for r in reqs for n in r.nodes)
    assert names == ["n1", "n2"], reqs  # a host list, expanded
    for r in reqs:
        power.done(r, cl.spool)


def test_garbage_in_the_spool_is_told_not_acted_on(tmp_path):
    power = load("agent_power")
    spool = tmp_path / "power"
    spool.mkdir()
    (spool / "12.3.resume").write_text("suspend\nn1\n")     # action and name disagree
    (spool / "13.3.resume").write_text("resume\nn1;reboot\n")  # not a host list
    (spool / "hello").write_text("resume\nn1\n")
    (spool / "14.3.suspend").write_text("suspend\nq-dy-r-[1-2]\n")
    old = spool / ".new.abc"
    old.write_text("resume\n")
    os.utime(old, (1, 1))
    fake = lambda argv: (True, "q-dy-r-1 q-dy-r-2")  # scontrol show hostnames
    got = power.pending(str(spool), run=fake)
    assert [(r.name, bool(r.error)) for r in got] == [
        ("12.3.resume", True), ("13.3.resume", True), ("14.3.suspend", False), ("hello", True)]
    assert got[2].nodes == ["q-dy-r-1", "q-dy-r-2"]
    assert not old.exists()
    for r in got:
        power.done(r, str(spool))
    assert os.listdir(spool) == []


def test_the_program_refuses_what_slurm_never_sends(tmp_path):
    spool = tmp_path / "power"
    spool.mkdir()
    prog = tmp_path / "slurm_resume"
    prog.symlink_to(os.path.join(EMBED, "slurm_power.sh"))
    env = dict(os.environ, PCFS_POWER_SPOOL=str(spool))
    for args in ([], ["a", "b"], ["n1;rm -rf /"]):
        r = subprocess.run([str(prog)] + args, env=env, capture_output=True, text=True)
        assert r.returncode == 2 and "slurm_power.sh resume" in r.stderr, (args, r.stderr)
    other = tmp_path / "slurm_other"
    other.symlink_to(os.path.join(EMBED, "slurm_power.sh"))
    r = subprocess.run([str(other), "n1"], env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "expected slurm_resume" in r.stderr
    assert os.listdir(spool) == []
    r = subprocess.run([str(prog), "n[1-3]"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (name,) = os.listdir(spool)
    assert name.endswith(".resume") and (spool / name).read_text() == "resume\nn[1-3]\n"
