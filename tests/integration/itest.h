/* itest.h -- integration-test helpers: the fake kube-apiserver in-process on its own thread and
 * event loop, libcurl requests, raw TCP exchanges and chunked watch streams; every wait is bounded.
 *
 * One server per test: a test calls itest_start(state, &opts), or itest_start_scenario() for a
 * server running a scenario through a real engine, and registers itest_teardown as its cmocka
 * teardown, which stops the server even when an assertion failed. Hooks run on the server thread:
 * share state with them through atomics or by reading it inside itest_run(). */
#ifndef KF_ITEST_H
#define KF_ITEST_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "mockapi/server.h"

#define ITEST_WAIT_MS 5000   /**< default bound on any single wait */
#define ITEST_SCHEDULE_MS 10 /**< cluster delays when struct itest_opts leaves them 0 */
#define ITEST_START_MS 50
#define ITEST_TERMINATE_MS 50
#define ITEST_MAX_BODY (16u << 20) /**< bytes of a response kept; more fails the test */

struct engine;
struct itest;

struct itest_opts {
    int tls;                           /**< TLS with a bearer token; 0: plain HTTP */
    const struct mockapi_hooks *hooks; /**< borrowed; must outlive the server (use statics) */
    struct cluster_opts cluster;       /**< 0 fields: ITEST_SCHEDULE_MS etc. */
    const char *kube_version;          /**< NULL: the server's default */
    const char *token;                 /**< NULL: a random one */
    size_t max_connections;            /**< 0: the server's default */
    /* itest_start_scenario only */
    const char *scenario_file; /**< the name the scenario is parsed as (its messages, the control
                                    API's status); NULL: "t.json" */
    int single_quoted;         /**< the scenario text is written with ' for " (see itest_dq) */
};

/** Start a server on 127.0.0.1:0 on a new thread; stores it in *state for itest_teardown.
 *  Fails the test when it cannot start. */
struct itest *itest_start(void **state, const struct itest_opts *o);

/** Start a server (o: as for itest_start, its hooks NULL; o itself may be NULL) running
 *  scenario_text (JSON) through a real engine: on the server thread the text is parsed, the engine
 *  made and started, and from then on the server's hooks forward to it. Fails the test (after
 *  stopping the server) when the scenario or the engine does not come up. itest_stop stops the
 *  engine before it frees the server, then frees engine and scenario. */
struct itest *itest_start_scenario(void **state, const char *scenario_text,
                                   const struct itest_opts *o);

/** The engine of a server from itest_start_scenario (NULL for itest_start's). Use it on the server
 *  thread (in an itest_run function), where its hooks run. */
struct engine *itest_engine(const struct itest *t);

/** Stop the server (loopbreak through the control socket), join its thread, free everything.
 *  NULL is a no-op. Aborts when the server thread does not stop within ITEST_WAIT_MS. */
void itest_stop(struct itest *t);

/** cmocka teardown: frees the sessions itest_rcc_keep() holds, then itest_stop(*state). */
int itest_teardown(void **state);

/* ---- exec/attach sessions (harness/rcclient.h) that must not outlive a failed test ---- */

#define ITEST_MAX_RCC 8 /**< sessions kept at once */

struct rcc;

/** Keep c (may be NULL: nothing) so that itest_teardown frees it when an assertion jumps out of
 *  the test first. Fails the test (freeing c) when ITEST_MAX_RCC are kept already. */
void itest_rcc_keep(struct rcc *c);

/** Free c and forget it. NULL is a no-op. */
void itest_rcc_free(struct rcc *c);

const char *itest_url(const struct itest *t); /**< "https://127.0.0.1:PORT" or "http://..." */
int itest_port(const struct itest *t);
const char *itest_token(const struct itest *t);   /**< NULL with plain HTTP */
const char *itest_ca_file(const struct itest *t); /**< the CA PEM written to a temp file, or NULL */

/** Run fn(arg, server) on the server thread and wait until it returned; aborts when it does not
 *  within ITEST_WAIT_MS. fn must not use cmocka assertions (they would jump across threads):
 *  report back through arg. */
typedef void (*itest_loop_fn)(void *arg, struct mockapi_server *s);
void itest_run(struct itest *t, itest_loop_fn fn, void *arg);

/* ---- libcurl requests ---- */

struct itest_req {
    const char *method;         /**< NULL: GET (POST when body is set) */
    const char *path;           /**< "/api/v1/..." with query */
    const char *content_type;   /**< NULL: application/json when there is a body */
    const void *body;           /**< NULL: none */
    size_t body_len;            /**< 0 with a body: strlen(body) */
    const char *accept;         /**< NULL: none sent (curl's default is dropped) */
    const char *const *headers; /**< extra "Name: value" lines, NULL-terminated; may be NULL */
    const char *token;          /**< NULL: the server's token (TLS); "": no Authorization */
    int chunked;                /**< send the body with Transfer-Encoding: chunked */
    long timeout_ms;            /**< 0: ITEST_WAIT_MS */
};

struct itest_resp {
    CURLcode curl; /**< CURLE_OK, or why the transfer failed */
    long code;     /**< HTTP status, 0 when none arrived */
    char *body;    /**< NUL-terminated */
    size_t len;
    char *headers; /**< every header line received, NUL-terminated */
    long connects; /**< CURLINFO_NUM_CONNECTS: new connections this transfer made */
};

/** A reusable handle: requests through it share one connection when the server keeps it open. */
struct itest_client;
struct itest_client *itest_client_new(struct itest *t);
void itest_client_free(struct itest_client *cl);
void itest_client_request(struct itest_client *cl, const struct itest_req *r,
                          struct itest_resp *out);

/** One request on a fresh handle. Release out with itest_resp_release(). */
void itest_request(struct itest *t, const struct itest_req *r, struct itest_resp *out);
void itest_resp_release(struct itest_resp *r);

/** The value of a response header (case-insensitive, last one wins) into buf, or NULL. */
const char *itest_resp_header(const struct itest_resp *r, const char *name, char *buf, size_t len);

/** Fail the test unless the transfer completed with HTTP status code. */
void itest_assert_code(const struct itest_resp *r, long code);

/** Fail the test unless header name has exactly the value want; want NULL: unless it is absent. */
void itest_assert_header(const struct itest_resp *r, const char *name, const char *want);

/** Fail the test unless the body is exactly want. */
void itest_assert_body(const struct itest_resp *r, const char *want);

/* ---- libcurl requests to another server on the loop (the control API, the fake GitLab) ---- */

struct itest_http_req {
    const char *method;         /**< sent as given (a custom request line), even without a body */
    const char *url;            /**< absolute: "http://127.0.0.1:PORT/path" */
    const void *body;           /**< NULL: none */
    size_t body_len;            /**< 0 with a body: strlen(body) */
    const char *content_type;   /**< NULL: application/json when there is a body */
    const char *const *headers; /**< extra "Name: value" lines, NULL-terminated; may be NULL */
    const char *ca_file;        /**< NULL or "": curl's own trust store */
    long timeout_ms;            /**< 0: ITEST_WAIT_MS */
};

/** One request on a fresh handle with curl's own defaults (its Accept header; no Authorization
 *  unless in headers), "Expect: 100-continue" suppressed. Every failure, a response over
 *  ITEST_MAX_BODY included, is reported in out->curl rather than failing the test, so it may run
 *  on a thread of the test's own. Release out with itest_resp_release(). */
void itest_http(const struct itest_http_req *r, struct itest_resp *out);

/** method path [JSON body] -> parsed JSON answer (fails the test when it is not JSON); the HTTP
 *  status in *code. Caller frees with cJSON_Delete(). */
cJSON *itest_json(struct itest *t, const char *method, const char *path, const char *body,
                  long *code);

/** Same with a chosen Content-Type (patches, protobuf, ...). */
cJSON *itest_json_ct(struct itest *t, const char *method, const char *path,
                     const char *content_type, const void *body, size_t len, long *code);

/** Assert a failure Status: HTTP code (*http_code, read after the arguments are evaluated, so
 *  itest_assert_status(itest_json(..., &code), &code, ...) works), reason (NULL: not checked) and
 * exact message (NULL: not checked). Frees st. */
void itest_assert_status(cJSON *st, const long *http_code, long want_code, const char *reason,
                         const char *message);

/** method path [body with Content-Type ct] and fail the test unless the answer is want. */
void itest_must(struct itest *t, const char *method, const char *path, const char *ct,
                const char *body, long want);

/** A list's metadata.resourceVersion (what a client starts its watch from). */
long long itest_list_rv(struct itest *t, const char *path);

/** Fail the test with printf-style text followed by ": " and j printed compactly; frees j first,
 *  so a failing test leaks nothing for the sanitizer build to report. */
void itest_fail_json(cJSON *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- JSON ---- */

/** A copy of s with every ' turned into " (scenarios and bodies written with ' in C strings, far
 *  fewer backslashes). Caller frees. */
char *itest_dq(const char *s);

/** Walk a dotted path ("metadata.name", "spec.containers.0.image"): numeric segments index
 *  arrays. NULL when absent. Borrowed. */
const cJSON *itest_jget(const cJSON *o, const char *path);

/** The string at a dotted path, or NULL. */
const char *itest_jstr(const cJSON *o, const char *path);

/** The number at a dotted path; fails the test when it is absent or not a number. */
double itest_jnum(const cJSON *o, const char *path);

/** The boolean at a dotted path (1 true, 0 false); fails the test when it is not a boolean. */
int itest_jbool(const cJSON *o, const char *path);

/** Fail the test unless the string at a dotted path is exactly want. o is borrowed. */
void itest_assert_jstr(const cJSON *o, const char *path, const char *want);

/** GET path every 10 ms until the string at jpath equals want or timeout_ms passes. Returns the
 *  matching object (caller frees with cJSON_Delete), or NULL on timeout. */
cJSON *itest_wait_field(struct itest *t, const char *path, const char *jpath, const char *want,
                        int timeout_ms);

/** GET path every 10 ms until it answers code; 1 when it did within timeout_ms, else 0. */
int itest_wait_code(struct itest *t, const char *path, long code, int timeout_ms);

/** The path of tests/vectors/<rel> (found from this file's location, or $KF_VECTORS_DIR), into
 *  buf. */
const char *itest_vector_path(const char *rel, char *buf, size_t len);

/** Read a whole file (test vectors). Caller frees. Fails the test when it cannot. */
unsigned char *itest_read_file(const char *path, size_t *len);

/* ---- raw TCP (plain HTTP servers only) ---- */

struct itest_buf {
    char *data; /**< NUL-terminated */
    size_t len;
    int eof;   /**< the server closed (FIN) */
    int reset; /**< the server reset the connection */
};

/** A connected TCP socket to the server (blocking, for send); fails the test on error. */
int itest_tcp_connect(struct itest *t);

/** Send all of data; fails the test on error (EPIPE/ECONNRESET included). */
void itest_tcp_send(int fd, const void *data, size_t len);

/** Like itest_tcp_send but returns -1 instead of failing (when the server may have closed). */
int itest_tcp_try_send(int fd, const void *data, size_t len);

/** Read until the server closes or timeout_ms passes. Release with itest_buf_release(). */
void itest_tcp_read(int fd, int timeout_ms, struct itest_buf *out);

/** Connect, send, read until close; closes the socket. */
void itest_tcp_exchange(struct itest *t, const void *data, size_t len, int timeout_ms,
                        struct itest_buf *out);

void itest_buf_release(struct itest_buf *b);

/** One HTTP/1.1 response parsed from raw bytes (Content-Length bodies only). */
struct itest_raw_resp {
    int code;
    const char *head; /**< status line and headers (points into the buffer) */
    size_t head_len;
    const char *body;
    size_t body_len;
};

/** Parse the response starting at data[0]; returns the bytes it took, or 0 when incomplete. */
size_t itest_raw_parse(const char *data, size_t len, struct itest_raw_resp *out);

/* ---- streams (watches, followed logs) ---- */

struct itest_stream;

/** Open a streaming GET and wait (bounded) until its response headers arrived. */
struct itest_stream *itest_stream_open(struct itest *t, const char *path, const char *accept);

/** The HTTP status and Content-Type of the stream. */
long itest_stream_code(const struct itest_stream *st);
const char *itest_stream_content_type(const struct itest_stream *st);

/** The next line (without '\n'), or NULL when timeout_ms passed or the stream ended first.
 *  Caller frees. */
char *itest_stream_line(struct itest_stream *st, int timeout_ms);

/** The next line parsed as JSON (fails the test when it is not JSON), or NULL like above. */
cJSON *itest_stream_event(struct itest_stream *st, int timeout_ms);

/** The next event, which must have this type and (name non-NULL) object.metadata.name; fails the
 *  test otherwise or after timeout_ms. Caller frees. */
cJSON *itest_expect_event(struct itest_stream *st, const char *type, const char *name,
                          int timeout_ms);

/** Wait until the transfer is over; 1 when it ended within timeout_ms. *result gets curl's code
 *  (may be NULL). Lines still buffered stay readable. */
int itest_stream_wait_end(struct itest_stream *st, int timeout_ms, CURLcode *result);

/** Abort the transfer (the client closes its connection) and free. NULL is a no-op. */
void itest_stream_close(struct itest_stream *st);

/** Run only the tests matching $KF_ITEST_FILTER (a cmocka pattern, "*" wildcards) when it is set.
 *  Call from main() before cmocka_run_group_tests(). */
void itest_filter_from_env(void);

/** Monotonic milliseconds. */
int64_t itest_now_ms(void);

/** connect() to 127.0.0.1:port, waiting at most timeout_ms: 0 connected, the connect error
 *  (ECONNREFUSED, ...), or ETIMEDOUT when it is still pending (a black hole). The socket is closed
 *  again; *took (may be NULL) gets the milliseconds it took. */
int itest_try_connect(int port, int timeout_ms, int64_t *took);

/** GitLab Runner's BashDetectShellScript with $@ replaced by nothing (shells/bash.go): the script
 *  its save-script exec runs with `sh -c` (its DockerCommand). */
extern const char itest_bash_detect[];

#endif
