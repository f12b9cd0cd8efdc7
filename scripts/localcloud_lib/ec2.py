"""The EC2 Query API (Version 2016-11-15): instances, key pairs, the default
VPC's subnet of every region, images and instance types; VPCs (vpcs.py) and
security groups (secgroups.py) answer the actions they define.

State lives in memory and in <dir>/ec2/ (one JSON file per instance and key
pair), so a restart loses nothing. Instance states are derived from
timestamps (pending -> running -> shutting-down -> terminated), so thousands
of instances cost no threads. Booting is delegated to a launcher object."""
import base64
import fnmatch
import hashlib
import json
import os
import threading
import time

from . import common
from .xmlout import el, fill, item_set, root, to_bytes

XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
               "stopping": 64, "stopped": 80}
MAX_USER_DATA = 16384

# (name, vCPUs, MiB); vCPUs are capped at this machine's cores.
INSTANCE_TYPES = [
    ("t2.micro", 1, 1024), ("t2.small", 1, 2048), ("t2.medium", 2, 4096),
    ("t2.large", 2, 8192), ("t3.micro", 2, 1024), ("t3.small", 2, 2048),
    ("t3.medium", 2, 4096), ("t3.large", 2, 8192), ("c5.large", 2, 4096),
    ("c5.xlarge", 4, 8192), ("c5.2xlarge", 8, 16384), ("m5.large", 2, 8192),
    ("m5.xlarge", 4, 16384), ("r5.large", 2, 16384), ("c6i.large", 2, 4096),
]
IMAGE_OSES = ["amzn2", "centos7", "ubuntu-1804-lts", "ubuntu-2004-lts"]
# The user cloud-init creates on each image (ParallelCluster's base_os
# alinux2, centos7, ubuntu1804, ubuntu2004), holding the launch's key pair.
DEFAULT_USERS = {"amzn2": "ec2-user", "centos7": "centos", "ubuntu-1804-lts": "ubuntu",
                 "ubuntu-2004-lts": "ubuntu"}
IMAGE_VERSIONS = [("3.12.0", "2025-01-15T10:00:00.000Z"), ("3.13.0", "2025-04-10T10:00:00.000Z")]
SQUATTER_ACCOUNT = "999988887777"


class EC2Error(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def error_xml(code, message, rid):
    r = root("Response")
    e = el(el(r, "Errors"), "Error")
    el(e, "Code", code)
    el(e, "Message", message)
    el(r, "RequestID", rid)
    return to_bytes(r)


def propagation_message(name, arn):
    """EC2's answer for a profile it does not see (absent, or not propagated yet)."""
    if name:
        return ("Value (%s) for parameter iamInstanceProfile.name is invalid. Invalid IAM "
                "Instance Profile name" % name)
    return ("Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM "
            "Instance Profile ARN" % arn)


def indexed(params, prefix):
    """Values of prefix.1, prefix.2, ... in index order."""
    out = []
    for k, v in params.items():
        if k.startswith(prefix + "."):
            rest = k[len(prefix) + 1:]
            if rest.isdigit():
                out.append((int(rest), v))
    return [v for _, v in sorted(out)]


def indexed_groups(params, prefix):
    """{N: {subkey: value}} for prefix.N.subkey (subkey may contain dots)."""
    groups = {}
    for k, v in params.items():
        if k.startswith(prefix + "."):
            n, _, sub = k[len(prefix) + 1:].partition(".")
            if n.isdigit() and sub:
                groups.setdefault(int(n), {})[sub] = v
    return [groups[n] for n in sorted(groups)]


def parse_filters(params):
    out = []
    for g in indexed_groups(params, "Filter"):
        vals = [v for k, v in sorted(((int(k.split(".")[1]), v) for k, v in g.items()
                                      if k.startswith("Value.") and k[6:].isdigit()))]
        if "Name" not in g:
            raise EC2Error("InvalidParameterValue", "The filter 'null' is invalid")
        out.append((g["Name"], vals))
    return out


def parse_tags(group, prefix="Tag"):
    tags = []
    for t in indexed_groups(group, prefix):
        if "Key" in t:
            tags.append([t["Key"], t.get("Value", "")])
    return tags


def match_any(value, patterns):
    if value is None:
        return False
    return any(fnmatch.fnmatchcase(str(value), p) for p in patterns)


def match_tag_filter(tags, name, vals):
    """True/False for a tag:KEY, tag-key or tag-value filter on a tags dict;
    None for any other filter."""
    if name.startswith("tag:"):
        return match_any(tags.get(name[4:]), vals)
    if name == "tag-key":
        return any(match_any(k, vals) for k in tags)
    if name == "tag-value":
        return any(match_any(v, vals) for v in tags.values())
    return None


def paginate(items, params, default_max=None, lo=5, hi=1000):
    """(page, next_token) from MaxResults/NextToken."""
    start = 0
    tok = params.get("NextToken")
    if tok:
        try:
            start = int(base64.urlsafe_b64decode(tok.encode()).decode().split(":")[1])
        except (ValueError, IndexError):
            raise EC2Error("InvalidParameterValue", "Invalid NextToken value: %s" % tok)
    mx = params.get("MaxResults")
    if mx is None:
        mx = default_max
    else:
        try:
            mx = int(mx)
        except ValueError:
            raise EC2Error("InvalidParameterValue", "Invalid value '%s' for MaxResults" % mx)
        if mx < lo or mx > hi:
            raise EC2Error("InvalidParameterValue",
                           "Value ( %d ) for parameter maxResults is invalid. Expecting a "
                           "value between %d and %d." % (mx, lo, hi))
    if mx is None:
        return items[start:], None
    page = items[start:start + mx]
    nxt = None
    if start + mx < len(items):
        nxt = base64.urlsafe_b64encode(("next:%d" % (start + mx)).encode()).decode()
    return page, nxt


class EC2:
    def __init__(self, cfg, creds, network, launcher, iam=None):
        self.cfg = cfg                    # pending_delay, terminate_delay, terminated_ttl
        self.iam = iam                    # instance profiles must exist there
        self.creds = creds
        self.net = network
        self.launcher = launcher
        self.dir = os.path.join(cfg["dir"], "ec2")
        self.lock = threading.RLock()
        self.instances = {}               # id -> record (all regions)
        self.order = []                   # ids in launch order
        self.keys = {}                    # (region, name) -> record
        self.tokens = {}                  # (region, client token) -> {hash, reservation, ids}
        self._load()
        from .secgroups import SecurityGroups   # they import this module: import here
        from .vpcs import Vpcs
        self.vpcs = Vpcs(self)
        self.sgs = SecurityGroups(self)

    # ---------- persistence ----------
    def _load(self):
        idir = os.path.join(self.dir, "instances")
        recs = []
        for n in os.listdir(idir) if os.path.isdir(idir) else []:
            if n.endswith(".json"):
                recs.append(common.read_json(os.path.join(idir, n)))
        recs.sort(key=lambda r: (r["launch_time"], r["launch_index"], r["id"]))
        for r in recs:
            self.instances[r["id"]] = r
            self.order.append(r["id"])
            if r.get("client_token"):
                t = self.tokens.setdefault((r["region"], r["client_token"]), {
                    "hash": r["params_hash"], "reservation": r["reservation_id"], "ids": []})
                t["ids"].append(r["id"])
        kdir = os.path.join(self.dir, "keypairs")
        for n in os.listdir(kdir) if os.path.isdir(kdir) else []:
            if n.endswith(".json"):
                k = common.read_json(os.path.join(kdir, n))
                self.keys[(k["region"], k["name"])] = k

    def _save(self, inst):
        common.write_json(os.path.join(self.dir, "instances", inst["id"] + ".json"), inst)

    def _key_path(self, k):
        return os.path.join(self.dir, "keypairs", k["id"] + ".json")

    # ---------- derived facts ----------
    def state(self, inst, now=None):
        now = time.time() if now is None else now
        if inst.get("terminated_at") is not None:
            return "terminated" if now >= inst["terminated_at"] else "shutting-down"
        return "running" if now >= inst["running_at"] else "pending"

    def vpc_id(self, region):
        return common.stable_id("vpc-", region, str(self.net.vpc))

    def subnet_id(self, region):
        return common.stable_id("subnet-", region, str(self.net.subnet))

    def images(self, region):
        out = []
        for ver, created in IMAGE_VERSIONS:
            for os_ in IMAGE_OSES:
                name = "aws-parallelcluster-%s-%s-hvm-x86_64-local" % (ver, os_)
                out.append({"id": common.stable_id("ami-", region, name), "name": name,
                            "owner": "amazon", "owner_id": "247102896272", "created": created,
                            "default_user": DEFAULT_USERS[os_]})
        # A look-alike owned by someone else: clients must filter by owner.
        name = "aws-parallelcluster-3.99.0-amzn2-hvm-x86_64-squatted"
        out.append({"id": common.stable_id("ami-", region, name), "name": name,
                    "owner": None, "owner_id": SQUATTER_ACCOUNT,
                    "created": "2026-01-01T00:00:00.000Z", "default_user": "ec2-user"})
        return out

    def instance_types(self):
        cores = os.cpu_count() or 1
        return [(n, min(v, cores), m) for n, v, m in INSTANCE_TYPES]

    def live_instances(self):
        """Instances whose namespaces may exist (not yet terminated)."""
        with self.lock:
            return [i for i in self.instances.values() if i.get("terminated_at") is None]

    # ---------- dispatch ----------
    def handle(self, action, params, region, rid):
        fn = next((f for f in (getattr(h, "op_" + action, None)
                               for h in (self, self.sgs, self.vpcs)) if f), None)
        if fn is None:
            raise EC2Error("InvalidAction", "The action %s is not valid for this web service."
                           % action)
        r = root(action + "Response", XMLNS)
        el(r, "requestId", rid)
        with self.lock:
            fn(params, region, r)
        return to_bytes(r)

    # ---------- instances ----------
    def _allocate_ip(self, used):
        first, last = self.net.instance_addresses()
        for a in range(first, last + 1):
            ip = str(self.net.vpc.network_address.__class__(a))
            if ip not in used:
                return ip
        raise EC2Error("InsufficientFreeAddressesInSubnet",
                       "There are not enough free addresses in subnet '%s' to satisfy the "
                       "requested number of instances." % self.net.subnet)

    def op_RunInstances(self, p, region, r):
        token = p.get("ClientToken")
        phash = hashlib.sha256(json.dumps(
            sorted((k, v) for k, v in p.items() if k not in ("ClientToken", "Action", "Version")),
        ).encode()).hexdigest()
        if token:
            seen = self.tokens.get((region, token))
            if seen:
                if seen["hash"] != phash:
                    raise EC2Error("IdempotentParameterMismatch",
                                   "Arguments on this idempotent request are inconsistent with "
                                   "arguments used in previous request(s).")
                self._reservation_xml(r, seen["reservation"],
                                      [self.instances[i] for i in seen["ids"]])
                return
        image_id = p.get("ImageId")
        if not image_id:
            raise EC2Error("MissingParameter", "The request must contain the parameter ImageId")
        if not image_id.startswith("ami-"):
            raise EC2Error("InvalidAMIID.Malformed", 'Invalid id: "%s" (expecting "ami-...")'
                           % image_id)
        image = next((i for i in self.images(region) if i["id"] == image_id), None)
        if image is None:
            raise EC2Error("InvalidAMIID.NotFound", "The image id '[%s]' does not exist"
                           % image_id)
        itype = p.get("InstanceType", "m1.small")
        types = {n: (v, m) for n, v, m in self.instance_types()}
        if itype not in types:
            raise EC2Error("InvalidParameterValue", "Invalid value '%s' for InstanceType." % itype)
        try:
            mn, mx = int(p.get("MinCount", "")), int(p.get("MaxCount", ""))
        except ValueError:
            raise EC2Error("MissingParameter", "The request must contain the parameters "
                           "MinCount and MaxCount")
        if mn < 1 or mx < mn:
            raise EC2Error("InvalidParameterValue", "MinCount must be between 1 and MaxCount")
        key = p.get("KeyName")
        if key and (region, key) not in self.keys:
            raise EC2Error("InvalidKeyPair.NotFound", "The key pair '%s' does not exist" % key)
        subnet = p.get("SubnetId") or p.get("NetworkInterface.1.SubnetId")
        if subnet and subnet != self.subnet_id(region):
            raise EC2Error("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist"
                           % subnet)
        ud = p.get("UserData", "")
        try:
            ud_bytes = base64.b64decode(ud.encode(), validate=True) if ud else b""
        except ValueError:
            raise EC2Error("InvalidParameterValue", "Invalid BASE64 encoding of user data.")
        if len(ud_bytes) > MAX_USER_DATA:
            raise EC2Error("InvalidParameterValue", "User data is limited to 16384 bytes")
        market, max_price = self._market_options(p)
        groups = self.sgs.launch_groups(p, region, self.vpc_id(region))
        profile = self.instance_profile(p)
        tags = []
        for ts in indexed_groups(p, "TagSpecification"):
            if ts.get("ResourceType", "instance") == "instance":
                tags.extend(parse_tags(ts))
        now = time.time()
        used = {i["private_ip"] for i in self.instances.values()
                if i.get("terminated_at") is None}
        rid = common.hex_id("r-")
        made = []
        for n in range(mx):
            try:
                ip = self._allocate_ip(used)
            except EC2Error:
                if n >= mn:
                    break
                raise
            used.add(ip)
            inst = {
                "id": common.hex_id("i-"), "region": region, "reservation_id": rid,
                "image_id": image_id, "type": itype, "key_name": key,
                "subnet_id": self.subnet_id(region), "vpc_id": self.vpc_id(region),
                "private_ip": ip, "launch_time": now, "launch_index": n,
                "running_at": now + self.cfg["pending_delay"], "terminated_at": None,
                "tags": tags, "user_data": ud, "client_token": token or "",
                "params_hash": phash, "state_reason": None,
                "iam_profile": profile and profile["InstanceProfileName"],
                "iam_profile_arn": profile and profile["Arn"],
                "iam_profile_id": profile and profile["InstanceProfileId"],
                "boot": self.cfg["boot"], "vcpus": types[itype][0],
                "security_groups": groups, "default_user": image["default_user"],
                "market": market, "spot_max_price": max_price,
                "spot_request_id": common.hex_id("sir-") if market == "spot" else None,
            }
            self.instances[inst["id"]] = inst
            self.order.append(inst["id"])
            self._save(inst)
            made.append(inst)
        if token:
            self.tokens[(region, token)] = {"hash": phash, "reservation": rid,
                                            "ids": [i["id"] for i in made]}
        for inst in made:
            if inst["boot"]:
                pub = self.keys[(region, key)]["public_key"] if key else None
                self.launcher.launch(inst, base64.b64decode(ud) if ud else b"", pub)
        self._reservation_xml(r, rid, made)

    def instance_profile(self, p):
        """The instance profile RunInstances names, which must exist in IAM."""
        name, arn = p.get("IamInstanceProfile.Name"), p.get("IamInstanceProfile.Arn")
        if not name and not arn:
            return None
        prof = self.iam.profile_by_ref(name, arn) if self.iam else None
        if prof is None:
            raise EC2Error("InvalidParameterValue", propagation_message(name, arn))
        return prof

    @staticmethod
    def _market_options(p):
        """RunInstances' InstanceMarketOptions: (market, max price or None),
        refused as EC2 refuses what it does not take."""
        mtype = p.get("InstanceMarketOptions.MarketType")
        price = p.get("InstanceMarketOptions.SpotOptions.MaxPrice")
        if mtype is None:
            if price is not None:
                raise EC2Error("InvalidParameterCombination",
                               "SpotOptions require MarketType spot")
            return "on-demand", None
        if mtype != "spot":
            raise EC2Error("InvalidParameterValue",
                           "Value (%s) for parameter MarketType is invalid." % mtype)
        if price is not None:
            try:
                ok = float(price) > 0
            except ValueError:
                ok = False
            if not ok:
                raise EC2Error("InvalidParameterValue",
                               "Value (%s) for parameter MaxPrice is invalid." % price)
        return "spot", price

    def _reservation_xml(self, r, rid, insts):
        el(r, "reservationId", rid)
        el(r, "ownerId", self.creds.account_id)
        el(r, "groupSet")
        s = el(r, "instancesSet")
        for i in insts:
            self._instance_xml(el(s, "item"), i)

    def _instance_xml(self, e, i):
        st = self.state(i)
        ip = i["private_ip"]
        dns = "ip-%s.%s.compute.internal" % (ip.replace(".", "-"), i["region"])
        fill(e, [
            ("instanceId", i["id"]), ("imageId", i["image_id"]),
            ("instanceState", [("code", STATE_CODES[st]), ("name", st)]),
            ("privateDnsName", dns), ("dnsName", ""),
            ("reason", "User initiated" if st in ("shutting-down", "terminated") else ""),
            ("keyName", i["key_name"]), ("amiLaunchIndex", i["launch_index"]),
            ("productCodes", []), ("instanceType", i["type"]),
            ("launchTime", common.iso8601(i["launch_time"])),
            ("placement", [("availabilityZone", i["region"] + "a"), ("groupName", ""),
                           ("tenancy", "default")]),
            ("monitoring", [("state", "disabled")]),
            ("subnetId", i["subnet_id"] if st != "terminated" else None),
            ("vpcId", i["vpc_id"] if st != "terminated" else None),
            ("privateIpAddress", ip if st != "terminated" else None),
            ("groupSet", [("item", [("groupId", g), ("groupName", self.sgs.groups[g]["name"])])
                          for g in self.sgs.instance_groups(i) if g in self.sgs.groups]),
            ("architecture", "x86_64"), ("rootDeviceType", "ebs"),
            ("rootDeviceName", "/dev/xvda"), ("blockDeviceMapping", []),
            ("virtualizationType", "hvm"), ("clientToken", i["client_token"]),
            ("hypervisor", "xen"), ("ebsOptimized", False),
        ])
        if i.get("market") == "spot":
            # As EC2: only spot instances carry instanceLifecycle.
            fill(e, [("instanceLifecycle", "spot"),
                     ("spotInstanceRequestId", i.get("spot_request_id") or "")])
        if i.get("state_reason"):
            fill(e, [("stateReason", [("code", i["state_reason"][0]),
                                      ("message", i["state_reason"][1])])])
        if i.get("iam_profile"):
            fill(e, [("iamInstanceProfile", [
                ("arn", i.get("iam_profile_arn") or "arn:aws:iam::%s:instance-profile/%s" % (
                    self.creds.account_id, i["iam_profile"])),
                ("id", i.get("iam_profile_id") or
                 common.stable_id("AIPA", i["iam_profile"]).upper())])])
        if i["tags"]:
            item_set(e, "tagSet", [[("key", k), ("value", v)] for k, v in i["tags"]])

    def _find_instance(self, iid, region):
        if not iid.startswith("i-"):
            raise EC2Error("InvalidInstanceID.Malformed", 'Invalid id: "%s"' % iid)
        i = self.instances.get(iid)
        if i is None or i["region"] != region or self._expired(i):
            raise EC2Error("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist"
                           % iid)
        return i

    def _expired(self, i):
        t = i.get("terminated_at")
        return t is not None and time.time() > t + self.cfg["terminated_ttl"]

    def _instance_matches(self, i, filters):
        st = self.state(i)
        tags = dict(i["tags"])
        groups = self.sgs.instance_groups(i)
        for name, vals in filters:
            ok = match_tag_filter(tags, name, vals)
            if name in ("instance.group-id", "group-id"):
                ok = any(match_any(g, vals) for g in groups)
            elif name in ("instance.group-name", "group-name"):
                ok = any(match_any(self.sgs.groups[g]["name"], vals)
                         for g in groups if g in self.sgs.groups)
            elif ok is None:
                field = {
                    "instance-state-name": st,
                    "instance-state-code": str(STATE_CODES[st]),
                    "instance-id": i["id"], "client-token": i["client_token"],
                    "instance-type": i["type"], "image-id": i["image_id"],
                    "key-name": i["key_name"], "reservation-id": i["reservation_id"],
                    "vpc-id": i["vpc_id"], "subnet-id": i["subnet_id"],
                    "private-ip-address": i["private_ip"],
                    "availability-zone": i["region"] + "a",
                }
                if name not in field:
                    raise EC2Error("InvalidParameterValue",
                                   "The filter '%s' is invalid" % name)
                ok = match_any(field[name], vals)
            if not ok:
                return False
        return True

    def op_DescribeInstances(self, p, region, r):
        ids = indexed(p, "InstanceId")
        filters = parse_filters(p)
        if ids and p.get("MaxResults"):
            raise EC2Error("InvalidParameterCombination", "The parameter instancesSet cannot "
                           "be used with the parameter maxResults")
        if ids:
            chosen = [self._find_instance(x, region) for x in ids]
        else:
            chosen = [self.instances[x] for x in self.order
                      if self.instances[x]["region"] == region
                      and not self._expired(self.instances[x])]
        chosen = [i for i in chosen if self._instance_matches(i, filters)]
        page, nxt = paginate(chosen, p)
        rs = el(r, "reservationSet")
        by_res = {}
        for i in page:
            by_res.setdefault(i["reservation_id"], []).append(i)
        for res, insts in by_res.items():
            item = el(rs, "item")
            self._reservation_xml(item, res, insts)
        if nxt:
            el(r, "nextToken", nxt)

    def op_DescribeSpotInstanceRequests(self, p, region, r):
        """The spot request behind each spot instance RunInstances made (EC2
        makes one a launch): its max price as asked, or none when EC2's cap
        (the on-demand price) applies."""
        ids = indexed(p, "SpotInstanceRequestId")
        found = [self.instances[x] for x in self.order
                 if self.instances[x]["region"] == region and self.instances[x].get("market")
                 == "spot" and not self._expired(self.instances[x])]
        for x in ids:
            if not any(i["spot_request_id"] == x for i in found):
                raise EC2Error("InvalidSpotInstanceRequestID.NotFound",
                               "The spot instance request ID '%s' does not exist" % x)
        chosen = [i for i in found if not ids or i["spot_request_id"] in ids]
        item_set(r, "spotInstanceRequestSet", [[
            ("spotInstanceRequestId", i["spot_request_id"]),
            ("spotPrice", i.get("spot_max_price")), ("type", "one-time"),
            ("state", "closed" if self.state(i) == "terminated" else "active"),
            ("instanceId", i["id"]),
            ("launchSpecification", [("imageId", i["image_id"]), ("instanceType", i["type"])]),
        ] for i in chosen])

    def op_DescribeInstanceAttribute(self, p, region, r):
        i = self._find_instance(p.get("InstanceId", ""), region)
        attr = p.get("Attribute")
        el(r, "instanceId", i["id"])
        if attr == "userData":
            u = el(r, "userData")
            if i["user_data"]:
                el(u, "value", i["user_data"])
        elif attr == "instanceType":
            el(el(r, "instanceType"), "value", i["type"])
        else:
            raise EC2Error("InvalidParameterValue", "Value (%s) for parameter attribute is "
                           "invalid. Unknown attribute." % attr)

    def op_TerminateInstances(self, p, region, r):
        ids = indexed(p, "InstanceId")
        if not ids:
            raise EC2Error("MissingParameter", "The request must contain the parameter "
                           "InstanceId")
        insts = [self._find_instance(x, region) for x in ids]
        s = el(r, "instancesSet")
        now = time.time()
        for i in insts:
            prev = self.state(i, now)
            if i.get("terminated_at") is None:
                i["terminated_at"] = now + self.cfg["terminate_delay"]
                i["state_reason"] = ["Client.UserInitiatedShutdown",
                                     "Client.UserInitiatedShutdown: User initiated shutdown"]
                self._save(i)
                if i["boot"]:
                    self.launcher.terminate(i)
            cur = self.state(i, now)
            fill(el(s, "item"), [
                ("instanceId", i["id"]),
                ("currentState", [("code", STATE_CODES[cur]), ("name", cur)]),
                ("previousState", [("code", STATE_CODES[prev]), ("name", prev)])])

    def end_all(self, reason, booted_only=False):
        """Marks every live instance (booted_only: every booted one) terminated now."""
        with self.lock:
            now = time.time()
            for i in self.instances.values():
                if i.get("terminated_at") is None and (i["boot"] or not booted_only):
                    i["terminated_at"] = now
                    i["state_reason"] = ["Server.InternalError", reason]
                    self._save(i)

    def _tag_targets(self, p, region):
        out = []
        for rid in indexed(p, "ResourceId"):
            if rid.startswith("i-"):
                out.append((self._find_instance(rid, region), self._save))
            elif rid.startswith("sg-"):
                out.append((self.sgs.find(rid, region), self.sgs.save))
            else:
                raise EC2Error("InvalidID", 'The ID \'%s\' is not valid' % rid)
        return out

    def op_CreateTags(self, p, region, r):
        targets = self._tag_targets(p, region)
        tags = parse_tags(p)
        for i, save in targets:
            d = dict(i["tags"])
            d.update(dict(tags))
            i["tags"] = [[k, v] for k, v in d.items()]
            save(i)
        el(r, "return", True)

    def op_DeleteTags(self, p, region, r):
        targets = self._tag_targets(p, region)
        tags = parse_tags(p)
        for i, save in targets:
            i["tags"] = [[k, v] for k, v in i["tags"]
                         if not any(k == tk and (tv in ("", v) or tv is None)
                                    for tk, tv in tags)]
            save(i)
        el(r, "return", True)

    # ---------- key pairs ----------
    def _keypair_item(self, k):
        return [("keyPairId", k["id"]), ("keyName", k["name"]),
                ("keyFingerprint", k["fingerprint"]), ("keyType", k["type"]),
                ("createTime", common.iso8601(k["created"])), ("tagSet", [])]

    def _add_key(self, region, name, public_key, fingerprint, ktype):
        if not name:
            raise EC2Error("MissingParameter", "The request must contain the parameter KeyName")
        if (region, name) in self.keys:
            raise EC2Error("InvalidKeyPair.Duplicate", "The keypair '%s' already exists." % name)
        k = {"id": common.hex_id("key-"), "region": region, "name": name,
             "public_key": public_key, "fingerprint": fingerprint, "type": ktype,
             "created": time.time()}
        self.keys[(region, name)] = k
        common.write_json(self._key_path(k), k)
        return k

    def op_CreateKeyPair(self, p, region, r):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
        ktype = p.get("KeyType", "rsa")
        if ktype == "ed25519":
            priv = ed25519.Ed25519PrivateKey.generate()
            pem = priv.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.OpenSSH,
                                     serialization.NoEncryption())
        else:
            priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = priv.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption())
        der = priv.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
        pub = priv.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH).decode()
        fp = ":".join("%02x" % b for b in hashlib.sha1(der).digest())
        k = self._add_key(region, p.get("KeyName"), pub + " " + p.get("KeyName", ""), fp, ktype)
        fill(r, [("keyName", k["name"]), ("keyFingerprint", fp),
                 ("keyMaterial", pem.decode()), ("keyPairId", k["id"])])

    def op_ImportKeyPair(self, p, region, r):
        try:
            material = base64.b64decode(p.get("PublicKeyMaterial", "")).decode().strip()
            kind, blob = material.split()[:2]
            raw = base64.b64decode(blob)
        except (ValueError, UnicodeDecodeError):
            raise EC2Error("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
        fp = ":".join("%02x" % b for b in hashlib.md5(raw).digest())
        ktype = "ed25519" if "ed25519" in kind else "rsa"
        k = self._add_key(region, p.get("KeyName"), material, fp, ktype)
        fill(r, [("keyName", k["name"]), ("keyFingerprint", fp), ("keyPairId", k["id"])])

    def op_DescribeKeyPairs(self, p, region, r):
        names = indexed(p, "KeyName")
        ids = indexed(p, "KeyPairId")
        mine = [k for (reg, _), k in sorted(self.keys.items()) if reg == region]
        for n in names:
            if not any(k["name"] == n for k in mine):
                raise EC2Error("InvalidKeyPair.NotFound", "The key pair '%s' does not exist" % n)
        for n in ids:
            if not any(k["id"] == n for k in mine):
                raise EC2Error("InvalidKeyPair.NotFound", "The key pair ID '%s' does not exist"
                               % n)
        chosen = [k for k in mine if (not names or k["name"] in names)
                  and (not ids or k["id"] in ids)]
        for name, vals in parse_filters(p):
            field = {"key-name": "name", "key-pair-id": "id", "fingerprint": "fingerprint"}
            if name not in field:
                raise EC2Error("InvalidParameterValue", "The filter '%s' is invalid" % name)
            chosen = [k for k in chosen if match_any(k[field[name]], vals)]
        item_set(r, "keySet", [self._keypair_item(k) for k in chosen])

    def op_DeleteKeyPair(self, p, region, r):
        k = self.keys.pop((region, p.get("KeyName", "")), None)
        if k is None and p.get("KeyPairId"):
            for key, v in list(self.keys.items()):
                if v["id"] == p["KeyPairId"] and key[0] == region:
                    k = self.keys.pop(key)
        if k:
            try:
                os.unlink(self._key_path(k))
            except FileNotFoundError:
                pass
        el(r, "return", True)

    # ---------- network ----------
    def _simple_filters(self, p, fields):
        for name, vals in parse_filters(p):
            if name not in fields:
                raise EC2Error("InvalidParameterValue", "The filter '%s' is invalid" % name)
            if not match_any(fields[name], vals):
                return False
        return True

    def op_DescribeSubnets(self, p, region, r):
        sub = self.subnet_id(region)
        for x in indexed(p, "SubnetId"):
            if x != sub:
                raise EC2Error("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist"
                               % x)
        first, last = self.net.instance_addresses()
        used = sum(1 for i in self.live_instances() if i["region"] == region)
        fields = {"subnet-id": sub, "vpc-id": self.vpc_id(region), "default-for-az": "true",
                  "defaultForAz": "true", "availability-zone": region + "a",
                  "state": "available", "cidr-block": str(self.net.subnet),
                  "owner-id": self.creds.account_id}
        ok = self._simple_filters(p, fields)
        item_set(r, "subnetSet", [[
            ("subnetId", sub),
            ("subnetArn", "arn:aws:ec2:%s:%s:subnet/%s" % (region, self.creds.account_id, sub)),
            ("state", "available"), ("ownerId", self.creds.account_id),
            ("vpcId", self.vpc_id(region)), ("cidrBlock", str(self.net.subnet)),
            ("availableIpAddressCount", last - first + 1 - used),
            ("availabilityZone", region + "a"),
            ("availabilityZoneId", region[:2] + region.split("-")[-1][:1] + "-az1"),
            ("defaultForAz", True), ("mapPublicIpOnLaunch", False),
            ("assignIpv6AddressOnCreation", False)]] if ok else [])

    # ---------- images and types ----------
    def op_DescribeImages(self, p, region, r):
        owners = indexed(p, "Owner")
        ids = indexed(p, "ImageId")
        imgs = self.images(region)
        for x in ids:
            if not any(i["id"] == x for i in imgs):
                raise EC2Error("InvalidAMIID.NotFound", "The image id '[%s]' does not exist" % x)
        out = []
        for i in imgs:
            if ids and i["id"] not in ids:
                continue
            if owners and not any(o == i["owner"] or o == i["owner_id"] for o in owners):
                continue
            fields = {"name": i["name"], "image-id": i["id"], "owner-id": i["owner_id"],
                      "owner-alias": i["owner"], "architecture": "x86_64",
                      "state": "available", "is-public": "true",
                      "virtualization-type": "hvm", "root-device-type": "ebs"}
            if self._simple_filters(p, fields):
                out.append(i)
        item_set(r, "imagesSet", [[
            ("imageId", i["id"]), ("imageLocation", "%s/%s" % (i["owner"] or i["owner_id"],
                                                              i["name"])),
            ("imageState", "available"), ("imageOwnerId", i["owner_id"]),
            ("creationDate", i["created"]), ("isPublic", True), ("architecture", "x86_64"),
            ("imageType", "machine"), ("imageOwnerAlias", i["owner"]),
            ("name", i["name"]), ("description", "AWS ParallelCluster AMI (local cloud)"),
            ("rootDeviceType", "ebs"), ("rootDeviceName", "/dev/xvda"),
            ("virtualizationType", "hvm"), ("hypervisor", "xen"),
            ("platformDetails", "Linux/UNIX"), ("enaSupport", True)] for i in out])

    def op_DescribeInstanceTypes(self, p, region, r):
        names = indexed(p, "InstanceType")
        types = self.instance_types()
        known = {t[0] for t in types}
        bad = [n for n in names if n not in known]
        if bad:
            raise EC2Error("InvalidInstanceType", "The following supplied instance types do "
                           "not exist: [%s]" % ", ".join(bad))
        chosen = [t for t in types if not names or t[0] in names]
        chosen = [t for t in chosen if self._simple_filters(p, {
            "instance-type": t[0], "vcpu-info.default-vcpus": str(t[1]),
            "memory-info.size-in-mib": str(t[2]), "current-generation": "true"})]
        page, nxt = paginate(chosen, p, lo=5, hi=100)
        item_set(r, "instanceTypeSet", [[
            ("instanceType", n), ("currentGeneration", True),
            ("supportedUsageClasses", [("item", "on-demand")]),
            ("processorInfo", [("supportedArchitectures", [("item", "x86_64")])]),
            ("vCpuInfo", [("defaultVCpus", v), ("defaultCores", max(1, v // 2) if v > 1 else 1),
                          ("defaultThreadsPerCore", 2 if v > 1 else 1)]),
            ("memoryInfo", [("sizeInMiB", m)]), ("hypervisor", "nitro"),
            ("instanceStorageSupported", False)] for n, v, m in page])
        if nxt:
            el(r, "nextToken", nxt)

    def op_DescribeRegions(self, p, region, r):
        item_set(r, "regionInfo", [[("regionName", region),
                                    ("regionEndpoint", "ec2.%s.amazonaws.com" % region),
                                    ("optInStatus", "opt-in-not-required")]])

    def op_DescribeAvailabilityZones(self, p, region, r):
        item_set(r, "availabilityZoneInfo", [[("zoneName", region + "a"),
                                              ("zoneState", "available"),
                                              ("regionName", region)]])
