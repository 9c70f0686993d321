/* rcclient.h -- a blocking client for pods/exec and pods/attach over SPDY/3.1 and WebSocket
 * (v5/v4.channel.k8s.io), speaking to a kube-apiserver as client-go does
 * (shared/docs/reference/streaming.md §1.3 and §2): the transport of the reference job client
 * (jobclient.h) and of the integration tests.
 *
 * One struct rcc is one session on its own TCP connection, plain or TLS (OpenSSL, verifying the
 * server against a CA as Go's crypto/tls does, ALPN http/1.1). rcc_open() sends the
 * upgrade request and reads the answer; for SPDY it then creates the streams one after another
 * (error, stdin, stdout, stderr, resize: the ones the options ask for, odd ids 1, 3, 5, ...) and
 * waits for each SYN_REPLY, like client-go; for WebSocket it returns right after the 101 (frames
 * that came with it are kept and handled by the next wait). Nothing runs in the background: bytes
 * are read and handled only inside the rcc_wait_* / rcc_pump / rcc_finish calls, and every one of
 * them is bounded by the caller's timeout. Writes are bounded by RCC_SEND_MS each.
 *
 * Received output is kept whole (stdout, stderr, the error stream), up to RCC_MAX_OUTPUT bytes
 * each; more breaks the session with an error. Anything the client cannot place (a frame on a
 * stream or channel it did not open, a text message, data after a FIN, a data frame after the
 * WebSocket close) is counted by rcc_stray() rather than failing, so tests can assert it stays 0.
 *
 * WebSocket details as gorilla/websocket (client-go) does them: every client frame is masked with
 * a fresh random key; a server ping is answered with a pong of the same payload; the server's
 * close is answered at once with a close carrying the same code (after that nothing more can be
 * sent). The v5 stdin EOF message [255, 0] is sent only under v5.channel.k8s.io. */
#ifndef KF_HARNESS_RCCLIENT_H
#define KF_HARNESS_RCCLIENT_H

#include <stddef.h>

#define RCC_MAX_OUTPUT (16u << 20) /**< bytes kept per output stream (and per WS message) */
#define RCC_SEND_MS 5000           /**< bound on one write to the socket */
#define RCC_ERR_MAX 512            /**< a useful size for the err buffer of rcc_open */
#define RCC_BODY_MAX 8192          /**< bytes of a non-101 answer's body kept in rcc_result */

enum rcc_transport { RCC_SPDY, RCC_WS };

struct rcc; /* one session */

struct rcc_opts {
    enum rcc_transport transport;
    const char *path_and_query;        /**< "/api/v1/namespaces/default/pods/p/exec?command=..."
                                            (rcc_path() builds one from these options) */
    int stdin_, stdout_, stderr_, tty; /**< the streams the client opens and waits for; keep
                                            them the same as the query's. With tty no stderr
                                            stream is opened (client-go) and a resize one is */
    const char *token;                 /**< "Authorization: Bearer" value; NULL: none */
    int ping_ms; /**< > 0: send a PING (SPDY) / ping (WS) every ping_ms while waiting; 0: none */
    const char *const *protocols; /**< NULL-terminated list to offer; NULL: client-go's: SPDY
                                       one X-Stream-Protocol-Version line each for v5, v4, v3,
                                       v2.channel.k8s.io and channel.k8s.io; WS one
                                       Sec-WebSocket-Protocol "v5.channel.k8s.io,
                                       v4.channel.k8s.io" */
    /* Where and how to connect (all 0/NULL: plain TCP to 127.0.0.1, as the tests use it) */
    const char *host;       /**< name or address to connect to and put in Host; NULL: 127.0.0.1 */
    int tls;                /**< speak TLS on the connection */
    const char *ca_pem;     /**< TLS: trust these PEM certificates (NUL-terminated) ... */
    const char *ca_file;    /**< ... or the PEM file; neither: the system's trust store */
    int insecure;           /**< TLS: do not verify the server's certificate */
    int dial_timeout_ms;    /**< > 0: bound on the TCP connect alone (client-go: 30 s) */
    int tls_timeout_ms;     /**< > 0: bound on the TLS handshake alone (client-go: 10 s) */
    const char *user_agent; /**< NULL: "kubefault-rcclient" */
};

/** Why rcc_open_ex() failed. */
enum rcc_fail {
    RCC_OK = 0,
    RCC_FAIL_DIAL,     /**< the TCP connect failed: sys_errno (ETIMEDOUT when the dial timed out),
                            or the name did not resolve (sys_errno 0) */
    RCC_FAIL_TLS,      /**< the TLS handshake failed (tls_verify: the X509_V_ERR code when the
                            certificate did not verify; sys_errno ETIMEDOUT when it timed out) */
    RCC_FAIL_IO,       /**< writing the request or reading the answer failed: sys_errno, 0 for
                            a clean close (EOF) */
    RCC_FAIL_TIMEOUT,  /**< the whole timeout passed before the answer was complete */
    RCC_FAIL_HTTP,     /**< a non-101 answer: http_code, content_type, body */
    RCC_FAIL_PROTOCOL, /**< a bad 101, a broken SPDY session, a missing SYN_REPLY, no memory */
};

/** What rcc_open_ex() reports. */
struct rcc_result {
    enum rcc_fail fail;
    int sys_errno;
    int tls_verify;
    int http_code;           /**< 101 on success, 0 when no answer arrived */
    char content_type[128];  /**< RCC_FAIL_HTTP: the answer's Content-Type, "" when none */
    char body[RCC_BODY_MAX]; /**< RCC_FAIL_HTTP: the body, NUL-terminated, cut to fit */
    size_t body_len;
    char local[64], remote[64]; /**< "ip:port" of both ends once connected ("" before) */
    char err[RCC_ERR_MAX];      /**< a one-line reason (for people, not for matching) */
};

/** The path and query for an exec (argv non-NULL: its words as command=, an empty list gives an
 *  exec without command) or an attach (argv NULL) of pod ns/pod, with container= (NULL: left out)
 *  and stdin/stdout/stderr/tty=true for the flags o sets, in kubectl's order (sorted keys, false
 *  flags left out), every value percent-encoded. Into buf; returns buf, or NULL when it does not
 *  fit. */
const char *rcc_path(char *buf, size_t len, const char *ns, const char *pod, const char *container,
                     const char *const *argv, const struct rcc_opts *o);

/** Connect to o->host (127.0.0.1) at port, with TLS when o->tls, upgrade, open the streams;
 *  everything within timeout_ms. NULL on failure with *res saying why (res is required). */
struct rcc *rcc_open_ex(int port, const struct rcc_opts *o, int timeout_ms, struct rcc_result *res);

/** rcc_open_ex() for the tests: connect to 127.0.0.1:port, upgrade, open the streams; everything
 *  within timeout_ms. NULL on
 *  failure with the reason in err (may be NULL). For a non-101 answer the reason is
 *  "HTTP <code>: <body>", *http_code gets the code and body the response body (NUL-terminated,
 *  cut to bodylen); http_code and body may be NULL. *http_code is 101 on success, 0 when no answer
 *  arrived. A 101 that is not a valid upgrade (wrong Sec-WebSocket-Accept, a protocol that was not
 *  offered, a missing SYN_REPLY) fails too, with code 101. */
struct rcc *rcc_open(int port, const struct rcc_opts *o, int timeout_ms, char *err, size_t errlen,
                     int *http_code, char *body, size_t bodylen);

/** The protocol the server chose: the 101's X-Stream-Protocol-Version (SPDY) or
 *  Sec-WebSocket-Protocol (WS) value; "" when the header was absent. */
const char *rcc_protocol(const struct rcc *c);

/** Stdin bytes: DATA on the stdin stream (SPDY), channel-0 messages (WS), in pieces of at most
 *  32 KiB. 0, or -1 (no stdin stream, stdin already closed, close sent, connection gone). */
int rcc_write_stdin(struct rcc *c, const void *data, size_t len);

/** Half-close stdin: an empty DATA frame with FIN (SPDY), the message [255, 0] (WS v5). Under WS
 *  v4 there is no such message: nothing is sent (rcc_stdin_eof_sent() stays 0). 0 or -1. */
int rcc_close_stdin(struct rcc *c);

/** 1 when rcc_close_stdin() put a stdin EOF on the wire (SPDY FIN or WS [255, 0]). */
int rcc_stdin_eof_sent(const struct rcc *c);

/** {"Width":w,"Height":h} and a newline on the resize stream / channel 4 (tty sessions). */
int rcc_resize(struct rcc *c, int w, int h);

/** Send one PING (SPDY, odd ids 1, 3, ...) / ping (WS, empty payload) now. 0 or -1. */
int rcc_ping(struct rcc *c);

/** Read and handle whatever arrives for timeout_ms (sending pings when ping_ms is set). Returns
 *  0, or -1 as soon as the connection is closed or broken. */
int rcc_pump(struct rcc *c, int timeout_ms);

/** Pump until stdout contains needle: 0, or -1 on timeout or when the connection closed first. */
int rcc_wait_output(struct rcc *c, const char *needle, int timeout_ms);

/** Pump until the session ended: SPDY: the error stream and every output stream opened got their
 *  FIN (or RST_STREAM); WS: the server's close frame arrived. 0, or -1 on timeout or when the
 *  connection closed or broke first. */
int rcc_wait_end(struct rcc *c, int timeout_ms);

/** Pump until at least n PING echoes / pongs arrived in all: 0 or -1. */
int rcc_wait_pongs(struct rcc *c, int n, int timeout_ms);

/** End the session as client-go does and wait for the server to close the TCP connection: SPDY:
 *  RST_STREAM (CANCEL) on every stream, then GOAWAY; WS: a close 1000 unless one was sent. 0 when
 *  the server closed the connection within timeout_ms, -1 otherwise. */
int rcc_finish(struct rcc *c, int timeout_ms);

/** The bytes received on stdout / stderr, NUL-terminated (never NULL); *len when len != NULL. */
const char *rcc_stdout(const struct rcc *c, size_t *len);
const char *rcc_stderr(const struct rcc *c, size_t *len);

/** The error stream's bytes once it closed (SPDY FIN on the error stream; WS the close frame):
 *  "" when it closed empty, NULL while it has not. */
const char *rcc_status(const struct rcc *c);

/** The exit code as client-go derives it from the status (v4/v5 error decoder): Success or an
 *  empty stream -> 0; Failure/NonZeroExitCode with an ExitCode cause that parses as 0..255 -> N;
 *  anything else (other Failure, bad JSON, unknown status, bad cause) -> -2; not ended -> -1. */
int rcc_exit_code(const struct rcc *c);

/** WS: the close code received (1000; 1005 for a close without code), 0 none. SPDY: 1 once a
 *  GOAWAY was seen, else 0. */
int rcc_close_code(const struct rcc *c);

/** 1 once the server closed (FIN) or reset the TCP connection. */
int rcc_conn_closed(const struct rcc *c);

/** 1 when that close was a reset (ECONNRESET). */
int rcc_conn_reset(const struct rcc *c);

/** PING echoes (SPDY) / pongs (WS) received. */
int rcc_pongs(const struct rcc *c);

/** Frames or messages the client could not place (see the head comment). */
int rcc_stray(const struct rcc *c);

/** WS: frames received after the server's close frame (a pong among them is counted by
 *  rcc_pongs() too, anything else by rcc_stray() too). SPDY: 0. */
int rcc_after_close(const struct rcc *c);

/** The last protocol or socket error ("" none): why a wait gave up early. */
const char *rcc_error(const struct rcc *c);

/** The errno of the read that found the connection closed (ECONNRESET, ...), 0 for a clean EOF
 *  or while it is open. */
int rcc_sys_errno(const struct rcc *c);

/** 1 once the error stream closed (SPDY: FIN on it; WS: the close frame). */
int rcc_status_done(const struct rcc *c);

/** Forget the first n bytes received on stdout (a long-lived stream read piece by piece); n past
 *  the end forgets everything. */
void rcc_drain_stdout(struct rcc *c, size_t n);

/** The same for stderr. */
void rcc_drain_stderr(struct rcc *c, size_t n);

/** Close the connection (a best-effort GOAWAY / close frame first when none was sent) and free.
 *  NULL is a no-op. */
void rcc_free(struct rcc *c);

#endif
