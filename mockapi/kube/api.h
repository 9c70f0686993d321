/* api.h -- the Kubernetes REST semantics: discovery, get/list/watch, create, update, patch, delete,
 * pods/log, access reviews; every error a Status worded as kube-apiserver words it */
#ifndef KF_API_H
#define KF_API_H

#include <stdint.h>

struct cluster;
struct conn;
struct http_request;
struct rng;
struct route;
struct store;
struct watch_hub;
struct api;
struct ctr_runtime;

/** A followed log's output left unsent (written toward the client, not yet taken by the kernel)
 *  past which the stream is cut: its connection closed, the unsent bytes dropped. The kubelet would
 *  stop reading the container's log file instead; the fake has no file to fall back on. */
#define API_MAX_LOG_PENDING_BYTES (8 * 1024 * 1024)

struct api_opts {
    const char *kube_minor;     /**< "32": /version's minor (the kubectl dispatcher picks by it) */
    const char *server_address; /**< "127.0.0.1:PORT" for /api's serverAddressByClientCIDRs */
    struct ctr_runtime *containers; /**< what exec and attach run (borrowed) */
};

/** The REST layer over a store, cluster and watch hub (all borrowed). */
struct api *api_new(struct store *store, struct cluster *cluster, struct watch_hub *watches,
                    struct rng *rng, const struct api_opts *opts);

/** Free. NULL is a no-op. */
void api_free(struct api *a);

/** Answer one routed request (now, or later for watches and followed logs). */
void api_handle(struct api *a, struct conn *c, struct http_request *req, const struct route *r);

/** Answer with a Status (takes ownership of st, a cJSON from status.h). */
void api_send_status(struct conn *c, void *st);

#endif
