#include "aws/iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/form.h"
#include "aws/http.h"
#include "aws/util.h"
#include "aws/xml.h"

#define IAM_VERSION "2010-05-08"

/* ------------------------------------------------------------ parsing */

static char *dup_text(const struct aws_xml *n, const char *path)
{
    return aws_xstrdup(aws_xml_text(n, path));
}

/* A policy document as IAM sends it: URL-encoded JSON. */
static char *dup_document(const struct aws_xml *n, const char *path)
{
    const char *t = aws_xml_text(n, path);
    return aws_uri_decode(t, strlen(t));
}

/* <action>Response/<action>Result of a document, or NULL (root freed). */
static struct aws_xml *parse_result(const char *xml, size_t len, const char *action,
                                    struct aws_xml **root)
{
    char name[96];
    *root = aws_xml_parse(xml, len);
    snprintf(name, sizeof name, "%sResponse", action);
    if (!*root || strcmp((*root)->name, name) != 0) {
        aws_xml_free(*root);
        *root = NULL;
        return NULL;
    }
    snprintf(name, sizeof name, "%sResult", action);
    struct aws_xml *res = aws_xml_child(*root, name);
    if (!res) {
        aws_xml_free(*root);
        *root = NULL;
    }
    return res;
}

static void take_marker(const struct aws_xml *res, char **marker)
{
    if (!marker)
        return;
    *marker = NULL;
    if (strcmp(aws_xml_text(res, "IsTruncated"), "true") == 0 && *aws_xml_text(res, "Marker"))
        *marker = dup_text(res, "Marker");
}

static void parse_tags(const struct aws_xml *tags, struct aws_tag **out, size_t *n)
{
    for (struct aws_xml *m = aws_xml_child(tags, "member"); m; m = aws_xml_next_named(m)) {
        *out = aws_xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[*n].key = dup_text(m, "Key");
        (*out)[*n].value = dup_text(m, "Value");
        (*n)++;
    }
}

static int fill_role(const struct aws_xml *x, struct aws_iam_role *out)
{
    memset(out, 0, sizeof *out);
    out->name = dup_text(x, "RoleName");
    out->id = dup_text(x, "RoleId");
    out->arn = dup_text(x, "Arn");
    out->path = dup_text(x, "Path");
    out->create_date = dup_text(x, "CreateDate");
    out->trust_policy = dup_document(x, "AssumeRolePolicyDocument");
    out->description = dup_text(x, "Description");
    parse_tags(aws_xml_child(x, "Tags"), &out->tags, &out->n_tags);
    return out->name[0] && out->arn[0] ? 0 : -EPROTO;
}

int aws_iam_parse_role(const char *xml, size_t len, const char *action,
                       struct aws_iam_role *out)
{
    memset(out, 0, sizeof *out);
    struct aws_xml *root;
    struct aws_xml *res = parse_result(xml, len, action, &root);
    struct aws_xml *role = res ? aws_xml_child(res, "Role") : NULL;
    int rc = role ? fill_role(role, out) : -EPROTO;
    aws_xml_free(root);
    if (rc)
        aws_iam_role_free(out);
    return rc;
}

static void add_profile(const struct aws_xml *x, struct aws_iam_instance_profiles *out)
{
    out->v = aws_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
    struct aws_iam_instance_profile *p = &out->v[out->n++];
    memset(p, 0, sizeof *p);
    p->name = dup_text(x, "InstanceProfileName");
    p->id = dup_text(x, "InstanceProfileId");
    p->arn = dup_text(x, "Arn");
    p->path = dup_text(x, "Path");
    struct aws_xml *roles = aws_xml_child(x, "Roles");
    for (struct aws_xml *m = aws_xml_child(roles, "member"); m; m = aws_xml_next_named(m)) {
        p->roles = aws_xrealloc(p->roles, (p->n_roles + 1) * sizeof *p->roles);
        p->roles[p->n_roles++] = dup_text(m, "RoleName");
    }
}

int aws_iam_parse_instance_profiles(const char *xml, size_t len, const char *action,
                                    struct aws_iam_instance_profiles *out, char **marker)
{
    if (marker)
        *marker = NULL;
    struct aws_xml *root;
    struct aws_xml *res = parse_result(xml, len, action, &root);
    if (!res)
        return -EPROTO;
    struct aws_xml *one = aws_xml_child(res, "InstanceProfile");
    struct aws_xml *list = aws_xml_child(res, "InstanceProfiles");
    int rc = 0;
    if (one) {
        add_profile(one, out);
    } else if (list) {
        for (struct aws_xml *m = aws_xml_child(list, "member"); m; m = aws_xml_next_named(m))
            add_profile(m, out);
        take_marker(res, marker);
    } else {
        rc = -EPROTO;
    }
    aws_xml_free(root);
    return rc;
}

int aws_iam_parse_names(const char *xml, size_t len, const char *action, const char *list,
                        struct aws_iam_names *out, char **marker)
{
    if (marker)
        *marker = NULL;
    struct aws_xml *root;
    struct aws_xml *res = parse_result(xml, len, action, &root);
    struct aws_xml *l = res ? aws_xml_child(res, list) : NULL;
    if (!l) {
        aws_xml_free(root);
        return -EPROTO;
    }
    bool arns = strcmp(list, "AttachedPolicies") == 0;
    for (struct aws_xml *m = aws_xml_child(l, "member"); m; m = aws_xml_next_named(m)) {
        out->v = aws_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = arns ? dup_text(m, "PolicyArn") : aws_xstrdup(m->text ? m->text : "");
    }
    take_marker(res, marker);
    aws_xml_free(root);
    return 0;
}

/* ------------------------------------------------------------ freeing */

void aws_iam_role_free(struct aws_iam_role *r)
{
    if (!r)
        return;
    free(r->name); free(r->id); free(r->arn); free(r->path); free(r->create_date);
    free(r->trust_policy); free(r->description);
    for (size_t i = 0; i < r->n_tags; i++) {
        free((char *)r->tags[i].key);
        free((char *)r->tags[i].value);
    }
    free(r->tags);
    memset(r, 0, sizeof *r);
}

void aws_iam_instance_profiles_free(struct aws_iam_instance_profiles *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        struct aws_iam_instance_profile *p = &l->v[i];
        free(p->name); free(p->id); free(p->arn); free(p->path);
        for (size_t j = 0; j < p->n_roles; j++)
            free(p->roles[j]);
        free(p->roles);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

void aws_iam_names_free(struct aws_iam_names *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------ calls */

static int iam_call(struct aws_client *c, struct aws_form *f, struct aws_response *resp,
                    struct aws_error *err)
{
    struct aws_endpoint ep;
    const char *region = aws_client_region(c);
    bool china = strncmp(region, "cn-", 3) == 0;
    int rc = aws_endpoint_resolve("iam", region[0] ? region : "us-east-1", NULL, &ep, err);
    if (rc == 0) {
        struct aws_request req = {
            .service = "iam", .region = china ? "cn-north-1" : "us-east-1",
            .endpoint = &ep, .method = "POST", .path = "/",
            .body = f->b.data, .body_len = f->b.len,
            .content_type = "application/x-www-form-urlencoded; charset=utf-8",
        };
        rc = aws_client_send(c, &req, resp, err);
        /* IAM answers both with HTTP 409; they mean other things than EEXIST */
        if (rc && err && strcmp(err->code, "DeleteConflict") == 0)
            rc = err->err = -ENOTEMPTY;     /* something still uses it */
        else if (rc && err && strcmp(err->code, "LimitExceeded") == 0)
            rc = err->err = -ENOSPC;
    }
    aws_buf_free(&f->b);
    return rc;
}

static int bad_answer(struct aws_error *err, const char *action, const struct aws_response *r)
{
    aws_error_set(err, -EPROTO, "InvalidResponse", "IAM %s answered with a document that is not "
                  "its response", action);
    snprintf(err->request_id, sizeof err->request_id, "%s", r->request_id);
    err->http_status = (int)r->status;
    return -EPROTO;
}

/* A call whose answer carries nothing but a request id. */
static int simple_call(struct aws_client *c, struct aws_form *f, struct aws_error *err)
{
    struct aws_response r;
    int rc = iam_call(c, f, &r, err);
    aws_response_free(&r);
    return rc;
}

static void form_tags(struct aws_form *f, const struct aws_tag *tags, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        aws_form_addf(f, tags[i].key, "Tags.member.%zu.Key", i + 1);
        aws_form_addf(f, tags[i].value, "Tags.member.%zu.Value", i + 1);
    }
}

static int role_call(struct aws_client *c, struct aws_form *f, const char *action,
                     struct aws_iam_role *out, struct aws_error *err)
{
    struct aws_response r;
    struct aws_iam_role scratch;
    int rc = iam_call(c, f, &r, err);
    if (rc == 0 && aws_iam_parse_role(r.body.data, r.body.len, action, out ? out : &scratch))
        rc = bad_answer(err, action, &r);
    else if (rc == 0 && !out)
        aws_iam_role_free(&scratch);
    aws_response_free(&r);
    return rc;
}

int aws_iam_create_role(struct aws_client *c, const char *name, const char *path,
                        const char *trust_policy, const char *description,
                        const struct aws_tag *tags, size_t n_tags, struct aws_iam_role *out,
                        struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, "CreateRole", IAM_VERSION);
    aws_form_add(&f, "RoleName", name);
    aws_form_add(&f, "Path", path ? path : "/");
    aws_form_add(&f, "AssumeRolePolicyDocument", trust_policy);
    if (description)
        aws_form_add(&f, "Description", description);
    form_tags(&f, tags, n_tags);
    return role_call(c, &f, "CreateRole", out, err);
}

int aws_iam_get_role(struct aws_client *c, const char *name, struct aws_iam_role *out,
                     struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, "GetRole", IAM_VERSION);
    aws_form_add(&f, "RoleName", name);
    return role_call(c, &f, "GetRole", out, err);
}

/* An action on one named entity, optionally with a second parameter. */
static int named_call(struct aws_client *c, const char *action, const char *k1, const char *v1,
                      const char *k2, const char *v2, struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, action, IAM_VERSION);
    aws_form_add(&f, k1, v1);
    if (k2)
        aws_form_add(&f, k2, v2);
    return simple_call(c, &f, err);
}

int aws_iam_delete_role(struct aws_client *c, const char *name, struct aws_error *err)
{
    return named_call(c, "DeleteRole", "RoleName", name, NULL, NULL, err);
}

int aws_iam_tag_role(struct aws_client *c, const char *name, const struct aws_tag *tags,
                     size_t n_tags, struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, "TagRole", IAM_VERSION);
    aws_form_add(&f, "RoleName", name);
    form_tags(&f, tags, n_tags);
    return simple_call(c, &f, err);
}

int aws_iam_put_role_policy(struct aws_client *c, const char *role, const char *policy_name,
                            const char *document, struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, "PutRolePolicy", IAM_VERSION);
    aws_form_add(&f, "RoleName", role);
    aws_form_add(&f, "PolicyName", policy_name);
    aws_form_add(&f, "PolicyDocument", document);
    return simple_call(c, &f, err);
}

int aws_iam_delete_role_policy(struct aws_client *c, const char *role, const char *policy_name,
                               struct aws_error *err)
{
    return named_call(c, "DeleteRolePolicy", "RoleName", role, "PolicyName", policy_name, err);
}

int aws_iam_attach_role_policy(struct aws_client *c, const char *role, const char *policy_arn,
                               struct aws_error *err)
{
    return named_call(c, "AttachRolePolicy", "RoleName", role, "PolicyArn", policy_arn, err);
}

int aws_iam_detach_role_policy(struct aws_client *c, const char *role, const char *policy_arn,
                               struct aws_error *err)
{
    return named_call(c, "DetachRolePolicy", "RoleName", role, "PolicyArn", policy_arn, err);
}

/* Pages of a list call on a role: parse(page, &marker) appends each page. */
typedef int page_parser(const struct aws_response *r, const char *action, void *out,
                        char **marker, const char *list);

static int paged_call(struct aws_client *c, const char *action, const char *role,
                      page_parser *parse, const char *list, void *out, struct aws_error *err)
{
    char *marker = NULL;
    int rc;
    do {
        struct aws_form f;
        aws_form_start(&f, action, IAM_VERSION);
        aws_form_add(&f, "RoleName", role);
        if (marker)
            aws_form_add(&f, "Marker", marker);
        free(marker);
        marker = NULL;
        struct aws_response r;
        rc = iam_call(c, &f, &r, err);
        if (rc == 0 && parse(&r, action, out, &marker, list))
            rc = bad_answer(err, action, &r);
        aws_response_free(&r);
    } while (rc == 0 && marker);
    free(marker);
    return rc;
}

static int names_page(const struct aws_response *r, const char *action, void *out,
                      char **marker, const char *list)
{
    return aws_iam_parse_names(r->body.data, r->body.len, action, list, out, marker);
}

static int profiles_page(const struct aws_response *r, const char *action, void *out,
                         char **marker, const char *list)
{
    (void)list;
    return aws_iam_parse_instance_profiles(r->body.data, r->body.len, action, out, marker);
}

int aws_iam_list_role_policies(struct aws_client *c, const char *role,
                               struct aws_iam_names *out, struct aws_error *err)
{
    return paged_call(c, "ListRolePolicies", role, names_page, "PolicyNames", out, err);
}

int aws_iam_list_attached_role_policies(struct aws_client *c, const char *role,
                                        struct aws_iam_names *out, struct aws_error *err)
{
    return paged_call(c, "ListAttachedRolePolicies", role, names_page, "AttachedPolicies",
                      out, err);
}

int aws_iam_list_instance_profiles_for_role(struct aws_client *c, const char *role,
                                            struct aws_iam_instance_profiles *out,
                                            struct aws_error *err)
{
    return paged_call(c, "ListInstanceProfilesForRole", role, profiles_page, NULL, out, err);
}

static int profile_call(struct aws_client *c, struct aws_form *f, const char *action,
                        struct aws_iam_instance_profiles *out, struct aws_error *err)
{
    struct aws_response r;
    struct aws_iam_instance_profiles scratch = {0};
    struct aws_iam_instance_profiles *dst = out ? out : &scratch;
    int rc = iam_call(c, f, &r, err);
    if (rc == 0 && aws_iam_parse_instance_profiles(r.body.data, r.body.len, action, dst, NULL))
        rc = bad_answer(err, action, &r);
    aws_iam_instance_profiles_free(&scratch);
    aws_response_free(&r);
    return rc;
}

int aws_iam_create_instance_profile(struct aws_client *c, const char *name, const char *path,
                                    const struct aws_tag *tags, size_t n_tags,
                                    struct aws_iam_instance_profiles *out,
                                    struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, "CreateInstanceProfile", IAM_VERSION);
    aws_form_add(&f, "InstanceProfileName", name);
    aws_form_add(&f, "Path", path ? path : "/");
    form_tags(&f, tags, n_tags);
    return profile_call(c, &f, "CreateInstanceProfile", out, err);
}

int aws_iam_get_instance_profile(struct aws_client *c, const char *name,
                                 struct aws_iam_instance_profiles *out, struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, "GetInstanceProfile", IAM_VERSION);
    aws_form_add(&f, "InstanceProfileName", name);
    return profile_call(c, &f, "GetInstanceProfile", out, err);
}

int aws_iam_add_role_to_instance_profile(struct aws_client *c, const char *profile,
                                         const char *role, struct aws_error *err)
{
    return named_call(c, "AddRoleToInstanceProfile", "InstanceProfileName", profile,
                      "RoleName", role, err);
}

int aws_iam_remove_role_from_instance_profile(struct aws_client *c, const char *profile,
                                              const char *role, struct aws_error *err)
{
    return named_call(c, "RemoveRoleFromInstanceProfile", "InstanceProfileName", profile,
                      "RoleName", role, err);
}

int aws_iam_delete_instance_profile(struct aws_client *c, const char *name,
                                    struct aws_error *err)
{
    return named_call(c, "DeleteInstanceProfile", "InstanceProfileName", name, NULL, NULL,
                      err);
}
