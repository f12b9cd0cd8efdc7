"""A cluster's IAM roles, as pclusterfs makes them (fs/control/roles.h), seen
from outside with the aws CLI and the local cloud's IAM: made before the
head launches (the head runs with its instance profile), gone after rmdir
and after a failed creation, one set only after a kill -9 between making
them and launching; EC2 not seeing a new profile yet is retried. With boot
off: no instance runs, the checks are on the API alone."""
import hashlib
import json
import os

import pytest

from fixture_mount import Mount, bucket_mount, wait_for
from test_crash import expire_lease

S3_READ = "s3_read_resource = arn:aws:s3:::some-bucket/*\n"


def role_name(bucket, cluster, kind):
    """The documented rule: pcfs-<cluster>-<10 hex of sha256(bucket/cluster)>-<kind>,
    the cluster cut so the whole fits 64 characters."""
    h = hashlib.sha256(("%s/%s" % (bucket, cluster)).encode()).hexdigest()[:10]
    room = 64 - len("pcfs--") - 10 - 1 - len(kind)
    return "pcfs-%s-%s-%s" % (cluster[:room], h, kind)


def owned_roles(lc, bucket):
    """The roles carrying this bucket's owner tag, with their tags."""
    out = {}
    iam = lc.client("iam")
    for r in iam.list_roles()["Roles"]:
        try:
            tags = iam.list_role_tags(RoleName=r["RoleName"])["Tags"]
        except iam.exceptions.NoSuchEntityException:
            continue                 # deleted between the two calls
        tags = {t["Key"]: t["Value"] for t in tags}
        if tags.get("pclusterfs:owner") == bucket:
            out[r["RoleName"]] = tags
    return out


def profiles(lc, names):
    """{profile: [its roles]} of those names that exist."""
    have = {p["InstanceProfileName"]: [r["RoleName"] for r in p["Roles"]]
            for p in lc.client("iam").list_instance_profiles()["InstanceProfiles"]}
    return {n: have[n] for n in names if n in have}


def instances(lc, bucket, cluster, node="head"):
    out = lc.client("ec2").describe_instances(Filters=[
        {"Name": "tag:pclusterfs:owner", "Values": [bucket]},
        {"Name": "tag:pclusterfs:cluster", "Values": [cluster]},
        {"Name": "tag:pclusterfs:node", "Values": [node]}])
    return [i for r in out["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] not in ("terminated", "shutting-down")]


def config(m, extra=""):
    return m.good.replace("scheduler = slurm\n", "scheduler = slurm\n" + extra)


@pytest.fixture
def lc(shared_localcloud):
    yield shared_localcloud
    shared_localcloud.clear_faults()


def test_roles_live_and_die_with_the_cluster(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    head, compute = role_name(bucket, "lab3", "head"), role_name(bucket, "lab3", "compute")
    try:
        # EC2 does not see the new profile for the first two launches.
        lc.fault("RunInstances:iam-propagation:before:2")
        (m / "lab3").mkdir()
        (m / "lab3" / "config").write_text(config(m, S3_READ))
        assert wait_for(lambda: instances(lc, bucket, "lab3"), timeout=30), \
            (m / "lab3" / "events").read_text()
        inst = instances(lc, bucket, "lab3")
        assert len(inst) == 1
        assert inst[0]["IamInstanceProfile"]["Arn"].endswith(":instance-profile/" + head)
        events = (m / "lab3" / "events").read_text()
        assert "does not see the new instance profile yet" in events, events
        assert (m / "lab3" / "status").read_text() == "CREATE_IN_PROGRESS\n"
        roles = owned_roles(lc, bucket)
        assert sorted(roles) == sorted([head, compute])
        got = lc.aws_json("iam", "get-instance-profile", "--instance-profile-name", head)
        assert [r["RoleName"] for r in got["InstanceProfile"]["Roles"]] == [head]
        assert roles[head]["pclusterfs:cluster"] == "lab3"
        assert profiles(lc, [head, compute]) == {head: [head], compute: [compute]}
        pol = lc.aws_json("iam", "get-role-policy", "--role-name", head, "--policy-name",
                          "pclusterfs-head")["PolicyDocument"]
        assert "arn:aws:iam::*:role/" + compute in json.dumps(pol)
        read = lc.aws_json("iam", "get-role-policy", "--role-name", compute, "--policy-name",
                           "S3Read")["PolicyDocument"]
        assert read["Statement"][0]["Resource"] == ["arn:aws:s3:::some-bucket/*"]
        assert lc.aws_json("iam", "list-role-policies", "--role-name", compute)[
            "PolicyNames"] == ["S3Read"]

        os.rmdir(m / "lab3")
        assert wait_for(lambda: not (m / "lab3").exists(), timeout=40)
        assert owned_roles(lc, bucket) == {}
        assert profiles(lc, [head, compute]) == {}
    finally:
        assert m.stop() == 0, m.log_text()


def test_a_failed_creation_removes_its_roles(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    head = role_name(bucket, "lab3", "head")
    try:
        lc.fault("RunInstances:ice:before:0")    # EC2 never has the capacity
        (m / "lab3").mkdir()
        (m / "lab3" / "config").write_text(config(m))
        assert wait_for(lambda: (m / "lab3" / "status").read_text() == "CREATE_FAILED\n",
                        timeout=40), (m / "lab3" / "events").read_text()
        # the event follows the removal: wait for it, then look
        assert wait_for(lambda: "removed the cluster's IAM roles and instance profiles (2)" in
                        (m / "lab3" / "events").read_text(), timeout=20), \
            (m / "lab3" / "events").read_text()
        assert owned_roles(lc, bucket) == {}
        assert profiles(lc, [head]) == {}
    finally:
        assert m.stop() == 0, m.log_text()


def test_kill_between_roles_and_launch_leaves_one_set(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, name="m0", options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    names = [role_name(bucket, "lab3", k) for k in ("head", "compute")]
    m2 = None
    try:
        lc.fault("RunInstances:reset:before:0")  # no launch gets through
        (m / "lab3").mkdir()
        (m / "lab3" / "config").write_text(config(m, S3_READ))
        assert wait_for(lambda: len(profiles(lc, names)) == 2, timeout=30)
        m.kill()                                 # SIGKILL: roles made, no head
        assert instances(lc, bucket, "lab3") == []
        lc.clear_faults()
        expire_lease(lc, bucket)
        m2 = Mount(tmp_path, options=m.options, env=m.env, name="m1").start()
        assert wait_for(lambda: instances(lc, bucket, "lab3"), timeout=30), \
            (m2 / "lab3" / "events").read_text()
        assert sorted(owned_roles(lc, bucket)) == sorted(names)
        assert profiles(lc, names) == {n: [n] for n in names}
        assert len(instances(lc, bucket, "lab3")) == 1
        os.rmdir(m2 / "lab3")
        assert wait_for(lambda: owned_roles(lc, bucket) == {}, timeout=40)
    finally:
        if m2:
            assert m2.stop() == 0, m2.log_text()
