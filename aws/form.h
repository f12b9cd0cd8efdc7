/* The body of a Query API request (EC2, IAM): Action, Version and
 * parameters, form-urlencoded as SigV4 signs them. Internal to aws/. */
#ifndef PCFS_AWS_FORM_H
#define PCFS_AWS_FORM_H
#include <stddef.h>

#include "aws/util.h"

struct aws_form {
    struct aws_buf b;
};

/* Empties f and adds Action and Version. */
void aws_form_start(struct aws_form *f, const char *action, const char *version);
void aws_form_add(struct aws_form *f, const char *name, const char *value);
/* The parameter's name is printf-formatted ("Tag.%zu.Key"). */
void aws_form_addf(struct aws_form *f, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* prefix.1=v[0], prefix.2=v[1], ... */
void aws_form_list(struct aws_form *f, const char *prefix, const char *const *v, size_t n);
#endif
