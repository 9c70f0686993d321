/* diag.c -- user-facing errors in git's shape, collected so `kubefault check` reports them all */
#include "harness/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void diag_init(struct diag *d, const char *file)
{
    memset(d, 0, sizeof *d);
    d->file = file;
}

void diag_release(struct diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->msgs[i]);
    d->n = 0;
    d->dropped = 0;
}

static void add(struct diag *d, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void add(struct diag *d, const char *prefix, const char *fmt, va_list ap)
{
    if (d->n == DIAG_MAX_ERRORS) {
        d->dropped++;
        return;
    }
    char body[1024], line[1400];
    vsnprintf(body, sizeof body, fmt, ap);
    snprintf(line, sizeof line, "%s: %s", prefix, body);
    char *m = strdup(line);
    if (m)
        d->msgs[d->n++] = m;
    else
        d->dropped++;
}

void diag_at(struct diag *d, int line, int col, const char *fmt, ...)
{
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s:%d:%d", d->file, line, col);
    va_list ap;
    va_start(ap, fmt);
    add(d, prefix, fmt, ap);
    va_end(ap);
}

void diag_path(struct diag *d, const char *path, const char *fmt, ...)
{
    char prefix[900];
    if (path && *path)
        snprintf(prefix, sizeof prefix, "%s: %s", d->file, path);
    else
        snprintf(prefix, sizeof prefix, "%s", d->file);
    va_list ap;
    va_start(ap, fmt);
    add(d, prefix, fmt, ap);
    va_end(ap);
}

size_t diag_print(const struct diag *d, void *fv)
{
    FILE *f = fv;
    for (size_t i = 0; i < d->n; i++)
        fprintf(f, "%s\n", d->msgs[i]);
    if (d->dropped)
        fprintf(f, "%s: %zu more errors not shown\n", d->file, d->dropped);
    return d->n + d->dropped;
}
