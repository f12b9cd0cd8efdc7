/* The ParallelCluster v2 INI config of one cluster: parse, validate, apply the
 * v2 defaults, and compare two configs for a live update. Pure functions of
 * the text: nothing here touches the network (the cloud-side checks — key
 * pair, VPC, subnets, AMI — belong to the lifecycle code).
 *
 * Errors are -EINVAL plus one human line in `err`, "config:LINE: ..." whenever
 * a line is known. Warnings (v2 keys accepted but not implemented yet) come
 * back in cfg->warnings, one line each, also "config:LINE: ...".
 * fs/config_spec.c is the table of every section and key: what is
 * implemented, what is accepted with a warning, what is refused.
 *
 * How v2 is read (v2 = aws-parallelcluster 2.x, its configparser and its
 * cli/pcluster/config/mappings.py):
 *  - The rules of v2.11.9, v2's last release: base_os and scheduler are
 *    required; key_name is optional (a warning: no SSH key), as since
 *    2.11.0. A scheduler that is set is judged before any other key (it
 *    decides what they mean); it must be slurm (sge/torque: support ended 2021-12-31;
 *    awsbatch: not supported); base_os one of alinux2, centos7, ubuntu1804,
 *    ubuntu2004. vpc_settings and its [vpc] vpc_id and master_subnet_id are
 *    required too (instances need a subnet).
 *  - Comments as v2's configparser(inline_comment_prefixes=("#", ";")):
 *    "key = v   # note" gives "v" (v2's own examples write such comments).
 *  - Key names are case-insensitive (configparser lowercased them); section
 *    names are not. "key: value" works as "key = value". An empty value
 *    means "not set", except for numbers and booleans, which v2 refused
 *    empty. Booleans as configparser's getboolean: 1/yes/true/on and
 *    0/no/false/off in any case.
 *  - No line limit but the 64 KiB config cap (v2's configparser had none).
 *  - Indented lines continue a value (inih and configparser agree), but
 *    only JSON values (tags, extra_json) may span lines; anywhere else an
 *    indented line is refused with its line number.
 *  - Sections v2 read ([aws], [global], [aliases], the chosen [cluster] and
 *    what its *_settings name) are checked strictly; in the others (other
 *    templates, leftovers, kinds v2 did not have) problems are warnings
 *    naming the line, as v2 ignored them (fs/config_scope.c).
 *  - Without queue_settings, v2's own conversion applies: queue "compute",
 *    one resource named after compute_instance_type; initial_queue_size
 *    becomes min_count if maintain_initial_size else initial_count. */
#ifndef PCFS_CONFIG_H
#define PCFS_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

/* Values pclusterfs keeps as text are refused beyond 199 bytes (the
 * validator says so with the line), so they fit here. */
#define CONFIG_VALUE_MAX 200
#define CONFIG_NAME_MAX 32        /* section labels: v2 allowed at most 30 */
#define CONFIG_MAX_QUEUES 5       /* v2: at most 5 [queue] sections */
#define CONFIG_MAX_RESOURCES 3    /* v2: at most 3 compute resources a queue */
#define CONFIG_NODE_NAME_MAX 96
#define CONFIG_TEXT_MAX 65536     /* DESIGN.md: config <= 64 KiB */

struct config_limits {
    int max_instances; /* head + sum of max sizes > max_instances is refused */
};

struct config_compute_resource {
    /* Slurm node names use this, as v2 did: the instance type without its
     * dots (t2.micro -> t2micro). Unique within a queue. */
    char name[CONFIG_NAME_MAX + 8];
    /* The [compute_resource LABEL] it came from; "default" for a config
     * without queue_settings (v2's conversion named it so). */
    char section[CONFIG_NAME_MAX];
    char instance_type[CONFIG_NAME_MAX + 8];
    int instance_type_line; /* where it was written; 0 = defaulted */
    int min_count;      /* v2 min_count: static nodes v2 always kept */
    int max_count;      /* v2 max_count */
    int initial_count;  /* v2 initial_count: nodes launched at creation */
    /* Nodes the workstation launches and keeps: initial_count, named
     * {queue}-st-{name}-{N}. v2 let the initial nodes beyond min_count
     * scale down when idle; pclusterfs keeps them (README says so). */
    int static_count;
    /* max_count - static_count nodes Slurm powers up when jobs wait and down
     * after scaledown_idletime, named {queue}-dy-{name}-{N}. */
    int dynamic_count;
    double spot_price;  /* 0 = on-demand price cap */
    bool disable_hyperthreading; /* from the queue, else the cluster */
};

struct config_queue {
    char name[CONFIG_NAME_MAX];      /* "compute" without queue_settings */
    bool spot;                       /* compute_type = spot */
    bool disable_hyperthreading;
    bool enable_efa;
    char placement_group[CONFIG_VALUE_MAX];
    size_t n_resources;
    struct config_compute_resource resources[CONFIG_MAX_RESOURCES];
};

struct cluster_config {
    char region[CONFIG_VALUE_MAX];        /* [aws] aws_region_name; "" = mount's */
    char cluster_section[CONFIG_NAME_MAX]; /* LABEL of the [cluster LABEL] used */
    char key_name[CONFIG_VALUE_MAX];
    char base_os[16];                      /* alinux2|centos7|ubuntu1804|ubuntu2004 */
    char scheduler[16];                    /* always "slurm" */
    char master_instance_type[CONFIG_NAME_MAX + 8];
    char custom_ami[CONFIG_NAME_MAX];      /* "" = the ParallelCluster image */

    /* [vpc LABEL] named by vpc_settings */
    char vpc_section[CONFIG_NAME_MAX];
    char vpc_id[CONFIG_NAME_MAX];
    char master_subnet_id[CONFIG_NAME_MAX];
    char compute_subnet_id[CONFIG_NAME_MAX]; /* defaults to master_subnet_id */
    char additional_sg[CONFIG_NAME_MAX];     /* "" when not given */
    char vpc_security_group_id[CONFIG_NAME_MAX];
    bool use_public_ips;                     /* v2 default true */
    char ssh_from[CONFIG_NAME_MAX];          /* v2 default 0.0.0.0/0 */

    char pre_install[CONFIG_VALUE_MAX];      /* URL or "" */
    char pre_install_args[CONFIG_VALUE_MAX];
    char post_install[CONFIG_VALUE_MAX];
    char post_install_args[CONFIG_VALUE_MAX];

    /* IAM access of the nodes, as v2 gave it (every node; "" = not given):
     * a role to use instead of the cluster's own, managed policies to attach
     * (comma-separated ARNs), S3 resources ("*" or an S3 ARN) to read, and
     * to read and write. */
    char ec2_iam_role[CONFIG_VALUE_MAX];
    char additional_iam_policies[CONFIG_VALUE_MAX];
    char s3_read_resource[CONFIG_VALUE_MAX];
    char s3_read_write_resource[CONFIG_VALUE_MAX];

    /* The v2 single-queue keys as written (or defaulted); meaningful when
     * queue_settings is absent, 0/false otherwise. */
    bool queue_settings_used;
    char compute_instance_type[CONFIG_NAME_MAX + 8];
    int initial_queue_size;
    int max_queue_size;
    bool maintain_initial_size;
    bool disable_hyperthreading;
    int scaledown_idletime;                  /* [scaling] minutes, v2 default 10 */

    size_t n_queues;
    struct config_queue queues[CONFIG_MAX_QUEUES];

    int max_instances_needed;                /* 1 (head) + sum of max counts */

    /* Where the values the cloud checks came from, so their messages can
     * name the line (0 = defaulted, not written). */
    struct config_lines {
        int key_name, base_os, vpc_id, master_subnet_id, compute_subnet_id, custom_ami,
            master_instance_type, additional_sg, vpc_security_group_id;
    } lines;

    char **warnings;                         /* "config:LINE: KEY is accepted..." */
    size_t n_warnings;
};

/* Parse and validate text (need not be NUL-terminated). Returns 0 and *out
 * (free with config_free), or -EINVAL and a one-line message in err, or
 * -ENOMEM. limits may be NULL, or max_instances <= 0: then the limit is 64. */
int config_parse(const char *text, size_t len, const struct config_limits *limits,
                 struct cluster_config **out, char *err, size_t errlen);
void config_free(struct cluster_config *cfg);

/* An update of a live cluster from old to new: 0 if allowed, else -EINVAL
 * with a message naming every field that cannot change (region, base_os,
 * key_name, vpc and subnets, head node type, scheduler, custom_ami,
 * scaledown_idletime). Queue
 * sizes and compute instance types may change. */
int config_check_update(const struct cluster_config *old, const struct cluster_config *new,
                        char *err, size_t errlen);

/* The static node names, ParallelCluster style {queue}-st-{resource}-{N}
 * with N from 1, queue by queue in config order. *names is a malloc'd array
 * of malloc'd strings (free with config_free_node_names). 0 or -ENOMEM. */
int config_static_node_names(const struct cluster_config *cfg, char ***names, size_t *count);
/* The same for dynamic nodes, {queue}-dy-{resource}-{N}, N = 1..dynamic_count:
 * nodes that exist in Slurm powered down until jobs need them; the head's
 * agent launches and stops their instances, never the workstation. */
int config_dynamic_node_names(const struct cluster_config *cfg, char ***names, size_t *count);
/* Whether node is one of cfg's dynamic nodes (a name of the list above). */
bool config_is_dynamic_node(const struct cluster_config *cfg, const char *node);
void config_free_node_names(char **names, size_t count);

/* The compute resource (and its queue, if queue is not NULL) a node name
 * belongs to, or NULL (the head, or a name of no queue). Spot or on-demand
 * is the queue's spot flag; the resource's spot_price caps a spot node. */
const struct config_compute_resource *config_node_resource(const struct cluster_config *cfg,
                                                           const char *node,
                                                           const struct config_queue **queue);

/* One node name into buf: kind is "st" or "dy". Returns 0, or -ENAMETOOLONG. */
int config_node_name(char *buf, size_t len, const char *queue, const char *kind,
                     const char *resource, int n);

#endif
