/* param.c -- fault parameters: the getters every fault type's parse uses, over harness/jsonc.c
 * (which owns the duration syntax and the "unknown key" wording), plus "required" and caps. */
#include "harness/faults/param.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/jsonc.h"

#define PARAM_MAX_KEYS 32 /* keys one fault object accepts */

const char *param_path(char *buf, size_t len, const char *path, const char *key)
{
    return jsonc_path_key(buf, len, path ? path : "", key);
}

int param_check_keys(const cJSON *spec, const char *path, const char *const *keys, struct diag *d)
{
    const char *accepted[PARAM_MAX_KEYS + 2];
    size_t n = 0;
    if (jsonc_as_object(spec, path, d) < 0)
        return -1;
    accepted[n++] = "type";
    for (size_t i = 0; keys && keys[i] && n <= PARAM_MAX_KEYS; i++)
        accepted[n++] = keys[i];
    accepted[n] = NULL;
    return jsonc_check_keys(spec, path, accepted, d);
}

/* 0 when key is absent and optional; -1 (reported) when absent and required; 1 when present. */
static int present(const cJSON *spec, const char *path, const char *key, int required,
                   struct diag *d)
{
    if (cJSON_GetObjectItemCaseSensitive(spec, key))
        return 1;
    if (!required)
        return 0;
    diag_path(d, path, "missing key \"%s\"", key);
    return -1;
}

int param_int(const cJSON *spec, const char *path, const char *key, int required, long min,
              long max, long *out, struct diag *d)
{
    int64_t v;
    int rc = present(spec, path, key, required, d);
    if (rc <= 0)
        return rc;
    if ((rc = jsonc_int(spec, key, path, d, min, max, &v)) == 1)
        *out = (long)v;
    return rc;
}

int param_double(const cJSON *spec, const char *path, const char *key, int required, double min,
                 double max, double *out, struct diag *d)
{
    int rc = present(spec, path, key, required, d);
    return rc <= 0 ? rc : jsonc_number(spec, key, path, d, min, max, out);
}

int param_duration(const cJSON *spec, const char *path, const char *key, int required,
                   int64_t *out_ms, struct diag *d)
{
    return param_duration_max(spec, path, key, required, PARAM_MAX_DURATION_MS, out_ms, d);
}

int param_duration_max(const cJSON *spec, const char *path, const char *key, int required,
                       int64_t max_ms, int64_t *out_ms, struct diag *d)
{
    int64_t ms;
    char p[PARAM_PATH_MAX], cap[32];
    int rc = present(spec, path, key, required, d);
    if (rc <= 0 || (rc = jsonc_duration(spec, key, path, d, &ms)) <= 0)
        return rc;
    if (ms > max_ms) {
        diag_path(d, param_path(p, sizeof p, path, key), "\"%s\" is longer than the limit of %s",
                  cJSON_GetObjectItemCaseSensitive(spec, key)->valuestring,
                  param_format_duration(max_ms, cap, sizeof cap));
        return -1;
    }
    *out_ms = ms;
    return 1;
}

int param_string(const cJSON *spec, const char *path, const char *key, int required,
                 int allow_empty, const char **out, struct diag *d)
{
    const char *s;
    char p[PARAM_PATH_MAX];
    int rc = present(spec, path, key, required, d);
    if (rc <= 0 || (rc = jsonc_string(spec, key, path, d, &s)) <= 0)
        return rc;
    size_t len = strlen(s);
    if (len > PARAM_MAX_STRING) {
        diag_path(d, param_path(p, sizeof p, path, key),
                  "a string of %zu bytes is longer than the limit of %d", len, PARAM_MAX_STRING);
        return -1;
    }
    if (!allow_empty && len == 0) {
        diag_path(d, param_path(p, sizeof p, path, key), "must not be empty");
        return -1;
    }
    *out = s;
    return 1;
}

int param_object(const cJSON *spec, const char *path, const char *key, int required,
                 const cJSON **out, struct diag *d)
{
    int rc = present(spec, path, key, required, d);
    return rc <= 0 ? rc : jsonc_object(spec, key, path, d, out);
}

const char *param_format_duration(int64_t ms, char *buf, size_t len)
{
    long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
    int n = 0;
    if (len)
        buf[0] = '\0';
    if (ms < 1000) {
        snprintf(buf, len, "%lldms", (long long)ms);
        return buf;
    }
    if (h)
        n += snprintf(buf + n, len - (size_t)n, "%lldh", h);
    if (m && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, "%lldm", m);
    if ((s || frac) && (size_t)n < len) {
        if (!frac)
            snprintf(buf + n, len - (size_t)n, "%llds", s);
        else if (frac % 100 == 0)
            snprintf(buf + n, len - (size_t)n, "%lld.%llds", s, frac / 100);
        else if (frac % 10 == 0)
            snprintf(buf + n, len - (size_t)n, "%lld.%02llds", s, frac / 10);
        else
            snprintf(buf + n, len - (size_t)n, "%lld.%03llds", s, frac);
    }
    return buf;
}

const char *const param_no_keys[] = {NULL};

int param_parse_none(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    *ctx = NULL;
    return param_check_keys(spec, path, param_no_keys, d);
}

const char *const param_after_keys[] = {"after", NULL};

int param_parse_after(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    int64_t after = 0;
    if (param_check_keys(spec, path, param_after_keys, d) < 0 ||
        param_duration(spec, path, "after", 0, &after, d) < 0)
        return -1;
    int64_t *a = malloc(sizeof *a);
    if (!a) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    *a = after;
    *ctx = a;
    return 0;
}
