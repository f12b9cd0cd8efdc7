"""The head's agent carrying out batch jobs from the bucket (agent_jobs.py)
against a real slurmctld and slurmd (Debian's 22.05) and the local cloud's
S3: a script stored as a workstation stores it under jobs/submit/<name> is
submitted once with sbatch as the image's default user (here a throw-away
user made for the test, the config's job_user), never as root, and
acknowledged under head/acks/jobs/ with Slurm's job id; a restart submits
nothing again; what sbatch or the agent refuses gets a failed ack naming
why; a cancel under jobs/cancel/<jobid> runs scancel as that user and is
acknowledged under head/acks/cancel/."""
import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

from agent_modules import load
from fixture_slurm import SlurmCluster, parse_scontrol_line, wait_for

pytestmark = pytest.mark.slow


class Clock:
    def __init__(self):
        self.t = time.time()

    def __call__(self):
        return self.t


@pytest.fixture(scope="module")
def env(localcloud_module):
    """One Slurm cluster with n1 up, a throw-away user whose home is in a
    directory every user may pass through, and the agent's S3 client on a
    fresh bucket of the local cloud."""
    top = tempfile.mkdtemp(prefix="pcfs-jobs-")
    os.chmod(top, 0o755)
    user = "pcfsj" + secrets.token_hex(4)
    home = os.path.join(top, "home")
    subprocess.run(["useradd", "-m", "-d", home, "-s", "/bin/sh", "-U", user], check=True,
                   capture_output=True, timeout=30)
    cl = saved = None
    try:
        cl = SlurmCluster("host")
        cl.start()
        cl.start_node("n1")
        # The agent's sbatch and scancel find the head's slurm.conf where the
        # images keep it; here it is the throw-away cluster's.
        saved = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = cl.h("slurm.conf")
        lc = localcloud_module
        bucket = "jobs-" + secrets.token_hex(4)
        lc.client("s3").create_bucket(Bucket=bucket,
                                      CreateBucketConfiguration={"LocationConstraint": lc.region})
        aws, creds = load("agent_aws"), load("agent_creds")
        c = creds.ImdsCredentials(endpoint=lc.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"])
        lc.s3 = load("agent_s3").S3(aws.Client("s3", lc.region, c, endpoint=lc.endpoint,
                                               backoff=0.01), bucket, lc.account_id)
        lc.cl, lc.user, lc.home, lc.top = cl, user, home, top
        lc.jobs_dir = os.path.join(top, "spool", "jobs")
        yield lc
    finally:
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved
        if cl is not None:
            cl.cleanup()
        subprocess.run(["userdel", "-f", user], capture_output=True, timeout=30)
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def jenv(env):
    """env, with a cluster name of the test's own in the shared bucket."""
    env.cluster = "jobs" + secrets.token_hex(3)
    return env


class Recorder:
    """agent_jobs.run_as, counting its calls."""

    def __init__(self):
        self.calls = []
        self.run_as = load("agent_jobs").run_as

    def __call__(self, pw, argv, timeout, cwd=None):
        self.calls.append((pw.pw_name, argv))
        return self.run_as(pw, argv, timeout, cwd)


def agent(env, state, clock=None, run=None, job_user=None):
    jobs = load("agent_jobs")
    return jobs.Jobs(env.s3, env.cluster, str(state), jobs_dir=env.jobs_dir,
                     job_user=job_user or env.user, clock=clock or time.time,
                     run=run or jobs.run_as)


def submit(env, name, body):
    env.s3.put("clusters/%s/jobs/submit/%s" % (env.cluster, name), body)


def ack(env, name):
    return json.loads(env.s3.get("clusters/%s/head/acks/jobs/%s" % (env.cluster, name)).body)


def cancel_ack(env, job_id):
    return json.loads(env.s3.get("clusters/%s/head/acks/cancel/%s" % (env.cluster, job_id)).body)


def show_job(env, job_id):
    out = env.cl.run("scontrol", "-o", "show", "job", str(job_id), check=False)
    return parse_scontrol_line(out.splitlines()[0]) if out.strip() else {}


def user_jobs(env, anyone=False):
    who = [] if anyone else ["-u", env.user]
    return env.cl.run("squeue", "-h", "-t", "all", "-o", "%i %j", *who).split("\n")


def test_keys_and_names():
    jobs = load("agent_jobs")
    assert jobs.jobs_prefix("c1", "submit") == "clusters/c1/jobs/submit/"
    assert jobs.jobs_prefix("c1", "cancel") == "clusters/c1/jobs/cancel/"
    assert jobs.submit_ack_key("c1", "a.sh") == "clusters/c1/head/acks/jobs/a.sh"
    assert jobs.cancel_ack_key("c1", "12") == "clusters/c1/head/acks/cancel/12"
    assert jobs.parse_job_id("123\n") == 123 and jobs.parse_job_id("45;lab\n") == 45
    assert jobs.parse_job_id("") is None and jobs.parse_job_id("x;y") is None
    for ok in ("a", "_x", "run-1.sh", "A+b_c.d-e", "9" * 128):
        assert jobs.NAME_RE.match(ok), ok
    for bad in ("", ".hidden", "-x", "+x", "a/b", "a b", "9" * 129, "é"):
        assert not jobs.NAME_RE.match(bad), bad


def test_a_job_runs_once_as_the_default_user(jenv, tmp_path):
    env = jenv
    script = b"#!/bin/sh\n#SBATCH -n 1\nid -un\nid -u\npwd\n"
    submit(env, "whoami.sh", script)
    state = tmp_path / "state"
    a = agent(env, state)
    assert a.cycle() == ["submit/whoami.sh"]
    got = ack(env, "whoami.sh")
    assert got["format"] == 1 and got["name"] == "whoami.sh" and got["outcome"] == "submitted"
    assert got["user"] == env.user and got["message"] == "" and got["done_at"].endswith("Z")
    job_id = got["job_id"]
    assert isinstance(job_id, int) and job_id > 0
    # Slurm has it, as that user, named after the file.
    job = show_job(env, job_id)
    uid = pwd.getpwnam(env.user).pw_uid
    assert job["UserId"] == "%s(%d)" % (env.user, uid), job
    assert job["JobName"] == "whoami.sh" and job["WorkDir"] == env.home, job
    # It ran as that user, in its home, where Slurm's default output lands.
    out = os.path.join(env.home, "slurm-%d.out" % job_id)
    wait_for(lambda: os.path.exists(out) and len(open(out).read().split()) >= 3, 30,
             "the job's output")
    assert open(out).read().split() == [env.user, str(uid), env.home]
    assert os.stat(out).st_uid == uid
    # The script waited in a directory of its own, gone once submitted.
    assert os.listdir(env.jobs_dir) == []
    assert stat.S_IMODE(os.stat(env.jobs_dir).st_mode) == 0o711
    assert stat.S_IMODE(os.stat(state / "jobs.json").st_mode) == 0o600
    # Nothing is submitted again: not by the next round, not after a restart.
    assert a.cycle() == []
    clock = Clock()
    b = agent(env, state, clock=clock)
    assert b.cycle() == []
    assert ack(env, "whoami.sh") == got
    assert len([ln for ln in user_jobs(env) if ln.endswith(" whoami.sh")]) == 1
    # The workstation told the ack and removed both: forgotten.
    env.s3.delete("clusters/%s/jobs/submit/whoami.sh" % env.cluster)
    env.s3.delete("clusters/%s/head/acks/jobs/whoami.sh" % env.cluster)
    assert b.cycle() == []         # idle: not listed again before idle_interval
    assert "whoami.sh" in json.load(open(state / "jobs.json"))["submit"]
    clock.t += b.idle_interval
    assert b.cycle() == []
    assert json.load(open(state / "jobs.json"))["submit"] == {}


def test_refused_scripts_get_failed_acks(jenv, tmp_path):
    env = jenv
    submit(env, "bad-nodes", b"#!/bin/sh\n#SBATCH --nodes=abc\ntrue\n")
    submit(env, "no-shebang", b"echo hi\n")
    submit(env, "too-big", b"#!/bin/sh\n" + b"#" * (1024 * 1024))
    submit(env, "as-root", b"#!/bin/sh\n#SBATCH --uid=0\nid -un\n")
    submit(env, "as-root-group", b"#!/bin/sh\n#SBATCH --gid=0\nid -gn\n")
    submit(env, ".hidden", b"#!/bin/sh\ntrue\n")             # names a workstation never writes
    submit(env, "sub/dir", b"#!/bin/sh\ntrue\n")
    run = Recorder()
    a = agent(env, tmp_path / "state", run=run)
    acked = a.cycle()
    assert acked == ["submit/as-root", "submit/as-root-group", "submit/bad-nodes",
                     "submit/no-shebang", "submit/too-big"], acked
    # sbatch ran for the two it refused only, as the user.
    assert [(u, argv[1:2], os.path.basename(argv[2])) for u, argv in run.calls] == [
        (env.user, ["--parsable"], n) for n in ("as-root", "as-root-group", "bad-nodes")]
    bad = ack(env, "bad-nodes")
    assert bad["outcome"] == "failed" and bad["job_id"] is None and bad["user"] == env.user
    assert bad["message"] == 'sbatch: error: "abc" is not a valid node count', bad
    no = ack(env, "no-shebang")
    assert no["outcome"] == "failed" and "#!" in no["message"], no
    big = ack(env, "too-big")
    assert big["outcome"] == "failed" and "more than 1048576" in big["message"], big
    # Never root: a non-root sbatch refuses --uid.
    root = ack(env, "as-root")
    assert root["outcome"] == "failed" and root["job_id"] is None, root
    assert root["message"] == "sbatch: error: --uid only permitted by root user", root
    group = ack(env, "as-root-group")
    assert group["outcome"] == "failed" and "--gid only permitted by root" in group["message"]
    for name in (".hidden", "sub/dir"):
        with pytest.raises(Exception):
            ack(env, name)
    assert not [ln for ln in user_jobs(env, anyone=True) if ln.split(" ")[-1] in
                ("as-root", "as-root-group", "bad-nodes")]
    assert os.listdir(env.jobs_dir) == []


def test_no_such_user_no_submission(jenv, tmp_path):
    env = jenv
    submit(env, "nobody-here", b"#!/bin/sh\ntrue\n")
    run = Recorder()
    a = agent(env, tmp_path / "state", run=run, job_user="pcfs-no-such-user")
    assert "submit/nobody-here" in a.cycle()
    got = ack(env, "nobody-here")
    assert got["outcome"] == "failed" and got["user"] is None and got["job_id"] is None
    assert "does not exist" in got["message"] and run.calls == []


def test_cancels(jenv, tmp_path):
    env = jenv
    # exec: the fixture's slurmd is its PID namespace's init and reaps no
    # orphans, so a job whose shell dies before its sleep would stay
    # COMPLETING (as would root's own, checked by hand) until Slurm gives up.
    submit(env, "sleeper", b"#!/bin/sh\nexec sleep 300\n")
    submit(env, "quick", b"#!/bin/sh\ntrue\n")
    clock = Clock()
    a = agent(env, tmp_path / "state", clock=clock)
    assert a.cycle() == ["submit/quick", "submit/sleeper"]
    sleeper, quick = ack(env, "sleeper")["job_id"], ack(env, "quick")["job_id"]
    wait_for(lambda: show_job(env, sleeper).get("JobState") == "RUNNING", 30, "sleeper running")
    wait_for(lambda: show_job(env, quick).get("JobState") == "COMPLETED", 30, "quick done")
    # root's own job: the default user may not cancel it.
    rootjob = int(env.cl.run("sbatch", "--parsable", "-o", "/dev/null", "--wrap",
                             "exec sleep 300").strip().split(";")[0])
    for j in (sleeper, quick, rootjob, 99999999):
        env.s3.put("clusters/%s/jobs/cancel/%d" % (env.cluster, j), b"")
    env.s3.put("clusters/%s/jobs/cancel/12x" % env.cluster, b"")        # not a job id: ignored
    clock.t += 1
    acked = a.cycle()
    assert acked == ["cancel/%d" % j for j in sorted([sleeper, quick, rootjob, 99999999])]
    got = cancel_ack(env, sleeper)
    assert got["format"] == 1 and got["job_id"] == sleeper and got["outcome"] == "done", got
    assert got["done_at"].endswith("Z")
    assert got["message"] == "Slurm cancelled job %d" % sleeper, got
    wait_for(lambda: show_job(env, sleeper).get("JobState") == "CANCELLED", 30,
             "sleeper cancelled")
    done = cancel_ack(env, quick)
    assert done["outcome"] == "done" and "already" in done["message"], done
    other = cancel_ack(env, rootjob)
    assert other["outcome"] == "failed" and "Access/permission denied" in other["message"], other
    assert show_job(env, rootjob).get("JobState") in ("RUNNING", "PENDING")
    env.cl.run("scancel", str(rootjob))
    gone = cancel_ack(env, 99999999)
    assert gone["outcome"] == "failed" and "Invalid job id" in gone["message"], gone
    with pytest.raises(Exception):
        cancel_ack(env, "12x")
    # Nothing is done twice.
    clock.t += 1
    assert a.cycle() == []


def test_an_agent_stopped_during_sbatch_does_not_submit_again(jenv, tmp_path):
    env = jenv
    submit(env, "interrupted", b"#!/bin/sh\ntrue\n")
    state = tmp_path / "state"
    os.makedirs(str(state), mode=0o700)
    # What the agent left when it stopped while sbatch ran.
    load("agent_publish").write_state(str(state / "jobs.json"), {"submit": {"interrupted": {
        "outcome": "started", "user": env.user, "acked": False}}, "cancel": {}})
    run = Recorder()
    a = agent(env, state, run=run)
    assert a.cycle() == ["submit/interrupted"] and run.calls == []
    got = ack(env, "interrupted")
    assert got["outcome"] == "failed" and got["job_id"] is None and got["user"] == env.user
    assert "may have been submitted" in got["message"] and "interrupted" in got["message"]


def test_an_ack_in_the_bucket_is_never_done_again(jenv, tmp_path):
    """State lost, or a new head: a name whose ack is there is not submitted,
    a job id whose cancel ack is there is not cancelled."""
    env = jenv
    submit(env, "once", b"#!/bin/sh\ntrue\n")
    a = agent(env, tmp_path / "state")
    assert a.cycle() == ["submit/once"]
    got = ack(env, "once")
    assert got["outcome"] == "submitted"
    env.s3.put("clusters/%s/jobs/cancel/%d" % (env.cluster, got["job_id"]), b"")
    env.s3.put("clusters/%s/head/acks/cancel/%d" % (env.cluster, got["job_id"]),
               json.dumps({"format": 1, "job_id": got["job_id"], "outcome": "done",
                           "message": "earlier", "done_at": "2026-12-02T00:00:00Z"}).encode())
    run = Recorder()
    b = agent(env, tmp_path / "fresh", run=run)
    assert b.cycle() == [] and run.calls == []
    assert ack(env, "once") == got
    assert cancel_ack(env, got["job_id"])["message"] == "earlier"
    assert len([ln for ln in user_jobs(env) if ln.endswith(" once")]) == 1
    saved = json.load(open(tmp_path / "fresh" / "jobs.json"))
    assert saved["submit"]["once"]["job_id"] == got["job_id"]
    assert saved["cancel"][str(got["job_id"])]["acked"] is True


def test_the_user_jobs_run_as(jenv, tmp_path, monkeypatch):
    env = jenv
    jobs = load("agent_jobs")
    monkeypatch.setattr(jobs, "DEFAULT_USERS", ("pcfs-no-such-1", env.user, "root"))
    a = jobs.Jobs(env.s3, env.cluster, str(tmp_path / "s"), jobs_dir=env.jobs_dir)
    pw, why = a._user()
    assert pw.pw_name == env.user and why is None      # the first that exists
    monkeypatch.setattr(jobs, "DEFAULT_USERS", ("pcfs-no-such-1", "pcfs-no-such-2"))
    pw, why = a._user()
    assert pw is None and "none of pcfs-no-such-1, pcfs-no-such-2 exists" in why
    a.job_user = "root"
    pw, why = a._user()
    assert pw is None and "never submitted as root" in why
    # Through a round: a failed ack naming why, and no sbatch.
    submit(env, "by-root", b"#!/bin/sh\nid\n")
    run = Recorder()
    a.run = run
    assert a.cycle() == ["submit/by-root"] and run.calls == []
    got = ack(env, "by-root")
    assert got["outcome"] == "failed" and "never submitted as root" in got["message"], got


class CountingS3:
    def __init__(self, s3):
        self.s3, self.lists = s3, 0

    def list(self, prefix):
        self.lists += 1
        return self.s3.list(prefix)

    def __getattr__(self, name):
        return getattr(self.s3, name)


def test_an_idle_agent_lists_every_idle_interval_only(jenv, tmp_path):
    env = jenv
    clock = Clock()
    s3 = CountingS3(env.s3)
    jobs = load("agent_jobs")
    a = jobs.Jobs(s3, env.cluster, str(tmp_path / "s"), jobs_dir=env.jobs_dir,
                  job_user=env.user, clock=clock)
    for _ in range(18):            # three minutes of 10 s rounds, nothing to do
        a.cycle()
        clock.t += 10
    assert s3.lists == 2 * (3 * 60 // a.idle_interval), s3.lists   # two prefixes, 3 a minute
    # New work makes it list every round for busy_for, then idle again.
    env.s3.put("clusters/%s/jobs/cancel/99999998" % env.cluster, b"")
    clock.t += a.idle_interval
    assert a.cycle() == ["cancel/99999998"]
    s3.lists = 0
    for _ in range(a.busy_for // 10):
        clock.t += 10
        a.cycle()
    assert s3.lists == 2 * (a.busy_for // 10)
    s3.lists = 0
    for _ in range(6):
        clock.t += 10
        a.cycle()
    assert s3.lists == 2 * 3


def test_the_agent_program_submits_in_its_round(jenv, tmp_path):
    """agent.sh CONFIG --once, as the head runs it: the jobs step is part of
    its round (agent_main.py), with job_user and jobs_dir from its config."""
    env = jenv
    from agent_modules import EMBED
    cfg = tmp_path / "agent.json"
    cfg.write_text(json.dumps({
        "cluster": env.cluster, "bucket": env.s3.bucket, "bucket_owner": env.account_id,
        "region": env.region, "state_dir": str(tmp_path / "state"),
        "instance_id": "i-0123456789abcdef0", "slurmrestd": env.cl.rest_url,
        "jwt_key_file": env.cl.write_client_key(), "job_user": env.user,
        "jobs_dir": env.jobs_dir}))
    penv = {k: v for k, v in env.client_env().items()
            if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    penv["SLURM_CONF"] = env.cl.h("slurm.conf")
    # The round also takes gone nodes out of Slurm (agent_gone) and keeps
    # /etc/hosts: give the module's nodes live instances, and it a file of
    # its own.
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    conf = json.loads(cfg.read_text())
    conf["hosts_file"] = str(hosts)
    cfg.write_text(json.dumps(conf))
    aws = load("agent_aws")
    ec2 = load("agent_ec2").Ec2(aws.Client("ec2", env.region, env.s3.client.credentials,
                                           endpoint=env.endpoint, backoff=0.01))
    for n in env.cl.node_names:
        ec2.run_instance(env.image_id(), "t2.micro", "jobs-" + secrets.token_hex(6),
                         {"pclusterfs:cluster": env.cluster, "pclusterfs:node": n,
                          "pclusterfs:owner": env.s3.bucket, "pclusterfs:node-type": "Compute"},
                         subnet_id=env.subnet_id)
    submit(env, "from-agent.sh", b"#!/bin/sh\nid -un\n")
    r = subprocess.run(["sh", os.path.join(EMBED, "agent.sh"), str(cfg), "--once"], env=penv,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = ack(env, "from-agent.sh")
    assert got["outcome"] == "submitted" and got["user"] == env.user, (got, r.stderr)
    assert "job from-agent.sh: submitted as %d" % got["job_id"] in r.stderr
    assert "from Slurm" not in r.stderr, r.stderr
    out = os.path.join(env.home, "slurm-%d.out" % got["job_id"])
    wait_for(lambda: os.path.exists(out) and open(out).read().strip(), 30, "the job's output")
    assert open(out).read().split() == [env.user]
