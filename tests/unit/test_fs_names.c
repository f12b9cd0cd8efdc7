/* Unit tests of the naming rules (fs/names.c) and of text sanitizing
 * (fs/sanitize.c). */
#include <errno.h>

#include "fs/fuse/names.h"
#include "fs/model/sanitize.h"
#include "tests/unit/check.h"

static void cluster_names(void)
{
    char msg[256];
    CHECK_INT(names_check_cluster("lab3", msg, sizeof(msg)), 0);
    CHECK_INT(names_check_cluster("A-b-9", msg, sizeof(msg)), 0);
    char sixty[61], sixty_one[62], long_name[300];
    memset(sixty, 'a', 60);
    sixty[60] = '\0';
    memset(sixty_one, 'a', 61);
    sixty_one[61] = '\0';
    memset(long_name, 'a', 299);
    long_name[299] = '\0';
    CHECK_INT(names_check_cluster(sixty, msg, sizeof(msg)), 0);
    CHECK_INT(names_check_cluster(sixty_one, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "1 to 60");
    CHECK_INT(names_check_cluster(long_name, msg, sizeof(msg)), -ENAMETOOLONG);
    CHECK_INT(names_check_cluster("", msg, sizeof(msg)), -EINVAL);
    CHECK_INT(names_check_cluster("3lab", msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "start with a letter");
    CHECK_INT(names_check_cluster("lab_3", msg, sizeof(msg)), -EINVAL);
    CHECK_INT(names_check_cluster("lab\n3", msg, sizeof(msg)), -EINVAL);
    /* The message shows the name, escaped: no newline or escape gets out. */
    CHECK_CONTAINS(msg, "\"lab\\n3\"");
    CHECK_INT(names_check_cluster("a$(touch x)\x1b[31m\xff", msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "\"a$(touch x)\\x1b[31m\\xff\"");
}

static void quoting(void)
{
    char q[300];
    names_quote("a\"b\\c\td", q, sizeof(q));
    CHECK_STR(q, "\"a\\\"b\\\\c\\td\"");
    char long_name[300];
    memset(long_name, 'x', 299);
    long_name[299] = '\0';
    names_quote(long_name, q, sizeof(q));
    CHECK_INT((int)strlen(q), 60 + 5);
    CHECK_CONTAINS(q, "x...\"");
    memset(long_name, '\x01', 299);
    names_quote(long_name, q, sizeof(q));
    CHECK_INT((int)strlen(q), 60 * 4 + 5);
    names_quote("abcdef", q, 4); /* cut to the buffer */
    CHECK_STR(q, "\"ab");
}

static void file_names(void)
{
    char msg[256];
    CHECK_INT(names_check_file("10-setup.sh", msg, sizeof(msg)), 0);
    CHECK_INT(names_check_file("$(touch x);'\"", msg, sizeof(msg)), 0);
    CHECK_INT(names_check_file("caf\xc3\xa9.sh", msg, sizeof(msg)), 0);
    CHECK_INT(names_check_file("a\nb", msg, sizeof(msg)), -EINVAL);
    CHECK_INT(names_check_file("\xff\xfe", msg, sizeof(msg)), -EINVAL);
    CHECK_INT(names_check_file("\xc0\xaf", msg, sizeof(msg)), -EINVAL);    /* overlong */
    CHECK_INT(names_check_file("\xc2\x9b", msg, sizeof(msg)), -EINVAL);    /* C1 CSI */
    CHECK_INT(names_check_file("\xed\xa0\x80", msg, sizeof(msg)), -EINVAL); /* surrogate */
    CHECK_INT(names_check_file("..", msg, sizeof(msg)), -EINVAL);
    char n255[256], n256[257];
    memset(n255, 'x', 255);
    n255[255] = '\0';
    memset(n256, 'x', 256);
    n256[256] = '\0';
    CHECK_INT(names_check_file(n255, msg, sizeof(msg)), 0);
    CHECK_INT(names_check_file(n256, msg, sizeof(msg)), -ENAMETOOLONG);
}

static void scratch_names(void)
{
    CHECK(names_is_hook_scratch(".10.sh.swp"));
    CHECK(names_is_hook_scratch("10.sh~"));
    CHECK(names_is_hook_scratch("sedAb12Cd"));
    CHECK(names_is_hook_scratch(".ansible_tmpabc"));
    CHECK(!names_is_hook_scratch("10.sh"));
    CHECK(!names_is_hook_scratch("sedentary.sh"));
    CHECK(!names_is_hook_scratch("sed"));
    CHECK(names_is_cluster_entry("config"));
    CHECK(names_is_cluster_entry("status.json"));
    CHECK(!names_is_cluster_entry("config.new"));
}

static void sanitizing(void)
{
    char out[128];
    const char *in = "ok \x1b[31mred\x1b[0m \x1b]0;title\x07" "end\r\n\tx\x01y \xff!";
    sanitize_text(in, strlen(in), out, sizeof(out), 0);
    CHECK_STR(out, "ok red end xy ?!");
    sanitize_text("a\nb", 3, out, sizeof(out), 1);
    CHECK_STR(out, "a\nb");
    sanitize_text("caf\xc3\xa9 \xc2\x9b", 8, out, sizeof(out), 0);
    CHECK_STR(out, "caf\xc3\xa9 ");
    sanitize_text("abcdef", 6, out, 4, 0);
    CHECK_STR(out, "abc");
    sanitize_text("\x1b[", 2, out, sizeof(out), 0); /* unterminated escape */
    CHECK_STR(out, "");
}

static void job_names(void)
{
    char msg[256];
    CHECK_INT(names_check_job("train.sh", msg, sizeof(msg)), 0);
    CHECK_INT(names_check_job("_run-2+b.sbatch", msg, sizeof(msg)), 0);
    CHECK_INT(names_check_job("2024-run", msg, sizeof(msg)), 0);
    CHECK_INT(names_check_job("12", msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "all digits");
    CHECK_INT(names_check_job(".hidden", msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "is no job name");
    CHECK_INT(names_check_job("-x", msg, sizeof(msg)), -EINVAL);
    CHECK_INT(names_check_job("a b", msg, sizeof(msg)), -EINVAL);
    CHECK_INT(names_check_job("caf\xc3\xa9", msg, sizeof(msg)), -EINVAL);
    CHECK_INT(names_check_job("", msg, sizeof(msg)), -EINVAL);
    char name[JOB_NAME_MAX + 2];
    memset(name, 'a', sizeof(name) - 1);
    name[JOB_NAME_MAX] = '\0';
    CHECK_INT(names_check_job(name, msg, sizeof(msg)), 0);
    name[JOB_NAME_MAX] = 'a';
    name[JOB_NAME_MAX + 1] = '\0';
    CHECK_INT(names_check_job(name, msg, sizeof(msg)), -EINVAL);
}

int main(void)
{
    RUN(cluster_names);
    RUN(quoting);
    RUN(file_names);
    RUN(job_names);
    RUN(scratch_names);
    RUN(sanitizing);
    return check_finish();
}
