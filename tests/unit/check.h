/* The unit-test harness: CHECK macros that count failures and report the
 * line, and RUN() that runs one test function. A test program's main()
 * calls RUN for each test and returns check_finish(). */
#ifndef PCFS_CHECK_H
#define PCFS_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                         \
    do {                                                                    \
        check_count++;                                                      \
        if (!(cond)) {                                                      \
            check_failures++;                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,          \
                    __LINE__, #cond);                                       \
        }                                                                   \
    } while (0)

#define CHECK_INT(got, want)                                                \
    do {                                                                    \
        long long g_ = (long long)(got), w_ = (long long)(want);            \
        check_count++;                                                      \
        if (g_ != w_) {                                                     \
            check_failures++;                                               \
            fprintf(stderr, "%s:%d: %s is %lld, want %lld\n", __FILE__,     \
                    __LINE__, #got, g_, w_);                                \
        }                                                                   \
    } while (0)

#define CHECK_STR(got, want)                                                \
    do {                                                                    \
        const char *g_ = (got), *w_ = (want);                               \
        check_count++;                                                      \
        if (!g_ || !w_ || strcmp(g_, w_) != 0) {                            \
            check_failures++;                                               \
            fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n", __FILE__, \
                    __LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
        }                                                                   \
    } while (0)

/* Substring check, for messages. */
#define CHECK_CONTAINS(haystack, needle)                                    \
    do {                                                                    \
        const char *h_ = (haystack), *n_ = (needle);                        \
        check_count++;                                                      \
        if (!h_ || !strstr(h_, n_)) {                                       \
            check_failures++;                                               \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n",      \
                    __FILE__, __LINE__, h_ ? h_ : "(null)", n_);            \
        }                                                                   \
    } while (0)

#define RUN(fn)                                                             \
    do {                                                                    \
        int before_ = check_failures;                                       \
        fn();                                                               \
        fprintf(stderr, "%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

static inline int check_finish(void)
{
    fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
