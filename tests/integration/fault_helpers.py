"""Helpers the fault and crash tests share (tests/integration/test_faults.py,
test_crash.py): counting our instances per node in the local cloud, timing
reads through the mount, and playing a node's bootstrap report when the
local cloud runs with boot off (no user data runs, so no node reports)."""
import json
import os
import time

from configs import with_queue_size
from fixture_mount import good_config_for

LIVE = ("pending", "running")


def config(lc, initial):
    return with_queue_size(good_config_for(lc), initial)


def instances(lc, bucket, cluster=None, states=LIVE):
    """{node tag: [instance id, ...]} of this mount's instances in states."""
    filters = [{"Name": "tag:pclusterfs:owner", "Values": [bucket]},
               {"Name": "instance-state-name", "Values": list(states)}]
    if cluster:
        filters.append({"Name": "tag:pclusterfs:cluster", "Values": [cluster]})
    ec2 = lc.client("ec2")
    out = {}
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for res in page["Reservations"]:
            for i in res["Instances"]:
                tags = {t["Key"]: t["Value"] for t in i.get("Tags", [])}
                out.setdefault(tags.get("pclusterfs:node", "?"), []).append(i["InstanceId"])
    return out


def launched_ever(lc, bucket, cluster):
    """Every instance ever launched for the cluster, terminated ones included."""
    return instances(lc, bucket, cluster, states=("pending", "running", "shutting-down",
                                                  "terminated", "stopping", "stopped"))


def duplicates(by_node):
    return {n: ids for n, ids in by_node.items() if len(ids) > 1}


def attempt_of(lc, bucket, cluster, node):
    """The launch attempt of the node's live instance (its pclusterfs:attempt tag)."""
    ec2 = lc.client("ec2")
    filters = [{"Name": "tag:pclusterfs:owner", "Values": [bucket]},
               {"Name": "tag:pclusterfs:cluster", "Values": [cluster]},
               {"Name": "tag:pclusterfs:node", "Values": [node]},
               {"Name": "instance-state-name", "Values": list(LIVE)}]
    for res in ec2.describe_instances(Filters=filters)["Reservations"]:
        for i in res["Instances"]:
            tags = {t["Key"]: t["Value"] for t in i.get("Tags", [])}
            if "pclusterfs:attempt" in tags:
                return int(tags["pclusterfs:attempt"])
    return 1


def put_report(lc, bucket, cluster, node, state="done", attempt=None):
    """What a node's bootstrap would PUT to its report URL (fs/report.h): for
    the attempt its live instance was launched as, unless told another."""
    if attempt is None:
        attempt = attempt_of(lc, bucket, cluster, node)
    lc.client("s3").put_object(
        Bucket=bucket, Key=f"clusters/{cluster}/reports/{node}",
        Body=f"state {state}\nstep finished\nexit 0\nattempt {attempt}\n--\n".encode())


def keys(lc, bucket, prefix):
    r = lc.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in r.get("Contents", [])]


def status_json(c):
    return json.loads((c / "status.json").read_text())


def timed_reads(mnt, c):
    """Reads what an admin reads, through the mount; [(what, seconds)]."""
    out = []

    def t(what, fn):
        t0 = time.monotonic()
        fn()
        out.append((what, time.monotonic() - t0))
    t("ls mount", lambda: os.listdir(mnt))
    t("status", lambda: (c / "status").read_text())
    t("status.json", lambda: (c / "status.json").read_text())
    t("events", lambda: (c / "events").read_text())
    t("config", lambda: (c / "config").read_text())
    t("ls nodes", lambda: os.listdir(c / "nodes"))
    for n in sorted(os.listdir(c / "nodes")):
        for f in ("ec2_state", "slurm_state", "instance_id", "node.json"):
            t(f"nodes/{n}/{f}", lambda: (c / "nodes" / n / f).read_text())
    t("stat status", lambda: os.stat(c / "status"))
    return out


class ReadClock:
    """Collects read latencies over a fault window and keeps the worst."""

    def __init__(self):
        self.samples = []

    def sample(self, mnt, c):
        self.samples += timed_reads(mnt, c)

    def worst(self):
        return max(self.samples, key=lambda s: s[1]) if self.samples else ("none", 0.0)

    def summary(self):
        if not self.samples:
            return "no reads"
        v = sorted(s for _, s in self.samples)
        return "%d reads: median %.1f ms, p99 %.1f ms, max %.1f ms (%s)" % (
            len(v), 1000 * v[len(v) // 2], 1000 * v[min(len(v) - 1, int(len(v) * 0.99))],
            1000 * v[-1], self.worst()[0])
