"""Mounts driven through their main paths under valgrind memcheck: no
invalid access, no use of uninitialised memory, no definite leak. One in
memory (the FUSE side: commits, scratch files, renames, refusals) and one on
a state bucket of the local cloud (boot off), where the controller refreshes,
launches the head node, observes it and deletes the cluster: the aws/ side
(SigV4, libcurl, expat, the credential chain) and the reconciler."""
import errno
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from configs import GOOD
from fixture_mount import Mount, bucket_mount, wait_for

pytestmark = [pytest.mark.valgrind, pytest.mark.slow,
              pytest.mark.skipif(not shutil.which("valgrind"),
                                 reason="valgrind is installed by install-deps")]

VALGRIND = ["valgrind", "--tool=memcheck", "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--error-exitcode=99", "--track-fds=no"]


def wrapper(vlog):
    return VALGRIND + [f"--log-file={vlog}"]


def assert_clean(rc, vlog):
    report = vlog.read_text()
    assert rc == 0, report[-4000:]
    # Every process valgrind followed ends with its own summary.
    sums = re.findall(r"ERROR SUMMARY: (\d+) errors", report)
    assert sums and all(n == "0" for n in sums), report[-4000:]
    assert "definitely lost: 0 bytes" in report or "All heap blocks were freed" in report, \
        report[-4000:]


def test_memcheck_clean_in_memory(tmp_path):
    vlog = tmp_path / "valgrind.log"
    m = Mount(tmp_path, options=["memory"], wrapper=wrapper(vlog))
    m.start(timeout=60)
    try:
        c = m / "vg"
        c.mkdir()
        (c / "config").write_text(GOOD)
        with pytest.raises(OSError):
            (c / "config").write_text("[cluster default]\nbogus = 1\n")
        with pytest.raises(OSError):
            (c / "config").write_bytes(os.urandom(2048))
        (c / "hooks" / "pre" / "a.sh").write_text("echo a\n")
        subprocess.run(["sed", "-i", "s/a/b/", str(c / "hooks" / "pre" / "a.sh")], check=True)
        assert subprocess.run(["truncate", "-s", "2M", str(c / "hooks" / "pre" / "a.sh")],
                              capture_output=True).returncode != 0
        with pytest.raises(OSError):
            (c / "hooks" / "pre" / "big").write_bytes(b"#" * (1024 * 1024 + 1))
        with pytest.raises(OSError):
            open(os.fsencode(c / "hooks" / "pre") + b"/\xff", "w").close()
        (c / ".scratch").write_text(GOOD)
        os.rename(c / ".scratch", c / "config")
        subprocess.run(["ls", "-lR", str(m.path)], check=True, capture_output=True)
        for name in ("status", "status.json", "events", "config"):
            (c / name).read_bytes()
        os.unlink(c / "hooks" / "pre" / "a.sh")
        os.rmdir(c)
    finally:
        rc = m.stop(timeout=60)
    assert_clean(rc, vlog)


def test_memcheck_clean_on_a_bucket(tmp_path, shared_localcloud):
    lc = shared_localcloud
    vlog = tmp_path / "valgrind.log"
    m = bucket_mount(tmp_path, lc, options=["refresh=1"], wrapper=wrapper(vlog))
    m.start(timeout=90)
    try:
        c = m / "vg"
        c.mkdir()
        # A commit: parse, cloud checks (key pair, VPC, subnet, image), PutObject.
        (c / "config").write_text(m.good)
        # A refused one: the cloud check names the missing key pair.
        with pytest.raises(OSError) as e:
            (c / "config").write_text(m.good.replace("lab-3-your-key", "no-such-key"))
        assert e.value.errno == errno.EINVAL
        (c / "hooks" / "post" / "10.sh").write_text("echo post\n")

        def observed_at():
            return json.loads((c / "status.json").read_text())["observed_at"]

        # Refreshes: the reconciler launches the head node (boot off) and
        # the observation sees it running; observed_at moves on.
        assert wait_for(lambda: (c / "nodes" / "head" / "ec2_state").exists() and
                        (c / "nodes" / "head" / "ec2_state").read_text() == "running\n",
                        timeout=90, step=1)
        first = observed_at()
        assert wait_for(lambda: observed_at() != first, timeout=30, step=1)
        subprocess.run(["ls", "-lR", str(m.path)], check=True, capture_output=True)
        for name in ("status", "status.json", "events", "config", "nodes/head/node.json"):
            (c / name).read_bytes()
        os.rmdir(c)
        assert wait_for(lambda: not c.exists(), timeout=90, step=1)
    finally:
        rc = m.stop(timeout=90)
    assert_clean(rc, vlog)
