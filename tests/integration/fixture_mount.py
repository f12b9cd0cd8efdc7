"""Mounting pclusterfs for real in a test.

`Mount` starts the daemon in the foreground on a fresh directory, waits for
the mount to appear, and at teardown always unmounts with `fusermount3 -u`,
waits for the daemon to exit cleanly (a sanitizer report or leak makes the
exit code non-zero, which fails the test), and kills it if it does not.
The binary comes from $PCLUSTERFS_BIN (the Makefile sets the release or the
sanitizer build), else ./pclusterfs of the repository.
"""
import os
import pathlib
import subprocess
import time
import uuid

import pytest

ROOT = pathlib.Path(os.environ.get("PCFS_ROOT", pathlib.Path(__file__).resolve().parents[2]))
BIN = os.environ.get("PCLUSTERFS_BIN", str(ROOT / "pclusterfs"))

SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:exitcode=23:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def wait_for(pred, timeout=30, step=0.3):
    """Polls pred until it holds or timeout seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


class Mount:
    def __init__(self, base, options=(), env=None, name="mnt", wrapper=()):
        self.base = pathlib.Path(base)
        self.path = self.base / name
        self.path.mkdir(parents=True, exist_ok=True)
        self.log = self.base / (name + ".log")
        self.options = list(options)
        self.env = dict(os.environ)
        self.env.update(SANITIZER_ENV)
        # Nothing here may reach the real instance metadata service.
        self.env.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        if env:
            self.env.update(env)
        self.wrapper = list(wrapper)
        from configs import GOOD
        self.good = GOOD  # a config that passes every check of this backend
        self.proc = None

    def start(self, timeout=15):
        cmd = self.wrapper + [BIN, "-f"]
        if self.options:
            cmd += ["-o", ",".join(self.options)]
        cmd.append(str(self.path))
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if is_mounted(self.path):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"pclusterfs did not mount; log:\n{self.log_text()}")

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if is_mounted(self.path):
            subprocess.run(["fusermount3", "-u", "-z", str(self.path)], check=False)

    def stop(self, timeout=20):
        """Unmounts; returns the daemon's exit code."""
        if self.proc is None:
            return 0
        if is_mounted(self.path):
            subprocess.run(["fusermount3", "-u", str(self.path)], check=False)
        try:
            rc = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # A mount namespace made elsewhere while this mount existed
            # (another tool's unshare --mount; not the local cloud's
            # instances, which keep no host mount: test_lifecycle checks
            # that unmount alone ends the daemon) holds a copy of the mount,
            # so the kernel does not end the session at unmount; SIGTERM
            # ends the daemon's loop the way libfuse intends.
            self.proc.terminate()
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                rc = -9
        if is_mounted(self.path):
            # The unmount above was refused (busy) and the daemon has ended
            # since: detach the dead mount so no later test trips on it.
            subprocess.run(["fusermount3", "-u", "-z", str(self.path)], check=False)
        self.logf.close()
        self.proc = None
        return rc

    def __truediv__(self, rel):
        return self.path / rel


@pytest.fixture(scope="session")
def shared_localcloud(tmp_path_factory):
    """One local cloud (boot off) for every mount test of the session; each
    test gets its own bucket in it."""
    from fixture_localcloud import LocalCloud
    lc = LocalCloud(str(tmp_path_factory.mktemp("localcloud")), boot=False)
    lc.start()
    # The key pair the guide's config names, as a user would have made it.
    lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    try:
        yield lc
    finally:
        lc.stop()
        lc.release()


def bucket_mount(tmp_path, lc, **kw):
    """A Mount whose state lives in a fresh bucket of the local cloud lc."""
    bucket = "pcfs-test-" + uuid.uuid4().hex[:12]
    opts = ["bucket=" + bucket] + list(kw.pop("options", ()))
    m = Mount(tmp_path, options=opts, env=lc.env, **kw)
    m.good = good_config_for(lc)
    return m


def good_config_for(lc):
    """The guide's config made whole with the local cloud's own VPC and subnet."""
    from configs import GOOD
    return (GOOD.replace("vpc-0123456789abcdef0", lc.env["LOCALCLOUD_VPC_ID"])
            .replace("subnet-0123456789abcdef0", lc.env["LOCALCLOUD_SUBNET_ID"]))


@pytest.fixture(params=["memory", "bucket"])
def mount(request, tmp_path):
    """The tree mounted on each backend: in memory, and on a state bucket in
    a local cloud."""
    if request.param == "memory":
        m = Mount(tmp_path, options=["memory"]).start()
    else:
        m = bucket_mount(tmp_path, request.getfixturevalue("shared_localcloud"),
                         options=["refresh=1"]).start()
    try:
        yield m
    finally:
        rc = m.stop()
    log = m.log_text()
    assert rc == 0, f"pclusterfs exited with {rc}; log:\n{log}"
    assert "AddressSanitizer" not in log and "runtime error" not in log, log


@pytest.fixture
def good(mount):
    """A config this mount's backend accepts (the cloud checks included)."""
    return mount.good


@pytest.fixture
def cluster(mount):
    """A mounted cluster directory with no config yet."""
    d = mount / "lab3"
    d.mkdir()
    return d
