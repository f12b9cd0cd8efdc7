/* A cluster's security groups (fs/control/secgroups.c) over the in-memory
 * cloud: names never collide across clusters or buckets; ensure makes the
 * head's group (tcp 22 from ssh_from) and the cluster's (everything from
 * itself), tagged, and puts changed rules right; vpc_security_group_id
 * replaces them, additional_sg adds to them; a group without the owner tag
 * is never changed nor deleted; remove waits while an instance holds one.
 * How the controller's loop uses them is in test_control_loop.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/cloud_mem.h"
#include "fs/control/secgroups.h"
#include "tests/unit/check.h"

#define REGION "us-east-1"
#define VPC "vpc-0123456789abcdef0"

static struct cluster_config *config(const char *vpc_extra)
{
    char text[2048], err[256];
    snprintf(text, sizeof(text),
             "[aws]\naws_region_name = " REGION "\n\n[cluster default]\nkey_name = k\n"
             "vpc_settings = public\nbase_os = alinux2\nscheduler = slurm\n"
             "master_instance_type = t3.small\ncompute_instance_type = t2.micro\n"
             "\n[vpc public]\nvpc_id = " VPC "\nmaster_subnet_id = subnet-0123456789abcdef0\n%s",
             vpc_extra);
    struct cluster_config *cfg = NULL;
    int rc = config_parse(text, strlen(text), NULL, &cfg, err, sizeof(err));
    CHECK_INT(rc, 0);
    if (rc)
        fprintf(stderr, "%s\n", err);
    return cfg;
}

/* The groups named like cluster c's, as EC2 lists them. */
static size_t groups(struct cloud *cl, struct aws_ec2_security_groups *out)
{
    struct aws_error e = {0};
    CHECK_INT(cloud_sg_describe(cl, REGION, NULL, 0, NULL, 0, out, &e), 0);
    return out->n;
}

static const struct aws_ec2_security_group *named(const struct aws_ec2_security_groups *l,
                                                  const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

static const char *tag(const struct aws_ec2_security_group *g, const char *key)
{
    for (size_t i = 0; g && i < g->n_tags; i++)
        if (strcmp(g->tags[i].key, key) == 0)
            return g->tags[i].value;
    return NULL;
}

static void names(void)
{
    char a[SECGROUPS_NAME_MAX + 1], b[SECGROUPS_NAME_MAX + 1], c[SECGROUPS_NAME_MAX + 1];
    secgroups_name("bk", "lab3", SECGROUPS_HEAD, a);
    secgroups_name("bk", "lab30", SECGROUPS_HEAD, b);
    CHECK(strncmp(a, "pcfs-lab3-", 10) == 0);
    CHECK(strcmp(a, b) != 0);
    secgroups_name("other", "lab3", SECGROUPS_HEAD, c);
    CHECK(strcmp(a, c) != 0);
    secgroups_name("bk", "lab3", SECGROUPS_CLUSTER, c);
    CHECK(strcmp(a, c) != 0);
    CHECK(strncmp(a, "sg-", 3) != 0); /* EC2 refuses group names like ids */
}

static void ensure_makes_both_with_rules(void)
{
    struct cloud cl;
    CHECK_INT(cloud_mem_init(&cl, "bk"), 0);
    struct cluster_config *cfg = config("ssh_from = 203.0.113.0/24\n");
    char err[1024] = "", head[SECGROUPS_NAME_MAX + 1], all[SECGROUPS_NAME_MAX + 1];
    secgroups_name("bk", "c", SECGROUPS_HEAD, head);
    secgroups_name("bk", "c", SECGROUPS_CLUSTER, all);
    CHECK_INT(secgroups_ensure(&cl, "c", REGION, cfg, err, sizeof(err)), 0);
    CHECK_INT(secgroups_ensure(&cl, "c", REGION, cfg, err, sizeof(err)), 0); /* level-triggered */
    struct aws_ec2_security_groups l = {0};
    CHECK_INT(groups(&cl, &l), 2);
    const struct aws_ec2_security_group *h = named(&l, head), *a = named(&l, all);
    CHECK(h && a);
    if (h && a) {
        CHECK_STR(h->vpc_id, VPC);
        CHECK_STR(tag(h, "pclusterfs:owner"), "bk");
        CHECK_STR(tag(a, "pclusterfs:cluster"), "c");
        CHECK_INT(h->n_ingress, 1);
        CHECK_STR(h->ingress[0].proto, "tcp");
        CHECK_INT(h->ingress[0].from_port, 22);
        CHECK_INT(h->ingress[0].to_port, 22);
        CHECK_STR(h->ingress[0].cidr, "203.0.113.0/24");
        CHECK_INT(a->n_ingress, 1);
        CHECK_STR(a->ingress[0].proto, "-1");
        CHECK_STR(a->ingress[0].group_id, a->id);
    }
    aws_ec2_security_groups_free(&l);
    /* A new ssh_from: the old rule out, the new one in. */
    config_free(cfg);
    cfg = config("ssh_from = 198.51.100.7/32\n");
    CHECK_INT(secgroups_ensure(&cl, "c", REGION, cfg, err, sizeof(err)), 0);
    groups(&cl, &l);
    h = named(&l, head);
    CHECK(h && h->n_ingress == 1 && strcmp(h->ingress[0].cidr, "198.51.100.7/32") == 0);
    aws_ec2_security_groups_free(&l);
    /* Launch ids: the head gets both, a compute node the cluster's. */
    char ids[SECGROUPS_LAUNCH_MAX][SECGROUPS_ID_MAX];
    size_t n = 0;
    CHECK_INT(secgroups_launch_ids(&cl, "c", REGION, cfg, true, ids, &n, err, sizeof(err)), 0);
    CHECK_INT(n, 2);
    CHECK_INT(secgroups_launch_ids(&cl, "c", REGION, cfg, false, ids, &n, err, sizeof(err)), 0);
    CHECK_INT(n, 1);
    /* Removed, and again: nothing left, nothing to do. */
    int removed = -1;
    CHECK_INT(secgroups_remove(&cl, "c", REGION, &removed, err, sizeof(err)), 0);
    CHECK_INT(removed, 2);
    CHECK_INT(groups(&cl, &l), 0);
    CHECK_INT(secgroups_remove(&cl, "c", REGION, &removed, err, sizeof(err)), 0);
    CHECK_INT(removed, 0);
    CHECK_INT(secgroups_launch_ids(&cl, "c", REGION, cfg, false, ids, &n, err, sizeof(err)),
              -ENOENT);
    config_free(cfg);
    cloud_mem_destroy(&cl);
}

static void replaced_and_added(void)
{
    struct cloud cl;
    CHECK_INT(cloud_mem_init(&cl, "bk"), 0);
    char err[1024], mine[32], extra[32];
    struct aws_error e = {0};
    CHECK_INT(cloud_sg_create(&cl, REGION, "mine", "d", VPC, NULL, 0, mine, &e), 0);
    CHECK_INT(cloud_sg_create(&cl, REGION, "extra", "d", VPC, NULL, 0, extra, &e), 0);
    char text[256];
    /* vpc_security_group_id: no group made, every node gets it */
    snprintf(text, sizeof(text), "vpc_security_group_id = %s\nadditional_sg = %s\n", mine, extra);
    struct cluster_config *cfg = config(text);
    CHECK_INT(secgroups_ensure(&cl, "c", REGION, cfg, err, sizeof(err)), 0);
    struct aws_ec2_security_groups l = {0};
    CHECK_INT(groups(&cl, &l), 2);
    aws_ec2_security_groups_free(&l);
    char ids[SECGROUPS_LAUNCH_MAX][SECGROUPS_ID_MAX];
    size_t n = 0;
    CHECK_INT(secgroups_launch_ids(&cl, "c", REGION, cfg, true, ids, &n, err, sizeof(err)), 0);
    CHECK_INT(n, 2);
    CHECK_STR(ids[0], mine);
    CHECK_STR(ids[1], extra);
    config_free(cfg);
    /* additional_sg alone: added to the made ones */
    snprintf(text, sizeof(text), "additional_sg = %s\n", extra);
    cfg = config(text);
    CHECK_INT(secgroups_ensure(&cl, "c", REGION, cfg, err, sizeof(err)), 0);
    CHECK_INT(groups(&cl, &l), 4);
    aws_ec2_security_groups_free(&l);
    CHECK_INT(secgroups_launch_ids(&cl, "c", REGION, cfg, true, ids, &n, err, sizeof(err)), 0);
    CHECK_INT(n, 3);
    CHECK_STR(ids[2], extra);
    CHECK_INT(secgroups_launch_ids(&cl, "c", REGION, cfg, false, ids, &n, err, sizeof(err)), 0);
    CHECK_INT(n, 2);
    CHECK_STR(ids[1], extra);
    /* removal takes only the made ones */
    int removed = 0;
    CHECK_INT(secgroups_remove(&cl, "c", REGION, &removed, err, sizeof(err)), 0);
    CHECK_INT(removed, 2);
    CHECK_INT(groups(&cl, &l), 2);
    aws_ec2_security_groups_free(&l);
    config_free(cfg);
    cloud_mem_destroy(&cl);
}

static void foreign_group_untouched(void)
{
    struct cloud cl;
    CHECK_INT(cloud_mem_init(&cl, "bk"), 0);
    char err[1024] = "", head[SECGROUPS_NAME_MAX + 1], id[32];
    secgroups_name("bk", "c", SECGROUPS_HEAD, head);
    struct aws_error e = {0};
    const struct aws_tag other[] = {{"pclusterfs:owner", "another-bucket"}};
    CHECK_INT(cloud_sg_create(&cl, REGION, head, "not ours", VPC, other, 1, id, &e), 0);
    struct cluster_config *cfg = config("");
    CHECK_INT(secgroups_ensure(&cl, "c", REGION, cfg, err, sizeof(err)), -EPERM);
    CHECK_CONTAINS(err, "without the tag pclusterfs:owner=bk");
    int removed = -1;
    CHECK_INT(secgroups_remove(&cl, "c", REGION, &removed, err, sizeof(err)), 0);
    CHECK_INT(removed, 0);
    struct aws_ec2_security_groups l = {0};
    CHECK_INT(groups(&cl, &l), 1); /* still there, with no rule added */
    CHECK(l.n == 1 && l.v[0].n_ingress == 0 && strcmp(l.v[0].id, id) == 0);
    aws_ec2_security_groups_free(&l);
    char ids[SECGROUPS_LAUNCH_MAX][SECGROUPS_ID_MAX];
    size_t n = 0;
    CHECK_INT(secgroups_launch_ids(&cl, "c", REGION, cfg, true, ids, &n, err, sizeof(err)),
              -ENOENT);
    config_free(cfg);
    cloud_mem_destroy(&cl);
}

static void remove_waits_for_instances(void)
{
    struct cloud cl;
    CHECK_INT(cloud_mem_init(&cl, "bk"), 0);
    char err[1024] = "";
    struct cluster_config *cfg = config("");
    CHECK_INT(secgroups_ensure(&cl, "c", REGION, cfg, err, sizeof(err)), 0);
    char ids[SECGROUPS_LAUNCH_MAX][SECGROUPS_ID_MAX];
    const char *sgs[SECGROUPS_LAUNCH_MAX];
    size_t n = 0;
    CHECK_INT(secgroups_launch_ids(&cl, "c", REGION, cfg, false, ids, &n, err, sizeof(err)), 0);
    for (size_t i = 0; i < n; i++)
        sgs[i] = ids[i];
    struct aws_ec2_run_params run = {.image_id = "ami-1", .instance_type = "t2.micro",
                                     .client_token = "t1", .security_group_ids = sgs,
                                     .n_security_groups = n};
    struct aws_ec2_instances out = {0};
    struct aws_error e = {0};
    CHECK_INT(cloud_run_instances(&cl, REGION, &run, &out, &e), 0);
    CHECK(out.n == 1 && strcmp(cloud_mem_groups_of(&cl, out.v[0].id), ids[0]) == 0);
    int removed = -1;
    CHECK_INT(secgroups_remove(&cl, "c", REGION, &removed, err, sizeof(err)), -EBUSY);
    CHECK_CONTAINS(err, "still used by an instance");
    if (out.n)
        CHECK_INT(cloud_terminate(&cl, REGION, out.v[0].id, &e), 0);
    cloud_mem_settle(&cl);
    CHECK_INT(secgroups_remove(&cl, "c", REGION, &removed, err, sizeof(err)), 0);
    struct aws_ec2_security_groups l = {0};
    CHECK_INT(groups(&cl, &l), 0);
    aws_ec2_instances_free(&out);
    config_free(cfg);
    cloud_mem_destroy(&cl);
}

int main(void)
{
    RUN(names);
    RUN(ensure_makes_both_with_rules);
    RUN(replaced_and_added);
    RUN(foreign_group_untouched);
    RUN(remove_waits_for_instances);
    return check_finish();
}
