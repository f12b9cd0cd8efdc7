#include "fs/control/cloud_mem.h"
#include "fs/control/cloud_mem_iam.h"
#include "fs/control/cloud_mem_sg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/util.h"
#include "fs/store/bucket_mem.h"

#define MEM_MAX 256

struct mem_instance {
    char *id, *region, *state, *type, *token, *ip, *profile;
    char *groups; /* the security groups it launched with, ","-joined */
    time_t launched;
    struct aws_tag *tags; /* owned strings */
    size_t n_tags;
};

struct cloud_mem {
    struct mem_instance instances[MEM_MAX];
    size_t n_instances, runs;
    enum cloud_mem_run next_run;
    char next_code[96];
    time_t now;
    int hidden; /* describes still to show nothing */
    int down;   /* describes still to fail */
    int terminate_refusals; /* terminates still to refuse */
    bool slurm_up;
    char *slurm[MEM_MAX];
    size_t n_slurm;
    struct mem_iam *iam;
    struct mem_sg *sg;
};

struct mem_sg *cloud_mem_sg(struct cloud *cl)
{
    return ((struct cloud_mem *)cl->impl)->sg;
}

struct mem_iam *cloud_mem_iam(struct cloud *cl)
{
    return ((struct cloud_mem *)cl->impl)->iam;
}

static struct cloud_mem *mem(struct cloud *cl)
{
    return cl->impl;
}

static int mem_presign(struct cloud *cl, const char *method, const char *key, long seconds,
                       char **url, char *err, size_t errlen)
{
    (void)cl;
    (void)err;
    (void)errlen;
    return asprintf(url, "mem://%s/%s?expires=%ld", method, key, seconds) < 0 ? -ENOMEM : 0;
}

static const char *tag_of(const struct mem_instance *in, const char *key)
{
    for (size_t t = 0; t < in->n_tags; t++)
        if (strcmp(in->tags[t].key, key) == 0)
            return in->tags[t].value;
    return NULL;
}

static void set_tag(struct mem_instance *in, const char *key, const char *value)
{
    for (size_t t = 0; t < in->n_tags; t++)
        if (strcmp(in->tags[t].key, key) == 0) {
            free((char *)in->tags[t].value);
            in->tags[t].value = aws_xstrdup(value);
            return;
        }
    in->tags = aws_xrealloc(in->tags, (in->n_tags + 1) * sizeof(*in->tags));
    in->tags[in->n_tags++] = (struct aws_tag){aws_xstrdup(key), aws_xstrdup(value)};
}

/* An aws_ec2_instance of in, as aws/ would have parsed it. */
static void append(struct aws_ec2_instances *out, const struct mem_instance *in)
{
    out->v = aws_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
    struct aws_ec2_instance *i = &out->v[out->n++];
    memset(i, 0, sizeof(*i));
    char when[32];
    struct tm tm;
    gmtime_r(&in->launched, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    i->id = aws_xstrdup(in->id);
    i->state = aws_xstrdup(in->state);
    i->type = aws_xstrdup(in->type);
    i->private_ip = aws_xstrdup(in->ip);
    i->public_ip = aws_xstrdup("");
    i->launch_time = aws_xstrdup(when);
    i->client_token = aws_xstrdup(in->token);
    i->lifecycle = aws_xstrdup("");
    i->tags = aws_xcalloc(in->n_tags + 1, sizeof(*i->tags));
    for (size_t t = 0; t < in->n_tags; t++)
        i->tags[t] = (struct aws_tag){aws_xstrdup(in->tags[t].key), aws_xstrdup(in->tags[t].value)};
    i->n_tags = in->n_tags;
}

static bool matches(const struct mem_instance *in, const char *region,
                    const struct aws_ec2_describe_query *q)
{
    if (strcmp(in->region, region) != 0)
        return false;
    for (size_t f = 0; f < q->n_filters; f++) {
        const struct aws_filter *flt = &q->filters[f];
        const char *have = strcmp(flt->name, "client-token") == 0          ? in->token
                           : strcmp(flt->name, "instance-state-name") == 0 ? in->state
                           : strncmp(flt->name, "tag:", 4) == 0 ? tag_of(in, flt->name + 4)
                                                                 : NULL;
        bool any = false;
        for (size_t v = 0; have && v < flt->n_values && !any; v++)
            any = strcmp(have, flt->values[v]) == 0;
        if (!any)
            return false;
    }
    for (size_t k = 0; k < q->n_ids; k++)
        if (strcmp(in->id, q->instance_ids[k]) == 0)
            return true;
    return q->n_ids == 0;
}

static int mem_describe(struct cloud *cl, const char *region,
                        const struct aws_ec2_describe_query *q, struct aws_ec2_instances *out,
                        struct aws_error *e)
{
    struct cloud_mem *m = mem(cl);
    if (m->down > 0) {
        m->down--;
        return aws_error_set(e, -EIO, "ServiceUnavailable", "EC2 is away (test)");
    }
    if (m->hidden > 0) {
        m->hidden--;
        return 0;
    }
    for (size_t i = 0; i < m->n_instances; i++)
        if (matches(&m->instances[i], region, q))
            append(out, &m->instances[i]);
    return 0;
}

static int mem_run(struct cloud *cl, const char *region, const struct aws_ec2_run_params *p,
                   struct aws_ec2_instances *out, struct aws_error *e)
{
    struct cloud_mem *m = mem(cl);
    enum cloud_mem_run what = m->next_run;
    m->next_run = CLOUD_MEM_RUN_OK;
    if (what == CLOUD_MEM_RUN_LOST)
        return aws_error_set(e, -ETIMEDOUT, "", "timed out (the request was lost)");
    if (what == CLOUD_MEM_RUN_REFUSED) {
        aws_error_set(e, -EINVAL, m->next_code, "refused");
        e->http_status = 400;
        return -EINVAL;
    }
    for (size_t i = 0; i < m->n_instances; i++)
        if (strcmp(m->instances[i].token, p->client_token) == 0) {
            aws_error_set(e, -EEXIST, "IdempotentParameterMismatch", "token used");
            e->http_status = 400;
            return -EEXIST;
        }
    if (mem_iam_check_profile(m->iam, p->iam_instance_profile, e) != 0)
        return e->err;
    if (mem_sg_check_launch(cl, p->security_group_ids, p->n_security_groups, e) != 0)
        return e->err;
    if (m->n_instances == MEM_MAX)
        return aws_error_set(e, -ENOSPC, "InstanceLimitExceeded", "full");
    struct mem_instance *in = &m->instances[m->n_instances++];
    memset(in, 0, sizeof(*in));
    char id[32], ip[32];
    snprintf(id, sizeof(id), "i-%08zx", m->n_instances);
    snprintf(ip, sizeof(ip), "10.0.0.%zu", m->n_instances);
    in->id = aws_xstrdup(id);
    in->region = aws_xstrdup(region);
    in->state = aws_xstrdup("pending");
    in->type = aws_xstrdup(p->instance_type);
    in->token = aws_xstrdup(p->client_token);
    in->ip = aws_xstrdup(ip);
    in->profile = aws_xstrdup(p->iam_instance_profile ? p->iam_instance_profile : "");
    in->launched = m->now;
    struct aws_buf groups = {0};
    for (size_t g = 0; g < p->n_security_groups; g++) {
        if (g)
            aws_buf_puts(&groups, ",");
        aws_buf_puts(&groups, p->security_group_ids[g]);
    }
    in->groups = aws_xstrdup(groups.data ? groups.data : "");
    aws_buf_free(&groups);
    for (size_t t = 0; t < p->n_tags; t++)
        set_tag(in, p->tags[t].key, p->tags[t].value);
    m->runs++;
    if (what == CLOUD_MEM_RUN_ANSWER_LOST)
        return aws_error_set(e, -ETIMEDOUT, "", "timed out (the answer was lost)");
    append(out, in);
    return 0;
}

static struct mem_instance *instance(struct cloud_mem *m, const char *id)
{
    for (size_t i = 0; i < m->n_instances; i++)
        if (strcmp(m->instances[i].id, id) == 0)
            return &m->instances[i];
    return NULL;
}

static int mem_terminate(struct cloud *cl, const char *region, const char *const *ids, size_t n,
                         struct aws_ec2_instances *out, struct aws_error *e)
{
    (void)region;
    struct cloud_mem *m = mem(cl);
    if (m->terminate_refusals > 0) {
        m->terminate_refusals--;
        aws_error_set(e, -EACCES, "UnauthorizedOperation", "not allowed (test)");
        e->http_status = 403;
        return -EACCES;
    }
    for (size_t k = 0; k < n; k++) {
        struct mem_instance *in = instance(m, ids[k]);
        if (!in)
            return aws_error_set(e, -ENOENT, "InvalidInstanceID.NotFound", "%s", ids[k]);
        if (strcmp(in->state, "terminated") != 0) {
            free(in->state);
            in->state = aws_xstrdup("shutting-down");
        }
        append(out, in);
    }
    return 0;
}

static int mem_tags(struct cloud *cl, const char *region, const char *const *ids, size_t n,
                    const struct aws_tag *tags, size_t n_tags, struct aws_error *e)
{
    (void)region;
    for (size_t k = 0; k < n; k++) {
        struct mem_instance *in = instance(mem(cl), ids[k]);
        if (!in)
            return aws_error_set(e, -ENOENT, "InvalidInstanceID.NotFound", "%s", ids[k]);
        for (size_t t = 0; t < n_tags; t++)
            set_tag(in, tags[t].key, tags[t].value);
    }
    return 0;
}

static int mem_types(struct cloud *cl, const char *region, const char *const *names, size_t n,
                     struct aws_ec2_instance_types *out, struct aws_error *e)
{
    (void)cl;
    (void)region;
    (void)e;
    out->v = aws_xcalloc(n + 1, sizeof(*out->v));
    for (size_t k = 0; k < n; k++)
        out->v[k] = (struct aws_ec2_instance_type){aws_xstrdup(names[k]), 2, 4096};
    out->n = n;
    return 0;
}

static int mem_check(struct cloud *cl, const char *region, const struct cluster_config *cfg,
                     struct cloudcheck_result *out, char *err, size_t errlen)
{
    (void)cl;
    (void)region;
    (void)cfg;
    (void)err;
    (void)errlen;
    snprintf(out->image_id, sizeof(out->image_id), "ami-0123456789abcdef0");
    return 0;
}

static bool mem_slurm_nodes(struct cloud *cl, const struct slurm_access *a,
                            struct slurmrest_node_list **out, char *why, size_t whylen)
{
    struct cloud_mem *m = mem(cl);
    *out = NULL;
    if (!m->slurm_up) {
        snprintf(why, whylen, "slurmrestd at http://%s:6820 does not answer", a->head_address);
        return false;
    }
    struct slurmrest_node_list *l = aws_xcalloc(1, sizeof(*l));
    l->nodes = aws_xcalloc(m->n_slurm + 1, sizeof(*l->nodes));
    for (size_t i = 0; i < m->n_slurm; i++) {
        struct slurmrest_node *n = &l->nodes[l->count++];
        n->name = aws_xstrdup(m->slurm[i]);
        snprintf(n->state, sizeof(n->state), "idle");
        snprintf(n->base, sizeof(n->base), "IDLE");
    }
    *out = l;
    return true;
}

static void mem_slurm_release(struct cloud *cl, struct slurmrest_node_list *l)
{
    (void)cl;
    for (size_t i = 0; l && i < l->count; i++)
        free(l->nodes[i].name);
    if (l)
        free(l->nodes);
    free(l);
}

static const struct cloud_ops mem_ops = {
    .presign = mem_presign,
    .run_instances = mem_run,
    .describe_instances = mem_describe,
    .terminate_instances = mem_terminate,
    .create_tags = mem_tags,
    .instance_types = mem_types,
    .check_config = mem_check,
    .slurm_nodes = mem_slurm_nodes,
    .slurm_release = mem_slurm_release,
    .iam_get_role = mem_iam_get_role,
    .iam_create_role = mem_iam_create_role,
    .iam_delete_role = mem_iam_delete_role,
    .iam_put_role_policy = mem_iam_put_role_policy,
    .iam_delete_role_policy = mem_iam_delete_role_policy,
    .iam_list_role_policies = mem_iam_list_role_policies,
    .iam_attach_role_policy = mem_iam_attach,
    .iam_detach_role_policy = mem_iam_detach,
    .iam_list_attached_role_policies = mem_iam_list_attached,
    .iam_get_instance_profile = mem_iam_get_profile,
    .iam_create_instance_profile = mem_iam_create_profile,
    .iam_add_role_to_instance_profile = mem_iam_add_role,
    .iam_remove_role_from_instance_profile = mem_iam_remove_role,
    .iam_delete_instance_profile = mem_iam_delete_profile,
    .sg_describe = mem_sg_describe,
    .sg_create = mem_sg_create,
    .sg_delete = mem_sg_delete,
    .sg_ingress = mem_sg_ingress,
};

int cloud_mem_init(struct cloud *cl, const char *bucket)
{
    memset(cl, 0, sizeof(*cl));
    struct cloud_mem *m = calloc(1, sizeof(struct cloud_mem));
    if (!m || !(m->iam = mem_iam_new()) || !(m->sg = mem_sg_new())) {
        if (m)
            mem_iam_free(m->iam);
        free(m);
        return -ENOMEM;
    }
    if (bucket_mem_open(&cl->objects) != 0) {
        mem_iam_free(m->iam);
        mem_sg_free(m->sg);
        free(m);
        return -ENOMEM;
    }
    cl->impl = m;
    cl->ops = &mem_ops;
    cl->bucket = bucket;
    cl->account = "123456789012";
    cl->bucket_region = "us-east-1";
    return 0;
}

void cloud_mem_destroy(struct cloud *cl)
{
    struct cloud_mem *m = mem(cl);
    bucket_close(&cl->objects);
    for (size_t i = 0; i < m->n_instances; i++) {
        struct mem_instance *in = &m->instances[i];
        free(in->id);
        free(in->region);
        free(in->state);
        free(in->type);
        free(in->token);
        free(in->ip);
        free(in->profile);
        free(in->groups);
        for (size_t t = 0; t < in->n_tags; t++) {
            free((char *)in->tags[t].key);
            free((char *)in->tags[t].value);
        }
        free(in->tags);
    }
    for (size_t i = 0; i < m->n_slurm; i++)
        free(m->slurm[i]);
    mem_iam_free(m->iam);
    mem_sg_free(m->sg);
    free(m);
    cl->impl = NULL;
}

void cloud_mem_next_run(struct cloud *cl, enum cloud_mem_run what, const char *code)
{
    mem(cl)->next_run = what;
    snprintf(mem(cl)->next_code, sizeof(mem(cl)->next_code), "%s", code ? code : "");
}

void cloud_mem_set_now(struct cloud *cl, time_t now)
{
    mem(cl)->now = now;
}

void cloud_mem_hide(struct cloud *cl, int n)
{
    mem(cl)->hidden = n;
}

void cloud_mem_ec2_down(struct cloud *cl, int n)
{
    mem(cl)->down = n;
}

void cloud_mem_terminate_fails(struct cloud *cl, int n)
{
    mem(cl)->terminate_refusals = n;
}

void cloud_mem_settle(struct cloud *cl)
{
    struct cloud_mem *m = mem(cl);
    for (size_t i = 0; i < m->n_instances; i++) {
        struct mem_instance *in = &m->instances[i];
        const char *next = strcmp(in->state, "pending") == 0         ? "running"
                           : strcmp(in->state, "shutting-down") == 0 ? "terminated"
                                                                     : NULL;
        if (next) {
            free(in->state);
            in->state = aws_xstrdup(next);
        }
    }
}

size_t cloud_mem_live(struct cloud *cl, const char *node, const char **id)
{
    struct cloud_mem *m = mem(cl);
    size_t n = 0;
    for (size_t i = 0; i < m->n_instances; i++) {
        const struct mem_instance *in = &m->instances[i];
        const char *tagged = tag_of(in, "pclusterfs:node");
        if (tagged && strcmp(tagged, node) == 0 &&
            (strcmp(in->state, "pending") == 0 || strcmp(in->state, "running") == 0)) {
            n++;
            if (id)
                *id = in->id;
        }
    }
    return n;
}

size_t cloud_mem_runs(struct cloud *cl)
{
    return mem(cl)->runs;
}

const char *cloud_mem_tag(struct cloud *cl, const char *id, const char *key)
{
    const struct mem_instance *in = instance(mem(cl), id);
    return in ? tag_of(in, key) : NULL;
}

const char *cloud_mem_object(struct cloud *cl, const char *key, size_t *len)
{
    return bucket_mem_object(&cl->objects, key, len);
}

size_t cloud_mem_keys(struct cloud *cl, const char *prefix, const char **keys, size_t max)
{
    return bucket_mem_keys(&cl->objects, prefix, keys, max);
}

void cloud_mem_etag(struct cloud *cl, const char *key, char *etag, size_t len)
{
    bucket_mem_etag(&cl->objects, key, etag, len);
}

void cloud_mem_slurm_up(struct cloud *cl, bool up)
{
    mem(cl)->slurm_up = up;
}

void cloud_mem_slurm_add(struct cloud *cl, const char *node)
{
    struct cloud_mem *m = mem(cl);
    if (!cloud_mem_slurm_has(cl, node) && m->n_slurm < MEM_MAX)
        m->slurm[m->n_slurm++] = aws_xstrdup(node);
}

bool cloud_mem_slurm_has(struct cloud *cl, const char *node)
{
    struct cloud_mem *m = mem(cl);
    for (size_t i = 0; i < m->n_slurm; i++)
        if (strcmp(m->slurm[i], node) == 0)
            return true;
    return false;
}

const char *cloud_mem_profile_of(struct cloud *cl, const char *id)
{
    struct mem_instance *in = instance(mem(cl), id);
    return in && in->profile ? in->profile : "";
}

bool cloud_mem_sg_in_use(struct cloud *cl, const char *id)
{
    struct cloud_mem *m = mem(cl);
    size_t n = strlen(id);
    for (size_t i = 0; i < m->n_instances; i++) {
        const struct mem_instance *in = &m->instances[i];
        if (strcmp(in->state, "terminated") == 0)
            continue;
        for (const char *p = in->groups; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] != 0))
            if (strncmp(p, id, n) == 0 && (p[n] == ',' || p[n] == '\0'))
                return true;
    }
    return false;
}

const char *cloud_mem_groups_of(struct cloud *cl, const char *id)
{
    struct mem_instance *in = instance(mem(cl), id);
    return in ? in->groups : NULL;
}
