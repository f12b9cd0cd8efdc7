"""Shared plumbing: the state directory layout, persisted credentials,
network facts derived from the CIDR, atomic JSON files, ids and times."""
import datetime
import hashlib
import ipaddress
import json
import os
import secrets
import tempfile
import time
import uuid

DEFAULT_CIDR = "10.77.0.0/16"
DEFAULT_BRIDGE = "lcbr77"
DEFAULT_REGION = "ap-northeast-1"


def write_json(path, obj):
    """Writes obj to path atomically (temp file + rename)."""
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def read_json_dir(d):
    """The records of every <name>.json in d (none when d does not exist)."""
    names = sorted(os.listdir(d)) if os.path.isdir(d) else []
    return [read_json(os.path.join(d, n)) for n in names if n.endswith(".json")]


def write_bytes(path, data, mode=0o644):
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def request_id():
    return str(uuid.uuid4())


def hex_id(prefix, n=17):
    return prefix + secrets.token_hex(16)[:n]


def stable_id(prefix, *parts, n=17):
    """A deterministic resource id: same inputs, same id, on every start."""
    h = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return prefix + h[:n]


def iso8601(t=None):
    t = time.time() if t is None else t
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def http_date(t=None):
    from email.utils import formatdate
    return formatdate(time.time() if t is None else t, usegmt=True)


class Network:
    """Addresses derived from the local cloud's CIDR: the VPC is the CIDR,
    the subnet its first /(prefix+2) (16k addresses in a /16), the bridge holds the subnet's first
    host address, instances get the rest."""

    def __init__(self, cidr, bridge):
        self.vpc = ipaddress.ip_network(cidr, strict=True)
        if self.vpc.version != 4 or self.vpc.prefixlen > 24:
            raise ValueError("CIDR must be IPv4 and /24 or larger: %s" % cidr)
        self.subnet = next(self.vpc.subnets(new_prefix=min(self.vpc.prefixlen + 2, 26)))
        self.bridge = bridge
        if not (0 < len(bridge) <= 15):
            raise ValueError("bridge name must be 1..15 characters")
        self.host_ip = str(self.subnet.network_address + 1)

    def instance_addresses(self):
        """Addresses instances may use (AWS reserves the first four and the last)."""
        first = int(self.subnet.network_address) + 4
        last = int(self.subnet.broadcast_address) - 1
        return first, last


class Credentials:
    """The test credentials the local cloud accepts, created once per state
    directory: a long-term key, and role credentials served by the IMDS."""

    def __init__(self, d):
        path = os.path.join(d, "credentials.json")
        c = read_json(path)
        if c is None:
            c = {
                "account_id": "%012d" % (secrets.randbelow(10**11) + 10**11),
                "access_key_id": "AKIA" + secrets.token_hex(8).upper(),
                "secret_access_key": secrets.token_urlsafe(30)[:40],
                "role_name": "localcloud-instance-role",
                "role_access_key_id": "ASIA" + secrets.token_hex(8).upper(),
                "role_secret_access_key": secrets.token_urlsafe(30)[:40],
                "role_session_token": secrets.token_urlsafe(96),
            }
            write_json(path, c)
            os.chmod(path, 0o600)
        self.__dict__.update(c)

    def secret_for(self, access_key_id):
        """Returns (secret, session token or None) for a key id, or None."""
        if access_key_id == self.access_key_id:
            return self.secret_access_key, None
        if access_key_id == self.role_access_key_id:
            return self.role_secret_access_key, self.role_session_token
        return None
