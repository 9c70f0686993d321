/* cluster.h -- the one-node cluster: schedules and starts pods, finishes graceful deletion, records
 * kubelet-like events, keeps container output for pods/log, bootstraps namespaces and the node */
#ifndef KF_CLUSTER_H
#define KF_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct event_base;
struct mockapi_hooks;
struct rng;
struct store;
struct cluster;

#define CLUSTER_NODE_NAME "kubefault-node"
#define CLUSTER_MAX_LOG_BYTES                                                                      \
    (1024 * 1024) /**< output kept per container; older bytes are dropped */

struct cluster_opts {
    int64_t schedule_delay_ms;   /**< pod created -> scheduled (default 50) */
    int64_t start_delay_ms;      /**< scheduled -> Running and Ready (default 200) */
    int64_t terminate_delay_ms;  /**< graceful delete -> removed, at most the grace period (default
                                    200) */
    const char *kubelet_version; /**< node's status.nodeInfo.kubeletVersion ("v1.32.0") */
};

/** The cluster over a store. Everything borrowed; hooks may be NULL. */
struct cluster *cluster_new(struct event_base *base, struct store *store, struct rng *rng,
                            const struct mockapi_hooks *hooks, const struct cluster_opts *opts);

/** Cancel every timer and free. NULL is a no-op. */
void cluster_free(struct cluster *cl);

/** Create the namespaces default, kube-system, kube-public, kube-node-lease, their default service
 *  accounts, and the node. 0 or -1. */
int cluster_bootstrap(struct cluster *cl);

/** Create a namespace with its default service account (as the namespace controller would).
 *  0, or -1 when it exists or memory ran out. */
int cluster_create_namespace(struct cluster *cl, const char *name);

/** A graceful pod deletion was accepted (deletionTimestamp set): remove the pod after
 *  min(grace, terminate delay). */
void cluster_pod_deleting(struct cluster *cl, const char *ns, const char *name, int64_t grace_s);

/** A namespace deletion was accepted: delete what it holds, then the namespace. */
void cluster_namespace_deleting(struct cluster *cl, const char *name);

/** Run a pod's next lifecycle step now (one a hook held, or one waiting on its timer).
 *  0, or -1 when the pod is unknown or has no step left. */
int cluster_pod_advance(struct cluster *cl, const char *ns, const char *name);

/** Record an Event about obj (kind Pod, Node, ...): type "Normal"/"Warning". 0 or -1. */
int cluster_record_event(struct cluster *cl, const cJSON *obj, const char *type, const char *reason,
                         const char *message, const char *component, const char *field_path);

/* ---- container output (pods/log) ---- */

/** Append output to a container's log and wake its followers. 0, or -1 for an unknown pod. */
int cluster_log_write(struct cluster *cl, const char *ns, const char *pod, const char *container,
                      const void *data, size_t len);

/** Called for new output (data, len) and once at the end (data NULL) when the pod goes away. */
typedef void (*cluster_log_cb)(void *arg, const char *data, size_t len, int64_t stamp_ns);

/** The log so far, line by line with each line's time: calls cb per line. -1 for an unknown pod or
 *  container. */
int cluster_log_read(struct cluster *cl, const char *ns, const char *pod, const char *container,
                     cluster_log_cb cb, void *arg);

/** Follow a container's output: cb gets each new line. Returns a handle > 0, or 0 on failure. */
uint64_t cluster_log_follow(struct cluster *cl, const char *ns, const char *pod,
                            const char *container, cluster_log_cb cb, void *arg);
void cluster_log_unfollow(struct cluster *cl, uint64_t handle);

#endif
