"""Batch jobs through the bucket, the head's half of <cluster>/jobs/: what a
workstation submitted reaches the head as clusters/<cluster>/jobs/submit/<name>
(the batch script's bytes, one object per submission, never overwritten)
and a cancel as clusters/<cluster>/jobs/cancel/<jobid> (empty). The agent
lists both prefixes (every `idle_interval` seconds, every round for
`busy_for` seconds after it saw new work), and, in name order, then job id
order, carries each new item out once:
  submit  sbatch --parsable <name>, run as the image's default user (the
          first of ec2-user, centos, ubuntu that exists, or the config's
          job_user), never root and never a user the bucket names; the
          script is a file <name> (so Slurm's job name is the name) in a
          fresh 0700 directory of that user's under jobs_dir, removed once
          sbatch copied it; the job starts in the user's home
  cancel  scancel -v <jobid>, as the same user (so only that user's jobs);
          done when Slurm cancelled it or it had already ended, failed
          with scancel's error otherwise (another user's job, a job id
          Slurm does not know)
and acknowledges it under head/acks/jobs/<name>: {"format", "name",
"outcome": "submitted"|"failed", "job_id", "user", "message", "done_at"},
or head/acks/cancel/<jobid>: {"format", "job_id", "outcome":
"done"|"failed", "message", "done_at"}. What it did is remembered in the
root-only state dir (jobs.json) before the ack is written, so a restart
neither submits again nor loses an ack, and a new name whose ack is in the
bucket already (its state lost, the head replaced) is not done again. A
submission is marked as started before sbatch runs, so an agent stopped
during sbatch acknowledges it as failed (it may have been submitted) rather
than submitting it twice. Names no longer listed (the workstation removes
them once it told the ack) are forgotten. Python 3 standard library only, Python 3.6 syntax.
"""
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import time

import agent_aws
import agent_publish

FORMAT = 1
STATE_NAME = "jobs.json"
# Not under /var/lib/pclusterfs (0700, root's): the default user's sbatch
# must reach the script; the directory is root's 0711 (nobody lists it).
JOBS_DIR = "/var/spool/pclusterfs/jobs"
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$")
JOBID_RE = re.compile(r"^[0-9]{1,10}$")
SCRIPT_MAX = 1024 * 1024
DEFAULT_USERS = ("ec2-user", "centos", "ubuntu")
USER_PATH = "/opt/slurm/bin:/usr/local/bin:/usr/bin:/bin"
MESSAGE_MAX = 500
SBATCH_TIMEOUT = 60
SCANCEL_TIMEOUT = 30


def jobs_prefix(cluster, what):
    """clusters/<cluster>/jobs/<what>/ (what: submit or cancel)."""
    return "clusters/%s/jobs/%s/" % (cluster, what)


def submit_ack_key(cluster, name):
    return "clusters/%s/head/acks/jobs/%s" % (cluster, name)


def cancel_ack_key(cluster, job_id):
    return "clusters/%s/head/acks/cancel/%s" % (cluster, job_id)


def find_program(name):
    p = "/opt/slurm/bin/" + name
    if os.access(p, os.X_OK):
        return p
    return shutil.which(name) or name


def one_line(text, limit=MESSAGE_MAX):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(text.split())[:limit]


def prepare_jobs_dir(path):
    """Makes path root's 0711 directory (parents it makes 0755, whatever the
    agent's umask) and checks that every user can pass through it and its
    parents; removes what a stopped agent left in it."""
    path = os.path.abspath(path)
    missing = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        p = os.path.dirname(p)
    for p in reversed(missing):
        try:
            os.mkdir(p, 0o700)
        except FileExistsError:
            pass
        else:
            os.chmod(p, 0o711 if p == path else 0o755)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise OSError("%s is not a directory of the agent's" % path)
    if stat.S_IMODE(st.st_mode) != 0o711:
        os.chmod(path, 0o711)
    p = os.path.dirname(path)
    while True:
        if not os.stat(p).st_mode & stat.S_IXOTH:
            raise OSError("users cannot pass through %s to reach %s" % (p, path))
        if p == "/":
            break
        p = os.path.dirname(p)
    for n in os.listdir(path):
        if n.startswith("job."):
            shutil.rmtree(os.path.join(path, n), ignore_errors=True)
    return path


def run_as(pw, argv, timeout, cwd=None):
    """(returncode, stdout, stderr) of argv run as pw's user (its groups,
    its home, a plain environment), or raises OSError /
    subprocess.TimeoutExpired."""
    env = {"HOME": pw.pw_dir, "USER": pw.pw_name, "LOGNAME": pw.pw_name, "PATH": USER_PATH,
           "SHELL": pw.pw_shell or "/bin/sh"}
    if os.environ.get("SLURM_CONF"):     # the agent's own Slurm, when it names one
        env["SLURM_CONF"] = os.environ["SLURM_CONF"]

    def drop():
        os.initgroups(pw.pw_name, pw.pw_gid)
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
        if os.getuid() == 0 or os.geteuid() == 0 or os.getegid() == 0 and pw.pw_gid != 0:
            raise OSError("still root")

    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, cwd=cwd or pw.pw_dir, env=env,
                       preexec_fn=drop, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def parse_job_id(out):
    """sbatch --parsable's "123" or "123;cluster" -> 123, else None."""
    for line in out.splitlines():
        line = line.strip()
        if line:
            first = line.split(";")[0].strip()
            return int(first) if first.isdigit() else None
    return None


class Jobs(object):
    def __init__(self, s3, cluster, state_dir, jobs_dir=JOBS_DIR, job_user=None, sbatch=None,
                 scancel=None, idle_interval=20, busy_for=120, clock=time.time, log=None,
                 run=run_as):
        self.s3, self.cluster = s3, cluster
        self.state_dir = agent_publish.private_dir(state_dir)
        self.state_path = os.path.join(self.state_dir, STATE_NAME)
        self.jobs_dir, self.job_user = jobs_dir, job_user
        self.sbatch = sbatch or find_program("sbatch")
        self.scancel = scancel or find_program("scancel")
        self.idle_interval, self.busy_for, self.clock = idle_interval, busy_for, clock
        self.log = log or (lambda msg: None)
        self.run = run
        self.submit_prefix = jobs_prefix(cluster, "submit")
        self.cancel_prefix = jobs_prefix(cluster, "cancel")
        self.state = self._load()
        self.next_list = 0
        self.busy_until = 0
        self.bad_logged = set()
        self.dir_ready = False

    def _load(self):
        s = agent_publish.read_state(self.state_path)
        for k in ("submit", "cancel"):
            if not isinstance(s.get(k), dict):
                s[k] = {}
        return s

    def _save(self):
        agent_publish.write_state(self.state_path, self.state)

    def _listed(self, prefix, valid):
        items = {}
        for o in self.s3.list(prefix):
            rest = o.key[len(prefix):]
            if valid.match(rest):
                items[rest] = o
            elif o.key not in self.bad_logged:
                self.bad_logged.add(o.key)
                self.log("jobs: ignoring %r: not a valid name" % o.key)
        return items

    def cycle(self):
        """One round: when due, list submissions and cancels, carry out new
        ones and acknowledge them. Returns the acknowledged items
        ("submit/<name>", "cancel/<jobid>"). Raises AwsError when the bucket
        cannot be read (the next round tries again)."""
        now = self.clock()
        if now < self.next_list:
            return []
        subs = self._listed(self.submit_prefix, NAME_RE)
        cancels = self._listed(self.cancel_prefix, JOBID_RE)
        sdone, cdone = self.state["submit"], self.state["cancel"]
        if any(n not in sdone for n in subs) or any(j not in cdone for j in cancels):
            self.busy_until = now + self.busy_for
        self.next_list = now + (0 if now < self.busy_until else self.idle_interval)
        changed = False
        for done, listed in ((sdone, subs), (cdone, cancels)):
            for k in [k for k in done if k not in listed]:
                del done[k]     # told and removed by the workstation: never listed again
                changed = True
        if changed:
            self._save()
        acked = []
        for name in sorted(subs):
            rec = sdone.get(name)
            if rec is None:
                rec = self._acked_before(submit_ack_key(self.cluster, name))
                if rec is not None:
                    sdone[name] = rec
                    self._save()
            if rec is None:
                rec = self._submit(name, subs[name])
            elif rec.get("outcome") == "started":    # the agent stopped during sbatch
                rec = self._record(rec.get("user"), None, "the head's agent stopped while "
                                   "sbatch ran: the job may have been submitted (job name "
                                   "%s; see squeue)" % name)
                sdone[name] = rec
                self._save()
            if not rec.get("acked"):
                self._ack(submit_ack_key(self.cluster, name), rec,
                          {"name": name, "job_id": rec.get("job_id"), "user": rec.get("user")})
                acked.append("submit/" + name)
        for job_id in sorted(cancels, key=int):
            rec = cdone.get(job_id)
            if rec is None:
                rec = self._acked_before(cancel_ack_key(self.cluster, job_id)) or \
                    self._cancel(job_id)
                cdone[job_id] = rec
                self._save()
            if not rec.get("acked"):
                self._ack(cancel_ack_key(self.cluster, job_id), rec, {"job_id": int(job_id)})
                acked.append("cancel/" + job_id)
        return acked

    def _ack(self, key, rec, fields):
        """Writes the ack of rec (its outcome, message and time, and fields)
        at key, then remembers that it did."""
        body = {"format": FORMAT, "outcome": rec["outcome"], "message": rec["message"],
                "done_at": rec["done_at"]}
        body.update(fields)
        self.s3.put(key, json.dumps(body, sort_keys=True).encode("utf-8"), "application/json")
        rec["acked"] = True
        self._save()

    def _acked_before(self, key):
        """A record of the ack already at key (an agent whose state was lost,
        or a head replaced, does not submit or cancel again), else None."""
        try:
            doc = json.loads(self.s3.get(key).body.decode("utf-8"))
        except agent_aws.AwsError as e:
            if e.code in ("NoSuchKey", "HTTP404"):
                return None
            raise
        except (ValueError, UnicodeDecodeError, AttributeError):
            doc = {}
        if not isinstance(doc, dict):
            doc = {}
        self.log("jobs: %s is acknowledged already: not done again" % key)
        return {"outcome": doc.get("outcome") or "failed", "job_id": doc.get("job_id"),
                "user": doc.get("user"), "message": doc.get("message") or "",
                "done_at": doc.get("done_at") or agent_publish.iso(self.clock()),
                "acked": True}

    # --- submissions

    def _record(self, user, job_id, message):
        outcome = "submitted" if job_id is not None else "failed"
        return {"outcome": outcome, "job_id": job_id, "user": user, "message": message,
                "done_at": agent_publish.iso(self.clock()), "acked": False}

    def _user(self):
        """(pwd entry, None) of the user jobs run as, or (None, why not)."""
        names = [self.job_user] if self.job_user else list(DEFAULT_USERS)
        for n in names:
            try:
                pw = pwd.getpwnam(n)
            except KeyError:
                continue
            if pw.pw_uid == 0:
                return None, "%s is root: jobs are never submitted as root" % n
            return pw, None
        if self.job_user:
            return None, "the agent's job_user %s does not exist on the head" % self.job_user
        return None, "none of %s exists on the head: no user to run jobs as" % ", ".join(
            DEFAULT_USERS)

    def _submit(self, name, listed):
        rec = self._submit_checked(name, listed)
        self.state["submit"][name] = rec
        self._save()
        self.log("job %s: %s%s%s" % (name, rec["outcome"],
                                     " as %s" % rec["job_id"] if rec["job_id"] else "",
                                     ": " + rec["message"] if rec["message"] else ""))
        return rec

    def _submit_checked(self, name, listed):
        pw, why = self._user()
        user = pw.pw_name if pw else None
        if listed.size is not None and listed.size > SCRIPT_MAX:
            return self._record(user, None, "the script is %d bytes, more than %d" % (
                listed.size, SCRIPT_MAX))
        try:
            body = self.s3.get(listed.key).body
        except agent_aws.AwsError as e:
            if e.code in ("NoSuchKey", "HTTP404"):   # removed meanwhile
                return self._record(user, None, "the script was removed before it was "
                                    "submitted")
            raise
        if len(body) > SCRIPT_MAX:
            return self._record(user, None, "the script is %d bytes, more than %d" % (
                len(body), SCRIPT_MAX))
        if not body.startswith(b"#!"):
            return self._record(user, None, "the script does not start with #! (its "
                                "interpreter): sbatch needs one")
        if pw is None:
            return self._record(None, None, why)
        try:
            if not self.dir_ready:
                prepare_jobs_dir(self.jobs_dir)
                self.dir_ready = True
            d = tempfile.mkdtemp(prefix="job.", dir=self.jobs_dir)
        except OSError as e:
            self.dir_ready = False
            return self._record(user, None, "cannot prepare the script's directory: %s" % e)
        try:
            path = os.path.join(d, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                view = memoryview(body)
                while view:
                    view = view[os.write(fd, view):]
                os.fchown(fd, pw.pw_uid, pw.pw_gid)
            finally:
                os.close(fd)
            os.chown(d, pw.pw_uid, pw.pw_gid)
            # At most once: a restart finding this mark does not submit again.
            self.state["submit"][name] = {"outcome": "started", "user": user,
                                          "acked": False}
            self._save()
            try:
                rc, out, err = self.run(pw, [self.sbatch, "--parsable", path], SBATCH_TIMEOUT)
            except subprocess.TimeoutExpired:
                return self._record(user, None, "sbatch did not answer in %d s: the job may "
                                    "have been submitted (job name %s; see squeue)" % (
                                        SBATCH_TIMEOUT, name))
            except (OSError, subprocess.SubprocessError) as e:
                return self._record(user, None, "cannot run sbatch as %s: %s" % (user, e))
        except OSError as e:
            return self._record(user, None, "cannot write the script: %s" % e)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        if rc != 0:
            return self._record(user, None, one_line(err or out) or
                                "sbatch exited with %d" % rc)
        job_id = parse_job_id(out)
        if job_id is None:
            return self._record(user, None, "sbatch gave no job id: %s" % one_line(out + err))
        return self._record(user, job_id, "")

    # --- cancels

    def _cancel(self, job_id):
        pw, why = self._user()
        if pw is None:
            rec = self._cancel_record(False, why)
        else:
            # -v: without it scancel exits 0 in silence for a job that has
            # ended or that Slurm does not know (22.05), so say which.
            try:
                rc, out, err = self.run(pw, [self.scancel, "-v", job_id], SCANCEL_TIMEOUT)
            except subprocess.TimeoutExpired:
                rc, out, err = None, "", "scancel did not answer in %d s" % SCANCEL_TIMEOUT
            except (OSError, subprocess.SubprocessError) as e:
                rc, out, err = None, "", "cannot run scancel as %s: %s" % (pw.pw_name, e)
            errors = [ln for ln in (err + "\n" + out).splitlines() if "error" in ln.lower()]
            said = one_line(" ".join(errors) if errors else (err or out))
            if any("already completing or completed" in ln for ln in errors) and \
                    rc is not None and (rc == 0 or len(errors) == 1):
                rec = self._cancel_record(True, "job %s had already ended (scancel: %s)" % (
                    job_id, said))
            elif rc == 0 and not errors:
                rec = self._cancel_record(True, "Slurm cancelled job %s" % job_id)
            else:
                rec = self._cancel_record(False, said or "scancel exited with %s" % rc)
        self.log("cancel %s: %s: %s" % (job_id, rec["outcome"], rec["message"]))
        return rec

    def _cancel_record(self, ok, message):
        return {"outcome": "done" if ok else "failed", "message": message,
                "done_at": agent_publish.iso(self.clock()), "acked": False}


def make(cfg, s3, log=None):
    """The jobs of cfg's cluster, on the agent's S3 client."""
    return Jobs(s3, cfg["cluster"], cfg["state_dir"], jobs_dir=cfg.get("jobs_dir") or JOBS_DIR,
                job_user=cfg.get("job_user"), sbatch=cfg.get("sbatch"),
                scancel=cfg.get("scancel"), log=log)
