/* test_it_faults_watch.c -- the watch fault types over real sockets, through a real engine built
 * from scenario text on the server thread: what a watch stream carries, byte for byte where it
 * matters (raw TCP for cuts and endings, libcurl for events).
 *
 * Checked: duplicates byte-identical (JSON and Table rows), every k-th, counted per watch even on
 * one keep-alive connection; stalls that last (stream open, silent), that end on time and flush
 * in order (also past the end of the stream), that the client leaves, and that overflow their cap
 * (cut); cuts inside an event (reset and FIN, explicit and default sizes, at the boundary), the
 * partial bytes equal to the event an unfaulted watch got; the 410 Expired ERROR event, its
 * wording and numbers, the last chunk and the FIN; nothing written after a fault ended the
 * connection when another watch fault fires on the same watch; withheld bookmarks (all, only the
 * watch-list's end, only periodic ones); watch-list refusals with the apiserver's exact Status and
 * the journal's notes; triggers that pick one watch of several. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/engine.h"
#include "harness/journal.h"
#include "itest.h"
#include "mockapi/kube/watch.h"

#define CMS "/api/v1/namespaces/default/configmaps"
#define EVENT_MS 3000 /* bound on waiting for one event */
#define QUIET_MS 400  /* how long "nothing arrives" is watched for */
/* The test server's loop runs on libevent's default clock (CLOCK_MONOTONIC_COARSE, a few ms
 * steps), not the precise timer `kubefault serve` asks for: a stall may end this much early. */
#define COARSE_MS 10
#define TABLE_ACCEPT "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
#define WATCH_LIST_Q                                                                               \
    "watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan"
#define MATCH_CM_WATCH "{\"verb\":\"watch\",\"resource\":\"configmaps\"}"

/* A plain-HTTP server whose one rule (on configmap watches, with trigger unless NULL) has fault. */
static struct itest *start(void **state, const char *fault, const char *trigger)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"name\":\"t\",\"rules\":[{\"name\":\"f\",\"match\":" MATCH_CM_WATCH
             "%s%s,\"fault\":%s}]}",
             trigger ? ",\"trigger\":" : "", trigger ? trigger : "", fault);
    return itest_start_scenario(state, text, NULL);
}

/* A plain-HTTP server whose two rules on configmap watches have fault1 and fault2, in that order:
 * both fire on every watch. */
static struct itest *start2(void **state, const char *fault1, const char *fault2)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"name\":\"t\",\"rules\":[{\"name\":\"f1\",\"match\":" MATCH_CM_WATCH
             ",\"fault\":%s},{\"name\":\"f2\",\"match\":" MATCH_CM_WATCH ",\"fault\":%s}]}",
             fault1, fault2);
    return itest_start_scenario(state, text, NULL);
}

/* ---- small helpers ---- */

/* Create configmap name (data of n bytes when n > 0); returns its resourceVersion. */
static long long create_cm(struct itest *t, const char *name, size_t n)
{
    size_t cap = n + 128;
    char *body = malloc(cap);
    long code = 0;
    assert_non_null(body);
    int k = snprintf(body, cap, "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"k\":\"", name);
    memset(body + k, 'x', n);
    snprintf(body + k + n, cap - (size_t)k - n, "\"}}");
    cJSON *o = itest_json(t, "POST", CMS, body, &code);
    free(body);
    if (code != 201)
        itest_fail_json(o, "create %s: %ld", name, code);
    const char *rv = itest_jstr(o, "metadata.resourceVersion");
    assert_non_null(rv);
    long long v = strtoll(rv, NULL, 10);
    cJSON_Delete(o);
    return v;
}

static struct itest_stream *open_watch(struct itest *t, long long rv, const char *accept)
{
    char path[256];
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv);
    struct itest_stream *st = itest_stream_open(t, path, accept);
    assert_int_equal(itest_stream_code(st), 200);
    return st;
}

/* The next line, which must come within ms. Caller frees. */
static char *must_line(struct itest_stream *st, int ms)
{
    char *line = itest_stream_line(st, ms);
    if (!line)
        fail_msg("no line within %d ms", ms);
    return line;
}

static void expect_quiet(struct itest_stream *st, int ms)
{
    char *line = itest_stream_line(st, ms);
    if (line) {
        char got[320];
        snprintf(got, sizeof got, "%.300s", line);
        free(line);
        fail_msg("unexpected line: %s", got);
    }
}

/* The line is an event of this type for this object name. */
static void expect_line_event(const char *line, const char *type, const char *name)
{
    cJSON *ev = cJSON_Parse(line);
    if (!ev)
        fail_msg("not JSON: %.300s", line);
    const char *got = itest_jstr(ev, "type");
    const char *n = itest_jstr(ev, "object.metadata.name");
    if (!n) /* a Table row: the object is in the row */
        n = itest_jstr(ev, "object.rows.0.object.metadata.name");
    if (!got || strcmp(got, type) != 0 || !n || strcmp(n, name) != 0)
        itest_fail_json(ev, "want %s %s, got", type, name);
    cJSON_Delete(ev);
}

/* ---- raw TCP, for the bytes of cuts and endings ---- */

struct raw {
    int fd;
    char data[1 << 16];
    size_t len;
    int eof, reset;
};

static void raw_send_get(struct raw *r, const char *path)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n", path);
    itest_tcp_send(r->fd, req, (size_t)n);
}

static void raw_open(struct itest *t, struct raw *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->fd = itest_tcp_connect(t);
    raw_send_get(r, path);
}

/* Read until needle is in the data after offset from (NULL: until the server closes or resets), or
 * until timeout_ms passes. 1 when needle was found. */
static int raw_read_until(struct raw *r, size_t from, const char *needle, int timeout_ms)
{
    int64_t deadline = itest_now_ms() + timeout_ms;
    for (;;) {
        r->data[r->len] = '\0';
        if (needle && r->len >= from && strstr(r->data + from, needle))
            return 1;
        if (r->eof || r->reset)
            return 0;
        int64_t left = deadline - itest_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {r->fd, POLLIN, 0};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        ssize_t k = recv(r->fd, r->data + r->len, sizeof r->data - 1 - r->len, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            r->reset = errno == ECONNRESET;
        else if (k == 0)
            r->eof = 1;
        else
            r->len += (size_t)k;
        if (r->len == sizeof r->data - 1)
            fail_msg("raw: more than %zu bytes", sizeof r->data - 1);
    }
}

/* The body (after the head) of what r read. */
static const char *raw_body(const struct raw *r)
{
    const char *end = strstr(r->data, "\r\n\r\n");
    if (!end)
        fail_msg("raw: no head in %.300s", r->data);
    return end + 4;
}

/* One chunk of a chunked body at p: its payload into out (NUL-ended); returns the bytes it took,
 * or 0 when p does not hold a whole chunk. */
static size_t take_chunk(const char *p, char *out, size_t cap)
{
    char *end;
    unsigned long n = strtoul(p, &end, 16);
    if (end == p || strncmp(end, "\r\n", 2) != 0)
        return 0;
    size_t head = (size_t)(end - p) + 2;
    if (strlen(p) < head + n + 2 || strncmp(p + head + n, "\r\n", 2) != 0 || n >= cap)
        return 0;
    memcpy(out, p + head, n);
    out[n] = '\0';
    return head + n + 2;
}

/* ---- watch-duplicate ---- */

static void test_duplicate_every_event(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-duplicate\"}", NULL);
    struct itest_stream *st = open_watch(t, itest_list_rv(t, CMS), NULL);
    create_cm(t, "a", 0);
    create_cm(t, "b", 0);
    const char *names[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        char *first = must_line(st, EVENT_MS), *second = must_line(st, EVENT_MS);
        expect_line_event(first, "ADDED", names[i]);
        assert_string_equal(second, first);
        free(first);
        free(second);
    }
    expect_quiet(st, QUIET_MS);
    itest_stream_close(st);
}

/* Every second event of a Table watch (kubectl's): the row is doubled as watch.c wrote it. */
static void test_duplicate_every_second_table_row(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-duplicate\",\"every\":2}", NULL);
    struct itest_stream *st = open_watch(t, itest_list_rv(t, CMS), TABLE_ACCEPT);
    assert_string_equal(itest_stream_content_type(st),
                        "application/json;as=Table;v=v1;g=meta.k8s.io");
    const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        create_cm(t, names[i], 0);
    const char *want[] = {"a", "b", "b", "c", "d", "d"};
    char *prev = NULL;
    for (int i = 0; i < 6; i++) {
        char *line = must_line(st, EVENT_MS);
        expect_line_event(line, "ADDED", want[i]);
        cJSON *ev = cJSON_Parse(line);
        assert_string_equal(itest_jstr(ev, "object.kind"), "Table");
        cJSON_Delete(ev);
        if (i == 2 || i == 5)
            assert_string_equal(line, prev);
        free(prev);
        prev = line;
    }
    free(prev);
    expect_quiet(st, QUIET_MS);
    itest_stream_close(st);
}

/* Two watches, one after the other, on one keep-alive connection: each counts from 1. */
static void test_duplicate_counts_per_watch_on_one_connection(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-duplicate\",\"every\":2}", NULL);
    struct raw r;
    char path[256], line[4096];
    snprintf(path, sizeof path, CMS "?watch=true&timeoutSeconds=1&resourceVersion=%lld",
             itest_list_rv(t, CMS));
    raw_open(t, &r, path);
    assert_true(raw_read_until(&r, 0, "\r\n\r\n", EVENT_MS));
    create_cm(t, "a", 0);
    /* the first watch ends after 1 s with the last chunk; a alone went out, once */
    assert_true(raw_read_until(&r, 0, "\r\n0\r\n\r\n", EVENT_MS));
    const char *p = raw_body(&r);
    size_t k = take_chunk(p, line, sizeof line);
    assert_true(k > 0);
    expect_line_event(line, "ADDED", "a");
    assert_string_equal(p + k, "0\r\n\r\n");
    size_t second = r.len;
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", itest_list_rv(t, CMS));
    raw_send_get(&r, path);
    assert_true(raw_read_until(&r, second, "\r\n\r\n", EVENT_MS));
    size_t body = (size_t)(strstr(r.data + second, "\r\n\r\n") + 4 - r.data);
    create_cm(t, "b", 0); /* the second watch's first event: once */
    create_cm(t, "c", 0); /* its second: twice */
    assert_true(raw_read_until(&r, body, "\"name\":\"c\"", EVENT_MS));
    int64_t deadline = itest_now_ms() + EVENT_MS;
    const char *want[] = {"b", "c", "c"};
    p = r.data + body;
    for (int i = 0; i < 3; i++) {
        while (!(k = take_chunk(p, line, sizeof line)) && itest_now_ms() < deadline)
            raw_read_until(&r, 0, NULL, 50);
        assert_true(k > 0);
        expect_line_event(line, "ADDED", want[i]);
        p += k;
    }
    raw_read_until(&r, 0, NULL, QUIET_MS);
    assert_string_equal(p, "");
    close(r.fd);
}

/* ---- watch-stall ---- */

static void test_stall_for_good(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-stall\",\"afterEvents\":1}", NULL);
    struct itest_stream *st = open_watch(t, itest_list_rv(t, CMS), NULL);
    create_cm(t, "a", 0);
    create_cm(t, "b", 0);
    create_cm(t, "c", 0);
    char *line = must_line(st, EVENT_MS);
    expect_line_event(line, "ADDED", "a");
    free(line);
    expect_quiet(st, QUIET_MS);
    assert_int_equal(itest_stream_wait_end(st, 100, NULL), 0); /* still open */
    itest_must(t, "GET", CMS "/c", NULL, NULL, 200);           /* the server is fine */
    itest_stream_close(st);
}

/* Two watches the rule fired on count their events apart. */
static void test_stall_counts_each_watch(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-stall\",\"afterEvents\":1}", NULL);
    long long rv = itest_list_rv(t, CMS);
    struct itest_stream *w1 = open_watch(t, rv, NULL);
    create_cm(t, "a", 0);
    struct itest_stream *w2 = open_watch(t, rv, NULL); /* replays a */
    create_cm(t, "b", 0);
    for (int i = 0; i < 2; i++) {
        char *line = must_line(i ? w2 : w1, EVENT_MS);
        expect_line_event(line, "ADDED", "a");
        free(line);
    }
    expect_quiet(w1, QUIET_MS);
    expect_quiet(w2, 50);
    itest_stream_close(w1);
    itest_stream_close(w2);
}

static void test_stall_for_then_flush_in_order(void **state)
{
    struct itest *t =
        start(state, "{\"type\":\"watch-stall\",\"afterEvents\":1,\"for\":\"700ms\"}", NULL);
    struct itest_stream *st = open_watch(t, itest_list_rv(t, CMS), NULL);
    create_cm(t, "a", 0);
    char *line = must_line(st, EVENT_MS);
    expect_line_event(line, "ADDED", "a");
    free(line);
    int64_t t0 = itest_now_ms();
    create_cm(t, "b", 0); /* the stall starts with b */
    create_cm(t, "c", 0);
    expect_quiet(st, QUIET_MS);
    line = must_line(st, EVENT_MS);
    int64_t waited = itest_now_ms() - t0;
    expect_line_event(line, "ADDED", "b");
    free(line);
    if (waited < 700 - COARSE_MS || waited > 700 + 2000)
        fail_msg("b came %lld ms after it was made, expected 700..2700", (long long)waited);
    line = must_line(st, 100); /* with b */
    expect_line_event(line, "ADDED", "c");
    free(line);
    int64_t t1 = itest_now_ms();
    create_cm(t, "d", 0); /* once: no stall again */
    line = must_line(st, EVENT_MS);
    expect_line_event(line, "ADDED", "d");
    free(line);
    assert_true(itest_now_ms() - t1 < 500);
    itest_stream_close(st);
}

/* The stream ends (timeoutSeconds) while held: the end is held too, and comes after the events. */
static void test_stall_holds_the_end_of_the_stream(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-stall\",\"for\":\"1500ms\"}", NULL);
    char path[256];
    snprintf(path, sizeof path, CMS "?watch=true&timeoutSeconds=1&resourceVersion=%lld",
             itest_list_rv(t, CMS));
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    int64_t t0 = itest_now_ms();
    create_cm(t, "a", 0);
    assert_int_equal(itest_stream_wait_end(st, 1200, NULL), 0); /* the end is held */
    char *line = must_line(st, EVENT_MS);
    expect_line_event(line, "ADDED", "a");
    free(line);
    if (itest_now_ms() - t0 < 1500 - COARSE_MS)
        fail_msg("a came after %lld ms", (long long)(itest_now_ms() - t0));
    CURLcode rc;
    assert_int_equal(itest_stream_wait_end(st, EVENT_MS, &rc), 1);
    assert_int_equal(rc, CURLE_OK);
    itest_stream_close(st);
}

/* A client that leaves while its events are held: the hold and its timer go with the connection
 * (the sanitizer build checks), and the server carries on. */
static void test_stall_client_leaves(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-stall\",\"for\":\"300ms\"}", NULL);
    struct itest_stream *st = open_watch(t, itest_list_rv(t, CMS), NULL);
    create_cm(t, "a", 0);
    expect_quiet(st, 100);
    itest_stream_close(st);
    struct itest_stream *again = open_watch(t, itest_list_rv(t, CMS), NULL);
    expect_quiet(again, 500); /* past the first stall's time */
    create_cm(t, "b", 0);
    expect_quiet(again, 100); /* this watch stalls in turn */
    char *line = must_line(again, EVENT_MS);
    expect_line_event(line, "ADDED", "b");
    free(line);
    itest_stream_close(again);
}

/* More than the cap withheld: the stream is cut, and nothing held leaves. */
static void test_stall_overflow_cuts(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-stall\",\"for\":\"10s\"}", NULL);
    struct itest_stream *st = open_watch(t, itest_list_rv(t, CMS), NULL);
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "big%d", i);
        create_cm(t, name, 900 * 1024);
    }
    CURLcode rc = CURLE_OK;
    assert_int_equal(itest_stream_wait_end(st, EVENT_MS, &rc), 1);
    assert_int_not_equal(rc, CURLE_OK);
    assert_null(itest_stream_line(st, 0));
    itest_stream_close(st);
    itest_must(t, "GET", CMS "/big4", NULL, NULL, 200);
}

/* ---- watch-cut ---- */

/* Watch 1 meets the fault (trigger nth 1), watch 2 does not; a and b are made. r gets watch 1's
 * bytes until the connection ends; *b_line gets b's event line as watch 2 got it (caller frees). */
static void cut_run(struct itest *t, struct raw *r, char **b_line)
{
    char path[256];
    long long rv = itest_list_rv(t, CMS);
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv);
    raw_open(t, r, path);
    assert_true(raw_read_until(r, 0, "\r\n\r\n", EVENT_MS));
    struct itest_stream *w2 = open_watch(t, rv, NULL);
    create_cm(t, "a", 0);
    create_cm(t, "b", 0);
    raw_read_until(r, 0, NULL, EVENT_MS);
    assert_true(r->eof || r->reset);
    char *line = must_line(w2, EVENT_MS);
    expect_line_event(line, "ADDED", "a");
    free(line);
    *b_line = must_line(w2, EVENT_MS);
    expect_line_event(*b_line, "ADDED", "b");
    itest_stream_close(w2);
    close(r->fd);
}

/* What watch 1 got: chunk a whole, then the start of chunk b: its size line and want bytes. */
static void expect_cut_at(const struct raw *r, const char *b_line, size_t want)
{
    char line[4096], size[32];
    const char *p = raw_body(r);
    size_t k = take_chunk(p, line, sizeof line);
    assert_true(k > 0);
    expect_line_event(line, "ADDED", "a");
    p += k;
    size_t full = strlen(b_line) + 1; /* the line with its newline */
    if (want == 0) {
        assert_string_equal(p, "");
        return;
    }
    snprintf(size, sizeof size, "%zx\r\n", full);
    assert_memory_equal(p, size, strlen(size));
    p += strlen(size);
    assert_int_equal(strlen(p), want);
    assert_memory_equal(p, b_line, want);
}

static void test_cut_reset_inside_event(void **state)
{
    struct itest *t =
        start(state, "{\"type\":\"watch-cut\",\"afterEvents\":1,\"bytes\":10}", "{\"nth\":1}");
    struct raw r;
    char *b_line;
    cut_run(t, &r, &b_line);
    assert_true(r.reset);
    expect_cut_at(&r, b_line, 10);
    assert_memory_equal(b_line, "{\"type\":\"A", 10);
    free(b_line);
}

static void test_cut_close_half_by_default(void **state)
{
    struct itest *t =
        start(state, "{\"type\":\"watch-cut\",\"afterEvents\":1,\"how\":\"close\"}", "{\"nth\":1}");
    struct raw r;
    char *b_line;
    cut_run(t, &r, &b_line);
    assert_true(r.eof);
    assert_false(r.reset);
    expect_cut_at(&r, b_line, (strlen(b_line) + 1) / 2);
    free(b_line);
}

/* bytes 0: the cut falls between a and b. */
static void test_cut_at_event_boundary(void **state)
{
    struct itest *t =
        start(state, "{\"type\":\"watch-cut\",\"afterEvents\":1,\"bytes\":0}", "{\"nth\":1}");
    struct raw r;
    char *b_line;
    cut_run(t, &r, &b_line);
    assert_true(r.reset);
    expect_cut_at(&r, b_line, 0);
    free(b_line);
}

/* A cut during a watch-list's initial events (inside watch_start's loop). */
static void test_cut_inside_initial_events(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-cut\",\"afterEvents\":1,\"bytes\":5}", NULL);
    create_cm(t, "a", 0);
    create_cm(t, "b", 0);
    create_cm(t, "c", 0);
    struct raw r;
    raw_open(t, &r, CMS "?" WATCH_LIST_Q);
    raw_read_until(&r, 0, NULL, EVENT_MS);
    assert_true(r.reset);
    char line[4096];
    const char *p = raw_body(&r);
    size_t k = take_chunk(p, line, sizeof line);
    assert_true(k > 0);
    expect_line_event(line, "ADDED", "a");
    p += k;
    const char *crlf = strstr(p, "\r\n");
    assert_non_null(crlf);
    assert_string_equal(crlf + 2, "{\"typ");
    close(r.fd);
    itest_must(t, "GET", CMS "/c", NULL, NULL, 200);
}

/* ---- watch-expire ---- */

static void test_expire_after_one_event(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-expire\",\"afterEvents\":1}", NULL);
    struct itest_stream *st = open_watch(t, itest_list_rv(t, CMS), NULL);
    long long rva = create_cm(t, "a", 0);
    create_cm(t, "b", 0);
    long long now = itest_list_rv(t, CMS);
    char *line = must_line(st, EVENT_MS);
    expect_line_event(line, "ADDED", "a");
    free(line);
    char want[512];
    snprintf(want, sizeof want,
             "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
             "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource version: %lld "
             "(%lld)\",\"reason\":\"Expired\",\"code\":410}}",
             rva, now);
    line = must_line(st, EVENT_MS);
    assert_string_equal(line, want);
    free(line);
    CURLcode rc;
    assert_int_equal(itest_stream_wait_end(st, EVENT_MS, &rc), 1);
    assert_int_equal(rc, CURLE_OK); /* a clean end: the last chunk came */
    assert_null(itest_stream_line(st, 0));
    itest_stream_close(st);
}

/* At once, with a message of the scenario's: the exact bytes, the last chunk, then FIN. The number
 * in the watch cache's words is the watch's own resourceVersion when no event went out. */
static void test_expire_bytes_and_fin(void **state)
{
    struct itest *t = start(state,
                            "{\"type\":\"watch-expire\",\"message\":\"The resourceVersion for the "
                            "provided watch is too old.\"}",
                            "{\"nth\":1}");
    struct raw r;
    char path[256], want[512], chunk[600];
    long long rv = itest_list_rv(t, CMS);
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv);
    raw_open(t, &r, path);
    assert_true(raw_read_until(&r, 0, "\r\n\r\n", EVENT_MS));
    create_cm(t, "a", 0);
    raw_read_until(&r, 0, NULL, EVENT_MS);
    assert_true(r.eof);
    snprintf(want, sizeof want,
             "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
             "\"metadata\":{},\"status\":\"Failure\",\"message\":\"The resourceVersion for the "
             "provided watch is too old.\",\"reason\":\"Expired\",\"code\":410}}\n");
    snprintf(chunk, sizeof chunk, "%zx\r\n%s\r\n0\r\n\r\n", strlen(want), want);
    assert_string_equal(raw_body(&r), chunk);
    close(r.fd);

    /* a later watch is not faulted (nth 1) */
    struct itest_stream *st = open_watch(t, rv, NULL);
    char *line = must_line(st, EVENT_MS);
    expect_line_event(line, "ADDED", "a");
    free(line);
    itest_stream_close(st);
}

static void test_expire_default_words_from_request_rv(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-expire\"}", NULL);
    long long rv = itest_list_rv(t, CMS);
    struct itest_stream *st = open_watch(t, rv, NULL);
    create_cm(t, "a", 0);
    long long now = itest_list_rv(t, CMS);
    cJSON *ev = itest_expect_event(st, "ERROR", NULL, EVENT_MS);
    char want[128];
    snprintf(want, sizeof want, "too old resource version: %lld (%lld)", rv, now);
    assert_string_equal(itest_jstr(ev, "object.message"), want);
    assert_string_equal(itest_jstr(ev, "object.reason"), "Expired");
    cJSON_Delete(ev);
    assert_int_equal(itest_stream_wait_end(st, EVENT_MS, NULL), 1);
    itest_stream_close(st);
}

/* ---- two faults on one watch ---- */

/* a, b and c are made, then a raw watch replays them from before a (one turn of the server's loop,
 * as the soak's watches met them): r gets what it sent until the connection ended. */
static void replay_abc(struct itest *t, struct raw *r)
{
    char path[256];
    long long rv = itest_list_rv(t, CMS);
    create_cm(t, "a", 0);
    create_cm(t, "b", 0);
    create_cm(t, "c", 0);
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv);
    raw_open(t, r, path);
    raw_read_until(r, 0, NULL, EVENT_MS);
    assert_true(r->eof || r->reset);
}

/* A cut inside b, then an expiry due at c: the connection ends at the cut (RST), and neither the
 * ERROR event nor the last chunk follow the cut bytes (scripts/soak.sh found the client reading
 * them as the rest of b's chunk). */
static void test_cut_then_expire_nothing_after_the_cut(void **state)
{
    struct itest *t = start2(state, "{\"type\":\"watch-cut\",\"afterEvents\":1,\"bytes\":10}",
                             "{\"type\":\"watch-expire\",\"afterEvents\":2}");
    struct raw r;
    char line[4096];
    replay_abc(t, &r);
    assert_true(r.reset);
    const char *p = raw_body(&r);
    size_t k = take_chunk(p, line, sizeof line);
    assert_true(k > 0);
    expect_line_event(line, "ADDED", "a");
    p += k;
    const char *crlf = strstr(p, "\r\n");
    assert_non_null(crlf);
    assert_string_equal(crlf + 2, "{\"type\":\"A"); /* b's first 10 bytes, and nothing else */
    close(r.fd);
    itest_must(t, "GET", CMS "/c", NULL, NULL, 200);
}

/* An expiry at b with every event doubled: a twice, the ERROR event, the last chunk, then the end;
 * c, replayed in the same turn, is not written after the last chunk (twice or at all). */
static void test_expire_then_duplicate_nothing_after_the_end(void **state)
{
    struct itest *t = start2(state, "{\"type\":\"watch-duplicate\"}",
                             "{\"type\":\"watch-expire\",\"afterEvents\":1}");
    struct raw r;
    char line[4096], first[4096];
    replay_abc(t, &r);
    assert_true(r.eof);
    const char *p = raw_body(&r);
    size_t k = take_chunk(p, first, sizeof first);
    assert_true(k > 0);
    expect_line_event(first, "ADDED", "a");
    p += k;
    k = take_chunk(p, line, sizeof line);
    assert_true(k > 0);
    assert_string_equal(line, first);
    p += k;
    k = take_chunk(p, line, sizeof line);
    assert_true(k > 0);
    cJSON *ev = cJSON_Parse(line);
    assert_non_null(ev);
    assert_string_equal(itest_jstr(ev, "type"), "ERROR");
    cJSON_Delete(ev);
    assert_string_equal(p + k, "0\r\n\r\n");
    close(r.fd);
}

/* ---- watch-no-bookmarks ---- */

static void set_bookmarks_100ms(void *arg, struct mockapi_server *s)
{
    (void)arg;
    watch_hub_set_bookmark_interval(mockapi_server_watches(s), 100);
}

/* The annotation that ends a watch-list's initial events, or NULL. */
static const char *initial_end_of(const cJSON *ev)
{
    const cJSON *a = itest_jget(ev, "object.metadata.annotations");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, WATCH_INITIAL_EVENTS_END);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_no_bookmarks_watch_list(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-no-bookmarks\"}", NULL);
    itest_run(t, set_bookmarks_100ms, NULL);
    create_cm(t, "x", 0);
    struct itest_stream *st = itest_stream_open(t, CMS "?" WATCH_LIST_Q, NULL);
    cJSON_Delete(itest_expect_event(st, "ADDED", "x", EVENT_MS));
    expect_quiet(st, QUIET_MS); /* neither the end of the initial events nor periodic ones */
    create_cm(t, "y", 0);
    cJSON_Delete(itest_expect_event(st, "ADDED", "y", EVENT_MS));
    itest_stream_close(st);
}

static void test_no_bookmarks_only_initial_end(void **state)
{
    struct itest *t =
        start(state, "{\"type\":\"watch-no-bookmarks\",\"which\":\"initial-events-end\"}", NULL);
    itest_run(t, set_bookmarks_100ms, NULL);
    create_cm(t, "x", 0);
    struct itest_stream *st = itest_stream_open(t, CMS "?" WATCH_LIST_Q, NULL);
    cJSON_Delete(itest_expect_event(st, "ADDED", "x", EVENT_MS));
    cJSON *ev = itest_expect_event(st, "BOOKMARK", NULL, EVENT_MS);
    assert_null(initial_end_of(ev)); /* a periodic one */
    cJSON_Delete(ev);
    itest_stream_close(st);
}

static void test_no_bookmarks_only_periodic(void **state)
{
    struct itest *t =
        start(state, "{\"type\":\"watch-no-bookmarks\",\"which\":\"periodic\"}", NULL);
    itest_run(t, set_bookmarks_100ms, NULL);
    create_cm(t, "x", 0);
    struct itest_stream *st = itest_stream_open(t, CMS "?" WATCH_LIST_Q, NULL);
    cJSON_Delete(itest_expect_event(st, "ADDED", "x", EVENT_MS));
    cJSON *ev = itest_expect_event(st, "BOOKMARK", NULL, EVENT_MS);
    assert_string_equal(initial_end_of(ev), "true");
    cJSON_Delete(ev);
    expect_quiet(st, QUIET_MS);
    itest_stream_close(st);
}

/* ---- watch-list-refused ---- */

struct notes {
    struct engine *engine;
    char note[4][160];
    size_t n;
};

static void read_notes(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct notes *out = arg;
    struct journal *j = engine_journal(out->engine);
    out->n = 0;
    for (size_t i = 0; i < journal_count(j) && out->n < 4; i++) {
        const struct journal_entry *e = journal_get(j, i);
        if (strcmp(e->rule, "f") == 0)
            snprintf(out->note[out->n++], sizeof out->note[0], "%s", e->note);
    }
}

static void test_watch_list_refused(void **state)
{
    struct itest *t = start(state, "{\"type\":\"watch-list-refused\"}", NULL);
    long code;
    cJSON *st = itest_json(t, "GET", CMS "?" WATCH_LIST_Q, NULL, &code);
    assert_int_equal(code, 422);
    char *text = cJSON_PrintUnformatted(st);
    cJSON_Delete(st);
    assert_string_equal(
        text, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
              "\"message\":\"ListOptions.meta.k8s.io \\\"\\\" is invalid: sendInitialEvents: "
              "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature "
              "gate is enabled\",\"reason\":\"Invalid\",\"code\":422,\"details\":{\"group\":"
              "\"meta.k8s.io\",\"kind\":\"ListOptions\",\"causes\":[{\"reason\":"
              "\"FieldValueForbidden\",\"message\":\"Forbidden: sendInitialEvents is forbidden "
              "for watch unless the WatchList feature gate is enabled\",\"field\":"
              "\"sendInitialEvents\"}]}}");
    free(text);
    /* a plain watch is served */
    struct itest_stream *w = open_watch(t, itest_list_rv(t, CMS), NULL);
    create_cm(t, "a", 0);
    cJSON_Delete(itest_expect_event(w, "ADDED", "a", EVENT_MS));
    itest_stream_close(w);
    struct notes notes = {.engine = itest_engine(t)};
    itest_run(t, read_notes, &notes);
    assert_int_equal(notes.n, 2);
    assert_string_equal(notes.note[0], "watch-list refused: status 422");
    assert_string_equal(notes.note[1], "not a watch-list request: served");
}

static void test_watch_list_refused_own_status(void **state)
{
    struct itest *t = start(state,
                            "{\"type\":\"watch-list-refused\",\"code\":400,\"reason\":"
                            "\"BadRequest\",\"message\":\"no watch-list here\"}",
                            NULL);
    struct itest_resp resp;
    struct itest_req r = {0};
    r.path = CMS "?" WATCH_LIST_Q;
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 400);
    assert_string_equal(resp.body,
                        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                        "\"Failure\",\"message\":\"no watch-list here\",\"reason\":\"BadRequest\","
                        "\"code\":400}\n");
    itest_resp_release(&resp);
}

int main(void)
{
    itest_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_duplicate_every_event, itest_teardown),
        cmocka_unit_test_teardown(test_duplicate_every_second_table_row, itest_teardown),
        cmocka_unit_test_teardown(test_duplicate_counts_per_watch_on_one_connection,
                                  itest_teardown),
        cmocka_unit_test_teardown(test_stall_for_good, itest_teardown),
        cmocka_unit_test_teardown(test_stall_counts_each_watch, itest_teardown),
        cmocka_unit_test_teardown(test_stall_for_then_flush_in_order, itest_teardown),
        cmocka_unit_test_teardown(test_stall_holds_the_end_of_the_stream, itest_teardown),
        cmocka_unit_test_teardown(test_stall_client_leaves, itest_teardown),
        cmocka_unit_test_teardown(test_stall_overflow_cuts, itest_teardown),
        cmocka_unit_test_teardown(test_cut_reset_inside_event, itest_teardown),
        cmocka_unit_test_teardown(test_cut_close_half_by_default, itest_teardown),
        cmocka_unit_test_teardown(test_cut_at_event_boundary, itest_teardown),
        cmocka_unit_test_teardown(test_cut_inside_initial_events, itest_teardown),
        cmocka_unit_test_teardown(test_expire_after_one_event, itest_teardown),
        cmocka_unit_test_teardown(test_expire_bytes_and_fin, itest_teardown),
        cmocka_unit_test_teardown(test_expire_default_words_from_request_rv, itest_teardown),
        cmocka_unit_test_teardown(test_cut_then_expire_nothing_after_the_cut, itest_teardown),
        cmocka_unit_test_teardown(test_expire_then_duplicate_nothing_after_the_end, itest_teardown),
        cmocka_unit_test_teardown(test_no_bookmarks_watch_list, itest_teardown),
        cmocka_unit_test_teardown(test_no_bookmarks_only_initial_end, itest_teardown),
        cmocka_unit_test_teardown(test_no_bookmarks_only_periodic, itest_teardown),
        cmocka_unit_test_teardown(test_watch_list_refused, itest_teardown),
        cmocka_unit_test_teardown(test_watch_list_refused_own_status, itest_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
