"""The local cloud's EC2 API, driven by Debian's aws CLI unchanged."""
import base64
import time

import pytest

# Independent of the pclusterfs binary: run once, not again under sanitizers.
pytestmark = pytest.mark.slow


def ids_of(res):
    return [i["InstanceId"] for r in res["Reservations"] for i in r["Instances"]]


def run(lc, *extra, count=1, itype="t2.micro"):
    return lc.aws_json("ec2", "run-instances", "--image-id", lc.image_id(), "--instance-type",
                       itype, "--count", str(count), *extra)


def test_default_network_in_every_region(localcloud_module):
    lc = localcloud_module        # read-only test: shares the module's cloud
    for region in ("ap-northeast-1", "us-east-1", "eu-west-1"):
        vpcs = lc.aws_json("ec2", "describe-vpcs", region=region)["Vpcs"]
        assert len(vpcs) == 1 and vpcs[0]["IsDefault"] and vpcs[0]["CidrBlock"] == lc.cidr
        subs = lc.aws_json("ec2", "describe-subnets", "--filters",
                           "Name=vpc-id,Values=" + vpcs[0]["VpcId"], region=region)["Subnets"]
        assert len(subs) == 1 and subs[0]["AvailabilityZone"] == region + "a"
        if region == lc.region:
            assert (vpcs[0]["VpcId"], subs[0]["SubnetId"]) == (lc.vpc_id, lc.subnet_id)
    # deterministic ids: asking again gives the same
    again = lc.aws_json("ec2", "describe-vpcs", "--vpc-ids", lc.vpc_id)["Vpcs"]
    assert again[0]["VpcId"] == lc.vpc_id
    r = lc.aws("ec2", "describe-subnets", "--subnet-ids", "subnet-0123456789abcdef0", check=False)
    assert r.returncode != 0 and "InvalidSubnetID.NotFound" in r.stderr
    r = lc.aws("ec2", "describe-vpcs", "--vpc-ids", "vpc-0123456789abcdef0", check=False)
    assert "InvalidVpcID.NotFound" in r.stderr


def test_images_owned_by_amazon_and_types(localcloud_module):
    lc = localcloud_module
    names = [i["Name"] for i in lc.aws_json(
        "ec2", "describe-images", "--owners", "amazon", "--filters",
        "Name=name,Values=aws-parallelcluster-*-hvm-x86_64*")["Images"]]
    for os_name in ("amzn2", "centos7", "ubuntu-1804-lts", "ubuntu-2004-lts"):
        assert "aws-parallelcluster-3.13.0-%s-hvm-x86_64-local" % os_name in names
    assert not any("squatted" in n for n in names)
    everyone = lc.aws_json("ec2", "describe-images", "--filters",
                           "Name=name,Values=aws-parallelcluster-3.99*")["Images"]
    assert len(everyone) == 1 and everyone[0]["OwnerId"] != "amazon"
    cores = __import__("os").cpu_count()
    types = lc.aws_json("ec2", "describe-instance-types", "--instance-types", "t2.micro",
                        "c5.2xlarge")["InstanceTypes"]
    by = {t["InstanceType"]: t for t in types}
    assert by["t2.micro"]["VCpuInfo"]["DefaultVCpus"] == 1
    assert by["t2.micro"]["MemoryInfo"]["SizeInMiB"] == 1024
    assert by["c5.2xlarge"]["VCpuInfo"]["DefaultVCpus"] == min(8, cores)
    # paging through all types, 5 a page
    allt = lc.aws_json("ec2", "describe-instance-types", "--page-size", "5")["InstanceTypes"]
    assert len(allt) > 5 and len({t["InstanceType"] for t in allt}) == len(allt)
    r = lc.aws("ec2", "describe-instance-types", "--instance-types", "x9.huge", check=False)
    assert "InvalidInstanceType" in r.stderr


def test_key_pairs(localcloud, tmp_path):
    lc = localcloud
    made = lc.aws_json("ec2", "create-key-pair", "--key-name", "k1")
    assert made["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    pub = tmp_path / "id.pub"
    pub.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq5Q1Y0dGVzdGtleWZvcmxvY2FsY2xvdWR0ZXN0 t@h\n")
    lc.aws_json("ec2", "import-key-pair", "--key-name", "k2", "--public-key-material",
                "fileb://" + str(pub))
    keys = lc.aws_json("ec2", "describe-key-pairs")["KeyPairs"]
    assert sorted(k["KeyName"] for k in keys) == ["k1", "k2"]
    assert lc.aws_json("ec2", "describe-key-pairs", "--key-names", "k2")["KeyPairs"][0][
        "KeyType"] == "ed25519"
    r = lc.aws("ec2", "create-key-pair", "--key-name", "k1", check=False)
    assert "InvalidKeyPair.Duplicate" in r.stderr
    r = lc.aws("ec2", "describe-key-pairs", "--key-names", "nope", check=False)
    assert "InvalidKeyPair.NotFound" in r.stderr
    lc.aws("ec2", "delete-key-pair", "--key-name", "k1")
    assert [k["KeyName"] for k in lc.aws_json("ec2", "describe-key-pairs")["KeyPairs"]] == ["k2"]
    # key pairs are per region
    assert lc.aws_json("ec2", "describe-key-pairs", region="us-east-1")["KeyPairs"] == []


def test_run_describe_terminate_with_states(localcloud):
    lc = localcloud
    lc.aws("ec2", "create-key-pair", "--key-name", "k")
    res = run(lc, "--key-name", "k", "--subnet-id", lc.subnet_id, "--user-data", "#!/bin/sh\necho hi\n",
              "--tag-specifications",
              "ResourceType=instance,Tags=[{Key=pclusterfs:cluster,Value=c1},{Key=Name,Value=c1-head}]",
              count=2)
    insts = res["Instances"]
    assert [i["State"] for i in insts] == [{"Code": 0, "Name": "pending"}] * 2
    assert all(i["PrivateIpAddress"].startswith(lc.cidr.split(".0.0/")[0]) for i in insts)
    assert insts[0]["PrivateIpAddress"] != insts[1]["PrivateIpAddress"]
    ids = [i["InstanceId"] for i in insts]
    lc.aws("ec2", "wait", "instance-running", "--instance-ids", *ids)   # the CLI's waiter
    got = lc.aws_json("ec2", "describe-instances", "--filters", "Name=tag:pclusterfs:cluster,Values=c1",
                      "Name=instance-state-name,Values=running")
    assert sorted(ids_of(got)) == sorted(ids)
    inst = got["Reservations"][0]["Instances"][0]
    assert inst["KeyName"] == "k" and inst["VpcId"] == lc.vpc_id
    assert {"Key": "Name", "Value": "c1-head"} in inst["Tags"]
    ud = lc.aws_json("ec2", "describe-instance-attribute", "--instance-id", ids[0], "--attribute",
                     "userData")["UserData"]["Value"]
    assert base64.b64decode(ud) == b"#!/bin/sh\necho hi\n"
    lc.aws("ec2", "create-tags", "--resources", ids[0], "--tags", "Key=extra,Value=yes")
    assert ids_of(lc.aws_json("ec2", "describe-instances", "--filters",
                              "Name=tag-key,Values=extra")) == [ids[0]]
    assert ids_of(lc.aws_json("ec2", "describe-instances", "--filters",
                              "Name=tag:Name,Values=c1-*", "Name=instance-id,Values=" + ids[1])) == [ids[1]]
    out = lc.aws_json("ec2", "terminate-instances", "--instance-ids", ids[0])
    assert out["TerminatingInstances"][0]["CurrentState"]["Name"] == "shutting-down"
    assert out["TerminatingInstances"][0]["PreviousState"] == {"Code": 16, "Name": "running"}
    time.sleep(lc.terminate_delay + 0.2)
    st = lc.aws_json("ec2", "describe-instances", "--instance-ids", ids[0])
    assert st["Reservations"][0]["Instances"][0]["State"] == {"Code": 48, "Name": "terminated"}
    assert ids_of(lc.aws_json("ec2", "describe-instances", "--filters",
                              "Name=instance-state-name,Values=running")) == [ids[1]]


def test_run_errors(localcloud):
    lc = localcloud
    for args, code in ((["--key-name", "missing"], "InvalidKeyPair.NotFound"),
                       (["--subnet-id", "subnet-0000000000000000f"], "InvalidSubnetID.NotFound")):
        r = lc.aws("ec2", "run-instances", "--image-id", lc.image_id(), "--instance-type",
                   "t2.micro", *args, check=False)
        assert r.returncode != 0 and code in r.stderr, r.stderr
    r = lc.aws("ec2", "run-instances", "--image-id", "ami-0000000000000000f", "--instance-type",
               "t2.micro", check=False)
    assert "InvalidAMIID.NotFound" in r.stderr
    r = lc.aws("ec2", "run-instances", "--image-id", lc.image_id(), "--instance-type",
               "t2.micro", "--user-data", "x" * 16385, check=False)
    assert "InvalidParameterValue" in r.stderr
    r = lc.aws("ec2", "describe-instances", "--instance-ids", "i-0123456789abcdef0", check=False)
    assert "InvalidInstanceID.NotFound" in r.stderr
    assert lc.aws_json("ec2", "describe-instances")["Reservations"] == []


def test_client_token_idempotency(localcloud):
    lc = localcloud
    a = run(lc, "--client-token", "tok-1", count=2)
    b = run(lc, "--client-token", "tok-1", count=2)
    assert a["ReservationId"] == b["ReservationId"]
    assert [i["InstanceId"] for i in a["Instances"]] == [i["InstanceId"] for i in b["Instances"]]
    r = lc.aws("ec2", "run-instances", "--image-id", lc.image_id(), "--instance-type", "t3.micro",
               "--client-token", "tok-1", check=False)
    assert "IdempotentParameterMismatch" in r.stderr
    found = lc.aws_json("ec2", "describe-instances", "--filters", "Name=client-token,Values=tok-1")
    assert sorted(ids_of(found)) == sorted(i["InstanceId"] for i in a["Instances"])
    assert len(ids_of(lc.aws_json("ec2", "describe-instances"))) == 2


def test_describe_instances_paging(localcloud):
    lc = localcloud
    c = lc.client("ec2")
    want = [c.run_instances(ImageId=lc.image_id(), InstanceType="t2.micro", MinCount=1,
                            MaxCount=1)["Instances"][0]["InstanceId"] for _ in range(12)]
    # The CLI follows NextToken by itself: 3 pages of 5.
    r = lc.aws("ec2", "describe-instances", "--page-size", "5", "--debug", "--output", "json")
    assert r.stderr.count("<nextToken>") == 2
    assert sorted(ids_of(__import__("json").loads(r.stdout))) == sorted(want)
    page = lc.aws_json("ec2", "describe-instances", "--max-items", "5")
    assert len(ids_of(page)) == 5 and page["NextToken"]
    rest = lc.aws_json("ec2", "describe-instances", "--starting-token", page["NextToken"])
    assert sorted(ids_of(page) + ids_of(rest)) == sorted(want)
    r = lc.aws("ec2", "describe-instances", "--max-results", "2", check=False)
    assert "InvalidParameterValue" in r.stderr


def test_boot_off_scale(localcloud):
    """boot=off only moves states: hundreds of instances are cheap."""
    lc = localcloud
    c = lc.client("ec2")
    t0 = time.time()
    for _ in range(4):
        c.run_instances(ImageId=lc.image_id(), InstanceType="t2.micro", MinCount=100,
                        MaxCount=100)
    pages = list(c.get_paginator("describe_instances").paginate(
        PaginationConfig={"PageSize": 1000}))
    n = sum(len(r["Instances"]) for p in pages for r in p["Reservations"])
    assert n == 400
    assert time.time() - t0 < 30
