/* The IAM client against a scripted local server: request shapes (Query
 * form, global endpoint signed for us-east-1 service iam whatever the
 * client's region), answers parsed (URL-encoded documents decoded, tags,
 * instance profiles' roles), Marker pagination, and IAM's error codes
 * mapped to errno. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws.h"
#include "aws/endpoint.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_http.h"

static struct fake_http srv;
static struct aws_client *client;

#define NS "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\""
#define META "<ResponseMetadata><RequestId>rq-1</RequestId></ResponseMetadata>"
#define TRUST "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\"}]}"
#define TRUST_ENC "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect" \
    "%22%3A%22Allow%22%7D%5D%7D"

static const char role_xml[] =
    "<CreateRoleResponse " NS "><CreateRoleResult><Role><Path>/</Path>"
    "<RoleName>lab3-head</RoleName><RoleId>AROAEXAMPLE</RoleId>"
    "<Arn>arn:aws:iam::123456789012:role/lab3-head</Arn>"
    "<CreateDate>2026-12-01T00:00:00Z</CreateDate>"
    "<AssumeRolePolicyDocument>" TRUST_ENC "</AssumeRolePolicyDocument>"
    "<Tags><member><Key>pclusterfs:cluster</Key><Value>lab3</Value></member>"
    "<member><Key>owner</Key><Value>me</Value></member></Tags>"
    "</Role></CreateRoleResult>" META "</CreateRoleResponse>";

static const char no_such[] =
    "<ErrorResponse " NS "><Error><Type>Sender</Type><Code>NoSuchEntity</Code>"
    "<Message>The role with name x cannot be found.</Message></Error>"
    "<RequestId>rq-404</RequestId></ErrorResponse>";

static const char conflict[] =
    "<ErrorResponse " NS "><Error><Type>Sender</Type><Code>DeleteConflict</Code>"
    "<Message>Cannot delete entity, must remove roles from instance profile first.</Message>"
    "</Error><RequestId>rq-409</RequestId></ErrorResponse>";

static const char exists[] =
    "<ErrorResponse " NS "><Error><Type>Sender</Type><Code>EntityAlreadyExists</Code>"
    "<Message>Role with name x already exists.</Message></Error>"
    "<RequestId>rq-e</RequestId></ErrorResponse>";

static const char limit[] =
    "<ErrorResponse " NS "><Error><Type>Sender</Type><Code>LimitExceeded</Code>"
    "<Message>Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1</Message></Error>"
    "<RequestId>rq-l</RequestId></ErrorResponse>";

static void test_create_role_request_and_answer(void)
{
    struct fake_reply ok[] = {{200, role_xml, NULL}};
    fake_script(&srv, ok, 1);
    struct aws_tag tags[] = {{"pclusterfs:cluster", "lab3"}, {"owner", "me"}};
    struct aws_iam_role role;
    struct aws_error err;
    int rc = aws_iam_create_role(client, "lab3-head", NULL, TRUST, NULL, tags, 2, &role, &err);
    CHECK_INT(rc, 0);
    CHECK_INT(fake_seen(&srv), 1);
    const struct fake_request *r = &srv.seen[0];
    CHECK_STR(r->method, "POST");
    CHECK_STR(r->target, "/");
    CHECK_STR(r->body, "Action=CreateRole&Version=2010-05-08&RoleName=lab3-head&Path=%2F"
              "&AssumeRolePolicyDocument=" TRUST_ENC "&Tags.member.1.Key=pclusterfs%3Acluster"
              "&Tags.member.1.Value=lab3&Tags.member.2.Key=owner&Tags.member.2.Value=me");
    /* the client is set to ap-northeast-1; IAM is signed for us-east-1 */
    CHECK(strstr(r->headers, "/us-east-1/iam/aws4_request") != NULL);
    CHECK_STR(role.name, "lab3-head");
    CHECK_STR(role.arn, "arn:aws:iam::123456789012:role/lab3-head");
    CHECK_STR(role.trust_policy, TRUST);
    CHECK_STR(role.description, "");
    CHECK_INT(role.n_tags, 2);
    CHECK_STR(role.tags[1].key, "owner");
    CHECK_STR(role.tags[1].value, "me");
    aws_iam_role_free(&role);

    /* out may be NULL */
    fake_script(&srv, ok, 1);
    CHECK_INT(aws_iam_create_role(client, "lab3-head", "/pc/", TRUST, "d", NULL, 0, NULL, &err), 0);
    CHECK(strstr(srv.seen[0].body, "&Path=%2Fpc%2F&") != NULL);
    CHECK(strstr(srv.seen[0].body, "&Description=d") != NULL);
}

static void test_errors_map_to_errno(void)
{
    struct aws_error err;
    struct aws_iam_role role;
    struct fake_reply r404[] = {{404, no_such, NULL}};
    fake_script(&srv, r404, 1);
    CHECK_INT(aws_iam_get_role(client, "x", &role, &err), -ENOENT);
    CHECK_STR(err.code, "NoSuchEntity");
    CHECK_STR(err.request_id, "rq-404");
    CHECK(strstr(srv.seen[0].body, "Action=GetRole&") != NULL);

    struct fake_reply r409[] = {{409, conflict, NULL}};
    fake_script(&srv, r409, 1);
    CHECK_INT(aws_iam_delete_role(client, "x", &err), -ENOTEMPTY);
    CHECK_INT(err.err, -ENOTEMPTY);
    CHECK_STR(err.code, "DeleteConflict");
    CHECK_INT(fake_seen(&srv), 1);                 /* not retried */

    struct fake_reply rex[] = {{409, exists, NULL}};
    fake_script(&srv, rex, 1);
    CHECK_INT(aws_iam_create_instance_profile(client, "x", NULL, NULL, 0, NULL, &err), -EEXIST);

    struct fake_reply rlim[] = {{409, limit, NULL}};
    fake_script(&srv, rlim, 1);
    CHECK_INT(aws_iam_add_role_to_instance_profile(client, "p", "r", &err), -ENOSPC);
    CHECK_STR(srv.seen[0].body, "Action=AddRoleToInstanceProfile&Version=2010-05-08"
              "&InstanceProfileName=p&RoleName=r");

    /* a 200 that is not the action's answer */
    struct fake_reply wrong[] = {{200, role_xml, NULL}};
    fake_script(&srv, wrong, 1);
    CHECK_INT(aws_iam_get_role(client, "x", &role, &err), -EPROTO);
    CHECK_STR(err.code, "InvalidResponse");
}

static const char policies_page1[] =
    "<ListRolePoliciesResponse " NS "><ListRolePoliciesResult><PolicyNames>"
    "<member>head</member><member>s3-read</member></PolicyNames>"
    "<IsTruncated>true</IsTruncated><Marker>m-1</Marker></ListRolePoliciesResult>" META
    "</ListRolePoliciesResponse>";
static const char policies_page2[] =
    "<ListRolePoliciesResponse " NS "><ListRolePoliciesResult><PolicyNames>"
    "<member>z</member></PolicyNames><IsTruncated>false</IsTruncated>"
    "</ListRolePoliciesResult>" META "</ListRolePoliciesResponse>";
static const char attached[] =
    "<ListAttachedRolePoliciesResponse " NS "><ListAttachedRolePoliciesResult>"
    "<AttachedPolicies><member><PolicyName>AmazonSSMManagedInstanceCore</PolicyName>"
    "<PolicyArn>arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore</PolicyArn></member>"
    "</AttachedPolicies><IsTruncated>false</IsTruncated></ListAttachedRolePoliciesResult>" META
    "</ListAttachedRolePoliciesResponse>";

static void test_lists_follow_markers(void)
{
    struct aws_error err;
    struct aws_iam_names names = {0};
    struct fake_reply pages[] = {{200, policies_page1, NULL}, {200, policies_page2, NULL}};
    fake_script(&srv, pages, 2);
    CHECK_INT(aws_iam_list_role_policies(client, "lab3-head", &names, &err), 0);
    CHECK_INT(fake_seen(&srv), 2);
    CHECK_STR(srv.seen[1].body, "Action=ListRolePolicies&Version=2010-05-08&RoleName=lab3-head"
              "&Marker=m-1");
    CHECK_INT(names.n, 3);
    if (names.n == 3) {
        CHECK_STR(names.v[0], "head");
        CHECK_STR(names.v[2], "z");
    }
    aws_iam_names_free(&names);

    struct fake_reply one[] = {{200, attached, NULL}};
    fake_script(&srv, one, 1);
    CHECK_INT(aws_iam_list_attached_role_policies(client, "lab3-head", &names, &err), 0);
    CHECK_INT(names.n, 1);
    if (names.n == 1)
        CHECK_STR(names.v[0], "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
    aws_iam_names_free(&names);
}

static const char profile_xml[] =
    "<GetInstanceProfileResponse " NS "><GetInstanceProfileResult><InstanceProfile>"
    "<Path>/</Path><InstanceProfileName>lab3-head</InstanceProfileName>"
    "<InstanceProfileId>AIPAEXAMPLE</InstanceProfileId>"
    "<Arn>arn:aws:iam::123456789012:instance-profile/lab3-head</Arn>"
    "<Roles><member><RoleName>lab3-head-role</RoleName><Arn>x</Arn></member></Roles>"
    "</InstanceProfile></GetInstanceProfileResult>" META "</GetInstanceProfileResponse>";
static const char for_role_xml[] =
    "<ListInstanceProfilesForRoleResponse " NS "><ListInstanceProfilesForRoleResult>"
    "<InstanceProfiles><member><InstanceProfileName>a</InstanceProfileName><Roles/></member>"
    "<member><InstanceProfileName>b</InstanceProfileName></member></InstanceProfiles>"
    "<IsTruncated>false</IsTruncated></ListInstanceProfilesForRoleResult>" META
    "</ListInstanceProfilesForRoleResponse>";

static void test_instance_profiles(void)
{
    struct aws_error err;
    struct aws_iam_instance_profiles l = {0};
    struct fake_reply one[] = {{200, profile_xml, NULL}};
    fake_script(&srv, one, 1);
    CHECK_INT(aws_iam_get_instance_profile(client, "lab3-head", &l, &err), 0);
    CHECK_INT(l.n, 1);
    if (l.n == 1) {
        CHECK_STR(l.v[0].arn, "arn:aws:iam::123456789012:instance-profile/lab3-head");
        CHECK_INT(l.v[0].n_roles, 1);
        if (l.v[0].n_roles == 1)
            CHECK_STR(l.v[0].roles[0], "lab3-head-role");
    }
    aws_iam_instance_profiles_free(&l);

    struct fake_reply list[] = {{200, for_role_xml, NULL}};
    fake_script(&srv, list, 1);
    CHECK_INT(aws_iam_list_instance_profiles_for_role(client, "r", &l, &err), 0);
    CHECK_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_STR(l.v[1].name, "b");
        CHECK_INT(l.v[1].n_roles, 0);
    }
    aws_iam_instance_profiles_free(&l);

    char *marker = NULL;
    CHECK_INT(aws_iam_parse_instance_profiles(profile_xml, strlen(profile_xml),
                                              "CreateInstanceProfile", &l, &marker), -EPROTO);
    CHECK_INT(aws_iam_parse_instance_profiles("<x", 2, "GetInstanceProfile", &l, &marker),
              -EPROTO);
    CHECK_INT(l.n, 0);
    CHECK(marker == NULL);
}

static void test_global_endpoint(void)
{
    char *saved = getenv("AWS_ENDPOINT_URL") ? strdup(getenv("AWS_ENDPOINT_URL")) : NULL;
    unsetenv("AWS_ENDPOINT_URL");
    struct aws_endpoint ep;
    struct aws_error err;
    CHECK_INT(aws_endpoint_resolve("iam", "ap-northeast-1", NULL, &ep, &err), 0);
    CHECK_STR(ep.host, "iam.amazonaws.com");
    CHECK_STR(ep.scheme, "https");
    CHECK_INT(aws_endpoint_resolve("iam", "cn-north-1", NULL, &ep, &err), 0);
    CHECK_STR(ep.host, "iam.cn-north-1.amazonaws.com.cn");
    setenv("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:1", 1);
    CHECK_INT(aws_endpoint_resolve("iam", "eu-west-1", NULL, &ep, &err), 0);
    CHECK_STR(ep.host, "127.0.0.1:1");
    unsetenv("AWS_ENDPOINT_URL_IAM");
    if (saved)
        setenv("AWS_ENDPOINT_URL", saved, 1);
    free(saved);
}

int main(void)
{
    fake_start(&srv);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
    setenv("AWS_ENDPOINT_URL", url, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    struct aws_creds_provider *creds = aws_creds_provider_new(NULL);
    client = aws_client_new(creds, "ap-northeast-1");
    aws_client_set_backoff_scale(client, 0.001);
    aws_client_set_timeouts(client, 2000, 5000);

    RUN(test_create_role_request_and_answer);
    RUN(test_errors_map_to_errno);
    RUN(test_lists_follow_markers);
    RUN(test_instance_profiles);
    RUN(test_global_endpoint);
    aws_client_free(client);
    aws_creds_provider_free(creds);
    fake_stop(&srv);
    return check_finish();
}
