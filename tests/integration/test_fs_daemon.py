"""The daemon's command line and lifecycle: --help, --version, clear errors
for bad options and mountpoints, no process left after fusermount3 -u, and
make install honouring PREFIX and DESTDIR."""
import os
import subprocess
import time

from fixture_mount import BIN, ROOT, Mount


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)


def test_help_lists_our_options_and_libfuses():
    r = run("--help")
    assert r.returncode == 0
    for opt in ("bucket=", "region=", "profile=", "refresh=", "max_instances=", "allow_other"):
        assert opt in r.stdout + r.stderr, opt


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("pclusterfs ")


def test_bad_mountpoint_is_a_clear_error(tmp_path):
    r = run("-f", str(tmp_path / "nosuch"))
    assert r.returncode != 0
    assert "nosuch" in r.stderr and "No such file" in r.stderr


def test_bad_option_values(tmp_path):
    r = run("-f", "-o", "refresh=0", str(tmp_path))
    assert r.returncode != 0 and "refresh" in r.stderr
    r = run("-f", "-o", "max_instances=-3", str(tmp_path))
    assert r.returncode != 0 and "max_instances" in r.stderr
    r = run("-f", "-o", "memory,no_such_option", str(tmp_path))
    assert r.returncode != 0 and "no_such_option" in r.stderr


def test_unmount_leaves_no_process(tmp_path):
    m = Mount(tmp_path, options=["memory"]).start()
    pid = m.proc.pid
    (m / "c1").mkdir()
    assert m.stop() == 0
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_background_mount_and_unmount(tmp_path):
    mnt = tmp_path / "bg"
    mnt.mkdir()
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true")
    r = subprocess.run([BIN, "-o", "memory", str(mnt)], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    try:
        os.mkdir(mnt / "bgcluster")
        assert os.listdir(mnt) == ["bgcluster"]
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], check=True)
    out = subprocess.run(["pgrep", "-f", f"pclusterfs -o memory {mnt}$"], capture_output=True, text=True)
    for _ in range(50):
        if out.stdout.strip() == "":
            break
        time.sleep(0.1)  # the daemon exits just after the unmount returns
        out = subprocess.run(["pgrep", "-f", f"pclusterfs -o memory {mnt}$"], capture_output=True, text=True)
    assert out.stdout.strip() == ""


def test_make_install_honours_prefix_and_destdir(tmp_path):
    r = subprocess.run(["make", "-s", "-C", str(ROOT), "install", f"DESTDIR={tmp_path}",
                        "PREFIX=/opt/pcfs"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert os.access(tmp_path / "opt/pcfs/bin/pclusterfs", os.X_OK)
    man = tmp_path / "opt/pcfs/share/man/man1/pclusterfs.1"
    assert man.exists()
    r = subprocess.run(["man", "-l", str(man)], capture_output=True, text=True,
                       env=dict(os.environ, MANPAGER="cat", PAGER="cat"))
    if r.returncode == 0:
        assert "pclusterfs" in r.stdout
