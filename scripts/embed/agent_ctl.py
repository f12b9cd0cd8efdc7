"""Node commands through the bucket: what a workstation wrote into
nodes/<n>/ctl reaches the head as clusters/<cluster>/ctl/<node>/<id>
(fs/store/layout.c's table: written by the workstation, one object per
command, never overwritten). The agent lists that prefix (every
`idle_interval` seconds, every round for `busy_for` seconds after it saw a
command, so an idle head costs a few requests a minute), carries each new
command out once, in id order (the ids start with the request's time):
  drain <reason>  scontrol update NodeName=<n> State=DRAIN Reason=<reason>
  resume          scontrol update NodeName=<n> State=RESUME
  replace         TerminateInstances of the node's instance (the one the
                  command names, only with the cluster's and owner's tags);
                  the fleet's owner brings up a new one for a static node
and acknowledges it under head/acks/ctl/<node>/<id>: {"format", "id",
"node", "command", "outcome": "done"|"failed", "message", "done_at"}. What it
did is remembered in the root-only state dir (ctl.json) before the ack is
written, so a restart neither redoes a command nor loses its ack; ids no
longer listed (the workstation removes a command once it told the ack) are
forgotten. Python 3 standard library only, Python 3.6 syntax.
"""
import json
import os
import re
import shutil
import subprocess
import time

import agent_aws
import agent_ec2
import agent_publish

FORMAT = 1
STATE_NAME = "ctl.json"
NODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
ID_RE = re.compile(r"^[0-9A-Za-z.:-]{1,80}$")
REASON_MAX = 256
BODY_MAX = 4096
LIVE_STATES = ["pending", "running", "stopping", "stopped"]


def ctl_prefix(cluster):
    """clusters/<cluster>/ctl/, as fs/store/layout.c builds it."""
    return "clusters/%s/ctl/" % cluster


def ack_key(cluster, node, cmd_id):
    """clusters/<cluster>/head/acks/ctl/<node>/<id>, as fs/store/layout.c builds it."""
    return "clusters/%s/head/acks/ctl/%s/%s" % (cluster, node, cmd_id)


def find_scontrol():
    for p in ("/opt/slurm/bin/scontrol",):
        if os.access(p, os.X_OK):
            return p
    return shutil.which("scontrol") or "scontrol"


def run_scontrol(argv, timeout=30):
    """(ok, message) of one scontrol call, its output cut to one line."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, "%s: %s" % (os.path.basename(argv[0]), e)
    out = " ".join(r.stdout.decode("utf-8", "replace").split())[:300]
    return r.returncode == 0, out


def printable(s):
    return all(ord(ch) >= 0x20 and ord(ch) != 0x7f for ch in s)


class NodeCommands(object):
    def __init__(self, s3, ec2, cluster, bucket, state_dir, scontrol=None, run=run_scontrol,
                 idle_interval=20, busy_for=120, clock=time.time, log=None):
        self.s3, self.ec2, self.cluster, self.bucket = s3, ec2, cluster, bucket
        self.state_dir = agent_publish.private_dir(state_dir)
        self.state_path = os.path.join(self.state_dir, STATE_NAME)
        self.scontrol = scontrol or find_scontrol()
        self.run = run
        self.idle_interval, self.busy_for, self.clock = idle_interval, busy_for, clock
        self.log = log or (lambda msg: None)
        self.prefix = ctl_prefix(cluster)
        self.state = self._load()
        self.next_list = 0
        self.busy_until = 0

    def _load(self):
        s = agent_publish.read_state(self.state_path)
        return s if isinstance(s.get("done"), dict) else {"done": {}}

    def _save(self):
        agent_publish.write_state(self.state_path, self.state)

    def cycle(self):
        """One round: when due, list the commands, carry out new ones and
        acknowledge them. Returns the ids it acknowledged. Raises AwsError
        when the bucket cannot be read (the next round tries again)."""
        now = self.clock()
        if now < self.next_list:
            return []
        listed = self.s3.list(self.prefix)
        done = self.state["done"]
        items = {}
        for o in listed:
            rest = o.key[len(self.prefix):]
            parts = rest.split("/")
            if len(parts) == 2 and NODE_RE.match(parts[0]) and ID_RE.match(parts[1]):
                items[parts[1]] = (parts[0], o)
        if any(i not in done for i in items):
            self.busy_until = now + self.busy_for
        self.next_list = now + (0 if now < self.busy_until else self.idle_interval)
        gone = [i for i in done if i not in items]
        for i in gone:     # told and removed by the workstation: never listed again
            del done[i]
        if gone:
            self._save()
        acked = []
        for cmd_id in sorted(items):
            node, o = items[cmd_id]
            rec = done.get(cmd_id)
            if rec is None:
                rec = self._carry_out(node, cmd_id, o)
                done[cmd_id] = rec
                self._save()
            if not rec.get("acked"):
                body = {"format": FORMAT, "id": cmd_id, "node": node,
                        "command": rec["command"], "outcome": rec["outcome"],
                        "message": rec["message"], "done_at": rec["done_at"]}
                self.s3.put(ack_key(self.cluster, node, cmd_id),
                            json.dumps(body, sort_keys=True).encode("utf-8"), "application/json")
                rec["acked"] = True
                self._save()
                acked.append(cmd_id)
        return acked

    def _record(self, command, ok, message):
        self.log("node command %s: %s: %s" % (command, "done" if ok else "failed", message))
        return {"command": command, "outcome": "done" if ok else "failed", "message": message,
                "done_at": agent_publish.iso(self.clock()), "acked": False}

    def _carry_out(self, node, cmd_id, listed):
        if listed.size is not None and listed.size > BODY_MAX:
            return self._record("?", False, "the command is %d bytes, more than %d" % (
                listed.size, BODY_MAX))
        try:
            doc = json.loads(self.s3.get(listed.key).body.decode("utf-8"))
        except agent_aws.AwsError as e:
            if e.code in ("NoSuchKey", "HTTP404"):   # removed meanwhile
                return self._record("?", False, "the command was removed before it ran")
            raise
        except (ValueError, UnicodeDecodeError, AttributeError) as e:
            return self._record("?", False, "the command cannot be read: %s" % e)
        if not isinstance(doc, dict):
            return self._record("?", False, "the command is not a JSON object")
        command = doc.get("command")
        if doc.get("format") != FORMAT or doc.get("node") != node or doc.get("id") != cmd_id:
            return self._record(str(command)[:20], False,
                                "the command's format, node or id does not match its key")
        if node == "head":
            return self._record(str(command)[:20], False, "the head node takes no commands")
        if command == "drain":
            reason = doc.get("reason")
            if not isinstance(reason, str) or not reason.strip() or \
                    len(reason.encode("utf-8")) > REASON_MAX or not printable(reason):
                return self._record(command, False, "drain needs a printable reason of at most "
                                    "%d bytes" % REASON_MAX)
            ok, out = self.run([self.scontrol, "update", "NodeName=" + node, "State=DRAIN",
                                "Reason=" + reason])
            return self._record(command, ok, ("Slurm drains %s (reason: %s)" % (node, reason))
                                if ok else "scontrol: %s" % (out or "failed"))
        if command == "resume":
            ok, out = self.run([self.scontrol, "update", "NodeName=" + node, "State=RESUME"])
            return self._record(command, ok, ("Slurm resumed %s" % node) if ok
                                else "scontrol: %s" % (out or "failed"))
        if command == "replace":
            return self._replace(node, doc.get("instance_id") or "")
        return self._record(str(command)[:20], False, "unknown command")

    def _replace(self, node, instance_id):
        filters = {"tag:pclusterfs:cluster": [self.cluster], "tag:pclusterfs:node": [node],
                   "tag:pclusterfs:owner": [self.bucket], "instance-state-name": LIVE_STATES}
        if instance_id:
            filters["instance-id"] = [instance_id]
        try:
            found = self.ec2.describe_instances(filters)
            if not found:
                return self._record("replace", True, "%s is gone already%s; nothing to "
                                    "terminate" % (instance_id or "its instance",
                                                   "" if instance_id else " (none was live)"))
            ids = sorted(i["InstanceId"] for i in found)
            states = self.ec2.terminate_instances(ids)
        except agent_aws.AwsError as e:
            return self._record("replace", False, str(e))
        return self._record("replace", True, "terminated %s (%s); %s" % (
            ", ".join(ids), ", ".join(states.get(i, "?") for i in ids),
            "a new instance takes its place" if "-st-" in node
            else "Slurm starts it again when work needs it"))


def make(cfg, s3, credentials, log=None):
    """The commands of cfg's cluster, with an EC2 client of its own."""
    ec2 = agent_ec2.Ec2(agent_aws.Client("ec2", cfg["region"], credentials,
                                         endpoint=cfg.get("endpoint_ec2")))
    return NodeCommands(s3, ec2, cfg["cluster"], cfg["bucket"], cfg["state_dir"],
                        scontrol=cfg.get("scontrol"), log=log)
