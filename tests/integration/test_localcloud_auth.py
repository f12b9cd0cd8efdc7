"""Signatures: a correctly signed request passes; a changed body, a wrong
secret, an unknown key or an expired presigned URL is refused with AWS's code."""
import hashlib
import time

import pytest
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# Independent of the pclusterfs binary: run once, not again under sanitizers.
pytestmark = pytest.mark.slow


def send(req):
    r = urllib.request.Request(req.url, data=req.body or None, method=req.method,
                               headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def code_of(body):
    x = ET.fromstring(body)
    return next(e.text for e in x.iter() if e.tag.split("}")[-1] == "Code")


def ec2_request(lc, body, secret=None, key=None):
    req = AWSRequest(method="POST", url=lc.endpoint + "/", data=body.encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    creds = Credentials(key or lc.env["AWS_ACCESS_KEY_ID"],
                        secret or lc.env["AWS_SECRET_ACCESS_KEY"])
    SigV4Auth(creds, "ec2", lc.region).add_auth(req)
    return req


def s3_put(lc, key, data, secret=None):
    req = AWSRequest(method="PUT", url="%s/auth-1/%s" % (lc.endpoint, key), data=data)
    creds = Credentials(lc.env["AWS_ACCESS_KEY_ID"], secret or lc.env["AWS_SECRET_ACCESS_KEY"])
    S3SigV4Auth(creds, "s3", lc.region).add_auth(req)
    return req


def test_ec2_signatures(localcloud):
    lc = localcloud
    ok = "Action=DescribeVpcs&Version=2016-11-15"
    status, body = send(ec2_request(lc, ok))
    assert status == 200 and b"<vpcSet>" in body
    req = ec2_request(lc, ok)
    req.data = (ok + "&VpcId.1=vpc-1").encode()     # body changed after signing
    status, body = send(req)
    assert (status, code_of(body)) == (401, "AuthFailure")
    status, body = send(ec2_request(lc, ok, secret="wrong" * 8))
    assert (status, code_of(body)) == (401, "AuthFailure")
    assert b"<Response><Errors><Error><Code>AuthFailure</Code>" in body and b"<RequestID>" in body
    status, body = send(ec2_request(lc, ok, key="AKIAUNKNOWN000000000"))
    assert (status, code_of(body)) == (401, "AuthFailure")
    # unsigned
    status, body = send(AWSRequest(method="POST", url=lc.endpoint + "/", data=ok.encode(),
                                   headers={"Content-Type": "application/x-www-form-urlencoded"}))
    assert status in (401, 403) and code_of(body) == "MissingAuthenticationToken"


def test_sts_signatures(localcloud):
    lc = localcloud
    body = "Action=GetCallerIdentity&Version=2011-06-15"

    def sts(secret):
        req = AWSRequest(method="POST", url=lc.endpoint + "/", data=body.encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(Credentials(lc.env["AWS_ACCESS_KEY_ID"], secret), "sts", lc.region).add_auth(req)
        return send(req)
    status, out = sts(lc.env["AWS_SECRET_ACCESS_KEY"])
    assert status == 200 and lc.account_id.encode() in out
    status, out = sts("x" * 40)
    assert (status, code_of(out)) == (403, "SignatureDoesNotMatch")


def test_s3_signatures(localcloud):
    lc = localcloud
    lc.client("s3").create_bucket(Bucket="auth-1", CreateBucketConfiguration={
        "LocationConstraint": lc.region})
    assert send(s3_put(lc, "a", b"data"))[0] == 200
    # body changed, content hash header unchanged: S3's content check
    req = s3_put(lc, "a", b"data")
    req.data = b"DATA"
    status, body = send(req)
    assert (status, code_of(body)) == (400, "XAmzContentSHA256Mismatch")
    # body and its hash header changed: the signature no longer matches
    req = s3_put(lc, "a", b"data")
    req.data = b"DATA"
    req.headers.replace_header("X-Amz-Content-SHA256", hashlib.sha256(b"DATA").hexdigest())
    status, body = send(req)
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    status, body = send(s3_put(lc, "a", b"data", secret="y" * 40))
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    # nothing of the refused requests was stored
    assert lc.client("s3").get_object(Bucket="auth-1", Key="a")["Body"].read() == b"data"
    # UNSIGNED-PAYLOAD is allowed
    req = AWSRequest(method="PUT", url="%s/auth-1/u" % lc.endpoint, data=b"free",
                     headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    creds = Credentials(lc.env["AWS_ACCESS_KEY_ID"], lc.env["AWS_SECRET_ACCESS_KEY"])
    auth = S3SigV4Auth(creds, "s3", lc.region)
    auth._modify_request_before_signing = lambda r: r.headers.__setitem__(
        "X-Amz-Date", r.context["timestamp"])
    auth.add_auth(req)
    assert send(req)[0] == 200


def test_presigned_expiry(localcloud):
    lc = localcloud
    s3 = lc.client("s3")
    s3.create_bucket(Bucket="auth-2", CreateBucketConfiguration={"LocationConstraint": lc.region})
    s3.put_object(Bucket="auth-2", Key="k", Body=b"v")
    req = AWSRequest(method="GET", url="%s/auth-2/k" % lc.endpoint)
    creds = Credentials(lc.env["AWS_ACCESS_KEY_ID"], lc.env["AWS_SECRET_ACCESS_KEY"])
    S3SigV4QueryAuth(creds, "s3", lc.region, expires=1).add_auth(req)
    assert send(AWSRequest(method="GET", url=req.url)) == (200, b"v")
    time.sleep(2.1)
    status, body = send(AWSRequest(method="GET", url=req.url))
    assert (status, code_of(body)) == (403, "AccessDenied")
    assert b"Request has expired" in body
    # the CLI's presigned URL with a tampered expiry no longer matches its signature
    url = lc.aws("s3", "presign", "s3://auth-2/k", "--expires-in", "60").stdout.strip()
    assert send(AWSRequest(method="GET", url=url)) == (200, b"v")
    status, body = send(AWSRequest(method="GET", url=url.replace("X-Amz-Expires=60",
                                                                 "X-Amz-Expires=61")))
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")


def test_curl_sigv4_is_accepted(localcloud, tmp_path):
    """Another signer than botocore's (curl's --aws-sigv4), with a key that
    needs percent-encoding, is checked the same way."""
    import subprocess
    lc = localcloud
    lc.client("s3").create_bucket(Bucket="curl-1", CreateBucketConfiguration={
        "LocationConstraint": lc.region})
    f = tmp_path / "body"
    f.write_bytes(b"from curl")
    url = lc.endpoint + "/curl-1/dir/a%20b%21%28c%29"
    common = ["curl", "-sS", "--aws-sigv4", "aws:amz:%s:s3" % lc.region, "--user",
              "%s:%s" % (lc.env["AWS_ACCESS_KEY_ID"], lc.env["AWS_SECRET_ACCESS_KEY"]),
              "-H", "x-amz-content-sha256: " + hashlib.sha256(b"from curl").hexdigest()]
    r = subprocess.run(common + ["-o", "/dev/null", "-w", "%{http_code}", "-T", str(f), url],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout == "200", r.stdout + r.stderr
    got = lc.client("s3").get_object(Bucket="curl-1", Key="dir/a b!(c)")["Body"].read()
    assert got == b"from curl"
    bad = list(common)
    bad[bad.index("--user") + 1] = "%s:%s" % (lc.env["AWS_ACCESS_KEY_ID"], "z" * 40)
    r = subprocess.run(bad + ["-T", str(f), url], capture_output=True, text=True, timeout=30)
    assert "<Code>SignatureDoesNotMatch</Code>" in r.stdout
