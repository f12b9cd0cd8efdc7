#include "fs/control/cloud_mem_sg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/util.h"
#include "fs/control/cloud_mem.h"

#define SG_MAX 32
#define SG_RULES_MAX 16

struct mem_group {
    char id[32], region[64], vpc[64], name[256], desc[256];
    struct aws_tag tags[8]; /* owned strings */
    size_t n_tags;
    struct aws_ec2_sg_rule rules[SG_RULES_MAX]; /* owned strings */
    size_t n_rules;
};

struct mem_sg {
    struct mem_group groups[SG_MAX];
    size_t n, made;
};

struct mem_sg *mem_sg_new(void)
{
    return calloc(1, sizeof(struct mem_sg));
}

static void group_clear(struct mem_group *g)
{
    for (size_t i = 0; i < g->n_tags; i++) {
        free((char *)g->tags[i].key);
        free((char *)g->tags[i].value);
    }
    for (size_t i = 0; i < g->n_rules; i++) {
        free((char *)g->rules[i].proto);
        free((char *)g->rules[i].cidr);
        free((char *)g->rules[i].group_id);
    }
    memset(g, 0, sizeof(*g));
}

void mem_sg_free(struct mem_sg *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        group_clear(&m->groups[i]);
    free(m);
}

static struct mem_group *find(struct mem_sg *m, const char *region, const char *id)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->groups[i].id, id) == 0 && strcmp(m->groups[i].region, region) == 0)
            return &m->groups[i];
    return NULL;
}

static int not_found(struct aws_error *e, const char *id)
{
    aws_error_set(e, -ENOENT, "InvalidGroup.NotFound",
                  "The security group '%s' does not exist", id);
    e->http_status = 400;
    return -ENOENT;
}

static int refuse(struct aws_error *e, const char *code, const char *msg)
{
    aws_error_set(e, -EINVAL, code, "%s", msg);
    e->http_status = 400;
    return -EINVAL;
}

static const char *tag_of(const struct mem_group *g, const char *key)
{
    for (size_t i = 0; i < g->n_tags; i++)
        if (strcmp(g->tags[i].key, key) == 0)
            return g->tags[i].value;
    return NULL;
}

static bool matches(const struct mem_group *g, const struct aws_filter *f)
{
    const char *have = NULL;
    if (strcmp(f->name, "group-id") == 0)
        have = g->id;
    else if (strcmp(f->name, "group-name") == 0)
        have = g->name;
    else if (strcmp(f->name, "vpc-id") == 0)
        have = g->vpc;
    else if (strncmp(f->name, "tag:", 4) == 0)
        have = tag_of(g, f->name + 4);
    for (size_t i = 0; have && i < f->n_values; i++)
        if (strcmp(f->values[i], have) == 0)
            return true;
    return false;
}

static void append(struct aws_ec2_security_groups *out, const struct mem_group *g)
{
    out->v = aws_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
    struct aws_ec2_security_group *o = &out->v[out->n++];
    memset(o, 0, sizeof(*o));
    o->id = aws_xstrdup(g->id);
    o->name = aws_xstrdup(g->name);
    o->description = aws_xstrdup(g->desc);
    o->vpc_id = aws_xstrdup(g->vpc);
    o->tags = aws_xcalloc(g->n_tags + 1, sizeof(*o->tags));
    for (size_t i = 0; i < g->n_tags; i++)
        o->tags[o->n_tags++] =
            (struct aws_tag){aws_xstrdup(g->tags[i].key), aws_xstrdup(g->tags[i].value)};
    o->ingress = aws_xcalloc(g->n_rules + 1, sizeof(*o->ingress));
    for (size_t i = 0; i < g->n_rules; i++) {
        const struct aws_ec2_sg_rule *r = &g->rules[i];
        o->ingress[o->n_ingress++] =
            (struct aws_ec2_sg_rule){aws_xstrdup(r->proto), r->from_port, r->to_port,
                                     aws_xstrdup(r->cidr), aws_xstrdup(r->group_id)};
    }
}

int mem_sg_describe(struct cloud *cl, const char *region, const char *const *ids, size_t n_ids,
                    const struct aws_filter *filters, size_t n_filters,
                    struct aws_ec2_security_groups *out, struct aws_error *e)
{
    struct mem_sg *m = cloud_mem_sg(cl);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n_ids; i++)
        if (!find(m, region, ids[i]))
            return not_found(e, ids[i]);
    for (size_t i = 0; i < m->n; i++) {
        const struct mem_group *g = &m->groups[i];
        bool ok = strcmp(g->region, region) == 0;
        if (ok && n_ids) {
            bool listed = false;
            for (size_t k = 0; k < n_ids; k++)
                listed = listed || strcmp(ids[k], g->id) == 0;
            ok = listed;
        }
        for (size_t f = 0; ok && f < n_filters; f++)
            ok = matches(g, &filters[f]);
        if (ok)
            append(out, g);
    }
    return 0;
}

int mem_sg_create(struct cloud *cl, const char *region, const char *name, const char *desc,
                  const char *vpc_id, const struct aws_tag *tags, size_t n_tags, char *id,
                  struct aws_error *e)
{
    struct mem_sg *m = cloud_mem_sg(cl);
    const char *vpc = vpc_id && *vpc_id ? vpc_id : "vpc-default";
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->groups[i].name, name) == 0 && strcmp(m->groups[i].vpc, vpc) == 0 &&
            strcmp(m->groups[i].region, region) == 0)
            return refuse(e, "InvalidGroup.Duplicate", "The security group already exists");
    if (m->n == SG_MAX || n_tags > 8)
        return refuse(e, "SecurityGroupLimitExceeded", "too many groups (test)");
    struct mem_group *g = &m->groups[m->n++];
    memset(g, 0, sizeof(*g));
    snprintf(g->id, sizeof(g->id), "sg-%017zx", ++m->made);
    snprintf(g->region, sizeof(g->region), "%s", region);
    snprintf(g->vpc, sizeof(g->vpc), "%s", vpc);
    snprintf(g->name, sizeof(g->name), "%s", name);
    snprintf(g->desc, sizeof(g->desc), "%s", desc);
    for (size_t i = 0; i < n_tags; i++)
        g->tags[g->n_tags++] = (struct aws_tag){aws_xstrdup(tags[i].key),
                                                aws_xstrdup(tags[i].value ? tags[i].value : "")};
    snprintf(id, 32, "%s", g->id);
    return 0;
}

int mem_sg_delete(struct cloud *cl, const char *region, const char *id, struct aws_error *e)
{
    struct mem_sg *m = cloud_mem_sg(cl);
    struct mem_group *g = find(m, region, id);
    if (!g)
        return not_found(e, id);
    if (cloud_mem_sg_in_use(cl, id))
        return refuse(e, "DependencyViolation", "resource has a dependent object");
    for (size_t i = 0; i < m->n; i++)
        for (size_t r = 0; &m->groups[i] != g && r < m->groups[i].n_rules; r++)
            if (strcmp(m->groups[i].rules[r].group_id, id) == 0)
                return refuse(e, "DependencyViolation", "resource has a dependent object");
    group_clear(g);
    *g = m->groups[--m->n];
    memset(&m->groups[m->n], 0, sizeof(m->groups[m->n]));
    return 0;
}

static bool same_rule(const struct aws_ec2_sg_rule *a, const struct aws_ec2_sg_rule *b)
{
    return strcmp(a->proto, b->proto) == 0 && a->from_port == b->from_port &&
           a->to_port == b->to_port && strcmp(a->cidr ? a->cidr : "", b->cidr ? b->cidr : "") == 0 &&
           strcmp(a->group_id ? a->group_id : "", b->group_id ? b->group_id : "") == 0;
}

int mem_sg_ingress(struct cloud *cl, const char *region, const char *id, bool authorize,
                   const struct aws_ec2_sg_rule *rules, size_t n, struct aws_error *e)
{
    struct mem_sg *m = cloud_mem_sg(cl);
    struct mem_group *g = find(m, region, id);
    if (!g)
        return not_found(e, id);
    for (size_t k = 0; k < n; k++) {
        size_t at = g->n_rules;
        for (size_t r = 0; r < g->n_rules; r++)
            if (same_rule(&g->rules[r], &rules[k]))
                at = r;
        if (authorize && at < g->n_rules)
            return refuse(e, "InvalidPermission.Duplicate", "the specified rule already exists");
        if (!authorize && at == g->n_rules)
            return refuse(e, "InvalidPermission.NotFound", "The specified rule does not exist");
        if (authorize && rules[k].group_id && *rules[k].group_id &&
            !find(m, region, rules[k].group_id))
            return not_found(e, rules[k].group_id);
        if (authorize) {
            if (g->n_rules == SG_RULES_MAX)
                return refuse(e, "RulesPerSecurityGroupLimitExceeded", "full (test)");
            const struct aws_ec2_sg_rule *s = &rules[k];
            g->rules[g->n_rules++] = (struct aws_ec2_sg_rule){
                aws_xstrdup(s->proto), s->from_port, s->to_port,
                aws_xstrdup(s->cidr ? s->cidr : ""), aws_xstrdup(s->group_id ? s->group_id : "")};
        } else {
            struct aws_ec2_sg_rule *r = &g->rules[at];
            free((char *)r->proto);
            free((char *)r->cidr);
            free((char *)r->group_id);
            *r = g->rules[--g->n_rules];
        }
    }
    return 0;
}

int mem_sg_check_launch(struct cloud *cl, const char *const *ids, size_t n, struct aws_error *e)
{
    struct mem_sg *m = cloud_mem_sg(cl);
    for (size_t k = 0; k < n; k++) {
        bool there = false;
        for (size_t i = 0; i < m->n; i++)
            there = there || strcmp(m->groups[i].id, ids[k]) == 0;
        if (!there)
            return not_found(e, ids[k]);
    }
    return 0;
}
