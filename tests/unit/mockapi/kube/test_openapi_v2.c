/* test_openapi_v2.c -- the OpenAPI v2 document as JSON and as protobuf, the latter decoded by
 * protoc */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/kinds.h"
#include "mockapi/kube/openapi_v2.h"

#define PROTOC "/usr/bin/protoc"
#define VECTORS KF_VECTORS_DIR "/openapi"
#define SUBSET_PROTO "OpenAPIv2-subset.proto"
#define MAX_FILE (4u * 1024u * 1024u) /* largest vector or protoc output read */

/* ---- files and protoc ---- */

/* The whole of a file, NUL-terminated (the NUL not counted in *len). Caller frees. */
static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096;
    size_t n = 0;
    char *buf = malloc(cap);
    size_t got;

    assert_non_null(buf);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        assert_true(n < MAX_FILE);
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static char *read_vector(const char *name, size_t *len)
{
    char path[1024];
    FILE *f;
    char *data;

    snprintf(path, sizeof(path), "%s/%s", VECTORS, name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    data = read_all(f, len);
    fclose(f);
    return data;
}

/* 1 when protoc is installed; else prints why the caller skips. */
static int have_protoc(void)
{
    if (access(PROTOC, X_OK) == 0)
        return 1;
    print_message("%s not found: skipping the protoc cross-check\n", PROTOC);
    return 0;
}

/* Runs protoc --decode or --encode (mode) of openapi.v2.Document with the subset schema over
 * input; returns its standard output (caller frees), and fails the test when protoc does. */
static char *protoc(const char *mode, const void *input, size_t len, size_t *out_len)
{
    char tmp[] = "/tmp/test_openapi_v2.XXXXXX";
    char cmd[2048];
    int fd = mkstemp(tmp);
    FILE *p;
    char *out;
    int status;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, input, len), (ssize_t)len);
    close(fd);
    snprintf(cmd, sizeof(cmd), PROTOC " --%s=openapi.v2.Document -I '%s' %s < '%s'", mode, VECTORS,
             SUBSET_PROTO, tmp);
    p = popen(cmd, "r");
    assert_non_null(p);
    out = read_all(p, out_len);
    status = pclose(p);
    unlink(tmp);
    if (status != 0)
        fail_msg("protoc --%s failed (status %d)", mode, status);
    return out;
}

/* text without its '#' comment lines. Caller frees. */
static char *strip_comments(const char *text)
{
    char *out = malloc(strlen(text) + 1);
    char *o = out;

    assert_non_null(out);
    while (*text != '\0') {
        const char *nl = strchr(text, '\n');
        size_t n = nl != NULL ? (size_t)(nl - text) + 1 : strlen(text);

        if (text[0] != '#') {
            memcpy(o, text, n);
            o += n;
        }
        text += n;
    }
    *o = '\0';
    return out;
}

/* ---- protoc's text format ---- */

/* The '}' closing the block whose '{' is at open, skipping quoted strings ("{name}" in paths). */
static const char *block_end(const char *open)
{
    int depth = 0;

    for (const char *p = open; *p != '\0'; p++) {
        if (*p == '"') {
            for (p++; *p != '\0' && *p != '"'; p++)
                if (*p == '\\' && p[1] != '\0')
                    p++;
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}' && --depth == 0) {
            return p;
        }
    }
    fail_msg("unbalanced block");
    return NULL;
}

/* needle in [from, to), or NULL. */
static const char *find_in(const char *from, const char *to, const char *needle)
{
    size_t n = strlen(needle);

    for (const char *p = from; p + n <= to; p++)
        if (memcmp(p, needle, n) == 0)
            return p;
    return NULL;
}

/* The block "name: \"<name>\"\n<indent>value { ... }" of a map entry, found after from: *start at
 * its "value {", returns its closing '}'. */
static const char *entry_value(const char *from, const char *to, const char *name,
                               const char **start)
{
    char needle[512];
    const char *at;

    snprintf(needle, sizeof(needle), "name: \"%s\"\n", name);
    at = find_in(from, to, needle);
    if (at == NULL)
        fail_msg("no entry %s", name);
    at = find_in(at, to, "value {");
    assert_non_null(at);
    *start = at;
    return block_end(at + strlen("value "));
}

/* A YAML scalar as openapi_v2.c writes it, as protoc prints it inside a string: plain for
 * letters and digits, else double-quoted (the quotes escaped for protoc). */
static void yaml_scalar(const char *s, char *buf, size_t len)
{
    int plain = s[0] != '\0';

    for (const char *p = s; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            plain = 0;
    snprintf(buf, len, plain ? "%s" : "\\\"%s\\\"", s);
}

/* The x-kubernetes-group-version-kind of kind k as protoc prints it: the map kube-apiserver puts
 * on operations, or (list) the one-entry list it puts on definitions. */
static void gvk_yaml(const struct kinds_info *k, int list, char *buf, size_t len)
{
    char group[128];

    yaml_scalar(k->group, group, sizeof(group));
    snprintf(buf, len, "yaml: \"%sgroup: %s\\n%sversion: %s\\n%skind: %s\\n\"", list ? "- " : "",
             group, list ? "  " : "", k->version, list ? "  " : "", k->kind);
}

static void schema_name(const struct kinds_info *k, char *buf, size_t len)
{
    const char *pkg = k->group[0] == '\0' ? "core" : k->group;

    snprintf(buf, len, "io.k8s.api.%.*s.%s.%s", (int)strcspn(pkg, "."), pkg, k->version, k->kind);
}

/* "/api/v1/namespaces/{namespace}/pods/{name}", "/apis/policy/v1/.../{name}". */
static void item_path(const struct kinds_info *k, char *buf, size_t len)
{
    snprintf(buf, len, "/api%s%s/%s%s/%s/{name}", k->group[0] != '\0' ? "s/" : "", k->group,
             k->version, k->namespaced ? "/namespaces/{namespace}" : "", k->resource);
}

/* ---- the encoder on a small document that uses every message it writes ---- */

static unsigned char *encode_vector(const char *name, size_t *len)
{
    char *json = read_vector(name, NULL);
    cJSON *doc = cJSON_Parse(json);
    unsigned char *out = NULL;
    char err[256];

    assert_non_null(doc);
    if (openapi_v2_encode(doc, &out, len, err, sizeof(err)) < 0)
        fail_msg("openapi_v2_encode: %s", err);
    cJSON_Delete(doc);
    free(json);
    return out;
}

/* Byte for byte what protoc made of encode_small.txtpb: field numbers, wire types, field order. */
static void test_encode_small_bytes(void **state)
{
    size_t len;
    size_t want_len;
    unsigned char *got = encode_vector("encode_small.json", &len);
    char *want = read_vector("encode_small.bin", &want_len);

    (void)state;
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
    free(want);
    free(got);
}

/* protoc reads the bytes back as the hand-checked text, and the committed .bin is still what
 * protoc makes of that text. */
static void test_encode_small_protoc(void **state)
{
    size_t len;
    size_t bin_len;
    unsigned char *got;
    char *text;
    char *want;
    char *txtpb;
    char *bin;

    (void)state;
    if (!have_protoc()) {
        skip();
        return;
    }
    got = encode_vector("encode_small.json", &len);
    text = protoc("decode", got, len, NULL);
    txtpb = read_vector("encode_small.txtpb", NULL);
    want = strip_comments(txtpb);
    assert_string_equal(text, want);
    bin = protoc("encode", txtpb, strlen(txtpb), &bin_len);
    assert_int_equal(bin_len, len);
    assert_memory_equal(bin, got, len);
    free(bin);
    free(want);
    free(txtpb);
    free(text);
    free(got);
}

struct bad_case {
    const char *json;
    const char *err;
};

static void test_encode_errors(void **state)
{
    static const struct bad_case cases[] = {
        {"[]", "(document): Document must be an object"},
        {"{\"swagger\":2}", "swagger: must be a string"},
        {"{\"openapi\":\"3.0.0\"}", "(document): unknown key \"openapi\" in Document"},
        {"{\"paths\":{\"/p\":{\"get\":{\"nullable\":true}}}}",
         "paths./p.get: unknown key \"nullable\" in Operation"},
        {"{\"paths\":{\"/p\":{\"get\":{\"parameters\":[{\"name\":\"h\",\"in\":\"header\"}]}}}}",
         "paths./p.get.parameters: unsupported parameter location \"header\" (known: body, "
         "query, path)"},
        {"{\"paths\":{\"/p\":{\"get\":{\"parameters\":{}}}}}",
         "paths./p.get.parameters: must be an array"},
        {"{\"paths\":{\"/p\":{\"parameters\":[{\"name\":\"n\",\"in\":\"path\",\"schema\":{}}]}}}",
         "paths./p.parameters: unknown key \"schema\" in PathParameterSubSchema"},
        {"{\"definitions\":{\"A\":{\"type\":3}}}",
         "definitions.A.type: type must be a string or an array of strings"},
        {"{\"definitions\":{\"A\":{\"properties\":{\"b\":{\"nullable\":true}}}}}",
         "definitions.A.properties.b: unknown key \"nullable\" in Schema"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *doc = cJSON_Parse(cases[i].json);
        unsigned char *out = (unsigned char *)"unchanged";
        size_t len = 99;
        char err[256];

        assert_non_null(doc);
        assert_int_equal(openapi_v2_encode(doc, &out, &len, err, sizeof(err)), -1);
        assert_null(out);
        assert_int_equal(len, 0);
        assert_string_equal(err, cases[i].err);
        cJSON_Delete(doc);
    }
}

static void test_encode_depth_cap(void **state)
{
    cJSON *doc = cJSON_Parse("{\"definitions\":{\"A\":{}}}");
    cJSON *s = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "definitions"), "A");
    unsigned char *out;
    size_t len;
    char err[256];

    (void)state;
    for (int i = 0; i < 40; i++) /* schema.items.items...: one level each */
        s = cJSON_AddObjectToObject(s, "items");
    assert_int_equal(openapi_v2_encode(doc, &out, &len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nested more than"));
    cJSON_Delete(doc);
}

/* ---- the served document ---- */

static void test_document_is_deterministic(void **state)
{
    unsigned char *a;
    unsigned char *b;
    size_t alen;
    size_t blen;

    (void)state;
    assert_int_equal(openapi_v2_document(&a, &alen), 0);
    assert_int_equal(openapi_v2_document(&b, &blen), 0);
    assert_true(alen > 1000);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    /* Document.swagger = "2.0" first: tag 0x0a, length 3. */
    assert_memory_equal(a,
                        "\x0a\x03"
                        "2.0",
                        5);
    free(a);
    free(b);
}

/* Every "$ref" below item is "#/definitions/<a definition of the document>". */
static void assert_refs_resolve(const cJSON *item, const cJSON *definitions)
{
    const cJSON *c;

    if (cJSON_IsString(item) && item->string != NULL && strcmp(item->string, "$ref") == 0) {
        const char *prefix = "#/definitions/";

        assert_memory_equal(item->valuestring, prefix, strlen(prefix));
        assert_non_null(
            cJSON_GetObjectItemCaseSensitive(definitions, item->valuestring + strlen(prefix)));
    }
    for (c = item->child; c != NULL; c = c->next)
        assert_refs_resolve(c, definitions);
}

static const cJSON *param(const cJSON *op, const char *name)
{
    const cJSON *p;

    cJSON_ArrayForEach(p, cJSON_GetObjectItem(op, "parameters"))
    {
        if (strcmp(cJSON_GetObjectItem(p, "name")->valuestring, name) == 0)
            return p;
    }
    return NULL;
}

static void assert_json(const cJSON *item, const char *want)
{
    char *got;

    assert_non_null(item);
    got = cJSON_PrintUnformatted(item);
    assert_string_equal(got, want);
    free(got);
}

/* The JSON form, read the way cli-runtime's supportsQueryParam and kubectl's GetConsumes read the
 * protobuf one. */
static void test_json_document(void **state)
{
    cJSON *doc = openapi_v2_json();
    const cJSON *paths;
    const cJSON *defs;
    const cJSON *patch;
    const cJSON *consumes;
    const cJSON *c;
    int n;

    (void)state;
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "swagger")->valuestring, "2.0");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "info"), "title")->valuestring,
                        "Kubernetes");
    paths = cJSON_GetObjectItem(doc, "paths");
    defs = cJSON_GetObjectItem(doc, "definitions");
    assert_non_null(paths);
    assert_non_null(defs);

    patch = cJSON_GetObjectItem(
        cJSON_GetObjectItem(paths, "/api/v1/namespaces/{namespace}/pods/{name}"), "patch");
    assert_json(cJSON_GetObjectItem(patch, "x-kubernetes-group-version-kind"),
                "{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}");
    assert_json(param(patch, "fieldValidation"),
                "{\"name\":\"fieldValidation\",\"in\":\"query\",\"description\":\"how to handle "
                "unknown or duplicate fields in the body: Ignore, Warn or Strict\","
                "\"type\":\"string\",\"uniqueItems\":true}");
    /* The v3 requestBody became the first parameter and consumes. */
    assert_json(cJSON_GetArrayItem(cJSON_GetObjectItem(patch, "parameters"), 0),
                "{\"name\":\"body\",\"in\":\"body\",\"schema\":{\"$ref\":\"#/definitions/"
                "io.k8s.apimachinery.pkg.apis.meta.v1.Patch\"},\"required\":true}");
    /* No strategic merge patch in consumes: kubectl apply then patches from its built-in types
     * (kubectl getPatchTypeFromOpenAPI) instead of these field-less schemas. */
    consumes = cJSON_GetObjectItem(patch, "consumes");
    assert_json(consumes, "[\"application/json-patch+json\",\"application/merge-patch+json\","
                          "\"application/apply-patch+yaml\"]");
    assert_json(cJSON_GetObjectItem(patch, "produces"), "[\"application/json\"]");
    assert_json(cJSON_GetObjectItem(cJSON_GetObjectItem(patch, "responses"), "200"),
                "{\"description\":\"OK\",\"schema\":{\"$ref\":\"#/definitions/"
                "io.k8s.api.core.v1.Pod\"}}");
    assert_json(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(paths, "/api/v1/namespaces/{namespace}/pods/{name}"), "parameters"),
        "[{\"name\":\"name\",\"in\":\"path\",\"description\":\"name of the Pod\","
        "\"required\":true,\"type\":\"string\",\"uniqueItems\":true},"
        "{\"name\":\"namespace\",\"in\":\"path\",\"description\":\"object name and auth "
        "scope\",\"required\":true,\"type\":\"string\",\"uniqueItems\":true}]");

    assert_json(cJSON_GetObjectItem(cJSON_GetObjectItem(defs, "io.k8s.api.policy.v1."
                                                              "PodDisruptionBudget"),
                                    "x-kubernetes-group-version-kind"),
                "[{\"group\":\"policy\",\"version\":\"v1\",\"kind\":\"PodDisruptionBudget\"}]");
    /* The meta.v1 schemas every group brings are there once. */
    n = 0;
    cJSON_ArrayForEach(c, defs)
    {
        if (strcmp(c->string, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta") == 0)
            n++;
    }
    assert_int_equal(n, 1);
    assert_refs_resolve(doc, defs);
    cJSON_Delete(doc);
}

/* What kubectl 1.27/1.28 need, checked on protoc's reading of the bytes: every kind has a
 * definition with x-kubernetes-group-version-kind (kubectl openapi.NewOpenAPIData), and every
 * patchable kind's PATCH operation carries its GVK and fieldValidation (cli-runtime
 * supportsQueryParam). Decoding and encoding again gives the same bytes: protoc understood every
 * field, and the encoder wrote them in field-number order. */
static void test_document_protoc(void **state)
{
    unsigned char *pb;
    size_t len;
    size_t again_len;
    char *text;
    char *again;
    const char *end;
    const char *defs;
    const char *paths_end;

    (void)state;
    if (!have_protoc()) {
        skip();
        return;
    }
    assert_int_equal(openapi_v2_document(&pb, &len), 0);
    text = protoc("decode", pb, len, NULL);
    end = text + strlen(text);
    assert_memory_equal(text, "swagger: \"2.0\"\ninfo {\n  title: \"Kubernetes\"\n", 40);
    assert_null(strstr(text, "strategic-merge-patch"));

    defs = strstr(text, "\ndefinitions {\n");
    assert_non_null(defs);
    paths_end = defs;
    for (size_t i = 0; i < KIND__COUNT; i++) {
        const struct kinds_info *k = &kinds_table[i];
        char name[256];
        char yaml[512];
        const char *start;
        const char *stop;

        schema_name(k, name, sizeof(name));
        stop = entry_value(defs, end, name, &start);
        gvk_yaml(k, 1, yaml, sizeof(yaml));
        if (find_in(start, stop, yaml) == NULL)
            fail_msg("definition %s lacks %s", name, yaml);
        assert_non_null(find_in(start, stop, "name: \"x-kubernetes-group-version-kind\""));

        if (strstr(k->verbs, "patch") == NULL)
            continue;
        item_path(k, name, sizeof(name));
        stop = entry_value(text, paths_end, name, &start);
        start = find_in(start, stop, "patch {");
        if (start == NULL)
            fail_msg("path %s has no patch operation", name);
        stop = block_end(start + strlen("patch "));
        gvk_yaml(k, 0, yaml, sizeof(yaml));
        if (find_in(start, stop, yaml) == NULL)
            fail_msg("PATCH %s lacks %s", name, yaml);
        if (find_in(start, stop, "query_parameter_sub_schema {\n") == NULL ||
            find_in(start, stop, "name: \"fieldValidation\"\n") == NULL)
            fail_msg("PATCH %s lacks the fieldValidation query parameter", name);
    }

    again = protoc("encode", text, strlen(text), &again_len);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, pb, len);
    free(again);
    free(text);
    free(pb);
}

static void test_wants_proto(void **state)
{
    (void)state;
    assert_int_equal(openapi_v2_wants_proto(OPENAPI_V2_PROTO_ACCEPT), 1);
    assert_int_equal(openapi_v2_wants_proto(OPENAPI_V2_PROTO_CONTENT_TYPE), 1);
    assert_int_equal(openapi_v2_wants_proto("application/json"), 0);
    assert_int_equal(openapi_v2_wants_proto("*/*"), 0);
    assert_int_equal(openapi_v2_wants_proto(""), 0);
    assert_int_equal(openapi_v2_wants_proto(NULL), 0);
    assert_int_equal(openapi_v2_wants_proto("application/json, " OPENAPI_V2_PROTO_ACCEPT), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_small_bytes),
        cmocka_unit_test(test_encode_small_protoc),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_encode_depth_cap),
        cmocka_unit_test(test_document_is_deterministic),
        cmocka_unit_test(test_json_document),
        cmocka_unit_test(test_document_protoc),
        cmocka_unit_test(test_wants_proto),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
