/* One bounded HTTP exchange with slurmrestd over a libcurl easy handle.
 * The handle belongs to one client and so to one thread. Connect and total
 * timeouts are always set, signals are not used (safe in threads), bodies
 * are capped. Header values are treated as secrets: they are wiped from
 * memory after the request and never copied into messages. */
#ifndef PCFS_SLURM_HTTP_H
#define PCFS_SLURM_HTTP_H
#include <stddef.h>

struct slurm_http {
    void *curl;              /* CURL * */
    long connect_timeout_ms;
    long timeout_ms;
};

struct slurm_http_response {
    long status;             /* HTTP status, 0 when none */
    char *body;              /* NUL-terminated, may be empty; caller frees */
    size_t len;
};

int slurm_http_init(struct slurm_http *h, long connect_timeout_ms,
                    long timeout_ms);
void slurm_http_cleanup(struct slurm_http *h);

/* method "GET", "POST" (body is JSON) or "DELETE"; headers is a
 * NULL-terminated list of "Name: value" lines. Returns 0 when an HTTP
 * answer came (any status), else a negative errno with msg set:
 * -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -EFBIG, -EIO, -ENOMEM. */
int slurm_http_request(struct slurm_http *h, const char *method,
                       const char *url, const char *const *headers,
                       const char *body, struct slurm_http_response *resp,
                       char *msg, size_t msglen);

#endif
