#include "aws/form.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void aws_form_add(struct aws_form *f, const char *name, const char *value)
{
    if (f->b.len)
        aws_buf_putc(&f->b, '&');
    aws_uri_encode(&f->b, name, strlen(name), false);
    aws_buf_putc(&f->b, '=');
    aws_uri_encode(&f->b, value, strlen(value), false);
}

void aws_form_addf(struct aws_form *f, const char *value, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    aws_form_add(f, name, value);
}

void aws_form_start(struct aws_form *f, const char *action, const char *version)
{
    memset(f, 0, sizeof *f);
    aws_form_add(f, "Action", action);
    aws_form_add(f, "Version", version);
}

void aws_form_list(struct aws_form *f, const char *prefix, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        aws_form_addf(f, v[i], "%s.%zu", prefix, i + 1);
}
