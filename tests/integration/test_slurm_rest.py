"""The slurmrest library (slurm/) against real Slurm clusters of both
generations: Debian 12's Slurm 22.05 (OpenAPI v0.0.38) and, marked slow,
Debian 13's Slurm 24.11 (v0.0.40..v0.0.42) run from a Debian 13 root.
The library is driven through tests/tools/slurmprobe; every answer is
compared with what scontrol/sinfo/squeue say on the same cluster."""
import json
import re
import signal
import subprocess
import time

import pytest

from fixture_slurm import parse_scontrol_line, wait_for

GENERATIONS = ["host", pytest.param("debian13", marks=pytest.mark.slow)]
EXPECTED_VERSION = {"host": "v0.0.38", "debian13": "v0.0.42"}
# The POWER suffixes sinfo %T puts on idle nodes, as the library spells them.
POWER_WORDS = {"~": "powered_down", "#": "powering_up", "%": "powering_down",
               "!": "power_down"}


@pytest.fixture(scope="module", params=GENERATIONS)
def cluster(request):
    cl = request.getfixturevalue(f"slurm_cluster_{request.param}")
    if not getattr(cl, "scenario_ready", False):
        cl.prepare_scenario()
        cl.scenario_ready = True
    return cl


def probe(slurmprobe, cl, *args, key=None, timeout_ms=5000, user="slurm",
          max_version=None):
    keyfile = cl.write_client_key(key)
    extra = ["--max-version", max_version] if max_version else []
    r = subprocess.run([slurmprobe, "--url", cl.rest_url, "--user", user,
                        "--key-file", keyfile, "--timeout-ms", str(timeout_ms),
                        "--connect-timeout-ms", "2000"] + extra + list(args),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode in (0, 2), r.stderr
    out = json.loads(r.stdout)
    assert (r.returncode == 2) == ("error" in out), r.stdout
    if "error" in out:
        out["logs"] = cl.log_tail()
    return out


def ok(out):
    assert "error" not in out, f"{out['error']}\n{out.get('logs')}"
    return out


def sinfo_words(cl):
    """{node: word} from `sinfo -N -o "%N %T"`, with the power suffixes of
    idle nodes spelt out and other suffixes dropped."""
    res = {}
    for line in cl.run("sinfo", "-h", "-N", "-o", "%N %T").splitlines():
        name, word = line.split()
        suffix = word[-1] if word[-1] in "~#%!*$@^-+" else ""
        base = word[:-1] if suffix else word
        if base == "idle" and suffix in POWER_WORDS:
            base = POWER_WORDS[suffix]
        res[name] = base
    return res


def test_version_discovery(slurmprobe, cluster):
    out = probe(slurmprobe, cluster, "version")
    assert out["version"] == EXPECTED_VERSION[cluster.generation]


def test_ping(slurmprobe, cluster):
    out = ok(probe(slurmprobe, cluster, "ping"))
    ctl = out["controllers"]
    assert len(ctl) == 1
    assert ctl[0]["hostname"] == f"{cluster.name}ctl"
    assert ctl[0]["mode"] == "primary"
    assert ctl[0]["responding"] is True


def assert_nodes_match_scontrol(nodes, cluster):
    mine = {n["name"]: n for n in nodes}
    theirs = cluster.show_nodes()
    assert sorted(mine) == sorted(theirs) == ["n1", "n2", "n3", "n4"]
    for name, sc in theirs.items():
        n = mine[name]
        state = sc["State"].split("+")
        assert n["base"] == state[0], name
        assert sorted(n["flags"]) == sorted(state[1:]), name
        assert n["cpus"] == int(sc["CPUTot"]), name
        assert n["alloc_cpus"] == int(sc["CPUAlloc"]), name
        assert n["real_memory"] == int(sc["RealMemory"]), name
        assert n["alloc_memory"] == int(sc["AllocMem"]), name
        assert n["partitions"] == sc["Partitions"].split(","), name
        assert n["address"] == sc["NodeAddr"], name
        assert n["hostname"] == sc["NodeHostName"], name
        reason = re.sub(r" \[[^]]*\]$", "", sc.get("Reason", ""))
        assert n["reason"] == reason, name
        assert (n["boot_time"] > 0) == (sc["BootTime"] != "None"), name
        assert (n["slurmd_start_time"] > 0) == \
            (sc["SlurmdStartTime"] != "None"), name
    return mine


def test_nodes_match_scontrol(slurmprobe, cluster):
    mine = assert_nodes_match_scontrol(
        ok(probe(slurmprobe, cluster, "nodes"))["nodes"], cluster)
    # The four cases the acceptance names, spelt out.
    assert mine["n1"]["state"] == "idle" and mine["n1"]["flags"] == ["CLOUD"]
    assert mine["n1"]["address"] == "127.0.0.1"
    assert mine["n2"]["state"] in ("mixed", "allocated")
    assert mine["n2"]["alloc_cpus"] == 1
    assert mine["n3"]["state"] == "drained"
    assert "DRAIN" in mine["n3"]["flags"]
    assert mine["n3"]["reason"] == "disk check"
    assert mine["n4"]["state"] == "powered_down"
    assert set(mine["n4"]["flags"]) == {"CLOUD", "POWERED_DOWN"}


def test_state_words_match_sinfo(slurmprobe, cluster):
    out = ok(probe(slurmprobe, cluster, "nodes"))
    assert {n["name"]: n["state"] for n in out["nodes"]} == sinfo_words(cluster)


@pytest.mark.parametrize("version", ["v0.0.40", "v0.0.41"])
def test_older_api_versions(slurmprobe, cluster, version):
    """Slurm 23.11 offers v0.0.40/41 at most; 24.11 still serves them."""
    if cluster.generation == "host":   # a ceiling: v0.0.38 is below it
        assert ok(probe(slurmprobe, cluster, "version",
                        max_version=version))["version"] == "v0.0.38"
        return
    assert ok(probe(slurmprobe, cluster, "version",
                    max_version=version))["version"] == version
    out = ok(probe(slurmprobe, cluster, "nodes-twice", max_version=version))
    assert_nodes_match_scontrol(out["nodes"], cluster)
    # These versions cannot parse update_time: the client stops sending it.
    assert out["second"]["nodes"] == out["nodes"]
    assert out["second_unchanged"] is False
    assert len(ok(probe(slurmprobe, cluster, "partitions",
                        max_version=version))["partitions"]) == 2
    assert ok(probe(slurmprobe, cluster, "jobs",
                    max_version=version))["jobs"][0]["nodes"] == "n2"
    assert ok(probe(slurmprobe, cluster, "ping", max_version=version)
              )["controllers"][0]["responding"] is True


def test_partitions_match_scontrol(slurmprobe, cluster):
    out = ok(probe(slurmprobe, cluster, "partitions"))
    mine = {p["name"]: p for p in out["partitions"]}
    theirs = {}
    for line in cluster.run("scontrol", "-o", "show", "partition").splitlines():
        rec = parse_scontrol_line(line)
        theirs[rec["PartitionName"]] = rec
    assert sorted(mine) == sorted(theirs) == ["batch", "other"]
    for name, sc in theirs.items():
        assert mine[name]["nodes"] == sc["Nodes"]
        assert mine[name]["state"] == sc["State"]
        assert mine[name]["total_cpus"] == int(sc["TotalCPUs"])
        assert mine[name]["total_nodes"] == int(sc["TotalNodes"])


def test_jobs_match_squeue(slurmprobe, cluster):
    out = ok(probe(slurmprobe, cluster, "jobs"))
    squeue = cluster.run("squeue", "-h", "-o", "%i|%j|%u|%T|%N|%P|%C")
    theirs = [line.split("|") for line in squeue.splitlines()]
    mine = [[str(j["job_id"]), j["name"], j["user"], j["state"], j["nodes"],
             j["partition"], str(j["cpus"])] for j in out["jobs"]]
    assert mine == theirs
    assert mine[0][1:5] == ["probe-job", "root", "RUNNING", "n2"]


def test_repeated_poll(slurmprobe, cluster):
    # Two polls with one client: the second asks only for changes where
    # the version allows it. Nodes may change between the polls (a job
    # just started), so a few tries are allowed to see an "unchanged".
    for _ in range(10 if cluster.generation == "debian13" else 1):
        out = ok(probe(slurmprobe, cluster, "nodes-twice"))
        if out["second_unchanged"]:
            break
        time.sleep(0.5)
    assert out["second"]["nodes"] == out["nodes"]
    if cluster.generation == "debian13":
        # v0.0.42 answers 304 to update_time when nothing changed.
        assert out["last_update"] > 0
        assert out["second_unchanged"] is True
    else:
        # v0.0.38 gives no time of its own, so every poll is a full one.
        assert out["second_unchanged"] is False


def test_wrong_key_is_an_authentication_error(slurmprobe, cluster):
    wrong = b"not the cluster key, 32 bytes.."
    for cmd in ("version", "nodes"):
        out = probe(slurmprobe, cluster, cmd, key=wrong)
        if cmd == "version" and "error" not in out:
            continue   # Slurm 24.11 serves its OpenAPI document to anyone
        err = out["error"]
        assert err["errno"] == "EACCES", err
        assert "authentication failed" in err["message"]
        assert "slurm" in err["message"]        # names the user
        assert "eyJ" not in err["message"]      # never the token
        assert "not the cluster key" not in err["message"]


def test_drain_and_resume(slurmprobe, cluster):
    if cluster.generation == "host":
        for args in (("drain", "n1", "probe"), ("resume", "n1")):
            err = probe(slurmprobe, cluster, *args)["error"]
            assert err["errno"] == "EOPNOTSUPP"
            assert "not supported by this Slurm" in err["message"]
            assert "v0.0.38" in err["message"]
        return
    assert probe(slurmprobe, cluster, "drain", "n1", "api drain")["ok"]
    sc = cluster.show_nodes()["n1"]
    assert "DRAIN" in sc["State"].split("+")
    assert sc["Reason"].startswith("api drain")
    n1 = {n["name"]: n
          for n in ok(probe(slurmprobe, cluster, "nodes"))["nodes"]}["n1"]
    assert n1["state"] == "drained" and n1["reason"] == "api drain"
    assert probe(slurmprobe, cluster, "resume", "n1")["ok"]
    sc = cluster.show_nodes()["n1"]
    assert "DRAIN" not in sc["State"].split("+")
    err = probe(slurmprobe, cluster, "drain", "nosuch", "x")["error"]
    assert err["errno"] == "ENOENT"
    assert "nosuch" in err["message"]


def test_delete(slurmprobe, cluster):
    # A dynamic node (slurmd -Z) joins; the client lists it as such.
    cluster.start_dynamic_node("d1")
    try:
        nodes = {n["name"]: n
                 for n in ok(probe(slurmprobe, cluster, "nodes"))["nodes"]}
        assert "DYNAMIC_NORM" in nodes["d1"]["flags"]
        assert nodes["d1"]["state"] == "idle"
        assert nodes["d1"]["partitions"] == []
        if cluster.generation == "host":
            err = probe(slurmprobe, cluster, "delete", "d1")["error"]
            assert err["errno"] == "EOPNOTSUPP"
            assert "not supported by this Slurm" in err["message"]
            return
        # n4 is a node of slurm.conf, not a dynamic one: Slurm refuses.
        err = probe(slurmprobe, cluster, "delete", "n4")["error"]
        assert err["errno"] == "EINVAL"
        assert "only dynamic nodes" in err["message"]
        assert ok(probe(slurmprobe, cluster, "delete", "d1"))["ok"]
        assert "d1" not in cluster.show_nodes()
        names = [n["name"] for n in ok(probe(slurmprobe, cluster,
                                             "nodes"))["nodes"]]
        assert "d1" not in names and "n1" in names
        err = probe(slurmprobe, cluster, "delete", "d1")["error"]
        assert err["errno"] == "ENOENT"
    finally:
        cluster.stop_node("d1")


def test_slow_then_stopped_slurmrestd(slurmprobe, cluster):
    """Runs last in this module: it stops slurmrestd and starts it again."""
    # Slow: slurmrestd frozen; the kernel still accepts the connection.
    cluster.signal("slurmrestd", signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        out = probe(slurmprobe, cluster, "nodes", timeout_ms=1500)
        took = time.monotonic() - t0
    finally:
        cluster.signal("slurmrestd", signal.SIGCONT)
    assert out["error"]["errno"] == "ETIMEDOUT"
    assert 1.4 <= out["seconds"] < 2.5 and took < 5
    # Stopped: nothing listens any more.
    cluster.stop_rest()
    out = probe(slurmprobe, cluster, "ping", timeout_ms=1500)
    assert out["error"]["errno"] == "ECONNREFUSED"
    assert out["seconds"] < 1.5
    assert cluster.rest_url in out["error"]["message"]
    cluster.start_rest()
    wait_for(lambda: "error" not in probe(slurmprobe, cluster, "ping"), 20,
             "slurmrestd back")
