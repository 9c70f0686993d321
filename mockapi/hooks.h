/* hooks.h -- the hook points the harness plugs its fault engine into: accept, request, response
 * bytes (the egress filter, conn_set_egress), watch event, pod lifecycle step. mockapi calls them;
 * it never includes a harness header. Every hook is optional (NULL: the server behaves normally).
 */
#ifndef KF_HOOKS_H
#define KF_HOOKS_H

#include <stdint.h>

#include <cjson/cJSON.h>

struct conn;
struct http_request;
struct route;
struct watch;

enum hook_verdict {
    HOOK_PASS = 0, /**< carry on normally */
    HOOK_HANDLED,  /**< the hook took over (answered, reset, closed, or keeps it hanging) */
    HOOK_DROP,     /**< watch event: do not send it */
    HOOK_HOLD, /**< pod step: do not run it now; the harness calls cluster_pod_advance() later */
};

/** The pod lifecycle steps the one-node cluster runs. */
enum hook_pod_step_kind {
    POD_STEP_SCHEDULE,  /**< bind to the node: nodeName, PodScheduled=True, Scheduled event */
    POD_STEP_START,     /**< init containers Completed, containers running, Ready, phase Running */
    POD_STEP_TERMINATE, /**< graceful deletion finished: the pod is removed (DELETED) */
};

struct hook_pod_step {
    enum hook_pod_step_kind step;
    const char *namespace;
    const char *name;
    const cJSON *pod; /**< the pod as stored now (borrowed) */
    int64_t delay_ms; /**< when the step will run, from now; a hook may change it */
};

struct mockapi_hooks {
    void *arg; /**< passed to every hook */

    /** A connection was accepted (TLS not yet negotiated). HANDLED: the hook owns its fate
     *  (conn_reset, conn_abort, or leaving it silent). A hook may also install an egress filter. */
    enum hook_verdict (*on_accept)(void *arg, struct conn *c);

    /** A complete request, after authentication and routing (route->type tells what it is).
     *  HANDLED: the hook answered it or will (conn_respond, conn_reset, ...). */
    enum hook_verdict (*on_request)(void *arg, struct conn *c, struct http_request *req,
                                    const struct route *route);

    /** A watch event about to be written ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR").
     *  DROP: skip it. The hook may write more itself (watch_send_raw) before passing. */
    enum hook_verdict (*on_watch_event)(void *arg, struct watch *w, const char *type,
                                        const cJSON *object);

    /** The answer to a request is complete (complete = 1) or the connection died first (0): its
     *  status code (0 when written by hand) and the bytes written for it. For the journal. */
    void (*on_response)(void *arg, struct conn *c, const struct http_request *req, int code,
                        uint64_t bytes, int complete);

    /** A pod lifecycle step is being scheduled. HOLD: not now (cluster_pod_advance runs it later);
     *  PASS: it runs after step->delay_ms (which the hook may change). */
    enum hook_verdict (*on_pod_step)(void *arg, struct hook_pod_step *step);
};

#endif
