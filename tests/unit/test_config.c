/* Unit tests of the ParallelCluster v2 config parser and validator
 * (fs/config*.c): every rule, every default, the acceptance example,
 * line numbers with CRLF and continuation lines, long lines, comments,
 * credentials, updates, node names. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config/config.h"
#include "fs/config/config_spec.h"
#include "tests/unit/check.h"

static char err[1024];

/* The acceptance example from the ParallelCluster 101 guide. */
static const char example[] = "[aws]\n"
                              "aws_region_name = ap-northeast-1\n"
                              "\n"
                              "[cluster default]\n"
                              "key_name = lab-3-your-key\n"
                              "vpc_settings = public\n"
                              "base_os = alinux2\n"
                              "scheduler = slurm\n";

static const char vpc_public[] = "\n[vpc public]\n"
                                 "vpc_id = vpc-0123456789abcdef0\n"
                                 "master_subnet_id = subnet-0123456789abcdef0\n";

/* example + vpc_public + extra, in a static buffer. */
static const char *with(const char *extra)
{
    static char buf[16384];
    snprintf(buf, sizeof(buf), "%s%s%s", example, vpc_public, extra);
    return buf;
}

/* example + extra (lines from 9, in [cluster default]) + vpc_public. */
static const char *cl(const char *extra)
{
    static char buf[16384];
    snprintf(buf, sizeof(buf), "%s%s%s", example, extra, vpc_public);
    return buf;
}

static struct cluster_config *parse_lim(const char *text, int max_instances)
{
    struct config_limits lim = { .max_instances = max_instances };
    struct cluster_config *cfg = NULL;
    int rc = config_parse(text, strlen(text), &lim, &cfg, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "  unexpected failure %d: %s\n", rc, err);
        CHECK(cfg == NULL);
        return NULL;
    }
    return cfg;
}

static struct cluster_config *ok(const char *text)
{
    struct cluster_config *cfg = parse_lim(text, 64);
    CHECK(cfg != NULL);
    return cfg;
}

/* Expect -EINVAL; returns the message for further checks. */
static const char *bad_len(const char *text, size_t len)
{
    struct config_limits lim = { .max_instances = 64 };
    struct cluster_config *cfg = (struct cluster_config *)0x1;
    int rc = config_parse(text, len, &lim, &cfg, err, sizeof(err));
    CHECK_INT(rc, -EINVAL);
    CHECK(cfg == NULL);
    if (rc == 0)
        config_free(cfg);
    CHECK(strncmp(err, "config:", 7) == 0);
    CHECK(strchr(err, '\n') == NULL);
    return err;
}

static const char *bad(const char *text)
{
    return bad_len(text, strlen(text));
}

/* example + "[vpc public]" + lines (the vpc section's first key on line 10). */
static const char *vpc_with(const char *lines)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%s[vpc public]\n%s", example, lines);
    return buf;
}

/* ------------------------------------------------------------ acceptance */

static void test_acceptance_example_refused(void)
{
    CHECK_STR(bad(example), "config:6: vpc_settings = public names a [vpc public] section that "
                            "the file does not have; add it with vpc_id and master_subnet_id");
}

static void test_acceptance_example_with_vpc_passes(void)
{
    struct cluster_config *cfg = ok(with(""));
    if (!cfg)
        return;
    CHECK_STR(cfg->region, "ap-northeast-1");
    CHECK_STR(cfg->cluster_section, "default");
    CHECK_STR(cfg->key_name, "lab-3-your-key");
    CHECK_STR(cfg->base_os, "alinux2");
    CHECK_STR(cfg->scheduler, "slurm");
    CHECK_STR(cfg->vpc_section, "public");
    CHECK_STR(cfg->vpc_id, "vpc-0123456789abcdef0");
    CHECK_STR(cfg->master_subnet_id, "subnet-0123456789abcdef0");
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);
}

/* ------------------------------------------------------------ defaults */

static void test_v2_defaults(void)
{
    struct cluster_config *cfg = ok(with(""));
    if (!cfg)
        return;
    CHECK_STR(cfg->master_instance_type, "t2.micro");
    CHECK_STR(cfg->compute_instance_type, "t2.micro");
    CHECK_INT(cfg->initial_queue_size, 0);
    CHECK_INT(cfg->max_queue_size, 10);
    CHECK(!cfg->maintain_initial_size);
    CHECK_STR(cfg->custom_ami, "");
    CHECK_STR(cfg->compute_subnet_id, "subnet-0123456789abcdef0"); /* master's */
    CHECK_STR(cfg->additional_sg, "");
    CHECK_STR(cfg->vpc_security_group_id, "");
    CHECK(cfg->use_public_ips);
    CHECK_STR(cfg->ssh_from, "0.0.0.0/0");
    CHECK_STR(cfg->pre_install, "");
    CHECK_STR(cfg->pre_install_args, "");
    CHECK_STR(cfg->post_install, "");
    CHECK_STR(cfg->post_install_args, "");
    CHECK(!cfg->queue_settings_used);
    CHECK(!cfg->disable_hyperthreading);
    CHECK_INT(cfg->scaledown_idletime, 10);
    CHECK_INT(cfg->n_queues, 1);
    CHECK_STR(cfg->queues[0].name, "compute");
    CHECK(!cfg->queues[0].spot);
    CHECK_INT(cfg->queues[0].n_resources, 1);
    const struct config_compute_resource *r = &cfg->queues[0].resources[0];
    CHECK_STR(r->name, "t2micro");
    CHECK_STR(r->section, "default");
    CHECK_STR(r->instance_type, "t2.micro");
    CHECK_INT(r->min_count, 0);
    CHECK_INT(r->initial_count, 0);
    CHECK_INT(r->static_count, 0);
    CHECK_INT(r->max_count, 10);
    CHECK_INT(r->dynamic_count, 10); /* the guide's cluster scales from nothing */
    CHECK(config_is_dynamic_node(cfg, "compute-dy-t2micro-1"));
    CHECK(config_is_dynamic_node(cfg, "compute-dy-t2micro-10"));
    CHECK(!config_is_dynamic_node(cfg, "compute-dy-t2micro-11"));
    CHECK(!config_is_dynamic_node(cfg, "compute-dy-t2micro-0"));
    CHECK(!config_is_dynamic_node(cfg, "compute-dy-t2micro-01"));
    CHECK(!config_is_dynamic_node(cfg, "compute-dy-t2micro-1x"));
    CHECK(!config_is_dynamic_node(cfg, "compute-st-t2micro-1"));
    CHECK(!config_is_dynamic_node(cfg, "head"));
    CHECK_INT(cfg->max_instances_needed, 11);
    config_free(cfg);
}

static void test_no_aws_section_means_mount_region(void)
{
    const char *t = "[cluster default]\nkey_name = k\nvpc_settings = v\nbase_os = centos7\n"
                    "scheduler = slurm\n[vpc v]\nvpc_id = vpc-01234567\n"
                    "master_subnet_id = subnet-01234567\ncompute_subnet_id = subnet-89abcdef\n";
    struct cluster_config *cfg = ok(t);
    if (!cfg)
        return;
    CHECK_STR(cfg->region, "");
    CHECK_STR(cfg->compute_subnet_id, "subnet-89abcdef");
    CHECK_STR(cfg->vpc_id, "vpc-01234567");
    config_free(cfg);
}

static void test_values_set(void)
{
    const char *t = "[aws]\naws_region_name = us-east-1\n"
                    "[cluster default]\nkey_name = k\nvpc_settings = v\nbase_os = ubuntu2004\n"
                    "scheduler = slurm\nmaster_instance_type = c5.xlarge\n"
                    "compute_instance_type = c5n.18xlarge\ninitial_queue_size = 2\n"
                    "max_queue_size = 4\ncustom_ami = ami-0123456789abcdef0\n"
                    "pre_install = s3://bucket/pre.sh\npre_install_args = \"a b\"\n"
                    "post_install = https://example.com/post.sh\npost_install_args = x y\n"
                    "[vpc v]\nvpc_id = vpc-01234567\nmaster_subnet_id = subnet-01234567\n"
                    "additional_sg = sg-0123456789abcdef0\nvpc_security_group_id = sg-01234567\n";
    struct cluster_config *cfg = ok(t);
    if (!cfg)
        return;
    CHECK_STR(cfg->master_instance_type, "c5.xlarge");
    CHECK_STR(cfg->compute_instance_type, "c5n.18xlarge");
    CHECK_STR(cfg->queues[0].resources[0].name, "c5n18xlarge");
    CHECK_INT(cfg->initial_queue_size, 2);
    CHECK_INT(cfg->max_queue_size, 4);
    CHECK_STR(cfg->custom_ami, "ami-0123456789abcdef0");
    CHECK_STR(cfg->pre_install, "s3://bucket/pre.sh");
    CHECK_STR(cfg->pre_install_args, "\"a b\"");
    CHECK_STR(cfg->post_install, "https://example.com/post.sh");
    CHECK_STR(cfg->post_install_args, "x y");
    CHECK_STR(cfg->additional_sg, "sg-0123456789abcdef0");
    CHECK_STR(cfg->vpc_security_group_id, "sg-01234567");
    CHECK_INT(cfg->max_instances_needed, 5);
    config_free(cfg);
}

static void test_empty_value_means_unset(void)
{
    const char *t = "[cluster default]\nkey_name = k\nvpc_settings = v\nbase_os = alinux2\n"
                    "scheduler = slurm\ncustom_ami =\npre_install_args =\n"
                    "[vpc v]\nvpc_id = vpc-01234567\nmaster_subnet_id = subnet-01234567\n";
    struct cluster_config *cfg = ok(t);
    if (!cfg)
        return;
    CHECK_STR(cfg->custom_ami, "");
    CHECK_STR(cfg->pre_install_args, "");
    config_free(cfg);
}

/* v2 converted numbers and booleans with int(), float() and getboolean(),
 * which refuse an empty text: so did v2, naming the key. */
static void test_empty_number_refused(void)
{
    CHECK_STR(bad(cl("max_queue_size =\n")),
              "config:9: max_queue_size has no value; write a number or remove the line");
    CHECK_STR(bad(cl("spot_price =   # none\n")),
              "config:9: spot_price has no value; write a number or remove the line");
    CHECK_STR(bad(cl("maintain_initial_size =\n")),
              "config:9: maintain_initial_size has no value; write true or false or remove the "
              "line");
    CHECK_CONTAINS(bad(vpc_with("use_public_ips =\n")), "use_public_ips has no value");
}

/* ------------------------------------------------------------ syntax */

static void test_crlf_line_numbers(void)
{
    char crlf[2048];
    size_t j = 0;
    for (size_t i = 0; example[i]; i++) {
        if (example[i] == '\n')
            crlf[j++] = '\r';
        crlf[j++] = example[i];
    }
    crlf[j] = '\0';
    CHECK_CONTAINS(bad(crlf), "config:6: vpc_settings = public names a [vpc public]");
    strcat(crlf, "[vpc public]\r\nvpc_id = vpc-0123456789abcdef0\r\n"
                 "master_subnet_id = subnet-0123456789abcdef0\r\n");
    struct cluster_config *cfg = ok(crlf);
    if (cfg) {
        CHECK_STR(cfg->key_name, "lab-3-your-key");
        CHECK_STR(cfg->master_subnet_id, "subnet-0123456789abcdef0");
        config_free(cfg);
    }
}

static void test_lone_cr_refused(void)
{
    CHECK_CONTAINS(bad("[aws]\raws_region_name = us-east-1\n"), "config:1: carriage return");
}

static void test_no_final_newline(void)
{
    char t[2048];
    snprintf(t, sizeof(t), "%s%s", example, vpc_public);
    t[strlen(t) - 1] = '\0';
    struct cluster_config *cfg = ok(t);
    if (cfg)
        CHECK_STR(cfg->master_subnet_id, "subnet-0123456789abcdef0");
    config_free(cfg);
}

static void test_continuation_refused_for_one_line_keys(void)
{
    const char *t = "[cluster default]\nkey_name = lab\n  more\nvpc_settings = v\n";
    CHECK_STR(bad(t), "config:3: this indented line continues key_name from line 2, but "
                      "key_name is one line; remove the indentation");
    /* An indented [section] after a key is a continuation too (inih and
     * configparser agree), so it is refused rather than read as a section. */
    CHECK_CONTAINS(bad("[cluster default]\nkey_name = lab\n  [vpc v]\n"),
                   "config:3: this indented line continues key_name");
}

static void test_continuation_allowed_for_json_and_lines_count(void)
{
    /* tags spans lines 9-11; the unknown key after it is on line 12. */
    const char *t = "[cluster default]\nkey_name = k\nvpc_settings = v\nbase_os = alinux2\n"
                    "scheduler = slurm\n[vpc v]\nvpc_id = vpc-01234567\n"
                    "master_subnet_id = subnet-01234567\n"
                    "[cluster other]\ntags = {\"a\": \"b\",\n    \"c\": \"d\"}\n"
                    "\n"
                    "max_queue_sise = 3\n";
    struct cluster_config *c1 = ok(t);
    if (c1) {
        CHECK_INT(c1->n_warnings, 1);
        if (c1->n_warnings)
            CHECK_STR(c1->warnings[0], "config:13: unknown key 'max_queue_sise' in [cluster other]; "
                                       "did you mean 'max_queue_size'? (ignored: [cluster other] "
                                       "is not used by the chosen cluster)");
        config_free(c1);
    }
    const char *t2 = "[cluster default]\nkey_name = k\nvpc_settings = v\nbase_os = alinux2\n"
                     "scheduler = slurm\ntags = {\"a\": \"b\",\n    \"c\": \"d\"}\n"
                     "[vpc v]\nvpc_id = vpc-01234567\nmaster_subnet_id = subnet-01234567\n";
    struct cluster_config *cfg = ok(t2);
    if (cfg) {
        CHECK_INT(cfg->n_warnings, 1);
        if (cfg->n_warnings)
            CHECK_STR(cfg->warnings[0],
                      "config:6: tags is accepted but not implemented yet; ignored");
        config_free(cfg);
    }
    CHECK_CONTAINS(bad("[cluster default]\ntags = {\"a\":\n  }}\n"), "config:2: tags = ");
}

static void test_long_lines(void)
{
    char line[400], t[4096];
    /* inih's own buffer holds 199 bytes; a longer line still parses. */
    memset(line, 'a', 181);
    line[181] = '\0';
    snprintf(t, sizeof(t), "%spre_install_args = %s\n%s", example, line, vpc_public);
    struct cluster_config *cfg = ok(t);
    if (cfg) {
        CHECK_INT(strlen(cfg->pre_install_args), 181);
        config_free(cfg);
    }
    /* A text pclusterfs keeps is bounded by its own buffer, said with the line. */
    memset(line, 'a', 250);
    line[250] = '\0';
    snprintf(t, sizeof(t), "%spre_install_args = %s\n%s", example, line, vpc_public);
    CHECK_STR(bad(t), "config:9: pre_install_args is 250 bytes long; it may hold at most 199");
    /* CRLF and a trailing comment do not reach the value. */
    snprintf(t, sizeof(t), "%spre_install_args = %s  # note\r\n%s", example, line + 60, vpc_public);
    cfg = ok(t);
    if (cfg) {
        CHECK_INT(strlen(cfg->pre_install_args), 190);
        config_free(cfg);
    }
    /* A long comment is fine, and so is a long trailing comment. */
    memset(line, '-', 300);
    line[300] = '\0';
    snprintf(t, sizeof(t), "# %s\n%s%s", line, example, vpc_public);
    cfg = ok(t);
    config_free(cfg);
    snprintf(t, sizeof(t), "%smaster_instance_type = t2.small # %s\n%s", example, line, vpc_public);
    cfg = ok(t);
    if (cfg) {
        CHECK_STR(cfg->master_instance_type, "t2.small");
        config_free(cfg);
    }
    /* ... and the line numbers after it stay right. */
    snprintf(t, sizeof(t), "# %s\n%s", line, example);
    CHECK_CONTAINS(bad(t), "config:7: vpc_settings = public");
    /* A long value that is wrong is still judged whole. */
    snprintf(t, sizeof(t), "%stags = {\"a\": \"%s\"\n%s", example, line, vpc_public);
    CHECK_CONTAINS(bad(t), "config:9: tags = {\"a\": \"-----");
    /* A long line that is not INI is still refused with its line. */
    snprintf(t, sizeof(t), "%s%s\n", example, line);
    CHECK_CONTAINS(bad(t), "config:9: '----------------------------------------...' is not a "
                           "[section]");
    /* A key name too long for inih is refused, not cut. */
    snprintf(t, sizeof(t), "%s%.250s = 1\n", example, line);
    CHECK_CONTAINS(bad(t), "config:9: line is 254 bytes long before its value");
}

/* Long lines as real configs have them, up to the 64 KiB config cap: v2's
 * configparser had no line limit, Debian's inih has 200 bytes. */
static void test_long_lines_at_the_cap(void)
{
    size_t cap = CONFIG_TEXT_MAX;
    char *t = malloc(cap + 2);
    CHECK(t != NULL);
    if (!t)
        return;
    /* Three long lines: tags (a one-line JSON), instance_types_data
     * continued on a long indented line, and a long tags-like value last
     * that fills the file to exactly the cap. */
    int n = snprintf(t, cap, "%s%s[cluster default]\n", "", "");
    n = snprintf(t, cap, "%stags = {\"team\": \"%0300d\", \"cost\": \"x\"}\n"
                         "instance_types_data = {\"c5.xlarge\": {\"a\": \"%0500d\",\n"
                         "    \"b\": \"%01500d\"}}\n"
                         "extra_json = {\"cluster\": {\"note\": \"",
                 example, 7, 8, 9);
    const char *tail = "\"}}\n";
    size_t vpc_len = strlen(vpc_public), tail_len = strlen(tail);
    size_t fill = cap - (size_t)n - tail_len - vpc_len;
    memset(t + n, 'z', fill);
    memcpy(t + n + fill, tail, tail_len);
    memcpy(t + n + fill + tail_len, vpc_public, vpc_len);
    t[cap] = '\0';
    CHECK_INT(strlen(t), cap);
    struct cluster_config *cfg = NULL;
    int rc = config_parse(t, cap, NULL, &cfg, err, sizeof(err));
    CHECK_INT(rc, 0);
    if (rc == 0) {
        CHECK_STR(cfg->vpc_id, "vpc-0123456789abcdef0");
        CHECK_INT(cfg->n_warnings, 3); /* tags, instance_types_data, extra_json: not implemented */
        if (cfg->n_warnings == 3)
            CHECK_STR(cfg->warnings[2], "config:12: extra_json is accepted but not implemented "
                                        "yet; ignored");
        config_free(cfg);
    } else {
        printf("  %s\n", err);
    }
    /* One byte more is over the cap. */
    t[cap] = '\n';
    t[cap + 1] = '\0';
    CHECK_CONTAINS(bad_len(t, cap + 1), "a config may hold at most 65536 bytes");
    /* The long value's own error names its line after the long lines. */
    memcpy(t + n + fill, "\"}\n", 3);
    CHECK_CONTAINS(bad_len(t, cap - 1), "config:12: extra_json = {\"cluster\": {\"note\": \"zzz");
    free(t);
}

/* configparser's getboolean, which v2 used: 1/yes/true/on and 0/no/false/off,
 * any case. */
static void test_booleans_as_configparser(void)
{
    static const struct {
        const char *word;
        bool value;
    } words[] = {
        { "1", true },     { "yes", true },  { "YES", true },   { "on", true },
        { "On", true },    { "true", true }, { "True", true },  { "TRUE", true },
        { "0", false },    { "no", false },  { "No", false },   { "off", false },
        { "OFF", false },  { "false", false }, { "False", false }, { "fAlSe", false },
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        char t[2048];
        snprintf(t, sizeof(t),
                 "[global]\nsanity_check = %s\n%sinitial_queue_size = 1\n"
                 "maintain_initial_size = %s\n%suse_public_ips = %s\n",
                 words[i].word, example, words[i].word, vpc_public, words[i].word);
        struct cluster_config *cfg = ok(t);
        if (!cfg) {
            printf("  word %s\n", words[i].word);
            continue;
        }
        CHECK(cfg->maintain_initial_size == words[i].value);
        CHECK(cfg->use_public_ips == words[i].value);
        CHECK_INT(cfg->queues[0].resources[0].min_count, words[i].value ? 1 : 0);
        config_free(cfg);
    }
    CHECK_CONTAINS(bad(cl("maintain_initial_size = y\n")),
                   "config:9: maintain_initial_size = y: maintain_initial_size must be true or "
                   "false (or yes/no, on/off, 1/0, in any case)");
    CHECK_CONTAINS(bad(cl("maintain_initial_size = 2\n")), "must be true or false");
}

static void test_inline_comments_stripped_as_v2(void)
{
    /* v2 read configs with configparser(inline_comment_prefixes=("#", ";")),
     * and its own examples carry such comments. */
    const char *t = "[global]   # global settings\n"
                    "cluster_template = default ; the one below\n"
                    "[cluster default]\n"
                    "key_name = k\n"
                    "base_os = alinux2                   # optional, defaults to alinux2\n"
                    "scheduler = slurm\t# tab before\n"
                    "vpc_settings = v\n"
                    "pre_install_args = a#b;c\n"
                    "  # an indented comment line\n"
                    "    ; another\n"
                    "[vpc v]\nvpc_id = vpc-01234567 # id\nmaster_subnet_id = subnet-01234567\n";
    struct cluster_config *cfg = ok(t);
    if (!cfg)
        return;
    CHECK_STR(cfg->base_os, "alinux2");
    CHECK_STR(cfg->scheduler, "slurm");
    CHECK_STR(cfg->vpc_id, "vpc-01234567");
    CHECK_STR(cfg->pre_install_args, "a#b;c");
    config_free(cfg);
    /* A value that is only a comment is empty. */
    CHECK_CONTAINS(bad("[cluster default]\nkey_name = # none\nbase_os = alinux2\n"),
                   "config:1: [cluster default] has no scheduler");
}

static void test_duplicates(void)
{
    CHECK_STR(bad(with("[vpc public]\nvpc_id = vpc-01234567\n")),
              "config:13: section [vpc public] appears twice (first on line 10); merge them "
              "into one");
    /* Repeated directly: inih alone would merge these silently. */
    CHECK_CONTAINS(bad("[aws]\n[aws]\n"), "config:2: section [aws] appears twice");
    CHECK_STR(bad("[cluster default]\nkey_name = a\nKEY_NAME = b\n"),
              "config:3: key_name is set twice in [cluster default] (first on line 2); keep one");
}

static void test_keys_case_insensitive_and_colon(void)
{
    const char *t = "[cluster default]\nKey_Name: k\nvpc_settings = v\nBASE_OS = alinux2\n"
                    "scheduler=slurm\n[vpc v]\nvpc_id = vpc-01234567\n"
                    "master_subnet_id = subnet-01234567\n";
    struct cluster_config *cfg = ok(t);
    if (cfg) {
        CHECK_STR(cfg->key_name, "k");
        CHECK_STR(cfg->base_os, "alinux2");
        config_free(cfg);
    }
}

/* Syntax errors come in line order: the first one in the file is reported. */
static void test_first_error_by_line(void)
{
    CHECK_CONTAINS(bad("[cluster default]\nfoo = 1\n[clustr x]\n"), "config:2: unknown key 'foo'");
    CHECK_CONTAINS(bad("[cluster default]\nkey_name = a\n  b\n[clustr x]\n"),
                   "config:3: this indented line continues key_name");
    CHECK_CONTAINS(bad("[cluster default]\nscheduler = sge\n[aws]\naws_access_key_id = A\n"),
                   "config:4: aws_access_key_id is refused");
}

static void test_key_outside_section(void)
{
    CHECK_STR(bad("# hello\nkey_name = k\n[cluster default]\n"),
              "config:2: key 'key_name' is outside any section; put it under [aws], [global] or "
              "[cluster NAME]");
}

static void test_empty_configs(void)
{
    CHECK_CONTAINS(bad(""), "config: the config is empty");
    CHECK_CONTAINS(bad("\n\n   \n"), "config: the config is empty");
    CHECK_CONTAINS(bad("# only\n; comments\n"), "config: the config is empty");
    CHECK_CONTAINS(bad("[aws]\naws_region_name = us-east-1\n"),
                   "config: the config has no [cluster default] section");
}

static void test_bytes(void)
{
    static const char nul[] = "[aws]\naws_region_name = us\0east-1\n";
    CHECK_STR(bad_len(nul, sizeof(nul) - 1), "config:2: NUL byte in the config; a config is text");
    CHECK_CONTAINS(bad("[aws]\n\n# caf\xe9\n"), "config:3: byte 0xe9 is not UTF-8 text");
    CHECK_CONTAINS(bad("[aws]\n# \xc0\xaf overlong\n"), "config:2: byte 0xc0 is not UTF-8");
    CHECK_CONTAINS(bad("[aws]\n# \xed\xa0\x80 surrogate\n"), "config:2: byte 0xed is not UTF-8");
    CHECK_CONTAINS(bad("[aws]\n# \x1b[31m\n"), "config:2: control character 0x1b");
    /* UTF-8 text and a BOM are fine. */
    char t[2048];
    snprintf(t, sizeof(t), "\xef\xbb\xbf%spre_install_args = caf\xc3\xa9 \xe2\x9c\x93\n%s", example,
             vpc_public);
    struct cluster_config *cfg = ok(t);
    if (cfg) {
        CHECK_STR(cfg->pre_install_args, "caf\xc3\xa9 \xe2\x9c\x93");
        CHECK_STR(cfg->region, "ap-northeast-1");
        config_free(cfg);
    }
}

static void test_section_syntax(void)
{
    CHECK_STR(bad("[clustr default]\n"),
              "config:1: unknown section [clustr default]; did you mean [cluster ...]?");
    CHECK_CONTAINS(bad("[foo]\n"), "config:1: unknown section [foo]; ParallelCluster v2 sections");
    CHECK_CONTAINS(bad("[DEFAULT]\n"), "config:1: unknown section [DEFAULT]");
    CHECK_STR(bad("[aws]\n[vpc]\n"), "config:2: section [vpc] needs a name: write [vpc NAME]");
    CHECK_STR(bad("[aws x]\n"), "config:1: section [aws] takes no name: write [aws]");
    CHECK_CONTAINS(bad("[cluster a.b]\n"), "config:1: section name 'a.b' in [cluster ...] is not "
                                           "valid");
    CHECK_CONTAINS(bad("[cluster abcdefghijabcdefghijabcdefghijk]\n"), "is not valid");
    CHECK_CONTAINS(bad("[aws\n"), "config:1: section header has no closing ']'");
    CHECK_CONTAINS(bad("[aws] x\n"), "config:1: text after the section header's ']'");
    CHECK_CONTAINS(bad("[]\n"), "config:1: empty section header");
    CHECK_STR(bad("[aws]\njust words\n"),
              "config:2: 'just words' is not a [section], a key = value line, or a comment");
    CHECK_CONTAINS(bad("[aws]\n= value\n"), "config:2: a line starts with '=' or ':'");
    /* Outer blanks inside the brackets are forgiven, a comment after ']' too. */
    const char *t = "[ cluster default ]  # main\nkey_name = k\nvpc_settings = v\n"
                    "base_os = alinux2\nscheduler = slurm\n[vpc v]\nvpc_id = vpc-01234567\n"
                    "master_subnet_id = subnet-01234567\n";
    struct cluster_config *cfg = ok(t);
    config_free(cfg);
}

static void test_unknown_keys(void)
{
    CHECK_STR(bad(cl("max_queue_sise = 5\n")),
              "config:9: unknown key 'max_queue_sise' in [cluster default]; did you mean "
              "'max_queue_size'?");
    CHECK_STR(bad("[cluster default]\nvpc_id = vpc-01234567\n"),
              "config:2: key 'vpc_id' does not belong in [cluster default]; it goes in a [vpc "
              "NAME] section");
    CHECK_CONTAINS(bad("[cluster default]\nfrobnicate = 1\n"),
                   "config:2: unknown key 'frobnicate' in [cluster default]; it is not a "
                   "ParallelCluster v2 key");
    {
        char t[2048];
        snprintf(t, sizeof(t), "%sebs_settings = e\n%s[ebs e]\nvolume_sise = 3\n", example,
                 vpc_public);
        CHECK_STR(bad(t), "config:15: unknown key 'volume_sise' in [ebs e]; did you mean "
                          "'volume_size'?");
    }
}

/* ------------------------------------------------------------ rules */

static void test_credentials_refused(void)
{
    const char *msg = bad("[aws]\naws_region_name = us-east-1\n"
                          "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n");
    CHECK_CONTAINS(msg, "config:3: aws_access_key_id is refused: credentials come from the AWS "
                        "credential chain only");
    CHECK(strstr(msg, "AKIAIOSFODNN7EXAMPLE") == NULL);
    msg = bad("[aws]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n");
    CHECK_CONTAINS(msg, "config:2: aws_secret_access_key is refused: credentials come from the "
                        "AWS credential chain only");
    CHECK(strstr(msg, "wJalrXUtnFEMI") == NULL);
    /* Refused wherever it appears in the file, before anything else. */
    CHECK_CONTAINS(bad(with("[aws]\naws_secret_access_key = s\n")), "section [aws] appears twice");
}

static void test_scheduler_rules(void)
{
    char t[2048];
    const char *sched[] = { "sge", "torque" };
    for (int i = 0; i < 2; i++) {
        snprintf(t, sizeof(t),
                 "[cluster default]\nkey_name = k\nbase_os = alinux2\nscheduler = %s\n"
                 "vpc_settings = v\n[vpc v]\nvpc_id = vpc-01234567\n"
                 "master_subnet_id = subnet-01234567\n",
                 sched[i]);
        const char *m = bad(t);
        CHECK_CONTAINS(m, "config:4: scheduler = ");
        CHECK_CONTAINS(m, sched[i]);
        CHECK_CONTAINS(m, "support for SGE and Torque ended on 2021-12-31; use scheduler = slurm");
    }
    CHECK_STR(bad("[cluster default]\nkey_name = k\nbase_os = alinux2\nscheduler = awsbatch\n"),
              "config:4: scheduler = awsbatch is not supported by pclusterfs; use scheduler = "
              "slurm");
    CHECK_CONTAINS(bad("[cluster default]\nkey_name = k\nbase_os = alinux2\nscheduler = pbs\n"),
                   "config:4: scheduler = pbs is not a ParallelCluster scheduler");
    CHECK_CONTAINS(bad("[cluster default]\nkey_name = k\nbase_os = alinux2\n"),
                   "config:1: [cluster default] has no scheduler; add scheduler = slurm");
}

static void test_base_os_rules(void)
{
    const char *oses[] = { "alinux2", "centos7", "ubuntu1804", "ubuntu2004" };
    char t[2048];
    for (int i = 0; i < 4; i++) {
        snprintf(t, sizeof(t),
                 "[cluster default]\nkey_name = k\nbase_os = %s\nscheduler = slurm\n"
                 "vpc_settings = v\n[vpc v]\nvpc_id = vpc-01234567\n"
                 "master_subnet_id = subnet-01234567\n",
                 oses[i]);
        struct cluster_config *cfg = ok(t);
        if (cfg)
            CHECK_STR(cfg->base_os, oses[i]);
        config_free(cfg);
    }
    CHECK_STR(bad("[cluster default]\nkey_name = k\nbase_os = centos8\n"),
              "config:3: base_os = centos8 is not supported; use one of alinux2, centos7, "
              "ubuntu1804, ubuntu2004");
    CHECK_CONTAINS(bad("[cluster default]\nkey_name = k\nscheduler = slurm\n"),
                   "config:1: [cluster default] has no base_os; add base_os = alinux2");
    CHECK_CONTAINS(bad("[cluster default]\nkey_name = k\n"),
                   "config:1: [cluster default] has no base_os");
}

static void test_vpc_rules(void)
{
    CHECK_CONTAINS(bad("[cluster default]\nkey_name = k\nbase_os = alinux2\nscheduler = slurm\n"),
                   "config:1: [cluster default] has no vpc_settings; add vpc_settings = NAME");
    CHECK_STR(bad(
                  "[cluster default]\nkey_name = k\nbase_os = alinux2\nscheduler = slurm\n"
                  "vpc_settings = v\n[vpc v]\nmaster_subnet_id = subnet-01234567\n"),
              "config:6: [vpc v] has no vpc_id; add vpc_id = vpc-...");
    CHECK_CONTAINS(bad("[cluster default]\nkey_name = k\nbase_os = alinux2\nscheduler = slurm\n"
                       "vpc_settings = v\n[vpc v]\nvpc_id = vpc-01234567\n"),
                   "config:6: [vpc v] has no master_subnet_id");
    /* An empty [vpc v] exists: the message says what it lacks, not that it is missing. */
    CHECK_CONTAINS(bad("[cluster default]\nkey_name = k\nbase_os = alinux2\nscheduler = slurm\n"
                       "vpc_settings = v\n[vpc v]\n"),
                   "config:6: [vpc v] has no vpc_id");
    CHECK_STR(bad(vpc_with("vpc_id = vpc-0123\nmaster_subnet_id = subnet-01234567\n")),
              "config:10: vpc_id = vpc-0123: vpc_id must be an id like vpc-0123456789abcdef0 "
              "(vpc- and 8 or 17 lowercase hex digits)");
    CHECK_CONTAINS(bad(vpc_with("vpc_id = vpc-0123456789ABCDEF0\n")), "config:10: vpc_id = ");
    CHECK_CONTAINS(bad(vpc_with("vpc_id = vpc-01234567\nmaster_subnet_id = sub-01234567\n")),
                   "config:11: master_subnet_id = sub-01234567: master_subnet_id must be an id "
                   "like subnet-");
    const char *ok_ids = "vpc_id = vpc-01234567\nmaster_subnet_id = subnet-01234567\n";
    char t[1024];
    snprintf(t, sizeof(t), "%scompute_subnet_id = subnet-0123456789\n", ok_ids);
    CHECK_CONTAINS(bad(vpc_with(t)), "config:12: compute_subnet_id = subnet-0123456789: "
                                     "compute_subnet_id must be an id like subnet-");
    snprintf(t, sizeof(t), "%sadditional_sg = sg-xyz\n", ok_ids);
    CHECK_CONTAINS(bad(vpc_with(t)), "additional_sg must be an id like sg-");
    snprintf(t, sizeof(t), "%sssh_from = 10.0.0.0/33\n", ok_ids);
    CHECK_CONTAINS(bad(vpc_with(t)), "ssh_from must be an IPv4 CIDR");
    snprintf(t, sizeof(t), "%suse_public_ips = maybe\n", ok_ids);
    CHECK_CONTAINS(bad(vpc_with(t)), "use_public_ips must be true or false");
    snprintf(t, sizeof(t), "%scompute_subnet_cidr = 10.0.1.0/24\nssh_from = 203.0.113.0/24\n",
             ok_ids);
    struct cluster_config *cfg = ok(vpc_with(t));
    if (cfg) {
        CHECK_STR(cfg->ssh_from, "203.0.113.0/24");
        CHECK_INT(cfg->n_warnings, 1); /* compute_subnet_cidr; ssh_from is taken */
        config_free(cfg);
    }
}

/* Like v2, values are checked only in the sections the chosen cluster uses:
 * another template may be for another setup (awsbatch's "optimal"). */
static void test_unused_sections_values_not_checked(void)
{
    struct cluster_config *cfg = ok(with("[cluster batch]\nscheduler = awsbatch\n"
                                         "compute_instance_type = optimal\nvpc_settings = other\n"
                                         "[vpc other]\nvpc_id = vpc-nothex00\n"));
    config_free(cfg);
    /* ... and their key names only warn, with the line: v2 never read them. */
    cfg = ok(with("[vpc other]\nvpc_idd = vpc-01234567\n"));
    if (cfg) {
        CHECK_INT(cfg->n_warnings, 1);
        if (cfg->n_warnings)
            CHECK_STR(cfg->warnings[0], "config:14: unknown key 'vpc_idd' in [vpc other]; did you "
                                        "mean 'vpc_id'? (ignored: [vpc other] is not used by the "
                                        "chosen cluster)");
        config_free(cfg);
    }
    /* The same key in the [vpc] the chosen cluster reads is an error. */
    CHECK_CONTAINS(bad(vpc_with("vpc_idd = vpc-01234567\n")), "unknown key 'vpc_idd' in [vpc ");
}

/* Sections v2 never read (a leftover [cluster] without a name, another
 * template, a section of a kind v2 did not have, one of another tool) are
 * warnings naming their line; what v2 read stays strict. */
static void test_unread_sections_warn(void)
{
    struct cluster_config *cfg =
        ok(with("[cluster]\nkey_name = old\n"              /* 13-14 */
                "[tooling]\nowner = me\n"                  /* 15-16 */
                "[queue Bad.Name]\ncompute_type = spot\n"  /* 17-18 */
                "[cluster old]\nfrobnicate = 1\n"          /* 19-20 */
                "[vpc]\nvpc_id = vpc-01234567\n"));        /* 21-22 */
    if (cfg) {
        const char *want[] = {
            "config:13: section [cluster] needs a name: write [cluster NAME] (ParallelCluster v2 "
            "did not read this section, and pclusterfs ignores it)",
            "config:15: unknown section [tooling]; ParallelCluster v2 sections are [aws], [global], "
            "[aliases], [cluster], [vpc], [queue], [compute_resource], [scaling], [ebs], [efs], "
            "[fsx], [raid], [dcv], [cw_log], [dashboard] (ParallelCluster v2 did not read this "
            "section, and pclusterfs ignores it)",
            "config:17: section name 'Bad.Name' in [queue ...] is not valid: use letters, digits, "
            "'-' and '_', at most 30 (ParallelCluster v2 did not read this section, and "
            "pclusterfs ignores it)",
            "config:20: unknown key 'frobnicate' in [cluster old]; it is not a ParallelCluster v2 "
            "key (ignored: [cluster old] is not used by the chosen cluster)",
            "config:21: section [vpc] needs a name: write [vpc NAME] (ParallelCluster v2 did not "
            "read this section, and pclusterfs ignores it)",
        };
        CHECK_INT(cfg->n_warnings, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < cfg->n_warnings && i < sizeof(want) / sizeof(want[0]); i++)
            CHECK_STR(cfg->warnings[i], want[i]);
        config_free(cfg);
    }
    /* Read sections stay strict: [aws] with a name is not [aws] ... */
    CHECK_STR(bad(with("[global]\ncluster_template = default\nfoo = 1\n")),
              "config:15: unknown key 'foo' in [global]; it is not a ParallelCluster v2 key");
    /* ... nor a typo in a section the cluster names. */
    char t[4096];
    snprintf(t, sizeof(t), "%sscaling_settings = s\n%s[scaling s]\nscaledown_idletim = 5\n", example,
             vpc_public);
    CHECK_STR(bad(t), "config:15: unknown key 'scaledown_idletim' in [scaling s]; did you mean "
                      "'scaledown_idletime'?");
    /* With no cluster to read, the misspelt section is the reason given. */
    CHECK_STR(bad("[clustr default]\nkey_name = k\n"),
              "config:1: unknown section [clustr default]; did you mean [cluster ...]?");
    /* Credentials are refused in any section, read or not. */
    CHECK_CONTAINS(bad(with("[cluster other]\naws_secret_access_key = abc\n")),
                   "config:14: aws_secret_access_key is refused");
}

static void test_size_backstop(void)
{
    size_t n = 65537;
    char *t = malloc(n);
    if (!t)
        return;
    memset(t, '\n', n);
    CHECK_STR(bad_len(t, n), "config: the config is 65537 bytes; a config may hold at most 65536 "
                             "bytes");
    CHECK_CONTAINS(bad_len(t, n - 1), "config: the config is empty");
    free(t);
}

static void test_type_rules(void)
{
    CHECK_STR(bad("[cluster default]\ninitial_queue_size = abc\n"),
              "config:2: initial_queue_size = abc: initial_queue_size must be a whole number from "
              "0 to 100000");
    CHECK_CONTAINS(bad("[cluster default]\ninitial_queue_size = -1\n"), "config:2: initial_queue_size");
    CHECK_CONTAINS(bad("[cluster default]\nmax_queue_size = 1.5\n"), "must be a whole number");
    CHECK_CONTAINS(bad("[cluster default]\nmax_queue_size = 99999999999999999999\n"),
                   "must be a whole number");
    CHECK_CONTAINS(bad("[cluster default]\nmaintain_initial_size = ja\n"),
                   "maintain_initial_size must be true or false");
    CHECK_CONTAINS(bad("[cluster default]\nmaster_instance_type = t2micro\n"),
                   "master_instance_type must be an EC2 instance type like t2.micro");
    CHECK_CONTAINS(bad("[cluster default]\ncompute_instance_type = T2.micro\n"),
                   "compute_instance_type must be an EC2 instance type");
    CHECK_CONTAINS(bad("[cluster default]\ncustom_ami = ami-123\n"), "custom_ami must be an id like "
                                                                     "ami-");
    CHECK_CONTAINS(bad("[cluster default]\npre_install = ftp://x/y.sh\n"),
                   "pre_install must be an s3://, https:// or http:// URL");
    CHECK_CONTAINS(bad("[cluster default]\npost_install = /local/file.sh\n"), "post_install must be");
    CHECK_CONTAINS(bad("[aws]\naws_region_name = Tokyo\n"), "aws_region_name must be an AWS region");
    CHECK_CONTAINS(bad("[aws]\naws_region_name = us-east\n"), "aws_region_name must be an AWS region");
    CHECK_CONTAINS(bad("[global]\nsanity_check = 2\n"), "sanity_check must be true or false");
    CHECK_CONTAINS(bad("[global]\ncluster_template = a b\n"), "cluster_template must be a section name");
    CHECK_CONTAINS(bad("[cluster default]\ncluster_type = cheap\n"),
                   "cluster_type must be one of: ondemand spot");
    CHECK_CONTAINS(bad("[cluster default]\nmaster_root_volume_size = 10\n"),
                   "must be a whole number from 25");
    CHECK_CONTAINS(bad("[cluster default]\nspot_price = -1\n"), "spot_price must be a number");
    CHECK_CONTAINS(bad("[cluster default]\ntags = [1, 2]\n"), "tags must be a JSON object");
    CHECK_CONTAINS(bad("[cluster default]\nebs_settings = a,,b\n"), "has an empty item");
    CHECK_CONTAINS(bad("[cluster default]\nebs_settings = a,b,c,d,e,f\n"), "at most 5 are allowed");
    CHECK_CONTAINS(bad("[cluster default]\nvpc_settings = a,b\n"), "must name one [vpc NAME] "
                                                                   "section");
    /* Booleans in any case. */
    struct cluster_config *cfg = ok(with("use_public_ips = FALSE\n"));
    if (cfg) {
        CHECK(!cfg->use_public_ips);
        config_free(cfg);
    }
}

static void test_queue_size_rules(void)
{
    CHECK_STR(bad(with("[cluster default]\n")), "config:13: section [cluster default] appears "
                                                "twice (first on line 4); merge them into one");
    char t[2048];
    snprintf(t, sizeof(t), "%sinitial_queue_size = 5\nmax_queue_size = 3\n%s", example, vpc_public);
    CHECK_STR(bad(t), "config:9: initial_queue_size (5) is larger than max_queue_size (3); raise "
                      "max_queue_size or lower initial_queue_size");
    snprintf(t, sizeof(t), "%smax_queue_size = 0\n%s", example, vpc_public);
    CHECK_STR(bad(t), "config:9: max_queue_size must be at least 1");
    snprintf(t, sizeof(t), "%smaintain_initial_size = true\n%s", example, vpc_public);
    CHECK_STR(bad(t), "config:9: maintain_initial_size = true needs initial_queue_size of at "
                      "least 1");
    /* maintain_initial_size = true: v2 made them min_count (static). */
    snprintf(t, sizeof(t), "%sinitial_queue_size = 2\nmaintain_initial_size = true\n%s", example,
             vpc_public);
    struct cluster_config *cfg = ok(t);
    if (cfg) {
        const struct config_compute_resource *r = &cfg->queues[0].resources[0];
        CHECK_INT(r->min_count, 2);
        CHECK_INT(r->initial_count, 2);
        CHECK_INT(r->static_count, 2);
        CHECK(cfg->maintain_initial_size);
        config_free(cfg);
    }
    /* false: v2 made them initial_count; pclusterfs keeps them all for now. */
    snprintf(t, sizeof(t), "%sinitial_queue_size = 3\nmax_queue_size = 5\n%s", example, vpc_public);
    cfg = ok(t);
    if (cfg) {
        const struct config_compute_resource *r = &cfg->queues[0].resources[0];
        CHECK_INT(r->min_count, 0);
        CHECK_INT(r->initial_count, 3);
        CHECK_INT(r->static_count, 3);
        CHECK_INT(r->max_count, 5);
        config_free(cfg);
    }
}

static void test_cost_guard(void)
{
    char t[2048];
    snprintf(t, sizeof(t), "%smax_queue_size = 64\n%s", example, vpc_public);
    CHECK_STR(bad(t), "config:9: this cluster can grow to 65 instances (1 head node + "
                      "max_queue_size 64), more than this mount's max_instances of 64; lower "
                      "max_queue_size, or mount with -o max_instances=65 to allow it");
    snprintf(t, sizeof(t), "%smax_queue_size = 63\n%s", example, vpc_public);
    struct cluster_config *cfg = ok(t);
    if (cfg)
        CHECK_INT(cfg->max_instances_needed, 64);
    config_free(cfg);
    /* A lower mount limit refuses the default max_queue_size of 10. */
    cfg = parse_lim(with(""), 11);
    CHECK(cfg != NULL);
    config_free(cfg);
    struct config_limits lim = { .max_instances = 10 };
    const char *w = with("");
    CHECK_INT(config_parse(w, strlen(w), &lim, &cfg, err, sizeof(err)), -EINVAL);
    CHECK_STR(err, "config:4: this cluster can grow to 11 instances (1 head node + max_queue_size "
                   "10), more than this mount's max_instances of 10; lower max_queue_size, or "
                   "mount with -o max_instances=11 to allow it");
    /* NULL limits: the default 64. */
    snprintf(t, sizeof(t), "%smax_queue_size = 64\n%s", example, vpc_public);
    CHECK_INT(config_parse(t, strlen(t), NULL, &cfg, err, sizeof(err)), -EINVAL);
    CHECK_CONTAINS(err, "max_instances of 64");
}

/* ------------------------------------------------------------ queues */

static const char queues[] = "[cluster default]\n"                      /* 1 */
                             "key_name = k\n"                           /* 2 */
                             "base_os = alinux2\n"                      /* 3 */
                             "scheduler = slurm\n"                      /* 4 */
                             "vpc_settings = v\n"                       /* 5 */
                             "queue_settings = spot, ondemand\n"        /* 6 */
                             "[vpc v]\n"                                /* 7 */
                             "vpc_id = vpc-01234567\n"                  /* 8 */
                             "master_subnet_id = subnet-01234567\n"     /* 9 */
                             "[queue spot]\n"                           /* 10 */
                             "compute_resource_settings = spot_i1,spot_i2\n" /* 11 */
                             "compute_type = spot\n"                    /* 12 */
                             "[compute_resource spot_i1]\n"             /* 13 */
                             "instance_type = c5.xlarge\n"              /* 14 */
                             "min_count = 1\n"                          /* 15 */
                             "initial_count = 2\n"                      /* 16 */
                             "max_count = 10\n"                         /* 17 */
                             "[compute_resource spot_i2]\n"             /* 18 */
                             "instance_type = t3.micro\n"               /* 19 */
                             "[queue ondemand]\n"                       /* 20 */
                             "compute_resource_settings = od\n"         /* 21 */
                             "[compute_resource od]\n"                  /* 22 */
                             "instance_type = t3.micro\n"               /* 23 */
                             "min_count = 2\n"                          /* 24 */
                             "max_count = 5\n";                         /* 25 */

static void test_queue_settings(void)
{
    struct cluster_config *cfg = ok(queues);
    if (!cfg)
        return;
    CHECK(cfg->queue_settings_used);
    CHECK_INT(cfg->n_queues, 2);
    CHECK_STR(cfg->queues[0].name, "spot");
    CHECK(cfg->queues[0].spot);
    CHECK_INT(cfg->queues[0].n_resources, 2);
    const struct config_compute_resource *r = &cfg->queues[0].resources[0];
    CHECK_STR(r->name, "c5xlarge");
    CHECK_STR(r->section, "spot_i1");
    CHECK_STR(r->instance_type, "c5.xlarge");
    CHECK_INT(r->min_count, 1);
    CHECK_INT(r->initial_count, 2);
    CHECK_INT(r->static_count, 2);
    CHECK_INT(r->max_count, 10);
    r = &cfg->queues[0].resources[1];
    CHECK_STR(r->name, "t3micro");
    CHECK_INT(r->min_count, 0);
    CHECK_INT(r->initial_count, 0); /* defaults to min_count */
    CHECK_INT(r->max_count, 10);
    CHECK_STR(cfg->queues[1].name, "ondemand");
    CHECK(!cfg->queues[1].spot);
    r = &cfg->queues[1].resources[0];
    CHECK_STR(r->name, "t3micro");
    CHECK_INT(r->static_count, 2);
    CHECK_INT(cfg->max_instances_needed, 26);
    CHECK_INT(cfg->n_warnings, 0); /* spot is implemented */

    char **names = NULL;
    size_t n = 0;
    CHECK_INT(config_static_node_names(cfg, &names, &n), 0);
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK_STR(names[0], "spot-st-c5xlarge-1");
        CHECK_STR(names[1], "spot-st-c5xlarge-2");
        CHECK_STR(names[2], "ondemand-st-t3micro-1");
        CHECK_STR(names[3], "ondemand-st-t3micro-2");
    }
    config_free_node_names(names, n);
    /* max_count beyond the static nodes: dynamic ones, v2's names */
    CHECK_INT(config_dynamic_node_names(cfg, &names, &n), 0);
    CHECK_INT(n, 8 + 10 + 3);
    if (n == 21) {
        CHECK_STR(names[0], "spot-dy-c5xlarge-1");
        CHECK_STR(names[7], "spot-dy-c5xlarge-8");
        CHECK_STR(names[8], "spot-dy-t3micro-1");
        CHECK_STR(names[20], "ondemand-dy-t3micro-3");
    }
    config_free_node_names(names, n);
    config_free(cfg);
}

/* queues with line `line` (1-based) replaced by `repl` (may hold several lines). */
static const char *queues_with(int line, const char *repl)
{
    static char buf[8192];
    const char *p = queues;
    size_t off = 0;
    for (int l = 1; *p; l++) {
        const char *nl = strchr(p, '\n');
        size_t len = (size_t)(nl - p) + 1;
        if (l == line)
            off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\n", repl);
        else {
            memcpy(buf + off, p, len);
            off += len;
        }
        p += len;
    }
    buf[off] = '\0';
    return buf;
}

static void test_queue_rules(void)
{
    CHECK_STR(bad(queues_with(6, "queue_settings = spot, ondemand, gpu")),
              "config:6: queue_settings names 'gpu', but the file has no [queue gpu] section; "
              "add it with compute_resource_settings");
    CHECK_STR(bad(queues_with(11, "compute_resource_settings = spot_i1,spot_i3")),
              "config:11: compute_resource_settings names 'spot_i3', but the file has no "
              "[compute_resource spot_i3] section; add it with instance_type");
    CHECK_CONTAINS(bad(queues_with(6, "queue_settings = spot, spot")),
                   "config:6: queue_settings names 'spot' twice");
    CHECK_CONTAINS(bad(queues_with(6, "queue_settings = a,b,c,d,e,f")),
                   "config:6: queue_settings = a,b,c,d,e,f: queue_settings names 6 sections; at "
                   "most 5 are allowed");
    CHECK_CONTAINS(bad(queues_with(11, "compute_resource_settings = a,b,c,d")),
                   "at most 3 are allowed");
    /* Queue names: lowercase, digits, '-', start with a letter, not "default". */
    const char *names[] = { "Spot", "default", "my_queue", "1q" };
    for (int i = 0; i < 4; i++) {
        char t[8192], l6[64], l10[64];
        snprintf(l6, sizeof(l6), "queue_settings = %s, ondemand", names[i]);
        snprintf(l10, sizeof(l10), "[queue %s]", names[i]);
        snprintf(t, sizeof(t), "%s", queues_with(6, l6));
        char *q = strstr(t, "[queue spot]");
        CHECK(q != NULL);
        if (!q)
            continue;
        char rest[8192];
        snprintf(rest, sizeof(rest), "%s%s", l10, q + strlen("[queue spot]"));
        strcpy(q, rest);
        CHECK_CONTAINS(bad(t), "is not valid: a queue name starts with a lowercase letter");
    }
    CHECK_STR(bad(queues_with(19, "instance_type = c5.xlarge")),
              "config:11: queue spot uses instance type c5.xlarge twice ([compute_resource "
              "spot_i1] and [compute_resource spot_i2]); compute resources of a queue need "
              "different instance types");
    CHECK_STR(bad(queues_with(17, "max_count = 0")),
              "config:17: max_count = 0: max_count must be a whole number from 1 to 100000");
    CHECK_STR(bad(queues_with(15, "min_count = 11")),
              "config:17: max_count (10) is less than min_count (11) in [compute_resource "
              "spot_i1]");
    CHECK_STR(bad(queues_with(16, "initial_count = 0")),
              "config:16: initial_count (0) must be from min_count (1) to max_count (10) in "
              "[compute_resource spot_i1]");
    CHECK_CONTAINS(bad(queues_with(14, "instance_type = ")),
                   "config:13: [compute_resource spot_i1] has no instance_type");
    CHECK_CONTAINS(bad(queues_with(11, "compute_type = spot")),
                   "config:12: compute_type is set twice in [queue spot] (first on line 11)");
    CHECK_CONTAINS(bad(queues_with(21, "")),
                   "config:20: [queue ondemand] has no compute_resource_settings");
    CHECK_STR(bad(queues_with(5, "vpc_settings = v\ncompute_instance_type = t2.micro")),
              "config:6: compute_instance_type cannot be used with queue_settings; set it per "
              "queue in [queue]/[compute_resource] sections, or remove queue_settings");
    CHECK_CONTAINS(bad(queues_with(5, "vpc_settings = v\nmax_queue_size = 3")),
                   "config:6: max_queue_size cannot be used with queue_settings");
    /* disable_hyperthreading in the cluster and in a queue. */
    char t[8192];
    snprintf(t, sizeof(t), "%s", queues_with(5, "vpc_settings = v\ndisable_hyperthreading = true"));
    char *q = strstr(t, "compute_type = spot\n");
    if (q) {
        char rest[8192];
        snprintf(rest, sizeof(rest), "compute_type = spot\ndisable_hyperthreading = false\n%s",
                 q + strlen("compute_type = spot\n"));
        strcpy(q, rest);
    }
    CHECK_STR(bad(t), "config:14: disable_hyperthreading is set both in [cluster default] and in "
                      "[queue spot]; set it in one place only");
    /* One [compute_resource] used by a spot and an on-demand queue: its
     * spot_price is ignored (warned) only in the on-demand one. */
    snprintf(t, sizeof(t), "%s", queues_with(21, "compute_resource_settings = spot_i2"));
    q = strstr(t, "instance_type = t3.micro\n[queue ondemand]");
    if (q) {
        char rest[8192];
        snprintf(rest, sizeof(rest), "instance_type = t3.micro\nspot_price = 0.5\n%s",
                 q + strlen("instance_type = t3.micro\n"));
        strcpy(q, rest);
    }
    struct cluster_config *shared = ok(t);
    if (shared) {
        CHECK_INT(shared->n_warnings, 1);
        if (shared->n_warnings == 1)
            CHECK_STR(shared->warnings[0],
                      "config:20: spot_price is set but queue ondemand's compute_type is not "
                      "spot; its nodes launch on demand and spot_price is ignored, as in v2");
        CHECK(shared->queues[0].resources[1].spot_price == 0.5);
        CHECK_STR(shared->queues[1].resources[0].section, "spot_i2");
        config_free(shared);
    }
    /* Cost guard over all compute resources: 1 + 10 + 10 + 5 = 26. */
    struct config_limits lim = { .max_instances = 25 };
    struct cluster_config *cfg;
    CHECK_INT(config_parse(queues, strlen(queues), &lim, &cfg, err, sizeof(err)), -EINVAL);
    CHECK_STR(err, "config:6: this cluster can grow to 26 instances (1 head node + the max_count "
                   "of every compute resource), more than this mount's max_instances of 25; lower "
                   "max_count, or mount with -o max_instances=26 to allow it");
}


/* Every key of every section in v2.11.9's mappings (the last v2 release,
 * cli/src/pcluster/config/mappings.py) is known where v2 had it: accepted,
 * accepted with a warning, or, where ignoring it would change cost,
 * security or access, refused as not implemented yet. Only credentials are
 * refused outright. */
static void test_every_v2_11_9_key_is_known(void)
{
    static const struct {
        const char *section;
        const char *keys;
    } v2[] = {
        { "aws", "aws_region_name" },
        { "global", "cluster_template update_check sanity_check" },
        { "aliases", "ssh" },
        { "scaling", "scaledown_idletime" },
        { "vpc", "vpc_id master_subnet_id ssh_from additional_sg compute_subnet_id "
                 "compute_subnet_cidr use_public_ips vpc_security_group_id "
                 "master_availability_zone compute_availability_zone" },
        { "ebs", "shared_dir ebs_snapshot_id volume_type volume_size volume_iops encrypted "
                 "ebs_kms_key_id ebs_volume_id volume_throughput" },
        { "efs", "shared_dir efs_fs_id performance_mode efs_kms_key_id provisioned_throughput "
                 "encrypted throughput_mode" },
        { "raid", "shared_dir raid_type num_of_raid_volumes volume_type volume_size volume_iops "
                  "encrypted ebs_kms_key_id volume_throughput" },
        { "fsx", "shared_dir fsx_fs_id storage_capacity fsx_kms_key_id imported_file_chunk_size "
                 "export_path import_path weekly_maintenance_start_time deployment_type "
                 "per_unit_storage_throughput daily_automatic_backup_start_time "
                 "automatic_backup_retention_days copy_tags_to_backups fsx_backup_id "
                 "auto_import_policy storage_type drive_cache_type existing_mount_name "
                 "existing_dns_name data_compression_type" },
        { "dcv", "enable port access_from" },
        { "cw_log", "enable retention_days" },
        { "dashboard", "enable" },
        { "compute_resource", "instance_type min_count max_count initial_count spot_price vcpus "
                              "gpus gpu_type network_interfaces enable_efa enable_efa_gdr "
                              "disable_hyperthreading disable_hyperthreading_via_cpu_options" },
        { "queue", "compute_type enable_efa enable_efa_gdr disable_hyperthreading "
                   "placement_group compute_resource_settings" },
        /* common, single-queue and multi-queue cluster keys */
        { "cluster", "cluster_config_metadata key_name scheduler master_instance_type "
                     "master_root_volume_size base_os compute_root_volume_size proxy_server "
                     "ec2_iam_role s3_read_resource s3_read_write_resource template_url "
                     "shared_dir enable_efa enable_efa_gdr ephemeral_dir encrypted_ephemeral "
                     "custom_ami pre_install pre_install_args post_install post_install_args "
                     "extra_json additional_cfn_template tags custom_chef_cookbook "
                     "enable_intel_hpc_platform scaling_settings vpc_settings ebs_settings "
                     "efs_settings raid_settings fsx_settings dcv_settings cw_log_settings "
                     "dashboard_settings additional_iam_policies architecture hit_template_url "
                     "cw_dashboard_template_url network_interfaces_count cluster_resource_bucket "
                     "iam_lambda_role instance_types_data placement_group placement "
                     "compute_instance_type initial_queue_size max_queue_size "
                     "maintain_initial_size min_vcpus desired_vcpus max_vcpus cluster_type "
                     "spot_price spot_bid_percentage disable_hyperthreading default_queue "
                     "queue_settings disable_cluster_dns" },
    };
    static const char not_yet[] = " proxy_server encrypted_ephemeral ";
    int n = 0;
    for (size_t i = 0; i < sizeof(v2) / sizeof(v2[0]); i++) {
        const struct config_section_spec *sec = config_spec_section(v2[i].section);
        CHECK(sec != NULL);
        if (!sec)
            continue;
        char keys[2048];
        snprintf(keys, sizeof(keys), "%s", v2[i].keys);
        char *save = NULL;
        for (char *k = strtok_r(keys, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
            const struct config_key_spec *spec = config_spec_key(sec, k);
            n++;
            if (!spec) {
                fprintf(stderr, "  [%s] %s is unknown\n", v2[i].section, k);
                CHECK(spec != NULL);
                continue;
            }
            char padded[80];
            snprintf(padded, sizeof(padded), " %s ", k);
            bool want_not_yet = strcmp(v2[i].section, "cluster") == 0 && strstr(not_yet, padded);
            if ((spec->support == CS_NOT_YET) != want_not_yet)
                fprintf(stderr, "  [%s] %s: support %d\n", v2[i].section, k, spec->support);
            CHECK((spec->support == CS_NOT_YET) == want_not_yet);
            CHECK(spec->support != CS_REFUSED);
        }
    }
    CHECK_INT(n, 146);
    /* Each not-yet key, set where v2 reads it, is refused naming line and key. */
    char t[1024];
    snprintf(t, sizeof(t), "%s", not_yet);
    char *save = NULL;
    for (char *k = strtok_r(t, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
        char line[128], want[160];
        snprintf(line, sizeof(line), "%s = %s\n", k,
                 strcmp(k, "encrypted_ephemeral") == 0 ? "yes" : "something");
        snprintf(want, sizeof(want), "config:9: %s is not implemented yet in pclusterfs", k);
        CHECK_CONTAINS(bad(cl(line)), want);
    }
    /* encrypted_ephemeral = false is what pclusterfs does: accepted. */
    struct cluster_config *cfg = ok(cl("encrypted_ephemeral = false\n"));
    config_free(cfg);
    /* In a template the chosen cluster does not use, only a warning would do:
     * v2 never read it. */
    cfg = ok(with("[cluster other]\nec2_iam_role = r\n"));
    config_free(cfg);
}

/* v2.11 made key_name optional, with a warning that nobody can SSH in. */
static void test_key_name_optional(void)
{
    const char *t = "[cluster default]\nvpc_settings = public\nbase_os = alinux2\n"
                    "scheduler = slurm\n\n[vpc public]\nvpc_id = vpc-01234567\n"
                    "master_subnet_id = subnet-01234567\n";
    struct cluster_config *cfg = ok(t);
    if (cfg) {
        CHECK_STR(cfg->key_name, "");
        CHECK_INT(cfg->n_warnings, 1);
        if (cfg->n_warnings)
            CHECK_CONTAINS(cfg->warnings[0], "config:1: no key_name: the nodes get no EC2 key "
                                             "pair");
        config_free(cfg);
    }
}

/* The scheduler decides what the other keys mean: judged first. */
static void test_scheduler_judged_first(void)
{
    /* v2's awsbatch default compute_instance_type = optimal comes before. */
    CHECK_STR(bad("[cluster default]\nkey_name = k\ncompute_instance_type = optimal\n"
                  "scheduler = awsbatch\nbase_os = alinux2\n"),
              "config:4: scheduler = awsbatch is not supported by pclusterfs; use scheduler = "
              "slurm");
    CHECK_CONTAINS(bad("[cluster default]\nmin_vcpuz = 1\nscheduler = torque\n"),
                   "config:3: scheduler = torque is not supported: ParallelCluster's support for "
                   "SGE and Torque ended on 2021-12-31");
}

/* A hint says where a key goes in the form the config uses. */
static void test_hints_fit_the_form(void)
{
    char t[4096];
    snprintf(t, sizeof(t), "%s", queues);
    char *at = strstr(t, "[compute_resource spot_i1]\n");
    CHECK(at != NULL);
    if (!at)
        return;
    char rest[4096];
    snprintf(rest, sizeof(rest), "[compute_resource spot_i1]\nplacement_group = DYNAMIC\n%s",
             at + strlen("[compute_resource spot_i1]\n"));
    strcpy(at, rest);
    CHECK_STR(bad(t), "config:14: key 'placement_group' does not belong in [compute_resource "
                      "spot_i1]; with queue_settings, it goes in a [queue NAME] section");
    /* The single-queue form: [cluster NAME]; a key of one home only: no form. */
    snprintf(t, sizeof(t), "%sebs_settings = e\n%s[ebs e]\nplacement_group = DYNAMIC\n", example,
             vpc_public);
    CHECK_STR(bad(t), "config:15: key 'placement_group' does not belong in [ebs e]; without "
                      "queue_settings, it goes in a [cluster NAME] section");
    CHECK_STR(bad(cl("compute_resource_settings = x\n")),
              "config:9: key 'compute_resource_settings' does not belong in [cluster default]; "
              "it goes in a [queue NAME] section");
}

/* Spot: single-queue cluster_type/spot_price, multi-queue compute_type and
 * each resource's spot_price; node names lead back to them. */
static void test_spot(void)
{
    struct cluster_config *cfg =
        ok(cl("initial_queue_size = 1\ncluster_type = spot\nspot_price = 0.042\n"));
    if (cfg) {
        CHECK(cfg->queues[0].spot);
        CHECK(cfg->queues[0].resources[0].spot_price == 0.042);
        CHECK_INT(cfg->n_warnings, 0);
        const struct config_queue *q = NULL;
        const struct config_compute_resource *r =
            config_node_resource(cfg, "compute-st-t2micro-1", &q);
        CHECK(r == &cfg->queues[0].resources[0]);
        CHECK(q == &cfg->queues[0]);
        CHECK(config_node_resource(cfg, "head", NULL) == NULL);
        CHECK(config_node_resource(cfg, "compute-st-t2micro", NULL) == NULL);
        config_free(cfg);
    }
    cfg = ok(queues);
    if (cfg) {
        const struct config_queue *q = NULL;
        const struct config_compute_resource *r = config_node_resource(cfg, "ondemand-dy-t3micro-4", &q);
        CHECK(r != NULL && q == &cfg->queues[1] && !q->spot);
        r = config_node_resource(cfg, "spot-st-c5xlarge-2", &q);
        CHECK(r != NULL && q == &cfg->queues[0] && q->spot);
        config_free(cfg);
    }
    cfg = ok(cl("spot_price = 0.1\n"));
    if (cfg) {
        CHECK(!cfg->queues[0].spot);
        CHECK_INT(cfg->n_warnings, 1);
        if (cfg->n_warnings)
            CHECK_STR(cfg->warnings[0], "config:9: spot_price is set but cluster_type is not "
                                        "spot; nodes launch on demand and spot_price is ignored, "
                                        "as in v2");
        config_free(cfg);
    }
}

/* A line with no '=' that names a credential is never quoted (it may be
 * the secret itself); other such lines are, 40 bytes at most. */
static void test_credential_lines_never_quoted(void)
{
    static const char *const lines[] = {
        "aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_ACCESS_KEY_ID AKIAIOSFODNN7EXAMPLE",
        "\taws_session_token FwoGZXIvYXdzEXAMPLETOKEN",
        "my aws_secret_access_key is wJalrXUtnFEMI",
        "db Password hunter2EXAMPLE",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        char t[512];
        snprintf(t, sizeof(t), "[aws]\n%s\n", lines[i]);
        const char *msg = bad(t);
        CHECK_CONTAINS(msg, "config:2: this line names a credential key but has no '='");
        CHECK(strstr(msg, "EXAMPLE") == NULL && strstr(msg, "wJalr") == NULL);
    }
    /* A long one, past inih's buffer, too. */
    char t[1024];
    char secret[400];
    memset(secret, 'S', sizeof(secret) - 1);
    secret[sizeof(secret) - 1] = '\0';
    snprintf(t, sizeof(t), "[aws]\naws_secret_access_key %s\n", secret);
    CHECK(strstr(bad(t), "SSSS") == NULL);
}

/* ------------------------------------------------------------ templates, warnings */

static void test_cluster_template(void)
{
    const char *t = "[global]\ncluster_template = lab\nupdate_check = true\n"
                    "[cluster default]\nvpc_settings = nowhere\n"
                    "[cluster lab]\nkey_name = k\nbase_os = ubuntu1804\nscheduler = slurm\n"
                    "vpc_settings = v\n[vpc v]\nvpc_id = vpc-01234567\n"
                    "master_subnet_id = subnet-01234567\n";
    struct cluster_config *cfg = ok(t);
    if (cfg) {
        CHECK_STR(cfg->cluster_section, "lab");
        CHECK_STR(cfg->base_os, "ubuntu1804");
        CHECK_INT(cfg->n_warnings, 0);
        config_free(cfg);
    }
    CHECK_STR(bad("[global]\ncluster_template = lab\n[cluster default]\n"),
              "config:2: cluster_template = lab names a [cluster lab] section that the file does "
              "not have; add it or fix the name");
    CHECK_STR(bad("[cluster mine]\nkey_name = k\n"),
              "config:1: there is no [cluster default] section and [global] names no "
              "cluster_template; add [global] cluster_template = mine, or rename the section "
              "[cluster default]");
}

static void test_warnings(void)
{
    const char *t = "[global]\nsanity_check = false\n"                   /* 1-2 */
                    "[aliases]\nssh = ssh {CFN_USER}@{MASTER_IP} {ARGS}\n" /* 3-4 */
                    "[cluster default]\nkey_name = k\nbase_os = alinux2\n" /* 5-7 */
                    "scheduler = slurm\nvpc_settings = v\n"                /* 8-9 */
                    "ebs_settings = e1, e2\nscaling_settings = s\n"        /* 10-11 */
                    "master_root_volume_size = 50\ncluster_type = spot\n"  /* 12-13 */
                    "[vpc v]\nvpc_id = vpc-01234567\n"                     /* 14-15 */
                    "master_subnet_id = subnet-01234567\nuse_public_ips = false\n" /* 16-17 */
                    "[ebs e1]\nshared_dir = /ebs1\nvolume_size = 50\n"     /* 18-20 */
                    "[ebs e2]\nshared_dir = /ebs2\n"                       /* 21-22 */
                    "[scaling s]\nscaledown_idletime = 15\n"               /* 23-24 */
                    "[efs unused]\nshared_dir = /efs\n";                   /* 25-26 */
    struct cluster_config *cfg = ok(t);
    if (!cfg)
        return;
    CHECK_INT(cfg->scaledown_idletime, 15);
    CHECK(!cfg->use_public_ips);
    const char *want[] = {
        "config:2: sanity_check = false is accepted, but pclusterfs checks every config anyway",
        "config:4: ssh is accepted but not implemented yet; ignored",
        "config:10: ebs_settings is accepted but not implemented yet; ignored",
        "config:12: master_root_volume_size is accepted but not implemented yet; ignored",
        "config:17: use_public_ips is accepted but not implemented yet; ignored",
    };
    CHECK_INT(cfg->n_warnings, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < cfg->n_warnings && i < sizeof(want) / sizeof(want[0]); i++)
        CHECK_STR(cfg->warnings[i], want[i]);
    config_free(cfg);

    /* References of not-implemented keys must still name existing sections. */
    char t2[2048];
    snprintf(t2, sizeof(t2), "%sebs_settings = data\n%s", example, vpc_public);
    CHECK_STR(bad(t2), "config:9: ebs_settings names 'data', but the file has no [ebs data] "
                       "section; add it");
    snprintf(t2, sizeof(t2), "%sfsx_settings = fs\n%s", example, vpc_public);
    CHECK_STR(bad(t2), "config:9: fsx_settings = fs names a [fsx fs] section that the file does "
                       "not have; add it");
}

/* ------------------------------------------------------------ updates, names */

static struct cluster_config *cfg_of(const char *extra_cluster, const char *extra_vpc)
{
    char t[4096];
    snprintf(t, sizeof(t),
             "[aws]\naws_region_name = ap-northeast-1\n[cluster default]\nkey_name = k\n"
             "base_os = alinux2\nscheduler = slurm\nvpc_settings = v\n%s"
             "[vpc v]\nvpc_id = vpc-01234567\nmaster_subnet_id = subnet-01234567\n%s",
             extra_cluster, extra_vpc);
    return ok(t);
}

static void test_update_rules(void)
{
    struct cluster_config *a = cfg_of("", "");
    struct cluster_config *same = cfg_of("", "");
    struct cluster_config *sizes = cfg_of("compute_instance_type = c5.large\n"
                                          "initial_queue_size = 2\nmax_queue_size = 20\n"
                                          "post_install = s3://b/p.sh\n",
                                          "");
    struct cluster_config *many = cfg_of("master_instance_type = t3.large\n"
                                         "custom_ami = ami-01234567\n",
                                         "compute_subnet_id = subnet-89abcdef\n");
    if (!a || !same || !sizes || !many) {
        CHECK(0);
        goto out;
    }
    CHECK_INT(config_check_update(a, same, err, sizeof(err)), 0);
    CHECK_STR(err, "");
    CHECK_INT(config_check_update(a, sizes, err, sizeof(err)), 0);
    CHECK_INT(config_check_update(a, many, err, sizeof(err)), -EINVAL);
    CHECK_STR(err, "config: these fields cannot change on a live cluster: master_instance_type "
                   "('t2.micro' -> 't3.large'), custom_ami ('(unset)' -> 'ami-01234567'), "
                   "compute_subnet_id ('subnet-01234567' -> 'subnet-89abcdef'); put them back, or "
                   "delete the cluster and create it again");
    struct cluster_config b = *a;
    snprintf(b.region, sizeof(b.region), "us-east-1");
    snprintf(b.base_os, sizeof(b.base_os), "centos7");
    snprintf(b.key_name, sizeof(b.key_name), "k2");
    snprintf(b.vpc_id, sizeof(b.vpc_id), "vpc-89abcdef");
    snprintf(b.master_subnet_id, sizeof(b.master_subnet_id), "subnet-89abcdef");
    snprintf(b.scheduler, sizeof(b.scheduler), "sge");
    CHECK_INT(config_check_update(a, &b, err, sizeof(err)), -EINVAL);
    const char *fields[] = { "aws_region_name ('ap-northeast-1' -> 'us-east-1')",
                             "base_os ('alinux2' -> 'centos7')", "key_name ('k' -> 'k2')",
                             "scheduler ('slurm' -> 'sge')", "vpc_id", "master_subnet_id" };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        CHECK_CONTAINS(err, fields[i]);
    snprintf(b.base_os, sizeof(b.base_os), "alinux2");
    b = *a;
    snprintf(b.base_os, sizeof(b.base_os), "centos7");
    CHECK_INT(config_check_update(a, &b, err, sizeof(err)), -EINVAL);
    CHECK_STR(err, "config: this field cannot change on a live cluster: base_os ('alinux2' -> "
                   "'centos7'); put it back, or delete the cluster and create it again");
    b = *a;
    b.scaledown_idletime = 5; /* in the head's slurm.conf since its launch */
    CHECK_INT(config_check_update(a, &b, err, sizeof(err)), -EINVAL);
    CHECK_CONTAINS(err, "scaledown_idletime ('10' -> '5')");
out:
    config_free(a);
    config_free(same);
    config_free(sizes);
    config_free(many);
}

static void test_node_names(void)
{
    struct cluster_config *cfg = cfg_of("initial_queue_size = 3\n", "");
    if (!cfg)
        return;
    char **names;
    size_t n;
    CHECK_INT(config_static_node_names(cfg, &names, &n), 0);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(names[0], "compute-st-t2micro-1");
        CHECK_STR(names[1], "compute-st-t2micro-2");
        CHECK_STR(names[2], "compute-st-t2micro-3");
    }
    config_free_node_names(names, n);
    config_free(cfg);

    cfg = cfg_of("", "");
    if (cfg) {
        CHECK_INT(config_static_node_names(cfg, &names, &n), 0);
        CHECK_INT(n, 0);
        config_free_node_names(names, n);
        config_free(cfg);
    }
    char buf[32];
    CHECK_INT(config_node_name(buf, sizeof(buf), "gpu", "dy", "p3dn24xlarge", 12), 0);
    CHECK_STR(buf, "gpu-dy-p3dn24xlarge-12");
    CHECK_INT(config_node_name(buf, 10, "gpu", "dy", "p3dn24xlarge", 12), -ENAMETOOLONG);
}

/* The fuzzer's seeds mean what their names say: the valid ones parse. */
static void test_seed_corpus(void)
{
    const char *root = getenv("PCFS_ROOT");
    static const struct {
        const char *file;
        bool valid;
    } seeds[] = {
        { "example_ok.ini", true },      { "example_crlf.ini", true },
        { "queues.ini", true },          { "single_full.ini", true },
        { "example_no_vpc.ini", false }, { "credentials.ini", false },
        { "sge.ini", false },            { "junk.ini", false },
        { "long_lines_v2.ini", true },   { "multi_spot.ini", true },
        { "credential_no_equals.ini", false },
    };
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        char path[4096], text[65536];
        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/fuzz_config/%s", root ? root : ".",
                 seeds[i].file);
        FILE *f = fopen(path, "rb");
        CHECK(f != NULL);
        if (!f) {
            fprintf(stderr, "  cannot open %s\n", path);
            continue;
        }
        size_t n = fread(text, 1, sizeof(text), f);
        fclose(f);
        struct cluster_config *cfg = NULL;
        int rc = config_parse(text, n, NULL, &cfg, err, sizeof(err));
        if ((rc == 0) != seeds[i].valid)
            fprintf(stderr, "  %s: rc %d: %s\n", seeds[i].file, rc, err);
        CHECK_INT(rc == 0, seeds[i].valid);
        config_free(cfg);
    }
}

static void test_error_buffer_small(void)
{
    char small[16];
    struct cluster_config *cfg;
    CHECK_INT(config_parse(example, strlen(example), NULL, &cfg, small, sizeof(small)), -EINVAL);
    CHECK_STR(small, "config:6: vpc_s");
    CHECK_INT(config_parse(example, strlen(example), NULL, &cfg, NULL, 0), -EINVAL);
}

/* The IAM keys v2 gave every node (fs/control/roles.h): kept as written,
 * v2's NONE is "not given", what is not a role name or ARN is refused, and
 * a user's role gets no policy from pclusterfs. */
static void test_iam_keys(void)
{
    struct cluster_config *cfg =
        ok(cl("s3_read_resource = arn:aws:s3:::some-bucket/*\n"
              "s3_read_write_resource = *\n"
              "additional_iam_policies = arn:aws:iam::aws:policy/A, "
              "arn:aws:iam::123456789012:policy/team/B\n"));
    if (cfg) {
        CHECK_STR(cfg->s3_read_resource, "arn:aws:s3:::some-bucket/*");
        CHECK_STR(cfg->s3_read_write_resource, "*");
        CHECK_STR(cfg->additional_iam_policies,
                  "arn:aws:iam::aws:policy/A, arn:aws:iam::123456789012:policy/team/B");
        CHECK_STR(cfg->ec2_iam_role, "");
    }
    config_free(cfg);
    cfg = ok(cl("ec2_iam_role = my-role@team\ns3_read_resource = NONE\n"));
    if (cfg) {
        CHECK_STR(cfg->ec2_iam_role, "my-role@team");
        CHECK_STR(cfg->s3_read_resource, "");
    }
    config_free(cfg);
    CHECK_CONTAINS(bad(cl("s3_read_resource = my-bucket\n")),
                   "config:9: s3_read_resource = my-bucket: this is not \"*\" or an S3 ARN");
    CHECK_CONTAINS(bad(cl("additional_iam_policies = arn:aws:iam::aws:policy/A,bucket\n")),
                   "config:9: additional_iam_policies = arn:aws:iam::aws:policy/A,bucket: this "
                   "is not a comma-separated list of IAM policy ARNs");
    CHECK_CONTAINS(bad(cl("ec2_iam_role = arn:aws:iam::1:role/r\n")),
                   "config:9: ec2_iam_role = arn:aws:iam::1:role/r: this is not an IAM role name");
    CHECK_CONTAINS(bad(cl("s3_read_resource = *\nec2_iam_role = mine\n")),
                   "config:9: s3_read_resource cannot go with ec2_iam_role (line 10)");
}

int main(void)
{
    RUN(test_iam_keys);
    RUN(test_acceptance_example_refused);
    RUN(test_acceptance_example_with_vpc_passes);
    RUN(test_v2_defaults);
    RUN(test_no_aws_section_means_mount_region);
    RUN(test_values_set);
    RUN(test_empty_value_means_unset);
    RUN(test_crlf_line_numbers);
    RUN(test_lone_cr_refused);
    RUN(test_no_final_newline);
    RUN(test_continuation_refused_for_one_line_keys);
    RUN(test_continuation_allowed_for_json_and_lines_count);
    RUN(test_long_lines);
    RUN(test_long_lines_at_the_cap);
    RUN(test_booleans_as_configparser);
    RUN(test_empty_number_refused);
    RUN(test_inline_comments_stripped_as_v2);
    RUN(test_duplicates);
    RUN(test_keys_case_insensitive_and_colon);
    RUN(test_first_error_by_line);
    RUN(test_key_outside_section);
    RUN(test_empty_configs);
    RUN(test_bytes);
    RUN(test_section_syntax);
    RUN(test_unknown_keys);
    RUN(test_credentials_refused);
    RUN(test_scheduler_rules);
    RUN(test_base_os_rules);
    RUN(test_vpc_rules);
    RUN(test_unused_sections_values_not_checked);
    RUN(test_unread_sections_warn);
    RUN(test_size_backstop);
    RUN(test_type_rules);
    RUN(test_queue_size_rules);
    RUN(test_cost_guard);
    RUN(test_queue_settings);
    RUN(test_queue_rules);
    RUN(test_cluster_template);
    RUN(test_every_v2_11_9_key_is_known);
    RUN(test_key_name_optional);
    RUN(test_scheduler_judged_first);
    RUN(test_hints_fit_the_form);
    RUN(test_spot);
    RUN(test_credential_lines_never_quoted);
    RUN(test_warnings);
    RUN(test_update_rules);
    RUN(test_node_names);
    RUN(test_seed_corpus);
    RUN(test_error_buffer_small);
    return check_finish();
}
