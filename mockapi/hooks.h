/* hooks.h -- the hook points the harness plugs its fault engine into: accept, request, response
 * bytes (the egress filter, conn_set_egress), watch event, pod lifecycle step. mockapi calls them;
 * it never includes a harness header. Every hook is optional (NULL: the server behaves normally).
 */
#ifndef KF_HOOKS_H
#define KF_HOOKS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "mockapi/stream/session.h"

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

/** An exec or attach that passed the apiserver's and the kubelet's checks, about to be upgraded.
 *  The hook may script what runs (script: fill it and set has_script) and set stream faults. */
struct hook_remotecmd {
    const struct http_request *req;
    const struct route *route;
    const cJSON *pod; /**< as stored (borrowed) */
    const char *namespace;
    const char *name;
    const char *container;
    int attach;
    const char *const *argv; /**< exec's command words */
    size_t argc;
    struct rcs_script *script; /**< out: the program as data (empty on entry) */
    int has_script;            /**< out: 1 to run script instead of the container's own answer */
    struct rcs_faults *faults; /**< out: stream faults (all off on entry) */
};

/** A build stage starts in a simulated container (the runner's attach with /scripts-.../<stage>,
 *  or a legacy-mode exec with the stage script on stdin). The hook may say what it does. */
struct hook_stage {
    const cJSON *pod; /**< as stored (borrowed) */
    const char *namespace;
    const char *name;
    const char *container;
    const char *stage;       /**< "step_script", "get_sources", ... */
    const char *script_path; /**< "/scripts-P-J/step_script"; "" in legacy mode */
    const char *script;      /**< the stage script as saved (NULL when unknown) */
    size_t script_len;
    int legacy;              /**< legacy exec mode: output goes back on the exec's streams */
    int64_t pod_running_ms;  /**< ms since the pod became Running (-1: unknown) */
    struct rcs_script *plan; /**< out: the stage's output (stdout and stderr), waits, exit code or
                                  hang; HANDLED with it filled; PASS: the default stage */
    int64_t delete_log_ms;   /**< out: >= 0 deletes the output log that many ms after the stage
                                  starts (read-logs then exits 100); -1 on entry */
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

    /** An exec/attach is about to run (fields above). PASS, with the out fields set or not. */
    enum hook_verdict (*on_remotecmd)(void *arg, struct hook_remotecmd *rc);

    /** A build stage starts. HANDLED: st->plan says what it does; PASS: the default (the
     *  script's own echo lines, exit 0). */
    enum hook_verdict (*on_stage)(void *arg, struct hook_stage *st);
};

#endif
