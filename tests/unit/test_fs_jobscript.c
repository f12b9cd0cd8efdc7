/* Unit tests of the batch-script checks for jobs/ (fs/model/jobscript.c):
 * what is accepted and what sbatch would read of it, and each refusal with
 * the line it names. */
#include <errno.h>
#include <stdlib.h>

#include "fs/model/jobscript.h"
#include "tests/unit/check.h"

static int check(const char *text, struct jobscript_info *info, char *msg, size_t msglen)
{
    msg[0] = '\0';
    return jobscript_check(text, strlen(text), info, msg, msglen);
}

static void accepted(void)
{
    struct jobscript_info i;
    char msg[256];
    CHECK_INT(check("#!/bin/bash\n#SBATCH -N 2\n#SBATCH --job-name=train\n\n# a comment\n"
                    "   \nsrun hostname\n#SBATCH -t 5\nexit 0\n",
                    &i, msg, sizeof(msg)),
              0);
    CHECK_STR(i.interpreter, "/bin/bash");
    CHECK_INT((int)i.directives, 2);
    CHECK_INT((int)i.ignored_directives, 1);
    CHECK_INT((int)i.first_ignored_line, 8);
    CHECK_INT((int)i.lines, 9);
    CHECK_INT(check("#! /usr/bin/env python3\nprint('caf\xc3\xa9')", &i, msg, sizeof(msg)), 0);
    CHECK_STR(i.interpreter, "/usr/bin/env");
    CHECK_INT((int)i.directives, 0);
    CHECK_INT((int)i.first_ignored_line, 0);
    CHECK_INT((int)i.lines, 2);
    /* tabs, form feeds and escapes (colour codes) are text; --uidx is no --uid */
    CHECK_INT(check("#!/bin/sh\n#SBATCH\t--export=ALL --comment=uid\n\techo \x1b[1mok\f\n"
                    "#SBATCH --uid=0\n",
                    &i, msg, sizeof(msg)),
              0);
    CHECK_INT((int)i.directives, 1);
    CHECK_INT((int)i.ignored_directives, 1);
    CHECK_INT(check("#!/bin/sh\n#SBATCH --uidx --gi\n", &i, msg, sizeof(msg)), -EINVAL);
    CHECK_INT(check("#!/bin/sh\n#SBATCH --u=1 --g\n", &i, msg, sizeof(msg)), 0);
    char *big = malloc(JOBSCRIPT_MAX_BYTES + 1);
    CHECK(big != NULL);
    if (big) {
        memset(big, '#', JOBSCRIPT_MAX_BYTES);
        memcpy(big, "#!/bin/sh\n", 10);
        CHECK_INT(jobscript_check(big, JOBSCRIPT_MAX_BYTES, &i, msg, sizeof(msg)), 0);
        CHECK_INT(jobscript_check(big, JOBSCRIPT_MAX_BYTES + 1, &i, msg, sizeof(msg)), -EINVAL);
        CHECK_CONTAINS(msg, "the limit is 1048576");
        free(big);
    }
}

static void refused(void)
{
    struct jobscript_info i;
    char msg[256];
    CHECK_INT(jobscript_check("", 0, &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "empty");
    CHECK_INT(check("#SBATCH -N 2\nsrun hostname\n", &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "line 1: the first line must be #!");
    CHECK_INT(check("echo hi\n", &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "as sbatch requires");
    CHECK_INT(check("#!bash\n", &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "absolute path");
    CHECK_INT(check("#!\n", &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "absolute path");
    CHECK_INT(check("#!/bin/bash\r\nhostname\r\n", &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "line 1 ends with a DOS line break");
    CHECK_INT(check("#!/bin/bash\nhostname\nx\r\n", &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "line 3 ends");
    CHECK_INT(jobscript_check("#!/bin/sh\n\0ELF", 14, &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "line 2 holds a control character");
    CHECK_INT(check("#!/bin/sh\necho \xff\xfe\n", &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "line 2 is not UTF-8 text");
    CHECK_INT(check("#!/bin/sh\necho \xc0\xaf\n", &i, msg, sizeof(msg)), -EINVAL); /* overlong */
    CHECK_INT(check("#!/bin/sh\n#SBATCH -N 1\n#SBATCH --uid=0\nhostname\n", &i, msg, sizeof(msg)),
              -EINVAL);
    CHECK_CONTAINS(msg, "line 3: #SBATCH --uid and --gid cannot be used");
    CHECK_INT(check("#!/bin/sh\n#SBATCH  -N 1   --gid root\n", &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "line 2:");
    CHECK_INT(check("#!/bin/sh\n#SBATCH --ui=0\n", &i, msg, sizeof(msg)), -EINVAL);
    char path[JOBSCRIPT_INTERPRETER_MAX + 8] = "#!/";
    memset(path + 3, 'b', JOBSCRIPT_INTERPRETER_MAX);
    path[3 + JOBSCRIPT_INTERPRETER_MAX] = '\0';
    CHECK_INT(check(path, &i, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "too long");
    path[2 + JOBSCRIPT_INTERPRETER_MAX] = '\0';
    CHECK_INT(check(path, &i, msg, sizeof(msg)), 0);
}

int main(void)
{
    RUN(accepted);
    RUN(refused);
    return check_finish();
}
