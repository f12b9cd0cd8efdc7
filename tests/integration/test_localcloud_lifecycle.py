"""Start/stop of the local cloud, and instances that boot for real."""
import json
import os
import subprocess
import time

import pytest

from fixture_localcloud import CLI, PYTHON, REPO

# Independent of the pclusterfs binary: run once, not again under sanitizers.
pytestmark = pytest.mark.slow

SLURM_USER_DATA = r"""#!/bin/bash
set -ux
echo "AWS variables: $(env | grep '^AWS_' | cut -d= -f1 | tr '\n' ' ')."
touch /etc/PROBE
touch REPO/PROBE
HN=$(hostname)
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 700 /etc/munge; chmod 400 /etc/munge/munge.key
runuser -u munge -- /usr/sbin/munged
mkdir -p /etc/slurm /var/spool/slurmd /var/spool/slurmctld /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=lc
SlurmctldHost=$HN
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
NodeName=$HN CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
/usr/sbin/slurmctld
/usr/sbin/slurmd
for i in $(seq 1 60); do sinfo -h -o %T | grep -q idle && break; sleep 0.5; done
echo "SRUN_OUTPUT=$(timeout 60 srun -N1 hostname)"
"""


IMDS_USER_DATA = """#!/bin/sh
sleep 1000 &
E=${AWS_EC2_METADATA_SERVICE_ENDPOINT%/}
T=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' $E/latest/api/token)
echo "NPROC=$(nproc)"
echo "IMDS=$(curl -sf -H "X-aws-ec2-metadata-token: $T" $E/latest/meta-data/instance-id)"
echo "ROLE=$(curl -s -o /dev/null -w %{http_code} -H "X-aws-ec2-metadata-token: $T" \
  $E/latest/meta-data/iam/security-credentials/)"
"""


def netns_inode(lc, iid):
    return os.stat("/run/netns/lc-%s-%s" % (lc.bridge, iid)).st_ino


def procs_in_netns(ino):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink("/proc/%s/ns/net" % p) == "net:[%d]" % ino:
                    out.append(int(p))
            except OSError:
                pass
    return out


def leftovers(lc):
    """Namespaces, bridge, mounts or processes the cloud may have left."""
    found = []
    if os.path.isdir("/run/netns"):
        found += [n for n in os.listdir("/run/netns") if n.startswith("lc-%s-" % lc.bridge)]
    if subprocess.run(["ip", "link", "show", lc.bridge], capture_output=True).returncode == 0:
        found.append("bridge " + lc.bridge)
    with open("/proc/self/mounts") as f:
        found += [line for line in f if lc.dir in line]
    r = subprocess.run(["pgrep", "-f", lc.dir], capture_output=True, text=True)
    found += r.stdout.split()
    return found


def test_cli_start_idempotent_status_env_stop(localcloud):
    lc = localcloud
    r = subprocess.run([PYTHON, CLI, "start", "--dir", lc.dir], capture_output=True, text=True)
    assert r.returncode == 0 and "already running" in r.stdout
    r = subprocess.run([PYTHON, CLI, "status", "--dir", lc.dir], capture_output=True, text=True)
    assert r.returncode == 0 and lc.endpoint in r.stdout
    r = subprocess.run([PYTHON, CLI, "env", "--dir", lc.dir, "--region", "us-east-1"],
                       capture_output=True, text=True)
    assert "export AWS_REGION=us-east-1" in r.stdout and "AWS_ENDPOINT_URL=" in r.stdout
    assert "LOCALCLOUD_VPC_ID=vpc-" in r.stdout
    r = subprocess.run([PYTHON, CLI, "--help"], capture_output=True, text=True)
    assert "Fault SPEC" in r.stdout
    lc.stop()
    r = subprocess.run([PYTHON, CLI, "status", "--dir", lc.dir], capture_output=True, text=True)
    assert r.returncode == 3 and "stopped" in r.stdout
    assert leftovers(lc) == []
    # the VPC stays unreachable from the host after stop
    routes = subprocess.run(["ip", "route", "show", "type", "unreachable"], capture_output=True,
                            text=True).stdout
    assert lc.cidr in routes


def test_two_clouds_never_share_a_bridge(localcloud, tmp_path):
    lc = localcloud
    r = subprocess.run([PYTHON, CLI, "start", "--dir", str(tmp_path / "other"), "--bridge",
                        lc.bridge, "--cidr", "10.250.0.0/16"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0 and "in use by another local cloud" in r.stderr
    r = subprocess.run([PYTHON, CLI, "stop", "--dir", str(tmp_path / "other")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert lc.aws_json("ec2", "describe-vpcs")["Vpcs"]          # ours is untouched
    r = subprocess.run([PYTHON, CLI, "start", "--dir", str(tmp_path / "third"), "--bridge",
                        "lcfxclash", "--cidr", lc.cidr], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0 and "clashes" in r.stderr
    assert subprocess.run(["ip", "link", "show", "lcfxclash"],
                          capture_output=True).returncode != 0


def test_state_survives_stop_and_start(localcloud):
    lc = localcloud
    lc.aws("s3", "mb", "s3://keep-1")
    lc.aws("s3", "cp", "-", "s3://keep-1/dir/obj", input="persisted\n")
    lc.aws("ec2", "create-key-pair", "--key-name", "kept")
    iid = lc.aws_json("ec2", "run-instances", "--image-id", lc.image_id(), "--instance-type",
                      "t2.micro")["Instances"][0]["InstanceId"]
    time.sleep(lc.pending_delay + 0.1)
    lc.stop()
    lc.start()
    assert lc.aws("s3", "cp", "s3://keep-1/dir/obj", "-").stdout == "persisted\n"
    assert [k["KeyName"] for k in lc.aws_json("ec2", "describe-key-pairs")["KeyPairs"]] == ["kept"]
    inst = lc.aws_json("ec2", "describe-instances", "--instance-ids", iid)[
        "Reservations"][0]["Instances"][0]
    assert inst["State"]["Name"] == "terminated"
    assert inst["StateReason"]["Code"] == "Server.InternalError"


@pytest.mark.boot
def test_instance_boots_slurm_and_terminates_cleanly(localcloud_boot, tmp_path):
    lc = localcloud_boot
    lc.aws("ec2", "create-key-pair", "--key-name", "boot-key")
    ud = tmp_path / "ud.sh"
    probe = "x-localcloud-probe-" + os.path.basename(lc.dir)   # the test's /etc/x
    assert not os.path.exists("/etc/" + probe)
    ud.write_text(SLURM_USER_DATA.replace("PROBE", probe).replace("REPO", REPO))
    inst = lc.aws_json("ec2", "run-instances", "--image-id", lc.image_id(), "--instance-type",
                       "t2.micro", "--key-name", "boot-key", "--user-data",
                       "file://" + str(ud))["Instances"][0]
    iid, ip = inst["InstanceId"], inst["PrivateIpAddress"]
    hostname = "ip-" + ip.replace(".", "-")
    m = lc.wait_console(iid, r"SRUN_OUTPUT=(\S*)", timeout=90)
    assert m.group(1) == hostname
    console = lc.console(iid)
    # a clean environment, but for where the metadata service is
    assert "AWS variables: AWS_EC2_METADATA_SERVICE_ENDPOINT ." in console
    assert not os.path.exists("/etc/" + probe)          # copy-on-write root
    assert not os.path.exists(os.path.join(REPO, probe))
    assert os.path.exists(os.path.join(lc.dir, "instances", iid, "fs", "etc-upper", probe))
    upper_keys = os.path.join(lc.dir, "instances", iid, "fs", "root-upper", ".ssh",
                              "authorized_keys")
    # as cloud-init leaves root's: the key, to say which user to log in as
    assert 'Please login as the user \\"ec2-user\\"' in open(upper_keys).read()
    assert 'exit 142" ssh-rsa ' in open(upper_keys).read()
    # the host reaches the instance at its private address (slurmctld's port)
    import socket
    socket.create_connection((ip, 6817), timeout=5).close()
    ino = netns_inode(lc, iid)
    procs = procs_in_netns(ino)
    names = {open("/proc/%d/comm" % p).read().strip() for p in procs if os.path.exists(
        "/proc/%d" % p)}
    assert {"munged", "slurmctld", "slurmd"} <= names
    lc.aws("ec2", "terminate-instances", "--instance-ids", iid)
    deadline = time.time() + 10
    while time.time() < deadline and (procs_in_netns(ino) or os.path.exists(
            "/run/netns/lc-%s-%s" % (lc.bridge, iid))):
        time.sleep(0.1)
    assert procs_in_netns(ino) == []
    assert not os.path.exists("/run/netns/lc-%s-%s" % (lc.bridge, iid))


@pytest.mark.boot
def test_stop_ends_booted_instances(localcloud_boot):
    lc = localcloud_boot
    c = lc.client("ec2")
    res = c.run_instances(ImageId=lc.image_id(), InstanceType="t2.micro", MinCount=2,
                          MaxCount=2, UserData=IMDS_USER_DATA)
    ids = [i["InstanceId"] for i in res["Instances"]]
    for iid in ids:
        assert lc.wait_console(iid, r"IMDS=(\S+)", timeout=30).group(1) == iid
        assert lc.console(iid).count("NPROC=1") == 1         # t2.micro: 1 vCPU
        # no instance profile, no role credentials (bootstrap needs no IAM role)
        assert lc.wait_console(iid, r"ROLE=(\d+)", timeout=10).group(1) == "404"
    inodes = [netns_inode(lc, iid) for iid in ids]
    assert all(procs_in_netns(i) for i in inodes)
    lc.stop()
    assert [procs_in_netns(i) for i in inodes] == [[], []]
    assert leftovers(lc) == []
    lc.start()
    got = lc.client("ec2").describe_instances(InstanceIds=ids)
    assert {i["State"]["Name"] for r in got["Reservations"] for i in r["Instances"]} == \
        {"terminated"}


@pytest.mark.boot
def test_start_after_a_crash_ends_orphans(localcloud_boot):
    lc = localcloud_boot
    c = lc.client("ec2")
    iam = lc.client("iam")        # the profile must exist, and hold a role
    iam.create_role(RoleName="node-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "ec2.amazonaws.com"}}]}))
    iam.create_instance_profile(InstanceProfileName="node-role")
    iam.add_role_to_instance_profile(InstanceProfileName="node-role", RoleName="node-role")
    iid = c.run_instances(ImageId=lc.image_id(), InstanceType="t2.micro", MinCount=1,
                          MaxCount=1, UserData=IMDS_USER_DATA,
                          IamInstanceProfile={"Name": "node-role"})["Instances"][0]["InstanceId"]
    lc.wait_console(iid, r"IMDS=i-", timeout=30)
    assert lc.wait_console(iid, r"ROLE=(\d+)", timeout=10).group(1) == "200"
    ino = netns_inode(lc, iid)
    assert procs_in_netns(ino)
    import signal
    pid = json.load(open(os.path.join(lc.dir, "server.json")))["pid"]
    os.kill(pid, signal.SIGKILL)                  # the server dies, its instance lives on
    while os.path.exists("/proc/%d" % pid) and open("/proc/%d/stat" % pid).read().split()[2] != "Z":
        time.sleep(0.05)
    assert procs_in_netns(ino)
    lc.started = False
    lc.start()                                    # recovery ends the orphan
    assert procs_in_netns(ino) == []
    st = lc.client("ec2").describe_instances(InstanceIds=[iid])
    assert st["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"
