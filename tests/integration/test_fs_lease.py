"""Two mounts of one bucket: both serve reads and commits, only the lease
holder reconciles (one launch, never two), and the other takes over once the
first is unmounted. The local cloud runs with boot off: instances only move
through their states, which is all the lease needs."""
import os
import time

from fixture_mount import Mount, bucket_mount, wait_for




def heads(lc, bucket, states="pending,running"):
    r = lc.aws_json("ec2", "describe-instances", "--filters",
                    f"Name=tag:pclusterfs:owner,Values={bucket}",
                    "Name=tag:pclusterfs:node,Values=head",
                    f"Name=instance-state-name,Values={states}")
    return [i["InstanceId"] for res in (r or {}).get("Reservations", []) for i in res["Instances"]]


def test_one_mount_reconciles_and_the_other_takes_over(tmp_path, shared_localcloud):
    lc = shared_localcloud
    a = bucket_mount(tmp_path, lc, name="a", options=["refresh=1"]).start()
    bucket = a.options[0].split("=", 1)[1]
    b = Mount(tmp_path, options=a.options, env=a.env, name="b").start()
    try:
        c = a / "twin"
        c.mkdir()
        (c / "config").write_text(a.good)
        assert wait_for(lambda: len(heads(lc, bucket)) == 1)
        time.sleep(3)  # both mounts have had several passes by now
        assert len(heads(lc, bucket)) == 1, "two mounts launched a head each"
        assert (b / "twin" / "events").read_text().count("launched head") == 1
        assert os.listdir(b / "twin" / "nodes") == ["head"]

        assert a.stop() == 0, a.log_text()
        # b holds the lease now: a head that disappears is replaced by b.
        lc.aws("ec2", "terminate-instances", "--instance-ids", heads(lc, bucket)[0])
        assert wait_for(lambda: len(heads(lc, bucket)) == 1
                        and "attempt 2" in (b / "twin" / "events").read_text(), timeout=90), \
            (b / "twin" / "events").read_text()
        os.rmdir(b / "twin")
        assert wait_for(lambda: not (b / "twin").exists(), timeout=60)
    finally:
        a.stop()
        assert b.stop() == 0, b.log_text()


def test_a_lost_run_instances_answer_launches_once(tmp_path, shared_localcloud):
    """The launch takes effect but its answer is lost (EC2 acted, then the
    answer is a 503): the retry under the same ClientToken finds that
    launch, and a restarted mount finds it too."""
    lc = shared_localcloud
    log = os.path.join(lc.dir, "server.log")
    lost_before = open(log).read().count("RunInstances -> 503")
    lc.fault("RunInstances:503:after:1")
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "lost"
        c.mkdir()
        (c / "config").write_text(m.good)
        assert wait_for(lambda: "launched head" in (c / "events").read_text())
        assert open(log).read().count("RunInstances -> 503") == lost_before + 1
        time.sleep(3)
        assert len(heads(lc, bucket)) == 1
    finally:
        lc.clear_faults()
        assert m.stop() == 0, m.log_text()
    again = Mount(tmp_path, options=m.options, env=m.env, name="again").start()
    try:
        time.sleep(3)
        assert len(heads(lc, bucket)) == 1
        assert (again / "lost" / "events").read_text().count("launched head") == 1
        os.rmdir(again / "lost")
        assert wait_for(lambda: not (again / "lost").exists(), timeout=60)
    finally:
        assert again.stop() == 0, again.log_text()
