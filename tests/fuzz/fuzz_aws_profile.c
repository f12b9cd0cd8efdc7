/* The shared config/credentials file reader (aws/profile.c) on arbitrary
 * bytes: inih plus our own line reader, which swaps values too long for
 * inih's buffer for a placeholder and puts them back. The bytes are the file
 * (a memfd named by AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE); both a
 * plain and a "profile x" section are looked up. A value read back must be
 * a value of the file: never a placeholder of ours when the file held none. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aws/profile.h"

static int fd = -1;

static void check(const char *v, int file_has_marker)
{
    if (v && !file_has_marker && strchr(v, '\x01'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create("fuzz-profile", 0);
        if (fd < 0)
            abort();
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        setenv("AWS_CONFIG_FILE", path, 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    int marker = memchr(data, '\x01', size) != NULL;
    static const char *const names[] = {"default", "x"};
    for (size_t i = 0; i < 2; i++) {
        struct aws_profile p;
        struct aws_error err;
        aws_error_clear(&err);
        if (aws_profile_load(names[i], &p, &err) == 0) {
            check(p.aws_access_key_id, marker);
            check(p.aws_secret_access_key, marker);
            check(p.aws_session_token, marker);
            check(p.region, marker);
            check(p.credential_process, marker);
        }
        aws_profile_free(&p);
    }
    return 0;
}
