"""Fault injection per operation.

Rules live in <dir>/faults.json (a list), re-read whenever the file changes,
so `localcloud fault ...` changes them while the server runs. A rule:
  {"op": "RunInstances" | "PutObject" | ... | "*",
                                 # DescribeInstancesByClientToken: only lookups
                                 # that filter by client-token
   "kind": "throttle" | "500" | "503" | "ice" | "reset" | "latency" | "iam-propagation",
                                 # ice: EC2's InsufficientInstanceCapacity
   "when": "before" | "after",   # after: the request took effect, the answer is lost
   "count": N,                   # times it fires; 0 = every time
   "ms": N}                      # for latency
Spec strings (start --fault, `fault add`): OP:KIND[:WHEN[:COUNT]], with KIND
latency=MS for latency, e.g. RunInstances:throttle:after:1, PutObject:latency=300.
iam-propagation (RunInstances only) answers as EC2 does while a fresh instance
profile has not reached it yet, and counts only requests naming a profile."""
import os
import threading

from . import common

KINDS = ("throttle", "500", "503", "ice", "reset", "latency", "iam-propagation")
SPECIAL = ("iam-propagation",)   # taken only where the request qualifies


def parse_spec(spec):
    parts = spec.split(":")
    if len(parts) < 2 or len(parts) > 4:
        raise ValueError("fault spec is OP:KIND[:WHEN[:COUNT]]: %r" % spec)
    rule = {"op": parts[0], "kind": parts[1], "when": "before", "count": 0, "ms": 0}
    if rule["kind"].startswith("latency="):
        rule["ms"] = int(rule["kind"].split("=", 1)[1])
        rule["kind"] = "latency"
    if rule["kind"] not in KINDS:
        raise ValueError("fault kind must be one of %s (latency=MS): %r" % (KINDS, spec))
    if len(parts) > 2 and parts[2]:
        if parts[2] not in ("before", "after"):
            raise ValueError("fault WHEN must be before or after: %r" % spec)
        rule["when"] = parts[2]
    if len(parts) > 3 and parts[3]:
        rule["count"] = int(parts[3])
    return rule


def path(d):
    return os.path.join(d, "faults.json")


def load(d):
    return common.read_json(path(d), [])


def save(d, rules):
    common.write_json(path(d), rules)


class Faults:
    def __init__(self, d):
        self.dir = d
        self.lock = threading.Lock()
        self.stamp = None
        self.rules = []

    def _refresh(self):
        try:
            st = os.stat(path(self.dir))
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp != self.stamp:
            self.stamp = stamp
            # Rules kept from the previous version keep their counts, so
            # adding a rule does not re-arm the ones already spent.
            old = {}
            for r in self.rules:
                old.setdefault(self._key(r), []).append(r["fired"])
            new = []
            for r in load(self.dir):
                spent = old.get(self._key(r))
                new.append(dict(r, fired=spent.pop(0) if spent else 0))
            self.rules = new

    @staticmethod
    def _key(r):
        return tuple(sorted((k, str(v)) for k, v in r.items() if k != "fired"))

    def take(self, op, when, kinds=None):
        """Rules that fire now for op at this point, consuming their counts;
        kinds: only rules of these kinds (default: all but the SPECIAL ones)."""
        with self.lock:
            self._refresh()
            out = []
            for r in self.rules:
                if r["when"] != when or r["op"] not in (op, "*"):
                    continue
                if not ((r["kind"] in kinds) if kinds else (r["kind"] not in SPECIAL)):
                    continue
                if r["count"] and r["fired"] >= r["count"]:
                    continue
                r["fired"] += 1
                out.append(r)
            return out
