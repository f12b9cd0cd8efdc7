/* Public entry points of the config parser: parse (reader, then validator),
 * free, the live-update rule, and the static node names. */
#include "fs/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config/config_doc.h"
#include "fs/config/config_reader.h"
#include "fs/config/config_validate.h"

void config_free(struct cluster_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_warnings; i++)
        free(cfg->warnings[i]);
    free(cfg->warnings);
    free(cfg);
}

static int warning_line(const char *w)
{
    return (int)strtol(w + strlen("config:"), NULL, 10);
}

/* Warnings in line order (insertion sort: they are few, and it is stable). */
static void sort_warnings(struct cluster_config *cfg)
{
    for (size_t i = 1; i < cfg->n_warnings; i++) {
        char *w = cfg->warnings[i];
        size_t j = i;
        while (j > 0 && warning_line(cfg->warnings[j - 1]) > warning_line(w)) {
            cfg->warnings[j] = cfg->warnings[j - 1];
            j--;
        }
        cfg->warnings[j] = w;
    }
}

int config_parse(const char *text, size_t len, const struct config_limits *limits,
                 struct cluster_config **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    struct config_doc doc;
    memset(&doc, 0, sizeof(doc));
    struct config_error e = { 0 };
    int rc;
    if (!text && len) {
        config_error_set(&e, 0, "no text");
        rc = -EINVAL;
    } else if (len > CONFIG_TEXT_MAX) {
        /* The mount refuses bigger writes (EFBIG); this is a backstop. */
        config_error_set(&e, 0, "the config is %zu bytes; a config may hold at most %d bytes", len,
                         CONFIG_TEXT_MAX);
        rc = -EINVAL;
    } else {
        rc = config_read_doc(text ? text : "", len, &doc);
        e = doc.error;
    }
    struct cluster_config *cfg = NULL;
    if (rc == 0) {
        cfg = calloc(1, sizeof(*cfg));
        if (!cfg)
            rc = -ENOMEM;
        else
            rc = config_validate(&doc, limits, cfg, &e);
    }
    config_doc_free(&doc);
    if (rc != 0) {
        config_free(cfg);
        if (rc == -ENOMEM && !e.set)
            config_error_set(&e, 0, "out of memory");
        config_error_format(&e, err, errlen);
        return rc;
    }
    sort_warnings(cfg);
    *out = cfg;
    return 0;
}

struct change_list {
    char *buf;
    size_t len, off;
    int n;
};

static void changed(struct change_list *l, const char *field, const char *from, const char *to)
{
    if (strcmp(from, to) == 0 || l->off >= l->len)
        return;
    int w = snprintf(l->buf + l->off, l->len - l->off, "%s%s ('%s' -> '%s')", l->n ? ", " : "",
                     field, *from ? from : "(unset)", *to ? to : "(unset)");
    if (w > 0)
        l->off += (size_t)w;
    l->n++;
}

int config_check_update(const struct cluster_config *old, const struct cluster_config *new,
                        char *err, size_t errlen)
{
    char list[768];
    struct change_list l = { .buf = list, .len = sizeof(list) };
    list[0] = '\0';
    changed(&l, "aws_region_name", old->region, new->region);
    changed(&l, "base_os", old->base_os, new->base_os);
    changed(&l, "key_name", old->key_name, new->key_name);
    changed(&l, "scheduler", old->scheduler, new->scheduler);
    changed(&l, "master_instance_type", old->master_instance_type, new->master_instance_type);
    changed(&l, "custom_ami", old->custom_ami, new->custom_ami);
    changed(&l, "vpc_id", old->vpc_id, new->vpc_id);
    changed(&l, "master_subnet_id", old->master_subnet_id, new->master_subnet_id);
    changed(&l, "compute_subnet_id", old->compute_subnet_id, new->compute_subnet_id);
    /* slurm.conf's idle time for the dynamic nodes is set at the head's
     * launch, and changing it needs slurmctld restarted */
    char old_idle[16], new_idle[16];
    snprintf(old_idle, sizeof(old_idle), "%d", old->scaledown_idletime);
    snprintf(new_idle, sizeof(new_idle), "%d", new->scaledown_idletime);
    changed(&l, "scaledown_idletime", old_idle, new_idle);
    if (l.n == 0) {
        if (err && errlen)
            err[0] = '\0';
        return 0;
    }
    if (err && errlen)
        snprintf(err, errlen,
                 "config: %s cannot change on a live cluster: %s; put %s back, or delete the "
                 "cluster and create it again",
                 l.n == 1 ? "this field" : "these fields", list, l.n == 1 ? "it" : "them");
    return -EINVAL;
}

int config_node_name(char *buf, size_t len, const char *queue, const char *kind,
                     const char *resource, int n)
{
    int w = snprintf(buf, len, "%s-%s-%s-%d", queue, kind, resource, n);
    return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

const struct config_compute_resource *config_node_resource(const struct cluster_config *cfg,
                                                           const char *node,
                                                           const struct config_queue **queue)
{
    static const char *const kinds[] = { "st", "dy" };
    for (size_t i = 0; i < cfg->n_queues; i++)
        for (size_t j = 0; j < cfg->queues[i].n_resources; j++)
            for (size_t k = 0; k < 2; k++) {
                char prefix[CONFIG_NODE_NAME_MAX];
                const struct config_compute_resource *r = &cfg->queues[i].resources[j];
                int w = snprintf(prefix, sizeof(prefix), "%s-%s-%s-", cfg->queues[i].name,
                                 kinds[k], r->name);
                if (w > 0 && (size_t)w < sizeof(prefix) && strncmp(node, prefix, (size_t)w) == 0) {
                    if (queue)
                        *queue = &cfg->queues[i];
                    return r;
                }
            }
    return NULL;
}

void config_free_node_names(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static int count_of(const struct config_compute_resource *r, const char *kind)
{
    return strcmp(kind, "st") == 0 ? r->static_count : r->dynamic_count;
}

/* The names of one kind ("st" or "dy"), queue by queue in config order. */
static int node_names(const struct cluster_config *cfg, const char *kind, char ***names,
                      size_t *count)
{
    size_t total = 0;
    for (size_t i = 0; i < cfg->n_queues; i++)
        for (size_t j = 0; j < cfg->queues[i].n_resources; j++)
            total += (size_t)count_of(&cfg->queues[i].resources[j], kind);
    *names = NULL;
    *count = 0;
    char **v = calloc(total ? total : 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < cfg->n_queues; i++) {
        const struct config_queue *q = &cfg->queues[i];
        for (size_t j = 0; j < q->n_resources; j++) {
            const struct config_compute_resource *r = &q->resources[j];
            for (int n = 1; n <= count_of(r, kind); n++) {
                char name[CONFIG_NODE_NAME_MAX];
                if (config_node_name(name, sizeof(name), q->name, kind, r->name, n) != 0 ||
                    !(v[k] = strdup(name))) {
                    config_free_node_names(v, k);
                    return -ENOMEM;
                }
                k++;
            }
        }
    }
    *names = v;
    *count = k;
    return 0;
}

int config_static_node_names(const struct cluster_config *cfg, char ***names, size_t *count)
{
    return node_names(cfg, "st", names, count);
}

int config_dynamic_node_names(const struct cluster_config *cfg, char ***names, size_t *count)
{
    return node_names(cfg, "dy", names, count);
}

bool config_is_dynamic_node(const struct cluster_config *cfg, const char *node)
{
    const struct config_queue *q = NULL;
    const struct config_compute_resource *r = config_node_resource(cfg, node, &q);
    if (!r)
        return false;
    char prefix[CONFIG_NODE_NAME_MAX];
    int w = snprintf(prefix, sizeof(prefix), "%s-dy-%s-", q->name, r->name);
    if (w <= 0 || (size_t)w >= sizeof(prefix) || strncmp(node, prefix, (size_t)w) != 0)
        return false;
    const char *num = node + w;
    if (*num < '1' || *num > '9' || strlen(num) > 6)
        return false;
    for (const char *c = num; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return atoi(num) <= r->dynamic_count;
}
