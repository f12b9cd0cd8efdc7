"""The AWS layer's EC2 and STS calls against the local cloud (boot off),
with the effects read back through Debian's aws CLI."""
import base64
import errno
import time

import pytest


def cli_instances(lc, *filters):
    res = lc.aws_json("ec2", "describe-instances", *(("--filters",) + filters if filters else ()))
    return [i for r in res["Reservations"] for i in r["Instances"]]


def tags_of(inst):
    return {t["Key"]: t["Value"] for t in inst.get("Tags", [])}


def test_identity_network_images_types(localcloud, awsprobe):
    lc = localcloud
    ident = awsprobe(lc, "identity")
    assert ident["account"] == lc.account_id
    assert ident["source"] == "environment"
    assert ident["arn"] == lc.aws_json("sts", "get-caller-identity")["Arn"]

    vpcs = awsprobe(lc, "describe-vpcs")["items"]
    assert [v["id"] for v in vpcs] == [lc.vpc_id] and vpcs[0]["cidr"] == lc.cidr
    assert awsprobe(lc, "describe-vpcs", lc.vpc_id)["items"][0]["state"] == "available"
    subs = awsprobe(lc, "describe-subnets", lc.subnet_id)["items"]
    assert subs[0]["vpc_id"] == lc.vpc_id and subs[0]["availability_zone"] == lc.region + "a"
    err = awsprobe(lc, "describe-subnets", "subnet-0123456789abcdef0", ok=False)["error"]
    assert err["code"] == "InvalidSubnetID.NotFound" and err["errno"] == -errno.ENOENT
    assert err["request_id"]
    err = awsprobe(lc, "describe-vpcs", "vpc-0123456789abcdef0", ok=False)["error"]
    assert err["code"] == "InvalidVpcID.NotFound"

    lc.aws("ec2", "create-key-pair", "--key-name", "lab")
    keys = awsprobe(lc, "describe-key-pairs", "lab")["items"]
    assert keys[0]["name"] == "lab" and keys[0]["id"].startswith("key-")
    err = awsprobe(lc, "describe-key-pairs", "nokey", ok=False)["error"]
    assert err["code"] == "InvalidKeyPair.NotFound" and "nokey" in err["message"]

    # the newest image owned by amazon, as the aws CLI sees it
    newest = awsprobe(lc, "newest-image", "amazon", "aws-parallelcluster-*-amzn2-hvm-x86_64*")
    assert newest["id"] == lc.image_id("amzn2")
    imgs = awsprobe(lc, "describe-images", "--owner", "amazon", "--filter",
                    "name=aws-parallelcluster-*-hvm-x86_64*")["images"]
    assert imgs and all(i["state"] == "available" for i in imgs)
    assert not any("squatted" in i["name"] for i in imgs)
    err = awsprobe(lc, "newest-image", "amazon", "no-such-image-*", ok=False)["error"]
    assert err["errno"] == -errno.ENOENT

    types = {t["name"]: t for t in awsprobe(lc, "describe-instance-types", "t2.micro",
                                            "c5.2xlarge")["items"]}
    assert types["t2.micro"]["vcpus"] == 1 and types["t2.micro"]["memory_mib"] == 1024
    cli = lc.aws_json("ec2", "describe-instance-types", "--instance-types", "c5.2xlarge")
    assert types["c5.2xlarge"]["vcpus"] == cli["InstanceTypes"][0]["VCpuInfo"]["DefaultVCpus"]
    # every type, across NextToken pages
    everything = awsprobe(lc, "describe-instance-types")["items"]
    assert len(everything) == len(lc.aws_json("ec2", "describe-instance-types")["InstanceTypes"])


def test_run_describe_tag_terminate(localcloud, awsprobe, tmp_path):
    lc = localcloud
    lc.aws("ec2", "create-key-pair", "--key-name", "lab")
    ud = tmp_path / "user-data"
    ud.write_bytes(b"#!/bin/sh\necho hello from user data\n")
    tags = ["--tag", "pclusterfs:cluster=lab3", "--tag", "pclusterfs:node=head",
            "--tag", "Name=lab3-head"]
    out = awsprobe(lc, "run-instances", "--image", lc.image_id(), "--type", "t2.micro",
                   "--key", "lab", "--subnet", lc.subnet_id, "--token", "tok-head-1",
                   "--user-data-file", str(ud), *tags)
    assert out["attempts"] == 1 and len(out["instances"]) == 1
    head = out["instances"][0]
    assert head["id"].startswith("i-") and head["state"] == "pending"
    assert head["client_token"] == "tok-head-1" and head["tags"]["Name"] == "lab3-head"

    # what the reference client sees
    seen = cli_instances(lc, "Name=tag:pclusterfs:cluster,Values=lab3")
    assert [i["InstanceId"] for i in seen] == [head["id"]]
    assert tags_of(seen[0]) == {"pclusterfs:cluster": "lab3", "pclusterfs:node": "head",
                                "Name": "lab3-head"}
    assert seen[0]["ClientToken"] == "tok-head-1" and seen[0]["KeyName"] == "lab"
    assert seen[0]["SubnetId"] == lc.subnet_id
    attr = lc.aws_json("ec2", "describe-instance-attribute", "--instance-id", head["id"],
                       "--attribute", "userData")
    assert base64.b64decode(attr["UserData"]["Value"]) == ud.read_bytes()

    # seven more, then one tag-filtered, paginated DescribeInstances (5 a page)
    more = awsprobe(lc, "run-instances", "--image", lc.image_id(), "--type", "t2.micro",
                    "--count", "7", "--token", "tok-compute-1", "--tag", "pclusterfs:cluster=lab3",
                    "--tag", "pclusterfs:node-type=Compute")["instances"]
    assert len(more) == 7
    awsprobe(lc, "run-instances", "--image", lc.image_id(), "--type", "t2.micro",
             "--tag", "pclusterfs:cluster=other")
    time.sleep(0.5)   # past the local cloud's pending delay
    got = awsprobe(lc, "describe-instances", "--filter", "tag:pclusterfs:cluster=lab3",
                   "--filter", "instance-state-name=pending,running", "--page-size", "5")["instances"]
    assert sorted(i["id"] for i in got) == sorted([head["id"]] + [i["id"] for i in more])
    h = next(i for i in got if i["id"] == head["id"])
    assert h["state"] == "running" and h["type"] == "t2.micro" and h["private_ip"]
    assert h["launch_time"].startswith("20") and h["image_id"] == lc.image_id()
    assert h["subnet_id"] == lc.subnet_id and h["vpc_id"] == lc.vpc_id
    cli_head = cli_instances(lc, "Name=instance-id,Values=" + head["id"])[0]
    assert h["private_ip"] == cli_head["PrivateIpAddress"]
    by_token = awsprobe(lc, "describe-instances", "--filter", "client-token=tok-head-1")["instances"]
    assert [i["id"] for i in by_token] == [head["id"]]

    awsprobe(lc, "create-tags", "--id", head["id"], "--id", more[0]["id"],
             "--tag", "pclusterfs:owner=bucket-x")
    for iid in (head["id"], more[0]["id"]):
        assert tags_of(cli_instances(lc, "Name=instance-id,Values=" + iid)[0])[
            "pclusterfs:owner"] == "bucket-x"

    gone = awsprobe(lc, "terminate-instances", *[i["id"] for i in more])["items"]
    assert sorted(i["id"] for i in gone) == sorted(i["id"] for i in more)
    assert all(i["state"] in ("shutting-down", "terminated") for i in gone)
    time.sleep(0.5)
    states = {i["InstanceId"]: i["State"]["Name"]
              for i in cli_instances(lc, "Name=tag:pclusterfs:cluster,Values=lab3")}
    assert states[head["id"]] == "running"
    assert all(states[i["id"]] == "terminated" for i in more)
    err = awsprobe(lc, "terminate-instances", "i-0123456789abcdef0", ok=False)["error"]
    assert err["code"] == "InvalidInstanceID.NotFound"


@pytest.mark.parametrize("kind", ["throttle", "503", "reset"])
def test_run_instances_retried_after_effect_launches_once(localcloud, awsprobe, kind):
    """The launch takes effect, the answer is lost; the retry under the same
    ClientToken must not launch a second instance."""
    lc = localcloud
    lc.fault("RunInstances:%s:after:1" % kind)
    token = "tok-retry-" + kind
    out = awsprobe(lc, "run-instances", "--image", lc.image_id(), "--type", "t2.micro",
                   "--token", token, "--tag", "pclusterfs:cluster=retry")
    assert out["attempts"] == 2
    assert "retrying" in awsprobe.last.stderr
    launched = cli_instances(lc, "Name=client-token,Values=" + token)
    assert [i["InstanceId"] for i in launched] == [out["instances"][0]["id"]]
    assert len(cli_instances(lc)) == 1


def test_run_instances_through_lost_answers_in_a_row(localcloud, awsprobe):
    """Three launches in a row take effect and lose their answer (the local
    cloud fires every matching rule on one request, so one kind per run)."""
    lc = localcloud
    lc.fault("RunInstances:503:after:3")
    out = awsprobe(lc, "--max-attempts", "4", "run-instances", "--image", lc.image_id(),
                   "--type", "t2.micro", "--token", "tok-four")
    assert out["attempts"] == 4
    assert len(cli_instances(lc, "Name=client-token,Values=tok-four")) == 1
    assert len(cli_instances(lc)) == 1
    # out of attempts: the error says so, and still only one instance exists
    lc.clear_faults()
    lc.fault("RunInstances:reset:after:3")
    err = awsprobe(lc, "run-instances", "--image", lc.image_id(), "--type", "t2.micro",
                   "--token", "tok-five", ok=False)["error"]
    assert err["attempts"] == 3 and err["errno"] == -errno.ECONNRESET, err
    assert len(cli_instances(lc, "Name=client-token,Values=tok-five")) == 1


def test_final_errors_and_exhausted_retries(localcloud, awsprobe):
    lc = localcloud
    t0 = time.time()
    err = awsprobe(lc, "run-instances", "--image", lc.image_id(), "--type", "t2.micro",
                   "--key", "nokey", "--token", "tok-nokey", ok=False)["error"]
    assert err["code"] == "InvalidKeyPair.NotFound"
    assert err["message"] == "The key pair 'nokey' does not exist"
    assert err["attempts"] == 1 and err["errno"] == -errno.ENOENT and err["http_status"] == 400
    assert time.time() - t0 < 5
    assert cli_instances(lc) == []

    # throttled for good: the standard mode's 3 attempts, then the code
    lc.fault("DescribeVpcs:throttle")
    t0 = time.time()
    err = awsprobe(lc, "describe-vpcs", ok=False, backoff=1.0)["error"]
    assert err["code"] == "RequestLimitExceeded" and err["attempts"] == 3
    assert err["errno"] == -errno.EAGAIN
    assert time.time() - t0 < 1 + 2 + 3    # full jitter: at most 1 s, then 2 s, plus work
    err = awsprobe(lc, "describe-vpcs", ok=False, env={"AWS_MAX_ATTEMPTS": "5"})["error"]
    assert err["attempts"] == 5
    lc.clear_faults()
    lc.fault("DescribeSubnets:500:before:1")
    assert awsprobe(lc, "describe-subnets")["items"]


def test_no_secret_in_errors(localcloud, awsprobe):
    lc = localcloud
    secret = lc.env["AWS_SECRET_ACCESS_KEY"]
    wrong = "x" * len(secret)
    err = awsprobe(lc, "describe-vpcs", ok=False, env={"AWS_SECRET_ACCESS_KEY": wrong,
                                                       "AWS_SESSION_TOKEN": "tokentokentoken"})["error"]
    assert err["code"] in ("SignatureDoesNotMatch", "AuthFailure")
    assert err["attempts"] == 1 and err["errno"] == -errno.EACCES
    for text in (awsprobe.last.stdout, awsprobe.last.stderr):
        assert wrong not in text and "tokentokentoken" not in text
    lc.fault("DescribeVpcs:503")
    awsprobe(lc, "describe-vpcs", ok=False)
    for text in (awsprobe.last.stdout, awsprobe.last.stderr):
        assert secret not in text and lc.env["AWS_ACCESS_KEY_ID"] not in text


def test_credentials_from_profile_process_and_imds(localcloud, awsprobe, tmp_path):
    lc = localcloud
    drop = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    creds = tmp_path / "credentials"
    creds.write_text("[lab]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                     % (lc.env["AWS_ACCESS_KEY_ID"], lc.env["AWS_SECRET_ACCESS_KEY"]))
    conf = tmp_path / "config"
    script = tmp_path / "creds.sh"
    script.write_text("#!/bin/sh\nprintf '{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\"}'\n"
                      % (lc.env["AWS_ACCESS_KEY_ID"], lc.env["AWS_SECRET_ACCESS_KEY"]))
    script.chmod(0o700)
    conf.write_text("[profile proc]\ncredential_process = %s\nregion = %s\n" % (script, lc.region))
    files = {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(conf)}
    out = awsprobe(lc, "identity", drop=drop, env=dict(files, AWS_PROFILE="lab"))
    assert out["account"] == lc.account_id and out["source"] == "profile lab"
    out = awsprobe(lc, "--profile", "proc", "identity", drop=drop + ("AWS_REGION", "AWS_DEFAULT_REGION"),
                   env=files)
    assert out["source"] == "credential_process (profile proc)"
    # the local cloud's IMDSv2 hands out role credentials
    out = awsprobe(lc, "identity", drop=drop, env={"AWS_EC2_METADATA_DISABLED": "false"})
    assert out["account"] == lc.account_id and out["source"] == "instance metadata"
    assert awsprobe(lc, "describe-vpcs", drop=drop,
                    env={"AWS_EC2_METADATA_DISABLED": "false"})["items"]
    err = awsprobe(lc, "identity", drop=drop, ok=False)["error"]
    assert err["code"] == "NoCredentials" and "disabled" in err["message"]
