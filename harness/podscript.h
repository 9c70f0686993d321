/* podscript.h -- the pod-script layer: makes a scenario's "pods" scripts happen on the one-node
 * cluster (node choice, scheduling delay or Unschedulable, container and init-container states,
 * events at times, disruption in steps) through the cluster's step hook and its primitives.
 *
 * The engine creates it, passes it every pod change its store listener sees, and starts it with
 * the server. Times in a script count from the pod's creation unless the format says otherwise
 * (scenarios/README.md, "pods"). The functions after the life cycle are the interpretation of a
 * script, without a server, for the unit tests. */
#ifndef KF_PODSCRIPT_H
#define KF_PODSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/store.h"

struct event_base;
struct mockapi_server;
struct rng;
struct scenario;
struct podscript;

#define PODSCRIPT_WINDOWS_NODE "kubefault-node-windows" /**< a node with only "os": "windows" */
#define PODSCRIPT_RETRY_MS (5 * 60 * 1000) /**< podMaxInUnschedulablePodsDuration (scheduler) */
#define PODSCRIPT_FLUSH_MS (30 * 1000)     /**< flushUnschedulablePodsLeftover's period */
#define PODSCRIPT_MAX_ACTIONS 4096         /**< pending actions per pod; more are dropped, logged */

/** The layer for scenario s (borrowed; must outlive it), drawing from rng (borrowed: the
 *  scenario's seeded generator). NULL when memory ran out. Caller frees with podscript_free(). */
struct podscript *podscript_new(const struct scenario *s, struct event_base *base, struct rng *rng);

/** Cancel every timer and free. NULL is a no-op. */
void podscript_free(struct podscript *ps);

/** Detach from the cluster and cancel every scripted step; call before the server is freed
 *  (engine_stop does). NULL is a no-op. */
void podscript_stop(struct podscript *ps);

/** Plug into the server (borrowed; must outlive the layer): add the nodes the scripts name, and
 *  take the cluster's step hook. Its clock starts now. 0, or -1 with a message in err. */
int podscript_start(struct podscript *ps, struct mockapi_server *srv, char *err, size_t errlen);

/** A pod changed in the store (old and obj borrowed, as a store listener gets them). Never writes
 *  to the store: what it starts runs on timers. */
void podscript_on_pod_change(struct podscript *ps, enum store_event_type type, const cJSON *old,
                             const cJSON *obj);

/** A build stage started in pod ns/name (the engine's on_stage hook): a disruption whose "on" is
 *  "stage:<pattern>" matching stage starts now (once per pod). NULL ps is a no-op. */
void podscript_on_stage(struct podscript *ps, const char *ns, const char *name, const char *stage);

/* ---- the interpretation ---- */

/** The index of the first script of s whose match (name, namespace) and when hold for pod, or -1.
 */
int podscript_find(const struct scenario *s, const cJSON *pod);

/** What placeholders stand for; NULL members expand to "". */
struct podscript_vars {
    const char *name, *namespace_, *uid, *node, *container;
};

/** Expand {name}, {namespace}, {uid}, {node} and {container} in tmpl into buf (any other {...}
 *  stays as written); cut at len - 1 bytes. Returns buf. */
char *podscript_expand(const char *tmpl, const struct podscript_vars *v, char *buf, size_t len);

/** The scheduling delay a script's "schedule.delay" asks for, in ms (a duration, or a draw from
 *  its fixed / uniform / lognormal / empirical distribution, capped by "max": harness/dist.h), or
 *  -1 when it has none (or, the script being validated, when memory ran out reading it). */
int64_t podscript_schedule_delay(const cJSON *script, struct rng *rng);

/** When kube-scheduler tries an unschedulable pod again after a failure at last_ms (both ms since
 *  the scheduler started): the first flush tick (every PODSCRIPT_FLUSH_MS) more than
 *  PODSCRIPT_RETRY_MS later. */
int64_t podscript_retry_ms(int64_t last_ms);

/** The script for a container ("containers" or "initContainers" map: the exact name, else the
 *  first pattern that matches), or NULL. Borrowed. */
const cJSON *podscript_container_script(const cJSON *script, const char *map, const char *name);

enum podscript_act {
    PODSCRIPT_WAIT,  /**< waiting with the script's reason and message */
    PODSCRIPT_RUN,   /**< running (ready unless the action says not) */
    PODSCRIPT_READY, /**< running and ready */
    PODSCRIPT_EXIT,  /**< terminated with exit_code */
};

/** One container change at a time (ms since the pod's creation). */
struct podscript_action {
    int64_t at_ms;
    enum podscript_act act;
    size_t container;   /**< init containers first, then containers, in spec order */
    int init;           /**< an init container */
    int ready;          /**< PODSCRIPT_RUN: ready at once */
    int exit_code;      /**< PODSCRIPT_EXIT */
    const cJSON *entry; /**< the container's script (borrowed), NULL for none */
};

/** The containers' timeline of pod under script, once the kubelet starts it at start_ms (ms since
 *  creation): init containers one after the other (waiting while the script says, then running
 *  for exitAfter, or completing at once, with exitCode; a failure stops there), then every
 *  container together (waiting, running, ready after readyAfter, exiting after exitAfter). A
 *  waiting "for" counts from creation, never before the container's turn; without "for" the
 *  container waits for good. Fills at most cap actions, in time order (ties in the order above),
 *  and returns how many there are (more than cap when out was too small). */
size_t podscript_plan(const cJSON *script, const cJSON *pod, int64_t start_ms,
                      struct podscript_action *out, size_t cap);

#endif
