/* Bounded HTTP for the slurmrestd client; see http.h. */
#include "slurm/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (64u << 20)

struct sink {
    char *buf;
    size_t len, cap;
    bool too_big;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    if (s->len + n + 1 > MAX_BODY) {
        s->too_big = true;
        return 0;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (!nb)
            return 0;
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

int slurm_http_init(struct slurm_http *h, long connect_timeout_ms,
                    long timeout_ms)
{
    /* Reference-counted and thread-safe since libcurl 7.84; paired with
     * curl_global_cleanup in slurm_http_cleanup. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -ENOMEM;
    h->curl = curl_easy_init();
    if (!h->curl) {
        curl_global_cleanup();
        return -ENOMEM;
    }
    h->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 3000;
    h->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    return 0;
}

void slurm_http_cleanup(struct slurm_http *h)
{
    if (h->curl) {
        curl_easy_cleanup(h->curl);
        curl_global_cleanup();
    }
    h->curl = NULL;
}

static void wipe_free(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next)
        if (p->data)
            OPENSSL_cleanse(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

int slurm_http_request(struct slurm_http *h, const char *method,
                       const char *url, const char *const *headers,
                       const char *body, struct slurm_http_response *resp,
                       char *msg, size_t msglen)
{
    CURL *c = h->curl;
    struct sink sink = {0};
    struct curl_slist *hl = NULL, *tmp;
    char errbuf[CURL_ERROR_SIZE] = "";
    memset(resp, 0, sizeof *resp);

    for (size_t i = 0; headers && headers[i]; i++) {
        if (!(tmp = curl_slist_append(hl, headers[i]))) {
            wipe_free(hl);
            snprintf(msg, msglen, "out of memory");
            return -ENOMEM;
        }
        hl = tmp;
    }
    if (body && (tmp = curl_slist_append(hl, "Content-Type: application/json")))
        hl = tmp;
    if ((tmp = curl_slist_append(hl, "Accept: application/json")))
        hl = tmp;
    /* No "Expect: 100-continue" round trip for small bodies. */
    if ((tmp = curl_slist_append(hl, "Expect:")))
        hl = tmp;

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_BODY);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }

    CURLcode cc = curl_easy_perform(c);
    /* The handle keeps a pointer to the header list: drop it before the
     * list (which holds the token) is wiped. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    wipe_free(hl);

    int rc = 0;
    if (cc != CURLE_OK) {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
        switch (cc) {
        case CURLE_OPERATION_TIMEDOUT:
            rc = -ETIMEDOUT;
            snprintf(msg, msglen, "no answer within %ld ms: %s",
                     h->timeout_ms, why);
            break;
        case CURLE_COULDNT_CONNECT:
            rc = -ECONNREFUSED;
            snprintf(msg, msglen, "cannot connect: %s", why);
            break;
        case CURLE_COULDNT_RESOLVE_HOST:
            rc = -EHOSTUNREACH;
            snprintf(msg, msglen, "cannot resolve host: %s", why);
            break;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
            rc = sink.too_big || cc == CURLE_FILESIZE_EXCEEDED ? -EFBIG
                                                               : -ENOMEM;
            snprintf(msg, msglen, "answer %s",
                     rc == -EFBIG ? "larger than 64 MiB" : "out of memory");
            break;
        default:
            rc = -EIO;
            snprintf(msg, msglen, "HTTP request failed: %s", why);
        }
        free(sink.buf);
        return rc;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!sink.buf && !(sink.buf = calloc(1, 1))) {
        snprintf(msg, msglen, "out of memory");
        return -ENOMEM;
    }
    resp->body = sink.buf;
    resp->len = sink.len;
    return 0;
}
