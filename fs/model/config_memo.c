#include "fs/model/config_memo.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config/config.h"

struct memo_entry {
    char *cluster;
    int generation;
    struct blob *config; /* held, so its address names these bytes only */
    struct parsed_config *parsed;
};

struct config_memo {
    pthread_mutex_t lock;
    struct memo_entry *entries;
    size_t n;
};

struct parsed_config *parsed_config_new(const struct blob *config)
{
    struct parsed_config *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    atomic_init(&p->refs, 1);
    struct config_limits unlimited = {.max_instances = 1 << 30};
    int rc = config_parse(config->data, config->len, &unlimited, &p->cfg, p->error,
                          sizeof(p->error));
    if (rc == -ENOMEM) {
        free(p);
        return NULL;
    }
    if (rc != 0)
        p->cfg = NULL;
    p->region = p->cfg ? p->cfg->region : "";
    return p;
}

struct parsed_config *parsed_config_ref(struct parsed_config *p)
{
    if (p)
        atomic_fetch_add(&p->refs, 1);
    return p;
}

void parsed_config_unref(struct parsed_config *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    config_free(p->cfg);
    free(p);
}

struct config_memo *config_memo_new(void)
{
    struct config_memo *m = calloc(1, sizeof(*m));
    if (m)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void entries_free(struct memo_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].cluster);
        blob_unref(e[i].config);
        parsed_config_unref(e[i].parsed);
    }
    free(e);
}

void config_memo_free(struct config_memo *m)
{
    if (!m)
        return;
    entries_free(m->entries, m->n);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static bool same_config(const struct memo_entry *e, const struct desired_cluster *dc)
{
    return strcmp(e->cluster, dc->name) == 0 && e->generation == dc->generation &&
           (e->config == dc->config ||
            (e->config->len == dc->config->len &&
             memcmp(e->config->data, dc->config->data, dc->config->len) == 0));
}

/* The earlier parse of dc's config, or a new one; NULL on ENOMEM. */
static struct parsed_config *parse_once(struct config_memo *m, const struct desired_cluster *dc)
{
    for (size_t i = 0; i < m->n; i++)
        if (same_config(&m->entries[i], dc))
            return parsed_config_ref(m->entries[i].parsed);
    return parsed_config_new(dc->config);
}

int config_memo_attach(struct config_memo *m, struct desired_state *ds)
{
    pthread_mutex_lock(&m->lock);
    struct memo_entry *next = calloc(ds->n ? ds->n : 1, sizeof(*next));
    size_t n = 0;
    int rc = next ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < ds->n; i++) {
        struct desired_cluster *dc = &ds->clusters[i];
        parsed_config_unref(dc->parsed);
        dc->parsed = dc->config ? parse_once(m, dc) : NULL;
        if (!dc->config)
            continue;
        if (!dc->parsed || !(next[n].cluster = strdup(dc->name))) {
            rc = -ENOMEM;
            break;
        }
        next[n].generation = dc->generation;
        next[n].config = blob_ref(dc->config);
        next[n++].parsed = parsed_config_ref(dc->parsed);
    }
    if (rc == 0) {
        entries_free(m->entries, m->n);
        m->entries = next;
        m->n = n;
    } else {
        entries_free(next, n);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}
