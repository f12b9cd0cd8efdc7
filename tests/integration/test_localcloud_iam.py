"""The local cloud's IAM: the API through Debian's aws CLI, instance profiles
on RunInstances (and EC2's propagation error, injected), and, with an
instance booted for real, its role's credentials from the IMDS (root only,
its own only) and the policy evaluation of every request signed with them."""
import json
import subprocess
import time

import botocore.config
import botocore.exceptions
import botocore.session
import pytest

from fixture_localcloud import CLI, PYTHON, LocalCloud

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
TAG = "parallelcluster:cluster-name"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def error_code(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response["Error"]["Code"]


def make_role_with_profile(iam, name):
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    prof = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return prof


# ---------- the API (boot off) ----------
def test_iam_through_the_aws_cli(localcloud):
    lc = localcloud
    name = "lab3-head-" + "x" * 40
    role = lc.aws_json("iam", "create-role", "--role-name", name, "--assume-role-policy-document",
                       TRUST, "--tags", "Key=%s,Value=lab3" % TAG)["Role"]
    assert role["Arn"] == "arn:aws:iam::%s:role/%s" % (lc.account_id, name)
    assert role["RoleId"].startswith("AROA")
    assert role["AssumeRolePolicyDocument"] == json.loads(TRUST)     # decoded by the CLI
    lc.aws("iam", "put-role-policy", "--role-name", name, "--policy-name", "head",
           "--policy-document", doc({"Effect": "Allow", "Action": "ec2:Describe*",
                                     "Resource": "*"}))
    got = lc.aws_json("iam", "get-role-policy", "--role-name", name, "--policy-name", "head")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "ec2:Describe*"
    lc.aws("iam", "attach-role-policy", "--role-name", name, "--policy-arn",
           "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    lc.aws("iam", "create-instance-profile", "--instance-profile-name", name)
    lc.aws("iam", "add-role-to-instance-profile", "--instance-profile-name", name,
           "--role-name", name)
    profs = lc.aws_json("iam", "list-instance-profiles-for-role", "--role-name", name)
    assert [p["Roles"][0]["RoleName"] for p in profs["InstanceProfiles"]] == [name]
    assert lc.aws_json("iam", "list-role-tags", "--role-name", name)["Tags"] == \
        [{"Key": TAG, "Value": "lab3"}]
    r = lc.aws("iam", "delete-role", "--role-name", name, check=False)
    assert r.returncode != 0 and "(DeleteConflict)" in r.stderr, r.stderr
    r = lc.aws("iam", "create-role", "--role-name", "r" * 65, "--assume-role-policy-document",
               TRUST, check=False)
    assert r.returncode != 0 and "length less than or equal to 64" in r.stderr, r.stderr
    r = lc.aws("iam", "put-role-policy", "--role-name", name, "--policy-name", "bad",
               "--policy-document", '{"Statement": [', check=False)
    assert "(MalformedPolicyDocument)" in r.stderr, r.stderr
    r = lc.aws("iam", "get-instance-profile", "--instance-profile-name", "nope", check=False)
    assert "(NoSuchEntity)" in r.stderr, r.stderr


def test_iam_rules_and_state_on_disk(localcloud):
    lc = localcloud
    iam = lc.client("iam")
    make_role_with_profile(iam, "r1")
    assert error_code(iam.create_role, RoleName="R1", AssumeRolePolicyDocument=TRUST) == \
        "EntityAlreadyExists"                              # names are case-insensitive
    iam.create_role(RoleName="r2", AssumeRolePolicyDocument=TRUST)
    assert error_code(iam.add_role_to_instance_profile, InstanceProfileName="r1",
                      RoleName="r2") == "LimitExceeded"    # one role per profile
    assert error_code(iam.create_role, RoleName="r3", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole"})) == "MalformedPolicyDocument"
    assert error_code(iam.put_role_policy, RoleName="r2", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "s3:*"})) == "MalformedPolicyDocument"  # no Resource
    pol = iam.create_policy(PolicyName="mp", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))["Policy"]
    iam.attach_role_policy(RoleName="r2", PolicyArn=pol["Arn"])
    assert iam.get_policy(PolicyArn=pol["Arn"])["Policy"]["AttachmentCount"] == 1
    assert error_code(iam.delete_policy, PolicyArn=pol["Arn"]) == "DeleteConflict"
    assert error_code(iam.delete_role, RoleName="r2") == "DeleteConflict"
    assert error_code(iam.delete_instance_profile, InstanceProfileName="r1") == "DeleteConflict"
    lc.stop()
    lc.start()                                            # nothing lost
    iam = lc.client("iam")
    assert iam.list_attached_role_policies(RoleName="r2")["AttachedPolicies"] == \
        [{"PolicyName": "mp", "PolicyArn": pol["Arn"]}]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["r1", "r2"]
    iam.detach_role_policy(RoleName="r2", PolicyArn=pol["Arn"])
    iam.delete_policy(PolicyArn=pol["Arn"])
    iam.remove_role_from_instance_profile(InstanceProfileName="r1", RoleName="r1")
    iam.delete_instance_profile(InstanceProfileName="r1")
    for r in ("r1", "r2"):
        iam.delete_role(RoleName=r)
    assert iam.list_roles()["Roles"] == [] and \
        iam.list_instance_profiles()["InstanceProfiles"] == []
    assert error_code(iam.get_role, RoleName="r1") == "NoSuchEntity"


@pytest.mark.localcloud(faults=["RunInstances:iam-propagation:before:2"])
def test_run_instances_needs_the_profile_and_may_not_see_it_yet(localcloud):
    lc = localcloud
    ec2, iam = lc.client("ec2"), lc.client("iam")
    args = dict(ImageId=lc.image_id(), InstanceType="t2.micro", MinCount=1, MaxCount=1)
    ec2.run_instances(**args)           # no profile: the injected error does not count it
    prof = make_role_with_profile(iam, "lab3-head")
    for ref in ({"Name": "lab3-head"}, {"Arn": prof["Arn"]}):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            ec2.run_instances(IamInstanceProfile=ref, **args)
        err = e.value.response["Error"]
        assert err["Code"] == "InvalidParameterValue", err
        assert "Invalid IAM Instance Profile" in err["Message"], err
    assert e.value.response["Error"]["Message"] == (
        "Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance "
        "Profile ARN" % prof["Arn"])
    inst = ec2.run_instances(IamInstanceProfile={"Name": "lab3-head"}, **args)["Instances"][0]
    assert inst["IamInstanceProfile"]["Arn"] == prof["Arn"]
    # a profile that does not exist is refused with the same words, every time
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.run_instances(IamInstanceProfile={"Name": "nope"}, **args)
    assert e.value.response["Error"]["Message"] == (
        "Value (nope) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance "
        "Profile name")


# ---------- a booted instance and its role ----------
# The guard the nodes' bootstrap installs: the IMDS port is root's only.
GUARD_USER_DATA = """#!/bin/bash
E=${AWS_EC2_METADATA_SERVICE_ENDPOINT%/}
hp=${E#http://}
iptables -w -I OUTPUT 1 -d ${hp%:*} -p tcp --dport ${hp#*:} -m owner ! --uid-owner 0 -j REJECT
echo "GUARD=$?"
"""

CREDS = """T=$(curl -sf -m 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
  $IMDS/latest/api/token) || exit 11
C=$IMDS/latest/meta-data/iam/security-credentials/
R=$(curl -sf -m 3 -H "X-aws-ec2-metadata-token: $T" $C) || exit 12
curl -sf -m 3 -H "X-aws-ec2-metadata-token: $T" $C$R
"""


# Sends ARP replies to the host (argv[2]) claiming argv[1] is at eth0's MAC,
# for 2.5 s (past the kernel's 1 s lock time on neighbour updates).
GRATUITOUS_ARP = """
import socket, sys, time
ip, host = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = s.getsockname()[4]
frame = b"\\xff" * 6 + mac + b"\\x08\\x06" + b"\\x00\\x01\\x08\\x00\\x06\\x04\\x00\\x02" \\
    + mac + ip + b"\\x00" * 6 + host
for _ in range(10):
    s.send(frame)
    time.sleep(0.25)
""".replace("'", '"')


def role_client(lc, creds, service):
    s = botocore.session.Session()
    cfg = {"retries": {"total_max_attempts": 1}}
    if service == "s3":
        cfg["signature_version"] = "s3v4"
    return s.create_client(service, region_name=lc.region, endpoint_url=lc.endpoint,
                           aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["Token"],
                           config=botocore.config.Config(**cfg))


class Booted:
    """One booted local cloud for the module: instances "head" (role
    lab3-head) and "compute" (role lab3-compute), each with the guard."""

    def __init__(self, lc):
        self.lc = lc
        self.iam, self.ec2, self.s3 = lc.client("iam"), lc.client("ec2"), lc.client("s3")
        self.image = lc.image_id()
        self.ids, self.creds = {}, {}
        for node in ("head", "compute"):
            make_role_with_profile(self.iam, "lab3-" + node)
            self.ids[node] = self.ec2.run_instances(
                ImageId=self.image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                UserData=GUARD_USER_DATA, IamInstanceProfile={"Name": "lab3-" + node},
                TagSpecifications=[{"ResourceType": "instance", "Tags": [
                    {"Key": TAG, "Value": "lab3"}, {"Key": "Name", "Value": node}]}],
            )["Instances"][0]["InstanceId"]
        for node, iid in self.ids.items():
            assert lc.wait_console(iid, r"GUARD=(\d+)", timeout=60).group(1) == "0"
            r = lc.in_instance(iid, CREDS)
            assert r.returncode == 0, (node, r)
            self.creds[node] = json.loads(r.stdout)
        self.subnet = lc.subnet_id
        self.ec2.create_key_pair(KeyName="lab3")

    def allow(self, *statements):
        """Replaces the head role's one inline policy."""
        self.iam.put_role_policy(RoleName="lab3-head", PolicyName="head",
                                 PolicyDocument=doc(*statements))

    def head(self, service):
        return role_client(self.lc, self.creds["head"], service)


@pytest.fixture(scope="module")
def booted(tmp_path_factory):
    lc = LocalCloud(str(tmp_path_factory.mktemp("localcloud")), boot=True)
    try:
        lc.start()
        yield Booted(lc)
    finally:
        lc.release()


@pytest.mark.boot
def test_root_gets_its_role_credentials_nobody_none(booted):
    lc, c = booted.lc, booted.creds["head"]
    assert set(c) == {"Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey",
                      "Token", "Expiration"}
    assert c["Code"] == "Success" and c["Type"] == "AWS-HMAC"
    assert c["AccessKeyId"].startswith("ASIA")
    left = time.mktime(time.strptime(c["Expiration"], "%Y-%m-%dT%H:%M:%SZ")) - \
        time.mktime(time.gmtime())
    assert 15 * 60 < left <= 3600, left
    ident = role_client(lc, c, "sts").get_caller_identity()
    assert ident["Arn"] == "arn:aws:sts::%s:assumed-role/lab3-head/%s" % (
        lc.account_id, booted.ids["head"])
    # Asked again, the same credentials (fresh ones come near expiry only).
    again = json.loads(lc.in_instance(booted.ids["head"], CREDS).stdout)
    assert again["AccessKeyId"] == c["AccessKeyId"]
    r = lc.in_instance(booted.ids["head"], CREDS, nobody=True)
    assert r.returncode != 0 and "SecretAccessKey" not in r.stdout, r
    # the session token is required
    bare = dict(c, Token=None)
    assert error_code(role_client(lc, bare, "sts").get_caller_identity) == \
        "InvalidClientTokenId"


@pytest.mark.boot
def test_an_instance_cannot_ask_as_another(booted):
    lc = booted.lc
    head_ip = booted.ec2.describe_instances(InstanceIds=[booted.ids["head"]])[
        "Reservations"][0]["Instances"][0]["PrivateIpAddress"]
    comp = booted.creds["compute"]
    assert comp["AccessKeyId"] != booted.creds["head"]["AccessKeyId"]
    assert role_client(lc, comp, "sts").get_caller_identity()["Arn"].endswith(
        "assumed-role/lab3-compute/" + booted.ids["compute"])
    # The compute node's root takes the head's address and tells the host
    # (gratuitous ARP) that it lives at its MAC: the host drops its frames,
    # so the IMDS never hears it.
    host_ip = lc.endpoint.split("//")[1].split(":")[0]
    spoof = "ip addr add %s/32 dev eth0 && python3 -c '%s' %s %s && curl -s -m 3 --interface " \
        "%s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' $IMDS/latest/api/token; " \
        "echo rc=$?" % (head_ip, GRATUITOUS_ARP, head_ip, host_ip, head_ip)
    r = lc.in_instance(booted.ids["compute"], spoof)
    assert "rc=0" not in r.stdout, r
    lc.in_instance(booted.ids["compute"], "ip addr del %s/32 dev eth0" % head_ip)
    assert lc.in_instance(booted.ids["compute"], CREDS).returncode == 0
    # An IMDSv2 token is the instance's own: the head's is refused on compute.
    tok = lc.in_instance(booted.ids["head"], "curl -sf -m 3 -X PUT -H "
                         "'X-aws-ec2-metadata-token-ttl-seconds: 60' $IMDS/latest/api/token")
    r = lc.in_instance(booted.ids["compute"], "curl -s -m 3 -o /dev/null -w %%{http_code} -H "
                       "'X-aws-ec2-metadata-token: %s' $IMDS/latest/meta-data/instance-id"
                       % tok.stdout)
    assert r.stdout == "401", r


@pytest.mark.boot
def test_uptime_starts_at_boot(booted):
    r = booted.lc.in_instance(booted.ids["head"], "cut -d. -f1 /proc/uptime")
    inside = int(r.stdout)
    host = int(float(open("/proc/uptime").read().split()[0]))
    assert inside < 300 and (host < 600 or inside < host - 300), (inside, host)


@pytest.mark.boot
def test_explicit_deny_wins_and_iam_is_closed(booted):
    booted.allow({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
                 {"Effect": "Deny", "Action": "ec2:DescribeInstances", "Resource": "*"})
    ec2 = booted.head("ec2")
    assert ec2.describe_vpcs()["Vpcs"]
    assert error_code(ec2.describe_instances) == "UnauthorizedOperation"
    assert error_code(booted.head("iam").list_roles) == "AccessDenied"
    assert error_code(booted.head("iam").create_role, RoleName="x",
                      AssumeRolePolicyDocument=TRUST) == "AccessDenied"


@pytest.mark.boot
def test_terminate_only_the_own_cluster(booted):
    ec2 = booted.ec2
    ids = {}
    for name in ("lab3", "lab30"):
        ids[name] = ec2.run_instances(
            ImageId=booted.image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": TAG, "Value": name}]}])["Instances"][0]["InstanceId"]
    booted.allow({"Effect": "Allow", "Action": "ec2:TerminateInstances",
                  "Resource": "arn:aws:ec2:*:*:instance/*",
                  "Condition": {"StringEquals": {"ec2:ResourceTag/" + TAG: "lab3"}}})
    head = booted.head("ec2")
    try:
        assert error_code(head.terminate_instances, InstanceIds=[ids["lab30"]]) == \
            "UnauthorizedOperation"
        assert error_code(head.terminate_instances, InstanceIds=[ids["lab3"], ids["lab30"]]) \
            == "UnauthorizedOperation"
        head.terminate_instances(InstanceIds=[ids["lab3"]])
    finally:
        ec2.terminate_instances(InstanceIds=list(ids.values()))
    # who did what: the audit names the head's key and role, and the refusal
    out = subprocess.run([PYTHON, CLI, "audit", "--dir", booted.lc.dir, "--role", "lab3-head"],
                         capture_output=True, text=True, check=True).stdout
    key = booted.creds["head"]["AccessKeyId"]
    lines = [ln for ln in out.splitlines() if "ec2:TerminateInstances" in ln]
    assert len(lines) == 3 and all(key in ln for ln in lines), out
    assert [ln.split()[4] for ln in lines] == ["deny", "deny", "allow"], lines
    assert "instance/%s" % ids["lab30"] in lines[0]


def head_run_policy(subnet, types=("t2.micro",), create_tags=True, keys=(TAG, "Name")):
    """The shape of the head's RunInstances permission: one statement per
    resource type, conditions where the type carries them."""
    s = [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:*:*:instance/*",
          "Condition": {"StringEquals": {"aws:RequestTag/" + TAG: "lab3",
                                         "ec2:InstanceType": list(types)},
                        "ForAllValues:StringEquals": {"aws:TagKeys": list(keys)}}},
         {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": [
             "arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:network-interface/*",
             "arn:aws:ec2:*::image/*", "arn:aws:ec2:*:*:subnet/" + subnet,
             "arn:aws:ec2:*:*:security-group/*", "arn:aws:ec2:*:*:key-pair/lab3"]},
         {"Effect": "Allow", "Action": "iam:PassRole",
          "Resource": "arn:aws:iam::*:role/lab3-compute",
          "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}]
    if create_tags:
        s.append({"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
                  "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}}})
    return s


@pytest.mark.boot
def test_run_instances_is_authorised_per_resource_type(booted):
    head = booted.head("ec2")

    def run(tags=(("lab3", TAG),), itype="t2.micro", key="lab3", profile="lab3-compute",
            subnet=None):
        args = dict(ImageId=booted.image, InstanceType=itype, MinCount=1, MaxCount=1,
                    KeyName=key, SubnetId=subnet or booted.subnet,
                    TagSpecifications=[{"ResourceType": "instance", "Tags": [
                        {"Key": k, "Value": v} for v, k in tags]}])
        if profile:
            args["IamInstanceProfile"] = {"Name": profile}
        return head.run_instances(**args)

    booted.allow(*head_run_policy(booted.subnet))
    denied = {
        "no cluster tag": dict(tags=(("x", "Name"),)),
        "another cluster": dict(tags=(("lab30", TAG),)),
        "an extra tag key": dict(tags=(("lab3", TAG), ("1", "extra"))),
        "another type": dict(itype="t2.small"),
        "another key pair": dict(key="other"),
        "the head's own role": dict(profile="lab3-head"),
    }
    booted.ec2.create_key_pair(KeyName="other")
    for why, kw in denied.items():
        assert error_code(run, **kw) == "UnauthorizedOperation", why
    iid = run()["Instances"][0]["InstanceId"]      # everything as the policy says
    booted.ec2.terminate_instances(InstanceIds=[iid])
    # each resource type is its own check: without the subnet, or without
    # CreateTags for RunInstances, the same call is refused
    pol = head_run_policy(booted.subnet)
    pol[1]["Resource"] = [r for r in pol[1]["Resource"] if ":subnet/" not in r]
    booted.allow(*pol)
    assert error_code(run) == "UnauthorizedOperation"
    booted.allow(*head_run_policy(booted.subnet, create_tags=False))
    assert error_code(run) == "UnauthorizedOperation"
    entries = [json.loads(ln) for ln in open(booted.lc.dir + "/audit.jsonl")]
    last = [e for e in entries if e["action"] == "RunInstances"][-1]
    assert last["decision"] == "deny" and last["denied"][0]["action"] == "ec2:CreateTags"


@pytest.mark.boot
def test_s3_prefixes(booted):
    s3 = booted.s3
    s3.create_bucket(Bucket="state", CreateBucketConfiguration={
        "LocationConstraint": booted.lc.region})
    for k in ("lab3/config", "lab3/head/report", "lab30/config"):
        s3.put_object(Bucket="state", Key=k, Body=b"x")
    booted.allow(
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::state",
         "Condition": {"StringLike": {"s3:prefix": ["lab3/*"]}}},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::state/lab3/*"},
        {"Effect": "Allow", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::state/lab3/head/*"})
    head = booted.head("s3")
    got = head.list_objects_v2(Bucket="state", Prefix="lab3/")
    assert [o["Key"] for o in got["Contents"]] == ["lab3/config", "lab3/head/report"]
    assert error_code(head.list_objects_v2, Bucket="state", Prefix="lab30/") == "AccessDenied"
    assert error_code(head.list_objects_v2, Bucket="state") == "AccessDenied"
    assert head.get_object(Bucket="state", Key="lab3/config")["Body"].read() == b"x"
    assert error_code(head.get_object, Bucket="state", Key="lab30/config") == "AccessDenied"
    assert error_code(head.put_object, Bucket="state", Key="lab3/config", Body=b"y") == \
        "AccessDenied"
    head.put_object(Bucket="state", Key="lab3/head/report", Body=b"y")
    assert s3.get_object(Bucket="state", Key="lab3/config")["Body"].read() == b"x"


@pytest.mark.boot
def test_a_condition_not_understood_denies(booted):
    head = booted.head("ec2")
    booted.allow({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"})
    assert head.describe_vpcs()["Vpcs"]                # the baseline allows
    for cond in ({"DateGreaterThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}},
                 {"StringEquals": {"aws:SourceVpc": "vpc-1"}},
                 {"StringEqualsIfExists": {"ec2:InstanceType": "t2.micro"}}):
        booted.allow({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*",
                      "Condition": cond})
        assert error_code(head.describe_vpcs) == "UnauthorizedOperation", cond


def test_role_sessions_are_replaced_before_they_expire(tmp_path):
    """The IMDS's credentials last an hour, are handed out again until 15
    minutes remain, then replaced; the old ones stay good until they expire."""
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(CLI)))
    from localcloud_lib import common, iam as iammod
    cloud_iam = iammod.IAM(str(tmp_path), common.Credentials(str(tmp_path)))
    cloud_iam.handle("CreateRole", {"RoleName": "r", "AssumeRolePolicyDocument": TRUST}, "rq")
    t0 = 1_800_000_000
    first = cloud_iam.session_for_instance("i-1", "r", now=t0)
    assert first["expires"] == t0 + 3600
    assert cloud_iam.session_for_instance("i-1", "r", now=t0 + 44 * 60)["access_key"] == \
        first["access_key"]
    other = cloud_iam.session_for_instance("i-2", "r", now=t0)
    assert other["access_key"] != first["access_key"]          # each instance its own
    second = cloud_iam.session_for_instance("i-1", "r", now=t0 + 46 * 60)
    assert second["access_key"] != first["access_key"]
    assert cloud_iam.session(first["access_key"], now=t0 + 59 * 60) is not None
    assert cloud_iam.session(first["access_key"], now=t0 + 61 * 60) is None
    assert cloud_iam.session(second["access_key"], now=t0 + 61 * 60)["role"] == "r"
    # a deleted role's sessions end with it
    cloud_iam.handle("DeleteRole", {"RoleName": "r"}, "rq")
    assert cloud_iam.session(second["access_key"], now=t0 + 61 * 60) is None


def test_the_project_iam_client_against_the_local_cloud(localcloud, awsprobe, tmp_path):
    """aws/iam.c end to end: the global endpoint signed for us-east-1, while
    the client's region is the cloud's; names, ARNs, errors."""
    lc = localcloud
    trust = tmp_path / "trust.json"
    trust.write_text(TRUST)
    pol = tmp_path / "pol.json"
    pol.write_text(doc({"Effect": "Allow", "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::b/*"}))
    role = awsprobe(lc, "iam-create-role", "lab3-head", str(trust), "--tag", TAG + "=lab3")
    assert role["arn"] == "arn:aws:iam::%s:role/lab3-head" % lc.account_id
    assert json.loads(role["trust_policy"]) == json.loads(TRUST) and role["tags"] == {TAG: "lab3"}
    err = awsprobe(lc, "iam-create-role", "lab3-head", str(trust), ok=False)["error"]
    assert err["code"] == "EntityAlreadyExists" and err["errno"] == -17
    awsprobe(lc, "iam-put-role-policy", "lab3-head", "s3", str(pol))
    awsprobe(lc, "iam-attach-role-policy", "lab3-head",
             "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    assert awsprobe(lc, "iam-list-role-policies", "lab3-head")["names"] == ["s3"]
    assert awsprobe(lc, "iam-list-attached-role-policies", "lab3-head")["names"] == [
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    awsprobe(lc, "iam-create-instance-profile", "lab3-head")
    awsprobe(lc, "iam-add-role-to-instance-profile", "lab3-head", "lab3-head")
    prof = awsprobe(lc, "iam-get-instance-profile", "lab3-head")["profiles"]
    assert [p["roles"] for p in prof] == [["lab3-head"]]
    assert awsprobe(lc, "iam-list-instance-profiles-for-role", "lab3-head")["profiles"] == prof
    err = awsprobe(lc, "iam-delete-role", "lab3-head", ok=False)["error"]
    assert err["code"] == "DeleteConflict" and err["errno"] == -39          # ENOTEMPTY
    awsprobe(lc, "iam-remove-role-from-instance-profile", "lab3-head", "lab3-head")
    awsprobe(lc, "iam-delete-instance-profile", "lab3-head")
    awsprobe(lc, "iam-detach-role-policy", "lab3-head",
             "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    awsprobe(lc, "iam-delete-role-policy", "lab3-head", "s3")
    awsprobe(lc, "iam-delete-role", "lab3-head")
    err = awsprobe(lc, "iam-get-role", "lab3-head", ok=False)["error"]
    assert err["code"] == "NoSuchEntity" and err["errno"] == -2
    scopes = [ln for ln in open(lc.dir + "/audit.jsonl") if '"iam"' in ln]
    assert len(scopes) >= 15


def test_condition_operators():
    """The operators' edge cases, on policy.py itself (no cloud needed)."""
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(CLI)))
    from localcloud_lib.policy import Check, condition_holds, evaluate
    ctx = {"aws:RequestTag/" + TAG: "lab30", "aws:TagKeys": [TAG, "Name"]}
    assert condition_holds("StringEquals", "aws:RequestTag/" + TAG, "lab3", ctx) is False
    assert condition_holds("StringLike", "aws:RequestTag/" + TAG, "lab3*", ctx) is True
    assert condition_holds("StringNotEquals", "aws:RequestTag/" + TAG, "lab3", ctx) is True
    # a key the request lacks: positive operators fail, negated ones hold
    assert condition_holds("StringEquals", "ec2:ResourceTag/x", "a", ctx) is False
    assert condition_holds("StringNotEquals", "ec2:ResourceTag/x", "a", ctx) is True
    assert condition_holds("Null", "ec2:ResourceTag/x", "true", ctx) is True
    # sets: all the request's values among the allowed, or any of them
    assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", [TAG, "Name", "x"], ctx)
    assert not condition_holds("ForAllValues:StringEquals", "aws:TagKeys", [TAG], ctx)
    assert condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["Name"], ctx)
    assert not condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["x"], ctx)
    role = "arn:aws:iam::123456789012:role/lab3-compute"
    pctx = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert condition_holds("ArnLike", "iam:PassedToService", "ec2.*", pctx) is True
    assert condition_holds("ArnEquals", "iam:PassedToService", "ec2.amazonaws.com", pctx)
    # not understood: None, whatever the values
    assert condition_holds("StringEqualsIfExists", "ec2:InstanceType", "t2.micro", ctx) is None
    assert condition_holds("StringEquals", "aws:SourceIp", "10.0.0.1", ctx) is None
    assert condition_holds("NumericLessThan", "ec2:InstanceType", "1", ctx) is None
    # wildcards in actions (any case) and resources; deny over allow; a Deny
    # with a condition not understood denies too
    allow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:Pass*", "Resource": "arn:aws:iam::*:role/lab3-*"}]}
    assert evaluate([allow], Check("iam:passrole", role, pctx))[0] == "allow"
    assert evaluate([allow], Check("iam:PassRole", role + "0", pctx))[0] == "allow"
    assert evaluate([allow], Check("iam:PassRole", role.replace("lab3-", "lab30-"), pctx))[0] \
        == "deny"
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                           "Condition": {"DateLessThan": {"aws:CurrentTime": "2000-01-01"}}}]}
    assert evaluate([allow, deny], Check("iam:PassRole", role, pctx))[0] == "deny"


@pytest.mark.boot
def test_security_groups_are_authorised_by_tag(booted):
    """A head may make groups only tagged with its cluster, and change or
    delete only groups that carry the tag (ec2:ResourceTag)."""
    owned = {"StringEquals": {"aws:ResourceTag/" + TAG: "lab3"}}
    booted.allow(
        {"Effect": "Allow", "Action": "ec2:CreateSecurityGroup", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/" + TAG: "lab3"}}},
        {"Effect": "Allow", "Action": "ec2:CreateSecurityGroup",
         "Resource": "arn:aws:ec2:*:*:vpc/*"},
        {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
         "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}}},
        {"Effect": "Allow", "Action": ["ec2:AuthorizeSecurityGroupIngress",
                                       "ec2:RevokeSecurityGroupIngress",
                                       "ec2:DeleteSecurityGroup"],
         "Resource": "*", "Condition": owned})
    ec2 = booted.head("ec2")
    tagged = [{"ResourceType": "security-group", "Tags": [{"Key": TAG, "Value": "lab3"}]}]
    assert error_code(ec2.create_security_group, GroupName="lab3-x",
                      Description="untagged") == "UnauthorizedOperation"
    mine = ec2.create_security_group(GroupName="lab3-head", Description="head",
                                     TagSpecifications=tagged)["GroupId"]
    theirs = booted.ec2.create_security_group(GroupName="not-lab3",
                                              Description="someone else's")["GroupId"]
    perm = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.authorize_security_group_ingress(GroupId=mine, IpPermissions=perm)
    assert error_code(ec2.authorize_security_group_ingress, GroupId=theirs,
                      IpPermissions=perm) == "UnauthorizedOperation"
    assert error_code(ec2.delete_security_group, GroupId=theirs) == "UnauthorizedOperation"
    ec2.delete_security_group(GroupId=mine)
    booted.ec2.delete_security_group(GroupId=theirs)
