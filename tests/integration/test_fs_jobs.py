"""jobs/ without booting: what is refused before anything reaches the head,
each with its reason in events and nothing stored in the bucket (a name
that is no job name or is all digits, a script that is binary, has DOS line
breaks, lacks #!, is over 1 MiB or names --uid; a cluster that is not
running yet), and jobs/ on a memory mount, where no head runs jobs."""
import errno
import os
import subprocess

import pytest

from fixture_mount import bucket_mount

GOOD = b"#!/bin/sh\n#SBATCH -N 1\nhostname\n"


@pytest.fixture
def world(tmp_path, shared_localcloud):
    m = bucket_mount(tmp_path, shared_localcloud, options=["refresh=1"]).start()
    m.bucket = m.options[0].split("=", 1)[1]
    m.s3 = shared_localcloud.client("s3")
    m.c = m / "lab3"
    m.c.mkdir()
    (m.c / "config").write_text(m.good)
    try:
        yield m
    finally:
        rc = m.stop()
        assert rc == 0, m.log_text()


def submitted(m):
    r = m.s3.list_objects_v2(Bucket=m.bucket, Prefix="clusters/lab3/jobs/")
    return [o["Key"] for o in r.get("Contents", [])]


def copy_in(path, data):
    """What cp does: create, write, close; the failing call's errno or 0."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as e:
        return e.errno
    try:
        while data:                    # short writes are retried, as cp does
            data = data[os.write(fd, data):]
    except OSError as e:
        os.close(fd)
        return e.errno
    try:
        os.close(fd)
    except OSError as e:
        return e.errno
    return 0


def events(m):
    return (m.c / "events").read_text()


def test_refusals_name_their_reason_and_store_nothing(world):
    m, jobs = world, world.c / "jobs"
    assert sorted(os.listdir(jobs)) == []
    cases = [
        ("-dash.sh", GOOD, "is no job name"),
        ("123", GOOD, "is all digits"),
        ("a b.sh", GOOD, "is no job name"),
        ("bin.sh", b"#!/bin/sh\n\x00\x01ELF", "line 2 holds a control character"),
        ("dos.sh", b"#!/bin/sh\r\nhostname\r\n", "DOS line break"),
        ("noshebang.sh", b"#SBATCH -N 2\nsrun hostname\n", "the first line must be #!"),
        ("root.sh", b"#!/bin/sh\n#SBATCH --uid=0\nid\n", "--uid and --gid cannot be used"),
        ("notyet.sh", GOOD, "the cluster is CREATE_IN_PROGRESS"),
    ]
    for name, data, why in cases:
        assert copy_in(jobs / name, data) == errno.EINVAL, name
        assert why in events(m), (name, events(m)[-600:])
    big = b"#!/bin/sh\n" + b"#" * (1024 * 1024)
    assert copy_in(jobs / "big.sh", big) == errno.EFBIG
    assert "jobs/big.sh: writing past 1048576 bytes" in events(m)
    # the shell's `>` (open, dup, close the first descriptor, then write):
    # one commit, of the whole script, not a refusal of an empty one first
    before = events(m).count("jobs/shell.sh")
    r = subprocess.run(["sh", "-c", "printf '#!/bin/sh\\nhostname\\n' > %s" % (jobs / "shell.sh")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr      # sh ignores what close() says: events tell it
    told = [ln for ln in events(m).splitlines() if "jobs/shell.sh" in ln][before:]
    assert len(told) == 1 and "CREATE_IN_PROGRESS" in told[0], told
    # a tool's scratch file renamed onto a job name is a submission too
    (jobs / ".tmp-ansible").write_bytes(GOOD)
    assert sorted(os.listdir(jobs)) == [".tmp-ansible"]
    with pytest.raises(OSError) as e:
        os.rename(jobs / ".tmp-ansible", jobs / "renamed.sh")
    assert e.value.errno == errno.EINVAL and "jobs/renamed.sh: the cluster is" in events(m)
    with pytest.raises(OSError) as e:
        os.rename(jobs / ".tmp-ansible", jobs / "77")
    assert e.value.errno == errno.EINVAL
    os.unlink(jobs / ".tmp-ansible")
    assert submitted(m) == []
    assert sorted(os.listdir(jobs)) == []     # nothing half-made stays
    # jobs/ takes no directories; rmdir of a job that jobs/ does not show
    with pytest.raises(OSError) as e:
        os.mkdir(jobs / "dir")
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        os.rmdir(jobs / "12")
    assert e.value.errno == errno.ENOENT


def test_a_memory_mount_lists_no_jobs_and_takes_none(mount):
    if "memory" not in mount.options:
        pytest.skip("the bucket backend is covered above")
    c = mount / "lab3"
    c.mkdir()
    assert os.listdir(c / "jobs") == []
    assert copy_in(c / "jobs" / "a.sh", GOOD) == errno.EINVAL    # no config: not running
    assert os.listdir(c / "jobs") == []
