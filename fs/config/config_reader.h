/* Reading config text into a struct config_doc with inih (fs/config_reader.c).
 *
 * Debian's libinih (55-1) is built with a 200-byte line buffer (longer lines
 * are cut), multi-line values on (an indented line continues the previous
 * key, as Python's configparser), inline comments on for ';' only, and a
 * handler that gets no line number. So inih reads through our own reader
 * function (ini_parse_stream), which:
 *   - counts lines, so every entry and error carries its line number;
 *   - refuses NUL bytes, text that is not UTF-8, control characters other
 *     than tab, and a carriage return not followed by a line feed; accepts
 *     LF and CRLF line ends and a UTF-8 BOM at the start;
 *   - strips comments the way ParallelCluster v2 did (its configparser had
 *     inline_comment_prefixes ("#", ";")): a line whose first non-blank
 *     character is '#' or ';' is a comment, and so is the rest of a line
 *     from a '#' or ';' that follows a blank ("key = v # note" gives "v");
 *     a '#' or ';' inside a word ("a#b") stays in the value;
 *   - lifts inih's line limit (199 bytes once the comment and line end are
 *     gone): a longer line reaches inih with a short stand-in token in
 *     place of its value, and the handler puts the value back, so inih
 *     still parses every line and only the 64 KiB config cap bounds a line
 *     (v2's configparser had no line limit);
 *   - never quotes a refused line that names a credential key;
 *   - mirrors inih's line classification (section / key / continuation) so
 *     that section headers, which Debian's inih does not report to the
 *     handler, are seen: empty and repeated sections, and text after ']'.
 * Continuation lines are joined to the value with '\n'; the validator
 * decides which keys may span lines. */
#ifndef PCFS_CONFIG_READER_H
#define PCFS_CONFIG_READER_H
#include <stddef.h>

#include "fs/config/config_doc.h"

/* Fill doc from text. 0, or -EINVAL with doc->error set, or -ENOMEM.
 * doc must be zeroed; free it with config_doc_free whatever the result. */
int config_read_doc(const char *text, size_t len, struct config_doc *doc);

#endif
