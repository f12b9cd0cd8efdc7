"""A cluster's security groups, as pclusterfs makes them (fs/control/
secgroups.h), seen from outside with Debian's aws CLI against the local
cloud: made before the head launches (the head's: tcp 22 from ssh_from; the
cluster's: everything from itself), the head launched into both, gone after
rmdir; vpc_security_group_id replaces them and additional_sg adds to them;
a group without the owner tag is never touched; a bad ssh_from and a group
that does not exist or is in another VPC are refused at commit, with their
line. With boot off: no instance runs, the checks are on the API alone."""
import errno
import hashlib
import json
import os

import pytest

from fixture_mount import bucket_mount, wait_for


def group_name(bucket, cluster, kind):
    """The documented rule: pcfs-<cluster>-<10 hex of sha256(bucket/cluster)>-<kind>."""
    h = hashlib.sha256(("%s/%s" % (bucket, cluster)).encode()).hexdigest()[:10]
    return "pcfs-%s-%s-%s" % (cluster, h, kind)


def groups(lc, **filters):
    args = []
    for k, v in filters.items():
        args.append("Name=%s,Values=%s" % (k.replace("_", "-").replace("tag-", "tag:"), v))
    out = lc.aws_json("ec2", "describe-security-groups", *(["--filters"] + args if args else []))
    return out["SecurityGroups"]


def owned(lc, bucket):
    return {g["GroupName"]: g for g in groups(lc) if
            {"Key": "pclusterfs:owner", "Value": bucket} in g.get("Tags", [])}


def head_instances(lc, bucket, cluster):
    out = lc.aws_json("ec2", "describe-instances", "--filters",
                      "Name=tag:pclusterfs:owner,Values=" + bucket,
                      "Name=tag:pclusterfs:cluster,Values=" + cluster,
                      "Name=tag:pclusterfs:node,Values=head")
    return [i for r in out["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] not in ("terminated", "shutting-down")]


def with_vpc_lines(good, lines):
    """good with lines added to its [vpc public] section."""
    head, sep, tail = good.partition("[vpc public]\n")
    assert sep
    return head + sep + lines + tail


def last_error(cluster):
    return json.loads((cluster / "status.json").read_text())["last_error"]


def refused(cluster, text):
    with pytest.raises(OSError) as e:
        (cluster / "config").write_text(text)
    assert e.value.errno == errno.EINVAL
    return last_error(cluster)


def line_of(text, needle):
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def lc(shared_localcloud):
    yield shared_localcloud
    shared_localcloud.clear_faults()


@pytest.fixture
def m(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    m.bucket = m.options[0].split("=", 1)[1]
    try:
        yield m
    finally:
        assert m.stop() == 0, m.log_text()


def make_group(lc, name, vpc=None, tags=None):
    args = ["ec2", "create-security-group", "--group-name", name, "--description", "test",
            "--vpc-id", vpc or lc.env["LOCALCLOUD_VPC_ID"]]
    if tags:
        args += ["--tag-specifications", "ResourceType=security-group,Tags=[%s]" %
                 ",".join("{Key=%s,Value=%s}" % kv for kv in tags.items())]
    return lc.aws_json(*args)["GroupId"]


def test_groups_made_used_and_removed(m, lc):
    head, cluster = group_name(m.bucket, "sg1", "head"), group_name(m.bucket, "sg1", "cluster")
    (m / "sg1").mkdir()
    (m / "sg1" / "config").write_text(with_vpc_lines(m.good, "ssh_from = 198.51.100.0/24\n"))
    assert wait_for(lambda: head_instances(lc, m.bucket, "sg1"), timeout=30), \
        (m / "sg1" / "events").read_text()
    got = owned(lc, m.bucket)
    assert sorted(got) == sorted([head, cluster])
    h, c = got[head], got[cluster]
    assert h["VpcId"] == c["VpcId"] == lc.env["LOCALCLOUD_VPC_ID"]
    assert {"Key": "pclusterfs:cluster", "Value": "sg1"} in h["Tags"]
    assert [(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"),
             [r["CidrIp"] for r in p["IpRanges"]]) for p in h["IpPermissions"]] == \
        [("tcp", 22, 22, ["198.51.100.0/24"])]
    assert [(p["IpProtocol"], [g["GroupId"] for g in p["UserIdGroupPairs"]], p["IpRanges"])
            for p in c["IpPermissions"]] == [("-1", [c["GroupId"]], [])]
    inst = head_instances(lc, m.bucket, "sg1")[0]
    assert sorted(g["GroupId"] for g in inst["SecurityGroups"]) == \
        sorted([h["GroupId"], c["GroupId"]])
    # status.json says how to log in: the head's addresses and the image's user
    def head_node():
        return json.loads((m / "sg1" / "status.json").read_text())["headNode"] or {}
    assert wait_for(lambda: head_node().get("privateIpAddress"), timeout=20)
    hn = head_node()
    assert hn["sshUser"] == "ec2-user" and hn["instanceId"] == inst["InstanceId"]
    assert hn["privateIpAddress"] == inst["PrivateIpAddress"]
    assert hn["publicIpAddress"] == inst.get("PublicIpAddress"), (hn, inst)

    os.rmdir(m / "sg1")
    assert wait_for(lambda: not (m / "sg1").exists(), timeout=60)
    assert owned(lc, m.bucket) == {}
    assert groups(lc, group_name=head) == [] and groups(lc, group_name=cluster) == []


def test_vpc_security_group_id_replaces_additional_sg_adds(m, lc):
    mine = make_group(lc, "mine-" + m.bucket)
    extra = make_group(lc, "extra-" + m.bucket)
    try:
        (m / "rep").mkdir()
        (m / "rep" / "config").write_text(with_vpc_lines(
            m.good, "vpc_security_group_id = %s\nadditional_sg = %s\n" % (mine, extra)))
        (m / "add").mkdir()
        (m / "add" / "config").write_text(with_vpc_lines(m.good, "additional_sg = %s\n" % extra))
        assert wait_for(lambda: head_instances(lc, m.bucket, "rep") and
                        head_instances(lc, m.bucket, "add"), timeout=40), \
            (m / "rep" / "events").read_text() + (m / "add" / "events").read_text()
        rep = head_instances(lc, m.bucket, "rep")[0]
        assert sorted(g["GroupId"] for g in rep["SecurityGroups"]) == sorted([mine, extra])
        add = head_instances(lc, m.bucket, "add")[0]
        made = owned(lc, m.bucket)
        # only the "add" cluster's groups were made
        assert sorted(made) == sorted([group_name(m.bucket, "add", "head"),
                                       group_name(m.bucket, "add", "cluster")])
        assert sorted(g["GroupId"] for g in add["SecurityGroups"]) == \
            sorted([g["GroupId"] for g in made.values()] + [extra])
        os.rmdir(m / "rep")
        os.rmdir(m / "add")
        assert wait_for(lambda: not (m / "rep").exists() and not (m / "add").exists(),
                        timeout=60)
        assert owned(lc, m.bucket) == {}
        # the user's groups are theirs: still there
        assert [g["GroupId"] for g in groups(lc, group_id=mine)] == [mine]
        assert [g["GroupId"] for g in groups(lc, group_id=extra)] == [extra]
    finally:
        for gid in (mine, extra):
            lc.aws("ec2", "delete-security-group", "--group-id", gid, check=False)


def test_a_group_without_the_owner_tag_is_never_touched(m, lc):
    name = group_name(m.bucket, "foreign", "head")
    gid = make_group(lc, name, tags={"pclusterfs:cluster": "foreign"})
    try:
        (m / "foreign").mkdir()
        (m / "foreign" / "config").write_text(m.good)
        assert wait_for(lambda: "it is not this bucket's" in
                        (m / "foreign" / "events").read_text(), timeout=30), \
            (m / "foreign" / "events").read_text()
        assert head_instances(lc, m.bucket, "foreign") == []
        os.rmdir(m / "foreign")
        assert wait_for(lambda: not (m / "foreign").exists(), timeout=60)
        left = groups(lc, group_id=gid)
        assert len(left) == 1 and left[0]["IpPermissions"] == [], left
        # nothing of ours was made beside it
        assert owned(lc, m.bucket) == {}
    finally:
        lc.aws("ec2", "delete-security-group", "--group-id", gid, check=False)


def test_refused_at_commit_with_the_line(m, lc):
    c = m / "bad"
    c.mkdir()
    text = with_vpc_lines(m.good, "ssh_from = 10.0.0.1/16\n")
    err = refused(c, text)
    assert err.startswith("config:%d: ssh_from = 10.0.0.1/16: ssh_from must be an IPv4 CIDR" %
                          line_of(text, "ssh_from")), err
    text = with_vpc_lines(m.good, "ssh_from = 0.0.0.0\n")
    assert "ssh_from must be an IPv4 CIDR" in refused(c, text)
    for key in ("vpc_security_group_id", "additional_sg"):
        text = with_vpc_lines(m.good, "%s = sg-0123456789abcdef0\n" % key)
        err = refused(c, text)
        want = "config:%d: %s = sg-0123456789abcdef0: the security group does not exist" % (
            line_of(text, "sg-0123456789abcdef0"), key)
        assert err.startswith(want), err
    other_vpc = lc.aws_json("ec2", "create-vpc", "--cidr-block", "10.77.0.0/16")["Vpc"]["VpcId"]
    gid = make_group(lc, "elsewhere-" + m.bucket, vpc=other_vpc)
    try:
        text = with_vpc_lines(m.good, "additional_sg = %s\n" % gid)
        err = refused(c, text)
        assert err.startswith("config:%d: additional_sg = %s is in %s, not in vpc_id = %s" % (
            line_of(text, gid), gid, other_vpc, lc.env["LOCALCLOUD_VPC_ID"])), err
    finally:
        lc.aws("ec2", "delete-security-group", "--group-id", gid, check=False)
        lc.aws("ec2", "delete-vpc", "--vpc-id", other_vpc, check=False)
    assert (c / "status").read_text() == "NO_CONFIG\n"
    assert owned(lc, m.bucket) == {}
