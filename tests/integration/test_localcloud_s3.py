"""The local cloud's S3, STS and IMDS, driven by Debian's aws CLI and botocore."""
import json
import urllib.error
import urllib.request

import botocore.exceptions
import pytest

# Independent of the pclusterfs binary: run once, not again under sanitizers.
pytestmark = pytest.mark.slow


def http(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def test_buckets_objects_and_listing(localcloud, tmp_path):
    lc = localcloud
    lc.aws("s3", "mb", "s3://data-1")
    r = lc.aws("s3api", "create-bucket", "--bucket", "data-2", check=False)
    assert "IllegalLocationConstraintException" in r.stderr      # region needs the constraint
    lc.aws("s3api", "create-bucket", "--bucket", "data-2", "--create-bucket-configuration",
           "LocationConstraint=" + lc.region)
    r = lc.aws("s3api", "create-bucket", "--bucket", "data-2", "--create-bucket-configuration",
               "LocationConstraint=" + lc.region, check=False)
    assert "BucketAlreadyOwnedByYou" in r.stderr
    lc.aws("s3api", "head-bucket", "--bucket", "data-1")
    assert "data-1" in lc.aws("s3", "ls").stdout
    f = tmp_path / "f.txt"
    f.write_text("hello\n")
    for k in ["a/1", "a/2", "a/b/3", "c", "d", "e/f g+h"]:
        lc.aws("s3", "cp", str(f), "s3://data-1/" + k)
    assert lc.aws("s3", "cp", "s3://data-1/e/f g+h", "-").stdout == "hello\n"
    # `s3 ls` asks for encoding-type=url and decodes the names itself
    assert "f g+h" in lc.aws("s3", "ls", "s3://data-1/e/").stdout
    top = lc.aws_json("s3api", "list-objects-v2", "--bucket", "data-1", "--delimiter", "/")
    assert [c["Key"] for c in top["Contents"]] == ["c", "d"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "e/"]
    sub = lc.aws_json("s3api", "list-objects-v2", "--bucket", "data-1", "--prefix", "a/",
                      "--delimiter", "/")
    assert [c["Key"] for c in sub["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in sub["CommonPrefixes"]] == ["a/b/"]
    # paging: the CLI follows continuation tokens, 2 keys a page
    r = lc.aws("s3api", "list-objects-v2", "--bucket", "data-1", "--page-size", "2", "--debug",
               "--output", "json")
    assert r.stderr.count("<NextContinuationToken>") == 2
    assert len(json.loads(r.stdout)["Contents"]) == 6
    one = lc.aws_json("s3api", "list-objects-v2", "--bucket", "data-1", "--max-items", "4")
    rest = lc.aws_json("s3api", "list-objects-v2", "--bucket", "data-1", "--starting-token",
                       one["NextToken"])
    assert [c["Key"] for c in one["Contents"] + rest["Contents"]] == \
        ["a/1", "a/2", "a/b/3", "c", "d", "e/f g+h"]
    head = lc.aws_json("s3api", "head-object", "--bucket", "data-1", "--key", "c")
    assert head["ContentLength"] == 6 and head["ETag"] == '"b1946ac92492d2347c6235b4d2611184"'
    r = lc.aws("s3api", "get-object", "--bucket", "data-1", "--key", "nope", str(tmp_path / "x"),
               check=False)
    assert "NoSuchKey" in r.stderr
    r = lc.aws("s3", "rb", "s3://data-1", check=False)
    assert "BucketNotEmpty" in r.stderr
    lc.aws("s3", "rm", "--recursive", "s3://data-1")
    assert lc.aws_json("s3api", "list-objects-v2", "--bucket", "data-1") is None \
        or "Contents" not in lc.aws_json("s3api", "list-objects-v2", "--bucket", "data-1")
    lc.aws("s3", "rb", "s3://data-1")
    r = lc.aws("s3api", "head-bucket", "--bucket", "data-1", check=False)
    assert r.returncode != 0 and "404" in r.stderr


def test_presigned_get_and_put(localcloud):
    lc = localcloud
    lc.aws("s3", "mb", "s3://pre-1")
    url = lc.aws("s3", "presign", "s3://pre-1/obj", "--expires-in", "120").stdout.strip()
    assert http("GET", url)[0] == 404                       # signature fine, no object yet
    put_url = lc.client("s3").generate_presigned_url(
        "put_object", Params={"Bucket": "pre-1", "Key": "obj"}, ExpiresIn=120)
    st, _, h = http("PUT", put_url, data=b"via presigned PUT")
    assert st == 200 and h["ETag"]
    st, body, _ = http("GET", url)
    assert (st, body) == (200, b"via presigned PUT")
    # a presigned URL is for its own key only
    st, body, _ = http("GET", url.replace("/obj?", "/other?"))
    assert st == 403 and b"SignatureDoesNotMatch" in body


def test_conditional_writes(localcloud):
    lc = localcloud
    s3 = lc.client("s3")
    s3.create_bucket(Bucket="cond-1",
                     CreateBucketConfiguration={"LocationConstraint": lc.region})

    def put(body, **hdrs):
        def add(request, **_):
            for k, v in hdrs.items():
                request.headers[k] = v
        s3.meta.events.register_first("before-sign.s3.PutObject", add)
        try:
            return s3.put_object(Bucket="cond-1", Key="lease", Body=body)
        finally:
            s3.meta.events.unregister("before-sign.s3.PutObject", add)

    first = put(b"one", **{"If-None-Match": "*"})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        put(b"two", **{"If-None-Match": "*"})
    assert e.value.response["Error"]["Code"] == "PreconditionFailed"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    second = put(b"two", **{"If-Match": first["ETag"]})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        put(b"three", **{"If-Match": first["ETag"]})          # stale etag
    assert e.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket="cond-1", Key="lease")["Body"].read() == b"two"
    assert second["ETag"] != first["ETag"]


def test_expected_owner_and_encryption(localcloud):
    lc = localcloud
    s3 = lc.client("s3")
    s3.create_bucket(Bucket="own-1", CreateBucketConfiguration={"LocationConstraint": lc.region})
    s3.put_bucket_encryption(Bucket="own-1", ExpectedBucketOwner=lc.account_id,
                             ServerSideEncryptionConfiguration={"Rules": [{
                                 "ApplyServerSideEncryptionByDefault": {
                                     "SSEAlgorithm": "AES256"}}]})
    assert s3.get_bucket_encryption(Bucket="own-1")["ServerSideEncryptionConfiguration"][
        "Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    out = s3.put_object(Bucket="own-1", Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId="alias/test", ExpectedBucketOwner=lc.account_id)
    assert out["ServerSideEncryption"] == "aws:kms" and out["SSEKMSKeyId"] == "alias/test"
    got = s3.get_object(Bucket="own-1", Key="k", ExpectedBucketOwner=lc.account_id)
    assert got["ServerSideEncryption"] == "aws:kms"
    for call in (lambda o: s3.head_bucket(Bucket="own-1", ExpectedBucketOwner=o),
                 lambda o: s3.get_object(Bucket="own-1", Key="k", ExpectedBucketOwner=o),
                 lambda o: s3.put_object(Bucket="own-1", Key="k", Body=b"y",
                                         ExpectedBucketOwner=o)):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call("000011112222")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert s3.get_object(Bucket="own-1", Key="k")["Body"].read() == b"x"
    r = lc.aws("s3api", "head-object", "--bucket", "own-1", "--key", "k",
               "--expected-bucket-owner", "000011112222", check=False)
    assert "403" in r.stderr


def test_bucket_region_is_enforced(localcloud):
    lc = localcloud
    lc.aws("s3", "mb", "s3://reg-1")
    s3 = lc.client("s3", region="us-east-1")
    # Signed for the wrong region: refused the way S3 does, which botocore's
    # region redirector understands and retries in the bucket's region.
    s3.put_object(Bucket="reg-1", Key="k", Body=b"x")
    log = open(lc.dir + "/server.log").read()
    assert "PUT /reg-1/k PutObject -> 400" in log and "PUT /reg-1/k PutObject -> 200" in log


def test_sts_and_imds_from_host(localcloud):
    lc = localcloud
    ident = lc.aws_json("sts", "get-caller-identity")
    assert ident["Account"] == lc.account_id
    base = lc.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/")
    assert http("GET", base + "/latest/meta-data/iam/security-credentials/")[0] == 401  # v2 only
    st, tok, _ = http("PUT", base + "/latest/api/token",
                      headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    assert st == 200
    # The IMDS has a port of its own (nodes firewall it for non-root users),
    # and the EC2/S3 endpoint serves none of it.
    assert base != lc.endpoint
    assert http("PUT", lc.endpoint + "/latest/api/token",
                headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})[0] != 200
    assert http("GET", base + "/")[0] == 404
    h = {"X-aws-ec2-metadata-token": tok.decode()}
    st, role, _ = http("GET", base + "/latest/meta-data/iam/security-credentials/", headers=h)
    st, creds, _ = http("GET", base + "/latest/meta-data/iam/security-credentials/" +
                        role.decode(), headers=h)
    c = json.loads(creds)
    assert c["Code"] == "Success" and c["Token"]
    # the role credentials work (with their session token), e.g. through the aws CLI
    env = lc.client_env()
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(k)
    import subprocess
    r = subprocess.run(["/usr/bin/aws", "--endpoint-url", lc.endpoint, "sts",
                        "get-caller-identity", "--output", "json"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert ":assumed-role/" in json.loads(r.stdout)["Arn"]


def test_conditional_create_races_have_one_winner(localcloud):
    """If-None-Match: * is check-and-set: of many concurrent creators one wins."""
    import concurrent.futures
    lc = localcloud
    s3 = lc.client("s3", max_pool_connections=16)
    s3.create_bucket(Bucket="race-1", CreateBucketConfiguration={"LocationConstraint": lc.region})

    def add(request, **_):
        request.headers["If-None-Match"] = "*"
    s3.meta.events.register_first("before-sign.s3.PutObject", add)

    def attempt(n):
        try:
            s3.put_object(Bucket="race-1", Key="lease", Body=b"owner-%d" % n)
            return n
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "PreconditionFailed"
            return None
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        winners = [w for w in pool.map(attempt, range(32)) if w is not None]
    assert len(winners) == 1
    assert s3.get_object(Bucket="race-1", Key="lease")["Body"].read() == b"owner-%d" % winners[0]


def test_multipart_upload_through_the_cli(localcloud, tmp_path):
    lc = localcloud
    lc.aws("s3", "mb", "s3://mpu-1")
    big = tmp_path / "big"
    data = bytes(range(256)) * (40 * 4096)          # 40 MiB: the CLI uploads 5 parts
    big.write_bytes(data)
    lc.aws("s3", "cp", str(big), "s3://mpu-1/big")
    head = lc.aws_json("s3api", "head-object", "--bucket", "mpu-1", "--key", "big")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-5"')
    back = tmp_path / "back"
    lc.aws("s3", "cp", "s3://mpu-1/big", str(back))
    assert back.read_bytes() == data
    s3 = lc.client("s3")
    up = s3.create_multipart_upload(Bucket="mpu-1", Key="aborted")["UploadId"]
    s3.upload_part(Bucket="mpu-1", Key="aborted", UploadId=up, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket="mpu-1", Key="aborted", UploadId=up)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part(Bucket="mpu-1", Key="aborted", UploadId=up, PartNumber=2, Body=b"y")
    assert e.value.response["Error"]["Code"] == "NoSuchUpload"


def test_ranged_get(localcloud):
    lc = localcloud
    s3 = lc.client("s3")
    s3.create_bucket(Bucket="rng-1", CreateBucketConfiguration={"LocationConstraint": lc.region})
    s3.put_object(Bucket="rng-1", Key="k", Body=b"0123456789")
    for rng, want in (("bytes=2-4", b"234"), ("bytes=7-", b"789"), ("bytes=-3", b"789"),
                      ("bytes=8-100", b"89")):
        got = s3.get_object(Bucket="rng-1", Key="k", Range=rng)
        assert got["Body"].read() == want and got["ContentRange"].endswith("/10")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket="rng-1", Key="k", Range="bytes=10-")
    assert e.value.response["Error"]["Code"] == "InvalidRange"
