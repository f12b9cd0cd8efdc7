/* Giving meaning to a config document (fs/config_validate.c): every key
 * checked against fs/config_spec.c, the cluster section chosen, section
 * references followed, v2's rules and defaults applied, the cost guard
 * enforced, and struct cluster_config filled, warnings included. */
#ifndef PCFS_CONFIG_VALIDATE_H
#define PCFS_CONFIG_VALIDATE_H

#include "fs/config/config.h"
#include "fs/config/config_doc.h"

#define CONFIG_DEFAULT_MAX_INSTANCES 64

/* 0, or -EINVAL with err set, or -ENOMEM. cfg must be zeroed; on failure
 * its warnings may still need config_free-style release by the caller. */
int config_validate(const struct config_doc *doc, const struct config_limits *limits,
                    struct cluster_config *cfg, struct config_error *err);

#endif
