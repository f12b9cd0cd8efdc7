"""VPCs (Version 2016-11-15): each region's default VPC (the local cloud's
CIDR, the one that holds the subnet and the instances) and VPCs made with
CreateVpc, which hold no subnet and no instance: they exist so that a
security group can be in another VPC than an instance's, as on EC2.
DescribeVpcs lists the default first; DeleteVpc removes a made VPC with its
default security group, refused while another group is in it.

Made VPCs are <dir>/ec2/vpcs/<id>.json."""
import ipaddress
import os

from . import common
from .ec2 import EC2Error, indexed, indexed_groups, parse_tags
from .xmlout import el, fill, item_set


class Vpcs:
    def __init__(self, ec2):
        self.ec2 = ec2                  # its lock guards this state too
        self.dir = os.path.join(ec2.dir, "vpcs")
        self.made = {v["id"]: v for v in common.read_json_dir(self.dir)}  # id -> record

    def records(self, region):
        default = {"id": self.ec2.vpc_id(region), "region": region, "default": True,
                   "cidr": str(self.ec2.net.vpc), "tags": []}
        return [default] + sorted((v for v in self.made.values() if v["region"] == region),
                                  key=lambda v: v["created"])

    def find(self, vpc_id, region):
        for v in self.records(region):
            if v["id"] == vpc_id:
                return v
        raise EC2Error("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist" % vpc_id)

    def _xml(self, v):
        return [("vpcId", v["id"]), ("ownerId", self.ec2.creds.account_id),
                ("state", "available"), ("cidrBlock", v["cidr"]),
                ("cidrBlockAssociationSet", [("item", [
                    ("cidrBlock", v["cidr"]),
                    ("associationId", common.stable_id("vpc-cidr-assoc-", v["id"])),
                    ("cidrBlockState", [("state", "associated")])])]),
                ("dhcpOptionsId", common.stable_id("dopt-", v["region"])),
                ("instanceTenancy", "default"), ("isDefault", v["default"]),
                ("tagSet", [("item", [("key", k), ("value", x)]) for k, x in v["tags"]]
                 or None)]

    def op_CreateVpc(self, p, region, r):
        try:
            cidr = ipaddress.IPv4Network(p.get("CidrBlock", ""), strict=True)
        except ValueError:
            raise EC2Error("InvalidParameterValue", "Value (%s) for parameter cidrBlock is "
                           "invalid. This is not a valid CIDR block." % p.get("CidrBlock"))
        if not 16 <= cidr.prefixlen <= 28:
            raise EC2Error("InvalidVpc.Range", "The CIDR '%s' is invalid." % cidr)
        tags = []
        for ts in indexed_groups(p, "TagSpecification"):
            if ts.get("ResourceType") == "vpc":
                tags.extend(parse_tags(ts))
        v = {"id": common.hex_id("vpc-"), "region": region, "default": False,
             "cidr": str(cidr), "tags": tags, "created": common.iso8601()}
        self.made[v["id"]] = v
        common.write_json(os.path.join(self.dir, v["id"] + ".json"), v)
        self.ec2.sgs.default_group(region, v["id"])
        fill(el(r, "vpc"), self._xml(v))

    def op_DeleteVpc(self, p, region, r):
        v = self.find(p.get("VpcId", ""), region)
        if v["default"]:
            raise EC2Error("OperationNotPermitted", "The local cloud keeps its default VPC "
                           "'%s'." % v["id"])
        self.ec2.sgs.drop_vpc(region, v["id"])      # refuses while a group is in it
        del self.made[v["id"]]
        try:
            os.unlink(os.path.join(self.dir, v["id"] + ".json"))
        except FileNotFoundError:
            pass
        el(r, "return", True)

    def op_DescribeVpcs(self, p, region, r):
        chosen = self.records(region)
        ids = indexed(p, "VpcId")
        for x in ids:
            self.find(x, region)
        chosen = [v for v in chosen if not ids or v["id"] in ids]
        chosen = [v for v in chosen if self.ec2._simple_filters(p, {
            "vpc-id": v["id"], "is-default": str(v["default"]).lower(),
            "isDefault": str(v["default"]).lower(), "state": "available", "cidr": v["cidr"],
            "cidr-block": v["cidr"], "owner-id": self.ec2.creds.account_id})]
        item_set(r, "vpcSet", [self._xml(v) for v in chosen])
