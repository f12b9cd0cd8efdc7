"""The IAM Query API (Version 2010-05-08) as far as clusters use it: roles
(with tags, inline and attached policies), customer managed policies (and
AWS managed ARNs for attaching), instance profiles; plus the temporary
credentials the IMDS hands each instance for its profile's role.

State lives in <dir>/iam/state.json (rewritten atomically after each
change), so a restart loses nothing. Answers and errors have AWS's shapes
(policy documents URL-encoded, as botocore expects to decode them)."""
import json
import os
import re
import secrets
import threading
import time
import urllib.parse

from . import common
from .xmlout import el, fill, root, to_bytes

XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
NAME_RE = re.compile(r"^[\w+=,.@-]+$")
PATH_RE = re.compile(r"^/([\x21-\x7e]*/)?$")
MAX_NAME = {"roleName": 64, "instanceProfileName": 128, "policyName": 128}
SESSION_TTL = 3600          # the IMDS's role credentials live 1 h ...
SESSION_REFRESH = 15 * 60   # ... and are replaced when less than 15 min remain

# The AWS managed policies the local cloud knows the content of; any other
# arn:aws:iam::aws:policy/... may be attached but grants nothing here.
AWS_MANAGED = {
    "AdministratorAccess": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    "AmazonS3ReadOnlyAccess": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
                                "Resource": "*"}],
    "AmazonEC2ReadOnlyAccess": [{"Effect": "Allow", "Action": "ec2:Describe*",
                                 "Resource": "*"}],
    "AmazonSSMManagedInstanceCore": [{"Effect": "Allow", "Action": [
        "ssm:*", "ssmmessages:*", "ec2messages:*"], "Resource": "*"}],
    "CloudWatchAgentServerPolicy": [{"Effect": "Allow", "Action": [
        "cloudwatch:PutMetricData", "logs:*", "ec2:DescribeTags"], "Resource": "*"}],
}
AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"


class IAMError(Exception):
    STATUS = {"NoSuchEntity": 404, "EntityAlreadyExists": 409, "DeleteConflict": 409,
              "LimitExceeded": 409, "MalformedPolicyDocument": 400, "ValidationError": 400,
              "InvalidInput": 400, "InvalidAction": 400, "AccessDenied": 403}

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message
        self.status = self.STATUS.get(code, 400)


def error_xml(code, message, rid, status=400, xmlns=XMLNS):
    r = root("ErrorResponse", xmlns)
    e = el(r, "Error")
    el(e, "Type", "Sender" if status < 500 else "Receiver")
    el(e, "Code", code)
    el(e, "Message", message)
    el(r, "RequestId", rid)
    return to_bytes(r)


def check_document(text, trust=False):
    """The parsed policy document, or MalformedPolicyDocument as IAM says it."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError):
        raise IAMError("MalformedPolicyDocument", "This policy contains invalid Json")
    if not isinstance(doc, dict):
        raise IAMError("MalformedPolicyDocument", "This policy contains invalid Json")
    if doc.get("Version") not in (None, "2012-10-17", "2008-10-17"):
        raise IAMError("MalformedPolicyDocument", "The policy failed legacy parsing")
    stmts = doc.get("Statement")
    if isinstance(stmts, dict):
        stmts = [stmts]
    if not isinstance(stmts, list) or not stmts:
        raise IAMError("MalformedPolicyDocument", "Syntax errors in policy.")
    for s in stmts:
        if not isinstance(s, dict) or s.get("Effect") not in ("Allow", "Deny"):
            raise IAMError("MalformedPolicyDocument", "Syntax errors in policy.")
        if ("Action" in s) == ("NotAction" in s):
            raise IAMError("MalformedPolicyDocument", "Policy statement must contain actions.")
        if trust:
            if "Principal" not in s and "NotPrincipal" not in s:
                raise IAMError("MalformedPolicyDocument", "Missing required field Principal")
        else:
            if "Principal" in s or "NotPrincipal" in s:
                raise IAMError("MalformedPolicyDocument", "Policy document should not "
                               "specify a principal.")
            if ("Resource" in s) == ("NotResource" in s):
                raise IAMError("MalformedPolicyDocument", "Policy statement must contain "
                               "resources.")
        cond = s.get("Condition", {})
        if not isinstance(cond, dict) or not all(isinstance(v, dict) for v in cond.values()):
            raise IAMError("MalformedPolicyDocument", "Syntax errors in policy.")
    return doc


def statements(doc):
    s = doc.get("Statement", [])
    return [s] if isinstance(s, dict) else list(s)


def _encode(doc_text):
    return urllib.parse.quote(doc_text, safe="")


def _uid(prefix):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(17))


def _tags(params, prefix="Tags.member"):
    out = []
    n = 1
    while "%s.%d.Key" % (prefix, n) in params:
        out.append({"Key": params["%s.%d.Key" % (prefix, n)],
                    "Value": params.get("%s.%d.Value" % (prefix, n), "")})
        n += 1
    return out


def _members(params, prefix):
    out = []
    n = 1
    while "%s.member.%d" % (prefix, n) in params:
        out.append(params["%s.member.%d" % (prefix, n)])
        n += 1
    return out


class IAM:
    def __init__(self, d, creds):
        self.path = os.path.join(d, "iam", "state.json")
        self.creds = creds
        self.lock = threading.RLock()
        s = common.read_json(self.path, {})
        self.roles = s.get("roles", {})
        self.policies = s.get("policies", {})
        self.profiles = s.get("profiles", {})
        self.sessions = s.get("sessions", {})      # access key -> session

    def _save(self):
        common.write_json(self.path, {"roles": self.roles, "policies": self.policies,
                                      "profiles": self.profiles, "sessions": self.sessions})
        os.chmod(self.path, 0o600)

    def arn(self, kind, name, path="/"):
        return "arn:aws:iam::%s:%s%s%s" % (self.creds.account_id, kind, path, name)

    # ---------- dispatch ----------
    def handle(self, action, params, rid):
        fn = getattr(self, "op_" + action, None)
        if fn is None:
            raise IAMError("InvalidAction", "Could not find operation %s for version "
                           "2010-05-08" % action)
        r = root(action + "Response", XMLNS)
        with self.lock:
            result = fn(params)
            if result is not None:
                r.append(result)
                result.tag = action + "Result"
            if not action.startswith(("Get", "List")):
                self._save()
        el(el(r, "ResponseMetadata"), "RequestId", rid)
        return to_bytes(r)

    # ---------- validation ----------
    @staticmethod
    def _name(params, key, field):
        v = params.get(key)
        if not v:
            raise IAMError("ValidationError", "1 validation error detected: Value null at "
                           "'%s' failed to satisfy constraint: Member must not be null" % field)
        if len(v) > MAX_NAME.get(field, 128):
            raise IAMError("ValidationError", "1 validation error detected: Value '%s' at "
                           "'%s' failed to satisfy constraint: Member must have length less "
                           "than or equal to %d" % (v, field, MAX_NAME.get(field, 128)))
        if not NAME_RE.match(v):
            raise IAMError("ValidationError", "1 validation error detected: Value '%s' at "
                           "'%s' failed to satisfy constraint: Member must satisfy regular "
                           "expression pattern: [\\w+=,.@-]+" % (v, field))
        return v

    @staticmethod
    def _path(params):
        p = params.get("Path", "/")
        if not PATH_RE.match(p) or len(p) > 512:
            raise IAMError("ValidationError", "The specified value for path is invalid. It "
                           "must begin and end with / and contain only alphanumeric "
                           "characters and/or / characters.")
        return p

    def _role(self, name):
        r = self.roles.get(name)
        if r is None:
            raise IAMError("NoSuchEntity", "The role with name %s cannot be found." % name)
        return r

    def _profile(self, name):
        p = self.profiles.get(name)
        if p is None:
            raise IAMError("NoSuchEntity", "Instance Profile %s cannot be found." % name)
        return p

    def _policy(self, arn):
        if arn.startswith(AWS_POLICY_PREFIX):
            name = arn[len(AWS_POLICY_PREFIX):].rpartition("/")[2]
            if name in AWS_MANAGED:
                return {"PolicyName": name, "PolicyId": "ANPA" + common.stable_id(
                    "", name, n=17).upper(), "Arn": arn, "Path": "/", "CreateDate": 0,
                    "UpdateDate": 0, "Document": json.dumps({"Version": "2012-10-17",
                                                             "Statement": AWS_MANAGED[name]}),
                    "Tags": [], "aws": True}
        p = self.policies.get(arn)
        if p is None:
            raise IAMError("NoSuchEntity", "Policy %s does not exist or is not attachable."
                           % arn)
        return p

    def attachments(self, arn):
        return sum(arn in r["attached"] for r in self.roles.values())

    # ---------- XML shapes ----------
    def _role_xml(self, parent, r, tag="Role", tags=True):
        e = el(parent, tag)
        fill(e, [("Path", r["Path"]), ("RoleName", r["RoleName"]), ("RoleId", r["RoleId"]),
                 ("Arn", r["Arn"]), ("CreateDate", common.iso8601(r["CreateDate"])),
                 ("AssumeRolePolicyDocument", _encode(r["AssumeRolePolicyDocument"])),
                 ("Description", r.get("Description") or None),
                 ("MaxSessionDuration", str(r["MaxSessionDuration"]))])
        if tags and r["Tags"]:
            self._tags_xml(e, r["Tags"])
        return e

    @staticmethod
    def _tags_xml(parent, tags):
        t = el(parent, "Tags")
        for tag in tags:
            fill(el(t, "member"), [("Key", tag["Key"]), ("Value", tag["Value"])])

    def _profile_xml(self, parent, p, tag="InstanceProfile"):
        e = el(parent, tag)
        fill(e, [("Path", p["Path"]), ("InstanceProfileName", p["InstanceProfileName"]),
                 ("InstanceProfileId", p["InstanceProfileId"]), ("Arn", p["Arn"]),
                 ("CreateDate", common.iso8601(p["CreateDate"]))])
        rs = el(e, "Roles")
        for name in p["Roles"]:
            if name in self.roles:
                self._role_xml(rs, self.roles[name], "member", tags=False)
        if p["Tags"]:
            self._tags_xml(e, p["Tags"])
        return e

    def _policy_xml(self, parent, p, tag="Policy"):
        e = el(parent, tag)
        fill(e, [("PolicyName", p["PolicyName"]), ("PolicyId", p["PolicyId"]),
                 ("Arn", p["Arn"]), ("Path", p["Path"]), ("DefaultVersionId", "v1"),
                 ("AttachmentCount", str(self.attachments(p["Arn"]))),
                 ("PermissionsBoundaryUsageCount", "0"), ("IsAttachable", "true"),
                 ("Description", p.get("Description") or None),
                 ("CreateDate", common.iso8601(p["CreateDate"])),
                 ("UpdateDate", common.iso8601(p["UpdateDate"]))])
        if p["Tags"]:
            self._tags_xml(e, p["Tags"])
        return e

    @staticmethod
    def _page(params, items):
        """(page, next marker or None) after Marker/MaxItems."""
        try:
            start = int(params.get("Marker") or 0)
            size = int(params.get("MaxItems") or 100)
        except ValueError:
            raise IAMError("ValidationError", "Invalid Marker or MaxItems")
        if not 1 <= size <= 1000:
            raise IAMError("ValidationError", "1 validation error detected: Value '%d' at "
                           "'maxItems' failed to satisfy constraint: Member must have value "
                           "between 1 and 1000" % size)
        page = items[start:start + size]
        return page, (str(start + size) if start + size < len(items) else None)

    def _list_result(self, params, items, tag, add):
        res = root("Result")
        page, marker = self._page(params, items)
        box = el(res, tag)
        for it in page:
            add(box, it)
        el(res, "IsTruncated", marker is not None)
        if marker:
            el(res, "Marker", marker)
        return res

    # ---------- roles ----------
    def op_CreateRole(self, p):
        name = self._name(p, "RoleName", "roleName")
        path = self._path(p)
        trust = p.get("AssumeRolePolicyDocument")
        if trust is None:
            raise IAMError("ValidationError", "1 validation error detected: Value null at "
                           "'assumeRolePolicyDocument' failed to satisfy constraint: Member "
                           "must not be null")
        check_document(trust, trust=True)
        if any(n.lower() == name.lower() for n in self.roles):
            raise IAMError("EntityAlreadyExists", "Role with name %s already exists." % name)
        tags = _tags(p)
        if len(tags) > 50:
            raise IAMError("LimitExceeded", "Cannot exceed quota for TagsPerRole: 50")
        now = time.time()
        self.roles[name] = {
            "RoleName": name, "RoleId": _uid("AROA"), "Path": path,
            "Arn": self.arn("role", name, path), "CreateDate": now,
            "AssumeRolePolicyDocument": trust, "Description": p.get("Description", ""),
            "MaxSessionDuration": int(p.get("MaxSessionDuration", 3600)), "Tags": tags,
            "inline": {}, "attached": []}
        res = root("Result")
        self._role_xml(res, self.roles[name])
        return res

    def op_GetRole(self, p):
        res = root("Result")
        self._role_xml(res, self._role(self._name(p, "RoleName", "roleName")))
        return res

    def op_ListRoles(self, p):
        prefix = p.get("PathPrefix", "/")
        items = [r for n, r in sorted(self.roles.items()) if r["Path"].startswith(prefix)]
        return self._list_result(p, items, "Roles",
                                 lambda box, r: self._role_xml(box, r, "member", tags=False))

    def op_DeleteRole(self, p):
        name = self._name(p, "RoleName", "roleName")
        r = self._role(name)
        if any(name in prof["Roles"] for prof in self.profiles.values()):
            raise IAMError("DeleteConflict", "Cannot delete entity, must remove roles from "
                           "instance profile first.")
        if r["attached"]:
            raise IAMError("DeleteConflict", "Cannot delete entity, must detach all policies "
                           "first.")
        if r["inline"]:
            raise IAMError("DeleteConflict", "Cannot delete entity, must delete policies "
                           "first.")
        del self.roles[name]
        self.sessions = {k: s for k, s in self.sessions.items() if s["role"] != name}

    def op_TagRole(self, p):
        r = self._role(self._name(p, "RoleName", "roleName"))
        new = _tags(p)
        keep = [t for t in r["Tags"] if t["Key"] not in {n["Key"] for n in new}]
        if len(keep) + len(new) > 50:
            raise IAMError("LimitExceeded", "Cannot exceed quota for TagsPerRole: 50")
        r["Tags"] = keep + new

    def op_UntagRole(self, p):
        r = self._role(self._name(p, "RoleName", "roleName"))
        gone = set(_members(p, "TagKeys"))
        r["Tags"] = [t for t in r["Tags"] if t["Key"] not in gone]

    def op_ListRoleTags(self, p):
        r = self._role(self._name(p, "RoleName", "roleName"))
        return self._list_result(p, r["Tags"], "Tags", lambda box, t: fill(
            el(box, "member"), [("Key", t["Key"]), ("Value", t["Value"])]))

    # ---------- inline policies ----------
    def op_PutRolePolicy(self, p):
        r = self._role(self._name(p, "RoleName", "roleName"))
        pname = self._name(p, "PolicyName", "policyName")
        doc = p.get("PolicyDocument")
        if doc is None:
            raise IAMError("ValidationError", "1 validation error detected: Value null at "
                           "'policyDocument' failed to satisfy constraint: Member must not "
                           "be null")
        check_document(doc)
        r["inline"][pname] = doc

    def op_GetRolePolicy(self, p):
        r = self._role(self._name(p, "RoleName", "roleName"))
        pname = self._name(p, "PolicyName", "policyName")
        if pname not in r["inline"]:
            raise IAMError("NoSuchEntity", "The role policy with name %s cannot be found."
                           % pname)
        return fill(root("Result"), [("RoleName", r["RoleName"]), ("PolicyName", pname),
                                     ("PolicyDocument", _encode(r["inline"][pname]))])

    def op_DeleteRolePolicy(self, p):
        r = self._role(self._name(p, "RoleName", "roleName"))
        pname = self._name(p, "PolicyName", "policyName")
        if r["inline"].pop(pname, None) is None:
            raise IAMError("NoSuchEntity", "The role policy with name %s cannot be found."
                           % pname)

    def op_ListRolePolicies(self, p):
        r = self._role(self._name(p, "RoleName", "roleName"))
        return self._list_result(p, sorted(r["inline"]), "PolicyNames",
                                 lambda box, n: el(box, "member", n))

    # ---------- managed policies ----------
    def op_CreatePolicy(self, p):
        name = self._name(p, "PolicyName", "policyName")
        path = self._path(p)
        doc = p.get("PolicyDocument")
        check_document(doc)
        arn = self.arn("policy", name, path)
        if any(x["PolicyName"] == name for x in self.policies.values()):
            raise IAMError("EntityAlreadyExists", "A policy called %s already exists. "
                           "Duplicate names are not allowed." % name)
        now = time.time()
        self.policies[arn] = {"PolicyName": name, "PolicyId": _uid("ANPA"), "Arn": arn,
                              "Path": path, "CreateDate": now, "UpdateDate": now,
                              "Document": doc, "Description": p.get("Description", ""),
                              "Tags": _tags(p)}
        res = root("Result")
        self._policy_xml(res, self.policies[arn])
        return res

    def op_GetPolicy(self, p):
        res = root("Result")
        self._policy_xml(res, self._policy(p.get("PolicyArn", "")))
        return res

    def op_GetPolicyVersion(self, p):
        pol = self._policy(p.get("PolicyArn", ""))
        if p.get("VersionId") != "v1":
            raise IAMError("NoSuchEntity", "Policy %s version %s does not exist or is not "
                           "attachable." % (pol["Arn"], p.get("VersionId")))
        res = root("Result")
        fill(el(res, "PolicyVersion"), [("Document", _encode(pol["Document"])),
                                        ("VersionId", "v1"), ("IsDefaultVersion", "true"),
                                        ("CreateDate", common.iso8601(pol["CreateDate"]))])
        return res

    def op_ListPolicies(self, p):
        items = [x for _, x in sorted(self.policies.items())
                 if x["Path"].startswith(p.get("PathPrefix", "/"))]
        if p.get("OnlyAttached") == "true":
            items = [x for x in items if self.attachments(x["Arn"])]
        return self._list_result(p, items, "Policies",
                                 lambda box, x: self._policy_xml(box, x, "member"))

    def op_DeletePolicy(self, p):
        arn = p.get("PolicyArn", "")
        pol = self._policy(arn)
        if pol.get("aws"):
            raise IAMError("AccessDenied", "AWS managed policies cannot be deleted.")
        if self.attachments(arn):
            raise IAMError("DeleteConflict", "Cannot delete a policy attached to entities.")
        del self.policies[arn]

    def op_AttachRolePolicy(self, p):
        r = self._role(self._name(p, "RoleName", "roleName"))
        arn = p.get("PolicyArn", "")
        if not arn.startswith("arn:aws:iam::"):
            raise IAMError("InvalidInput", "ARN %s is not valid." % arn)
        if not arn.startswith(AWS_POLICY_PREFIX):
            self._policy(arn)
        if arn not in r["attached"]:
            if len(r["attached"]) >= 10:
                raise IAMError("LimitExceeded", "Cannot exceed quota for "
                               "PoliciesPerRole: 10")
            r["attached"].append(arn)

    def op_DetachRolePolicy(self, p):
        r = self._role(self._name(p, "RoleName", "roleName"))
        arn = p.get("PolicyArn", "")
        if arn not in r["attached"]:
            raise IAMError("NoSuchEntity", "Policy %s was not found." % arn)
        r["attached"].remove(arn)

    def op_ListAttachedRolePolicies(self, p):
        r = self._role(self._name(p, "RoleName", "roleName"))
        return self._list_result(p, r["attached"], "AttachedPolicies", lambda box, a: fill(
            el(box, "member"), [("PolicyName", a.rpartition("/")[2]), ("PolicyArn", a)]))

    # ---------- instance profiles ----------
    def op_CreateInstanceProfile(self, p):
        name = self._name(p, "InstanceProfileName", "instanceProfileName")
        path = self._path(p)
        if any(n.lower() == name.lower() for n in self.profiles):
            raise IAMError("EntityAlreadyExists", "Instance Profile %s already exists." % name)
        self.profiles[name] = {"InstanceProfileName": name, "Path": path,
                               "InstanceProfileId": _uid("AIPA"),
                               "Arn": self.arn("instance-profile", name, path),
                               "CreateDate": time.time(), "Roles": [], "Tags": _tags(p)}
        res = root("Result")
        self._profile_xml(res, self.profiles[name])
        return res

    def op_GetInstanceProfile(self, p):
        res = root("Result")
        self._profile_xml(res, self._profile(
            self._name(p, "InstanceProfileName", "instanceProfileName")))
        return res

    def op_AddRoleToInstanceProfile(self, p):
        prof = self._profile(self._name(p, "InstanceProfileName", "instanceProfileName"))
        name = self._name(p, "RoleName", "roleName")
        self._role(name)
        if prof["Roles"]:
            raise IAMError("LimitExceeded", "Cannot exceed quota for "
                           "InstanceSessionsPerInstanceProfile: 1")
        prof["Roles"].append(name)

    def op_RemoveRoleFromInstanceProfile(self, p):
        prof = self._profile(self._name(p, "InstanceProfileName", "instanceProfileName"))
        name = self._name(p, "RoleName", "roleName")
        if name not in prof["Roles"]:
            raise IAMError("NoSuchEntity", "The role with name %s cannot be found." % name)
        prof["Roles"].remove(name)

    def op_DeleteInstanceProfile(self, p):
        name = self._name(p, "InstanceProfileName", "instanceProfileName")
        prof = self._profile(name)
        if prof["Roles"]:
            raise IAMError("DeleteConflict", "Cannot delete entity, must remove roles from "
                           "instance profile first.")
        del self.profiles[name]

    def op_ListInstanceProfiles(self, p):
        prefix = p.get("PathPrefix", "/")
        items = [x for _, x in sorted(self.profiles.items()) if x["Path"].startswith(prefix)]
        return self._list_result(p, items, "InstanceProfiles",
                                 lambda box, x: self._profile_xml(box, x, "member"))

    def op_ListInstanceProfilesForRole(self, p):
        name = self._name(p, "RoleName", "roleName")
        self._role(name)
        items = [x for _, x in sorted(self.profiles.items()) if name in x["Roles"]]
        return self._list_result(p, items, "InstanceProfiles",
                                 lambda box, x: self._profile_xml(box, x, "member"))

    # ---------- for EC2, the IMDS and the policy check ----------
    def profile_by_ref(self, name=None, arn=None):
        """The instance profile RunInstances names (Name or Arn), or None."""
        with self.lock:
            for prof in self.profiles.values():
                if (name and prof["InstanceProfileName"] == name) or (arn and prof["Arn"] == arn):
                    return dict(prof)
            return None

    def role_documents(self, role_name):
        """Parsed identity policies of a role (inline, then attached)."""
        with self.lock:
            r = self.roles.get(role_name)
            if r is None:
                return []
            docs = [json.loads(d) for d in r["inline"].values()]
            for arn in r["attached"]:
                try:
                    docs.append(json.loads(self._policy(arn)["Document"]))
                except IAMError:
                    pass     # an AWS managed policy the local cloud does not know
            return docs

    def session_for_instance(self, instance_id, role_name, now=None):
        """The instance's current credentials for its role: reused until less
        than SESSION_REFRESH remains, then replaced (the old ones stay valid
        until they expire, as with the real IMDS)."""
        now = time.time() if now is None else now
        with self.lock:
            if role_name not in self.roles:
                return None
            best = None
            for k, s in self.sessions.items():
                if s["instance"] == instance_id and s["role"] == role_name and \
                        s["expires"] - now > SESSION_REFRESH:
                    best = s
            if best is None:
                self.sessions = {k: s for k, s in self.sessions.items() if s["expires"] > now}
                key = "ASIA" + secrets.token_hex(8).upper()
                best = {"access_key": key, "secret": secrets.token_urlsafe(30)[:40],
                        "token": secrets.token_urlsafe(96), "role": role_name,
                        "instance": instance_id, "issued": now, "expires": now + SESSION_TTL}
                self.sessions[key] = best
                self._save()
            return dict(best)

    def session(self, access_key, now=None):
        """The live session of an access key, or None."""
        now = time.time() if now is None else now
        with self.lock:
            s = self.sessions.get(access_key)
            return dict(s) if s and s["expires"] > now and s["role"] in self.roles else None

    def instance_metadata(self, inst, now):
        """The iam/ part of an instance's metadata: its profile's role's
        credentials, minted for this instance (nothing without a role)."""
        prof = self.profile_by_ref(inst.get("iam_profile"))
        if not prof or not prof["Roles"]:
            return {}
        role = prof["Roles"][0]
        sess = self.session_for_instance(inst["id"], role, now)
        if sess is None:
            return {}
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sess["issued"]))
        base = "/latest/meta-data/iam/security-credentials/"
        return {
            base: role,
            base + role: json.dumps({
                "Code": "Success", "LastUpdated": stamp, "Type": "AWS-HMAC",
                "AccessKeyId": sess["access_key"], "SecretAccessKey": sess["secret"],
                "Token": sess["token"], "Expiration": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(sess["expires"]))}, indent=2),
            "/latest/meta-data/iam/info": json.dumps({
                "Code": "Success", "LastUpdated": stamp,
                "InstanceProfileArn": prof["Arn"],
                "InstanceProfileId": prof["InstanceProfileId"]}, indent=2),
        }
