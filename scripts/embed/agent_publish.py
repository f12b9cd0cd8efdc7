"""Slurm's view through the bucket: the head node's agent reads its local
slurmrestd and PUTs what it answered under the cluster's head/slurm/ prefix
(fs/store/layout.c's table: written by the head), only when it changed.

- head/slurm/view.json: {"format": 1, "cluster", "instance_id",
  "api_version", "observed_at", "nodes", "partitions", "jobs", "ping"}
  (instance_id: the head's, so a view counts only for the head that wrote
  it), each part Slurm's
  answer as slurmrestd gave it (slurm/ parses them on the workstation).
  Changed means changed once the volatile fields are dropped (VOLATILE: load,
  free memory, power figures, the scheduler's timestamps, ping latency, the meta
  and last_update stamps): they move all the time and mean nothing to the
  tree, so they alone never cost a PUT.
- head/slurm/heartbeat: {"observed_at", "instance_id", "view_etag",
  "error"}, PUT at most
  every `heartbeat` seconds and when slurmrestd's health changes; its age
  (or the view's, whichever is newer) says how fresh the view is.
The state dir (root only, 0700) keeps what was last published, so a restart
re-publishes nothing that is already there. Python 3 standard library only,
Python 3.6 syntax.
"""
import hashlib
import json
import os
import time

import agent_aws
import agent_slurm

FORMAT = 1
VIEW_NAME = "view.json"
HEARTBEAT_NAME = "heartbeat"
VOLATILE = frozenset([
    "meta", "last_update", "cpu_load", "free_mem", "free_memory", "energy",
    "current_watts", "average_watts", "last_sched_evaluation", "last_backfill", "latency",
])


def head_slurm_key(cluster, name):
    """clusters/<cluster>/head/slurm/<name>, as fs/store/layout.c builds it."""
    return "clusters/%s/head/slurm/%s" % (cluster, name)


def stable(doc):
    """doc without its volatile fields, at any depth."""
    if isinstance(doc, dict):
        return {k: stable(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [stable(v) for v in doc]
    return doc


def digest(parts):
    text = json.dumps(stable(parts), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def private_dir(path):
    """Makes path a directory only root (the agent's user) can enter."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.lstat(path)
    if st.st_uid != os.geteuid():
        raise OSError("%s belongs to uid %d, not to the agent" % (path, st.st_uid))
    os.chmod(path, 0o700)
    return path


def write_private(path, data):
    """Replaces path atomically with a 0600 file holding data."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def read_state(path):
    """The JSON object a module keeps in path; {} when missing or unreadable
    (a module's state only saves work: losing it must never stop the agent)."""
    try:
        with open(path) as f:
            s = json.load(f)
        return s if isinstance(s, dict) else {}
    except (OSError, ValueError):
        return {}


def write_state(path, state):
    """Replaces path, root-only, with state as JSON."""
    write_private(path, json.dumps(state, sort_keys=True).encode("utf-8"))


class Publisher(object):
    def __init__(self, s3, slurm, cluster, instance_id, state_dir, heartbeat=60,
                 clock=time.time, log=None):
        if not instance_id:
            raise ValueError("the view needs the head's instance id")
        self.s3, self.slurm, self.cluster = s3, slurm, cluster
        self.instance_id = instance_id
        self.state_dir = private_dir(state_dir)
        self.heartbeat = heartbeat
        self.clock = clock
        self.log = log or (lambda msg: None)
        self.view_key = head_slurm_key(cluster, VIEW_NAME)
        self.heartbeat_key = head_slurm_key(cluster, HEARTBEAT_NAME)
        self.state_path = os.path.join(self.state_dir, "publish.json")
        self.state = self._load()
        self.checked = False      # the stored view checked against the bucket since start

    def _load(self):
        return read_state(self.state_path)

    def _save(self):
        write_state(self.state_path, self.state)

    def _still_there(self):
        """Whether the view the state names is still the bucket's (once a start)."""
        etag = self.state.get("view_etag")
        if not etag:
            return False
        try:
            return self.s3.get(self.view_key, if_none_match=etag) is None
        except agent_aws.AwsError as e:
            if e.code in ("NoSuchKey", "HTTP404"):
                return False
            raise

    def cycle(self):
        """One round: read Slurm, publish what changed. Returns what it
        PUT, a list of "view" and/or "heartbeat". Raises AwsError when the
        bucket cannot be written (the next round tries again)."""
        now = self.clock()
        put = []
        error = None
        try:
            parts = self.slurm.view()
        except agent_slurm.SlurmError as e:
            parts, error = None, str(e)
        if parts is not None:
            d = digest(parts)
            if not self.checked:
                if d == self.state.get("view_digest") and not self._still_there():
                    self.state.pop("view_digest", None)
                self.checked = True
            if d != self.state.get("view_digest"):
                doc = dict(parts, format=FORMAT, cluster=self.cluster,
                           instance_id=self.instance_id, observed_at=iso(now))
                body = json.dumps(doc, sort_keys=True).encode("utf-8")
                etag = self.s3.put(self.view_key, body, "application/json")
                write_private(os.path.join(self.state_dir, VIEW_NAME), body)
                self.state.update(view_digest=d, view_etag=etag, view_at=now)
                self._save()
                put.append("view")
                self.log("published Slurm's view (%d bytes)" % len(body))
        last = max(self.state.get("heartbeat_at", 0), self.state.get("view_at", 0))
        if now - last >= self.heartbeat or error != self.state.get("error") or \
                self.state.get("heartbeat_at") is None:
            body = json.dumps({"observed_at": iso(now), "instance_id": self.instance_id,
                               "view_etag": self.state.get("view_etag"), "error": error},
                              sort_keys=True).encode("utf-8")
            self.s3.put(self.heartbeat_key, body, "application/json")
            self.state.update(heartbeat_at=now, error=error)
            self._save()
            put.append("heartbeat")
            if error:
                self.log("slurmrestd: %s" % error)
        return put
