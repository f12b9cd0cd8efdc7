/* Validation of a config document and the v2 defaults. Key names were
 * checked while reading (fs/config_doc.c), in line order. Here, in order:
 * the values of [aws], [global] and [aliases]; the cluster section chosen by
 * [global] cluster_template and its values; then each section it references
 * (vpc, queues, compute resources, scaling, the not-yet-implemented ones),
 * whose values are checked when first followed; then the cross-field rules
 * and the cost guard. The first error found is the one reported. */
#include "fs/config/config_validate.h"

#include "fs/config/config_scope.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ctx {
    const struct config_doc *doc;
    struct cluster_config *cfg;
    struct config_error *err;
    const struct config_section *cluster;
    bool multi_queue;  /* the chosen cluster uses queue_settings */
    bool oom;
};

static const char *sec_name(const struct config_section *s, char *buf, size_t len)
{
    if (*s->label)
        snprintf(buf, len, "[%.40s %.40s]", s->kind, s->label);
    else
        snprintf(buf, len, "[%.40s]", s->kind);
    return buf;
}

static void warn(struct ctx *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn(struct ctx *c, int line, const char *fmt, ...)
{
    char msg[400], full[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "config:%d: %s", line, msg);
    for (size_t i = 0; i < c->cfg->n_warnings; i++)
        if (strcmp(c->cfg->warnings[i], full) == 0)
            return; /* a section referenced twice warns once */
    char **nw = realloc(c->cfg->warnings, (c->cfg->n_warnings + 1) * sizeof(*nw));
    if (!nw) {
        c->oom = true;
        return;
    }
    c->cfg->warnings = nw;
    if (!(nw[c->cfg->n_warnings] = strdup(full))) {
        c->oom = true;
        return;
    }
    c->cfg->n_warnings++;
}

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* A set value: present and not empty (an empty value means "not given"). */
static const struct config_entry *value_of(const struct config_section *s, const char *key)
{
    const struct config_entry *e = config_section_get(s, key);
    return e && *e->value ? e : NULL;
}

static int int_of(const struct config_section *s, const char *key, int def)
{
    const struct config_entry *e = value_of(s, key);
    long v;
    return e && config_parse_int(e->value, &v) ? (int)v : def;
}

static bool bool_of(const struct config_section *s, const char *key, bool def)
{
    const struct config_entry *e = value_of(s, key);
    bool v;
    return e && config_parse_bool(e->value, &v) ? v : def;
}

/* ---------------------------------------------------------------- values */

/* Values are checked in the sections the chosen cluster uses (and the
 * global ones): like v2, other [cluster] templates and the sections only
 * they use may hold values for other setups (awsbatch's "optimal"). */
static int check_values(struct ctx *c, const struct config_section *s)
{
    char why[256];
    if (!s)
        return 0;
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct config_entry *e = &s->entries[i];
        const struct config_key_spec *k = e->spec;
        if (!k)
            continue;
        if (!*e->value) {
            /* v2 converted these with int(), float() and getboolean(), which
             * refuse "", so an empty value was an error there too. */
            if (k->type == CT_INT || k->type == CT_FLOAT || k->type == CT_BOOL) {
                config_error_set(c->err, e->line, "%s has no value; write %s or remove the line",
                                 e->key, k->type == CT_BOOL ? "true or false" : "a number");
                return -EINVAL;
            }
            continue;
        }
        if (k->support == CS_IMPLEMENTED && strlen(e->value) >= CONFIG_VALUE_MAX) {
            config_error_set(c->err, e->line, "%s is %zu bytes long; it may hold at most %d",
                             e->key, strlen(e->value), CONFIG_VALUE_MAX - 1);
            return -EINVAL;
        }
        if (config_spec_check_value(k, e->value, why, sizeof(why)) == 0)
            continue;
        /* Show the value's first line only: the message is one line. */
        int shown = (int)strcspn(e->value, "\n");
        if (shown > 80)
            shown = 80;
        config_error_set(c->err, e->line, "%s = %.*s%s: %s %s", e->key, shown, e->value,
                         e->value[shown] ? "..." : "", e->key, why);
        return -EINVAL;
    }
    return 0;
}

/* Warn once for each accepted-but-not-implemented key set in s. */
static void warn_unimplemented(struct ctx *c, const struct config_section *s)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct config_entry *e = &s->entries[i];
        if (e->spec && e->spec->support == CS_WARN && *e->value)
            warn(c, e->line, "%s is accepted but not implemented yet; ignored", e->key);
    }
}

/* ---------------------------------------------------------------- references */

/* Split a validated comma list into trimmed labels. Returns the count. */
static int split_labels(const char *value, char labels[][CONFIG_NAME_MAX], int max)
{
    int n = 0;
    const char *p = value;
    while (*p && n < max) {
        while (isspace((unsigned char)*p))
            p++;
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *q = end;
        while (q > p && isspace((unsigned char)q[-1]))
            q--;
        size_t len = (size_t)(q - p);
        if (len >= CONFIG_NAME_MAX)
            len = CONFIG_NAME_MAX - 1;
        memcpy(labels[n], p, len);
        labels[n][len] = '\0';
        n++;
        p = *end ? end + 1 : end;
    }
    return n;
}

static const char *required_keys_of(const char *kind)
{
    if (strcmp(kind, "vpc") == 0)
        return "vpc_id and master_subnet_id";
    if (strcmp(kind, "queue") == 0)
        return "compute_resource_settings";
    if (strcmp(kind, "compute_resource") == 0)
        return "instance_type";
    return NULL;
}

/* Follow a reference key: the section it names, or NULL with the error set. */
static const struct config_section *follow(struct ctx *c, const struct config_entry *e,
                                           const char *label)
{
    const char *kind = e->spec->ref;
    const struct config_section *s = config_doc_find(c->doc, kind, label);
    if (s)
        return check_values(c, s) == 0 ? s : NULL;
    const char *req = required_keys_of(kind);
    if (e->spec->type == CT_REF)
        config_error_set(c->err, e->line,
                         "%s = %s names a [%s %s] section that the file does not have; add it%s%s",
                         e->key, label, kind, label, req ? " with " : "", req ? req : "");
    else
        config_error_set(c->err, e->line,
                         "%s names '%s', but the file has no [%s %s] section; add it%s%s", e->key,
                         label, kind, label, req ? " with " : "", req ? req : "");
    return NULL;
}

static int check_refs_exist(struct ctx *c, const struct config_entry *e)
{
    char labels[CONFIG_MAX_QUEUES + 1][CONFIG_NAME_MAX];
    int n = split_labels(e->value, labels, CONFIG_MAX_QUEUES + 1);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0) {
                config_error_set(c->err, e->line, "%s names '%s' twice; name each section once",
                                 e->key, labels[i]);
                return -EINVAL;
            }
        if (!follow(c, e, labels[i]))
            return -EINVAL;
    }
    return 0;
}

/* ---------------------------------------------------------------- scope */

/* "with queue_settings, " when where a key goes depends on the config's
 * form (placement_group: [cluster] or [queue]), else "". */
static const char *form_note(const char *key, bool multi_queue)
{
    bool in_cluster = config_spec_key(config_spec_section("cluster"), key);
    bool in_queue = config_spec_key(config_spec_section("queue"), key) ||
                    config_spec_key(config_spec_section("compute_resource"), key);
    if (!in_cluster || !in_queue)
        return "";
    return multi_queue ? "with queue_settings, " : "without queue_settings, ";
}

/* Why entry e of s cannot be taken as written, into buf; false if it can. */
static bool entry_problem(const struct ctx *c, const struct config_section *s,
                          const struct config_entry *e, char *buf, size_t len)
{
    char d[96];
    if (!s->spec)
        return false; /* the section's own problem covers its keys */
    if (!e->spec) {
        const char *hint = config_spec_suggest_key(s->spec, e->key);
        const char *home = config_spec_key_home(e->key, c->multi_queue);
        if (hint)
            snprintf(buf, len, "unknown key '%s' in %s; did you mean '%s'?", e->key,
                     sec_name(s, d, sizeof(d)), hint);
        else if (home)
            snprintf(buf, len, "key '%s' does not belong in %s; %sit goes in a [%s%s] section",
                     e->key, sec_name(s, d, sizeof(d)), form_note(e->key, c->multi_queue), home,
                     config_spec_section(home)->labelled ? " NAME" : "");
        else
            snprintf(buf, len, "unknown key '%s' in %s; it is not a ParallelCluster v2 key",
                     e->key, sec_name(s, d, sizeof(d)));
        return true;
    }
    bool off;
    if (e->spec->support == CS_NOT_YET && *e->value &&
        !(e->spec->type == CT_BOOL && config_parse_bool(e->value, &off) && !off)) {
        snprintf(buf, len,
                 "%s is not implemented yet in pclusterfs, and ignoring it would change the "
                 "cluster you asked for: %s; remove the line to go on without it",
                 e->key, e->spec->note);
        return true;
    }
    return false;
}

/* Refuse what is wrong in the sections v2 reads, in line order; warn about
 * what is wrong in the others, which v2 ignored. */
static int check_scope(struct ctx *c)
{
    const struct config_doc *doc = c->doc;
    bool *read = calloc(doc->n_sections ? doc->n_sections : 1, sizeof(*read));
    if (!read) {
        c->oom = true;
        return -ENOMEM;
    }
    config_scope_mark(doc, c->cluster, read);
    /* No cluster to read: v2 would have stopped, and a section it could not
     * read ([clustr default]) is the likeliest reason; be strict everywhere. */
    for (size_t i = 0; i < doc->n_sections && !c->cluster; i++)
        read[i] = true;
    char msg[400], d[96];
    int rc = 0;
    for (size_t i = 0; i < doc->n_sections && rc == 0; i++) {
        const struct config_section *s = &doc->sections[i];
        if (*s->problem) {
            if (read[i]) {
                config_error_set(c->err, s->line, "%s", s->problem);
                rc = -EINVAL;
            } else {
                warn(c, s->line, "%s (ParallelCluster v2 did not read this section, and "
                                 "pclusterfs ignores it)", s->problem);
            }
            continue;
        }
        for (size_t j = 0; j < s->n_entries; j++) {
            if (!entry_problem(c, s, &s->entries[j], msg, sizeof(msg)))
                continue;
            if (read[i]) {
                config_error_set(c->err, s->entries[j].line, "%s", msg);
                rc = -EINVAL;
                break;
            }
            warn(c, s->entries[j].line, "%s (ignored: %s is not used by the chosen cluster)",
                 msg, sec_name(s, d, sizeof(d)));
        }
    }
    free(read);
    return rc;
}

/* ---------------------------------------------------------------- cluster */

static const struct config_section *choose_cluster(struct ctx *c, bool report)
{
    const struct config_section *global = config_doc_find(c->doc, "global", "");
    const struct config_entry *tmpl = value_of(global, "cluster_template");
    const char *label = tmpl ? tmpl->value : "default";
    const struct config_section *s = config_doc_find(c->doc, "cluster", label);
    if (s || !report)
        return s;
    if (tmpl) {
        config_error_set(c->err, tmpl->line,
                         "cluster_template = %s names a [cluster %s] section that the file does "
                         "not have; add it or fix the name",
                         label, label);
        return NULL;
    }
    const struct config_section *other = NULL;
    for (size_t i = 0; i < c->doc->n_sections && !other; i++)
        if (strcmp(c->doc->sections[i].kind, "cluster") == 0)
            other = &c->doc->sections[i];
    if (other)
        config_error_set(c->err, other->line,
                         "there is no [cluster default] section and [global] names no "
                         "cluster_template; add [global] cluster_template = %s, or rename the "
                         "section [cluster default]",
                         other->label);
    else
        config_error_set(c->err, 0,
                         "the config has no [cluster default] section; add one with key_name, "
                         "base_os, scheduler and vpc_settings");
    return NULL;
}

static const struct config_entry *require(struct ctx *c, const struct config_section *s,
                                          const char *key, const char *how)
{
    const struct config_entry *e = value_of(s, key);
    if (!e) {
        char sn[96];
        config_error_set(c->err, s->line, "%s has no %s; add %s", sec_name(s, sn, sizeof(sn)),
                         key, how);
    }
    return e;
}

static int check_scheduler(struct ctx *c, const struct config_entry *e)
{
    if (strcmp(e->value, "slurm") == 0)
        return 0;
    if (strcmp(e->value, "sge") == 0 || strcmp(e->value, "torque") == 0)
        config_error_set(c->err, e->line,
                         "scheduler = %s is not supported: ParallelCluster's support for SGE and "
                         "Torque ended on 2021-12-31; use scheduler = slurm",
                         e->value);
    else if (strcmp(e->value, "awsbatch") == 0)
        config_error_set(c->err, e->line,
                         "scheduler = awsbatch is not supported by pclusterfs; use scheduler = slurm");
    else
        config_error_set(c->err, e->line,
                         "scheduler = %.64s is not a ParallelCluster scheduler; use scheduler = "
                         "slurm",
                         e->value);
    return -EINVAL;
}

static int check_base_os(struct ctx *c, const struct config_entry *e)
{
    static const char *const supported[] = { "alinux2", "centos7", "ubuntu1804", "ubuntu2004",
                                             NULL };
    for (const char *const *p = supported; *p; p++)
        if (strcmp(e->value, *p) == 0)
            return 0;
    config_error_set(c->err, e->line,
                     "base_os = %.64s is not supported; use one of alinux2, centos7, ubuntu1804, "
                     "ubuntu2004",
                     e->value);
    return -EINVAL;
}

/* The IAM keys (v2's "NONE" is "not given"). pclusterfs changes only roles
 * it made itself, so a role of the user's (ec2_iam_role) gets no policy
 * from the other keys: that combination is refused rather than ignored. */
static int fill_iam(struct ctx *c)
{
    struct cluster_config *cfg = c->cfg;
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        { "ec2_iam_role", offsetof(struct cluster_config, ec2_iam_role) },
        { "additional_iam_policies", offsetof(struct cluster_config, additional_iam_policies) },
        { "s3_read_resource", offsetof(struct cluster_config, s3_read_resource) },
        { "s3_read_write_resource", offsetof(struct cluster_config, s3_read_write_resource) },
    };
    const struct config_entry *role = NULL;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct config_entry *e = value_of(c->cluster, keys[i].key);
        if (!e || strcasecmp(e->value, "NONE") == 0)
            continue;
        char *dst = (char *)cfg + keys[i].off;
        copy(dst, CONFIG_VALUE_MAX, e->value);
        const char *bad = NULL;
        if (i == 0) {
            role = e;
            if (strlen(dst) > 64 || strspn(dst, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                "0123456789+=,.@_-") != strlen(dst))
                bad = "an IAM role name (up to 64 of A-Z a-z 0-9 +=,.@_-)";
        } else if (i == 1) {
            for (const char *p = dst; !bad && *p;) {
                size_t n = strcspn(p, ",");
                char arn[CONFIG_VALUE_MAX];
                snprintf(arn, sizeof(arn), "%.*s", (int)n, p);
                const char *t = arn + strspn(arn, " ");
                if (strncmp(t, "arn:", 4) != 0 || !strstr(t, ":iam::") || !strstr(t, ":policy/"))
                    bad = "a comma-separated list of IAM policy ARNs (arn:aws:iam::...:policy/...)";
                p += n + (p[n] == ',');
            }
        } else if (strcmp(dst, "*") != 0 &&
                   (strncmp(dst, "arn:", 4) != 0 || !strstr(dst, ":s3:::") || strchr(dst, ' '))) {
            bad = "\"*\" or an S3 ARN (arn:aws:s3:::bucket/prefix*)";
        }
        if (bad) {
            config_error_set(c->err, e->line, "%s = %s: this is not %s", keys[i].key, e->value, bad);
            return -EINVAL;
        }
        if (role && i > 0) {
            config_error_set(c->err, e->line,
                             "%s cannot go with ec2_iam_role (line %d): pclusterfs changes only "
                             "the roles it makes, so give %s its policies in IAM and remove "
                             "this line", keys[i].key, role->line, role->value);
            return -EINVAL;
        }
    }
    return 0;
}

static int fill_vpc(struct ctx *c)
{
    struct cluster_config *cfg = c->cfg;
    const struct config_entry *ref =
        require(c, c->cluster, "vpc_settings", "vpc_settings = NAME and a [vpc NAME] section with "
                                               "vpc_id and master_subnet_id");
    if (!ref)
        return -EINVAL;
    const struct config_section *vpc = follow(c, ref, ref->value);
    if (!vpc)
        return -EINVAL;
    const struct config_entry *vpc_id = require(c, vpc, "vpc_id", "vpc_id = vpc-...");
    if (!vpc_id)
        return -EINVAL;
    const struct config_entry *subnet =
        require(c, vpc, "master_subnet_id", "master_subnet_id = subnet-...");
    if (!subnet)
        return -EINVAL;
    copy(cfg->vpc_section, sizeof(cfg->vpc_section), vpc->label);
    copy(cfg->vpc_id, sizeof(cfg->vpc_id), vpc_id->value);
    copy(cfg->master_subnet_id, sizeof(cfg->master_subnet_id), subnet->value);
    const struct config_entry *e = value_of(vpc, "compute_subnet_id");
    copy(cfg->compute_subnet_id, sizeof(cfg->compute_subnet_id), e ? e->value : subnet->value);
    cfg->lines.vpc_id = vpc_id->line;
    cfg->lines.master_subnet_id = subnet->line;
    cfg->lines.compute_subnet_id = e ? e->line : subnet->line;
    e = value_of(vpc, "additional_sg");
    copy(cfg->additional_sg, sizeof(cfg->additional_sg), e ? e->value : "");
    cfg->lines.additional_sg = e ? e->line : 0;
    e = value_of(vpc, "vpc_security_group_id");
    copy(cfg->vpc_security_group_id, sizeof(cfg->vpc_security_group_id), e ? e->value : "");
    cfg->lines.vpc_security_group_id = e ? e->line : 0;
    cfg->use_public_ips = bool_of(vpc, "use_public_ips", true);
    e = value_of(vpc, "ssh_from");
    copy(cfg->ssh_from, sizeof(cfg->ssh_from), e ? e->value : "0.0.0.0/0");
    warn_unimplemented(c, vpc);
    return 0;
}

static void resource_name(char *dst, size_t len, const char *instance_type)
{
    size_t j = 0;
    for (size_t i = 0; instance_type[i] && j + 1 < len; i++)
        if (instance_type[i] != '.')
            dst[j++] = instance_type[i];
    dst[j] = '\0';
}

/* Keys of the v2 single-queue model that v2's multi-queue model did not have. */
static const char *const single_queue_keys[] = {
    "compute_instance_type", "initial_queue_size", "max_queue_size", "maintain_initial_size",
    "cluster_type", "spot_price", "spot_bid_percentage", "placement", "placement_group",
    "min_vcpus", "desired_vcpus", "max_vcpus", NULL,
};
/* Keys a queue may set, or the cluster for all queues, but not both. */
static const char *const queue_or_cluster_keys[] = {
    "disable_hyperthreading", "enable_efa", "enable_efa_gdr", NULL,
};

static int fill_resource(struct ctx *c, struct config_queue *q, const struct config_entry *ref,
                         const struct config_section *s)
{
    const struct config_entry *it = require(c, s, "instance_type", "instance_type = TYPE, e.g. "
                                                                   "instance_type = t2.micro");
    if (!it)
        return -EINVAL;
    struct config_compute_resource *r = &q->resources[q->n_resources];
    copy(r->section, sizeof(r->section), s->label);
    copy(r->instance_type, sizeof(r->instance_type), it->value);
    r->instance_type_line = it->line;
    resource_name(r->name, sizeof(r->name), it->value);
    for (size_t i = 0; i < q->n_resources; i++)
        if (strcmp(q->resources[i].instance_type, r->instance_type) == 0) {
            config_error_set(c->err, ref->line,
                             "queue %s uses instance type %s twice ([compute_resource %s] and "
                             "[compute_resource %s]); compute resources of a queue need different "
                             "instance types",
                             q->name, r->instance_type, q->resources[i].section, r->section);
            return -EINVAL;
        }
    r->min_count = int_of(s, "min_count", 0);
    r->max_count = int_of(s, "max_count", 10);
    r->initial_count = int_of(s, "initial_count", r->min_count);
    const struct config_entry *e;
    if (r->max_count < r->min_count) {
        e = value_of(s, "max_count");
        config_error_set(c->err, e ? e->line : s->line,
                         "max_count (%d) is less than min_count (%d) in [compute_resource %s]",
                         r->max_count, r->min_count, s->label);
        return -EINVAL;
    }
    if (r->initial_count < r->min_count || r->initial_count > r->max_count) {
        e = value_of(s, "initial_count");
        config_error_set(c->err, e ? e->line : s->line,
                         "initial_count (%d) must be from min_count (%d) to max_count (%d) in "
                         "[compute_resource %s]",
                         r->initial_count, r->min_count, r->max_count, s->label);
        return -EINVAL;
    }
    r->static_count = r->initial_count;
    r->dynamic_count = r->max_count - r->static_count;
    e = value_of(s, "spot_price");
    r->spot_price = e ? strtod(e->value, NULL) : 0;
    if (e && !q->spot)
        warn(c, e->line, "spot_price is set but queue %s's compute_type is not spot; its nodes "
                         "launch on demand and spot_price is ignored, as in v2",
             q->name);
    r->disable_hyperthreading = q->disable_hyperthreading;
    warn_unimplemented(c, s);
    q->n_resources++;
    return 0;
}

static int fill_queues_multi(struct ctx *c, const struct config_entry *qs)
{
    struct cluster_config *cfg = c->cfg;
    for (const char *const *k = single_queue_keys; *k; k++) {
        const struct config_entry *e = value_of(c->cluster, *k);
        if (e) {
            config_error_set(c->err, e->line,
                             "%s cannot be used with queue_settings; set it per queue in "
                             "[queue]/[compute_resource] sections, or remove queue_settings",
                             *k);
            return -EINVAL;
        }
    }
    if (check_refs_exist(c, qs) != 0)
        return -EINVAL;
    char labels[CONFIG_MAX_QUEUES][CONFIG_NAME_MAX];
    int n = split_labels(qs->value, labels, CONFIG_MAX_QUEUES);
    for (int i = 0; i < n; i++) {
        if (!config_is_queue_name(labels[i])) {
            config_error_set(c->err, qs->line,
                             "queue name '%s' is not valid: a queue name starts with a lowercase "
                             "letter, holds only lowercase letters, digits and '-', has at most 30 "
                             "characters, and is not 'default'",
                             labels[i]);
            return -EINVAL;
        }
        const struct config_section *qsec = config_doc_find(c->doc, "queue", labels[i]);
        for (const char *const *k = queue_or_cluster_keys; *k; k++) {
            const struct config_entry *in_q = value_of(qsec, *k);
            if (in_q && value_of(c->cluster, *k)) {
                config_error_set(c->err, in_q->line,
                                 "%s is set both in [cluster %s] and in [queue %s]; set it in one "
                                 "place only",
                                 *k, c->cluster->label, qsec->label);
                return -EINVAL;
            }
        }
        struct config_queue *q = &cfg->queues[cfg->n_queues];
        copy(q->name, sizeof(q->name), qsec->label);
        const struct config_entry *ct = value_of(qsec, "compute_type");
        q->spot = ct && strcmp(ct->value, "spot") == 0;
        q->disable_hyperthreading = bool_of(qsec, "disable_hyperthreading", cfg->disable_hyperthreading);
        q->enable_efa = bool_of(qsec, "enable_efa", false);
        const struct config_entry *pg = value_of(qsec, "placement_group");
        copy(q->placement_group, sizeof(q->placement_group), pg ? pg->value : "");
        const struct config_entry *crs =
            require(c, qsec, "compute_resource_settings",
                    "compute_resource_settings = NAME and a [compute_resource NAME] section with "
                    "instance_type");
        if (!crs || check_refs_exist(c, crs) != 0)
            return -EINVAL;
        warn_unimplemented(c, qsec);
        char crl[CONFIG_MAX_RESOURCES][CONFIG_NAME_MAX];
        int m = split_labels(crs->value, crl, CONFIG_MAX_RESOURCES);
        for (int j = 0; j < m; j++)
            if (fill_resource(c, q, crs, config_doc_find(c->doc, "compute_resource", crl[j])) != 0)
                return -EINVAL;
        cfg->n_queues++;
    }
    return 0;
}

static int fill_queue_single(struct ctx *c)
{
    struct cluster_config *cfg = c->cfg;
    const struct config_section *s = c->cluster;
    const struct config_entry *e = value_of(s, "compute_instance_type");
    copy(cfg->compute_instance_type, sizeof(cfg->compute_instance_type),
         e ? e->value : "t2.micro");
    cfg->initial_queue_size = int_of(s, "initial_queue_size", 0);
    cfg->max_queue_size = int_of(s, "max_queue_size", 10);
    cfg->maintain_initial_size = bool_of(s, "maintain_initial_size", false);
    const struct config_entry *init = value_of(s, "initial_queue_size");
    const struct config_entry *max = value_of(s, "max_queue_size");
    if (cfg->max_queue_size < 1) {
        config_error_set(c->err, max->line, "max_queue_size must be at least 1");
        return -EINVAL;
    }
    if (cfg->initial_queue_size > cfg->max_queue_size) {
        config_error_set(c->err, init ? init->line : max->line,
                         "initial_queue_size (%d) is larger than max_queue_size (%d); raise "
                         "max_queue_size or lower initial_queue_size",
                         cfg->initial_queue_size, cfg->max_queue_size);
        return -EINVAL;
    }
    if (cfg->maintain_initial_size && cfg->initial_queue_size == 0) {
        e = value_of(s, "maintain_initial_size");
        config_error_set(c->err, e->line,
                         "maintain_initial_size = true needs initial_queue_size of at least 1");
        return -EINVAL;
    }
    e = value_of(s, "cluster_type");

    /* v2's own conversion (hit_converter.py): queue "compute", one compute
     * resource; initial_queue_size becomes min_count when
     * maintain_initial_size is true, else initial_count. */
    struct config_queue *q = &cfg->queues[0];
    copy(q->name, sizeof(q->name), "compute");
    q->spot = e && strcmp(e->value, "spot") == 0;
    q->disable_hyperthreading = cfg->disable_hyperthreading;
    const struct config_entry *pg = value_of(s, "placement_group");
    copy(q->placement_group, sizeof(q->placement_group), pg ? pg->value : "");
    struct config_compute_resource *r = &q->resources[0];
    copy(r->section, sizeof(r->section), "default");
    copy(r->instance_type, sizeof(r->instance_type), cfg->compute_instance_type);
    const struct config_entry *cit = value_of(s, "compute_instance_type");
    r->instance_type_line = cit ? cit->line : 0;
    resource_name(r->name, sizeof(r->name), r->instance_type);
    r->max_count = cfg->max_queue_size;
    r->initial_count = cfg->initial_queue_size;
    r->min_count = cfg->maintain_initial_size ? cfg->initial_queue_size : 0;
    r->static_count = r->initial_count;
    r->dynamic_count = r->max_count - r->static_count;
    r->disable_hyperthreading = q->disable_hyperthreading;
    const struct config_entry *price = value_of(s, "spot_price");
    r->spot_price = price ? strtod(price->value, NULL) : 0;
    if (price && !q->spot)
        warn(c, price->line, "spot_price is set but cluster_type is not spot; nodes launch on "
                             "demand and spot_price is ignored, as in v2");
    q->n_resources = 1;
    cfg->n_queues = 1;
    return 0;
}

static int check_cost(struct ctx *c, const struct config_limits *limits,
                      const struct config_entry *qs)
{
    struct cluster_config *cfg = c->cfg;
    long total = 1;
    for (size_t i = 0; i < cfg->n_queues; i++)
        for (size_t j = 0; j < cfg->queues[i].n_resources; j++)
            total += cfg->queues[i].resources[j].max_count;
    int limit = limits && limits->max_instances > 0 ? limits->max_instances
                                                    : CONFIG_DEFAULT_MAX_INSTANCES;
    cfg->max_instances_needed = total > 1000000 ? 1000000 : (int)total;
    if (total <= limit)
        return 0;
    if (qs) {
        config_error_set(c->err, qs->line,
                         "this cluster can grow to %ld instances (1 head node + the max_count of "
                         "every compute resource), more than this mount's max_instances of %d; "
                         "lower max_count, or mount with -o max_instances=%ld to allow it",
                         total, limit, total);
    } else {
        const struct config_entry *max = value_of(c->cluster, "max_queue_size");
        config_error_set(c->err, max ? max->line : c->cluster->line,
                         "this cluster can grow to %ld instances (1 head node + max_queue_size "
                         "%d), more than this mount's max_instances of %d; lower max_queue_size, "
                         "or mount with -o max_instances=%ld to allow it",
                         total, cfg->max_queue_size, limit, total);
    }
    return -EINVAL;
}

static int fill_cluster(struct ctx *c, const struct config_limits *limits)
{
    struct cluster_config *cfg = c->cfg;
    const struct config_section *s = c->cluster;
    copy(cfg->cluster_section, sizeof(cfg->cluster_section), s->label);

    /* Optional since v2.11.0, which warned that the nodes take no SSH key. */
    const struct config_entry *e = value_of(s, "key_name");
    if (e) {
        copy(cfg->key_name, sizeof(cfg->key_name), e->value);
        cfg->lines.key_name = e->line;
    } else {
        const struct config_entry *empty = config_section_get(s, "key_name");
        warn(c, empty ? empty->line : s->line,
             "no key_name: the nodes get no EC2 key pair, so nobody can log in to them with "
             "SSH; add key_name = NAME of a key pair to allow it");
    }
    e = require(c, s, "base_os", "base_os = alinux2 (or centos7, ubuntu1804, ubuntu2004)");
    if (!e || check_base_os(c, e) != 0)
        return -EINVAL;
    copy(cfg->base_os, sizeof(cfg->base_os), e->value);
    cfg->lines.base_os = e->line;
    /* A scheduler that is set was judged first (config_validate). */
    if (!require(c, s, "scheduler", "scheduler = slurm (v2 required it; slurm is the only "
                                    "scheduler pclusterfs supports)"))
        return -EINVAL;
    copy(cfg->scheduler, sizeof(cfg->scheduler), "slurm");

    e = value_of(s, "master_instance_type");
    copy(cfg->master_instance_type, sizeof(cfg->master_instance_type), e ? e->value : "t2.micro");
    cfg->lines.master_instance_type = e ? e->line : 0;
    e = value_of(s, "custom_ami");
    copy(cfg->custom_ami, sizeof(cfg->custom_ami), e ? e->value : "");
    cfg->lines.custom_ami = e ? e->line : 0;
    static const struct {
        const char *key;
        size_t off;
    } texts[] = {
        { "pre_install", offsetof(struct cluster_config, pre_install) },
        { "pre_install_args", offsetof(struct cluster_config, pre_install_args) },
        { "post_install", offsetof(struct cluster_config, post_install) },
        { "post_install_args", offsetof(struct cluster_config, post_install_args) },
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        e = value_of(s, texts[i].key);
        copy((char *)cfg + texts[i].off, CONFIG_VALUE_MAX, e ? e->value : "");
    }
    cfg->disable_hyperthreading = bool_of(s, "disable_hyperthreading", false);
    if (fill_iam(c) != 0)
        return -EINVAL;

    if (fill_vpc(c) != 0)
        return -EINVAL;

    /* Every other reference must name an existing section. */
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct config_entry *ref = &s->entries[i];
        if (!*ref->value || !ref->spec || (ref->spec->type != CT_REF && ref->spec->type != CT_REF_LIST))
            continue;
        if (strcmp(ref->key, "vpc_settings") == 0 || strcmp(ref->key, "queue_settings") == 0)
            continue;
        if (check_refs_exist(c, ref) != 0)
            return -EINVAL;
    }
    cfg->scaledown_idletime = 10;
    e = value_of(s, "scaling_settings");
    if (e)
        cfg->scaledown_idletime =
            int_of(config_doc_find(c->doc, "scaling", e->value), "scaledown_idletime", 10);

    const struct config_entry *qs = value_of(s, "queue_settings");
    cfg->queue_settings_used = qs != NULL;
    if ((qs ? fill_queues_multi(c, qs) : fill_queue_single(c)) != 0)
        return -EINVAL;
    if (check_cost(c, limits, qs) != 0)
        return -EINVAL;
    warn_unimplemented(c, s);
    return 0;
}

int config_validate(const struct config_doc *doc, const struct config_limits *limits,
                    struct cluster_config *cfg, struct config_error *err)
{
    struct ctx c = { .doc = doc, .cfg = cfg, .err = err };
    if (doc->n_sections == 0 && doc->meaningful_lines == 0) {
        config_error_set(err, 0, "the config is empty; a config needs at least a [cluster default] "
                                 "section with key_name, base_os, scheduler and vpc_settings, and "
                                 "the [vpc NAME] section it names");
        return -EINVAL;
    }
    const struct config_section *aws = config_doc_find(doc, "aws", "");
    const struct config_section *global = config_doc_find(doc, "global", "");
    if (check_values(&c, aws) != 0 || check_values(&c, global) != 0 ||
        check_values(&c, config_doc_find(doc, "aliases", "")) != 0)
        return -EINVAL;
    const struct config_entry *region = value_of(aws, "aws_region_name");
    copy(cfg->region, sizeof(cfg->region), region ? region->value : "");

    const struct config_entry *sanity = value_of(global, "sanity_check");
    bool sane;
    if (sanity && config_parse_bool(sanity->value, &sane) && !sane)
        warn(&c, sanity->line,
             "sanity_check = false is accepted, but pclusterfs checks every config anyway");
    const struct config_section *aliases = config_doc_find(doc, "aliases", "");
    if (aliases)
        warn_unimplemented(&c, aliases);

    /* The scheduler decides what every other key means (v2's awsbatch took
     * compute_instance_type = optimal), so it is judged before them. */
    const struct config_section *chosen = choose_cluster(&c, false);
    const struct config_entry *sched = value_of(chosen, "scheduler");
    if (sched && check_scheduler(&c, sched) != 0)
        return -EINVAL;
    c.cluster = chosen;
    c.multi_queue = chosen && value_of(chosen, "queue_settings");
    if (check_scope(&c) != 0)
        return c.oom ? -ENOMEM : -EINVAL;
    c.cluster = choose_cluster(&c, true);
    if (!c.cluster || check_values(&c, c.cluster) != 0)
        return -EINVAL;
    int rc = fill_cluster(&c, limits);
    if (rc == 0 && c.oom) {
        config_error_set(err, 0, "out of memory");
        return -ENOMEM;
    }
    return rc;
}
