"""The head node's agent inside a booted instance of the local cloud, as
root with a head role held to a least-privilege policy: its credentials come
from the instance's IMDS, it launches, finds and terminates its cluster's
tagged instances, publishes under its cluster's head/ prefix and nowhere
else, and its state dir is closed to an unprivileged user."""
import json
import secrets
import shlex

import pytest

from agent_modules import EMBED

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
CLUSTER_TAG = "pclusterfs:cluster"
# The nodes' bootstrap keeps the IMDS from every user but root (stage 1).
GUARD_USER_DATA = """#!/bin/bash
E=${AWS_EC2_METADATA_SERVICE_ENDPOINT%/}
hp=${E#http://}
iptables -w -I OUTPUT 1 -d ${hp%:*} -p tcp --dport ${hp#*:} -m owner ! --uid-owner 0 -j REJECT
echo "GUARD=$?"
"""

# Runs in the instance as root: the agent's modules from the repository
# (the instance's root is an overlay of this machine's), endpoints from argv.
DRIVER = r"""
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, %(embed)r)
import agent_aws, agent_creds, agent_ec2, agent_publish, agent_s3
cfg = json.loads(sys.argv[1])
out = {}
creds = agent_creds.ImdsCredentials(endpoint=cfg["imds"])
out["key"] = creds.get().access_key_id
def client(service):
    return agent_aws.Client(service, cfg["region"], creds, endpoint=cfg["endpoint"], backoff=0.01)
ec2 = agent_ec2.Ec2(client("ec2"))
s3 = agent_s3.S3(client("s3"), cfg["bucket"], cfg["owner"])
def refused(call, *a, **kw):
    try:
        call(*a, **kw)
    except agent_aws.AwsError as e:
        return e.code
    return None
tags = {"pclusterfs:cluster": "lab3", "pclusterfs:node": "compute-st-t2micro-1",
        "Name": "lab3-compute-st-t2micro-1"}
i = ec2.run_instance(cfg["image"], "t2.micro", cfg["token"], tags, subnet_id=cfg["subnet"])
out["launched"] = i["InstanceId"]
out["again"] = ec2.run_instance(cfg["image"], "t2.micro", cfg["token"], tags,
                                subnet_id=cfg["subnet"])["InstanceId"]
out["found"] = [x["InstanceId"] for x in ec2.describe_instances(
    {"tag:pclusterfs:cluster": ["lab3"], "instance-state-name": ["pending", "running"]})]
out["untagged"] = refused(ec2.run_instance, cfg["image"], "t2.micro", cfg["token"] + "u",
                          {"pclusterfs:cluster": "lab30"}, subnet_id=cfg["subnet"])
out["other_type"] = refused(ec2.run_instance, cfg["image"], "t2.large", cfg["token"] + "t",
                            tags, subnet_id=cfg["subnet"])
out["terminate_other"] = refused(ec2.terminate_instances, [cfg["other"]])
out["terminated"] = ec2.terminate_instances([i["InstanceId"]])

class Slurm:
    def view(self):
        return {"api_version": "v0.0.38", "nodes": {"nodes": [{"name": "n1", "cpu_load": 1}]},
                "partitions": {}, "jobs": {}, "ping": {}}
pub = agent_publish.Publisher(s3, Slurm(), "lab3", creds.instance_id(), cfg["state_dir"])
out["published"] = pub.cycle()
out["again_published"] = pub.cycle()
out["write_config"] = refused(s3.put, "clusters/lab3/config", b"[aws]\n")
out["read_other"] = refused(s3.get, "clusters/lab30/config")
out["read_own"] = s3.get("clusters/lab3/config").body.decode()
print(json.dumps(out))
"""


def head_policy(bucket, subnet):
    """The permissions the head's agent needs (issue 14's list), in the
    shape of the head role pclusterfs makes."""
    tagged = {"StringEquals": {"aws:RequestTag/" + CLUSTER_TAG: "lab3",
                               "ec2:InstanceType": ["t2.micro"]}}
    return [
        {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:*:*:instance/*",
         "Condition": tagged},
        {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": [
            "arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:network-interface/*",
            "arn:aws:ec2:*::image/*", "arn:aws:ec2:*:*:subnet/" + subnet,
            "arn:aws:ec2:*:*:security-group/*"]},
        {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
         "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}}},
        {"Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "*",
         "Condition": {"StringEquals": {"ec2:ResourceTag/" + CLUSTER_TAG: "lab3"}}},
        {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::%s/clusters/lab3/*" % bucket},
        {"Effect": "Allow", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::%s/clusters/lab3/head/*" % bucket},
    ]


@pytest.mark.boot
def test_agent_in_a_booted_head_with_its_role(localcloud_boot):
    lc = localcloud_boot
    iam, ec2, s3 = lc.client("iam"), lc.client("ec2"), lc.client("s3")
    bucket = "agent-" + secrets.token_hex(4)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": lc.region})
    s3.put_object(Bucket=bucket, Key="clusters/lab3/config", Body=b"[aws]\n")
    s3.put_object(Bucket=bucket, Key="clusters/lab30/config", Body=b"[aws]\n")
    iam.create_role(RoleName="lab3-head", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="lab3-head", PolicyName="head", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": head_policy(bucket, lc.subnet_id)}))
    iam.create_instance_profile(InstanceProfileName="lab3-head")
    iam.add_role_to_instance_profile(InstanceProfileName="lab3-head", RoleName="lab3-head")
    image = lc.image_id()
    other = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                              TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                  {"Key": CLUSTER_TAG, "Value": "lab30"}]}],
                              )["Instances"][0]["InstanceId"]
    head = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                             UserData=GUARD_USER_DATA, IamInstanceProfile={"Name": "lab3-head"},
                             TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                 {"Key": CLUSTER_TAG, "Value": "lab3"},
                                 {"Key": "pclusterfs:node", "Value": "head"}]}],
                             )["Instances"][0]["InstanceId"]
    assert lc.wait_console(head, r"GUARD=(\d+)", timeout=90).group(1) == "0"

    cfg = {"imds": lc.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"], "endpoint": lc.endpoint,
           "region": lc.region, "bucket": bucket, "owner": lc.account_id, "image": image,
           "subnet": lc.subnet_id, "token": "agent-" + secrets.token_hex(6), "other": other,
           "state_dir": "/var/lib/pclusterfs/agent"}
    script = "/usr/bin/python3 -B -c %s %s" % (
        shlex.quote(DRIVER % {"embed": EMBED}), shlex.quote(json.dumps(cfg)))
    r = lc.in_instance(head, script, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])

    assert out["key"].startswith("ASIA")
    assert out["again"] == out["launched"]
    assert sorted(out["found"]) == sorted([out["launched"], head])     # not lab30's
    assert out["untagged"] == "UnauthorizedOperation"
    assert out["other_type"] == "UnauthorizedOperation"
    assert out["terminate_other"] == "UnauthorizedOperation"
    assert out["terminated"][out["launched"]] in ("shutting-down", "terminated")
    assert out["published"] == ["view", "heartbeat"] and out["again_published"] == []
    assert out["write_config"] == "AccessDenied" and out["read_other"] == "AccessDenied"
    assert out["read_own"] == "[aws]\n"
    got = json.loads(s3.get_object(Bucket=bucket, Key="clusters/lab3/head/slurm/view.json")
                     ["Body"].read())
    assert got["nodes"]["nodes"][0]["name"] == "n1" and got["instance_id"] == head

    # Every EC2 call the agent made was signed with the head role's session.
    with open(lc.dir + "/audit.jsonl") as f:
        entries = [json.loads(ln) for ln in f if ln.strip()]
    mine = [e for e in entries if e["access_key"] == out["key"]]
    assert {e["action"] for e in mine} >= {"RunInstances", "DescribeInstances",
                                          "TerminateInstances", "PutObject", "GetObject"}
    assert all(e["role"] == "lab3-head" and e["instance"] == head for e in mine)

    # An unprivileged user on the head reads neither the agent's state nor
    # the role's credentials.
    r = lc.in_instance(head, "ls /var/lib/pclusterfs/agent; cat /var/lib/pclusterfs/agent/*",
                       nobody=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    r = lc.in_instance(head, "curl -sf -m 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60'"
                             " $IMDS/latest/api/token", nobody=True)
    assert r.returncode != 0 and not r.stdout
