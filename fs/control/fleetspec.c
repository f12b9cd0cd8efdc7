#include "fs/control/fleetspec.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "aws/encode.h"
#include "fs/store/layout.h"

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

static json_t *install(const char *url, const char *args)
{
    return url[0] ? json_pack("{s:s, s:s}", "url", url, "args", args) : json_null();
}

static json_t *launch_params(const struct fleetspec_input *in)
{
    const struct cluster_config *cfg = in->cfg;
    json_t *sgs = json_array();
    for (size_t i = 0; i < in->n_security_groups; i++)
        json_array_append_new(sgs, json_string(in->security_groups[i]));
    if (!in->n_security_groups && cfg->vpc_security_group_id[0])
        json_array_append_new(sgs, json_string(cfg->vpc_security_group_id));
    if (!in->n_security_groups && cfg->additional_sg[0])
        json_array_append_new(sgs, json_string(cfg->additional_sg));
    int max_nodes = 1;
    for (size_t q = 0; q < cfg->n_queues; q++)
        for (size_t r = 0; r < cfg->queues[q].n_resources; r++)
            max_nodes += cfg->queues[q].resources[r].max_count;
    char *stage2 = layout_generated_key(in->dc->name, "bootstrap.sh");
    char *munge = layout_generated_key(in->dc->name, LAYOUT_MUNGE_KEY);
    char *ssh = layout_generated_key(in->dc->name, LAYOUT_SSH_KEY);
    json_t *files = stage2 && munge && ssh ? json_pack("{s:s, s:s, s:s}", "stage2", stage2,
                                                       "mungeKey", munge, "sshKey", ssh)
                                           : NULL;
    free(stage2);
    free(munge);
    free(ssh);
    return json_pack("{s:o, s:o, s:[s], s:o, s:o, s:o, s:i, s:o, s:o}", "files", files, "image",
                     str_or_null(in->image_id), "subnets", cfg->compute_subnet_id,
                     "securityGroups", sgs, "keyName", str_or_null(cfg->key_name),
                     "instanceProfile", str_or_null(in->instance_profile), "maxNodes", max_nodes,
                     "preInstall", install(cfg->pre_install, cfg->pre_install_args),
                     "postInstall", install(cfg->post_install, cfg->post_install_args));
}

static json_t *hooks(const struct desired_cluster *dc)
{
    json_t *out = json_object();
    for (int st = 0; out && st < HOOK_STAGES; st++) {
        json_t *list = json_array();
        for (size_t h = 0; list && h < dc->n_hooks[st]; h++) {
            char *key = layout_hook_key(dc->name, (enum hook_stage)st, dc->hooks[st][h].name);
            json_array_append_new(list, key ? json_pack("{s:s, s:s}", "name",
                                                        dc->hooks[st][h].name, "key", key)
                                            : NULL);
            free(key);
        }
        json_object_set_new(out, hook_stage_name((enum hook_stage)st), list);
    }
    return out;
}

static json_t *node_list(const struct config_queue *cq, const struct config_compute_resource *cr,
                         const char *kind, int count)
{
    json_t *nodes = json_array();
    for (int i = 1; nodes && i <= count; i++) {
        char name[CONFIG_NODE_NAME_MAX];
        if (config_node_name(name, sizeof(name), cq->name, kind, cr->name, i) == 0)
            json_array_append_new(nodes, json_string(name));
    }
    return nodes;
}

static json_t *queues(const struct fleetspec_input *in)
{
    const struct cluster_config *cfg = in->cfg;
    json_t *out = json_array();
    for (size_t q = 0; out && q < cfg->n_queues; q++) {
        const struct config_queue *cq = &cfg->queues[q];
        json_t *resources = json_array();
        for (size_t r = 0; resources && r < cq->n_resources; r++) {
            const struct config_compute_resource *cr = &cq->resources[r];
            const struct fleetspec_type_facts *f = &in->facts[q][r];
            json_t *res = json_pack(
                "{s:s, s:s, s:i, s:i, s:i, s:o, s:b, s:i, s:I}", "name", cr->name, "instanceType",
                cr->instance_type, "minCount", cr->min_count, "maxCount", cr->max_count,
                "staticCount", cr->static_count, "spotPrice",
                cr->spot_price > 0 ? json_real(cr->spot_price) : json_null(),
                "disableHyperthreading", cr->disable_hyperthreading, "vcpus",
                f->vcpus > 0 ? f->vcpus : 1, "memoryMib",
                (json_int_t)(f->memory_mib > 0 ? f->memory_mib : 512));
            if (res) {
                json_object_set_new(res, "staticNodes",
                                    node_list(cq, cr, "st", cr->static_count));
                json_object_set_new(res, "dynamicNodes",
                                    node_list(cq, cr, "dy", cr->dynamic_count));
            }
            json_array_append_new(resources, res);
        }
        json_array_append_new(out, json_pack("{s:s, s:s, s:o}", "name", cq->name, "market",
                                             cq->spot ? "spot" : "on-demand",
                                             "computeResources", resources));
    }
    return out;
}

int fleetspec_render(const struct fleetspec_input *in, char **text, char id[65])
{
    *text = NULL;
    json_t *doc = json_pack("{s:i, s:s, s:I, s:s, s:s, s:i, s:o, s:o, s:o}", "schema",
                            FLEETSPEC_SCHEMA, "cluster", in->dc->name, "incarnation",
                            (json_int_t)in->dc->created_at, "owner", in->bucket, "region",
                            in->region, "generation", in->dc->generation, "launch",
                            launch_params(in), "hooks", hooks(in->dc), "queues", queues(in));
    const size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10);
    char *body = doc ? json_dumps(doc, flags) : NULL;
    int rc = body ? 0 : -ENOMEM;
    if (rc == 0) {
        aws_sha256_hex(body, strlen(body), id);
        rc = json_object_set_new(doc, "specId", json_string(id)) == 0 ? 0 : -ENOMEM;
    }
    if (rc == 0) {
        *text = json_dumps(doc, flags);
        rc = *text ? 0 : -ENOMEM;
    }
    free(body);
    json_decref(doc);
    return rc;
}
