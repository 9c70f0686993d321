/* informer.h -- the reference job client's pod informer (runner-k8s-executor.md §2.1 step 2,
 * §3.2): a namespace-scoped list+watch of the build labels through client-go's reflector steps
 * (watch-list first, LIST+WATCH when the server refuses it), synced within retry_backoff_max,
 * turning events about the build pod into the errors the runner's pod watcher reports */
#ifndef KF_INFORMER_H
#define KF_INFORMER_H

#include <stddef.h>
#include <stdint.h>

struct kclient;
struct rng;

#define INFORMER_ERR_MAX 2048    /**< bytes of an error text */
#define INFORMER_RETRY_MS 1000   /**< delay before a failed watch is opened again */
#define INFORMER_MIN_WATCH_S 300 /**< client-go's minWatchTimeout: timeoutSeconds in [300, 600) */

struct informer;

/** Count of requests the informer made (for the caller's tally). */
typedef void (*informer_on_request)(void *arg);

/**
 * Start watching pods in ns matching selector ("k=v,k2=v2", borrowed for the call) through k
 * (borrowed; must outlive the informer). rng (borrowed) draws the watches' timeoutSeconds.
 * Blocks until the cache synced or sync_ms passed. Returns the informer, or NULL with the text in
 * err: "not synced: *v1.Pod" (nothing synced in time) or why it could not start.
 */
struct informer *informer_start(struct kclient *k, struct rng *rng, const char *ns,
                                const char *selector, int64_t sync_ms, informer_on_request on_req,
                                void *arg, char *err, size_t errlen);

/** The pod the runner cares about (UpdatePodName); "" none. */
void informer_set_pod(struct informer *in, const char *name);

/** Serve the watch for up to ms (re-watching when it ended). When deliver is set and an event
 *  showed the pod in trouble, 1 is returned with the runner's text in err:
 *    pod "ns/name" is disrupted: reason "R", message "M"
 *    pod "ns/name" is being deleted
 *    pod "ns/name" failed: <the terminal container error of §3.1>
 *    pod "ns/name" is deleted
 *  When deliver is 0 such errors are dropped (nobody reads the channel, §3.2). 0 otherwise. */
int informer_poll(struct informer *in, int ms, int deliver, char *err, size_t errlen);

/** Stop: close the watch and free. NULL is a no-op. */
void informer_stop(struct informer *in);

#endif
