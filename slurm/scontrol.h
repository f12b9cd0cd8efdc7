/* Deleting a node where slurmrestd cannot: Slurm 22.05's REST API (v0.0.38)
 * has no node delete, but slurmctld accepts auth/jwt from any client, so
 * `scontrol delete nodename=` runs here with SLURM_JWT set (a token minted
 * from the key, never on the command line) and a minimal client slurm.conf
 * naming the controller. Knows nothing of FUSE, AWS or clusters. */
#ifndef PCFS_SLURM_SCONTROL_H
#define PCFS_SLURM_SCONTROL_H
#include <stddef.h>

struct scontrol_target {
    const char *cluster_name;    /* Slurm's ClusterName */
    const char *controller_host; /* SlurmctldHost's name */
    const char *controller_addr; /* its address */
    const unsigned char *key;    /* the HS256 key of auth/jwt */
    size_t key_len;
    const char *user;            /* a Slurm admin: SlurmUser */
    int timeout_s;               /* scontrol is killed past it */
};

/* 0, or a negative errno with err saying what scontrol said. */
int slurm_scontrol_delete_node(const struct scontrol_target *t, const char *node, char *err,
                               size_t errlen);

#endif
