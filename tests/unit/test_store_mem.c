/* Unit tests of the store room without a bucket: the in-memory store's
 * round trips (fs/store/store_mem.c), the config parsed once per generation
 * and kept in the model (fs/model/config_memo.c, desired_region), and the
 * one ETag cache (fs/store/objcache.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config/config.h"
#include "fs/model/config_memo.h"
#include "fs/store/events.h"
#include "fs/store/objcache.h"
#include "fs/store/store.h"
#include "tests/unit/check.h"

static const char GOOD[] = "[aws]\naws_region_name = ap-northeast-1\n\n"
                           "[cluster default]\nkey_name = k\nvpc_settings = public\n"
                           "base_os = alinux2\nscheduler = slurm\n\n"
                           "[vpc public]\nvpc_id = vpc-0123456789abcdef0\n"
                           "master_subnet_id = subnet-0123456789abcdef0\n";

static struct desired_state *load(struct store *st)
{
    struct desired_state *ds = NULL;
    char err[128];
    CHECK_INT(st->ops->load(st->impl, &ds, err, sizeof(err)), 0);
    return ds;
}

static void mem_round_trips(void)
{
    struct store st;
    char err[128];
    CHECK_INT(store_mem_open(&st), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "c", 100, err, sizeof(err)), 0);
    struct blob *cfg = blob_from_str(GOOD);
    int gen = 0;
    CHECK_INT(st.ops->put_config(st.impl, "c", cfg, 200, &gen, err, sizeof(err)), 0);
    struct blob *h = blob_from_str("echo hi\n");
    CHECK_INT(st.ops->put_hook(st.impl, "c", HOOK_POST, "10-x", h, 300, err, sizeof(err)), 0);
    CHECK_INT(st.ops->append_events(st.impl, "c", "a\n", err, sizeof(err)), 0);
    CHECK_INT(st.ops->set_last_error(st.impl, "c", "bad", err, sizeof(err)), 0);
    CHECK_INT(st.ops->mark_deleting(st.impl, "c", err, sizeof(err)), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "c", 100, err, sizeof(err)), -EBUSY);

    struct desired_state *ds = load(&st);
    const struct desired_cluster *dc = desired_find(ds, "c");
    CHECK(dc != NULL);
    CHECK_INT(dc->config->len, strlen(GOOD));
    CHECK_INT(dc->generation, 1);
    CHECK_INT((int)dc->updated_at, 300);
    CHECK(dc->deleting);
    CHECK_STR(dc->last_error, "bad");
    CHECK_STR(dc->events->data, "a\n");
    const struct desired_hook *hook = desired_find_hook(dc, HOOK_POST, "10-x");
    CHECK(hook && hook->content == h);
    /* a copy shares the blobs and the parsed config */
    struct desired_state *copy = desired_state_copy(ds);
    CHECK(copy && copy->clusters[0].parsed == dc->parsed && copy->clusters[0].config == dc->config);
    desired_state_free(copy);
    desired_state_free(ds);

    CHECK_INT(st.ops->set_last_error(st.impl, "c", NULL, err, sizeof(err)), 0);
    CHECK_INT(st.ops->delete_hook(st.impl, "c", HOOK_POST, "10-x", 400, err, sizeof(err)), 0);
    CHECK_INT(st.ops->remove_cluster(st.impl, "c", err, sizeof(err)), 0);
    CHECK_INT(st.ops->remove_cluster(st.impl, "c", err, sizeof(err)), -ENOENT);
    ds = load(&st);
    CHECK_INT(ds->n, 0);
    desired_state_free(ds);
    blob_unref(cfg);
    blob_unref(h);
    st.ops->destroy(st.impl);
}

/* Loads of one generation share one parse; a new generation is parsed anew,
 * and its region is what desired_region answers. */
static void config_parsed_once_per_generation(void)
{
    struct store st;
    char err[128];
    CHECK_INT(store_mem_open(&st), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "c", 100, err, sizeof(err)), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "empty", 100, err, sizeof(err)), 0);
    struct blob *cfg = blob_from_str(GOOD);
    int gen = 0;
    CHECK_INT(st.ops->put_config(st.impl, "c", cfg, 200, &gen, err, sizeof(err)), 0);

    struct desired_state *one = load(&st), *two = load(&st);
    const struct desired_cluster *a = desired_find(one, "c"), *b = desired_find(two, "c");
    CHECK(a->parsed != NULL && a->parsed->cfg != NULL);
    CHECK(a->parsed == b->parsed); /* the second load did not parse again */
    CHECK_STR(a->parsed->region, "ap-northeast-1");
    CHECK_STR(desired_region(a, "eu-west-1"), "ap-northeast-1");
    const struct desired_cluster *empty = desired_find(one, "empty");
    CHECK(empty->parsed == NULL);
    CHECK_STR(desired_region(empty, "eu-west-1"), "eu-west-1");

    /* generation 2: same region key gone, the mount's region applies */
    const char *at = strstr(GOOD, "[cluster default]");
    struct blob *cfg2 = blob_new(at, strlen(at));
    CHECK_INT(st.ops->put_config(st.impl, "c", cfg2, 300, &gen, err, sizeof(err)), 0);
    CHECK_INT(gen, 2);
    struct desired_state *three = load(&st);
    const struct desired_cluster *c = desired_find(three, "c");
    CHECK(c->parsed != NULL && c->parsed != a->parsed && c->parsed->cfg != NULL);
    CHECK_STR(desired_region(c, "eu-west-1"), "eu-west-1");
    /* the earlier state keeps its own parse, alive while it is held */
    CHECK_STR(a->parsed->region, "ap-northeast-1");
    desired_state_free(one);
    desired_state_free(two);
    desired_state_free(three);

    /* a stored config that no longer parses: no cfg, a reason */
    struct blob *bad = blob_from_str("[cluster default]\nno_such_key = 1\n");
    CHECK_INT(st.ops->put_config(st.impl, "c", bad, 400, &gen, err, sizeof(err)), 0);
    struct desired_state *four = load(&st);
    c = desired_find(four, "c");
    CHECK(c->parsed != NULL && c->parsed->cfg == NULL && c->parsed->error[0] != '\0');
    desired_state_free(four);
    blob_unref(bad);
    blob_unref(cfg);
    blob_unref(cfg2);
    st.ops->destroy(st.impl);
}

static void etag_cache_keeps_by_etag(void)
{
    struct objcache *oc = objcache_new();
    struct blob *v1 = blob_from_str("one"), *got;
    objcache_keep(oc, "k", "\"e1\"", v1);
    got = objcache_lookup(oc, "k", "\"e1\"");
    CHECK(got == v1);
    blob_unref(got);
    CHECK(objcache_lookup(oc, "k", "\"e2\"") == NULL); /* changed in the bucket */
    CHECK(objcache_lookup(oc, "other", "\"e1\"") == NULL);
    objcache_sweep(oc); /* k was asked for this round: kept */
    got = objcache_lookup(oc, "k", "\"e1\"");
    CHECK(got == v1);
    blob_unref(got);
    objcache_sweep(oc);
    objcache_sweep(oc); /* a round without asking: gone */
    CHECK(objcache_lookup(oc, "k", "\"e1\"") == NULL);
    unsigned long fetched, hits;
    objcache_stats(oc, &fetched, &hits);
    CHECK_INT((int)hits, 2);
    CHECK_INT((int)fetched, 0);
    blob_unref(v1);
    objcache_free(oc);
}

static void events_parts_join_in_order(void)
{
    struct blob *p1 = blob_from_str("1\n2\n"), *p2 = blob_from_str("3\n"),
                *live = blob_from_str("4\n");
    struct blob *pieces[] = {p1, NULL, p2, live};
    struct blob *all = events_join(pieces, 4);
    CHECK_STR(all->data, "1\n2\n3\n4\n");
    blob_unref(all);
    /* a roll cut short: part 2 written, the live object not yet emptied */
    struct blob *cut = blob_from_str("3\n4\n");
    struct blob *again[] = {p1, p2, cut};
    all = events_join(again, 3);
    CHECK_STR(all->data, "1\n2\n3\n4\n");
    blob_unref(all);
    CHECK_INT((int)events_part_number("events.1"), 1);
    CHECK_INT((int)events_part_number("events.12"), 12);
    CHECK_INT((int)events_part_number("events"), 0);
    CHECK_INT((int)events_part_number("events.0"), 0);
    CHECK_INT((int)events_part_number("events.1x"), 0);
    CHECK_INT((int)events_part_number("events."), 0);
    struct blob *t = events_trim(p1, 3); /* "1\n2\n" cut at a line: "2\n" */
    CHECK_STR(t->data, "2\n");
    blob_unref(t);
    t = events_trim(p1, 4);
    CHECK(t == p1);
    blob_unref(t);
    blob_unref(p1);
    blob_unref(p2);
    blob_unref(live);
    blob_unref(cut);
}

/* The memory store keeps the bucket's bound: oldest whole lines go. */
static void mem_events_bounded(void)
{
    struct store st;
    char err[128];
    CHECK_INT(store_mem_open(&st), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "c", 100, err, sizeof(err)), 0);
    char line[1025];
    memset(line, 'x', sizeof(line) - 2);
    line[sizeof(line) - 2] = '\n';
    line[sizeof(line) - 1] = '\0';
    size_t appends = EVENTS_KEPT_BYTES / 1024 + 50;
    for (size_t i = 0; i < appends; i++) {
        line[0] = (char)('a' + i % 26);
        CHECK_INT(st.ops->append_events(st.impl, "c", line, err, sizeof(err)), 0);
    }
    struct desired_state *ds = load(&st);
    const struct blob *ev = ds->clusters[0].events;
    CHECK(ev->len <= EVENTS_KEPT_BYTES && ev->len > EVENTS_KEPT_BYTES - 1024);
    CHECK(ev->len % 1024 == 0); /* whole lines only */
    CHECK(ev->data[ev->len - 1024] == line[0]); /* the newest line is last */
    desired_state_free(ds);
    st.ops->destroy(st.impl);
}

int main(void)
{
    RUN(events_parts_join_in_order);
    RUN(mem_events_bounded);
    RUN(mem_round_trips);
    RUN(config_parsed_once_per_generation);
    RUN(etag_cache_keeps_by_etag);
    return check_finish();
}
