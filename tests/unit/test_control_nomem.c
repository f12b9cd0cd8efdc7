/* Allocation failure in the observation (fs/errors.h: fs/ checks every
 * allocation and returns -ENOMEM): with the n-th strdup of this program
 * failing, for every n, observing the nodes a cluster's reports name
 * returns -ENOMEM or succeeds whole, and never leaves a node without a
 * name (the sort that follows would crash on it). strdup is replaced in
 * this program only, so the failure reaches fs/ code as it would for real. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/observe.h"
#include "fs/model/observed.h"
#include "tests/unit/check.h"

static long strdup_budget = -1; /* calls still to answer; -1: all */

char *strdup(const char *s)
{
    if (strdup_budget == 0)
        return NULL;
    if (strdup_budget > 0)
        strdup_budget--;
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    return copy ? memcpy(copy, s, n) : NULL;
}

static void reported_nodes_under_nomem(void)
{
    /* Five reports, one already observed node: each strdup in turn fails. */
    struct desired_object objects[] = {
        {"reports/compute-1", "\"1\"", 0}, {"reports/compute-2", "\"2\"", 0},
        {"reports/compute-3", "\"3\"", 0}, {"reports/head", "\"4\"", 0},
        {"reports/login", "\"5\"", 0},
    };
    struct desired_cluster dc = {.name = "c", .objects = objects, .n_objects = 5};
    int failed = 0, whole = 0;
    for (long budget = 0; budget < 40; budget++) {
        struct observed_state *obs = observed_new_empty(1);
        CHECK(obs != NULL);
        if (!obs)
            return;
        struct observed_cluster *oc = NULL;
        strdup_budget = budget;
        int rc = observe_reported_nodes(obs, &dc, &oc);
        strdup_budget = -1;
        CHECK(rc == 0 || rc == -ENOMEM);
        failed += rc == -ENOMEM;
        whole += rc == 0;
        for (size_t i = 0; oc && i < oc->n_nodes; i++)
            CHECK(oc->nodes[i].name && oc->nodes[i].ec2_state && oc->nodes[i].slurm_state);
        if (rc == 0)
            CHECK(oc && oc->n_nodes == 5);
        for (size_t i = 0; i < obs->n; i++)
            CHECK(obs->clusters[i].name != NULL);
        observed_free(obs);
    }
    CHECK(failed > 0);
    CHECK(whole > 0);
}

int main(void)
{
    RUN(reported_nodes_under_nomem);
    return check_finish();
}
