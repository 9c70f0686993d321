/* rcclient.c -- the exec/attach client (rcclient.h): HTTP/1.1 upgrade by hand on a non-blocking
 * socket (TLS through OpenSSL when asked), SPDY/3.1 through the server's own frame codec
 * (mockapi/stream/spdy.h: its parser and writers are direction-agnostic), WebSocket with a small
 * parser for server frames (unmasked) here and masked client frames built on ws_frame_head()
 * (ws.h's writers are server-side, unmasked). Every wait polls with the time left to the caller's
 * deadline.
 *
 * What client-go does and this client copies (streaming.md §1.3, §2): the SPDY request is a POST
 * with one X-Stream-Protocol-Version line per version; streams are created in the order error,
 * stdin, stdout, stderr (not with tty), resize (tty), each waiting for its SYN_REPLY; stdin EOF is
 * an empty DATA with FIN; teardown is RST_STREAM per stream, then GOAWAY. The WebSocket request is
 * a GET; stdin EOF under v5 is [255, 0]; the status is read until the close frame; the exit code
 * comes from the Status as client-go's errorDecoderV4 derives it. */
#include "harness/rcclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mockapi/stream/spdy.h"
#include "mockapi/stream/ws.h"

#define MAX_HEAD (64u * 1024u)    /* bytes of an HTTP response head */
#define MAX_PIECE (32u * 1024u)   /* stdin bytes per DATA frame / WS message (client-go's) */
#define READ_CHUNK (64u * 1024u)  /* bytes taken from the socket at once */
#define MAX_PROTOCOLS 16          /* entries of rcc_opts.protocols used */
#define PROTO_MAX 128             /* bytes of the chosen protocol */
#define WS_CLIENT_CLOSE_CODE 1000 /* what rcc_finish sends */

/* Streams / channels: the WebSocket channel numbers (also the SPDY stream table's index). */
enum { S_STDIN = 0, S_STDOUT = 1, S_STDERR = 2, S_ERROR = 3, S_RESIZE = 4, S_N = 5 };

static const char *const stream_names[S_N] = {"stdin", "stdout", "stderr", "error", "resize"};

/* A growing byte buffer, always NUL-terminated once it holds anything. */
struct gbuf {
    char *d;
    size_t len, cap;
};

struct rcc {
    int fd;
    SSL_CTX *ssl_ctx; /* TLS only */
    SSL *ssl;
    enum rcc_transport tr;
    int want[S_N]; /* streams this client opens (SPDY) / expects */
    int ping_ms;
    int64_t next_ping;
    char protocol[PROTO_MAX];
    int b64; /* a base64 variant: text messages, ASCII channel digit, base64 payload */
    char err[RCC_ERR_MAX];

    struct gbuf in;       /* WS: bytes not parsed yet (from in_off) */
    size_t in_off;        /* WS: parsed up to here */
    int in_pending;       /* WS: bytes left over from the 101 wait for their first parse */
    struct gbuf out[S_N]; /* received on stdout, stderr, error */
    int status_done;      /* the error stream closed */
    int broken;           /* a protocol or socket error: stop reading */
    int conn_closed, conn_reset;
    int sys_errno; /* errno of the read that found the connection closed (0: EOF) */
    int pongs, stray, after_close;
    int stdin_closed, stdin_eof_sent;

    /* SPDY */
    struct spdy_parser *sp;
    struct spdy_encoder *se;
    struct evbuffer *wbuf;
    uint32_t sid[S_N]; /* 0: not opened */
    int replied[S_N], fin[S_N], rst[S_N];
    uint32_t next_sid, next_ping_id;
    int goaway_seen, goaway_sent;

    /* WebSocket */
    int v5;
    int got_close, sent_close, close_code;
    struct gbuf msg; /* a fragmented message being reassembled */
    int msg_active, msg_op;
};

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t until)
{
    int64_t l = until - now_ms();
    if (l <= 0)
        return 0;
    return l > 1000000 ? 1000000 : (int)l;
}

static void set_err(struct rcc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct rcc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* Append n bytes, keeping a NUL after them; -1 when the result would pass cap or memory ran out. */
static int gbuf_add(struct gbuf *b, const void *p, size_t n, size_t cap)
{
    if (n > cap || b->len > cap - n)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *d = realloc(b->d, nc);
        if (!d)
            return -1;
        b->d = d;
        b->cap = nc;
    }
    if (n)
        memcpy(b->d + b->len, p, n);
    b->len += n;
    b->d[b->len] = '\0';
    return 0;
}

static void gbuf_free(struct gbuf *b)
{
    free(b->d);
    b->d = NULL;
    b->len = b->cap = 0;
}

static int proto_err(struct rcc *c, const char *what)
{
    set_err(c, "%s", what);
    c->broken = 1;
    return -1;
}

/* Bytes received on stream s (stdout, stderr, error). */
static int take_output(struct rcc *c, int s, const void *data, size_t len)
{
    if (gbuf_add(&c->out[s], data, len, RCC_MAX_OUTPUT) < 0) {
        set_err(c, "rcc: %s over %u bytes (or out of memory)", stream_names[s], RCC_MAX_OUTPUT);
        c->broken = 1;
        return -1;
    }
    return 0;
}

/* ---- socket ---- */

/* Write some bytes: >0 written, 0 would block (wait for *ev), -1 failed (errno set). */
static ssize_t io_write(struct rcc *c, const void *data, size_t len, short *ev)
{
    *ev = POLLOUT;
    if (!c->ssl) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 0;
        return n == 0 ? 0 : n;
    }
    ERR_clear_error();
    int n = SSL_write(c->ssl, data, len > INT32_MAX ? INT32_MAX : (int)len);
    if (n > 0)
        return n;
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_WANT_READ) {
        *ev = POLLIN;
        return 0;
    }
    if (e != SSL_ERROR_SYSCALL || errno == 0)
        errno = EPIPE;
    return -1;
}

static int send_all(struct rcc *c, const void *data, size_t len)
{
    if (c->fd < 0 || c->broken || c->conn_closed) {
        if (!c->err[0])
            set_err(c, "rcc: the connection is gone");
        return -1;
    }
    const char *p = data;
    int64_t until = now_ms() + RCC_SEND_MS;
    size_t off = 0;
    while (off < len) {
        short ev;
        ssize_t n = io_write(c, p + off, len - off, &ev);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n == 0) {
            int w = left_ms(until);
            if (w == 0) {
                set_err(c, "rcc: send blocked for %d ms", RCC_SEND_MS);
                return -1;
            }
            struct pollfd pf = {.fd = c->fd, .events = ev};
            poll(&pf, 1, w);
            continue;
        }
        if (errno == ECONNRESET || errno == EPIPE) {
            c->conn_closed = 1;
            c->conn_reset = errno == ECONNRESET;
        }
        set_err(c, "rcc: send: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* One recv after waiting up to wait_ms for input: >0 bytes, 0 nothing yet, -1 closed or failed
 * (conn_closed / conn_reset set). Bytes OpenSSL already decrypted are taken without waiting. */
static ssize_t recv_some(struct rcc *c, void *buf, size_t cap, int wait_ms)
{
    if (!c->ssl || SSL_pending(c->ssl) == 0) {
        struct pollfd pf = {.fd = c->fd, .events = POLLIN};
        int r = poll(&pf, 1, wait_ms);
        if (r < 0)
            return errno == EINTR ? 0 : -1;
        if (r == 0)
            return 0;
    }
    if (c->ssl) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(c->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
        if (n > 0)
            return n;
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        c->conn_closed = 1;
        if (e == SSL_ERROR_SYSCALL && errno != 0) {
            c->conn_reset = errno == ECONNRESET;
            c->sys_errno = errno;
            set_err(c, "rcc: recv: %s", strerror(errno));
        } else if (e != SSL_ERROR_ZERO_RETURN && e != SSL_ERROR_SYSCALL) {
            set_err(c, "rcc: recv: TLS error");
        }
        return -1;
    }
    ssize_t n = recv(c->fd, buf, cap, 0);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    c->conn_closed = 1;
    if (n < 0) {
        c->conn_reset = errno == ECONNRESET;
        c->sys_errno = errno;
        set_err(c, "rcc: recv: %s", strerror(errno));
    }
    return -1;
}

/* "ip:port" of a socket address (IPv6 in brackets, as Go prints them). */
static void addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
        snprintf(buf, len, "%s:%d", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(buf, len, "[%s]:%d", ip, port);
    } else {
        snprintf(buf, len, "?");
    }
}

/* Connect to host:port within timeout_ms (the first address that answers). The socket, or -1
 * with r->fail RCC_FAIL_DIAL (sys_errno ETIMEDOUT when the time ran out) and r->err set. */
static int connect_host(const char *host, int port, int timeout_ms, struct rcc_result *r)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int gr = getaddrinfo(host, ps, &hints, &res);
    if (gr != 0) {
        r->fail = RCC_FAIL_DIAL;
        r->sys_errno = 0;
        snprintf(r->err, sizeof r->err, "rcc: lookup %s: %s", host, gai_strerror(gr));
        return -1;
    }
    int fd = -1, last = ECONNREFUSED;
    int64_t until = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        addr_text(ai->ai_addr, r->remote, sizeof r->remote);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            if (errno != EINPROGRESS) {
                last = errno;
                close(fd);
                fd = -1;
                continue;
            }
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            int pr = poll(&pf, 1, left_ms(until));
            if (pr != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
                last = pr == 0 ? ETIMEDOUT : soerr ? soerr : errno;
                close(fd);
                fd = -1;
                if (last == ETIMEDOUT)
                    break;
                continue;
            }
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        r->fail = RCC_FAIL_DIAL;
        r->sys_errno = last;
        snprintf(r->err, sizeof r->err, "rcc: connect: %s",
                 last == ETIMEDOUT ? "timed out" : strerror(last));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        addr_text((struct sockaddr *)&ss, r->local, sizeof r->local);
    return fd;
}

/* Trust the CA certificates in pem (len bytes) for ctx. 0, or -1 when none could be read. */
static int add_ca_pem(SSL_CTX *ctx, const char *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (!b)
        return -1;
    X509_STORE *st = SSL_CTX_get_cert_store(ctx);
    int n = 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(st, x) == 1)
            n++;
        X509_free(x);
    }
    ERR_clear_error();
    BIO_free(b);
    return n > 0 ? 0 : -1;
}

/* The TLS handshake on c->fd within timeout_ms, verifying the server as Go's crypto/tls does: the
 * chain against the given CA (or the system's when none), the name against host. */
static int tls_start(struct rcc *c, const struct rcc_opts *o, const char *host, int timeout_ms,
                     struct rcc_result *r)
{
    r->fail = RCC_FAIL_TLS;
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ssl_ctx) {
        snprintf(r->err, sizeof r->err, "rcc: SSL_CTX_new failed");
        return -1;
    }
    SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ssl_ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!o->insecure) {
        SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
        int ok = 1;
        if (o->ca_pem && o->ca_pem[0])
            ok = add_ca_pem(c->ssl_ctx, o->ca_pem, strlen(o->ca_pem)) == 0;
        else if (o->ca_file && o->ca_file[0])
            ok = SSL_CTX_load_verify_locations(c->ssl_ctx, o->ca_file, NULL) == 1;
        else
            ok = SSL_CTX_set_default_verify_paths(c->ssl_ctx) == 1;
        if (!ok) {
            snprintf(r->err, sizeof r->err, "rcc: cannot load the CA certificate%s%s",
                     o->ca_file ? " " : "", o->ca_file ? o->ca_file : "");
            return -1;
        }
    }
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(c->ssl_ctx, alpn, sizeof alpn - 1);
    c->ssl = SSL_new(c->ssl_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        snprintf(r->err, sizeof r->err, "rcc: SSL_new failed");
        return -1;
    }
    unsigned char ipbuf[16];
    int is_ip = inet_pton(AF_INET, host, ipbuf) == 1 || inet_pton(AF_INET6, host, ipbuf) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(c->ssl, host);
    if (!o->insecure) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
        if (is_ip)
            X509_VERIFY_PARAM_set1_ip_asc(vp, host);
        else
            X509_VERIFY_PARAM_set1_host(vp, host, 0);
    }
    int64_t until = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_connect(c->ssl);
        if (n == 1)
            break;
        int e = SSL_get_error(c->ssl, n);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (!ev) {
            long v = SSL_get_verify_result(c->ssl);
            if (v != X509_V_OK)
                snprintf(r->err, sizeof r->err, "rcc: TLS: certificate verify failed: %s",
                         X509_verify_cert_error_string(v));
            else if (e == SSL_ERROR_SYSCALL && errno)
                snprintf(r->err, sizeof r->err, "rcc: TLS handshake: %s", strerror(errno));
            else
                snprintf(r->err, sizeof r->err, "rcc: TLS handshake failed");
            r->sys_errno = e == SSL_ERROR_SYSCALL ? errno : 0;
            r->tls_verify = v != X509_V_OK ? (int)v : 0;
            return -1;
        }
        int w = left_ms(until);
        if (w == 0) {
            r->sys_errno = ETIMEDOUT;
            snprintf(r->err, sizeof r->err, "rcc: TLS handshake timeout");
            return -1;
        }
        struct pollfd pf = {.fd = c->fd, .events = ev};
        poll(&pf, 1, w);
    }
    r->fail = RCC_OK;
    return 0;
}

/* ---- WebSocket frames ---- */

/* One masked client frame: first byte, then the payload pre (prelen bytes) followed by data. */
static int ws_send(struct rcc *c, unsigned first, const void *pre, size_t prelen, const void *data,
                   size_t len)
{
    unsigned char mask[4];
    if (RAND_bytes(mask, sizeof mask) != 1)
        return proto_err(c, "rcc: RAND_bytes failed");
    size_t plen = prelen + len;
    unsigned char *frame = malloc(WS_MAX_HEAD_BYTES + plen);
    if (!frame)
        return proto_err(c, "rcc: out of memory");
    size_t hl = ws_frame_head(frame, first, plen, mask);
    if (prelen)
        memcpy(frame + hl, pre, prelen);
    if (len)
        memcpy(frame + hl + prelen, data, len);
    for (size_t i = 0; i < plen; i++)
        frame[hl + i] ^= mask[i & 3];
    int r = send_all(c, frame, hl + plen);
    free(frame);
    return r;
}

static int ws_send_close(struct rcc *c, int code)
{
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    c->sent_close = 1;
    /* a close without code is answered without code (gorilla) */
    return ws_send(c, WS_FIN | WS_OP_CLOSE, NULL, 0, p, code == WS_CLOSE_NO_STATUS ? 0 : 2);
}

/* A complete data message. */
static int ws_message(struct rcc *c, int op, const unsigned char *d, size_t len)
{
    if (op == WS_OP_TEXT && c->b64 && len > 0 && d[0] >= '1' && d[0] <= '3') {
        unsigned char *raw = malloc(3 * ((len - 1) / 4) + 3);
        if (!raw)
            return -1;
        int n = len > 1 ? EVP_DecodeBlock(raw, d + 1, (int)(len - 1)) : 0;
        if (n < 0) {
            free(raw);
            return proto_err(c, "rcc: ws: bad base64 in a text message");
        }
        if (len > 1 && d[len - 1] == '=')
            n--;
        if (len > 2 && d[len - 2] == '=')
            n--;
        int r = take_output(c, d[0] - '0', raw, (size_t)n);
        free(raw);
        return r;
    }
    if (op == WS_OP_TEXT) {
        c->stray++;
        set_err(c, "rcc: unexpected text message (%zu bytes)", len);
        return 0;
    }
    if (len == 0)
        return 0; /* the apiserver sends one empty message after the upgrade */
    switch (d[0]) {
    case S_STDOUT:
    case S_STDERR:
    case S_ERROR:
        return take_output(c, d[0], d + 1, len - 1);
    default: /* stdin, resize, [255, n] and unknown channels from the server */
        c->stray++;
        return 0;
    }
}

static int ws_frame(struct rcc *c, unsigned first, const unsigned char *d, size_t len)
{
    int op = (int)(first & WS_OPCODE_MASK);
    int fin = (first & WS_FIN) != 0;
    if (first & WS_RSV_MASK)
        return proto_err(c, "rcc: ws: RSV bits set in a server frame");
    if (c->got_close) {
        /* nothing may follow a close (RFC 6455 §5.5.1; gorilla never reads past it): counted */
        c->after_close++;
        if (op == WS_OP_PONG)
            c->pongs++;
        else
            c->stray++;
        return 0;
    }
    if (op >= 8) {
        if (!fin || len > WS_MAX_CONTROL_PAYLOAD)
            return proto_err(c, "rcc: ws: fragmented or oversized control frame");
        switch (op) {
        case WS_OP_PING:
            if (c->sent_close)
                return 0;
            return ws_send(c, WS_FIN | WS_OP_PONG, NULL, 0, d, len);
        case WS_OP_PONG:
            c->pongs++;
            return 0;
        case WS_OP_CLOSE:
            if (len == 1)
                return proto_err(c, "rcc: ws: close frame with a 1-byte payload");
            c->close_code = len >= 2 ? (d[0] << 8) | d[1] : WS_CLOSE_NO_STATUS;
            c->got_close = 1;
            c->status_done = 1;
            if (!c->sent_close)
                return ws_send_close(c, c->close_code);
            return 0;
        default:
            return proto_err(c, "rcc: ws: unknown control opcode");
        }
    }
    if (op == WS_OP_CONTINUATION) {
        if (!c->msg_active)
            return proto_err(c, "rcc: ws: continuation without a message");
    } else if (op == WS_OP_TEXT || op == WS_OP_BINARY) {
        if (c->msg_active)
            return proto_err(c, "rcc: ws: new message inside a fragmented one");
        if (fin)
            return ws_message(c, op, d, len);
        c->msg_active = 1;
        c->msg_op = op;
        c->msg.len = 0;
    } else {
        return proto_err(c, "rcc: ws: unknown opcode");
    }
    if (gbuf_add(&c->msg, d, len, RCC_MAX_OUTPUT) < 0)
        return proto_err(c, "rcc: ws: message over the cap");
    if (!fin)
        return 0;
    c->msg_active = 0;
    return ws_message(c, c->msg_op, (const unsigned char *)c->msg.d, c->msg.len);
}

/* Handle every complete frame in c->in. */
static int ws_parse(struct rcc *c)
{
    while (!c->broken) {
        size_t avail = c->in.len - c->in_off;
        const unsigned char *b = (const unsigned char *)c->in.d + c->in_off;
        if (avail < 2)
            break;
        if (b[1] & 0x80)
            return proto_err(c, "rcc: ws: masked frame from the server");
        uint64_t len = b[1] & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            if (avail < 4)
                break;
            len = ((uint64_t)b[2] << 8) | b[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | b[2 + i];
            hl = 10;
        }
        if (len > RCC_MAX_OUTPUT)
            return proto_err(c, "rcc: ws: frame over the cap");
        if (avail - hl < len)
            break;
        c->in_off += hl + (size_t)len;
        if (ws_frame(c, b[0], b + hl, (size_t)len) < 0)
            return -1;
    }
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
    } else if (c->in_off > READ_CHUNK) {
        memmove(c->in.d, c->in.d + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    return c->broken ? -1 : 0;
}

/* ---- SPDY frames ---- */

static int spdy_flush(struct rcc *c)
{
    size_t n = evbuffer_get_length(c->wbuf);
    if (n == 0)
        return 0;
    unsigned char *d = evbuffer_pullup(c->wbuf, -1);
    int r = send_all(c, d, n);
    evbuffer_drain(c->wbuf, n);
    return r;
}

static int spdy_stream_of(const struct rcc *c, uint32_t id)
{
    for (int s = 0; s < S_N; s++)
        if (c->sid[s] && c->sid[s] == id)
            return s;
    return -1;
}

static int spdy_on_frame(void *arg, const struct spdy_frame *f)
{
    struct rcc *c = arg;
    int s = spdy_stream_of(c, f->stream_id);
    if (!f->control) {
        if (s < 0 || c->fin[s] || c->rst[s] || (s != S_STDOUT && s != S_STDERR && s != S_ERROR)) {
            c->stray++;
            return 0;
        }
        if (f->data_len && take_output(c, s, f->data, f->data_len) < 0)
            return -1;
        if (f->flags & SPDY_FLAG_FIN) {
            c->fin[s] = 1;
            if (s == S_ERROR)
                c->status_done = 1;
        }
        return 0;
    }
    switch (f->type) {
    case SPDY_SYN_REPLY:
        if (s < 0 || c->replied[s])
            c->stray++;
        else
            c->replied[s] = 1;
        return 0;
    case SPDY_RST_STREAM:
        if (s < 0)
            c->stray++;
        else
            c->rst[s] = 1;
        return 0;
    case SPDY_PING:
        if (f->ping_id & 1) { /* ours, echoed */
            if (f->ping_id < c->next_ping_id)
                c->pongs++;
            else
                c->stray++;
            return 0;
        }
        if (spdy_write_ping(c->wbuf, f->ping_id) < 0 || spdy_flush(c) < 0)
            return -1;
        return 0;
    case SPDY_GOAWAY:
        c->goaway_seen = 1;
        return 0;
    case SPDY_SYN_STREAM: /* the server opens no streams in exec/attach */
        c->stray++;
        if (spdy_write_rst_stream(c->wbuf, f->stream_id, SPDY_RST_REFUSED_STREAM) < 0 ||
            spdy_flush(c) < 0)
            return -1;
        return 0;
    default: /* SETTINGS, WINDOW_UPDATE, HEADERS: spdystream ignores them */
        return 0;
    }
}

/* ---- reading ---- */

static int handle_bytes(struct rcc *c, const void *data, size_t len)
{
    if (c->tr == RCC_SPDY) {
        char e[SPDY_ERR_MAX];
        if (spdy_parser_feed(c->sp, data, len, e, sizeof e) < 0) {
            if (!c->broken)
                set_err(c, "rcc: %s", e);
            c->broken = 1;
            return -1;
        }
        return 0;
    }
    if (gbuf_add(&c->in, data, len, RCC_MAX_OUTPUT + 2 * READ_CHUNK) < 0)
        return proto_err(c, "rcc: ws: input over the cap");
    return ws_parse(c);
}

static int send_ping(struct rcc *c)
{
    if (c->tr == RCC_SPDY) {
        if (c->goaway_sent)
            return -1;
        uint32_t id = c->next_ping_id;
        c->next_ping_id += 2;
        if (spdy_write_ping(c->wbuf, id) < 0)
            return -1;
        return spdy_flush(c);
    }
    if (c->sent_close)
        return -1;
    return ws_send(c, WS_FIN | WS_OP_PING, NULL, 0, NULL, 0);
}

/* One round: handle left-over bytes, or wait for input until `until` (waking for due pings), read
 * and handle it. 1 when something was handled, 0 when nothing came, -1 when the connection is
 * closed or broken. */
static int pump_once(struct rcc *c, int64_t until)
{
    if (c->in_pending) {
        c->in_pending = 0;
        if (ws_parse(c) < 0)
            return -1;
        return 1;
    }
    if (c->broken || c->conn_closed)
        return -1;
    int64_t wake = until;
    if (c->ping_ms > 0) {
        if (now_ms() >= c->next_ping) {
            c->next_ping = now_ms() + c->ping_ms;
            send_ping(c); /* a failure shows in the next read */
        }
        if (c->next_ping < wake)
            wake = c->next_ping;
    }
    unsigned char buf[READ_CHUNK];
    ssize_t n = recv_some(c, buf, sizeof buf, left_ms(wake));
    if (n < 0)
        return -1;
    if (n == 0)
        return 0;
    return handle_bytes(c, buf, (size_t)n) < 0 ? -1 : 1;
}

typedef int (*done_fn)(const struct rcc *c, const void *arg);

/* Pump until done() or the deadline; a closed connection ends the wait at once. */
static int wait_for(struct rcc *c, done_fn done, const void *arg, int timeout_ms)
{
    int64_t until = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (done(c, arg))
            return 0;
        if (now_ms() >= until)
            return -1;
        if (pump_once(c, until) < 0)
            return done(c, arg) ? 0 : -1;
    }
}

/* ---- the HTTP upgrade ---- */

/* The value of header name in an HTTP head (first occurrence, trimmed) into buf, or NULL. */
static const char *head_value(const char *head, const char *name, char *buf, size_t len)
{
    size_t nl = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line) {
        line += 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = strcspn(v, "\r\n");
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= len)
                vl = len - 1;
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return buf;
        }
        line = strstr(line, "\r\n");
    }
    return NULL;
}

static int offered(const char *const *list, const char *p)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], p) == 0)
            return 1;
    return 0;
}

/* Read the non-101 answer's body: Content-Length bytes, or until close. */
static void read_body(struct rcc *c, const char *head, size_t head_len, int64_t until)
{
    char v[32];
    long want = -1;
    if (head_value(head, "Content-Length", v, sizeof v))
        want = strtol(v, NULL, 10);
    unsigned char buf[4096];
    while ((want < 0 || c->in.len - head_len < (size_t)want) && left_ms(until) > 0) {
        ssize_t n = recv_some(c, buf, sizeof buf, left_ms(until));
        if (n < 0)
            break;
        if (n > 0 && gbuf_add(&c->in, buf, (size_t)n, MAX_HEAD + RCC_MAX_OUTPUT) < 0)
            break;
    }
}

/* Build and send the upgrade request. */
static int send_request(struct rcc *c, const char *host, int port, const struct rcc_opts *o,
                        const char *const *protocols, const char *key)
{
    struct gbuf r = {0};
    char line[512];
    int ok = 1;
#define ADD(s) ok = ok && gbuf_add(&r, (s), strlen(s), SIZE_MAX / 2) == 0
    ADD(c->tr == RCC_SPDY ? "POST " : "GET ");
    ADD(o->path_and_query);
    int v6 = strchr(host, ':') != NULL;
    snprintf(line, sizeof line, " HTTP/1.1\r\nHost: %s%s%s:%d\r\nUser-Agent: %s\r\n", v6 ? "[" : "",
             host, v6 ? "]" : "", port, o->user_agent ? o->user_agent : "kubefault-rcclient");
    ADD(line);
    if (o->token) {
        ADD("Authorization: Bearer ");
        ADD(o->token);
        ADD("\r\n");
    }
    if (c->tr == RCC_SPDY) {
        ADD("Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n");
        for (size_t i = 0; protocols[i] && i < MAX_PROTOCOLS; i++) {
            ADD("X-Stream-Protocol-Version: ");
            ADD(protocols[i]);
            ADD("\r\n");
        }
    } else {
        ADD("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
        ADD(key);
        ADD("\r\nSec-WebSocket-Version: 13\r\n");
        if (protocols[0]) {
            ADD("Sec-WebSocket-Protocol: ");
            for (size_t i = 0; protocols[i] && i < MAX_PROTOCOLS; i++) {
                if (i)
                    ADD(", ");
                ADD(protocols[i]);
            }
            ADD("\r\n");
        }
    }
    ADD("\r\n");
#undef ADD
    int rc = ok ? send_all(c, r.d, r.len) : proto_err(c, "rcc: out of memory");
    gbuf_free(&r);
    return rc;
}

/* Create one SPDY stream and wait for its SYN_REPLY. */
static int spdy_open_stream(struct rcc *c, int s, int64_t until)
{
    const char *name = stream_names[s];
    struct spdy_header h = {"streamtype", 10, name, strlen(name)};
    char e[SPDY_ERR_MAX];
    c->sid[s] = c->next_sid;
    c->next_sid += 2;
    if (spdy_write_syn_stream(c->se, c->wbuf, c->sid[s], 0, 0, 0, &h, 1, e, sizeof e) < 0)
        return proto_err(c, e);
    if (spdy_flush(c) < 0)
        return -1;
    while (!c->replied[s]) {
        if (left_ms(until) == 0) {
            set_err(c, "rcc: no SYN_REPLY for stream %u (streamtype %s)", c->sid[s], name);
            return -1;
        }
        if (pump_once(c, until) < 0) {
            if (!c->err[0])
                set_err(c, "rcc: connection closed before the SYN_REPLY for stream %u (%s)",
                        c->sid[s], name);
            return -1;
        }
    }
    return 0;
}

const char *rcc_path(char *buf, size_t len, const char *ns, const char *pod, const char *container,
                     const char *const *argv, const struct rcc_opts *o)
{
    struct gbuf b = {0};
    int ok = 1;
    char sep = '?';
    /* percent-encode everything but RFC 3986 unreserved characters */
#define ENC(s)                                                                                     \
    for (const unsigned char *q = (const unsigned char *)(s); ok && *q; q++) {                     \
        char e[4];                                                                                 \
        if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||    \
            strchr("-._~", *q))                                                                    \
            ok = gbuf_add(&b, q, 1, len) == 0;                                                     \
        else {                                                                                     \
            snprintf(e, sizeof e, "%%%02X", *q);                                                   \
            ok = gbuf_add(&b, e, 3, len) == 0;                                                     \
        }                                                                                          \
    }
#define RAW(s) ok = ok && gbuf_add(&b, (s), strlen(s), len) == 0
#define PARAM(k)                                                                                   \
    do {                                                                                           \
        char kk[24];                                                                               \
        snprintf(kk, sizeof kk, "%c%s=", sep, (k));                                                \
        RAW(kk);                                                                                   \
        sep = '&';                                                                                 \
    } while (0)
    RAW("/api/v1/namespaces/");
    ENC(ns);
    RAW("/pods/");
    ENC(pod);
    RAW(argv ? "/exec" : "/attach");
    for (size_t i = 0; argv && argv[i]; i++) {
        PARAM("command");
        ENC(argv[i]);
    }
    if (container) {
        PARAM("container");
        ENC(container);
    }
    if (o->stderr_) {
        PARAM("stderr");
        RAW("true");
    }
    if (o->stdin_) {
        PARAM("stdin");
        RAW("true");
    }
    if (o->stdout_) {
        PARAM("stdout");
        RAW("true");
    }
    if (o->tty) {
        PARAM("tty");
        RAW("true");
    }
#undef ENC
#undef RAW
#undef PARAM
    const char *ret = NULL;
    if (ok && b.len < len) {
        memcpy(buf, b.d, b.len + 1);
        ret = buf;
    }
    gbuf_free(&b);
    return ret;
}

struct rcc *rcc_open_ex(int port, const struct rcc_opts *o, int timeout_ms, struct rcc_result *res)
{
    static const char *const spdy_default[] = {"v5.channel.k8s.io", "v4.channel.k8s.io",
                                               "v3.channel.k8s.io", "v2.channel.k8s.io",
                                               "channel.k8s.io",    NULL};
    static const char *const ws_default[] = {WS_PROTO_K8S_V5, WS_PROTO_K8S_V4, NULL};
    memset(res, 0, sizeof *res);
    const char *host = o->host && o->host[0] ? o->host : "127.0.0.1";
    int64_t until = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    const char *const *protocols = o->protocols               ? o->protocols
                                   : o->transport == RCC_SPDY ? spdy_default
                                                              : ws_default;

    struct rcc *c = calloc(1, sizeof *c);
    if (!c) {
        res->fail = RCC_FAIL_PROTOCOL;
        snprintf(res->err, sizeof res->err, "rcc: out of memory");
        return NULL;
    }
    c->tr = o->transport;
    c->fd = -1;
    c->ping_ms = o->ping_ms;
    c->next_sid = 1;
    c->next_ping_id = 1;
    c->want[S_ERROR] = 1;
    c->want[S_STDIN] = o->stdin_;
    c->want[S_STDOUT] = o->stdout_;
    c->want[S_STDERR] = o->stderr_ && !o->tty;
    c->want[S_RESIZE] = o->tty;
    int dial_ms = left_ms(until);
    if (o->dial_timeout_ms > 0 && o->dial_timeout_ms < dial_ms)
        dial_ms = o->dial_timeout_ms;
    c->fd = connect_host(host, port, dial_ms, res);
    if (c->fd < 0) {
        rcc_free(c);
        return NULL;
    }
    if (o->tls) {
        int tls_ms = left_ms(until);
        if (o->tls_timeout_ms > 0 && o->tls_timeout_ms < tls_ms)
            tls_ms = o->tls_timeout_ms;
        if (tls_start(c, o, host, tls_ms, res) < 0) {
            rcc_free(c);
            return NULL;
        }
    }
    res->fail = RCC_FAIL_IO; /* until the answer is in */

    /* the request */
    char key[32] = "";
    if (c->tr == RCC_WS) {
        unsigned char raw[16];
        if (RAND_bytes(raw, sizeof raw) != 1) {
            set_err(c, "rcc: RAND_bytes failed");
            goto fail;
        }
        EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
    }
    if (send_request(c, host, port, o, protocols, key) < 0)
        goto fail;

    /* the answer's head */
    unsigned char buf[4096];
    char *end = NULL;
    while (!end) {
        if (left_ms(until) == 0) {
            res->fail = RCC_FAIL_TIMEOUT;
            set_err(c, "rcc: no complete HTTP answer within %d ms", timeout_ms);
            goto fail;
        }
        ssize_t n = recv_some(c, buf, sizeof buf, left_ms(until));
        if (n < 0) {
            res->sys_errno = c->sys_errno;
            set_err(c, "rcc: connection %s before the HTTP answer was complete",
                    c->conn_reset ? "reset" : "closed");
            goto fail;
        }
        if (n > 0 && gbuf_add(&c->in, buf, (size_t)n, MAX_HEAD + RCC_MAX_OUTPUT) < 0)
            goto fail;
        if (c->in.len)
            end = strstr(c->in.d, "\r\n\r\n");
        if (!end && c->in.len > MAX_HEAD) {
            set_err(c, "rcc: HTTP answer head over %u bytes", MAX_HEAD);
            goto fail;
        }
    }
    size_t head_len = (size_t)(end - c->in.d) + 4;
    res->fail = RCC_FAIL_PROTOCOL;
    int code = 0;
    if (sscanf(c->in.d, "HTTP/1.%*d %d", &code) != 1) {
        set_err(c, "rcc: not an HTTP answer: %.40s", c->in.d);
        goto fail;
    }
    res->http_code = code;
    char *head = malloc(head_len + 1);
    if (!head)
        goto fail;
    memcpy(head, c->in.d, head_len);
    head[head_len] = '\0';

    if (code != 101) {
        read_body(c, head, head_len, until);
        const char *b = c->in.d + head_len;
        size_t bl = c->in.len - head_len;
        size_t n = bl < sizeof res->body - 1 ? bl : sizeof res->body - 1;
        memcpy(res->body, b, n);
        res->body[n] = '\0';
        res->body_len = n;
        head_value(head, "Content-Type", res->content_type, sizeof res->content_type);
        res->fail = RCC_FAIL_HTTP;
        set_err(c, "HTTP %d: %.*s", code, (int)(bl > 400 ? 400 : bl), b);
        free(head);
        goto fail;
    }

    /* the 101 */
    char v[PROTO_MAX];
    const char *want_upgrade = c->tr == RCC_SPDY ? "SPDY/3.1" : "websocket";
    if (!head_value(head, "Upgrade", v, sizeof v) || strcasecmp(v, want_upgrade) != 0) {
        set_err(c, "rcc: 101 without \"Upgrade: %s\"", want_upgrade);
        free(head);
        goto fail;
    }
    const char *proto_header =
        c->tr == RCC_SPDY ? "X-Stream-Protocol-Version" : "Sec-WebSocket-Protocol";
    if (head_value(head, proto_header, v, sizeof v)) {
        if (!offered(protocols, v)) {
            set_err(c, "rcc: 101 with %s \"%s\", which was not offered", proto_header, v);
            free(head);
            goto fail;
        }
        snprintf(c->protocol, sizeof c->protocol, "%s", v);
    } else if (c->tr == RCC_WS && protocols[0]) {
        set_err(c, "rcc: 101 without Sec-WebSocket-Protocol");
        free(head);
        goto fail;
    }
    if (c->tr == RCC_WS) {
        char acc[WS_ACCEPT_BYTES];
        if (ws_accept_key(key, acc) < 0 || !head_value(head, "Sec-WebSocket-Accept", v, sizeof v) ||
            strcmp(v, acc) != 0) {
            set_err(c, "rcc: 101 with a missing or wrong Sec-WebSocket-Accept");
            free(head);
            goto fail;
        }
    }
    free(head);

    /* what came after the head belongs to the upgraded protocol */
    size_t rest = c->in.len - head_len;
    memmove(c->in.d, c->in.d + head_len, rest);
    c->in.len = rest;
    c->in.d[rest] = '\0';
    c->next_ping = now_ms() + c->ping_ms;
    if (c->tr == RCC_WS) {
        c->v5 = strcmp(c->protocol, WS_PROTO_K8S_V5) == 0;
        c->b64 = strstr(c->protocol, "base64") != NULL;
        c->in_pending = rest > 0;
        res->fail = RCC_OK;
        return c;
    }
    c->sp = spdy_parser_new(spdy_on_frame, c);
    c->se = spdy_encoder_new();
    c->wbuf = evbuffer_new();
    if (!c->sp || !c->se || !c->wbuf) {
        set_err(c, "rcc: out of memory");
        goto fail;
    }
    if (rest && handle_bytes(c, c->in.d, rest) < 0)
        goto fail;
    gbuf_free(&c->in);
    static const int order[] = {S_ERROR, S_STDIN, S_STDOUT, S_STDERR, S_RESIZE};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (c->want[order[i]] && spdy_open_stream(c, order[i], until) < 0)
            goto fail;
    res->fail = RCC_OK;
    return c;

fail:
    if (res->fail == RCC_OK)
        res->fail = RCC_FAIL_PROTOCOL;
    snprintf(res->err, sizeof res->err, "%s", c->err[0] ? c->err : "rcc: failed");
    rcc_free(c);
    return NULL;
}

struct rcc *rcc_open(int port, const struct rcc_opts *o, int timeout_ms, char *err, size_t errlen,
                     int *http_code, char *body, size_t bodylen)
{
    struct rcc_result *r = calloc(1, sizeof *r);
    if (!r) {
        if (err && errlen)
            snprintf(err, errlen, "rcc: out of memory");
        return NULL;
    }
    struct rcc *c = rcc_open_ex(port, o, timeout_ms, r);
    if (err && errlen)
        snprintf(err, errlen, "%s", c ? "" : r->err);
    if (http_code)
        *http_code = r->http_code;
    if (body && bodylen) {
        size_t n = r->body_len < bodylen - 1 ? r->body_len : bodylen - 1;
        memcpy(body, r->body, n);
        body[n] = '\0';
    }
    free(r);
    return c;
}

const char *rcc_protocol(const struct rcc *c)
{
    return c->protocol;
}

int rcc_write_stdin(struct rcc *c, const void *data, size_t len)
{
    if (!c->want[S_STDIN] || c->stdin_closed) {
        set_err(c, "rcc: no stdin to write to");
        return -1;
    }
    const unsigned char *p = data;
    do {
        size_t n = len > MAX_PIECE ? MAX_PIECE : len;
        if (c->tr == RCC_SPDY) {
            if (c->goaway_sent || spdy_write_data(c->wbuf, c->sid[S_STDIN], 0, p, n) < 0 ||
                spdy_flush(c) < 0)
                return -1;
        } else {
            unsigned char ch = S_STDIN;
            if (c->b64) {
                unsigned char *txt = malloc(4 * ((n + 2) / 3) + 1);
                if (!txt)
                    return -1;
                ch = '0' + S_STDIN;
                int e = EVP_EncodeBlock(txt, p, (int)n);
                int r =
                    c->sent_close ? -1 : ws_send(c, WS_FIN | WS_OP_TEXT, &ch, 1, txt, (size_t)e);
                free(txt);
                if (r < 0)
                    return -1;
            } else if (c->sent_close || ws_send(c, WS_FIN | WS_OP_BINARY, &ch, 1, p, n) < 0) {
                return -1;
            }
        }
        p += n;
        len -= n;
    } while (len > 0);
    return 0;
}

int rcc_close_stdin(struct rcc *c)
{
    if (!c->want[S_STDIN] || c->stdin_closed)
        return -1;
    c->stdin_closed = 1;
    if (c->tr == RCC_SPDY) {
        if (c->goaway_sent || spdy_write_data(c->wbuf, c->sid[S_STDIN], SPDY_FLAG_FIN, "", 0) < 0 ||
            spdy_flush(c) < 0)
            return -1;
        c->stdin_eof_sent = 1;
        return 0;
    }
    if (!c->v5)
        return 0; /* v4 cannot signal stdin EOF */
    static const unsigned char eof[2] = {WS_K8S_CLOSE, WS_K8S_STDIN};
    if (c->sent_close || ws_send(c, WS_FIN | WS_OP_BINARY, NULL, 0, eof, sizeof eof) < 0)
        return -1;
    c->stdin_eof_sent = 1;
    return 0;
}

int rcc_stdin_eof_sent(const struct rcc *c)
{
    return c->stdin_eof_sent;
}

int rcc_resize(struct rcc *c, int w, int h)
{
    char j[64];
    int n = snprintf(j, sizeof j, "{\"Width\":%d,\"Height\":%d}\n", w, h);
    if (c->tr == RCC_SPDY) {
        if (!c->want[S_RESIZE] || c->goaway_sent ||
            spdy_write_data(c->wbuf, c->sid[S_RESIZE], 0, j, (size_t)n) < 0)
            return -1;
        return spdy_flush(c);
    }
    unsigned char ch = S_RESIZE;
    if (c->sent_close)
        return -1;
    return ws_send(c, WS_FIN | WS_OP_BINARY, &ch, 1, j, (size_t)n);
}

int rcc_ping(struct rcc *c)
{
    return send_ping(c);
}

int rcc_pump(struct rcc *c, int timeout_ms)
{
    int64_t until = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    do {
        if (pump_once(c, until) < 0)
            return -1;
    } while (now_ms() < until);
    return 0;
}

static int has_output(const struct rcc *c, const void *arg)
{
    const char *needle = arg;
    const struct gbuf *b = &c->out[S_STDOUT];
    if (!*needle)
        return 1;
    return b->len && strstr(b->d, needle) != NULL;
}

int rcc_wait_output(struct rcc *c, const char *needle, int timeout_ms)
{
    return wait_for(c, has_output, needle, timeout_ms);
}

static int ended(const struct rcc *c, const void *arg)
{
    (void)arg;
    if (c->tr == RCC_WS)
        return c->got_close;
    static const int outs[] = {S_ERROR, S_STDOUT, S_STDERR};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        if (c->want[outs[i]] && !c->fin[outs[i]] && !c->rst[outs[i]])
            return 0;
    return 1;
}

int rcc_wait_end(struct rcc *c, int timeout_ms)
{
    return wait_for(c, ended, NULL, timeout_ms);
}

static int enough_pongs(const struct rcc *c, const void *arg)
{
    return c->pongs >= *(const int *)arg;
}

int rcc_wait_pongs(struct rcc *c, int n, int timeout_ms)
{
    return wait_for(c, enough_pongs, &n, timeout_ms);
}

static int closed(const struct rcc *c, const void *arg)
{
    (void)arg;
    return c->conn_closed;
}

int rcc_finish(struct rcc *c, int timeout_ms)
{
    if (!c->conn_closed && !c->broken) {
        if (c->tr == RCC_SPDY && !c->goaway_sent) {
            for (int s = 0; s < S_N; s++)
                if (c->sid[s])
                    spdy_write_rst_stream(c->wbuf, c->sid[s], SPDY_RST_CANCEL);
            spdy_write_goaway(c->wbuf, 0, SPDY_GOAWAY_OK);
            c->goaway_sent = 1;
            if (spdy_flush(c) < 0)
                return c->conn_closed ? 0 : -1;
        } else if (c->tr == RCC_WS && !c->sent_close) {
            if (ws_send_close(c, WS_CLIENT_CLOSE_CODE) < 0)
                return c->conn_closed ? 0 : -1;
        }
    }
    /* a broken session is not read any more: wait for the close with a plain read loop */
    if (c->broken && !c->conn_closed) {
        int64_t until = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
        unsigned char buf[4096];
        while (!c->conn_closed && left_ms(until) > 0)
            recv_some(c, buf, sizeof buf, left_ms(until));
    }
    return wait_for(c, closed, NULL, timeout_ms);
}

const char *rcc_stdout(const struct rcc *c, size_t *len)
{
    if (len)
        *len = c->out[S_STDOUT].len;
    return c->out[S_STDOUT].d ? c->out[S_STDOUT].d : "";
}

const char *rcc_stderr(const struct rcc *c, size_t *len)
{
    if (len)
        *len = c->out[S_STDERR].len;
    return c->out[S_STDERR].d ? c->out[S_STDERR].d : "";
}

const char *rcc_status(const struct rcc *c)
{
    if (!c->status_done)
        return NULL;
    return c->out[S_ERROR].d ? c->out[S_ERROR].d : "";
}

/* client-go tools/remotecommand errorDecoderV4.decode, as an exit code. */
int rcc_exit_code(const struct rcc *c)
{
    const char *st = rcc_status(c);
    if (!st)
        return -1;
    if (c->out[S_ERROR].len == 0)
        return 0;
    cJSON *j = cJSON_ParseWithLength(st, c->out[S_ERROR].len);
    if (!j)
        return -2;
    int code = -2;
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
    if (cJSON_IsString(status) && strcmp(status->valuestring, "Success") == 0) {
        code = 0;
    } else if (cJSON_IsString(status) && strcmp(status->valuestring, "Failure") == 0 &&
               cJSON_IsString(reason) && strcmp(reason->valuestring, "NonZeroExitCode") == 0) {
        const cJSON *causes = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "details"), "causes");
        const cJSON *cause;
        cJSON_ArrayForEach(cause, causes)
        {
            const cJSON *r = cJSON_GetObjectItemCaseSensitive(cause, "reason");
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(cause, "message");
            if (!cJSON_IsString(r) || strcmp(r->valuestring, "ExitCode") != 0)
                continue;
            /* strconv.ParseUint(message, 10, 8): digits only, at most 255 */
            const char *s = cJSON_IsString(m) ? m->valuestring : "";
            long v = 0;
            size_t k = 0;
            for (; s[k] >= '0' && s[k] <= '9' && v <= 255; k++)
                v = v * 10 + (s[k] - '0');
            if (k > 0 && s[k] == '\0' && v <= 255)
                code = (int)v;
            break;
        }
    }
    cJSON_Delete(j);
    return code;
}

int rcc_close_code(const struct rcc *c)
{
    if (c->tr == RCC_SPDY)
        return c->goaway_seen;
    return c->got_close ? c->close_code : 0;
}

int rcc_conn_closed(const struct rcc *c)
{
    return c->conn_closed;
}

int rcc_conn_reset(const struct rcc *c)
{
    return c->conn_reset;
}

int rcc_pongs(const struct rcc *c)
{
    return c->pongs;
}

int rcc_stray(const struct rcc *c)
{
    return c->stray;
}

int rcc_after_close(const struct rcc *c)
{
    return c->after_close;
}

const char *rcc_error(const struct rcc *c)
{
    return c->err;
}

void rcc_drain_stdout(struct rcc *c, size_t n)
{
    struct gbuf *b = &c->out[S_STDOUT];
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->d, b->d + n, b->len - n);
        b->len -= n;
    }
    if (b->d)
        b->d[b->len] = '\0';
}

void rcc_drain_stderr(struct rcc *c, size_t n)
{
    struct gbuf *b = &c->out[S_STDERR];
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->d, b->d + n, b->len - n);
        b->len -= n;
    }
    if (b->d)
        b->d[b->len] = '\0';
}

int rcc_sys_errno(const struct rcc *c)
{
    return c->sys_errno;
}

int rcc_status_done(const struct rcc *c)
{
    return c->status_done;
}

void rcc_free(struct rcc *c)
{
    if (!c)
        return;
    if (c->fd >= 0 && !c->conn_closed && !c->broken) {
        /* best effort, never waiting: say goodbye as client-go does */
        unsigned char frame[WS_MAX_HEAD_BYTES + 2];
        size_t n = 0;
        if (c->tr == RCC_SPDY && c->wbuf && !c->goaway_sent &&
            spdy_write_goaway(c->wbuf, 0, SPDY_GOAWAY_OK) == 0) {
            n = evbuffer_get_length(c->wbuf);
            if (n <= sizeof frame)
                evbuffer_remove(c->wbuf, frame, n);
            else
                n = 0;
        } else if (c->tr == RCC_WS && !c->sent_close) {
            static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
            unsigned char p[2] = {WS_CLIENT_CLOSE_CODE >> 8, WS_CLIENT_CLOSE_CODE & 0xff};
            n = ws_frame_head(frame, WS_FIN | WS_OP_CLOSE, 2, mask);
            for (size_t i = 0; i < 2; i++)
                frame[n + i] = p[i] ^ mask[i];
            n += 2;
        }
        if (n && c->ssl) {
            ERR_clear_error();
            (void)SSL_write(c->ssl, frame, (int)n);
        } else if (n) {
            (void)!send(c->fd, frame, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
    }
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->ssl_ctx)
        SSL_CTX_free(c->ssl_ctx);
    ERR_clear_error();
    if (c->fd >= 0)
        close(c->fd);
    spdy_parser_free(c->sp);
    spdy_encoder_free(c->se);
    if (c->wbuf)
        evbuffer_free(c->wbuf);
    gbuf_free(&c->in);
    gbuf_free(&c->msg);
    for (int s = 0; s < S_N; s++)
        gbuf_free(&c->out[s]);
    free(c);
}
