"""A real, throw-away Slurm cluster for tests: munged, slurmctld (auth/munge
plus auth/jwt with a key made here), slurmrestd (rest_auth/jwt) and CLOUD
nodes whose slurmd runs in its own UTS namespace (hostname = node name).

Two generations:
  - "host":     this machine's Slurm (Debian 12, 22.05, OpenAPI v0.0.38)
  - "debian13": Slurm 24.11 from a Debian 13 root (scripts/debian13-root)
                run with chroot; OpenAPI v0.0.40..v0.0.42.

Everything lives in a fresh temporary directory, on free ports, under a
unique cluster name, so several runs (and other engineers' tests) can share
the machine. Each daemon and command runs in its own private mount
namespace (for debian13: the cluster directory bind-mounted on the root's
/tmp, /proc, /dev, /sys, /run; all vanish with the namespace, nothing to
unmount, the cached root stays untouched); every process is stopped by pid.

Fixtures: `slurm_cluster_host`, `slurm_cluster_debian13` (module scope).
"""
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DEBIAN13_ROOT = os.environ.get("PCFS_DEBIAN13_ROOT",
                               "/var/cache/pclusterfs/trixie-root")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class SlurmCluster:
    """One cluster. `nodes` are CLOUD nodes with CPUs=2, RealMemory=500;
    only those passed to start_node() get a slurmd."""

    def __init__(self, generation="host", nodes=("n1", "n2", "n3", "n4")):
        self.generation = generation
        self.root = "/" if generation == "host" else DEBIAN13_ROOT
        self.node_names = list(nodes)
        self.name = "pcfs" + secrets.token_hex(3)
        self.procs = {}
        self.dir = tempfile.mkdtemp(prefix="pcfs-slurm-")
        os.chmod(self.dir, 0o755)
        # Path of the directory as daemons see it: in a chroot, the
        # directory is bind-mounted on the root's /tmp inside each daemon's
        # private mount namespace, so the cached root is never written.
        self.cdir = self.dir if self.root == "/" else "/tmp"
        self.ctld_port = free_port()
        self.rest_port = free_port()
        self.node_ports = {n: free_port() for n in self.node_names}
        self.dynamic_port = free_port()   # SlurmdPort: for dynamic nodes
        self.jwt_key = secrets.token_bytes(32)
        self.rest_url = f"http://127.0.0.1:{self.rest_port}"

    # paths: host view (h) and daemon view (c)
    def h(self, *p):
        return os.path.join(self.dir, *p)

    def c(self, *p):
        return os.path.join(self.cdir, *p)

    def _wrap(self, argv, hostname=None, pidns=False):
        """argv run in a private mount namespace (and a UTS namespace with
        `hostname`), chrooted into the generation's root when it has one.
        With pidns, also in a new PID namespace whose first process is
        argv: when it ends, the kernel ends everything it left (slurmd's
        slurmstepd and job processes), and killing unshare kills it."""
        script = ["set -e"]
        if hostname:
            script.append(f"hostname {hostname}")
        r = "" if self.root == "/" else self.root
        if os.path.exists(self.h("hosts")):
            script += [f"mount --bind {self.h('hosts')} {r}/etc/hosts",
                       f"mount --bind {self.h('nsswitch.conf')} "
                       f"{r}/etc/nsswitch.conf"]
        if pidns and self.root == "/":
            script.append("mount -t proc proc /proc")
        if self.root != "/":
            script += [f"mount --bind {self.dir} {r}/tmp",
                       f"mount -t proc proc {r}/proc",
                       f"mount --rbind /dev {r}/dev",
                       f"mount --rbind /sys {r}/sys",
                       f"mount -t tmpfs tmpfs {r}/run",
                       f'exec chroot {r} "$@"']
        else:
            script.append('exec "$@"')
        ns = ["unshare", "--mount", "--propagation", "private"]
        if hostname:
            ns.append("--uts")
        if pidns:
            ns += ["--pid", "--fork", "--kill-child=SIGTERM"]
        return ns + ["sh", "-c", "\n".join(script), "sh"] + list(argv)

    def _spawn(self, key, argv, hostname=None, env=None, pidns=False):
        log = open(self.h(f"{key}.out"), "wb")
        e = dict(os.environ)
        e.update({"SLURM_CONF": self.c("slurm.conf")})
        for k in list(e):
            if k.startswith("SLURM_") and k != "SLURM_CONF":
                del e[k]
        if env:
            e.update(env)
        p = subprocess.Popen(self._wrap(argv, hostname, pidns), stdout=log,
                             stderr=subprocess.STDOUT, env=e,
                             start_new_session=True)
        self.procs[key] = p
        return p

    def run(self, *argv, check=True, timeout=30, env=None):
        """Run a Slurm client command (scontrol, sbatch...) in this
        generation's root; returns stdout as text."""
        e = {"SLURM_CONF": self.c("slurm.conf"), "PATH": os.environ["PATH"],
             "LC_ALL": "C"}
        if env:
            e.update(env)
        cmd = self._wrap(list(argv))
        r = subprocess.run(cmd, capture_output=True, text=True, env=e,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"{argv} failed: {r.stdout}{r.stderr}")
        return r.stdout

    def write_config(self):
        d = self.h
        for sub in ("state", "spool", "munge", "log"):
            os.makedirs(d(sub), exist_ok=True)
        munge_key = d("munge", "munge.key")
        with open(munge_key, "wb") as f:
            f.write(secrets.token_bytes(128))
        os.chmod(munge_key, 0o400)
        with open(d("jwt.key"), "wb") as f:
            f.write(self.jwt_key)
        os.chmod(d("jwt.key"), 0o400)
        os.chmod(d("munge"), 0o711)
        # slurmctld runs as SlurmUser=slurm: the one user besides root whose
        # JWTs may change nodes when there is no accounting database (root's
        # tokens are refused by slurmrestd). Debian gives it uid 64030 in
        # both generations; look it up in the generation's root anyway.
        self.slurm_uid, self.slurm_gid = _passwd_ids(self.root, "slurm")
        for p in (d("state"), d("log"), d("jwt.key")):
            os.chown(p, self.slurm_uid, self.slurm_gid)
        nodes = "\n".join(
            f"NodeName={n} CPUs=2 RealMemory=500 State=CLOUD "
            f"Port={self.node_ports[n]}" for n in self.node_names)
        # cloud_reg_addrs (a registering slurmd sets its node's address) is
        # the default, and a defunct option, since Slurm 23.11.
        ctld_params = ("cloud_reg_addrs,idle_on_node_suspend"
                       if self.generation == "host" else "idle_on_node_suspend")
        conf = f"""\
ClusterName={self.name}
SlurmctldHost={self.name}ctl(127.0.0.1)
SlurmctldPort={self.ctld_port}
SlurmdPort={self.dynamic_port}
MaxNodeCount={len(self.node_names) + 4}
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.c('munge', 'munge.sock')}
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key={self.c('jwt.key')}
CredType=cred/munge
StateSaveLocation={self.c('state')}
SlurmdSpoolDir={self.c('spool', '%n')}
SlurmctldPidFile={self.c('state', 'slurmctld.pid')}
SlurmdPidFile={self.c('slurmd-%n.pid')}
SlurmctldLogFile={self.c('log', 'slurmctld.log')}
SlurmdLogFile={self.c('log', 'slurmd-%n.log')}
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
PrivateData=cloud
SlurmctldParameters={ctld_params}
SuspendProgram=/bin/true
ResumeProgram=/bin/true
SuspendTime=3600
ResumeTimeout=600
TreeWidth=65533
{nodes}
PartitionName=batch Nodes={','.join(self.node_names)} Default=YES MaxTime=INFINITE State=UP
PartitionName=other Nodes={self.node_names[0]} State=UP
"""
        with open(d("slurm.conf"), "w") as f:
            f.write(conf)
        # Names resolve from this file only, never through DNS: slurmd and
        # slurmctld look up node and host names, and nothing may leave the
        # machine (a stalled DNS query also stalls slurmrestd's answers).
        names = " ".join([f"{self.name}ctl"] + self.node_names +
                         [f"d{i}" for i in range(1, 5)])
        with open(d("hosts"), "w") as f:
            f.write(f"127.0.0.1\tlocalhost {names}\n::1\tlocalhost\n")
        with open(d("nsswitch.conf"), "w") as f:
            f.write("passwd: files\ngroup: files\nshadow: files\n"
                    "hosts: files\n")
        with open(d("cgroup.conf"), "w") as f:
            f.write("CgroupPlugin=disabled\n" if self.generation != "host"
                    else "CgroupAutomount=no\n")

    def start(self):
        self.write_config()
        c = self.c
        self._spawn("munged", ["munged", "-F", "-f",
                               f"--socket={c('munge', 'munge.sock')}",
                               f"--key-file={c('munge', 'munge.key')}",
                               f"--pid-file={c('munge', 'munged.pid')}",
                               f"--log-file={c('log', 'munged.log')}",
                               f"--seed-file={c('munge', 'munged.seed')}"])
        wait_for(lambda: os.path.exists(self.h("munge", "munge.sock")), 15,
                 "munged socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f",
                                  c("slurm.conf")],
                    hostname=f"{self.name}ctl")
        wait_for(lambda: self.run("scontrol", "ping", check=False)
                 .find("UP") >= 0, 30, "slurmctld")
        plugins = ("openapi/v0.0.38" if self.generation == "host"
                   else "openapi/slurmctld")
        self.start_rest(plugins)

    def start_rest(self, plugins=None):
        plugins = plugins or ("openapi/v0.0.38" if self.generation == "host"
                              else "openapi/slurmctld")
        self._spawn("slurmrestd", ["slurmrestd", "-f", self.c("slurm.conf"),
                                   "-a", "rest_auth/jwt", "-s", plugins,
                                   "-u", "nobody", "-g", "nogroup",
                                   f"127.0.0.1:{self.rest_port}"],
                    # slurmrestd talks to slurmctld with the caller's JWT
                    # only when told to (Slurm's jwt.html).
                    env={"SLURM_JWT": "daemon"})

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.rest_port),
                                         0.5).close()
                return True
            except OSError:
                if self.procs["slurmrestd"].poll() is not None:
                    raise RuntimeError("slurmrestd exited: " +
                                       open(self.h("slurmrestd.out")).read())
                return False
        wait_for(up, 20, "slurmrestd")

    def stop_rest(self):
        self._stop("slurmrestd")

    def start_node(self, node):
        """Start the CLOUD node's slurmd (in its own UTS namespace, named
        after the node); a powered-down CLOUD node that registers becomes
        IDLE+CLOUD. Waits until it is."""
        os.makedirs(self.h("spool", node), exist_ok=True)
        self._spawn(f"slurmd-{node}", ["slurmd", "-D", "-f",
                                       self.c("slurm.conf")], hostname=node,
                    pidns=True)

        def idle():
            out = self.run("scontrol", "-o", "show", "node", node, check=False)
            if not out.strip():
                return False
            state = parse_scontrol_line(out.splitlines()[0]).get("State", "")
            return state.split("+")[0] == "IDLE" and not (
                {"POWER_UP", "POWERING_UP", "POWERED_DOWN", "NOT_RESPONDING"}
                & set(state.split("+")))
        wait_for(idle, 60, f"node {node} idle")

    def prepare_scenario(self):
        """The cluster the acceptance tests compare: n1 idle, n2 running a
        one-CPU job (mixed), n3 drained with a reason, n4 a CLOUD node never
        started (powered down)."""
        for n in ("n1", "n2", "n3"):
            self.start_node(n)
        self.run("scontrol", "update", "nodename=n3", "state=drain",
                 "reason=disk check")
        self.run("sbatch", "--wrap", "sleep 600", "-w", "n2", "-n", "1",
                 "-o", "/dev/null", "-J", "probe-job")

        def running():
            out = self.run("squeue", "-h", "-o", "%T", check=False)
            return out.strip() == "RUNNING"
        wait_for(running, 30, "job running on n2")

    def write_client_key(self, key=None):
        """The JWT key for clients, in a file (0600); returns its path."""
        path = self.h("client.key" if key is None else "other.key")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.jwt_key if key is None else key)
        return path

    def start_dynamic_node(self, node):
        """A dynamic node (slurmd -Z), registering itself under its
        hostname; waits until slurmctld knows it."""
        os.makedirs(self.h("spool", node), exist_ok=True)
        self._spawn(f"slurmd-{node}", ["slurmd", "-D", "-Z", "--conf",
                                       "CPUs=2 RealMemory=500",
                                       "-f", self.c("slurm.conf")],
                    hostname=node, pidns=True)
        # Not in any partition, so sinfo would not list it.
        wait_for(lambda: f"NodeName={node} " in self.run(
            "scontrol", "-o", "show", "node", node, check=False),
            20, f"dynamic node {node}")

    def stop_node(self, node):
        self._stop(f"slurmd-{node}")

    def log_tail(self, chars=3000):
        """The end of slurmrestd's and slurmctld's logs, for failures."""
        res = ""
        for f in ("slurmrestd.out", os.path.join("log", "slurmctld.log")):
            try:
                with open(self.h(f), errors="replace") as fh:
                    res += f"--- {f}\n" + fh.read()[-chars:]
            except OSError:
                pass
        return res

    def show_nodes(self):
        """`scontrol -o show node` parsed into {name: {key: value}}."""
        out = self.run("scontrol", "-o", "show", "node")
        res = {}
        for line in out.splitlines():
            if not line.strip():
                continue
            rec = parse_scontrol_line(line)
            res[rec["NodeName"]] = rec
        return res

    def signal(self, key, sig):
        os.kill(self.procs[key].pid, sig)

    def _stop(self, key, timeout=10):
        p = self.procs.pop(key, None)
        if p is None or p.poll() is not None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def stop(self):
        for key in [k for k in self.procs if k.startswith("slurmd-")]:
            self._stop(key)
        for key in ("slurmrestd", "slurmctld", "munged"):
            self._stop(key)
        for key in list(self.procs):
            self._stop(key)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _passwd_ids(root, user):
    with open(os.path.join(root, "etc/passwd")) as f:
        for line in f:
            fields = line.split(":")
            if fields[0] == user:
                return int(fields[2]), int(fields[3])
    raise KeyError(f"no user {user} in {root}/etc/passwd")


def parse_scontrol_line(line):
    """Splits one `scontrol -o show` record into key=value pairs; values may
    contain spaces (Reason=...), so a new key starts only at ` Word=`."""
    import re
    rec = {}
    parts = re.split(r" (?=[A-Za-z][A-Za-z0-9_/:]*=)", line.strip())
    for p in parts:
        k, _, v = p.partition("=")
        rec[k] = v.strip()
    return rec


@pytest.fixture(scope="session")
def slurmprobe():
    """Path of tests/tools/slurmprobe (built here if needed), or of the
    program PCFS_SLURMPROBE names (e.g. build/asan/tools/slurmprobe)."""
    if os.environ.get("PCFS_SLURMPROBE"):
        return os.environ["PCFS_SLURMPROBE"]
    r = subprocess.run(["make", "-C", str(REPO), "-s",
                        "build/rel/tools/slurmprobe"], capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        pytest.fail("cannot build slurmprobe: " + r.stdout + r.stderr)
    return str(REPO / "build" / "rel" / "tools" / "slurmprobe")


def debian13_root():
    """The Debian 13 root, built on first use (minutes), then cached."""
    r = subprocess.run([str(REPO / "scripts" / "debian13-root"), DEBIAN13_ROOT],
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        pytest.fail("cannot build the Debian 13 root: " + r.stderr[-2000:])
    return r.stdout.strip()


def _cluster(generation):
    if generation == "debian13":
        debian13_root()
    cl = SlurmCluster(generation)
    try:
        cl.start()
    except Exception:
        logs = ""
        for f in sorted(pathlib.Path(cl.dir).rglob("*")):
            if f.is_file() and (f.suffix in (".out", ".log")):
                logs += f"--- {f.name}\n" + f.read_text(errors="replace")[-1500:]
        cl.cleanup()
        raise RuntimeError("Slurm cluster did not start:\n" + logs)
    return cl


@pytest.fixture(scope="module")
def slurm_cluster_host():
    cl = _cluster("host")
    yield cl
    cl.cleanup()


@pytest.fixture(scope="module")
def slurm_cluster_debian13():
    cl = _cluster("debian13")
    yield cl
    cl.cleanup()
