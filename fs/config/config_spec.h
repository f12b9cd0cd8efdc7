/* The table of ParallelCluster v2 config sections and keys (fs/config_spec.c):
 * each key's type, range, default and whether pclusterfs implements it,
 * accepts it with a warning, or refuses it; plus the type checks and the
 * "did you mean" suggestions the validator uses. Data and pure functions. */
#ifndef PCFS_CONFIG_SPEC_H
#define PCFS_CONFIG_SPEC_H
#include <stdbool.h>
#include <stddef.h>

enum config_type {
    CT_STRING,        /* any text */
    CT_INT,           /* decimal integer within [min, max] */
    CT_FLOAT,         /* decimal number >= min */
    CT_BOOL,          /* configparser: 1/yes/true/on | 0/no/false/off, any case */
    CT_ENUM,          /* one of values[] */
    CT_VPC_ID,        /* vpc-XXXXXXXX or vpc- + 17 hex digits */
    CT_SUBNET_ID,     /* subnet-... */
    CT_SG_ID,         /* sg-... */
    CT_AMI_ID,        /* ami-... */
    CT_INSTANCE_TYPE, /* family.size, e.g. t2.micro */
    CT_REGION,        /* e.g. ap-northeast-1 */
    CT_CIDR,          /* a.b.c.d/n */
    CT_URL,           /* s3://, https:// or http:// */
    CT_LABEL,         /* a section label: [A-Za-z0-9_-], at most 30 */
    CT_REF,           /* the label of one section of kind ref */
    CT_REF_LIST,      /* comma-separated labels of sections of kind ref */
    CT_JSON,          /* a JSON object (may continue on indented lines) */
};

enum config_support {
    CS_IMPLEMENTED, /* parsed into struct cluster_config and acted upon */
    CS_WARN,        /* a v2 key accepted and checked, not implemented yet: warning */
    CS_QUIET,       /* a v2 key with no meaning here (a CLI setting): accepted silently */
    CS_NOT_YET,     /* a v2 key whose absence would change cost, security or access:
                       refused "not implemented yet" where v2 would read it; note says why */
    CS_REFUSED,     /* a v2 key pclusterfs refuses in any section; note says why */
};

struct config_key_spec {
    const char *name;
    enum config_type type;
    enum config_support support;
    const char *def;            /* v2 default, for messages and documentation */
    long min, max;              /* CT_INT range; CT_FLOAT uses min */
    const char *const *values;  /* CT_ENUM, NULL-terminated */
    const char *ref;            /* CT_REF(_LIST): kind of the referred section */
    int max_refs;               /* CT_REF_LIST */
    const char *note;           /* CS_REFUSED: the reason and the fix */
};

struct config_section_spec {
    const char *kind;      /* "cluster" for [cluster LABEL] */
    bool labelled;         /* [kind LABEL] (true) or [kind] */
    bool implemented;      /* false: v2 section accepted, its keys unchecked beyond names */
    const struct config_key_spec *keys;
};

const struct config_section_spec *config_spec_section(const char *kind);
const struct config_key_spec *config_spec_key(const struct config_section_spec *sec,
                                              const char *name);

/* The closest known section kind / key name to a misspelt one, or NULL. */
const char *config_spec_suggest_section(const char *kind);
const char *config_spec_suggest_key(const struct config_section_spec *sec, const char *name);
/* The kind of a section that has a key of this name, or NULL ("vpc_id
 * belongs in [vpc NAME]"). When the key lives both in [cluster] and in
 * [queue]/[compute_resource], the one of the config's form: multi_queue
 * (queue_settings) or single-queue. */
const char *config_spec_key_home(const char *name, bool multi_queue);

/* Check value against the key's type. 0, or -EINVAL with why ("must be an
 * integer from 0 to 1000") written to why. References are only checked for
 * syntax here (labels), not for existence. */
int config_spec_check_value(const struct config_key_spec *key, const char *value,
                            char *why, size_t whylen);

/* Helpers shared with the validator. */
bool config_is_label(const char *s);             /* [A-Za-z0-9_-]{1,30} */
bool config_is_queue_name(const char *s);        /* ^[a-z][a-z0-9-]{0,29}$, not "default" */
bool config_parse_bool(const char *s, bool *out);
bool config_parse_int(const char *s, long *out);

#endif
