/* The slurmrestd client: version discovery, tokens, calls and the mapping
 * of Slurm's answers to errno + message. See slurmrest.h. */
#include "slurm/slurmrest.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "slurm/http.h"
#include "slurm/jwt.h"
#include "slurm/parse.h"

/* Slurm error numbers (slurm_errno.h) that get their own errno. */
#define SLURM_PROTOCOL_AUTHENTICATION_ERROR 1007
#define ESLURM_ACCESS_DENIED 2002
#define ESLURM_USER_ID_MISSING 2010
#define ESLURM_INVALID_NODE_NAME 2018
#define ESLURM_INVALID_NODE_STATE 2028

struct slurmrest_client {
    char *url;
    char *user;
    unsigned char *key;
    size_t key_len;
    unsigned lifetime;
    struct slurm_http http;
    char token[1024];
    int64_t token_renew_at;       /* mint a new token from this time on */
    int version;                  /* minor of v0.0.N, 0 = not known yet */
    int max_minor;                /* 0: no limit */
    struct slurmrest_node_list *nodes_cache;
    bool no_update_time;          /* this slurmrestd rejects update_time */
};

static int fail(struct slurmrest_error *err, int code, int http_status,
                const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct slurmrest_error *err, int code, int http_status,
                const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->http_status = http_status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        /* Parts of the message come from the server: no control bytes
         * (terminal escapes, newlines) reach logs or events. */
        for (char *p = err->message; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
    }
    return code;
}

static void ok(struct slurmrest_error *err)
{
    if (err) {
        err->code = 0;
        err->http_status = 0;
        err->message[0] = '\0';
    }
}

/* Values that go into a header line or a URL: printable ASCII only. */
static bool printable(const char *s, size_t max)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return false;
    return n > 0 && n <= max;
}

static bool valid_node_name(const char *s)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
              *s == '.'))
            return false;
    return n > 0 && n <= 255;
}

int slurmrest_client_new(const struct slurmrest_options *opt,
                         slurmrest_client **out, struct slurmrest_error *err)
{
    *out = NULL;
    if (!opt || !opt->url || !opt->user || !opt->key || opt->key_len == 0)
        return fail(err, -EINVAL, 0, "slurmrest: url, user and key are "
                                     "required");
    if ((strncmp(opt->url, "http://", 7) != 0 &&
         strncmp(opt->url, "https://", 8) != 0) ||
        !printable(opt->url, 2048) || strchr(opt->url, '@') ||
        strchr(opt->url, '?'))
        return fail(err, -EINVAL, 0, "slurmrest: url must be http(s)://host"
                                     ":port without credentials or query");
    if (!printable(opt->user, 255))
        return fail(err, -EINVAL, 0, "slurmrest: user name must be 1..255 "
                                     "printable characters");
    int max_minor = 0, end = 0;
    if (opt->max_version &&
        (sscanf(opt->max_version, "v0.0.%2d%n", &max_minor, &end) != 1 ||
         opt->max_version[end] || max_minor < 38))
        return fail(err, -EINVAL, 0, "slurmrest: max_version must look like "
                                     "v0.0.41 (v0.0.38 at least)");
    slurmrest_client *c = calloc(1, sizeof *c);
    if (!c)
        return fail(err, -ENOMEM, 0, "out of memory");
    c->max_minor = max_minor;
    c->url = strdup(opt->url);
    c->user = strdup(opt->user);
    c->key = malloc(opt->key_len);
    if (!c->url || !c->user || !c->key) {
        slurmrest_client_free(c);
        return fail(err, -ENOMEM, 0, "out of memory");
    }
    size_t ul = strlen(c->url);
    while (ul > 0 && c->url[ul - 1] == '/')
        c->url[--ul] = '\0';
    memcpy(c->key, opt->key, opt->key_len);
    c->key_len = opt->key_len;
    c->lifetime = opt->token_lifetime_s ? opt->token_lifetime_s : 300;
    int rc = slurm_http_init(&c->http, opt->connect_timeout_ms,
                             opt->timeout_ms);
    if (rc < 0) {
        slurmrest_client_free(c);
        return fail(err, rc, 0, "slurmrest: cannot set up libcurl");
    }
    *out = c;
    ok(err);
    return 0;
}

void slurmrest_client_free(slurmrest_client *c)
{
    if (!c)
        return;
    slurm_http_cleanup(&c->http);
    if (c->key) {
        OPENSSL_cleanse(c->key, c->key_len);
        free(c->key);
    }
    OPENSSL_cleanse(c->token, sizeof c->token);
    slurmrest_node_list_release(c->nodes_cache);
    free(c->url);
    free(c->user);
    free(c);
}

static int fresh_token(slurmrest_client *c, struct slurmrest_error *err)
{
    int64_t now = (int64_t)time(NULL);
    if (c->token[0] && now < c->token_renew_at)
        return 0;
    int n = slurm_jwt_mint(c->key, c->key_len, c->user, now, c->lifetime,
                           c->token, sizeof c->token);
    if (n < 0)
        return fail(err, n, 0, "slurmrest: cannot make a token for user %s",
                    c->user);
    /* Renew once two thirds of the lifetime are gone, so a token never
     * expires in flight even with some clock skew. */
    c->token_renew_at = now + (int64_t)c->lifetime - c->lifetime / 3;
    return 0;
}

/* What the failure of an answered request means. `what` names the call for
 * the message ("GET /slurm/v0.0.42/nodes"). */
static int answer_error(slurmrest_client *c, const char *what,
                        const struct slurm_http_response *r,
                        struct slurmrest_error *err)
{
    int number = 0;
    char smsg[300] = "";
    int has = r->len ? slurm_parse_errors(r->body, r->len, &number, smsg,
                                          sizeof smsg)
                     : 0;
    int st = (int)r->status;
    if (st == 401 || st == 403 || st == 511 ||
        (has == 1 && number == SLURM_PROTOCOL_AUTHENTICATION_ERROR))
        return fail(err, -EACCES, st,
                    "slurmrestd at %s refused the credentials of user %s "
                    "(%s): authentication failed; the token must be signed "
                    "with slurmctld's JWT key (HTTP %d)",
                    c->url, c->user, has == 1 ? smsg : "no detail", st);
    if (has == 1 && c->version == 38 && number == -1)
        /* Slurm 22.05 gives no reason when slurmctld rejects the token:
         * every call then fails with errno -1 "Unspecified error". */
        return fail(err, -EACCES, st,
                    "slurmrestd at %s: %s failed without a reason (%s); "
                    "Slurm 22.05 answers this way when slurmctld rejects the "
                    "token: authentication failed for user %s (wrong JWT key "
                    "or unknown user)",
                    c->url, what, smsg, c->user);
    if (has == 1 && (number == ESLURM_USER_ID_MISSING ||
                     number == ESLURM_ACCESS_DENIED))
        return fail(err, -EPERM, st,
                    "slurmrestd at %s: %s: %s: user %s may not do this "
                    "(Slurm lets root, SlurmUser or operators change nodes)",
                    c->url, what, smsg, c->user);
    if (has == 1 && number == ESLURM_INVALID_NODE_NAME)
        return fail(err, -ENOENT, st, "slurmrestd at %s: %s: %s", c->url,
                    what, smsg);
    if (st == 404 || st == 405) {
        c->version = 0;   /* rediscover next time: slurmrestd may have changed */
        return fail(err, -ENOTSUP, st,
                    "slurmrestd at %s does not offer %s (HTTP %d)", c->url,
                    what, st);
    }
    if (has == 1)
        return fail(err, -EIO, st, "slurmrestd at %s: %s: %s (Slurm error "
                                   "%d, HTTP %d)",
                    c->url, what, smsg, number, st);
    return fail(err, -EIO, st, "slurmrestd at %s: %s: HTTP %d", c->url, what,
                st);
}

/* One request. On success the answer is in r (caller frees r->body). A
 * non-2xx status, other than 304, is turned into an error here unless
 * keep_status is set. */
static int call(slurmrest_client *c, const char *method, const char *path,
                const char *body, struct slurm_http_response *r,
                bool keep_status, struct slurmrest_error *err)
{
    int rc = fresh_token(c, err);
    if (rc < 0)
        return rc;
    char url[4096], user_h[300], token_h[sizeof c->token + 32];
    char what[300];
    snprintf(what, sizeof what, "%s %s", method, path);
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->url, path) >= sizeof url)
        return fail(err, -ENAMETOOLONG, 0, "slurmrest: URL too long");
    snprintf(user_h, sizeof user_h, "X-SLURM-USER-NAME: %s", c->user);
    snprintf(token_h, sizeof token_h, "X-SLURM-USER-TOKEN: %s", c->token);
    const char *headers[] = {user_h, token_h, NULL};
    char hmsg[400] = "";
    rc = slurm_http_request(&c->http, method, url, headers, body, r, hmsg,
                            sizeof hmsg);
    OPENSSL_cleanse(token_h, sizeof token_h);
    if (rc < 0)
        return fail(err, rc, 0, "slurmrestd at %s: %s: %s", c->url, what,
                    hmsg);
    if (keep_status || (r->status >= 200 && r->status < 300) ||
        r->status == 304)
        return 0;
    rc = answer_error(c, what, r, err);
    free(r->body);
    r->body = NULL;
    return rc;
}

static int discover(slurmrest_client *c, struct slurmrest_error *err)
{
    if (c->version)
        return 0;
    struct slurm_http_response r;
    int rc = call(c, "GET", "/openapi/v3", NULL, &r, false, err);
    if (rc == -ENOTSUP)   /* older slurmrestd: the document's other name */
        rc = call(c, "GET", "/openapi", NULL, &r, false, err);
    if (rc < 0)
        return rc;
    char msg[400];
    int v = slurm_parse_versions(r.body, r.len, c->max_minor, msg, sizeof msg);
    free(r.body);
    if (v < 0)
        return fail(err, v, (int)r.status, "slurmrestd at %s: %s", c->url,
                    msg);
    if (c->nodes_cache) {
        slurmrest_node_list_release(c->nodes_cache);
        c->nodes_cache = NULL;
    }
    c->version = v;
    c->no_update_time = false;
    return 0;
}

int slurmrest_version(slurmrest_client *c, const char **version,
                      struct slurmrest_error *err)
{
    static const char *const names[] = {
        [38] = "v0.0.38", [40] = "v0.0.40", [41] = "v0.0.41",
        [42] = "v0.0.42",
    };
    int rc = discover(c, err);
    if (rc < 0)
        return rc;
    *version = names[c->version];
    ok(err);
    return 0;
}

/* A GET of /slurm/v0.0.N/<what>, with the version discovered first. */
static int get(slurmrest_client *c, const char *what, const char *query,
               struct slurm_http_response *r, bool keep_status,
               struct slurmrest_error *err)
{
    int rc = discover(c, err);
    if (rc < 0)
        return rc;
    char path[512];
    snprintf(path, sizeof path, "/slurm/v0.0.%d/%s%s", c->version, what,
             query ? query : "");
    return call(c, "GET", path, NULL, r, keep_status, err);
}

/* A 2xx answer can still carry errors (Slurm 24.11 answers 200 with an
 * "errors" array for some failures). */
static int answer_errors_in_2xx(slurmrest_client *c, const char *what,
                                const struct slurm_http_response *r,
                                struct slurmrest_error *err)
{
    int number = 0;
    char smsg[300];
    if (slurm_parse_errors(r->body, r->len, &number, smsg, sizeof smsg) == 1)
        return answer_error(c, what, r, err);
    return 0;
}

int slurmrest_ping(slurmrest_client *c, struct slurmrest_ping *out,
                   struct slurmrest_error *err)
{
    struct slurm_http_response r;
    memset(out, 0, sizeof *out);
    int rc = get(c, "ping", NULL, &r, false, err);
    if (rc < 0)
        return rc;
    if ((rc = answer_errors_in_2xx(c, "GET ping", &r, err)) == 0) {
        char msg[300];
        rc = slurm_parse_ping(r.body, r.len, out, msg, sizeof msg);
        if (rc < 0)
            fail(err, rc, (int)r.status, "slurmrestd at %s: ping: %s",
                 c->url, msg);
    }
    free(r.body);
    if (rc == 0)
        ok(err);
    return rc;
}

void slurmrest_node_list_release(struct slurmrest_node_list *l)
{
    if (l && __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) == 0)
        slurm_node_list_free(l);
}

static struct slurmrest_node_list *ref(struct slurmrest_node_list *l)
{
    __atomic_add_fetch(&l->refs, 1, __ATOMIC_ACQ_REL);
    return l;
}

/* One GET of the nodes, with update_time when `incremental` and Slurm gave
 * us a time before. */
static int nodes_once(slurmrest_client *c, bool incremental,
                      struct slurmrest_node_list **out,
                      struct slurmrest_error *err)
{
    struct slurm_http_response r;
    char query[64] = "";
    /* Only with a time Slurm itself gave: our clock is not slurmctld's. */
    if (incremental && c->nodes_cache && c->nodes_cache->last_update > 0 &&
        !c->no_update_time)
        snprintf(query, sizeof query, "?update_time=%" PRId64,
                 c->nodes_cache->last_update);
    int rc = get(c, "nodes", query, &r, true, err);
    if (rc < 0)
        return rc;
    if (r.status == 304 && query[0]) {
        free(r.body);
        *out = ref(c->nodes_cache);
        ok(err);
        return 0;
    }
    int number = 0;
    char smsg[300];
    bool failed = r.status < 200 || r.status >= 300 ||
                  slurm_parse_errors(r.body, r.len, &number, smsg,
                                     sizeof smsg) == 1;
    if (failed && query[0] && r.status != 401 && r.status != 403 &&
        r.status != 511 && number != SLURM_PROTOCOL_AUTHENTICATION_ERROR) {
        /* Slurm 24.11's v0.0.40/41 cannot parse the time they give out
         * (the error names update_time): stop sending it. Its v0.0.42
         * answers 304 when nothing changed, but fails ("Unable to query
         * partitions") when nodes changed and partitions did not: then
         * ask again for everything. */
        if (strstr(r.body, "update_time"))
            c->no_update_time = true;
        free(r.body);
        return nodes_once(c, false, out, err);
    }
    if (failed) {
        rc = answer_error(c, "GET nodes", &r, err);
        free(r.body);
        return rc;
    }
    char msg[300];
    struct slurmrest_node_list *l;
    rc = slurm_parse_nodes(r.body, r.len, &l, msg, sizeof msg);
    free(r.body);
    if (rc < 0)
        return fail(err, rc, (int)r.status, "slurmrestd at %s: nodes: %s",
                    c->url, msg);
    slurmrest_node_list_release(c->nodes_cache);
    c->nodes_cache = ref(l);
    *out = l;
    ok(err);
    return 0;
}

int slurmrest_nodes(slurmrest_client *c, struct slurmrest_node_list **out,
                    struct slurmrest_error *err)
{
    *out = NULL;
    int rc = discover(c, err);
    if (rc < 0)
        return rc;
    return nodes_once(c, true, out, err);
}

const struct slurmrest_node *
slurmrest_node_find(const struct slurmrest_node_list *l, const char *name)
{
    for (size_t i = 0; l && i < l->count; i++)
        if (strcmp(l->nodes[i].name, name) == 0)
            return &l->nodes[i];
    return NULL;
}

bool slurmrest_node_has_flag(const struct slurmrest_node *n, const char *flag)
{
    for (size_t i = 0; i < n->nflags; i++)
        if (strcmp(n->flags[i], flag) == 0)
            return true;
    return false;
}

int slurmrest_partitions(slurmrest_client *c,
                         struct slurmrest_partition_list **out,
                         struct slurmrest_error *err)
{
    *out = NULL;
    struct slurm_http_response r;
    int rc = get(c, "partitions", NULL, &r, false, err);
    if (rc < 0)
        return rc;
    if ((rc = answer_errors_in_2xx(c, "GET partitions", &r, err)) == 0) {
        char msg[300];
        rc = slurm_parse_partitions(r.body, r.len, out, msg, sizeof msg);
        if (rc < 0)
            fail(err, rc, (int)r.status, "slurmrestd at %s: partitions: %s",
                 c->url, msg);
    }
    free(r.body);
    if (rc == 0)
        ok(err);
    return rc;
}

int slurmrest_jobs(slurmrest_client *c, struct slurmrest_job_list **out,
                   struct slurmrest_error *err)
{
    *out = NULL;
    struct slurm_http_response r;
    int rc = get(c, "jobs", NULL, &r, false, err);
    if (rc < 0)
        return rc;
    if ((rc = answer_errors_in_2xx(c, "GET jobs", &r, err)) == 0) {
        char msg[300];
        rc = slurm_parse_jobs(r.body, r.len, out, msg, sizeof msg);
        if (rc < 0)
            fail(err, rc, (int)r.status, "slurmrestd at %s: jobs: %s",
                 c->url, msg);
    }
    free(r.body);
    if (rc == 0)
        ok(err);
    return rc;
}

/* POST or DELETE on /slurm/v0.0.N/node/<name>, for versions that have
 * node updates (v0.0.39 and later). */
static int node_op(slurmrest_client *c, const char *op, const char *method,
                   const char *node, const char *body,
                   struct slurmrest_error *err)
{
    if (!node || !valid_node_name(node))
        return fail(err, -EINVAL, 0, "slurmrest: node %s: invalid node name",
                    op);
    int rc = discover(c, err);
    if (rc < 0)
        return rc;
    if (c->version < 39)
        return fail(err, -ENOTSUP, 0,
                    "node %s is not supported by this Slurm: slurmrestd at %s "
                    "speaks API v0.0.%d (Slurm 22.05 or older); node updates "
                    "need v0.0.39 (Slurm 23.02) or later",
                    op, c->url, c->version);
    char path[512], what[600];
    snprintf(path, sizeof path, "/slurm/v0.0.%d/node/%s", c->version, node);
    snprintf(what, sizeof what, "node %s of %s", op, node);
    struct slurm_http_response r;
    rc = call(c, method, path, body, &r, true, err);
    if (rc < 0)
        return rc;
    int number = 0;
    char smsg[300];
    int has = slurm_parse_errors(r.body, r.len, &number, smsg, sizeof smsg);
    if (r.status >= 200 && r.status < 300 && has <= 0)
        rc = 0;
    else if (has == 1 && number == ESLURM_INVALID_NODE_STATE &&
             strcmp(op, "delete") == 0)
        rc = fail(err, -EINVAL, (int)r.status,
                  "slurmrestd at %s: %s: %s (only dynamic nodes can be "
                  "deleted)", c->url, what, smsg);
    else
        rc = answer_error(c, what, &r, err);
    free(r.body);
    if (rc == 0) {
        /* The node changed: the next poll must not be served "unchanged". */
        slurmrest_node_list_release(c->nodes_cache);
        c->nodes_cache = NULL;
        ok(err);
    }
    return rc;
}

static int node_update(slurmrest_client *c, const char *op, const char *node,
                       const char *state, const char *reason,
                       struct slurmrest_error *err)
{
    json_t *o = reason ? json_pack("{s:[s],s:s}", "state", state, "reason",
                                   reason)
                       : json_pack("{s:[s]}", "state", state);
    if (!o)
        return fail(err, -EINVAL, 0, "slurmrest: node %s: reason is not "
                                     "valid UTF-8", op);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!body)
        return fail(err, -ENOMEM, 0, "out of memory");
    int rc = node_op(c, op, "POST", node, body, err);
    free(body);
    return rc;
}

int slurmrest_node_drain(slurmrest_client *c, const char *node,
                         const char *reason, struct slurmrest_error *err)
{
    /* Slurm refuses a drain without a reason. */
    return node_update(c, "drain", node, "DRAIN",
                       reason && *reason ? reason : "drained through "
                                                    "slurmrestd",
                       err);
}

int slurmrest_node_resume(slurmrest_client *c, const char *node,
                          struct slurmrest_error *err)
{
    return node_update(c, "resume", node, "RESUME", NULL, err);
}

int slurmrest_node_delete(slurmrest_client *c, const char *node,
                          struct slurmrest_error *err)
{
    return node_op(c, "delete", "DELETE", node, NULL, err);
}
