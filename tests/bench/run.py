#!/usr/bin/python3
"""pclusterfs benchmarks (issue 7), run by `make bench`; not part of `make check`.

Every number is a ratio against a baseline measured side by side in the same
run, interleaved, as the median of N repetitions:

  reads      cat status, cat nodes/*/slurm_state, stat, ls -lR through the
             mount vs the same command on a local-disk copy of the tree, vs
             `aws ec2 describe-instances` with the cluster's tag filter against
             the same local cloud, and (boot on) vs sinfo / scontrol show nodes
             on the head node. Times include fork/exec, as a shell pays them.
  scale      local cloud boot=off seeded with C clusters x 100 nodes
             (1, 10, 100 clusters): ls -lR of the whole mount, the daemon's
             RSS, AWS requests per refresh counted by the local cloud.
  freshness  instance terminated in the cloud -> nodes/<n>/ec2_state shows it,
             on a stable cluster and on one that is changing.
  commit     config commit time, split into validation, cloud checks and the
             durable write (the daemon's own "config committed" event).
  head       (root, boot, isolated mode; not in the default parts) the head
             agent's idle AWS requests a minute (the local cloud's audit of
             its role), and time from a config commit to status.json's
             fleetGenerationApplied showing the head acknowledged the spec.
  jobs       (root, boot, isolated mode; not in the default parts) on an idle
             cluster: `cp job.sh jobs/` returning -> jobs/<id>/state RUNNING,
             split into the bucket hop (until jobs/job.sh names the job id)
             and the rest (Slurm, and the view's way back); the job's end
             (Slurm's EndTime) -> state COMPLETED; against sbatch on the head
             -> squeue saying RUNNING, the same Slurm without the bucket.
  dynamic    (root, boot, isolated mode; not in the default parts) srun on
             the head on a powered-down dynamic node -> its output, split
             into Slurm's resume call, the agent's RunInstances, the boot
             and the registration with the job.

  tests/bench/run.py [--parts reads,scale,freshness,commit] [--quick] [--bin PATH]
  BENCH_QUICK=1: fewer repetitions, no booted cluster, scale up to 100 clusters still.

Results: a table on stdout, tests/bench/results/latest.json and latest.md."""
import argparse
import contextlib
import datetime
import json
import mmap
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import fixture_mount  # noqa: E402
from fixture_localcloud import AWS_CLI, LocalCloud  # noqa: E402
from fixture_mount import Mount, good_config_for, wait_for  # noqa: E402

RESULTS = os.path.join(HERE, "results")
NODES_PER_CLUSTER = 100


def now():
    return time.perf_counter()


def run_timed(cmd, **kw):
    """Wall time of one command, fork/exec included (what a shell pays)."""
    t0 = now()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    dt = now() - t0
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (cmd, r.returncode, r.stderr[-500:]))
    return dt


def interleaved(variants, reps, every=None):
    """{name: median seconds}: reps rounds; in each round every variant runs
    once (a variant named in `every` only every every[name]-th round), in an
    order rotated round by round so no variant always goes first."""
    samples = {k: [] for k in variants}
    names = list(variants)
    for i in range(reps):
        order = names[i % len(names):] + names[:i % len(names)]
        for k in order:
            if every and k in every and i % every[k]:
                continue
            samples[k].append(variants[k]())
    return {k: statistics.median(v) for k, v in samples.items() if v}, \
        {k: len(v) for k, v in samples.items()}


def ms(s):
    return "%.3f ms" % (s * 1000) if s < 0.01 else "%.1f ms" % (s * 1000)


def vm(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024.0
    return out


def requests_of(lc):
    with urllib.request.urlopen(lc.endpoint + "/_localcloud/requests", timeout=10) as f:
        return json.load(f)


def delta(after, before):
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}


def config_text(lc, initial=0, maximum=10, region="ap-northeast-1"):
    return f"""[aws]
aws_region_name = {region}

[cluster default]
key_name = lab-3-your-key
vpc_settings = public
base_os = alinux2
scheduler = slurm
initial_queue_size = {initial}
max_queue_size = {maximum}

[vpc public]
vpc_id = {lc.env["LOCALCLOUD_VPC_ID"]}
master_subnet_id = {lc.env["LOCALCLOUD_SUBNET_ID"]}
"""


def new_mount(base, lc, bucket, refresh=None, extra=()):
    opts = ["bucket=" + bucket] + (["refresh=%d" % refresh] if refresh else []) + list(extra)
    m = Mount(base, options=opts, env=lc.env, name="mnt-" + bucket[-6:])
    return m


def aws_env(lc):
    return lc.client_env()


def node_file(c, node, name):
    try:
        with open(os.path.join(c, "nodes", node, name)) as f:
            return f.read().strip()
    except OSError:
        return None


def status(c):
    try:
        with open(os.path.join(c, "status")) as f:
            return f.read().strip()
    except OSError:
        return None


# ---------------------------------------------------------------- reads


def part_reads(args, work, out):
    """Reading state through the mount vs what admins run today."""
    boot = not args.quick and os.geteuid() == 0
    reps = 15 if args.quick else 41
    lc = LocalCloud(os.path.join(work, "lc-reads"), boot=boot)
    lc.start()
    m = None
    try:
        lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
        bucket = "pcfs-bench-" + uuid.uuid4().hex[:10]
        m = new_mount(work, lc, bucket, refresh=args.refresh).start()
        c = str(m.path / "bench")
        os.mkdir(c)
        with open(os.path.join(c, "config"), "w") as f:
            f.write(config_text(lc, initial=2))
        t0 = time.monotonic()
        if boot:
            ok = wait_for(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED"), 300, 1)
            if status(c) != "CREATE_COMPLETE":
                raise RuntimeError("bench cluster did not complete: %s\n%s" % (
                    status(c), open(os.path.join(c, "events")).read()[-2000:]))
            out["create_complete_seconds"] = round(time.monotonic() - t0, 1)
        else:
            ok = wait_for(lambda: node_file(c, "head", "ec2_state") == "running", 60, 0.2)
        if not ok:
            raise RuntimeError("the head node never ran")
        # The local-disk baseline: a copy of the same tree.
        disk = os.path.join(work, "disk")
        shutil.rmtree(disk, ignore_errors=True)
        shutil.copytree(c, os.path.join(disk, "bench"))
        d = os.path.join(disk, "bench")
        env = aws_env(lc)
        aws = [AWS_CLI, "--endpoint-url", lc.endpoint, "ec2", "describe-instances",
               "--filters", "Name=tag:pclusterfs:owner,Values=" + bucket,
               "Name=tag:pclusterfs:cluster,Values=bench",
               "Name=instance-state-name,Values=pending,running,shutting-down,stopping,stopped",
               "--query", "Reservations[].Instances[].[Tags[?Key=='pclusterfs:node']|[0].Value,"
               "State.Name]", "--output", "text"]
        head_pid = None
        if boot:
            iid = node_file(c, "head", "instance_id")
            head_pid = open(os.path.join(lc.dir, "instances", iid, "pid")).read().strip()

        def on_head(*cmd):
            return ["nsenter", "-t", head_pid, "-m", "-u", "-n", "-p", "--", *cmd]

        rows = []
        aws_every = 8 if not args.quick else 5
        # 1. cluster status
        v = {"mount": lambda: run_timed(["cat", c + "/status"]),
             "disk": lambda: run_timed(["cat", d + "/status"]),
             "aws": lambda: run_timed(aws, env=env)}
        med, n = interleaved(v, reps, {"aws": aws_every})
        rows.append(("cat status", med, n))
        # 2. every node's Slurm state
        glob = "cat %s/nodes/*/slurm_state"
        v = {"mount": lambda: run_timed(["sh", "-c", glob % c]),
             "disk": lambda: run_timed(["sh", "-c", glob % d]),
             "aws": lambda: run_timed(aws, env=env)}
        every = {"aws": aws_every}
        if boot:
            v["sinfo"] = lambda: run_timed(on_head("sinfo", "-N", "-h", "-o", "%N %T"))
            v["scontrol"] = lambda: run_timed(on_head("scontrol", "show", "nodes"))
            every.update({"sinfo": 2, "scontrol": 2})
        med, n = interleaved(v, reps, every)
        rows.append(("cat nodes/*/slurm_state", med, n))
        # 3. stat and ls -lR
        v = {"mount": lambda: run_timed(["stat", c + "/status"]),
             "disk": lambda: run_timed(["stat", d + "/status"])}
        med, n = interleaved(v, reps)
        rows.append(("stat status", med, n))
        v = {"mount": lambda: run_timed(["ls", "-lR", c]),
             "disk": lambda: run_timed(["ls", "-lR", d])}
        med, n = interleaved(v, reps)
        rows.append(("ls -lR <cluster>", med, n))

        # In-process reads (no fork/exec): what FUSE itself costs.
        def py_read(p):
            def f():
                t0 = now()
                with open(p, "rb") as fh:
                    fh.read()
                return now() - t0
            return f
        v = {"mount": py_read(c + "/status"), "disk": py_read(d + "/status")}
        med, n = interleaved(v, reps * 5)
        rows.append(("open+read+close status (in-process)", med, n))

        # The same as bare system calls: Python's open() adds an isatty()
        # ioctl, one more round trip to the daemon on FUSE.
        def sys_read(p):
            def f():
                t0 = now()
                fd = os.open(p, os.O_RDONLY)
                os.read(fd, 65536)
                os.close(fd)
                return now() - t0
            return f
        v = {"mount": sys_read(c + "/status"), "disk": sys_read(d + "/status")}
        med, n = interleaved(v, reps * 5)
        rows.append(("open(2)+read(2)+close(2) status (in-process)", med, n))

        # Mapped, as Ansible's wait_for reads (direct I/O refused mmap).
        def map_read(p):
            def f():
                t0 = now()
                with open(p, "rb") as fh, mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ) as mm:
                    mm[:]
                return now() - t0
            return f
        v = {"mount": map_read(c + "/status"), "disk": map_read(d + "/status")}
        med, n = interleaved(v, reps * 5)
        rows.append(("open+mmap+close status (in-process)", med, n))
        out["reads"] = [{"what": w, "median_s": md, "n": nn} for w, md, nn in rows]
        out["reads_boot"] = boot
        if boot:
            fresh = part_freshness_boot(args, lc, c)
            out["freshness_stable"] = fresh
    finally:
        if m:
            rc = m.stop()
            if rc:
                print("warning: pclusterfs exited %d; log:\n%s" % (rc, m.log_text()[-3000:]))
        lc.release()


def part_freshness_boot(args, lc, c):
    """On the CREATE_COMPLETE cluster (refresh at its stable period, 10 s):
    terminate a compute node in the cloud, time until its ec2_state shows
    it; wait until its replacement has made the cluster complete again;
    repeat. (Nodes boot here in about 3 s, faster than the busy period, so
    the changing case is measured with boot off: part freshness.)"""
    ec2 = lc.client("ec2")
    res = []
    node = "compute-st-t2micro-2"
    old = None
    for i in range(2 if args.quick else 3):
        if old and not wait_for(lambda: node_file(c, node, "instance_id") not in (None, "", old)
                                and status(c) == "CREATE_COMPLETE", 120, 0.1):
            res.append({"cluster": "stable", "error": "no replacement completed"})
            break
        iid = node_file(c, node, "instance_id")
        st = status(c)
        t0 = now()
        ec2.terminate_instances(InstanceIds=[iid])
        ok = wait_for(lambda: node_file(c, node, "instance_id") != iid or
                      node_file(c, node, "ec2_state") in ("shutting-down", "terminated", "none"),
                      60, 0.02)
        res.append({"cluster": "stable", "status_before": st, "seconds": now() - t0 if ok else None})
        old = iid
    return res


# ---------------------------------------------------------------- scale


def seed(lc, bucket, template_bucket, clusters, nodes, ip_base, reports_every=1):
    """Writes clusters x nodes into the stopped local cloud's state: the
    template cluster's objects copied under new names, a report for every
    reports_every-th node (the head always), and an instance per node (boot
    off, running). Returns the next IP."""
    import hashlib
    from localcloud_lib import common
    s3dir = os.path.join(lc.dir, "s3")
    tdir = os.path.join(s3dir, template_bucket, "objects")
    bdir = os.path.join(s3dir, bucket, "objects")
    tmpl = []
    for n in os.listdir(tdir):
        if n.endswith(".json"):
            meta = common.read_json(os.path.join(tdir, n))
            if meta["key"].startswith("clusters/tmpl/"):
                with open(os.path.join(tdir, meta["file"] + ".data"), "rb") as f:
                    tmpl.append((meta, f.read()))
    if not tmpl:
        raise RuntimeError("no template objects")
    os.makedirs(bdir, exist_ok=True)
    t = time.time()

    def put(key, data, meta_from=None):
        h = hashlib.sha256(key.encode()).hexdigest()
        meta = dict(meta_from or {"content_type": "text/plain", "meta": {},
                                  "sse": {"x-amz-server-side-encryption": "AES256"}})
        meta.update(key=key, file=h, etag='"%s"' % hashlib.md5(data).hexdigest(),
                    size=len(data), mtime=t)
        with open(os.path.join(bdir, h + ".data"), "wb") as f:
            f.write(data)
        with open(os.path.join(bdir, h + ".json"), "w") as f:
            json.dump(meta, f)

    idir = os.path.join(lc.dir, "ec2", "instances")
    head_tmpl = None
    for n in os.listdir(idir):
        i = common.read_json(os.path.join(idir, n))
        if dict(i["tags"]).get("pclusterfs:owner") == template_bucket:
            head_tmpl = i
    ip = ip_base
    import ipaddress
    for ci in range(clusters):
        name = "c%03d" % ci
        for meta, data in tmpl:
            rest = meta["key"][len("clusters/tmpl/"):]
            if rest.startswith("reports/"):
                continue
            put("clusters/%s/%s" % (name, rest), data, meta)
        rid = common.hex_id("r-")
        for k in range(nodes):
            node = "head" if k == 0 else "compute-st-t2micro-%d" % k
            if k % reports_every == 0:
                report = ("state configuring\nstep slurm\nexit -1\n--\n"
                          "bench: seeded report of %s/%s\n" % (name, node)).encode()
                put("clusters/%s/reports/%s" % (name, node), report)
            inst = dict(head_tmpl)
            inst.update(id=common.hex_id("i-"), reservation_id=rid,
                        private_ip=str(ipaddress.ip_address(ip)), launch_time=t, running_at=t,
                        launch_index=k, terminated_at=None, client_token="", state_reason=None,
                        boot=False, user_data="",
                        tags=[["pclusterfs:cluster", name], ["pclusterfs:node", node],
                              ["pclusterfs:node-type", "HeadNode" if k == 0 else "Compute"],
                              ["pclusterfs:owner", bucket], ["Name", "%s-%s" % (name, node)]])
            ip += 1
            with open(os.path.join(idir, inst["id"] + ".json"), "w") as f:
                json.dump(inst, f)
    return ip


def part_scale(args, work, out):
    """C clusters x 100 nodes, boot off, seeded on disk."""
    import ipaddress
    sizes = [int(x) for x in args.sizes.split(",")]
    lc = LocalCloud(os.path.join(work, "lc-scale"), boot=False)
    lc.start()
    m = None
    try:
        lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
        # The template: one real cluster made through a mount, so the seeded
        # objects are exactly what the daemon writes.
        tb = "pcfs-bench-tmpl-" + uuid.uuid4().hex[:6]
        m = new_mount(work, lc, tb, refresh=2, extra=["max_instances=200"]).start()
        c = str(m.path / "tmpl")
        os.mkdir(c)
        with open(os.path.join(c, "config"), "w") as f:
            f.write(config_text(lc, initial=NODES_PER_CLUSTER - 1, maximum=NODES_PER_CLUSTER - 1))
        if not wait_for(lambda: node_file(c, "head", "ec2_state") == "running", 60, 0.2):
            raise RuntimeError("template head never ran")
        # its generated secrets exist once a launch happened
        time.sleep(1)
        m.stop()
        m = None
        lc.stop()
        ip = int(ipaddress.ip_network(lc.cidr).network_address) + 16
        buckets, reports = {}, {}
        for size in sizes:
            b = "pcfs-bench-%d-%s" % (size, uuid.uuid4().hex[:6])
            # the bucket itself: a copy of the template's bucket.json
            os.makedirs(os.path.join(lc.dir, "s3", b), exist_ok=True)
            meta = json.load(open(os.path.join(lc.dir, "s3", tb, "bucket.json")))
            meta["name"] = b
            json.dump(meta, open(os.path.join(lc.dir, "s3", b, "bucket.json"), "w"))
            t0 = now()
            # Every node's report is read once at mount (one GET each, cached
            # after): at 100 clusters that first pass would take minutes
            # against this Python local cloud, so there only every 10th node
            # (and each head) has one; the steady state reads none either way.
            every = 1 if size <= 10 else 10
            reports[size] = size * ((NODES_PER_CLUSTER - 1) // every + 1)
            ip = seed(lc, b, tb, size, NODES_PER_CLUSTER, ip, every)
            buckets[size] = b
            print("  seeded %d clusters x %d nodes (%d reports) in %.1f s" % (
                size, NODES_PER_CLUSTER, reports[size], now() - t0), flush=True)
        t0 = now()
        lc.start()
        print("  local cloud restarted in %.1f s" % (now() - t0), flush=True)
        rows = []
        for size in sizes:
            rows.append(scale_one(args, work, lc, buckets[size], size))
            rows[-1]["reports"] = reports[size]
        out["scale"] = rows
    finally:
        if m:
            m.stop()
        lc.release()


def wait_passes(lc, pages, n, timeout):
    """Requests made while n more passes end (or timeout seconds pass)."""
    b0 = requests_of(lc)
    deadline = time.monotonic() + timeout
    while True:
        d = delta(requests_of(lc), b0)
        if d.get("ec2:DescribeInstances", 0) >= n * pages or time.monotonic() > deadline:
            return d
        time.sleep(0.5)


def count_tree(path):
    n = 0
    for _, dirs, files in os.walk(path):
        n += len(dirs) + len(files)
    return n


def scale_one(args, work, lc, bucket, size):
    refresh = 5
    m = new_mount(work, lc, bucket, refresh=refresh, extra=["max_instances=200"])
    t0 = now()
    m.start(timeout=120)
    row = {"clusters": size, "nodes": size * NODES_PER_CLUSTER}
    try:
        mounted = now() - t0
        last = os.path.join(str(m.path), "c%03d" % (size - 1), "nodes")
        want = NODES_PER_CLUSTER
        ok = wait_for(lambda: os.path.isdir(last) and len(os.listdir(last)) == want, 300, 0.2)
        row["mount_s"] = round(mounted, 2)
        row["first_full_tree_s"] = round(now() - t0, 2)
        mkdir_t = now()
        os.mkdir(os.path.join(str(m.path), "probe-mkdir"))
        row["mkdir_during_refresh_s"] = round(now() - mkdir_t, 3)
        if not ok:
            row["error"] = "the tree never showed every node"
            return row
        # Let the first passes (the report cache fills) go by, then count
        # requests over whole passes: a pass makes ceil(instances/1000)
        # DescribeInstances calls, so those count the passes.
        pages_ec2 = (size * NODES_PER_CLUSTER + 999) // 1000
        want_passes = 2 if args.quick else 4
        d = wait_passes(lc, pages_ec2, 1, args.pass_timeout)
        t1 = now()
        b0 = requests_of(lc)
        d = wait_passes(lc, pages_ec2, want_passes, args.pass_timeout)
        passes = d.get("ec2:DescribeInstances", 0) / float(pages_ec2)
        row["window_s"] = round(now() - t1, 1)
        row["passes"] = passes
        if passes >= 1:
            row["requests_per_pass"] = {k: round(v / passes, 2) for k, v in sorted(d.items())}
            row["requests_per_pass_total"] = round(sum(d.values()) / passes, 2)
        else:   # a pass longer than the window: what it did so far
            row["requests_in_window"] = d
            row["requests_per_pass_total"] = ">%d (no pass ended in %.0f s)" % (
                sum(d.values()), row["window_s"])
            row["requests_per_pass"] = d
        row["pages_instances"] = pages_ec2
        row["entries"] = count_tree(str(m.path))
        # The first ls -lR meets a cold kernel cache; the next ones find the
        # names, attributes and listings the kernel kept (until a swap
        # invalidates what changed). A local-disk copy of the same tree is
        # the baseline, run interleaved with the warm ones.
        row["ls_lR_cold_s"] = run_timed(["ls", "-lR", str(m.path)])
        v = {"mount": lambda: run_timed(["ls", "-lR", str(m.path)])}
        if size == max(int(x) for x in args.sizes.split(",")):
            disk = os.path.join(work, "disk-scale")
            shutil.rmtree(disk, ignore_errors=True)
            shutil.copytree(str(m.path), disk)
            v["disk"] = lambda: run_timed(["ls", "-lR", disk])
        med, n = interleaved(v, 3 if args.quick else 7)
        row["ls_lR_s"] = med["mount"]
        if "disk" in med:
            row["ls_lR_disk_s"] = med["disk"]
            shutil.rmtree(disk, ignore_errors=True)
        mem = vm(m.proc.pid)
        row["rss_mib"] = round(mem["VmRSS"], 1)
        row["hwm_mib"] = round(mem["VmHWM"], 1)
        # commit cost at this scale
        row["commit"] = commit_costs(lc, str(m.path), 3 if args.quick else 5, "s%d" % size)
    finally:
        rc = m.stop()
        if rc:
            row["exit"] = rc
            print(m.log_text()[-2000:])
    print("  %d clusters: %s" % (size, json.dumps({k: v for k, v in row.items()
                                                    if k != "commit"})), flush=True)
    return row


# ---------------------------------------------------------------- commit

SPLIT = re.compile(r"config committed \(.*validate ([\d.]+) ms, cloud checks ([\d.]+) ms, "
                   r"write ([\d.]+) ms\)")


def commit_costs(lc, mnt, reps, prefix):
    """Times config commits (new clusters); the daemon's event splits each."""
    walls, parts = [], []
    for i in range(reps):
        c = os.path.join(mnt, "%s-commit-%d" % (prefix, i))
        os.mkdir(c)
        text = config_text(lc, initial=0)
        t0 = now()
        with open(os.path.join(c, "config"), "w") as f:
            f.write(text)
        walls.append(now() - t0)
        with open(os.path.join(c, "events")) as f:
            mm = SPLIT.search(f.read())
        if mm:
            parts.append([float(x) / 1000 for x in mm.groups()])
    res = {"n": reps, "wall_s": statistics.median(walls)}
    if parts:
        res["validate_s"] = statistics.median(p[0] for p in parts)
        res["cloud_checks_s"] = statistics.median(p[1] for p in parts)
        res["write_s"] = statistics.median(p[2] for p in parts)
    return res


def part_commit(args, work, out):
    lc = LocalCloud(os.path.join(work, "lc-commit"), boot=False)
    lc.start()
    m = None
    try:
        lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
        m = new_mount(work, lc, "pcfs-bench-commit-" + uuid.uuid4().hex[:6]).start()
        out["commit"] = commit_costs(lc, str(m.path), 5 if args.quick else 15, "k")
    finally:
        if m:
            m.stop()
        lc.release()


# ---------------------------------------------------------------- freshness (boot off)


def part_freshness(args, work, out):
    """Changing clusters (CREATE_IN_PROGRESS, boot off): terminate a head in
    the cloud, time until ec2_state shows it. A fresh cluster a sample (a
    head terminated thrice fails its cluster); the mount's default refresh."""
    lc = LocalCloud(os.path.join(work, "lc-fresh"), boot=False)
    lc.start()
    m = None
    try:
        lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
        m = new_mount(work, lc, "pcfs-bench-fresh-" + uuid.uuid4().hex[:6]).start()
        ec2 = lc.client("ec2")
        samples = []
        st = None
        for i in range(3 if args.quick else 6):
            c = str(m.path / ("fresh%d" % i))
            os.mkdir(c)
            with open(os.path.join(c, "config"), "w") as f:
                f.write(config_text(lc))
            if not wait_for(lambda: node_file(c, "head", "ec2_state") == "running", 60, 0.05):
                continue
            iid = node_file(c, "head", "instance_id")
            st = status(c)
            t0 = now()
            ec2.terminate_instances(InstanceIds=[iid])
            ok = wait_for(lambda: node_file(c, "head", "instance_id") != iid or
                          node_file(c, "head", "ec2_state") != "running", 60, 0.02)
            samples.append(now() - t0 if ok else None)
        good = [s for s in samples if s is not None]
        out["freshness_changing"] = {"status": st, "n": len(good),
                                     "median_s": statistics.median(good) if good else None,
                                     "max_s": max(good) if good else None}
    finally:
        if m:
            m.stop()
        lc.release()


# ---------------------------------------------------------------- head


def head_requests(lc, bucket, head_id, cluster):
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    from test_cluster_iam import role_name
    role = role_name(bucket, cluster, "head")
    with open(os.path.join(lc.dir, "audit.jsonl")) as f:
        entries = [json.loads(ln) for ln in f if ln.strip()]
    return [e for e in entries if e.get("instance") == head_id and e.get("role") == role]


@contextlib.contextmanager
def booted_cluster(work, part, text=None):
    """A booted local cloud in isolated mode, a mount with refresh=2 and a
    CREATE_COMPLETE cluster (of one static node, or of text(lc)'s config):
    (lc, bucket, cluster dir)."""
    lc = LocalCloud(os.path.join(work, "lc-" + part), boot=True, isolated=True)
    lc.start()
    m = None
    try:
        lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
        bucket = "pcfs-bench-%s-%s" % (part, uuid.uuid4().hex[:6])
        m = new_mount(work, lc, bucket, refresh=2).start()
        c = str(m.path / "bench")
        os.mkdir(c)
        with open(os.path.join(c, "config"), "w") as f:
            f.write(text(lc) if text else config_text(lc, initial=1))
        wait_for(lambda: status(c) in ("CREATE_COMPLETE", "CREATE_FAILED"), 300, 1)
        if status(c) != "CREATE_COMPLETE":
            raise RuntimeError("bench cluster did not complete: %s" % status(c))
        yield lc, bucket, c
    finally:
        if m:
            m.stop()
        lc.release()


def part_head(args, work, out):
    """The head's agent (isolated mode: the workstation reaches no
    instance): idle AWS requests a minute, config commit -> the head's
    acknowledgement of the new fleet spec seen in status.json."""
    if os.geteuid() != 0:
        out["head"] = {"error": "needs root (booted local cloud)"}
        return
    with booted_cluster(work, "head") as (lc, bucket, c):
        def applied():
            with open(os.path.join(c, "status.json")) as f:
                return json.load(f).get("fleetGenerationApplied")
        head_id = node_file(c, "head", "instance_id")
        window = 60 if args.quick else 120
        before = len(head_requests(lc, bucket, head_id, "bench"))
        time.sleep(window)
        idle = head_requests(lc, bucket, head_id, "bench")[before:]
        acks = []
        for i in range(2 if args.quick else 4):
            gen = applied() or 0
            t0 = now()
            with open(os.path.join(c, "config"), "w") as f:
                f.write(config_text(lc, initial=1, maximum=10 + i + 1))
            ok = wait_for(lambda: (applied() or 0) > gen, 120, 0.1)
            acks.append(now() - t0 if ok else None)
        good = [a for a in acks if a is not None]
        out["head"] = {"idle_window_s": window, "idle_requests": len(idle),
                       "idle_per_minute": round(len(idle) * 60.0 / window, 1),
                       "idle_actions": sorted({e["action"] for e in idle}),
                       "commit_to_ack_n": len(good),
                       "commit_to_ack_median_s": statistics.median(good) if good else None,
                       "commit_to_ack_max_s": max(good) if good else None}


def part_jobs(args, work, out):
    """jobs/ latencies on an idle cluster (isolated mode), against sbatch
    and squeue on the head itself."""
    if os.geteuid() != 0:
        out["jobs"] = {"error": "needs root (booted local cloud)"}
        return
    script = "#!/bin/sh\nsleep 3\n"
    with booted_cluster(work, "jobs") as (lc, bucket, c):
        wait_for(lambda: node_file(c, "compute-st-t2micro-1", "slurm_state") == "idle", 120, 0.5)
        head = node_file(c, "head", "instance_id")
        src = os.path.join(work, "job.sh")
        with open(src, "w") as f:
            f.write(script)

        def read(*parts):
            try:
                with open(os.path.join(c, "jobs", *parts)) as f:
                    return f.read().strip()
            except OSError:
                return None
        rows, base = [], []
        for i in range(2 if args.quick else 4):
            name = "bench-%d.sh" % i
            t0 = now()
            subprocess.run(["cp", src, os.path.join(c, "jobs", name)], check=True)
            t_cp = now()
            if not wait_for(lambda: (read(name) or "").startswith("job "), 120, 0.1):
                raise RuntimeError("jobs/%s: %s" % (name, read(name)))
            t_ack = now()
            job = read(name).split()[1]
            wait_for(lambda: read(job, "state") in ("RUNNING", "COMPLETING", "COMPLETED"), 120, 0.1)
            t_run = now()
            wait_for(lambda: read(job, "state") == "COMPLETED", 120, 0.1)
            t_done = time.time()
            end = json.loads(read(job, "job.json") or "{}").get("endTime")
            ended = (datetime.datetime.strptime(end, "%Y-%m-%dT%H:%M:%SZ")
                     .replace(tzinfo=datetime.timezone.utc).timestamp() if end else None)
            rows.append({"cp_s": t_cp - t0, "bucket_hop_s": t_ack - t_cp,
                         "cp_to_running_s": t_run - t_cp, "rest_s": t_run - t_ack,
                         "end_to_completed_s": t_done - ended if ended else None})
            # the same Slurm, asked on the head: sbatch -> squeue says RUNNING
            r = lc.in_instance(head, "cd /home/ec2-user && printf '%s' > b.sh && chown ec2-user b.sh"
                               " && runuser -u ec2-user -- sh -c 't0=$(date +%%s.%%N); "
                               "id=$(sbatch --parsable b.sh); until squeue -h -j $id -o %%T | "
                               "grep -q RUNNING; do sleep 0.05; done; t1=$(date +%%s.%%N); "
                               "echo $t0 $t1'" % script.replace("\n", "\\n"))
            if r.returncode == 0 and len(r.stdout.split()) == 2:
                a, b = (float(x) for x in r.stdout.split())
                base.append(b - a)
            time.sleep(4)   # both jobs end: the cluster is idle for the next round

        def med(key):
            vals = [x[key] for x in rows if x[key] is not None]
            return round(statistics.median(vals), 2) if vals else None
        out["jobs"] = {"n": len(rows), "cp_s": med("cp_s"), "bucket_hop_s": med("bucket_hop_s"),
                       "rest_s": med("rest_s"), "cp_to_running_s": med("cp_to_running_s"),
                       "end_to_completed_s": med("end_to_completed_s"),
                       "head_sbatch_to_running_s":
                           round(statistics.median(base), 2) if base else None}


SLURM_LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\] (.*)$")


def slurm_log_times(text, needle, after):
    """Times (epoch s, the instances' clock is UTC) of Slurm log lines
    holding needle, at or after `after`."""
    out = []
    for line in text.splitlines():
        m = SLURM_LOG_TIME.match(line)
        if m and needle in m.group(2):
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            if t >= after - 0.001:
                out.append(t)
    return out


def part_dynamic(args, work, out):
    """From `srun -w <powered-down dynamic node> hostname` on the head to
    its output (isolated mode, the guide's cluster), split into Slurm's
    resume call (srun -> slurmctld's power_save waking the node), the
    agent (-> RunInstances, from the local cloud's audit), the boot
    (-> the node's slurmd starting) and the registration and the job (->
    srun returning). The local cloud's EC2 boot is a namespace's start, so
    all of it is pclusterfs's and Slurm's own."""
    if os.geteuid() != 0:
        out["dynamic"] = {"error": "needs root (booted local cloud)"}
        return

    def text(lc):
        return config_text(lc, initial=0).replace(
            "scheduler = slurm\n", "scheduler = slurm\nscaling_settings = quick\n") + \
            "\n[scaling quick]\nscaledown_idletime = 1\n"
    rows = []
    with booted_cluster(work, "dynamic", text) as (lc, bucket, c):
        head = node_file(c, "head", "instance_id")
        wait_for(lambda: node_file(c, "compute-dy-t2micro-2", "slurm_state") == "powered_down",
                 120, 0.5)
        for i in range(1 if args.quick else 3):
            node = "compute-dy-t2micro-%d" % (i + 1)
            t0 = time.time()
            r = lc.in_instance(head, "cd /tmp && su ec2-user -c 'timeout 120 srun -w %s "
                               "hostname'" % node, timeout=150)
            t_end = time.time()
            if r.returncode != 0 or r.stdout.strip() != node:
                raise RuntimeError("srun on %s: %s %s" % (node, r.stdout, r.stderr))
            ctld = lc.in_instance(head, "cat /var/log/slurm/slurmctld.log").stdout
            woke = slurm_log_times(ctld, "waking nodes %s" % node, t0)
            runs = [e["time"] for e in head_requests(lc, bucket, head, "bench")
                    if e.get("action") == "RunInstances" and e["time"] >= t0]
            iid = [i["InstanceId"] for res in lc.aws_json(
                "ec2", "describe-instances", "--filters",
                "Name=tag:pclusterfs:node,Values=" + node,
                "Name=instance-state-name,Values=pending,running")["Reservations"]
                for i in res["Instances"]]
            slurmd = lc.in_instance(iid[0], "cat /var/log/slurm/slurmd.log").stdout if iid else ""
            started = slurm_log_times(slurmd, "started", t0)
            if not (woke and runs and started):
                raise RuntimeError("%s: no times (woke %s, runs %s, slurmd %s)" % (
                    node, woke, runs, started))
            rows.append({"total_s": t_end - t0, "resume_call_s": woke[0] - t0,
                         "agent_s": runs[0] - woke[0], "boot_s": started[0] - runs[0],
                         "registration_and_job_s": t_end - started[0]})

    def med(key):
        return round(statistics.median(x[key] for x in rows), 2)
    out["dynamic"] = {"n": len(rows), **{k: med(k) for k in rows[0]}}


# ---------------------------------------------------------------- report


def render(out):
    lines = []
    add = lines.append
    add("pclusterfs benchmarks, %s (%s)" % (out["when"], out["binary"]))
    if len(set(out.get("part_when", {}).values())) > 1:
        add("")
        add("Parts and the runs they come from: %s." % ", ".join(
            "%s %s" % kv for kv in sorted(out["part_when"].items())))
    add("")
    if "reads" in out:
        add("Reading state (median wall time, fork/exec included; ratio = baseline / mount)")
        add("")
        add("| question | mount | local disk | mount/disk | aws CLI | aws/mount | sinfo on head |"
            " scontrol on head |")
        add("|---|---|---|---|---|---|---|---|")
        for r in out["reads"]:
            md = r["median_s"]
            mt = md["mount"]
            cells = [r["what"], ms(mt), ms(md["disk"]), "%.2f" % (mt / md["disk"])]
            cells += [ms(md["aws"]), "%.0fx" % (md["aws"] / mt)] if "aws" in md else ["", ""]
            cells += ["%s (%.0fx)" % (ms(md["sinfo"]), md["sinfo"] / mt)] if "sinfo" in md \
                else [""]
            cells += ["%s (%.0fx)" % (ms(md["scontrol"]), md["scontrol"] / mt)] \
                if "scontrol" in md else [""]
            add("| " + " | ".join(cells) + " |")
        add("")
        add("Repetitions per row: %s" % "; ".join(
            "%s: %s" % (r["what"], ", ".join("%s %d" % kv for kv in r["n"].items()))
            for r in out["reads"]))
        if not out.get("reads_boot"):
            add("No booted cluster in this run (--quick or not root): no sinfo/scontrol column.")
        add("")
    if "scale" in out:
        add("Scale (local cloud boot=off, seeded; 100 nodes a cluster)")
        add("")
        add("| clusters | nodes | reports | tree entries | first full tree | ls -lR whole mount"
            " (first run) | RSS (peak) | AWS requests / refresh | of which |")
        add("|---|---|---|---|---|---|---|---|---|")
        for r in out["scale"]:
            if "error" in r:
                add("| %d | %d | %s | %s |" % (r["clusters"], r["nodes"], r.get("reports", ""),
                                              r["error"]))
                continue
            per = r["requests_per_pass"]
            add("| %d | %d | %s | %d | %.1f s | %s (%s)%s | %.1f MiB (%.1f) | %s | %s |" % (
                r["clusters"], r["nodes"], r.get("reports", ""), r["entries"],
                r["first_full_tree_s"], ms(r["ls_lR_s"]), ms(r["ls_lR_cold_s"]),
                "; local disk %s" % ms(r["ls_lR_disk_s"]) if "ls_lR_disk_s" in r else "",
                r["rss_mib"],
                r["hwm_mib"], r["requests_per_pass_total"],
                ", ".join("%s %g" % (k.split(":")[1], v) for k, v in per.items())))
        add("")
        add("Requests are counted by the local cloud over %s of refreshes; EC2 pages a pass: "
            "instances/1000 rounded up." % ", ".join("%.0f" % r.get("passes", 0)
                                                    for r in out["scale"]))
        add("")
    commits = []
    if "commit" in out:
        commits.append(("small (1 cluster)", out["commit"]))
    for r in out.get("scale", []):
        if "commit" in r:
            commits.append(("%d clusters x 100 nodes" % r["clusters"], r["commit"]))
    if commits:
        add("Config commit (new cluster; median)")
        add("")
        add("| mount holds | close() returns after | validate | cloud checks | durable write |"
            " rest (events, snapshot) |")
        add("|---|---|---|---|---|---|")
        for label, cm in commits:
            if "validate_s" in cm:
                rest = cm["wall_s"] - cm["validate_s"] - cm["cloud_checks_s"] - cm["write_s"]
                add("| %s | %s | %s | %s | %s | %s |" % (
                    label, ms(cm["wall_s"]), ms(cm["validate_s"]), ms(cm["cloud_checks_s"]),
                    ms(cm["write_s"]), ms(rest)))
            else:
                add("| %s | %s | (no split: this binary does not report it) | | | |" % (
                    label, ms(cm["wall_s"])))
        add("")
    if "freshness_changing" in out or "freshness_stable" in out:
        add("Freshness (instance terminated in the cloud -> ec2_state shows it)")
        add("")
        for f in out.get("freshness_stable", []):
            add("- %s cluster (%s): %s" % (f["cluster"], f.get("status_before"),
                                           "%.2f s" % f["seconds"] if f.get("seconds")
                                           else f.get("error", "not seen")))
        f = out.get("freshness_changing")
        if f:
            add("- changing cluster (%s, boot off): median %s, max %s over %d" % (
                f["status"], "%.2f s" % f["median_s"] if f["median_s"] else "-",
                "%.2f s" % f["max_s"] if f["max_s"] else "-", f["n"]))
        add("")
    if "head" in out:
        h = out["head"]
        add("The head's agent (isolated mode)")
        add("")
        if "error" in h:
            add("not measured: %s" % h["error"])
        else:
            add("| idle AWS requests a minute (limit 20) | commit -> head's ack, median | max | n |")
            add("|---|---|---|---|")
            add("| %.1f (%d in %d s: %s) | %s | %s | %d |" % (
                h["idle_per_minute"], h["idle_requests"], h["idle_window_s"],
                ", ".join(h["idle_actions"]),
                "%.1f s" % h["commit_to_ack_median_s"] if h["commit_to_ack_median_s"] else "-",
                "%.1f s" % h["commit_to_ack_max_s"] if h["commit_to_ack_max_s"] else "-",
                h["commit_to_ack_n"]))
        add("")
    if "jobs" in out:
        j = out["jobs"]
        add("jobs/ (isolated mode, idle cluster; medians)")
        add("")
        if "error" in j:
            add("not measured: %s" % j["error"])
        else:
            def s(v):
                return "%.2f s" % v if v is not None else "-"
            base = j["head_sbatch_to_running_s"]
            ratio = ("%.0fx" % (j["cp_to_running_s"] / base)
                     if base and j["cp_to_running_s"] else "-")
            add("| cp returns | cp -> RUNNING | bucket hop | Slurm + view | end -> COMPLETED "
                "| sbatch on the head -> RUNNING | ratio | n |")
            add("|---|---|---|---|---|---|---|---|")
            add("| %s | %s | %s | %s | %s | %s | %s | %d |" % (
                s(j["cp_s"]), s(j["cp_to_running_s"]), s(j["bucket_hop_s"]), s(j["rest_s"]),
                s(j["end_to_completed_s"]), s(base), ratio, j["n"]))
        add("")
    if "dynamic" in out:
        d = out["dynamic"]
        add("A job on a powered-down dynamic node (isolated mode, the guide's cluster; medians)")
        add("")
        if "error" in d:
            add("not measured: %s" % d["error"])
        else:
            add("| srun -> output | Slurm's resume call | agent -> RunInstances | boot -> slurmd "
                "| registration + job | n |")
            add("|---|---|---|---|---|---|")
            add("| %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %d |" % (
                d["total_s"], d["resume_call_s"], d["agent_s"], d["boot_s"],
                d["registration_and_job_s"], d["n"]))
            add("")
            add("ParallelCluster users report 4 to 5 minutes on EC2 (aws-parallelcluster issue "
                "6479); the local cloud's instance boot is a namespace's start, so all of the "
                "total here is pclusterfs's and Slurm's own (goal: under 10 s).")
        add("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="reads,scale,freshness,commit")
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1")
    ap.add_argument("--bin", default=os.environ.get("PCLUSTERFS_BIN",
                                                     os.path.join(ROOT, "pclusterfs")))
    ap.add_argument("--refresh", type=int, default=None, help="refresh= of the reads mount")
    ap.add_argument("--out", default=os.path.join(RESULTS, "latest"))
    ap.add_argument("--sizes", default="1,10,100", help="clusters of the scale part")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other parts' results of the last run (--out) and replace "
                    "only the parts run now")
    ap.add_argument("--pass-timeout", type=float, default=120,
                    help="longest wait for refresh passes at scale")
    args = ap.parse_args()
    fixture_mount.BIN = os.path.abspath(args.bin)
    parts = args.parts.split(",")
    work = tempfile.mkdtemp(prefix="pcfs-bench-")
    out = {"when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "binary": fixture_mount.BIN, "quick": args.quick, "parts": parts}
    if args.merge and os.path.exists(args.out + ".json"):
        with open(args.out + ".json") as f:
            last = json.load(f)
        keys = {"reads": ("reads", "reads_boot", "freshness_stable", "create_complete_seconds"),
                "scale": ("scale",), "freshness": ("freshness_changing",),
                "commit": ("commit",), "head": ("head",), "jobs": ("jobs",),
                "dynamic": ("dynamic",)}
        for p, ks in keys.items():
            if p not in parts:
                for k in ks:
                    if k in last:
                        out[k] = last[k]
                if any(k in last for k in ks):
                    out.setdefault("part_when", {})[p] = \
                        last.get("part_when", {}).get(p, last.get("when"))
    for p in parts:
        out.setdefault("part_when", {})[p] = out["when"]
    t0 = now()
    try:
        for p in parts:
            t = now()
            print("== %s" % p, flush=True)
            {"reads": part_reads, "scale": part_scale, "freshness": part_freshness,
             "commit": part_commit, "head": part_head, "jobs": part_jobs,
             "dynamic": part_dynamic}[p](args, work, out)
            out.setdefault("seconds", {})[p] = round(now() - t, 1)
    finally:
        out["total_seconds"] = round(now() - t0, 1)
        text = render(out)
        print()
        print(text)
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out + ".json", "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
        with open(args.out + ".md", "w") as f:
            f.write(text + "\n")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
