"""Who signed a request, and whether they may do what it asks: the test
user and the test role (the credentials `localcloud env` prints and the
host's IMDS serves) may do anything; an instance's session of an IAM role
is held to the role's policies (policy.py). Every signed call is audited."""
from . import policy


class Access:
    def __init__(self, creds, iam, ec2, audit):
        self.creds, self.iam, self.ec2, self.audit = creds, iam, ec2, audit

    def lookup_secret(self, key_id):
        """(secret, session token or None) of a key id, or None (for sigv4)."""
        found = self.creds.secret_for(key_id)
        if found is None:
            s = self.iam.session(key_id)
            found = (s["secret"], s["token"]) if s else None
        return found

    def identity(self, key_id):
        """Who signed with a key: the test user, the test role (both with full
        access), or an instance's session of an IAM role (policies apply)."""
        c = self.creds
        if key_id == c.access_key_id:
            return {"kind": "user", "arn": "arn:aws:iam::%s:user/localcloud" % c.account_id}
        if key_id == c.role_access_key_id:
            return {"kind": "test-role", "role": c.role_name, "arn":
                    "arn:aws:sts::%s:assumed-role/%s/localcloud" % (c.account_id, c.role_name)}
        s = self.iam.session(key_id)
        if s is None:
            return {"kind": "unknown", "arn": "?"}
        return {"kind": "role", "role": s["role"], "instance": s["instance"],
                "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (c.account_id, s["role"],
                                                               s["instance"])}

    def authorize(self, key_id, service, op, make_checks):
        """(allowed, message); role sessions are held to their role's policies.
        Every call is audited with its key, principal and decision."""
        who = self.identity(key_id)
        decision, denied = "allow", []
        if who["kind"] == "role":
            with self.ec2.lock, self.iam.lock:
                checks = make_checks()
                decision, denied = policy.evaluate_all(self.iam.role_documents(who["role"]),
                                                       checks)
        self.audit.record(access_key=key_id, principal=who["arn"], role=who.get("role"),
                          instance=who.get("instance"), service=service, action=op,
                          decision=decision, denied=[
                              {"action": c.action, "resource": c.resource, "reason": why}
                              for c, why in denied])
        if decision == "allow":
            return True, None
        c, why = denied[0]
        return False, policy.denial_message(who["arn"], c, why)
