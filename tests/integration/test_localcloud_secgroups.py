"""The local cloud's security groups and logins: the EC2 API through Debian's
aws CLI, the groups enforced on the host side of each instance's veth (a
port no group opens is refused although something listens on it; a group
reaches its own members; a CIDR that leaves the host out refuses the host),
and ssh into an instance as its image's default user with the key pair."""
import os
import subprocess
import time

import pytest
from test_localcloud_isolated import LISTEN_USER_DATA, host_connects


def error_code(call, **kw):
    """The error code a botocore call fails with (it must fail)."""
    import botocore.exceptions
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"]


def test_security_groups_through_the_aws_cli(localcloud):
    """Debian's aws CLI takes every answer; botocore (the same parser) for
    the refusals, which cost a CLI start each otherwise."""
    lc, ec2 = localcloud, localcloud.client("ec2")
    default = lc.aws_json("ec2", "describe-security-groups", "--filters",
                          "Name=group-name,Values=default",
                          "Name=vpc-id,Values=" + lc.vpc_id)["SecurityGroups"]
    assert len(default) == 1 and default[0]["VpcId"] == lc.vpc_id
    assert error_code(ec2.delete_security_group, GroupId=default[0]["GroupId"]) == \
        "CannotDelete"

    made = lc.aws_json("ec2", "create-security-group", "--group-name", "lab-head",
                       "--description", "head of lab", "--vpc-id", lc.vpc_id,
                       "--tag-specifications",
                       "ResourceType=security-group,Tags=[{Key=owner,Value=lab}]")
    gid = made["GroupId"]
    assert gid.startswith("sg-") and made["Tags"] == [{"Key": "owner", "Value": "lab"}]
    assert error_code(ec2.create_security_group, GroupName="lab-head",
                      Description="again") == "InvalidGroup.Duplicate"
    other = ec2.create_security_group(GroupName="other", Description="no tag")["GroupId"]
    for flt in ({"Name": "tag:owner", "Values": ["lab"]}, {"Name": "group-id", "Values": [gid]},
                {"Name": "group-name", "Values": ["lab-*"]}):
        got = ec2.describe_security_groups(Filters=[flt])["SecurityGroups"]
        assert [g["GroupId"] for g in got] == [gid], flt

    lc.aws("ec2", "authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
           "--port", "22", "--cidr", "192.0.2.0/24")
    rules = lc.aws_json("ec2", "authorize-security-group-ingress", "--group-id", gid,
                        "--ip-permissions",
                        "IpProtocol=-1,UserIdGroupPairs=[{GroupId=%s}]" % gid,
                        "IpProtocol=udp,FromPort=1000,ToPort=2000,"
                        "UserIdGroupPairs=[{GroupId=%s}]" % other)["SecurityGroupRules"]
    assert {(r["IpProtocol"], r["ReferencedGroupInfo"]["GroupId"]) for r in rules} == \
        {("-1", gid), ("udp", other)}

    def authorize(proto, port, cidr=None, group=None):
        perm = {"IpProtocol": proto, "FromPort": port, "ToPort": port}
        if cidr:
            perm["IpRanges"] = [{"CidrIp": cidr}]
        if group:
            perm["UserIdGroupPairs"] = [{"GroupId": group}]
        return error_code(ec2.authorize_security_group_ingress, GroupId=gid,
                          IpPermissions=[perm])
    assert authorize("tcp", 22, "192.0.2.0/24") == "InvalidPermission.Duplicate"
    assert authorize("tcp", 22, "192.0.2.1/24") == "InvalidParameterValue"
    assert authorize("tcp", 70000, "192.0.2.0/24") == "InvalidParameterValue"
    assert authorize("-1", -1, group="sg-0123456789abcdef0") == "InvalidGroup.NotFound"
    perms = {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort")): p
             for p in lc.aws_json("ec2", "describe-security-groups", "--group-ids",
                                  gid)["SecurityGroups"][0]["IpPermissions"]}
    assert perms[("tcp", 22, 22)]["IpRanges"] == [{"CidrIp": "192.0.2.0/24"}]
    assert [x["GroupId"] for x in perms[("-1", None, None)]["UserIdGroupPairs"]] == [gid]
    assert [x["GroupId"] for x in perms[("udp", 1000, 2000)]["UserIdGroupPairs"]] == [other]

    # a group another group's rule names is in use
    r = lc.aws("ec2", "delete-security-group", "--group-id", other, check=False)
    assert r.returncode != 0 and "(DependencyViolation)" in r.stderr, r
    lc.aws("ec2", "revoke-security-group-ingress", "--group-id", gid, "--ip-permissions",
           "IpProtocol=udp,FromPort=1000,ToPort=2000,UserIdGroupPairs=[{GroupId=%s}]" % other,
           "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=192.0.2.0/24}]")
    assert error_code(ec2.revoke_security_group_ingress, GroupId=gid, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}]) == "InvalidPermission.NotFound"
    assert [p["IpProtocol"] for p in ec2.describe_security_groups(
        GroupIds=[gid])["SecurityGroups"][0]["IpPermissions"]] == ["-1"]
    lc.aws("ec2", "delete-security-group", "--group-id", other)
    assert error_code(ec2.describe_security_groups, GroupIds=[other]) == \
        "InvalidGroup.NotFound"


def test_instances_hold_their_groups(localcloud):
    lc, ec2 = localcloud, localcloud.client("ec2")
    gid = ec2.create_security_group(GroupName="g", Description="d")["GroupId"]
    default = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    run = {"ImageId": lc.image_id(), "InstanceType": "t2.micro", "MinCount": 1,
           "MaxCount": 1}
    plain = ec2.run_instances(**run)["Instances"][0]
    assert [g["GroupId"] for g in plain["SecurityGroups"]] == [default["GroupId"]]
    assert error_code(ec2.run_instances, SecurityGroupIds=["sg-0123456789abcdef0"],
                      **run) == "InvalidGroup.NotFound"
    inst = ec2.run_instances(SecurityGroupIds=[gid], **run)["Instances"][0]
    assert inst["SecurityGroups"] == [{"GroupName": "g", "GroupId": gid}]
    for flt in ({"Name": "instance.group-id", "Values": [gid]},
                {"Name": "instance.group-name", "Values": ["g"]}):
        got = ec2.describe_instances(Filters=[flt])["Reservations"]
        assert [i["InstanceId"] for r in got for i in r["Instances"]] == [inst["InstanceId"]]
    assert error_code(ec2.delete_security_group, GroupId=gid) == "DependencyViolation"
    # a group of another VPC is refused; that VPC goes only once its groups do
    vpc = ec2.create_vpc(CidrBlock="172.30.0.0/16")["Vpc"]
    assert not vpc["IsDefault"]
    assert len(ec2.describe_vpcs()["Vpcs"]) == 2
    elsewhere = ec2.create_security_group(GroupName="g", Description="same name, other VPC",
                                          VpcId=vpc["VpcId"])["GroupId"]
    assert error_code(ec2.run_instances, SecurityGroupIds=[gid, elsewhere],
                      **run) == "InvalidParameter"
    assert error_code(ec2.delete_vpc, VpcId=vpc["VpcId"]) == "DependencyViolation"
    ec2.delete_security_group(GroupId=elsewhere)
    ec2.delete_vpc(VpcId=vpc["VpcId"])
    assert [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]] == [lc.vpc_id]
    ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])
    deadline = time.time() + 30
    while True:          # shutting-down still holds it; terminated does not
        try:
            ec2.delete_security_group(GroupId=gid)
            break
        except Exception:
            assert time.time() < deadline, "the group stayed in use after its instance ended"
            time.sleep(0.2)


def ssh_argv(key, user, ip, command):
    return ["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=3",
            "-o", "IdentitiesOnly=yes", "%s@%s" % (user, ip), command]


def ssh(key, user, ip, command, timeout=30):
    return subprocess.run(ssh_argv(key, user, ip, command), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def save_key(lc, name, material):
    path = os.path.join(lc.dir, name + ".pem")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(material)
    return path


@pytest.mark.boot
def test_ssh_as_the_default_user_and_groups_enforced_on_the_host(localcloud_boot):
    lc, ec2 = localcloud_boot, localcloud_boot.client("ec2")
    key = save_key(lc, "lab", ec2.create_key_pair(KeyName="lab")["KeyMaterial"])
    wrong = os.path.join(lc.dir, "wrong")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", wrong], check=True)

    def ssh_from(gid, cidr, revoke=False):
        call = ec2.revoke_security_group_ingress if revoke else \
            ec2.authorize_security_group_ingress
        call(GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                          "IpRanges": [{"CidrIp": cidr}]}])
    cluster = ec2.create_security_group(GroupName="cluster",
                                        Description="head and computes")["GroupId"]
    ssh_from(cluster, "0.0.0.0/0")
    ec2.authorize_security_group_ingress(GroupId=cluster, IpPermissions=[{
        "IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": cluster}]}])
    outsider = ec2.create_security_group(GroupName="outsider",
                                         Description="ssh only")["GroupId"]
    ssh_from(outsider, "0.0.0.0/0")

    def launch(image, groups, user_data="", count=1):
        r = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=count,
                              MaxCount=count, KeyName="lab", SecurityGroupIds=groups,
                              UserData=user_data)
        return [(i["InstanceId"], i["PrivateIpAddress"]) for i in r["Instances"]]

    (head, head_ip), (compute, _) = launch(lc.image_id("amzn2"), [cluster], LISTEN_USER_DATA,
                                           count=2)
    [(other, other_ip)] = launch(lc.image_id("ubuntu-2004-lts"), [outsider])
    lc.wait_console(head, "LISTENING", timeout=90)
    for iid in (compute, other):
        lc.wait_console(iid, "sshd started", timeout=90)

    r = ssh(key, "ec2-user", head_ip, "id -un; sudo -n id -u; hostname")
    assert r.returncode == 0, r
    assert r.stdout.split() == ["ec2-user", "0", "ip-" + head_ip.replace(".", "-")], r
    r = ssh(wrong, "ec2-user", head_ip, "true")
    assert r.returncode == 255 and "Permission denied" in r.stderr, r
    # root only hears whom to log in as (then sleeps 10 s, as cloud-init's)
    p = subprocess.Popen(ssh_argv(key, "root", head_ip, "id"), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    try:
        said = p.stdout.readline()
    finally:
        p.kill()
        p.wait()
    assert said == 'Please login as the user "ec2-user" rather than the user "root".\n'
    r = ssh(key, "ubuntu", other_ip, "id -un")        # the ubuntu image's user
    assert (r.returncode, r.stdout) == (0, "ubuntu\n"), r
    # each instance made host keys of its own
    keys = [lc.in_instance(i, "cat /etc/ssh/ssh_host_ed25519_key.pub").stdout
            for i in (head, compute)]
    assert keys[0] and keys[0] != keys[1]
    assert keys[0] not in open("/etc/ssh/ssh_host_ed25519_key.pub").read()

    # 8080 listens on the head; only its group's members get in
    probe = "curl -s -m 3 -o /dev/null -w %%{http_code} http://%s:8080/" % head_ip
    assert lc.in_instance(head, "curl -s -m 3 -o /dev/null -w %{http_code} "
                                "http://127.0.0.1:8080/").stdout == "200"
    assert lc.in_instance(compute, probe).stdout == "200"
    assert lc.in_instance(other, probe).stdout == "000"
    assert not host_connects(head_ip, 8080)
    # and replies to what the head opens come back to it
    assert lc.in_instance(head, "curl -sf -m 3 $(cat /run/localcloud/endpoint)"
                                "/_localcloud/health").stdout == "ok\n"

    # ssh only from a CIDR that leaves the host out (the running head's rules
    # follow): the host's packets are dropped, as EC2 drops them
    ssh_from(cluster, "0.0.0.0/0", revoke=True)
    ssh_from(cluster, other_ip + "/32")
    r = ssh(key, "ec2-user", head_ip, "true")
    assert r.returncode == 255 and "timed out" in r.stderr, r
    assert lc.in_instance(other, "timeout 3 bash -c 'echo > /dev/tcp/%s/22'"
                          % head_ip).returncode == 0
    ssh_from(cluster, lc.env["LOCALCLOUD_HOST_IP"] + "/32")
    assert ssh(key, "ec2-user", head_ip, "true").returncode == 0
