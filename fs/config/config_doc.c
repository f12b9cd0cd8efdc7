/* The config as written: sections and entries with their lines. */
#include "fs/config/config_doc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_error_set(struct config_error *e, int line, const char *fmt, ...)
{
    if (e->set)
        return;
    e->set = true;
    e->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

void config_error_format(const struct config_error *e, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    if (e->line > 0)
        snprintf(buf, len, "config:%d: %s", e->line, e->msg);
    else
        snprintf(buf, len, "config: %s", e->msg);
}

void config_doc_free(struct config_doc *doc)
{
    for (size_t i = 0; i < doc->n_sections; i++) {
        struct config_section *s = &doc->sections[i];
        for (size_t j = 0; j < s->n_entries; j++) {
            free(s->entries[j].key);
            free(s->entries[j].value);
        }
        free(s->entries);
        free(s->kind);
        free(s->label);
    }
    free(doc->sections);
    memset(doc, 0, sizeof(*doc));
}

struct config_section *config_doc_find(const struct config_doc *doc, const char *kind,
                                       const char *label)
{
    for (size_t i = 0; i < doc->n_sections; i++) {
        struct config_section *s = &doc->sections[i];
        if (strcmp(s->kind, kind) == 0 && strcmp(s->label, label ? label : "") == 0)
            return s;
    }
    return NULL;
}

struct config_entry *config_section_get(const struct config_section *sec, const char *key)
{
    if (!sec)
        return NULL;
    for (size_t i = 0; i < sec->n_entries; i++)
        if (strcmp(sec->entries[i].key, key) == 0)
            return &sec->entries[i];
    return NULL;
}

static int nomem(struct config_doc *doc)
{
    doc->oom = true;
    config_error_set(&doc->error, 0, "out of memory");
    return -ENOMEM;
}

static const char *display(const char *kind, const char *label, char *buf, size_t len)
{
    if (*label)
        snprintf(buf, len, "[%.40s %.40s]", kind, label);
    else
        snprintf(buf, len, "[%.40s]", kind);
    return buf;
}

int config_doc_begin_section(struct config_doc *doc, const char *header, int line)
{
    /* Outer blanks are forgiven; the kind and label are split at the first space. */
    while (isspace((unsigned char)*header))
        header++;
    size_t n = strlen(header);
    while (n > 0 && isspace((unsigned char)header[n - 1]))
        n--;
    char name[256];
    if (n >= sizeof(name))
        n = sizeof(name) - 1;
    memcpy(name, header, n);
    name[n] = '\0';

    char *label = strchr(name, ' ');
    if (!label)
        label = strchr(name, '\t');
    if (label)
        *label++ = '\0';
    else
        label = name + n;

    char problem[sizeof(((struct config_section *)0)->problem)] = "";
    const struct config_section_spec *spec = config_spec_section(name);
    if (!*name) {
        snprintf(problem, sizeof(problem),
                 "empty section header []; write [aws], [global] or [cluster NAME]");
    } else if (!spec) {
        const char *hint = config_spec_suggest_section(name);
        if (hint)
            snprintf(problem, sizeof(problem), "unknown section [%.64s%s%.64s]; did you mean [%s%s]?",
                     name, *label ? " " : "", label, hint, *label ? " ..." : "");
        else
            snprintf(problem, sizeof(problem),
                     "unknown section [%.64s%s%.64s]; ParallelCluster v2 sections are [aws], "
                     "[global], [aliases], [cluster], [vpc], [queue], [compute_resource], "
                     "[scaling], [ebs], [efs], [fsx], [raid], [dcv], [cw_log], [dashboard]",
                     name, *label ? " " : "", label);
    } else if (spec->labelled && !*label) {
        snprintf(problem, sizeof(problem), "section [%.64s] needs a name: write [%.64s NAME]", name,
                 name);
    } else if (!spec->labelled && *label) {
        snprintf(problem, sizeof(problem), "section [%.64s] takes no name: write [%.64s]", name, name);
    } else if (spec->labelled && !config_is_label(label)) {
        snprintf(problem, sizeof(problem),
                 "section name '%.64s' in [%.64s ...] is not valid: use letters, digits, '-' and "
                 "'_', at most 30",
                 label, name);
    }
    if (*problem)
        spec = NULL; /* a section v2 could not have read: its keys are not checked */
    struct config_section *dup = config_doc_find(doc, name, label);
    if (dup) {
        char d[96];
        config_error_set(&doc->error, line,
                         "section %s appears twice (first on line %d); merge them into one",
                         display(name, label, d, sizeof(d)), dup->line);
        return -EINVAL;
    }

    if (doc->n_sections == doc->cap_sections) {
        size_t cap = doc->cap_sections ? doc->cap_sections * 2 : 8;
        struct config_section *ns = realloc(doc->sections, cap * sizeof(*ns));
        if (!ns)
            return nomem(doc);
        doc->sections = ns;
        doc->cap_sections = cap;
    }
    struct config_section *s = &doc->sections[doc->n_sections];
    memset(s, 0, sizeof(*s));
    s->kind = strdup(name);
    s->label = strdup(label);
    if (!s->kind || !s->label) {
        free(s->kind);
        free(s->label);
        return nomem(doc);
    }
    s->line = line;
    s->spec = spec;
    snprintf(s->problem, sizeof(s->problem), "%s", problem);
    doc->n_sections++;
    doc->current = s;
    return 0;
}

int config_doc_add_entry(struct config_doc *doc, const char *key, const char *value, int line)
{
    struct config_section *s = doc->current;
    char lower[64];
    size_t n = strlen(key);
    if (n >= sizeof(lower))
        n = sizeof(lower) - 1;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)tolower((unsigned char)key[i]);
    lower[n] = '\0';

    if (!*lower) {
        config_error_set(&doc->error, line, "a line starts with '=' or ':'; write key = value");
        return -EINVAL;
    }
    if (!s) {
        config_error_set(&doc->error, line,
                         "key '%s' is outside any section; put it under [aws], [global] or "
                         "[cluster NAME]",
                         lower);
        return -EINVAL;
    }
    char d[96];
    const struct config_key_spec *k = s->spec ? config_spec_key(s->spec, lower) : NULL;
    /* Credentials are refused in any section, read or not: the file is
     * stored in the bucket. */
    const struct config_key_spec *cred = config_spec_key(config_spec_section("aws"), lower);
    if (cred && cred->support == CS_REFUSED) {
        config_error_set(&doc->error, line, "%s is refused: %s", lower, cred->note);
        return -EINVAL;
    }
    struct config_entry *dup = config_section_get(s, lower);
    if (dup) {
        config_error_set(&doc->error, line, "%s is set twice in %s (first on line %d); keep one",
                         lower, display(s->kind, s->label, d, sizeof(d)), dup->line);
        return -EINVAL;
    }
    if (s->n_entries == s->cap_entries) {
        size_t cap = s->cap_entries ? s->cap_entries * 2 : 8;
        struct config_entry *ne = realloc(s->entries, cap * sizeof(*ne));
        if (!ne)
            return nomem(doc);
        s->entries = ne;
        s->cap_entries = cap;
    }
    struct config_entry *e = &s->entries[s->n_entries];
    memset(e, 0, sizeof(*e));
    e->key = strdup(lower);
    e->value = strdup(value);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return nomem(doc);
    }
    e->line = e->last_line = line;
    e->spec = k;
    s->n_entries++;
    return 0;
}

int config_doc_continue_entry(struct config_doc *doc, const char *value, int line)
{
    struct config_section *s = doc->current;
    if (!s || s->n_entries == 0) {
        config_error_set(&doc->error, line, "an indented line continues no key; remove the "
                                            "indentation");
        return -EINVAL;
    }
    struct config_entry *e = &s->entries[s->n_entries - 1];
    if (e->spec && e->spec->type != CT_JSON) {
        config_error_set(&doc->error, line,
                         "this indented line continues %s from line %d, but %s is one line; "
                         "remove the indentation",
                         e->key, e->line, e->key);
        return -EINVAL;
    }
    size_t a = strlen(e->value), b = strlen(value);
    char *nv = realloc(e->value, a + b + 2);
    if (!nv)
        return nomem(doc);
    nv[a] = '\n';
    memcpy(nv + a + 1, value, b + 1);
    e->value = nv;
    e->last_line = line;
    return 0;
}
