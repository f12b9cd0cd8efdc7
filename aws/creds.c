#include "aws/creds.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "aws/imds.h"
#include "aws/profile.h"
#include "aws/util.h"

#define REFRESH_WINDOW 300      /* seconds before expiry to fetch again */

enum source { SRC_NONE, SRC_ENV, SRC_PROFILE, SRC_PROCESS, SRC_IMDS };

struct aws_creds_provider {
    pthread_mutex_t lock;
    char *profile;              /* explicit name or NULL */
    enum source source;
    char profile_used[256];
    struct aws_credentials cached;
};

struct aws_creds_provider *aws_creds_provider_new(const char *profile)
{
    struct aws_creds_provider *p = aws_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->profile = profile && *profile ? aws_xstrdup(profile) : NULL;
    return p;
}

void aws_creds_provider_free(struct aws_creds_provider *p)
{
    if (!p)
        return;
    aws_credentials_clear(&p->cached);
    pthread_mutex_destroy(&p->lock);
    free(p->profile);
    free(p);
}

static bool from_env(struct aws_credentials *out)
{
    const char *id = getenv("AWS_ACCESS_KEY_ID");
    const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (!id || !*id || !secret || !*secret)
        return false;
    const char *token = getenv("AWS_SESSION_TOKEN");
    out->access_key_id = aws_xstrdup(id);
    out->secret_access_key = aws_xstrdup(secret);
    out->session_token = token && *token ? aws_xstrdup(token) : NULL;
    out->expiration = 0;
    return true;
}

/* Runs credential_process through /bin/sh and reads its JSON from stdout.
 * Its stderr passes through (that is where SSO tools ask for a login). */
static int run_process(const char *cmd, const char *profile, struct aws_credentials *out,
                       struct aws_error *err)
{
    fflush(NULL);
    FILE *f = popen(cmd, "re");
    if (!f)
        return aws_error_set(err, -errno, "CredentialProcessFailed",
                             "cannot run credential_process of profile %s", profile);
    struct aws_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (b.len < 1024 * 1024)
            aws_buf_append(&b, chunk, n);
    int status = pclose(f);
    int rc;
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = aws_error_set(err, -EACCES, "CredentialProcessFailed",
                           "credential_process of profile %s failed (%s %d)", profile,
                           status != -1 && WIFEXITED(status) ? "exit status" : "wait status",
                           status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : status);
    else
        rc = aws_parse_credentials_json(aws_buf_str(&b), b.len, 1, out, err);
    aws_buf_free(&b);
    return rc;
}

/* The profile step of the chain. Returns 1 when it produced credentials, 0
 * when the profile has none (move on), negative on a hard error. */
static int from_profile(struct aws_creds_provider *p, struct aws_credentials *out,
                        enum source *src, struct aws_error *err)
{
    const char *name = aws_profile_name(p->profile);
    bool explicit_name = (p->profile && *p->profile) || (getenv("AWS_PROFILE") && *getenv("AWS_PROFILE"));
    struct aws_profile prof;
    int rc = aws_profile_load(name, &prof, err);
    if (rc < 0) {
        aws_profile_free(&prof);
        return rc;
    }
    snprintf(p->profile_used, sizeof p->profile_used, "%s", name);
    if (!prof.found) {
        aws_profile_free(&prof);
        if (explicit_name)
            return aws_error_set(err, -ENOENT, "ProfileNotFound",
                                 "profile %s is in neither the AWS config nor the credentials file",
                                 name);
        return 0;
    }
    if (prof.aws_access_key_id && prof.aws_secret_access_key) {
        out->access_key_id = aws_xstrdup(prof.aws_access_key_id);
        out->secret_access_key = aws_xstrdup(prof.aws_secret_access_key);
        out->session_token = prof.aws_session_token ? aws_xstrdup(prof.aws_session_token) : NULL;
        out->expiration = 0;
        *src = SRC_PROFILE;
        rc = 1;
    } else if (prof.credential_process) {
        rc = run_process(prof.credential_process, name, out, err);
        if (rc == 0) {
            *src = SRC_PROCESS;
            rc = 1;
        }
    } else if (prof.role_arn || prof.sso_start_url) {
        rc = aws_error_set(err, -ENOTSUP, "UnsupportedProfile",
                           "profile %s uses %s, which pclusterfs does not support directly; "
                           "use credential_process (e.g. \"aws configure export-credentials "
                           "--profile %s --format process\")",
                           name, prof.role_arn ? "role_arn (assume role)" : "SSO", name);
    } else {
        rc = 0;
    }
    aws_profile_free(&prof);
    return rc;
}

/* Walks the chain from the top. */
static int resolve_chain(struct aws_creds_provider *p, struct aws_credentials *out,
                         enum source *src, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    if (from_env(out)) {
        *src = SRC_ENV;
        return 0;
    }
    int rc = from_profile(p, out, src, err);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return 0;
    if (!aws_imds_enabled())
        return aws_error_set(err, -ENOKEY, "NoCredentials",
                             "no AWS credentials: none in the environment, none in profile %s, "
                             "and instance metadata is disabled", aws_profile_name(p->profile));
    struct aws_error imds_err;
    aws_error_clear(&imds_err);
    rc = aws_imds_fetch(out, &imds_err);
    if (rc == 0) {
        *src = SRC_IMDS;
        return 0;
    }
    return aws_error_set(err, -ENOKEY, "NoCredentials",
                         "no AWS credentials: none in the environment, none in profile %s, "
                         "and instance metadata failed: %s", aws_profile_name(p->profile),
                         imds_err.message);
}

/* Fetches again from the source that worked last time. */
static int refresh_source(struct aws_creds_provider *p, struct aws_credentials *out,
                          struct aws_error *err)
{
    enum source src = p->source;
    memset(out, 0, sizeof *out);
    switch (p->source) {
    case SRC_IMDS:
        return aws_imds_fetch(out, err);
    case SRC_PROCESS:
    case SRC_PROFILE: {
        int rc = from_profile(p, out, &src, err);
        if (rc == 1 && src == p->source)
            return 0;
        if (rc == 1)
            aws_credentials_clear(out);
        return rc < 0 ? rc : aws_error_set(err, -ENOKEY, "NoCredentials",
                                           "profile %s no longer yields credentials", p->profile_used);
    }
    default:
        return resolve_chain(p, out, &src, err);
    }
}

int aws_creds_get(struct aws_creds_provider *p, struct aws_credentials *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&p->lock);
    time_t now = time(NULL);
    int rc = 0;
    bool have = p->source != SRC_NONE && p->cached.access_key_id;
    if (!have) {
        enum source src = SRC_NONE;
        struct aws_credentials fresh;
        rc = resolve_chain(p, &fresh, &src, err);
        if (rc == 0) {
            p->cached = fresh;
            p->source = src;
        }
    } else if (p->cached.expiration && p->cached.expiration - now < REFRESH_WINDOW) {
        struct aws_credentials fresh;
        struct aws_error ferr;
        aws_error_clear(&ferr);
        rc = refresh_source(p, &fresh, &ferr);
        if (rc == 0) {
            aws_credentials_clear(&p->cached);
            p->cached = fresh;
        } else if (p->cached.expiration > now) {
            rc = 0;     /* keep using what still works; try again next call */
        } else {
            aws_error_set(err, rc, "ExpiredCredentials",
                          "AWS credentials expired and could not be refreshed: %s", ferr.message);
        }
    }
    if (rc == 0)
        aws_credentials_copy(out, &p->cached);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

const char *aws_creds_source(struct aws_creds_provider *p, char *buf, size_t n)
{
    pthread_mutex_lock(&p->lock);
    switch (p->source) {
    case SRC_ENV: snprintf(buf, n, "environment"); break;
    case SRC_PROFILE: snprintf(buf, n, "profile %s", p->profile_used); break;
    case SRC_PROCESS: snprintf(buf, n, "credential_process (profile %s)", p->profile_used); break;
    case SRC_IMDS: snprintf(buf, n, "instance metadata"); break;
    default: snprintf(buf, n, "%s", ""); break;
    }
    pthread_mutex_unlock(&p->lock);
    return buf;
}

int aws_resolve_region(const char *explicit_region, const char *profile, char *out, size_t n,
                       struct aws_error *err)
{
    const char *candidates[] = {explicit_region, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        if (candidates[i] && *candidates[i]) {
            snprintf(out, n, "%s", candidates[i]);
            return 0;
        }
    }
    struct aws_profile prof;
    int rc = aws_profile_load(aws_profile_name(profile), &prof, err);
    if (rc == 0 && prof.region && *prof.region)
        snprintf(out, n, "%s", prof.region);
    else if (rc == 0)
        rc = aws_error_set(err, -ENOENT, "MissingRegion",
                           "no AWS region: give -o region=, set AWS_REGION, or set region in profile %s",
                           aws_profile_name(profile));
    aws_profile_free(&prof);
    return rc;
}
