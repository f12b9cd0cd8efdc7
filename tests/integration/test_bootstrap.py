"""The node bootstrap (scripts/embed/userdata.sh.in, bootstrap.sh,
slurm.conf.in) on instances the local cloud boots for real.

Does by hand what the daemon does: uploads the stage-2 script, slurm.conf,
keys and hooks to a bucket, writes one manifest of presigned URLs per node,
and launches each node with the rendered user data. One cluster (a head and
two compute nodes, plus a compute node whose post hook fails) serves every
test of the module, so the whole module boots once."""
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from fixture_localcloud import REPO, LocalCloud

EMBED = os.path.join(REPO, "scripts", "embed")
CLUSTER = "bt" + secrets.token_hex(3)
BUCKET = "pcfs-boot-" + secrets.token_hex(4)
COMPUTE = ["compute-st-t2micro-1", "compute-st-t2micro-2"]
FAILING = "compute-st-t2micro-3"
FAILING_PRE = "compute-st-t2micro-4"
UNGUARDED = "compute-st-t2micro-5"   # its IMDS cannot be firewalled

# Names are data: one of them is shell code that must never run.
EVIL_NAME = "$(touch pwned);'\""
PRE_HOOKS = [   # (name, body), already in byte order of name
    ("10-pre.sh", b"#!/bin/bash\r\necho \"PRE-HOOK type=$cfn_node_type node=$PCLUSTERFS_NODE_NAME"
                  b" region=$cfn_region cluster=$cfn_cluster_name sched=$cfn_scheduler"
                  b" head=${cfn_head_node-none} user=$(id -un)\"\r\n"),
    ("20-noshebang", b"echo \"NOSHEBANG bash=${BASH_VERSION:+yes}\"\n"),
    (EVIL_NAME, b"#!/bin/sh\necho EVIL-HOOK-RAN-AS-DATA\n"),
]
POST_HOOKS = [
    ("10-post.py", b"#!/usr/bin/python3\nimport os, sys\n"
                   b"print('POST-HOOK type=%s node=%s' % (os.environ['cfn_node_type'],"
                   b" os.environ['PCLUSTERFS_NODE_NAME']))\nsys.stdout.flush()\n"),
]
FAIL_PRE_HOOKS = [
    ("05-fails.sh", b"#!/bin/bash\necho 'pre failing now'\nexit 7\n"),
    ("10-pre.sh", PRE_HOOKS[0][1]),
]
FAIL_HOOKS = POST_HOOKS + [
    ("50-fails.sh", b"#!/bin/bash\necho 'fail line 1'\necho 'fail line 2' >&2\nexit 3\n"),
    ("90-never.sh", b"#!/bin/bash\necho NEVER-RUNS\n"),
]
INSTALL_SCRIPT = b"#!/bin/bash\necho \"INSTALL phase=$1 argc=$#\"\nfor a in \"$@\"; do " \
                 b"printf 'ARG[%s]\\n' \"$a\"; done\n"
INSTALL_ARGS = "pre \"two words\" '$(touch /tmp/pwned-args)' ;touch\\ pwned2 `touch pwned3` " \
               "\"a\\\"b\\$c\" && |x"
INSTALL_WORDS = ["pre", "two words", "$(touch /tmp/pwned-args)", ";touch pwned2",
                 "`touch", "pwned3`", "a\"b$c", "&&", "|x"]   # backquotes are not quotes


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def render(template, **values):
    for k, v in values.items():
        template = template.replace("@%s@" % k, v)
    assert "@" not in re.sub(r"#.*", "", template), template
    return template


def mint_jwt(key, user="slurm", lifetime=300):
    def enc(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=")
    now = int(time.time())
    head = enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = enc(json.dumps({"iat": now, "exp": now + lifetime, "sun": user}).encode())
    sig = enc(hmac.new(key, head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


class Cluster:
    def __init__(self, lc):
        self.lc = lc
        self.s3 = lc.client("s3")
        self.ec2 = lc.client("ec2")
        self.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={
            "LocationConstraint": lc.region})
        self.munge_key = secrets.token_bytes(1024)
        self.jwt_key = secrets.token_bytes(32)
        self.nodes = {}          # name -> {"id", "ip"}
        self.t0 = time.time()
        self.put("bootstrap.sh", open(os.path.join(EMBED, "bootstrap.sh"), "rb").read())
        self.put("munge.key", self.munge_key)
        self.put("jwt.key", self.jwt_key)
        self.put("install.sh", INSTALL_SCRIPT)
        for phase, hooks in (("pre", PRE_HOOKS + FAIL_PRE_HOOKS[:1]), ("post", FAIL_HOOKS)):
            for name, body in hooks:
                self.put("hooks/%s/%s" % (phase, name), body)

    def put(self, key, body):
        self.s3.put_object(Bucket=BUCKET, Key=CLUSTER + "/" + key, Body=body)

    def url(self, key, method="get_object"):
        return self.s3.generate_presigned_url(
            method, Params={"Bucket": BUCKET, "Key": CLUSTER + "/" + key}, ExpiresIn=3600)

    def launch(self, node, env=""):
        """RunInstances first (as the daemon does: the manifest and slurm.conf
        may be written after the launch, stage 1 waits for them). env: shell
        lines run before the user data's own."""
        ud = render(open(os.path.join(EMBED, "userdata.sh.in")).read(),
                    MANIFEST_URL=self.url("manifests/" + node))
        ud = ud.replace("\n", "\n" + env, 1)
        assert len(ud.encode()) < 4096 and "'" not in self.url("manifests/" + node)
        assert self.lc.env["AWS_SECRET_ACCESS_KEY"] not in ud
        inst = self.ec2.run_instances(ImageId=self.lc.image_id(), InstanceType="t2.micro",
                                      MinCount=1, MaxCount=1, UserData=ud)["Instances"][0]
        self.nodes[node] = {"id": inst["InstanceId"], "ip": inst["PrivateIpAddress"]}
        return self.nodes[node]

    def write_manifest(self, node, pre_hooks=PRE_HOOKS, post_hooks=POST_HOOKS):
        head = node == "head"
        lines = ["version 1", "cluster " + CLUSTER, "node " + node,
                 "node_type " + ("HeadNode" if head else "Compute"),
                 "region " + self.lc.region, "head_hostname head", "cpus 1", "memory_mib 1024",
                 "attempt 1", "generation 3",
                 "file stage2 " + self.url("bootstrap.sh"),
                 "file munge_key " + self.url("munge.key"),
                 "report " + self.url("reports/" + node, "put_object"),
                 "install pre %s %s" % (self.url("install.sh"), b64(INSTALL_ARGS)),
                 "install post %s %s" % (self.url("install.sh"), b64("post")),
                 ]
        if head:
            lines += ["file slurm_conf " + self.url("slurm.conf"),
                      "file jwt_key " + self.url("jwt.key")]
        else:
            lines.append("head_address " + self.nodes["head"]["ip"])
        for name, _ in pre_hooks:
            lines.append("hook pre %s %s" % (b64(name), self.url("hooks/pre/" + name)))
        for name, _ in post_hooks:
            lines.append("hook post %s %s" % (b64(name), self.url("hooks/post/" + name)))
        self.put("manifests/" + node, "\n".join(lines) + "\n")

    def report(self, node):
        try:
            body = self.s3.get_object(Bucket=BUCKET, Key=CLUSTER + "/reports/" + node)["Body"]
        except self.s3.exceptions.NoSuchKey:
            return {}, ""
        text = body.read().decode(errors="replace")
        head, _, log = text.partition("\n--\n")
        fields = dict(line.split(" ", 1) for line in head.splitlines() if " " in line)
        return fields, log

    def hooks_ran(self, node):
        """The report's "hook pre|post NAME" lines, in order."""
        body = self.s3.get_object(Bucket=BUCKET, Key=CLUSTER + "/reports/" + node)["Body"]
        head = body.read().decode(errors="replace").partition("\n--\n")[0]
        return [line[5:] for line in head.splitlines() if line.startswith("hook ")]

    def wait_state(self, node, states, timeout=150):
        deadline = time.time() + timeout
        while time.time() < deadline:
            fields, log = self.report(node)
            if fields.get("state") in states:
                return fields, log
            time.sleep(1)
        raise AssertionError("%s never reached %s; report %r\n%s\nconsole:\n%s" % (
            node, states, fields, log[-3000:], self.lc.console(self.nodes[node]["id"])[-3000:]))

    def rest(self, path):
        req = urllib.request.Request(
            "http://%s:6820%s" % (self.nodes["head"]["ip"], path),
            headers={"X-SLURM-USER-NAME": "slurm",
                     "X-SLURM-USER-TOKEN": mint_jwt(self.jwt_key)})
        t = time.time()
        with urllib.request.urlopen(req, timeout=20) as r:
            print("REST %s took %.1f s" % (path, time.time() - t))
            return json.loads(r.read())

    def name_the_host(self):
        """slurmrestd 22.05 looks up the name of every client's address; the
        local cloud has no DNS (a VPC's resolver answers these), so each
        request would wait 10 s for the resolver to time out. An /etc/hosts
        entry on the head stands in for the VPC's reverse DNS."""
        host = urllib.parse.urlparse(self.lc.endpoint).hostname
        r = self.on("head", "sh", "-c", 'grep -q "^$1 " /etc/hosts || '
                    'echo "$1 localcloud-host" >> /etc/hosts', "sh", host)
        assert r.returncode == 0, r.stderr

    def init_pid(self, node):
        """The first process of the instance's PID namespace (the unshare's child)."""
        d = os.path.join(self.lc.dir, "instances", self.nodes[node]["id"])
        pid = int(open(os.path.join(d, "pid")).read())
        return int(open("/proc/%d/task/%d/children" % (pid, pid)).read().split()[0])

    def on(self, node, *argv, timeout=60):
        """Runs argv inside the instance (all its namespaces)."""
        return subprocess.run(["nsenter", "-t", str(self.init_pid(node)), "-m", "-u", "-n",
                               "-p", "-r", "-w", "env", "-i",
                               "PATH=/usr/sbin:/usr/bin:/sbin:/bin", *argv],
                              capture_output=True, text=True, timeout=timeout)


def split_words(args, cwd):
    """bootstrap.sh's split_words, run alone on the host: the words it makes."""
    script = ('source <(sed -n "/^split_words() {/,/^}/p" "$1")\n'
              'split_words "$2" || exit 9\n'
              'for w in ${WORDS[@]+"${WORDS[@]}"}; do printf "%s\\0" "$w"; done')
    r = subprocess.run(["bash", "-c", script, "bash", os.path.join(EMBED, "bootstrap.sh"), args],
                       capture_output=True, cwd=cwd)
    if r.returncode == 9:
        return None
    assert r.returncode == 0, r.stderr
    return [w.decode() for w in r.stdout.split(b"\0")[:-1]]


@pytest.mark.parametrize("args,words", [
    ("", []),
    ("  a   b\tc\n", ["a", "b", "c"]),
    ("'it''s' \"x y\"z", ["its", "x yz"]),
    ("'' \"\"", ["", ""]),
    ("a\\ b \\$HOME \"\\$x \\\" \\a\"", ["a b", "$HOME", "$x \" \\a"]),
    ("$(touch pwned) ;rm -rf x `id` | & > /tmp/y", ["$(touch", "pwned)", ";rm", "-rf", "x",
                                                    "`id`", "|", "&", ">", "/tmp/y"]),
    ("'unterminated", None),
    ('"also unterminated', None),
])
def test_install_args_split_like_a_shell_without_running_anything(args, words, tmp_path):
    cwd = str(tmp_path)
    assert split_words(args, cwd) == words
    assert os.listdir(cwd) == []


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    lc = LocalCloud(str(tmp_path_factory.mktemp("localcloud")), boot=True)
    lc.start()
    try:
        c = Cluster(lc)
        head = c.launch("head")
        for n in COMPUTE + [FAILING, FAILING_PRE]:
            c.launch(n)
        c.launch(UNGUARDED, env="export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://imds.invalid/\n")
        # after the launch: the head's address is known now. The compute
        # nodes get theirs first, so they must wait for the head's slurmctld.
        for n in COMPUTE:
            c.write_manifest(n)
        c.write_manifest(FAILING, post_hooks=FAIL_HOOKS)
        c.write_manifest(FAILING_PRE, pre_hooks=FAIL_PRE_HOOKS)
        c.write_manifest(UNGUARDED)
        time.sleep(6)
        c.put("slurm.conf", render(open(os.path.join(EMBED, "slurm.conf.in")).read(),
                                   CLUSTER_NAME=CLUSTER, HEAD_HOSTNAME="head",
                                   HEAD_ADDRESS=head["ip"], MAX_NODES="16", SUSPEND_TIME="600"))
        c.write_manifest("head")
        yield c
    finally:
        lc.release()


@pytest.mark.boot
def test_head_node_reaches_done_and_slurmrestd_answers(cluster):
    fields, log = cluster.wait_state("head", {"done", "failed"})
    assert fields["state"] == "done", log[-3000:]
    print("head done after %.1f s" % (time.time() - cluster.t0))
    cluster.name_the_host()
    ping = cluster.rest("/slurm/v0.0.38/ping")
    assert ping["pings"][0]["ping"] == "UP", ping
    assert not ping.get("errors"), ping
    # a token signed with another key is refused
    req = urllib.request.Request(
        "http://%s:6820/slurm/v0.0.38/ping" % cluster.nodes["head"]["ip"],
        headers={"X-SLURM-USER-NAME": "slurm",
                 "X-SLURM-USER-TOKEN": mint_jwt(secrets.token_bytes(32))})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(req, timeout=10).read()


@pytest.mark.boot
def test_compute_nodes_join_as_dynamic_nodes_and_run_jobs(cluster):
    cluster.wait_state("head", {"done"})
    cluster.name_the_host()
    for n in COMPUTE:
        fields, log = cluster.wait_state(n, {"done", "failed"})
        assert fields["state"] == "done", log[-3000:]
    print("compute nodes done after %.1f s" % (time.time() - cluster.t0))
    nodes = {n["name"]: n for n in cluster.rest("/slurm/v0.0.38/nodes")["nodes"]}
    for n in COMPUTE:
        assert n in nodes, nodes.keys()
        assert nodes[n]["state"] == "idle", nodes[n]
        assert nodes[n]["address"] == cluster.nodes[n]["ip"], nodes[n]
        assert "compute" in nodes[n]["partitions"], nodes[n]
    r = cluster.on("head", "srun", "-N2", "-w", ",".join(COMPUTE), "hostname", timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(r.stdout.split()) == COMPUTE


@pytest.mark.boot
def test_hooks_run_in_order_with_their_environment(cluster):
    for node in ["head"] + COMPUTE:
        fields, log = cluster.wait_state(node, {"done", "failed"})
        assert fields["state"] == "done", log[-3000:]
        head = node == "head"
        lines = log.splitlines()
        pre = [i for i, l in enumerate(lines) if l.startswith("PRE-HOOK ")]
        post = [i for i, l in enumerate(lines) if l.startswith("POST-HOOK ")]
        slurm = [i for i, l in enumerate(lines) if "Slurm is configured" in l]
        assert len(pre) == 1 and len(post) == 1 and len(slurm) == 1, log
        assert pre[0] < slurm[0] < post[0]
        assert lines[pre[0]] == (
            "PRE-HOOK type=%s node=%s region=%s cluster=%s sched=slurm head=%s user=root" % (
                "MasterServer" if head else "ComputeFleet", node, cluster.lc.region, CLUSTER,
                "none" if head else cluster.nodes["head"]["ip"]))
        assert lines[post[0]] == "POST-HOOK type=%s node=%s" % (
            "MasterServer" if head else "ComputeFleet", node)
        assert "NOSHEBANG bash=yes" in lines            # no shebang: bash
        assert "running hooks/pre/10-pre.sh" in log
        # install pre and post ran before their hooks, with their arguments
        inst = [i for i, l in enumerate(lines) if l.startswith("INSTALL phase=")]
        assert [lines[i] for i in inst] == ["INSTALL phase=pre argc=%d" % len(INSTALL_WORDS),
                                            "INSTALL phase=post argc=1"]
        assert inst[0] < pre[0] and slurm[0] < inst[1] < post[0]
        # the report names the instance (from its IMDS) and the hook set it ran
        assert fields["instance"] == cluster.nodes[node]["id"], fields
        assert fields["generation"] == "3", fields
        assert cluster.hooks_ran(node) == (
            ["pre " + n for n, _ in PRE_HOOKS] + ["post " + n for n, _ in POST_HOOKS])


@pytest.mark.boot
def test_names_and_arguments_are_data(cluster):
    for node in ["head"] + COMPUTE:
        fields, log = cluster.wait_state(node, {"done", "failed"})
        assert fields["state"] == "done", log[-3000:]
        lines = log.splitlines()
        start = lines.index("INSTALL phase=pre argc=%d" % len(INSTALL_WORDS))
        assert lines[start + 1:start + 1 + len(INSTALL_WORDS)] == \
            ["ARG[%s]" % w for w in INSTALL_WORDS]
        assert "EVIL-HOOK-RAN-AS-DATA" in lines
        assert "running hooks/pre/" + EVIL_NAME in log   # the real name, in the log
        # nothing the name or the args hold ran: no pwned file on the node
        r = cluster.on(node, "find", "/", "/tmp", "/root", "/var/lib/pclusterfs", "-xdev",
                       "-name", "pwned*")
        assert r.stdout.strip() == "", r.stdout
        upper = os.path.join(cluster.lc.dir, "instances", cluster.nodes[node]["id"], "fs")
        found = subprocess.run(["find", upper, "-name", "pwned*"], capture_output=True,
                               text=True).stdout
        assert found == ""
    for d in ("/", "/tmp", "/root", REPO):
        assert not [f for f in os.listdir(d) if f.startswith("pwned")], d


@pytest.mark.boot
def test_failing_post_hook_stops_the_bootstrap(cluster):
    fields, log = cluster.wait_state(FAILING, {"done", "failed"})
    assert fields["state"] == "failed", log[-3000:]
    assert fields["failure"] == "OnNodeConfiguredExecutionFailure"
    assert fields["exit"] == "3"
    assert fields["step"] == "hooks/post/50-fails.sh"
    tail = log.splitlines()[-5:]
    assert "fail line 1" in tail and "fail line 2" in tail, tail
    assert "POST-HOOK type=ComputeFleet node=%s" % FAILING in log   # the earlier one ran
    assert "NEVER-RUNS" not in log                                  # later ones do not
    assert "state done" not in log


@pytest.mark.boot
def test_failing_pre_hook_stops_before_slurm(cluster):
    fields, log = cluster.wait_state(FAILING_PRE, {"done", "failed"})
    assert fields["state"] == "failed", log[-3000:]
    assert (fields["failure"], fields["exit"], fields["step"]) == (
        "OnNodeStartExecutionFailure", "7", "hooks/pre/05-fails.sh")
    assert "pre failing now" in log.splitlines()[-3:]
    assert "INSTALL phase=pre" in log                  # pre_install ran first
    assert "PRE-HOOK" not in log and "state configuring" not in log
    r = cluster.on(FAILING_PRE, "pgrep", "-x", "munged|slurmd")
    assert r.stdout == "", r.stdout


@pytest.mark.boot
def test_a_node_that_cannot_keep_the_imds_from_users_fails(cluster):
    fields, log = cluster.wait_state(UNGUARDED, {"done", "failed"})
    assert fields["state"] == "failed", log[-3000:]
    assert (fields["failure"], fields["step"]) == ("SlurmConfigurationFailure", "imds")
    assert "the IMDS could not be kept from other users" in log
    assert "PRE-HOOK" not in log and "INSTALL phase=pre" not in log
    # and the nodes that could have the rule
    for node in ["head"] + COMPUTE:
        r = cluster.on(node, "iptables", "-S", "OUTPUT")
        assert "--uid-owner 0 -j REJECT" in r.stdout, (node, r.stdout, r.stderr)
