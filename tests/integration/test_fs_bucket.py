"""The state bucket as the truth: what a mount commits is in S3 under
clusters/<name>/, survives a remount, shows in a second mount, and an
unreachable bucket fails commits with EIO while reads go on, marked stale."""
import errno
import json
import os

import pytest

from fixture_mount import bucket_mount, wait_for




@pytest.fixture
def lc(shared_localcloud):
    yield shared_localcloud
    shared_localcloud.clear_faults()


def stopped_cleanly(m):
    rc = m.stop()
    assert rc == 0, m.log_text()


def test_state_lives_in_the_bucket_and_survives_a_remount(tmp_path, lc):
    m = bucket_mount(tmp_path, lc).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        c = m / "lab3"
        c.mkdir()
        (c / "config").write_text(m.good)
        (c / "hooks" / "post" / "20-x.sh").write_text("echo x\n")
        events_before = (c / "events").read_text()
    finally:
        stopped_cleanly(m)
    keys = lc.aws_json("s3api", "list-objects-v2", "--bucket", bucket)["Contents"]
    names = sorted(k["Key"] for k in keys)
    for k in ("clusters/lab3/cluster", "clusters/lab3/config", "clusters/lab3/events",
              "clusters/lab3/hooks/post/20-x.sh"):
        assert k in names, names
    stored = lc.aws("s3", "cp", f"s3://{bucket}/clusters/lab3/config", "-").stdout
    assert stored == m.good

    m2 = bucket_mount(tmp_path, lc, name="again")
    m2.options = m.options
    m2.start()
    try:
        c = m2 / "lab3"
        assert (c / "config").read_text() == m.good
        assert os.listdir(c / "hooks" / "post") == ["20-x.sh"]
        assert (c / "events").read_text().startswith(events_before)
        assert (c / "status").read_text() == "CREATE_IN_PROGRESS\n"
    finally:
        stopped_cleanly(m2)


def test_a_second_mount_sees_the_same_clusters(tmp_path, lc):
    a = bucket_mount(tmp_path, lc, name="a", options=["refresh=1"]).start()
    b = bucket_mount(tmp_path, lc, name="b", options=["refresh=1"])
    b.options = a.options
    b.start()
    try:
        (a / "shared").mkdir()
        (a / "shared" / "config").write_text(a.good)
        assert wait_for(lambda: (b / "shared" / "config").exists()
                        and (b / "shared" / "config").read_text() == a.good)
        # b commits too, and a sees it; both appends stay in events.
        (b / "shared" / "hooks" / "pre" / "from-b.sh").write_text("true\n")
        assert wait_for(lambda: os.path.exists(a / "shared" / "hooks" / "pre" / "from-b.sh"))
        # The hook is stored before its event is appended: a's refresh may
        # fall between the two.
        assert wait_for(lambda: "from-b.sh stored" in (a / "shared" / "events").read_text())
        assert "config committed" in (a / "shared" / "events").read_text()
        os.rmdir(a / "shared")
        assert wait_for(lambda: not (b / "shared").exists())
    finally:
        stopped_cleanly(a)
        stopped_cleanly(b)


def test_an_unreachable_bucket_fails_the_commit_with_eio(tmp_path, lc):
    m = bucket_mount(tmp_path, lc).start()
    try:
        c = m / "lab3"
        c.mkdir()
        (c / "config").write_text(m.good)
        lc.fault("PutObject:503")
        with pytest.raises(OSError) as e:
            (c / "config").write_text(
                m.good.replace("scheduler = slurm", "scheduler = slurm\nmax_queue_size = 3"))
        assert e.value.errno == errno.EIO
        with pytest.raises(OSError) as e:
            (c / "hooks" / "pre" / "a.sh").write_text("true\n")
        assert e.value.errno == errno.EIO
        lc.clear_faults()
        assert (c / "config").read_text() == m.good
        assert os.listdir(c / "hooks" / "pre") == []
    finally:
        lc.clear_faults()
        stopped_cleanly(m)


def test_reads_go_on_when_the_bucket_cannot_be_listed(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    try:
        c = m / "lab3"
        c.mkdir()
        (c / "config").write_text(m.good)
        lc.fault("ListObjectsV2:503")
        assert wait_for(lambda: json.loads((c / "status.json").read_text())["stale"])
        st = json.loads((c / "status.json").read_text())
        assert "503" in st["stale_reason"] or "Service" in st["stale_reason"], st
        assert (c / "config").read_text() == m.good
        assert (c / "status").read_text() == "CREATE_IN_PROGRESS\n"
        lc.clear_faults()
        assert wait_for(lambda: not json.loads((c / "status.json").read_text())["stale"])
    finally:
        lc.clear_faults()
        stopped_cleanly(m)


def last_error(c):
    return json.loads((c / "status.json").read_text())["last_error"]


def refused(c, text):
    with pytest.raises(OSError) as e:
        (c / "config").write_text(text)
    assert e.value.errno == errno.EINVAL
    return last_error(c)


def test_cloud_checks_name_the_line_and_what_is_missing(tmp_path, lc):
    m = bucket_mount(tmp_path, lc).start()
    try:
        c = m / "lab3"
        c.mkdir()
        err = refused(c, m.good.replace("lab-3-your-key", "no-such-key"))
        assert err.startswith("config:5: key_name = no-such-key") and "InvalidKeyPair.NotFound" in err
        vpc = lc.env["LOCALCLOUD_VPC_ID"]
        err = refused(c, m.good.replace(vpc, "vpc-0123456789abcdef0"))
        assert err.startswith("config:11: vpc_id = vpc-0123456789abcdef0"), err
        subnet = lc.env["LOCALCLOUD_SUBNET_ID"]
        err = refused(c, m.good.replace(subnet, "subnet-0123456789abcdef0"))
        assert err.startswith("config:12: master_subnet_id = subnet-0123456789abcdef0"), err
        err = refused(c, m.good.replace("base_os = alinux2",
                                        "base_os = alinux2\ncustom_ami = ami-0123456789abcdef0"))
        assert err.startswith("config:8: custom_ami = ami-0123456789abcdef0"), err
        # Nothing was stored, nothing launched.
        assert (c / "status").read_text() == "NO_CONFIG\n"
        bucket = m.options[0].split("=", 1)[1]
        ours = lc.aws_json("ec2", "describe-instances", "--filters",
                           f"Name=tag:pclusterfs:owner,Values={bucket}")
        assert ours["Reservations"] == []
        (c / "config").write_text(m.good)
        assert last_error(c) is None
    finally:
        stopped_cleanly(m)


def test_the_cost_guard_refuses_big_clusters(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["max_instances=5"]).start()
    try:
        c = m / "big"
        c.mkdir()
        err = refused(c, m.good.replace("scheduler = slurm", "scheduler = slurm\nmax_queue_size = 10"))
        assert "5" in err and "11" in err, err
        (c / "config").write_text(
            m.good.replace("scheduler = slurm", "scheduler = slurm\nmax_queue_size = 4"))
    finally:
        stopped_cleanly(m)


def test_a_refused_line_cut_mid_character_freezes_no_mount(tmp_path, lc):
    """Issue 11.1: the excerpt of a refused line ends on a character, so
    last_error stays UTF-8; refreshes, new clusters and remounts go on."""
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    lines = {"lab3": "a" * 39 + "\U0001F600\U0001F600 note\n",
             "lab4": "\u65e5\u672c\u8a9e\u306e\u30e1\u30e2\u3092\u66f8\u304d\u307e\u3057\u305f"
                     "\u30b3\u30e1\u30f3\u30c8\n"}
    try:
        for name, line in lines.items():
            c = m / name
            c.mkdir()
            with pytest.raises(OSError) as e:
                with open(c / "config", "wb") as f:
                    f.write(line.encode())
            assert e.value.errno == errno.EINVAL
            err = json.loads((c / "status.json").read_text())["last_error"]
            want = line.encode()[:40].decode("utf-8", "ignore")
            assert "'" + want + "...'" in err, err
            assert err in (c / "events").read_bytes().decode("utf-8")
        # Later refreshes still build a snapshot: a new cluster appears and stays.
        (m / "lab5").mkdir()
        assert wait_for(lambda: os.path.isdir(m / "lab5"), timeout=5)
        log_mark = len(m.log_text())
        wait_for(lambda: False, timeout=3)  # three refresh periods
        assert os.path.isdir(m / "lab5") and (m / "lab5" / "status").exists()
        assert "building a snapshot" not in m.log_text()[log_mark:], m.log_text()
    finally:
        stopped_cleanly(m)
    m2 = bucket_mount(tmp_path, lc, name="again")
    m2.options = m.options
    m2.start()
    try:
        assert sorted(os.listdir(m2.path)) == ["lab3", "lab4", "lab5"]
        for name in lines:
            assert "is not a [section]" in json.loads(
                (m2 / name / "status.json").read_text())["last_error"]
    finally:
        stopped_cleanly(m2)


def test_events_roll_into_parts_and_two_mounts_lose_none(tmp_path, lc):
    """Past 64 KiB the live events object rolls into events.1, ...; two
    mounts appending at once (If-Match) lose no event, and `events` shows
    the parts and the live object as one history, in order."""
    import threading
    a = bucket_mount(tmp_path, lc, name="a", options=["refresh=1"]).start()
    b = bucket_mount(tmp_path, lc, name="b", options=["refresh=1"])
    b.options = a.options
    b.start()
    bucket = a.options[0].split("=", 1)[1]
    try:
        (a / "ev").mkdir()
        assert wait_for(lambda: (b / "ev").exists())
        before = (a / "ev" / "events").read_text()
        long = "x" * 240
        errors = []

        def writer(m, stage):
            try:
                for i in range(100):
                    (m / "ev" / "hooks" / stage / f"{i:03d}-{long}").write_text(f"echo {i}\n")
            except OSError as e:
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(a, "pre")),
                   threading.Thread(target=writer, args=(b, "post"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        keys = lc.aws_json("s3api", "list-objects-v2", "--bucket", bucket,
                           "--prefix", "clusters/ev/events")["Contents"]
        sizes = {k["Key"]: k["Size"] for k in keys}
        assert "clusters/ev/events.1" in sizes, sizes
        assert sizes["clusters/ev/events"] < 64 * 1024, sizes

        def stored(stage, i):
            return f"hooks/{stage}/{i:03d}-{long} stored"

        def whole():
            text = (a / "ev" / "events").read_text()
            return all(stored(s, 99) in text for s in ("pre", "post"))
        assert wait_for(whole), (a / "ev" / "events").read_text()[-2000:]
        text = (a / "ev" / "events").read_text()
        assert text.startswith(before)  # grows at its end: tail -f follows it
        assert os.stat(a / "ev" / "events").st_size == len(text.encode())
        for stage in ("pre", "post"):
            at = [text.find(stored(stage, i)) for i in range(100)]
            assert all(text.count(stored(stage, i)) == 1 for i in range(100)), stage
            assert at == sorted(at), stage  # in the order they were appended
    finally:
        stopped_cleanly(a)
        stopped_cleanly(b)
