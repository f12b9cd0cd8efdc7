"""Dynamic compute nodes, run by the head node's agent (issue 16).

Slurm decides, the agent launches. Each round (Dynamic.cycle):
1. Every dynamic node of the fleet spec (computeResources[].dynamicNodes)
   exists in Slurm as a powered-down cloud node, created with
   `scontrol create NodeName=N State=CLOUD Features=<queue>,pcfs-dynamic
   CPUs=<vcpus> RealMemory=<memoryMib>` and looked up afterwards (a full
   node table, MaxNodeCount, makes scontrol create answer 0 and create
   nothing). A dynamic node the spec no longer names loses its instance
   and, once no job runs on it, its Slurm node.
2. The power requests slurmctld's programs left (agent_power): resume ->
   RunInstances of the node's next attempt (Fleet.run_attempt; the
   attempt is stored before, so a retry after a crash gives back the same
   instance), then its address in Slurm (`scontrol update NodeAddr=<ip>
   NodeHostname=N`) as soon as the instance has one; suspend -> its
   instances terminated; resume_fail -> terminated too, and the node DOWN
   with a reason. A request is removed (done) only after acting on it.
3. Fast failure, without waiting for ResumeTimeout: a node whose bootstrap
   reported failure (head/reports/<node>, the report bootstrap.sh PUTs for
   this attempt and instance) is marked DOWN with the report's reason and
   its instance terminated; so is one whose instance stopped or went away
   while Slurm had it powering up or up. An instance left running under a
   node Slurm has powered down is terminated.

Attempts: each life of a dynamic node is a new attempt (the ClientToken of
bucket, cluster incarnation, node, attempt, as the workstation's), so a
node resumed again never gets its previous, terminated instance back; no
relaunch cap (Slurm decides whether to try again).

Events the head did by itself go to head/events (fs/model/head_event.h: one
"<ISO time> <info|warning|error> <message>" a line, oldest first), kept in
the state dir and PUT whole when they change.
Python 3 standard library only, Python 3.6 syntax."""
import os
import re
import shutil
import subprocess
import time

import agent_aws
import agent_events
import agent_fleet
import agent_power
from agent_publish import private_dir, read_state, write_state

FEATURE = "pcfs-dynamic"
ALIVE = ("pending", "running")
LIVE = ("pending", "running", "stopping", "stopped")
ALL_STATES = ("pending", "running", "shutting-down", "terminated", "stopping", "stopped")
BUSY_STATES = ("ALLOCATED", "MIXED", "COMPLETING")
SLURM_CONFS = ("/opt/slurm/etc/slurm.conf", "/etc/slurm/slurm.conf")
TEMPLATE = "/opt/pclusterfs/agent/userdata.sh.in"
REASON_MAX = 200
GRACE = 60          # seconds an instance may take to show in DescribeInstances
IPV4 = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")


def find_scontrol():
    for p in ("/opt/slurm/bin/scontrol",):
        if os.access(p, os.X_OK):
            return p
    return shutil.which("scontrol") or "scontrol"


def slurm_env():
    env = dict(os.environ)
    if "SLURM_CONF" not in env:
        conf = next((c for c in SLURM_CONFS if os.path.exists(c)), None)
        if conf:
            env["SLURM_CONF"] = conf
    return env


def run_full(argv, timeout=30):
    """(ok, output) of one Slurm command, its whole output (agent_ctl's
    run_scontrol cuts it to one short line)."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, env=slurm_env())
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, "%s: %s" % (os.path.basename(argv[0]), e)
    return r.returncode == 0, r.stdout.decode("utf-8", "replace")


def one_line(text, limit=REASON_MAX):
    text = " ".join(str(text).split())
    text = "".join(ch for ch in text if ch.isprintable())
    return text[:limit]


def parse_node(line):
    """One `scontrol -o show node` record as {key: value}; a value may hold
    spaces (Reason=...), so a key starts only at ` Word=`."""
    rec = {}
    for part in re.split(r" (?=[A-Za-z][A-Za-z0-9_/:]*=)", line.strip()):
        k, _, v = part.partition("=")
        rec[k] = v.strip()
    return rec


def flags(rec):
    return set((rec or {}).get("State", "").split("+"))


def dynamic_nodes(spec):
    """{node: (resource, queue)} of the spec's dynamic nodes."""
    out = {}
    for q in (spec or {}).get("queues") or []:
        for r in q.get("computeResources") or []:
            for n in r.get("dynamicNodes") or []:
                if isinstance(n, str) and agent_power.NODE.match(n):
                    out[n] = (r, q)
    return out


def conf_head_address(paths=None):
    """The head's address in slurm.conf's SlurmctldHost=name(ADDR), or None."""
    paths = paths or ([os.environ["SLURM_CONF"]] if os.environ.get("SLURM_CONF") else []) + \
        list(SLURM_CONFS)
    for p in paths:
        try:
            with open(p) as f:
                for ln in f:
                    m = re.match(r"^\s*SlurmctldHost\s*=\s*[^(\s]+\(([0-9.]+)\)", ln)
                    if m and IPV4.match(m.group(1)):
                        return m.group(1)
        except OSError:
            continue
    return None


def imds_head_address(credentials):
    """The head's private address from the IMDS (local-ipv4), or None."""
    try:
        with credentials.lock:
            addr = credentials._get("/latest/meta-data/local-ipv4").strip()
    except Exception:       # noqa: BLE001 -- another source follows
        return None
    return addr if IPV4.match(addr) else None


def head_address(credentials=None, paths=None):
    """The address compute nodes reach slurmctld at: slurm.conf's
    SlurmctldHost address (what the head's Slurm serves on, read locally,
    no request), else the IMDS's local-ipv4."""
    return conf_head_address(paths) or (imds_head_address(credentials)
                                         if credentials is not None else None)


def parse_report(text):
    """A bootstrap report (bootstrap.sh's report()): {state, step, failure,
    exit, attempt, instance, log}."""
    out = {"log": ""}
    lines = text.split("\n")
    for i, ln in enumerate(lines):
        if ln == "--":
            out["log"] = "\n".join(lines[i + 1:])
            break
        k, _, v = ln.partition(" ")
        if k in ("state", "step", "failure", "exit", "attempt", "instance", "generation"):
            out[k] = v.strip()
    return out


def report_reason(rep, node):
    """As report_failure_reason (fs/model/report.c): what failed, and the
    log's last lines."""
    step = rep.get("step") or "the bootstrap"
    head = ("%s exited %s on %s" % (step, rep["exit"], node)) if rep.get("exit") \
        else "%s failed on %s" % (step, node)
    tail = [ln for ln in rep.get("log", "").split("\n") if ln.strip()][-3:]
    return one_line(head + (": " + " | ".join(tail) if tail else ""))


class Dynamic(object):
    """spec() -> the current fleet spec (or None); ec2 an agent_ec2.Ec2,
    s3 an agent_s3.S3; user_data(spec) -> user_data(node, attempt,
    resource) -> bytes, or None when the head cannot make user data (the
    template is missing): resumes then fail at once, with the reason."""

    def __init__(self, spec, ec2, s3, cluster, bucket, state_dir, user_data=None,
                 scontrol=None, run=run_full, spool=agent_power.SPOOL, clock=time.time,
                 log=None, events=None, every=300, busy_for=60, revive_after=600):
        self.spec_of = spec
        self.ec2, self.s3, self.cluster, self.bucket = ec2, s3, cluster, bucket
        self.state_dir = private_dir(state_dir)
        self.make_user_data = user_data
        self.scontrol = scontrol or find_scontrol()
        self.run, self.spool, self.clock = run, spool, clock
        self.log = log or (lambda msg: None)
        self.events = events
        self.every, self.busy_for, self.revive_after = every, busy_for, revive_after
        self._spec = None
        self.fleet = agent_fleet.Fleet(ec2, bucket, cluster, state_dir,
                                       self._user_data, log=self.log)
        self.state_path = os.path.join(self.state_dir, "dynamic.json")
        s = read_state(self.state_path)
        self.state = {"nodes": s.get("nodes") if isinstance(s.get("nodes"), dict) else {},
                      "failed": s.get("failed") if isinstance(s.get("failed"), dict) else {}}
        self.busy_until = 0
        self.last_describe = None
        self.told = set()        # things logged once
        self.table_full = []     # nodes Slurm did not create (its table is full)

    # ---------- helpers ----------
    def _save(self):
        write_state(self.state_path, self.state)

    def _once(self, key, msg):
        if key not in self.told:
            self.told.add(key)
            self.log(msg)

    def _event(self, level, msg):
        self.log(msg)
        if self.events is not None:
            try:
                self.events.add(level, msg)
            except OSError as e:
                self.log("head events: %s" % e)

    def _user_data(self, node, attempt, r):
        return self.make_user_data(self._spec)(node, attempt, r)

    def _scontrol(self, *args):
        return self.run([self.scontrol] + list(args))

    def slurm_nodes(self):
        """{name: record} of every node Slurm lists (PrivateData=cloud shows
        the powered-down ones)."""
        ok, out = self._scontrol("-o", "show", "node")
        if not ok:
            if "No nodes in the system" in out:
                return {}
            raise OSError("scontrol show node: %s" % one_line(out))
        nodes = {}
        for ln in out.splitlines():
            if ln.startswith("NodeName="):
                rec = parse_node(ln)
                nodes[rec["NodeName"]] = rec
        return nodes

    def owns(self, name):
        """Whether name is a dynamic node of the spec or one being run down:
        no instance is what a powered-down one has (agent_gone must leave it)."""
        return name in dynamic_nodes(self.spec_of()) or name in self.state["nodes"]

    def _down(self, node, reason, rec=None):
        """Node DOWN with reason, unless Slurm has it down already."""
        if rec is not None and "DOWN" in flags(rec) and rec.get("Reason"):
            return
        ok, out = self._scontrol("update", "NodeName=" + node, "State=DOWN",
                                 "Reason=" + one_line(reason))
        if not ok:
            self.log("marking %s down: %s" % (node, one_line(out)))

    def _instances(self):
        """{node: [instances]} of the cluster's compute instances, all states."""
        found = self.ec2.describe_instances({
            "tag:pclusterfs:cluster": [self.cluster], "tag:pclusterfs:owner": [self.bucket]})
        self.last_describe = self.clock()
        out = {}
        for i in found:
            n = (i.get("Tags") or {}).get("pclusterfs:node")
            if n and n != "head":
                out.setdefault(n, []).append(i)
        return out

    def _terminate(self, node, insts, why):
        ids = sorted(i["InstanceId"] for i in insts if i.get("State") in LIVE)
        if ids:
            self.ec2.terminate_instances(ids)
            self.log("terminating %s of %s: %s" % (", ".join(ids), node, why))
        return ids

    def _end(self, node):
        """Node's life is over: its next resume is a new attempt."""
        intent = self.fleet.intents.get(node)
        if intent and not intent.get("ended"):
            intent["ended"] = True
            self.fleet.intents.put(node, intent)
        if self.state["nodes"].pop(node, None) is not None:
            self._save()

    # ---------- 1. the spec's nodes in Slurm ----------
    def _sync_slurm(self, spec, want, nodes):
        self.table_full = []
        for name in sorted(want):
            if name in nodes:
                continue
            r, q = want[name]
            ok, out = self._scontrol(
                "create", "NodeName=" + name, "State=CLOUD",
                "Features=%s,%s" % (q.get("name") or "compute", FEATURE),
                "CPUs=%d" % int(r.get("vcpus") or 1),
                "RealMemory=%d" % int(r.get("memoryMib") or 512))
            ok2, shown = self._scontrol("-o", "show", "node", name)
            if ok2 and ("NodeName=%s " % name) in shown:
                nodes[name] = parse_node(shown.splitlines()[0])
                self.log("created %s in Slurm (powered down)" % name)
                continue
            if ok:
                self.table_full = sorted(set(want) - set(nodes))
                self._once("full:%d" % len(self.table_full),
                           "Slurm's node table is full (MaxNodeCount): %d dynamic node(s) "
                           "not created: %s" % (len(self.table_full), ", ".join(
                               self.table_full[:5]) + (" ..." if len(self.table_full) > 5
                                                       else "")))
                return
            self._once("create:" + name, "scontrol create %s: %s" % (name, one_line(out)))

    def _drop_unwanted(self, want, nodes, insts):
        for name, rec in sorted(nodes.items()):
            feats = set(rec.get("AvailableFeatures", "").split(","))
            if FEATURE not in feats or name in want:
                continue
            if insts is not None:
                self._terminate(name, insts.get(name, []), "no longer in the spec")
            if flags(rec) & set(BUSY_STATES) or "POWERING_UP" in flags(rec):
                continue        # a job runs there: later
            ok, out = self._scontrol("delete", "NodeName=" + name)
            if ok:
                self._end(name)
                self.fleet.intents.forget(name)
                self._event("info", "removed %s: no longer in the config" % name)
            else:
                self._once("delete:" + name, "scontrol delete %s: %s" % (name, one_line(out)))

    # ---------- 2. power requests ----------
    def _resume(self, spec, want, node, jobs, insts, nodes):
        if node not in want:
            self._event("warning", "Slurm asked to resume %s, which is no dynamic node of "
                        "the config" % node)
            return
        r, q = want[node]
        live = [i for i in insts.get(node, []) if i.get("State") in ALIVE]
        if live:
            inst = sorted(live, key=lambda i: i.get("LaunchTime", ""))[-1]
        else:
            if self.make_user_data is None:
                reason = "the head cannot launch %s: no user data template (%s)" % (
                    node, TEMPLATE)
                self._event("error", "%s failed to resume: %s" % (node, reason))
                self._down(node, reason, nodes.get(node))
                return
            inst = None
            for _ in range(2):
                intent = self.fleet.intents.get(node)
                if intent and not intent.get("ended"):
                    attempt = intent["attempt"]
                else:
                    attempt = (intent or {}).get("attempt", 0) + 1
                    self.fleet.intents.put(node, {"attempt": attempt, "ended": False,
                                                  "generation": spec["generation"],
                                                  "tries": 1})
                self._spec = spec
                inst = self.fleet.run_attempt(spec, node, r, attempt)
                if inst.get("State") in ALIVE:
                    break
                self._end(node)     # this attempt's instance is gone: a new one
            if inst is None or inst.get("State") not in ALIVE:
                raise OSError("%s: RunInstances gave back no live instance" % node)
            ids = []
            for j in (jobs or {}).get("jobs") or []:
                if isinstance(j, dict) and j.get("job_id") is not None:
                    ids.append(str(j["job_id"]))
            self._event("info", "launched %s (%s, %s)%s" % (
                node, inst["InstanceId"], r.get("instanceType"),
                (" for job(s) " + ", ".join(sorted(set(ids)))) if ids else ""))
        intent = self.fleet.intents.get(node) or {}
        self.state["nodes"][node] = {
            "instance": inst["InstanceId"], "attempt": intent.get("attempt", 0),
            "since": self.clock(), "ip": inst.get("PrivateIpAddress") or "",
            "booting": True}
        self._save()

    def _suspend(self, node, insts, nodes):
        ids = self._terminate(node, insts.get(node, []), "Slurm powered it down")
        self._end(node)
        self._event("info", "stopped %s (idle)%s" % (node, (": terminated " + ", ".join(ids))
                                                     if ids else ""))

    def _resume_fail(self, node, insts, nodes):
        ids = self._terminate(node, insts.get(node, []), "it failed to resume")
        self._end(node)
        if node in self.state["failed"] and not ids:
            return          # failed by the agent already (report, lost instance): told
        rec = nodes.get(node)
        reason = (rec or {}).get("Reason") or "it did not come up within ResumeTimeout"
        reason = re.sub(r" \[[^\]]*@[^\]]*\]$", "", reason)
        self._down(node, "failed to resume: " + reason, rec)
        self._failed(node)
        self._event("error", "%s failed to resume: %s%s" % (
            node, reason, ("; terminated " + ", ".join(ids)) if ids else ""))

    # ---------- 3. watching the nodes the head launched ----------
    def _fail(self, node, reason, insts, nodes):
        ids = self._terminate(node, insts.get(node, []) if insts else [], reason)
        self._end(node)
        self._down(node, reason, None)
        self._failed(node)
        self._event("error", "%s failed to resume: %s%s" % (
            node, reason, ("; terminated " + ", ".join(ids)) if ids else ""))

    def _failed(self, node):
        self.state["failed"].setdefault(node, self.clock())
        self._save()

    def _revive(self, want, nodes):
        """A node that failed stays DOWN with its reason for revive_after
        seconds (node.json and sinfo show why), then is made usable again
        (powered down, idle) so that failures do not use the queue up. Only
        the nodes this agent failed: a DOWN an admin set stays."""
        now = self.clock()
        for node, since in sorted(self.state["failed"].items()):
            rec = nodes.get(node)
            fl = flags(rec)
            if node not in want or rec is None or "DOWN" not in fl:
                del self.state["failed"][node]      # gone, or resumed by someone
                self._save()
                continue
            if "POWERED_DOWN" not in fl or fl & {"POWERING_UP", "POWERING_DOWN"} or \
                    now - since < self.revive_after:
                continue
            ok, out = self._scontrol("update", "NodeName=" + node, "State=RESUME")
            if ok:
                del self.state["failed"][node]
                self._save()
                self._event("info", "%s may be started again (it failed %d s ago: %s)" % (
                    node, int(now - since), rec.get("Reason", "")))
            else:
                self._once("revive:" + node, "resuming %s: %s" % (node, one_line(out)))

    def _report(self, node, rec):
        """The node's bootstrap report for its attempt and instance, or None."""
        key = agent_fleet.report_key(self.cluster, node)
        try:
            obj = self.s3.get(key, if_none_match=rec.get("report_etag"))
        except agent_aws.AwsError as e:
            if e.code in ("NoSuchKey", "HTTP404"):
                return None
            raise
        if obj is None:
            return None
        rec["report_etag"] = obj.etag
        self._save()
        rep = parse_report(obj.body.decode("utf-8", "replace"))
        if rep.get("attempt") != str(rec.get("attempt")):
            return None
        if rep.get("instance") and rep["instance"] != rec.get("instance"):
            return None
        return rep

    def _watch(self, nodes, insts):
        now = self.clock()
        for node in sorted(self.state["nodes"]):
            rec = self.state["nodes"][node]
            srec = nodes.get(node)
            fl = flags(srec)
            mine = [i for i in (insts or {}).get(node, [])
                    if i.get("InstanceId") == rec.get("instance")]
            if insts is not None and rec.get("instance"):
                if mine and mine[0].get("State") not in ALIVE and \
                        not fl & {"POWERED_DOWN", "POWERING_DOWN"}:
                    why = mine[0].get("StateReason") or mine[0]["State"]
                    self._fail(node, "its instance %s is %s (%s)" % (
                        rec["instance"], mine[0]["State"], why), insts, nodes)
                    continue
                if not mine and now - rec.get("since", now) > GRACE:
                    self._fail(node, "its instance %s is gone" % rec["instance"], insts, nodes)
                    continue
                if mine and not rec.get("ip") and mine[0].get("PrivateIpAddress"):
                    rec["ip"] = mine[0]["PrivateIpAddress"]
                    self._save()
            if srec is None:
                continue
            ip = rec.get("ip")
            if ip and srec.get("NodeAddr") != ip and not fl & {"POWERED_DOWN",
                                                              "POWERING_DOWN"}:
                ok, out = self._scontrol("update", "NodeName=" + node, "NodeAddr=" + ip,
                                         "NodeHostname=" + node)
                if ok:
                    self.log("%s is at %s" % (node, ip))
                else:
                    self.log("setting %s's address: %s" % (node, one_line(out)))
            if rec.get("booting"):
                if "POWERING_UP" not in fl and fl & {"IDLE", "ALLOCATED", "MIXED",
                                                    "COMPLETING"} and \
                        "POWERED_DOWN" not in fl:
                    rec["booting"] = False
                    self._save()
                    self.log("%s is up" % node)
                    continue
                rep = self._report(node, rec)
                if rep and rep.get("state") == "failed":
                    self._fail(node, "bootstrap failed: " + report_reason(rep, node),
                               insts, nodes)
                elif rep and rep.get("state") == "done":
                    rec["booting"] = False
                    self._save()

    def _orphans(self, want, nodes, insts):
        """Instances under nodes Slurm has powered down (a request lost, a
        crash between launch and record): terminated."""
        now = self.clock()
        for node, found in sorted(insts.items()):
            if node not in want or node in self.state["nodes"]:
                continue
            fl = flags(nodes.get(node))
            if not fl & {"POWERED_DOWN"}:
                continue
            old = [i for i in found if i.get("State") in LIVE and
                   now - _launch_time(i, now) > GRACE]
            if old:
                self._terminate(node, old, "Slurm has the node powered down")

    # ---------- the round ----------
    def cycle(self):
        """One round. Raises AwsError or OSError when EC2, the bucket or
        Slurm cannot be reached (the next round tries again)."""
        spec = self.spec_of()
        if not spec:
            return
        now = self.clock()
        want = dynamic_nodes(spec)
        nodes = self.slurm_nodes()
        self._sync_slurm(spec, want, nodes)
        try:
            if self.spool is None:
                raise OSError("the spool was refused")
            reqs = agent_power.pending(self.spool, run=self.run)
        except OSError as e:
            self._once("spool", "power requests cannot be read (%s): dynamic nodes are "
                       "neither started nor stopped" % e)
            reqs = []
        busy = bool(reqs) or any(r.get("booting") for r in self.state["nodes"].values())
        insts = None
        stale = [n for n, rec in nodes.items() if FEATURE in rec.get(
            "AvailableFeatures", "").split(",") and n not in want]
        # EC2 is asked every round while there is work, every minute while
        # nodes run, every `every` seconds otherwise (orphans)
        period = min(self.every, 60) if self.state["nodes"] else self.every
        if busy or stale or self.last_describe is None or now - self.last_describe >= period:
            insts = self._instances()
        if stale:
            self._drop_unwanted(want, nodes, insts)
        for req in reqs:
            if req.error:
                self.log("power request %s refused: %s" % (req.name, req.error))
                agent_power.done(req, self.spool)
                continue
            for node in req.nodes:
                if req.action == "resume":
                    self._resume(spec, want, node, req.jobs, insts, nodes)
                elif req.action == "suspend":
                    self._suspend(node, insts, nodes)
                else:
                    self._resume_fail(node, insts, nodes)
            agent_power.done(req, self.spool)
        if reqs:
            nodes = self.slurm_nodes()
        self._watch(nodes, insts)
        if insts is not None:
            self._orphans(want, nodes, insts)
        if self.state["failed"]:
            self._revive(want, nodes)
        if busy or any(r.get("booting") for r in self.state["nodes"].values()):
            self.busy_until = self.clock() + self.busy_for
        if self.events is not None:
            self.events.flush()


def _launch_time(inst, default):
    t = inst.get("LaunchTime") or ""
    try:
        import calendar
        return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return default


def make(cfg, s3, spec, log=None, credentials=None):
    """The agent's Dynamic for cfg (agent_main): spec() gives the fleet
    spec (the follower's), an EC2 client of its own on the head's role.
    Never raises for a missing spool or template: they are told, and the
    rest of the agent runs."""
    import agent_ec2
    credentials = credentials or s3.client.credentials
    ec2 = agent_ec2.Ec2(agent_aws.Client("ec2", cfg["region"], credentials,
                                         endpoint=cfg.get("endpoint_ec2")))
    spool = cfg.get("power_spool", agent_power.SPOOL)
    if os.path.isdir(spool):       # made by bootstrap.sh before slurmctld starts
        try:
            agent_power.prepare_spool(spool, cfg.get("slurm_user", "slurm"))
        except (OSError, KeyError, agent_power.SpoolError) as e:
            if log:
                log("the power spool %s is refused: %s" % (spool, e))
            spool = None           # never read requests anyone else could place
    template_path = cfg.get("userdata_template", TEMPLATE)
    try:
        with open(template_path) as f:
            template = f.read()
    except OSError as e:
        template = None
        if log:
            log("no compute user data template (%s): dynamic nodes cannot be launched" % e)
    addr = []

    def user_data(spec):
        if not addr:
            a = cfg.get("head_address") or head_address(credentials)
            if not a:
                raise OSError("the head's own address is unknown (slurm.conf, IMDS)")
            addr.append(a)
        return agent_fleet.make_user_data(s3, spec, template, addr[0])

    events = agent_events.HeadEvents(s3, cfg["cluster"], cfg["state_dir"])
    return Dynamic(spec, ec2, s3, cfg["cluster"], cfg["bucket"], cfg["state_dir"],
                   user_data=user_data if template is not None else None,
                   scontrol=cfg.get("scontrol"), spool=spool, log=log, events=events,
                   busy_for=cfg.get("dynamic_busy_for", 60),
                   revive_after=cfg.get("dynamic_revive_after", 600))
