"""Crash consistency (issue 7, DESIGN section 4): the daemon is killed
(SIGKILL) at a random moment after a create, an update (queue size change)
and a delete, and a fresh mount of the same bucket carries on. Whatever the
moment, the end state is right: exactly one instance per wanted node, none
launched twice, none left after the delete, the config as last committed,
the cluster's objects gone after the delete.

The seeds are a fixed list so a failure can be replayed (each run prints
its seed and kill delays). The local cloud runs with boot off and some
latency on the calls that launch and terminate, so kills land inside those
windows too; a thread plays each node's bootstrap report (what its user
data would PUT) so compute nodes launch after the head. A SIGKILLed mount
cannot give its lease back; waiting for it to lapse (30 s) is replaced by
expiring it in the bucket, which is what the lapse amounts to."""
import os
import random
import threading
import time

import pytest

from fault_helpers import config, duplicates, instances, keys, launched_ever, put_report
from fixture_localcloud import LocalCloud
from fixture_mount import Mount, bucket_mount, wait_for

pytestmark = pytest.mark.slow

SEEDS = [11, 23, 37, 41, 53]
CONVERGE = 45


@pytest.fixture(scope="module")
def lc(tmp_path_factory):
    cloud = LocalCloud(str(tmp_path_factory.mktemp("localcloud")), boot=False,
                       faults=["RunInstances:latency=400", "TerminateInstances:latency=300",
                               "PutObject:latency=50"])
    cloud.start()
    cloud.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    try:
        yield cloud
    finally:
        cloud.release()


class Bootstrapper(threading.Thread):
    """Writes a `done` report for every new instance, as its bootstrap would."""

    def __init__(self, lc, bucket, cluster):
        super().__init__(daemon=True)
        self.lc, self.bucket, self.cluster = lc, bucket, cluster
        self.done = set()
        self.halt = threading.Event()

    def run(self):
        while not self.halt.wait(0.3):
            try:
                for node, ids in instances(self.lc, self.bucket, self.cluster).items():
                    for iid in ids:
                        if iid not in self.done:
                            put_report(self.lc, self.bucket, self.cluster, node)
                            self.done.add(iid)
            except Exception:  # the cloud is busy: try again next round
                pass

    def stop(self):
        self.halt.set()
        self.join(timeout=10)


def expire_lease(lc, bucket):
    s3 = lc.client("s3")
    try:
        held = s3.get_object(Bucket=bucket, Key="lease")["Body"].read().decode().split()
    except s3.exceptions.NoSuchKey:
        return
    s3.put_object(Bucket=bucket, Key="lease", Body=("%s 0\n" % held[0]).encode())


def crash(m, rng, most, what, log, lc, bucket):
    delay = rng.uniform(0, most)
    time.sleep(delay)
    m.kill()
    live = instances(lc, bucket, "crash")
    log.append("%s: killed %.2f s after, %d live then" % (what, delay,
                                                         sum(map(len, live.values()))))


class InThread(threading.Thread):
    """Runs a commit (write, rmdir) so the daemon can be killed while it runs."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.ok, self.error, self.took = fn, False, None, None
        self.start()

    def run(self):
        t0 = time.monotonic()
        try:
            self.fn()
            self.ok = True
        except OSError as e:
            self.error = e
        self.took = time.monotonic() - t0

    def outcome(self):
        self.join(timeout=20)
        return ("returned after %.2f s" % self.took) if self.ok else \
            ("killed inside it (%s)" % self.error)


def wanted(initial):
    return ["head"] + ["compute-st-t2micro-%d" % i for i in range(1, initial + 1)]


def converged(lc, bucket, cluster, initial):
    live = instances(lc, bucket, cluster)
    return sorted(live) == sorted(wanted(initial)) and duplicates(live) == {}


@pytest.mark.parametrize("seed", SEEDS)
def test_kill_during_create_update_delete(tmp_path, lc, seed):
    rng = random.Random(seed)
    log = ["seed %d" % seed]
    t_start = time.monotonic()
    m = bucket_mount(tmp_path, lc, name="m0", options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    mounts = [m]

    def remount():
        expire_lease(lc, bucket)
        fresh = Mount(tmp_path, options=m.options, env=m.env, name="m%d" % len(mounts)).start()
        mounts.append(fresh)
        return fresh

    boot = Bootstrapper(lc, bucket, "crash")
    boot.start()
    try:
        # Create, killed somewhere in the launches.
        (m / "crash").mkdir()
        first = config(lc, 2)
        (m / "crash" / "config").write_text(first)
        crash(m, rng, 4.0, "create", log, lc, bucket)
        m2 = remount()
        assert (m2 / "crash" / "config").read_text() == first
        t0 = time.monotonic()
        assert wait_for(lambda: converged(lc, bucket, "crash", 2), timeout=CONVERGE), \
            (log, instances(lc, bucket, "crash"), (m2 / "crash" / "events").read_text())
        log.append("create converged %.1f s after the remount" % (time.monotonic() - t0))
        assert duplicates(launched_ever(lc, bucket, "crash")) == {}, \
            (m2 / "crash" / "events").read_text()

        # Update the queue size, killed somewhere in it: maybe inside the
        # commit itself. A commit that returned is durable; one cut short
        # leaves the old config or the new one, nothing in between.
        size = rng.choice([1, 3])
        second = config(lc, size)
        commit = InThread(lambda: (m2 / "crash" / "config").write_text(second))
        crash(m2, rng, 1.5, "update to %d" % size, log, lc, bucket)
        log.append("the update's commit " + commit.outcome())
        m3 = remount()
        now = (m3 / "crash" / "config").read_text()
        assert now == second if commit.ok else now in (first, second), now
        size = size if now == second else 2
        t0 = time.monotonic()
        assert wait_for(lambda: converged(lc, bucket, "crash", size), timeout=CONVERGE), \
            (log, instances(lc, bucket, "crash"), (m3 / "crash" / "events").read_text())
        log.append("update converged %.1f s after the remount" % (time.monotonic() - t0))
        assert duplicates(launched_ever(lc, bucket, "crash")) == {}, \
            (m3 / "crash" / "events").read_text()
        assert wait_for(lambda: sorted(os.listdir(m3 / "crash" / "nodes")) == sorted(wanted(size)))

        # Delete, killed somewhere in it.
        boot.stop()
        rmdir = InThread(lambda: os.rmdir(m3 / "crash"))
        crash(m3, rng, 1.0, "delete", log, lc, bucket)
        log.append("rmdir " + rmdir.outcome())
        m4 = remount()
        if rmdir.ok:  # the intent was stored: the deletion goes on by itself
            assert not os.path.exists(m4 / "crash") or \
                (m4 / "crash" / "status").read_text() == "DELETE_IN_PROGRESS\n"
        elif (m4 / "crash").exists() and \
                (m4 / "crash" / "status").read_text() != "DELETE_IN_PROGRESS\n":
            os.rmdir(m4 / "crash")  # the intent never got stored: ask again
        t0 = time.monotonic()
        assert wait_for(lambda: not (m4 / "crash").exists(), timeout=CONVERGE), log
        assert wait_for(lambda: instances(lc, bucket, "crash") == {}, timeout=20), log
        assert wait_for(lambda: keys(lc, bucket, "clusters/crash/") == [], timeout=10), \
            keys(lc, bucket, "clusters/crash/")
        log.append("delete converged %.1f s after the remount" % (time.monotonic() - t0))
        log.append("total %.1f s" % (time.monotonic() - t_start))
        assert mounts[-1].stop() == 0, mounts[-1].log_text()
    finally:
        boot.stop()
        print("\n" + "; ".join(log))
        for x in mounts:
            x.kill()
