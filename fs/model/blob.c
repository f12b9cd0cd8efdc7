#include "fs/model/blob.h"

#include <stdlib.h>
#include <string.h>

struct blob *blob_new(const void *data, size_t len)
{
    struct blob *b = malloc(sizeof(*b) + len + 1);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    if (len)
        memcpy(b->data, data, len);
    b->data[len] = '\0';
    return b;
}

struct blob *blob_from_str(const char *s)
{
    return blob_new(s, strlen(s));
}

struct blob *blob_concat(const struct blob *a, const void *tail, size_t tlen)
{
    size_t alen = a ? a->len : 0;
    struct blob *b = malloc(sizeof(*b) + alen + tlen + 1);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = alen + tlen;
    if (alen)
        memcpy(b->data, a->data, alen);
    if (tlen)
        memcpy(b->data + alen, tail, tlen);
    b->data[b->len] = '\0';
    return b;
}

struct blob *blob_ref(struct blob *b)
{
    if (b)
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void blob_unref(struct blob *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}
