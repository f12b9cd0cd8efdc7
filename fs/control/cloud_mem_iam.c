#include "fs/control/cloud_mem_iam.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/cloud_mem.h"

#define IAM_MAX 32
#define ROLE_POLICIES_MAX 10

struct mem_role {
    char *name;
    struct aws_tag tags[8]; /* owned strings */
    size_t n_tags;
    char *policy_names[ROLE_POLICIES_MAX], *policy_docs[ROLE_POLICIES_MAX];
    size_t n_policies;
    char *attached[ROLE_POLICIES_MAX];
    size_t n_attached;
};

struct mem_profile {
    char *name, *role; /* role NULL: empty */
};

struct mem_iam {
    struct mem_role roles[IAM_MAX];
    struct mem_profile profiles[IAM_MAX];
    size_t n_roles, n_profiles;
    int lag; /* RunInstances naming a profile still to miss it */
    unsigned long calls; /* IAM requests answered */
};

/* The state, for one IAM request. */
static struct mem_iam *op(struct cloud *cl)
{
    struct mem_iam *m = cloud_mem_iam(cl);
    m->calls++;
    return m;
}

struct mem_iam *mem_iam_new(void)
{
    return calloc(1, sizeof(struct mem_iam));
}

static void role_clear(struct mem_role *r)
{
    free(r->name);
    for (size_t i = 0; i < r->n_tags; i++) {
        free((char *)r->tags[i].key);
        free((char *)r->tags[i].value);
    }
    for (size_t i = 0; i < r->n_policies; i++) {
        free(r->policy_names[i]);
        free(r->policy_docs[i]);
    }
    for (size_t i = 0; i < r->n_attached; i++)
        free(r->attached[i]);
    memset(r, 0, sizeof(*r));
}

void mem_iam_free(struct mem_iam *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_roles; i++)
        role_clear(&m->roles[i]);
    for (size_t i = 0; i < m->n_profiles; i++) {
        free(m->profiles[i].name);
        free(m->profiles[i].role);
    }
    free(m);
}

static int no_entity(struct aws_error *e, const char *what, const char *name)
{
    aws_error_set(e, -ENOENT, "NoSuchEntity", "The %s with name %s cannot be found.", what, name);
    e->http_status = 404;
    return -ENOENT;
}

static int conflict(struct aws_error *e, int err, const char *code, const char *msg)
{
    aws_error_set(e, err, code, "%s", msg);
    e->http_status = 409;
    return err;
}

static struct mem_role *role_of(struct mem_iam *m, const char *name)
{
    for (size_t i = 0; i < m->n_roles; i++)
        if (strcmp(m->roles[i].name, name) == 0)
            return &m->roles[i];
    return NULL;
}

static struct mem_profile *profile_of(struct mem_iam *m, const char *name)
{
    for (size_t i = 0; i < m->n_profiles; i++)
        if (strcmp(m->profiles[i].name, name) == 0)
            return &m->profiles[i];
    return NULL;
}

static int names_add(struct aws_iam_names *out, const char *name)
{
    char **grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    out->v = grown;
    if (!(out->v[out->n] = strdup(name)))
        return -ENOMEM;
    out->n++;
    return 0;
}

int mem_iam_check_profile(struct mem_iam *m, const char *profile, struct aws_error *e)
{
    if (!profile || !*profile)
        return 0;
    if (m->lag > 0 || !profile_of(m, profile)) {
        if (m->lag > 0)
            m->lag--;
        aws_error_set(e, -EINVAL, "InvalidParameterValue",
                      "Value (%s) for parameter iamInstanceProfile.name is invalid. Invalid IAM "
                      "Instance Profile name", profile);
        e->http_status = 400;
        return -EINVAL;
    }
    return 0;
}

int mem_iam_get_role(struct cloud *cl, const char *name, struct aws_iam_role *out,
                     struct aws_error *e)
{
    struct mem_role *r = role_of(op(cl), name);
    if (!r)
        return no_entity(e, "role", name);
    memset(out, 0, sizeof(*out));
    char arn[160];
    snprintf(arn, sizeof(arn), "arn:aws:iam::%s:role/%s", cl->account, name);
    out->name = strdup(name);
    out->arn = strdup(arn);
    out->tags = calloc(r->n_tags ? r->n_tags : 1, sizeof(*out->tags));
    if (!out->name || !out->arn || !out->tags) {
        aws_iam_role_free(out);
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->n_tags; i++) {
        out->tags[i].key = strdup(r->tags[i].key);
        out->tags[i].value = strdup(r->tags[i].value);
        out->n_tags++;
    }
    return 0;
}

int mem_iam_create_role(struct cloud *cl, const char *name, const char *trust,
                        const struct aws_tag *tags, size_t n_tags, struct aws_error *e)
{
    struct mem_iam *m = op(cl);
    if (role_of(m, name))
        return conflict(e, -EEXIST, "EntityAlreadyExists", "role exists");
    if (strlen(name) > 64 || !trust || !strstr(trust, "sts:AssumeRole"))
        return conflict(e, -EINVAL, "ValidationError", "bad name or trust policy");
    if (m->n_roles == IAM_MAX || n_tags > 8)
        return conflict(e, -ENOSPC, "LimitExceeded", "too many");
    struct mem_role *r = &m->roles[m->n_roles++];
    r->name = strdup(name);
    for (size_t i = 0; i < n_tags; i++) {
        r->tags[i].key = strdup(tags[i].key);
        r->tags[i].value = strdup(tags[i].value);
    }
    r->n_tags = n_tags;
    return 0;
}

int mem_iam_delete_role(struct cloud *cl, const char *name, struct aws_error *e)
{
    struct mem_iam *m = op(cl);
    struct mem_role *r = role_of(m, name);
    if (!r)
        return no_entity(e, "role", name);
    bool in_profile = false;
    for (size_t i = 0; i < m->n_profiles; i++)
        in_profile = in_profile || (m->profiles[i].role && strcmp(m->profiles[i].role, name) == 0);
    if (r->n_policies || r->n_attached || in_profile)
        return conflict(e, -ENOTEMPTY, "DeleteConflict", "the role is still in use");
    role_clear(r);
    *r = m->roles[--m->n_roles];
    memset(&m->roles[m->n_roles], 0, sizeof(*r));
    return 0;
}

int mem_iam_put_role_policy(struct cloud *cl, const char *role, const char *name,
                            const char *doc, struct aws_error *e)
{
    struct mem_role *r = role_of(op(cl), role);
    if (!r)
        return no_entity(e, "role", role);
    for (size_t i = 0; i < r->n_policies; i++)
        if (strcmp(r->policy_names[i], name) == 0) {
            free(r->policy_docs[i]);
            r->policy_docs[i] = strdup(doc);
            return 0;
        }
    if (r->n_policies == ROLE_POLICIES_MAX)
        return conflict(e, -ENOSPC, "LimitExceeded", "too many policies");
    r->policy_names[r->n_policies] = strdup(name);
    r->policy_docs[r->n_policies++] = strdup(doc);
    return 0;
}

int mem_iam_delete_role_policy(struct cloud *cl, const char *role, const char *name,
                               struct aws_error *e)
{
    struct mem_role *r = role_of(op(cl), role);
    for (size_t i = 0; r && i < r->n_policies; i++)
        if (strcmp(r->policy_names[i], name) == 0) {
            free(r->policy_names[i]);
            free(r->policy_docs[i]);
            r->n_policies--;
            r->policy_names[i] = r->policy_names[r->n_policies];
            r->policy_docs[i] = r->policy_docs[r->n_policies];
            return 0;
        }
    return no_entity(e, "role policy", name);
}

int mem_iam_list_role_policies(struct cloud *cl, const char *role, struct aws_iam_names *out,
                               struct aws_error *e)
{
    struct mem_role *r = role_of(op(cl), role);
    if (!r)
        return no_entity(e, "role", role);
    for (size_t i = 0; i < r->n_policies; i++)
        if (names_add(out, r->policy_names[i]) != 0)
            return -ENOMEM;
    return 0;
}

int mem_iam_attach(struct cloud *cl, const char *role, const char *arn, struct aws_error *e)
{
    struct mem_role *r = role_of(op(cl), role);
    if (!r)
        return no_entity(e, "role", role);
    for (size_t i = 0; i < r->n_attached; i++)
        if (strcmp(r->attached[i], arn) == 0)
            return 0;
    if (r->n_attached == ROLE_POLICIES_MAX)
        return conflict(e, -ENOSPC, "LimitExceeded", "too many attached policies");
    r->attached[r->n_attached++] = strdup(arn);
    return 0;
}

int mem_iam_detach(struct cloud *cl, const char *role, const char *arn, struct aws_error *e)
{
    struct mem_role *r = role_of(op(cl), role);
    for (size_t i = 0; r && i < r->n_attached; i++)
        if (strcmp(r->attached[i], arn) == 0) {
            free(r->attached[i]);
            r->attached[i] = r->attached[--r->n_attached];
            return 0;
        }
    return no_entity(e, "policy", arn);
}

int mem_iam_list_attached(struct cloud *cl, const char *role, struct aws_iam_names *out,
                          struct aws_error *e)
{
    struct mem_role *r = role_of(op(cl), role);
    if (!r)
        return no_entity(e, "role", role);
    for (size_t i = 0; i < r->n_attached; i++)
        if (names_add(out, r->attached[i]) != 0)
            return -ENOMEM;
    return 0;
}

int mem_iam_get_profile(struct cloud *cl, const char *name, struct aws_iam_instance_profiles *out,
                        struct aws_error *e)
{
    struct mem_profile *p = profile_of(op(cl), name);
    if (!p)
        return no_entity(e, "instance profile", name);
    struct aws_iam_instance_profile *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    out->v = v;
    out->n = 1;
    v->name = strdup(name);
    v->roles = calloc(1, sizeof(*v->roles));
    if (!v->name || !v->roles)
        return -ENOMEM;
    if (p->role && (v->roles[0] = strdup(p->role)))
        v->n_roles = 1;
    return 0;
}

int mem_iam_create_profile(struct cloud *cl, const char *name, const struct aws_tag *tags,
                           size_t n_tags, struct aws_error *e)
{
    (void)tags;
    (void)n_tags;
    struct mem_iam *m = op(cl);
    if (profile_of(m, name))
        return conflict(e, -EEXIST, "EntityAlreadyExists", "profile exists");
    if (m->n_profiles == IAM_MAX)
        return conflict(e, -ENOSPC, "LimitExceeded", "too many");
    m->profiles[m->n_profiles++].name = strdup(name);
    return 0;
}

int mem_iam_add_role(struct cloud *cl, const char *profile, const char *role,
                     struct aws_error *e)
{
    struct mem_iam *m = op(cl);
    struct mem_profile *p = profile_of(m, profile);
    if (!p)
        return no_entity(e, "instance profile", profile);
    if (!role_of(m, role))
        return no_entity(e, "role", role);
    if (p->role)
        return conflict(e, -ENOSPC, "LimitExceeded", "one role per instance profile");
    p->role = strdup(role);
    return 0;
}

int mem_iam_remove_role(struct cloud *cl, const char *profile, const char *role,
                        struct aws_error *e)
{
    struct mem_profile *p = profile_of(op(cl), profile);
    if (!p || !p->role || strcmp(p->role, role) != 0)
        return no_entity(e, "role in the instance profile", role);
    free(p->role);
    p->role = NULL;
    return 0;
}

int mem_iam_delete_profile(struct cloud *cl, const char *name, struct aws_error *e)
{
    struct mem_iam *m = op(cl);
    struct mem_profile *p = profile_of(m, name);
    if (!p)
        return no_entity(e, "instance profile", name);
    if (p->role)
        return conflict(e, -ENOTEMPTY, "DeleteConflict", "the profile still holds a role");
    free(p->name);
    *p = m->profiles[--m->n_profiles];
    memset(&m->profiles[m->n_profiles], 0, sizeof(*p));
    return 0;
}

/* What tests look at and set (cloud_mem.h). */
size_t cloud_mem_iam_roles(struct cloud *cl)
{
    return cloud_mem_iam(cl)->n_roles;
}

size_t cloud_mem_iam_profiles(struct cloud *cl)
{
    return cloud_mem_iam(cl)->n_profiles;
}

const char *cloud_mem_iam_profile_role(struct cloud *cl, const char *profile)
{
    struct mem_profile *p = profile_of(cloud_mem_iam(cl), profile);
    return p && p->role ? p->role : NULL;
}

const char *cloud_mem_iam_policy(struct cloud *cl, const char *role, const char *policy)
{
    struct mem_role *r = role_of(cloud_mem_iam(cl), role);
    for (size_t i = 0; r && i < r->n_policies; i++)
        if (strcmp(r->policy_names[i], policy) == 0)
            return r->policy_docs[i];
    return NULL;
}

bool cloud_mem_iam_attached(struct cloud *cl, const char *role, const char *arn)
{
    struct mem_role *r = role_of(cloud_mem_iam(cl), role);
    for (size_t i = 0; r && i < r->n_attached; i++)
        if (strcmp(r->attached[i], arn) == 0)
            return true;
    return false;
}

void cloud_mem_iam_lag(struct cloud *cl, int runs)
{
    cloud_mem_iam(cl)->lag = runs;
}

unsigned long cloud_mem_iam_calls(struct cloud *cl)
{
    return cloud_mem_iam(cl)->calls;
}
