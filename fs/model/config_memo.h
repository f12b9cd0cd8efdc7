/* The stored config parsed once per generation. A store's load hands each
 * cluster that has a config its parse (struct parsed_config, store.h):
 * parsed the first time a load meets that generation's bytes, then shared
 * by reference with every later load and copy of the desired state. The
 * snapshot, the commits' update checks, the reconciler and desired_region
 * read it instead of parsing the INI again. Thread-safe (a mutex inside,
 * held while parsing, which is CPU only). */
#ifndef PCFS_CONFIG_MEMO_H
#define PCFS_CONFIG_MEMO_H
#include "fs/store/store.h"

struct config_memo;

struct config_memo *config_memo_new(void);
void config_memo_free(struct config_memo *m);

/* Gives every cluster of ds with a config its parsed_config (reusing the
 * one of an earlier load when name, generation and bytes match) and forgets
 * clusters ds does not hold. 0, or -ENOMEM (clusters then may lack it). */
int config_memo_attach(struct config_memo *m, struct desired_state *ds);

/* Parses a stored config (validated when committed, so no instance limit
 * applies). NULL only on ENOMEM; a config that no longer parses gives
 * cfg NULL and the reason in error. */
struct parsed_config *parsed_config_new(const struct blob *config);
struct parsed_config *parsed_config_ref(struct parsed_config *p);
void parsed_config_unref(struct parsed_config *p);

#endif
