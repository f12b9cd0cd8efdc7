/* Unit tests of the head's answers for jobs/ (fs/model/job_ack.c): both
 * kinds as agent_jobs.py writes them, and each malformed one refused. */
#include <errno.h>

#include "fs/model/job_ack.h"
#include "tests/unit/check.h"

static int parse(const char *text, bool cancel, struct job_ack *a, char *msg)
{
    return job_ack_parse(text, strlen(text), cancel, a, msg, 256);
}

static void accepted(void)
{
    struct job_ack a;
    char msg[256];
    CHECK_INT(parse("{\"format\": 1, \"name\": \"a.sh\", \"outcome\": \"submitted\", \"job_id\": "
                    "12, \"user\": \"ec2-user\", \"message\": \"\", \"done_at\": \"x\"}",
                    false, &a, msg),
              0);
    CHECK(a.ok);
    CHECK_INT((int)a.job_id, 12);
    CHECK_STR(a.user, "ec2-user");
    CHECK_INT(parse("{\"format\": 1, \"outcome\": \"failed\", \"job_id\": null, \"user\": null, "
                    "\"message\": \"sbatch: error: bad\\u001b[2J\\nnode count\"}",
                    false, &a, msg),
              0);
    CHECK(!a.ok);
    CHECK_INT((int)a.job_id, 0);
    CHECK_STR(a.message, "sbatch: error: badnode count"); /* no escapes, one line */
    CHECK_INT(parse("{\"format\": 1, \"job_id\": 7, \"outcome\": \"done\", \"message\": \"\"}",
                    true, &a, msg),
              0);
    CHECK(a.ok);
    CHECK_INT(parse("{\"format\": 1, \"job_id\": 7, \"outcome\": \"failed\", \"message\": "
                    "\"Access/permission denied\"}",
                    true, &a, msg),
              0);
    CHECK(!a.ok);
    CHECK_STR(a.message, "Access/permission denied");
}

static void refused(void)
{
    struct job_ack a;
    char msg[256];
    const char *bad[] = {
        "not json",
        "{\"format\": 2, \"outcome\": \"submitted\", \"job_id\": 1}",
        "{\"format\": 1, \"outcome\": \"maybe\", \"job_id\": 1}",
        "{\"format\": 1, \"outcome\": \"submitted\", \"job_id\": 0}",
        "{\"format\": 1, \"outcome\": \"submitted\", \"job_id\": \"12\"}",
        "{\"format\": 1, \"outcome\": \"submitted\", \"job_id\": 1, \"user\": \"root; rm\"}",
        "{\"format\": 1, \"outcome\": \"submitted\", \"job_id\": 1, \"job_id\": 2}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(parse(bad[i], false, &a, msg), -EPROTO);
        CHECK_CONTAINS(msg, "the head's answer for a job");
        CHECK_INT((int)a.job_id, 0);
    }
    CHECK_INT(parse("{\"format\": 1, \"outcome\": \"done\"}", true, &a, msg), -EPROTO);
    CHECK_CONTAINS(msg, "job_id");
}

int main(void)
{
    RUN(accepted);
    RUN(refused);
    return check_finish();
}
