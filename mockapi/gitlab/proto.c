/* proto.c -- the GitLab job API's wire rules as pure functions: routes, Content-Range, the CRC32
 * output checksum, request bodies, and the job payload built from a small spec.
 *
 * Sources (read for facts, nothing copied): gitlabhq/gitlab-runner network/gitlab.go (the runner
 * formats Content-Range as "%d-%d" with the inclusive end, start+len-1), helpers/trace/buffer.go
 * (the checksum is "crc32:%08x" of the whole trace; older runners' network/trace.go wrote "%x",
 * without leading zeros: both are accepted), common/spec (payload
 * field names, via runner-k8s-executor.md §9.4); gitlabhq/gitlabhq app/services/ci/
 * append_build_trace_service.rb (only the start of Content-Range is used; the end is derived from
 * the body length). */
#include "mockapi/gitlab/proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "mockapi/base/json.h"

#define API_PREFIX "/api/v4/"
#define DEFAULT_SHA "1f0e3ad7d2e2a1c3b4a5968778695a4b3c2d1e0f"
#define DEFAULT_TIMEOUT_S 600

const char *glproto_endpoint_name(enum glproto_endpoint ep)
{
    switch (ep) {
    case GLPROTO_EP_JOB_REQUEST:
        return "jobs/request";
    case GLPROTO_EP_JOB_UPDATE:
        return "jobs/:id";
    case GLPROTO_EP_TRACE:
        return "jobs/:id/trace";
    case GLPROTO_EP_VERIFY:
        return "runners/verify";
    case GLPROTO_EP_NONE:
        break;
    }
    return "none";
}

/* A job id segment: decimal, no sign, no leading zero, fits int64. Returns the end or NULL. */
static const char *parse_id(const char *s, int64_t *id)
{
    if (*s < '1' || *s > '9')
        return NULL;
    int64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        if (v > (INT64_MAX - (*s - '0')) / 10)
            return NULL;
        v = v * 10 + (*s - '0');
        s++;
    }
    *id = v;
    return s;
}

void glproto_route(const char *method, const char *path, struct glproto_route *out)
{
    out->ep = GLPROTO_EP_NONE;
    out->job_id = 0;
    if (!method || !path || strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0)
        return;
    const char *p = path + strlen(API_PREFIX);
    if (strcmp(p, "jobs/request") == 0) {
        if (strcmp(method, "POST") == 0)
            out->ep = GLPROTO_EP_JOB_REQUEST;
        return;
    }
    if (strcmp(p, "runners/verify") == 0) {
        if (strcmp(method, "POST") == 0)
            out->ep = GLPROTO_EP_VERIFY;
        return;
    }
    if (strncmp(p, "jobs/", 5) != 0)
        return;
    int64_t id;
    const char *rest = parse_id(p + 5, &id);
    if (!rest)
        return;
    if (*rest == '\0' && strcmp(method, "PUT") == 0) {
        out->ep = GLPROTO_EP_JOB_UPDATE;
        out->job_id = id;
    } else if (strcmp(rest, "/trace") == 0 && strcmp(method, "PATCH") == 0) {
        out->ep = GLPROTO_EP_TRACE;
        out->job_id = id;
    }
}

/* Decimal digits only, into *v; returns the end or NULL (no digits, overflow). */
static const char *parse_u64(const char *s, uint64_t *v)
{
    if (*s < '0' || *s > '9')
        return NULL;
    uint64_t n = 0;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (n > (UINT64_MAX - d) / 10)
            return NULL;
        n = n * 10 + d;
        s++;
    }
    *v = n;
    return s;
}

int glproto_parse_content_range(const char *value, uint64_t *start, uint64_t *end, char *err,
                                size_t errlen)
{
    uint64_t a, b;
    const char *p = value ? parse_u64(value, &a) : NULL;
    if (p && *p == '-' && (p = parse_u64(p + 1, &b)) && *p == '\0' && b >= a) {
        *start = a;
        *end = b;
        return 0;
    }
    snprintf(err, errlen, "Content-Range \"%.64s\" is not <start>-<end> (decimal, end >= start)",
             value ? value : "");
    return -1;
}

uint32_t glproto_crc32(uint32_t start, const void *data, size_t len)
{
    uLong crc = start;
    const unsigned char *p = data;
    while (len > 0) { /* zlib takes uInt lengths */
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)crc;
}

char *glproto_format_checksum(uint32_t crc, char *buf, size_t len)
{
    snprintf(buf, len, "crc32:%08" PRIx32, crc);
    return buf;
}

int glproto_parse_checksum(const char *s, uint32_t *crc)
{
    if (!s || strncmp(s, "crc32:", 6) != 0)
        return -1;
    s += 6;
    size_t n = strspn(s, "0123456789abcdefABCDEF");
    if (n == 0 || n > 8 || s[n] != '\0')
        return -1;
    *crc = (uint32_t)strtoul(s, NULL, 16);
    return 0;
}

/* Copy a string member (absent: "" and 0). -1 with err when it is not a string or too long. */
static int get_string(const cJSON *o, const char *key, char *dst, size_t cap, char *err,
                      size_t errlen)
{
    dst[0] = '\0';
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "%s is invalid (expected a string)", key);
        return -1;
    }
    if (strlen(v->valuestring) >= cap) {
        snprintf(err, errlen, "%s is longer than %zu bytes", key, cap - 1);
        return -1;
    }
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

/* An integer member: 1 with *out, 0 when absent, -1 with err when not an integer in range. */
static int get_int(const cJSON *o, const char *key, double lo, double hi, double *out, char *err,
                   size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
    if (!cJSON_IsNumber(v) || !(d >= lo && d <= hi) || d != (double)(int64_t)d) {
        snprintf(err, errlen, "%s is invalid (expected an integer from %.0f to %.0f)", key, lo, hi);
        return -1;
    }
    *out = d;
    return 1;
}

static cJSON *parse_object(const void *body, size_t len, char *err, size_t errlen)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j || !cJSON_IsObject(j)) {
        snprintf(err, errlen, "the body is not a JSON object");
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

int glproto_parse_update(const void *body, size_t len, struct glproto_update *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    cJSON *j = parse_object(body, len, err, errlen);
    if (!j)
        return -1;
    int rc = -1;
    double d;
    char sum[32];
    if (get_string(j, "token", out->token, sizeof out->token, err, errlen) < 0 ||
        get_string(j, "state", out->state, sizeof out->state, err, errlen) < 0 ||
        get_string(j, "failure_reason", out->failure_reason, sizeof out->failure_reason, err,
                   errlen) < 0)
        goto out;
    int got = get_int(j, "exit_code", -2147483648.0, 2147483647.0, &d, err, errlen);
    if (got < 0)
        goto out;
    out->has_exit_code = got;
    out->exit_code = got ? (int)d : 0;
    /* the deprecated top-level checksum first; output.checksum wins when both are sent, as
     * UpdateBuildStateService reads params.dig(:output, :checksum) || params[:checksum] */
    if (get_string(j, "checksum", sum, sizeof sum, err, errlen) < 0)
        goto out;
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(j, "output");
    if (output && !cJSON_IsNull(output)) {
        if (!cJSON_IsObject(output)) {
            snprintf(err, errlen, "output is invalid (expected an object)");
            goto out;
        }
        char osum[32];
        if (get_string(output, "checksum", osum, sizeof osum, err, errlen) < 0)
            goto out;
        if (osum[0])
            memcpy(sum, osum, sizeof sum);
        got = get_int(output, "bytesize", 0, 9007199254740991.0, &d, err, errlen);
        if (got < 0)
            goto out;
        out->has_bytesize = got;
        out->bytesize = got ? (uint64_t)d : 0;
    }
    if (sum[0]) {
        if (glproto_parse_checksum(sum, &out->checksum) < 0) {
            snprintf(err, errlen, "checksum \"%s\" is invalid (expected crc32:<hex>)", sum);
            goto out;
        }
        out->has_checksum = 1;
    }
    rc = 0;
out:
    cJSON_Delete(j);
    return rc;
}

int glproto_parse_runner_req(const void *body, size_t len, struct glproto_runner_req *out,
                             char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return 0;
    cJSON *j = parse_object(body, len, err, errlen);
    if (!j)
        return -1;
    int rc = get_string(j, "token", out->token, sizeof out->token, err, errlen) < 0 ||
                     get_string(j, "last_update", out->last_update, sizeof out->last_update, err,
                                errlen) < 0
                 ? -1
                 : 0;
    cJSON_Delete(j);
    return rc;
}

/* ---- the job payload ---- */

static const char *const spec_keys[] = {
    "id",           "token", "name",       "stage",       "project_id", "project_name", "repo_url",
    "ref",          "sha",   "before_sha", "image",       "services",   "variables",    "script",
    "after_script", "steps", "timeout",    "credentials", "extra",      NULL,
};

static int known_key(const char *k)
{
    for (size_t i = 0; spec_keys[i]; i++)
        if (strcmp(spec_keys[i], k) == 0)
            return 1;
    return 0;
}

static const char *spec_str(const cJSON *spec, const char *key, const char *def, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
    if (!v)
        return def;
    if (!cJSON_IsString(v)) {
        *bad = 1;
        return def;
    }
    return v->valuestring;
}

static int is_string_array(const cJSON *a)
{
    if (!cJSON_IsArray(a))
        return 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsString(e))
            return 0;
    }
    return 1;
}

static int is_object_array(const cJSON *a)
{
    if (!cJSON_IsArray(a))
        return 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsObject(e))
            return 0;
    }
    return 1;
}

static cJSON *variable(const char *key, const char *value, int public, int masked)
{
    cJSON *v = cJSON_CreateObject();
    if (!json_add(v, "key", cJSON_CreateString(key)) ||
        !json_add(v, "value", cJSON_CreateString(value)) ||
        !json_add(v, "public", cJSON_CreateBool(public)) ||
        !json_add(v, "masked", cJSON_CreateBool(masked))) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

static int has_variable(const cJSON *vars, const char *key)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, vars)
    {
        const char *k = json_str(e, "key");
        if (k && strcmp(k, key) == 0)
            return 1;
    }
    return 0;
}

/* The variables array from the spec (object or array form), with the defaults appended. */
static cJSON *build_variables(const cJSON *spec, int64_t id, const char *token, char *err,
                              size_t errlen)
{
    cJSON *vars = cJSON_CreateArray();
    if (!vars)
        goto oom;
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(spec, "variables");
    const cJSON *e;
    if (cJSON_IsObject(sv)) {
        cJSON_ArrayForEach(e, sv)
        {
            if (!cJSON_IsString(e)) {
                snprintf(err, errlen, "variables.%s: expected a string", e->string);
                goto fail;
            }
            if (!json_push(vars, variable(e->string, e->valuestring, 1, 0)))
                goto oom;
        }
    } else if (cJSON_IsArray(sv)) {
        int i = 0;
        cJSON_ArrayForEach(e, sv)
        {
            if (!cJSON_IsObject(e) || !json_str(e, "key") || !json_str(e, "value")) {
                snprintf(err, errlen, "variables[%d]: expected an object with string key and value",
                         i);
                goto fail;
            }
            if (!json_push(vars, cJSON_Duplicate(e, 1)))
                goto oom;
            i++;
        }
    } else if (sv) {
        snprintf(err, errlen, "variables: expected an object or an array");
        goto fail;
    }
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    if ((!has_variable(vars, "CI_JOB_TOKEN") &&
         !json_push(vars, variable("CI_JOB_TOKEN", token, 0, 1))) ||
        (!has_variable(vars, "CI_JOB_ID") &&
         !json_push(vars, variable("CI_JOB_ID", idbuf, 1, 0))) ||
        (!has_variable(vars, "GIT_STRATEGY") &&
         !json_push(vars, variable("GIT_STRATEGY", "none", 1, 0))))
        goto oom;
    return vars;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    cJSON_Delete(vars);
    return NULL;
}

static cJSON *step(const char *name, const cJSON *script, double timeout, const char *when)
{
    cJSON *s = cJSON_CreateObject();
    if (!json_add(s, "name", cJSON_CreateString(name)) ||
        !json_add(s, "script", cJSON_Duplicate(script, 1)) ||
        !json_add(s, "timeout", cJSON_CreateNumber(timeout)) ||
        !json_add(s, "when", cJSON_CreateString(when)) ||
        !json_add(s, "allow_failure", cJSON_CreateFalse())) {
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

static cJSON *build_steps(const cJSON *spec, double timeout, char *err, size_t errlen)
{
    const cJSON *script = cJSON_GetObjectItemCaseSensitive(spec, "script");
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(spec, "after_script");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(spec, "steps");
    if (steps) {
        if (script || after) {
            snprintf(err, errlen, "steps: give either steps or script/after_script, not both");
            return NULL;
        }
        if (!is_object_array(steps)) {
            snprintf(err, errlen, "steps: expected an array of objects");
            return NULL;
        }
        cJSON *d = cJSON_Duplicate(steps, 1);
        if (!d)
            snprintf(err, errlen, "out of memory");
        return d;
    }
    if (script && !is_string_array(script)) {
        snprintf(err, errlen, "script: expected an array of strings");
        return NULL;
    }
    if (after && !is_string_array(after)) {
        snprintf(err, errlen, "after_script: expected an array of strings");
        return NULL;
    }
    cJSON *def = NULL;
    if (!script && !(script = def = cJSON_CreateStringArray((const char *const[]){"echo hi"}, 1)))
        goto oom;
    cJSON *out = cJSON_CreateArray();
    if (!out || !json_push(out, step("script", script, timeout, "on_success")) ||
        (after && !json_push(out, step("after_script", after, timeout, "always")))) {
        cJSON_Delete(out);
        goto oom;
    }
    cJSON_Delete(def);
    return out;
oom:
    cJSON_Delete(def);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

/* services: strings become {"name": s}; objects are kept. */
static cJSON *build_services(const cJSON *spec, char *err, size_t errlen)
{
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(spec, "services");
    cJSON *out = cJSON_CreateArray();
    if (!out)
        goto oom;
    if (!sv)
        return out;
    if (!cJSON_IsArray(sv)) {
        snprintf(err, errlen, "services: expected an array");
        goto fail;
    }
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, sv)
    {
        cJSON *item = NULL;
        if (cJSON_IsString(e)) {
            item = cJSON_CreateObject();
            if (item && !json_add(item, "name", cJSON_CreateString(e->valuestring))) {
                cJSON_Delete(item);
                item = NULL;
            }
        } else if (cJSON_IsObject(e) && json_str(e, "name")) {
            item = cJSON_Duplicate(e, 1);
        } else {
            snprintf(err, errlen, "services[%d]: expected a string or an object with a name", i);
            goto fail;
        }
        if (!json_push(out, item))
            goto oom;
        i++;
    }
    return out;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    cJSON_Delete(out);
    return NULL;
}

static cJSON *build_image(const cJSON *spec, char *err, size_t errlen)
{
    const cJSON *im = cJSON_GetObjectItemCaseSensitive(spec, "image");
    cJSON *out = NULL;
    if (!im || cJSON_IsString(im)) {
        out = cJSON_CreateObject();
        if (out && !json_add(out, "name", cJSON_CreateString(im ? im->valuestring : "alpine:3.20")))
            out = (cJSON_Delete(out), NULL);
    } else if (cJSON_IsObject(im) && json_str(im, "name")) {
        out = cJSON_Duplicate(im, 1);
    } else {
        snprintf(err, errlen, "image: expected a string or an object with a name");
        return NULL;
    }
    if (!out)
        snprintf(err, errlen, "out of memory");
    return out;
}

static cJSON *failure_reasons(void)
{
    static const char *const reasons[] = {"unknown_failure",       "script_failure",
                                          "runner_system_failure", "job_execution_timeout",
                                          "image_pull_failure",    "runner_configuration_error"};
    return cJSON_CreateStringArray(reasons, (int)(sizeof reasons / sizeof reasons[0]));
}

cJSON *glproto_job_payload(const cJSON *spec, int64_t default_id, const char *default_token,
                           char *err, size_t errlen)
{
    cJSON *p = NULL;
    cJSON *empty = NULL;
    if (!spec)
        spec = empty = cJSON_CreateObject();
    if (!cJSON_IsObject(spec)) {
        snprintf(err, errlen, "the job spec is not an object");
        goto fail;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, spec)
    {
        if (known_key(e->string))
            continue;
        snprintf(err, errlen,
                 "unknown key \"%s\" (known: id, token, name, stage, project_id, project_name, "
                 "repo_url, ref, sha, before_sha, image, services, variables, script, "
                 "after_script, steps, timeout, credentials, extra)",
                 e->string);
        goto fail;
    }
    double id = (double)default_id, project_id = 1, timeout = DEFAULT_TIMEOUT_S;
    if (get_int(spec, "id", 1, 9007199254740991.0, &id, err, errlen) < 0 ||
        get_int(spec, "project_id", 1, 9007199254740991.0, &project_id, err, errlen) < 0 ||
        get_int(spec, "timeout", 1, 31536000, &timeout, err, errlen) < 0)
        goto fail;
    if (id < 1) {
        snprintf(err, errlen, "id is invalid (expected an integer from 1)");
        goto fail;
    }
    int bad = 0;
    const char *token = spec_str(spec, "token", default_token, &bad);
    const char *name = spec_str(spec, "name", "test", &bad);
    const char *stage = spec_str(spec, "stage", "test", &bad);
    const char *project = spec_str(spec, "project_name", "p", &bad);
    const char *repo = spec_str(spec, "repo_url", "http://gitlab.local/g/p.git", &bad);
    const char *ref = spec_str(spec, "ref", "main", &bad);
    const char *sha = spec_str(spec, "sha", DEFAULT_SHA, &bad);
    const char *before = spec_str(spec, "before_sha", DEFAULT_SHA, &bad);
    if (bad || !token || !*token || strlen(token) > GLPROTO_MAX_TOKEN) {
        snprintf(err, errlen,
                 "token, name, stage, project_name, repo_url, ref, sha, before_sha: expected "
                 "strings (token non-empty, at most %d bytes)",
                 GLPROTO_MAX_TOKEN);
        goto fail;
    }
    const cJSON *cred = cJSON_GetObjectItemCaseSensitive(spec, "credentials");
    if (cred && !is_object_array(cred)) {
        snprintf(err, errlen, "credentials: expected an array of objects");
        goto fail;
    }
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(spec, "extra");
    if (extra && !cJSON_IsObject(extra)) {
        snprintf(err, errlen, "extra: expected an object");
        goto fail;
    }

    cJSON *vars = NULL, *steps = NULL, *services = NULL, *image = NULL;
    if (!(vars = build_variables(spec, (int64_t)id, token, err, errlen)) ||
        !(steps = build_steps(spec, timeout, err, errlen)) ||
        !(services = build_services(spec, err, errlen)) ||
        !(image = build_image(spec, err, errlen))) {
        cJSON_Delete(vars);
        cJSON_Delete(steps);
        cJSON_Delete(services);
        goto fail;
    }
    cJSON *ji = NULL, *gi = NULL, *ri = NULL, *ft = NULL;
    p = cJSON_CreateObject();
    /* json_add takes ownership even when it fails, so each built piece is handed over exactly once
     * whatever happens; the chain stops at the first failure and the rest are freed below. */
    int ok = p && json_add(p, "id", cJSON_CreateNumber(id)) &&
             json_add(p, "token", cJSON_CreateString(token)) &&
             json_add(p, "allow_git_fetch", cJSON_CreateFalse()) &&
             (ji = json_add(p, "job_info", cJSON_CreateObject())) &&
             json_add(ji, "id", cJSON_CreateNumber(id)) &&
             json_add(ji, "name", cJSON_CreateString(name)) &&
             json_add(ji, "stage", cJSON_CreateString(stage)) &&
             json_add(ji, "project_id", cJSON_CreateNumber(project_id)) &&
             json_add(ji, "project_name", cJSON_CreateString(project)) &&
             (gi = json_add(p, "git_info", cJSON_CreateObject())) &&
             json_add(gi, "repo_url", cJSON_CreateString(repo)) &&
             json_add(gi, "ref", cJSON_CreateString(ref)) &&
             json_add(gi, "sha", cJSON_CreateString(sha)) &&
             json_add(gi, "before_sha", cJSON_CreateString(before)) &&
             json_add(gi, "ref_type", cJSON_CreateString("branch")) &&
             json_add(gi, "refspecs", cJSON_CreateArray()) &&
             json_add(gi, "depth", cJSON_CreateNumber(0)) &&
             (ri = json_add(p, "runner_info", cJSON_CreateObject())) &&
             json_add(ri, "timeout", cJSON_CreateNumber(timeout));
    ok = ok && json_add(p, "variables", vars);
    vars = NULL;
    ok = ok && json_add(p, "steps", steps);
    steps = NULL;
    ok = ok && json_add(p, "image", image);
    image = NULL;
    ok = ok && json_add(p, "services", services);
    services = NULL;
    ok = ok && json_add(p, "artifacts", cJSON_CreateArray()) &&
         json_add(p, "cache", cJSON_CreateArray()) &&
         json_add(p, "credentials", cred ? cJSON_Duplicate(cred, 1) : cJSON_CreateArray()) &&
         json_add(p, "dependencies", cJSON_CreateArray()) &&
         (ft = json_add(p, "features", cJSON_CreateObject())) &&
         json_add(ft, "trace_sections", cJSON_CreateTrue()) &&
         json_add(ft, "failure_reasons", failure_reasons());
    cJSON_Delete(vars);
    cJSON_Delete(steps);
    cJSON_Delete(image);
    cJSON_Delete(services);
    if (ok && extra) {
        cJSON_ArrayForEach(e, extra)
        {
            cJSON *d = cJSON_Duplicate(e, 1);
            if (!d) {
                ok = 0;
                break;
            }
            json_set(p, e->string, d);
        }
    }
    if (!ok) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    cJSON_Delete(empty);
    return p;
fail:
    cJSON_Delete(p);
    cJSON_Delete(empty);
    return NULL;
}
