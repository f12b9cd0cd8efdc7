"""Configs that ParallelCluster v2 (2.11.9, its last release) accepted are
accepted when written into the mount: long lines up to the 64 KiB cap,
configparser's booleans, sections v2 never read (warned with their line),
v2.11 keys, a missing key_name; what is refused says why and where, and
fits the config's form. Spot is launched as spot. Instance types are
checked against the cloud at commit. The configs are written here; none is
copied from anywhere."""
import errno
import json
import os

import pytest

from fixture_mount import bucket_mount, wait_for
from fault_helpers import put_report


def last_error(cluster):
    return json.loads((cluster / "status.json").read_text())["last_error"]


def events(cluster):
    return (cluster / "events").read_text()


def refused(cluster, text):
    with pytest.raises(OSError) as e:
        (cluster / "config").write_text(text)
    assert e.value.errno == errno.EINVAL
    return last_error(cluster)


def in_cluster(good, lines):
    """good with lines added at the end of its [cluster default] section."""
    return good.replace("scheduler = slurm\n", "scheduler = slurm\n" + lines)


def line_of(text, needle):
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


# ---------------------------------------------------------------- the language

def test_long_lines_up_to_the_64k_cap(cluster, good):
    arns = ",".join("arn:aws:iam::aws:policy/Policy%02dForTheJobsOfThisLab" % i for i in range(5))
    tags = json.dumps({"project": "genomics-lab-%s" % ("x" * 180), "owner": "hpc-team",
                       "cost-center": "CC-12345"})
    long_lines = ("tags = %s\n" % tags +
                  "instance_types_data = {\"c5.xlarge\": {\"note\": \"%s\",\n"
                  "    \"more\": \"%s\"}}\n" % ("d" * 1200, "e" * 900))
    # extra_json fills the file to exactly the cap.
    start, end = "extra_json = {\"cluster\": {\"note\": \"", "\"}}\n"
    fill = 64 * 1024 - len(in_cluster(good, long_lines + start + end).encode())
    text = in_cluster(good, long_lines + start + "z" * fill + end)
    assert max(len(line) for line in text.splitlines()) > 60000
    assert len(text.encode()) == 64 * 1024
    (cluster / "config").write_text(text)
    assert (cluster / "config").read_text() == text
    ev = events(cluster)
    assert "config:%d: tags is accepted but not implemented yet" % line_of(text, "tags =") in ev
    assert "extra_json is accepted but not implemented yet" in ev
    # A list of policy ARNs is taken while it fits a value's 199 bytes;
    # a longer one is refused with its line and its length, never cut.
    three = ",".join(arns.split(",")[:3])
    fits = in_cluster(good, "additional_iam_policies = %s\n" % three)
    (cluster / "config").write_text(fits)
    assert (cluster / "config").read_text() == fits
    bad = in_cluster(good, "additional_iam_policies = %s\n" % arns)
    assert len(arns) > 199
    err = refused(cluster, bad)
    assert err.startswith("config:%d: additional_iam_policies is %d bytes long; it may hold "
                          "at most 199" % (line_of(bad, "additional_iam_policies"), len(arns))), err


@pytest.mark.parametrize("word,value", [
    ("1", True), ("yes", True), ("Yes", True), ("on", True), ("ON", True), ("true", True),
    ("True", True), ("0", False), ("no", False), ("NO", False), ("off", False),
    ("Off", False), ("false", False), ("FALSE", False)])
def test_every_configparser_boolean_spelling(cluster, good, word, value):
    text = in_cluster(good, "initial_queue_size = 1\nmaintain_initial_size = %s\n" % word)
    text += "\n[global]\nupdate_check = %s\nsanity_check = %s\n" % (word, word)
    (cluster / "config").write_text(text)
    assert (cluster / "config").read_text() == text
    assert ("sanity_check = false is accepted" in events(cluster)) == (not value)


def test_a_word_that_is_no_boolean_is_refused_with_its_line(cluster, good):
    text = in_cluster(good, "maintain_initial_size = sure\n")
    err = refused(cluster, text)
    assert err.startswith("config:%d: maintain_initial_size = sure" % line_of(text, "sure"))
    assert "yes/no, on/off, 1/0" in err


def test_sections_v2_never_read_are_warnings_with_their_line(cluster, good):
    text = good + ("\n[cluster]\nkey_name = leftover\n"
                   "\n[cluster batch]\nscheduler = awsbatch\ncompute_instance_type = optimal\n"
                   "min_vcpuz = 2\n"
                   "\n[ansible]\nowner = me\n")
    (cluster / "config").write_text(text)
    ev = events(cluster)
    assert "config:%d: section [cluster] needs a name" % line_of(text, "[cluster]") in ev
    assert ("config:%d: unknown key 'min_vcpuz' in [cluster batch]; did you mean 'min_vcpus'?"
            % line_of(text, "min_vcpuz")) in ev
    assert "config:%d: unknown section [ansible]" % line_of(text, "[ansible]") in ev
    # What v2 read stays strict.
    bad = good.replace("[vpc public]\n", "[vpc public]\nvpc_idd = vpc-01234567\n")
    assert refused(cluster, bad).startswith(
        "config:%d: unknown key 'vpc_idd' in [vpc public]" % line_of(bad, "vpc_idd"))


def test_v2_11_keys_are_known(cluster, good):
    text = in_cluster(good, "hit_template_url = https://example.invalid/hit.json\n"
                            "instance_types_data = {\"t2.micro\": {}}\n"
                            "cw_dashboard_template_url = https://example.invalid/d.json\n")
    (cluster / "config").write_text(text)
    assert "hit_template_url is accepted but not implemented yet" in events(cluster)


def test_key_name_is_optional_with_a_warning(cluster, good):
    text = good.replace("key_name = lab-3-your-key\n", "")
    (cluster / "config").write_text(text)
    assert (cluster / "config").read_text() == text
    assert "no key_name: the nodes get no EC2 key pair" in events(cluster)


def test_awsbatch_is_refused_as_not_supported_before_its_values(cluster, good):
    text = good.replace("scheduler = slurm\n",
                        "scheduler = awsbatch\ncompute_instance_type = optimal\n")
    err = refused(cluster, text)
    assert err.startswith("config:%d: scheduler = awsbatch is not supported"
                          % line_of(text, "awsbatch")), err
    assert "compute_instance_type" not in err


def test_placement_group_hint_fits_the_multi_queue_form(cluster, good):
    text = in_cluster(good, "queue_settings = q1\n") + (
        "\n[queue q1]\ncompute_resource_settings = r1\n"
        "\n[compute_resource r1]\ninstance_type = t2.micro\nplacement_group = DYNAMIC\n")
    err = refused(cluster, text)
    assert err.startswith("config:%d: key 'placement_group' does not belong in "
                          "[compute_resource r1]; with queue_settings, it goes in a [queue NAME] "
                          "section" % line_of(text, "placement_group")), err


@pytest.mark.parametrize("line", [
    "encrypted_ephemeral = true", "proxy_server = http://proxy.lab:3128"])
def test_keys_whose_absence_changes_access_are_refused_as_not_implemented(cluster, good, line):
    text = in_cluster(good, line + "\n")
    key = line.split(" ")[0]
    err = refused(cluster, text)
    assert err.startswith("config:%d: %s is not implemented yet" % (line_of(text, line), key))


@pytest.mark.parametrize("line", [
    "ec2_iam_role = lab-node-role", "s3_read_resource = arn:aws:s3:::lab-data/*",
    "s3_read_write_resource = arn:aws:s3:::lab-scratch/*"])
def test_the_v2_iam_keys_are_taken(cluster, good, line):
    text = in_cluster(good, line + "\n")
    (cluster / "config").write_text(text)
    assert (cluster / "config").read_text() == text
    assert "%s is" % line.split(" ")[0] not in events(cluster)


def test_a_role_of_the_users_with_policies_for_it_is_refused_with_its_line(cluster, good):
    text = in_cluster(good, "ec2_iam_role = lab-node-role\n"
                            "s3_read_resource = arn:aws:s3:::lab-data/*\n")
    err = refused(cluster, text)
    assert err.startswith("config:%d: s3_read_resource cannot go with ec2_iam_role (line %d)"
                          % (line_of(text, "s3_read_resource"), line_of(text, "ec2_iam_role"))), err


def test_empty_number_is_refused_with_its_line(cluster, good):
    text = in_cluster(good, "max_queue_size =\n")
    assert refused(cluster, text) == (
        "config:%d: max_queue_size has no value; write a number or remove the line"
        % line_of(text, "max_queue_size"))


def test_a_credential_line_without_equals_is_never_quoted(cluster, good):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    for line in ("aws_secret_access_key " + secret, "AWS_ACCESS_KEY_ID\t" + secret,
                 "  aws_secret_access_key" + secret):
        text = good.replace("[aws]\n", "[aws]\n%s\n" % line)
        err = refused(cluster, text)
        assert err.startswith("config:2: this line names a credential key"), err
        assert secret[:6] not in err
    assert secret[:6] not in events(cluster)
    assert secret[:6] not in (cluster / "status.json").read_text()


def test_the_cost_guard_names_the_mount_option(cluster, good):
    text = in_cluster(good, "max_queue_size = 64\n")
    err = refused(cluster, text)
    assert "mount with -o max_instances=65 to allow it" in err, err


# ---------------------------------------------------------------- against the cloud

@pytest.fixture
def lc(shared_localcloud):
    yield shared_localcloud
    shared_localcloud.clear_faults()


@pytest.fixture
def cloud_mount(tmp_path, lc):
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    try:
        yield m
    finally:
        assert m.stop() == 0, m.log_text()


def test_instance_types_are_checked_at_commit(cloud_mount):
    c = cloud_mount / "types"
    c.mkdir()
    good = cloud_mount.good
    for key, text in [
            ("master_instance_type", in_cluster(good, "master_instance_type = zz9.mega\n")),
            ("compute_instance_type", in_cluster(good, "compute_instance_type = zz9.mega\n")),
            ("instance_type", in_cluster(good, "queue_settings = q1\n") +
             "\n[queue q1]\ncompute_resource_settings = a, b\n"
             "[compute_resource a]\ninstance_type = t2.micro\n"
             "[compute_resource b]\ninstance_type = zz9.mega\n")]:
        err = refused(c, text)
        want = "config:%d: %s = zz9.mega: the instance type does not exist" % (
            line_of(text, "zz9.mega"), key)
        assert err.startswith(want), err
        assert "InvalidInstanceType" in err
    assert (c / "status").read_text() == "NO_CONFIG\n"
    assert os.listdir(c / "nodes") == []


def test_the_local_cloud_takes_and_reports_spot_market_options(lc):
    base = ["ec2", "run-instances", "--image-id", lc.image_id("amzn2"), "--instance-type",
            "t2.micro", "--subnet-id", lc.env["LOCALCLOUD_SUBNET_ID"]]
    out = lc.aws_json(*base, "--instance-market-options",
                      '{"MarketType":"spot","SpotOptions":{"MaxPrice":"0.0300"}}')
    spot = out["Instances"][0]
    plain = lc.aws_json(*base)["Instances"][0]
    try:
        assert spot["InstanceLifecycle"] == "spot"
        assert spot["SpotInstanceRequestId"].startswith("sir-")
        assert "InstanceLifecycle" not in plain
        req = lc.aws_json("ec2", "describe-spot-instance-requests")["SpotInstanceRequests"]
        mine = [q for q in req if q["InstanceId"] == spot["InstanceId"]]
        assert len(mine) == 1 and mine[0]["SpotPrice"] == "0.0300", req
        r = lc.aws("ec2", *base[1:], "--instance-market-options",
                   '{"MarketType":"spot","SpotOptions":{"MaxPrice":"cheap"}}', check=False)
        assert r.returncode != 0 and "InvalidParameterValue" in r.stderr
    finally:
        lc.aws("ec2", "terminate-instances", "--instance-ids", spot["InstanceId"],
               plain["InstanceId"])


def test_spot_queue_launches_spot_instances(cloud_mount, lc):
    c = cloud_mount / "spotlab"
    c.mkdir()
    text = in_cluster(cloud_mount.good, "initial_queue_size = 1\ncluster_type = spot\n"
                                        "spot_price = 0.0420\n")
    (c / "config").write_text(text)
    bucket = cloud_mount.options[0].split("=", 1)[1]
    try:
        assert wait_for(lambda: (c / "nodes" / "head").exists(), timeout=60)
        # Stand in for the head's bootstrap (the local cloud boots nothing
        # here): its report says done, so the compute node is launched.
        put_report(lc, bucket, "spotlab", "head")
        node = c / "nodes" / "compute-st-t2micro-1"
        assert wait_for(lambda: (node / "instance_id").exists()
                        and (node / "instance_id").read_text().strip(), timeout=90)
        iid = (node / "instance_id").read_text().strip()
        desc = lc.aws_json("ec2", "describe-instances", "--instance-ids", iid)
        inst = desc["Reservations"][0]["Instances"][0]
        assert inst.get("InstanceLifecycle") == "spot", inst
        req = lc.aws_json("ec2", "describe-spot-instance-requests",
                          "--spot-instance-request-ids", inst["SpotInstanceRequestId"])
        assert req["SpotInstanceRequests"][0]["SpotPrice"] == "0.0420"
        assert json.loads((node / "node.json").read_text())["market"] == "spot"
        head = json.loads((c / "nodes" / "head" / "node.json").read_text())
        assert head["market"] == "on-demand"
    finally:
        os.rmdir(c)
        assert wait_for(lambda: not c.exists(), timeout=60)
