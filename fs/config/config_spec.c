/* The ParallelCluster v2 config: every section and key v2 knew (from v2's
 * cli/pcluster/config/mappings.py and the v2 user guide), with what pclusterfs
 * does with each. CS_IMPLEMENTED keys land in struct cluster_config; CS_WARN
 * keys are checked and then ignored with a warning naming them; CS_REFUSED
 * keys are errors. Keys v2 never had are errors (typos must not pass).
 * jansson is used here only to check that the JSON values a user writes in
 * a config (tags, extra_json) are JSON objects; fs/ parses no JSON from the
 * network. */
#include "fs/config/config_spec.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY(n, t, s) { .name = (n), .type = (t), .support = (s) }
#define KEYD(n, t, s, d) { .name = (n), .type = (t), .support = (s), .def = (d) }
#define INT(n, s, d, lo, hi) { .name = (n), .type = CT_INT, .support = (s), .def = (d), .min = (lo), .max = (hi) }
#define ENUM(n, s, d, v) { .name = (n), .type = CT_ENUM, .support = (s), .def = (d), .values = (v) }
#define REF(n, s, kind) { .name = (n), .type = CT_REF, .support = (s), .ref = (kind), .max_refs = 1 }
#define REFS(n, s, kind, m) { .name = (n), .type = CT_REF_LIST, .support = (s), .ref = (kind), .max_refs = (m) }
#define NOT_YET(n, why) { .name = (n), .type = CT_STRING, .support = CS_NOT_YET, .note = (why) }
#define END { .name = NULL }

static const char *const ondemand_spot[] = { "ondemand", "spot", NULL };
static const char *const placement_values[] = { "compute", "cluster", NULL };
static const char *const efa_values[] = { "compute", NULL };

static const char credentials_note[] =
    "credentials come from the AWS credential chain only (environment, profile, instance role); "
    "remove this line";

static const struct config_key_spec aws_keys[] = {
    KEY("aws_region_name", CT_REGION, CS_IMPLEMENTED),
    { .name = "aws_access_key_id", .type = CT_STRING, .support = CS_REFUSED, .note = credentials_note },
    { .name = "aws_secret_access_key", .type = CT_STRING, .support = CS_REFUSED, .note = credentials_note },
    { .name = "aws_session_token", .type = CT_STRING, .support = CS_REFUSED, .note = credentials_note },
    END,
};

static const struct config_key_spec global_keys[] = {
    KEYD("cluster_template", CT_LABEL, CS_IMPLEMENTED, "default"),
    KEYD("update_check", CT_BOOL, CS_QUIET, "true"),   /* a pcluster CLI version check */
    KEYD("sanity_check", CT_BOOL, CS_IMPLEMENTED, "true"), /* false: warned, checks still run */
    END,
};

static const struct config_key_spec aliases_keys[] = {
    KEY("ssh", CT_STRING, CS_WARN),
    END,
};

static const struct config_key_spec cluster_keys[] = {
    /* implemented */
    KEY("key_name", CT_STRING, CS_IMPLEMENTED),  /* optional since v2.11.0 */
    KEY("base_os", CT_STRING, CS_IMPLEMENTED),   /* checked by the validator */
    KEY("scheduler", CT_STRING, CS_IMPLEMENTED), /* checked by the validator */
    KEYD("master_instance_type", CT_INSTANCE_TYPE, CS_IMPLEMENTED, "t2.micro"),
    KEYD("compute_instance_type", CT_INSTANCE_TYPE, CS_IMPLEMENTED, "t2.micro"),
    INT("initial_queue_size", CS_IMPLEMENTED, "0", 0, 100000),
    INT("max_queue_size", CS_IMPLEMENTED, "10", 0, 100000),
    KEYD("maintain_initial_size", CT_BOOL, CS_IMPLEMENTED, "false"),
    KEY("custom_ami", CT_AMI_ID, CS_IMPLEMENTED),
    KEY("pre_install", CT_URL, CS_IMPLEMENTED),
    KEY("pre_install_args", CT_STRING, CS_IMPLEMENTED),
    KEY("post_install", CT_URL, CS_IMPLEMENTED),
    KEY("post_install_args", CT_STRING, CS_IMPLEMENTED),
    REF("vpc_settings", CS_IMPLEMENTED, "vpc"),
    REFS("queue_settings", CS_IMPLEMENTED, "queue", 5),
    /* the nodes' IAM access (fs/control/roles.h); "NONE" as in v2 = not given */
    KEY("ec2_iam_role", CT_STRING, CS_IMPLEMENTED),
    KEY("additional_iam_policies", CT_STRING, CS_IMPLEMENTED),
    KEY("s3_read_resource", CT_STRING, CS_IMPLEMENTED),
    KEY("s3_read_write_resource", CT_STRING, CS_IMPLEMENTED),
    ENUM("cluster_type", CS_IMPLEMENTED, "ondemand", ondemand_spot),
    { .name = "spot_price", .type = CT_FLOAT, .support = CS_IMPLEMENTED, .def = "0", .min = 0 },
    /* accepted, not implemented yet */
    REF("scaling_settings", CS_IMPLEMENTED, "scaling"), /* scaledown_idletime */
    KEYD("disable_hyperthreading", CT_BOOL, CS_WARN, "false"),
    REFS("ebs_settings", CS_WARN, "ebs", 5),
    REF("efs_settings", CS_WARN, "efs"),
    REF("fsx_settings", CS_WARN, "fsx"),
    REF("raid_settings", CS_WARN, "raid"),
    REF("dcv_settings", CS_WARN, "dcv"),
    REF("cw_log_settings", CS_WARN, "cw_log"),
    REF("dashboard_settings", CS_WARN, "dashboard"),
    KEY("additional_cfn_template", CT_URL, CS_WARN),
    KEY("cluster_resource_bucket", CT_STRING, CS_WARN),
    INT("compute_root_volume_size", CS_WARN, "35", 25, 65536),
    INT("master_root_volume_size", CS_WARN, "35", 25, 65536),
    KEY("custom_chef_cookbook", CT_URL, CS_WARN),
    INT("desired_vcpus", CS_WARN, "4", 0, 100000),
    INT("max_vcpus", CS_WARN, "10", 0, 100000),
    INT("min_vcpus", CS_WARN, "0", 0, 100000),
    KEYD("disable_cluster_dns", CT_BOOL, CS_WARN, "false"),
    ENUM("enable_efa", CS_WARN, NULL, efa_values),
    ENUM("enable_efa_gdr", CS_WARN, NULL, efa_values),
    KEYD("enable_intel_hpc_platform", CT_BOOL, CS_WARN, "false"),
    /* refused when true only: false is what pclusterfs does */
    { .name = "encrypted_ephemeral", .type = CT_BOOL, .support = CS_NOT_YET, .def = "false",
      .note = "the nodes' instance store would be left unencrypted" },
    KEYD("ephemeral_dir", CT_STRING, CS_WARN, "/scratch"),
    KEY("extra_json", CT_JSON, CS_WARN),
    KEY("iam_lambda_role", CT_STRING, CS_WARN),
    ENUM("placement", CS_WARN, "compute", placement_values),
    KEY("placement_group", CT_STRING, CS_WARN),
    NOT_YET("proxy_server", "the nodes would reach the network around the proxy it names"),
    KEYD("shared_dir", CT_STRING, CS_WARN, "/shared"),
    INT("spot_bid_percentage", CS_WARN, "0", 0, 100),
    KEY("tags", CT_JSON, CS_WARN),
    KEY("template_url", CT_URL, CS_WARN),
    KEY("hit_template_url", CT_URL, CS_WARN),
    KEY("cw_dashboard_template_url", CT_URL, CS_WARN),
    KEY("instance_types_data", CT_JSON, CS_WARN),
    /* v2 writes these itself (derived or private parameters); a config
     * that carries them was most likely saved by v2: nothing to do. */
    KEY("cluster_config_metadata", CT_STRING, CS_QUIET),
    KEY("architecture", CT_STRING, CS_QUIET),
    KEY("network_interfaces_count", CT_STRING, CS_QUIET),
    KEY("default_queue", CT_STRING, CS_QUIET),
    END,
};

static const struct config_key_spec vpc_keys[] = {
    KEY("vpc_id", CT_VPC_ID, CS_IMPLEMENTED),
    KEY("master_subnet_id", CT_SUBNET_ID, CS_IMPLEMENTED),
    KEY("compute_subnet_id", CT_SUBNET_ID, CS_IMPLEMENTED),
    KEY("additional_sg", CT_SG_ID, CS_IMPLEMENTED),
    KEY("vpc_security_group_id", CT_SG_ID, CS_IMPLEMENTED),
    /* pclusterfs makes no subnet or public address yet */
    KEYD("use_public_ips", CT_BOOL, CS_WARN, "true"),
    KEYD("ssh_from", CT_CIDR, CS_IMPLEMENTED, "0.0.0.0/0"), /* the head's security group */
    KEY("compute_subnet_cidr", CT_CIDR, CS_WARN),
    KEY("master_availability_zone", CT_STRING, CS_QUIET), /* v2 derived them from the subnets */
    KEY("compute_availability_zone", CT_STRING, CS_QUIET),
    END,
};

static const struct config_key_spec queue_keys[] = {
    REFS("compute_resource_settings", CS_IMPLEMENTED, "compute_resource", 3),
    ENUM("compute_type", CS_IMPLEMENTED, "ondemand", ondemand_spot),
    KEY("disable_hyperthreading", CT_BOOL, CS_WARN),
    KEY("enable_efa", CT_BOOL, CS_WARN),
    KEY("enable_efa_gdr", CT_BOOL, CS_WARN),
    KEY("placement_group", CT_STRING, CS_WARN),
    END,
};

static const struct config_key_spec compute_resource_keys[] = {
    KEY("instance_type", CT_INSTANCE_TYPE, CS_IMPLEMENTED),
    INT("min_count", CS_IMPLEMENTED, "0", 0, 100000),
    INT("max_count", CS_IMPLEMENTED, "10", 1, 100000),
    INT("initial_count", CS_IMPLEMENTED, "min_count", 0, 100000),
    { .name = "spot_price", .type = CT_FLOAT, .support = CS_IMPLEMENTED, .def = "0", .min = 0 },
    /* v2 derived these from the instance type and the queue */
    KEY("vcpus", CT_STRING, CS_QUIET), KEY("gpus", CT_STRING, CS_QUIET),
    KEY("gpu_type", CT_STRING, CS_QUIET), KEY("network_interfaces", CT_STRING, CS_QUIET),
    KEY("enable_efa", CT_STRING, CS_QUIET), KEY("enable_efa_gdr", CT_STRING, CS_QUIET),
    KEY("disable_hyperthreading", CT_STRING, CS_QUIET),
    KEY("disable_hyperthreading_via_cpu_options", CT_STRING, CS_QUIET),
    END,
};

static const struct config_key_spec scaling_keys[] = {
    INT("scaledown_idletime", CS_IMPLEMENTED, "10", 1, 100000),
    END,
};

/* Sections whose features are not implemented: key names only. */
static const struct config_key_spec ebs_keys[] = {
    KEY("shared_dir", CT_STRING, CS_WARN), KEY("ebs_snapshot_id", CT_STRING, CS_WARN),
    KEY("volume_type", CT_STRING, CS_WARN), KEY("volume_size", CT_STRING, CS_WARN),
    KEY("volume_iops", CT_STRING, CS_WARN), KEY("volume_throughput", CT_STRING, CS_WARN),
    KEY("encrypted", CT_STRING, CS_WARN), KEY("ebs_kms_key_id", CT_STRING, CS_WARN),
    KEY("ebs_volume_id", CT_STRING, CS_WARN), KEY("multi_az", CT_STRING, CS_WARN),
    END,
};
static const struct config_key_spec efs_keys[] = {
    KEY("shared_dir", CT_STRING, CS_WARN), KEY("efs_fs_id", CT_STRING, CS_WARN),
    KEY("performance_mode", CT_STRING, CS_WARN), KEY("efs_kms_key_id", CT_STRING, CS_WARN),
    KEY("provisioned_throughput", CT_STRING, CS_WARN), KEY("encrypted", CT_STRING, CS_WARN),
    KEY("throughput_mode", CT_STRING, CS_WARN),
    END,
};
static const struct config_key_spec raid_keys[] = {
    KEY("shared_dir", CT_STRING, CS_WARN), KEY("raid_type", CT_STRING, CS_WARN),
    KEY("num_of_raid_volumes", CT_STRING, CS_WARN), KEY("volume_type", CT_STRING, CS_WARN),
    KEY("volume_size", CT_STRING, CS_WARN), KEY("volume_iops", CT_STRING, CS_WARN),
    KEY("volume_throughput", CT_STRING, CS_WARN), KEY("encrypted", CT_STRING, CS_WARN),
    KEY("ebs_kms_key_id", CT_STRING, CS_WARN),
    END,
};
static const struct config_key_spec fsx_keys[] = {
    KEY("shared_dir", CT_STRING, CS_WARN), KEY("fsx_fs_id", CT_STRING, CS_WARN),
    KEY("storage_capacity", CT_STRING, CS_WARN), KEY("fsx_kms_key_id", CT_STRING, CS_WARN),
    KEY("imported_file_chunk_size", CT_STRING, CS_WARN), KEY("export_path", CT_STRING, CS_WARN),
    KEY("import_path", CT_STRING, CS_WARN),
    KEY("weekly_maintenance_start_time", CT_STRING, CS_WARN),
    KEY("deployment_type", CT_STRING, CS_WARN),
    KEY("per_unit_storage_throughput", CT_STRING, CS_WARN),
    KEY("daily_automatic_backup_start_time", CT_STRING, CS_WARN),
    KEY("automatic_backup_retention_days", CT_STRING, CS_WARN),
    KEY("copy_tags_to_backups", CT_STRING, CS_WARN), KEY("fsx_backup_id", CT_STRING, CS_WARN),
    KEY("auto_import_policy", CT_STRING, CS_WARN), KEY("storage_type", CT_STRING, CS_WARN),
    KEY("drive_cache_type", CT_STRING, CS_WARN), KEY("data_compression_type", CT_STRING, CS_WARN),
    KEY("existing_mount_name", CT_STRING, CS_WARN), KEY("existing_dns_name", CT_STRING, CS_WARN),
    END,
};
static const struct config_key_spec dcv_keys[] = {
    KEY("enable", CT_STRING, CS_WARN), KEY("port", CT_STRING, CS_WARN),
    KEY("access_from", CT_STRING, CS_WARN),
    END,
};
static const struct config_key_spec cw_log_keys[] = {
    KEY("enable", CT_STRING, CS_WARN), KEY("retention_days", CT_STRING, CS_WARN),
    END,
};
static const struct config_key_spec dashboard_keys[] = {
    KEY("enable", CT_STRING, CS_WARN),
    END,
};

static const struct config_section_spec sections[] = {
    { "aws", false, true, aws_keys },
    { "global", false, true, global_keys },
    { "aliases", false, true, aliases_keys },
    { "cluster", true, true, cluster_keys },
    { "vpc", true, true, vpc_keys },
    { "queue", true, true, queue_keys },
    { "compute_resource", true, true, compute_resource_keys },
    { "scaling", true, true, scaling_keys },
    { "ebs", true, false, ebs_keys },
    { "efs", true, false, efs_keys },
    { "raid", true, false, raid_keys },
    { "fsx", true, false, fsx_keys },
    { "dcv", true, false, dcv_keys },
    { "cw_log", true, false, cw_log_keys },
    { "dashboard", true, false, dashboard_keys },
    { NULL, false, false, NULL },
};

const struct config_section_spec *config_spec_section(const char *kind)
{
    for (const struct config_section_spec *s = sections; s->kind; s++)
        if (strcmp(s->kind, kind) == 0)
            return s;
    return NULL;
}

const struct config_key_spec *config_spec_key(const struct config_section_spec *sec,
                                              const char *name)
{
    for (const struct config_key_spec *k = sec->keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* Edit distance, for "did you mean". Names are short (the line cap), so a
 * two-row table on the stack is enough; longer input gets no suggestion. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(size_t) * (lb + 1));
    }
    return prev[lb];
}

static const char *closest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, wl = strlen(word);
    size_t limit = wl <= 4 ? 1 : wl <= 10 ? 2 : 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

const char *config_spec_suggest_section(const char *kind)
{
    const char *cands[32];
    size_t n = 0;
    for (const struct config_section_spec *s = sections; s->kind && n < 32; s++)
        cands[n++] = s->kind;
    return closest(kind, cands, n);
}

const char *config_spec_suggest_key(const struct config_section_spec *sec, const char *name)
{
    const char *cands[96];
    size_t n = 0;
    for (const struct config_key_spec *k = sec->keys; k->name && n < 96; k++)
        cands[n++] = k->name;
    return closest(name, cands, n);
}

const char *config_spec_key_home(const char *name, bool multi_queue)
{
    const char *first = NULL;
    for (const struct config_section_spec *s = sections; s->kind; s++) {
        if (!config_spec_key(s, name))
            continue;
        bool queue_form = strcmp(s->kind, "queue") == 0 || strcmp(s->kind, "compute_resource") == 0;
        bool cluster_form = strcmp(s->kind, "cluster") == 0;
        if ((multi_queue && queue_form) || (!multi_queue && cluster_form))
            return s->kind;
        if (!first)
            first = s->kind;
    }
    return first;
}

/* configparser's getboolean, which v2 used: these words in any case. */
bool config_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "1", "yes", "true", "on", NULL };
    static const char *const no[] = { "0", "no", "false", "off", NULL };
    for (size_t i = 0; yes[i]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

bool config_parse_int(const char *s, long *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
        return false;
    *out = v;
    return true;
}

static bool all_chars(const char *s, const char *set)
{
    for (; *s; s++)
        if (!strchr(set, *s))
            return false;
    return true;
}

static const char lower_digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
static const char hex_digits[] = "0123456789abcdef";

bool config_is_label(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 30 &&
           all_chars(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
}

bool config_is_queue_name(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 30 && islower((unsigned char)s[0]) &&
           all_chars(s, "abcdefghijklmnopqrstuvwxyz0123456789-") && strcmp(s, "default") != 0;
}

/* prefix-XXXXXXXX or prefix-XXXXXXXXXXXXXXXXX: 8 or 17 lowercase hex digits. */
static bool is_aws_id(const char *s, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) != 0 || s[pl] != '-')
        return false;
    const char *hex = s + pl + 1;
    size_t n = strlen(hex);
    return (n == 8 || n == 17) && all_chars(hex, hex_digits);
}

static bool is_instance_type(const char *s)
{
    const char *dot = strchr(s, '.');
    size_t n = strlen(s);
    if (!dot || n > 32 || !islower((unsigned char)s[0]) || strchr(dot + 1, '.') || !dot[1])
        return false;
    for (const char *p = s; *p; p++)
        if (p != dot && !strchr(lower_digits, *p) && *p != '-')
            return false;
    return true;
}

/* ap-northeast-1, us-gov-west-1, cn-north-1: letters-...-digits. */
static bool is_region(const char *s)
{
    size_t n = strlen(s);
    if (n < 4 || n > 32 || !islower((unsigned char)s[0]) || !islower((unsigned char)s[1]))
        return false;
    const char *last = strrchr(s, '-');
    if (!last || last == s || !last[1] || strlen(last + 1) > 2 || !all_chars(last + 1, "0123456789"))
        return false;
    int parts = 0;
    for (const char *p = s; p < last; p++) {
        if (*p == '-') {
            if (p == s || p[-1] == '-' || p[1] == '-')
                return false;
            parts++;
        } else if (!islower((unsigned char)*p)) {
            return false;
        }
    }
    return parts >= 1;
}

static bool is_cidr(const char *s)
{
    unsigned a[4], bits;
    char tail;
    if (sscanf(s, "%3u.%3u.%3u.%3u/%2u%c", &a[0], &a[1], &a[2], &a[3], &bits, &tail) != 5)
        return false;
    if (!all_chars(s, "0123456789./"))
        return false;
    for (int i = 0; i < 4; i++)
        if (a[i] > 255)
            return false;
    if (bits > 32)
        return false;
    /* no address bits past the prefix, as EC2's rules want (10.0.0.1/16 is refused) */
    unsigned long addr = ((unsigned long)a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
    unsigned long host = bits == 32 ? 0 : (0xffffffffUL >> bits);
    return (addr & host) == 0;
}

static bool is_url(const char *s)
{
    static const char *const schemes[] = { "s3://", "https://", "http://", NULL };
    for (const char *const *sc = schemes; *sc; sc++) {
        size_t n = strlen(*sc);
        if (strncasecmp(s, *sc, n) == 0 && s[n] && s[n] != '/') {
            for (const char *p = s; *p; p++)
                if (isspace((unsigned char)*p))
                    return false;
            return true;
        }
    }
    return false;
}

static int check_ref_list(const struct config_key_spec *key, const char *value, char *why,
                          size_t whylen)
{
    char buf[256];
    if (strlen(value) >= sizeof(buf)) {
        snprintf(why, whylen, "is too long");
        return -EINVAL;
    }
    strcpy(buf, value);
    int n = 0;
    char *save = NULL;
    for (char *p = buf;; p = NULL) {
        char *tok = strtok_r(p, ",", &save);
        if (!tok)
            break;
        while (isspace((unsigned char)*tok))
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!config_is_label(tok)) {
            snprintf(why, whylen,
                     "must name [%s NAME] sections by their NAME (letters, digits, '-' and '_', "
                     "at most 30), separated by commas",
                     key->ref);
            return -EINVAL;
        }
        n++;
    }
    /* an empty item (",," or a trailing comma) shows as a missing comma count */
    int commas = 0;
    for (const char *p = value; *p; p++)
        commas += *p == ',';
    if (n == 0 || commas != n - 1) {
        snprintf(why, whylen, "has an empty item; write NAME,NAME,... with no empty entries");
        return -EINVAL;
    }
    if (n > key->max_refs) {
        snprintf(why, whylen, "names %d sections; at most %d are allowed", n, key->max_refs);
        return -EINVAL;
    }
    return 0;
}

int config_spec_check_value(const struct config_key_spec *key, const char *value, char *why,
                            size_t whylen)
{
    long l;
    bool b;
    switch (key->type) {
    case CT_STRING:
        return 0;
    case CT_INT:
        if (config_parse_int(value, &l) && l >= key->min && l <= key->max)
            return 0;
        snprintf(why, whylen, "must be a whole number from %ld to %ld", key->min, key->max);
        return -EINVAL;
    case CT_FLOAT: {
        char *end;
        errno = 0;
        double d = strtod(value, &end);
        if (*value && !*end && errno == 0 && isfinite(d) && d >= (double)key->min &&
            all_chars(value, "0123456789.+-eE"))
            return 0;
        snprintf(why, whylen, "must be a number of at least %ld", key->min);
        return -EINVAL;
    }
    case CT_BOOL:
        if (config_parse_bool(value, &b))
            return 0;
        snprintf(why, whylen, "must be true or false (or yes/no, on/off, 1/0, in any case)");
        return -EINVAL;
    case CT_ENUM: {
        size_t off = 0;
        for (const char *const *v = key->values; *v; v++)
            if (strcmp(value, *v) == 0)
                return 0;
        off += (size_t)snprintf(why, whylen, "must be one of:");
        for (const char *const *v = key->values; *v && off < whylen; v++)
            off += (size_t)snprintf(why + off, whylen - off, " %s", *v);
        return -EINVAL;
    }
    case CT_VPC_ID:
    case CT_SUBNET_ID:
    case CT_SG_ID:
    case CT_AMI_ID: {
        const char *prefix = key->type == CT_VPC_ID      ? "vpc"
                             : key->type == CT_SUBNET_ID ? "subnet"
                             : key->type == CT_SG_ID     ? "sg"
                                                         : "ami";
        if (is_aws_id(value, prefix))
            return 0;
        snprintf(why, whylen,
                 "must be an id like %s-0123456789abcdef0 (%s- and 8 or 17 lowercase hex digits)",
                 prefix, prefix);
        return -EINVAL;
    }
    case CT_INSTANCE_TYPE:
        if (is_instance_type(value))
            return 0;
        snprintf(why, whylen, "must be an EC2 instance type like t2.micro or c5n.18xlarge");
        return -EINVAL;
    case CT_REGION:
        if (is_region(value))
            return 0;
        snprintf(why, whylen, "must be an AWS region like ap-northeast-1 or us-east-1");
        return -EINVAL;
    case CT_CIDR:
        if (is_cidr(value))
            return 0;
        snprintf(why, whylen, "must be an IPv4 CIDR block like 10.0.0.0/16 (no address bits past the prefix)");
        return -EINVAL;
    case CT_URL:
        if (is_url(value))
            return 0;
        snprintf(why, whylen, "must be an s3://, https:// or http:// URL without spaces");
        return -EINVAL;
    case CT_LABEL:
        if (config_is_label(value))
            return 0;
        snprintf(why, whylen, "must be a section name: letters, digits, '-' and '_', at most 30");
        return -EINVAL;
    case CT_REF:
        if (config_is_label(value))
            return 0;
        snprintf(why, whylen,
                 "must name one [%s NAME] section by its NAME (letters, digits, '-' and '_', at "
                 "most 30)",
                 key->ref);
        return -EINVAL;
    case CT_REF_LIST:
        return check_ref_list(key, value, why, whylen);
    case CT_JSON: {
        json_error_t jerr;
        json_t *j = json_loads(value, JSON_REJECT_DUPLICATES, &jerr);
        bool ok = j && json_is_object(j);
        json_decref(j);
        if (ok)
            return 0;
        snprintf(why, whylen, "must be a JSON object like {\"key\": \"value\"}");
        return -EINVAL;
    }
    }
    snprintf(why, whylen, "has an unknown type");
    return -EINVAL;
}
