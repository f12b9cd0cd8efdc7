/* awsprobe: drives the AWS layer (aws/) from the command line for the
 * integration tests. One operation per run; the result is one JSON object
 * on stdout; on failure {"error": {...}} and exit status 1. Retries and
 * failures the client logs go to stderr.
 *
 *   awsprobe [--region R] [--owner ACCOUNT] [--max-attempts N] [--profile P]
 *            [--backoff-scale X] OP ARGS...
 *
 * OPs: identity | run-instances | describe-instances | terminate-instances |
 * create-tags | describe-key-pairs | describe-vpcs | describe-subnets |
 * describe-images | newest-image | describe-instance-types | create-bucket |
 * head-bucket | put-object | get-object | head-object | delete-object |
 * list-objects | presign | parallel-put | the IAM OPs (iam-..., see usage()). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/aws.h"

#define MAXV 64

static void usage(void)
{
    fputs("usage: awsprobe [--region R] [--owner ACCOUNT] [--max-attempts N] [--profile P]\n"
          "                [--backoff-scale X] OP ...\n"
          "  identity\n"
          "  run-instances --image I --type T [--key K] [--subnet S] [--sg G]... [--token T]\n"
          "                [--user-data-file F] [--tag K=V]... [--count N]\n"
          "  describe-instances [--filter NAME=V1,V2]... [--id I]... [--page-size N]\n"
          "  terminate-instances ID...      create-tags --id ID... --tag K=V...\n"
          "  describe-key-pairs [NAME...]   describe-vpcs [ID...]   describe-subnets [ID...]\n"
          "  describe-images --owner O [--filter NAME=V]... [--id I]...\n"
          "  newest-image OWNER NAME_PATTERN\n"
          "  describe-instance-types [TYPE...]\n"
          "  create-bucket B | head-bucket B | head-object B K | delete-object B K | get-object B K\n"
          "  put-object B K (--data D | --file F) [--if-none-match] [--if-match ETAG]\n"
          "  list-objects B [--prefix P] [--page-size N]\n"
          "  presign GET|PUT B K SECONDS\n"
          "  parallel-put B PREFIX THREADS COUNT   (needs --owner)\n"
          "  iam-create-role NAME TRUST_FILE [--tag K=V]...   iam-get-role NAME\n"
          "  iam-delete-role NAME   iam-put-role-policy ROLE NAME DOC_FILE\n"
          "  iam-delete-role-policy ROLE NAME   iam-list-role-policies ROLE\n"
          "  iam-attach-role-policy ROLE ARN   iam-detach-role-policy ROLE ARN\n"
          "  iam-list-attached-role-policies ROLE   iam-create-instance-profile NAME\n"
          "  iam-get-instance-profile NAME   iam-delete-instance-profile NAME\n"
          "  iam-add-role-to-instance-profile PROFILE ROLE\n"
          "  iam-remove-role-from-instance-profile PROFILE ROLE\n"
          "  iam-list-instance-profiles-for-role ROLE\n", stderr);
    exit(2);
}

static void log_line(void *ud, const char *line)
{
    (void)ud;
    fprintf(stderr, "awsprobe: %s\n", line);
}

static int fail(struct aws_client *c, int rc, const struct aws_error *e)
{
    json_t *o = json_pack("{s:{s:i,s:s,s:s,s:s,s:i,s:i}}", "error", "errno", rc, "code", e->code,
                          "message", e->message, "request_id", e->request_id, "http_status",
                          e->http_status, "attempts", c ? aws_client_last_attempts(c) : 0);
    json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
    return 1;
}

static int emit(json_t *o)
{
    json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
    return 0;
}

static json_t *instance_json(const struct aws_ec2_instance *i)
{
    json_t *tags = json_object();
    for (size_t t = 0; t < i->n_tags; t++)
        json_object_set_new(tags, i->tags[t].key, json_string(i->tags[t].value));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", i->id,
                     "state", i->state, "type", i->type, "private_ip", i->private_ip,
                     "public_ip", i->public_ip, "launch_time", i->launch_time, "client_token",
                     i->client_token, "image_id", i->image_id, "subnet_id", i->subnet_id,
                     "vpc_id", i->vpc_id, "key_name", i->key_name, "availability_zone",
                     i->availability_zone, "tags", tags);
}

static json_t *instances_json(const struct aws_ec2_instances *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, instance_json(&l->v[i]));
    return a;
}

/* "K=V" into a tag (pointing into arg). */
static struct aws_tag split_tag(char *arg)
{
    char *eq = strchr(arg, '=');
    if (!eq)
        usage();
    *eq = '\0';
    return (struct aws_tag){arg, eq + 1};
}

/* "NAME=V1,V2" into a filter; values stored in vals. */
static struct aws_filter split_filter(char *arg, const char **vals, size_t *nv)
{
    char *eq = strchr(arg, '=');
    if (!eq)
        usage();
    *eq = '\0';
    struct aws_filter f = {.name = arg, .values = vals + *nv, .n_values = 0};
    for (char *v = strtok(eq + 1, ","); v && *nv < MAXV; v = strtok(NULL, ",")) {
        vals[(*nv)++] = v;
        f.n_values++;
    }
    return f;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    struct aws_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        aws_buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return aws_buf_take(&b);
}

static int op_ec2(struct aws_client *c, const char *op, int argc, char **argv)
{
    struct aws_error err;
    aws_error_clear(&err);
    const char *list[MAXV];
    size_t n = 0;
    int rc;
    if (strcmp(op, "run-instances") == 0) {
        struct aws_ec2_run_params p = {0};
        struct aws_tag tags[MAXV];
        const char *sgs[MAXV];
        size_t ud_len = 0;
        char *ud = NULL;
        for (int i = 0; i < argc; i++) {
            const char *a = argv[i];
            if (i + 1 >= argc)
                usage();
            char *v = argv[++i];
            if (!strcmp(a, "--image")) p.image_id = v;
            else if (!strcmp(a, "--type")) p.instance_type = v;
            else if (!strcmp(a, "--key")) p.key_name = v;
            else if (!strcmp(a, "--subnet")) p.subnet_id = v;
            else if (!strcmp(a, "--sg") && p.n_security_groups < MAXV) sgs[p.n_security_groups++] = v;
            else if (!strcmp(a, "--token")) p.client_token = v;
            else if (!strcmp(a, "--count")) p.min_count = p.max_count = atoi(v);
            else if (!strcmp(a, "--user-data-file")) ud = read_file(v, &ud_len);
            else if (!strcmp(a, "--tag") && p.n_tags < MAXV) tags[p.n_tags++] = split_tag(v);
            else usage();
        }
        p.security_group_ids = sgs;
        p.tags = tags;
        p.user_data = ud;
        p.user_data_len = ud_len;
        struct aws_ec2_instances out;
        rc = aws_ec2_run_instances(c, &p, &out, &err);
        free(ud);
        if (rc)
            return fail(c, rc, &err);
        json_t *o = json_pack("{s:o,s:i}", "instances", instances_json(&out), "attempts",
                              aws_client_last_attempts(c));
        aws_ec2_instances_free(&out);
        return emit(o);
    }
    if (strcmp(op, "describe-instances") == 0 || strcmp(op, "describe-images") == 0) {
        struct aws_filter filters[MAXV];
        const char *vals[MAXV];
        size_t nf = 0, nv = 0;
        const char *owners[MAXV];
        size_t no = 0;
        int page = 0;
        for (int i = 0; i < argc; i++) {
            const char *a = argv[i];
            if (i + 1 >= argc)
                usage();
            char *v = argv[++i];
            if (!strcmp(a, "--filter") && nf < MAXV) filters[nf++] = split_filter(v, vals, &nv);
            else if (!strcmp(a, "--id") && n < MAXV) list[n++] = v;
            else if (!strcmp(a, "--owner") && no < MAXV) owners[no++] = v;
            else if (!strcmp(a, "--page-size")) page = atoi(v);
            else usage();
        }
        if (op[9] == 'i' && op[10] == 'n') {    /* describe-instances */
            struct aws_ec2_describe_query q = {filters, nf, list, n, page};
            struct aws_ec2_instances out;
            rc = aws_ec2_describe_instances(c, &q, &out, &err);
            if (rc)
                return fail(c, rc, &err);
            json_t *o = json_pack("{s:o}", "instances", instances_json(&out));
            aws_ec2_instances_free(&out);
            return emit(o);
        }
        struct aws_ec2_images out;
        rc = aws_ec2_describe_images(c, owners, no, list, n, filters, nf, &out, &err);
        if (rc)
            return fail(c, rc, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < out.n; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", out.v[i].id, "name",
                                               out.v[i].name, "creation_date", out.v[i].creation_date,
                                               "state", out.v[i].state, "owner_id", out.v[i].owner_id));
        aws_ec2_images_free(&out);
        return emit(json_pack("{s:o}", "images", a));
    }
    if (strcmp(op, "create-tags") == 0) {
        struct aws_tag tags[MAXV];
        size_t nt = 0;
        for (int i = 0; i + 1 < argc; i += 2) {
            if (!strcmp(argv[i], "--id") && n < MAXV) list[n++] = argv[i + 1];
            else if (!strcmp(argv[i], "--tag") && nt < MAXV) tags[nt++] = split_tag(argv[i + 1]);
            else usage();
        }
        rc = aws_ec2_create_tags(c, list, n, tags, nt, &err);
        return rc ? fail(c, rc, &err) : emit(json_pack("{s:b}", "ok", 1));
    }
    if (strcmp(op, "newest-image") == 0) {
        if (argc != 2)
            usage();
        struct aws_ec2_images out;
        rc = aws_ec2_newest_image(c, argv[0], argv[1], &out, &err);
        if (rc)
            return fail(c, rc, &err);
        json_t *o = json_pack("{s:s,s:s,s:s}", "id", out.v[0].id, "name", out.v[0].name,
                              "creation_date", out.v[0].creation_date);
        aws_ec2_images_free(&out);
        return emit(o);
    }
    for (int i = 0; i < argc && n < MAXV; i++)
        list[n++] = argv[i];
    json_t *a = json_array();
    if (strcmp(op, "terminate-instances") == 0) {
        struct aws_ec2_instances out;
        rc = aws_ec2_terminate_instances(c, list, n, &out, &err);
        if (rc == 0) {
            json_decref(a);
            a = instances_json(&out);
            aws_ec2_instances_free(&out);
        }
    } else if (strcmp(op, "describe-key-pairs") == 0) {
        struct aws_ec2_key_pairs out;
        rc = aws_ec2_describe_key_pairs(c, list, n, &out, &err);
        for (size_t i = 0; rc == 0 && i < out.n; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "name", out.v[i].name, "id",
                                               out.v[i].id, "fingerprint", out.v[i].fingerprint));
        if (rc == 0)
            aws_ec2_key_pairs_free(&out);
    } else if (strcmp(op, "describe-vpcs") == 0) {
        struct aws_ec2_vpcs out;
        rc = aws_ec2_describe_vpcs(c, list, n, &out, &err);
        for (size_t i = 0; rc == 0 && i < out.n; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "id", out.v[i].id, "cidr",
                                               out.v[i].cidr, "state", out.v[i].state));
        if (rc == 0)
            aws_ec2_vpcs_free(&out);
    } else if (strcmp(op, "describe-subnets") == 0) {
        struct aws_ec2_subnets out;
        rc = aws_ec2_describe_subnets(c, list, n, &out, &err);
        for (size_t i = 0; rc == 0 && i < out.n; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", "id", out.v[i].id, "vpc_id",
                                               out.v[i].vpc_id, "cidr", out.v[i].cidr,
                                               "availability_zone", out.v[i].availability_zone));
        if (rc == 0)
            aws_ec2_subnets_free(&out);
    } else if (strcmp(op, "describe-instance-types") == 0) {
        struct aws_ec2_instance_types out;
        rc = aws_ec2_describe_instance_types(c, list, n, &out, &err);
        for (size_t i = 0; rc == 0 && i < out.n; i++)
            json_array_append_new(a, json_pack("{s:s,s:i,s:I}", "name", out.v[i].name, "vcpus",
                                               out.v[i].vcpus, "memory_mib",
                                               (json_int_t)out.v[i].memory_mib));
        if (rc == 0)
            aws_ec2_instance_types_free(&out);
    } else {
        json_decref(a);
        usage();
        return 2;
    }
    if (rc) {
        json_decref(a);
        return fail(c, rc, &err);
    }
    return emit(json_pack("{s:o}", "items", a));
}

static json_t *object_json(const struct aws_s3_object *o)
{
    return json_pack("{s:s,s:s,s:s,s:I}", "key", o->key ? o->key : "", "etag",
                     o->etag ? o->etag : "", "last_modified",
                     o->last_modified ? o->last_modified : "", "size", (json_int_t)o->size);
}

static int op_s3(struct aws_client *c, const char *op, int argc, char **argv)
{
    struct aws_error err;
    aws_error_clear(&err);
    int rc;
    if (argc < 1)
        usage();
    const char *bucket = argv[0];
    if (strcmp(op, "create-bucket") == 0) {
        rc = aws_s3_create_bucket(c, bucket, &err);
        return rc ? fail(c, rc, &err) : emit(json_pack("{s:b}", "ok", 1));
    }
    if (strcmp(op, "head-bucket") == 0) {
        char region[64];
        rc = aws_s3_head_bucket(c, bucket, region, sizeof region, &err);
        return rc ? fail(c, rc, &err) : emit(json_pack("{s:s}", "region", region));
    }
    if (strcmp(op, "list-objects") == 0) {
        const char *prefix = NULL;
        int page = 0;
        for (int i = 1; i + 1 < argc; i += 2) {
            if (!strcmp(argv[i], "--prefix")) prefix = argv[i + 1];
            else if (!strcmp(argv[i], "--page-size")) page = atoi(argv[i + 1]);
            else usage();
        }
        struct aws_s3_objects out;
        rc = aws_s3_list_objects(c, bucket, prefix, page, &out, &err);
        if (rc)
            return fail(c, rc, &err);
        json_t *a = json_array();
        for (size_t i = 0; i < out.n; i++)
            json_array_append_new(a, object_json(&out.v[i]));
        aws_s3_objects_free(&out);
        return emit(json_pack("{s:o}", "objects", a));
    }
    if (strcmp(op, "presign") == 0) {
        /* presign METHOD B K SECONDS: argv[0] is the method here. */
        if (argc != 4)
            usage();
        char *url;
        rc = aws_s3_presign(c, argv[0], argv[1], argv[2], atol(argv[3]), &url, &err);
        if (rc)
            return fail(c, rc, &err);
        json_t *o = json_pack("{s:s}", "url", url);
        free(url);
        return emit(o);
    }
    if (argc < 2)
        usage();
    const char *key = argv[1];
    if (strcmp(op, "put-object") == 0) {
        struct aws_s3_put_options opt = {0};
        char *data = NULL;
        size_t len = 0;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--if-none-match")) opt.if_none_match = true;
            else if (!strcmp(argv[i], "--if-match") && i + 1 < argc) opt.if_match = argv[++i];
            else if (!strcmp(argv[i], "--data") && i + 1 < argc) { free(data); data = strdup(argv[++i]); len = strlen(data); }
            else if (!strcmp(argv[i], "--file") && i + 1 < argc) { free(data); data = read_file(argv[++i], &len); }
            else if (!strcmp(argv[i], "--content-type") && i + 1 < argc) opt.content_type = argv[++i];
            else usage();
        }
        char etag[128];
        rc = aws_s3_put_object(c, bucket, key, data, len, &opt, etag, &err);
        free(data);
        return rc ? fail(c, rc, &err) : emit(json_pack("{s:s,s:i}", "etag", etag, "attempts",
                                                       aws_client_last_attempts(c)));
    }
    if (strcmp(op, "get-object") == 0) {
        char *data;
        size_t len;
        struct aws_s3_object info;
        rc = aws_s3_get_object(c, bucket, key, &data, &len, &info, &err);
        if (rc)
            return fail(c, rc, &err);
        json_t *o = json_pack("{s:s%,s:o}", "data", data, len, "info", object_json(&info));
        free(data);
        aws_s3_object_free(&info);
        return emit(o);
    }
    if (strcmp(op, "head-object") == 0) {
        struct aws_s3_object info;
        rc = aws_s3_head_object(c, bucket, key, &info, &err);
        if (rc)
            return fail(c, rc, &err);
        json_t *o = object_json(&info);
        aws_s3_object_free(&info);
        return emit(o);
    }
    if (strcmp(op, "delete-object") == 0) {
        rc = aws_s3_delete_object(c, bucket, key, &err);
        return rc ? fail(c, rc, &err) : emit(json_pack("{s:b}", "ok", 1));
    }
    usage();
    return 2;
}

/* parallel-put: THREADS threads, each with its own client (one curl handle
 * per thread) sharing one credentials provider, each storing COUNT objects. */
struct put_job {
    struct aws_creds_provider *creds;
    const char *region, *owner, *bucket, *prefix;
    int thread, count, failed;
    double backoff_scale;
    struct aws_error err;
};

static void *put_worker(void *arg)
{
    struct put_job *j = arg;
    struct aws_client *c = aws_client_new(j->creds, j->region);
    aws_client_set_bucket_owner(c, j->owner);
    aws_client_set_backoff_scale(c, j->backoff_scale);
    for (int i = 0; i < j->count && !j->failed; i++) {
        char key[512], body[64];
        snprintf(key, sizeof key, "%s%d-%d", j->prefix, j->thread, i);
        snprintf(body, sizeof body, "thread %d object %d", j->thread, i);
        if (aws_s3_put_object(c, j->bucket, key, body, strlen(body), NULL, NULL, &j->err) != 0)
            j->failed = 1;
    }
    aws_client_free(c);
    return NULL;
}

static int parallel_put(struct aws_creds_provider *creds, const char *region, const char *owner,
                        double backoff_scale, int argc, char **argv)
{
    if (argc != 4 || !owner)
        usage();
    int threads = atoi(argv[2]), count = atoi(argv[3]);
    if (threads < 1 || threads > 64)
        usage();
    struct put_job jobs[64];
    pthread_t tids[64];
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct put_job){creds, region, owner, argv[0], argv[1], t, count, 0,
                                   backoff_scale, {0}};
        pthread_create(&tids[t], NULL, put_worker, &jobs[t]);
    }
    int failed = -1;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        if (jobs[t].failed && failed < 0)
            failed = t;
    }
    if (failed >= 0)
        return fail(NULL, jobs[failed].err.err, &jobs[failed].err);
    return emit(json_pack("{s:i}", "stored", threads * count));
}

static json_t *role_json(const struct aws_iam_role *r)
{
    json_t *tags = json_object();
    for (size_t t = 0; t < r->n_tags; t++)
        json_object_set_new(tags, r->tags[t].key, json_string(r->tags[t].value));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "name", r->name, "id", r->id, "arn", r->arn,
                     "path", r->path, "trust_policy", r->trust_policy, "tags", tags);
}

static json_t *profiles_json(const struct aws_iam_instance_profiles *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++) {
        json_t *roles = json_array();
        for (size_t j = 0; j < l->v[i].n_roles; j++)
            json_array_append_new(roles, json_string(l->v[i].roles[j]));
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:o}", "name", l->v[i].name, "id",
                                           l->v[i].id, "arn", l->v[i].arn, "roles", roles));
    }
    return a;
}

static json_t *names_json(const struct aws_iam_names *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

/* The IAM OPs: argv[0..] after the OP name. */
static int op_iam(struct aws_client *c, const char *op, int argc, char **argv)
{
    struct aws_error err;
    aws_error_clear(&err);
    int rc;
    const char *a0 = argc > 0 ? argv[0] : NULL, *a1 = argc > 1 ? argv[1] : NULL;
    if (!a0)
        usage();
    if (strcmp(op, "iam-create-role") == 0 || strcmp(op, "iam-get-role") == 0) {
        struct aws_iam_role role;
        if (strcmp(op, "iam-create-role") == 0) {
            struct aws_tag tags[MAXV];
            size_t nt = 0;
            for (int k = 2; k + 1 < argc && nt < MAXV; k += 2)
                if (strcmp(argv[k], "--tag") == 0)
                    tags[nt++] = split_tag(argv[k + 1]);
            if (!a1)
                usage();
            size_t len;
            char *trust = read_file(a1, &len);
            rc = aws_iam_create_role(c, a0, NULL, trust, NULL, tags, nt, &role, &err);
            free(trust);
        } else {
            rc = aws_iam_get_role(c, a0, &role, &err);
        }
        if (rc)
            return fail(c, rc, &err);
        json_t *o = role_json(&role);
        aws_iam_role_free(&role);
        return emit(o);
    }
    if (strcmp(op, "iam-create-instance-profile") == 0 ||
        strcmp(op, "iam-get-instance-profile") == 0 ||
        strcmp(op, "iam-list-instance-profiles-for-role") == 0) {
        struct aws_iam_instance_profiles l = {0};
        if (strcmp(op, "iam-create-instance-profile") == 0)
            rc = aws_iam_create_instance_profile(c, a0, NULL, NULL, 0, &l, &err);
        else if (strcmp(op, "iam-get-instance-profile") == 0)
            rc = aws_iam_get_instance_profile(c, a0, &l, &err);
        else
            rc = aws_iam_list_instance_profiles_for_role(c, a0, &l, &err);
        json_t *o = rc ? NULL : json_pack("{s:o}", "profiles", profiles_json(&l));
        aws_iam_instance_profiles_free(&l);
        return rc ? fail(c, rc, &err) : emit(o);
    }
    if (strcmp(op, "iam-list-role-policies") == 0 ||
        strcmp(op, "iam-list-attached-role-policies") == 0) {
        struct aws_iam_names l = {0};
        rc = strcmp(op, "iam-list-role-policies") == 0 ? aws_iam_list_role_policies(c, a0, &l, &err)
                          : aws_iam_list_attached_role_policies(c, a0, &l, &err);
        json_t *o = rc ? NULL : json_pack("{s:o}", "names", names_json(&l));
        aws_iam_names_free(&l);
        return rc ? fail(c, rc, &err) : emit(o);
    }
    if (strcmp(op, "iam-delete-role") == 0)
        rc = aws_iam_delete_role(c, a0, &err);
    else if (strcmp(op, "iam-delete-instance-profile") == 0)
        rc = aws_iam_delete_instance_profile(c, a0, &err);
    else if (!a1)
        usage();
    else if (strcmp(op, "iam-put-role-policy") == 0 && argc > 2) {
        size_t len;
        char *doc = read_file(argv[2], &len);
        rc = aws_iam_put_role_policy(c, a0, a1, doc, &err);
        free(doc);
    } else if (strcmp(op, "iam-delete-role-policy") == 0)
        rc = aws_iam_delete_role_policy(c, a0, a1, &err);
    else if (strcmp(op, "iam-attach-role-policy") == 0)
        rc = aws_iam_attach_role_policy(c, a0, a1, &err);
    else if (strcmp(op, "iam-detach-role-policy") == 0)
        rc = aws_iam_detach_role_policy(c, a0, a1, &err);
    else if (strcmp(op, "iam-add-role-to-instance-profile") == 0)
        rc = aws_iam_add_role_to_instance_profile(c, a0, a1, &err);
    else if (strcmp(op, "iam-remove-role-from-instance-profile") == 0)
        rc = aws_iam_remove_role_from_instance_profile(c, a0, a1, &err);
    else
        usage();
    return rc ? fail(c, rc, &err) : emit(json_pack("{s:b}", "ok", 1));
}

int main(int argc, char **argv)
{
    const char *region_opt = NULL, *owner = NULL, *profile = NULL;
    int attempts = 0;
    double backoff_scale = 1.0;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (!strcmp(argv[i], "--region")) region_opt = argv[i + 1];
        else if (!strcmp(argv[i], "--owner")) owner = argv[i + 1];
        else if (!strcmp(argv[i], "--profile")) profile = argv[i + 1];
        else if (!strcmp(argv[i], "--max-attempts")) attempts = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--backoff-scale")) backoff_scale = atof(argv[i + 1]);
        else usage();
    }
    if (i >= argc)
        usage();
    const char *op = argv[i++];
    struct aws_error err;
    aws_error_clear(&err);
    char region[64];
    int rc = aws_resolve_region(region_opt, profile, region, sizeof region, &err);
    if (rc)
        return fail(NULL, rc, &err);
    struct aws_creds_provider *creds = aws_creds_provider_new(profile);
    struct aws_client *c = aws_client_new(creds, region);
    aws_client_set_logger(c, log_line, NULL);
    if (attempts)
        aws_client_set_max_attempts(c, attempts);
    if (owner)
        aws_client_set_bucket_owner(c, owner);
    aws_client_set_backoff_scale(c, backoff_scale);
    int ret;
    if (strcmp(op, "parallel-put") == 0) {
        ret = parallel_put(creds, region, owner, backoff_scale, argc - i, argv + i);
    } else if (strcmp(op, "identity") == 0) {
        struct aws_identity id;
        rc = aws_sts_get_caller_identity(c, &id, &err);
        char src[128];
        ret = rc ? fail(c, rc, &err)
                 : emit(json_pack("{s:s,s:s,s:s,s:s}", "account", id.account, "arn", id.arn,
                                  "user_id", id.user_id, "source", aws_creds_source(creds, src, sizeof src)));
    } else if (strncmp(op, "iam-", 4) == 0) {
        ret = op_iam(c, op, argc - i, argv + i);
    } else if (strstr(op, "bucket") || strstr(op, "object") || strcmp(op, "presign") == 0) {
        ret = op_s3(c, op, argc - i, argv + i);
    } else {
        ret = op_ec2(c, op, argc - i, argv + i);
    }
    aws_client_free(c);
    aws_creds_provider_free(creds);
    return ret;
}
