/* conn.h -- one client connection: HTTP/1.1 requests in, responses and chunked streams out,
 * upgrades, and the single egress path every byte leaves through (where faults stall, drip,
 * truncate or reset) */
#ifndef KF_CONN_H
#define KF_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "mockapi/http/http.h"

struct event_base;
struct sockaddr;
struct tls_ctx;

struct bufferevent;
struct evbuffer;
struct event_base;
struct conn;

struct http_header {
    char *name;  /**< as sent */
    char *value; /**< as sent, surrounding blanks trimmed */
};

struct http_param {
    char *key;   /**< percent-decoded */
    char *value; /**< percent-decoded, "" when the key had no '=' */
};

/** One parsed request. Owned by the connection; valid until the response to it is complete. */
struct http_request {
    const char *method; /**< "GET", "POST", ... (static string) */
    char *url;          /**< the raw request target */
    char *path;         /**< percent-decoded path without the query */
    char *query;        /**< raw query (after '?'), "" when none */
    struct http_header headers[HTTP_MAX_HEADER_COUNT];
    size_t nheaders;
    struct http_param params[HTTP_MAX_QUERY_PARAMS];
    size_t nparams;
    unsigned char *body; /**< NUL-terminated for convenience; body_len excludes the NUL */
    size_t body_len;
    int upgrade;      /**< the client asked for a protocol upgrade */
    int keep_alive;   /**< the connection may carry another request after this one */
    uint64_t seq;     /**< request number on this server, from 1 */
    int64_t start_ns; /**< monotonic time the request was complete */
};

/** The value of a header (case-insensitive name), or NULL. Borrowed. */
const char *http_request_header(const struct http_request *r, const char *name);

/** The first value of a query parameter, or NULL. Borrowed. */
const char *http_request_param(const struct http_request *r, const char *key);

/** Every value of a repeated query parameter (exec's command=), up to max. Returns the count. */
size_t http_request_params(const struct http_request *r, const char *key, const char **out,
                           size_t max);

/** Called once per complete request. The handler answers with conn_respond() or a stream, now or
 *  later; the next pipelined request waits until then. */
typedef void (*conn_request_cb)(void *arg, struct conn *c, struct http_request *req);

/** Called when the connection goes away (client closed, error, reset) while this callback is set.
 */
typedef void (*conn_close_cb)(void *arg, struct conn *c);

/** The egress filter: staged holds bytes the protocol layers wrote; the filter moves them (all,
 * some, later, never) into conn_wire(c), or resets/closes the connection. Without one, every byte
 * passes. */
typedef void (*conn_egress_cb)(void *arg, struct conn *c, struct evbuffer *staged);

/** Bytes received after an upgrade are handed here (issue 4's SPDY and WebSocket engines). */
typedef void (*conn_upgraded_cb)(void *arg, struct conn *c, struct evbuffer *input);

/** Connections one server holds at once unless told otherwise: room for the benchmark's 10k
 *  watchers (scripts/bench/watch.sh) and then some. */
#define CONN_DEFAULT_MAX 16384
/** Connections over the limit kept open until their first request is answered 503; past this
 *  many at once, further ones are closed as soon as they are accepted. */
#define CONN_MAX_REFUSING 64
/** How long a connection over the limit has to send that request before it is closed. */
#define CONN_REFUSE_WAIT_MS 5000

/** The live connections of one server, so it can end them all at shutdown, and its connection
 *  limit. */
struct conn_set {
    struct conn *head;
    size_t count;    /**< open connections, the ones being refused included */
    size_t max;      /**< connections served at once; 0: no limit. A connection accepted while
                          count - refusing is at max is refused: its first request is answered
                          503 (conn_config.error_body), then it closes */
    size_t refusing; /**< of count, the connections being refused */
    int at_max;      /**< refusing since the limit was last reached (logged once per episode) */
};

/** Abort every connection in the set (their close callbacks run). */
void conn_set_abort_all(struct conn_set *set);

/** Called when the answer to a request is complete (complete = 1), or when the connection dies
 *  before it is (complete = 0): the status code written (0 when answered by hand) and the bytes
 *  the protocol layers wrote for it (before any egress filter). For the journal. */
typedef void (*conn_response_cb)(void *arg, struct conn *c, const struct http_request *req,
                                 int code, uint64_t bytes, int complete);

/** Write the JSON body of an answer the connection gives by itself, before any request handler
 *  sees the request: a malformed or oversized request (400, 413, 414, 431) or the connection limit
 *  (503). message says what was wrong, lower case, no quotes ("the request body is larger than
 *  4194304 bytes"). Returns the body's length (below len), or 0 for the default: a Kubernetes
 *  Status. The answer carries Connection: close (and Retry-After: 1 with 503). */
typedef size_t (*conn_error_body_cb)(int code, const char *message, char *buf, size_t len);

struct conn_config {
    struct conn_set *set; /**< borrowed; the connection joins it until it is freed */
    conn_request_cb on_request;
    conn_response_cb on_response; /**< NULL: none */
    void *arg;
    uint64_t *request_counter;     /**< borrowed; numbers requests across the server */
    uint64_t *conn_counter;        /**< borrowed; numbers connections across the server (NULL: one
                                        process-wide count) */
    const char *server_header;     /**< NULL: none */
    conn_error_body_cb error_body; /**< NULL: Kubernetes Status bodies */
};

/** Wrap an accepted bufferevent (plain or OpenSSL). Takes ownership of bev (freed with the conn).
 *  Returns NULL on allocation failure (bev is freed then too). */
struct conn *conn_new(struct bufferevent *bev, const struct conn_config *cfg, const char *peer);

/** A connection for a socket a listener accepted (its fd and address): TCP_NODELAY, TLS with
 *  tls's context (the handshake runs as the first bytes come; dirty shutdowns allowed) or plain
 *  when tls is NULL, the peer named "ip:port", then conn_new(). Shared by the fake kube-apiserver
 *  and the fake GitLab. NULL when it cannot be set up (the socket is closed), and NULL when
 *  cfg->set is at its limit: the connection is then refused on its own (its first request is
 *  answered 503 "too many connections: ...", the connection closes; one that sends no request
 *  within CONN_REFUSE_WAIT_MS is closed) and never reaches cfg's callbacks. */
struct conn *conn_accept(struct event_base *base, struct tls_ctx *tls, int fd,
                         const struct sockaddr *sa, const struct conn_config *cfg);

/** The peer as "127.0.0.1:54321". Borrowed. */
const char *conn_peer(const struct conn *c);

/** A unique id for logs and the journal. */
uint64_t conn_id(const struct conn *c);

/** User data slot for the layer above (the server keeps per-connection state here). */
void conn_set_data(struct conn *c, void *data);
void *conn_get_data(const struct conn *c);

/** Install a close callback (NULL to clear). One slot: a stream owner sets it and clears it when
 * done. */
void conn_set_close_cb(struct conn *c, conn_close_cb cb, void *arg);

/* Every call below that writes returns 0, or -1 when the connection is gone (an egress filter reset
 * it, or it was already closing): then it may already be freed, its close callback has run, and
 * the caller must not touch it (or anything that callback freed) again. */

/** Install the egress filter (NULL restores pass-through and flushes what is staged). On a
 *  silenced connection (conn_silence) nothing is installed and 0 is returned: it stays silent. */
int conn_set_egress(struct conn *c, conn_egress_cb cb, void *arg);

/** From now on drop every byte written on c, for good: the egress filter is removed and no other
 *  can be installed. For a fault that ends the connection (a cut before its RST or FIN, a stall
 *  for good): nothing a later fault or the protocol layers write may follow the end it made. The
 *  connection stays open until it is closed, reset or the client leaves. Returns 0, or -1 when
 *  it is gone. */
int conn_silence(struct conn *c);

/** Whether conn_silence() was called on c. */
int conn_silenced(const struct conn *c);

/** The wire buffer (the bufferevent's output): the egress filter moves bytes here. Borrowed. */
struct evbuffer *conn_wire(struct conn *c);

/** For egress filters that shape one response only: the number of bytes at the front of staged
 *  that belong to the oldest response not yet fully moved to the wire, and in *ends whether that
 *  response is complete (1: those bytes end it; 0: more of it may come). */
size_t conn_egress_current(const struct conn *c, int *ends);

/** Run the egress filter again over what is staged (from a filter's timer). */
int conn_egress_kick(struct conn *c);

/** Bytes written by protocol layers and not yet on the wire buffer, plus the wire buffer itself. */
size_t conn_pending_bytes(const struct conn *c);

/* ---- responses (all go through the egress path) ---- */

/** A complete response with Content-Length. extra_headers: NULL-terminated pairs name, value. */
int conn_respond(struct conn *c, int code, const char *content_type,
                 const char *const *extra_headers, const void *body, size_t len);

/** Start a chunked response; conn_stream_write() sends chunks; conn_stream_end() finishes it. */
int conn_stream_begin(struct conn *c, int code, const char *content_type,
                      const char *const *extra_headers);
int conn_stream_write(struct conn *c, const void *data, size_t len);
int conn_stream_end(struct conn *c);

/** 1 while a chunked response is open. */
int conn_streaming(const struct conn *c);

/** Write raw bytes through the egress path (status line and headers written by a caller that
 *  answers by hand, upgraded protocols). */
int conn_write_raw(struct conn *c, const void *data, size_t len);

/** Mark the current request answered by hand (after conn_write_raw), so the next can be parsed. */
void conn_request_done(struct conn *c);

/** Switch to an upgraded protocol: later input goes to cb; bytes already buffered are delivered at
 *  once. The HTTP parser is not used again on this connection. */
void conn_upgrade(struct conn *c, conn_upgraded_cb cb, void *arg);

/** Stop reading and writing on the connection (a TLS handshake in progress stops too): the client
 *  sees an open connection that never answers. conn_resume() undoes it. */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/** The same once the TLS handshake has completed (at once on plain HTTP): the client's TLS
 *  connects, then its requests go unanswered and unread. */
void conn_pause_after_handshake(struct conn *c);

/* ---- endings. After these the connection may already be freed: do not touch it again. ---- */

/** Close after everything staged has reached the kernel: our FIN, then what the client still sends
 *  is read and dropped until its FIN or 500 ms (so unread input does not turn the close into a
 *  reset that destroys the answer). Answers with Connection: close end the same way. */
void conn_close(struct conn *c);

/** Close now with an RST (SO_LINGER 0), dropping anything not sent. */
void conn_reset(struct conn *c);

/** Close now with a FIN, dropping anything not yet sent. */
void conn_abort(struct conn *c);

#endif
