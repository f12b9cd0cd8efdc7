"""Fault injection: per operation, before or after the request takes effect,
set at start or changed while running."""
import time

import botocore.exceptions
import pytest

# Independent of the pclusterfs binary: run once, not again under sanitizers.
pytestmark = pytest.mark.slow


def err_code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.localcloud(faults=["RunInstances:throttle:before:1",
                                "RunInstances:500:after:1"])
def test_ec2_faults_before_and_after(localcloud):
    lc = localcloud
    ec2 = lc.client("ec2")
    args = dict(ImageId=lc.image_id(), InstanceType="t2.micro", MinCount=1, MaxCount=1,
                ClientToken="launch-1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.run_instances(**args)
    assert err_code(e) == ("RequestLimitExceeded", 503)
    assert ec2.describe_instances()["Reservations"] == []          # before: nothing happened
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.run_instances(**args)
    assert err_code(e) == ("InternalError", 500)
    found = ec2.describe_instances(Filters=[{"Name": "client-token", "Values": ["launch-1"]}])
    launched = [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]]
    assert len(launched) == 1                                       # after: the launch happened
    again = ec2.run_instances(**args)                               # the retry is idempotent
    assert again["Instances"][0]["InstanceId"] == launched[0]
    assert len(ec2.describe_instances()["Reservations"]) == 1


def test_s3_faults_changed_while_running(localcloud):
    lc = localcloud
    s3 = lc.client("s3")
    s3.create_bucket(Bucket="flt-1", CreateBucketConfiguration={"LocationConstraint": lc.region})
    lc.fault("PutObject:reset:before:1")
    with pytest.raises((botocore.exceptions.ConnectionClosedError,
                        botocore.exceptions.EndpointConnectionError)):
        s3.put_object(Bucket="flt-1", Key="a", Body=b"1")
    assert "Contents" not in s3.list_objects_v2(Bucket="flt-1")
    lc.fault("PutObject:reset:after:1")
    with pytest.raises((botocore.exceptions.ConnectionClosedError,
                        botocore.exceptions.EndpointConnectionError)):
        s3.put_object(Bucket="flt-1", Key="b", Body=b"2")
    assert s3.get_object(Bucket="flt-1", Key="b")["Body"].read() == b"2"
    lc.fault("GetObject:throttle:before:1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket="flt-1", Key="b")
    assert err_code(e) == ("SlowDown", 503)
    lc.fault("HeadBucket:503:before:1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_bucket(Bucket="flt-1")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    lc.fault("ListObjectsV2:latency=600")
    t0 = time.time()
    s3.list_objects_v2(Bucket="flt-1")
    assert time.time() - t0 >= 0.6
    lc.clear_faults()
    t0 = time.time()
    s3.list_objects_v2(Bucket="flt-1")
    assert time.time() - t0 < 0.5


def test_cli_retries_through_throttling(localcloud):
    lc = localcloud
    lc.fault("DescribeVpcs:throttle:before:2")
    vpcs = lc.aws_json("ec2", "describe-vpcs")["Vpcs"]       # the CLI's own retries absorb it
    assert vpcs[0]["VpcId"] == lc.vpc_id
    log = open(lc.dir + "/server.log").read()
    assert log.count("DescribeVpcs -> 503") == 2
