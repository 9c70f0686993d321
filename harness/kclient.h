/* kclient.h -- the reference job client's REST client: kube-apiserver requests over libcurl, JSON
 * in and out, with client-go's transparent retries and client-go's error texts
 * (runner-k8s-executor.md §1, kube-wire.md §9-§10), so the job log reads as the runner's does */
#ifndef KF_KCLIENT_H
#define KF_KCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct kc_config;
struct rcc_opts;

#define KC_ERR_MAX 2048               /**< bytes of an error text kept */
#define KC_MAX_BODY (64u << 20)       /**< bytes of a response body taken; more is an error */
#define KC_DIAL_TIMEOUT_MS 30000      /**< client-go's dialer timeout (net.Dialer{Timeout: 30s}) */
#define KC_TLS_TIMEOUT_MS 10000       /**< client-go's TLSHandshakeTimeout */
#define KC_MAX_RETRIES 10             /**< client-go rest.Request's maxRetries */
#define KC_CONN_RETRY_MS 1000         /**< delay before a GET retried after EOF or a reset */
#define KC_UNSTRUCTURED_MAX_BYTES 500 /**< client-go's maxUnstructuredResponseTextBytes */
#define KC_PATH_MAX 8192              /**< bytes of a request path with its query */

/** What kind of error a request ended with. */
enum kc_errkind {
    KC_OK = 0,
    KC_ERR_STATUS,    /**< the server answered with an error: code, and the Status when the body
                           was one (reason, details_kind; the text is its message) */
    KC_ERR_TRANSPORT, /**< no answer: a url.Error, `Post "URL": <cause>` */
    KC_ERR_BODY,      /**< the answer broke off: `unexpected error when reading response body.
                           Please retry. Original error: <cause>`, or a 2xx body that is not JSON */
    KC_ERR_DEADLINE,  /**< the deadline had passed before the request went out: `context deadline
                           exceeded` */
};

/** One request's outcome. Release with kc_resp_release(). */
struct kc_resp {
    enum kc_errkind kind;
    int code;              /**< the last HTTP status, 0 when none arrived */
    cJSON *body;           /**< 2xx: the JSON answer; an error Status: the Status; else NULL */
    char reason[64];       /**< a Status's reason ("NotFound"), "" otherwise */
    char details_kind[64]; /**< a Status's details.kind ("pods"), "" otherwise */
    int transport_errno;   /**< KC_ERR_TRANSPORT: ECONNREFUSED, ECONNRESET, ETIMEDOUT (dial),
                                0 for EOF or other causes */
    int attempts;          /**< HTTP attempts made, client-go's transparent retries included */
    char err[KC_ERR_MAX];  /**< the error as client-go's err.Error() words it, "" on success */
};

struct kclient;

/** A client for cfg (borrowed for the call; what is needed is copied), sending user_agent (NULL:
 *  a default). NULL with a message in err when libcurl cannot start or cfg is unusable. Caller
 *  frees with kclient_free(). */
struct kclient *kclient_new(const struct kc_config *cfg, const char *user_agent, char *err,
                            size_t errlen);

/** Free. NULL is a no-op. */
void kclient_free(struct kclient *k);

/** Refill the rate limiter's bucket scale times faster (5*scale requests/s, burst 10 still): in
 *  a run that models scale times its wall time, the limit stays what it is in model time. */
void kclient_set_time_scale(struct kclient *k, int scale);

/**
 * One API call: method ("GET", "POST", "PUT", "DELETE", "PATCH") on path ("/api/v1/...", query
 * included, already encoded as Go's url.Values.Encode() would), with body (borrowed, may be
 * NULL) sent as application/json. deadline_ms is an absolute monotonic time (kclient_now_ms())
 * when the caller's context ends, 0 for none; the request is cut off then.
 *
 * client-go's transparent retries happen inside (§1): a 429, or a 5xx carrying an integer
 * Retry-After, is sent again after that many seconds, up to KC_MAX_RETRIES times; a GET that got
 * no answer because the connection was closed or reset is sent again after KC_CONN_RETRY_MS, up
 * to KC_MAX_RETRIES times, and the final text then names the previous attempt's error
 * (" - error from a previous attempt: ...") when it differs. No retry passes the deadline.
 *
 * Returns 0 on a 2xx with out->body the parsed answer (NULL for an empty body), or -1 with
 * out->kind and out->err set. Texts (client-go 0.36):
 *   Status body:      its message ("pods \"x\" not found", "etcdserver: leader changed")
 *   other bodies:     "the server could not find the requested resource (get pods x)",
 *                     "an error on the server (\"boom\") has prevented the request from
 *                     succeeding (post pods)", ... (apimachinery NewGenericServerResponse)
 *   no answer:        Post "URL": dial tcp 127.0.0.1:P: connect: connection refused
 *                     Post "URL": dial tcp 127.0.0.1:P: i/o timeout
 *                     Post "URL": net/http: TLS handshake timeout
 *                     Post "URL": tls: failed to verify certificate: x509: ...
 *                     Post "URL": EOF
 *                     Post "URL": read tcp L->R: read: connection reset by peer
 *                     Post "URL": context deadline exceeded
 *   deadline passed:  context deadline exceeded
 */
int kclient_do(struct kclient *k, const char *method, const char *path, const cJSON *body,
               int64_t deadline_ms, struct kc_resp *out);

/** Free out's body and clear it. NULL is a no-op. */
void kc_resp_release(struct kc_resp *r);

/** "https://127.0.0.1:6443": the server URL requests go to. Borrowed. */
const char *kclient_server(const struct kclient *k);

/** Fill the connection fields of o (host, tls, ca_pem/ca_file, insecure, user_agent, token, and
 *  the dial and TLS timeouts client-go uses) and *port for an exec or attach to the same server.
 *  The strings stay owned by k. */
void kclient_stream_opts(const struct kclient *k, struct rcc_opts *o, int *port);

/** Monotonic milliseconds: the clock deadlines are expressed in. */
int64_t kclient_now_ms(void);

/** Sleep ms milliseconds, or until deadline_ms (0: none) when that comes first. Returns 0, or -1
 *  when the deadline ended the sleep. */
int kclient_sleep_ms(int64_t ms, int64_t deadline_ms);

/** Append s to buf (len bytes, NUL-terminated, holding *used bytes) percent-encoded as Go's
 *  url.QueryEscape does: letters, digits and "-_.~" kept, ' ' as '+', everything else %XX
 *  (upper-case hex). 0, or -1 when it does not fit (buf then holds what fitted). */
int kc_query_escape(char *buf, size_t len, size_t *used, const char *s);

/** 1 when r is an error Status for a pod 404 the way the runner's IsKubernetesPodNotFoundError
 *  decides it: code 404 and details.kind "pods". */
int kc_is_pod_not_found(const struct kc_resp *r);

/* ---- streaming GETs: watches, read a line at a time while other work goes on ---- */

struct kc_stream;

/** Start a GET of path that may stream for long (a watch) on its own connection, with the same
 *  server, credentials and rate limit as k (borrowed; must outlive the stream). Nothing is read
 *  until kc_stream_pump(). NULL when memory ran out. */
struct kc_stream *kclient_stream_get(struct kclient *k, const char *path);

/** Move the transfer on, waiting up to timeout_ms for input. 0 while it runs, -1 once it ended
 *  (kc_stream_error() says why when it failed; lines already received stay readable). */
int kc_stream_pump(struct kc_stream *s, int timeout_ms);

/** The next complete line received (without its newline), caller frees; NULL when none. */
char *kc_stream_line(struct kc_stream *s);

/** The HTTP status once the headers arrived, else 0. */
int kc_stream_code(const struct kc_stream *s);

/** 1 once the transfer ended. */
int kc_stream_ended(const struct kc_stream *s);

/** The bytes received and not handed out as lines (an error answer's body). Borrowed. */
const char *kc_stream_rest(const struct kc_stream *s, size_t *len);

/** Why the transfer failed ("" when it did not, or has not ended). */
const char *kc_stream_error(const struct kc_stream *s);

/** Abort the transfer and free. NULL is a no-op. */
void kc_stream_free(struct kc_stream *s);

#endif
