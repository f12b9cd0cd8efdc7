"""EC2 security groups (Version 2016-11-15): Create/Delete/Describe, ingress
Authorize/Revoke, the default group of each region's VPC, the groups of a
launch, and what the groups let in (ingress_rules), which the launcher
turns into host-side nftables rules (netfilter.set_ingress).

A group is <dir>/ec2/security-groups/<id>.json. Its ingress rules are kept
one per source: {"id", "proto", "from", "to", "cidr" | "group",
"description"}; proto is -1, tcp, udp, icmp or a protocol number, and
ports are -1 where they do not apply. Egress is always open (the default
allow-all rule, shown as EC2 shows it).

The default group lets in everything from its own members, as EC2's does,
and (unlike EC2's) everything from the local cloud's host address, which
stands for the operator's network: instances launched without groups stay
reachable from the host as before groups existed. The rule is listed, and
revoking it works as for any rule."""
import ipaddress
import os

from . import common
from .ec2 import EC2Error, indexed, indexed_groups, match_any, match_tag_filter, paginate, \
    parse_filters, parse_tags
from .xmlout import el, fill, item_set

PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "all": "-1", "-1": "-1",
                  "tcp": "tcp", "udp": "udp", "icmp": "icmp"}


def not_found(gid):
    return EC2Error("InvalidGroup.NotFound", "The security group '%s' does not exist" % gid)


def _port(perm, name):
    try:
        v = int(perm.get(name, ""))
    except ValueError:
        raise EC2Error("InvalidParameterValue", "Invalid value for portRange. Must specify "
                       "both from and to ports with TCP/UDP.")
    return v


def _cidr(text):
    try:
        return str(ipaddress.IPv4Network(text, strict=True))
    except ValueError:
        raise EC2Error("InvalidParameterValue", "CIDR block %s is malformed" % text)


def rule_key(r):
    return (r["proto"], r["from"], r["to"], r.get("cidr"), r.get("group"))


def describe_rule(r):
    """EC2's words for a rule in InvalidPermission errors."""
    proto = {"-1": "ALL"}.get(r["proto"], r["proto"].upper())
    return 'peer: %s, %s, from port: %s, to port: %s, ALLOW' % (
        r.get("cidr") or r.get("group"), proto, r["from"], r["to"])


class SecurityGroups:
    def __init__(self, ec2):
        self.ec2 = ec2                  # its lock guards this state too
        self.dir = os.path.join(ec2.dir, "security-groups")
        self.groups = {g["id"]: g for g in common.read_json_dir(self.dir)}  # id -> record

    def save(self, g):
        common.write_json(os.path.join(self.dir, g["id"] + ".json"), g)

    # ---------- lookups ----------
    def default_group(self, region, vpc=None):
        """The default group of a VPC (of the region's default VPC without one)."""
        vpc = vpc or self.ec2.vpc_id(region)
        gid = common.stable_id("sg-", region, vpc, "default")
        g = self.groups.get(gid)
        if g is None:
            g = {"id": gid, "region": region, "vpc_id": vpc, "name": "default",
                 "description": "default VPC security group", "tags": [], "ingress": [
                     {"id": common.stable_id("sgr-", gid, "self"), "proto": "-1", "from": -1,
                      "to": -1, "group": gid, "description": ""}]}
            if vpc == self.ec2.vpc_id(region):
                g["ingress"].append({"id": common.stable_id("sgr-", gid, "host"), "proto": "-1",
                                     "from": -1, "to": -1,
                                     "cidr": "%s/32" % self.ec2.net.host_ip,
                                     "description": "the local cloud's host"})
            self.groups[gid] = g
            self.save(g)
        return g

    def _forget(self, g):
        del self.groups[g["id"]]
        try:
            os.unlink(os.path.join(self.dir, g["id"] + ".json"))
        except FileNotFoundError:
            pass

    def drop_vpc(self, region, vpc):
        """DeleteVpc's part: the VPC's default group goes with it; any other
        group in it refuses the deletion."""
        if any(g["vpc_id"] == vpc and g["name"] != "default" for g in self.in_region(region)):
            raise EC2Error("DependencyViolation", "The vpc '%s' has dependencies and cannot be "
                           "deleted." % vpc)
        self._forget(self.default_group(region, vpc))

    def in_region(self, region):
        for v in self.ec2.vpcs.records(region):
            self.default_group(region, v["id"])
        return sorted((g for g in self.groups.values() if g["region"] == region),
                      key=lambda g: (g["name"] != "default", g["id"]))

    def find(self, gid, region):
        if region == "" or gid is None:
            raise not_found(gid)
        self.default_group(region)
        g = self.groups.get(gid)
        if g is None or g["region"] != region:
            raise not_found(gid)
        return g

    def by_name(self, name, region):
        vpc = self.ec2.vpc_id(region)
        for g in self.in_region(region):
            if g["name"] == name and g["vpc_id"] == vpc:
                return g
        raise EC2Error("InvalidGroup.NotFound", "The security group '%s' does not exist in "
                       "default VPC '%s'" % (name, vpc))

    def _target(self, p, region):
        if p.get("GroupId"):
            return self.find(p["GroupId"], region)
        if p.get("GroupName"):
            return self.by_name(p["GroupName"], region)
        raise EC2Error("MissingParameter", "The request must contain the parameter groupId "
                       "or groupName")

    def launch_groups(self, p, region, vpc_id):
        """The group ids of a RunInstances call: SecurityGroupId.N (or the
        first network interface's), SecurityGroup.N names, else the default."""
        ids = indexed(p, "SecurityGroupId") or indexed(p, "NetworkInterface.1.SecurityGroupId")
        groups = [self.find(x, region) for x in ids]
        groups += [self.by_name(n, region) for n in indexed(p, "SecurityGroup")]
        for g in groups:
            if g["vpc_id"] != vpc_id:
                raise EC2Error("InvalidParameter", "Security group %s and subnet %s belong to "
                               "different networks." % (g["id"], self.ec2.subnet_id(region)))
        out = []
        for g in groups or [self.default_group(region)]:
            if g["id"] not in out:
                out.append(g["id"])
        return out

    def instance_groups(self, inst):
        """An instance's group ids (instances launched before groups: the default)."""
        return inst.get("security_groups") or [self.default_group(inst["region"])["id"]]

    # ---------- what gets in ----------
    def ingress_rules(self, addresses):
        """addresses: {instance id: address} of the instances on the bridge.
        Returns (address, proto, from, to, [source CIDRs]) per rule of each
        instance's groups; a group source is its members' addresses."""
        members = {}
        for iid, addr in addresses.items():
            inst = self.ec2.instances.get(iid)
            for gid in self.instance_groups(inst) if inst else []:
                members.setdefault(gid, []).append(addr + "/32")
        out = []
        for iid, addr in sorted(addresses.items()):
            inst = self.ec2.instances.get(iid)
            for gid in self.instance_groups(inst) if inst else []:
                g = self.groups.get(gid)
                for r in g["ingress"] if g else []:
                    srcs = [r["cidr"]] if r.get("cidr") else members.get(r.get("group"), [])
                    if srcs:
                        out.append((addr, r["proto"], r["from"], r["to"], srcs))
        return out

    # ---------- permissions ----------
    def _permission_rules(self, perm, region):
        proto = str(perm.get("IpProtocol", "")).lower()
        if proto not in PROTOCOL_NAMES and not (proto.isdigit() and int(proto) < 256):
            raise EC2Error("InvalidParameterValue", "Invalid value '%s' for IP protocol. "
                           "Unknown protocol." % perm.get("IpProtocol", ""))
        proto = PROTOCOL_NAMES.get(proto, proto)
        lo = hi = -1
        if proto in ("tcp", "udp"):
            lo, hi = _port(perm, "FromPort"), _port(perm, "ToPort")
            if not (0 <= lo <= hi <= 65535):
                raise EC2Error("InvalidParameterValue", "Invalid value for portRange. Must "
                               "specify both from and to ports with TCP/UDP.")
        elif proto == "icmp":
            lo = int(perm.get("FromPort", -1) or -1)
            hi = int(perm.get("ToPort", -1) or -1)
        rules = []
        for rng in indexed_groups(perm, "IpRanges"):
            rules.append({"cidr": _cidr(rng.get("CidrIp", "")),
                          "description": rng.get("Description", "")})
        for pair in indexed_groups(perm, "Groups"):
            src = self.find(pair["GroupId"], region) if pair.get("GroupId") else \
                self.by_name(pair.get("GroupName", ""), region)
            rules.append({"group": src["id"], "description": pair.get("Description", "")})
        if not rules:
            raise EC2Error("MissingParameter", "The request must contain the parameter "
                           "ipPermissions.ipRanges or ipPermissions.groups")
        for r in rules:
            r.update({"proto": proto, "from": lo, "to": hi})
        return rules

    def _request_rules(self, p, region):
        perms = indexed_groups(p, "IpPermissions")
        if not perms and p.get("IpProtocol"):      # the flat form of older clients
            flat = {k: p[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in p}
            if p.get("CidrIp"):
                flat["IpRanges.1.CidrIp"] = p["CidrIp"]
            if p.get("SourceSecurityGroupName"):
                flat["Groups.1.GroupName"] = p["SourceSecurityGroupName"]
            perms = [flat]
        if not perms:
            raise EC2Error("MissingParameter", "The request must contain the parameter "
                           "ipPermissions")
        return [r for perm in perms for r in self._permission_rules(perm, region)]

    # ---------- XML ----------
    def _permissions_xml(self, rules, account):
        grouped = {}
        for r in rules:
            grouped.setdefault((r["proto"], r["from"], r["to"]), []).append(r)
        items = []
        for (proto, lo, hi), rs in grouped.items():
            spec = [("ipProtocol", proto)]
            if proto != "-1":
                spec += [("fromPort", lo), ("toPort", hi)]
            spec += [
                ("groups", [("item", [("description", r["description"] or None),
                                      ("userId", account), ("groupId", r["group"])])
                            for r in rs if r.get("group")]),
                ("ipRanges", [("item", [("cidrIp", r["cidr"]),
                                        ("description", r["description"] or None)])
                              for r in rs if r.get("cidr")]),
                ("ipv6Ranges", []), ("prefixListIds", [])]
            items.append(spec)
        return items

    def _group_xml(self, g):
        account = self.ec2.creds.account_id
        egress = [{"proto": "-1", "from": -1, "to": -1, "cidr": "0.0.0.0/0", "description": ""}]
        spec = [("ownerId", account), ("groupId", g["id"]), ("groupName", g["name"]),
                ("groupDescription", g["description"]), ("vpcId", g["vpc_id"])]
        return spec, [("ipPermissions", self._permissions_xml(g["ingress"], account)),
                      ("ipPermissionsEgress", self._permissions_xml(egress, account))]

    @staticmethod
    def _tag_items(tags):
        return [[("key", k), ("value", v)] for k, v in tags]

    def _rules_xml(self, r, g, rules):
        item_set(r, "securityGroupRuleSet", [[
            ("securityGroupRuleId", x["id"]), ("groupId", g["id"]),
            ("groupOwnerId", self.ec2.creds.account_id), ("isEgress", False),
            ("ipProtocol", x["proto"]), ("fromPort", x["from"]), ("toPort", x["to"]),
            ("cidrIpv4", x.get("cidr")),
            ("referencedGroupInfo", [("groupId", x["group"]),
                                     ("userId", self.ec2.creds.account_id)]
             if x.get("group") else None),
            ("description", x["description"] or None)] for x in rules])

    # ---------- operations ----------
    def op_CreateSecurityGroup(self, p, region, r):
        name, desc = p.get("GroupName"), p.get("GroupDescription")
        if not name:
            raise EC2Error("MissingParameter", "The request must contain the parameter "
                           "GroupName")
        if not desc:
            raise EC2Error("MissingParameter", "The request must contain the parameter "
                           "GroupDescription")
        if name.lower().startswith("sg-") or len(name) > 255:
            raise EC2Error("InvalidParameterValue", "Value (%s) for parameter GroupName is "
                           "invalid. Group names may not be in the format sg-*." % name)
        vpc = self.ec2.vpcs.find(p.get("VpcId") or self.ec2.vpc_id(region), region)["id"]
        if any(g["name"] == name and g["vpc_id"] == vpc for g in self.in_region(region)):
            raise EC2Error("InvalidGroup.Duplicate", "The security group '%s' already exists "
                           "for VPC '%s'" % (name, vpc))
        tags = []
        for ts in indexed_groups(p, "TagSpecification"):
            if ts.get("ResourceType") != "security-group":
                raise EC2Error("InvalidParameterValue", "'%s' is not a valid taggable resource "
                               "type for this operation." % ts.get("ResourceType"))
            tags.extend(parse_tags(ts))
        g = {"id": common.hex_id("sg-"), "region": region, "vpc_id": vpc, "name": name,
             "description": desc, "tags": tags, "ingress": []}
        self.groups[g["id"]] = g
        self.save(g)
        el(r, "return", True)
        el(r, "groupId", g["id"])
        if tags:
            item_set(r, "tagSet", self._tag_items(tags))

    def op_DeleteSecurityGroup(self, p, region, r):
        g = self._target(p, region)
        if g["name"] == "default":
            raise EC2Error("CannotDelete", 'the specified group: "%s" name: "default" cannot be '
                           'deleted by a user' % g["id"])
        # as EC2: a shutting-down instance still holds its groups
        users = [i for i in self.ec2.instances.values() if i["region"] == region
                 and self.ec2.state(i) != "terminated" and g["id"] in self.instance_groups(i)]
        referrers = [o for o in self.groups.values() if o is not g
                     and any(x.get("group") == g["id"] for x in o["ingress"])]
        if users or referrers:
            raise EC2Error("DependencyViolation", "resource %s has a dependent object" % g["id"])
        self._forget(g)
        el(r, "return", True)
        el(r, "groupId", g["id"])

    def _matches(self, g, filters):
        tags = dict(g["tags"])
        for name, vals in filters:
            ok = match_tag_filter(tags, name, vals)
            if ok is None:
                field = {"group-id": g["id"], "group-name": g["name"], "vpc-id": g["vpc_id"],
                         "description": g["description"],
                         "owner-id": self.ec2.creds.account_id}
                if name not in field:
                    raise EC2Error("InvalidParameterValue", "The filter '%s' is invalid" % name)
                ok = match_any(field[name], vals)
            if not ok:
                return False
        return True

    def op_DescribeSecurityGroups(self, p, region, r):
        ids, names = indexed(p, "GroupId"), indexed(p, "GroupName")
        if (ids or names) and p.get("MaxResults"):
            raise EC2Error("InvalidParameterCombination", "The parameter groupIdSet cannot be "
                           "used with the parameter maxResults")
        chosen = self.in_region(region)
        if ids or names:
            wanted = [self.find(x, region) for x in ids] + \
                [self.by_name(n, region) for n in names]
            chosen = [g for g in chosen if g in wanted]
        filters = parse_filters(p)
        chosen = [g for g in chosen if self._matches(g, filters)]
        page, nxt = paginate(chosen, p, lo=5, hi=1000)
        s = el(r, "securityGroupInfo")
        for g in page:
            spec, perms = self._group_xml(g)
            item = fill(el(s, "item"), spec)
            for tag, items in perms:
                item_set(item, tag, items)
            if g["tags"]:
                item_set(item, "tagSet", self._tag_items(g["tags"]))
        if nxt:
            el(r, "nextToken", nxt)

    def op_AuthorizeSecurityGroupIngress(self, p, region, r):
        g = self._target(p, region)
        new = self._request_rules(p, region)
        have = {rule_key(x) for x in g["ingress"]}
        for x in new:
            if rule_key(x) in have:
                raise EC2Error("InvalidPermission.Duplicate", 'the specified rule "%s" already '
                               'exists' % describe_rule(x))
            have.add(rule_key(x))
            x["id"] = common.hex_id("sgr-")
        g["ingress"].extend(new)
        self.save(g)
        self.ec2.launcher.refresh_ingress()
        el(r, "return", True)
        self._rules_xml(r, g, new)

    def op_RevokeSecurityGroupIngress(self, p, region, r):
        g = self._target(p, region)
        rule_ids = indexed(p, "SecurityGroupRuleId")
        if rule_ids:
            gone = [x for x in g["ingress"] if x["id"] in rule_ids]
            if len(gone) != len(set(rule_ids)):
                missing = sorted(set(rule_ids) - {x["id"] for x in gone})
                raise EC2Error("InvalidSecurityGroupRuleId.NotFound", "The security group rule "
                               "ID '%s' does not exist" % missing[0])
            unknown = []
        else:
            asked = self._request_rules(p, region)
            keys = {rule_key(x) for x in asked}
            gone = [x for x in g["ingress"] if rule_key(x) in keys]
            have = {rule_key(x) for x in g["ingress"]}
            unknown = [x for x in asked if rule_key(x) not in have]
            if not gone:
                raise EC2Error("InvalidPermission.NotFound", "The specified rule does not exist "
                               "in this security group.")
        g["ingress"] = [x for x in g["ingress"] if x not in gone]
        self.save(g)
        self.ec2.launcher.refresh_ingress()
        el(r, "return", True)
        if unknown:
            item_set(r, "unknownIpPermissionSet",
                     self._permissions_xml(unknown, self.ec2.creds.account_id))
