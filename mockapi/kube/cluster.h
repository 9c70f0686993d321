/* cluster.h -- the one-node cluster: schedules and starts pods, finishes graceful deletion, records
 * kubelet-like events, keeps container output for pods/log, bootstraps namespaces and the node;
 * primitives for driving a pod by hand (scheduling failures, container states, disruption) */
#ifndef KF_CLUSTER_H
#define KF_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mockapi/hooks.h"

struct event_base;
struct rng;
struct store;
struct cluster;

#define CLUSTER_NODE_NAME "kubefault-node"
/** A pod's terminationGracePeriodSeconds is held to this (ten years): any larger number, however
 *  large the client sent, is a wait that never ends in a test, and stays a defined time_t. */
#define CLUSTER_MAX_GRACE_S (10LL * 366 * 86400)
#define CLUSTER_MAX_LOG_BYTES                                                                      \
    (1024 * 1024) /**< output kept per container; older bytes are dropped */
#define CLUSTER_MAX_EVENTS                                                                         \
    10000 /**< Events kept; past it the oldest are deleted, as kube-apiserver's --event-ttl (1 h)  \
             expires them, so a long run's memory stays bounded */

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

/** The event loop the cluster runs on. */
struct event_base *cluster_event_base(const struct cluster *cl);

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

/** Record an Event about obj (kind Pod, Node, ...): type "Normal"/"Warning". Shaped as client-go's
 *  core/v1 recorder writes it (kubelet: source {component, host}, count, first/lastTimestamp);
 *  component "default-scheduler" gets the events.k8s.io shape kube-scheduler writes instead
 *  (action, reportingComponent/Instance, eventTime; no source, count or timestamps). 0 or -1. */
int cluster_record_event(struct cluster *cl, const cJSON *obj, const char *type, const char *reason,
                         const char *message, const char *component, const char *field_path);

/* ---- driving pods by hand (the harness's pod scripts, the control API) ----
 *
 * These act as the scheduler and the kubelet would: each change is kept in the cluster's model of
 * the pod and the pod's status is rewritten from it (phase, conditions, container statuses by the
 * kubelet's rules), once for every change made in the same turn of the loop. Call them from the
 * loop (a timer), never from inside a store listener: some record events at once. */

/** A second on_pod_step hook, consulted after the server's (mockapi_hooks.on_pod_step) with the
 *  same contract: HOLD from either holds the step, each may change step->delay_ms. The pod-script
 *  layer plugs in here (the server's hooks take the engine as their argument). fn NULL removes it.
 *  cl_ref (borrowed, may be NULL) is where the hook's owner keeps cl: cluster_free() writes NULL
 *  there, so an owner that outlives the cluster knows it is gone. */
void cluster_set_step_hook(struct cluster *cl,
                           enum hook_verdict (*fn)(void *arg, struct hook_pod_step *step),
                           void *arg, struct cluster **cl_ref);

/** Add a node: os "linux" or "windows" (its kubernetes.io/os label and nodeInfo). 0, or -1 when a
 *  node of that name exists or memory ran out. */
int cluster_add_node(struct cluster *cl, const char *name, const char *os);

/** The node the pod is bound to at its schedule step (default CLUSTER_NODE_NAME); it must exist
 *  (cluster_add_node). Only remembers it: safe inside a hook. 0, or -1 for an unknown pod. */
int cluster_pod_set_node(struct cluster *cl, const char *ns, const char *name, const char *node);

/** One failed scheduling attempt, as kube-scheduler records it: condition PodScheduled=False,
 *  reason Unschedulable, message (unchanged when it already says so), and a FailedScheduling
 * Warning event (the message cut to 1024 bytes with " ..."), aggregated as client-go's
 * events.k8s.io broadcaster does: a repeat about the same pod resourceVersion becomes series {count
 * 2} at once, later counts are written every 30 minutes or when the series ends (6 minutes after
 * its last). 0, or -1 for an unknown or already scheduled pod. */
int cluster_pod_unschedulable(struct cluster *cl, const char *ns, const char *name,
                              const char *message);

enum cluster_cstate { CLUSTER_WAITING, CLUSTER_RUNNING, CLUSTER_TERMINATED };

/** A container's state as the kubelet reports it. */
struct cluster_container {
    enum cluster_cstate state;
    const char *reason;  /**< waiting: NULL for the default (ContainerCreating, or PodInitializing
                              when the pod has init containers; either of them without a message
                              means that default too); terminated: NULL for Completed (exit 0) or
                              Error */
    const char *message; /**< NULL: none, or the kubelet's own for ImagePullBackOff, ErrImagePull,
                              InvalidImageName and CrashLoopBackOff */
    int ready;           /**< running: readiness passed */
    int exit_code;       /**< terminated */
};

/** Set one container's or init container's state. Entering a waiting reason records the kubelet's
 *  events for it (ErrImagePull: Failed "Failed to pull image ...", Failed "Error: ErrImagePull";
 *  ImagePullBackOff: BackOff "Back-off pulling image ...", Failed "Error: ImagePullBackOff";
 *  CrashLoopBackOff: BackOff "Back-off restarting failed container ..."; Create*Error,
 *  RunContainerError: Failed "Error: <message>"); starting records Pulled, Created, Started.
 *  Leaving the default waiting state means the pod sandbox exists (PodReadyToStartContainers,
 *  podIP). 0, or -1 for an unknown pod or container or a pod not bound to a node yet. */
int cluster_pod_set_container(struct cluster *cl, const char *ns, const char *name,
                              const char *container, const struct cluster_container *st);

/** Kill every container of the pod: running ones end with exit_code and reason (NULL: "Error"),
 *  waiting ones as the kubelet reports containers it never found (137, ContainerStatusUnknown).
 *  0 or -1. */
int cluster_pod_terminate(struct cluster *cl, const char *ns, const char *name, int exit_code,
                          const char *reason);

/** Set a pod condition the kubelet does not own (DisruptionTarget, ...): status "True", "False"
 *  or "Unknown"; reason and message may be NULL. 0 or -1. */
int cluster_pod_set_condition(struct cluster *cl, const char *ns, const char *name,
                              const char *type, const char *status, const char *reason,
                              const char *message);

/** Put the pod in a terminal phase ("Failed", "Succeeded") with status.reason and status.message
 *  (either may be NULL); the kubelet's rules never move it out again. 0 or -1. */
int cluster_pod_set_phase(struct cluster *cl, const char *ns, const char *name, const char *phase,
                          const char *reason, const char *message);

/** The pod is being deleted: metadata.deletionTimestamp (now + its grace period) and
 *  deletionGracePeriodSeconds. finish: also finish the graceful deletion as after a DELETE
 *  (removed after min(grace, terminate delay)); 0: it stays until cluster_pod_remove(). 0 or -1. */
int cluster_pod_mark_deleting(struct cluster *cl, const char *ns, const char *name, int finish);

/** Model changes are written to the store once the loop's turn ends (one MODIFIED for changes
 *  made together); write this pod's pending changes now instead. 0, or -1 for an unknown pod. */
int cluster_pod_flush(struct cluster *cl, const char *ns, const char *name);

/** Remove the pod now: watchers get DELETED, GETs answer 404. 0, or -1 for an unknown pod. */
int cluster_pod_remove(struct cluster *cl, const char *ns, const char *name);

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
