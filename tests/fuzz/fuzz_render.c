/* libFuzzer harness for the renderer (fs/render.c, fs/snapshot.c): every
 * text field it takes, from the bucket (last_error, failure reason, hook
 * names), from the cloud and from Slurm (node fields, stale reasons), gets
 * arbitrary bytes. Rendering never fails and every file it makes is valid
 * UTF-8; .json files parse. The input is split on NUL bytes into fields. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/observed.h"
#include "fs/model/snapshot.h"
#include "fs/store/store.h"

#define FIELDS 20

static bool valid_utf8(const struct blob *b)
{
    json_t *j = json_stringn(b->data, b->len); /* checks RFC 3629 UTF-8 */
    json_decref(j);
    return j != NULL;
}

static void check_file(const struct snap_file *f, bool is_json)
{
    if (!f->content || !valid_utf8(f->content))
        abort();
    if (is_json) {
        json_t *doc = json_loadb(f->content->data, f->content->len, 0, NULL);
        if (!doc)
            abort();
        json_decref(doc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *field[FIELDS];
    char *p = copy;
    for (int i = 0; i < FIELDS; i++) { /* missing fields are empty */
        field[i] = p;
        p += strlen(p);
        if (p < copy + size)
            p++;
    }

    struct desired_state *ds = calloc(1, sizeof(*ds));
    ds->n = 1;
    ds->clusters = calloc(1, sizeof(*ds->clusters));
    struct desired_cluster *dc = &ds->clusters[0];
    dc->name = strdup("c");
    dc->events = blob_from_str(field[0]);
    dc->last_error = strdup(field[1]);
    dc->failure_code = strdup(field[2]);
    dc->failure_reason = strdup(field[3]);
    dc->hooks[0] = calloc(1, sizeof(*dc->hooks[0]));
    dc->hooks[0][0].name = strdup(field[4]);
    dc->hooks[0][0].content = blob_from_str("");
    dc->n_hooks[0] = 1;

    struct observed_state *obs = observed_new_empty(1);
    obs->stale = true;
    obs->stale_reason = strdup(field[5]);
    obs->n = 1;
    obs->clusters = calloc(1, sizeof(*obs->clusters));
    struct observed_cluster *oc = &obs->clusters[0];
    oc->name = strdup("c");
    oc->slurm_error = strdup(field[6]);
    oc->n_nodes = 1;
    oc->nodes = calloc(1, sizeof(*oc->nodes));
    struct observed_node *n = &oc->nodes[0];
    char **node_text[] = {&n->name,     &n->instance_id, &n->instance_type, &n->private_ip,
                          &n->public_ip, &n->ec2_state,  &n->slurm_state,   &n->bootstrap,
                          &n->bootstrap_log, &n->slurm_reason};
    for (size_t i = 0; i < sizeof(node_text) / sizeof(node_text[0]); i++)
        *node_text[i] = strdup(field[7 + i]);
    n->partitions = calloc(1, sizeof(char *));
    n->partitions[0] = strdup(field[17]);
    n->n_partitions = 1;
    n->slurm_flags = calloc(1, sizeof(char *));
    n->slurm_flags[0] = strdup(field[18]);
    n->n_slurm_flags = 1;

    struct snapshot_inputs in = {.mount_region = field[19], .stale_reason = NULL};
    struct snapshot *s = snapshot_build(ds, obs, &in);
    if (!s)
        abort();
    const struct snap_cluster *c = snapshot_find(s, "c");
    check_file(&c->status_file, false);
    check_file(&c->status_json, true);
    for (size_t i = 0; i < c->n_nodes; i++)
        for (size_t k = 0; k < c->nodes[i].n_files; k++)
            check_file(&c->nodes[i].files[k],
                       strcmp(c->nodes[i].files[k].name, "node.json") == 0);
    snapshot_unref(s);
    observed_free(obs);
    free(copy);
    return 0;
}
