"""Deleting a cluster by removing its tree (issue 20): `rm -rf`, Python's
shutil.rmtree (what Ansible's `file: state=absent` runs) end with the rmdir
that deletes the cluster; the unlinks before it change nothing, so an
interrupted walk or a stray unlink never loses a config."""
import errno
import os
import subprocess
import sys
import time

import pytest


def gone_or_deleting(d, timeout=30):
    deadline = time.monotonic() + timeout
    while d.exists() and time.monotonic() < deadline:
        try:
            assert (d / "status").read_text() == "DELETE_IN_PROGRESS\n"
        except FileNotFoundError:
            break
        time.sleep(0.2)
    return not d.exists()


def filled(cluster, good):
    (cluster / "config").write_text(good)
    (cluster / "hooks" / "pre" / "10-a.sh").write_text("echo a\n")
    (cluster / "hooks" / "post" / "20-b.sh").write_text("echo b\n")
    return cluster


@pytest.mark.parametrize("how", ["rm -rf", "shutil.rmtree"])
def test_removing_the_tree_deletes_the_cluster(mount, cluster, good, how):
    filled(cluster, good)
    if how == "rm -rf":
        cmd = ["rm", "-rf", str(cluster)]
    else:
        cmd = [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1])", str(cluster)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert gone_or_deleting(cluster)
    assert os.listdir(mount.path) == []


def test_a_stray_unlink_is_refused_and_says_how_to_delete(cluster, good):
    (cluster / "config").write_text(good)
    r = subprocess.run(["rm", "-f", str(cluster / "config")], capture_output=True, text=True)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr
    assert (cluster / "config").read_text() == good
    events = (cluster / "events").read_text()
    assert "config: cannot be removed on its own; to delete the cluster, rmdir" in events
    r = subprocess.run(["rmdir", str(cluster / "nodes")], capture_output=True, text=True)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr


def test_an_interrupted_walk_leaves_the_cluster_whole(cluster, good):
    """A walk that lists the cluster and unlinks its files but never reaches
    the final rmdir (killed, or a failed rmtree) changes nothing but the
    hooks it removed."""
    filled(cluster, good)
    walk = ("import os, sys\n"
            "d = sys.argv[1]\n"
            "for n in sorted(os.listdir(d)):\n"
            "    p = os.path.join(d, n)\n"
            "    if not os.path.isdir(p):\n"
            "        os.unlink(p)\n"
            "os.rmdir(os.path.join(d, 'nodes'))\n")
    r = subprocess.run([sys.executable, "-c", walk, str(cluster)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (cluster / "config").read_text() == good
    assert (cluster / "status").read_text() != "DELETE_IN_PROGRESS\n"
    assert sorted(os.listdir(cluster)) == ["config", "events", "hooks", "jobs", "nodes", "status",
                                           "status.json"]
    assert (cluster / "hooks" / "pre" / "10-a.sh").read_text() == "echo a\n"
    # Removing a hook stays a real removal, walk or not.
    r = subprocess.run(["rm", "-rf", str(cluster / "hooks" / "pre")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert os.listdir(cluster / "hooks" / "pre") == []
    assert (cluster / "config").read_text() == good


def test_unlink_outside_a_walk_in_this_process_is_still_eperm(cluster):
    with pytest.raises(OSError) as e:
        os.unlink(cluster / "status")
    assert e.value.errno == errno.EPERM
