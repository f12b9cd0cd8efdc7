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
        # Dynamic nodes as issue 16 plans them: made at run time with
        # `scontrol create ... Features=<queue>`, partitions built from node
        # sets by feature, idle ones powered down after the queue's time.
        conf += "NodeSet=qset Feature=q\nPartitionName=q Nodes=qset State=UP SuspendTime=5\n"
        with open(self.h("slurm.conf"), "w") as f:
            f.write(conf)
        load("agent_power").prepare_spool(self.spool)
        with open(self.h("hosts"), "a") as f:
            f.write("127.0.0.1\tq-dy-r-1\n")


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


def uptime_seconds():
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]))


def test_a_dynamic_node_is_resumed_runs_the_job_and_is_suspended(power_cluster, tmp_path):
    """The whole round issue 16 builds on, against a real slurmctld: a node
    created at run time in a queue's node set is powered down; a job on the
    queue makes Slurm ask to resume it; what the agent then does (start the
    instance, whose slurmd registers with -Z under the node's name, in a
    time namespace so that it booted after the request, and set the node's
    address) lets the job run there; once idle past the queue's SuspendTime,
    Slurm asks to suspend it."""
    cl, power = power_cluster, load("agent_power")
    node = "q-dy-r-1"
    cl.run("scontrol", "create", f"NodeName={node}", "State=CLOUD", "Features=q", "CPUs=2",
           "RealMemory=500")
    # `scontrol create` says nothing when the node table is full: look.
    assert f"NodeName={node} " in cl.run("scontrol", "-o", "show", "node", node)
    assert "POWERED_DOWN" in cl.show_nodes()[node]["State"]
    out = tmp_path / "job.out"
    os.chmod(tmp_path, 0o777)
    cl.run("sbatch", "-p", "q", "-o", str(out), "-J", "on-dynamic", "--wrap", "hostname")
    reqs = [r for r in wait_requests(cl, "resume") if node in r.nodes]
    assert reqs and reqs[0].error is None, reqs
    for r in reqs:
        power.done(r, cl.spool)
    # Slurm wants a boot time after its request, in whole seconds.
    time.sleep(1.5)
    os.makedirs(cl.h("spool", node), exist_ok=True)
    argv = ["unshare", "--time", "--boottime", "-%d" % uptime_seconds(), "--fork"] + cl._wrap(
        ["slurmd", "-D", "-Z", "-N", node, "--conf", "CPUs=2 RealMemory=500 Feature=q",
         "-f", cl.c("slurm.conf")], hostname=node, pidns=True)
    log = open(cl.h(f"slurmd-{node}.out"), "wb")
    cl.procs[f"slurmd-{node}"] = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env=dict(os.environ, SLURM_CONF=cl.c("slurm.conf")))
    cl.run("scontrol", "update", f"NodeName={node}", "NodeAddr=127.0.0.1",
           f"NodeHostname={node}")

    def job_state():
        line = cl.run("scontrol", "-o", "show", "job", "-d", check=False)
        for rec in line.splitlines():
            if "JobName=on-dynamic " in rec:
                return rec.split("JobState=")[1].split()[0]
        return None
    end = time.monotonic() + 90
    while job_state() not in ("COMPLETED", "FAILED") and time.monotonic() < end:
        time.sleep(0.5)
    assert job_state() == "COMPLETED", (job_state(), cl.log_tail(), open(
        cl.h(f"slurmd-{node}.out"), errors="replace").read()[-1500:])
    assert out.read_text().strip() == node
    reqs = [r for r in wait_requests(cl, "suspend", timeout=120) if node in r.nodes]
    assert reqs and reqs[0].error is None, reqs
    for r in power.pending(cl.spool):
        power.done(r, cl.spool)
    cl._stop(f"slurmd-{node}")


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
