"""The cluster's compute nodes as the head sees them (issue 17).

The head's removal of gone compute nodes from Slurm: a
dynamic node whose instance is terminated, or no longer exists, is deleted
from the head's slurmctld (scontrol delete nodename=...), so Slurm stops
listing it and the workstation, which no longer reaches slurmrestd, need
not. Whether an instance is gone is judged from EC2: DescribeInstances with
the cluster's and owner's tags (the head's role may Describe*); a node
listed in Slurm with no pending or running instance of that name is gone.

Few requests: the nodes Slurm lists are read from the view the publisher
keeps in the state dir (no request of its own); EC2 is asked at most once a
round, and only when Slurm's nodes or their states changed since the last
answer, or once every `every` seconds (default 60, the agent config's
gone_every) otherwise: idle, one request a minute.

And their names in /etc/hosts (HostsFile): the nodes Slurm lists with their
addresses, in a block of their own, rewritten only when it changes, so
`ssh compute-st-t2micro-1` works from the head as from any node of v2.
Python 3 standard library only, Python 3.6 syntax."""
import json
import os
import re
import shutil
import subprocess
import time

import agent_aws
import agent_creds
import agent_ec2

ALIVE = ("pending", "running")
# {queue}-dy-{resource}-{N}: Slurm keeps these powered down without an
# instance; their instances and their Slurm records are agent_dynamic's.
DYNAMIC = re.compile(r"-dy-[A-Za-z0-9_]+-[0-9]+$")
SLURM_CONFS = ("/opt/slurm/etc/slurm.conf", "/etc/slurm/slurm.conf")


def slurm_nodes(view):
    """{name: state text} of the nodes in a published view (agent_publish)."""
    doc = (view or {}).get("nodes") or {}
    out = {}
    for n in doc.get("nodes") or []:
        if isinstance(n, dict) and n.get("name"):
            st = n.get("state")
            out[n["name"]] = "+".join(st) if isinstance(st, list) else str(st)
    return out


def scontrol_delete(name):
    """Deletes dynamic node name from the local slurmctld; raises OSError."""
    exe = shutil.which("scontrol") or next(
        (p for p in ("/opt/slurm/bin/scontrol", "/usr/bin/scontrol") if os.path.exists(p)),
        "scontrol")
    env = dict(os.environ)
    if "SLURM_CONF" not in env:
        conf = next((c for c in SLURM_CONFS if os.path.exists(c)), None)
        if conf:
            env["SLURM_CONF"] = conf
    r = subprocess.run([exe, "delete", "nodename=" + name], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=60)
    if r.returncode != 0:
        raise OSError("scontrol delete nodename=%s: %s" % (
            name, (r.stderr or r.stdout).decode("utf-8", "replace").strip()))


class GoneNodes(object):
    def __init__(self, describe, cluster, owner, view_path, remove=scontrol_delete,
                 every=60, clock=time.time, log=None):
        self.describe = describe      # filters -> [instance dicts] (agent_ec2.Ec2's)
        self.cluster, self.owner = cluster, owner
        self.view_path = view_path
        self.remove, self.every, self.clock = remove, every, clock
        self.log = log or (lambda msg: None)
        self.last_nodes, self.last_asked = None, None
        self.requests = 0             # EC2 requests made (for the rate tests)

    def _view(self):
        try:
            with open(self.view_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def cycle(self):
        """One round: the nodes removed (a list, empty when nothing was)."""
        nodes = slurm_nodes(self._view())
        now = self.clock()
        if not nodes:
            return []
        if nodes == self.last_nodes and self.last_asked is not None and \
                now - self.last_asked < self.every:
            return []
        self.requests += 1
        found = self.describe({"tag:pclusterfs:cluster": [self.cluster],
                               "tag:pclusterfs:owner": [self.owner]})
        self.last_nodes, self.last_asked = nodes, now
        alive = set()
        for i in found:
            if i.get("State") in ALIVE:
                alive.add((i.get("Tags") or {}).get("pclusterfs:node"))
        removed = []
        for name in sorted(nodes):
            if name in alive or DYNAMIC.search(name):
                continue
            try:
                self.remove(name)
            except (OSError, subprocess.SubprocessError) as e:
                self.log("removing %s from Slurm: %s" % (name, e))
                continue
            removed.append(name)
            self.log("removed %s from Slurm: its instance is gone" % name)
        return removed


HOSTS_BEGIN = "# pclusterfs compute nodes (the head's agent keeps this block)"
HOSTS_END = "# end of pclusterfs compute nodes"


def node_addresses(view):
    """{name: address} of the nodes in a published view."""
    doc = (view or {}).get("nodes") or {}
    out = {}
    for n in doc.get("nodes") or []:
        if isinstance(n, dict) and n.get("name") and n.get("address"):
            name, addr = str(n["name"]), str(n["address"])
            if all(c.isalnum() or c in "-." for c in name) and \
                    all(c.isdigit() or c == "." for c in addr) and name != addr:
                out[name] = addr
    return out


class HostsFile(object):
    def __init__(self, view_path, path="/etc/hosts"):
        self.view_path, self.path = view_path, path
        self.last = None

    def cycle(self):
        """Rewrites the block when the nodes changed; True when it wrote."""
        try:
            with open(self.view_path) as f:
                nodes = node_addresses(json.load(f))
        except (OSError, ValueError):
            return False
        if nodes == self.last:
            return False
        with open(self.path) as f:
            lines = f.read().splitlines()
        keep, inside = [], False
        for ln in lines:
            if ln == HOSTS_BEGIN:
                inside = True
            elif ln == HOSTS_END:
                inside = False
            elif not inside:
                keep.append(ln)
        block = [HOSTS_BEGIN] + ["%s %s" % (nodes[n], n) for n in sorted(nodes)] + [HOSTS_END]
        text = "\n".join(keep + block) + "\n"
        # in place, as bootstrap.sh does (/etc/hosts may be a mount point: no rename)
        with open(self.path, "w") as f:
            f.write(text)
        self.last = nodes
        return True


_gone = []


def run_round(cfg, log):
    """The agent's hook: one round of GoneNodes for cfg (made on first use).
    Never raises: a failure is logged and the next round tries again."""
    try:
        if not _gone:
            creds = agent_creds.ImdsCredentials()
            client = agent_aws.Client("ec2", cfg["region"], creds,
                                      endpoint=cfg.get("endpoint_ec2"))
            ec2 = agent_ec2.Ec2(client)
            view = os.path.join(cfg["state_dir"], "view.json")
            _gone.append(GoneNodes(ec2.describe_instances, cfg["cluster"], cfg["bucket"], view,
                                   every=cfg.get("gone_every", 60), log=log))
            _gone.append(HostsFile(view, cfg.get("hosts_file", "/etc/hosts")))
        _gone[1].cycle()
        return _gone[0].cycle()
    except Exception as e:    # noqa: BLE001 -- a surprise must not end the agent
        log("removing gone nodes from Slurm: %s: %s" % (type(e).__name__, e))
        return []
