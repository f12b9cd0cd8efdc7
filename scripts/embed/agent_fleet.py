"""The compute fleet, managed from the head node (issue 15, slice 3; a
prototype, not wired into agent_main yet): from the newest fleet spec
(agent_spec) and what EC2 shows of the cluster's tagged instances, the
static nodes are launched, failed ones replaced (relaunch cap as
fs/control/plan.c: PLAN_MAX_ATTEMPTS launches per generation) and nodes the
spec no longer names terminated.

Crash safety as the workstation's (fs/control/act.c): a node's launch intent
{attempt, generation, tries} is written (root-only state dir, atomically)
before RunInstances, whose ClientToken is derived from bucket, cluster
incarnation, node and attempt exactly as launch_client_token does
(fs/control/launch.c), so a launch retried after kill -9 gives back the same
instance rather than a second one.
Python 3 standard library only, Python 3.6 syntax.
"""
import hashlib
import json
import os

from agent_publish import private_dir, write_private

MAX_ATTEMPTS = 3           # fs/control/plan.h PLAN_MAX_ATTEMPTS
ALIVE = ("pending", "running")


def client_token(bucket, cluster, incarnation, node, attempt):
    """As launch_client_token (fs/control/launch.c)."""
    if incarnation > 0:
        text = "%s/%s@%d/%s/%d" % (bucket, cluster, incarnation, node, attempt)
    else:
        text = "%s/%s/%s/%d" % (bucket, cluster, node, attempt)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def wanted(spec):
    """[(node, resource dict, queue dict)] of the spec's static nodes, in order."""
    out = []
    for q in spec.get("queues", []):
        for r in q.get("computeResources", []):
            for n in r.get("staticNodes", []):
                out.append((n, r, q))
    return out


def next_attempt(stored, generation, launched):
    """As plan_next_attempt: (intent, allowed)."""
    i = dict(stored or {"attempt": 0, "generation": 0, "tries": 0})
    if i["generation"] != generation:
        i["tries"] = 0
    if i["attempt"] == 0:
        i["attempt"], i["tries"] = 1, 1
    elif launched > 0:
        i["attempt"] += 1
        i["tries"] += 1
    elif i["tries"] == 0:
        i["tries"] = 1
    i["generation"] = generation
    return i, i["tries"] <= MAX_ATTEMPTS


def plan(spec, instances, failed=()):
    """What to do, a pure function: instances are the cluster's (dicts of
    agent_ec2.instance_of with Tags), failed the node names whose bootstrap
    failed on their live instance. Returns [("launch", node, resource,
    queue)] and [("terminate", instance id, node, why)]."""
    by_node = {}
    for i in instances:
        node = i["Tags"].get("pclusterfs:node")
        if node and node != "head" and i["State"] in ALIVE:
            by_node.setdefault(node, []).append(i)
    actions = []
    names = set()
    for node, r, q in wanted(spec):
        names.add(node)
        live = by_node.get(node, [])
        if live and node in failed:
            for i in live:
                actions.append(("terminate", i["InstanceId"], node,
                                "its bootstrap failed; it will be replaced"))
        elif not live:
            actions.append(("launch", node, r, q))
    for node, live in sorted(by_node.items()):
        if node not in names:
            for i in live:
                actions.append(("terminate", i["InstanceId"], node, "no longer in the spec"))
    return actions


class Intents(object):
    """Launch intents, one file a node in a root-only directory."""

    def __init__(self, state_dir):
        self.dir = private_dir(os.path.join(private_dir(state_dir), "intents"))

    def _path(self, node):
        if "/" in node or node.startswith("."):
            raise ValueError("bad node name %r" % node)
        return os.path.join(self.dir, node + ".json")

    def get(self, node):
        try:
            with open(self._path(node)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def put(self, node, intent):
        write_private(self._path(node), json.dumps(intent, sort_keys=True).encode("utf-8"))

    def forget(self, node):
        try:
            os.unlink(self._path(node))
        except FileNotFoundError:
            pass


class Fleet(object):
    """Carries out plan() on EC2 for one spec. user_data(node, attempt,
    resource) -> bytes makes a node's user data (its manifest URL)."""

    def __init__(self, ec2, bucket, cluster, state_dir, user_data, log=None):
        self.ec2, self.bucket, self.cluster = ec2, bucket, cluster
        self.intents = Intents(state_dir)
        self.user_data = user_data
        self.log = log or (lambda msg: None)

    def instances(self):
        return self.ec2.describe_instances({
            "tag:pclusterfs:cluster": [self.cluster], "tag:pclusterfs:owner": [self.bucket],
            "instance-state-name": ["pending", "running", "shutting-down", "stopping",
                                    "stopped"]})

    def launched(self, token):
        return [i for i in self.ec2.describe_instances({"client-token": [token]})]

    def launch(self, spec, node, r, q):
        """Launches node's next attempt; returns the instance, or None when
        its relaunch cap is reached (the caller gives the verdict)."""
        inc = spec.get("incarnation") or 0
        stored = self.intents.get(node)
        n = 0
        if stored and stored.get("attempt"):
            token = client_token(self.bucket, self.cluster, inc, node, stored["attempt"])
            n = len(self.launched(token))
        intent, ok = next_attempt(stored, spec["generation"], n)
        if not ok:
            return None
        self.intents.put(node, intent)       # the intent first: a crash retries the token
        return self.run_attempt(spec, node, r, intent["attempt"])

    def run_attempt(self, spec, node, r, attempt):
        """RunInstances of node's attempt, whose intent is stored: the same
        attempt gives back the same instance (its ClientToken)."""
        token = client_token(self.bucket, self.cluster, spec.get("incarnation") or 0, node,
                             attempt)
        launch = spec["launch"]
        tags = {"pclusterfs:cluster": self.cluster, "pclusterfs:node": node,
                "pclusterfs:node-type": "Compute", "pclusterfs:owner": self.bucket,
                "pclusterfs:attempt": str(attempt),
                "Name": "%s-%s" % (self.cluster, node)}
        profile = launch.get("instanceProfile")
        inst = self.ec2.run_instance(
            launch["image"], r["instanceType"], token, tags,
            subnet_id=(launch.get("subnets") or [None])[0],
            security_group_ids=launch.get("securityGroups") or (),
            key_name=launch.get("keyName"),
            user_data=self.user_data(node, attempt, r),
            instance_profile_arn=profile or None)
        self.log("launched %s %s (%s, attempt %d)" % (node, inst["InstanceId"],
                                                       r["instanceType"], attempt))
        return inst

    def apply(self, spec, failed=()):
        """One round toward spec: True when nothing was left to do."""
        actions = plan(spec, self.instances(), failed)
        for a in actions:
            if a[0] == "terminate":
                self.ec2.terminate_instances([a[1]])
                self.log("terminating %s (%s): %s" % (a[1], a[2], a[3]))
                if a[3] == "no longer in the spec":
                    self.intents.forget(a[2])
            elif self.launch(spec, a[1], a[2], a[3]) is None:
                self.log("%s failed to come up %d times" % (a[1], MAX_ATTEMPTS))
        return not actions


def presign(s3, method, key, expires, now=None):
    """A SigV4 query-presigned URL of key in s3's bucket (an agent_s3.S3),
    signed with the head role's current credentials: the session token is
    in the signed query, so the URL dies with those credentials, whatever
    `expires` says; it is capped to them here rather than lie. Returns
    (url, seconds it lives)."""
    import hashlib as _h
    import hmac as _hmac
    import time as _t
    import agent_sigv4
    now = _t.time() if now is None else now
    creds = s3.client.credentials.get()
    left = int(getattr(creds, "expires", now + expires) - now) - 60
    life = max(1, min(int(expires), left, 7 * 24 * 3600))
    amz = _t.strftime("%Y%m%dT%H%M%SZ", _t.gmtime(now))
    scope = "%s/%s/s3/aws4_request" % (amz[:8], s3.client.region)
    path = s3.client.base_path + s3._path(key)
    q = [("X-Amz-Algorithm", agent_sigv4.ALGORITHM),
         ("X-Amz-Credential", "%s/%s" % (creds.access_key_id, scope)),
         ("X-Amz-Date", amz), ("X-Amz-Expires", str(life)), ("X-Amz-SignedHeaders", "host")]
    if getattr(creds, "session_token", None):
        q.append(("X-Amz-Security-Token", creds.session_token))
    canonical = "\n".join([method, agent_sigv4.quote_path(path), agent_sigv4.canonical_query(q),
                           "host:%s\n" % s3.client.host_header, "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join([agent_sigv4.ALGORITHM, amz, scope,
                         _h.sha256(canonical.encode("utf-8")).hexdigest()])
    key_bytes = agent_sigv4.signing_key(creds.secret_access_key, amz[:8], s3.client.region, "s3")
    sig = _hmac.new(key_bytes, to_sign.encode("utf-8"), _h.sha256).hexdigest()
    url = "%s://%s%s?%s&X-Amz-Signature=%s" % (
        s3.client.scheme, s3.client.host_header, agent_sigv4.quote_path(path),
        agent_sigv4.canonical_query(q), sig)
    return url, life


FETCH_SECONDS = 15 * 60          # as FETCH_URL_SECONDS (fs/control/launch.c)
REPORT_SECONDS = 6 * 3600        # as URL_SECONDS (fs/control/act.c), capped by the credentials


def manifest_key(cluster, node, attempt):
    """clusters/<c>/head/launch/<node>/<attempt>/manifest: under head/, the
    only prefix the head's role writes (fs/store/layout.c would own it)."""
    return "clusters/%s/head/launch/%s/%d/manifest" % (cluster, node, attempt)


def report_key(cluster, node):
    """clusters/<c>/head/reports/<node>: a node the head launches reports
    through a URL the head's role signs, and that role writes only under
    head/ (fs/store/layout.c's head/reports/ row)."""
    return "clusters/%s/head/reports/%s" % (cluster, node)


def b64(s):
    import base64
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


def compute_manifest(s3, spec, node, attempt, resource, head_address, now=None):
    """The text of a compute node's launch manifest, as write_manifest
    (fs/control/launch.c) makes it for a compute node, its URLs presigned
    with the head's role. Raises when a URL cannot live as long as the
    node needs it (credentials about to expire): the launch waits."""
    files = spec["launch"]["files"]
    lines = ["version 1", "cluster %s" % spec["cluster"], "node %s" % node,
             "node_type Compute", "region %s" % spec["region"], "head_hostname head",
             "cpus %d" % resource.get("vcpus", 1), "memory_mib %d" % resource.get("memoryMib", 512),
             "attempt %d" % attempt, "generation %d" % spec["generation"],
             "head_address %s" % head_address]
    for name, key in (("stage2", files["stage2"]), ("munge_key", files["mungeKey"])):
        url, _ = presign(s3, "GET", key, FETCH_SECONDS, now)
        lines.append("file %s %s" % (name, url))
    url, life = presign(s3, "PUT", report_key(spec["cluster"], node), REPORT_SECONDS, now)
    if life < FETCH_SECONDS:
        raise ValueError("the head's credentials expire in %d s: too soon to launch" % life)
    lines.append("report %s" % url)
    for stage, key in (("pre", "preInstall"), ("post", "postInstall")):
        inst = spec["launch"].get(key)
        if inst:
            lines.append("install %s %s %s" % (stage, inst["url"], b64(inst["args"]) or "-"))
    for stage in ("pre", "post"):
        for h in spec.get("hooks", {}).get(stage, []):
            url, _ = presign(s3, "GET", h["key"], FETCH_SECONDS, now)
            lines.append("hook %s %s %s" % (stage, b64(h["name"]), url))
    return "\n".join(lines) + "\n"


def make_user_data(s3, spec, template, head_address):
    """user_data(node, attempt, resource) for Fleet: writes the manifest
    under head/launch/ and renders the user data template
    (userdata.sh.in) around its presigned URL, which stays off every command
    line (stage 1 hands it to curl on stdin)."""
    def user_data(node, attempt, resource):
        text = compute_manifest(s3, spec, node, attempt, resource, head_address)
        key = manifest_key(spec["cluster"], node, attempt)
        s3.put(key, text.encode("utf-8"), "text/plain")
        url, _ = presign(s3, "GET", key, FETCH_SECONDS)
        return template.replace("@MANIFEST_URL@", url).encode("utf-8")
    return user_data
