/* test_match.c -- tests harness/match.c: parsing and every error message, verbs of routed
 * requests, each predicate, the body path language, and JSON and protobuf bodies alike */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/match.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/proto.h"
#include "mockapi/kube/route.h"
#include "testutil.h"

#ifndef KF_VECTORS_DIR
#error "KF_VECTORS_DIR must name tests/vectors (the CMake build sets it)"
#endif

#define P "rules[0].match"
#define KNOWN_VERBS                                                                                \
    "get, list, watch, create, update, patch, delete, deletecollection, exec, attach, log, other"
#define ACCEPTED_KEYS                                                                              \
    "verb, resource, subresource, namespace, name, path, query, headers, body, server, endpoint, " \
    "job"

/* ---- helpers ---- */

/* match_parse on spec (' for "): 0 and m, or fails. */
static void parse_ok(const char *spec, struct match *m)
{
    struct diag d;
    cJSON *v = json(spec);
    diag_init(&d, "s.json");
    if (match_parse(v, P, &d, m) != 0)
        fail_msg("%s: %s", spec, d.n ? d.msgs[0] : "-1 without a message");
    assert_int_equal(d.n, 0);
    diag_release(&d);
    cJSON_Delete(v);
}

/* match_parse on v must fail with exactly one message, "s.json: " + want (' for "). */
static void parse_fails_json(const cJSON *v, const char *want)
{
    struct diag d;
    struct match m;
    char *w = dq(want), full[2048];
    diag_init(&d, "s.json");
    assert_int_equal(match_parse(v, P, &d, &m), -1);
    snprintf(full, sizeof full, "s.json: %s", w);
    if (d.n != 1 || strcmp(d.msgs[0], full) != 0) {
        for (size_t i = 0; i < d.n; i++)
            print_error("got:  %s\n", d.msgs[i]);
        fail_msg("want: %s", full);
    }
    /* A failed parse leaves nothing to free. */
    assert_int_equal(m.verbs, 0);
    assert_null(m.resources);
    assert_null(m.query);
    assert_null(m.headers);
    assert_null(m.body);
    diag_release(&d);
    free(w);
}

static void parse_fails(const char *spec, const char *want)
{
    cJSON *v = json(spec);
    parse_fails_json(v, want);
    cJSON_Delete(v);
}

static void req_init(struct http_request *r, const char *method, const char *path)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->path = strdup(path);
    r->url = strdup(path);
    r->query = strdup("");
}

static void req_header(struct http_request *r, const char *name, const char *value)
{
    r->headers[r->nheaders].name = strdup(name);
    r->headers[r->nheaders].value = strdup(value);
    r->nheaders++;
}

static void req_param(struct http_request *r, const char *key, const char *value)
{
    r->params[r->nparams].key = strdup(key);
    r->params[r->nparams].value = strdup(value);
    r->nparams++;
}

static void req_release(struct http_request *r)
{
    free(r->path);
    free(r->url);
    free(r->query);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    for (size_t i = 0; i < r->nparams; i++) {
        free(r->params[i].key);
        free(r->params[i].value);
    }
}

static struct route routed(const char *method, const char *path, int watch)
{
    struct route r;
    char err[256] = "";
    if (route_parse(method, path, watch, &r, err, sizeof err) != 0)
        fail_msg("%s %s: %s", method, path, err);
    return r;
}

/* Does spec match method path (with watch)? */
static int matches(const char *spec, const char *method, const char *path, int watch)
{
    struct match m;
    struct http_request req;
    struct route r = routed(method, path, watch);
    parse_ok(spec, &m);
    req_init(&req, method, path);
    if (watch)
        req_param(&req, "watch", "true");
    int got = match_request(&m, &req, &r, NULL);
    req_release(&req);
    match_release(&m);
    return got;
}

static uint8_t *slurp(const char *name, size_t *len)
{
    char path[512];
    FILE *f = NULL;
    uint8_t *buf = NULL;
    long n = -1;

    snprintf(path, sizeof path, "%s/proto/%s", KF_VECTORS_DIR, name);
    f = fopen(path, "rb");
    if (f && fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0 || !(buf = malloc((size_t)n + 1)) ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fail_msg("cannot read %s", path);
        n = 0; /* not reached: fail_msg() leaves the test */
    }
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---- parsing ---- */

static void test_null_matches_everything(void **state)
{
    (void)state;
    struct diag d;
    struct match m;
    struct http_request req;
    struct route r = routed("DELETE", "/api/v1/namespaces/x/secrets/s", 0);

    diag_init(&d, "s.json");
    assert_int_equal(match_parse(NULL, P, &d, &m), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(m.verbs, 0);
    assert_null(m.resources);
    assert_null(m.subresource);
    assert_int_equal(match_needs_body(&m), 0);
    req_init(&req, "DELETE", "/api/v1/namespaces/x/secrets/s");
    assert_int_equal(match_request(&m, &req, &r, NULL), 1);
    assert_int_equal(match_request(&m, &req, NULL, NULL), 1);
    match_release(&m);
    req_release(&req);

    parse_ok("{}", &m);
    assert_int_equal(m.verbs, 0);
    match_release(&m);
    match_release(NULL);
}

static void test_parse_everything(void **state)
{
    (void)state;
    struct match m;
    parse_ok("{'verb': ['get', 'exec', 'other', 'get'], 'resource': ['pods', 'secrets', 'pods'],"
             " 'subresource': '', 'namespace': 'ci-*', 'name': 'runner-*', 'path': '/api/*',"
             " 'query': {'watch': true, 'labelSelector': 'app=*'},"
             " 'headers': {'User-Agent': 'gitlab-runner*'},"
             " 'body': [{'path': 'spec.hostAliases', 'exists': true},"
             "          {'path': 'metadata.labels[\\'a.b/c\\']', 'absent': true},"
             "          {'path': 'spec.priority', 'equals': 5}]}",
             &m);
    assert_int_equal(m.verbs, MATCH_GET | MATCH_EXEC | MATCH_OTHER);
    assert_int_equal(m.nresources, 2); /* kept once each */
    assert_string_equal(m.resources[0], "pods");
    assert_string_equal(m.resources[1], "secrets");
    assert_string_equal(m.subresource, "");
    assert_string_equal(m.namespace_glob, "ci-*");
    assert_string_equal(m.name_glob, "runner-*");
    assert_string_equal(m.path_glob, "/api/*");
    assert_int_equal(m.nquery, 2);
    assert_string_equal(m.query[0].key, "watch");
    assert_null(m.query[0].glob);
    assert_string_equal(m.query[1].key, "labelSelector");
    assert_string_equal(m.query[1].glob, "app=*");
    assert_int_equal(m.nheaders, 1);
    assert_string_equal(m.headers[0].key, "User-Agent");
    assert_string_equal(m.headers[0].glob, "gitlab-runner*");
    assert_int_equal(m.nbody, 3);
    assert_int_equal(m.body[0].op, MATCH_BODY_EXISTS);
    assert_null(m.body[0].value);
    assert_string_equal(m.body[1].path, "metadata.labels[\"a.b/c\"]");
    assert_int_equal(m.body[1].op, MATCH_BODY_ABSENT);
    assert_int_equal(m.body[2].op, MATCH_BODY_EQUALS);
    assert_true(cJSON_IsNumber(m.body[2].value));
    assert_int_equal(match_needs_body(&m), 1);
    match_release(&m);
    assert_null(m.body);
    assert_int_equal(m.nbody, 0);
}

static void test_every_verb_name(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned bit;
    } verbs[] = {
        {"get", MATCH_GET},       {"list", MATCH_LIST},
        {"watch", MATCH_WATCH},   {"create", MATCH_CREATE},
        {"update", MATCH_UPDATE}, {"patch", MATCH_PATCH},
        {"delete", MATCH_DELETE}, {"deletecollection", MATCH_DELETECOLLECTION},
        {"exec", MATCH_EXEC},     {"attach", MATCH_ATTACH},
        {"log", MATCH_LOG},       {"other", MATCH_OTHER},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        char spec[128];
        struct match m;
        snprintf(spec, sizeof spec, "{'verb': '%s'}", verbs[i].name);
        parse_ok(spec, &m);
        assert_int_equal(m.verbs, verbs[i].bit);
        match_release(&m);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *want;
    } cases[] = {
        {"[]", P ": expected an object, got array"},
        {"'get'", P ": expected an object, got string"},
        {"{'verbs': 'get'}",
         P ": unknown key 'verbs' (accepted: " ACCEPTED_KEYS "); did you mean 'verb'?"},
        {"{'colour': 'red'}", P ": unknown key 'colour' (accepted: " ACCEPTED_KEYS ")"},
        {"{'verb': 'get', 'verb': 'list'}", P ".verb: duplicate key 'verb'"},
        {"{'verb': 'gett'}",
         P ".verb: unknown verb 'gett' (known: " KNOWN_VERBS "); did you mean 'get'?"},
        {"{'verb': ['get', 'gett']}",
         P ".verb[1]: unknown verb 'gett' (known: " KNOWN_VERBS "); did you mean 'get'?"},
        {"{'verb': 'GET'}", P ".verb: unknown verb 'GET' (known: " KNOWN_VERBS ")"},
        {"{'verb': []}",
         P ".verb: expected a verb or a non-empty array of them, got an empty array"},
        {"{'verb': 3}", P ".verb: expected a verb or a non-empty array of them, got number"},
        {"{'verb': {}}", P ".verb: expected a verb or a non-empty array of them, got object"},
        {"{'verb': ['get', 7]}",
         P ".verb[1]: expected a verb (known: " KNOWN_VERBS "), got number"},
        {"{'resource': []}",
         P ".resource: expected a resource name or a non-empty array of them, got an empty array"},
        {"{'resource': true}",
         P ".resource: expected a resource name or a non-empty array of them, got boolean"},
        {"{'subresource': 1}",
         P ".subresource: expected a subresource name ('' for none), got number"},
        {"{'namespace': true}", P ".namespace: expected a namespace pattern, got boolean"},
        {"{'name': null}", P ".name: expected a name pattern, got null"},
        {"{'path': ['/version']}", P ".path: expected a URL path pattern, got array"},
        {"{'path': 'version'}",
         P ".path: path pattern 'version' never matches: request paths start with '/'"},
        {"{'query': []}",
         P ".query: expected an object of query parameter names to patterns (or true), got array"},
        {"{'query': {'watch': false}}",
         P ".query.watch: expected a pattern string or true (for 'present'), got false"},
        {"{'query': {'limit': 500}}",
         P ".query.limit: expected a pattern string or true (for 'present'), got number"},
        {"{'query': {'': 'x'}}", P ".query['']: invalid query parameter name ''"},
        {"{'query': {'a': 'x', 'a': 'y'}}", P ".query.a: duplicate key 'a'"},
        {"{'headers': 'gitlab-runner'}",
         P ".headers: expected an object of header names to patterns (or true), got string"},
        {"{'headers': {'User Agent': 'x'}}",
         P ".headers['User Agent']: invalid header name 'User Agent'"},
        {"{'headers': {'X-A:': 'x'}}", P ".headers['X-A:']: invalid header name 'X-A:'"},
        {"{'headers': {'X-A': 1}}",
         P ".headers.X-A: expected a pattern string or true (for 'present'), got number"},
        {"{'body': {}}", P ".body: expected an array of body predicates, got object"},
        {"{'body': ['x']}",
         P ".body[0]: expected an object {'path': ..., and one of 'exists': true, 'absent': true, "
           "'equals': <value>}, got string"},
        {"{'body': [{'exists': true}]}", P ".body[0]: missing key 'path'"},
        {"{'body': [{'path': 'a'}]}",
         P ".body[0]: expected exactly one of 'exists', 'absent' or 'equals' (got 0)"},
        {"{'body': [{'path': 'a', 'exists': true, 'equals': 1}]}",
         P ".body[0]: expected exactly one of 'exists', 'absent' or 'equals' (got 2)"},
        {"{'body': [{'path': 'a', 'exists': false}]}",
         P ".body[0].exists: expected true (for the opposite, write 'absent': true)"},
        {"{'body': [{'path': 'a', 'absent': 1}]}",
         P ".body[0].absent: expected true (for the opposite, write 'exists': true)"},
        {"{'body': [{'path': 'a', 'exists': true, 'op': 1}]}",
         P ".body[0]: unknown key 'op' (accepted: path, exists, absent, equals)"},
        {"{'body': [{'path': 'a', 'exists': true, 'absnt': true}]}",
         P ".body[0]: unknown key 'absnt' (accepted: path, exists, absent, equals); did you mean "
           "'absent'?"},
        {"{'body': [{'path': 'a', 'path': 'b', 'exists': true}]}",
         P ".body[0].path: duplicate key 'path'"},
        {"{'body': [{'path': 5, 'exists': true}]}",
         P ".body[0].path: expected a body path such as 'spec.containers[*].image', got number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        parse_fails(cases[i].spec, cases[i].want);
}

/* The "known:" list is the kinds table, whatever rows it grows; the hint is the plural of a
 * singular, short name or kind, else a near spelling. */
static void test_resource_errors(void **state)
{
    (void)state;
    char known[1024] = "", want[1400];
    size_t o = 0;
    for (size_t i = 0; i < KIND__COUNT; i++)
        o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "",
                              kinds_table[i].resource);
    assert_non_null(strstr(known, "pods, secrets"));

    snprintf(want, sizeof want, P ".resource: unknown resource 'widgets' (known: %s)", known);
    parse_fails("{'resource': 'widgets'}", want);
    /* The singular, the short name and the kind are hints, not aliases. */
    snprintf(want, sizeof want,
             P ".resource: unknown resource 'pod' (known: %s); did you mean 'pods'?", known);
    parse_fails("{'resource': 'pod'}", want);
    snprintf(want, sizeof want,
             P ".resource[1]: unknown resource 'po' (known: %s); did you mean 'pods'?", known);
    parse_fails("{'resource': ['secrets', 'po']}", want);
    snprintf(want, sizeof want,
             P ".resource: unknown resource 'PodDisruptionBudget' (known: %s); did you mean "
               "'poddisruptionbudgets'?",
             known);
    parse_fails("{'resource': 'PodDisruptionBudget'}", want);
    snprintf(want, sizeof want,
             P ".resource: unknown resource 'sercets' (known: %s); did you mean 'secrets'?", known);
    parse_fails("{'resource': 'sercets'}", want);
    snprintf(want, sizeof want, P ".resource[0]: expected a resource name (known: %s), got number",
             known);
    parse_fails("{'resource': [1]}", want);
}

static cJSON *body_spec(const char *path)
{
    cJSON *spec = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(spec, "body");
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "path", path);
    cJSON_AddTrueToObject(e, "exists");
    cJSON_AddItemToArray(arr, e);
    return spec;
}

static void test_body_path_errors(void **state)
{
    (void)state;
    static const struct {
        const char *path, *why;
    } cases[] = {
        {"", "it is empty"},
        {"a..b", "empty key at character 3"},
        {"a.", "empty key at character 3"},
        {".a", "empty key at character 1"},
        {"a.[0]", "empty key at character 3"},
        {"a[",
         "expected a number, '*', a quoted key or a selector such as name=helper after '[' at "
         "character 2"},
        {"a[x]",
         "expected a number, '*', a quoted key or a selector such as name=helper after '[' at "
         "character 2"},
        {"a[-1]",
         "expected a number, '*', a quoted key or a selector such as name=helper after '[' at "
         "character 2"},
        {"a[*",
         "expected a number, '*', a quoted key or a selector such as name=helper after '[' at "
         "character 2"},
        {"a[1", "expected ']' at character 4"},
        {"a[1x]", "expected ']' at character 4"},
        {"a['b", "unterminated quoted key at character 3"},
        {"a['b'x", "expected ']' at character 6"},
        {"a]", "expected '.' or '[' at character 2"},
        {"]", "unexpected ']' at character 1"},
        {"a.]", "unexpected ']' at character 3"},
        {"a[0]b", "expected '.' or '[' at character 5"},
        {"a[0]]", "expected '.' or '[' at character 5"},
        {"a[1000000000]", "index at character 12 is larger than 999999999"},
        {"a[name=x", "expected ']' at character 9"},
        {"a[name='x", "unterminated quoted value at character 8"},
        {"a[name='x'y]", "expected ']' at character 11"},
        {"a[name]", "expected a number, '*', a quoted key or a selector such as name=helper "
                    "after '[' at character 2"},
        {"a[=x]", "expected a number, '*', a quoted key or a selector such as name=helper "
                  "after '[' at character 2"},
        {"a[n.m=x]", "expected a number, '*', a quoted key or a selector such as name=helper "
                     "after '[' at character 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = dq(cases[i].path), want[512], shown[256];
        size_t o = 0;
        for (const char *p = path; *p && o + 2 < sizeof shown; p++) {
            if (*p == '"')
                shown[o++] = '\\';
            shown[o++] = *p;
        }
        shown[o] = '\0';
        snprintf(want, sizeof want, P ".body[0].path: invalid body path \"%s\": %s", shown,
                 cases[i].why);
        /* match_body_path refuses the same paths. */
        cJSON *obj = cJSON_CreateObject();
        assert_int_equal(match_body_path(obj, path, NULL, NULL), -1);
        assert_int_equal(match_body_path(NULL, path, NULL, NULL), -1);
        cJSON_Delete(obj);
        cJSON *spec = body_spec(path);
        parse_fails_json(spec, want); /* ' in the reason only; the shown path keeps its \" */
        cJSON_Delete(spec);
        free(path);
    }
}

static void test_caps(void **state)
{
    (void)state;
    char path[MATCH_MAX_BODY_PATH + 2], want[600];
    struct match m;
    struct diag d;

    /* A body path of MATCH_MAX_BODY_PATH characters is fine; one more is not. */
    memset(path, 'a', MATCH_MAX_BODY_PATH);
    path[MATCH_MAX_BODY_PATH] = '\0';
    cJSON *spec = body_spec(path);
    diag_init(&d, "s.json");
    assert_int_equal(match_parse(spec, P, &d, &m), 0);
    match_release(&m);
    cJSON_Delete(spec);
    path[MATCH_MAX_BODY_PATH] = 'a';
    path[MATCH_MAX_BODY_PATH + 1] = '\0';
    spec = body_spec(path);
    assert_int_equal(match_parse(spec, P, &d, &m), -1);
    snprintf(want, sizeof want, "invalid body path \"%.80s...\": it is longer than %d characters",
             path, MATCH_MAX_BODY_PATH);
    assert_non_null(strstr(d.msgs[0], want));
    cJSON_Delete(spec);
    diag_release(&d);
    /* The longest path of steps: every character a one-letter key or a separator. */
    for (size_t i = 0; i < MATCH_MAX_BODY_PATH; i++)
        path[i] = i % 2 ? '.' : 'k';
    path[MATCH_MAX_BODY_PATH - 1] = '\0';
    assert_int_equal(match_body_path(NULL, path, NULL, NULL), 0);

    /* 32 query parameters, headers and body predicates each; 33 is too many. */
    for (int n = 32; n <= 33; n++) {
        cJSON *q = cJSON_CreateObject(), *h = cJSON_CreateObject(), *b = cJSON_CreateArray();
        for (int i = 0; i < n; i++) {
            char k[16];
            snprintf(k, sizeof k, "k%d", i);
            cJSON_AddTrueToObject(q, k);
            cJSON_AddStringToObject(h, k, "*");
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "path", k);
            cJSON_AddTrueToObject(e, "absent");
            cJSON_AddItemToArray(b, e);
        }
        static const char *const keys[] = {"query", "headers", "body"};
        cJSON *vals[] = {q, h, b};
        static const char *const msgs[] = {
            "s.json: " P ".query: too many query parameters (33, max 32)",
            "s.json: " P ".headers: too many headers (33, max 32)",
            "s.json: " P ".body: too many body predicates (33, max 32)",
        };
        for (int k = 0; k < 3; k++) {
            spec = cJSON_CreateObject();
            cJSON_AddItemReferenceToObject(spec, keys[k], vals[k]);
            diag_init(&d, "s.json");
            if (n == 32) {
                assert_int_equal(match_parse(spec, P, &d, &m), 0);
                match_release(&m);
            } else {
                assert_int_equal(match_parse(spec, P, &d, &m), -1);
                assert_int_equal(d.n, 1);
                assert_string_equal(d.msgs[0], msgs[k]);
            }
            diag_release(&d);
            cJSON_Delete(spec);
        }
        cJSON_Delete(q);
        cJSON_Delete(h);
        cJSON_Delete(b);
    }
}

static void test_messages_are_bounded_and_clean(void **state)
{
    (void)state;
    char spec[512], want[512];
    char long_verb[201];
    memset(long_verb, 'x', 200);
    long_verb[200] = '\0';
    snprintf(spec, sizeof spec, "{'verb': '%s'}", long_verb);
    snprintf(want, sizeof want, P ".verb: unknown verb '%.80s...' (known: " KNOWN_VERBS ")",
             long_verb);
    parse_fails(spec, want);

    /* Control characters show as '.', quotes and backslashes escaped. */
    cJSON *v = cJSON_Parse("{\"verb\": \"g\\u0001e\\\"t\\\\\"}");
    assert_non_null(v);
    parse_fails_json(v, P ".verb: unknown verb 'g.e\\'t\\\\' (known: " KNOWN_VERBS ")");
    cJSON_Delete(v);
}

static void test_errors_are_all_reported(void **state)
{
    (void)state;
    struct diag d;
    struct match m;
    cJSON *v = json("{'verb': ['gett', 'lst'], 'resource': 'pods', 'colour': 1,"
                    " 'body': [{'path': 'a..b', 'exists': true}, {'path': 'ok', 'equals': 1}]}");
    diag_init(&d, "s.json");
    assert_int_equal(match_parse(v, P, &d, &m), -1);
    /* Unknown keys first (jsonc_check_keys(), as scenario.c checks every object), then each value
     * in order. */
    assert_int_equal(d.n, 4);
    assert_string_equal(d.msgs[0],
                        "s.json: " P ": unknown key \"colour\" (accepted: " ACCEPTED_KEYS ")");
    assert_string_equal(d.msgs[1],
                        "s.json: " P ".verb[0]: unknown verb \"gett\" (known: " KNOWN_VERBS
                        "); did you mean \"get\"?");
    assert_string_equal(d.msgs[2],
                        "s.json: " P ".verb[1]: unknown verb \"lst\" (known: " KNOWN_VERBS
                        "); did you mean \"list\"?");
    assert_string_equal(d.msgs[3],
                        "s.json: " P ".body[0].path: invalid body path \"a..b\": empty key at "
                        "character 3");
    /* What parsed before the errors was freed (the sanitizer build checks for leaks). */
    assert_null(m.resources);
    assert_null(m.body);
    diag_release(&d);
    cJSON_Delete(v);
}

/* ---- verbs of requests ---- */

static void test_verb_of(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path;
        int watch;
        unsigned want;
    } cases[] = {
        {"GET", "/api/v1/namespaces/ci/pods/p", 0, MATCH_GET},
        {"HEAD", "/api/v1/namespaces/ci/pods/p", 0, MATCH_GET},
        {"GET", "/api/v1/pods", 0, MATCH_LIST},
        {"GET", "/api/v1/namespaces/ci/pods", 1, MATCH_WATCH},
        {"POST", "/api/v1/namespaces/ci/pods", 0, MATCH_CREATE},
        {"PUT", "/api/v1/namespaces/ci/pods/p", 0, MATCH_UPDATE},
        {"PUT", "/api/v1/namespaces/ci/pods/p/status", 0, MATCH_UPDATE},
        {"PATCH", "/api/v1/namespaces/ci/pods/p", 0, MATCH_PATCH},
        {"DELETE", "/api/v1/namespaces/ci/pods/p", 0, MATCH_DELETE},
        {"DELETE", "/api/v1/namespaces/ci/pods", 0, MATCH_DELETECOLLECTION},
        {"POST", "/api/v1/namespaces/ci/pods/p/exec", 0, MATCH_EXEC},
        {"GET", "/api/v1/namespaces/ci/pods/p/exec", 0, MATCH_EXEC},
        {"POST", "/api/v1/namespaces/ci/pods/p/attach", 0, MATCH_ATTACH},
        {"GET", "/api/v1/namespaces/ci/pods/p/attach", 0, MATCH_ATTACH},
        {"GET", "/api/v1/namespaces/ci/pods/p/log", 0, MATCH_LOG},
        {"GET", "/api/v1/namespaces/ci/pods/p/log", 1, MATCH_LOG},
        {"HEAD", "/api/v1/namespaces/ci/pods/p/log", 0, MATCH_LOG},
        {"POST", "/api/v1/namespaces/ci/pods/p/log", 0, MATCH_CREATE},
        {"GET", "/api/v1/namespaces/ci/services/s/exec", 0, MATCH_GET},
        {"OPTIONS", "/api/v1/namespaces/ci/pods", 0, MATCH_OTHER},
        {"POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", 0, MATCH_CREATE},
        {"GET", "/version", 0, MATCH_OTHER},
        {"GET", "/healthz", 0, MATCH_OTHER},
        {"GET", "/readyz/etcd", 0, MATCH_OTHER},
        {"GET", "/api", 0, MATCH_OTHER},
        {"GET", "/apis", 0, MATCH_OTHER},
        {"GET", "/apis/policy", 0, MATCH_OTHER},
        {"GET", "/api/v1", 0, MATCH_OTHER},
        {"GET", "/openapi/v2", 0, MATCH_OTHER},
        {"GET", "/openapi/v3/api/v1", 0, MATCH_OTHER},
        {"GET", "/no/such/path", 0, MATCH_OTHER},
        {"GET", "/api/v1/widgets", 0, MATCH_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_request req;
        struct route r = routed(cases[i].method, cases[i].path, cases[i].watch);
        req_init(&req, cases[i].method, cases[i].path);
        unsigned got = match_verb_of(&req, &r);
        if (got != cases[i].want)
            fail_msg("%s %s (watch %d): %#x, want %#x", cases[i].method, cases[i].path,
                     cases[i].watch, got, cases[i].want);
        req_release(&req);
    }
    assert_int_equal(match_verb_of(NULL, NULL), MATCH_OTHER);
}

/* ---- predicates ---- */

static void test_verbs_and_resources(void **state)
{
    (void)state;
    const char *pod = "/api/v1/namespaces/ci/pods/p";
    assert_true(matches("{'verb': 'get'}", "GET", pod, 0));
    assert_false(matches("{'verb': 'get'}", "DELETE", pod, 0));
    assert_true(matches("{'verb': ['list', 'delete']}", "DELETE", pod, 0));
    assert_true(matches("{'verb': 'watch'}", "GET", "/api/v1/namespaces/ci/pods", 1));
    assert_false(matches("{'verb': 'list'}", "GET", "/api/v1/namespaces/ci/pods", 1));
    assert_true(matches("{'verb': 'exec'}", "POST", "/api/v1/namespaces/ci/pods/p/exec", 0));
    assert_false(matches("{'verb': 'create'}", "POST", "/api/v1/namespaces/ci/pods/p/exec", 0));
    assert_true(matches("{'verb': 'other'}", "GET", "/version", 0));
    assert_false(matches("{'verb': 'get'}", "GET", "/version", 0));

    assert_true(matches("{'resource': 'pods'}", "GET", pod, 0));
    assert_true(matches("{'resource': ['secrets', 'pods']}", "GET", pod, 0));
    assert_false(matches("{'resource': 'secrets'}", "GET", pod, 0));
    assert_true(matches("{'resource': 'pods'}", "POST", "/api/v1/namespaces/ci/pods/p/exec", 0));
    assert_false(matches("{'resource': 'pods'}", "GET", "/version", 0));
    assert_false(matches("{'resource': 'pods'}", "GET", "/api/v1/widgets", 0));
    assert_true(matches("{'resource': 'poddisruptionbudgets', 'verb': 'create'}", "POST",
                        "/apis/policy/v1/namespaces/ci/poddisruptionbudgets", 0));
}

static void test_subresource(void **state)
{
    (void)state;
    const char *pod = "/api/v1/namespaces/ci/pods/p",
               *status = "/api/v1/namespaces/ci/pods/p/status";
    assert_true(matches("{'subresource': 'status'}", "PUT", status, 0));
    assert_false(matches("{'subresource': 'status'}", "PUT", pod, 0));
    assert_false(matches("{'subresource': 'stat*'}", "PUT", status, 0)); /* exact, not a glob */
    assert_true(matches("{'subresource': ''}", "PUT", pod, 0));
    assert_false(matches("{'subresource': ''}", "PUT", status, 0));
    assert_true(matches("{}", "PUT", status, 0));
    assert_true(matches("{'subresource': 'log', 'verb': 'log'}", "GET",
                        "/api/v1/namespaces/ci/pods/p/log", 0));
}

static void test_namespace_and_name(void **state)
{
    (void)state;
    const char *pod = "/api/v1/namespaces/ci-42/pods/runner-abc-project-1";
    assert_true(matches("{'namespace': 'ci-*'}", "GET", pod, 0));
    assert_true(matches("{'namespace': 'ci-[0-9][0-9]'}", "GET", pod, 0));
    assert_false(matches("{'namespace': 'ci'}", "GET", pod, 0));
    assert_true(matches("{'name': 'runner-*'}", "GET", pod, 0));
    assert_true(matches("{'name': 'runner-a?c-project-?'}", "GET", pod, 0));
    assert_false(matches("{'name': 'runner'}", "GET", pod, 0));
    /* Cluster-wide lists and cluster-scoped objects have no namespace: "" matches only them. */
    assert_true(matches("{'namespace': ''}", "GET", "/api/v1/pods", 0));
    assert_true(matches("{'namespace': ''}", "GET", "/api/v1/nodes/n1", 0));
    assert_false(matches("{'namespace': ''}", "GET", pod, 0));
    assert_true(matches("{'namespace': '*'}", "GET", "/api/v1/pods", 0));
    /* A namespace object is named, not namespaced. */
    assert_true(
        matches("{'name': 'ci-42', 'namespace': ''}", "GET", "/api/v1/namespaces/ci-42", 0));
    assert_false(matches("{'name': '?*'}", "GET", "/api/v1/namespaces/ci/pods", 0));
}

static void test_path(void **state)
{
    (void)state;
    assert_true(matches("{'path': '/version'}", "GET", "/version", 0));
    assert_false(matches("{'path': '/version'}", "GET", "/version/", 0));
    assert_true(matches("{'path': '/healthz*'}", "GET", "/healthz/etcd", 0));
    assert_true(matches("{'path': '/apis/*'}", "GET", "/apis/policy/v1", 0)); /* '*' crosses '/' */
    assert_true(matches("{'path': '*/log'}", "GET", "/api/v1/namespaces/ci/pods/p/log", 0));
    assert_false(matches("{'path': '/api/*', 'verb': 'get'}", "GET", "/api/v1/pods", 0));

    /* Without a route: only request fields count. */
    struct match m;
    struct http_request req;
    parse_ok("{'path': '/x*'}", &m);
    req_init(&req, "GET", "/xyz");
    assert_int_equal(match_request(&m, &req, NULL, NULL), 1);
    match_release(&m);
    parse_ok("{'resource': 'pods'}", &m);
    assert_int_equal(match_request(&m, &req, NULL, NULL), 0);
    match_release(&m);
    req_release(&req);
}

static void test_query(void **state)
{
    (void)state;
    struct match m;
    struct http_request req;
    struct route r = routed("GET", "/api/v1/namespaces/ci/pods", 1);

    parse_ok("{'query': {'watch': true, 'labelSelector': 'pod=runner-*'}}", &m);
    req_init(&req, "GET", "/api/v1/namespaces/ci/pods");
    assert_int_equal(match_request(&m, &req, &r, NULL), 0);
    req_param(&req, "watch", "1");
    assert_int_equal(match_request(&m, &req, &r, NULL), 0);
    req_param(&req, "labelSelector", "app=web");
    assert_int_equal(match_request(&m, &req, &r, NULL), 0);
    req_param(&req, "labelSelector", "pod=runner-1"); /* any value of a repeated key */
    assert_int_equal(match_request(&m, &req, &r, NULL), 1);
    match_release(&m);
    req_release(&req);

    /* true: present, even with no value ("?watch"); names are case-sensitive. */
    parse_ok("{'query': {'follow': true}}", &m);
    req_init(&req, "GET", "/api/v1/namespaces/ci/pods/p/log");
    r = routed("GET", "/api/v1/namespaces/ci/pods/p/log", 0);
    req_param(&req, "Follow", "true");
    assert_int_equal(match_request(&m, &req, &r, NULL), 0);
    req_param(&req, "follow", "");
    assert_int_equal(match_request(&m, &req, &r, NULL), 1);
    match_release(&m);

    parse_ok("{'verb': 'log', 'query': {'container': 'build'}}", &m);
    assert_int_equal(match_request(&m, &req, &r, NULL), 0);
    req_param(&req, "container", "build");
    assert_int_equal(match_request(&m, &req, &r, NULL), 1);
    match_release(&m);
    req_release(&req);

    /* exec's repeated command=: any of them */
    parse_ok("{'verb': 'exec', 'query': {'command': 'gitlab-runner-helper'}}", &m);
    r = routed("POST", "/api/v1/namespaces/ci/pods/p/exec", 0);
    req_init(&req, "POST", "/api/v1/namespaces/ci/pods/p/exec");
    req_param(&req, "command", "sh");
    req_param(&req, "command", "-c");
    assert_int_equal(match_request(&m, &req, &r, NULL), 0);
    req_param(&req, "command", "gitlab-runner-helper");
    assert_int_equal(match_request(&m, &req, &r, NULL), 1);
    match_release(&m);
    req_release(&req);
}

static void test_headers(void **state)
{
    (void)state;
    struct match m;
    struct http_request req;
    struct route r = routed("POST", "/api/v1/namespaces/ci/pods", 0);

    parse_ok("{'headers': {'User-Agent': 'gitlab-runner*', 'content-type': true}}", &m);
    req_init(&req, "POST", "/api/v1/namespaces/ci/pods");
    req_header(&req, "user-agent", "kubectl/v1.32.0 (linux/amd64)");
    assert_int_equal(match_request(&m, &req, &r, NULL), 0);
    req_header(&req, "USER-AGENT", "gitlab-runner 18.7.0 (main; go1.24; linux/amd64)");
    assert_int_equal(match_request(&m, &req, &r, NULL), 0); /* no Content-Type yet */
    req_header(&req, "Content-Type", "application/vnd.kubernetes.protobuf");
    assert_int_equal(match_request(&m, &req, &r, NULL), 1);
    match_release(&m);

    /* Values are case-sensitive patterns. */
    parse_ok("{'headers': {'Content-Type': 'application/json*'}}", &m);
    assert_int_equal(match_request(&m, &req, &r, NULL), 0);
    match_release(&m);
    parse_ok("{'headers': {'Content-Type': '*PROTOBUF'}}", &m);
    assert_int_equal(match_request(&m, &req, &r, NULL), 0);
    match_release(&m);
    parse_ok("{'headers': {'Content-Type': '*protobuf'}}", &m);
    assert_int_equal(match_request(&m, &req, &r, NULL), 1);
    match_release(&m);
    req_release(&req);
}

/* ---- body paths ---- */

struct collect {
    char out[512];
    int stop_at; /* visit returns its count when it reaches this many (0: never) */
    int n;
};

static int on_collect(const cJSON *v, void *arg)
{
    struct collect *c = arg;
    char *s = cJSON_PrintUnformatted(v);
    size_t o = strlen(c->out);
    snprintf(c->out + o, sizeof c->out - o, "%s%s", o ? "," : "", s ? s : "?");
    free(s);
    c->n++;
    return c->stop_at && c->n >= c->stop_at ? 100 + c->n : 0;
}

/* The values path reaches in body, comma-separated ("" for none); -1 paths give "ERR". */
static const char *reach(const cJSON *body, const char *path, struct collect *c)
{
    memset(c, 0, sizeof *c);
    char *p = dq(path);
    int r = match_body_path(body, p, on_collect, c);
    free(p);
    if (r < 0)
        return "ERR";
    assert_int_equal(r, 0);
    return c->out;
}

static void test_body_path_language(void **state)
{
    (void)state;
    struct collect c;
    cJSON *b =
        json("{'metadata': {'name': 'p', 'labels': {'app': 'web', 'a.b/c': 'x',"
             " 'q\\'t': 'quoted', 'b\\\\s': 'slash'}},"
             " 'spec': {'containers': [{'name': 'build', 'image': 'alpine'},"
             "   {'name': 'helper', 'ports': [{'containerPort': 80}, {'containerPort': 81}]},"
             "   {'name': 'svc', 'image': 'postgres'}], 'empty': [], 'nul': null},"
             " '': {'': 'empty keys'}}");
    assert_string_equal(reach(b, "metadata.name", &c), "\"p\"");
    assert_string_equal(reach(b, "metadata.labels.app", &c), "\"web\"");
    assert_string_equal(reach(b, "metadata.labels['a.b/c']", &c), "\"x\"");
    assert_string_equal(reach(b, "metadata['labels']['app']", &c), "\"web\"");
    assert_string_equal(reach(b, "['metadata'].name", &c), "\"p\"");
    assert_string_equal(reach(b, "metadata.labels['q\\'t']", &c), "\"quoted\"");
    assert_string_equal(reach(b, "metadata.labels['b\\\\s']", &c), "\"slash\"");
    assert_string_equal(reach(b, "metadata.labels.a.b/c", &c), ""); /* dots split keys */
    assert_string_equal(reach(b, "spec.containers[0].name", &c), "\"build\"");
    assert_string_equal(reach(b, "spec.containers[2].image", &c), "\"postgres\"");
    assert_string_equal(reach(b, "spec.containers[3].image", &c), "");
    assert_string_equal(reach(b, "spec.containers[*].name", &c), "\"build\",\"helper\",\"svc\"");
    assert_string_equal(reach(b, "spec.containers[*].image", &c), "\"alpine\",\"postgres\"");
    assert_string_equal(reach(b, "spec.containers[*].ports[*].containerPort", &c), "80,81");
    assert_string_equal(reach(b, "spec.containers[1].ports[1]", &c), "{\"containerPort\":81}");
    assert_string_equal(reach(b, "spec.empty[*]", &c), "");
    assert_string_equal(reach(b, "spec.empty[0]", &c), "");
    assert_string_equal(reach(b, "spec.nul", &c), "null"); /* null is there, not absent */
    assert_string_equal(reach(b, "spec.nul.x", &c), "");
    assert_string_equal(reach(b, "metadata.labels[*]", &c),
                        "\"web\",\"x\",\"quoted\",\"slash\"");     /* [*] over an object's values */
    assert_string_equal(reach(b, "metadata.name[0]", &c), "");     /* index into a string */
    assert_string_equal(reach(b, "metadata.name.x", &c), "");      /* key into a string */
    assert_string_equal(reach(b, "spec.containers.name", &c), ""); /* key into an array */
    assert_string_equal(reach(b, "metadata[0]", &c), "");          /* index into an object */
    assert_string_equal(reach(b, "Metadata.name", &c), "");        /* case-sensitive */
    assert_string_equal(reach(b, "['']['']", &c), "\"empty keys\"");
    assert_string_equal(reach(b, "a..b", &c), "ERR");

    /* [key=value]: the elements of an array whose member key is that string. */
    assert_string_equal(reach(b, "spec.containers[name=helper].ports[0].containerPort", &c), "80");
    assert_string_equal(reach(b, "spec.containers[name=build].image", &c), "\"alpine\"");
    assert_string_equal(reach(b, "spec.containers[name='svc'].image", &c), "\"postgres\"");
    assert_string_equal(reach(b, "spec.containers[name=nope].image", &c), "");
    assert_string_equal(reach(b, "spec.containers[image=alpine].name", &c), "\"build\"");
    assert_string_equal(reach(b, "spec.containers[name=].name", &c), "");
    assert_string_equal(reach(b, "metadata[name=p]", &c), ""); /* an object is not an array */
    assert_string_equal(reach(b, "spec.containers[*].ports[containerPort=80]", &c),
                        ""); /* numbers are not selected: strings only */
    cJSON *dup = json("{'l': [{'name': 'a', 'v': 1}, {'name': 'b', 'v': 2}, {'name': 'a', 'v': 3},"
                      " {'name': 'a]b', 'v': 4}, 'a', {'name': 1}]}");
    assert_string_equal(reach(dup, "l[name=a].v", &c), "1,3"); /* every element that has it */
    assert_string_equal(reach(dup, "l[name='a]b'].v", &c), "4");
    assert_string_equal(reach(dup, "l[name=1]", &c), "");
    cJSON_Delete(dup);

    /* A top-level array: "[0]". */
    cJSON *arr = json("[{'op': 'add'}, {'op': 'remove'}]");
    assert_string_equal(reach(arr, "[0].op", &c), "\"add\"");
    assert_string_equal(reach(arr, "[*].op", &c), "\"add\",\"remove\"");
    assert_string_equal(reach(arr, "op", &c), "");
    cJSON_Delete(arr);

    /* visit's first non-zero answer stops the walk and is returned. */
    memset(&c, 0, sizeof c);
    c.stop_at = 2;
    assert_int_equal(match_body_path(b, "spec.containers[*].name", on_collect, &c), 102);
    assert_string_equal(c.out, "\"build\",\"helper\"");
    /* No visit: 1 when something is reached. */
    assert_int_equal(match_body_path(b, "spec.containers[*].image", NULL, NULL), 1);
    assert_int_equal(match_body_path(b, "spec.containers[*].command", NULL, NULL), 0);
    /* No body: nothing is reached, but a bad path is still -1. */
    assert_int_equal(match_body_path(NULL, "spec", on_collect, &c), 0);
    assert_int_equal(match_body_path(NULL, "spec[", on_collect, &c), -1);
    assert_int_equal(match_body_path(b, NULL, on_collect, &c), -1);
    cJSON_Delete(b);
}

/* Does the predicate {path, op} hold on body? spec is one body entry (' for "). */
static int holds(const char *entry, const cJSON *body)
{
    char spec[1024];
    struct match m;
    snprintf(spec, sizeof spec, "{'body': [%s]}", entry);
    parse_ok(spec, &m);
    assert_int_equal(match_needs_body(&m), 1);
    int r = match_request(&m, NULL, NULL, body);
    match_release(&m);
    return r;
}

static void test_body_predicates(void **state)
{
    (void)state;
    cJSON *b = json("{'n': 1, 'f': 1.5, 'big': 4294967296, 's': '1', 't': true, 'z': null,"
                    " 'o': {'a': 1, 'b': [1, 2]}, 'l': [{'x': 1}, {'x': 2}], 'e': {}}");
    assert_true(holds("{'path': 'n', 'exists': true}", b));
    assert_false(holds("{'path': 'm', 'exists': true}", b));
    assert_true(holds("{'path': 'm', 'absent': true}", b));
    assert_false(holds("{'path': 'n', 'absent': true}", b));
    assert_true(holds("{'path': 'z', 'exists': true}", b));
    assert_true(holds("{'path': 'z', 'equals': null}", b));
    /* Numbers by value, whatever their spelling. */
    assert_true(holds("{'path': 'n', 'equals': 1}", b));
    assert_true(holds("{'path': 'n', 'equals': 1.0}", b));
    assert_true(holds("{'path': 'n', 'equals': 1e0}", b));
    assert_true(holds("{'path': 'f', 'equals': 15e-1}", b));
    assert_true(holds("{'path': 'big', 'equals': 4.294967296e9}", b));
    assert_false(holds("{'path': 'n', 'equals': 2}", b));
    assert_false(holds("{'path': 'n', 'equals': '1'}", b)); /* a string is not a number */
    assert_false(holds("{'path': 's', 'equals': 1}", b));
    assert_true(holds("{'path': 's', 'equals': '1'}", b));
    assert_true(holds("{'path': 't', 'equals': true}", b));
    assert_false(holds("{'path': 't', 'equals': 1}", b));
    assert_false(holds("{'path': 't', 'equals': false}", b));
    /* Objects and arrays: whole values, key order ignored, element order kept. */
    assert_true(holds("{'path': 'o', 'equals': {'b': [1, 2.0], 'a': 1}}", b));
    assert_false(holds("{'path': 'o', 'equals': {'a': 1}}", b));
    assert_false(holds("{'path': 'o.b', 'equals': [2, 1]}", b));
    assert_true(holds("{'path': 'e', 'equals': {}}", b));
    /* [*]: equals when any element does; exists when any; absent when none. */
    assert_true(holds("{'path': 'l[*].x', 'equals': 2}", b));
    assert_false(holds("{'path': 'l[*].x', 'equals': 3}", b));
    assert_true(holds("{'path': 'l[*].y', 'absent': true}", b));
    assert_false(holds("{'path': 'l[*].x', 'absent': true}", b));
    /* No decoded body: every path is absent. */
    assert_true(holds("{'path': 'n', 'absent': true}", NULL));
    assert_false(holds("{'path': 'n', 'exists': true}", NULL));
    assert_false(holds("{'path': 'z', 'equals': null}", NULL));

    /* Predicates are ANDed, with each other and with the rest. */
    struct match m;
    parse_ok("{'body': [{'path': 'n', 'equals': 1}, {'path': 't', 'equals': true}]}", &m);
    assert_int_equal(match_request(&m, NULL, NULL, b), 1);
    match_release(&m);
    parse_ok("{'body': [{'path': 'n', 'equals': 1}, {'path': 't', 'absent': true}]}", &m);
    assert_int_equal(match_request(&m, NULL, NULL, b), 0);
    match_release(&m);
    cJSON_Delete(b);
}

/* The "when" predicates of pods, admission and stages: match_predicate() on validated entries,
 * "matches" and selectors included. */
static void test_when_predicates(void **state)
{
    (void)state;
    static const struct {
        const char *pred;
        int want;
    } cases[] = {
        {"{'path': 'spec.containers[name=helper].image', 'matches': '*alpine*'}", 1},
        {"{'path': 'spec.containers[name=helper].image', 'matches': '*ubuntu*'}", 0},
        {"{'path': 'spec.containers[name=build].image', 'matches': '*alpine*'}", 0},
        {"{'path': 'spec.containers[*].image', 'matches': 'docker:*-dind'}", 1},
        {"{'path': 'spec.containers[*].image', 'matches': 'docker:1*'}", 0},
        {"{'path': 'spec.containers[*].command[0]', 'matches': '*dumb-init'}", 1},
        {"{'path': 'spec.containers[*].stdin', 'matches': '*'}", 0}, /* not a string */
        {"{'path': 'spec.nope', 'matches': '*'}", 0},
        {"{'path': 'metadata.name', 'matches': 'runner-[a-z]*'}", 1},
        {"{'path': 'spec.containers[name=helper]', 'exists': true}", 1},
        {"{'path': 'spec.containers[name=svc-0]', 'absent': true}", 1},
        {"{'path': 'spec.containers[name=build].stdin', 'equals': true}", 1},
        {"{'path': 'spec.containers[name=build].stdin', 'notEquals': true}", 0},
        {"{'path': 'spec.containers[name=helper].image', 'notEquals': 'x'}", 1},
        /* notMatches: no value reached matches (the dind MTU example: no --mtu=1450 anywhere) */
        {"{'path': 'spec.containers[*].image', 'notMatches': 'docker:*-dind'}", 0},
        {"{'path': 'spec.containers[*].image', 'notMatches': 'docker:1*'}", 1},
        {"{'path': 'spec.containers[*].args[*]', 'notMatches': '--mtu=1450'}", 0},
        {"{'path': 'spec.containers[*].args[*]', 'notMatches': '--mtu=14[0-4][0-9]'}", 1},
        {"{'path': 'spec.nope', 'notMatches': '*'}", 1},
        {"{'path': 'spec.containers[name=helper].image'}", 0}, /* no operator: never */
        {"{'matches': '*'}", 0},                               /* no path: never */
    };
    cJSON *pod =
        json("{'metadata': {'name': 'runner-abc'},"
             " 'spec': {'containers': ["
             "   {'name': 'build', 'image': 'ruby:3', 'stdin': true,"
             "    'command': ['/scripts-1-2/dumb-init', '--', 'sh']},"
             "   {'name': 'helper', 'image': 'gitlab/gitlab-runner-helper:alpine3.19-x86_64-v17'},"
             "   {'name': 'svc-1', 'image': 'docker:27-dind', 'args': ['--tls=false', "
             "'--mtu=1450']}]}}");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *p = json(cases[i].pred);
        if (match_predicate(p, pod) != cases[i].want)
            fail_msg("%s: want %d", cases[i].pred, cases[i].want);
        cJSON_Delete(p);
    }
    cJSON *p = json("{'path': 'metadata.name', 'exists': true}");
    assert_int_equal(match_predicate(p, NULL), 0);
    assert_int_equal(match_predicate(NULL, pod), 0);
    cJSON_Delete(p);
    assert_int_equal(match_path_matches(pod, "spec.containers[*].name", "svc-*"), 1);
    assert_int_equal(match_path_matches(pod, "spec.containers[*].name", NULL), 0);
    assert_int_equal(match_path_matches(pod, "spec[", "*"), 0);
    cJSON_Delete(pod);
}

/* The same pod as a protobuf body (decoded by kproto_decode) and as JSON: every predicate gives
 * the same answer, and the expected one. */
static void test_body_json_and_protobuf_alike(void **state)
{
    (void)state;
    static const struct {
        const char *entry;
        int want;
    } cases[] = {
        {"{'path': 'kind', 'equals': 'Pod'}", 1},
        {"{'path': 'apiVersion', 'equals': 'v1'}", 1},
        {"{'path': 'metadata.namespace', 'equals': 'gitlab-ci'}", 1},
        {"{'path': 'metadata.name', 'absent': true}", 1},
        {"{'path': 'metadata.generateName', 'equals': 'runner-abc123-project-42-concurrent-0-'}",
         1},
        {"{'path': 'metadata.labels[\\'job.runner.gitlab.com/pod\\']', 'exists': true}", 1},
        {"{'path': 'metadata.labels[\\'project.runner.gitlab.com/id\\']', 'equals': '42'}", 1},
        {"{'path': 'metadata.labels[\\'project.runner.gitlab.com/id\\']', 'equals': 42}", 0},
        {"{'path': 'metadata.annotations[\\'job.runner.gitlab.com/name\\']',"
         " 'equals': 'build \xf0\x9f\x9a\x80 \xc3\xbcn\xc3\xaf"
         "code'}",
         1},
        {"{'path': 'metadata.annotations[\\'kubernetes.io/psp\\']', 'absent': true}", 1},
        {"{'path': 'spec.containers[*].image', 'equals': 'postgres:16'}", 1},
        {"{'path': 'spec.containers[*].image', 'equals': 'postgres:15'}", 0},
        {"{'path': 'spec.containers[0].securityContext.readOnlyRootFilesystem', 'equals': false}",
         1},
        {"{'path': 'spec.containers[*].securityContext.readOnlyRootFilesystem', 'equals': true}",
         0},
        {"{'path': 'spec.containers[1].securityContext', 'absent': true}", 1},
        {"{'path': 'spec.containers[0].securityContext.capabilities.drop',"
         " 'equals': ['NET_RAW', 'MKNOD']}",
         1},
        {"{'path': 'spec.containers[0].resources.limits', 'equals': {'memory': '4Gi', 'cpu': '2'}}",
         1},
        {"{'path': 'spec.containers[0].stdin', 'equals': true}", 1},
        {"{'path': 'spec.containers[*].env[*].valueFrom.secretKeyRef.name', 'equals': 'db'}", 1},
        {"{'path': 'spec.containers[0].env[1].value', 'absent': true}", 1},
        {"{'path': 'spec.containers[2].ports[0].containerPort', 'equals': 5432.0}", 1},
        {"{'path': 'spec.containers[2].livenessProbe.httpGet.port', 'equals': 'http'}", 1},
        {"{'path': 'spec.containers[2].readinessProbe.tcpSocket.port', 'equals': 5432}", 1},
        {"{'path': 'spec.initContainers[0].securityContext.runAsUser', 'equals': 0}", 1},
        {"{'path': 'spec.hostAliases', 'exists': true}", 1},
        {"{'path': 'spec.hostAliases[1].hostnames[0]', 'equals': 'docker'}", 1},
        {"{'path': 'spec.hostAliases[*].hostnames[*]', 'equals': 'registry.local'}", 1},
        {"{'path': 'spec.nodeSelector[\\'kubernetes.io/os\\']', 'equals': 'linux'}", 1},
        {"{'path': 'spec.nodeSelector[\\'kubernetes.io/os\\']', 'equals': 'windows'}", 0},
        {"{'path': 'spec.terminationGracePeriodSeconds', 'equals': 0}", 1},
        {"{'path': 'spec.activeDeadlineSeconds', 'equals': 3601}", 1},
        {"{'path': 'spec.priority', 'equals': -5}", 1},
        {"{'path': 'spec.securityContext.supplementalGroups', 'equals': [4, 27]}", 1},
        {"{'path': 'spec.volumes[*].hostPath.path', 'equals': '/var/cache/gitlab'}", 1},
        {"{'path': 'spec.volumes[*].gitRepo', 'absent': true}", 1},
        {"{'path': 'spec.volumes[9]', 'equals': {'name': 'legacy'}}", 1},
        {"{'path': 'spec.imagePullSecrets[1]', 'equals': {}}", 1},
        {"{'path': 'spec.dnsConfig.options[1].value', 'absent': true}", 1},
        {"{'path': 'spec.enableServiceLinks', 'equals': false}", 1},
        {"{'path': 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
         ".nodeSelectorTerms[0].matchExpressions[0].values[*]', 'equals': 'ci-large'}",
         1},
        {"{'path': 'status', 'equals': {}}", 1},
        {"{'path': 'status.phase', 'absent': true}", 1},
    };
    size_t blen = 0, jlen = 0;
    uint8_t *bin = slurp("pod_runner.bin", &blen);
    uint8_t *text = slurp("pod_runner.json", &jlen);
    char err[256];
    cJSON *from_proto = kproto_decode(bin, blen, err, sizeof err);
    if (!from_proto)
        fail_msg("kproto_decode(pod_runner.bin): %s", err);
    cJSON *from_json = cJSON_ParseWithLength((const char *)text, jlen);
    assert_non_null(from_json);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int p = holds(cases[i].entry, from_proto), j = holds(cases[i].entry, from_json);
        if (p != j || p != cases[i].want)
            fail_msg("%s: protobuf %d, JSON %d, want %d", cases[i].entry, p, j, cases[i].want);
    }

    /* A whole rule, as the engine would run it on a create. */
    struct match m;
    struct http_request req;
    struct route r = routed("POST", "/api/v1/namespaces/gitlab-ci/pods", 0);
    parse_ok("{'verb': 'create', 'resource': 'pods', 'namespace': 'gitlab-*',"
             " 'body': [{'path': 'spec.hostAliases', 'exists': true},"
             "          {'path': 'spec.nodeSelector[\\'kubernetes.io/os\\']', 'equals': 'linux'},"
             "          {'path': 'spec.containers[*].securityContext.readOnlyRootFilesystem',"
             "           'equals': false}]}",
             &m);
    req_init(&req, "POST", "/api/v1/namespaces/gitlab-ci/pods");
    assert_int_equal(match_request(&m, &req, &r, from_proto), 1);
    assert_int_equal(match_request(&m, &req, &r, from_json), 1);
    assert_int_equal(match_request(&m, &req, &r, NULL), 0);
    match_release(&m);
    req_release(&req);

    cJSON_Delete(from_proto);
    cJSON_Delete(from_json);
    free(bin);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_matches_everything),
        cmocka_unit_test(test_parse_everything),
        cmocka_unit_test(test_every_verb_name),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_resource_errors),
        cmocka_unit_test(test_body_path_errors),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_messages_are_bounded_and_clean),
        cmocka_unit_test(test_errors_are_all_reported),
        cmocka_unit_test(test_verb_of),
        cmocka_unit_test(test_verbs_and_resources),
        cmocka_unit_test(test_subresource),
        cmocka_unit_test(test_namespace_and_name),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_body_path_language),
        cmocka_unit_test(test_body_predicates),
        cmocka_unit_test(test_when_predicates),
        cmocka_unit_test(test_body_json_and_protobuf_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
