/* Which sections of a config ParallelCluster v2 would read (fs/config_scope.c):
 * [aws], [global], [aliases], the chosen [cluster NAME] and, transitively,
 * every section its *_settings keys name. v2 ignored the rest (other
 * templates, leftovers), so the validator is strict only about these. */
#ifndef PCFS_CONFIG_SCOPE_H
#define PCFS_CONFIG_SCOPE_H
#include <stdbool.h>

#include "fs/config/config_doc.h"

/* read[i] (one per doc->sections[i]) set to whether v2 reads section i
 * when cluster is the chosen one (cluster may be NULL: none chosen). */
void config_scope_mark(const struct config_doc *doc, const struct config_section *cluster,
                       bool *read);

#endif
