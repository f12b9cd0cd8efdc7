/* The controller's verdicts (failure, completed) go through store_ops, so
 * the in-memory store (-o memory) holds them like the bucket does: a
 * failure shows in the loaded state until the next good config. */
#include <errno.h>
#include <string.h>

#include "fs/store/store.h"
#include "tests/unit/check.h"

static void failure_until_next_config(void)
{
    struct store st;
    char err[256];
    CHECK_INT(store_mem_open(&st), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "c", 100, err, sizeof(err)), 0);
    struct blob *cfg = blob_new("[cluster default]\n", 18);
    int gen = 0;
    CHECK_INT(st.ops->put_config(st.impl, "c", cfg, 101, &gen, err, sizeof(err)), 0);
    CHECK_INT(st.ops->set_completed(st.impl, "c", gen, err, sizeof(err)), 0);
    CHECK_INT(st.ops->set_failure(st.impl, "c", "HeadNodeBootstrapFailure", "no report", err,
                                  sizeof(err)),
              0);
    CHECK_INT(st.ops->set_failure(st.impl, "absent", "X", "y", err, sizeof(err)), -ENOENT);
    struct desired_state *ds = NULL;
    CHECK_INT(st.ops->load(st.impl, &ds, err, sizeof(err)), 0);
    const struct desired_cluster *dc = ds ? desired_find(ds, "c") : NULL;
    CHECK(dc != NULL);
    if (dc) {
        CHECK_STR(dc->failure_code, "HeadNodeBootstrapFailure");
        CHECK_STR(dc->failure_reason, "no report");
        CHECK_INT(dc->first_complete, 1);
    }
    desired_state_free(ds);
    CHECK_INT(st.ops->put_config(st.impl, "c", cfg, 102, &gen, err, sizeof(err)), 0);
    CHECK_INT(st.ops->load(st.impl, &ds, err, sizeof(err)), 0);
    dc = ds ? desired_find(ds, "c") : NULL;
    CHECK(dc && !dc->failure_code && !dc->failure_reason);
    CHECK(dc && dc->first_complete == 1); /* completing once is for good */
    desired_state_free(ds);
    blob_unref(cfg);
    st.ops->destroy(st.impl);
}

int main(void)
{
    RUN(failure_until_next_config);
    return check_finish();
}
