/* The compute fleet's spec: what the workstation hands the head node's agent
 * instead of INI (it never parses INI). A pure function of one cluster's
 * desired state, parsed config and what the cloud resolved of it (the image,
 * the compute nodes' instance profile) to a JSON document, schema 1:
 *
 *   {"schema":1, "cluster", "incarnation", "owner" (the bucket), "region",
 *    "generation" (config commits), "specId" (hex SHA-256 of the document
 *    without it: it changes with any field, hooks included),
 *    "launch":{"image","subnets":[..],"securityGroups":[..],"keyName"|null,
 *              "files":{"stage2","mungeKey","sshKey"} (bucket keys of what
 *              a compute node's manifest names),
 *              "instanceProfile"|null,"maxNodes",
 *              "preInstall"|null,"postInstall"|null  ({"url","args"})},
 *    "hooks":{"pre":[{"name","key"}],"post":[..]}  (keys in the bucket),
 *    "queues":[{"name","market":"on-demand"|"spot","disableHyperthreading",
 *               "computeResources":[{"name","instanceType","minCount",
 *                 "maxCount","staticCount","spotPrice"|null,
 *                 "vcpus","memoryMib" (the instance type's, for Slurm),
 *                 "staticNodes":["q-st-r-1",..] (the workstation's),
 *                 "dynamicNodes":["q-dy-r-1",..] (the head's: it creates
 *                   them in Slurm, launches and stops their instances)}]}]}
 *
 * Keys sorted, compact, so equal inputs give equal bytes. The controller
 * (act.c) writes it to the bucket (layout_fleet_spec_key) when it changes. */
#ifndef PCFS_FLEETSPEC_H
#define PCFS_FLEETSPEC_H
#include "fs/config/config.h"
#include "fs/store/store.h"

#define FLEETSPEC_SCHEMA 1

struct fleetspec_input {
    const char *bucket;
    const struct desired_cluster *dc; /* name, incarnation, generation, hooks */
    const struct cluster_config *cfg;
    const char *region;
    const char *image_id;         /* resolved from base_os or custom_ami */
    const char *instance_profile; /* the compute nodes'; NULL: none */
    /* the groups a compute node launches with (secgroups_launch_ids: the
     * cluster's own, or vpc_security_group_id, and additional_sg); none
     * given: the config's vpc_security_group_id and additional_sg */
    const char *const *security_groups;
    size_t n_security_groups;
    /* Per queue and resource, in config order; 0: unknown (1 vCPU, 512 MiB) */
    struct fleetspec_type_facts {
        int vcpus;
        long memory_mib;
    } facts[CONFIG_MAX_QUEUES][CONFIG_MAX_RESOURCES];
};

/* 0 and *text (malloc'd JSON) with its specId in id, or -ENOMEM. */
int fleetspec_render(const struct fleetspec_input *in, char **text, char id[65]);

#endif
