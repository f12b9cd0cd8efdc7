/* The sections v2 reads: a walk over *_settings references. */
#include "fs/config/config_scope.h"

#include <ctype.h>
#include <string.h>

static void mark(const struct config_doc *doc, const struct config_section *s, bool *read);

/* Mark the section of kind `kind` named label[0..len). */
static void mark_label(const struct config_doc *doc, const char *kind, const char *label,
                       size_t len, bool *read)
{
    char name[64];
    if (len == 0 || len >= sizeof(name))
        return;
    memcpy(name, label, len);
    name[len] = '\0';
    mark(doc, config_doc_find(doc, kind, name), read);
}

/* Follow each reference key of s (one label or a comma list). */
static void follow_refs(const struct config_doc *doc, const struct config_section *s, bool *read)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct config_entry *e = &s->entries[i];
        if (!e->spec || (e->spec->type != CT_REF && e->spec->type != CT_REF_LIST))
            continue;
        for (const char *p = e->value; *p;) {
            while (*p == ',' || isspace((unsigned char)*p))
                p++;
            const char *end = p + strcspn(p, ",");
            const char *q = end;
            while (q > p && isspace((unsigned char)q[-1]))
                q--;
            mark_label(doc, e->spec->ref, p, (size_t)(q - p), read);
            p = end;
        }
    }
}

static void mark(const struct config_doc *doc, const struct config_section *s, bool *read)
{
    if (!s)
        return;
    size_t i = (size_t)(s - doc->sections);
    if (read[i])
        return;
    read[i] = true;
    follow_refs(doc, s, read);
}

void config_scope_mark(const struct config_doc *doc, const struct config_section *cluster,
                       bool *read)
{
    for (size_t i = 0; i < doc->n_sections; i++)
        read[i] = false;
    mark(doc, config_doc_find(doc, "aws", ""), read);
    mark(doc, config_doc_find(doc, "global", ""), read);
    mark(doc, config_doc_find(doc, "aliases", ""), read);
    mark(doc, cluster, read);
}
