"""A private local cloud per test (or per fixture that needs one).

Plain helper, usable from any fixture:

    from fixture_localcloud import LocalCloud
    lc = LocalCloud(dir, boot=False, faults=["RunInstances:throttle:after:1"])
    lc.start()
    try: ... lc.env, lc.endpoint, lc.aws("ec2", "describe-vpcs") ...
    finally: lc.stop()

Pytest fixtures:
    localcloud          boot off (states only), started fresh for the test
    localcloud_boot     boot on (instances are namespaces)
    localcloud_module   boot off, one per test module (state is shared)
    localcloud_factory  make(boot=..., faults=[...], **opts) -> LocalCloud; all
                        are stopped at teardown
    @pytest.mark.localcloud(boot=True, isolated=True, faults=[...], ...) on a
    test changes what `localcloud` starts.

Each LocalCloud holds a slot (an flock'd file in /run/lock) that gives it a
unique bridge (lcfxNN) and CIDR (10.(160+NN).0.0/16), so local clouds of
parallel test runs never collide. Teardown stops it even when the test
failed; the dir (console logs, server.log) stays in pytest's tmp dir."""
import atexit
import fcntl
import json
import os
import re
import subprocess
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(REPO, "scripts", "localcloud")
PYTHON = "/usr/bin/python3"
AWS_CLI = "/usr/bin/aws"       # Debian's aws CLI 2.9 (needs --endpoint-url)
SLOTS = 32
_running = set()


def _bridge_free(bridge):
    """No live local cloud holds the bridge's lock (see instances.hold_bridge)."""
    try:
        f = open("/run/lock/localcloud-bridge-%s.lock" % bridge, "a")
    except OSError:
        return False
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        f.close()


def _take_slot():
    os.makedirs("/run/lock", exist_ok=True)
    for n in range(SLOTS):
        f = open("/run/lock/localcloud-slot-%02d.lock" % n, "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        bridge = "lcfx%02d" % n
        cidr = "10.%d.0.0/16" % (160 + n)
        if not _bridge_free(bridge):
            f.close()             # an orphaned local cloud still runs on it: leave it be
            continue
        if subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode == 0:
            # a previous run died without stopping: clean it up under our lock
            subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        return f, bridge, cidr
    raise RuntimeError("all %d local cloud slots are taken" % SLOTS)


class LocalCloud:
    def __init__(self, dir=None, boot=False, faults=(), region="ap-northeast-1",
                 pending_delay=0.2, terminate_delay=0.2, bridge=None, cidr=None,
                 isolated=False):
        self.dir = os.path.abspath(dir or tempfile.mkdtemp(prefix="localcloud-"))
        self.boot = boot
        self.isolated = isolated        # the host cannot reach instance addresses
        self.faults = list(faults)
        self.region = region
        self.pending_delay = pending_delay
        self.terminate_delay = terminate_delay
        self._slot = None
        self.bridge, self.cidr = bridge, cidr
        self.env = {}
        self.endpoint = None
        self.started = False

    # ---------- life cycle ----------
    def _cli(self, *args, check=True):
        r = subprocess.run([PYTHON, CLI, *args, "--dir", self.dir] if args[0] != "fault"
                           else [PYTHON, CLI, "fault", "--dir", self.dir, *args[1:]],
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError("localcloud %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def start(self, faults=None):
        """Starts (or restarts after stop) the local cloud; faults replace the set ones."""
        if self.bridge is None:
            self._slot, self.bridge, self.cidr = _take_slot()
        args = ["start", "--bridge", self.bridge, "--cidr", self.cidr, "--port", "0",
                "--region", self.region, "--boot", "on" if self.boot else "off",
                "--pending-delay", str(self.pending_delay),
                "--terminate-delay", str(self.terminate_delay),
                "--isolated", "on" if self.isolated else "off"]
        for f in (self.faults if faults is None else faults):
            args += ["--fault", f]
        self._cli(*args)
        self.started = True
        _running.add(self)
        out = self._cli("env").stdout
        self.env = dict(re.findall(r"^export (\w+)=(\S*)$", out, re.M))
        self.env = {k: v.strip("'") for k, v in self.env.items()}
        # Keep clients away from the host's AWS config files.
        self.env["AWS_CONFIG_FILE"] = os.path.join(self.dir, "no-aws-config")
        self.env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(self.dir, "no-aws-credentials")
        self.endpoint = self.env["AWS_ENDPOINT_URL"]
        self.account_id = self.env["LOCALCLOUD_ACCOUNT_ID"]
        self.vpc_id = self.env["LOCALCLOUD_VPC_ID"]
        self.subnet_id = self.env["LOCALCLOUD_SUBNET_ID"]
        return self

    def stop(self):
        """Stops the server and every instance; safe to call twice."""
        if self.started:
            self._cli("stop", check=False)
            self.started = False
        _running.discard(self)

    def release(self):
        """stop() and give the bridge/CIDR slot back."""
        self.stop()
        if self._slot is not None:
            self._slot.close()
            self._slot = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.release()

    # ---------- faults ----------
    def fault(self, spec):
        """Adds a fault rule while running, e.g. "PutObject:503:before:1"."""
        self._cli("fault", "add", spec)
        time.sleep(0.02)   # mtime granularity: make the change visible

    def clear_faults(self):
        self._cli("fault", "clear")

    # ---------- clients ----------
    def client_env(self, **extra):
        """os.environ without the host's AWS variables, plus this cloud's."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update(self.env)
        e.update(extra)
        return e

    def aws(self, *args, check=True, region=None, input=None):
        """Runs Debian's aws CLI against this cloud; returns CompletedProcess."""
        env = self.client_env()
        if region:
            env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
        r = subprocess.run([AWS_CLI, "--endpoint-url", self.endpoint, *args], env=env,
                           capture_output=True, text=True, input=input, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError("aws %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                             r.stderr))
        return r

    def aws_json(self, *args, region=None):
        out = self.aws(*args, "--output", "json", region=region).stdout
        return json.loads(out) if out.strip() else None

    def client(self, service, region=None, **config):
        """A botocore client for this cloud (retries off unless config says)."""
        import botocore.config
        import botocore.session
        config.setdefault("retries", {"total_max_attempts": 1})
        if service == "s3":
            config.setdefault("signature_version", "s3v4")   # presigned URLs too
        s = botocore.session.Session()
        return s.create_client(
            service, region_name=region or self.region, endpoint_url=self.endpoint,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            config=botocore.config.Config(**config))

    # ---------- instances ----------
    def console(self, instance_id):
        try:
            with open(os.path.join(self.dir, "instances", instance_id, "console.log"),
                      errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_console(self, instance_id, pattern, timeout=60):
        """Waits until the instance's console output matches pattern; returns the match."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.console(instance_id))
            if m:
                return m
            time.sleep(0.2)
        raise AssertionError("console of %s never matched %r; it says:\n%s"
                             % (instance_id, pattern, self.console(instance_id)[-3000:]))

    def in_instance(self, instance_id, script, nobody=False, timeout=120):
        """Runs a shell script inside a booted instance (all its namespaces),
        as root or as uid 65534; IMDS in its environment names the IMDS."""
        unshare = int(open(os.path.join(self.dir, "instances", instance_id, "pid")).read())
        with open("/proc/%d/task/%d/children" % (unshare, unshare)) as f:
            pid = f.read().split()[0]        # the instance's init
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if nobody else []
        return subprocess.run(["nsenter", "-t", pid, "-m", "-u", "-n", "-p", "-T", "--", "env",
                               "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                               "IMDS=" + self.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/"),
                               *nobody, "/bin/sh", "-c", script],
                              capture_output=True, text=True, timeout=timeout)

    def image_id(self, os_name="amzn2"):
        imgs = self.aws_json("ec2", "describe-images", "--owners", "amazon", "--filters",
                             "Name=name,Values=aws-parallelcluster-*-%s-hvm-x86_64*" % os_name)
        return max(imgs["Images"], key=lambda i: i["CreationDate"])["ImageId"]


@atexit.register
def _stop_leftovers():
    for lc in list(_running):
        lc.release()


def pytest_configure(config):
    config.addinivalue_line("markers", "localcloud(**opts): options for the localcloud "
                            "fixture (boot, faults, pending_delay, terminate_delay, region)")


@pytest.fixture
def localcloud_factory(tmp_path_factory):
    made = []

    def make(**opts):
        lc = LocalCloud(str(tmp_path_factory.mktemp("localcloud")), **opts)
        made.append(lc)
        return lc.start()
    yield make
    for lc in made:
        lc.release()


@pytest.fixture(scope="module")
def localcloud_module(tmp_path_factory):
    lc = LocalCloud(str(tmp_path_factory.mktemp("localcloud")))
    try:
        yield lc.start()
    finally:
        lc.release()


@pytest.fixture
def localcloud(request, localcloud_factory):
    m = request.node.get_closest_marker("localcloud")
    return localcloud_factory(**(m.kwargs if m else {}))


@pytest.fixture
def localcloud_boot(request, localcloud_factory):
    m = request.node.get_closest_marker("localcloud")
    opts = dict(m.kwargs if m else {})
    opts["boot"] = True
    return localcloud_factory(**opts)
