/* The config as written, before meaning is given to it (fs/config_doc.c):
 * its sections in file order, each with its entries (key, value, line), and
 * the first error found, with its line. fs/config_reader.c fills it through
 * inih; fs/config_validate.c reads it. */
#ifndef PCFS_CONFIG_DOC_H
#define PCFS_CONFIG_DOC_H
#include <stdbool.h>
#include <stddef.h>

#include "fs/config/config_spec.h"

struct config_error {
    bool set;
    int line;        /* 0 when no line applies */
    char msg[512];   /* without the "config:LINE: " prefix */
};

/* Record an error unless one is already recorded: the first one wins. */
void config_error_set(struct config_error *e, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "config:LINE: msg" (or "config: msg") into buf. */
void config_error_format(const struct config_error *e, char *buf, size_t len);

struct config_entry {
    char *key;       /* lowercased, as v2's configparser did */
    char *value;     /* continuation lines joined with '\n' */
    int line;        /* line of "key = value" */
    int last_line;   /* last continuation line, == line when none */
    /* the key's entry in fs/config_spec.c; NULL for a key the section does
     * not have (the validator refuses it if v2 read the section, else warns) */
    const struct config_key_spec *spec;
};

struct config_section {
    char *kind;      /* "cluster" */
    char *label;     /* "default", or "" for [aws] */
    int line;        /* line of the [header] */
    /* NULL for a kind v2 did not have; then problem says so */
    const struct config_section_spec *spec;
    /* Why v2 could not have read this header ("unknown section [foo]",
     * "[vpc] needs a name"), or "" if it could. v2 ignored sections it did
     * not read, so the validator refuses this only for a section it reads. */
    char problem[512];
    struct config_entry *entries;
    size_t n_entries, cap_entries;
};

struct config_doc {
    struct config_section *sections;
    size_t n_sections, cap_sections;
    struct config_section *current; /* the section being filled, NULL before the first */
    int meaningful_lines;           /* lines that are not blank or comments */
    struct config_error error;
    bool oom;
};

void config_doc_free(struct config_doc *doc);

/* Open a section from its header's text between [ and ]. A duplicate is an
 * error (as in configparser); an unknown kind or a bad label is recorded in
 * the section's problem. 0, or -EINVAL with doc->error set, or -ENOMEM. */
int config_doc_begin_section(struct config_doc *doc, const char *header, int line);
/* Add key = value to the current section (checks: a section is open, the key
 * is not a credential (refused wherever it is), and is not there yet). A key
 * the section does not know is kept with spec NULL for the validator. */
int config_doc_add_entry(struct config_doc *doc, const char *key, const char *value, int line);
/* Continue the last entry with an indented line; only JSON values (tags,
 * extra_json) may span lines, as every other v2 value is one line. */
int config_doc_continue_entry(struct config_doc *doc, const char *value, int line);

struct config_section *config_doc_find(const struct config_doc *doc, const char *kind,
                                       const char *label);
struct config_entry *config_section_get(const struct config_section *sec, const char *key);

#endif
