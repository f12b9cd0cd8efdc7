"""The tree of DESIGN.md section 1 through a real mount: names, listings,
and the errno of every refusal."""
import errno
import json
import os
import subprocess
import time

import pytest



def err_of(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return e.value.errno


def test_empty_mount_lists_nothing(mount):
    assert os.listdir(mount.path) == []


def test_mkdir_makes_a_cluster_with_the_whole_tree(mount):
    d = mount / "lab3"
    d.mkdir()
    assert sorted(os.listdir(d)) == ["config", "events", "hooks", "jobs", "nodes", "status",
                                     "status.json"]
    assert sorted(os.listdir(d / "hooks")) == ["post", "pre"]
    assert os.listdir(d / "nodes") == []
    assert (d / "status").read_text() == "NO_CONFIG\n"
    assert (d / "config").read_text() == ""
    st = json.loads((d / "status.json").read_text())
    assert st["clusterName"] == "lab3" and st["clusterStatus"] == "NO_CONFIG"
    assert st["last_error"] is None and st["stale"] is False and st["observed_at"].endswith("Z")
    assert "created" in (d / "events").read_text()


def test_file_modes(cluster):
    assert oct(os.stat(cluster / "config").st_mode & 0o777) == "0o644"
    for name in ("status", "status.json", "events"):
        assert oct(os.stat(cluster / name).st_mode & 0o777) == "0o444"
    assert os.path.isdir(cluster / "hooks" / "pre")


@pytest.mark.parametrize("name", ["1lab", "lab_3", "lab.3", "-lab", "a" * 61, "la b"])
def test_bad_cluster_names_are_einval(mount, name):
    assert err_of(os.mkdir, mount / name) == errno.EINVAL
    assert os.listdir(mount.path) == []


def test_cluster_name_limits(mount):
    os.mkdir(mount / ("a" * 60))
    assert err_of(os.mkdir, mount / ("a" * 256)) == errno.ENAMETOOLONG
    assert err_of(os.mkdir, mount / "a\nb") == errno.EINVAL


def test_mkdir_twice_is_eexist(cluster):
    assert err_of(os.mkdir, cluster) == errno.EEXIST


def test_nothing_else_can_be_made_or_removed(cluster):
    assert err_of(os.mkdir, cluster / "extra") == errno.EPERM
    assert err_of(os.mkdir, cluster / "hooks" / "other") == errno.EPERM
    for name in ("config", "status", "status.json", "events"):
        assert err_of(os.unlink, cluster / name) == errno.EPERM
    assert err_of(os.rmdir, cluster / "nodes") == errno.EPERM
    assert err_of(os.rmdir, cluster / "hooks" / "pre") == errno.EPERM
    assert err_of(os.rename, cluster / "status", cluster / "x") == errno.EPERM
    assert err_of(open, mount_root(cluster) / "toplevel-file", "w") == errno.EPERM


def mount_root(cluster):
    return cluster.parent


def test_read_only_files_refuse_writes_with_eacces(cluster):
    for name in ("status", "status.json", "events"):
        assert err_of(open, cluster / name, "w") == errno.EACCES
        assert err_of(open, cluster / name, "a") == errno.EACCES
    r = subprocess.run(f"echo x > {cluster}/status", shell=True, capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert err_of(os.truncate, cluster / "status", 0) == errno.EACCES
    assert err_of(os.chmod, cluster / "status", 0o666) == errno.EPERM


def test_unknown_names_are_enoent(cluster):
    assert err_of(os.stat, cluster / "nodes" / "head") == errno.ENOENT
    assert err_of(os.stat, cluster / "hooks" / "middle") == errno.ENOENT
    assert err_of(os.stat, cluster.parent / "nosuch") == errno.ENOENT
    assert err_of(os.stat, cluster / "nosuch") == errno.ENOENT
    assert err_of(os.stat, cluster / "status" / "x") == errno.ENOTDIR


def test_rmdir_deletes_and_the_directory_goes(mount, good):
    d = mount / "gone"
    d.mkdir()
    (d / "config").write_text(good)
    os.rmdir(d)
    # With a cloud, the instances the cluster launched must end first.
    deadline = time.monotonic() + 30
    while d.exists() and time.monotonic() < deadline:
        assert (d / "status").read_text() == "DELETE_IN_PROGRESS\n"
        time.sleep(0.2)
    assert not d.exists()
    assert os.listdir(mount.path) == []
    d.mkdir()  # the name is free again, with a fresh history
    assert (d / "status").read_text() == "NO_CONFIG\n"
    assert "config committed" not in (d / "events").read_text()


def test_rmdir_of_the_root_or_unknown(mount):
    assert err_of(os.rmdir, mount / "nosuch") == errno.ENOENT


def test_ls_lR_and_stat_of_everything(cluster, good):
    (cluster / "config").write_text(good)
    (cluster / "hooks" / "pre" / "10-a.sh").write_text("echo a\n")
    r = subprocess.run(["ls", "-lR", str(cluster.parent)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "10-a.sh" in r.stdout and "status.json" in r.stdout
    for dirpath, dirs, files in os.walk(cluster):
        for f in files:
            st = os.stat(os.path.join(dirpath, f))
            with open(os.path.join(dirpath, f), "rb") as fh:
                assert len(fh.read()) == st.st_size


def test_statfs(mount):
    st = os.statvfs(mount.path)
    assert st.f_namemax == 255


def test_status_json_is_json_with_the_v3_fields(cluster, good):
    (cluster / "config").write_text(good)
    st = json.loads((cluster / "status.json").read_text())
    for key in ("clusterName", "region", "clusterStatus", "generation", "creationTime",
                "lastUpdatedTime", "headNode", "nodes", "failures", "last_error",
                "observed_at", "stale"):
        assert key in st, key
    assert st["clusterStatus"] == "CREATE_IN_PROGRESS"
    assert st["generation"] == 1
    assert st["region"] == "ap-northeast-1"
    assert (cluster / "status.json").read_text().endswith("\n")


def test_refusals_inside_a_cluster_are_told_in_events_and_last_error(mount):
    """Issue 11.14: writes to read-only files (EACCES), unlinks of fixed
    files, link and symlink (all EPERM) are refused and told, as README
    says every refusal inside a cluster is."""
    d = mount / "lab3"
    d.mkdir()
    (d / "hooks" / "pre" / "a.sh").write_text("true\n")

    def told(what):
        last = json.loads((d / "status.json").read_text())["last_error"] or ""
        assert last.startswith(what), (what, last)
        assert last in (d / "events").read_text()

    assert err_of(open, d / "status", "w") == errno.EACCES
    told("status: read-only")
    assert err_of(os.truncate, d / "status.json", 0) == errno.EACCES
    told("status.json: read-only")
    assert err_of(os.unlink, d / "events") == errno.EPERM
    told("events: cannot be removed")
    assert err_of(os.chmod, d / "status", 0o666) == errno.EPERM
    told("status: its mode and times")
    assert err_of(os.link, d / "hooks" / "pre" / "a.sh", d / "hooks" / "pre" / "b.sh") == errno.EPERM
    told("hooks/pre/b.sh: links cannot be made")
    assert err_of(os.symlink, "/etc/passwd", d / "hooks" / "pre" / "c.sh") == errno.EPERM
    told("hooks/pre/c.sh: symbolic links cannot be made")
    assert err_of(os.symlink, "/etc/passwd", mount / "toplink") == errno.EPERM
    assert sorted(os.listdir(d / "hooks" / "pre")) == ["a.sh"]
    assert (d / "status").read_text() == "NO_CONFIG\n"


def test_the_mount_root_has_the_time_of_the_mount_not_1970(mount):
    assert os.stat(mount.path).st_mtime > time.time() - 3600
