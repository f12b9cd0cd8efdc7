/* What lets the FUSE glue serve reads from the kernel's page cache and
 * accept a tree removal's unlinks: the page versions of each path
 * (fs/fuse/page_versions.h) and the processes walking a cluster's tree
 * (fs/fuse/tree_removal.h). */
#include "fs/fuse/page_versions.h"
#include "fs/fuse/tree_removal.h"
#include "tests/unit/check.h"

static void test_an_open_keeps_pages_only_of_equal_bytes(void)
{
    struct page_versions t;
    CHECK_INT(page_versions_init(&t), 0);
    struct blob *a = blob_from_str("CREATE_IN_PROGRESS\n");
    struct blob *a2 = blob_from_str("CREATE_IN_PROGRESS\n"); /* a new snapshot, same bytes */
    struct blob *b = blob_from_str("DELETE_IN_PROGRESS\n");  /* same size, new bytes */
    CHECK(!page_versions_open(&t, "/c/status", a, false)); /* nothing cached yet */
    CHECK(page_versions_open(&t, "/c/status", a, false));
    CHECK(page_versions_open(&t, "/c/status", a2, false));
    CHECK(!page_versions_open(&t, "/c/status", b, false));
    CHECK(page_versions_open(&t, "/c/status", b, false));
    CHECK(!page_versions_open(&t, "/c/events", b, false)); /* paths are apart */
    struct blob *got = page_versions_get(&t, "/c/status");
    CHECK(got == b);
    blob_unref(got);
    CHECK(page_versions_get(&t, "/nosuch") == NULL);
    page_versions_destroy(&t);
    blob_unref(a);
    blob_unref(a2);
    blob_unref(b);
}

static void test_a_read_of_another_version_makes_the_next_open_drop(void)
{
    struct page_versions t;
    CHECK_INT(page_versions_init(&t), 0);
    struct blob *v1 = blob_from_str("a\n"), *v2 = blob_from_str("a\nb\n");
    CHECK(!page_versions_open(&t, "/c/events", v1, false));
    page_versions_served(&t, "/c/events", v1); /* its own version: nothing */
    CHECK(page_versions_open(&t, "/c/events", v1, false));
    page_versions_served(&t, "/c/events", v2); /* events read live: pages may mix */
    CHECK(!page_versions_open(&t, "/c/events", v2, false));
    CHECK(page_versions_open(&t, "/c/events", v2, false));
    page_versions_destroy(&t);
    blob_unref(v1);
    blob_unref(v2);
}

static void test_the_table_is_bounded(void)
{
    struct page_versions t;
    CHECK_INT(page_versions_init(&t), 0);
    struct blob *v = blob_from_str("x\n");
    char path[64];
    for (int i = 0; i <= PAGE_VERSIONS_MAX; i++) {
        snprintf(path, sizeof(path), "/c/nodes/n%d/ec2_state", i);
        page_versions_open(&t, path, v, false);
    }
    CHECK(t.count <= PAGE_VERSIONS_MAX);
    CHECK(page_versions_open(&t, path, v, false)); /* the newest is kept */
    page_versions_destroy(&t);
    blob_unref(v);
}

/* A reader opened before a swap keeps the size of what it reads (the CI
 * flake this guards: status.json cut at the newer, shorter length). */
static void test_an_open_pins_its_size_until_the_last_release(void)
{
    struct page_versions t;
    CHECK_INT(page_versions_init(&t), 0);
    struct blob *v1 = blob_from_str("{\"a\": 1, \"long\": true}\n"), *v2 = blob_from_str("{}\n");
    size_t len = 0;
    CHECK(!page_versions_size(&t, "/c/status.json", &len)); /* nothing open */
    CHECK(!page_versions_open(&t, "/c/status.json", v1, true));
    CHECK(page_versions_size(&t, "/c/status.json", &len));
    CHECK_INT((int)len, (int)v1->len);
    CHECK(!page_versions_open(&t, "/c/status.json", v2, true)); /* a second reader, newer */
    CHECK(page_versions_size(&t, "/c/status.json", &len));
    CHECK_INT((int)len, (int)v2->len);
    struct blob *last = NULL;
    CHECK(!page_versions_unpin(&t, "/c/status.json", &last));
    CHECK(last == NULL);
    CHECK(page_versions_unpin(&t, "/c/status.json", &last));
    CHECK(last == v2);
    blob_unref(last);
    CHECK(!page_versions_size(&t, "/c/status.json", &len)); /* the snapshot's size again */
    CHECK(!page_versions_unpin(&t, "/c/status.json", &last)); /* unbalanced: nothing */
    CHECK(!page_versions_open(&t, "/c/events", v1, false));
    CHECK(!page_versions_size(&t, "/c/events", &len)); /* events grow under readers */
    page_versions_destroy(&t);
    blob_unref(v1);
    blob_unref(v2);
}

static void test_a_full_table_keeps_what_is_pinned(void)
{
    struct page_versions t;
    CHECK_INT(page_versions_init(&t), 0);
    struct blob *v = blob_from_str("x\n");
    page_versions_open(&t, "/pinned", v, true);
    char path[64];
    for (int i = 0; i <= PAGE_VERSIONS_MAX; i++) {
        snprintf(path, sizeof(path), "/c/nodes/n%d/ec2_state", i);
        page_versions_open(&t, path, v, false);
    }
    size_t len = 0;
    CHECK(page_versions_size(&t, "/pinned", &len));
    CHECK(t.count <= PAGE_VERSIONS_MAX);
    struct blob *last = NULL;
    CHECK(page_versions_unpin(&t, "/pinned", &last));
    blob_unref(last);
    page_versions_destroy(&t);
    blob_unref(v);
}

static void test_only_a_walker_of_that_cluster_removes(void)
{
    struct tree_walkers w;
    tree_walkers_init(&w);
    time_t now = 1000000;
    CHECK(!tree_walkers_walking(&w, "lab3", 42, now));
    tree_walkers_note(&w, "lab3", 42, now);
    CHECK(tree_walkers_walking(&w, "lab3", 42, now + 5));
    CHECK(!tree_walkers_walking(&w, "lab3", 43, now + 5)); /* another process */
    CHECK(!tree_walkers_walking(&w, "lab4", 42, now + 5)); /* another cluster */
    CHECK(!tree_walkers_walking(&w, "lab3", 42, now + TREE_WALK_SECONDS + 1));
    tree_walkers_note(&w, "lab3", 42, now + TREE_WALK_SECONDS); /* a later listing renews */
    CHECK(tree_walkers_walking(&w, "lab3", 42, now + TREE_WALK_SECONDS + 1));
    CHECK(!tree_walkers_walking(&w, "lab3", 0, now)); /* no caller (kernel-made request) */
    /* A full ring forgets the oldest walker, never mixes entries up. */
    for (int i = 0; i < TREE_WALKERS; i++)
        tree_walkers_note(&w, "other", 1000 + i, now);
    CHECK(!tree_walkers_walking(&w, "lab3", 42, now));
    CHECK(tree_walkers_walking(&w, "other", 1000 + TREE_WALKERS - 1, now));
    tree_walkers_destroy(&w);
}

int main(void)
{
    RUN(test_an_open_keeps_pages_only_of_equal_bytes);
    RUN(test_a_read_of_another_version_makes_the_next_open_drop);
    RUN(test_the_table_is_bounded);
    RUN(test_an_open_pins_its_size_until_the_last_release);
    RUN(test_a_full_table_keeps_what_is_pinned);
    RUN(test_only_a_walker_of_that_cluster_removes);
    return check_finish();
}
