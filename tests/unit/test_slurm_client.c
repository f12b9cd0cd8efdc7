/* The client's bounds and error mapping against real sockets on loopback:
 * nothing listening (refused), a peer that accepts and never answers (the
 * total timeout must fire), a peer that answers garbage or 401. Messages
 * must never carry the key or the token. Against a real slurmrestd the
 * client is tested in tests/integration/test_slurm_rest.py. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "slurm/slurmrest.h"
#include "tests/unit/check.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";

struct peer {
    int fd;
    int port;
    const char *reply;     /* NULL: accept, read, never answer */
    char request[8192];
    pthread_t thread;
};

static void *serve(void *arg)
{
    struct peer *p = arg;
    int c = accept(p->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    ssize_t n = read(c, p->request, sizeof p->request - 1);
    p->request[n > 0 ? n : 0] = '\0';
    if (p->reply) {
        ssize_t w = write(c, p->reply, strlen(p->reply));
        (void)w;
    } else {
        /* Never answer; wait until the client gives up and closes. */
        char sink[256];
        while (read(c, sink, sizeof sink) > 0)
            ;
    }
    close(c);
    return NULL;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0)
        return -1;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *port = ntohs(a.sin_port);
    return fd;
}

static void start_peer(struct peer *p, const char *reply)
{
    memset(p, 0, sizeof *p);
    p->reply = reply;
    p->fd = listen_any(&p->port);
    pthread_create(&p->thread, NULL, serve, p);
}

static void stop_peer(struct peer *p)
{
    pthread_join(p->thread, NULL);
    close(p->fd);
}

static slurmrest_client *client(int port, long timeout_ms)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    struct slurmrest_options o = {.url = url, .user = "slurm", .key = key,
                                  .key_len = sizeof key - 1,
                                  .connect_timeout_ms = 500,
                                  .timeout_ms = timeout_ms};
    slurmrest_client *c = NULL;
    struct slurmrest_error err;
    CHECK_INT(slurmrest_client_new(&o, &c, &err), 0);
    return c;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void no_secret(const char *msg, const char *request)
{
    CHECK(strstr(msg, (const char *)key) == NULL);
    const char *tok = request ? strstr(request, "X-SLURM-USER-TOKEN: ") : NULL;
    if (tok) {
        char t[64];
        snprintf(t, sizeof t, "%.40s", tok + 20);   /* header.claims prefix */
        CHECK(strstr(msg, t) == NULL);
        CHECK(strstr(msg, "eyJ") == NULL);
    }
}

static void test_refused(void)
{
    int port;
    int fd = listen_any(&port);
    close(fd);   /* the port is now (almost certainly) closed */
    slurmrest_client *c = client(port, 2000);
    struct slurmrest_ping p;
    struct slurmrest_error err;
    double t0 = now();
    CHECK_INT(slurmrest_ping(c, &p, &err), -ECONNREFUSED);
    CHECK(now() - t0 < 1.0);
    CHECK_CONTAINS(err.message, "cannot connect");
    CHECK_CONTAINS(err.message, "127.0.0.1");
    no_secret(err.message, NULL);
    slurmrest_client_free(c);
}

static void test_silent_peer_times_out(void)
{
    struct peer p;
    start_peer(&p, NULL);
    slurmrest_client *c = client(p.port, 700);
    struct slurmrest_node_list *l;
    struct slurmrest_error err;
    double t0 = now();
    CHECK_INT(slurmrest_nodes(c, &l, &err), -ETIMEDOUT);
    double took = now() - t0;
    CHECK(took >= 0.6 && took < 1.5);
    CHECK_CONTAINS(err.message, "no answer within 700 ms");
    /* The request carried the user name and a JWT. */
    CHECK_CONTAINS(p.request, "GET /openapi/v3 ");
    CHECK_CONTAINS(p.request, "X-SLURM-USER-NAME: slurm");
    CHECK_CONTAINS(p.request, "X-SLURM-USER-TOKEN: eyJ");
    no_secret(err.message, p.request);
    slurmrest_client_free(c);
    stop_peer(&p);
}

static void test_401(void)
{
    struct peer p;
    start_peer(&p, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 22\r\n"
                   "Connection: close\r\n\r\nAuthentication failure");
    slurmrest_client *c = client(p.port, 2000);
    const char *v;
    struct slurmrest_error err;
    CHECK_INT(slurmrest_version(c, &v, &err), -EACCES);
    CHECK_INT(err.http_status, 401);
    CHECK_CONTAINS(err.message, "authentication failed");
    no_secret(err.message, p.request);
    slurmrest_client_free(c);
    stop_peer(&p);
}

static void test_garbage(void)
{
    struct peer p;
    start_peer(&p, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n"
                   "Connection: close\r\n\r\n{\"paths\":");
    slurmrest_client *c = client(p.port, 2000);
    const char *v;
    struct slurmrest_error err;
    CHECK_INT(slurmrest_version(c, &v, &err), -EPROTO);
    CHECK_CONTAINS(err.message, "not JSON");
    slurmrest_client_free(c);
    stop_peer(&p);
}

static void test_server_text_sanitised(void)
{
    static const char body[] =
        "{\"errors\":[{\"description\":\"bad\\u001b[31m\\nthing\","
        "\"error_number\":1,\"error\":\"x\"}]}";
    char reply[512];
    snprintf(reply, sizeof reply, "HTTP/1.1 500 Oops\r\nContent-Length: %zu"
             "\r\nConnection: close\r\n\r\n%s", strlen(body), body);
    struct peer p;
    start_peer(&p, reply);
    slurmrest_client *c = client(p.port, 2000);
    const char *v;
    struct slurmrest_error err;
    CHECK_INT(slurmrest_version(c, &v, &err), -EIO);
    CHECK_INT(err.http_status, 500);
    CHECK_CONTAINS(err.message, "bad [31m thing: x (Slurm error 1, HTTP 500)");
    CHECK(strchr(err.message, '\x1b') == NULL);
    CHECK(strchr(err.message, '\n') == NULL);
    slurmrest_client_free(c);
    stop_peer(&p);
}

static void test_unknown_versions(void)
{
    static const char body[] = "{\"paths\":{\"/slurm/v0.0.37/ping\":{}}}";
    char reply[256];
    snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s", strlen(body), body);
    struct peer p;
    start_peer(&p, reply);
    slurmrest_client *c = client(p.port, 2000);
    const char *v;
    struct slurmrest_error err;
    CHECK_INT(slurmrest_version(c, &v, &err), -ENOTSUP);
    CHECK_CONTAINS(err.message, "v0.0.37");
    slurmrest_client_free(c);
    stop_peer(&p);
}

/* Answers `n` requests in turn, each on its own connection. */
struct multi {
    int fd, port, n;
    const char *const *replies;
    char requests[4][4096];
    pthread_t thread;
};

static void *serve_multi(void *arg)
{
    struct multi *m = arg;
    for (int i = 0; i < m->n; i++) {
        int c = accept(m->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        size_t got = 0;
        while (got < sizeof m->requests[i] - 1) {
            ssize_t r = read(c, m->requests[i] + got,
                             sizeof m->requests[i] - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            m->requests[i][got] = '\0';
            if (strstr(m->requests[i], "\r\n\r\n"))
                break;
        }
        ssize_t w = write(c, m->replies[i], strlen(m->replies[i]));
        (void)w;
        close(c);
    }
    return NULL;
}

static const char *token_of(const char *request, char *out, size_t outlen)
{
    const char *t = strstr(request, "X-SLURM-USER-TOKEN: ");
    size_t n = t ? strcspn(t + 20, "\r\n") : 0;
    snprintf(out, outlen, "%.*s", (int)n, t ? t + 20 : "");
    return out;
}

#define REPLY(body)                                                         \
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: "              \
    "application/json\r\n\r\n" body

static void test_token_renewed_before_expiry(void)
{
    static const char *const replies[] = {
        REPLY("{\"paths\":{\"/slurm/v0.0.42/ping/\":{}}}"),
        REPLY("{\"pings\":[{\"hostname\":\"c\",\"pinged\":\"UP\","
              "\"responding\":true,\"latency\":5,\"mode\":\"primary\"}],"
              "\"errors\":[]}"),
        REPLY("{\"pings\":[],\"errors\":[]}"),
    };
    struct multi m = {.n = 3, .replies = replies};
    m.fd = listen_any(&m.port);
    pthread_create(&m.thread, NULL, serve_multi, &m);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", m.port);
    /* Lifetime 3 s: the token is renewed once 2 s have gone by. */
    struct slurmrest_options o = {.url = url, .user = "slurm", .key = key,
                                  .key_len = sizeof key - 1,
                                  .timeout_ms = 2000, .token_lifetime_s = 3};
    slurmrest_client *c = NULL;
    struct slurmrest_error err;
    struct slurmrest_ping p;
    CHECK_INT(slurmrest_client_new(&o, &c, &err), 0);
    CHECK_INT(slurmrest_ping(c, &p, &err), 0);   /* discovery + ping */
    time_t t0 = time(NULL);                       /* >= the token's iat */
    CHECK_INT(p.count, 1);
    CHECK(p.controller[0].responding);
    while (time(NULL) < t0 + 2)
        usleep(50000);
    CHECK_INT(slurmrest_ping(c, &p, &err), 0);
    CHECK_INT(p.count, 0);
    pthread_join(m.thread, NULL);
    close(m.fd);
    slurmrest_client_free(c);

    char a[1024], b[1024], d[1024];
    token_of(m.requests[0], a, sizeof a);
    token_of(m.requests[1], b, sizeof b);
    token_of(m.requests[2], d, sizeof d);
    CHECK(strlen(a) > 40);
    CHECK_STR(a, b);                 /* still fresh: reused */
    CHECK(strcmp(a, d) != 0);        /* renewed */
    CHECK_CONTAINS(m.requests[1], "GET /slurm/v0.0.42/ping ");
}

static void test_bad_options(void)
{
    slurmrest_client *c;
    struct slurmrest_error err;
    struct slurmrest_options o = {.url = "http://u:pw@host:1", .user = "slurm",
                                  .key = key, .key_len = 8};
    CHECK_INT(slurmrest_client_new(&o, &c, &err), -EINVAL);
    o.url = "ftp://host";
    CHECK_INT(slurmrest_client_new(&o, &c, &err), -EINVAL);
    o.url = "http://host:1";
    o.user = "bad\r\nX-Injected: 1";
    CHECK_INT(slurmrest_client_new(&o, &c, &err), -EINVAL);
    o.user = "slurm";
    o.key_len = 0;
    CHECK_INT(slurmrest_client_new(&o, &c, &err), -EINVAL);
    o.key_len = 8;
    CHECK_INT(slurmrest_client_new(&o, &c, &err), 0);
    CHECK_INT(slurmrest_node_drain(c, "../x", "r", &err), -EINVAL);
    CHECK_INT(slurmrest_node_delete(c, "", &err), -EINVAL);
    slurmrest_client_free(c);
}

int main(void)
{
    RUN(test_refused);
    RUN(test_silent_peer_times_out);
    RUN(test_401);
    RUN(test_garbage);
    RUN(test_server_text_sanitised);
    RUN(test_unknown_versions);
    RUN(test_token_renewed_before_expiry);
    RUN(test_bad_options);
    return check_finish();
}
