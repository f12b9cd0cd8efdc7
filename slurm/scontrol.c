#include "slurm/scontrol.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "slurm/jwt.h"

/* Names and addresses go into a config file and an argument: only plain
 * characters may. */
static int plain(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '.' || *s == '_' || *s == ':'))
            return 0;
    return 1;
}

int slurm_scontrol_delete_node(const struct scontrol_target *t, const char *node, char *err,
                               size_t errlen)
{
    if (!plain(t->cluster_name) || !plain(t->controller_host) || !plain(t->controller_addr) ||
        !plain(node) || !plain(t->user)) {
        snprintf(err, errlen, "scontrol: refusing a name with unusual characters");
        return -EINVAL;
    }
    char token[2048];
    if (slurm_jwt_mint(t->key, t->key_len, t->user, (int64_t)time(NULL), 120, token,
                       sizeof(token)) < 0) {
        snprintf(err, errlen, "scontrol: cannot mint a token");
        return -EINVAL;
    }
    char conf[] = "/tmp/pcfs-scontrol-XXXXXX";
    int fd = mkstemp(conf);
    if (fd < 0) {
        snprintf(err, errlen, "scontrol: temporary slurm.conf: %s", strerror(errno));
        return -errno;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(conf);
        return -ENOMEM;
    }
    fprintf(f, "ClusterName=%s\nSlurmctldHost=%s(%s)\nAuthType=auth/munge\nAuthAltTypes=auth/jwt\n",
            t->cluster_name, t->controller_host, t->controller_addr);
    fclose(f);
    int out[2];
    if (pipe(out) != 0) {
        unlink(conf);
        return -errno;
    }
    char arg[300];
    snprintf(arg, sizeof(arg), "nodename=%s", node);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(out[0]);
        close(out[1]);
        char env_conf[128], env_jwt[2100];
        snprintf(env_conf, sizeof(env_conf), "SLURM_CONF=%s", conf);
        snprintf(env_jwt, sizeof(env_jwt), "SLURM_JWT=%s", token);
        char *envp[] = {env_conf, env_jwt, "PATH=/usr/bin:/bin:/opt/slurm/bin", NULL};
        char *argv[] = {"scontrol", "delete", arg, NULL};
        execve("/usr/bin/scontrol", argv, envp);
        execve("/opt/slurm/bin/scontrol", argv, envp);
        _exit(127);
    }
    memset(token, 0, sizeof(token));
    close(out[1]);
    if (pid < 0) {
        close(out[0]);
        unlink(conf);
        return -errno;
    }
    char said[512] = "";
    size_t got = 0;
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    int status = 0, done = 0;
    for (int waited_ms = 0; !done && waited_ms < t->timeout_s * 1000; waited_ms += 50) {
        ssize_t n = read(out[0], said + got, sizeof(said) - 1 - got);
        if (n > 0)
            got += (size_t)n;
        done = waitpid(pid, &status, WNOHANG) == pid;
        if (!done)
            usleep(50 * 1000);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ssize_t n = read(out[0], said + got, sizeof(said) - 1 - got);
    if (n > 0)
        got += (size_t)n;
    said[got] = '\0';
    close(out[0]);
    unlink(conf);
    for (char *p = said; *p; p++)
        if (*p == '\n' || (unsigned char)*p < 0x20)
            *p = ' ';
    if (!done) {
        snprintf(err, errlen, "scontrol delete %s: no answer within %d s", node, t->timeout_s);
        return -ETIMEDOUT;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "scontrol delete %s: %s", node, *said ? said : "failed");
        return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
    }
    return 0;
}
