"""IAM policy evaluation for requests signed with role credentials.

A request becomes a list of checks (action, resource ARN, condition context),
built per service the way AWS authorises it (RunInstances per resource type,
tags in RunInstances as ec2:CreateTags with ec2:CreateAction, S3 bucket and
object ARNs, iam:PassRole for an instance profile's role). Each check must be
allowed by some statement and denied by none. A condition operator or key
this module does not know denies (fail closed), whatever the statement's
effect. evaluate() is pure; requests_checks() reads the EC2 and IAM state."""
import fnmatch
import xml.etree.ElementTree as ET

from . import ec2 as ec2mod
from . import iam as iammod

OPERATORS = ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike",
             "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
             "Bool", "Null")
SET_PREFIXES = ("ForAllValues:", "ForAnyValue:")
KEY_PREFIXES = ("aws:requesttag/", "aws:resourcetag/", "ec2:resourcetag/")
KEYS = ("aws:tagkeys", "ec2:createaction", "ec2:instancetype", "s3:prefix",
        "iam:passedtoservice")


class Check:
    def __init__(self, action, resource, context=None):
        self.action, self.resource, self.context = action, resource, dict(context or {})

    def __repr__(self):
        return "%s on %s" % (self.action, self.resource)


def _glob(pattern, value, case=True):
    pattern = pattern.replace("[", "[[]")     # * and ? only, as IAM
    if case:
        return fnmatch.fnmatchcase(value, pattern)
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _as_list(v):
    return v if isinstance(v, list) else [v]


def known_key(key):
    k = key.lower()
    return k in KEYS or any(k.startswith(p) and len(k) > len(p) for p in KEY_PREFIXES)


def _context_value(ctx, key):
    """The context's values for a key (keys are case-insensitive), or None."""
    k = key.lower()
    for ck, v in ctx.items():
        if ck.lower() == k:
            return _as_list(v)
    return None


def _match_one(op, want, have):
    if op in ("StringEquals", "ArnEquals", "StringNotEquals", "ArnNotEquals"):
        return have == want
    if op == "StringEqualsIgnoreCase":
        return have.lower() == want.lower()
    if op in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike"):
        return _glob(want, have)
    if op == "Bool":
        return have.lower() == want.lower()
    raise ValueError(op)


def condition_holds(op_full, key, wants, ctx):
    """True/False, or None when the operator or key is not understood."""
    setop = None
    op = op_full
    for p in SET_PREFIXES:
        if op.startswith(p):
            setop, op = p[:-1], op[len(p):]
    if op.endswith("IfExists") or op not in OPERATORS or not known_key(key):
        return None
    wants = [str(w).lower() if isinstance(w, bool) else str(w) for w in _as_list(wants)]
    have = _context_value(ctx, key)
    if op == "Null":
        return (have is None) == (wants[0].lower() == "true")
    negated = "Not" in op
    if setop == "ForAllValues":
        return all(any(_match_one(op, w, h) for w in wants) != negated for h in (have or []))
    if setop == "ForAnyValue":
        return any(any(_match_one(op, w, h) for w in wants) != negated for h in (have or []))
    if have is None:
        return negated
    hit = any(_match_one(op, w, h) for w in wants for h in have)
    return not hit if negated else hit


def _statement_applies(s, check):
    """True/False whether the statement covers the check; None if it holds a
    condition this module does not understand."""
    if "Action" in s:
        if not any(_glob(a, check.action, case=False) for a in _as_list(s["Action"])):
            return False
    elif any(_glob(a, check.action, case=False) for a in _as_list(s["NotAction"])):
        return False
    if "Resource" in s:
        if not any(_glob(r, check.resource) for r in _as_list(s["Resource"])):
            return False
    elif any(_glob(r, check.resource) for r in _as_list(s["NotResource"])):
        return False
    for op, block in s.get("Condition", {}).items():
        for key, wants in block.items():
            held = condition_holds(op, key, wants, check.context)
            if held is None:
                return None
            if not held:
                return False
    return True


def evaluate(documents, check):
    """("allow" | "deny", reason) for one check against identity policies."""
    allowed = False
    for doc in documents:
        for s in iammod.statements(doc):
            applies = _statement_applies(s, check)
            if applies is None:
                return "deny", "a condition the local cloud does not understand: %s" % \
                    sorted(s.get("Condition", {}))
            if applies and s["Effect"] == "Deny":
                return "deny", "explicit deny in a statement%s" % (
                    " (%s)" % s["Sid"] if s.get("Sid") else "")
            if applies:
                allowed = True
    if allowed:
        return "allow", "allowed"
    return "deny", "no identity-based policy allows the %s action" % check.action


def evaluate_all(documents, checks):
    """("allow", []) or ("deny", [(check, reason)...]) over every check."""
    denied = []
    for c in checks:
        decision, why = evaluate(documents, c)
        if decision != "allow":
            denied.append((c, why))
    return ("allow" if not denied else "deny"), denied


# ---------- what a request asks for ----------
def _tag_context(tags, prefix):
    ctx = {"%s/%s" % (prefix, k): v for k, v in tags}
    return ctx


def _request_tags_context(tags):
    ctx = _tag_context(tags, "aws:RequestTag")
    ctx["aws:TagKeys"] = [k for k, _ in tags]
    return ctx


def _resource_tags_context(tags):
    ctx = _tag_context(tags, "ec2:ResourceTag")
    ctx.update(_tag_context(tags, "aws:ResourceTag"))
    return ctx


EC2_ID_TYPES = {"i-": "instance", "vol-": "volume", "eni-": "network-interface",
                "subnet-": "subnet", "sg-": "security-group", "vpc-": "vpc",
                "ami-": "image", "key-": "key-pair"}


def ec2_checks(op, p, region, account, ec2):
    """The checks EC2 makes for an action (ec2: the EC2 state, for tags)."""
    def arn(kind, rid, acct=account):
        return "arn:aws:ec2:%s:%s:%s/%s" % (region, acct, kind, rid)

    def instance_tags(rid):
        i = ec2.instances.get(rid) or ec2.sgs.groups.get(rid)
        return [tuple(t) for t in i["tags"]] if i else []

    action = "ec2:" + op
    if op == "RunInstances":
        specs = {}
        for ts in ec2mod.indexed_groups(p, "TagSpecification"):
            specs.setdefault(ts.get("ResourceType", ""), []).extend(
                (k, v) for k, v in ec2mod.parse_tags(ts))
        checks = []
        for kind in ("instance", "volume", "network-interface"):
            ctx = _request_tags_context(specs.get(kind, []))
            if kind == "instance":
                ctx["ec2:InstanceType"] = p.get("InstanceType", "m1.small")
            checks.append(Check(action, arn(kind, "*"), ctx))
        checks.append(Check(action, arn("image", p.get("ImageId", ""), "")))
        checks.append(Check(action, arn("subnet", p.get("SubnetId") or p.get(
            "NetworkInterface.1.SubnetId") or ec2.subnet_id(region))))
        sgs = ec2mod.indexed(p, "SecurityGroupId") or ec2mod.indexed(
            p, "NetworkInterface.1.SecurityGroupId")
        for sg in sgs or [ec2.sgs.default_group(region)["id"]]:
            checks.append(Check(action, arn("security-group", sg),
                                _resource_tags_context(instance_tags(sg))))
        if p.get("KeyName"):
            checks.append(Check(action, arn("key-pair", p["KeyName"])))
        for kind, tags in specs.items():
            ctx = _request_tags_context(tags)
            ctx["ec2:CreateAction"] = "RunInstances"
            checks.append(Check("ec2:CreateTags", arn(kind, "*"), ctx))
        return checks
    if op in ("CreateTags", "DeleteTags"):
        tags = [(k, v) for k, v in ec2mod.parse_tags(p)]
        checks = []
        for rid in ec2mod.indexed(p, "ResourceId"):
            kind = next((t for pre, t in EC2_ID_TYPES.items() if rid.startswith(pre)),
                        "resource")
            ctx = _request_tags_context(tags)
            ctx.update(_resource_tags_context(instance_tags(rid)))
            checks.append(Check(action, arn(kind, rid), ctx))
        return checks
    if op == "CreateSecurityGroup":
        tags = [(k, v) for ts in ec2mod.indexed_groups(p, "TagSpecification")
                for k, v in ec2mod.parse_tags(ts)]
        checks = [Check(action, arn("security-group", "*"), _request_tags_context(tags)),
                  Check(action, arn("vpc", p.get("VpcId") or ec2.vpc_id(region)))]
        if tags:
            ctx = _request_tags_context(tags)
            ctx["ec2:CreateAction"] = op
            checks.append(Check("ec2:CreateTags", arn("security-group", "*"), ctx))
        return checks
    if op in ("DeleteSecurityGroup", "AuthorizeSecurityGroupIngress",
              "RevokeSecurityGroupIngress") and p.get("GroupId"):
        return [Check(action, arn("security-group", p["GroupId"]),
                      _resource_tags_context(instance_tags(p["GroupId"])))]
    ids = ec2mod.indexed(p, "InstanceId")
    if ids and not op.startswith("Describe"):
        return [Check(action, arn("instance", i), _resource_tags_context(instance_tags(i)))
                for i in ids]
    if op in ("CreateKeyPair", "ImportKeyPair", "DeleteKeyPair") and p.get("KeyName"):
        return [Check(action, arn("key-pair", p["KeyName"]))]
    return [Check(action, "*")]


S3_BUCKET_ACTIONS = {
    "CreateBucket": "s3:CreateBucket", "DeleteBucket": "s3:DeleteBucket",
    "HeadBucket": "s3:ListBucket", "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket", "GetBucketLocation": "s3:GetBucketLocation",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
}
S3_OBJECT_ACTIONS = {
    "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload", "DeleteObject": "s3:DeleteObject",
}


def s3_checks(op, bucket, key, query, headers, body):
    if op == "ListBuckets":
        return [Check("s3:ListAllMyBuckets", "*")]
    barn = "arn:aws:s3:::%s" % bucket
    if op in S3_BUCKET_ACTIONS:
        ctx = {}
        if op.startswith("ListObjects"):
            ctx["s3:prefix"] = query.get("prefix", [""])[0]
        return [Check(S3_BUCKET_ACTIONS[op], barn, ctx)]
    if op == "DeleteObjects":
        keys = []
        try:
            for e in ET.fromstring(body).iter():
                if e.tag.rpartition("}")[2] == "Key":
                    keys.append(e.text or "")
        except ET.ParseError:
            pass
        return [Check("s3:DeleteObject", "%s/%s" % (barn, k)) for k in keys] or \
            [Check("s3:DeleteObject", barn + "/*")]
    checks = [Check(S3_OBJECT_ACTIONS.get(op, "s3:" + op), "%s/%s" % (barn, key))]
    src = headers.get("x-amz-copy-source")
    if src and op in ("PutObject", "UploadPart"):
        import urllib.parse
        src = urllib.parse.unquote(src.partition("?")[0]).lstrip("/")
        checks.append(Check("s3:GetObject", "arn:aws:s3:::" + src))
    return checks


IAM_NAME_ARNS = (("RoleName", "role"), ("InstanceProfileName", "instance-profile"))


def iam_checks(op, p, iam):
    action = "iam:" + op
    if p.get("PolicyArn") and not p.get("RoleName"):
        return [Check(action, p["PolicyArn"])]
    if op == "CreatePolicy" and p.get("PolicyName"):
        return [Check(action, iam.arn("policy", p["PolicyName"], p.get("Path", "/")))]
    for field, kind in IAM_NAME_ARNS:
        if p.get(field):
            return [Check(action, iam.arn(kind, p[field], p.get("Path", "/")))]
    return [Check(action, "*")]


def pass_role_checks(p, iam):
    """RunInstances with an instance profile passes the profile's role to EC2."""
    prof = iam.profile_by_ref(p.get("IamInstanceProfile.Name"), p.get("IamInstanceProfile.Arn"))
    if prof is None:
        return []
    out = []
    for role in prof["Roles"]:
        r = iam.roles.get(role)
        if r:
            out.append(Check("iam:PassRole", r["Arn"],
                             {"iam:PassedToService": "ec2.amazonaws.com"}))
    return out


def denial_message(principal, check, why):
    return "User: %s is not authorized to perform: %s on resource: %s because %s" % (
        principal, check.action, check.resource, why)
