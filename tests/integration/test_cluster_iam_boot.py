"""The head's role as pclusterfs makes it, proven least privilege from
inside a real head node: one booted local cloud, one cluster (lab3, with
s3_read_resource so it has a compute role) next to an instance of lab30,
shared by every check. The head's credentials come from the IMDS inside
the head as root; the local cloud checks every request they sign against
the role's policy. The compute node is launched by the head itself with
those credentials, as its agent will."""
import json

import pytest

from fixture_localcloud import LocalCloud
from fixture_mount import bucket_mount, wait_for
from test_cluster_iam import S3_READ, config, instances, role_name
from test_localcloud_iam import CREDS, error_code, role_client

pytestmark = pytest.mark.boot


class Cluster:
    def __init__(self, lc, tmp):
        self.lc, self.m = lc, None
        lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
        self.s3 = lc.client("s3")
        self.s3.create_bucket(Bucket="some-bucket", CreateBucketConfiguration={
            "LocationConstraint": lc.region})
        self.s3.put_object(Bucket="some-bucket", Key="data/x", Body=b"shared")
        self.m = bucket_mount(tmp, lc, options=["refresh=1"]).start()
        self.bucket = self.m.options[0].split("=", 1)[1]
        try:
            self._create(lc)
        except BaseException:
            self.m.stop()
            raise
        # The workstation's part is done: unmounted, its controller cannot
        # take the compute node the head launches below for one to drop.
        rc, self.m = self.m.stop(), None
        assert rc == 0

    def _create(self, lc):
        (self.m / "lab30").mkdir()
        self.image = lc.image_id()
        self.other = lc.client("ec2").run_instances(
            ImageId=self.image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": "pclusterfs:cluster", "Value": "lab30"},
                {"Key": "pclusterfs:owner", "Value": self.bucket}]}])["Instances"][0]["InstanceId"]
        (self.m / "lab3").mkdir()
        self.config = config(self.m, S3_READ)
        (self.m / "lab3" / "config").write_text(self.config)
        assert wait_for(lambda: instances(lc, self.bucket, "lab3"), timeout=60), \
            (self.m / "lab3" / "events").read_text()
        self.head = instances(lc, self.bucket, "lab3")[0]["InstanceId"]
        # The bootstrap's first step keeps the IMDS from every user but root.
        assert wait_for(lambda: "uid-owner" in lc.in_instance(
            self.head, "iptables -w -S OUTPUT 2>/dev/null").stdout, timeout=90)
        r = lc.in_instance(self.head, CREDS)
        assert r.returncode == 0, r
        self.creds = json.loads(r.stdout)
        self.compute_role = role_name(self.bucket, "lab3", "compute")

    def key(self, cluster, rest):
        return "clusters/%s/%s" % (cluster, rest)

    def as_head(self, service):
        return role_client(self.lc, self.creds, service)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    lc = LocalCloud(str(tmp_path_factory.mktemp("localcloud")), boot=True)
    c = None
    try:
        lc.start()
        c = Cluster(lc, tmp_path_factory.mktemp("mnt"))
        yield c
    finally:
        lc.release()


def booted(lc, iid):
    try:
        return lc.in_instance(iid, "true").returncode == 0
    except (OSError, IndexError):     # not started yet
        return False


def run_args(c, tags=None, itype="t2.micro", profile=None):
    tags = tags if tags is not None else {
        "pclusterfs:cluster": "lab3", "pclusterfs:node": "compute-st-t2micro-1",
        "pclusterfs:node-type": "Compute", "pclusterfs:owner": c.bucket,
        "pclusterfs:attempt": "1", "Name": "lab3-compute-st-t2micro-1"}
    args = dict(ImageId=c.image, InstanceType=itype, MinCount=1, MaxCount=1,
                KeyName="lab-3-your-key", SubnetId=c.lc.subnet_id,
                TagSpecifications=[{"ResourceType": "instance", "Tags": [
                    {"Key": k, "Value": v} for k, v in tags.items()]}])
    if profile:
        args["IamInstanceProfile"] = {"Name": profile}
    return args


def test_the_head_role_refuses_what_the_head_must_not_do(cluster):
    c = cluster
    ident = c.as_head("sts").get_caller_identity()
    assert ":assumed-role/%s/%s" % (role_name(c.bucket, "lab3", "head"), c.head) in ident["Arn"]
    ec2, s3, iam = c.as_head("ec2"), c.as_head("s3"), c.as_head("iam")
    assert error_code(ec2.terminate_instances, InstanceIds=[c.other]) == "UnauthorizedOperation"
    assert error_code(ec2.run_instances, **run_args(c, tags={"Name": "x"})) == \
        "UnauthorizedOperation"
    assert error_code(ec2.run_instances, **run_args(c, tags={
        "pclusterfs:cluster": "lab30", "pclusterfs:owner": c.bucket})) == "UnauthorizedOperation"
    assert error_code(ec2.run_instances, **run_args(c, itype="t2.small")) == \
        "UnauthorizedOperation"
    assert error_code(ec2.run_instances, **run_args(
        c, profile=role_name(c.bucket, "lab3", "head"))) == "UnauthorizedOperation"
    for rest in ("config", "hooks/pre/10-evil.sh", "generation"):
        assert error_code(s3.put_object, Bucket=c.bucket, Key=c.key("lab3", rest),
                          Body=b"x") == "AccessDenied", rest
    assert error_code(s3.get_object, Bucket=c.bucket, Key=c.key("lab30", "cluster")) == \
        "AccessDenied"
    assert error_code(s3.list_objects_v2, Bucket=c.bucket, Prefix="clusters/lab30/") == \
        "AccessDenied"
    assert error_code(iam.list_roles) == "AccessDenied"
    assert error_code(iam.get_role, RoleName=c.compute_role) == "AccessDenied"
    # the workstation's config is intact
    assert c.s3.get_object(Bucket=c.bucket, Key=c.key("lab3", "config"))["Body"].read() \
        .decode() == c.config
    assert c.lc.client("ec2").describe_instances(InstanceIds=[c.other])[
        "Reservations"][0]["Instances"][0]["State"]["Name"] == "running"


def test_the_head_role_allows_what_the_head_will_need(cluster):
    c = cluster
    ec2, s3 = c.as_head("ec2"), c.as_head("s3")
    assert any(i["InstanceId"] == c.head for r in ec2.describe_instances()["Reservations"]
               for i in r["Instances"])
    assert s3.get_object(Bucket=c.bucket, Key=c.key("lab3", "config"))["Body"].read()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=c.bucket, Prefix="clusters/lab3/")
            .get("Contents", [])]
    assert c.key("lab3", "config") in keys
    s3.put_object(Bucket=c.bucket, Key=c.key("lab3", "head/events"), Body=b"from the head\n")
    s3.put_object(Bucket=c.bucket, Key=c.key("lab3", "head/slurm/nodes.json"), Body=b"{}")
    # A compute node, as the agent will launch it: its cluster's tags, the
    # config's type, the compute role; and terminated by the head.
    iid = ec2.run_instances(**run_args(c, profile=c.compute_role))["Instances"][0]["InstanceId"]
    try:
        assert wait_for(lambda: booted(c.lc, iid), timeout=60)
        r = c.lc.in_instance(iid, CREDS)
        assert r.returncode == 0, r
        comp = json.loads(r.stdout)
        assert comp["AccessKeyId"] != c.creds["AccessKeyId"]
        # The compute node's IMDS knows its own role only, not the head's.
        head_role = role_name(c.bucket, "lab3", "head")
        r = c.lc.in_instance(iid, CREDS.replace("$C$R", "$C" + head_role))
        assert r.returncode != 0 and "SecretAccessKey" not in r.stdout, r
        assert role_client(c.lc, comp, "sts").get_caller_identity()["Arn"].endswith(
            "assumed-role/%s/%s" % (c.compute_role, iid))
        # s3_read_resource = arn:aws:s3:::some-bucket/*: that, and nothing else.
        cs3 = role_client(c.lc, comp, "s3")
        assert cs3.get_object(Bucket="some-bucket", Key="data/x")["Body"].read() == b"shared"
        assert error_code(cs3.put_object, Bucket="some-bucket", Key="data/y", Body=b"y") == \
            "AccessDenied"
        assert error_code(cs3.get_object, Bucket=c.bucket, Key=c.key("lab3", "config")) == \
            "AccessDenied"
        assert error_code(role_client(c.lc, comp, "ec2").describe_instances) == \
            "UnauthorizedOperation"
    finally:
        ec2.terminate_instances(InstanceIds=[iid])


def test_no_credentials_for_users_on_the_head(cluster):
    r = cluster.lc.in_instance(cluster.head, CREDS, nobody=True)
    assert r.returncode != 0 and "SecretAccessKey" not in r.stdout, r
