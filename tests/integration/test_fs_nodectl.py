"""nodes/<n>/ctl without booting: each refusal (EINVAL at close, with its
reason in events, nothing stored), a good command stored durably in the
bucket as clusters/<c>/ctl/<node>/<id> before close returns, one item per
written handle (dup-then-close, the shell's `>`), an empty open never
submitted, unknown nodes and the head refused, and the head's
acknowledgement told once in events by the workstation, which then removes
the ack and the command. The compute node's instance is launched here with
its tags, as the fleet would be, so no boot is needed."""
import errno
import json
import os
import stat
import subprocess

import pytest

from fixture_mount import bucket_mount, wait_for

NODE = "compute-st-t2micro-1"


def launch(lc, tags):
    spec = "ResourceType=instance,Tags=[" + ",".join(
        "{Key=%s,Value=%s}" % kv for kv in tags.items()) + "]"
    out = lc.aws_json("ec2", "run-instances", "--image-id", lc.image_id("amzn2"),
                      "--instance-type", "t2.micro", "--subnet-id", lc.env["LOCALCLOUD_SUBNET_ID"],
                      "--tag-specifications", spec)
    return out["Instances"][0]["InstanceId"]


@pytest.fixture
def lc(shared_localcloud):
    yield shared_localcloud
    shared_localcloud.clear_faults()


@pytest.fixture
def world(tmp_path, lc):
    """A mount, cluster lab3 with a good config (its head launched, never
    booting) and a compute node's instance."""
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    m.bucket = m.options[0].split("=", 1)[1]
    m.s3 = lc.client("s3")
    c = m / "lab3"
    c.mkdir()
    (c / "config").write_text(m.good)
    m.instance = launch(lc, {"pclusterfs:cluster": "lab3", "pclusterfs:owner": m.bucket,
                             "pclusterfs:node": NODE, "pclusterfs:node-type": "Compute"})
    assert wait_for(lambda: (c / "nodes" / NODE / "instance_id").exists() and
                    (c / "nodes" / NODE / "instance_id").read_text() == m.instance + "\n")
    m.c = c
    m.ctl = c / "nodes" / NODE / "ctl"
    try:
        yield m
    finally:
        rc = m.stop()
        assert rc == 0, m.log_text()


def items(m, cluster="lab3"):
    r = m.s3.list_objects_v2(Bucket=m.bucket, Prefix="clusters/%s/ctl/" % cluster)
    return [o["Key"] for o in r.get("Contents", [])]


def write_cmd(path, data):
    """open, write, close as one program would; the close's errno or 0."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        try:
            os.close(fd)
        except OSError as e:
            return e.errno
    return 0


def events(m):
    return (m.c / "events").read_text()


def test_ctl_is_write_only_and_only_on_compute_nodes(world):
    m = world
    assert sorted(os.listdir(m.c / "nodes" / NODE))[-1] != "" and "ctl" in os.listdir(
        m.c / "nodes" / NODE)
    st = os.stat(m.ctl)
    assert stat.S_IMODE(st.st_mode) == 0o200 and st.st_size == 0
    with pytest.raises(PermissionError):
        open(m.ctl).read()
    assert "ctl" not in os.listdir(m.c / "nodes" / "head")
    # No such node: nothing to open; the head has no ctl, and none can be made.
    with pytest.raises(FileNotFoundError):
        os.open(m.c / "nodes" / "compute-st-t2micro-9" / "ctl", os.O_WRONLY)
    with pytest.raises(FileNotFoundError):
        os.open(m.c / "nodes" / "head" / "ctl", os.O_WRONLY)
    with pytest.raises(PermissionError):
        os.open(m.c / "nodes" / "head" / "ctl", os.O_WRONLY | os.O_CREAT, 0o644)
    # (a process that listed the cluster may be removing its tree: rm alone)
    r = subprocess.run(["rm", str(m.ctl)], capture_output=True, text=True)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr
    assert items(m) == []


REFUSALS = [
    (b"reboot\n", 'unknown command "reboot"'),
    (b"drain\n", "drain needs a reason"),
    (b"drain    \n", "drain needs a reason"),
    (b"resume now\n", "resume takes no argument"),
    (b"replace it\n", "replace takes no argument"),
    (b"drain a\nresume\n", "one command per write"),
    (b"drain \x00\x01\x02\n", "binary data"),
    (b"drain \xff\xfe\n", "not UTF-8"),
    (b"drain " + b"x" * 600 + b"\n", "too long"),
    (b"drain " + b"x" * 300 + b"\n", "the reason is 300 bytes"),
    (b"  \n", "empty command"),
]


def test_each_refusal_is_einval_with_its_reason_and_stores_nothing(world):
    m = world
    for data, reason in REFUSALS:
        assert write_cmd(m.ctl, data) == errno.EINVAL, data
        ev = events(m).splitlines()
        assert "error nodes/%s/ctl: " % NODE in ev[-1] and reason in ev[-1], ev[-3:]
        last = json.loads((m.c / "status.json").read_text())["last_error"]
        assert reason in last
    assert items(m) == []


def test_a_write_past_the_buffer_is_efbig_and_sends_nothing(world):
    m = world
    fd = os.open(m.ctl, os.O_WRONLY | os.O_TRUNC)
    with pytest.raises(OSError) as e:
        os.write(fd, b"drain " + b"x" * 70000)
    assert e.value.errno == errno.EFBIG
    os.close(fd)
    assert wait_for(lambda: "writing past" in events(m).splitlines()[-1])
    assert items(m) == []


def test_a_command_is_durable_when_close_returns_and_sent_once_per_handle(world):
    m = world
    assert write_cmd(m.ctl, b"drain maintenance\n") == 0
    keys = items(m)      # durable when close returned: no waiting here
    assert len(keys) == 1 and keys[0].startswith("clusters/lab3/ctl/%s/" % NODE)
    body = json.loads(m.s3.get_object(Bucket=m.bucket, Key=keys[0])["Body"].read())
    assert body["command"] == "drain" and body["reason"] == "maintenance"
    assert body["node"] == NODE and body["instance_id"] == m.instance
    assert body["id"] == keys[0].rsplit("/", 1)[1] and body["format"] == 1
    assert "nodes/%s/ctl: drain (reason: maintenance) sent to the head as %s" % (
        NODE, body["id"]) in events(m)

    # dup-then-close: the first close commits, the second has nothing new.
    fd = os.open(m.ctl, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"resume\n")
    fd2 = os.dup(fd)
    os.close(fd)
    os.close(fd2)
    assert len(items(m)) == 2
    # The shell's `>` (open, dup2, close, write, close): one command.
    subprocess.run(["sh", "-c", "echo replace > '%s'" % m.ctl], check=True)
    assert len(items(m)) == 3
    # Opened and closed unwritten (truncated or not): nothing is sent.
    os.close(os.open(m.ctl, os.O_WRONLY | os.O_TRUNC))
    os.close(os.open(m.ctl, os.O_WRONLY))
    subprocess.run(["sh", "-c", ": > '%s'" % m.ctl], check=True)
    assert len(items(m)) == 3
    # Each command has an id of its own, in the order given.
    ids = [k.rsplit("/", 1)[1] for k in items(m)]
    assert len(set(ids)) == 3
    cmds = [json.loads(m.s3.get_object(Bucket=m.bucket, Key=k)["Body"].read())["command"]
            for k in items(m)]
    assert cmds == ["drain", "resume", "replace"]


def test_a_cluster_without_a_head_to_carry_it_out_refuses(world, lc):
    m = world
    (m / "lab4").mkdir()
    launch(lc, {"pclusterfs:cluster": "lab4", "pclusterfs:owner": m.bucket,
                "pclusterfs:node": NODE, "pclusterfs:node-type": "Compute"})
    ctl = m / "lab4" / "nodes" / NODE / "ctl"
    assert wait_for(lambda: ctl.exists())
    assert write_cmd(ctl, b"resume\n") == errno.EINVAL
    assert "the cluster is NO_CONFIG" in (m / "lab4" / "events").read_text()
    assert items(m, "lab4") == []


def test_the_heads_ack_is_told_once_then_ack_and_command_go(world):
    m = world
    assert write_cmd(m.ctl, b"drain disk\n") == 0
    assert write_cmd(m.ctl, b"resume\n") == 0
    (k1, k2) = items(m)
    id1, id2 = k1.rsplit("/", 1)[1], k2.rsplit("/", 1)[1]
    acks = "clusters/lab3/head/acks/ctl/%s/" % NODE
    # As the head's agent acknowledges: one done, one failed.
    m.s3.put_object(Bucket=m.bucket, Key=acks + id1, Body=json.dumps({
        "format": 1, "id": id1, "node": NODE, "command": "drain", "outcome": "done",
        "message": "Slurm drains it: disk"}).encode())
    m.s3.put_object(Bucket=m.bucket, Key=acks + id2, Body=json.dumps({
        "format": 1, "id": id2, "node": NODE, "command": "resume", "outcome": "failed",
        "message": "scontrol: Invalid node state \x1b[31mspecified"}).encode())
    done = "nodes/%s/ctl: drain (%s) carried out by the head: Slurm drains it: disk" % (NODE, id1)
    failed = "nodes/%s/ctl: resume (%s) failed by the head: scontrol: Invalid node state" % (
        NODE, id2)
    assert wait_for(lambda: done in events(m) and failed in events(m))
    assert wait_for(lambda: items(m) == [] and not m.s3.list_objects_v2(
        Bucket=m.bucket, Prefix=acks).get("Contents"))
    ev = events(m)
    assert "\x1b" not in ev
    # Told once, also after more passes.
    import time
    time.sleep(3)
    ev = events(m)
    assert ev.count(done) == 1 and ev.count("resume (%s) failed" % id2) == 1
    assert [ln for ln in ev.splitlines() if failed in ln][0].split()[1] == "error"


def test_two_workstations_on_one_bucket_never_overwrite_and_tell_once(world, tmp_path):
    from fixture_mount import Mount
    m = world
    b = Mount(tmp_path, options=m.options, env=m.env, name="second").start()
    try:
        ctl_b = b / "lab3" / "nodes" / NODE / "ctl"
        assert wait_for(lambda: ctl_b.exists())
        # Both at once: two commands, two ids, nothing overwritten.
        import threading
        rcs = []
        t = threading.Thread(target=lambda: rcs.append(write_cmd(ctl_b, b"drain from-b\n")))
        t.start()
        rcs.append(write_cmd(m.ctl, b"drain from-a\n"))
        t.join()
        assert rcs == [0, 0]
        keys = items(m)
        assert len(keys) == 2
        reasons = sorted(json.loads(m.s3.get_object(Bucket=m.bucket, Key=k)["Body"].read())[
            "reason"] for k in keys)
        assert reasons == ["from-a", "from-b"]
        # The head acknowledges both: each outcome is told once, by the
        # mount that holds the lease, and both mounts show it.
        for k in keys:
            cmd_id = k.rsplit("/", 1)[1]
            m.s3.put_object(Bucket=m.bucket, Key="clusters/lab3/head/acks/ctl/%s/%s" % (
                NODE, cmd_id), Body=json.dumps({"id": cmd_id, "node": NODE, "command": "drain",
                                                "outcome": "done", "message": "ok " + cmd_id}))
        ids = [k.rsplit("/", 1)[1] for k in keys]
        assert wait_for(lambda: items(m) == [] and all(
            "ok " + i in (b / "lab3" / "events").read_text() for i in ids), timeout=30)
        import time
        time.sleep(3)
        for ev in (events(m), (b / "lab3" / "events").read_text()):
            for i in ids:
                assert ev.count("carried out by the head: ok " + i) == 1
    finally:
        assert b.stop() == 0, b.log_text()
