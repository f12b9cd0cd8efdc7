#include "fs/config/cluster_region.h"

#include <stdio.h>

void cluster_region(const struct desired_cluster *dc, const char *mount_region, char *buf,
                    size_t buflen)
{
    /* The region comes with the config parsed once per generation. */
    const char *named = dc->parsed ? dc->parsed->region : "";
    snprintf(buf, buflen, "%s", named[0] ? named : mount_region);
}
