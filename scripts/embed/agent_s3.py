"""The S3 REST calls the head node's agent makes on the state bucket: GET
(conditional on an ETag), PUT, ListObjectsV2 (every page), DELETE. Every call
names the bucket's expected owner (bucket names are global and guessable).
Path-style addressing at a configured endpoint (the local cloud), virtual
hosted at AWS's. Python 3 standard library only, Python 3.6 syntax.
"""
import xml.etree.ElementTree as ET

import agent_aws


class Object(object):
    def __init__(self, key, etag, body=None, size=None, last_modified=None):
        self.key, self.etag, self.body = key, etag, body
        self.size, self.last_modified = size, last_modified


class S3(object):
    def __init__(self, client, bucket, expected_owner):
        """client: an agent_aws.Client for "s3" whose endpoint is either a
        configured one (path style) or AWS's (rewritten to the bucket's
        virtual host)."""
        if not expected_owner:
            raise ValueError("S3 calls need the bucket's expected owner")
        self.client, self.bucket, self.owner = client, bucket, expected_owner
        if client.host.endswith(".amazonaws.com") or client.host.endswith(".amazonaws.com.cn"):
            client.host = "%s.%s" % (bucket, client.host)
            client.host_header = client.host + (":%d" % client.port if client.port else "")
            self.prefix = ""
        else:
            self.prefix = "/" + bucket

    def _path(self, key):
        return "%s/%s" % (self.prefix, key) if key else (self.prefix or "/")

    def _headers(self, extra=()):
        return [("x-amz-expected-bucket-owner", self.owner)] + list(extra)

    def get(self, key, if_none_match=None):
        """The object (body and ETag), or None when its ETag is still
        if_none_match (304). Raises AwsError (code NoSuchKey) when absent."""
        extra = [("If-None-Match", if_none_match)] if if_none_match else []
        r = self.client.request("GET", self._path(key), headers=self._headers(extra),
                                what="S3 GetObject " + key, ok=(200, 304), s3=True)
        if r.status == 304:
            return None
        return Object(key, r.headers.get("etag"), r.body, len(r.body),
                      r.headers.get("last-modified"))

    def put(self, key, body, content_type="application/octet-stream"):
        """Stores body; returns its ETag."""
        r = self.client.request("PUT", self._path(key),
                                headers=self._headers([("Content-Type", content_type)]),
                                body=body, what="S3 PutObject " + key, s3=True)
        return r.headers.get("etag")

    def delete(self, key):
        self.client.request("DELETE", self._path(key), headers=self._headers(),
                            what="S3 DeleteObject " + key, ok=(200, 204), s3=True)

    def list(self, prefix):
        """Every object under prefix (key, ETag, size, last modified)."""
        out, token = [], None
        while True:
            q = [("list-type", "2"), ("prefix", prefix)]
            if token:
                q.append(("continuation-token", token))
            r = self.client.request("GET", self._path(""), query=q, headers=self._headers(),
                                    what="S3 ListObjectsV2 " + prefix, s3=True)
            root = ET.fromstring(r.body)
            token = None
            for el in root:
                name = agent_aws.strip_ns(el.tag)
                if name == "Contents":
                    f = {agent_aws.strip_ns(c.tag): (c.text or "") for c in el}
                    out.append(Object(f.get("Key"), f.get("ETag"), None,
                                      int(f.get("Size") or 0), f.get("LastModified")))
                elif name == "NextContinuationToken":
                    token = el.text
            if not token:
                return out
