/* A scripted HTTP/1.1 server on 127.0.0.1 for the AWS-layer unit tests: it
 * answers each request with the next scripted reply (or resets the
 * connection), and records what it received. One thread, keep-alive. */
#ifndef PCFS_FAKE_HTTP_H
#define PCFS_FAKE_HTTP_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKE_MAX 64

struct fake_reply {
    int status;             /* 0 = reset the connection instead of answering */
    const char *body;
    const char *headers;    /* extra header lines, each ending in \r\n */
};

struct fake_request {
    char method[16];
    char target[2048];
    char headers[8192];
    char body[8192];
};

struct fake_http {
    int listen_fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    struct fake_reply replies[FAKE_MAX];
    int n_replies, next;
    struct fake_request seen[FAKE_MAX];
    int n_seen;
    int connections;
    int stop;
};

static int fake_read_request(int fd, struct fake_request *r)
{
    char buf[32768];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (!end && len >= sizeof buf - 1)
            return -1;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    memset(r, 0, sizeof *r);
    sscanf(buf, "%15s %2047s", r->method, r->target);
    char *hstart = strstr(buf, "\r\n") + 2;
    snprintf(r->headers, sizeof r->headers, "%.*s", (int)(end - hstart), hstart);
    long clen = 0;
    for (char *p = r->headers; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL)
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            clen = atol(p + 15);
    size_t have = len - head_len;
    while ((long)have < clen) {
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        have += (size_t)n;
    }
    snprintf(r->body, sizeof r->body, "%.*s", (int)clen, buf + head_len);
    return 0;
}

static void *fake_serve(void *arg)
{
    struct fake_http *f = arg;
    for (;;) {
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&f->lock);
        int stop = f->stop;
        f->connections++;
        pthread_mutex_unlock(&f->lock);
        if (stop) {
            close(fd);
            return NULL;
        }
        struct fake_request req;
        while (fake_read_request(fd, &req) == 0) {
            pthread_mutex_lock(&f->lock);
            if (f->n_seen < FAKE_MAX)
                f->seen[f->n_seen++] = req;
            struct fake_reply rep = f->next < f->n_replies ? f->replies[f->next++]
                                                           : (struct fake_reply){500, "", NULL};
            pthread_mutex_unlock(&f->lock);
            if (rep.status == 0) {
                struct linger lg = {1, 0};      /* RST, as a dropped connection looks */
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                break;
            }
            char head[4096];
            const char *body = rep.body ? rep.body : "";
            int n = snprintf(head, sizeof head,
                             "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", rep.status,
                             strcmp(req.method, "HEAD") == 0 ? (size_t)0 : strlen(body),
                             rep.headers ? rep.headers : "");
            if (send(fd, head, (size_t)n, MSG_NOSIGNAL) < 0)
                break;
            if (strcmp(req.method, "HEAD") != 0 && *body &&
                send(fd, body, strlen(body), MSG_NOSIGNAL) < 0)
                break;
        }
        close(fd);
    }
}

static void fake_start(struct fake_http *f)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(f->listen_fd, (struct sockaddr *)&a, sizeof a);
    socklen_t alen = sizeof a;
    getsockname(f->listen_fd, (struct sockaddr *)&a, &alen);
    f->port = ntohs(a.sin_port);
    listen(f->listen_fd, 16);
    pthread_create(&f->thread, NULL, fake_serve, f);
}

static void fake_script(struct fake_http *f, const struct fake_reply *r, int n)
{
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < n && i < FAKE_MAX; i++)
        f->replies[i] = r[i];
    f->n_replies = n;
    f->next = 0;
    f->n_seen = 0;
    pthread_mutex_unlock(&f->lock);
}

static int fake_seen(struct fake_http *f)
{
    pthread_mutex_lock(&f->lock);
    int n = f->n_seen;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static void fake_stop(struct fake_http *f)
{
    pthread_mutex_lock(&f->lock);
    f->stop = 1;
    pthread_mutex_unlock(&f->lock);
    /* Wake accept() with one last connection. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    connect(fd, (struct sockaddr *)&a, sizeof a);
    close(fd);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    pthread_mutex_destroy(&f->lock);
}
#endif
