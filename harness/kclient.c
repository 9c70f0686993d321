/* kclient.c -- kube-apiserver REST calls over libcurl with client-go's retries and error texts
 * (kclient.h). One easy handle per client, reused, so calls share a keep-alive connection as Go's
 * transport does; client-go's default rate limit (5 requests/s, burst 10) is kept too (§1). */
#include "harness/kclient.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/x509_vfy.h>

#include "harness/kcconfig.h"
#include "harness/rcclient.h"

#define DEFAULT_UA "gitlab-runner 19.4.0 (kubefault reference job client; linux/amd64)"
#define QPS 5    /* client-go DefaultQPS */
#define BURST 10 /* client-go DefaultBurst */

struct kclient {
    CURL *curl;
    char *server; /* scheme://host:port */
    char *host;   /* host name or address, without brackets */
    int port;
    int tls;
    char *token;
    char *ca_file;
    char *ca_pem;
    int insecure;
    char *ua;
    char *auth_header;
    double tokens; /* the rate limiter's bucket */
    int64_t refill_ms;
    double qps; /* its refill rate: QPS, times the time scale */
};

struct xfer {
    char *buf;
    size_t len, cap;
    int too_big;
    int headers_done;
    int code_seen;
    char ctype[128];
    long retry_after; /* -1: none or not an integer */
    int64_t tcp_ms;   /* when the TCP connection was seen up (0: not yet) */
    int tls_timeout;
    int tls;
    int new_conn; /* this transfer opened a connection (0: it reused a kept-alive one) */
    struct kclient *k;
};

int64_t kclient_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kclient_sleep_ms(int64_t ms, int64_t deadline_ms)
{
    int64_t until = kclient_now_ms() + (ms > 0 ? ms : 0);
    int cut = 0;
    if (deadline_ms > 0 && deadline_ms < until) {
        until = deadline_ms;
        cut = 1;
    }
    for (;;) {
        int64_t left = until - kclient_now_ms();
        if (left <= 0)
            break;
        struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return cut ? -1 : 0;
}

static void errf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void errf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

int kc_query_escape(char *buf, size_t len, size_t *used, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char e[4];
        size_t n = 1;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            e[0] = (char)*p;
        } else if (*p == ' ') {
            e[0] = '+';
        } else {
            e[0] = '%';
            e[1] = hex[*p >> 4];
            e[2] = hex[*p & 15];
            n = 3;
        }
        if (*used + n >= len)
            return -1;
        memcpy(buf + *used, e, n);
        *used += n;
        buf[*used] = '\0';
    }
    return 0;
}

/* ---- libcurl callbacks ---- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;
    if (x->len + n > KC_MAX_BODY) {
        x->too_big = 1;
        return 0;
    }
    if (x->len + n + 1 > x->cap) {
        size_t nc = x->cap ? x->cap : 4096;
        while (nc < x->len + n + 1)
            nc *= 2;
        char *b = realloc(x->buf, nc);
        if (!b)
            return 0;
        x->buf = b;
        x->cap = nc;
    }
    memcpy(x->buf + x->len, p, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        x->code_seen = 1;
        x->headers_done = 0;
        x->ctype[0] = '\0';
        x->retry_after = -1;
    } else if (n <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        x->headers_done = 1;
    } else if (n > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
        size_t k = 13;
        while (k < n && p[k] == ' ')
            k++;
        size_t e = n;
        while (e > k && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' '))
            e--;
        snprintf(x->ctype, sizeof x->ctype, "%.*s", (int)(e - k), p + k);
    } else if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        /* client-go: strconv.Atoi of the header; anything else is no Retry-After */
        size_t k = 12;
        while (k < n && p[k] == ' ')
            k++;
        long v = 0;
        size_t d = 0;
        while (k + d < n && p[k + d] >= '0' && p[k + d] <= '9' && v < 1000000)
            v = v * 10 + (p[k + d++] - '0');
        size_t e = k + d;
        while (e < n && (p[e] == '\r' || p[e] == '\n' || p[e] == ' '))
            e++;
        x->retry_after = d > 0 && e == n ? v : -1;
    }
    return n;
}

/* A new socket for this transfer: a deadline before it connected is a dial timeout; on a reused
 * connection (curl reports no connect time for it) it is a plain context deadline. */
static int on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
    (void)fd;
    if (purpose == CURLSOCKTYPE_IPCXN)
        ((struct xfer *)arg)->new_conn = 1;
    return CURL_SOCKOPT_OK;
}

/* Go's http.Transport gives the TLS handshake 10 s of its own: cut it off then. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    struct xfer *x = arg;
    if (!x->tls || x->code_seen)
        return 0;
    curl_off_t conn = 0, app = 0;
    curl_easy_getinfo(x->k->curl, CURLINFO_CONNECT_TIME_T, &conn);
    curl_easy_getinfo(x->k->curl, CURLINFO_APPCONNECT_TIME_T, &app);
    if (conn > 0 && app == 0) {
        if (!x->tcp_ms)
            x->tcp_ms = kclient_now_ms();
        else if (kclient_now_ms() - x->tcp_ms >= KC_TLS_TIMEOUT_MS) {
            x->tls_timeout = 1;
            return 1;
        }
    }
    return 0;
}

/* ---- the client ---- */

static int split_server(struct kclient *k, const char *url, char *err, size_t errlen)
{
    const char *rest;
    if (strncmp(url, "https://", 8) == 0) {
        k->tls = 1;
        rest = url + 8;
        k->port = 443;
    } else if (strncmp(url, "http://", 7) == 0) {
        rest = url + 7;
        k->port = 80;
    } else {
        errf(err, errlen, "server \"%s\" is not an http:// or https:// URL", url);
        return -1;
    }
    const char *hend;
    const char *h = rest;
    if (*rest == '[') {
        hend = strchr(rest, ']');
        if (!hend) {
            errf(err, errlen, "server \"%s\": bad IPv6 address", url);
            return -1;
        }
        h = rest + 1;
        k->host = strndup(h, (size_t)(hend - h));
        hend++;
    } else {
        hend = rest + strcspn(rest, ":/");
        k->host = strndup(rest, (size_t)(hend - rest));
    }
    if (!k->host || !k->host[0]) {
        errf(err, errlen, "server \"%s\" has no host", url);
        return -1;
    }
    if (*hend == ':') {
        char *end;
        long p = strtol(hend + 1, &end, 10);
        if (end == hend + 1 || p < 1 || p > 65535 || (*end && *end != '/')) {
            errf(err, errlen, "server \"%s\": bad port", url);
            return -1;
        }
        k->port = (int)p;
        hend = end;
    }
    if (*hend == '/' && hend[1] != '\0') {
        errf(err, errlen,
             "server \"%s\": a path after the host is not supported by the reference job client",
             url);
        return -1;
    }
    k->server = strndup(url, (size_t)(hend - url));
    return k->server ? 0 : -1;
}

struct kclient *kclient_new(const struct kc_config *cfg, const char *user_agent, char *err,
                            size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        errf(err, errlen, "libcurl failed to start");
        return NULL;
    }
    struct kclient *k = calloc(1, sizeof *k);
    if (!k) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    if (!cfg->server || split_server(k, cfg->server, err, errlen) < 0)
        goto fail;
    k->curl = curl_easy_init();
    k->ua = strdup(user_agent ? user_agent : DEFAULT_UA);
    if (cfg->token && cfg->token[0]) {
        size_t n = strlen(cfg->token) + 32;
        k->token = strdup(cfg->token);
        k->auth_header = malloc(n);
        if (k->auth_header)
            snprintf(k->auth_header, n, "Authorization: Bearer %s", cfg->token);
    }
    k->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
    k->ca_pem = cfg->ca_pem ? strdup(cfg->ca_pem) : NULL;
    k->insecure = cfg->insecure;
    k->tokens = BURST;
    k->refill_ms = kclient_now_ms();
    k->qps = QPS;
    if (!k->curl || !k->ua || (cfg->token && cfg->token[0] && (!k->token || !k->auth_header)) ||
        (cfg->ca_file && !k->ca_file) || (cfg->ca_pem && !k->ca_pem)) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    return k;
fail:
    if (!err[0])
        errf(err, errlen, "out of memory");
    kclient_free(k);
    return NULL;
}

void kclient_set_time_scale(struct kclient *k, int scale)
{
    k->qps = QPS * (double)(scale > 1 ? scale : 1);
}

void kclient_free(struct kclient *k)
{
    if (!k)
        return;
    if (k->curl)
        curl_easy_cleanup(k->curl);
    free(k->server);
    free(k->host);
    free(k->token);
    free(k->ca_file);
    free(k->ca_pem);
    free(k->ua);
    free(k->auth_header);
    free(k);
}

const char *kclient_server(const struct kclient *k)
{
    return k->server;
}

void kclient_stream_opts(const struct kclient *k, struct rcc_opts *o, int *port)
{
    o->host = k->host;
    o->tls = k->tls;
    o->ca_pem = k->ca_pem;
    o->ca_file = k->ca_file;
    o->insecure = k->insecure;
    o->token = k->token;
    o->user_agent = k->ua;
    o->dial_timeout_ms = KC_DIAL_TIMEOUT_MS;
    o->tls_timeout_ms = KC_TLS_TIMEOUT_MS;
    *port = k->port;
}

void kc_resp_release(struct kc_resp *r)
{
    if (!r)
        return;
    cJSON_Delete(r->body);
    memset(r, 0, sizeof *r);
}

int kc_is_pod_not_found(const struct kc_resp *r)
{
    return r->kind == KC_ERR_STATUS && r->code == 404 && strcmp(r->details_kind, "pods") == 0;
}

/* client-go's flowcontrol token bucket: wait for a token (never past the deadline). */
static void rate_limit(struct kclient *k, int64_t deadline_ms)
{
    int64_t now = kclient_now_ms();
    k->tokens += (double)(now - k->refill_ms) * k->qps / 1000.0;
    if (k->tokens > BURST)
        k->tokens = BURST;
    k->refill_ms = now;
    if (k->tokens < 1.0) {
        int64_t wait = (int64_t)((1.0 - k->tokens) * 1000.0 / k->qps) + 1;
        kclient_sleep_ms(wait, deadline_ms);
        now = kclient_now_ms();
        k->tokens += (double)(now - k->refill_ms) * k->qps / 1000.0;
        k->refill_ms = now;
    }
    k->tokens -= 1.0;
}

/* Go's url.Error operation name: "Get", "Post", ... */
static void go_op(const char *method, char *op, size_t len)
{
    snprintf(op, len, "%s", method);
    for (size_t i = 1; op[i]; i++)
        if (op[i] >= 'A' && op[i] <= 'Z')
            op[i] = (char)(op[i] - 'A' + 'a');
}

/* "ip:port" of one end of the transfer's connection ("[ip]:port" for IPv6). */
static void end_addr(CURL *c, int local, char *buf, size_t len)
{
    char *ip = NULL;
    long port = 0;
    curl_easy_getinfo(c, local ? CURLINFO_LOCAL_IP : CURLINFO_PRIMARY_IP, &ip);
    curl_easy_getinfo(c, local ? CURLINFO_LOCAL_PORT : CURLINFO_PRIMARY_PORT, &port);
    if (!ip || !ip[0]) {
        snprintf(buf, len, "?");
        return;
    }
    if (strchr(ip, ':'))
        snprintf(buf, len, "[%s]:%ld", ip, port);
    else
        snprintf(buf, len, "%s:%ld", ip, port);
}

/* The server's address for "dial tcp ADDR": the address tried, else the configured host. */
static void dial_addr(const struct kclient *k, char *buf, size_t len)
{
    char *ip = NULL;
    curl_easy_getinfo(k->curl, CURLINFO_PRIMARY_IP, &ip);
    const char *h = ip && ip[0] ? ip : k->host;
    if (strchr(h, ':'))
        snprintf(buf, len, "[%s]:%d", h, k->port);
    else
        snprintf(buf, len, "%s:%d", h, k->port);
}

/* Go's syscall error texts for the errnos a connection meets. */
static const char *errno_text(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return "connection refused";
    case ECONNRESET:
        return "connection reset by peer";
    case EPIPE:
        return "broken pipe";
    case ETIMEDOUT:
        return "connection timed out";
    case ENETUNREACH:
        return "network is unreachable";
    case EHOSTUNREACH:
        return "no route to host";
    case ECONNABORTED:
        return "software caused connection abort";
    default:
        return strerror(e);
    }
}

/* The x509 error texts Go's crypto/tls prints for the verify results that matter. */
static const char *x509_text(long v)
{
    switch (v) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return "x509: certificate signed by unknown authority";
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return "x509: certificate has expired or is not yet valid";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return "x509: certificate is not valid for the requested name";
    default:
        return "x509: certificate verification failed";
    }
}

/* apimachinery NewGenericServerResponse: the message for a non-Status error body. */
static void generic_error(const char *method, const char *path, int code, const struct xfer *x,
                          char *out, size_t len)
{
    /* the resource and name from the path: /api/v1/namespaces/NS/RES/NAME[/SUB] or /api/v1/RES */
    char res[256] = "", name[256] = "";
    const char *p = path;
    char seg[8][256];
    int ns = 0;
    size_t plen = strcspn(p, "?");
    for (size_t i = 0; i < plen && ns < 8;) {
        while (i < plen && p[i] == '/')
            i++;
        size_t j = i;
        while (j < plen && p[j] != '/')
            j++;
        if (j > i)
            snprintf(seg[ns++], sizeof seg[0], "%.*s", (int)(j - i), p + i);
        i = j;
    }
    int base = ns >= 1 && strcmp(seg[0], "api") == 0 ? 2 : 3; /* after /api/v1 or /apis/g/v */
    if (ns > base && strcmp(seg[base], "namespaces") == 0 && ns > base + 2)
        base += 2;
    if (ns > base)
        snprintf(res, sizeof res, "%s", seg[base]);
    if (ns > base + 1)
        snprintf(name, sizeof name, "%s", seg[base + 1]);
    char verb[16];
    snprintf(verb, sizeof verb, "%s", method);
    for (size_t i = 0; verb[i]; i++)
        if (verb[i] >= 'A' && verb[i] <= 'Z')
            verb[i] = (char)(verb[i] - 'A' + 'a');
    char text[KC_UNSTRUCTURED_MAX_BYTES + 1] = "unknown";
    if (strncasecmp(x->ctype, "text/", 5) == 0 || !x->ctype[0]) {
        size_t n = x->len > KC_UNSTRUCTURED_MAX_BYTES ? KC_UNSTRUCTURED_MAX_BYTES : x->len;
        size_t a = 0;
        while (a < n && (x->buf[a] == ' ' || x->buf[a] == '\n' || x->buf[a] == '\r'))
            a++;
        while (n > a && (x->buf[n - 1] == ' ' || x->buf[n - 1] == '\n' || x->buf[n - 1] == '\r'))
            n--;
        if (n > a)
            snprintf(text, sizeof text, "%.*s", (int)(n - a), x->buf + a);
    }
    const char *msg;
    char buf[KC_UNSTRUCTURED_MAX_BYTES + 128];
    switch (code) {
    case 409:
        msg = "the server reported a conflict";
        break;
    case 404:
        msg = "the server could not find the requested resource";
        break;
    case 400:
        msg = "the server rejected our request for an unknown reason";
        break;
    case 401:
        msg = "the server has asked for the client to provide credentials";
        break;
    case 403:
        msg = "the server does not allow access to the requested resource";
        break;
    case 405:
        msg = "the server does not allow this method on the requested resource";
        break;
    case 406:
        msg = "the server was unable to respond with a content type that the client supports";
        break;
    case 415:
        msg =
            "the server was unable to process the request because the media type is not supported";
        break;
    case 422:
        msg = "the server rejected our request due to an error in our request";
        break;
    case 429:
        msg = "the server has received too many requests and has asked us to try again later";
        break;
    case 503:
        msg = "the server is currently unable to handle the request";
        break;
    case 504:
        msg = "the server was unable to return a response in the time allotted, but may still be "
              "processing the request";
        break;
    default:
        if (code >= 500) {
            snprintf(buf, sizeof buf,
                     "an error on the server (\"%s\") has prevented the request from succeeding",
                     text);
            msg = buf;
        } else {
            snprintf(buf, sizeof buf,
                     "the server responded with the status code %d but did not "
                     "return more information",
                     code);
            msg = buf;
        }
    }
    if (res[0] && name[0])
        snprintf(out, len, "%s (%s %s %s)", msg, verb, res, name);
    else if (res[0])
        snprintf(out, len, "%s (%s %s)", msg, verb, res);
    else
        snprintf(out, len, "%s", msg);
}

/* The cause of a failed transfer as Go words it (without the url.Error wrapping). *retryable_get
 * says client-go's GET retry would apply (EOF, connection reset). */
static enum kc_errkind transfer_error(struct kclient *k, CURLcode rc, const struct xfer *x,
                                      int64_t deadline_ms, char *cause, size_t len, int *eno,
                                      int *retryable)
{
    long os = 0;
    curl_easy_getinfo(k->curl, CURLINFO_OS_ERRNO, &os);
    curl_off_t conn = 0;
    curl_easy_getinfo(k->curl, CURLINFO_CONNECT_TIME_T, &conn);
    char l[80], r[80], addr[96];
    end_addr(k->curl, 1, l, sizeof l);
    end_addr(k->curl, 0, r, sizeof r);
    dial_addr(k, addr, sizeof addr);
    *eno = 0;
    *retryable = 0;
    int in_body = x->headers_done;
    int deadline = deadline_ms > 0 && kclient_now_ms() >= deadline_ms - 2;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        errf(cause, len, "dial tcp: lookup %s: no such host", k->host);
        return KC_ERR_TRANSPORT;
    case CURLE_COULDNT_CONNECT:
        *eno = os ? (int)os : ECONNREFUSED;
        errf(cause, len, "dial tcp %s: connect: %s", addr, errno_text(*eno));
        return KC_ERR_TRANSPORT;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_ABORTED_BY_CALLBACK:
        if (x->tls_timeout) {
            errf(cause, len, "net/http: TLS handshake timeout");
        } else if (conn == 0 && x->new_conn && !deadline) {
            *eno = ETIMEDOUT;
            errf(cause, len, "dial tcp %s: i/o timeout", addr);
        } else if (conn == 0 && x->new_conn) {
            /* Go maps a context deadline during the dial to the dialer's timeout error */
            *eno = ETIMEDOUT;
            errf(cause, len, "dial tcp %s: i/o timeout", addr);
        } else {
            errf(cause, len, "context deadline exceeded");
            return in_body ? KC_ERR_BODY : KC_ERR_TRANSPORT;
        }
        return KC_ERR_TRANSPORT;
    case CURLE_PEER_FAILED_VERIFICATION: {
        long v = 0;
        curl_easy_getinfo(k->curl, CURLINFO_SSL_VERIFYRESULT, &v);
        errf(cause, len, "tls: failed to verify certificate: %s", x509_text(v));
        return KC_ERR_TRANSPORT;
    }
    case CURLE_SSL_CONNECT_ERROR:
        if (os == ECONNRESET) {
            *eno = ECONNRESET;
            errf(cause, len, "read tcp %s->%s: read: connection reset by peer", l, r);
        } else {
            errf(cause, len, "EOF");
        }
        *retryable = 1;
        return KC_ERR_TRANSPORT;
    case CURLE_GOT_NOTHING:
        errf(cause, len, "EOF");
        *retryable = 1;
        return KC_ERR_TRANSPORT;
    case CURLE_RECV_ERROR:
        if (os == ECONNRESET || os == 0) {
            *eno = ECONNRESET;
            errf(cause, len, "read tcp %s->%s: read: connection reset by peer", l, r);
        } else {
            *eno = (int)os;
            errf(cause, len, "read tcp %s->%s: read: %s", l, r, errno_text((int)os));
        }
        *retryable = !in_body;
        return in_body ? KC_ERR_BODY : KC_ERR_TRANSPORT;
    case CURLE_SEND_ERROR:
        *eno = os ? (int)os : EPIPE;
        errf(cause, len, "write tcp %s->%s: write: %s", l, r, errno_text(*eno));
        *retryable = *eno == ECONNRESET;
        return KC_ERR_TRANSPORT;
    case CURLE_PARTIAL_FILE:
        errf(cause, len, "unexpected EOF");
        return in_body ? KC_ERR_BODY : KC_ERR_TRANSPORT;
    case CURLE_WRITE_ERROR:
        if (x->too_big) {
            errf(cause, len, "response body over %u bytes", KC_MAX_BODY);
            return KC_ERR_BODY;
        }
        errf(cause, len, "out of memory");
        return KC_ERR_BODY;
    default:
        errf(cause, len, "%s", curl_easy_strerror(rc));
        return in_body ? KC_ERR_BODY : KC_ERR_TRANSPORT;
    }
}

/* Read a Status (or any error body) into out. */
static void error_answer(const char *method, const char *path, int code, const struct xfer *x,
                         struct kc_resp *out)
{
    out->kind = KC_ERR_STATUS;
    cJSON *j = x->len ? cJSON_ParseWithLength(x->buf, x->len) : NULL;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (j && cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0) {
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
        const cJSON *dk = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "details"), "kind");
        if (cJSON_IsString(reason))
            snprintf(out->reason, sizeof out->reason, "%s", reason->valuestring);
        if (cJSON_IsString(dk))
            snprintf(out->details_kind, sizeof out->details_kind, "%s", dk->valuestring);
        if (cJSON_IsString(msg) && msg->valuestring[0]) {
            snprintf(out->err, sizeof out->err, "%s", msg->valuestring);
        } else {
            generic_error(method, path, code, x, out->err, sizeof out->err);
        }
        out->body = j;
        return;
    }
    cJSON_Delete(j);
    generic_error(method, path, code, x, out->err, sizeof out->err);
}

/* Set up c for one request to url (method, JSON payload or NULL) collecting into x; returns the
 * header list the caller frees after the transfer. */
static struct curl_slist *setup_easy(struct kclient *k, CURL *c, const char *url,
                                     const char *method, const char *payload, struct xfer *x)
{
    curl_easy_reset(c);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Accept: application/json, */*");
    if (payload)
        h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    if (k->auth_header)
        h = curl_slist_append(h, k->auth_header);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, k->ua);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
    curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, x);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(KC_DIAL_TIMEOUT_MS + KC_TLS_TIMEOUT_MS));
    if (k->tls) {
        if (k->insecure) {
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        } else if (k->ca_pem) {
            struct curl_blob blob = {k->ca_pem, strlen(k->ca_pem), CURL_BLOB_COPY};
            curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
        } else if (k->ca_file) {
            curl_easy_setopt(c, CURLOPT_CAINFO, k->ca_file);
        }
    }
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (payload) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    return h;
}

int kclient_do(struct kclient *k, const char *method, const char *path, const cJSON *body,
               int64_t deadline_ms, struct kc_resp *out)
{
    memset(out, 0, sizeof *out);
    char url[KC_PATH_MAX + 256], op[16];
    snprintf(url, sizeof url, "%s%s", k->server, path);
    go_op(method, op, sizeof op);
    char *payload = body ? cJSON_PrintUnformatted(body) : NULL;
    if (body && !payload) {
        out->kind = KC_ERR_TRANSPORT;
        errf(out->err, sizeof out->err, "%s \"%s\": out of memory", op, url);
        return -1;
    }
    char prev[KC_ERR_MAX] = "";
    int retries = 0;
    int rc = -1;
    for (;;) {
        if (deadline_ms > 0 && kclient_now_ms() >= deadline_ms) {
            out->kind = out->attempts ? KC_ERR_TRANSPORT : KC_ERR_DEADLINE;
            if (prev[0])
                errf(out->err, sizeof out->err,
                     "context deadline exceeded - error from a previous attempt: %s", prev);
            else
                errf(out->err, sizeof out->err, "context deadline exceeded");
            break;
        }
        rate_limit(k, deadline_ms);
        struct xfer x = {.retry_after = -1, .k = k, .tls = k->tls};
        CURL *c = k->curl;
        struct curl_slist *h = setup_easy(k, c, url, method, payload, &x);
        if (deadline_ms > 0) {
            int64_t left = deadline_ms - kclient_now_ms();
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
        }
        CURLcode cr = curl_easy_perform(c);
        curl_slist_free_all(h);
        out->attempts++;
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (cr != CURLE_OK) {
            char cause[KC_ERR_MAX];
            int eno = 0, retryable = 0;
            enum kc_errkind kind =
                transfer_error(k, cr, &x, deadline_ms, cause, sizeof cause, &eno, &retryable);
            free(x.buf);
            out->code = x.headers_done ? (int)code : 0;
            out->transport_errno = eno;
            out->kind = kind;
            char cur[KC_ERR_MAX];
            if (kind == KC_ERR_BODY)
                errf(cur, sizeof cur,
                     "unexpected error when reading response body. Please retry. Original error: "
                     "%s",
                     cause);
            else
                errf(cur, sizeof cur, "%s \"%s\": %s", op, url, cause);
            /* client-go WrapPreviousError: the previous attempt's inner error, when different */
            if (prev[0] && strcmp(prev, cause) != 0)
                errf(out->err, sizeof out->err, "%s - error from a previous attempt: %s", cur,
                     prev);
            else
                snprintf(out->err, sizeof out->err, "%s", cur);
            if (kind == KC_ERR_TRANSPORT && retryable && strcmp(method, "GET") == 0 &&
                retries < KC_MAX_RETRIES) {
                retries++;
                snprintf(prev, sizeof prev, "%s", cause);
                if (kclient_sleep_ms(KC_CONN_RETRY_MS, deadline_ms) == 0)
                    continue;
            }
            break;
        }
        out->code = (int)code;
        if ((code == 429 || code >= 500) && x.retry_after >= 0 && retries < KC_MAX_RETRIES) {
            retries++;
            prev[0] = '\0';
            free(x.buf);
            if (kclient_sleep_ms(x.retry_after * 1000, deadline_ms) == 0)
                continue;
            out->kind = KC_ERR_TRANSPORT;
            errf(out->err, sizeof out->err, "context deadline exceeded");
            break;
        }
        if (code >= 200 && code < 300) {
            out->kind = KC_OK;
            if (x.len) {
                out->body = cJSON_ParseWithLength(x.buf, x.len);
                if (!out->body) {
                    out->kind = KC_ERR_BODY;
                    errf(out->err, sizeof out->err,
                         "invalid character '%c' looking for beginning of value",
                         x.buf[0] ? x.buf[0] : ' ');
                    free(x.buf);
                    break;
                }
            }
            free(x.buf);
            rc = 0;
            break;
        }
        error_answer(method, path, (int)code, &x, out);
        free(x.buf);
        break;
    }
    cJSON_free(payload);
    return rc;
}

/* ---- streaming GETs (watches) ---- */

struct kc_stream {
    struct kclient *k;
    CURL *easy;
    CURLM *multi;
    struct curl_slist *hdrs;
    struct xfer x;
    size_t used; /* bytes of x.buf handed out as lines */
    int ended;
    CURLcode result;
    char err[KC_ERR_MAX];
};

struct kc_stream *kclient_stream_get(struct kclient *k, const char *path)
{
    struct kc_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->k = k;
    s->x.retry_after = -1;
    s->x.k = k;
    s->x.tls = k->tls;
    s->easy = curl_easy_init();
    s->multi = curl_multi_init();
    if (!s->easy || !s->multi) {
        kc_stream_free(s);
        return NULL;
    }
    char url[KC_PATH_MAX + 256];
    snprintf(url, sizeof url, "%s%s", k->server, path);
    rate_limit(k, 0);
    s->hdrs = setup_easy(k, s->easy, url, "GET", NULL, &s->x);
    curl_easy_setopt(s->easy, CURLOPT_NOPROGRESS, 1L);
    curl_multi_add_handle(s->multi, s->easy);
    return s;
}

int kc_stream_pump(struct kc_stream *s, int timeout_ms)
{
    if (s->ended)
        return -1;
    int running = 0;
    curl_multi_perform(s->multi, &running);
    if (running) {
        curl_multi_poll(s->multi, NULL, 0, timeout_ms > 0 ? timeout_ms : 0, NULL);
        curl_multi_perform(s->multi, &running);
    }
    CURLMsg *m;
    int q;
    while ((m = curl_multi_info_read(s->multi, &q)) != NULL)
        if (m->msg == CURLMSG_DONE) {
            s->ended = 1;
            s->result = m->data.result;
        }
    if (!running)
        s->ended = 1;
    if (s->ended && s->result != CURLE_OK)
        snprintf(s->err, sizeof s->err, "%s", curl_easy_strerror(s->result));
    return s->ended ? -1 : 0;
}

char *kc_stream_line(struct kc_stream *s)
{
    if (!s->x.buf || s->used >= s->x.len)
        return NULL;
    const char *start = s->x.buf + s->used;
    const char *nl = memchr(start, '\n', s->x.len - s->used);
    if (!nl)
        return NULL;
    char *line = strndup(start, (size_t)(nl - start));
    s->used = (size_t)(nl - s->x.buf) + 1;
    if (s->used > 65536 && s->used == s->x.len) {
        s->x.len = 0;
        s->used = 0;
    }
    return line;
}

int kc_stream_code(const struct kc_stream *s)
{
    long code = 0;
    if (!s->x.code_seen)
        return 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    return (int)code;
}

int kc_stream_ended(const struct kc_stream *s)
{
    return s->ended;
}

const char *kc_stream_rest(const struct kc_stream *s, size_t *len)
{
    *len = s->x.len > s->used ? s->x.len - s->used : 0;
    return s->x.buf ? s->x.buf + s->used : "";
}

const char *kc_stream_error(const struct kc_stream *s)
{
    return s->err;
}

void kc_stream_free(struct kc_stream *s)
{
    if (!s)
        return;
    if (s->multi && s->easy)
        curl_multi_remove_handle(s->multi, s->easy);
    if (s->easy)
        curl_easy_cleanup(s->easy);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    curl_slist_free_all(s->hdrs);
    free(s->x.buf);
    free(s);
}
