/* The compute fleet's spec (fs/control/fleetspec.c): what a config, its
 * hooks and the resolved image render to, byte-stable for equal inputs, and
 * a specId that changes with anything the head acts on. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/encode.h"
#include "fs/control/fleetspec.h"
#include "tests/unit/check.h"

static const char config_text[] =
    "[aws]\naws_region_name = eu-west-1\n\n"
    "[cluster default]\nkey_name = lab3key\nvpc_settings = public\nbase_os = alinux2\n"
    "scheduler = slurm\nmaster_instance_type = t3.small\nqueue_settings = q1,q2\n"
    "post_install = s3://b/post.sh\npost_install_args = -x 1\n\n"
    "[queue q1]\ncompute_resource_settings = small,big\n\n"
    "[queue q2]\ncompute_type = spot\ncompute_resource_settings = spotty\n\n"
    "[compute_resource small]\ninstance_type = t2.micro\nmin_count = 2\nmax_count = 4\n\n"
    "[compute_resource big]\ninstance_type = c5.large\nmax_count = 2\n\n"
    "[compute_resource spotty]\ninstance_type = t3.micro\nmin_count = 1\nmax_count = 1\n"
    "spot_price = 0.25\n\n"
    "[vpc public]\nvpc_id = vpc-0123456789abcdef0\nmaster_subnet_id = subnet-0123456789abcdef0\n"
    "compute_subnet_id = subnet-0fedcba9876543210\nadditional_sg = sg-0123456789abcdef0\n";

struct fixture {
    struct cluster_config *cfg;
    struct desired_cluster dc;
    struct desired_hook pre[2];
    struct fleetspec_input in;
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    char err[512] = "";
    int rc = config_parse(config_text, strlen(config_text), NULL, &f->cfg, err, sizeof(err));
    CHECK_INT(rc, 0);
    if (rc)
        fprintf(stderr, "%s\n", err);
    f->pre[0].name = "10-a.sh";
    f->pre[1].name = "20-b.sh";
    f->dc.name = "lab3";
    f->dc.generation = 4;
    f->dc.created_at = 1700000000;
    f->dc.hooks[HOOK_PRE] = f->pre;
    f->dc.n_hooks[HOOK_PRE] = 1;
    f->in = (struct fleetspec_input){.bucket = "state",
                                     .dc = &f->dc,
                                     .cfg = f->cfg,
                                     .region = "eu-west-1",
                                     .image_id = "ami-0123456789abcdef0",
                                     .instance_profile = "pcfs-lab3-x-compute"};
    f->in.facts[0][0] = (struct fleetspec_type_facts){.memory_mib = 1024};
    f->in.facts[0][1] = (struct fleetspec_type_facts){.vcpus = 2};
}

static json_t *render(const struct fleetspec_input *in, char **text, char id[65])
{
    CHECK_INT(fleetspec_render(in, text, id), 0);
    json_error_t jerr;
    json_t *doc = *text ? json_loads(*text, 0, &jerr) : NULL;
    CHECK(doc != NULL);
    return doc;
}

static void renders_the_fleet(void)
{
    struct fixture f;
    fixture_init(&f);
    if (!f.cfg)
        return;
    char *text = NULL, id[65];
    json_t *doc = render(&f.in, &text, id);
    if (!doc) {
        free(text);
        config_free(f.cfg);
        return;
    }
    CHECK_INT(json_integer_value(json_object_get(doc, "schema")), FLEETSPEC_SCHEMA);
    CHECK_STR(json_string_value(json_object_get(doc, "cluster")), "lab3");
    CHECK_STR(json_string_value(json_object_get(doc, "owner")), "state");
    CHECK_INT(json_integer_value(json_object_get(doc, "generation")), 4);
    CHECK_INT(json_integer_value(json_object_get(doc, "incarnation")), 1700000000);
    CHECK_STR(json_string_value(json_object_get(doc, "specId")), id);
    json_t *launch = json_object_get(doc, "launch");
    CHECK_STR(json_string_value(json_object_get(launch, "image")), "ami-0123456789abcdef0");
    CHECK_STR(json_string_value(json_array_get(json_object_get(launch, "subnets"), 0)),
              "subnet-0fedcba9876543210");
    CHECK_STR(json_string_value(json_array_get(json_object_get(launch, "securityGroups"), 0)),
              "sg-0123456789abcdef0");
    CHECK_STR(json_string_value(json_object_get(launch, "keyName")), "lab3key");
    CHECK_STR(json_string_value(json_object_get(launch, "instanceProfile")),
              "pcfs-lab3-x-compute");
    CHECK_INT(json_integer_value(json_object_get(launch, "maxNodes")), 1 + 4 + 2 + 1);
    json_t *files = json_object_get(launch, "files");
    CHECK_STR(json_string_value(json_object_get(files, "stage2")),
              "clusters/lab3/generated/bootstrap.sh");
    CHECK_STR(json_string_value(json_object_get(files, "mungeKey")),
              "clusters/lab3/generated/munge.key");
    CHECK(json_string_value(json_object_get(files, "sshKey")) != NULL);
    CHECK(json_is_null(json_object_get(launch, "preInstall")));
    CHECK_STR(json_string_value(json_object_get(json_object_get(launch, "postInstall"), "url")),
              "s3://b/post.sh");
    CHECK_STR(json_string_value(json_object_get(json_object_get(launch, "postInstall"), "args")),
              "-x 1");
    json_t *pre = json_object_get(json_object_get(doc, "hooks"), "pre");
    CHECK_INT(json_array_size(pre), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(pre, 0), "key")),
              "clusters/lab3/hooks/pre/10-a.sh");
    CHECK_INT(json_array_size(json_object_get(json_object_get(doc, "hooks"), "post")), 0);
    json_t *queues = json_object_get(doc, "queues");
    CHECK_INT(json_array_size(queues), 2);
    json_t *q1 = json_array_get(queues, 0), *q2 = json_array_get(queues, 1);
    CHECK_STR(json_string_value(json_object_get(q1, "market")), "on-demand");
    CHECK_STR(json_string_value(json_object_get(q2, "market")), "spot");
    json_t *small = json_array_get(json_object_get(q1, "computeResources"), 0);
    CHECK_STR(json_string_value(json_object_get(small, "instanceType")), "t2.micro");
    CHECK_INT(json_integer_value(json_object_get(small, "maxCount")), 4);
    json_t *nodes = json_object_get(small, "staticNodes");
    CHECK_INT(json_array_size(nodes), 2);
    CHECK_STR(json_string_value(json_array_get(nodes, 1)), "q1-st-t2micro-2");
    /* min_count 2 of max_count 4: two static nodes, two dynamic ones */
    nodes = json_object_get(small, "dynamicNodes");
    CHECK_INT(json_array_size(nodes), 2);
    CHECK_STR(json_string_value(json_array_get(nodes, 0)), "q1-dy-t2micro-1");
    CHECK_STR(json_string_value(json_array_get(nodes, 1)), "q1-dy-t2micro-2");
    /* the instance type's facts as EC2 gave them, else 1 vCPU, 512 MiB */
    CHECK_INT(json_integer_value(json_object_get(small, "vcpus")), 1);
    CHECK_INT(json_integer_value(json_object_get(small, "memoryMib")), 1024);
    json_t *big = json_array_get(json_object_get(q1, "computeResources"), 1);
    CHECK_INT(json_array_size(json_object_get(big, "staticNodes")), 0);
    CHECK_INT(json_array_size(json_object_get(big, "dynamicNodes")), 2);
    CHECK_INT(json_integer_value(json_object_get(big, "vcpus")), 2);
    CHECK_INT(json_integer_value(json_object_get(big, "memoryMib")), 512);
    json_t *spotty = json_array_get(json_object_get(q2, "computeResources"), 0);
    CHECK_INT(json_array_size(json_object_get(spotty, "dynamicNodes")), 0);
    CHECK(json_real_value(json_object_get(spotty, "spotPrice")) == 0.25);
    CHECK(json_is_null(json_object_get(small, "spotPrice")));
    /* The id is the hash of the document without it. */
    json_object_del(doc, "specId");
    char *body = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    char want[65];
    aws_sha256_hex(body, strlen(body), want);
    CHECK_STR(id, want);
    free(body);
    json_decref(doc);
    free(text);
    config_free(f.cfg);
}

static void id_follows_what_the_head_acts_on(void)
{
    struct fixture f;
    fixture_init(&f);
    if (!f.cfg)
        return;
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL, ida[65], idb[65], idc[65], idd[65];
    CHECK_INT(fleetspec_render(&f.in, &a, ida), 0);
    CHECK_INT(fleetspec_render(&f.in, &b, idb), 0);
    CHECK_STR(a, b); /* the same input, the same bytes */
    CHECK_STR(ida, idb);
    f.dc.n_hooks[HOOK_PRE] = 2; /* a hook added, no new generation */
    CHECK_INT(fleetspec_render(&f.in, &c, idc), 0);
    CHECK(strcmp(ida, idc) != 0);
    f.cfg->queues[0].resources[0].static_count = 3; /* a resize */
    f.in.instance_profile = NULL;
    CHECK_INT(fleetspec_render(&f.in, &d, idd), 0);
    CHECK(strcmp(idc, idd) != 0);
    CHECK_CONTAINS(d, "\"q1-st-t2micro-3\"");
    CHECK_CONTAINS(d, "\"instanceProfile\":null");
    free(a);
    free(b);
    free(c);
    free(d);
    config_free(f.cfg);
}

int main(void)
{
    RUN(renders_the_fleet);
    RUN(id_follows_what_the_head_acts_on);
    return check_finish();
}
