"""The AWS layer's S3 calls against the local cloud (boot off), with the
effects read back through Debian's aws CLI."""
import errno
import json
import urllib.error
import urllib.request

ECANCELED = -errno.ECANCELED     # AWS_ERR_PRECONDITION


def s3(lc, awsprobe, *args, **kw):
    return awsprobe(lc, "--owner", lc.account_id, *args, **kw)


def test_bucket_private_encrypted_and_owned(localcloud, awsprobe):
    lc = localcloud
    b = "pcfs-test-%s" % lc.account_id
    s3(lc, awsprobe, "create-bucket", b)
    loc = lc.aws_json("s3api", "get-bucket-location", "--bucket", b)
    assert loc["LocationConstraint"] == lc.region          # outside us-east-1
    enc = lc.aws_json("s3api", "get-bucket-encryption", "--bucket", b)
    rule = enc["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    s3(lc, awsprobe, "create-bucket", b)                    # ours already: fine
    assert s3(lc, awsprobe, "head-bucket", b)["region"] in ("", lc.region)

    err = awsprobe(lc, "--owner", "999999999999", "head-bucket", b, ok=False)["error"]
    assert err["errno"] == -errno.EACCES
    err = s3(lc, awsprobe, "head-bucket", "pcfs-no-such-bucket", ok=False)["error"]
    assert err["errno"] == -errno.ENOENT and err["code"] == "NoSuchBucket"
    err = awsprobe(lc, "head-bucket", b, ok=False)["error"]
    assert err["code"] == "MissingBucketOwner"

    us = "pcfs-test-us-%s" % lc.account_id
    awsprobe(lc, "--region", "us-east-1", "--owner", lc.account_id, "create-bucket", us)
    loc = lc.aws_json("s3api", "get-bucket-location", "--bucket", us, region="us-east-1")
    assert loc["LocationConstraint"] in (None, "")


def test_objects_conditional_writes_and_listing(localcloud, awsprobe, tmp_path):
    lc = localcloud
    b = "pcfs-obj-%s" % lc.account_id
    s3(lc, awsprobe, "create-bucket", b)
    key = "clusters/lab 3/config"
    put = s3(lc, awsprobe, "put-object", b, key, "--data", "[aws]\naws_region_name = x\n",
             "--if-none-match")
    etag = put["etag"]
    assert etag.startswith('"')
    # the reference client reads the same bytes, encrypted at rest
    out = tmp_path / "got"
    head = lc.aws_json("s3api", "get-object", "--bucket", b, "--key", key, str(out))
    assert out.read_text() == "[aws]\naws_region_name = x\n"
    assert head["ETag"] == etag and head["ServerSideEncryption"] == "AES256"

    err = s3(lc, awsprobe, "put-object", b, key, "--data", "other", "--if-none-match",
             ok=False)["error"]
    assert err["errno"] == ECANCELED and err["http_status"] == 412
    assert err["code"] == "PreconditionFailed" and err["attempts"] == 1
    put2 = s3(lc, awsprobe, "put-object", b, key, "--data", "v2", "--if-match", etag)
    assert put2["etag"] != etag
    err = s3(lc, awsprobe, "put-object", b, key, "--data", "v3", "--if-match", etag,
             ok=False)["error"]
    assert err["errno"] == ECANCELED
    got = s3(lc, awsprobe, "get-object", b, key)
    assert got["data"] == "v2" and got["info"]["etag"] == put2["etag"]
    assert got["info"]["size"] == 2
    h = s3(lc, awsprobe, "head-object", b, key)
    assert h["size"] == 2 and h["etag"] == put2["etag"] and h["last_modified"]

    # binary bodies survive
    blob = tmp_path / "blob"
    blob.write_bytes(bytes(range(256)) * 300)
    s3(lc, awsprobe, "put-object", b, "bin/blob", "--file", str(blob))
    lc.aws("s3api", "get-object", "--bucket", b, "--key", "bin/blob", str(tmp_path / "blob2"))
    assert (tmp_path / "blob2").read_bytes() == blob.read_bytes()

    # seven keys, listed two a page, the same as the aws CLI lists them
    for i in range(7):
        s3(lc, awsprobe, "put-object", b, "clusters/many/hooks/post/%02d.sh" % i, "--data", "#!/bin/sh\n")
    listed = s3(lc, awsprobe, "list-objects", b, "--prefix", "clusters/many/", "--page-size", "2")
    keys = [o["key"] for o in listed["objects"]]
    cli = lc.aws_json("s3api", "list-objects-v2", "--bucket", b, "--prefix", "clusters/many/")
    assert keys == [o["Key"] for o in cli["Contents"]] and len(keys) == 7
    assert all(o["size"] == 10 for o in listed["objects"])
    everything = [o["key"] for o in s3(lc, awsprobe, "list-objects", b)["objects"]]
    assert key in everything and "bin/blob" in everything and len(everything) == 9

    s3(lc, awsprobe, "delete-object", b, key)
    r = lc.aws("s3api", "head-object", "--bucket", b, "--key", key, check=False)
    assert r.returncode != 0 and "404" in r.stderr
    err = s3(lc, awsprobe, "get-object", b, key, ok=False)["error"]
    assert err["code"] == "NoSuchKey" and err["errno"] == -errno.ENOENT
    err = s3(lc, awsprobe, "head-object", b, key, ok=False)["error"]
    assert err["errno"] == -errno.ENOENT
    s3(lc, awsprobe, "delete-object", b, key)               # absent: still fine

    # a bucket someone else owns is refused on every call
    err = awsprobe(lc, "--owner", "999999999999", "get-object", b, "bin/blob", ok=False)["error"]
    assert err["errno"] == -errno.EACCES


def test_presigned_urls(localcloud, awsprobe):
    lc = localcloud
    b = "pcfs-pre-%s" % lc.account_id
    s3(lc, awsprobe, "create-bucket", b)
    s3(lc, awsprobe, "put-object", b, "clusters/x/manifest", "--data", "manifest body")
    url = s3(lc, awsprobe, "presign", "GET", b, "clusters/x/manifest", "300")["url"]
    assert lc.env["AWS_SECRET_ACCESS_KEY"] not in url
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"manifest body"
    put_url = s3(lc, awsprobe, "presign", "PUT", b, "clusters/x/reports/head", "300")["url"]
    req = urllib.request.Request(put_url, data=b"bootstrap: done\n", method="PUT")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    assert s3(lc, awsprobe, "get-object", b, "clusters/x/reports/head")["data"] == "bootstrap: done\n"
    # a presigned URL is bound to its method and key
    tampered = url.replace("manifest", "other")
    try:
        urllib.request.urlopen(tampered, timeout=10)
        assert False, "a tampered presigned URL worked"
    except urllib.error.HTTPError as e:
        assert e.code == 403
    err = s3(lc, awsprobe, "presign", "DELETE", b, "k", "300", ok=False)["error"]
    assert err["errno"] == -errno.EINVAL
    err = s3(lc, awsprobe, "presign", "GET", b, "k", "604801", ok=False)["error"]
    assert err["errno"] == -errno.EINVAL


def test_s3_retries(localcloud, awsprobe):
    lc = localcloud
    b = "pcfs-retry-%s" % lc.account_id
    s3(lc, awsprobe, "create-bucket", b)
    lc.fault("PutObject:reset:after:1")
    out = s3(lc, awsprobe, "put-object", b, "k1", "--data", "one")
    assert out["attempts"] == 2
    lc.clear_faults()
    lc.fault("PutObject:throttle:before:2")
    out = s3(lc, awsprobe, "put-object", b, "k2", "--data", "two")
    assert out["attempts"] == 3
    lc.clear_faults()
    # A conditional create whose answer was lost: the retry finds its own
    # object and S3 says 412. The caller (the daemon) compares the content.
    lc.fault("PutObject:503:after:1")
    err = s3(lc, awsprobe, "put-object", b, "lease", "--data", "me", "--if-none-match",
             ok=False)["error"]
    assert err["errno"] == ECANCELED and err["attempts"] == 2
    assert s3(lc, awsprobe, "get-object", b, "lease")["data"] == "me"
    lc.clear_faults()
    lc.fault("ListObjectsV2:throttle")
    err = s3(lc, awsprobe, "list-objects", b, ok=False)["error"]
    assert err["code"] == "SlowDown" and err["attempts"] == 3 and err["errno"] == -errno.EAGAIN
    secret = lc.env["AWS_SECRET_ACCESS_KEY"]
    assert secret not in awsprobe.last.stdout + awsprobe.last.stderr


def test_threads_with_own_clients_share_credentials(localcloud, awsprobe):
    """Eight threads, each with its own client, one credentials provider."""
    lc = localcloud
    b = "pcfs-par-%s" % lc.account_id
    s3(lc, awsprobe, "create-bucket", b)
    lc.fault("PutObject:503:before:5")      # some retries on the way
    assert s3(lc, awsprobe, "parallel-put", b, "p/", "8", "10")["stored"] == 80
    cli = lc.aws_json("s3api", "list-objects-v2", "--bucket", b, "--prefix", "p/")
    assert len(cli["Contents"]) == 80


def test_keys_with_awkward_characters(localcloud, awsprobe):
    """Keys are signed and sent encoded once (S3 semantics), whatever they hold."""
    lc = localcloud
    b = "pcfs-keys-%s" % lc.account_id
    s3(lc, awsprobe, "create-bucket", b)
    keys = ["hooks/post/10 setup+x.sh", "weird/é~!$&'()*,;=:@[]", "q/a?b#c%20d",
            "dots/./x/../y", "//double//slash"]
    for i, k in enumerate(keys):
        s3(lc, awsprobe, "put-object", b, k, "--data", "body %d" % i)
    listed = [o["key"] for o in s3(lc, awsprobe, "list-objects", b)["objects"]]
    cli = [o["Key"] for o in lc.aws_json("s3api", "list-objects-v2", "--bucket", b)["Contents"]]
    assert sorted(listed) == sorted(keys) == sorted(cli)
    for i, k in enumerate(keys):
        assert s3(lc, awsprobe, "get-object", b, k)["data"] == "body %d" % i
        url = s3(lc, awsprobe, "presign", "GET", b, k, "60")["url"]
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.read() == b"body %d" % i
    s3(lc, awsprobe, "delete-object", b, keys[1])
    assert keys[1] not in [o["key"] for o in s3(lc, awsprobe, "list-objects", b)["objects"]]


def test_key_with_control_characters_lists(localcloud, awsprobe, tmp_path):
    """A key XML cannot carry comes back through ListObjectsV2's url encoding."""
    lc = localcloud
    b = "pcfs-ctl-%s" % lc.account_id
    s3(lc, awsprobe, "create-bucket", b)
    key = "ctl/a\x01b\x7f c+d"
    s3(lc, awsprobe, "put-object", b, key, "--data", "x")
    assert [o["key"] for o in s3(lc, awsprobe, "list-objects", b)["objects"]] == [key]
    assert s3(lc, awsprobe, "get-object", b, key)["data"] == "x"
