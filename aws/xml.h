/* A small element tree built from an XML document with expat: AWS answers
 * (EC2 Query, S3 REST, STS) are small, and walking a tree by child names is
 * how their shapes nest (an instance's tagSet/item inside instancesSet/item).
 * Namespaces are ignored (local names only); attributes are not kept. */
#ifndef PCFS_AWS_XML_H
#define PCFS_AWS_XML_H
#include <stddef.h>

struct aws_xml {
    char *name;             /* local name */
    char *text;             /* character data directly inside, concatenated */
    struct aws_xml *child;  /* first child */
    struct aws_xml *next;   /* next sibling */
};

/* Parses a document; NULL when it is not well-formed XML or nests deeper
 * than 64 levels. Free with aws_xml_free. */
struct aws_xml *aws_xml_parse(const char *data, size_t len);
void aws_xml_free(struct aws_xml *root);

/* First direct child named `name`, or NULL. */
struct aws_xml *aws_xml_child(const struct aws_xml *n, const char *name);
/* Follows a '/'-separated path of direct children ("instanceState/name"). */
struct aws_xml *aws_xml_path(const struct aws_xml *n, const char *path);
/* Text at a path, or "" when absent (never NULL). */
const char *aws_xml_text(const struct aws_xml *n, const char *path);
/* Next sibling named like `n` (for iterating over <item> lists). */
struct aws_xml *aws_xml_next_named(const struct aws_xml *n);
/* First element named `name` anywhere below n (depth first), or NULL. */
struct aws_xml *aws_xml_find(const struct aws_xml *n, const char *name);
#endif
