/* soak.c -- soak driver: thousands of keep-alive clients doing a seeded random mix of pod lists,
 * gets, creates, deletes, short watches and WebSocket exec sessions against `kubefault serve`
 * with a fault scenario, for a bounded time; counts every answer, sorts every error into the
 * faults the scenario causes and the ones it cannot, and times each operation */

/*
 * Run by scripts/soak.sh (built by CMake beside the tests, never run by CTest):
 *
 *   soak --port N [--connections N] [--duration S] [--seed N] [--rate OPS]
 *        [--fault-bound-ms MS] [--slack-ms MS] [--pods-per-client N]
 *        [--clients-per-namespace N] [--server-pid PID] [--ops OP,...] [--prefill N]
 *
 * One process, one libevent loop, one keep-alive connection per client (a new one after an exec,
 * a watch the client ended, or a connection the server ended). Each client loops: a pause drawn
 * from its own seeded generator (uniform from 0 to twice the mean, the mean being --connections /
 * --rate, so all clients together start about --rate operations a second), then one operation
 * (--ops narrows the mix, e.g. to watch,create,delete):
 *
 *   list    GET pods in its namespace: all, by its label, limit=5; or all namespaces, limit=20
 *   get     GET one of its pods (or the namespace's exec target when it has none)
 *   create  POST a pod named soak-CLIENT-SEQ (at most --pods-per-client live at once)
 *   delete  DELETE one of its pods (graceful, or gracePeriodSeconds=0)
 *   watch   watch its namespace's pods: ended by the client after 0.3-2.5 s, or by the server
 *           with timeoutSeconds=1 or 2 (optionally with its label selector)
 *   exec    a WebSocket v5.channel.k8s.io session into the namespace's exec target: echo hello,
 *           sh -c 'exit 3', cat (stdin sent, then closed), sh -c 'sleep 0.2; echo done'
 *
 * Every answer is checked: the status code the operation expects, a JSON body that parses and
 * says the right thing (the created name, the list's kind, its label selector and limit), watch
 * events that are JSON lines of a known type, and for exec the accept key, the subprotocol, the
 * output, the Status on channel 3, the close frame and the end of the connection. An answer the
 * scenario's faults explain (the `expected` table below, which mirrors tests/bench/soak.json) is
 * an expected error; anything else -- another status, a malformed answer, a reset or an early end
 * no fault explains, no answer within --fault-bound-ms + --slack-ms -- is a failure, counted by
 * kind with the first request it happened to.
 *
 * Before the load, --prefill N sends N GET /version on one connection (pipelined, in batches), so
 * the server's bounded request journal is full before memory is watched; then a setup phase
 * (blocking, each request retried through the faults) creates the namespaces soak-0 .. soak-K and
 * one exec target pod in each, and waits until they run.
 *
 * Output: a report (operations with their counts and latency percentiles, errors by kind, exec
 * sessions), progress lines on stderr every 10 s, and for scripts `soak_requests=N` and
 * `soak_failures=N`. Exit 0 when nothing failed, 1 when something did (or the setup or the
 * server died), 2 for bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <http_parser.h>
#include <openssl/evp.h>

#define MAX_CONNECTIONS 20000
#define MAX_PODS_PER_CLIENT 16
#define BODY_CAP (32u << 20)      /* bytes of one answer's body */
#define WATCH_LINE_CAP (4u << 20) /* bytes of one watch event line */
#define WS_FRAME_CAP (1u << 20)   /* bytes of one WebSocket frame from the server */
#define EXEC_OUT_CAP 4096         /* bytes of an exec's stdout or Status kept */
#define HDR_VALUE_CAP 128         /* bytes kept of the headers we read */
#define MAX_KINDS 256             /* distinct error kinds counted (more are counted together) */
#define HIST_BUCKETS 1200         /* latency histogram: 2% wide buckets from 1 us to ~20 min */
#define HIST_BASE 1.02
#define SETUP_ATTEMPTS 60          /* tries per setup request (faults answer some) */
#define SETUP_IO_TIMEOUT_MS 15000  /* one setup request: longer than any fault's delay */
#define SETUP_RUNNING_TIMEOUT_S 60 /* the exec targets must run within this */
#define PROGRESS_EVERY_S 10
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define EXEC_SLEEP_MS 200 /* the longest exec command's own run time */

/* ---- options ---- */

struct opts {
    long port, connections, duration_s, rate, bound_ms, slack_ms, pods_per_client, per_namespace,
        server_pid, prefill;
    long think_ms; /* a client's mean pause: connections / rate */
    unsigned long long seed;
    unsigned ops_mask; /* the operations in the mix (bit per enum op) */
};

/* ---- operations and their accounting ---- */

enum op { OP_LIST, OP_GET, OP_CREATE, OP_DELETE, OP_WATCH, OP_EXEC, NOPS };
static const char *const op_names[NOPS] = {"list", "get", "create", "delete", "watch", "exec"};
/* weights of the mix, per mille (create and delete swap when a client is at its cap or empty) */
static const int op_weights[NOPS] = {200, 250, 150, 150, 150, 100};

/* What the scenario's faults may answer (tests/bench/soak.json; keep the two in step). A status
 * answer matches on the code and the Status message (or the text/plain body's first line). */
struct expected_status {
    enum op op;
    int code;
    const char *message;
    const char *fault; /* the rule, for the report */
};
static const struct expected_status expected[] = {
    {OP_CREATE, 500, "etcdserver: leader changed", "create-leader-changed"},
    {OP_LIST, 429, "Too many requests, please try again later.", "list-throttled"},
    {OP_GET, 503, "soak: injected", "get-unavailable"},
    {OP_DELETE, 500, "etcdserver: request timed out", "delete-timed-out"},
};
/* and at the connection level: get-reset (RST before any answer byte), list-truncated (FIN in
 * the middle of an answer), watch-cut (RST in the middle of a watch), watch-expire (an ERROR
 * event with code 410), exec-exit-42 (Status exit code 42), exec-abort (the connection ends
 * without a close frame) -- see conn_ended(), watch_line() and ws_finished() */
#define FAULT_EXIT_CODE 42

struct hist {
    uint32_t b[HIST_BUCKETS];
    uint64_t n;
    double max_ms;
};

struct opstat {
    uint64_t sent, ok, fault, failed;
    struct hist lat;
};

struct kind {
    char name[112];
    int expected;
    uint64_t count;
    char example[240];
};

struct exec_stat {
    uint64_t ok_success, ok_exit3, fault_exit42, fault_abort, failed;
};

struct soak;

enum cstate {
    CS_IDLE,       /* between operations (the think timer may be armed) */
    CS_CONNECTING, /* connect in progress, the request waits in req */
    CS_HTTP,       /* request written, reading its answer */
    CS_WATCHING,   /* a watch's 200 is in: reading events */
    CS_WS,         /* an exec session after its 101 */
    CS_DONE,       /* the run is over for this client */
};

enum exec_cmd { EX_ECHO, EX_EXIT3, EX_CAT, EX_SLEEP, NEXEC };

enum pod_state { POD_NONE, POD_LIVE, POD_MAYBE /* the outcome of a create/delete is unknown */ };

struct pod {
    unsigned seq;
    enum pod_state st;
};

struct client {
    struct soak *s;
    unsigned id, ns;
    uint64_t rng;
    struct bufferevent *bev;
    enum cstate st;
    struct event *timer;    /* the pause before the next operation, or the end of a watch */
    struct event *deadline; /* the current operation's bound */
    struct pod pods[MAX_PODS_PER_CLIENT];
    unsigned seq;

    /* the current operation */
    enum op op;
    int variant;
    int pod; /* index in pods, -1 for none */
    char what[200];
    char req[2048];
    size_t req_len;
    double t0;
    size_t rx; /* answer bytes received */
    http_parser hp;
    int complete;
    struct evbuffer *body;
    /* headers we look at */
    char hname[32];
    size_t hname_len;
    int hlast_value;
    char *htarget; /* where the current header's value goes (NULL: dropped) */
    size_t *htarget_len;
    char ctype[HDR_VALUE_CAP], ws_accept[HDR_VALUE_CAP], ws_proto[HDR_VALUE_CAP];
    size_t ctype_len, ws_accept_len, ws_proto_len;
    /* watch */
    int watch_client_ms; /* > 0: the client ends the watch after this long */
    int watch_timeout_s; /* > 0: timeoutSeconds, the server ends it */
    int expired;
    uint64_t events;
    double t_est; /* when its 200 came (the watch's latency), 0 before */
    /* exec */
    enum exec_cmd cmd;
    char ws_key[32];
    char out[EXEC_OUT_CAP], status[EXEC_OUT_CAP];
    size_t out_len, status_len, err_len;
    int got_close, close_code;
};

struct soak {
    struct opts o;
    struct event_base *base;
    struct sockaddr_in sa;
    struct client *clients;
    unsigned namespaces;
    int stopping, server_died;
    long active; /* clients not yet CS_DONE */
    double t_start, t_stop;
    struct event *stop_ev, *tick_ev, *drain_ev;
    struct opstat ops[NOPS];
    struct kind kinds[MAX_KINDS];
    size_t nkinds;
    uint64_t kinds_dropped;
    struct exec_stat exec;
    uint64_t conns_opened, server_closes, watch_events, unanswered_at_end;
    unsigned ticks;
    http_parser_settings hps;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: one small seeded generator per client, so a client's choices depend on the seed
 * and its id only */
static uint64_t rnd(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static long rnd_range(uint64_t *x, long lo, long hi)
{
    return hi <= lo ? lo : lo + (long)(rnd(x) % (uint64_t)(hi - lo + 1));
}

static void hist_add(struct hist *h, double ms)
{
    double us = ms * 1000.0;
    long b = us < 1.0 ? 0 : (long)(log(us) / log(HIST_BASE));
    if (b >= HIST_BUCKETS)
        b = HIST_BUCKETS - 1;
    h->b[b]++;
    h->n++;
    if (ms > h->max_ms)
        h->max_ms = ms;
}

/* the q-quantile in ms (the upper edge of its bucket: at most 2% high) */
static double hist_quantile(const struct hist *h, double q)
{
    uint64_t want = (uint64_t)ceil(q * (double)h->n), seen = 0;
    if (h->n == 0)
        return 0;
    if (want == 0)
        want = 1;
    for (long b = 0; b < HIST_BUCKETS; b++) {
        seen += h->b[b];
        if (seen >= want)
            return pow(HIST_BASE, (double)(b + 1)) / 1000.0;
    }
    return h->max_ms;
}

/* ---- errors by kind ---- */

static struct kind *kind_get(struct soak *s, const char *name, int is_expected)
{
    for (size_t i = 0; i < s->nkinds; i++)
        if (s->kinds[i].expected == is_expected && strcmp(s->kinds[i].name, name) == 0)
            return &s->kinds[i];
    if (s->nkinds == MAX_KINDS)
        return NULL;
    struct kind *k = &s->kinds[s->nkinds++];
    snprintf(k->name, sizeof k->name, "%s", name);
    k->expected = is_expected;
    return k;
}

static void count_kind(struct soak *s, int is_expected, const char *name, const char *example)
{
    struct kind *k = kind_get(s, name, is_expected);
    if (!k) {
        s->kinds_dropped++;
        return;
    }
    if (k->count++ == 0) {
        snprintf(k->example, sizeof k->example, "%s", example);
        for (char *p = k->example; *p; p++) /* one line in the report */
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '.';
    }
}

/* ---- connections ---- */

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);
static void schedule_next(struct client *c);

static void conn_drop(struct client *c)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
}

static double elapsed_ms(const struct client *c)
{
    return (now_s() - c->t0) * 1000.0;
}

/* The operation is over: ok, expected (a fault explains it) or failed. kind names the error
 * (without the operation); detail goes into the example beside the request. */
enum outcome { OUT_OK, OUT_FAULT, OUT_FAILED };

static void op_end(struct client *c, enum outcome how, const char *kind, const char *detail)
    __attribute__((nonnull(1)));
static void op_end(struct client *c, enum outcome how, const char *kind, const char *detail)
{
    struct soak *s = c->s;
    struct opstat *st = &s->ops[c->op];
    double ms = c->op == OP_WATCH && c->t_est > 0 ? (c->t_est - c->t0) * 1000.0 : elapsed_ms(c);

    evtimer_del(c->deadline);
    if (how != OUT_OK && c->op == OP_DELETE && c->pod >= 0)
        c->pods[c->pod].st = POD_MAYBE; /* it may or may not be gone */
    if (how == OUT_OK) {
        st->ok++;
        hist_add(&st->lat, ms);
    } else {
        char name[112], example[240];
        snprintf(name, sizeof name, "%s: %s", op_names[c->op], kind ? kind : "?");
        snprintf(example, sizeof example, "%s%s%s (after %.0f ms)", c->what, detail ? ": " : "",
                 detail ? detail : "", elapsed_ms(c));
        count_kind(s, how == OUT_FAULT, name, example);
        if (how == OUT_FAULT) {
            st->fault++;
            hist_add(&st->lat, ms);
        } else {
            st->failed++;
        }
    }
    if (c->body)
        evbuffer_drain(c->body, evbuffer_get_length(c->body));
    c->st = CS_IDLE;
    schedule_next(c);
}

static int send_request(struct client *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_add(out, c->req, c->req_len) < 0)
        return -1;
    c->st = CS_HTTP;
    return 0;
}

static void conn_open(struct client *c)
{
    struct soak *s = c->s;
    c->bev = bufferevent_socket_new(s->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        op_end(c, OUT_FAILED, "cannot make a socket", strerror(errno));
        return;
    }
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->st = CS_CONNECTING;
    s->conns_opened++;
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&s->sa, sizeof s->sa) < 0) {
        int e = errno;
        conn_drop(c);
        op_end(c, OUT_FAILED, "connect failed", strerror(e));
    }
}

/* ---- building requests ---- */

static struct pod *pick_pod(struct client *c, int *idx)
{
    unsigned n = 0, cand[MAX_PODS_PER_CLIENT];
    for (unsigned i = 0; i < (unsigned)c->s->o.pods_per_client; i++)
        if (c->pods[i].st != POD_NONE)
            cand[n++] = i;
    if (n == 0)
        return NULL;
    *idx = (int)cand[rnd(&c->rng) % n];
    return &c->pods[*idx];
}

static int free_slot(struct client *c)
{
    for (int i = 0; i < c->s->o.pods_per_client; i++)
        if (c->pods[i].st == POD_NONE)
            return i;
    return -1;
}

static enum op pick_op(struct client *c)
{
    unsigned mask = c->s->o.ops_mask;
    long total = 0, acc = 0;
    enum op op = OP_GET;
    for (int i = 0; i < NOPS; i++)
        if (mask & (1u << i))
            total += op_weights[i];
    long r = rnd_range(&c->rng, 0, total - 1);
    for (int i = 0; i < NOPS; i++) {
        if (!(mask & (1u << i)))
            continue;
        acc += op_weights[i];
        if (r < acc) {
            op = (enum op)i;
            break;
        }
    }
    /* creates and deletes keep each other company: at the cap a create deletes, without a pod
     * a delete creates (when the mix has the other) */
    int idx;
    if (op == OP_CREATE && free_slot(c) < 0 && (mask & (1u << OP_DELETE)))
        op = OP_DELETE;
    else if (op == OP_DELETE && !pick_pod(c, &idx) && (mask & (1u << OP_CREATE)))
        op = OP_CREATE;
    else if ((op == OP_CREATE && free_slot(c) < 0) || (op == OP_DELETE && !pick_pod(c, &idx)))
        op = OP_GET;
    return op;
}

static void pod_name(const struct client *c, int idx, char *buf, size_t len)
{
    snprintf(buf, len, "soak-%u-%u", c->id, c->pods[idx].seq);
}

/* The request line and headers (and body) of the next operation into c->req; c->what names it. */
static int build_request(struct client *c)
{
    struct soak *s = c->s;
    char path[600], body[600], name[64];
    const char *method = "GET", *extra = "";
    int blen = -1;
    static const char *const exec_q[NEXEC] = {
        "command=echo&command=hello&stdout=true&stderr=true",
        "command=sh&command=-c&command=exit%203&stdout=true&stderr=true",
        "command=cat&stdin=true&stdout=true&stderr=true",
        "command=sh&command=-c&command=sleep%200.2%3B%20echo%20done&stdout=true&stderr=true",
    };
    char hdrs[400] = "", sel[64] = "";

    c->pod = -1;
    switch (c->op) {
    case OP_LIST:
        c->variant = (int)rnd_range(&c->rng, 0, 99);
        if (c->variant < 40)
            snprintf(path, sizeof path, "/api/v1/namespaces/soak-%u/pods", c->ns);
        else if (c->variant < 70)
            snprintf(path, sizeof path,
                     "/api/v1/namespaces/soak-%u/pods?labelSelector=soak-client%%3D%u", c->ns,
                     c->id);
        else if (c->variant < 97)
            snprintf(path, sizeof path, "/api/v1/namespaces/soak-%u/pods?limit=5", c->ns);
        else
            snprintf(path, sizeof path, "/api/v1/pods?limit=20");
        break;
    case OP_GET:
        if (pick_pod(c, &c->pod)) {
            pod_name(c, c->pod, name, sizeof name);
            snprintf(path, sizeof path, "/api/v1/namespaces/soak-%u/pods/%s", c->ns, name);
        } else {
            snprintf(path, sizeof path, "/api/v1/namespaces/soak-%u/pods/soak-exec", c->ns);
        }
        break;
    case OP_CREATE:
        c->pod = free_slot(c);
        c->pods[c->pod].seq = ++c->seq;
        c->pods[c->pod].st = POD_MAYBE; /* until the 201 says it exists */
        pod_name(c, c->pod, name, sizeof name);
        method = "POST";
        snprintf(path, sizeof path, "/api/v1/namespaces/soak-%u/pods", c->ns);
        blen = snprintf(body, sizeof body,
                        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
                        "\"labels\":{\"soak-client\":\"%u\"}},\"spec\":{\"containers\":[{"
                        "\"name\":\"main\",\"image\":\"busybox:1.36\","
                        "\"command\":[\"sleep\",\"3600\"]}]}}",
                        name, c->id);
        break;
    case OP_DELETE:
        pick_pod(c, &c->pod);
        pod_name(c, c->pod, name, sizeof name);
        method = "DELETE";
        c->variant = (int)rnd_range(&c->rng, 0, 1);
        snprintf(path, sizeof path, "/api/v1/namespaces/soak-%u/pods/%s%s", c->ns, name,
                 c->variant ? "?gracePeriodSeconds=0" : "");
        break;
    case OP_WATCH:
        c->variant = (int)rnd_range(&c->rng, 0, 99);
        c->watch_client_ms = 0;
        c->watch_timeout_s = 0;
        if (c->variant < 40)
            c->watch_client_ms = (int)rnd_range(&c->rng, 300, 2500);
        else
            c->watch_timeout_s = (int)rnd_range(&c->rng, 1, 2);
        if (c->variant >= 80)
            snprintf(sel, sizeof sel, "&labelSelector=soak-client%%3D%u", c->id);
        if (c->watch_timeout_s)
            snprintf(path, sizeof path,
                     "/api/v1/namespaces/soak-%u/pods?watch=1&timeoutSeconds=%d%s", c->ns,
                     c->watch_timeout_s, sel);
        else
            snprintf(path, sizeof path, "/api/v1/namespaces/soak-%u/pods?watch=1", c->ns);
        c->expired = 0;
        c->events = 0;
        c->t_est = 0;
        break;
    case OP_EXEC: {
        unsigned char key[16];
        c->cmd = (enum exec_cmd)rnd_range(&c->rng, 0, NEXEC - 1);
        for (size_t i = 0; i < sizeof key; i++)
            key[i] = (unsigned char)rnd(&c->rng);
        EVP_EncodeBlock((unsigned char *)c->ws_key, key, sizeof key);
        snprintf(path, sizeof path, "/api/v1/namespaces/soak-%u/pods/soak-exec/exec?%s", c->ns,
                 exec_q[c->cmd]);
        snprintf(hdrs, sizeof hdrs,
                 "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n",
                 c->ws_key);
        extra = hdrs;
        c->out_len = c->status_len = c->err_len = 0;
        c->out[0] = c->status[0] = '\0';
        c->got_close = 0;
        c->close_code = 0;
        break;
    }
    default:
        return -1;
    }
    snprintf(c->what, sizeof c->what, "%s %.180s", method, path);
    int n;
    if (blen >= 0)
        n = snprintf(c->req, sizeof c->req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\nAccept: application/json\r\n"
                     "User-Agent: kubefault-soak\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     method, path, s->o.port, blen, body);
    else
        n = snprintf(c->req, sizeof c->req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\nAccept: application/json\r\n"
                     "User-Agent: kubefault-soak\r\n%s\r\n",
                     method, path, s->o.port, extra);
    if (n < 0 || (size_t)n >= sizeof c->req)
        return -1;
    c->req_len = (size_t)n;
    return 0;
}

/* ---- the operation loop ---- */

static long op_bound_ms(const struct client *c)
{
    const struct opts *o = &c->s->o;
    long ms = o->bound_ms + o->slack_ms;
    if (c->op == OP_EXEC)
        ms += EXEC_SLEEP_MS;
    return ms;
}

static void arm_ms(struct event *ev, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

static void start_op(struct client *c)
{
    c->op = pick_op(c);
    c->s->ops[c->op].sent++;
    c->t0 = now_s();
    c->rx = 0;
    c->complete = 0;
    c->ctype_len = c->ws_accept_len = c->ws_proto_len = 0;
    c->ctype[0] = c->ws_accept[0] = c->ws_proto[0] = '\0';
    c->hname_len = 0;
    c->hlast_value = 0;
    c->htarget = NULL;
    http_parser_init(&c->hp, HTTP_RESPONSE);
    c->hp.data = c;
    if (build_request(c) < 0) {
        op_end(c, OUT_FAILED, "request too long", NULL);
        return;
    }
    arm_ms(c->deadline, op_bound_ms(c));
    if (!c->bev) {
        conn_open(c);
        return;
    }
    if (send_request(c) < 0) {
        conn_drop(c);
        op_end(c, OUT_FAILED, "cannot queue the request", NULL);
    }
}

static void client_finish(struct client *c)
{
    struct soak *s = c->s;
    evtimer_del(c->timer);
    evtimer_del(c->deadline);
    conn_drop(c);
    if (c->st != CS_DONE) {
        c->st = CS_DONE;
        if (--s->active == 0)
            event_base_loopbreak(s->base);
    }
}

static void schedule_next(struct client *c)
{
    if (c->s->stopping) {
        client_finish(c);
        return;
    }
    arm_ms(c->timer, rnd_range(&c->rng, 0, 2 * c->s->o.think_ms));
}

/* The client's own end of a watch: close the connection; the watch was fine if its events were */
static void watch_end_by_client(struct client *c)
{
    conn_drop(c);
    op_end(c, OUT_OK, NULL, NULL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct client *c = arg;
    if (c->st == CS_WATCHING) {
        watch_end_by_client(c);
        return;
    }
    if (c->s->stopping) {
        client_finish(c);
        return;
    }
    start_op(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct client *c = arg;
    char kind[96];
    const char *missing = c->st == CS_CONNECTING ? "no connection"
                          : c->st == CS_WATCHING ? "no end of the watch (timeoutSeconds)"
                          : c->st == CS_WS       ? "no end of the exec session"
                          : c->rx > 0            ? "no complete answer"
                                                 : "no answer";
    snprintf(kind, sizeof kind, "%s within its bound (fault bound + slack)", missing);
    conn_drop(c);
    op_end(c, OUT_FAILED, kind, NULL);
}

/* ---- checking answers ---- */

/* The message of an error answer: a Status's "message", else the body's first line. */
static void answer_message(struct client *c, char *buf, size_t len)
{
    size_t n = evbuffer_get_length(c->body);
    const char *b = n ? (const char *)evbuffer_pullup(c->body, -1) : "";
    buf[0] = '\0';
    cJSON *j = n ? cJSON_ParseWithLength(b, n) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (cJSON_IsString(m)) {
        snprintf(buf, len, "%s", m->valuestring);
    } else {
        size_t k = 0;
        while (k < n && k + 1 < len && b[k] != '\n' && b[k] != '\r')
            k++;
        memcpy(buf, b, k);
        buf[k] = '\0';
    }
    cJSON_Delete(j);
}

/* An answer with a status the operation did not want: expected when a fault explains it. */
static void bad_status(struct client *c)
{
    char msg[160], kind[200];
    int code = (int)c->hp.status_code;
    answer_message(c, msg, sizeof msg);
    snprintf(kind, sizeof kind, "%d %.80s", code, msg);
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (expected[i].op == c->op && expected[i].code == code &&
            strcmp(expected[i].message, msg) == 0) {
            op_end(c, OUT_FAULT, kind, expected[i].fault);
            return;
        }
    op_end(c, OUT_FAILED, kind, NULL);
}

static cJSON *body_json(struct client *c)
{
    size_t n = evbuffer_get_length(c->body);
    if (n == 0)
        return NULL;
    return cJSON_ParseWithLength((const char *)evbuffer_pullup(c->body, -1), n);
}

static const char *json_str(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* list: a PodList whose items obey the label selector and the limit */
static void check_list(struct client *c, cJSON *j)
{
    const char *kind = json_str(j, "kind", NULL);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
    char want[16];
    snprintf(want, sizeof want, "%u", c->id);
    if (!kind || strcmp(kind, "PodList") != 0 || !cJSON_IsArray(items)) {
        op_end(c, OUT_FAILED, "200 without a PodList", NULL);
        return;
    }
    int n = cJSON_GetArraySize(items);
    int limit = c->variant >= 97 ? 20 : c->variant >= 70 ? 5 : 0;
    if (limit && n > limit) {
        op_end(c, OUT_FAILED, "a list longer than its limit", NULL);
        return;
    }
    if (c->variant >= 40 && c->variant < 70) {
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(it, "metadata"), "labels");
            const char *v = json_str(labels, "soak-client", NULL);
            if (!v || strcmp(v, want) != 0) {
                op_end(c, OUT_FAILED, "a labelSelector list with another client's pod", NULL);
                return;
            }
        }
    }
    op_end(c, OUT_OK, NULL, NULL);
}

/* The whole answer to a plain request is in. */
static void http_answer(struct client *c)
{
    int code = (int)c->hp.status_code;
    char name[64] = "";
    struct pod *p = c->pod >= 0 ? &c->pods[c->pod] : NULL;
    if (p)
        pod_name(c, c->pod, name, sizeof name);

    if (!http_should_keep_alive(&c->hp))
        conn_drop(c);
    if (code / 100 == 2 && strncmp(c->ctype, "application/json", 16) != 0) {
        op_end(c, OUT_FAILED, "a 2xx answer that is not application/json", c->ctype);
        return;
    }
    switch (c->op) {
    case OP_CREATE:
        if (code == 201) {
            cJSON *j = body_json(c);
            const char *got = json_str(j, "metadata", "name");
            int same = got && strcmp(got, name) == 0;
            cJSON_Delete(j);
            if (!same) {
                op_end(c, OUT_FAILED, "201 without the pod it created", NULL);
                return;
            }
            p->st = POD_LIVE;
            op_end(c, OUT_OK, NULL, NULL);
            return;
        }
        break;
    case OP_DELETE:
        if (code == 200 || code == 202 || (code == 404 && p->st == POD_MAYBE)) {
            p->st = POD_NONE;
            op_end(c, OUT_OK, NULL, NULL);
            return;
        }
        break;
    case OP_GET:
        if (code == 404 && p && p->st == POD_MAYBE) {
            p->st = POD_NONE;
            op_end(c, OUT_OK, NULL, NULL);
            return;
        }
        if (code == 200) {
            cJSON *j = body_json(c);
            const char *got = json_str(j, "metadata", "name");
            int same = got && strcmp(got, p ? name : "soak-exec") == 0;
            int going = json_str(j, "metadata", "deletionTimestamp") != NULL;
            cJSON_Delete(j);
            if (!same) {
                op_end(c, OUT_FAILED, "200 without the pod asked for", NULL);
                return;
            }
            if (p && !going)
                p->st = POD_LIVE; /* a MAYBE pod that exists, and stays until deleted */
            op_end(c, OUT_OK, NULL, NULL);
            return;
        }
        break;
    case OP_LIST:
        if (code == 200) {
            cJSON *j = body_json(c);
            if (!j) {
                op_end(c, OUT_FAILED, "200 with a body that is not JSON", NULL);
                return;
            }
            check_list(c, j);
            cJSON_Delete(j);
            return;
        }
        break;
    default:
        break;
    }
    bad_status(c);
}

/* One watch event line: JSON of a known type with an object; an ERROR must be the 410 of the
 * watch-expire fault. Returns 0, or -1 after ending the operation. */
static int watch_line(struct client *c, const char *line, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(line, len);
    const char *type = json_str(j, "type", NULL);
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(j, "object");
    int bad = !type || !cJSON_IsObject(obj);
    if (!bad && strcmp(type, "ERROR") == 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
        if (cJSON_IsNumber(code) && code->valueint == 410)
            c->expired = 1;
        else
            bad = 2;
    } else if (!bad && strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0 &&
               strcmp(type, "DELETED") != 0 && strcmp(type, "BOOKMARK") != 0) {
        bad = 3;
    }
    cJSON_Delete(j);
    if (bad) {
        char ex[80];
        snprintf(ex, sizeof ex, "%.*s", (int)(len < 60 ? len : 60), line);
        conn_drop(c);
        op_end(c, OUT_FAILED,
               bad == 2   ? "an ERROR event that no fault sends"
               : bad == 3 ? "an event of an unknown type"
                          : "an event line that is not a watch event",
               ex);
        return -1;
    }
    c->events++;
    c->s->watch_events++;
    return 0;
}

/* Split the watch body into lines. Returns 0, or -1 after ending the operation. */
static int watch_lines(struct client *c)
{
    struct evbuffer_ptr pos;
    while ((pos = evbuffer_search_eol(c->body, NULL, NULL, EVBUFFER_EOL_LF)).pos >= 0) {
        size_t n = (size_t)pos.pos;
        const char *line = (const char *)evbuffer_pullup(c->body, (ssize_t)n + 1);
        if (n > 0 && watch_line(c, line, n) < 0)
            return -1;
        evbuffer_drain(c->body, n + 1);
    }
    if (evbuffer_get_length(c->body) > WATCH_LINE_CAP) {
        conn_drop(c);
        op_end(c, OUT_FAILED, "a watch event line longer than the cap", NULL);
        return -1;
    }
    return 0;
}

/* ---- http_parser callbacks ---- */

static int hp_header_field(http_parser *p, const char *at, size_t len)
{
    struct client *c = p->data;
    if (c->hlast_value) {
        c->hname_len = 0;
        c->hlast_value = 0;
    }
    size_t room = sizeof c->hname - 1 - c->hname_len;
    if (len > room)
        len = room;
    memcpy(c->hname + c->hname_len, at, len);
    c->hname_len += len;
    c->hname[c->hname_len] = '\0';
    return 0;
}

static int hp_header_value(http_parser *p, const char *at, size_t len)
{
    struct client *c = p->data;
    if (!c->hlast_value) {
        c->hlast_value = 1;
        c->htarget = NULL;
        if (strcasecmp(c->hname, "Content-Type") == 0) {
            c->htarget = c->ctype;
            c->htarget_len = &c->ctype_len;
        } else if (strcasecmp(c->hname, "Sec-WebSocket-Accept") == 0) {
            c->htarget = c->ws_accept;
            c->htarget_len = &c->ws_accept_len;
        } else if (strcasecmp(c->hname, "Sec-WebSocket-Protocol") == 0) {
            c->htarget = c->ws_proto;
            c->htarget_len = &c->ws_proto_len;
        }
        if (c->htarget)
            *c->htarget_len = 0;
    }
    if (c->htarget) {
        size_t room = HDR_VALUE_CAP - 1 - *c->htarget_len;
        if (len > room)
            len = room;
        memcpy(c->htarget + *c->htarget_len, at, len);
        *c->htarget_len += len;
        c->htarget[*c->htarget_len] = '\0';
    }
    return 0;
}

static int hp_headers_complete(http_parser *p)
{
    struct client *c = p->data;
    if (c->op == OP_WATCH && p->status_code == 200) {
        c->st = CS_WATCHING;
        c->t_est = now_s();
        /* from now on the watch's own end bounds it: the client's timer, or timeoutSeconds plus
         * the fault bound (a stall withholds the end too) */
        evtimer_del(c->deadline);
        if (c->watch_client_ms > 0)
            arm_ms(c->timer, c->watch_client_ms);
        else
            arm_ms(c->deadline, c->watch_timeout_s * 1000L + c->s->o.bound_ms + c->s->o.slack_ms);
    }
    return 0;
}

static int hp_body(http_parser *p, const char *at, size_t len)
{
    struct client *c = p->data;
    if (evbuffer_get_length(c->body) + len > BODY_CAP)
        return -1;
    return evbuffer_add(c->body, at, len);
}

static int hp_message_complete(http_parser *p)
{
    struct client *c = p->data;
    c->complete = 1;
    http_parser_pause(p, 1);
    return 0;
}

/* ---- exec over WebSocket ---- */

static int ws_send(struct client *c, unsigned opcode, const void *data, size_t len)
{
    unsigned char head[8], payload[125], mask[4]; /* 125: a one-byte length, as ours all are */
    size_t n = 0;
    uint64_t m = rnd(&c->rng);
    if (len > sizeof payload || !c->bev)
        return -1;
    head[n++] = (unsigned char)(0x80 | opcode);
    head[n++] = (unsigned char)(0x80 | len);
    memcpy(mask, &m, 4);
    memcpy(head + n, mask, 4);
    n += 4;
    for (size_t i = 0; i < len; i++)
        payload[i] = ((const unsigned char *)data)[i] ^ mask[i & 3];
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_add(out, head, n) < 0 || evbuffer_add(out, payload, len) < 0)
        return -1;
    return 0;
}

static const char *exec_stdout(const struct client *c, char *buf, size_t len)
{
    switch (c->cmd) {
    case EX_ECHO:
        return "hello\n";
    case EX_CAT:
        snprintf(buf, len, "soak %u\n", c->id);
        return buf;
    case EX_SLEEP:
        return "done\n";
    default:
        return "";
    }
}

/* 101: check the handshake, send stdin for cat. Returns 0, or -1 after ending the operation. */
static int ws_start(struct client *c)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char cat[64], want[64], keyguid[128];
    int n = snprintf(keyguid, sizeof keyguid, "%s%s", c->ws_key, WS_GUID);
    EVP_Digest(keyguid, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)want, md, (int)mdlen);
    if (strcmp(want, c->ws_accept) != 0 || strcmp(c->ws_proto, "v5.channel.k8s.io") != 0) {
        conn_drop(c);
        op_end(c, OUT_FAILED, "101 with a wrong Sec-WebSocket-Accept or subprotocol", c->ws_proto);
        return -1;
    }
    c->st = CS_WS;
    if (c->cmd == EX_CAT) {
        unsigned char eof[2] = {255, 0};
        int l = snprintf(cat + 1, sizeof cat - 1, "soak %u\n", c->id);
        cat[0] = 0; /* stdin */
        if (ws_send(c, 2, cat, (size_t)l + 1) < 0 || ws_send(c, 2, eof, sizeof eof) < 0) {
            conn_drop(c);
            op_end(c, OUT_FAILED, "cannot send stdin", NULL);
            return -1;
        }
    }
    return 0;
}

static void keep(char *dst, size_t *dlen, const unsigned char *src, size_t len)
{
    size_t room = EXEC_OUT_CAP - 1 - *dlen;
    if (len > room)
        len = room;
    memcpy(dst + *dlen, src, len);
    *dlen += len;
    dst[*dlen] = '\0';
}

/* The exit code in the Status on channel 3: 0 for Success, N for NonZeroExitCode, -1 otherwise */
static int status_exit(const char *st, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(st, len);
    const char *status = json_str(j, "status", NULL), *reason = json_str(j, "reason", NULL);
    int code = -1;
    if (status && strcmp(status, "Success") == 0) {
        code = 0;
    } else if (status && reason && strcmp(reason, "NonZeroExitCode") == 0) {
        const cJSON *causes = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "details"), "causes");
        const char *m = json_str(cJSON_GetArrayItem(causes, 0), "message", NULL);
        char *end;
        long v = m ? strtol(m, &end, 10) : -1;
        if (m && *end == '\0' && v > 0 && v < 256)
            code = (int)v;
    }
    cJSON_Delete(j);
    return code;
}

/* The connection of an exec session ended: judge the whole session. */
static void ws_finished(struct client *c, int reset)
{
    struct soak *s = c->s;
    char want_buf[64], detail[200];
    const char *want = exec_stdout(c, want_buf, sizeof want_buf);
    int want_exit = c->cmd == EX_EXIT3 ? 3 : 0;

    conn_drop(c);
    if (!c->got_close) {
        /* exec-abort: no Status, no close frame, the connection just ends */
        s->exec.fault_abort++;
        op_end(c, OUT_FAULT,
               reset ? "ended by a reset without a close frame" : "ended without a close frame",
               "exec-abort");
        return;
    }
    int code = status_exit(c->status, c->status_len);
    snprintf(detail, sizeof detail, "stdout \"%.40s\", status %.100s, close %d", c->out, c->status,
             c->close_code);
    if (c->close_code != 1000 || code < 0 || c->err_len > 0 || strcmp(c->out, want) != 0) {
        s->exec.failed++;
        op_end(c, OUT_FAILED,
               c->close_code != 1000 ? "a close code other than 1000"
               : code < 0            ? "no valid Status on channel 3"
               : c->err_len > 0      ? "output on stderr"
                                     : "wrong output",
               detail);
        return;
    }
    if (code == want_exit) {
        if (code == 0)
            s->exec.ok_success++;
        else
            s->exec.ok_exit3++;
        op_end(c, OUT_OK, NULL, NULL);
    } else if (code == FAULT_EXIT_CODE) {
        s->exec.fault_exit42++;
        op_end(c, OUT_FAULT, "Status exit code 42", "exec-exit-42");
    } else {
        s->exec.failed++;
        op_end(c, OUT_FAILED, "a wrong exit code", detail);
    }
}

/* One frame from the server. Returns 0, or -1 after ending the operation. */
static int ws_frame(struct client *c, unsigned op, const unsigned char *p, size_t len)
{
    switch (op) {
    case 0x2: /* binary: channel byte, then data */
        if (len == 0)
            break;
        if (p[0] == 1)
            keep(c->out, &c->out_len, p + 1, len - 1);
        else if (p[0] == 2)
            c->err_len += len - 1;
        else if (p[0] == 3)
            keep(c->status, &c->status_len, p + 1, len - 1);
        else
            break;
        return 0;
    case 0x8: { /* close: answer it, then wait for the server to end the connection */
        unsigned char reply[2] = {0x03, 0xE8};
        c->got_close = 1;
        c->close_code = len >= 2 ? (p[0] << 8) | p[1] : 1005;
        ws_send(c, 0x8, reply, sizeof reply);
        return 0;
    }
    case 0x9: /* ping */
        ws_send(c, 0xA, p, len);
        return 0;
    case 0xA:
        return 0;
    default:
        break;
    }
    conn_drop(c);
    c->s->exec.failed++;
    op_end(c, OUT_FAILED, "a WebSocket frame the session does not allow", NULL);
    return -1;
}

/* Parse the server's frames (unmasked, unfragmented) out of in. Returns 0, or -1 after ending
 * the operation. */
static int ws_input(struct client *c, struct evbuffer *in)
{
    for (;;) {
        unsigned char h[10];
        size_t have = evbuffer_get_length(in), hl = 2;
        if (have < 2)
            return 0;
        evbuffer_copyout(in, h, have < sizeof h ? have : sizeof h);
        uint64_t len = h[1] & 0x7F;
        if (len == 126) {
            hl = 4;
            len = have >= 4 ? ((uint64_t)h[2] << 8) | h[3] : 0;
        } else if (len == 127) {
            hl = 10;
            len = 0;
            for (int i = 0; have >= 10 && i < 8; i++)
                len = (len << 8) | h[2 + i];
        }
        if ((h[0] & 0xF0) != 0x80 || (h[1] & 0x80) || len > WS_FRAME_CAP) {
            conn_drop(c);
            c->s->exec.failed++;
            op_end(c, OUT_FAILED, "a malformed WebSocket frame (fragmented, masked or huge)", NULL);
            return -1;
        }
        if (have < hl || have - hl < len)
            return 0;
        evbuffer_drain(in, hl);
        const unsigned char *payload =
            len ? evbuffer_pullup(in, (ssize_t)len) : (const unsigned char *)"";
        if (ws_frame(c, h[0] & 0x0F, payload, (size_t)len) < 0)
            return -1;
        evbuffer_drain(in, (size_t)len);
    }
}

/* ---- reading ---- */

/* Feed the HTTP parser. Returns 0, or -1 after ending the operation. */
static int http_input(struct client *c, struct evbuffer *in)
{
    size_t len = evbuffer_get_length(in);
    if (len == 0)
        return 0;
    const char *data = (const char *)evbuffer_pullup(in, -1);
    size_t n = http_parser_execute(&c->hp, &c->s->hps, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->hp);
    c->rx += n;
    if (e != HPE_OK && e != HPE_PAUSED) {
        char d[120];
        snprintf(d, sizeof d, "%s", http_errno_description(e));
        conn_drop(c);
        op_end(c, OUT_FAILED, "a malformed HTTP answer", d);
        return -1;
    }
    evbuffer_drain(in, n);
    if (c->op == OP_EXEC && c->complete) {
        if (c->hp.status_code != 101 || !c->hp.upgrade) {
            conn_drop(c);
            bad_status(c);
            return -1;
        }
        if (ws_start(c) < 0)
            return -1;
        return ws_input(c, in);
    }
    if (c->st == CS_WATCHING) {
        if (watch_lines(c) < 0)
            return -1;
        if (!c->complete)
            return 0;
        /* the server ended the watch (timeoutSeconds, or watch-expire after its ERROR) */
        if (c->expired) {
            conn_drop(c); /* watch-expire ends the connection after the last chunk */
            op_end(c, OUT_FAULT, "410 Expired ERROR event", "watch-expire");
        } else if (evbuffer_get_length(c->body) > 0) {
            conn_drop(c);
            op_end(c, OUT_FAILED, "a watch that ended inside an event", NULL);
        } else {
            if (!http_should_keep_alive(&c->hp))
                conn_drop(c);
            op_end(c, OUT_OK, NULL, NULL);
        }
        return -1;
    }
    if (!c->complete)
        return 0;
    if (evbuffer_get_length(in) > 0) {
        conn_drop(c);
        op_end(c, OUT_FAILED, "bytes after the answer", NULL);
        return -1;
    }
    http_answer(c);
    return -1;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    switch (c->st) {
    case CS_HTTP:
    case CS_WATCHING:
        http_input(c, in);
        break;
    case CS_WS:
        ws_input(c, in);
        break;
    default:
        /* nothing is due between operations: the server has no reason to speak */
        evbuffer_drain(in, evbuffer_get_length(in));
        break;
    }
}

/* The connection ended (EOF or an error) while an operation was on it. */
static void conn_ended(struct client *c, int err)
{
    int reset = err == ECONNRESET || err == EPIPE;
    char kind[120];

    switch (c->st) {
    case CS_CONNECTING:
        conn_drop(c);
        op_end(c, OUT_FAILED, "connect failed", strerror(err ? err : ECONNREFUSED));
        return;
    case CS_WS:
        ws_finished(c, reset);
        return;
    case CS_WATCHING:
        conn_drop(c);
        if (reset)
            op_end(c, OUT_FAULT, "watch cut by a reset", "watch-cut");
        else
            op_end(c, OUT_FAILED, "watch ended without its last chunk", NULL);
        return;
    case CS_HTTP:
        if (!reset && !c->complete) {
            /* an answer delimited by the end of the connection ends here */
            http_parser_execute(&c->hp, &c->s->hps, NULL, 0);
            if (c->complete) {
                conn_drop(c);
                http_answer(c);
                return;
            }
        }
        conn_drop(c);
        if (reset && c->rx == 0 && c->op == OP_GET)
            op_end(c, OUT_FAULT, "reset before the answer", "get-reset");
        else if (!reset && c->rx > 0 && c->op == OP_LIST)
            op_end(c, OUT_FAULT, "closed in the middle of the answer", "list-truncated");
        else {
            snprintf(kind, sizeof kind, "%s %s the answer", reset ? "reset" : "closed",
                     c->rx ? "in the middle of" : "before");
            if (c->op == OP_CREATE || c->op == OP_DELETE)
                c->pods[c->pod].st = POD_MAYBE;
            op_end(c, OUT_FAILED, kind, err ? strerror(err) : NULL);
        }
        return;
    default:
        /* between operations: the server closed an idle keep-alive connection */
        c->s->server_closes++;
        conn_drop(c);
        return;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct client *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (send_request(c) < 0) {
            conn_drop(c);
            op_end(c, OUT_FAILED, "cannot queue the request", NULL);
        }
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        int err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
        /* whatever arrived with the end is read first */
        if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 &&
            (c->st == CS_HTTP || c->st == CS_WATCHING || c->st == CS_WS)) {
            on_read(bev, c);
            if (c->bev != bev)
                return; /* the operation ended on what was read */
        }
        conn_ended(c, err);
    }
}

/* ---- the run ---- */

static void progress(struct soak *s, const char *label)
{
    uint64_t sent = 0, ok = 0, fault = 0, failed = 0;
    for (int i = 0; i < NOPS; i++) {
        sent += s->ops[i].sent;
        ok += s->ops[i].ok;
        fault += s->ops[i].fault;
        failed += s->ops[i].failed;
    }
    fprintf(stderr,
            "soak: %s %4.0f s: %llu operations (%llu ok, %llu fault errors, %llu failed), %ld "
            "clients active\n",
            label, now_s() - s->t_start, (unsigned long long)sent, (unsigned long long)ok,
            (unsigned long long)fault, (unsigned long long)failed, s->active);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct soak *s = arg;
    if (s->o.server_pid > 0 && kill((pid_t)s->o.server_pid, 0) < 0 && errno == ESRCH) {
        fprintf(stderr, "soak: the server (pid %ld) is gone\n", s->o.server_pid);
        s->server_died = 1;
        event_base_loopbreak(s->base);
        return;
    }
    if (++s->ticks % PROGRESS_EVERY_S == 0)
        progress(s, s->stopping ? "draining" : "at");
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct soak *s = arg;
    s->stopping = 1;
    s->t_stop = now_s();
    /* clients between operations end now; those in one finish it (or meet its deadline) */
    for (long i = 0; i < s->o.connections; i++) {
        struct client *c = &s->clients[i];
        if (c->st == CS_IDLE)
            client_finish(c);
        else if (c->st == CS_WATCHING && c->watch_client_ms > 0)
            watch_end_by_client(c);
    }
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct soak *s = arg;
    for (long i = 0; i < s->o.connections; i++) {
        struct client *c = &s->clients[i];
        if (c->st != CS_DONE && c->st != CS_IDLE) {
            s->unanswered_at_end++;
            count_kind(s, 0, "still unanswered when the run ended", c->what);
            s->ops[c->op].failed++;
        }
    }
    event_base_loopbreak(s->base);
}

/* ---- prefill: fill the server's request journal before memory is watched ---- */

#define PREFILL_BATCH 1000
#define PREFILL_TIMEOUT_MS 15000 /* for one batch's answers */

static int on_prefill_answer(http_parser *p)
{
    (*(long *)p->data)++;
    return 0;
}

/* n GET /version on one connection, PREFILL_BATCH pipelined at a time. */
static int prefill(const struct soak *s, long n)
{
    static const char req[] = "GET /version HTTP/1.1\r\nHost: soak\r\n\r\n";
    http_parser_settings hs = {.on_message_complete = on_prefill_answer};
    http_parser hp;
    char *batch = malloc(PREFILL_BATCH * (sizeof req - 1)), buf[65536];
    long answered = 0;
    int fd = -1, rc = -1;
    double t0 = now_s();
    http_parser_init(&hp, HTTP_RESPONSE);
    hp.data = &answered;
    if (!batch || (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (const struct sockaddr *)&s->sa, sizeof s->sa) < 0)
        goto out;
    for (int i = 0; i < PREFILL_BATCH; i++)
        memcpy(batch + (size_t)i * (sizeof req - 1), req, sizeof req - 1);
    while (answered < n) {
        long k = n - answered < PREFILL_BATCH ? n - answered : PREFILL_BATCH, want = answered + k;
        size_t len = (size_t)k * (sizeof req - 1);
        for (size_t off = 0; off < len;) {
            ssize_t w = write(fd, batch + off, len - off);
            if (w <= 0)
                goto out;
            off += (size_t)w;
        }
        while (answered < want) {
            struct pollfd pfd = {fd, POLLIN, 0};
            ssize_t r;
            if (poll(&pfd, 1, PREFILL_TIMEOUT_MS) <= 0 || (r = read(fd, buf, sizeof buf)) <= 0 ||
                http_parser_execute(&hp, &hs, buf, (size_t)r) != (size_t)r)
                goto out;
        }
    }
    fprintf(stderr, "soak: prefill: %ld requests in %.1f s\n", answered, now_s() - t0);
    rc = 0;
out:
    if (rc < 0)
        fprintf(stderr, "soak: prefill: stopped after %ld of %ld answers\n", answered, n);
    if (fd >= 0)
        close(fd);
    free(batch);
    return rc;
}

/* ---- setup: blocking requests, retried through the faults ---- */

/* One request on a fresh connection (Connection: close). Returns the status code, 0 when no
 * complete answer came; the body (NUL-terminated, truncated to len) in out. */
static int setup_request(const struct soak *s, const char *method, const char *path,
                         const char *body, char *out, size_t len)
{
    char req[1024];
    char *buf = NULL;
    size_t have = 0, cap = 1 << 16;
    int fd = -1, code = 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\nConnection: close\r\n"
                     "Accept: application/json\r\nUser-Agent: kubefault-soak-setup\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, s->o.port, body ? strlen(body) : 0, body ? body : "");
    out[0] = '\0';
    if (n < 0 || (size_t)n >= sizeof req || !(buf = malloc(cap)))
        goto out;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (const struct sockaddr *)&s->sa, sizeof s->sa) < 0)
        goto out;
    for (size_t off = 0; off < (size_t)n;) {
        ssize_t w = write(fd, req + off, (size_t)n - off);
        if (w <= 0)
            goto out;
        off += (size_t)w;
    }
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, SETUP_IO_TIMEOUT_MS) <= 0)
            goto out;
        if (have + 1 >= cap) {
            char *g = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!g)
                goto out;
            buf = g;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + have, cap - 1 - have);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        have += (size_t)r;
    }
    buf[have] = '\0';
    const char *b = strstr(buf, "\r\n\r\n");
    if (have < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0 || !b)
        goto out;
    code = (int)strtol(buf + 9, NULL, 10);
    snprintf(out, len, "%s", b + 4);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return code;
}

/* Retry until the answer is one of want (a 0-ended list). */
static int setup_until(const struct soak *s, const char *method, const char *path, const char *body,
                       const int *want, const char *contains)
{
    char out[8192];
    int code = 0;
    for (int attempt = 0; attempt < SETUP_ATTEMPTS; attempt++) {
        code = setup_request(s, method, path, body, out, sizeof out);
        for (const int *w = want; *w; w++)
            if (code == *w && (!contains || strstr(out, contains)))
                return 0;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "soak: setup: %s %s: no wanted answer in %d tries (last: %d %.200s)\n", method,
            path, SETUP_ATTEMPTS, code, out);
    return -1;
}

static int setup(struct soak *s)
{
    static const int created[] = {201, 409, 0}, ok[] = {200, 0};
    char path[256], body[512];
    double t0 = now_s();
    for (unsigned k = 0; k < s->namespaces; k++) {
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                 "\"soak-%u\"}}",
                 k);
        if (setup_until(s, "POST", "/api/v1/namespaces", body, created, NULL) < 0)
            return -1;
    }
    for (unsigned k = 0; k < s->namespaces; k++) {
        snprintf(path, sizeof path, "/api/v1/namespaces/soak-%u/pods", k);
        snprintf(body, sizeof body, "%s",
                 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"soak-exec\"},"
                 "\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"busybox:1.36\","
                 "\"command\":[\"sleep\",\"infinity\"]}]}}");
        if (setup_until(s, "POST", path, body, created, NULL) < 0)
            return -1;
    }
    for (unsigned k = 0; k < s->namespaces; k++) {
        snprintf(path, sizeof path, "/api/v1/namespaces/soak-%u/pods/soak-exec", k);
        while (setup_until(s, "GET", path, NULL, ok, "\"phase\":\"Running\"") < 0)
            if (now_s() - t0 > SETUP_RUNNING_TIMEOUT_S)
                return -1;
    }
    fprintf(stderr, "soak: setup: %u namespaces with a running exec target in %.1f s\n",
            s->namespaces, now_s() - t0);
    return 0;
}

/* ---- report ---- */

static void report(struct soak *s)
{
    uint64_t served = 0, failures = 0;
    double secs = (s->t_stop > 0 ? s->t_stop : now_s()) - s->t_start;
    printf("soak: %ld connections, %.0f s of load at %ld operations/s offered (a client pauses "
           "%ld ms on average), seed %llu, fault bound %ld ms + slack %ld ms, %u namespaces, %ld "
           "pods per client at most\n",
           s->o.connections, secs, s->o.rate, s->o.think_ms, s->o.seed, s->o.bound_ms,
           s->o.slack_ms, s->namespaces, s->o.pods_per_client);
    printf("\n%-9s | %9s | %9s | %12s | %6s | %8s | %8s | %8s\n", "operation", "sent", "ok",
           "fault errors", "failed", "p50 ms", "p99 ms", "max ms");
    printf("----------|-----------|-----------|--------------|--------|----------|----------|-----"
           "-----\n");
    struct opstat total;
    memset(&total, 0, sizeof total);
    for (int i = 0; i < NOPS; i++) {
        struct opstat *o = &s->ops[i];
        printf("%-9s | %9llu | %9llu | %12llu | %6llu | %8.2f | %8.2f | %8.1f\n", op_names[i],
               (unsigned long long)o->sent, (unsigned long long)o->ok, (unsigned long long)o->fault,
               (unsigned long long)o->failed, hist_quantile(&o->lat, 0.50),
               hist_quantile(&o->lat, 0.99), o->lat.max_ms);
        total.sent += o->sent;
        total.ok += o->ok;
        total.fault += o->fault;
        total.failed += o->failed;
        for (int b = 0; b < HIST_BUCKETS; b++)
            total.lat.b[b] += o->lat.b[b];
        total.lat.n += o->lat.n;
        if (o->lat.max_ms > total.lat.max_ms)
            total.lat.max_ms = o->lat.max_ms;
    }
    printf("%-9s | %9llu | %9llu | %12llu | %6llu | %8.2f | %8.2f | %8.1f\n", "all",
           (unsigned long long)total.sent, (unsigned long long)total.ok,
           (unsigned long long)total.fault, (unsigned long long)total.failed,
           hist_quantile(&total.lat, 0.50), hist_quantile(&total.lat, 0.99), total.lat.max_ms);
    served = total.ok + total.fault;
    failures = total.failed + (s->server_died ? 1 : 0);
    printf("(%.0f operations/s answered; latency: from the request (and its connect) to the whole "
           "answer; a watch: to its 200; exec: to the session's end)\n",
           secs > 0 ? (double)served / secs : 0.0);

    printf("\nerrors by kind:\n");
    int any = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < s->nkinds; i++) {
            struct kind *k = &s->kinds[i];
            if (k->expected != pass)
                continue;
            any = 1;
            printf("  %-10s %7llu  %s\n", pass ? "fault" : "UNEXPECTED",
                   (unsigned long long)k->count, k->name);
            if (!pass)
                printf("  %-10s %7s  first: %s\n", "", "", k->example);
        }
    if (s->kinds_dropped)
        printf("  %-10s %7llu  (more kinds than the report keeps)\n", "?",
               (unsigned long long)s->kinds_dropped);
    if (!any)
        printf("  none\n");
    printf("  (fault: caused by a rule of tests/bench/soak.json, named in the kind's first "
           "example)\n");

    printf("\nexec sessions: %llu ok (%llu Success, %llu exit code 3 as asked), %llu fault "
           "(%llu exit code 42 from exec-exit-42, %llu aborted by exec-abort), %llu failed\n",
           (unsigned long long)(s->exec.ok_success + s->exec.ok_exit3),
           (unsigned long long)s->exec.ok_success, (unsigned long long)s->exec.ok_exit3,
           (unsigned long long)(s->exec.fault_exit42 + s->exec.fault_abort),
           (unsigned long long)s->exec.fault_exit42, (unsigned long long)s->exec.fault_abort,
           (unsigned long long)s->exec.failed);
    printf("watch events read: %llu; connections opened: %llu; closed by the server between "
           "requests: %llu\n",
           (unsigned long long)s->watch_events, (unsigned long long)s->conns_opened,
           (unsigned long long)s->server_closes);
    if (s->server_died)
        printf("the server died during the run\n");
    printf("soak_requests=%llu\nsoak_failures=%llu\n", (unsigned long long)served,
           (unsigned long long)failures);
}

/* ---- main ---- */

static int parse_long(const char *opt, const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || end == v || *end || n < min || n > max) {
        fprintf(stderr, "soak: %s needs a number from %ld to %ld (got \"%s\")\n", opt, min, max,
                v ? v : "");
        return -1;
    }
    *out = n;
    return 0;
}

/* "list,get,exec": the operations of the mix (their weights stay as they are) */
static int parse_ops(const char *v, unsigned *mask)
{
    char buf[128];
    *mask = 0;
    snprintf(buf, sizeof buf, "%s", v ? v : "");
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        int i = 0;
        while (i < NOPS && strcmp(op_names[i], w) != 0)
            i++;
        if (i == NOPS) {
            fprintf(stderr,
                    "soak: --ops: unknown operation \"%s\" (known: list, get, create, delete, "
                    "watch, exec)\n",
                    w);
            return -1;
        }
        *mask |= 1u << i;
    }
    if (!*mask) {
        fprintf(stderr, "soak: --ops needs a list of operations, e.g. list,get,exec\n");
        return -1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: soak --port N [--connections N] [--duration S] [--seed N] [--rate OPS]\n"
               "            [--fault-bound-ms MS] [--slack-ms MS] [--pods-per-client N]\n"
               "            [--clients-per-namespace N] [--server-pid PID] [--ops OP,...]\n"
               "            [--prefill N]\n"
               "(tests/bench/soak.c's head comment says what it does; scripts/soak.sh runs it)\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    long seed = 1;
    *o = (struct opts){.connections = 2000,
                       .duration_s = 60,
                       .rate = 500,
                       .bound_ms = 2000,
                       .slack_ms = 5000,
                       .pods_per_client = 2,
                       .per_namespace = 25,
                       .ops_mask = (1u << NOPS) - 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        struct {
            const char *name;
            long *dst, min, max;
        } nums[] = {
            {"--port", &o->port, 1, 65535},
            {"--connections", &o->connections, 1, MAX_CONNECTIONS},
            {"--duration", &o->duration_s, 1, 24 * 3600},
            {"--seed", &seed, 0, 2147483647},
            {"--rate", &o->rate, 1, 1000000},
            {"--prefill", &o->prefill, 0, 10000000},
            {"--fault-bound-ms", &o->bound_ms, 0, 600000},
            {"--slack-ms", &o->slack_ms, 0, 600000},
            {"--pods-per-client", &o->pods_per_client, 1, MAX_PODS_PER_CLIENT},
            {"--clients-per-namespace", &o->per_namespace, 1, 1000},
            {"--server-pid", &o->server_pid, 1, 2147483647},
        };
        size_t k = 0;
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--ops") == 0) {
            if (parse_ops(v, &o->ops_mask) < 0)
                return -1;
            i++;
            continue;
        }
        while (k < sizeof nums / sizeof nums[0] && strcmp(a, nums[k].name) != 0)
            k++;
        if (k == sizeof nums / sizeof nums[0]) {
            fprintf(stderr, "soak: unknown option \"%s\"\n", a);
            usage(stderr);
            return -1;
        }
        if (parse_long(a, v, nums[k].min, nums[k].max, nums[k].dst) < 0)
            return -1;
        i++;
    }
    if (!o->port) {
        fprintf(stderr, "soak: --port is required\n");
        usage(stderr);
        return -1;
    }
    o->seed = (unsigned long long)seed;
    o->think_ms = o->connections * 1000 / o->rate;
    return 0;
}

/* Every client is one descriptor: raise the soft limit to the hard one. */
static int raise_nofile(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)need > rl.rlim_cur) {
        fprintf(stderr,
                "soak: %ld connections need %ld descriptors; the open-files limit is %llu "
                "(ulimit -Hn)\n",
                need - 64, need, (unsigned long long)rl.rlim_cur);
        return -1;
    }
    return 0;
}

static int make_clients(struct soak *s)
{
    long ramp_ms = s->o.duration_s * 1000 / 4;
    if (ramp_ms > 5000)
        ramp_ms = 5000;
    if (!(s->clients = calloc((size_t)s->o.connections, sizeof *s->clients)))
        return -1;
    for (long i = 0; i < s->o.connections; i++) {
        struct client *c = &s->clients[i];
        c->s = s;
        c->id = (unsigned)i;
        c->ns = (unsigned)(i / s->o.per_namespace);
        c->rng = s->o.seed * 0x100000001B3ull + (uint64_t)i;
        c->st = CS_IDLE;
        c->timer = evtimer_new(s->base, on_timer, c);
        c->deadline = evtimer_new(s->base, on_deadline, c);
        c->body = evbuffer_new();
        if (!c->timer || !c->deadline || !c->body)
            return -1;
        arm_ms(c->timer, rnd_range(&c->rng, 0, ramp_ms)); /* spread the first connects */
    }
    s->active = s->o.connections;
    return 0;
}

static void free_clients(struct soak *s)
{
    for (long i = 0; s->clients && i < s->o.connections; i++) {
        struct client *c = &s->clients[i];
        conn_drop(c);
        if (c->timer)
            event_free(c->timer);
        if (c->deadline)
            event_free(c->deadline);
        if (c->body)
            evbuffer_free(c->body);
    }
    free(s->clients);
}

int main(int argc, char **argv)
{
    static struct soak soak; /* large (histograms, kinds): not on the stack */
    struct soak *s = &soak;
    int rc = 1;

    if (parse_args(argc, argv, &s->o) < 0)
        return 2;
    if (raise_nofile(s->o.connections + 64) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    s->namespaces = (unsigned)((s->o.connections + s->o.per_namespace - 1) / s->o.per_namespace);
    s->sa.sin_family = AF_INET;
    s->sa.sin_port = htons((uint16_t)s->o.port);
    s->sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->hps.on_header_field = hp_header_field;
    s->hps.on_header_value = hp_header_value;
    s->hps.on_headers_complete = hp_headers_complete;
    s->hps.on_body = hp_body;
    s->hps.on_message_complete = hp_message_complete;

    if ((s->o.prefill > 0 && prefill(s, s->o.prefill) < 0) || setup(s) < 0) {
        fprintf(stderr, "soak: setup failed\n");
        printf("soak_requests=0\nsoak_failures=1\n");
        return 1;
    }
    if (!(s->base = event_base_new()) || make_clients(s) < 0) {
        fprintf(stderr, "soak: out of memory\n");
        goto out;
    }
    /* the drain bound: the longest operation (a server-ended watch: 2 s + its bounds) */
    long drain_ms = s->o.duration_s * 1000 + 2000 + s->o.bound_ms + s->o.slack_ms + 1000;
    s->stop_ev = evtimer_new(s->base, on_stop, s);
    s->drain_ev = evtimer_new(s->base, on_drain_timeout, s);
    s->tick_ev = event_new(s->base, -1, EV_PERSIST, on_tick, s);
    if (!s->stop_ev || !s->drain_ev || !s->tick_ev)
        goto out;
    arm_ms(s->stop_ev, s->o.duration_s * 1000);
    arm_ms(s->drain_ev, drain_ms);
    arm_ms(s->tick_ev, 1000);
    s->t_start = now_s();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    /* scripts/soak.sh reads the start to pick the memory samples taken under load */
    fprintf(stderr, "soak: load from unix time %lld.%03ld: %ld clients for %ld s\n",
            (long long)wall.tv_sec, wall.tv_nsec / 1000000, s->o.connections, s->o.duration_s);
    event_base_dispatch(s->base);
    progress(s, "ended");
    report(s);
    rc = 0;
    for (int i = 0; i < NOPS; i++)
        if (s->ops[i].failed)
            rc = 1;
    if (s->server_died)
        rc = 1;
out:
    free_clients(s);
    if (s->stop_ev)
        event_free(s->stop_ev);
    if (s->drain_ev)
        event_free(s->drain_ev);
    if (s->tick_ev)
        event_free(s->tick_ev);
    if (s->base)
        event_base_free(s->base);
    return rc;
}
