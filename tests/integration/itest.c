/* itest.c -- integration-test helpers: the server on its own thread and event loop, driven through
 * a control socketpair; libcurl requests and streams; raw TCP; every wait bounded by poll timeouts.
 *
 * The control socketpair carries pointers from the test thread to the server thread (a struct
 * itest_cmd to run, or NULL to stop) and single bytes back ('R' ready, 'F' failed to start,
 * 'A' command done, 'S' stopped). No evthread locking is needed: only the server thread touches
 * the event base and the server. */
#include "itest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "harness/diag.h"
#include "harness/engine.h"
#include "harness/rcclient.h"
#include "harness/scenario.h"
#include "mockapi/base/log.h"
#include "mockapi/hooks.h"

struct itest {
    pthread_t thread;
    int thread_started;
    int running;
    int ctl[2]; /* [0]: the test's end, [1]: the server thread's end */
    struct mockapi_server_opts so;
    struct event_base *base;       /* server thread only */
    struct mockapi_server *server; /* server thread only */
    struct event *ctl_ev;          /* server thread only */
    char err[512];
    int port;
    char url[128];
    char token[256];
    int has_token;
    char *ca_pem;
    char ca_file[64];
    /* itest_start_scenario: made, used and freed on the server thread; the hooks forward to it */
    struct mockapi_hooks fwd;
    struct scenario *scenario;
    struct engine *engine;
};

struct itest_cmd {
    itest_loop_fn fn;
    void *arg;
};

void itest_filter_from_env(void)
{
    const char *f = getenv("KF_ITEST_FILTER");
    if (f && *f)
        cmocka_set_test_filter(f);
}

int64_t itest_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int itest_try_connect(int port, int timeout_ms, int64_t *took)
{
    int64_t t0 = itest_now_ms();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        int n = poll(&p, 1, timeout_ms);
        if (n == 0) {
            rc = ETIMEDOUT;
        } else {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            rc = err;
        }
    } else if (rc < 0) {
        rc = errno;
    }
    close(fd);
    if (took)
        *took = itest_now_ms() - t0;
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- the server thread ---- */

static int read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

static void write_byte(int fd, char c)
{
    ssize_t n;
    do
        n = write(fd, &c, 1);
    while (n < 0 && errno == EINTR);
}

static void on_control(evutil_socket_t fd, short what, void *arg)
{
    struct itest *t = arg;
    struct itest_cmd *cmd = NULL;
    (void)what;
    if (read_full(fd, &cmd, sizeof cmd) < 0 || !cmd) {
        event_base_loopbreak(t->base);
        return;
    }
    cmd->fn(cmd->arg, t->server);
    write_byte(fd, 'A');
}

static void *server_main(void *arg)
{
    struct itest *t = arg;
    char status = 'F';
    /* as kubefault serve makes it: precise timers, no cached time (src/main.c) */
    struct event_config *cfg = event_config_new();
    if (cfg) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        event_config_set_flag(cfg, EVENT_BASE_FLAG_NO_CACHE_TIME);
        t->base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    if (!t->base) {
        snprintf(t->err, sizeof t->err, "event_base_new failed");
        goto out;
    }
    t->server = mockapi_server_new(t->base, &t->so, t->err, sizeof t->err);
    if (!t->server)
        goto out;
    t->ctl_ev = event_new(t->base, t->ctl[1], EV_READ | EV_PERSIST, on_control, t);
    if (!t->ctl_ev || event_add(t->ctl_ev, NULL) < 0) {
        snprintf(t->err, sizeof t->err, "cannot watch the control socket");
        goto out;
    }
    t->port = mockapi_server_port(t->server);
    snprintf(t->url, sizeof t->url, "%s", mockapi_server_url(t->server));
    if (mockapi_server_token(t->server)) {
        snprintf(t->token, sizeof t->token, "%s", mockapi_server_token(t->server));
        t->has_token = 1;
    }
    if (mockapi_server_ca_pem(t->server))
        t->ca_pem = strdup(mockapi_server_ca_pem(t->server));
    write_byte(t->ctl[1], 'R');
    event_base_dispatch(t->base);
    status = 'S';
out:
    if (t->ctl_ev)
        event_free(t->ctl_ev);
    t->ctl_ev = NULL;
    /* as `kubefault serve` ends: the engine detaches (its hooks then pass), the server goes (its
     * connections' close callbacks may still reach the hooks), then the engine and its scenario */
    engine_stop(t->engine);
    mockapi_server_free(t->server);
    t->server = NULL;
    engine_free(t->engine);
    t->engine = NULL;
    scenario_free(t->scenario);
    t->scenario = NULL;
    if (t->base) {
        /* one more turn for libevent's own deferred callbacks: a bufferevent freed while one was
         * queued (a connection whose reading had stopped at its high watermark) is only released
         * by them; event_base_free would drop them unrun */
        event_base_loop(t->base, EVLOOP_NONBLOCK);
        event_base_free(t->base);
    }
    t->base = NULL;
    write_byte(t->ctl[1], status);
    return NULL;
}

/* The next byte from the server thread, or 0 after timeout_ms. */
static char wait_byte(int fd, int timeout_ms)
{
    int64_t deadline = itest_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - itest_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r == 1)
            return c;
        if (r < 0 && errno == EINTR)
            continue;
        return 0;
    }
}

static void send_cmd(struct itest *t, struct itest_cmd *cmd)
{
    ssize_t n;
    do
        n = write(t->ctl[0], &cmd, sizeof cmd);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof cmd)
        fail_msg("control socket write: %s", strerror(errno));
}

/* ---- hooks forwarding to the engine of itest_start_scenario, once it exists ---- */

static const struct mockapi_hooks *engine_hooks_of(void *arg)
{
    struct itest *t = arg;
    return t->engine ? engine_hooks(t->engine) : NULL;
}

static enum hook_verdict fwd_accept(void *arg, struct conn *c)
{
    const struct mockapi_hooks *h = engine_hooks_of(arg);
    return h && h->on_accept ? h->on_accept(h->arg, c) : HOOK_PASS;
}

static enum hook_verdict fwd_request(void *arg, struct conn *c, struct http_request *req,
                                     const struct route *route)
{
    const struct mockapi_hooks *h = engine_hooks_of(arg);
    return h && h->on_request ? h->on_request(h->arg, c, req, route) : HOOK_PASS;
}

static enum hook_verdict fwd_watch_event(void *arg, struct watch *w, const char *type,
                                         const cJSON *object)
{
    const struct mockapi_hooks *h = engine_hooks_of(arg);
    return h && h->on_watch_event ? h->on_watch_event(h->arg, w, type, object) : HOOK_PASS;
}

static void fwd_response(void *arg, struct conn *c, const struct http_request *req, int code,
                         uint64_t bytes, int complete)
{
    const struct mockapi_hooks *h = engine_hooks_of(arg);
    if (h && h->on_response)
        h->on_response(h->arg, c, req, code, bytes, complete);
}

static enum hook_verdict fwd_pod_step(void *arg, struct hook_pod_step *step)
{
    const struct mockapi_hooks *h = engine_hooks_of(arg);
    return h && h->on_pod_step ? h->on_pod_step(h->arg, step) : HOOK_PASS;
}

static enum hook_verdict fwd_remotecmd(void *arg, struct hook_remotecmd *rc)
{
    const struct mockapi_hooks *h = engine_hooks_of(arg);
    return h && h->on_remotecmd ? h->on_remotecmd(h->arg, rc) : HOOK_PASS;
}

static enum hook_verdict fwd_stage(void *arg, struct hook_stage *st)
{
    const struct mockapi_hooks *h = engine_hooks_of(arg);
    return h && h->on_stage ? h->on_stage(h->arg, st) : HOOK_PASS;
}

/* A server with o's settings; its hooks forward to t->engine when forward is set, else o->hooks. */
static struct itest *start(void **state, const struct itest_opts *o, int forward)
{
    static int once;
    if (!once) {
        once = 1;
        signal(SIGPIPE, SIG_IGN);
        curl_global_init(CURL_GLOBAL_ALL);
        atexit(curl_global_cleanup);
        const char *lv = getenv("KF_ITEST_LOG");
        log_set_level(lv && strcmp(lv, "debug") == 0  ? LOG_LEVEL_DEBUG
                      : lv && strcmp(lv, "info") == 0 ? LOG_LEVEL_INFO
                                                      : LOG_LEVEL_ERROR);
    }
    struct itest *t = calloc(1, sizeof *t);
    assert_non_null(t);
    *state = t;
    t->ctl[0] = t->ctl[1] = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, t->ctl) < 0)
        fail_msg("socketpair: %s", strerror(errno));
    t->so.bind_addr = "127.0.0.1";
    t->so.port = 0;
    t->so.plain_http = !o->tls;
    t->so.kube_version = o->kube_version;
    t->so.token = o->token;
    t->so.seed = 42;
    t->so.max_connections = o->max_connections;
    t->so.cluster = o->cluster;
    if (!t->so.cluster.schedule_delay_ms)
        t->so.cluster.schedule_delay_ms = ITEST_SCHEDULE_MS;
    if (!t->so.cluster.start_delay_ms)
        t->so.cluster.start_delay_ms = ITEST_START_MS;
    if (!t->so.cluster.terminate_delay_ms)
        t->so.cluster.terminate_delay_ms = ITEST_TERMINATE_MS;
    t->so.hooks = o->hooks;
    if (forward) {
        t->fwd = (struct mockapi_hooks){.arg = t,
                                        .on_accept = fwd_accept,
                                        .on_request = fwd_request,
                                        .on_watch_event = fwd_watch_event,
                                        .on_response = fwd_response,
                                        .on_pod_step = fwd_pod_step,
                                        .on_remotecmd = fwd_remotecmd,
                                        .on_stage = fwd_stage};
        t->so.hooks = &t->fwd;
    }
    int rc = pthread_create(&t->thread, NULL, server_main, t);
    if (rc)
        fail_msg("pthread_create: %s", strerror(rc));
    t->thread_started = 1;
    char c = wait_byte(t->ctl[0], ITEST_WAIT_MS);
    if (c != 'R')
        fail_msg("the server did not start (%c): %s", c ? c : '-', t->err);
    t->running = 1;
    if (t->ca_pem) {
        snprintf(t->ca_file, sizeof t->ca_file, "/tmp/kf-itest-ca-XXXXXX");
        int fd = mkstemp(t->ca_file);
        if (fd < 0)
            fail_msg("mkstemp: %s", strerror(errno));
        size_t len = strlen(t->ca_pem);
        ssize_t w = write(fd, t->ca_pem, len);
        close(fd);
        if (w != (ssize_t)len)
            fail_msg("cannot write the CA file %s", t->ca_file);
    }
    return t;
}

struct itest *itest_start(void **state, const struct itest_opts *o)
{
    return start(state, o, 0);
}

struct scenario_up {
    struct itest *t;
    const char *file, *text;
};

/* On the server thread: parse the scenario, make and start its engine (t->err says why not). */
static void scenario_up(void *arg, struct mockapi_server *s)
{
    struct scenario_up *u = arg;
    struct itest *t = u->t;
    struct diag d;
    diag_init(&d, u->file);
    t->scenario = scenario_parse(u->file, u->text, strlen(u->text), &d);
    if (!t->scenario) {
        snprintf(t->err, sizeof t->err, "%s", d.n ? d.msgs[0] : "scenario_parse failed");
    } else if (!(t->engine = engine_new(t->scenario, mockapi_server_base(s), NULL))) {
        snprintf(t->err, sizeof t->err, "engine_new failed");
    } else if (engine_start(t->engine, s, t->err, sizeof t->err) < 0) {
        engine_free(t->engine);
        t->engine = NULL;
    }
    diag_release(&d);
}

struct itest *itest_start_scenario(void **state, const char *scenario_text,
                                   const struct itest_opts *o)
{
    static const struct itest_opts defaults;
    if (!o)
        o = &defaults;
    assert_null(o->hooks);
    struct itest *t = start(state, o, 1);
    char *text = o->single_quoted ? itest_dq(scenario_text) : NULL;
    struct scenario_up u = {t, o->scenario_file ? o->scenario_file : "t.json",
                            text ? text : scenario_text};
    itest_run(t, scenario_up, &u);
    free(text);
    if (!t->engine) {
        char err[sizeof t->err];
        snprintf(err, sizeof err, "%s", t->err);
        itest_stop(t);
        *state = NULL;
        fail_msg("engine: %s", err);
    }
    return t;
}

struct engine *itest_engine(const struct itest *t)
{
    return t->engine;
}

void itest_stop(struct itest *t)
{
    if (!t)
        return;
    if (t->running) {
        send_cmd(t, NULL);
        if (wait_byte(t->ctl[0], ITEST_WAIT_MS) != 'S') {
            fprintf(stderr, "itest: the server thread did not stop within %d ms\n", ITEST_WAIT_MS);
            abort();
        }
        t->running = 0;
    }
    if (t->thread_started)
        pthread_join(t->thread, NULL);
    if (t->ctl[0] >= 0)
        close(t->ctl[0]);
    if (t->ctl[1] >= 0)
        close(t->ctl[1]);
    if (t->ca_file[0])
        unlink(t->ca_file);
    free(t->ca_pem);
    free(t);
}

static struct rcc *kept_rcc[ITEST_MAX_RCC];

void itest_rcc_keep(struct rcc *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < ITEST_MAX_RCC; i++) {
        if (!kept_rcc[i]) {
            kept_rcc[i] = c;
            return;
        }
    }
    rcc_free(c);
    fail_msg("more than %d exec/attach sessions open at once", ITEST_MAX_RCC);
}

void itest_rcc_free(struct rcc *c)
{
    for (size_t i = 0; i < ITEST_MAX_RCC; i++)
        if (kept_rcc[i] == c)
            kept_rcc[i] = NULL;
    rcc_free(c);
}

int itest_teardown(void **state)
{
    for (size_t i = 0; i < ITEST_MAX_RCC; i++) {
        rcc_free(kept_rcc[i]);
        kept_rcc[i] = NULL;
    }
    itest_stop(*state);
    *state = NULL;
    return 0;
}

const char *itest_url(const struct itest *t)
{
    return t->url;
}

int itest_port(const struct itest *t)
{
    return t->port;
}

const char *itest_token(const struct itest *t)
{
    return t->has_token ? t->token : NULL;
}

const char *itest_ca_file(const struct itest *t)
{
    return t->ca_file[0] ? t->ca_file : NULL;
}

void itest_run(struct itest *t, itest_loop_fn fn, void *arg)
{
    struct itest_cmd cmd = {fn, arg};
    assert_true(t->running);
    send_cmd(t, &cmd);
    /* cmd lives on this stack: the server must be done with it before we return */
    if (wait_byte(t->ctl[0], ITEST_WAIT_MS) != 'A') {
        fprintf(stderr, "itest: a command on the server thread did not finish within %d ms\n",
                ITEST_WAIT_MS);
        abort();
    }
}

/* ---- libcurl ---- */

struct growbuf {
    char *data;
    size_t len, cap;
    int overflow;
};

static void grow_add(struct growbuf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > ITEST_MAX_BODY) {
        b->overflow = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->overflow = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static size_t on_curl_data(char *p, size_t sz, size_t n, void *arg)
{
    grow_add(arg, p, sz * n);
    return sz * n;
}

struct itest_client {
    struct itest *t;
    CURL *h;
};

struct upload {
    const char *data;
    size_t len, off;
};

/* Hands the body out in small slices so a chunked upload has several chunks. */
static size_t on_curl_read(char *p, size_t sz, size_t n, void *arg)
{
    struct upload *u = arg;
    size_t max = sz * n, left = u->len - u->off;
    size_t take = left < max ? left : max;
    if (take > 1000)
        take = 1000;
    memcpy(p, u->data + u->off, take);
    u->off += take;
    return take;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
    char line[4096];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(l, line);
    assert_non_null(n);
    return n;
}

/* Options common to requests and streams. Returns the header list to free after the transfer. */
static struct curl_slist *setup_easy(CURL *h, struct itest *t, const struct itest_req *r,
                                     struct upload *up)
{
    char url[4096];
    struct curl_slist *hdrs = NULL;
    snprintf(url, sizeof url, "%s%s", t->url, r->path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : ITEST_WAIT_MS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)ITEST_WAIT_MS);
    if (t->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file);
    const char *method = r->method ? r->method : r->body ? "POST" : "GET";
    if (r->body) {
        size_t len = r->body_len ? r->body_len : strlen(r->body);
        if (r->chunked) {
            up->data = r->body;
            up->len = len;
            up->off = 0;
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_curl_read);
            curl_easy_setopt(h, CURLOPT_READDATA, up);
            hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        } else {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
        }
        hdrs = add_header(hdrs, "Content-Type",
                          r->content_type ? r->content_type : "application/json");
    } else if (r->content_type) {
        hdrs = add_header(hdrs, "Content-Type", r->content_type);
    }
    if (strcmp(method, "GET") == 0 && !r->body)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "POST") != 0 || !r->body)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0 && !r->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    hdrs = r->accept ? add_header(hdrs, "Accept", r->accept) : curl_slist_append(hdrs, "Accept:");
    const char *token = r->token ? r->token : itest_token(t);
    if (token && *token) {
        char bearer[512];
        snprintf(bearer, sizeof bearer, "Bearer %s", token);
        hdrs = add_header(hdrs, "Authorization", bearer);
    }
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        hdrs = curl_slist_append(hdrs, r->headers[i]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    return hdrs;
}

struct itest_client *itest_client_new(struct itest *t)
{
    struct itest_client *cl = calloc(1, sizeof *cl);
    assert_non_null(cl);
    cl->t = t;
    cl->h = curl_easy_init();
    assert_non_null(cl->h);
    return cl;
}

void itest_client_free(struct itest_client *cl)
{
    if (!cl)
        return;
    curl_easy_cleanup(cl->h);
    free(cl);
}

void itest_client_request(struct itest_client *cl, const struct itest_req *r,
                          struct itest_resp *out)
{
    struct growbuf body = {0}, head = {0};
    struct upload up = {0};
    CURL *h = cl->h;
    memset(out, 0, sizeof *out);
    /* options from a previous request on this handle must not leak into this one */
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    struct curl_slist *hdrs = setup_easy(h, cl->t, r, &up);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_curl_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_curl_data);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &head);
    out->curl = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &out->connects);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (body.overflow || head.overflow)
        fail_msg("response to %s over %u bytes", r->path, ITEST_MAX_BODY);
    out->body = body.data ? body.data : strdup("");
    out->len = body.len;
    out->headers = head.data ? head.data : strdup("");
    assert_non_null(out->body);
    assert_non_null(out->headers);
}

void itest_request(struct itest *t, const struct itest_req *r, struct itest_resp *out)
{
    struct itest_client *cl = itest_client_new(t);
    itest_client_request(cl, r, out);
    itest_client_free(cl);
}

void itest_resp_release(struct itest_resp *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

static const char *find_header(const char *headers, const char *name, char *buf, size_t len)
{
    const char *found = NULL;
    size_t nlen = strlen(name);
    for (const char *p = headers; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t l = eol ? (size_t)(eol - p) : strlen(p);
        if (l > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = (size_t)(p + l - v);
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            snprintf(buf, len, "%.*s", (int)vl, v);
            found = buf;
        }
        p = eol ? eol + 1 : p + l;
    }
    return found;
}

const char *itest_resp_header(const struct itest_resp *r, const char *name, char *buf, size_t len)
{
    return find_header(r->headers, name, buf, len);
}

void itest_assert_code(const struct itest_resp *r, long code)
{
    if (r->curl != CURLE_OK)
        fail_msg("transfer failed: %s", curl_easy_strerror(r->curl));
    if (r->code != code)
        fail_msg("status %ld, want %ld: %.300s", r->code, code, r->body);
}

void itest_assert_header(const struct itest_resp *r, const char *name, const char *want)
{
    char buf[256];
    const char *v = itest_resp_header(r, name, buf, sizeof buf);
    if (!want) {
        if (v)
            fail_msg("header %s: \"%s\", want none", name, v);
        return;
    }
    if (!v || strcmp(v, want) != 0)
        fail_msg("header %s: \"%s\", want \"%s\"", name, v ? v : "(none)", want);
}

void itest_assert_body(const struct itest_resp *r, const char *want)
{
    if (strcmp(r->body, want) != 0)
        fail_msg("body %s, want %s", r->body, want);
}

/* Over the cap the transfer fails (CURLE_WRITE_ERROR) instead of the test: itest_http may run on
 * a thread where cmocka must not jump. */
static size_t on_http_data(char *p, size_t sz, size_t n, void *arg)
{
    struct growbuf *b = arg;
    grow_add(b, p, sz * n);
    return b->overflow ? 0 : sz * n;
}

void itest_http(const struct itest_http_req *r, struct itest_resp *out)
{
    struct growbuf body = {0}, head = {0};
    struct curl_slist *hl = NULL;
    char ct[256];
    memset(out, 0, sizeof *out);
    CURL *h = curl_easy_init();
    if (!h) {
        out->curl = CURLE_FAILED_INIT;
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : (long)ITEST_WAIT_MS);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    if (r->body) {
        size_t len = r->body_len ? r->body_len : strlen(r->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
        snprintf(ct, sizeof ct, "Content-Type: %s",
                 r->content_type ? r->content_type : "application/json");
        hl = curl_slist_append(hl, ct);
    }
    hl = curl_slist_append(hl, "Expect:");
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        hl = curl_slist_append(hl, r->headers[i]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (r->ca_file && r->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_http_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_http_data);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &head);
    out->curl = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &out->connects);
out:
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    out->body = body.data ? body.data : calloc(1, 1);
    out->len = body.len;
    out->headers = head.data ? head.data : calloc(1, 1);
}

cJSON *itest_json_ct(struct itest *t, const char *method, const char *path,
                     const char *content_type, const void *body, size_t len, long *code)
{
    struct itest_req r = {0};
    struct itest_resp resp;
    r.method = method;
    r.path = path;
    r.body = body;
    r.body_len = len;
    r.content_type = content_type;
    r.accept = "application/json";
    itest_request(t, &r, &resp);
    if (resp.curl != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(resp.curl));
    cJSON *j = cJSON_ParseWithLength(resp.body, resp.len);
    if (!j)
        fail_msg("%s %s: %ld answered non-JSON: %.300s", method, path, resp.code, resp.body);
    if (code)
        *code = resp.code;
    itest_resp_release(&resp);
    return j;
}

cJSON *itest_json(struct itest *t, const char *method, const char *path, const char *body,
                  long *code)
{
    return itest_json_ct(t, method, path, body ? "application/json" : NULL, body,
                         body ? strlen(body) : 0, code);
}

void itest_fail_json(cJSON *j, const char *fmt, ...)
{
    char msg[2048], json[1536] = "(none)";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    if (text)
        snprintf(json, sizeof json, "%s", text);
    free(text);
    cJSON_Delete(j);
    fail_msg("%s: %s", msg, json);
}

void itest_assert_status(cJSON *st, const long *http_code, long want_code, const char *reason,
                         const char *message)
{
    /* checked by hand, so st is freed before a failure is reported */
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "code");
    const char *kind = itest_jstr(st, "kind"), *av = itest_jstr(st, "apiVersion");
    const char *status = itest_jstr(st, "status"), *r = itest_jstr(st, "reason");
    const char *m = itest_jstr(st, "message");
    if (*http_code != want_code)
        itest_fail_json(st, "HTTP %ld, want %ld", *http_code, want_code);
    if (!kind || strcmp(kind, "Status") != 0 || !av || strcmp(av, "v1") != 0 || !status ||
        strcmp(status, "Failure") != 0 || !cJSON_IsNumber(c) || c->valueint != want_code)
        itest_fail_json(st, "not a Failure Status with code %ld", want_code);
    if (reason && (!r || strcmp(r, reason) != 0)) {
        char got[256];
        snprintf(got, sizeof got, "%s", r ? r : "(none)");
        cJSON_Delete(st);
        fail_msg("reason \"%s\" != \"%s\"", got, reason);
    }
    if (message && (!m || strcmp(m, message) != 0)) {
        char got[2048];
        snprintf(got, sizeof got, "%s", m ? m : "(none)");
        cJSON_Delete(st);
        fail_msg("message\n  got:  %s\n  want: %s", got, message);
    }
    cJSON_Delete(st);
}

void itest_must(struct itest *t, const char *method, const char *path, const char *ct,
                const char *body, long want)
{
    long code;
    cJSON *j = itest_json_ct(t, method, path, body ? (ct ? ct : "application/json") : NULL, body,
                             body ? strlen(body) : 0, &code);
    if (code != want)
        itest_fail_json(j, "%s %s: %ld, want %ld", method, path, code, want);
    cJSON_Delete(j);
}

long long itest_list_rv(struct itest *t, const char *path)
{
    long code;
    cJSON *l = itest_json(t, "GET", path, NULL, &code);
    const char *rv = itest_jstr(l, "metadata.resourceVersion");
    if (code != 200 || !rv)
        fail_msg("GET %s: %ld, no resourceVersion", path, code);
    long long v = strtoll(rv, NULL, 10);
    cJSON_Delete(l);
    return v;
}

/* ---- JSON ---- */

char *itest_dq(const char *s)
{
    char *out = strdup(s);
    assert_non_null(out);
    for (char *p = out; *p; p++)
        if (*p == '\'')
            *p = '"';
    return out;
}

const cJSON *itest_jget(const cJSON *o, const char *path)
{
    char seg[256];
    const char *p = path;
    while (o && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, p, len);
        seg[len] = '\0';
        if (cJSON_IsArray(o)) {
            char *end;
            long i = strtol(seg, &end, 10);
            if (*end || end == seg)
                return NULL;
            o = cJSON_GetArrayItem(o, (int)i);
        } else {
            o = cJSON_GetObjectItemCaseSensitive(o, seg);
        }
        p += len;
        if (*p == '.')
            p++;
    }
    return o;
}

const char *itest_jstr(const cJSON *o, const char *path)
{
    const cJSON *v = itest_jget(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double itest_jnum(const cJSON *o, const char *path)
{
    const cJSON *v = itest_jget(o, path);
    if (!cJSON_IsNumber(v))
        itest_fail_json(cJSON_Duplicate(o, 1), "%s: not a number", path);
    return v->valuedouble;
}

int itest_jbool(const cJSON *o, const char *path)
{
    const cJSON *v = itest_jget(o, path);
    if (!cJSON_IsBool(v))
        itest_fail_json(cJSON_Duplicate(o, 1), "%s: not a boolean", path);
    return cJSON_IsTrue(v);
}

void itest_assert_jstr(const cJSON *o, const char *path, const char *want)
{
    const char *v = itest_jstr(o, path);
    if (!v || strcmp(v, want) != 0)
        itest_fail_json(cJSON_Duplicate(o, 1), "%s: want \"%s\"", path, want);
}

cJSON *itest_wait_field(struct itest *t, const char *path, const char *jpath, const char *want,
                        int timeout_ms)
{
    int64_t deadline = itest_now_ms() + timeout_ms;
    for (;;) {
        long code;
        cJSON *j = itest_json(t, "GET", path, NULL, &code);
        const char *v = itest_jstr(j, jpath);
        if (code == 200 && v && strcmp(v, want) == 0)
            return j;
        cJSON_Delete(j);
        if (itest_now_ms() >= deadline)
            return NULL;
        sleep_ms(10);
    }
}

int itest_wait_code(struct itest *t, const char *path, long code, int timeout_ms)
{
    int64_t deadline = itest_now_ms() + timeout_ms;
    for (;;) {
        long got;
        cJSON_Delete(itest_json(t, "GET", path, NULL, &got));
        if (got == code)
            return 1;
        if (itest_now_ms() >= deadline)
            return 0;
        sleep_ms(10);
    }
}

const char *itest_vector_path(const char *rel, char *buf, size_t len)
{
    const char *env = getenv("KF_VECTORS_DIR");
    if (env && *env) {
        snprintf(buf, len, "%s/%s", env, rel);
        return buf;
    }
    /* __FILE__ is .../tests/integration/itest.c: the vectors are in .../tests/vectors */
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    size_t dir = slash ? (size_t)(slash - file) : 0;
    while (dir > 0 && file[dir - 1] != '/')
        dir--;
    snprintf(buf, len, "%.*svectors/%s", (int)dir, file, rel);
    return buf;
}

unsigned char *itest_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: %s", path, strerror(errno));
    struct growbuf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        grow_add(&b, chunk, n);
    fclose(f);
    if (b.overflow || !b.data)
        fail_msg("%s: empty or too large", path);
    *len = b.len;
    return (unsigned char *)b.data;
}

/* ---- raw TCP ---- */

int itest_tcp_connect(struct itest *t)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail_msg("socket: %s", strerror(errno));
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)t->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        fail_msg("connect to port %d: %s", t->port, strerror(errno));
    /* a server that stops reading must not hang a test in send() */
    struct timeval tv = {ITEST_WAIT_MS / 1000, (ITEST_WAIT_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

int itest_tcp_try_send(int fd, const void *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, (const char *)data + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

void itest_tcp_send(int fd, const void *data, size_t len)
{
    if (itest_tcp_try_send(fd, data, len) < 0)
        fail_msg("send: %s", strerror(errno));
}

void itest_tcp_read(int fd, int timeout_ms, struct itest_buf *out)
{
    struct growbuf b = {0};
    int64_t deadline = itest_now_ms() + timeout_ms;
    memset(out, 0, sizeof *out);
    for (;;) {
        int64_t left = deadline - itest_now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        char chunk[16384];
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            out->reset = errno == ECONNRESET;
            break;
        }
        if (r == 0) {
            out->eof = 1;
            break;
        }
        grow_add(&b, chunk, (size_t)r);
    }
    out->data = b.data ? b.data : strdup("");
    out->len = b.len;
    assert_non_null(out->data);
}

void itest_tcp_exchange(struct itest *t, const void *data, size_t len, int timeout_ms,
                        struct itest_buf *out)
{
    int fd = itest_tcp_connect(t);
    itest_tcp_send(fd, data, len);
    itest_tcp_read(fd, timeout_ms, out);
    close(fd);
}

void itest_buf_release(struct itest_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

size_t itest_raw_parse(const char *data, size_t len, struct itest_raw_resp *out)
{
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(data + i, "\r\n\r\n", 4) == 0) {
            end = data + i;
            break;
        }
    if (!end || len < 12 || strncmp(data, "HTTP/1.1 ", 9) != 0)
        return 0;
    char code[4] = {data[9], data[10], data[11], '\0'};
    char *e;
    long c = strtol(code, &e, 10);
    if (*e)
        return 0;
    out->code = (int)c;
    out->head = data;
    out->head_len = (size_t)(end - data);
    char head[8192], val[64];
    snprintf(head, sizeof head, "%.*s", (int)out->head_len, data);
    size_t body_len = 0;
    if (find_header(head, "Content-Length", val, sizeof val)) {
        body_len = (size_t)strtoul(val, &e, 10);
        if (*e)
            return 0;
    }
    size_t total = out->head_len + 4 + body_len;
    if (total > len)
        return 0;
    out->body = end + 4;
    out->body_len = body_len;
    return total;
}

/* ---- streams ---- */

struct itest_stream {
    CURLM *multi;
    CURL *easy;
    struct curl_slist *hdrs;
    struct growbuf data, head;
    size_t off;
    int got_headers;
    int done;
    CURLcode result;
    char ctype[256];
};

static size_t on_stream_header(char *p, size_t sz, size_t n, void *arg)
{
    struct itest_stream *st = arg;
    grow_add(&st->head, p, sz * n);
    if (sz * n == 2 && p[0] == '\r' && p[1] == '\n')
        st->got_headers = 1;
    return sz * n;
}

static void pump(struct itest_stream *st, int wait_ms)
{
    int running = 0, queued;
    CURLMsg *m;
    if (!st->done && wait_ms > 0)
        curl_multi_poll(st->multi, NULL, 0, wait_ms, NULL);
    curl_multi_perform(st->multi, &running);
    while ((m = curl_multi_info_read(st->multi, &queued)))
        if (m->msg == CURLMSG_DONE) {
            st->done = 1;
            st->result = m->data.result;
        }
}

struct itest_stream *itest_stream_open(struct itest *t, const char *path, const char *accept)
{
    struct itest_stream *st = calloc(1, sizeof *st);
    struct itest_req r = {0};
    assert_non_null(st);
    r.path = path;
    r.accept = accept ? accept : "application/json";
    r.timeout_ms = 60000; /* a safety net; reads are bounded by their own deadlines */
    st->multi = curl_multi_init();
    st->easy = curl_easy_init();
    assert_non_null(st->multi);
    assert_non_null(st->easy);
    st->hdrs = setup_easy(st->easy, t, &r, NULL);
    curl_easy_setopt(st->easy, CURLOPT_WRITEFUNCTION, on_curl_data);
    curl_easy_setopt(st->easy, CURLOPT_WRITEDATA, &st->data);
    curl_easy_setopt(st->easy, CURLOPT_HEADERFUNCTION, on_stream_header);
    curl_easy_setopt(st->easy, CURLOPT_HEADERDATA, st);
    curl_multi_add_handle(st->multi, st->easy);
    int64_t deadline = itest_now_ms() + ITEST_WAIT_MS;
    pump(st, 0);
    while (!st->got_headers && !st->done && itest_now_ms() < deadline)
        pump(st, 20);
    if (!st->got_headers)
        fail_msg("stream %s: no response headers (%s)", path,
                 st->done ? curl_easy_strerror(st->result) : "timeout");
    find_header(st->head.data, "Content-Type", st->ctype, sizeof st->ctype);
    return st;
}

long itest_stream_code(const struct itest_stream *st)
{
    long code = 0;
    curl_easy_getinfo(st->easy, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

const char *itest_stream_content_type(const struct itest_stream *st)
{
    return st->ctype;
}

char *itest_stream_line(struct itest_stream *st, int timeout_ms)
{
    int64_t deadline = itest_now_ms() + timeout_ms;
    for (;;) {
        const char *start = st->data.data ? st->data.data + st->off : NULL;
        const char *nl = start ? memchr(start, '\n', st->data.len - st->off) : NULL;
        if (nl) {
            size_t len = (size_t)(nl - start);
            char *line = malloc(len + 1);
            assert_non_null(line);
            memcpy(line, start, len);
            line[len] = '\0';
            st->off += len + 1;
            return line;
        }
        if (st->done)
            return NULL;
        int64_t left = deadline - itest_now_ms();
        if (left <= 0)
            return NULL;
        pump(st, left < 50 ? (int)left : 50);
    }
}

cJSON *itest_stream_event(struct itest_stream *st, int timeout_ms)
{
    char *line = itest_stream_line(st, timeout_ms);
    if (!line)
        return NULL;
    cJSON *j = cJSON_Parse(line);
    if (!j)
        fail_msg("stream line is not JSON: %.300s", line);
    free(line);
    return j;
}

cJSON *itest_expect_event(struct itest_stream *st, const char *type, const char *name,
                          int timeout_ms)
{
    cJSON *ev = itest_stream_event(st, timeout_ms);
    if (!ev)
        fail_msg("no %s event for %s within %d ms", type, name ? name : "-", timeout_ms);
    const char *got = itest_jstr(ev, "type");
    const char *gotname = itest_jstr(ev, "object.metadata.name");
    if (!got || strcmp(got, type) != 0 || (name && (!gotname || strcmp(gotname, name) != 0)))
        itest_fail_json(ev, "want %s %s, got", type, name ? name : "");
    return ev;
}

int itest_stream_wait_end(struct itest_stream *st, int timeout_ms, CURLcode *result)
{
    int64_t deadline = itest_now_ms() + timeout_ms;
    pump(st, 0);
    while (!st->done) {
        int64_t left = deadline - itest_now_ms();
        if (left <= 0)
            return 0;
        pump(st, left < 50 ? (int)left : 50);
    }
    if (result)
        *result = st->result;
    return 1;
}

void itest_stream_close(struct itest_stream *st)
{
    if (!st)
        return;
    curl_multi_remove_handle(st->multi, st->easy);
    curl_easy_cleanup(st->easy);
    curl_multi_cleanup(st->multi);
    curl_slist_free_all(st->hdrs);
    free(st->data.data);
    free(st->head.data);
    free(st);
}

const char itest_bash_detect[] = "if [ -x /usr/local/bin/bash ]; then\n"
                                 "\texec /usr/local/bin/bash \n"
                                 "elif [ -x /usr/bin/bash ]; then\n"
                                 "\texec /usr/bin/bash \n"
                                 "elif [ -x /bin/bash ]; then\n"
                                 "\texec /bin/bash \n"
                                 "elif [ -x /usr/local/bin/sh ]; then\n"
                                 "\texec /usr/local/bin/sh \n"
                                 "elif [ -x /usr/bin/sh ]; then\n"
                                 "\texec /usr/bin/sh \n"
                                 "elif [ -x /bin/sh ]; then\n"
                                 "\texec /bin/sh \n"
                                 "elif [ -x /busybox/sh ]; then\n"
                                 "\texec /busybox/sh \n"
                                 "else\n"
                                 "\techo shell not found\n"
                                 "\texit 1\n"
                                 "fi\n\n";
