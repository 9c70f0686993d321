/* server.c -- the fake kube-apiserver: listener (TLS or plain), authentication, routing, and the
 * store, cluster and watches behind it; calls the hook points */
#include "mockapi/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mockapi/base/log.h"
#include "mockapi/base/rng.h"
#include "mockapi/hooks.h"
#include "mockapi/http/conn.h"
#include "mockapi/http/listener.h"
#include "mockapi/http/tls.h"
#include "mockapi/kube/api.h"
#include "mockapi/kube/containers.h"
#include "mockapi/kube/route.h"
#include "mockapi/kube/status.h"
#include "mockapi/kube/store.h"
#include "mockapi/kube/watch.h"

struct mockapi_server {
    struct event_base *base;
    struct mockapi_server_opts o;
    struct listener *listener;
    struct tls_ctx *tls;
    int port;
    char url[96];
    char token[TLS_TOKEN_LEN + 1 + 200];
    char minor[8];
    char version[16];
    struct rng rng;
    struct store *store;
    struct cluster *cluster;
    struct ctr_runtime *containers;
    struct watch_hub *watches;
    struct api *api;
    uint64_t requests;
    uint64_t connections;
    struct conn_set conns;
};

#define LISTEN_BACKLOG 511

static int authorized(const struct mockapi_server *s, const struct http_request *req,
                      const struct route *r)
{
    if (s->o.plain_http)
        return 1; /* kubectl sends no credentials over plain HTTP (kube-wire.md §0) */
    if (r->type == ROUTE_VERSION || r->type == ROUTE_HEALTH)
        return 1; /* public to anonymous users, as system:public-info-viewer allows */
    const char *auth = http_request_header(req, "Authorization");
    return auth && strncmp(auth, "Bearer ", 7) == 0 && strcmp(auth + 7, s->token) == 0;
}

static void on_request(void *arg, struct conn *c, struct http_request *req)
{
    struct mockapi_server *s = arg;
    struct route r;
    char err[256];
    int watch = 0;
    const char *w = http_request_param(req, "watch");
    if (w && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0))
        watch = 1;
    log_debug("%s %s %s (%s)", conn_peer(c), req->method, req->url,
              http_request_header(req, "User-Agent") ? http_request_header(req, "User-Agent")
                                                     : "-");
    if (route_parse(req->method, req->path, watch, &r, err, sizeof err) < 0) {
        api_send_status(c, status_new(400, STATUS_REASON_BADREQUEST, err));
        return;
    }
    if (!authorized(s, req, &r)) {
        api_send_status(c, status_new(401, STATUS_REASON_UNAUTHORIZED, "Unauthorized"));
        return;
    }
    if (s->o.hooks && s->o.hooks->on_request &&
        s->o.hooks->on_request(s->o.hooks->arg, c, req, &r) == HOOK_HANDLED)
        return;
    api_handle(s->api, c, req, &r);
}

static void on_response(void *arg, struct conn *c, const struct http_request *req, int code,
                        uint64_t bytes, int complete)
{
    struct mockapi_server *s = arg;
    if (s->o.hooks && s->o.hooks->on_response)
        s->o.hooks->on_response(s->o.hooks->arg, c, req, code, bytes, complete);
}

void mockapi_server_dispatch(struct mockapi_server *s, struct conn *c, struct http_request *req,
                             const struct route *r)
{
    api_handle(s->api, c, req, r);
}

/* A connection on fd, accepted by the listener or handed over by mockapi_server_serve_fd(). */
static int serve(struct mockapi_server *s, int fd, const struct sockaddr *sa)
{
    struct conn_config cfg = {.set = &s->conns,
                              .on_request = on_request,
                              .on_response = on_response,
                              .arg = s,
                              .request_counter = &s->requests,
                              .conn_counter = &s->connections,
                              .server_header = NULL};
    struct conn *c = conn_accept(s->base, s->tls, fd, sa, &cfg);
    if (!c)
        return -1; /* failed, or over the connection limit (conn answers that one itself) */
    if (s->o.hooks && s->o.hooks->on_accept)
        s->o.hooks->on_accept(s->o.hooks->arg, c);
    return 0;
}

static void on_accept(void *arg, int fd, const struct sockaddr *sa)
{
    serve(arg, fd, sa);
}

int mockapi_server_serve_fd(struct mockapi_server *s, int fd)
{
    struct sockaddr_storage ss;
    if (listener_adopt(fd, &ss) < 0)
        return -1;
    return serve(s, fd, (struct sockaddr *)&ss);
}

int mockapi_server_listen_mode(struct mockapi_server *s, enum listen_mode mode, char *err,
                               size_t errlen)
{
    return listener_set_mode(s->listener, mode, err, errlen);
}

enum listen_mode mockapi_server_get_listen_mode(const struct mockapi_server *s)
{
    return listener_mode(s->listener);
}

struct event_base *mockapi_server_base(struct mockapi_server *s)
{
    return s->base;
}

static int parse_version(const char *v, char *minor, size_t len)
{
    char *end;
    if (strncmp(v, "1.", 2) != 0)
        return -1;
    errno = 0;
    long m = strtol(v + 2, &end, 10);
    if (errno || end == v + 2 || *end || m < 0 || m > 99)
        return -1;
    snprintf(minor, len, "%ld", m);
    return 0;
}

struct mockapi_server *mockapi_server_new(struct event_base *base,
                                          const struct mockapi_server_opts *opts, char *err,
                                          size_t errlen)
{
    struct mockapi_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base = base;
    s->o = *opts;
    s->conns.max = opts->max_connections ? opts->max_connections : CONN_DEFAULT_MAX;
    const char *version = opts->kube_version ? opts->kube_version : "1.32";
    if (parse_version(version, s->minor, sizeof s->minor) < 0) {
        snprintf(err, errlen, "bad Kubernetes version \"%s\" (expected 1.NN, e.g. 1.32)", version);
        goto fail;
    }
    snprintf(s->version, sizeof s->version, "v1.%s.0", s->minor);
    rng_init(&s->rng, opts->seed);
    if (!opts->plain_http) {
        if (!(s->tls = tls_new(err, errlen)))
            goto fail;
        if (opts->token) {
            if (strlen(opts->token) >= sizeof s->token) {
                snprintf(err, errlen, "token longer than %zu bytes", sizeof s->token - 1);
                goto fail;
            }
            snprintf(s->token, sizeof s->token, "%s", opts->token);
        } else if (tls_random_token(s->token, sizeof s->token) < 0) {
            snprintf(err, errlen, "cannot make a random token");
            goto fail;
        }
    }

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)opts->port);
    const char *addr = opts->bind_addr ? opts->bind_addr : "127.0.0.1";
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        snprintf(err, errlen, "bad bind address \"%s\" (expected an IPv4 address)", addr);
        goto fail;
    }
    if (!(s->listener =
              listener_new(base, &sin, LISTEN_BACKLOG, on_accept, s, "kube", err, errlen)))
        goto fail;
    s->port = listener_port(s->listener);
    snprintf(s->url, sizeof s->url, "%s://%s:%d", s->tls ? "https" : "http", addr, s->port);

    char server_address[64];
    snprintf(server_address, sizeof server_address, "%s:%d", addr, s->port);
    struct cluster_opts co = opts->cluster;
    co.kubelet_version = s->version;
    if (!(s->store = store_new(&s->rng, 0)) ||
        !(s->cluster = cluster_new(base, s->store, &s->rng, opts->hooks, &co)) ||
        !(s->watches = watch_hub_new(base, s->store, opts->hooks))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!(s->containers = ctr_runtime_new(s->cluster, s->store, opts->hooks))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    struct api_opts ao = {s->minor, server_address, s->containers};
    if (!(s->api = api_new(s->store, s->cluster, s->watches, &s->rng, &ao)) ||
        cluster_bootstrap(s->cluster) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return s;
fail:
    mockapi_server_free(s);
    return NULL;
}

void mockapi_server_free(struct mockapi_server *s)
{
    if (!s)
        return;
    listener_free(s->listener);
    watch_hub_free(s->watches);
    conn_set_abort_all(&s->conns);
    api_free(s->api);
    ctr_runtime_free(s->containers);
    cluster_free(s->cluster);
    store_free(s->store);
    tls_free(s->tls);
    free(s);
}

int mockapi_server_port(const struct mockapi_server *s)
{
    return s->port;
}

const char *mockapi_server_url(const struct mockapi_server *s)
{
    return s->url;
}

const char *mockapi_server_token(const struct mockapi_server *s)
{
    return s->tls ? s->token : NULL;
}

struct tls_ctx *mockapi_server_tls(struct mockapi_server *s)
{
    return s->tls;
}

const char *mockapi_server_ca_pem(const struct mockapi_server *s)
{
    return s->tls ? tls_ca_pem(s->tls) : NULL;
}

uint64_t mockapi_server_requests(const struct mockapi_server *s)
{
    return s->requests;
}

size_t mockapi_server_connections(const struct mockapi_server *s)
{
    return s->conns.count - s->conns.refusing;
}

unsigned long mockapi_server_accept_pauses(const struct mockapi_server *s)
{
    return s->listener ? listener_pauses(s->listener) : 0;
}

struct store *mockapi_server_store(struct mockapi_server *s)
{
    return s->store;
}

struct ctr_runtime *mockapi_server_containers(struct mockapi_server *s)
{
    return s->containers;
}

struct cluster *mockapi_server_cluster(struct mockapi_server *s)
{
    return s->cluster;
}

struct watch_hub *mockapi_server_watches(struct mockapi_server *s)
{
    return s->watches;
}
