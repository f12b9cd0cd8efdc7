"""The few EC2 Query API calls the head node's agent makes: RunInstances
(one instance, a ClientToken, tags on the instance and its volumes),
TerminateInstances, DescribeInstances with filters (every page). Answers are
read with xml.etree into plain dicts. Python 3 standard library only,
Python 3.6 syntax.
"""
import base64
import urllib.parse
import xml.etree.ElementTree as ET

import agent_aws

VERSION = "2016-11-15"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _children(el, name):
    return [c for c in el if agent_aws.strip_ns(c.tag) == name]


def _child(el, name):
    found = _children(el, name)
    return found[0] if found else None


def _text(el, path):
    """The text at a slash-separated path of child names, or ""."""
    for name in path.split("/"):
        if el is None:
            return ""
        el = _child(el, name)
    return (el.text or "") if el is not None else ""


def _items(el, name):
    s = _child(el, name) if el is not None else None
    return _children(s, "item") if s is not None else []


def instance_of(item):
    """A dict of one instancesSet item."""
    return {
        "InstanceId": _text(item, "instanceId"),
        "InstanceType": _text(item, "instanceType"),
        "ImageId": _text(item, "imageId"),
        "State": _text(item, "instanceState/name"),
        "PrivateIpAddress": _text(item, "privateIpAddress"),
        "LaunchTime": _text(item, "launchTime"),
        "ClientToken": _text(item, "clientToken"),
        "StateReason": _text(item, "stateReason/message"),
        "Tags": {_text(t, "key"): _text(t, "value") for t in _items(item, "tagSet")},
    }


class Ec2(object):
    def __init__(self, client):
        self.client = client      # an agent_aws.Client for "ec2"

    def call(self, action, params):
        form = [("Action", action), ("Version", VERSION)] + list(params)
        body = urllib.parse.urlencode(form, quote_via=urllib.parse.quote).encode("utf-8")
        r = self.client.request("POST", "/", headers=[("Content-Type", FORM)], body=body,
                                what="EC2 " + action)
        return ET.fromstring(r.body)

    def run_instance(self, image_id, instance_type, client_token, tags, subnet_id=None,
                     security_group_ids=(), key_name=None, user_data=None,
                     instance_profile_arn=None):
        """Launches one instance; the same client_token gives back the same
        instance (EC2's idempotency), so a retry after a crash is safe."""
        p = [("ImageId", image_id), ("InstanceType", instance_type), ("MinCount", "1"),
             ("MaxCount", "1"), ("ClientToken", client_token)]
        if subnet_id:
            p.append(("SubnetId", subnet_id))
        for i, sg in enumerate(security_group_ids, 1):
            p.append(("SecurityGroupId.%d" % i, sg))
        if key_name:
            p.append(("KeyName", key_name))
        if user_data:
            raw = user_data if isinstance(user_data, bytes) else user_data.encode("utf-8")
            p.append(("UserData", base64.b64encode(raw).decode("ascii")))
        if instance_profile_arn:
            # the fleet spec names the profile as the workstation made it
            # (a name); an ARN is taken too
            p.append(("IamInstanceProfile.Arn" if instance_profile_arn.startswith("arn:")
                      else "IamInstanceProfile.Name", instance_profile_arn))
        for s, rtype in enumerate(("instance", "volume"), 1):
            p.append(("TagSpecification.%d.ResourceType" % s, rtype))
            for t, key in enumerate(sorted(tags), 1):
                p.append(("TagSpecification.%d.Tag.%d.Key" % (s, t), key))
                p.append(("TagSpecification.%d.Tag.%d.Value" % (s, t), tags[key]))
        root = self.call("RunInstances", p)
        return [instance_of(i) for i in _items(root, "instancesSet")][0]

    def terminate_instances(self, instance_ids):
        """{instance id: its new state}."""
        p = [("InstanceId.%d" % i, iid) for i, iid in enumerate(instance_ids, 1)]
        root = self.call("TerminateInstances", p)
        return {_text(i, "instanceId"): _text(i, "currentState/name")
                for i in _items(root, "instancesSet")}

    def describe_instances(self, filters):
        """Every instance matching filters ({name: [values]}), all pages."""
        base = []
        for f, name in enumerate(sorted(filters), 1):
            base.append(("Filter.%d.Name" % f, name))
            for v, value in enumerate(filters[name], 1):
                base.append(("Filter.%d.Value.%d" % (f, v), value))
        out, token = [], None
        while True:
            p = base + [("MaxResults", "1000")] + ([("NextToken", token)] if token else [])
            root = self.call("DescribeInstances", p)
            for res in _items(root, "reservationSet"):
                out.extend(instance_of(i) for i in _items(res, "instancesSet"))
            token = _text(root, "nextToken")
            if not token:
                return out
