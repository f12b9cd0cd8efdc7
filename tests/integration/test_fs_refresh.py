"""What a refresh costs in requests (issue 7): a pass lists the bucket and
asks EC2 once a region, and GETs a node's report only when the listing shows
a new ETag for it, so its requests do not grow with the nodes. Counted on the
local cloud's side (GET /_localcloud/requests)."""
import json
import time
import urllib.request

from fixture_mount import bucket_mount, wait_for

REPORTS = 30


def requests_of(lc):
    with urllib.request.urlopen(lc.endpoint + "/_localcloud/requests", timeout=10) as f:
        return json.load(f)


def test_a_pass_gets_only_reports_that_changed(tmp_path, localcloud):
    lc = localcloud
    lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    m = bucket_mount(tmp_path, lc, options=["refresh=1"]).start()
    bucket = m.options[0].split("=", 1)[1]
    s3 = lc.client("s3")
    try:
        # Two clusters: each has a JWT key in the bucket once its head launched.
        for name in ("lab4", "lab3"):
            c = m / name
            c.mkdir()
            (c / "config").write_text(m.good)
        for i in range(1, REPORTS + 1):
            s3.put_object(Bucket=bucket, Key="clusters/lab3/reports/compute-st-t2micro-%d" % i,
                          Body=b"state configuring\nstep slurm\n--\nhello\n")
        node = c / "nodes" / "compute-st-t2micro-7"
        assert wait_for(lambda: node.exists() and
                        (node / "bootstrap").read_text() == "configuring\n", 30, 0.2)
        assert wait_for(lambda: len([o for o in s3.list_objects_v2(
            Bucket=bucket, Prefix="clusters/")["Contents"] if o["Key"].endswith("/jwt.key")]) == 2)
        time.sleep(1.5)   # the pass that read them is over

        before = requests_of(lc)
        assert wait_for(lambda: requests_of(lc).get("ec2:DescribeInstances", 0) >=
                        before.get("ec2:DescribeInstances", 0) + 4, 30, 0.2)
        after = requests_of(lc)
        passes = after["ec2:DescribeInstances"] - before.get("ec2:DescribeInstances", 0)
        gets = after.get("s3:GetObject", 0) - before.get("s3:GetObject", 0)
        lists = after.get("s3:ListObjectsV2", 0) - before.get("s3:ListObjectsV2", 0)
        # The lease costs a GET at most a pass; 30 unchanged reports and the
        # cluster's JWT key (read only once Slurm is up) cost none.
        assert gets <= passes + 1, (passes, gets)
        assert lists <= 2 * passes, (passes, lists)

        # A changed report is read again and shows.
        s3.put_object(Bucket=bucket, Key="clusters/lab3/reports/compute-st-t2micro-7",
                      Body=b"state post\nstep hooks/post\n--\nhello\n")
        assert wait_for(lambda: (node / "bootstrap").read_text() == "post\n", 15, 0.2)
        assert (c / "nodes" / "compute-st-t2micro-8" / "bootstrap").read_text() == \
            "configuring\n"
    finally:
        rc = m.stop()
    assert rc == 0, m.log_text()
