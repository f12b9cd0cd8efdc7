"""The S3 REST API, path-style: buckets, objects, ListObjectsV2, conditional
writes, ExpectedBucketOwner, server-side-encryption headers.

Each bucket is a directory <dir>/s3/<bucket>/ holding bucket.json and
objects/<sha256 of key>{.data,.json}; an in-memory index of the metadata is
rebuilt from those files at start. Writes are atomic (temp + rename) and
serialised per bucket, so conditional writes are check-and-set."""
import base64
import hashlib
import os
import re
import shutil
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

from . import common
from .xmlout import el, root, to_bytes

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SSE_HEADERS = ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
               "x-amz-server-side-encryption-bucket-key-enabled")


class S3Error(Exception):
    def __init__(self, code, message, status, extra=None, headers=None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.extra = extra or {}
        self.headers = headers or {}


def error_xml(code, message, rid, extra=None):
    r = root("Error")
    el(r, "Code", code)
    el(r, "Message", message)
    for k, v in (extra or {}).items():
        el(r, k, v)
    el(r, "RequestId", rid)
    return to_bytes(r)


class Response:
    def __init__(self, status=200, body=b"", headers=None):
        self.status, self.body, self.headers = status, body, headers or {}


def operation(method, path, query):
    """The S3 operation name of a request (for fault injection and errors)."""
    bucket, key = split_path(path)
    if not bucket:
        return "ListBuckets"
    if key is None:
        for sub, names in (("encryption", "BucketEncryption"),
                           ("publicAccessBlock", "PublicAccessBlock"),
                           ("location", "BucketLocation")):
            if sub in query:
                return {"PUT": "Put", "GET": "Get", "DELETE": "Delete"}.get(method, "") + names
        if "delete" in query and method == "POST":
            return "DeleteObjects"
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket",
                "GET": "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
                }.get(method, "Unknown")
    if "uploads" in query and method == "POST":
        return "CreateMultipartUpload"
    if "uploadId" in query:
        return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload",
                "DELETE": "AbortMultipartUpload"}.get(method, "Unknown")
    return {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject",
            "DELETE": "DeleteObject"}.get(method, "Unknown")


def split_path(path):
    p = path.partition("?")[0]
    parts = p.lstrip("/").split("/", 1)
    bucket = urllib.parse.unquote(parts[0]) if parts[0] else None
    key = urllib.parse.unquote(parts[1]) if len(parts) > 1 and parts[1] != "" else None
    return bucket, key


def parse_range(value, size):
    """(first, last) of a single "bytes=" range, None for the whole object."""
    if not value:
        return None
    m = re.match(r"^bytes=(\d*)-(\d*)$", value.strip())
    if not m or m.groups() == ("", ""):
        return None                          # S3 ignores ranges it cannot parse
    a, b = m.groups()
    if a == "":
        first, last = max(0, size - int(b)), size - 1
    else:
        first, last = int(a), min(int(b), size - 1) if b else size - 1
    if first >= size or first > last:
        raise S3Error("InvalidRange", "The requested range is not satisfiable", 416,
                      {"ActualObjectSize": size})
    return first, last


class S3:
    def __init__(self, d, creds):
        self.dir = os.path.join(d, "s3")
        self.creds = creds
        self.lock = threading.Lock()
        self.bucket_locks = {}
        self.buckets = {}        # name -> bucket.json
        self.objects = {}        # name -> {key: meta}
        os.makedirs(self.dir, exist_ok=True)
        for b in sorted(os.listdir(self.dir)):
            meta = common.read_json(os.path.join(self.dir, b, "bucket.json"))
            if meta is None:
                continue
            self.buckets[b] = meta
            objs = {}
            od = os.path.join(self.dir, b, "objects")
            for n in os.listdir(od) if os.path.isdir(od) else []:
                if n.endswith(".json"):
                    m = common.read_json(os.path.join(od, n))
                    if m and os.path.exists(os.path.join(od, m["file"] + ".data")):
                        objs[m["key"]] = m
            self.objects[b] = objs

    def _block(self, b):
        with self.lock:
            return self.bucket_locks.setdefault(b, threading.Lock())

    def _obj_path(self, b, key):
        return os.path.join(self.dir, b, "objects", hashlib.sha256(key.encode()).hexdigest())

    def handle(self, method, path, query, headers, body, region):
        bucket, key = split_path(path)
        op = operation(method, path, query)
        if bucket is None:
            return self.list_buckets()
        if op == "CreateBucket":
            return self.create_bucket(bucket, body, region)
        meta = self.buckets.get(bucket)
        if meta is None:
            raise S3Error("NoSuchBucket", "The specified bucket does not exist", 404,
                          {"BucketName": bucket})
        exp = headers.get("x-amz-expected-bucket-owner")
        if exp is not None and exp != self.creds.account_id:
            raise S3Error("AccessDenied", "Access Denied", 403)
        if meta["region"] != region:
            raise S3Error("AuthorizationHeaderMalformed",
                          "The authorization header is malformed; the region '%s' is wrong; "
                          "expecting '%s'" % (region, meta["region"]), 400,
                          {"Region": meta["region"]},
                          {"x-amz-bucket-region": meta["region"]})
        fn = {
            "HeadBucket": lambda: Response(200, headers={"x-amz-bucket-region": meta["region"]}),
            "DeleteBucket": lambda: self.delete_bucket(bucket),
            "ListObjectsV2": lambda: self.list_objects_v2(bucket, query),
            "ListObjects": lambda: self.list_objects_v2(bucket, query, v1=True),
            "GetBucketLocation": lambda: self.location(meta),
            "PutBucketEncryption": lambda: self.put_sub(bucket, "encryption", body),
            "GetBucketEncryption": lambda: self.get_sub(bucket, "encryption"),
            "PutPublicAccessBlock": lambda: self.put_sub(bucket, "publicAccessBlock", body),
            "GetPublicAccessBlock": lambda: self.get_sub(bucket, "publicAccessBlock"),
            "DeleteObjects": lambda: self.delete_objects(bucket, body),
            "PutObject": lambda: self.put_object(bucket, key, headers, body),
            "GetObject": lambda: self.get_object(bucket, key, headers, head=False),
            "HeadObject": lambda: self.get_object(bucket, key, headers, head=True),
            "DeleteObject": lambda: self.delete_object(bucket, key),
            "CreateMultipartUpload": lambda: self.create_multipart(bucket, key, headers),
            "UploadPart": lambda: self.upload_part(bucket, key, query, body),
            "CompleteMultipartUpload": lambda: self.complete_multipart(bucket, key, query,
                                                                       headers, body),
            "AbortMultipartUpload": lambda: self.abort_multipart(bucket, key, query),
        }.get(op)
        if fn is None:
            raise S3Error("NotImplemented", "A header or query you provided implies "
                          "functionality that is not implemented", 501)
        return fn()

    # ---------- buckets ----------
    def list_buckets(self):
        r = root("ListAllMyBucketsResult", XMLNS)
        o = el(r, "Owner")
        el(o, "ID", self.creds.account_id)
        el(o, "DisplayName", "localcloud")
        bs = el(r, "Buckets")
        for name, meta in sorted(self.buckets.items()):
            b = el(bs, "Bucket")
            el(b, "Name", name)
            el(b, "CreationDate", common.iso8601(meta["created"]))
        return Response(200, to_bytes(r), {"Content-Type": "application/xml"})

    def create_bucket(self, bucket, body, region):
        if not BUCKET_RE.match(bucket) or ".." in bucket:
            raise S3Error("InvalidBucketName", "The specified bucket is not valid.", 400,
                          {"BucketName": bucket})
        constraint = None
        if body.strip():
            try:
                x = ET.fromstring(body)
            except ET.ParseError:
                raise S3Error("MalformedXML", "The XML you provided was not well-formed or "
                              "did not validate against our published schema", 400)
            for e in x.iter():
                if e.tag.split("}")[-1] == "LocationConstraint":
                    constraint = (e.text or "").strip() or None
        if constraint is None and region != "us-east-1":
            raise S3Error("IllegalLocationConstraintException",
                          "The unspecified location constraint is incompatible for the region "
                          "specific endpoint this request was sent to.", 400)
        if constraint is not None and constraint != region:
            raise S3Error("IllegalLocationConstraintException",
                          "The %s location constraint is incompatible for the region specific "
                          "endpoint this request was sent to." % constraint, 400)
        with self.lock:
            if bucket in self.buckets:
                raise S3Error("BucketAlreadyOwnedByYou", "Your previous request to create the "
                              "named bucket succeeded and you already own it.", 409,
                              {"BucketName": bucket})
            meta = {"name": bucket, "region": region, "created": time.time(), "sub": {}}
            common.write_json(os.path.join(self.dir, bucket, "bucket.json"), meta)
            self.buckets[bucket] = meta
            self.objects[bucket] = {}
        return Response(200, headers={"Location": "/" + bucket})

    def delete_bucket(self, bucket):
        with self._block(bucket):
            if self.objects[bucket]:
                raise S3Error("BucketNotEmpty", "The bucket you tried to delete is not empty",
                              409, {"BucketName": bucket})
            del self.buckets[bucket]
            del self.objects[bucket]
            d = os.path.join(self.dir, bucket)
            os.unlink(os.path.join(d, "bucket.json"))   # first: a crash leaves no bucket
            shutil.rmtree(d)                            # (pending uploads go with it)
        return Response(204)

    def location(self, meta):
        r = root("LocationConstraint", XMLNS)
        if meta["region"] != "us-east-1":
            r.text = meta["region"]
        return Response(200, to_bytes(r), {"Content-Type": "application/xml"})

    def put_sub(self, bucket, name, body):
        try:
            ET.fromstring(body)
        except ET.ParseError:
            raise S3Error("MalformedXML", "The XML you provided was not well-formed or did "
                          "not validate against our published schema", 400)
        meta = self.buckets[bucket]
        meta.setdefault("sub", {})[name] = body.decode()
        common.write_json(os.path.join(self.dir, bucket, "bucket.json"), meta)
        return Response(200)

    def get_sub(self, bucket, name):
        v = self.buckets[bucket].get("sub", {}).get(name)
        if v is None:
            code, msg = {
                "encryption": ("ServerSideEncryptionConfigurationNotFoundError",
                               "The server side encryption configuration was not found"),
                "publicAccessBlock": ("NoSuchPublicAccessBlockConfiguration",
                                      "The public access block configuration was not found")}[name]
            raise S3Error(code, msg, 404, {"BucketName": bucket})
        return Response(200, v.encode(), {"Content-Type": "application/xml"})

    # ---------- listing ----------
    def list_objects_v2(self, bucket, query, v1=False):
        q = {k: v[0] for k, v in query.items()}
        prefix = q.get("prefix", "")
        delim = q.get("delimiter", "")
        try:
            max_keys = int(q.get("max-keys", "1000"))
        except ValueError:
            raise S3Error("InvalidArgument", "Provided max-keys not an integer or within "
                          "integer range", 400)
        max_keys = max(0, min(max_keys, 1000))
        if v1:
            start = q.get("marker", "")
        else:
            start = q.get("start-after", "")
            tok = q.get("continuation-token")
            if tok:
                try:
                    start = base64.urlsafe_b64decode(tok.encode()).decode()
                except ValueError:
                    raise S3Error("InvalidArgument", "The continuation token provided is "
                                  "incorrect", 400)
        keys = sorted(k for k in self.objects[bucket] if k.startswith(prefix) and k > start)
        contents, prefixes, last, truncated = [], [], None, False
        seen_prefixes = set()
        for k in keys:
            if delim:
                i = k.find(delim, len(prefix))
                if i >= 0:
                    cp = k[:i + len(delim)]
                    if cp in seen_prefixes:
                        continue
                    if len(contents) + len(prefixes) >= max_keys:
                        truncated = True
                        break
                    seen_prefixes.add(cp)
                    prefixes.append(cp)
                    last = cp + "\uffff"   # skip the rest of this prefix
                    continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            contents.append(k)
            last = k
        enc = q.get("encoding-type") == "url"

        def E(v):   # encoding-type=url: names are percent-encoded in the XML
            return urllib.parse.quote(v, safe="/") if enc else v
        r = root("ListBucketResult", XMLNS)
        el(r, "Name", bucket)
        el(r, "Prefix", E(prefix))
        if enc:
            el(r, "EncodingType", "url")
        if v1:
            el(r, "Marker", start)
        else:
            el(r, "KeyCount", len(contents) + len(prefixes))
            if q.get("continuation-token"):
                el(r, "ContinuationToken", q["continuation-token"])
            if q.get("start-after"):
                el(r, "StartAfter", E(q["start-after"]))
        el(r, "MaxKeys", max_keys)
        if delim:
            el(r, "Delimiter", E(delim))
        el(r, "IsTruncated", truncated)
        if truncated:
            if v1:
                el(r, "NextMarker", last)
            else:
                el(r, "NextContinuationToken",
                   base64.urlsafe_b64encode(last.encode()).decode())
        for k in contents:
            m = self.objects[bucket][k]
            c = el(r, "Contents")
            el(c, "Key", E(k))
            el(c, "LastModified", common.iso8601(m["mtime"]))
            el(c, "ETag", m["etag"])
            el(c, "Size", m["size"])
            el(c, "StorageClass", "STANDARD")
        for cp in prefixes:
            el(el(r, "CommonPrefixes"), "Prefix", E(cp))
        return Response(200, to_bytes(r), {"Content-Type": "application/xml"})

    # ---------- objects ----------
    def put_object(self, bucket, key, headers, body):
        if headers.get("x-amz-copy-source"):
            raise S3Error("NotImplemented", "CopyObject is not implemented by the local cloud",
                          501)
        md5 = hashlib.md5(body)
        cmd5 = headers.get("Content-MD5")
        if cmd5 is not None and cmd5 != base64.b64encode(md5.digest()).decode():
            raise S3Error("BadDigest", "The Content-MD5 you specified did not match what we "
                          "received.", 400)
        return self._store(bucket, key, body, '"%s"' % md5.hexdigest(),
                           self._object_attrs(headers), headers)

    @staticmethod
    def _object_attrs(headers):
        """What a write's headers say about the object: type, metadata, SSE."""
        sse = {h: headers[h] for h in SSE_HEADERS if headers.get(h)}
        sse.setdefault("x-amz-server-side-encryption", "AES256")
        return {"content_type": headers.get("Content-Type", "binary/octet-stream"),
                "meta": {k.lower(): v for k, v in headers.items()
                         if k.lower().startswith("x-amz-meta-")},
                "sse": sse}

    def _store(self, bucket, key, body, etag, attrs, headers, body_xml=None):
        """Writes an object, honouring If-None-Match / If-Match atomically."""
        with self._block(bucket):
            cur = self.objects[bucket].get(key)
            inm = headers.get("If-None-Match")
            im = headers.get("If-Match")
            if inm is not None:
                if inm.strip() != "*":
                    raise S3Error("NotImplemented", "If-None-Match supports only '*'", 501)
                if cur is not None:
                    raise S3Error("PreconditionFailed", "At least one of the pre-conditions "
                                  "you specified did not hold", 412, {"Condition": "If-None-Match"})
            if im is not None:
                if cur is None:
                    raise S3Error("NoSuchKey", "The specified key does not exist.", 404,
                                  {"Key": key})
                if im.strip() not in (cur["etag"], "*"):
                    raise S3Error("PreconditionFailed", "At least one of the pre-conditions "
                                  "you specified did not hold", 412, {"Condition": "If-Match"})
            base = self._obj_path(bucket, key)
            meta = dict(attrs, key=key, file=os.path.basename(base), etag=etag, size=len(body),
                        mtime=time.time())
            common.write_bytes(base + ".data", body)
            common.write_json(base + ".json", meta)
            self.objects[bucket][key] = meta
        h = dict(attrs["sse"], ETag=etag)
        return Response(200, body_xml or b"", h)

    # ---------- multipart uploads (state in <bucket>/uploads/<id>/) ----------
    def _upload_dir(self, bucket, upload_id):
        if not re.match(r"^[0-9a-f]{32}$", upload_id or ""):
            raise S3Error("NoSuchUpload", "The specified upload does not exist.", 404)
        return os.path.join(self.dir, bucket, "uploads", upload_id)

    def _upload(self, bucket, key, upload_id):
        d = self._upload_dir(bucket, upload_id)
        info = common.read_json(os.path.join(d, "upload.json"))
        if info is None or info["key"] != key:
            raise S3Error("NoSuchUpload", "The specified upload does not exist. The upload ID "
                          "may be invalid, or the upload may have been aborted or completed.",
                          404, {"UploadId": upload_id})
        return d, info

    def create_multipart(self, bucket, key, headers):
        upload_id = os.urandom(16).hex()
        attrs = self._object_attrs(headers)
        common.write_json(os.path.join(self._upload_dir(bucket, upload_id), "upload.json"),
                          {"key": key, "attrs": attrs})
        r = root("InitiateMultipartUploadResult", XMLNS)
        el(r, "Bucket", bucket)
        el(r, "Key", key)
        el(r, "UploadId", upload_id)
        return Response(200, to_bytes(r), dict(attrs["sse"], **{"Content-Type": "application/xml"}))

    def upload_part(self, bucket, key, query, body):
        d, _ = self._upload(bucket, key, query.get("uploadId", [""])[0])
        try:
            n = int(query.get("partNumber", [""])[0])
        except ValueError:
            n = 0
        if not 1 <= n <= 10000:
            raise S3Error("InvalidArgument", "Part number must be an integer between 1 and "
                          "10000, inclusive", 400)
        common.write_bytes(os.path.join(d, "part-%05d" % n), body)
        return Response(200, headers={"ETag": '"%s"' % hashlib.md5(body).hexdigest()})

    def complete_multipart(self, bucket, key, query, headers, body):
        upload_id = query.get("uploadId", [""])[0]
        d, info = self._upload(bucket, key, upload_id)
        try:
            x = ET.fromstring(body)
        except ET.ParseError:
            raise S3Error("MalformedXML", "The XML you provided was not well-formed or did "
                          "not validate against our published schema", 400)
        parts = []
        for p in x.iter():
            if p.tag.split("}")[-1] == "Part":
                f = {c.tag.split("}")[-1]: (c.text or "").strip() for c in p}
                parts.append((int(f.get("PartNumber", "0")), f.get("ETag", "")))
        if not parts or [n for n, _ in parts] != sorted({n for n, _ in parts}):
            raise S3Error("InvalidPartOrder", "The list of parts was not in ascending order. "
                          "Parts must be ordered by part number.", 400)
        data, digests = b"", b""
        for n, etag in parts:
            try:
                with open(os.path.join(d, "part-%05d" % n), "rb") as f:
                    chunk = f.read()
            except FileNotFoundError:
                chunk = None
            if chunk is None or '"%s"' % hashlib.md5(chunk).hexdigest() != \
                    '"%s"' % etag.strip('"'):
                raise S3Error("InvalidPart", "One or more of the specified parts could not be "
                              "found.", 400, {"PartNumber": n})
            data += chunk
            digests += hashlib.md5(chunk).digest()
        etag = '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(parts))
        r = root("CompleteMultipartUploadResult", XMLNS)
        for tag, v in (("Location", "/%s/%s" % (bucket, key)), ("Bucket", bucket),
                       ("Key", key), ("ETag", etag)):
            el(r, tag, v)
        out = self._store(bucket, key, data, etag, info["attrs"], headers, to_bytes(r))
        self._drop_upload(d)
        return out

    def abort_multipart(self, bucket, key, query):
        d, _ = self._upload(bucket, key, query.get("uploadId", [""])[0])
        self._drop_upload(d)
        return Response(204)

    @staticmethod
    def _drop_upload(d):
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)

    def get_object(self, bucket, key, headers, head):
        m = self.objects[bucket].get(key)
        if m is None:
            if head:
                raise S3Error("NotFound", "Not Found", 404)
            raise S3Error("NoSuchKey", "The specified key does not exist.", 404, {"Key": key})
        inm = headers.get("If-None-Match")
        im = headers.get("If-Match")
        if im is not None and im.strip() not in (m["etag"], "*"):
            raise S3Error("PreconditionFailed", "At least one of the pre-conditions you "
                          "specified did not hold", 412, {"Condition": "If-Match"})
        h = {"ETag": m["etag"], "Last-Modified": common.http_date(m["mtime"]),
             "Content-Type": m["content_type"], "Accept-Ranges": "bytes"}
        h.update(m["meta"])
        h.update(m["sse"])
        if inm is not None and inm.strip() in (m["etag"], "*"):
            return Response(304, headers=h)
        rng = parse_range(headers.get("Range"), m["size"])
        if head:
            h["Content-Length"] = str(m["size"])
            return Response(200, b"", h)
        with open(self._obj_path(bucket, key) + ".data", "rb") as f:
            data = f.read()
        if rng is None:
            return Response(200, data, h)
        first, last = rng
        h["Content-Range"] = "bytes %d-%d/%d" % (first, last, m["size"])
        return Response(206, data[first:last + 1], h)

    def delete_object(self, bucket, key):
        with self._block(bucket):
            if self.objects[bucket].pop(key, None) is not None:
                base = self._obj_path(bucket, key)
                for ext in (".json", ".data"):
                    try:
                        os.unlink(base + ext)
                    except FileNotFoundError:
                        pass
        return Response(204)

    def delete_objects(self, bucket, body):
        try:
            x = ET.fromstring(body)
        except ET.ParseError:
            raise S3Error("MalformedXML", "The XML you provided was not well-formed or did "
                          "not validate against our published schema", 400)
        keys = [e.text or "" for e in x.iter() if e.tag.split("}")[-1] == "Key"]
        quiet = any(e.tag.split("}")[-1] == "Quiet" and (e.text or "").strip() == "true"
                    for e in x.iter())
        r = root("DeleteResult", XMLNS)
        for k in keys:
            self.delete_object(bucket, k)
            if not quiet:
                el(el(r, "Deleted"), "Key", k)
        return Response(200, to_bytes(r), {"Content-Type": "application/xml"})
