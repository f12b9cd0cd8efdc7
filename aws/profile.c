#include "aws/profile.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "aws/util.h"

const char *aws_profile_name(const char *explicit_name)
{
    if (explicit_name && *explicit_name)
        return explicit_name;
    const char *env = getenv("AWS_PROFILE");
    return env && *env ? env : "default";
}

static void file_path(const char *env_name, const char *leaf, char *out, size_t n)
{
    const char *env = getenv(env_name);
    if (env && *env) {
        if (env[0] == '~' && env[1] == '/') {
            const char *home = getenv("HOME");
            snprintf(out, n, "%s%s", home ? home : "", env + 1);
        } else {
            snprintf(out, n, "%s", env);
        }
        return;
    }
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "/";
    }
    snprintf(out, n, "%s/.aws/%s", home, leaf);
}

/* Line reader for ini_parse_stream: lines that would not fit inih's buffer
 * become "key=\x01N" (an indented continuation line " \x01N"), N indexing
 * the value kept in `long_values`. */
struct reader {
    FILE *f;
    char *line;
    size_t cap;
    char **long_values;
    size_t n_long;
    bool after_entry;   /* inih's prev_name is set: an indented line continues it */
};

/* Follows inih's reading of a line (r55, multi-line on): true when inih
 * takes it as the continuation of the previous entry's value. */
static bool classify(struct reader *r, const char *line)
{
    const char *start = line;
    while (*start && isspace((unsigned char)*start))
        start++;
    if (*start == ';' || *start == '#' || *start == '\0')
        return false;
    if (r->after_entry && start > line)
        return true;
    r->after_entry = *start != '[';
    return false;
}

static char *read_line(char *buf, int size, void *stream)
{
    struct reader *r = stream;
    ssize_t len = getline(&r->line, &r->cap, r->f);
    if (len < 0)
        return NULL;
    bool continuation = classify(r, r->line);
    if (len < size - 1) {
        memcpy(buf, r->line, (size_t)len + 1);
        return buf;
    }
    /* A continuation's whole text is the value (inih skips the indentation). */
    char *eq = continuation ? r->line : strpbrk(r->line, "=:");
    size_t keylen = eq && !continuation ? (size_t)(eq - r->line) : 0;
    if (!eq || keylen + 24 >= (size_t)size) {
        /* Not a key=value line we can carry: give inih a line it rejects. */
        snprintf(buf, (size_t)size, "%s", "\x01 line too long\n");
        r->after_entry = false;
        return buf;
    }
    char *value = continuation ? r->line : eq + 1;
    while (*value && isspace((unsigned char)*value))
        value++;
    size_t vlen = strlen(value);
    while (vlen && isspace((unsigned char)value[vlen - 1]))
        vlen--;
    r->long_values = aws_xrealloc(r->long_values, (r->n_long + 1) * sizeof *r->long_values);
    r->long_values[r->n_long] = aws_xstrndup(value, vlen);
    if (continuation)
        snprintf(buf, (size_t)size, " \x01%zu\n", r->n_long);
    else
        snprintf(buf, (size_t)size, "%.*s=\x01%zu\n", (int)keylen, r->line, r->n_long);
    r->n_long++;
    return buf;
}

struct load_ctx {
    struct aws_profile *p;
    const char *section;    /* the section name that holds the profile */
    bool config_file;
    struct reader *reader;
};

static const char *resolve_value(struct load_ctx *c, const char *value)
{
    if (value[0] == '\x01') {
        size_t idx = strtoul(value + 1, NULL, 10);
        if (idx < c->reader->n_long)
            return c->reader->long_values[idx];
    }
    return value;
}

static void set_field(char **field, const char *value)
{
    aws_free_secret(*field);
    *field = aws_xstrdup(value);
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *c = user;
    if (strcmp(section, c->section) != 0)
        return 1;
    c->p->found = true;
    value = resolve_value(c, value);
    struct aws_profile *p = c->p;
    if (strcmp(name, "aws_access_key_id") == 0)
        set_field(&p->aws_access_key_id, value);
    else if (strcmp(name, "aws_secret_access_key") == 0)
        set_field(&p->aws_secret_access_key, value);
    else if (strcmp(name, "aws_session_token") == 0)
        set_field(&p->aws_session_token, value);
    else if (strcmp(name, "region") == 0)
        set_field(&p->region, value);
    else if (strcmp(name, "credential_process") == 0)
        set_field(&p->credential_process, value);
    else if (strcmp(name, "role_arn") == 0)
        set_field(&p->role_arn, value);
    else if (strcmp(name, "sso_start_url") == 0 || strcmp(name, "sso_session") == 0)
        set_field(&p->sso_start_url, value);
    return 1;
}

/* A missing file is normal; a profile section without entries counts as absent. */
static int load_file(const char *path, const char *section, struct aws_profile *p,
                     struct aws_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;   /* a missing file is normal */
    struct reader r = {.f = f};
    struct load_ctx c = {.p = p, .section = section, .reader = &r};
    int rc = ini_parse_stream(read_line, &r, on_entry, &c);
    fclose(f);
    free(r.line);
    for (size_t i = 0; i < r.n_long; i++)
        aws_free_secret(r.long_values[i]);
    free(r.long_values);
    if (rc != 0)
        return aws_error_set(err, -EINVAL, "InvalidConfigFile", "%s:%d: cannot parse this line",
                             path, rc);
    return 0;
}

int aws_profile_load(const char *name, struct aws_profile *p, struct aws_error *err)
{
    memset(p, 0, sizeof *p);
    p->name = aws_xstrdup(name);
    char path[4096];
    char section[512];

    /* Config first, so the credentials file overrides it. */
    file_path("AWS_CONFIG_FILE", "config", path, sizeof path);
    if (strcmp(name, "default") == 0)
        snprintf(section, sizeof section, "default");
    else
        snprintf(section, sizeof section, "profile %s", name);
    int rc = load_file(path, section, p, err);
    if (rc == 0 && strcmp(name, "default") == 0 && !p->found)
        rc = load_file(path, "profile default", p, err);
    if (rc < 0)
        return rc;
    file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", path, sizeof path);
    return load_file(path, name, p, err);
}

void aws_profile_free(struct aws_profile *p)
{
    free(p->name);
    aws_free_secret(p->aws_access_key_id);
    aws_free_secret(p->aws_secret_access_key);
    aws_free_secret(p->aws_session_token);
    free(p->region);
    aws_free_secret(p->credential_process);
    free(p->role_arn);
    free(p->sso_start_url);
    memset(p, 0, sizeof *p);
}
