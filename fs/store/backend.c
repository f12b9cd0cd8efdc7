#include "fs/store/backend.h"
#include "fs/aws_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws.h"
#include "fs/store/store_s3.h"

static int open_memory(struct pcfs *fs, char *err, size_t errlen)
{
    const char *region = fs->opts.region ? fs->opts.region : getenv("AWS_REGION");
    if (!region || !*region)
        region = getenv("AWS_DEFAULT_REGION");
    fs->mount_region = strdup(region && *region ? region : "us-east-1");
    if (!fs->mount_region || store_mem_open(&fs->store) != 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

/* The bucket exists and is ours, or is created now (private, encrypted). */
static int ensure_bucket(struct aws_client *c, const char *bucket, char *err, size_t errlen)
{
    struct aws_error e;
    char buf[768];
    int rc = aws_s3_head_bucket(c, bucket, NULL, 0, &e);
    if (rc == -ENOENT) {
        rc = aws_s3_create_bucket(c, bucket, &e);
        if (rc == 0)
            return 0;
    }
    if (rc == -EACCES)
        snprintf(err, errlen,
                 "state bucket %s belongs to another account (or denies this one); choose "
                 "another with -o bucket=",
                 bucket);
    else if (rc)
        snprintf(err, errlen, "state bucket %s: %s", bucket, aws_error_format(&e, buf, sizeof(buf)));
    return rc;
}

static int open_bucket(struct pcfs *fs, char *err, size_t errlen)
{
    struct aws_error e;
    char buf[768];
    char region[64];
    int rc = aws_resolve_region(fs->opts.region, fs->opts.profile, region, sizeof(region), &e);
    if (rc) {
        snprintf(err, errlen, "%s", aws_error_format(&e, buf, sizeof(buf)));
        return rc;
    }
    fs->mount_region = strdup(region);
    fs->creds = aws_creds_provider_new(fs->opts.profile);
    struct aws_client *c =
        fs->creds ? aws_client_new_with(fs->creds, region, &PCFS_AWS_COMMIT) : NULL;
    if (!fs->mount_region || !c) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct aws_identity who;
    rc = aws_sts_get_caller_identity(c, &who, &e);
    if (rc) {
        snprintf(err, errlen, "cannot tell which AWS account to use: %s",
                 aws_error_format(&e, buf, sizeof(buf)));
        aws_client_free(c);
        return rc;
    }
    aws_client_set_bucket_owner(c, who.account);
    char bucket[128];
    if (fs->opts.bucket)
        snprintf(bucket, sizeof(bucket), "%s", fs->opts.bucket);
    else
        snprintf(bucket, sizeof(bucket), "pclusterfs-%s-%s", who.account, region);
    rc = ensure_bucket(c, bucket, err, errlen);
    aws_client_free(c);
    if (rc)
        return rc;
    struct store_s3_params p = {
        .creds = fs->creds, .region = region, .bucket = bucket, .account_id = who.account};
    fs->bucket = strdup(bucket);
    fs->account = strdup(who.account);
    if (!fs->bucket || !fs->account)
        return -ENOMEM;
    return store_s3_open(&fs->store, &p, err, errlen);
}

int backend_open(struct pcfs *fs, char *err, size_t errlen)
{
    return fs->opts.memory ? open_memory(fs, err, errlen) : open_bucket(fs, err, errlen);
}

void backend_close(struct pcfs *fs)
{
    if (fs->store.ops)
        fs->store.ops->destroy(fs->store.impl);
    fs->store.ops = NULL;
    aws_creds_provider_free(fs->creds);
    fs->creds = NULL;
    free(fs->bucket);
    free(fs->account);
    free(fs->mount_region);
    fs->bucket = fs->account = fs->mount_region = NULL;
}
