#include "fs/model/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config/config.h"
#include "fs/model/render.h"
#include "fs/store/layout.h"
#include "slurm/slurmrest.h"

static void node_clear(struct snap_node *n)
{
    free(n->name);
    for (size_t i = 0; i < n->n_files; i++)
        blob_unref(n->files[i].content);
}

static void cluster_clear(struct snap_cluster *c)
{
    blob_unref(c->config);
    blob_unref(c->status_file.content);
    blob_unref(c->status_json.content);
    blob_unref(c->events.content);
    for (size_t i = 0; i < c->n_nodes; i++)
        node_clear(&c->nodes[i]);
    free(c->nodes);
    for (size_t i = 0; i < c->n_jobs; i++)
        node_clear(&c->jobs[i]);
    free(c->jobs);
    for (size_t i = 0; i < c->n_job_records; i++)
        blob_unref(c->job_records[i].content);
    free(c->job_records);
}

static void snapshot_free(struct snapshot *s)
{
    for (size_t i = 0; i < s->n; i++)
        cluster_clear(&s->clusters[i]);
    free(s->clusters);
    desired_state_free(s->desired);
    free(s);
}

static bool same_bytes(const struct blob *a, const struct blob *b)
{
    return a && b && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* A file whose bytes are what the previous snapshot showed keeps that
 * snapshot's mtime: mtime says when the content last changed. */
static void keep_mtime(struct snap_file *f, const struct snap_file *prev)
{
    if (prev && same_bytes(f->content, prev->content))
        f->mtime = prev->mtime;
}

/* A directory of one-value files (a node's, a job's) against its previous
 * self p (NULL: none): unchanged files keep their mtime, and the
 * directory's is its newest file's. */
static void keep_dir_mtimes(struct snap_node *n, const struct snap_node *p)
{
    if (!p)
        return;
    time_t newest = 0;
    for (size_t i = 0; i < n->n_files; i++) {
        keep_mtime(&n->files[i], snap_node_find_file(p, n->files[i].name));
        if (n->files[i].mtime > newest)
            newest = n->files[i].mtime;
    }
    n->mtime = newest;
}

static int by_job_id_desc(const void *a, const void *b)
{
    int64_t x = (*(const struct slurmrest_job *const *)a)->job_id;
    int64_t y = (*(const struct slurmrest_job *const *)b)->job_id;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct snap_node *)a)->name, ((const struct snap_node *)b)->name);
}

/* Whether the job has ended and someone removed its directory since
 * (rmdir stores a cancel for it): then jobs/ no longer lists it. */
static bool job_dismissed(const struct desired_cluster *dc, const struct slurmrest_job *j)
{
    char id[24], rest[64];
    snprintf(id, sizeof(id), "%lld", (long long)j->job_id);
    snprintf(rest, sizeof(rest), "%s%s", layout_job_rest(LAYOUT_JOB_CANCEL), id);
    return render_job_ended(j) && desired_find_object(dc, rest) != NULL;
}

/* What became of submission `name`: the head's answer, if any. */
static struct blob *job_record(const struct observed_cluster *oc, const char *name)
{
    char line[700];
    snprintf(line, sizeof(line), "waiting for the head to submit it\n");
    for (size_t i = 0; oc && i < oc->n_job_acks; i++) {
        const struct observed_job_ack *a = &oc->job_acks[i];
        if (a->cancel || strcmp(a->name, name) != 0)
            continue;
        if (a->ok)
            snprintf(line, sizeof(line), "job %lld\n", a->job_id);
        else
            snprintf(line, sizeof(line), "not submitted: %s\n", a->message);
    }
    return blob_from_str(line);
}

/* jobs/<name>: a record per submission the listing shows. */
static int build_job_records(struct snap_cluster *c, const struct desired_cluster *dc,
                             const struct observed_cluster *oc, time_t observed_at,
                             const struct snap_cluster *prev_c)
{
    const char *prefix = layout_job_rest(LAYOUT_JOB_SUBMIT);
    size_t plen = strlen(prefix), n = 0;
    for (size_t i = 0; i < dc->n_objects; i++)
        n += strncmp(dc->objects[i].rest, prefix, plen) == 0 && dc->objects[i].rest[plen];
    if (!n)
        return 0;
    if (!(c->job_records = calloc(n, sizeof(*c->job_records))))
        return -1;
    for (size_t i = 0; i < dc->n_objects; i++) {
        const char *rest = dc->objects[i].rest;
        if (strncmp(rest, prefix, plen) != 0 || !rest[plen])
            continue;
        struct snap_file *f = &c->job_records[c->n_job_records++];
        *f = (struct snap_file){rest + plen, job_record(oc, rest + plen), observed_at};
        if (!f->content)
            return -1;
        keep_mtime(f, prev_c ? snap_cluster_find_job_record(prev_c, f->name) : NULL);
    }
    /* the listing is in key order, which is byte order: sorted already */
    return 0;
}

/* jobs/: the newest SNAP_JOBS_MAX of the jobs Slurm lists, by name. */
static int build_jobs(struct snap_cluster *c, const struct desired_cluster *dc,
                      const struct observed_cluster *oc, time_t observed_at,
                      const struct snap_cluster *prev_c)
{
    if (build_job_records(c, dc, oc, observed_at, prev_c) != 0)
        return -1;
    size_t n = 0, listed = oc && oc->jobs ? oc->jobs->count : 0;
    if (listed) {
        const struct slurmrest_job **order = malloc(listed * sizeof(*order));
        if (!order)
            return -1;
        for (size_t i = 0; i < listed; i++)
            if (!job_dismissed(dc, &oc->jobs->jobs[i]))
                order[n++] = &oc->jobs->jobs[i];
        qsort(order, n, sizeof(*order), by_job_id_desc);
        if (n > SNAP_JOBS_MAX)
            n = SNAP_JOBS_MAX;
        c->jobs = calloc(n ? n : 1, sizeof(*c->jobs));
        int rc = c->jobs ? 0 : -1;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            c->n_jobs = i + 1;
            rc = render_job(order[i], observed_at, &c->jobs[i]);
        }
        free(order);
        if (rc != 0)
            return -1;
        qsort(c->jobs, c->n_jobs, sizeof(*c->jobs), by_name);
        for (size_t i = 0; i < c->n_jobs; i++)
            keep_dir_mtimes(&c->jobs[i], prev_c ? snap_cluster_find_job(prev_c, c->jobs[i].name)
                                                : NULL);
    }
    bool same_names = prev_c && prev_c->n_jobs == c->n_jobs &&
                      prev_c->n_job_records == c->n_job_records;
    for (size_t i = 0; same_names && i < c->n_jobs; i++)
        same_names = strcmp(prev_c->jobs[i].name, c->jobs[i].name) == 0;
    for (size_t i = 0; same_names && i < c->n_job_records; i++)
        same_names = strcmp(prev_c->job_records[i].name, c->job_records[i].name) == 0;
    c->jobs_mtime = same_names ? prev_c->jobs_mtime : observed_at;
    return 0;
}

static int build_cluster(struct snap_cluster *c, const struct desired_cluster *dc,
                         const struct observed_state *obs, const struct snapshot_inputs *in)
{
    const struct snap_cluster *prev_c = in->prev ? snapshot_find(in->prev, dc->name) : NULL;
    const struct observed_cluster *oc = observed_find(obs, dc->name);
    c->desired = dc;
    c->name = dc->name;
    c->status = status_derive(dc, oc);
    c->config = dc->config ? blob_ref(dc->config) : blob_new("", 0);

    const char *word = status_name(c->status);
    struct blob *st = blob_new(word, strlen(word) + 1);
    if (st)
        st->data[st->len - 1] = '\n';
    c->status_file = (struct snap_file){"status", st, obs->observed_at};
    keep_mtime(&c->status_file, prev_c ? &prev_c->status_file : NULL);

    struct status_json_inputs sj = {
        .desired = dc,
        .observed = oc,
        .status = c->status,
        .region = desired_region(dc, in->mount_region),
        .observed_at = obs->observed_at,
        .stale = obs->stale || in->stale_reason,
        .stale_reason = in->stale_reason ? in->stale_reason : obs->stale_reason,
    };
    c->status_json = (struct snap_file){"status.json", render_status_json(&sj), obs->observed_at};
    c->events = (struct snap_file){"events", blob_ref(dc->events), dc->updated_at};
    if (!c->config || !st || !c->status_json.content)
        return -1;

    if (oc && oc->n_nodes) {
        c->nodes = calloc(oc->n_nodes, sizeof(*c->nodes));
        if (!c->nodes)
            return -1;
        for (size_t i = 0; i < oc->n_nodes; i++) {
            c->n_nodes = i + 1;
            if (render_node(&oc->nodes[i], obs->observed_at, &c->nodes[i]) != 0)
                return -1;
            keep_dir_mtimes(&c->nodes[i],
                            prev_c ? snap_cluster_find_node(prev_c, c->nodes[i].name) : NULL);
        }
    }
    /* A directory's time moves only when its names do, so the kernel's
     * cached listing stays good across swaps that change no name. */
    bool same_names = prev_c && prev_c->n_nodes == c->n_nodes;
    for (size_t i = 0; same_names && i < c->n_nodes; i++)
        same_names = strcmp(prev_c->nodes[i].name, c->nodes[i].name) == 0;
    c->nodes_mtime = same_names ? prev_c->nodes_mtime : obs->observed_at;
    return build_jobs(c, dc, oc, obs->observed_at, prev_c);
}

/* A cluster whose state could not be rendered says so in its own
 * status.json and shows no nodes; the other clusters are shown as usual. */
static int build_unrenderable(struct snap_cluster *c, const struct desired_cluster *dc,
                              const struct observed_state *obs)
{
    cluster_clear(c);
    memset(c, 0, sizeof(*c));
    c->desired = dc;
    c->name = dc->name;
    c->status = status_derive(dc, observed_find(obs, dc->name));
    c->config = dc->config ? blob_ref(dc->config) : blob_new("", 0);
    const char *word = status_name(c->status);
    char line[64];
    snprintf(line, sizeof(line), "%s\n", word);
    struct blob *st = blob_from_str(line);
    c->status_file = (struct snap_file){"status", st, obs->observed_at};
    c->status_json = (struct snap_file){"status.json", render_status_unrenderable(dc, c->status),
                                        obs->observed_at};
    c->events = (struct snap_file){"events", blob_ref(dc->events), dc->updated_at};
    c->nodes_mtime = obs->observed_at;
    return c->config && st && c->status_json.content ? 0 : -1;
}

struct snapshot *snapshot_build(struct desired_state *desired, const struct observed_state *obs,
                                const struct snapshot_inputs *in)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    if (!s) {
        desired_state_free(desired);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->desired = desired;
    s->observed_at = obs->observed_at;
    if (desired->n) {
        s->clusters = calloc(desired->n, sizeof(*s->clusters));
        if (!s->clusters)
            goto fail;
    }
    for (size_t i = 0; i < desired->n; i++) {
        s->n = i + 1;
        if (build_cluster(&s->clusters[i], &desired->clusters[i], obs, in) != 0 &&
            build_unrenderable(&s->clusters[i], &desired->clusters[i], obs) != 0)
            goto fail;
    }
    bool same_names = in->prev && in->prev->n == s->n;
    for (size_t i = 0; same_names && i < s->n; i++)
        same_names = strcmp(in->prev->clusters[i].name, s->clusters[i].name) == 0;
    s->root_mtime = same_names ? in->prev->root_mtime : obs->observed_at;
    return s;
fail:
    snapshot_free(s);
    return NULL;
}

struct snapshot *snapshot_ref(struct snapshot *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void snapshot_unref(struct snapshot *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        snapshot_free(s);
}

const struct snap_cluster *snapshot_find(const struct snapshot *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, s->clusters[mid].name);
        if (c == 0)
            return &s->clusters[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* The directory called name among dirs (n of them, sorted by name). */
static const struct snap_node *find_dir(const struct snap_node *dirs, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(name, dirs[mid].name);
        if (r == 0)
            return &dirs[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct snap_node *snap_cluster_find_node(const struct snap_cluster *c, const char *name)
{
    return find_dir(c->nodes, c->n_nodes, name);
}

const struct snap_node *snap_cluster_find_job(const struct snap_cluster *c, const char *id)
{
    return find_dir(c->jobs, c->n_jobs, id);
}

const struct snap_file *snap_cluster_find_job_record(const struct snap_cluster *c,
                                                   const char *name)
{
    for (size_t i = 0; i < c->n_job_records; i++)
        if (strcmp(c->job_records[i].name, name) == 0)
            return &c->job_records[i];
    return NULL;
}

const struct snap_file *snap_node_find_file(const struct snap_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_files; i++)
        if (strcmp(n->files[i].name, name) == 0)
            return &n->files[i];
    return NULL;
}

void snapshot_holder_init(struct snapshot_holder *h, struct snapshot *initial)
{
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->hook_lock, NULL);
    h->current = initial;
    h->on_swap = NULL;
    h->on_swap_arg = NULL;
}

struct snapshot *snapshot_holder_get(struct snapshot_holder *h)
{
    pthread_mutex_lock(&h->lock);
    struct snapshot *s = snapshot_ref(h->current);
    pthread_mutex_unlock(&h->lock);
    return s;
}

void snapshot_holder_swap(struct snapshot_holder *h, struct snapshot *next)
{
    pthread_mutex_lock(&h->hook_lock);
    pthread_mutex_lock(&h->lock);
    struct snapshot *old = h->current;
    h->current = next;
    pthread_mutex_unlock(&h->lock);
    if (h->on_swap && old)
        h->on_swap(old, next, h->on_swap_arg);
    pthread_mutex_unlock(&h->hook_lock);
    snapshot_unref(old);
}

void snapshot_holder_set_hook(struct snapshot_holder *h, snapshot_swap_fn fn, void *arg)
{
    pthread_mutex_lock(&h->hook_lock);
    h->on_swap = fn;
    h->on_swap_arg = arg;
    pthread_mutex_unlock(&h->hook_lock);
}

void snapshot_holder_destroy(struct snapshot_holder *h)
{
    snapshot_unref(h->current);
    h->current = NULL;
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->hook_lock);
}
