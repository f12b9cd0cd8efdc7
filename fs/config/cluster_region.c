#include "fs/config/cluster_region.h"

#include <stdio.h>

#include "fs/config/config.h"
#include "fs/errors.h"

void cluster_region(const struct desired_cluster *dc, const char *mount_region, char *buf,
                    size_t buflen)
{
    snprintf(buf, buflen, "%s", mount_region);
    if (!dc->config)
        return;
    struct config_limits unlimited = {.max_instances = 1 << 30};
    struct cluster_config *cfg = NULL;
    char err[PCFS_MSG_MAX];
    if (config_parse(dc->config->data, dc->config->len, &unlimited, &cfg, err, sizeof(err)) != 0)
        return;
    if (cfg->region[0])
        snprintf(buf, buflen, "%s", cfg->region);
    config_free(cfg);
}
