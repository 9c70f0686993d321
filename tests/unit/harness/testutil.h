/* testutil.h -- helpers the harness unit tests share: test JSON written with ' for ", and what a
 * fault type's parse makes of a fault object. Header-only (static inline; the build compiles only
 * test_*.c): include it after <cmocka.h>. */
#ifndef KF_TESTUTIL_H
#define KF_TESTUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness/diag.h"
#include "harness/fault.h"

/* Test JSON and messages are written with ' for " (far fewer backslashes); this swaps them. */
static inline char *dq(const char *s)
{
    char *out = strdup(s);
    assert_non_null(out);
    for (char *p = out; *p; p++)
        if (*p == '\'')
            *p = '"';
    return out;
}

static inline cJSON *json(const char *text)
{
    char *t = dq(text);
    cJSON *v = cJSON_Parse(t);
    if (!v)
        fail_msg("bad test JSON: %s", t);
    free(t);
    return v;
}

/* ---- fault types: the parse of fault object spec (JSON text) at "s.json: rules[0].fault" ---- */

/* Parse spec with type t; returns the rc and *ctx (NULL unless 0), every message, one a line, in
 * errors. */
static inline int fault_try_parse(const struct fault_type *t, const char *spec, void **ctx,
                                  char *errors, size_t len)
{
    struct diag d;
    cJSON *v = cJSON_Parse(spec);
    assert_non_null(v);
    diag_init(&d, "s.json");
    *ctx = NULL;
    int rc = t->parse(v, "rules[0].fault", &d, ctx);
    size_t n = 0;
    errors[0] = '\0';
    for (size_t i = 0; i < d.n && n < len; i++)
        n += (size_t)snprintf(errors + n, len - n, "%s%s", i ? "\n" : "", d.msgs[i]);
    if (rc == 0)
        assert_int_equal(d.n, 0);
    else
        assert_true(d.n > 0);
    diag_release(&d);
    cJSON_Delete(v);
    return rc;
}

static inline void free_ctx(const struct fault_type *t, void *ctx)
{
    if (t->free)
        t->free(ctx);
    else
        free(ctx);
}

/* The parse succeeds: its ctx (may be NULL). */
static inline void *fault_ok(const struct fault_type *t, const char *spec)
{
    char errors[4096];
    void *ctx;
    if (fault_try_parse(t, spec, &ctx, errors, sizeof errors) < 0)
        fail_msg("%s: %s", spec, errors);
    return ctx;
}

/* The parse fails and its messages are exactly want. */
static inline void fault_fails(const struct fault_type *t, const char *spec, const char *want)
{
    char errors[4096];
    void *ctx;
    if (fault_try_parse(t, spec, &ctx, errors, sizeof errors) == 0) {
        free_ctx(t, ctx);
        fail_msg("%s parsed", spec);
    }
    assert_string_equal(errors, want);
}

/* The parse fails and its messages contain each of the NULL-ended parts. */
static inline void fault_fails_with(const struct fault_type *t, const char *spec, ...)
{
    char errors[4096];
    void *ctx;
    va_list ap;
    if (fault_try_parse(t, spec, &ctx, errors, sizeof errors) == 0) {
        free_ctx(t, ctx);
        fail_msg("%s parsed", spec);
    }
    va_start(ap, spec);
    for (const char *part; (part = va_arg(ap, const char *));)
        if (!strstr(errors, part))
            fail_msg("%s: \"%s\" not in \"%s\"", spec, part, errors);
    va_end(ap);
}

#endif
