"""Dynamic compute nodes run by the head's agent (issue 16,
scripts/embed/agent_dynamic.py): a real slurmctld (Debian's 22.05) with
slurm_power.sh as its power programs and the power-saving lines the head's
slurm.conf gets, and an EC2 stand-in whose "instances" are slurmd -Z
processes in a time namespace (the recipe of test_slurm_power), so the
whole round runs: job -> resume request -> the agent launches -> the node
registers, the job runs -> idle -> suspend request -> the agent terminates.
The launch against the local cloud's real RunInstances (boot off), with a
restart, and a bootstrap's failure report through the presigned URL of the
manifest the head writes, are in the last tests."""
import datetime
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request

import pytest

from agent_modules import EMBED, load
from fixture_slurm import SlurmCluster, free_port, parse_scontrol_line, wait_for
from test_agent_localcloud import cloud  # noqa: F401,F811  (the fixture)

pytestmark = pytest.mark.slow

PROGRAMS = {"resume": "slurm_resume", "suspend": "slurm_suspend",
            "resume_fail": "slurm_resume_fail"}
DYN = ["q-dy-r-%d" % i for i in range(1, 5)]
STATIC = "q-st-r-1"
# The power-saving lines verified here for the head's slurm.conf: no global
# SuspendTime (a global one powers down static -Z nodes too), and the
# agent's dynamic nodes (feature pcfs-dynamic, given at scontrol create) in
# a hidden, inactive partition that carries scaledown_idletime.
POWER_LINES = """\
ResumeTimeout=20
NodeSet=pcfs_dynamic Feature=pcfs-dynamic
PartitionName=pcfs_dynamic Nodes=pcfs_dynamic Hidden=YES State=INACTIVE SuspendTime=5
NodeSet=q Feature=q
PartitionName=q Nodes=q Default=YES MaxTime=INFINITE State=UP
"""


def uptime_seconds():
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]))


class DynCluster(SlurmCluster):
    """No node in slurm.conf; room for 5 (MaxNodeCount): the static node
    and 4 dynamic ones."""

    def __init__(self):
        super().__init__("host", nodes=("x0",))

    def write_config(self):
        super().write_config()
        bin_dir, self.spool = self.h("bin"), self.h("spool", "power")
        os.makedirs(bin_dir)
        shutil.copy(os.path.join(EMBED, "slurm_power.sh"), bin_dir)
        wrappers = {}
        for action, name in PROGRAMS.items():
            os.symlink("slurm_power.sh", os.path.join(bin_dir, name))
            w = self.h(f"{name}.sh")
            with open(w, "w") as f:
                f.write(f"#!/bin/sh\nPCFS_POWER_SPOOL={self.spool} exec {bin_dir}/{name} \"$@\"\n")
            os.chmod(w, 0o755)
            wrappers[action] = w
        conf = open(self.h("slurm.conf")).read()
        conf = "".join(ln for ln in conf.splitlines(True) if not ln.startswith(
            ("NodeName=", "PartitionName=", "SuspendTime=", "ResumeTimeout=", "MaxNodeCount=",
             "SuspendProgram=", "ResumeProgram=")))
        conf += (f"MaxNodeCount=5\nSuspendProgram={wrappers['suspend']}\n"
                 f"ResumeProgram={wrappers['resume']}\n"
                 f"ResumeFailProgram={wrappers['resume_fail']}\n" + POWER_LINES)
        with open(self.h("slurm.conf"), "w") as f:
            f.write(conf)
        # The static node's slurmd listens on a port of its own (its own
        # copy of slurm.conf): -Z slurmds of one host would share SlurmdPort.
        with open(self.h("static.conf"), "w") as f:
            f.write(conf.replace(f"SlurmdPort={self.dynamic_port}", f"SlurmdPort={free_port()}"))
        load("agent_power").prepare_spool(self.spool)
        with open(self.h("hosts"), "a") as f:
            f.write("127.0.0.1\t%s %s\n" % (STATIC, " ".join("q-dy-r-%d" % i
                                                               for i in range(1, 9))))

    def start_static(self):
        os.makedirs(self.h("spool", STATIC), exist_ok=True)
        self._spawn(f"slurmd-{STATIC}", ["slurmd", "-D", "-Z", "-N", STATIC, "--conf",
                                         "CPUs=2 RealMemory=500 Feature=q",
                                         "-f", self.c("static.conf")],
                    hostname=STATIC, pidns=True)
        wait_for(lambda: "IDLE" in self.node(STATIC).get("State", ""), 30, "static node")

    def boot(self, node):
        """What an instance's bootstrap does, at once: slurmd -Z -N node in a
        time namespace, so it booted after Slurm's resume request."""
        os.makedirs(self.h("spool", node), exist_ok=True)
        argv = ["unshare", "--time", "--boottime", "-%d" % uptime_seconds(), "--fork"] + \
            self._wrap(["slurmd", "-D", "-Z", "-N", node, "--conf", "CPUs=2 RealMemory=500",
                        "-f", self.c("slurm.conf")], hostname=node, pidns=True)
        log = open(self.h(f"slurmd-{node}.out"), "wb")
        self.procs[f"slurmd-{node}"] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, SLURM_CONF=self.c("slurm.conf")))

    def node(self, name):
        out = self.run("scontrol", "-o", "show", "node", name, check=False)
        return parse_scontrol_line(out.splitlines()[0]) if out.strip() else {}


@pytest.fixture(scope="module")
def dyn_cluster():
    cl = DynCluster()
    try:
        cl.start()
        cl.start_static()
    except Exception:
        cl.cleanup()
        raise
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = cl.h("slurm.conf")
    yield cl
    if saved is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = saved
    cl.cleanup()


def spec(nodes=DYN, generation=1, image="ami-0123456789abcdef0", subnet=None, owner="bkt",
         cluster="dyn"):
    return {"schema": 1, "cluster": cluster, "owner": owner, "generation": generation,
            "incarnation": 1700000000, "specId": "1" * 64, "region": "ap-northeast-1",
            "launch": {"image": image, "subnets": [subnet] if subnet else [],
                       "securityGroups": [],
                       "files": {"stage2": "clusters/%s/generated/bootstrap.sh" % cluster,
                                 "mungeKey": "clusters/%s/generated/munge.key" % cluster}},
            "hooks": {"pre": [], "post": []},
            "queues": [{"name": "q", "market": "on-demand", "computeResources": [
                {"name": "r", "instanceType": "t2.micro", "vcpus": 2, "memoryMib": 500,
                 "staticNodes": [STATIC], "dynamicNodes": list(nodes)}]}]}


class FakeEc2:
    """EC2 as the agent uses it, in memory: ClientToken idempotency, tag,
    state, id and token filters; on_launch / on_terminate hooks."""

    def __init__(self, on_launch=None, on_terminate=None):
        self.instances, self.runs = [], []
        self.on_launch, self.on_terminate = on_launch, on_terminate
        self.lock = threading.Lock()

    def run_instance(self, image, itype, token, tags, **kw):
        with self.lock:
            self.runs.append((tags["pclusterfs:node"], token))
            for i in self.instances:
                if i["ClientToken"] == token:
                    return dict(i)
            inst = {"InstanceId": "i-%017x" % (len(self.instances) + 1), "InstanceType": itype,
                    "State": "running", "PrivateIpAddress": "127.0.0.1",
                    "LaunchTime": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "ClientToken": token, "StateReason": "", "Tags": dict(tags),
                    "UserData": kw.get("user_data")}
            self.instances.append(inst)
        if self.on_launch:
            self.on_launch(inst)
        return dict(inst)

    def terminate_instances(self, ids):
        out = {}
        for i in self.instances:
            if i["InstanceId"] in ids:
                if i["State"] != "terminated" and self.on_terminate:
                    self.on_terminate(i)
                i["State"] = "terminated"
                out[i["InstanceId"]] = "shutting-down"
        return out

    def describe_instances(self, filters):
        def match(i):
            for k, vals in filters.items():
                if k.startswith("tag:"):
                    v = i["Tags"].get(k[4:])
                elif k == "instance-state-name":
                    v = i["State"]
                elif k == "instance-id":
                    v = i["InstanceId"]
                elif k == "client-token":
                    v = i["ClientToken"]
                else:
                    raise AssertionError("filter " + k)
                if v not in vals:
                    return False
            return True
        return [dict(i) for i in self.instances if match(i)]

    def live(self, node=None):
        return [i for i in self.instances if i["State"] in ("pending", "running") and
                (node is None or i["Tags"]["pclusterfs:node"] == node)]


class FakeS3:
    def __init__(self):
        self.objects = {}

    def get(self, key, if_none_match=None):
        aws = load("agent_aws")
        if key not in self.objects:
            raise aws.AwsError(404, "NoSuchKey", "no such key", "S3 GetObject " + key)
        body, etag = self.objects[key]
        if if_none_match == etag:
            return None
        return load("agent_s3").Object(key, etag, body, len(body))

    def put(self, key, body, content_type=None):
        etag = '"%d"' % (hash(body) & 0xffffffff)
        self.objects[key] = (body, etag)
        return etag


def dynamic(cl, ec2, state, s3=None, the_spec=None, logs=None, **kw):
    mod = load("agent_dynamic")
    s3 = s3 or FakeS3()
    the_spec = the_spec or spec()
    logs = logs if logs is not None else []
    events = load("agent_events").HeadEvents(s3, the_spec["cluster"], str(state))
    return mod.Dynamic(lambda: the_spec, ec2, s3, the_spec["cluster"], the_spec["owner"],
                       str(state), user_data=kw.pop("user_data", lambda s: (
                           lambda n, a, r: b"#!/bin/sh\n")),
                       spool=cl.spool if cl else kw.pop("spool"), log=logs.append,
                       events=events, every=kw.pop("every", 300), **kw)


def states(rec):
    """A node's state flags (POWERED_DOWN is not DOWN)."""
    return set(rec.get("State", "").split("+"))


def job_state(cl, name):
    out = cl.run("scontrol", "-o", "show", "job", check=False)
    for rec in out.splitlines():
        if f"JobName={name} " in rec:
            return rec.split("JobState=")[1].split()[0]
    return None


def cycle_until(d, pred, timeout, what, cl=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        d.cycle()
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n" +
                         (cl.log_tail() if cl else ""))


def test_the_specs_dynamic_nodes_are_made_powered_down_cloud_nodes(dyn_cluster, tmp_path):
    cl = dyn_cluster
    d = dynamic(cl, FakeEc2(), tmp_path / "st")
    d.cycle()
    for n in DYN:
        rec = cl.node(n)
        assert "POWERED_DOWN" in rec["State"] and "CLOUD" in rec["State"], rec
        assert rec["AvailableFeatures"] == "q,pcfs-dynamic" and rec["CPUTot"] == "2", rec
        assert rec["RealMemory"] == "500"
    assert d.owns("q-dy-r-1") and not d.owns(STATIC)
    # A second round changes nothing.
    d.cycle()
    assert sorted(n for n in cl.show_nodes() if "-dy-" in n) == DYN


def test_a_job_resumes_a_node_launched_once_and_idle_it_is_stopped(dyn_cluster, tmp_path):
    """The whole round with slurmctld's own programs; the static -Z node
    stays up past SuspendTime all along, the idle dynamic one is stopped."""
    cl = dyn_cluster
    node = "q-dy-r-1"
    booted = []

    def on_launch(inst):
        booted.append(inst["InstanceId"])
        # the instance boots a moment later (Slurm wants a boot time after
        # its request, in whole seconds)
        threading.Timer(1.5, cl.boot, [inst["Tags"]["pclusterfs:node"]]).start()

    ec2 = FakeEc2(on_launch, lambda i: cl.stop_node(i["Tags"]["pclusterfs:node"]))
    logs = []
    d = dynamic(cl, ec2, tmp_path / "st", logs=logs)
    d.cycle()
    out = tmp_path / "job.out"
    os.chmod(tmp_path, 0o777)
    cl.run("sbatch", "-p", "q", "-w", node, "-o", str(out), "-J", "on-dyn", "--wrap", "hostname")
    cycle_until(d, lambda: ec2.runs, 60, "a launch", cl)
    assert [r[0] for r in ec2.runs] == [node]
    assert d.busy_until > time.time()
    # Rounds again, and an agent restarted on the same state: no second instance.
    d.cycle()
    dynamic(cl, ec2, tmp_path / "st").cycle()
    assert len(ec2.live(node)) == 1 and len(booted) == 1, ec2.runs
    assert cl.node(node)["NodeAddr"] == "127.0.0.1"
    cycle_until(d, lambda: job_state(cl, "on-dyn") == "COMPLETED", 60, "the job", cl)
    assert out.read_text().strip() == node
    assert any(f"launched {node} (i-" in ln and "for job(s)" in ln for ln in logs), logs
    # Idle past the partition's SuspendTime: Slurm asks, the agent terminates.
    cycle_until(d, lambda: not ec2.live(node), 90, "the suspend", cl)
    assert any(f"stopped {node} (idle)" in ln for ln in logs), logs
    assert "POWER" in cl.node(node)["State"], cl.node(node)
    # The static node was never asked to power down.
    assert not any(STATIC in ln for ln in logs), logs
    st = cl.node(STATIC)["State"]
    assert st.startswith("IDLE") and "POWER" not in st, st
    assert not load("agent_power").pending(cl.spool)
    events = d.events.lines
    assert any(" info launched %s" % node in e for e in events) and \
        any(" info stopped %s (idle)" % node in e for e in events), events
    assert d.s3.objects["clusters/dyn/head/events"][0].decode().count("\n") == len(events)
    # A resume after a stop is a new attempt: a new instance, not the old one back.
    intent = d.fleet.intents.get(node)
    assert intent["ended"] and intent["attempt"] == 1


def test_a_node_that_never_comes_up_is_terminated_and_down(dyn_cluster, tmp_path):
    cl = dyn_cluster
    node = "q-dy-r-2"
    ec2 = FakeEc2()            # instances that never boot
    logs = []
    d = dynamic(cl, ec2, tmp_path / "st", logs=logs)
    cl.run("sbatch", "-p", "q", "-w", node, "-o", "/dev/null", "-J", "never", "--wrap", "true")
    cycle_until(d, lambda: ec2.runs, 60, "a launch", cl)
    # Past ResumeTimeout (20 s), ResumeFailProgram: terminated, DOWN, said.
    cycle_until(d, lambda: not ec2.live(node), 90, "resume_fail", cl)
    rec = cl.node(node)
    assert "DOWN" in states(rec) and rec.get("Reason"), rec
    assert any(f"{node} failed to resume" in ln for ln in logs), logs
    assert any(" error %s failed to resume" % node in e for e in d.events.lines)
    cl.run("scancel", "-n", "never", check=False)
    # It stays DOWN for revive_after, then may be started again: powered
    # down and idle, not DOWN.
    d.cycle()
    assert "DOWN" in states(cl.node(node))
    d.revive_after = 0
    cycle_until(d, lambda: "DOWN" not in states(cl.node(node)), 60, "revived", cl)
    rec = cl.node(node)
    assert rec["State"].startswith("IDLE") and "POWERED_DOWN" in rec["State"], rec
    assert any(f"{node} may be started again" in ln for ln in logs), logs


def test_a_bootstrap_failure_report_fails_the_node_at_once(dyn_cluster, tmp_path):
    cl = dyn_cluster
    node = "q-dy-r-3"
    ec2 = FakeEc2()
    s3 = FakeS3()
    d = dynamic(cl, ec2, tmp_path / "st", s3=s3)
    cl.run("sbatch", "-p", "q", "-w", node, "-o", "/dev/null", "-J", "badboot", "--wrap", "true")
    cycle_until(d, lambda: ec2.live(node), 60, "a launch", cl)
    (inst,) = ec2.live(node)
    t0 = time.monotonic()
    # A report of another attempt counts for nothing.
    s3.put("clusters/dyn/head/reports/" + node,
           b"state failed\nstep pre\nexit 3\nattempt 7\n--\nold\n")
    d.cycle()
    assert ec2.live(node)
    s3.put("clusters/dyn/head/reports/" + node, (
        "state failed\nstep pre hook 10-setup.sh\nfailure OnNodeStartExecutionFailure\n"
        "exit 3\nattempt 1\ninstance %s\n--\nline one\nno space left on device\n"
        % inst["InstanceId"]).encode())
    d.cycle()
    assert not ec2.live(node)
    rec = cl.node(node)
    assert "DOWN" in states(rec), rec
    assert "pre hook 10-setup.sh exited 3" in rec["Reason"] and "no space left" in rec["Reason"]
    assert time.monotonic() - t0 < 10        # not ResumeTimeout's 20 s
    # The job does not stay on the failed node.
    wait_for(lambda: job_state(cl, "badboot") in ("PENDING", "REQUEUED"), 30, "requeue")
    cl.run("scancel", "-n", "badboot", check=False)


def test_an_instance_gone_while_the_node_boots_fails_it(dyn_cluster, tmp_path):
    cl = dyn_cluster
    node = "q-dy-r-4"
    ec2 = FakeEc2()
    logs = []
    d = dynamic(cl, ec2, tmp_path / "st", logs=logs)
    cl.run("sbatch", "-p", "q", "-w", node, "-o", "/dev/null", "-J", "lost", "--wrap", "true")
    cycle_until(d, lambda: ec2.live(node), 60, "a launch", cl)
    ec2.live(node)[0].update(State="terminated", StateReason="Server.SpotInstanceTermination")
    d.cycle()
    rec = cl.node(node)
    assert "DOWN" in states(rec) and "SpotInstanceTermination" in rec["Reason"], rec
    cl.run("scancel", "-n", "lost", check=False)


def test_a_full_node_table_is_told_and_dropped_nodes_deleted(dyn_cluster, tmp_path):
    cl = dyn_cluster
    names = ["q-dy-r-%d" % i for i in range(1, 9)]
    logs = []
    d = dynamic(cl, FakeEc2(), tmp_path / "st", logs=logs, the_spec=spec(names, 2))
    d.cycle()
    d.cycle()
    have = sorted(n for n in cl.show_nodes() if "-dy-" in n)
    assert have == names[:4]                  # MaxNodeCount=5, one is the static node's
    assert d.table_full == names[4:]
    told = [ln for ln in logs if "node table is full" in ln]
    assert len(told) == 1 and "4 dynamic node(s) not created" in told[0], logs
    # A smaller config: the dropped idle nodes go from Slurm.
    d2 = dynamic(cl, FakeEc2(), tmp_path / "st", logs=logs, the_spec=spec(names[:1], 3))
    # (those still powering up, the failed ones of the tests above, once
    # ResumeTimeout made them powered down)
    cycle_until(d2, lambda: sorted(n for n in cl.show_nodes() if "-dy-" in n) == names[:1],
                60, "the dropped nodes deleted", cl)
    assert sum("removed q-dy-r-" in ln for ln in logs) == 3, logs
    assert STATIC in cl.show_nodes()


# ---------- against the local cloud (boot off) ----------

class FakeSlurm:
    """scontrol as the agent calls it, for dynamic nodes Slurm is resuming."""

    def __init__(self, names):
        self.nodes = {n: {"State": "IDLE+CLOUD+POWERING_UP", "NodeAddr": n} for n in names}
        self.calls = []

    def __call__(self, argv):
        a = argv[1:]
        self.calls.append(a)
        if a[:2] == ["show", "hostnames"]:
            return True, a[2].replace(",", "\n")
        if a[:3] == ["-o", "show", "node"]:
            pick = [n for n in self.nodes if len(a) == 3 or a[3] == n]
            return True, "".join(
                "NodeName=%s Arch=x AvailableFeatures=q,pcfs-dynamic NodeAddr=%s State=%s "
                "Reason=%s\n" % (n, self.nodes[n]["NodeAddr"], self.nodes[n]["State"],
                                 self.nodes[n].get("Reason", "")) for n in pick)
        if a[0] == "update":
            kv = dict(x.split("=", 1) for x in a[1:])
            n = self.nodes[kv["NodeName"]]
            if "NodeAddr" in kv:
                n["NodeAddr"] = kv["NodeAddr"]
            if kv.get("State") == "DOWN":
                n["State"], n["Reason"] = "DOWN+CLOUD+POWERING_UP", kv["Reason"]
            return True, ""
        return True, ""


def test_launch_against_the_local_cloud_once_and_a_report_through_its_url(  # noqa: F811
        cloud, tmp_path):
    lc = cloud
    mod, fleet = load("agent_dynamic"), load("agent_fleet")
    node = "q-dy-r-1"
    spool = tmp_path / "power"
    spool.mkdir()
    (spool / "100.1.resume").write_text("resume\n%s\n" % node)
    sl = FakeSlurm([node])
    s = spec([node], image=lc.image_id(), subnet=lc.subnet_id, owner=lc.bucket, cluster="lab3")
    template = "#!/bin/sh\nURL='@MANIFEST_URL@'\n"

    def make(state):
        return mod.Dynamic(lambda: s, lc.ec2, lc.s3, "lab3", lc.bucket, str(state),
                           user_data=lambda sp: fleet.make_user_data(lc.s3, sp, template,
                                                                     "10.0.0.5"),
                           run=sl, spool=str(spool), log=print)
    d = make(tmp_path / "st")
    d.cycle()
    d.cycle()
    make(tmp_path / "st").cycle()           # a restart
    live = lc.ec2.describe_instances({"tag:pclusterfs:node": [node],
                                      "instance-state-name": ["pending", "running"]})
    assert len(live) == 1 and not os.listdir(spool)
    inst = live[0]
    assert inst["ClientToken"] == fleet.client_token(lc.bucket, "lab3", 1700000000, node, 1)
    assert sl.nodes[node]["NodeAddr"] == inst["PrivateIpAddress"]
    # The manifest the head wrote names a report URL under head/reports/.
    text = lc.s3.get(fleet.manifest_key("lab3", node, 1)).body.decode()
    assert "head_address 10.0.0.5" in text
    (url,) = [ln.split(" ", 1)[1] for ln in text.splitlines() if ln.startswith("report ")]
    assert "/clusters/lab3/head/reports/%s?" % node in url
    body = ("state failed\nstep slurmd\nexit 1\nattempt 1\ninstance %s\n--\nslurmd: no\n"
            % inst["InstanceId"]).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=body, method="PUT"),
                                timeout=10) as r:
        assert r.status == 200
    d.cycle()
    assert sl.nodes[node]["State"].startswith("DOWN")
    assert "slurmd exited 1 on %s" % node in sl.nodes[node]["Reason"]
    st = lc.ec2.describe_instances({"instance-id": [inst["InstanceId"]]})[0]["State"]
    assert st in ("shutting-down", "terminated")
    # Slurm resumes it again later: attempt 2, a new instance.
    sl.nodes[node] = {"State": "IDLE+CLOUD+POWERING_UP", "NodeAddr": node}
    (spool / "200.1.resume").write_text("resume\n%s\n" % node)
    d.cycle()
    live = lc.ec2.describe_instances({"tag:pclusterfs:node": [node],
                                      "instance-state-name": ["pending", "running"]})
    assert len(live) == 1 and live[0]["InstanceId"] != inst["InstanceId"]
    assert live[0]["Tags"]["pclusterfs:attempt"] == "2"
    json.dumps(d.state)


def test_the_agents_gone_nodes_round_leaves_dynamic_nodes_alone(tmp_path):
    """agent_gone removes Slurm nodes that have no live instance; a
    powered-down dynamic node never has one: agent_gone leaves them to
    agent_dynamic."""
    gone = load("agent_gone")
    view = tmp_path / "view.json"
    view.write_text(json.dumps({"nodes": {"nodes": [
        {"name": "q-dy-r-1", "state": ["IDLE", "POWERED_DOWN"]},
        {"name": "q-st-r-1", "state": ["IDLE"]}]}}))
    removed = []
    g = gone.GoneNodes(lambda filters: [], "dyn", "bkt", str(view), remove=removed.append)
    assert g.cycle() == ["q-st-r-1"] and removed == ["q-st-r-1"]


def test_the_heads_address_and_a_reports_reason(tmp_path):
    mod = load("agent_dynamic")
    conf = tmp_path / "slurm.conf"
    conf.write_text("ClusterName=c\nSlurmctldHost=head(10.1.2.3)\nSlurmctldPort=6817\n")
    assert mod.head_address(None, [str(conf)]) == "10.1.2.3"
    conf.write_text("SlurmctldHost=head(@HEAD_ADDRESS@)\n")
    assert mod.head_address(None, [str(conf)]) is None
    rep = mod.parse_report("state failed\nstep post\nexit 2\nattempt 1\ninstance i-1\n--\n"
                           "a\nb\n")
    assert (rep["state"], rep["attempt"], rep["instance"]) == ("failed", "1", "i-1")
    assert mod.report_reason(rep, "n") == "post exited 2 on n: a | b"
