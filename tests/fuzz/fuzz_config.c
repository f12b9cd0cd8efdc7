/* libFuzzer harness for the config parser (fs/config*.c): any bytes must give
 * either a config that keeps the validator's promises or one line of error
 * starting "config:", with no crash, leak or undefined behaviour. Under
 * PCFS_FUZZING the reader also aborts if its line classification ever
 * disagrees with inih's. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct cluster_config *cfg = NULL;
    struct config_limits lim = { .max_instances = 64 };
    int rc = config_parse((const char *)data, size, &lim, &cfg, err, sizeof(err));
    if (rc != 0) {
        if (rc != -EINVAL && rc != -ENOMEM)
            abort();
        if (cfg || strncmp(err, "config:", 7) != 0 || strchr(err, '\n'))
            abort();
        return 0;
    }
    if (!cfg || strcmp(cfg->scheduler, "slurm") != 0 || cfg->n_queues < 1 ||
        cfg->n_queues > CONFIG_MAX_QUEUES || cfg->max_instances_needed > 64 || !cfg->vpc_id[0] ||
        !cfg->master_subnet_id[0] || !cfg->compute_subnet_id[0])
        abort();
    for (size_t i = 0; i < cfg->n_queues; i++) {
        const struct config_queue *q = &cfg->queues[i];
        if (q->n_resources < 1 || q->n_resources > CONFIG_MAX_RESOURCES || !q->name[0])
            abort();
        for (size_t j = 0; j < q->n_resources; j++) {
            const struct config_compute_resource *r = &q->resources[j];
            if (r->min_count < 0 || r->min_count > r->initial_count ||
                r->initial_count > r->max_count || r->static_count != r->initial_count ||
                strchr(r->name, '.') || !r->name[0])
                abort();
        }
    }
    for (size_t i = 0; i < cfg->n_warnings; i++)
        if (strncmp(cfg->warnings[i], "config:", 7) != 0 || strchr(cfg->warnings[i], '\n'))
            abort();
    if (config_check_update(cfg, cfg, err, sizeof(err)) != 0)
        abort();
    char **names = NULL;
    size_t n = 0;
    if (config_static_node_names(cfg, &names, &n) == 0)
        config_free_node_names(names, n);
    config_free(cfg);
    return 0;
}
