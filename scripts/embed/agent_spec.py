"""The compute fleet's spec through the bucket: the head node's agent reads
the spec the workstation renders (clusters/<c>/fleet/spec.json,
fs/control/fleetspec.h) and acknowledges the one it applied under the
cluster's head/ prefix (head/acks/fleet.json):
  {"format": 1, "cluster", "instance_id", "generation", "specId", "appliedAt"}
(instance_id: the head's, so an ack counts only for the head that wrote it;
fs/model/fleet_ack.c reads it on the workstation).

The spec is read with a conditional GET on the ETag last seen, so an
unchanged spec costs one request a round and no body. What was read and
acknowledged is kept in the state dir (root only, 0700): a restart asks with
the same ETag and acknowledges nothing again. Applying is the caller's
(apply(spec) -> True when done; the default takes a valid spec as applied).
Python 3 standard library only, Python 3.6 syntax.
"""
import json
import os
import re
import time

import agent_aws
from agent_publish import iso, private_dir, read_state, write_state

FORMAT = 1
SCHEMA = 1
SPEC_ID = re.compile(r"^[0-9a-f]{64}$")


def spec_key(cluster):
    """clusters/<cluster>/fleet/spec.json, as fs/store/layout.c builds it."""
    return "clusters/%s/fleet/spec.json" % cluster


def ack_key(cluster):
    """clusters/<cluster>/head/acks/fleet.json, as fs/store/layout.c builds it."""
    return "clusters/%s/head/acks/fleet.json" % cluster


class SpecError(Exception):
    pass


def check_spec(doc, cluster, owner):
    """doc if it is a spec this agent may act on, else SpecError."""
    if not isinstance(doc, dict):
        raise SpecError("not a JSON object")
    if doc.get("schema") != SCHEMA:
        raise SpecError("schema %r, not %d" % (doc.get("schema"), SCHEMA))
    if doc.get("cluster") != cluster or doc.get("owner") != owner:
        raise SpecError("of cluster %r in %r, not of %r in %r" % (
            doc.get("cluster"), doc.get("owner"), cluster, owner))
    gen = doc.get("generation")
    if not isinstance(gen, int) or isinstance(gen, bool) or gen < 1:
        raise SpecError("generation %r is not a positive number" % (gen,))
    if not isinstance(doc.get("specId"), str) or not SPEC_ID.match(doc["specId"]):
        raise SpecError("specId is not 64 hex digits")
    if not isinstance(doc.get("queues"), list) or not isinstance(doc.get("launch"), dict):
        raise SpecError("queues or launch missing")
    return doc


class SpecFollower(object):
    def __init__(self, s3, cluster, owner, instance_id, state_dir, apply=None,
                 clock=time.time, log=None):
        if not instance_id:
            raise ValueError("an acknowledgement needs the head's instance id")
        self.s3, self.cluster, self.owner = s3, cluster, owner
        self.instance_id = instance_id
        self.state_dir = private_dir(state_dir)
        self.apply = apply or (lambda spec: True)
        self.clock = clock
        self.log = log or (lambda msg: None)
        self.state_path = os.path.join(self.state_dir, "fleet_spec.json")
        self.state = self._load()
        self.refused = None       # the ETag of a spec refused (told once)

    def _load(self):
        return read_state(self.state_path)

    def _save(self):
        write_state(self.state_path, self.state)

    @property
    def spec(self):
        """The newest valid spec read, or None."""
        return self.state.get("spec")

    def read(self):
        """Reads the spec when its ETag changed. Returns True when a new one
        was taken."""
        key = spec_key(self.cluster)
        try:
            obj = self.s3.get(key, if_none_match=self.state.get("etag"))
        except agent_aws.AwsError as e:
            if e.code in ("NoSuchKey", "HTTP404"):
                return False
            raise
        if obj is None:
            return False              # 304: unchanged
        try:
            doc = check_spec(json.loads(obj.body.decode("utf-8")), self.cluster, self.owner)
        except (ValueError, UnicodeDecodeError, SpecError) as e:
            if self.refused != obj.etag:
                self.log("fleet spec %s refused: %s" % (obj.etag, e))
                self.refused = obj.etag
            return False
        self.state.update(etag=obj.etag, spec=doc)
        self._save()
        self.log("fleet spec generation %d read (%s)" % (doc["generation"], doc["specId"][:12]))
        return True

    def cycle(self):
        """One round: read the spec if it changed, apply it, acknowledge
        what was applied once. Returns the generation acknowledged this
        round, or None. Raises AwsError when the bucket cannot be reached
        (the next round tries again)."""
        self.read()
        spec = self.spec
        if not spec or self.state.get("acked") == spec["specId"]:
            return None
        if not self.apply(spec):
            return None
        body = json.dumps({"format": FORMAT, "cluster": self.cluster,
                           "instance_id": self.instance_id, "generation": spec["generation"],
                           "specId": spec["specId"], "appliedAt": iso(self.clock())},
                          sort_keys=True).encode("utf-8")
        self.s3.put(ack_key(self.cluster), body, "application/json")
        self.state["acked"] = spec["specId"]
        self._save()
        self.log("fleet spec generation %d applied" % spec["generation"])
        return spec["generation"]
