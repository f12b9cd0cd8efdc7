"""The HTTP front doors: one port for EC2, S3, STS and IAM (routed by the
service in the SigV4 credential scope), with signature checks, policy checks
for role credentials (policy.py; every signed call is audited), fault
injection and each service's own error shapes; and a port of its own for the IMDS
(unsigned /latest/...), so that an instance can keep it from its users
with a firewall rule on that port alone, as nodes do with 169.254.169.254."""
import hashlib
import http.server
import json
import os
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

from . import (access, audit, common, ec2, faults, iam, instances, netfilter, policy, s3,
               sigv4)
from .xmlout import el, root, to_bytes

STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Reply:
    def __init__(self, status, body=b"", headers=None):
        self.status, self.body, self.headers = status, body, dict(headers or {})


class Cloud:
    """Everything one local cloud holds; the handler is a thin shell around it."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.dir = cfg["dir"]
        self.creds = common.Credentials(self.dir)
        self.net = common.Network(cfg["cidr"], cfg["bridge"])
        self.logf = open(os.path.join(self.dir, "server.log"), "a", buffering=1)
        self.launcher = instances.Launcher(self.dir, self.net, self.log)
        self.iam = iam.IAM(self.dir, self.creds)
        self.ec2 = ec2.EC2(cfg, self.creds, self.net, self.launcher, self.iam)
        self.launcher.ingress_source = self.ec2
        self.access = access.Access(self.creds, self.iam, self.ec2, audit.Audit(self.dir))
        self.s3 = s3.S3(self.dir, self.creds)
        self.faults = faults.Faults(self.dir)
        self.imds_tokens = {}
        self.lock = threading.Lock()
        self.requests = {}   # "service:Operation" -> count of signed requests served

    def count(self, service, op):
        with self.lock:
            k = "%s:%s" % (service, op)
            self.requests[k] = self.requests.get(k, 0) + 1

    def log(self, msg):
        self.logf.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))

    def lookup_secret(self, key_id):
        return self.access.lookup_secret(key_id)

    def recover(self):
        """Instances a crashed run left alive are ended and marked terminated.
        Instances of boot=off have no namespaces to orphan: like EC2's, they
        outlive a crash of the control plane (benchmarks seed them on disk)."""
        live = [i["id"] for i in self.ec2.live_instances() if i["boot"]]
        self.launcher.reap_leftovers(live)
        self.ec2.end_all("Server.InternalError: the local cloud was restarted", booted_only=True)

    def shutdown(self):
        live = [i["id"] for i in self.ec2.live_instances() if i["boot"]]
        self.launcher.end_all(live)
        self.ec2.end_all("Server.InternalError: the local cloud was stopped")
        instances.teardown_network(self.net)


# ---------- error replies per service ----------
def ec2_error(code, message, status, rid):
    return Reply(status, ec2.error_xml(code, message, rid), {"Content-Type": "text/xml"})


def s3_error(e, rid, head=False):
    h = {"Content-Type": "application/xml"}
    h.update(e.headers)
    return Reply(e.status, b"" if head else s3.error_xml(e.code, e.message, rid, e.extra), h)


def denied_reply(service, message, rid, head=False):
    if service == "s3":
        return s3_error(s3.S3Error("AccessDenied", message, 403), rid, head)
    if service == "ec2":
        return ec2_error("UnauthorizedOperation", "You are not authorized to perform this "
                         "operation. " + message, 403, rid)
    return sts_error("AccessDenied", message, 403, rid)


def sts_error(code, message, status, rid, xmlns=STS_XMLNS):
    """STS's and IAM's error shape (<ErrorResponse>)."""
    return Reply(status, iam.error_xml(code, message, rid, status, xmlns),
                 {"Content-Type": "text/xml"})


AUTH_ERRORS = {
    # kind: (ec2 code, status), (s3 code, status), (sts code, status)
    "missing": (("MissingAuthenticationToken", 401), ("AccessDenied", 403),
                ("MissingAuthenticationToken", 403)),
    "malformed": (("IncompleteSignature", 400), ("AuthorizationQueryParametersError", 400),
                  ("IncompleteSignature", 400)),
    "unknown_key": (("AuthFailure", 401), ("InvalidAccessKeyId", 403),
                    ("InvalidClientTokenId", 403)),
    "bad_token": (("AuthFailure", 401), ("InvalidToken", 400), ("InvalidClientTokenId", 403)),
    "bad_signature": (("AuthFailure", 401), ("SignatureDoesNotMatch", 403),
                      ("SignatureDoesNotMatch", 403)),
    "expired": (("RequestExpired", 400), ("AccessDenied", 403), ("ExpiredToken", 403)),
    "skew": (("RequestExpired", 400), ("RequestTimeTooSkewed", 403),
             ("SignatureDoesNotMatch", 403)),
}
AUTH_MESSAGES = {
    "unknown_key": ("AWS was not able to validate the provided access credentials",
                    "The AWS Access Key Id you provided does not exist in our records.",
                    "The security token included in the request is invalid."),
    "bad_signature": ("AWS was not able to validate the provided access credentials",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your key and signing method.",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method."),
}


def auth_error(service, err, rid, head=False):
    col = {"ec2": 0, "s3": 1, "sts": 2, "iam": 2}.get(service, 0)
    code, status = AUTH_ERRORS[err.kind][col]
    msg = AUTH_MESSAGES[err.kind][col] if err.kind in AUTH_MESSAGES else str(err)
    if col == 1:
        extra = {"CanonicalRequest": str(err)} if err.kind == "bad_signature" else None
        return s3_error(s3.S3Error(code, msg, status, extra), rid, head)
    if col == 2:
        return sts_error(code, msg, status, rid)
    return ec2_error(code, msg, status, rid)


FAULT_ERRORS = {
    "ec2": {"throttle": ("RequestLimitExceeded", "Request limit exceeded.", 503),
            "500": ("InternalError", "An internal error has occurred.", 500),
            "503": ("Unavailable", "The service is unavailable. Please try again shortly.", 503),
            "ice": ("InsufficientInstanceCapacity", "We currently do not have sufficient "
                    "capacity in the Availability Zone you requested.", 500)},
    "s3": {"throttle": ("SlowDown", "Please reduce your request rate.", 503),
           "500": ("InternalError", "We encountered an internal error. Please try again.", 500),
           "503": ("ServiceUnavailable", "Service is unable to handle request.", 503)},
    "sts": {"throttle": ("Throttling", "Rate exceeded", 400),
            "500": ("InternalFailure", "The request processing has failed because of an "
                    "unknown error, exception or failure.", 500),
            "503": ("ServiceUnavailable", "Service is unable to handle request.", 503)},
}


def fault_reply(service, kind, rid, head=False):
    errors = FAULT_ERRORS.get("sts" if service == "iam" else service, FAULT_ERRORS["ec2"])
    code, msg, status = errors.get(kind, errors["500"])  # ice: EC2 only
    if service == "s3":
        return s3_error(s3.S3Error(code, msg, status), rid, head)
    if service in ("sts", "iam"):
        return sts_error(code, msg, status, rid)
    return ec2_error(code, msg, status, rid)


class Reset(Exception):
    """Drop the connection with a TCP reset instead of answering."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localcloud"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.dispatch()

    do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def dispatch(self):
        cloud = self.server.cloud
        rid = common.request_id()
        body = self.read_body()
        split = sigv4.split_target(self.path)
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        head = self.command == "HEAD"
        try:
            reply, service, op = self.route(cloud, rid, body, split, query, head)
        except Reset:
            self.reset()
            return
        except Exception as e:  # a bug here must not kill the server
            import traceback
            cloud.log("internal error: %s\n%s" % (e, traceback.format_exc()))
            reply, service, op = ec2_error("InternalError", "internal error", 500, rid), "?", "?"
        if service in ("ec2", "s3", "sts", "iam"):
            cloud.count(service, op)
        cloud.log("%s %s %s %s -> %d" % (self.client_address[0], self.command,
                                         split.path[:80], op, reply.status))
        self.send(reply, rid, service, head)

    def route(self, cloud, rid, body, split, query, head):
        if split.path == "/_localcloud/health":
            return Reply(200, b"ok\n"), "health", "Health"
        if split.path == "/_localcloud/requests":   # counters only: no state, no secret
            with cloud.lock:
                counts = dict(cloud.requests)
            return Reply(200, json.dumps(counts, sort_keys=True).encode() + b"\n",
                         {"Content-Type": "application/json"}), "requests", "Requests"
        if self.server.imds_only:
            if split.path.startswith("/latest/"):
                return self.imds(cloud, split, body), "imds", "IMDS"
            return Reply(404, b""), "imds", "?"
        service, region = sigv4.scope_of(self.headers, query)
        if service is None:
            service = "ec2" if b"Action=" in body else "s3"
        try:
            signed_req = sigv4.verify(self.command, self.path, self.headers, body,
                                      cloud.lookup_secret)
        except sigv4.AuthError as e:
            cloud.log("auth %s: %s" % (e.kind, str(e).replace("\n", " | ")))
            return auth_error(service, e, rid, head), service, "Auth"
        region = signed_req.region
        if service == "s3":
            op = s3.operation(self.command, split.path, query)
            bucket, key = s3.split_path(split.path)
            ok, why = cloud.access.authorize(
                signed_req.access_key, service, op,
                lambda: policy.s3_checks(op, bucket, key, query, self.headers, body))
            if not ok:
                return denied_reply(service, why, rid, head), service, op
            return self.s3_call(cloud, rid, body, split, query, head, region, op, signed_req), \
                service, op
        if service in ("ec2", "sts", "iam"):
            params = {k: v[0] for k, v in query.items()}
            if body and "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
                params.update({k: v[0] for k, v in urllib.parse.parse_qs(
                    body.decode("utf-8", "replace"), keep_blank_values=True).items()})
            op = params.get("Action", "")
            ok, why = cloud.access.authorize(
                signed_req.access_key, service, op,
                lambda: self.query_checks(cloud, service, op, params, region))
            if not ok:
                return denied_reply(service, why, rid), service, op
            return self.query_call(cloud, rid, service, op, params, region, signed_req), \
                service, op
        return ec2_error("InvalidAction", "The service %s is not offered by the local cloud"
                         % service, 400, rid), service, "?"

    def with_faults(self, cloud, service, op, rid, head, call):
        for f in cloud.faults.take(op, "before"):
            if f["kind"] == "latency":
                time.sleep(f["ms"] / 1000.0)
            elif f["kind"] == "reset":
                raise Reset()
            else:
                return fault_reply(service, f["kind"], rid, head)
        reply = call()
        for f in cloud.faults.take(op, "after"):
            if f["kind"] == "latency":
                time.sleep(f["ms"] / 1000.0)
            elif f["kind"] == "reset":
                raise Reset()
            else:
                return fault_reply(service, f["kind"], rid, head)
        return reply

    @staticmethod
    def query_checks(cloud, service, op, params, region):
        if service == "ec2":
            checks = policy.ec2_checks(op, params, region, cloud.creds.account_id, cloud.ec2)
            if op == "RunInstances":
                checks += policy.pass_role_checks(params, cloud.iam)
            return checks
        if service == "iam":
            return policy.iam_checks(op, params, cloud.iam)
        return []       # sts:GetCallerIdentity needs no permission

    def query_call(self, cloud, rid, service, op, params, region, signed_req):
        if params.get("Version") is None and service == "ec2":
            return ec2_error("MissingParameter", "The request must contain the parameter "
                             "Version", 400, rid)

        def call():
            if service == "sts":
                return self.sts(cloud, op, rid, signed_req)
            if service == "iam":
                try:
                    return Reply(200, cloud.iam.handle(op, params, rid),
                                 {"Content-Type": "text/xml"})
                except iam.IAMError as e:
                    return sts_error(e.code, e.message, e.status, rid, iam.XMLNS)
            if op == "RunInstances" and (params.get("IamInstanceProfile.Name") or
                                         params.get("IamInstanceProfile.Arn")):
                if cloud.faults.take(op, "before", kinds=("iam-propagation",)):
                    return ec2_error("InvalidParameterValue", ec2.propagation_message(
                        params.get("IamInstanceProfile.Name"),
                        params.get("IamInstanceProfile.Arn")), 400, rid)
            try:
                return Reply(200, cloud.ec2.handle(op, params, region, rid),
                             {"Content-Type": "text/xml;charset=UTF-8"})
            except ec2.EC2Error as e:
                return ec2_error(e.code, e.message, e.status, rid)
        if op == "DescribeInstances" and any(
                k.startswith("Filter.") and k.endswith(".Name") and v == "client-token"
                for k, v in params.items()):
            # Lookups by ClientToken alone can be made to fail: the pseudo-op
            # DescribeInstancesByClientToken (an endpoint without that filter).
            return self.with_faults(cloud, service, "DescribeInstancesByClientToken", rid, False,
                                    lambda: self.with_faults(cloud, service, op, rid, False,
                                                             call))
        return self.with_faults(cloud, service, op, rid, False, call)

    def sts(self, cloud, op, rid, signed_req):
        if op != "GetCallerIdentity":
            return sts_error("InvalidAction", "Could not find operation %s for version "
                             "2011-06-15" % op, 400, rid)
        c = cloud.creds
        r = root("GetCallerIdentityResponse", STS_XMLNS)
        res = el(r, "GetCallerIdentityResult")
        who = cloud.access.identity(signed_req.access_key)
        if who["kind"] == "role":
            el(res, "Arn", who["arn"])
            el(res, "UserId", "%s:%s" % (cloud.iam.roles.get(who["role"], {}).get(
                "RoleId", "AROA"), who["instance"]))
        elif signed_req.access_key == c.role_access_key_id:
            el(res, "Arn", "arn:aws:sts::%s:assumed-role/%s/localcloud" % (c.account_id,
                                                                          c.role_name))
            el(res, "UserId", "AROA%s:localcloud" % c.account_id)
        else:
            el(res, "Arn", "arn:aws:iam::%s:user/localcloud" % c.account_id)
            el(res, "UserId", "AIDA" + hashlib.sha1(c.access_key_id.encode()).hexdigest()[:17]
               .upper())
        el(res, "Account", c.account_id)
        el(el(r, "ResponseMetadata"), "RequestId", rid)
        return Reply(200, to_bytes(r), {"Content-Type": "text/xml"})

    def s3_call(self, cloud, rid, body, split, query, head, region, op, signed_req):
        sha = self.headers.get("x-amz-content-sha256")
        if not signed_req.presigned:
            if sha is None:
                return s3_error(s3.S3Error("InvalidRequest", "Missing required header for this "
                                           "request: x-amz-content-sha256", 400), rid, head)
            if sha.startswith("STREAMING-"):
                return s3_error(s3.S3Error("NotImplemented", "aws-chunked uploads are not "
                                           "implemented by the local cloud", 501), rid, head)
            if sha != "UNSIGNED-PAYLOAD":
                ours = hashlib.sha256(body).hexdigest()
                if not HEX64.match(sha) or sha != ours:
                    return s3_error(s3.S3Error(
                        "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header "
                        "does not match what was computed.", 400,
                        {"ClientComputedContentSHA256": sha, "S3ComputedContentSHA256": ours}),
                        rid, head)

        def call():
            try:
                r = cloud.s3.handle(self.command, split.path, query, self.headers, body, region)
                return Reply(r.status, r.body, r.headers)
            except s3.S3Error as e:
                return s3_error(e, rid, head)
        return self.with_faults(cloud, "s3", op, rid, head, call)

    # ---------- IMDS ----------
    def imds(self, cloud, split, body):
        path = split.path
        now = time.time()
        if path == "/latest/api/token":
            if self.command != "PUT":
                return Reply(405, b"", {"Allow": "PUT"})
            try:
                ttl = int(self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                return Reply(400, b"")
            if not 1 <= ttl <= 21600:
                return Reply(400, b"")
            tok = secrets.token_urlsafe(40)
            with cloud.lock:   # a token is good only from the address it was given to
                cloud.imds_tokens = {t: e for t, e in cloud.imds_tokens.items() if e[0] > now}
                cloud.imds_tokens[tok] = (now + ttl, self.client_address[0])
            return Reply(200, tok.encode(), {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl),
                                             "Content-Type": "text/plain"})
        tok = self.headers.get("X-aws-ec2-metadata-token")
        held = cloud.imds_tokens.get(tok) if tok else None
        if not held or held[0] < now or held[1] != self.client_address[0]:
            return Reply(401, b"")
        inst = None
        src = self.client_address[0]
        for i in cloud.ec2.live_instances():
            if i["private_ip"] == src:
                inst = i
        region = inst["region"] if inst else cloud.cfg["region"]
        c = cloud.creds
        exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 6 * 3600))
        creds = json.dumps({"Code": "Success", "LastUpdated": common.iso8601(now)[:19] + "Z",
                            "Type": "AWS-HMAC", "AccessKeyId": c.role_access_key_id,
                            "SecretAccessKey": c.role_secret_access_key,
                            "Token": c.role_session_token, "Expiration": exp}, indent=2)
        # The host gets the test role's credentials (for credential-chain
        # tests); an instance its own session of its profile's role, if any.
        tree = {} if inst is not None else {
            "/latest/meta-data/iam/security-credentials/": c.role_name,
            "/latest/meta-data/iam/security-credentials/" + c.role_name: creds,
            "/latest/meta-data/iam/info": json.dumps({
                "Code": "Success", "LastUpdated": common.iso8601(now)[:19] + "Z",
                "InstanceProfileArn": "arn:aws:iam::%s:instance-profile/%s" % (c.account_id,
                                                                               c.role_name),
                "InstanceProfileId": "AIPA" + c.account_id}),
        }
        if inst is not None:
            tree.update(cloud.iam.instance_metadata(inst, now))
        tree.update({
            "/latest/meta-data/placement/region": region,
            "/latest/meta-data/placement/availability-zone": region + "a",
        })
        if inst:
            ipaddr = inst["private_ip"]
            hn = "ip-%s.%s.compute.internal" % (ipaddr.replace(".", "-"), region)
            tree.update({
                "/latest/meta-data/instance-id": inst["id"],
                "/latest/meta-data/instance-type": inst["type"],
                "/latest/meta-data/ami-id": inst["image_id"],
                "/latest/meta-data/local-ipv4": ipaddr,
                "/latest/meta-data/local-hostname": hn,
                "/latest/meta-data/hostname": hn,
                "/latest/dynamic/instance-identity/document": json.dumps({
                    "accountId": c.account_id, "architecture": "x86_64",
                    "availabilityZone": region + "a", "imageId": inst["image_id"],
                    "instanceId": inst["id"], "instanceType": inst["type"],
                    "pendingTime": common.iso8601(inst["launch_time"])[:19] + "Z",
                    "privateIp": ipaddr, "region": region, "version": "2017-09-30"}, indent=2),
            })
            if inst["user_data"]:
                import base64
                tree["/latest/user-data"] = base64.b64decode(inst["user_data"])
        if path in tree:
            v = tree[path]
            return Reply(200, v if isinstance(v, bytes) else v.encode(),
                         {"Content-Type": "text/plain"})
        # directory listings
        prefix = path if path.endswith("/") else path + "/"
        kids = sorted({k[len(prefix):].split("/")[0] + ("/" if "/" in k[len(prefix):].rstrip("/")
                                                       else "")
                       for k in tree if k.startswith(prefix) and k != prefix})
        if kids:
            return Reply(200, "\n".join(kids).encode(), {"Content-Type": "text/plain"})
        return Reply(404, b"")

    # ---------- output ----------
    def send(self, reply, rid, service, head):
        self.send_response(reply.status)
        h = reply.headers
        if service == "s3":
            h.setdefault("x-amz-request-id", rid[:16].replace("-", "").upper())
            h.setdefault("x-amz-id-2", rid)
        elif service in ("ec2", "sts"):
            h.setdefault("x-amzn-RequestId", rid)
        if "Content-Length" not in h:
            h["Content-Length"] = str(len(reply.body))
        for k, v in h.items():
            self.send_header(k, v)
        self.end_headers()
        if not head and reply.status not in (204, 304):
            self.wfile.write(reply.body)

    def reset(self):
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            # Replace the socket's descriptor: the kernel then sends RST at once.
            null = os.open("/dev/null", os.O_RDWR)
            os.dup2(null, self.connection.fileno())
            os.close(null)
        except OSError:
            pass

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    imds_only = False       # the IMDS listener answers /latest/... and nothing else

    def handle_error(self, request, client_address):
        pass  # resets and clients hanging up are normal here


def serve(cfg):
    """Runs a local cloud in the foreground until SIGTERM/SIGINT."""
    d = cfg["dir"]
    net = common.Network(cfg["cidr"], cfg["bridge"])
    bridge_lock = instances.hold_bridge(net, d)
    if bridge_lock is None:
        sys.exit("localcloud: bridge %s is in use by another local cloud (%s); choose another "
                 "--bridge and --cidr" % (net.bridge, instances.bridge_holder(net)))
    clash = instances.address_in_use_elsewhere(net)
    if clash:
        sys.exit("localcloud: CIDR %s clashes with an existing address (%s); choose another "
                 "--cidr" % (cfg["cidr"], clash))
    instances.setup_network(net)
    netfilter.setup(net, cfg.get("isolated", False))
    cloud = Cloud(cfg)
    cloud.recover()
    srv = None
    for port in ([cfg["port"]] if cfg["port"] else []) + [0]:
        try:
            srv = Server((net.host_ip, port), Handler)
            break
        except OSError as e:
            if cfg.get("port_strict"):
                sys.exit("localcloud: cannot listen on %s:%d: %s" % (net.host_ip, port, e))
    srv.cloud = cloud
    imds = Server((net.host_ip, 0), Handler)
    imds.cloud, imds.imds_only = cloud, True
    port = srv.server_address[1]
    info = {"pid": os.getpid(), "host": net.host_ip, "port": port,
            "endpoint": "http://%s:%d" % (net.host_ip, port),
            "imds_endpoint": "http://%s:%d" % (net.host_ip, imds.server_address[1]),
            "started": time.time()}
    cloud.launcher.endpoint = info["endpoint"]
    cloud.launcher.imds_endpoint = info["imds_endpoint"]
    info.update({k: cfg[k] for k in ("bridge", "cidr", "region", "boot")})
    info["isolated"] = bool(cfg.get("isolated"))
    common.write_json(os.path.join(d, "server.json"), info)
    cfg_saved = dict(cfg, port=port)
    common.write_json(os.path.join(d, "config.json"), cfg_saved)
    cloud.log("listening on %s, IMDS on %s (boot %s)" % (
        info["endpoint"], info["imds_endpoint"], "on" if cfg["boot"] else "off"))
    threading.Thread(target=imds.serve_forever, kwargs={"poll_interval": 0.2},
                     daemon=True).start()

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        cloud.log("stopping")
        imds.shutdown()
        imds.server_close()
        srv.server_close()
        cloud.shutdown()
        try:
            os.unlink(os.path.join(d, "server.json"))
        except FileNotFoundError:
            pass
        cloud.log("stopped")
