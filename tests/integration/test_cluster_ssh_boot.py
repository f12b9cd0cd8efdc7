"""Logging in to a cluster as v2 allowed (issue 17), booted for real in the
local cloud's normal mode: from the host, ssh with the key pair's private
key logs in to the head as ec2-user (alinux2) and runs sinfo, a wrong key
is refused; from the head, ec2-user reaches a compute node by its Slurm
name without a password (the cluster's own key); a port the groups do not
open is refused from the host although something listens on it, while
another node of the cluster reaches it (slurmrestd's 6820 included); an
ssh_from that leaves the host out makes ssh from the host fail; a compute
node whose instance is terminated leaves Slurm by the head's agent; after
rmdir no group of the cluster is left."""
import json
import os
import subprocess

import pytest

from fixture_mount import bucket_mount
from test_cluster_secgroups import group_name, owned
from test_lifecycle import on_node, status, wait_for
from test_localcloud_isolated import host_connects
from test_localcloud_secgroups import save_key, ssh

pytestmark = pytest.mark.boot

C1, C2 = "compute-st-t2micro-1", "compute-st-t2micro-2"


def config(lc, initial, ssh_from="0.0.0.0/0"):
    return f"""[aws]
aws_region_name = ap-northeast-1

[cluster default]
key_name = lab-3-your-key
vpc_settings = public
base_os = alinux2
scheduler = slurm
initial_queue_size = {initial}

[vpc public]
vpc_id = {lc.env["LOCALCLOUD_VPC_ID"]}
master_subnet_id = {lc.env["LOCALCLOUD_SUBNET_ID"]}
ssh_from = {ssh_from}
"""


def instance_of(c, node):
    try:
        return (c / "nodes" / node / "instance_id").read_text().strip()
    except FileNotFoundError:
        return None


def slurm_nodes(lc, head):
    """The static nodes Slurm lists (the dynamic ones stay, powered down)."""
    r = on_node(lc, head, "sinfo", "-h", "-N", "-o", "%N")
    return sorted(set(n for n in r.stdout.split() if "-dy-" not in n)) \
        if r.returncode == 0 else None


def test_log_in_ssh_between_nodes_groups_and_gone_nodes(localcloud_boot, tmp_path):
    lc = localcloud_boot
    key = save_key(lc, "lab", lc.aws_json("ec2", "create-key-pair", "--key-name",
                                          "lab-3-your-key")["KeyMaterial"])
    wrong = os.path.join(lc.dir, "wrong")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", wrong], check=True)
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    c = m / "lab3"
    try:
        c.mkdir()
        (c / "config").write_text(config(lc, 2))
        assert wait_for(lambda: status(c) == "CREATE_COMPLETE"), (c / "events").read_text()
        hn = json.loads((c / "status.json").read_text())["headNode"]
        head, head_ip = hn["instanceId"], hn["privateIpAddress"]
        assert hn["sshUser"] == "ec2-user" and head_ip, hn

        # From the host: the key pair logs in as the image's user and runs sinfo.
        r = ssh(key, hn["sshUser"], head_ip, "id -un; sinfo -h -N -o %N")
        assert r.returncode == 0, r
        assert r.stdout.split()[0] == "ec2-user" and {C1, C2} <= set(r.stdout.split()), r
        r = ssh(wrong, "ec2-user", head_ip, "true")
        assert r.returncode == 255 and "Permission denied" in r.stderr, r

        # From the head, as ec2-user: a compute node by name, no password.
        hop = "su - ec2-user -c 'ssh -o BatchMode=yes -o ConnectTimeout=5 %s hostname'" % C1
        assert wait_for(lambda: lc.in_instance(head, hop).stdout == C1 + "\n", timeout=60), \
            lc.in_instance(head, hop)
        r = lc.in_instance(head, "stat -c '%U %a' /home/ec2-user/.ssh/id_ecdsa")
        assert r.stdout == "ec2-user 600\n", r

        # A port the groups do not open: refused from the host although a
        # listener is bound, reached by another node of the cluster.
        lc.in_instance(head, "setsid python3 -m http.server 8080 >/dev/null 2>&1 < /dev/null &")
        c1 = instance_of(c, C1)
        probe = "curl -s -m 3 -o /dev/null -w %%{http_code} http://%s:8080/" % head_ip
        assert wait_for(lambda: lc.in_instance(c1, probe).stdout == "200", timeout=30)
        assert not host_connects(head_ip, 8080)
        assert not host_connects(head_ip, 6820)        # slurmrestd: the cluster's only
        assert lc.in_instance(c1, "curl -s -m 3 -o /dev/null -w %%{http_code} "
                                  "http://%s:6820/openapi" % head_ip).stdout == "401"

        # A compute node's instance terminated: the head's agent takes it out of Slurm.
        (c / "config").write_text(config(lc, 1))
        assert wait_for(lambda: slurm_nodes(lc, head) == [C1], timeout=150), \
            (slurm_nodes(lc, head), lc.in_instance(head, "tail -n 20 /var/log/pclusterfs-agent.log"))
        assert "from Slurm" not in (c / "events").read_text()   # not the workstation's doing

        # ssh_from that leaves the host out: ssh from the host is refused.
        (c / "config").write_text(config(lc, 1, ssh_from="192.0.2.0/24"))
        hg = group_name(bucket, "lab3", "head")
        assert wait_for(lambda: [r["CidrIp"] for p in owned(lc, bucket)[hg]["IpPermissions"]
                                 for r in p["IpRanges"]] == ["192.0.2.0/24"], timeout=60)
        r = ssh(key, "ec2-user", head_ip, "true")
        assert r.returncode == 255 and "timed out" in r.stderr, r

        os.rmdir(c)
        assert wait_for(lambda: not c.exists(), timeout=120)
        assert owned(lc, bucket) == {}
    finally:
        assert m.stop() == 0, m.log_text()
