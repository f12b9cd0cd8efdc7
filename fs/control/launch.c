#include "fs/control/launch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/endpoint.h"
#include "fs/control/sshkey.h"
#include "fs/embedded.h"
#include "fs/store/layout.h"

/* Presigned GETs live minutes: a node fetches everything its manifest names
 * as soon as it boots (stage 1 waits for the manifest up to ten minutes),
 * and a URL that leaks must soon be worth nothing. The report's PUT lives
 * plan->url_seconds: a node reports until its bootstrap ends. */
#define FETCH_URL_SECONDS (15 * 60)

void launch_client_token(const char *bucket, const char *cluster, time_t incarnation,
                         const char *node, int attempt, char out[65])
{
    char input[1024];
    int n = incarnation > 0 ? snprintf(input, sizeof(input), "%s/%s@%lld/%s/%d", bucket, cluster,
                                       (long long)incarnation, node, attempt)
                            : snprintf(input, sizeof(input), "%s/%s/%s/%d", bucket, cluster,
                                       node, attempt);
    aws_sha256_hex(input, (size_t)n, out);
}

int launch_cluster_secret(struct cloud *cl, const char *cluster, const char *name, size_t len,
                          char **data, size_t *outlen, char *err, size_t errlen)
{
    char *key = layout_generated_key(cluster, name);
    if (!key)
        return -ENOMEM;
    int rc = cloud_get(cl, key, data, outlen, NULL, 0, err, errlen);
    if (rc == -ENOENT) {
        unsigned char *fresh = NULL;
        if (strcmp(name, LAYOUT_SSH_KEY) == 0) { /* a key pair, not random bytes */
            char *pem = NULL;
            rc = sshkey_generate(&pem, &len);
            fresh = (unsigned char *)pem;
            if (rc)
                snprintf(err, errlen, "generating the cluster's ssh key failed");
        } else {
            fresh = malloc(len);
            rc = fresh && RAND_bytes(fresh, (int)len) == 1 ? 0 : -EIO;
        }
        struct aws_s3_put_options only_new = {.if_none_match = true};
        if (rc == 0)
            rc = cloud_put(cl, key, fresh, len, &only_new, err, errlen);
        free(fresh);
        /* Created, or another mount created it first: read what is there. */
        if (rc == 0 || rc == AWS_ERR_PRECONDITION)
            rc = cloud_get(cl, key, data, outlen, NULL, 0, err, errlen);
    }
    free(key);
    return rc;
}

/* Copies tmpl into a new string with each @NAME@ replaced by its value. */
static char *render(const char *tmpl, const char *const (*vars)[2], size_t n_vars)
{
    size_t cap = strlen(tmpl) + 1;
    for (size_t i = 0; i < n_vars; i++)
        cap += strlen(vars[i][1]) * 8;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        size_t i;
        for (i = 0; i < n_vars; i++) {
            size_t klen = strlen(vars[i][0]);
            if (strncmp(p, vars[i][0], klen) == 0) {
                size_t vlen = strlen(vars[i][1]);
                if ((size_t)(o - out) + vlen + strlen(p) >= cap) {
                    free(out);
                    return NULL;
                }
                memcpy(o, vars[i][1], vlen);
                o += vlen;
                p += klen;
                break;
            }
        }
        if (i == n_vars)
            *o++ = *p++;
    }
    *o = '\0';
    return out;
}

/* Appends a printf-formatted line to the growing manifest. */
static int add(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    char *grown = realloc(*buf, *len + (size_t)n + 1);
    if (!grown) {
        free(line);
        return -ENOMEM;
    }
    memcpy(grown + *len, line, (size_t)n + 1);
    *buf = grown;
    *len += (size_t)n;
    free(line);
    return 0;
}

/* Uploads an embedded file (or rendered text) to clusters/<c>/generated/<name>
 * and presigns a GET of it. */
static int put_generated(struct cloud *cl, const char *cluster, const char *name,
                         const char *text, size_t len, long seconds, char **url, char *err,
                         size_t errlen)
{
    char *key = layout_generated_key(cluster, name);
    if (!key)
        return -ENOMEM;
    struct aws_s3_put_options plain = {.content_type = "text/plain"};
    int rc = cloud_put(cl, key, text, len, &plain, err, errlen);
    if (rc == 0)
        rc = cloud_presign(cl, "GET", key, seconds, url, err, errlen);
    free(key);
    return rc;
}

/* Presigns a GET of key, which it frees. */
static int presign_existing(struct cloud *cl, char *key, long seconds, char **url, char *err,
                            size_t errlen)
{
    int rc = key ? cloud_presign(cl, "GET", key, seconds, url, err, errlen) : -ENOMEM;
    free(key);
    return rc;
}

/* The head's agent (scripts/embed/agent*): its files, which the head's
 * bootstrap installs root-only, and its config. A module added to the agent
 * is added here too (the booted lifecycle test fails on an import error). */
static const char *const AGENT_FILES[] = {
    "agent.sh",   "agent_main.py",    "agent_aws.py", "agent_creds.py", "agent_ec2.py",
    "agent_jwt.py", "agent_publish.py", "agent_s3.py",  "agent_sigv4.py", "agent_slurm.py",
    "agent_ctl.py", "agent_gone.py", "agent_spec.py", "agent_jobs.py", "agent_power.py",
    "agent_fleet.py", "agent_events.py", "agent_dynamic.py",
    /* Slurm's power-saving programs (bootstrap.sh installs them for
     * SlurmUser) and the user data the agent launches dynamic nodes with */
    "slurm_power.sh", "userdata.sh.in"};

/* Sets key to the URL of service's endpoint when it is a custom one (the
 * workstation's AWS_ENDPOINT_URL*): the head reaches the cloud where the
 * workstation does, as the presigned URLs it gets already say. */
static int set_custom_endpoint(json_t *o, const char *key, const char *service, const char *region)
{
    struct aws_endpoint ep;
    struct aws_error e = {0};
    if (aws_endpoint_resolve(service, region, NULL, &ep, &e) != 0 || !ep.custom)
        return 0;
    char url[600];
    aws_endpoint_url(&ep, "", url, sizeof(url));
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    return json_object_set_new(o, key, json_string(url)) == 0 ? 0 : -ENOMEM;
}

/* Appends the head's agent lines: "file agent NAME URL" per file, then
 * "agent_config BASE64-JSON" (see scripts/embed/agent_main.py). */
static int add_agent(struct cloud *cl, const struct launch_plan *p, char **buf, size_t *len,
                     char *err, size_t errlen)
{
    const char *cluster = p->cluster->name;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(AGENT_FILES) / sizeof(AGENT_FILES[0]); i++) {
        const struct embedded_file *f = embedded_find(AGENT_FILES[i]);
        char *url = NULL;
        if (!f) {
            snprintf(err, errlen, "this build carries no %s (scripts/embed/)", AGENT_FILES[i]);
            return -ENOENT;
        }
        rc = put_generated(cl, cluster, AGENT_FILES[i], (const char *)f->data, f->size,
                           FETCH_URL_SECONDS, &url, err, errlen);
        if (rc == 0)
            rc = add(buf, len, "file agent %s %s\n", AGENT_FILES[i], url);
        free(url);
    }
    if (rc != 0)
        return rc;
    const char *bucket_region = cl->bucket_region ? cl->bucket_region : p->region;
    json_t *cfg = json_pack("{s:s, s:s?, s:s?, s:s, s:s}", "cluster", cluster, "bucket",
                            cl->bucket, "bucket_owner", cl->account, "region", p->region,
                            "bucket_region", bucket_region);
    rc = cfg ? 0 : -ENOMEM;
    if (rc == 0)
        rc = set_custom_endpoint(cfg, "endpoint_ec2", "ec2", p->region);
    if (rc == 0)
        rc = set_custom_endpoint(cfg, "endpoint_s3", "s3", bucket_region);
    char *text = rc == 0 ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *b64 = text ? aws_base64_encode(text, strlen(text)) : NULL;
    rc = b64 ? add(buf, len, "agent_config %s\n", b64) : -ENOMEM;
    free(b64);
    free(text);
    json_decref(cfg);
    return rc;
}

/* Writes the per-launch manifest (see scripts/embed/bootstrap.sh) and
 * returns a presigned URL of it. */
static int write_manifest(struct cloud *cl, const struct launch_plan *p, char **manifest_url,
                          char *err, size_t errlen)
{
    const char *cluster = p->cluster->name;
    bool head = strcmp(p->node, "head") == 0;
    long ttl = FETCH_URL_SECONDS;
    char *buf = NULL, *url = NULL;
    size_t len = 0;
    int rc = add(&buf, &len,
                 "version 1\ncluster %s\nnode %s\nnode_type %s\nregion %s\nhead_hostname head\n"
                 "cpus %d\nmemory_mib %ld\nattempt %d\ngeneration %d\n",
                 cluster, p->node, head ? "HeadNode" : "Compute", p->region, p->cpus,
                 p->memory_mib, p->attempt, p->cluster->generation);
    if (rc == 0 && !head)
        rc = add(&buf, &len, "head_address %s\n", p->head_address);

    const struct embedded_file *stage2 = embedded_find("bootstrap.sh");
    const struct embedded_file *conf = embedded_find("slurm.conf.in");
    if (rc == 0 && (!stage2 || !conf)) {
        snprintf(err, errlen, "this build carries no node bootstrap (scripts/embed/)");
        rc = -ENOENT;
    }
    if (rc == 0)
        rc = put_generated(cl, cluster, "bootstrap.sh", (const char *)stage2->data, stage2->size,
                           ttl, &url, err, errlen);
    if (rc == 0)
        rc = add(&buf, &len, "file stage2 %s\n", url);
    free(url);
    url = NULL;
    if (rc == 0 && head) {
        char max_nodes[16], suspend_time[24];
        snprintf(max_nodes, sizeof(max_nodes), "%d", p->max_nodes);
        /* [scaling] scaledown_idletime is in minutes, as v2 had it */
        snprintf(suspend_time, sizeof(suspend_time), "%ld",
                 60L * (p->cfg && p->cfg->scaledown_idletime > 0 ? p->cfg->scaledown_idletime
                                                                 : 10));
        /* @HEAD_ADDRESS@ stays: the head's address is not known before it
         * runs, and its bootstrap puts it in. */
        const char *const vars[][2] = {{"@CLUSTER_NAME@", cluster},
                                       {"@HEAD_HOSTNAME@", "head"},
                                       {"@MAX_NODES@", max_nodes},
                                       {"@SUSPEND_TIME@", suspend_time}};
        char *text = render((const char *)conf->data, vars, 4);
        rc = text ? put_generated(cl, cluster, "slurm.conf", text, strlen(text), ttl, &url, err,
                                  errlen)
                  : -ENOMEM;
        free(text);
        if (rc == 0)
            rc = add(&buf, &len, "file slurm_conf %s\n", url);
        free(url);
        url = NULL;
    }
    if (rc == 0 && head)
        rc = add_agent(cl, p, &buf, &len, err, errlen);
    const char *secrets[] = {LAYOUT_MUNGE_KEY, LAYOUT_SSH_KEY, LAYOUT_JWT_KEY};
    const char *secret_file[] = {"munge_key", "ssh_key", "jwt_key"};
    const size_t secret_len[] = {1024, 0, 32};
    for (int i = 0; rc == 0 && i < (head ? 3 : 2); i++) {
        char *data = NULL;
        size_t dlen;
        rc = launch_cluster_secret(cl, cluster, secrets[i], secret_len[i], &data, &dlen, err,
                                   errlen);
        free(data);
        if (rc == 0)
            rc = presign_existing(cl, layout_generated_key(cluster, secrets[i]), ttl, &url, err,
                                  errlen);
        if (rc == 0)
            rc = add(&buf, &len, "file %s %s\n", secret_file[i], url);
        free(url);
        url = NULL;
    }
    char *report_key = layout_report_key(cluster, p->node);
    if (rc == 0 && report_key) {
        rc = cloud_presign(cl, "PUT", report_key, p->url_seconds, &url, err, errlen);
        if (rc == 0)
            rc = add(&buf, &len, "report %s\n", url);
        free(url);
        url = NULL;
    }
    free(report_key);
    const char *installs[2][3] = {{"pre", p->cfg->pre_install, p->cfg->pre_install_args},
                                  {"post", p->cfg->post_install, p->cfg->post_install_args}};
    for (int i = 0; rc == 0 && i < 2; i++) {
        if (!installs[i][1][0])
            continue;
        char *args = aws_base64_encode(installs[i][2], strlen(installs[i][2]));
        rc = args ? add(&buf, &len, "install %s %s %s\n", installs[i][0], installs[i][1],
                        args[0] ? args : "-")
                  : -ENOMEM;
        free(args);
    }
    for (int st = 0; rc == 0 && st < HOOK_STAGES; st++) {
        for (size_t h = 0; rc == 0 && h < p->cluster->n_hooks[st]; h++) {
            const char *name = p->cluster->hooks[st][h].name;
            rc = presign_existing(cl, layout_hook_key(cluster, (enum hook_stage)st, name), ttl,
                                  &url, err, errlen);
            char *b64 = rc == 0 ? aws_base64_encode(name, strlen(name)) : NULL;
            if (rc == 0)
                rc = b64 ? add(&buf, &len, "hook %s %s %s\n",
                               hook_stage_name((enum hook_stage)st), b64, url)
                         : -ENOMEM;
            free(b64);
            free(url);
            url = NULL;
        }
    }
    if (rc == 0) {
        char *key = layout_manifest_key(cluster, p->node, p->attempt);
        struct aws_s3_put_options plain = {.content_type = "text/plain"};
        rc = key ? cloud_put(cl, key, buf, len, &plain, err, errlen) : -ENOMEM;
        if (rc == 0)
            rc = cloud_presign(cl, "GET", key, ttl, manifest_url, err, errlen);
        free(key);
    }
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory writing the launch manifest");
    free(buf);
    return rc;
}

int launch_node(struct cloud *cl, const struct launch_plan *p, char *instance_id, char *code,
                size_t codelen, char *err, size_t errlen)
{
    code[0] = '\0';
    char *manifest_url = NULL;
    int rc = write_manifest(cl, p, &manifest_url, err, errlen);
    const struct embedded_file *ud = embedded_find("userdata.sh.in");
    if (rc == 0 && !ud) {
        snprintf(err, errlen, "this build carries no user data template (scripts/embed/)");
        rc = -ENOENT;
    }
    char *user_data = NULL;
    if (rc == 0) {
        const char *const vars[][2] = {{"@MANIFEST_URL@", manifest_url}};
        user_data = render((const char *)ud->data, vars, 1);
        if (!user_data)
            rc = -ENOMEM;
    }
    free(manifest_url);
    if (rc) {
        free(user_data);
        return rc;
    }
    char token[65];
    launch_client_token(cl->bucket, p->cluster->name, p->cluster->created_at, p->node, p->attempt,
                        token);
    char attempt[16];
    snprintf(attempt, sizeof(attempt), "%d", p->attempt);
    char name_tag[256];
    snprintf(name_tag, sizeof(name_tag), "%s-%s", p->cluster->name, p->node);
    bool head = strcmp(p->node, "head") == 0;
    const struct aws_tag tags[] = {
        {"pclusterfs:cluster", p->cluster->name},
        {"pclusterfs:node", p->node},
        {"pclusterfs:node-type", head ? "HeadNode" : "Compute"},
        {"pclusterfs:owner", cl->bucket},
        {"pclusterfs:attempt", attempt},
        {"Name", name_tag},
    };
    struct aws_ec2_run_params run = {
        .image_id = p->image_id,
        .instance_type = p->instance_type,
        .key_name = p->cfg->key_name,
        .subnet_id = head ? p->cfg->master_subnet_id : p->cfg->compute_subnet_id,
        .security_group_ids = p->security_group_ids,
        .n_security_groups = p->n_security_groups,
        .client_token = token,
        .user_data = user_data,
        .user_data_len = strlen(user_data),
        .tags = tags,
        .n_tags = sizeof(tags) / sizeof(tags[0]),
        .iam_instance_profile = p->iam_profile,
    };
    /* Spot as v2: a compute node of a spot queue, capped by its spot_price
     * when one is given; the head is always on demand. */
    const struct config_queue *queue = NULL;
    const struct config_compute_resource *res =
        head ? NULL : config_node_resource(p->cfg, p->node, &queue);
    char max_price[32] = "";
    if (res && queue->spot) {
        run.spot = true;
        if (res->spot_price > 0)
            snprintf(max_price, sizeof(max_price), "%.4f", res->spot_price);
        run.spot_max_price = max_price;
    }
    struct aws_ec2_instances out = {0};
    struct aws_error e = {0};
    rc = cloud_run_instances(cl, p->region, &run, &out, &e);
    if (rc == -EEXIST) {
        /* The token launched already with other parameters (new presigned
         * URLs after a restart): that launch is this node's. */
        const char *tokens[] = {token};
        struct aws_filter by_token = {"client-token", tokens, 1};
        struct aws_ec2_describe_query q = {.filters = &by_token, .n_filters = 1};
        aws_ec2_instances_free(&out);
        rc = cloud_describe_instances(cl, p->region, &q, &out, &e);
        if (rc == 0 && out.n == 0)
            rc = -ENOENT;
    }
    if (rc == 0 && out.n > 0)
        snprintf(instance_id, 32, "%s", out.v[0].id);
    else if (rc) {
        char buf[768];
        /* Only an answer from EC2 carries its verdict: a reset or a timeout
         * (no HTTP status) says nothing about the request, which may well
         * have launched; the caller must not take "RequestFailed" for a
         * refusal and fail the cluster. */
        /* Nor is a new instance profile that EC2 does not see yet: IAM
         * takes seconds to propagate it. */
        bool propagating = aws_error_profile_not_visible(&e);
        if (e.http_status && !propagating)
            snprintf(code, codelen, "%s", e.code);
        snprintf(err, errlen, "launching %s: %s%s", p->node, aws_error_format(&e, buf, sizeof(buf)),
                 propagating ? " (EC2 does not see the new instance profile yet)" : "");
        if (propagating)
            rc = -ENXIO;
    }
    aws_ec2_instances_free(&out);
    free(user_data);
    return rc;
}
