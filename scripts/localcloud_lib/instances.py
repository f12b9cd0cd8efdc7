"""Booting instances as Linux namespaces, and the network they live on.

Network: a bridge holding the host's address of the subnet, the VPC CIDR
routed `unreachable` (kept after stop, so no packet for an instance address
ever leaves the machine), and per instance a network namespace
lc-<bridge>-<instance id> joined to the bridge by a veth pair.

Boot: nsenter --net=/run/netns/NS unshare --mount --uts --pid --time
--boottime -UPTIME --fork --mount-proc --propagation private
--kill-child=SIGKILL boot.sh DIR (`ip netns exec` is avoided: it remounts
/sys and slurmd then fails; the time namespace makes the instance's uptime
start at its boot, as Slurm's power saving expects of a resumed node).
Killing the PID namespace's first process ends every process in it."""
import hashlib
import os
import pwd
import signal
import subprocess
import threading

from . import netfilter

BOOT_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot.sh")


def boottime_offset():
    """Seconds to take off the host's uptime so that an instance's starts at
    about 1 s (the kernel refuses a boot time in the future)."""
    with open("/proc/uptime") as f:
        return max(0, int(float(f.read().split()[0])) - 1)


def ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def netns_prefix(bridge):
    return "lc-%s-" % bridge


def existing_netns(bridge):
    try:
        names = os.listdir("/run/netns")
    except FileNotFoundError:
        return []
    return [n for n in names if n.startswith(netns_prefix(bridge))]


def hold_bridge(net, d):
    """Takes the machine-wide lock of the bridge name for this process's life,
    so two local clouds never share (and tear down) one bridge. Returns the
    lock file, or None when another local cloud holds it."""
    import fcntl
    os.makedirs("/run/lock", exist_ok=True)
    f = open("/run/lock/localcloud-bridge-%s.lock" % net.bridge, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    f.truncate(0)
    f.write(d + "\n")
    f.flush()
    return f


def bridge_holder(net):
    try:
        with open("/run/lock/localcloud-bridge-%s.lock" % net.bridge) as f:
            return f.read().strip()
    except FileNotFoundError:
        return "?"


def setup_network(net):
    """Creates the bridge (idempotent) and the unreachable route of the VPC."""
    ip("route", "replace", "unreachable", str(net.vpc))
    if ip("link", "show", net.bridge, check=False).returncode != 0:
        ip("link", "add", net.bridge, "type", "bridge")
    # Bridged IPv4 passes the inet hooks, with conntrack, so the security
    # groups (netfilter.set_ingress) see instance-to-instance traffic too.
    ip("link", "set", net.bridge, "type", "bridge", "nf_call_iptables", "1")
    addr = "%s/%d" % (net.host_ip, net.subnet.prefixlen)
    if addr not in ip("-o", "addr", "show", "dev", net.bridge).stdout:
        ip("addr", "add", addr, "dev", net.bridge)
    ip("link", "set", net.bridge, "up")


def address_in_use_elsewhere(net):
    """An interface other than our bridge with an address in our VPC CIDR
    (another local cloud, or a real network): refuse to clash with it."""
    import ipaddress
    out = ip("-o", "-4", "addr", "show").stdout
    for line in out.splitlines():
        f = line.split()
        dev, cidr = f[1], f[3]
        if dev != net.bridge and ipaddress.ip_interface(cidr).ip in net.vpc:
            return "%s has %s" % (dev, cidr)
    return None


def teardown_network(net):
    for ns in existing_netns(net.bridge):
        ip("netns", "del", ns, check=False)
    ip("link", "del", net.bridge, check=False)
    netfilter.teardown(net)


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return []


def kill_boot_tree(pid):
    """Kills an instance given its unshare pid: the namespace's init first
    (the kernel then ends everything in the PID namespace), then unshare."""
    for c in _children(pid):
        try:
            os.kill(c, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _is_our_boot(pid, inst_dir):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            args = f.read().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return BOOT_SH.encode() in args and inst_dir.encode() in args


class Launcher:
    def __init__(self, d, net, log):
        self.dir = os.path.join(d, "instances")
        self.net = net
        self.log = log
        self.lock = threading.Lock()
        self.procs = {}        # id -> Popen
        self.ended = set()     # ids whose termination was requested
        self.endpoint = None   # set once the server listens
        self.imds_endpoint = None
        self.boot_threads = {} # id -> thread setting the instance up
        self.pins = {}         # id -> (veth, address) pinned on the host
        # What the security groups let in (ec2.EC2: its .lock and .sgs); None
        # when nothing is enforced (the `stop` command's clean-up).
        self.ingress_source = None

    def refresh_ingress(self):
        """Rewrites the host's rules of what may reach each instance on the
        bridge, from its groups (called when groups or instances change)."""
        src = self.ingress_source
        if src is None:
            return
        with src.lock:                    # one rewrite at a time, from settled state
            with self.lock:
                addresses = {iid: a for iid, (_, a) in self.pins.items()}
            netfilter.set_ingress(self.net, addresses.values(),
                                  src.sgs.ingress_rules(addresses))

    def default_uid(self):
        """The uid of every instance's default user. A real image makes it
        the same on every node (1000: cloud-init's first user); here the image
        is the host seen through an overlay, whose next free uid moves as the
        host gains users, so the local cloud picks one at its start, above
        where the host's own users go, and every instance takes it."""
        if getattr(self, "_default_uid", None) is None:
            uid = 10000
            while True:
                try:
                    pwd.getpwuid(uid)
                except KeyError:
                    break
                uid += 1
            self._default_uid = uid
        return self._default_uid

    def cpu_list(self, inst):
        """The host CPUs an instance may use: as many as its type's vCPUs,
        starting at a CPU that rotates with its address (spreads the load)."""
        cores = os.cpu_count() or 1
        n = max(1, min(inst.get("vcpus", cores), cores))
        start = int(inst["private_ip"].split(".")[-1]) % cores
        return ",".join(str((start + k) % cores) for k in range(n))

    def inst_dir(self, iid):
        return os.path.join(self.dir, iid)

    def netns(self, iid):
        return netns_prefix(self.net.bridge) + iid

    def veth(self, iid):
        return "lv" + hashlib.sha1((self.net.bridge + iid).encode()).hexdigest()[:12]

    def reap_leftovers(self, ids):
        """After a crash: ends boot processes and namespaces of instances a
        previous run left behind."""
        for iid in ids:
            d = self.inst_dir(iid)
            try:
                pid = int(open(os.path.join(d, "pid")).read())
            except (FileNotFoundError, ValueError):
                continue
            if _is_our_boot(pid, d):
                kill_boot_tree(pid)
        for ns in existing_netns(self.net.bridge):
            ip("netns", "del", ns, check=False)

    def launch(self, inst, user_data, public_key):
        t = threading.Thread(target=self._boot, args=(inst, user_data, public_key), daemon=True)
        with self.lock:
            self.boot_threads[inst["id"]] = t
        t.start()

    def _boot(self, inst, user_data, public_key):
        iid = inst["id"]
        d = self.inst_dir(iid)
        # Root-only: inside the instance this is /run/localcloud, and it holds
        # the user data (what stands for the metadata service's copy of it).
        os.makedirs(d, mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)
        console = open(os.path.join(d, "console.log"), "ab")
        try:
            hn = "ip-" + inst["private_ip"].replace(".", "-")
            for name, data in (("hostname", hn + "\n"), ("private_ip", inst["private_ip"] + "\n"),
                               ("endpoint", (self.endpoint or "") + "\n"),
                               ("imds", (self.imds_endpoint or "") + "\n"),
                               ("cpus", self.cpu_list(inst) + "\n"),
                               ("default_user", inst.get("default_user", "ec2-user") + "\n"),
                               ("default_uid", "%d\n" % self.default_uid()),
                               ("user-data", user_data), ("authorized_keys",
                                                          (public_key + "\n") if public_key else "")):
                fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with open(fd, "wb") as f:
                    f.write(data if isinstance(data, bytes) else data.encode())
            ns, veth = self.netns(iid), self.veth(iid)
            ip("netns", "add", ns)
            ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            # pinned before it joins the bridge: no frame leaves it unchecked
            netfilter.pin(self.net, veth, inst["private_ip"])
            with self.lock:
                self.pins[iid] = (veth, inst["private_ip"])
            self.refresh_ingress()        # its groups guard it before it joins the bridge
            ip("link", "set", veth, "master", self.net.bridge, "up")
            ip("-n", ns, "addr", "add", "%s/%d" % (inst["private_ip"], self.net.subnet.prefixlen),
               "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "route", "add", "default", "via", self.net.host_ip)
            with self.lock:
                if iid in self.ended:
                    raise RuntimeError("terminated while booting")
                env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "LANG": "C.UTF-8", "HOME": "/root"}
                p = subprocess.Popen(
                    ["nsenter", "--net=/run/netns/" + ns, "unshare", "--mount", "--uts",
                     "--pid", "--time", "--boottime", "-%d" % boottime_offset(), "--fork",
                     "--mount-proc", "--propagation", "private",
                     "--kill-child=SIGKILL", "/bin/bash", BOOT_SH, d],
                    stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                    env=env, start_new_session=True, cwd="/")
                self.procs[iid] = p
                with open(os.path.join(d, "pid"), "w") as f:
                    f.write("%d\n" % p.pid)
            self.log("instance %s booting (pid %d, %s)" % (iid, p.pid, inst["private_ip"]))
        except Exception as e:  # the instance stays listed; its console says why
            console.write(("[localcloud] boot failed: %s\n" % e).encode())
            self.log("instance %s boot failed: %s" % (iid, e))
        finally:
            console.close()

    def terminate(self, inst, wait=False):
        with self.lock:
            self.ended.add(inst["id"])
        t = threading.Thread(target=self._end, args=(inst["id"],), daemon=True)
        t.start()
        if wait:
            t.join()

    def _end(self, iid):
        with self.lock:
            t = self.boot_threads.pop(iid, None)
        if t is not None:                 # let a boot in progress finish first
            t.join(timeout=30)
        with self.lock:
            p = self.procs.pop(iid, None)
        if p is not None:
            kill_boot_tree(p.pid)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.log("instance %s: boot process did not end" % iid)
        ip("netns", "del", self.netns(iid), check=False)
        with self.lock:
            pinned = self.pins.pop(iid, None)
        if pinned:
            netfilter.unpin(self.net, *pinned)
            self.refresh_ingress()        # its address leaves the groups it was in
        try:
            os.unlink(os.path.join(self.inst_dir(iid), "pid"))
        except FileNotFoundError:
            pass
        self.log("instance %s ended" % iid)

    def end_all(self, ids):
        ts = []
        for iid in ids:
            with self.lock:
                self.ended.add(iid)
            t = threading.Thread(target=self._end, args=(iid,))
            t.start()
            ts.append(t)
        for t in ts:
            t.join()
