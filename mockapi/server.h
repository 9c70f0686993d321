/* server.h -- the fake kube-apiserver: listener (TLS or plain), authentication, routing, and the
 * store, cluster and watches behind it; the hook points the harness plugs into */
#ifndef KF_SERVER_H
#define KF_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "mockapi/http/listener.h"
#include "mockapi/kube/cluster.h"

struct conn;
struct event_base;
struct http_request;
struct route;
struct ctr_runtime;
struct mockapi_hooks;
struct store;
struct tls_ctx;
struct watch_hub;
struct mockapi_server;

struct mockapi_server_opts {
    const char *bind_addr;    /**< default "127.0.0.1" */
    int port;                 /**< 0: a free port */
    int plain_http;           /**< serve HTTP without TLS (and without authentication) */
    const char *kube_version; /**< "1.32" (default); /version and the node report it */
    const char *token;        /**< bearer token; NULL: a random one per run */
    uint64_t seed;            /**< seeds uids, names and IPs */
    size_t max_connections;   /**< connections served at once; 0: CONN_DEFAULT_MAX (16384). A
                                   connection past it gets 503 "too many connections: ..." for
                                   its first request, then is closed (conn.h) */
    struct cluster_opts cluster;
    const struct mockapi_hooks *hooks; /**< borrowed; NULL for none */
};

/** Start listening. NULL + err on failure (address in use, bad version, TLS setup). */
struct mockapi_server *mockapi_server_new(struct event_base *base,
                                          const struct mockapi_server_opts *opts, char *err,
                                          size_t errlen);

/** Serve a request normally, skipping the on_request hook: a fault that delayed a request (or
 *  looked at it and let it be) hands it back here. */
void mockapi_server_dispatch(struct mockapi_server *s, struct conn *c, struct http_request *req,
                             const struct route *r);

/** Serve a connected stream socket (one end of a socketpair, a socket accepted elsewhere) as if the
 *  listener had accepted it: TLS or plain as the server is, the on_accept hook called. For
 *  in-process drivers that feed raw bytes without TCP (the fuzz targets). Takes ownership of fd
 *  (made non-blocking). 0, or -1 when it cannot be set up (fd is closed then). */
int mockapi_server_serve_fd(struct mockapi_server *s, int fd);

/** Switch the listening port to mode (listener_set_mode(), mockapi/http/listener.h), keeping the
 *  same port number. 0, or -1 + err. Connections already accepted are not touched. */
int mockapi_server_listen_mode(struct mockapi_server *s, enum listen_mode mode, char *err,
                               size_t errlen);

/** The current mode. */
enum listen_mode mockapi_server_get_listen_mode(const struct mockapi_server *s);

/** The event loop the server runs on. */
struct event_base *mockapi_server_base(struct mockapi_server *s);

/** Stop listening, end every connection's streams, free everything. NULL is a no-op. */
void mockapi_server_free(struct mockapi_server *s);

int mockapi_server_port(const struct mockapi_server *s);
const char *mockapi_server_url(const struct mockapi_server *s);    /**< "https://127.0.0.1:PORT" */
const char *mockapi_server_token(const struct mockapi_server *s);  /**< NULL with plain HTTP */
const char *mockapi_server_ca_pem(const struct mockapi_server *s); /**< NULL with plain HTTP */
/** The server's CA and certificate (borrowed), so the fake GitLab can serve with the same CA; NULL
 *  with plain HTTP. */
struct tls_ctx *mockapi_server_tls(struct mockapi_server *s);
uint64_t mockapi_server_requests(const struct mockapi_server *s); /**< requests seen so far */
/** Connections open and served now (the ones being refused over the limit not counted). */
size_t mockapi_server_connections(const struct mockapi_server *s);
/** Times a failing accept() (out of file descriptors) paused the listener so far. */
unsigned long mockapi_server_accept_pauses(const struct mockapi_server *s);
struct store *mockapi_server_store(struct mockapi_server *s);
struct cluster *mockapi_server_cluster(struct mockapi_server *s);

/** The simulated containers (exec, attach, pod files, stages). */
struct ctr_runtime *mockapi_server_containers(struct mockapi_server *s);
struct watch_hub *mockapi_server_watches(struct mockapi_server *s);

#endif
