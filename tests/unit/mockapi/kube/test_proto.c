/* test_proto.c -- tests mockapi/kube/proto.c with protoc-made vectors, bad bodies, mutations */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mockapi/kube/proto.h"

#ifndef KF_VECTORS_DIR
#error "KF_VECTORS_DIR must name tests/vectors (the CMake build sets it)"
#endif

/* The vectors in tests/vectors/proto: NAME.bin made by scripts/gen-proto-vectors.sh from NAME.txtpb
 * with protoc, and NAME.json written by hand as Kubernetes' JSON for the same object. */
static const char *const GOOD[] = {
    "pod_runner",
    "pod_run",
    "pod_raw_bytes",
    "secret",
    "configmap",
    "namespace",
    "service",
    "serviceaccount",
    "pdb",
    "ssar",
    "ssar_nonresource",
    "deleteoptions_v1",
    "deleteoptions_meta",
    "deleteoptions_policy",
    "event",
};

static uint8_t *slurp(const char *name, const char *ext, size_t *len)
{
    char path[512];
    FILE *f = NULL;
    uint8_t *buf = NULL;
    long n = -1;

    snprintf(path, sizeof path, "%s/proto/%s%s", KF_VECTORS_DIR, name, ext);
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

/* Prints the path of the first difference between two JSON values, to make a failure readable. */
static int first_diff(const cJSON *a, const cJSON *b, const char *path)
{
    char sub[1024];

    if ((a->type & 0xff) != (b->type & 0xff) ||
        (cJSON_IsArray(a) && cJSON_GetArraySize(a) != cJSON_GetArraySize(b))) {
        print_error("first difference at %s\n", path[0] ? path : "(top)");
        return 1;
    }
    if (cJSON_IsObject(a)) {
        const cJSON *c;
        cJSON_ArrayForEach(c, a)
        {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(b, c->string);
            snprintf(sub, sizeof sub, "%s.%s", path, c->string);
            if (!o) {
                print_error("first difference at %s (only in the decoder's output)\n", sub);
                return 1;
            }
            if (first_diff(c, o, sub))
                return 1;
        }
        cJSON_ArrayForEach(c, b)
        {
            if (!cJSON_GetObjectItemCaseSensitive(a, c->string)) {
                print_error("first difference at %s.%s (only in the expected JSON)\n", path,
                            c->string);
                return 1;
            }
        }
        return 0;
    }
    if (cJSON_IsArray(a)) {
        for (int i = 0; i < cJSON_GetArraySize(a); i++) {
            snprintf(sub, sizeof sub, "%s[%d]", path, i);
            if (first_diff(cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i), sub))
                return 1;
        }
        return 0;
    }
    if (!cJSON_Compare(a, b, 1)) {
        print_error("first difference at %s\n", path);
        return 1;
    }
    return 0;
}

static void check_vector(const char *name)
{
    size_t len, jlen;
    uint8_t *body = slurp(name, ".bin", &len);
    char *json = (char *)slurp(name, ".json", &jlen);
    char err[256] = "unset";
    cJSON *want = cJSON_Parse(json);
    cJSON *got = kproto_decode(body, len, err, sizeof err);

    if (!want)
        fail_msg("%s.json does not parse", name);
    if (!got)
        fail_msg("%s.bin: %s", name, err);
    assert_string_equal(err, "");
    if (!cJSON_Compare(got, want, 1)) {
        char *s = cJSON_Print(got);
        print_error("%s: decoded\n%s\n", name, s);
        free(s);
        first_diff(got, want, "");
        fail_msg("%s.bin does not decode to %s.json", name, name);
    }
    cJSON_Delete(got);
    cJSON_Delete(want);
    free(json);
    free(body);
}

/* kproto_decode must fail with a message containing want. */
static void check_error(const void *body, size_t len, const char *want)
{
    char err[256] = "";
    cJSON *got = kproto_decode(body, len, err, sizeof err);

    if (got) {
        char *s = cJSON_PrintUnformatted(got);
        print_error("decoded instead of failing: %s\n", s);
        free(s);
        cJSON_Delete(got);
        fail_msg("expected an error containing '%s'", want);
    }
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
}

static void check_vector_error(const char *name, const char *want)
{
    size_t len;
    uint8_t *body = slurp(name, ".bin", &len);

    check_error(body, len, want);
    free(body);
}

/* ---- a little protobuf writer for hand-made bodies ---- */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
};

static void put_raw(struct wbuf *b, const void *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_varint(struct wbuf *b, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        put_raw(b, &c, 1);
    } while (v);
}

static void put_tag(struct wbuf *b, uint32_t num, unsigned wt)
{
    put_varint(b, ((uint64_t)num << 3) | wt);
}

static void put_lenfield(struct wbuf *b, uint32_t num, const void *s, size_t n)
{
    put_tag(b, num, 2);
    put_varint(b, n);
    put_raw(b, s, n);
}

static void put_str(struct wbuf *b, uint32_t num, const char *s)
{
    put_lenfield(b, num, s, strlen(s));
}

static void put_sub(struct wbuf *b, uint32_t num, const struct wbuf *sub)
{
    put_lenfield(b, num, sub->p, sub->len);
}

static void wfree(struct wbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* "k8s\0" + runtime.Unknown{typeMeta{apiVersion, kind}, raw}. Returns the offset of raw's first
 * byte. */
static size_t envelope(struct wbuf *out, const char *api_version, const char *kind,
                       const struct wbuf *raw)
{
    struct wbuf tm = {0};

    put_raw(out, "k8s\0", 4);
    put_str(&tm, 1, api_version);
    put_str(&tm, 2, kind);
    put_sub(out, 1, &tm);
    wfree(&tm);
    put_tag(out, 2, 2);
    put_varint(out, raw->len);
    put_raw(out, raw->p, raw->len);
    return out->len - raw->len;
}

/* Decodes raw as a v1 Pod; the caller frees the result. */
static cJSON *decode_pod(const struct wbuf *raw, char *err, size_t errlen)
{
    struct wbuf body = {0};
    cJSON *got;

    envelope(&body, "v1", "Pod", raw);
    got = kproto_decode(body.p, body.len, err, errlen);
    wfree(&body);
    return got;
}

static cJSON *must_decode_pod(const struct wbuf *raw)
{
    char err[256] = "";
    cJSON *got = decode_pod(raw, err, sizeof err);

    if (!got)
        fail_msg("decode failed: %s", err);
    return got;
}

static void check_pod_json(const struct wbuf *raw, const char *want_json)
{
    cJSON *got = must_decode_pod(raw);
    cJSON *want = cJSON_Parse(want_json);

    assert_non_null(want);
    if (!cJSON_Compare(got, want, 1)) {
        char *s = cJSON_PrintUnformatted(got);
        print_error("got  %s\nwant %s\n", s, want_json);
        free(s);
        fail();
    }
    cJSON_Delete(got);
    cJSON_Delete(want);
}

/* Pod{metadata{name: name}} with name's bytes as given. */
static void pod_named(struct wbuf *raw, const void *name, size_t n)
{
    struct wbuf meta = {0};

    put_lenfield(&meta, 1, name, n);
    put_sub(raw, 1, &meta);
    wfree(&meta);
}

/* ---- the vectors ---- */

#define VECTOR_TEST(name)                                                                          \
    static void test_vector_##name(void **state)                                                   \
    {                                                                                              \
        (void)state;                                                                               \
        check_vector(#name);                                                                       \
    }
VECTOR_TEST(pod_runner)
VECTOR_TEST(pod_run)
VECTOR_TEST(pod_raw_bytes)
VECTOR_TEST(secret)
VECTOR_TEST(configmap)
VECTOR_TEST(namespace)
VECTOR_TEST(service)
VECTOR_TEST(serviceaccount)
VECTOR_TEST(pdb)
VECTOR_TEST(ssar)
VECTOR_TEST(ssar_nonresource)
VECTOR_TEST(deleteoptions_v1)
VECTOR_TEST(deleteoptions_meta)
VECTOR_TEST(deleteoptions_policy)
VECTOR_TEST(event)

static void test_bad_vectors(void **state)
{
    (void)state;
    check_vector_error("bad_kind", "unsupported protobuf kind \"Foo\"");
    check_vector_error(
        "bad_api_version",
        "unsupported apiVersion \"apps/v1\" for protobuf kind \"Pod\" (expected \"v1\")");
    check_vector_error("bad_encoding", "unsupported contentEncoding \"gzip\"");
    check_vector_error("bad_no_magic", "missing \"k8s\\0\" magic");
}

static void test_error_texts_are_exact(void **state)
{
    char err[256];
    size_t len;
    uint8_t *body = slurp("bad_kind", ".bin", &len);

    (void)state;
    assert_null(kproto_decode(body, len, err, sizeof err));
    assert_string_equal(err, "unsupported protobuf kind \"Foo\"");
    free(body);
    assert_null(kproto_decode("{\"kind\":\"Pod\"}", 14, err, sizeof err));
    assert_string_equal(err, "missing \"k8s\\0\" magic");
    assert_null(kproto_decode("k8s\0\x0a\x80", 6, err, sizeof err));
    assert_string_equal(err, "truncated varint at byte 5");
    /* a short err buffer is truncated, not overrun; a NULL one is fine */
    assert_null(kproto_decode("k8s\0\x0a\x80", 6, err, 6));
    assert_string_equal(err, "trunc");
    assert_null(kproto_decode("k8s\0\x0a\x80", 6, NULL, 0));
}

/* ---- hand-made bad bodies ---- */

static void test_empty_and_short(void **state)
{
    (void)state;
    check_error("", 0, "empty body");
    check_error(NULL, 0, "empty body");
    check_error(NULL, 10, "empty body");
    check_error("k8s", 3, "missing \"k8s\\0\" magic");
    check_error("K8s\0", 4, "missing \"k8s\\0\" magic");
}

static void test_magic_only(void **state)
{
    char err[64];

    (void)state;
    /* an empty runtime.Unknown has no kind */
    assert_null(kproto_decode("k8s\0", 4, err, sizeof err));
    assert_string_equal(err, "missing kind in the envelope's typeMeta");
}

static void test_truncated_varint(void **state)
{
    struct wbuf raw = {0}, spec = {0}, body = {0};
    char want[64];
    size_t at;

    (void)state;
    check_error("k8s\0\x80", 5, "truncated varint at byte 4");
    check_error("k8s\0\x0a\xff\xff", 7, "truncated varint at byte 5");
    /* inside the object: Pod{spec{terminationGracePeriodSeconds: <0xff, then the spec ends>}} */
    put_raw(&spec, "\x20\xff", 2);
    put_sub(&raw, 2, &spec);
    at = envelope(&body, "v1", "Pod", &raw);
    snprintf(want, sizeof want, "truncated varint at byte %zu", at + 3);
    check_error(body.p, body.len, want);
    wfree(&raw);
    wfree(&spec);
    wfree(&body);
}

static void test_varint_too_long(void **state)
{
    (void)state;
    check_error("k8s\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 15,
                "varint longer than 10 bytes at byte 4");
}

static void test_length_past_end(void **state)
{
    struct wbuf raw = {0}, meta = {0};
    char err[256];

    (void)state;
    check_error("k8s\0\x0a\x05\x61", 7,
                "length 5 at byte 5 runs past the end of its message (1 left)");
    check_error("k8s\0\x12\xff\xff\xff\xff\x0f", 10, "runs past the end of its message");
    /* a field may not run past its own message even when the body goes on: metadata is 3 bytes
     * long, its name claims 20 */
    put_raw(&meta, "\x0a\x14r1", 4);
    put_lenfield(&raw, 1, meta.p, 3);
    put_raw(&raw,
            "\x12\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
    assert_null(decode_pod(&raw, err, sizeof err));
    assert_non_null(strstr(err, "length 20"));
    assert_non_null(strstr(err, "(1 left)"));
    wfree(&raw);
    wfree(&meta);
}

static void test_group_wire_type(void **state)
{
    struct wbuf raw = {0};

    (void)state;
    check_error("k8s\0\x0b", 5, "unsupported group wire type 3 (field 1) at byte 4");
    check_error("k8s\0\x0c", 5, "unsupported group wire type 4 (field 1) at byte 4");
    /* inside the object, on an unknown field number: still an error, groups cannot be skipped
     * safely */
    put_raw(&raw, "\x2b\x2c", 2);
    assert_null(decode_pod(&raw, NULL, 0));
    {
        char err[256];
        assert_null(decode_pod(&raw, err, sizeof err));
        assert_non_null(strstr(err, "unsupported group wire type 3 (field 5)"));
    }
    wfree(&raw);
}

static void test_invalid_wire_and_field(void **state)
{
    (void)state;
    check_error("k8s\0\x0e", 5, "invalid wire type 6 (field 1) at byte 4");
    check_error("k8s\0\x0f", 5, "invalid wire type 7 (field 1) at byte 4");
    check_error("k8s\0\x02\x00", 6, "invalid field number 0 at byte 4");
    check_error("k8s\0\x4d\x01\x02", 7, "truncated 4-byte field 9 at byte 4");
    check_error("k8s\0\x49\x01\x02\x03\x04\x05\x06\x07", 12, "truncated 8-byte field 9 at byte 4");
}

static void test_wrong_wire_type(void **state)
{
    struct wbuf raw = {0};
    char err[256];

    (void)state;
    put_raw(&raw, "\x08\x01", 2); /* metadata as a varint */
    assert_null(decode_pod(&raw, err, sizeof err));
    assert_non_null(strstr(err, "Pod.metadata (field 1) has wire type 0, expected 2"));
    wfree(&raw);
    /* the envelope's typeMeta as a varint */
    check_error("k8s\0\x08\x01", 6,
                "runtime.Unknown field 1 has wire type 0, expected 2, at byte 4");
}

static void test_wrong_kind_and_version(void **state)
{
    struct wbuf raw = {0}, body = {0};

    (void)state;
    envelope(&body, "", "", &raw);
    check_error(body.p, body.len, "missing kind in the envelope's typeMeta");
    wfree(&body);
    envelope(&body, "v1", "Deployment", &raw);
    check_error(body.p, body.len, "unsupported protobuf kind \"Deployment\"");
    wfree(&body);
    envelope(&body, "policy/v1beta1", "PodDisruptionBudget", &raw);
    check_error(body.p, body.len, "unsupported apiVersion \"policy/v1beta1\"");
    wfree(&body);
    envelope(&body, "v1", "Status", &raw);
    check_error(body.p, body.len, "unsupported protobuf kind \"Status\"");
    wfree(&body);
}

static void test_content_type(void **state)
{
    struct wbuf body = {0}, raw = {0};

    (void)state;
    envelope(&body, "v1", "Pod", &raw);
    put_str(&body, 4, "application/json");
    check_error(body.p, body.len, "unsupported contentType \"application/json\"");
    wfree(&body);
}

/* Unknown fields nested 200000 deep cost one length check each level, at any place. */
static void build_bomb(struct wbuf *b, uint32_t num, size_t levels)
{
    size_t *lens = calloc(levels + 1, sizeof *lens);
    struct wbuf probe = {0};

    assert_non_null(lens);
    for (size_t i = 1; i <= levels; i++) {
        probe.len = 0;
        put_tag(&probe, num, 2);
        put_varint(&probe, lens[i - 1]);
        lens[i] = probe.len + lens[i - 1];
    }
    for (size_t i = levels; i > 0; i--) {
        put_tag(b, num, 2);
        put_varint(b, lens[i - 1]);
    }
    wfree(&probe);
    free(lens);
}

static void test_depth_bomb(void **state)
{
    struct wbuf raw = {0}, meta = {0}, body = {0}, bomb = {0};

    (void)state;
    /* in the object's metadata, on a field number ObjectMeta does not know */
    put_str(&meta, 1, "deep");
    build_bomb(&meta, 99, 200000);
    put_sub(&raw, 1, &meta);
    check_pod_json(&raw,
                   "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"deep\"}}");
    /* in the envelope itself */
    wfree(&raw);
    envelope(&body, "v1", "Namespace", &raw);
    build_bomb(&bomb, 9, 200000);
    put_raw(&body, bomb.p, bomb.len);
    {
        char err[256];
        cJSON *got = kproto_decode(body.p, body.len, err, sizeof err);
        if (!got)
            fail_msg("%s", err);
        cJSON_Delete(got);
    }
    /* on a known message field: the decoder descends, so the nesting ends at the first level whose
     * bytes are not what that field's message expects */
    wfree(&raw);
    wfree(&body);
    wfree(&bomb);
    build_bomb(&raw, 2, 200000); /* Pod.spec.containers.command.... */
    {
        char err[256];
        cJSON *got = decode_pod(&raw, err, sizeof err);
        cJSON_Delete(got);
    }
    wfree(&raw);
    wfree(&meta);
}

static void test_node_cap(void **state)
{
    struct wbuf raw = {0}, spec = {0}, ctr = {0};
    char err[256];

    (void)state;
    for (int i = 0; i < 100001; i++)
        put_str(&ctr, 4, "");
    put_sub(&spec, 2, &ctr);
    put_sub(&raw, 2, &spec);
    assert_null(decode_pod(&raw, err, sizeof err));
    assert_non_null(strstr(err, "more than 100000 fields"));
    wfree(&raw);
    wfree(&spec);
    wfree(&ctr);
}

static void test_map_cap(void **state)
{
    struct wbuf raw = {0}, meta = {0}, entry = {0};
    char key[32], err[256];
    cJSON *got;

    (void)state;
    for (int i = 0; i < 4096; i++) {
        entry.len = 0;
        snprintf(key, sizeof key, "k%d", i);
        put_str(&entry, 1, key);
        put_str(&entry, 2, "v");
        put_sub(&meta, 11, &entry);
    }
    put_sub(&raw, 1, &meta);
    got = must_decode_pod(&raw);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(got, "metadata"), "labels")),
                     4096);
    cJSON_Delete(got);
    put_str(&entry, 1, "k0"); /* a duplicate key does not count */
    put_sub(&meta, 11, &entry);
    raw.len = 0;
    put_sub(&raw, 1, &meta);
    got = must_decode_pod(&raw);
    cJSON_Delete(got);
    entry.len = 0;
    put_str(&entry, 1, "one-too-many");
    put_sub(&meta, 11, &entry);
    raw.len = 0;
    put_sub(&raw, 1, &meta);
    assert_null(decode_pod(&raw, err, sizeof err));
    assert_non_null(strstr(err, "map \"labels\" has more than 4096 entries"));
    wfree(&raw);
    wfree(&meta);
    wfree(&entry);
}

static void test_body_cap(void **state)
{
    size_t len = KPROTO_MAX_BODY + 1;
    uint8_t *body = calloc(1, len);
    char err[256];

    (void)state;
    assert_non_null(body);
    memcpy(body, "k8s", 4);
    assert_null(kproto_decode(body, len, err, sizeof err));
    assert_non_null(strstr(err, "exceeds the 8388608-byte limit"));
    free(body);
}

static void test_strings(void **state)
{
    struct wbuf raw = {0};
    char err[256];

    (void)state;
    /* NUL cannot live in a cJSON string */
    pod_named(&raw, "a\0b", 3);
    assert_null(decode_pod(&raw, err, sizeof err));
    assert_non_null(strstr(err, "name contains a NUL byte at byte"));
    /* invalid UTF-8 becomes U+FFFD, one per bad byte, as Go's encoding/json writes it */
    raw.len = 0;
    pod_named(&raw,
              "a\xff"
              "b\xc3",
              4);
    check_pod_json(&raw,
                   "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\xef\xbf\xbd"
                   "b\xef\xbf\xbd\"}}");
    raw.len = 0;
    pod_named(&raw, "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82\xac\xf0\x9f\x9a\x80", 19);
    check_pod_json(
        &raw, "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
              "\"\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xe2\x82\xac\xf0\x9f\x9a\x80\"}}");
    wfree(&raw);
}

/* Protobuf merge rules: a scalar's last occurrence wins (and an omitted zero clears it), messages
 * seen twice merge, repeated fields append wherever they occur, map keys seen twice keep the last
 * value. */
static void test_merge_rules(void **state)
{
    struct wbuf raw = {0}, m1 = {0}, m2 = {0}, spec = {0}, ctr = {0}, e = {0};

    (void)state;
    put_str(&m1, 1, "first");
    put_str(&m1, 3, "ns");
    put_str(&m1, 4, "/self");
    put_str(&e, 1, "k");
    put_str(&e, 2, "old");
    put_sub(&m1, 11, &e);
    put_sub(&raw, 1, &m1);
    put_str(&m2, 1, "second");
    put_str(&m2, 4, "");
    e.len = 0;
    put_str(&e, 1, "k");
    put_str(&e, 2, "new");
    put_sub(&m2, 11, &e);
    put_sub(&raw, 1, &m2);
    put_str(&ctr, 3, "sh");
    put_str(&ctr, 2, "img");
    put_str(&ctr, 3, "-c");
    put_raw(&ctr, "\x80\x01\x01", 3); /* stdin (16) = true */
    put_raw(&ctr, "\x80\x01\x00", 3); /* stdin = false: omitempty clears it */
    put_sub(&spec, 2, &ctr);
    put_sub(&raw, 2, &spec);
    check_pod_json(
        &raw, "{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
              "\"metadata\":{\"name\":\"second\",\"namespace\":\"ns\",\"labels\":{\"k\":\"new\"}},"
              "\"spec\":{\"containers\":[{\"command\":[\"sh\",\"-c\"],\"image\":\"img\"}]}}");
    wfree(&raw);
    wfree(&m1);
    wfree(&m2);
    wfree(&spec);
    wfree(&ctr);
    wfree(&e);
}

static void test_numbers(void **state)
{
    struct wbuf raw = {0}, spec = {0}, sc = {0}, packed = {0};

    (void)state;
    /* packed and unpacked repeated int64 mix; int32 and int64 negatives; bools other than 1 are
     * true */
    put_varint(&packed, 1);
    put_varint(&packed, 300);
    put_varint(&packed, (uint64_t)(int64_t)-7);
    put_lenfield(&sc, 4, packed.p, packed.len);
    put_tag(&sc, 4, 0);
    put_varint(&sc, 9);
    put_tag(&sc, 2, 0);
    put_varint(&sc, (uint64_t)(int64_t)-1); /* runAsUser */
    put_tag(&sc, 3, 0);
    put_varint(&sc, 2); /* runAsNonRoot */
    put_sub(&spec, 14, &sc);
    put_tag(&spec, 25, 0);
    put_varint(&spec, (uint64_t)(int64_t)INT32_MIN); /* priority */
    put_tag(&spec, 5, 0);
    put_varint(&spec, 4294967296ull); /* activeDeadlineSeconds, past 32 bits */
    put_sub(&raw, 2, &spec);
    check_pod_json(&raw,
                   "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"spec\":{"
                   "\"securityContext\":{\"supplementalGroups\":[1,300,-7,9],\"runAsUser\":-1,"
                   "\"runAsNonRoot\":true},\"priority\":-2147483648,"
                   "\"activeDeadlineSeconds\":4294967296}}");
    wfree(&raw);
    wfree(&spec);
    wfree(&sc);
    wfree(&packed);
}

static cJSON *decode_secret_time(int64_t secs, int with_nanos, char *err, size_t errlen)
{
    struct wbuf raw = {0}, meta = {0}, t = {0}, body = {0};
    cJSON *got;

    put_tag(&t, 1, 0);
    put_varint(&t, (uint64_t)secs);
    if (with_nanos) {
        put_tag(&t, 2, 0);
        put_varint(&t, 5);
    }
    put_sub(&meta, 8, &t);
    put_sub(&raw, 1, &meta);
    envelope(&body, "v1", "Secret", &raw);
    got = kproto_decode(body.p, body.len, err, errlen);
    wfree(&raw);
    wfree(&meta);
    wfree(&t);
    wfree(&body);
    return got;
}

static void check_time(int64_t secs, const char *want)
{
    char err[256];
    cJSON *got = decode_secret_time(secs, 1, err, sizeof err);
    const cJSON *ts;

    if (!got)
        fail_msg("%lld: %s", (long long)secs, err);
    ts = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(got, "metadata"),
                                          "creationTimestamp");
    if (!want)
        assert_null(ts);
    else
        assert_string_equal(cJSON_GetStringValue(ts), want);
    cJSON_Delete(got);
}

static void test_times(void **state)
{
    char err[256];

    (void)state;
    check_time(0, "1970-01-01T00:00:00Z");
    check_time(-1, "1969-12-31T23:59:59Z");
    check_time(951782400, "2000-02-29T00:00:00Z");
    check_time(-11670868800, "1600-03-01T12:00:00Z");
    check_time(-62167219200, "0000-01-01T00:00:00Z");
    check_time(253402300799, "9999-12-31T23:59:59Z");
    check_time(-62135596800, NULL); /* Go's zero time: null in Kubernetes' JSON, left out here */
    assert_null(decode_secret_time(253402300800, 0, err, sizeof err));
    assert_non_null(strstr(err, "outside 0000-01-01..9999-12-31"));
    assert_null(decode_secret_time(-62167219201, 0, err, sizeof err));
    assert_null(decode_secret_time(INT64_MIN, 0, err, sizeof err));
}

static void test_intorstring(void **state)
{
    struct wbuf raw = {0}, spec = {0}, port = {0}, ios = {0}, body = {0};
    char err[256];

    (void)state;
    put_raw(&ios, "\x08\x02\x10\x05", 4); /* type 2 */
    put_tag(&port, 3, 0);
    put_varint(&port, 80);
    put_sub(&port, 4, &ios);
    put_sub(&spec, 1, &port);
    put_sub(&raw, 2, &spec);
    envelope(&body, "v1", "Service", &raw);
    assert_null(kproto_decode(body.p, body.len, err, sizeof err));
    assert_non_null(strstr(err, "IntOrString type 2"));
    wfree(&raw);
    wfree(&spec);
    wfree(&port);
    wfree(&ios);
    wfree(&body);
}

static void test_skips_fixed_width_fields(void **state)
{
    struct wbuf raw = {0}, meta = {0};

    (void)state;
    put_str(&meta, 1, "p");
    put_raw(&meta,
            "\x99\x06"
            "12345678",
            10); /* field 99, 64-bit */
    put_raw(&meta,
            "\x9d\x06"
            "1234",
            6);                                /* field 99, 32-bit */
    put_raw(&meta, "\x98\x06\x80\x80\x01", 5); /* field 99, varint */
    put_sub(&raw, 1, &meta);
    check_pod_json(&raw, "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\"}}");
    wfree(&raw);
    wfree(&meta);
}

/* ---- never crash ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Either NULL with a message, or an object that prints as JSON cJSON can read back. */
static void check_sane(const uint8_t *body, size_t len)
{
    char err[256] = "";
    cJSON *got = kproto_decode(body, len, err, sizeof err);
    char *printed;
    cJSON *again;

    if (!got) {
        assert_true(err[0] != '\0');
        return;
    }
    assert_true(cJSON_IsObject(got));
    assert_string_equal(err, "");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(got, "kind"));
    printed = cJSON_PrintUnformatted(got);
    assert_non_null(printed);
    again = cJSON_Parse(printed);
    assert_non_null(again);
    cJSON_Delete(again);
    free(printed);
    cJSON_Delete(got);
}

static void test_prefixes(void **state)
{
    (void)state;
    for (size_t v = 0; v < sizeof GOOD / sizeof GOOD[0]; v++) {
        size_t len;
        uint8_t *body = slurp(GOOD[v], ".bin", &len);
        for (size_t n = 0; n < len; n++) {
            /* an exact-size copy, so ASan sees any read past n */
            uint8_t *cut = malloc(n ? n : 1);
            assert_non_null(cut);
            memcpy(cut, body, n);
            check_sane(cut, n);
            free(cut);
        }
        free(body);
    }
}

static void mutate(uint8_t *buf, size_t *len, size_t cap)
{
    size_t n = *len, at, span;

    switch (rng() % 8) {
    case 0: /* flip a bit */
        if (n)
            buf[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
        break;
    case 1: /* a random byte */
        if (n)
            buf[rng() % n] = (uint8_t)rng();
        break;
    case 2: /* a byte that makes varints and lengths misbehave */
        if (n) {
            static const uint8_t nasty[] = {0x00, 0x7f, 0x80, 0xff, 0x0b, 0x0c, 0x0e, 0x0f};
            buf[rng() % n] = nasty[rng() % sizeof nasty];
        }
        break;
    case 3: /* truncate */
        if (n)
            *len = rng() % n;
        break;
    case 4: /* delete a span */
        if (n > 1) {
            at = rng() % n;
            span = 1 + rng() % (n - at);
            memmove(buf + at, buf + at + span, n - at - span);
            *len = n - span;
        }
        break;
    case 5: /* duplicate a span at a random place */
        if (n) {
            at = rng() % n;
            span = 1 + rng() % (n - at < 64 ? n - at : 64);
            if (n + span <= cap) {
                size_t to = rng() % (n + 1);
                uint8_t tmp[64];
                memcpy(tmp, buf + at, span);
                memmove(buf + to + span, buf + to, n - to);
                memcpy(buf + to, tmp, span);
                *len = n + span;
            }
        }
        break;
    case 6: /* insert random bytes */
        span = 1 + rng() % 8;
        if (n + span <= cap) {
            at = rng() % (n + 1);
            memmove(buf + at + span, buf + at, n - at);
            for (size_t i = 0; i < span; i++)
                buf[at + i] = (uint8_t)rng();
            *len = n + span;
        }
        break;
    default: /* grow a length prefix or a varint */
        if (n) {
            at = rng() % n;
            buf[at] |= 0x80;
        }
        break;
    }
}

static void test_mutations(void **state)
{
    (void)state;
    for (size_t v = 0; v < sizeof GOOD / sizeof GOOD[0]; v++) {
        size_t len;
        uint8_t *orig = slurp(GOOD[v], ".bin", &len);
        /* the big pod gets 2000 rounds, the others 300 each */
        int rounds = strcmp(GOOD[v], "pod_runner") == 0 ? 2000 : 300;
        size_t cap = len + 1024;
        uint8_t *buf = malloc(cap);
        assert_non_null(buf);
        for (int r = 0; r < rounds; r++) {
            size_t n = len;
            uint8_t *exact;
            int ops = 1 + (int)(rng() % 4);
            memcpy(buf, orig, len);
            for (int i = 0; i < ops; i++)
                mutate(buf, &n, cap);
            if (rng() % 2)
                memcpy(buf, "k8s", n < 4 ? n : 4); /* keep the magic half the time */
            exact = malloc(n ? n : 1);
            assert_non_null(exact);
            memcpy(exact, buf, n);
            check_sane(exact, n);
            free(exact);
        }
        free(buf);
        free(orig);
    }
}

static void test_random_garbage(void **state)
{
    (void)state;
    for (int r = 0; r < 2000; r++) {
        size_t n = (size_t)(rng() % 300);
        uint8_t *buf = malloc(n ? n : 1);
        assert_non_null(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rng();
        if (r % 2)
            memcpy(buf, "k8s", n < 4 ? n : 4);
        check_sane(buf, n);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_pod_runner),
        cmocka_unit_test(test_vector_pod_run),
        cmocka_unit_test(test_vector_pod_raw_bytes),
        cmocka_unit_test(test_vector_secret),
        cmocka_unit_test(test_vector_configmap),
        cmocka_unit_test(test_vector_namespace),
        cmocka_unit_test(test_vector_service),
        cmocka_unit_test(test_vector_serviceaccount),
        cmocka_unit_test(test_vector_pdb),
        cmocka_unit_test(test_vector_ssar),
        cmocka_unit_test(test_vector_ssar_nonresource),
        cmocka_unit_test(test_vector_deleteoptions_v1),
        cmocka_unit_test(test_vector_deleteoptions_meta),
        cmocka_unit_test(test_vector_deleteoptions_policy),
        cmocka_unit_test(test_vector_event),
        cmocka_unit_test(test_bad_vectors),
        cmocka_unit_test(test_error_texts_are_exact),
        cmocka_unit_test(test_empty_and_short),
        cmocka_unit_test(test_magic_only),
        cmocka_unit_test(test_truncated_varint),
        cmocka_unit_test(test_varint_too_long),
        cmocka_unit_test(test_length_past_end),
        cmocka_unit_test(test_group_wire_type),
        cmocka_unit_test(test_invalid_wire_and_field),
        cmocka_unit_test(test_wrong_wire_type),
        cmocka_unit_test(test_wrong_kind_and_version),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_depth_bomb),
        cmocka_unit_test(test_node_cap),
        cmocka_unit_test(test_map_cap),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_merge_rules),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_intorstring),
        cmocka_unit_test(test_skips_fixed_width_fields),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_random_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
