#include "aws/http.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "aws/xml.h"

#define MAX_BODY (256L * 1024 * 1024)
#define QUOTA_MAX 500
#define RETRY_COST 5
#define TIMEOUT_RETRY_COST 10
#define MAX_BACKOFF_S 20.0

struct aws_client {
    CURL *curl;
    struct aws_creds_provider *creds;
    char region[64];
    char bucket_owner[32];
    int max_attempts;
    long connect_ms, total_ms;
    struct timespec deadline; /* CLOCK_MONOTONIC; tv_sec 0 = none */
    double backoff_scale;
    int quota;
    int last_attempts;
    aws_log_fn *log;
    void *log_ud;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}
void aws_http_global_init(void)
{
    pthread_once(&global_once, global_init);
}

struct aws_client *aws_client_new(struct aws_creds_provider *creds, const char *region)
{
    aws_http_global_init();
    struct aws_client *c = aws_xcalloc(1, sizeof *c);
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    c->creds = creds;
    snprintf(c->region, sizeof c->region, "%s", region ? region : "");
    const char *env = getenv("AWS_MAX_ATTEMPTS");
    c->max_attempts = env && atoi(env) >= 1 ? atoi(env) : 3;
    c->connect_ms = 5000;
    c->total_ms = 60000;
    c->backoff_scale = 1.0;
    c->quota = QUOTA_MAX;
    return c;
}

void aws_client_free(struct aws_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

void aws_client_set_region(struct aws_client *c, const char *region)
{
    snprintf(c->region, sizeof c->region, "%s", region ? region : "");
}
const char *aws_client_region(const struct aws_client *c) { return c->region; }
void aws_client_set_bucket_owner(struct aws_client *c, const char *account_id)
{
    snprintf(c->bucket_owner, sizeof c->bucket_owner, "%s", account_id ? account_id : "");
}
const char *aws_client_bucket_owner(const struct aws_client *c) { return c->bucket_owner; }
void aws_client_set_max_attempts(struct aws_client *c, int attempts)
{
    c->max_attempts = attempts >= 1 ? attempts : 1;
}
void aws_client_set_timeouts(struct aws_client *c, long connect_ms, long total_ms)
{
    c->connect_ms = connect_ms > 0 ? connect_ms : 5000;
    c->total_ms = total_ms > 0 ? total_ms : 60000;
}
void aws_client_apply_policy(struct aws_client *c, const struct aws_client_policy *p)
{
    aws_client_set_timeouts(c, p->connect_ms, p->total_ms);
    if (p->max_attempts > 0)
        aws_client_set_max_attempts(c, p->max_attempts);
}
struct aws_client *aws_client_new_with(struct aws_creds_provider *creds, const char *region,
                                       const struct aws_client_policy *p)
{
    struct aws_client *c = aws_client_new(creds, region);
    if (c)
        aws_client_apply_policy(c, p);
    return c;
}
void aws_client_set_deadline(struct aws_client *c, const struct timespec *deadline)
{
    c->deadline = deadline ? *deadline : (struct timespec){0};
}

/* Milliseconds left before the deadline (LONG_MAX without one, 0 past it). */
static long ms_left(const struct aws_client *c)
{
    if (c->deadline.tv_sec == 0)
        return LONG_MAX;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (long)(c->deadline.tv_sec - now.tv_sec) * 1000 +
              (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? ms : 0;
}

void aws_client_set_backoff_scale(struct aws_client *c, double scale)
{
    c->backoff_scale = scale >= 0 ? scale : 1.0;
}
void aws_client_set_logger(struct aws_client *c, aws_log_fn *fn, void *ud)
{
    c->log = fn;
    c->log_ud = ud;
}
int aws_client_retry_tokens(const struct aws_client *c) { return c->quota; }
int aws_client_last_attempts(const struct aws_client *c) { return c->last_attempts; }

static void logf_(struct aws_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct aws_client *c, const char *fmt, ...)
{
    if (!c->log)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->log(c->log_ud, line);
}

void aws_response_free(struct aws_response *r)
{
    aws_buf_free(&r->body);
    memset(r, 0, sizeof *r);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct aws_response *r = ud;
    size_t n = size * nmemb;
    if (r->body.len + n > (size_t)MAX_BODY)
        return 0;
    aws_buf_append(&r->body, data, n);
    return n;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    snprintf(out, n, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct aws_response *r = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new status line (after 100 Continue): forget earlier headers. */
        r->etag[0] = r->request_id[0] = r->bucket_region[0] = '\0';
        r->last_modified[0] = r->content_type[0] = '\0';
        r->content_length = 0;
        return n;
    }
    header_value(data, n, "ETag", r->etag, sizeof r->etag);
    header_value(data, n, "x-amz-request-id", r->request_id, sizeof r->request_id);
    header_value(data, n, "x-amzn-RequestId", r->request_id, sizeof r->request_id);
    header_value(data, n, "x-amz-bucket-region", r->bucket_region, sizeof r->bucket_region);
    header_value(data, n, "Last-Modified", r->last_modified, sizeof r->last_modified);
    header_value(data, n, "Content-Type", r->content_type, sizeof r->content_type);
    char len[32] = "";
    header_value(data, n, "Content-Length", len, sizeof len);
    if (len[0])
        r->content_length = atoll(len);
    return n;
}

int aws_parse_error_xml(const char *data, size_t len, struct aws_error *err)
{
    struct aws_xml *root = aws_xml_parse(data, len);
    if (!root)
        return -1;
    struct aws_xml *e = strcmp(root->name, "Error") == 0 ? root : aws_xml_find(root, "Error");
    int rc = -1;
    if (e) {
        snprintf(err->code, sizeof err->code, "%s", aws_xml_text(e, "Code"));
        snprintf(err->message, sizeof err->message, "%s", aws_xml_text(e, "Message"));
        const char *rid = aws_xml_text(e, "RequestId");
        if (!*rid)
            rid = aws_xml_text(root, "RequestID");
        if (!*rid)
            rid = aws_xml_text(root, "RequestId");
        if (*rid)
            snprintf(err->request_id, sizeof err->request_id, "%s", rid);
        rc = err->code[0] ? 0 : -1;
    }
    aws_xml_free(root);
    return rc;
}

static bool retryable_curl(CURLcode rc, bool *timeout)
{
    *timeout = rc == CURLE_OPERATION_TIMEDOUT;
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static int curl_errno(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: return -ECONNRESET;
    case CURLE_WRITE_ERROR: return -EFBIG;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR: return -EPROTO;
    default: return -EIO;
    }
}

static void sleep_seconds(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* One attempt: sign with fresh credentials and the current time, send. */
static int attempt(struct aws_client *c, const struct aws_request *req, struct aws_response *resp,
                   CURLcode *curl_rc, char *curl_err, struct aws_error *err)
{
    struct aws_credentials creds;
    int rc = aws_creds_get(c->creds, &creds, err);
    if (rc)
        return rc;

    char *full_path;
    {
        struct aws_buf p = {0};
        aws_buf_puts(&p, req->endpoint->base_path);
        aws_buf_puts(&p, req->path ? req->path : "");
        if (p.len == 0)
            aws_buf_putc(&p, '/');
        full_path = aws_buf_take(&p);
    }
    bool s3 = strcmp(req->service, "s3") == 0;
    struct aws_header hdrs[24];
    size_t nh = 0;
    hdrs[nh++] = (struct aws_header){"Host", req->endpoint->host};
    if (req->content_type)
        hdrs[nh++] = (struct aws_header){"Content-Type", req->content_type};
    for (size_t i = 0; i < req->n_headers && nh < 24; i++)
        hdrs[nh++] = req->headers[i];
    struct aws_sigv4_request sreq = {
        .method = req->method, .path = full_path, .query = req->query,
        .headers = hdrs, .n_headers = nh, .body = req->body, .body_len = req->body_len,
    };
    struct aws_sigv4_options opt = {
        .region = req->region ? req->region : c->region[0] ? c->region : "us-east-1",
        .service = req->service, .now = time(NULL),
        .normalize_path = !s3, .content_sha256_header = s3,
    };
    struct aws_sigv4_result sig;
    rc = aws_sigv4_sign(&creds, &sreq, &opt, &sig);
    aws_credentials_clear(&creds);
    if (rc) {
        free(full_path);
        return aws_error_set(err, rc, "SigningFailed", "cannot sign the %s request", req->service);
    }

    struct aws_buf url = {0};
    aws_buf_printf(&url, "%s://%s", req->endpoint->scheme, req->endpoint->host);
    aws_uri_encode(&url, full_path, strlen(full_path), true);
    if (req->query && *req->query)
        aws_buf_printf(&url, "?%s", req->query);
    free(full_path);

    struct curl_slist *list = NULL;
    struct aws_buf line = {0};
    for (size_t i = 0; i < nh; i++) {
        aws_buf_reset(&line);
        aws_buf_printf(&line, "%s: %s", hdrs[i].name, hdrs[i].value);
        list = curl_slist_append(list, aws_buf_str(&line));
    }
    for (size_t i = 0; i < sig.n_added; i++) {
        aws_buf_reset(&line);
        aws_buf_printf(&line, "%s: %s", sig.added[i].name, sig.added[i].value);
        list = curl_slist_append(list, aws_buf_str(&line));
    }
    aws_buf_free(&line);
    list = curl_slist_append(list, "Expect:");
    if (!req->content_type)
        list = curl_slist_append(list, "Content-Type:");
    list = curl_slist_append(list, "Accept:");

    CURL *h = c->curl;
    curl_easy_reset(h);     /* keeps the connection cache */
    curl_easy_setopt(h, CURLOPT_URL, aws_buf_str(&url));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long left = ms_left(c);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms < left ? c->connect_ms : left);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->total_ms < left ? c->total_ms : left);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);    /* S3 keys may hold "/../" */
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "pclusterfs/0.1");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    if (req->head || strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
        if (strcmp(req->method, "DELETE") != 0 || req->body_len) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
    }
    curl_err[0] = '\0';
    *curl_rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_slist_free_all(list);      /* holds the signature and token */
    aws_sigv4_result_free(&sig);
    aws_buf_free(&url);
    return 0;
}

int aws_client_send(struct aws_client *c, const struct aws_request *req,
                    struct aws_response *resp, struct aws_error *err)
{
    memset(resp, 0, sizeof *resp);
    aws_error_clear(err);
    int last_cost = 0;
    int rc = 0;
    char curl_err[CURL_ERROR_SIZE];
    for (int n = 1;; n++) {
        c->last_attempts = n;
        aws_response_free(resp);
        aws_error_clear(err);
        if (ms_left(c) == 0) {
            aws_error_set(err, -ETIMEDOUT, "RequestTimeout",
                          "%s %s: not sent, the operation's time limit has passed", req->service,
                          req->method);
            return -ETIMEDOUT;
        }
        CURLcode crc = CURLE_OK;
        rc = attempt(c, req, resp, &crc, curl_err, err);
        if (rc)
            return rc;      /* no credentials or cannot sign: retrying cannot help */
        bool retry = false, timeout = false;
        if (crc != CURLE_OK) {
            retry = retryable_curl(crc, &timeout);
            bool cut = timeout && c->deadline.tv_sec && ms_left(c) == 0;
            aws_error_set(err, curl_errno(crc), "RequestFailed", "%s %s://%s: %s%s", req->method,
                          req->endpoint->scheme, req->endpoint->host,
                          cut ? "no answer within the operation's time limit: " : "",
                          curl_err[0] ? curl_err : curl_easy_strerror(crc));
            resp->status = 0;
        } else if (resp->status >= 200 && resp->status < 300) {
            /* Success: give back what the last retry took, or one token. */
            c->quota += last_cost ? last_cost : 1;
            if (c->quota > QUOTA_MAX)
                c->quota = QUOTA_MAX;
            return 0;
        } else {
            err->http_status = (int)resp->status;
            if (resp->body.len == 0 ||
                aws_parse_error_xml(resp->body.data, resp->body.len, err) != 0) {
                const char *code = resp->status == 301 ? "PermanentRedirect"
                                 : resp->status == 404 ? "NotFound"
                                 : resp->status == 412 ? "PreconditionFailed"
                                 : resp->status == 403 ? "Forbidden"
                                 : resp->status == 304 ? "NotModified"
                                 : resp->status == 503 ? "ServiceUnavailable"
                                 : resp->status >= 500 ? "InternalError" : "BadRequest";
                snprintf(err->code, sizeof err->code, "%s", code);
                snprintf(err->message, sizeof err->message, "%s %s answered HTTP %ld",
                         req->service, req->method, resp->status);
            }
            if (resp->status == 301 && resp->bucket_region[0])
                snprintf(err->message, sizeof err->message,
                         "the bucket is in region %s, not %s", resp->bucket_region, c->region);
            if (!err->request_id[0])
                snprintf(err->request_id, sizeof err->request_id, "%s", resp->request_id);
            err->err = aws_error_errno((int)resp->status, err->code);
            retry = aws_error_classify(resp->status, err->code) == AWS_ERROR_TRANSIENT;
        }
        if (!retry || n >= c->max_attempts)
            break;
        int cost = timeout ? TIMEOUT_RETRY_COST : RETRY_COST;
        if (c->quota < cost) {
            logf_(c, "%s %s: retry quota exhausted, not retrying %s", req->service, req->method,
                  err->code);
            break;
        }
        c->quota -= cost;
        last_cost = cost;
        double delay = aws_random_unit() * (double)(1ULL << (n - 1 < 20 ? n - 1 : 20));
        if (delay > MAX_BACKOFF_S)
            delay = MAX_BACKOFF_S;
        delay *= c->backoff_scale;
        if ((double)ms_left(c) <= delay * 1000) {
            logf_(c, "%s %s: not retrying %s, the operation's time limit comes first",
                  req->service, req->method, err->code);
            break;
        }
        logf_(c, "%s %s: attempt %d failed (%s: %s), retrying in %.2f s", req->service,
              req->method, n, err->code, err->message, delay);
        sleep_seconds(delay);
    }
    if (err->err == 0)
        err->err = -EIO;
    if (c->last_attempts > 1)   /* plain answers like 404 are the caller's to report */
        logf_(c, "%s %s failed after %d attempts: %s: %s", req->service, req->method,
              c->last_attempts, err->code, err->message);
    return err->err;
}

int aws_client_presign(struct aws_client *c, const char *service, const struct aws_endpoint *ep,
                       const char *method, const char *path, long expires, char **url_out,
                       struct aws_error *err)
{
    *url_out = NULL;
    struct aws_credentials creds;
    int rc = aws_creds_get(c->creds, &creds, err);
    if (rc)
        return rc;
    struct aws_buf p = {0};
    aws_buf_puts(&p, ep->base_path);
    aws_buf_puts(&p, path && *path ? path : "/");
    struct aws_header host = {"Host", ep->host};
    struct aws_sigv4_request sreq = {.method = method, .path = aws_buf_str(&p), .headers = &host,
                                     .n_headers = 1, .payload_hash = "UNSIGNED-PAYLOAD"};
    bool s3 = strcmp(service, "s3") == 0;
    struct aws_sigv4_options opt = {.region = c->region[0] ? c->region : "us-east-1",
                                    .service = service, .now = time(NULL),
                                    .normalize_path = !s3, .presign = true, .expires = expires};
    struct aws_sigv4_result sig;
    rc = aws_sigv4_sign(&creds, &sreq, &opt, &sig);
    aws_credentials_clear(&creds);
    if (rc == 0) {
        struct aws_buf url = {0};
        aws_buf_printf(&url, "%s://%s", ep->scheme, ep->host);
        aws_uri_encode(&url, p.data, p.len, true);
        aws_buf_printf(&url, "?%s", sig.query_suffix);
        *url_out = aws_buf_take(&url);
        aws_sigv4_result_free(&sig);
    } else {
        aws_error_set(err, rc, "SigningFailed", "cannot presign the %s URL", service);
    }
    aws_buf_free(&p);
    return rc;
}
