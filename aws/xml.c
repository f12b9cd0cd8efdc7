#include "aws/xml.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "aws/util.h"

#define MAX_DEPTH 64

struct builder {
    struct aws_xml *root;
    struct aws_xml *stack[MAX_DEPTH];
    struct aws_xml *last_child[MAX_DEPTH];
    struct aws_buf text[MAX_DEPTH];
    int depth;
    bool too_deep;
    XML_Parser parser;
};

static const char *local_name(const char *name)
{
    const char *sep = strrchr(name, '\x01');
    return sep ? sep + 1 : name;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct builder *b = ud;
    if (b->depth >= MAX_DEPTH || (b->depth == 0 && b->root)) {
        b->too_deep = true;
        XML_StopParser(b->parser, XML_FALSE);
        return;
    }
    struct aws_xml *n = aws_xcalloc(1, sizeof *n);
    n->name = aws_xstrdup(local_name(name));
    if (b->depth == 0) {
        b->root = n;
    } else {
        int p = b->depth - 1;
        if (b->last_child[p])
            b->last_child[p]->next = n;
        else
            b->stack[p]->child = n;
        b->last_child[p] = n;
    }
    b->stack[b->depth] = n;
    b->last_child[b->depth] = NULL;
    aws_buf_reset(&b->text[b->depth]);
    b->depth++;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    struct builder *b = ud;
    if (b->depth <= 0)
        return;
    b->depth--;
    struct aws_buf *t = &b->text[b->depth];
    b->stack[b->depth]->text = aws_xstrndup(aws_buf_str(t), t->len);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct builder *b = ud;
    if (b->depth > 0 && len > 0)
        aws_buf_append(&b->text[b->depth - 1], s, (size_t)len);
}

struct aws_xml *aws_xml_parse(const char *data, size_t len)
{
    struct builder b = {0};
    /* Namespace processing with a separator so we can keep local names. */
    b.parser = XML_ParserCreateNS(NULL, '\x01');
    if (!b.parser)
        return NULL;
    XML_SetUserData(b.parser, &b);
    XML_SetElementHandler(b.parser, on_start, on_end);
    XML_SetCharacterDataHandler(b.parser, on_text);
    enum XML_Status st = XML_STATUS_OK;
    /* Feed in chunks so lengths beyond INT_MAX cannot overflow. */
    size_t off = 0;
    do {
        size_t chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
        st = XML_Parse(b.parser, data + off, (int)chunk, off + chunk == len);
        off += chunk;
    } while (st == XML_STATUS_OK && off < len);
    if (len == 0)
        st = XML_Parse(b.parser, "", 0, 1);
    bool ok = st == XML_STATUS_OK && !b.too_deep && b.root && b.depth == 0;
    XML_ParserFree(b.parser);
    for (int i = 0; i < MAX_DEPTH; i++)
        aws_buf_free(&b.text[i]);
    if (!ok) {
        /* Elements still open have no text yet; aws_xml_free copes. */
        aws_xml_free(b.root);
        return NULL;
    }
    return b.root;
}

void aws_xml_free(struct aws_xml *n)
{
    while (n) {
        struct aws_xml *next = n->next;
        aws_xml_free(n->child);
        free(n->name);
        aws_free_secret(n->text);   /* STS/IMDS-like answers may carry secrets */
        free(n);
        n = next;
    }
}

struct aws_xml *aws_xml_child(const struct aws_xml *n, const char *name)
{
    if (!n)
        return NULL;
    for (struct aws_xml *c = n->child; c; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

struct aws_xml *aws_xml_path(const struct aws_xml *n, const char *path)
{
    char part[128];
    const struct aws_xml *cur = n;
    while (cur && *path) {
        const char *slash = strchr(path, '/');
        size_t len = slash ? (size_t)(slash - path) : strlen(path);
        if (len >= sizeof part)
            return NULL;
        memcpy(part, path, len);
        part[len] = '\0';
        cur = aws_xml_child(cur, part);
        path = slash ? slash + 1 : path + len;
    }
    return (struct aws_xml *)cur;
}

const char *aws_xml_text(const struct aws_xml *n, const char *path)
{
    struct aws_xml *x = path && *path ? aws_xml_path(n, path) : (struct aws_xml *)n;
    return x && x->text ? x->text : "";
}

struct aws_xml *aws_xml_next_named(const struct aws_xml *n)
{
    for (struct aws_xml *s = n ? n->next : NULL; s; s = s->next)
        if (strcmp(s->name, n->name) == 0)
            return s;
    return NULL;
}

struct aws_xml *aws_xml_find(const struct aws_xml *n, const char *name)
{
    if (!n)
        return NULL;
    if (strcmp(n->name, name) == 0)
        return (struct aws_xml *)n;
    for (struct aws_xml *c = n->child; c; c = c->next) {
        struct aws_xml *f = aws_xml_find(c, name);
        if (f)
            return f;
    }
    return NULL;
}
