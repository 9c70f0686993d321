/* containers.h -- what runs inside the simulated containers: the answer to every exec and attach
 * (a scenario's script, the GitLab Runner protocol, or the built-in commands), each pod's files
 * (the runner's emptyDir scripts and output log), build stages, and the end of every stream when
 * its container or pod goes.
 *
 * The runner's attach strategy (shared/docs/reference/runner-k8s-executor.md §2.2-2.5, §4):
 * - exec `sh -c <detect shell>` with a save script on stdin: the files it writes are kept;
 * - attach with one stdin line naming /scripts-P-J/<stage>: the stage runs (hooks.on_stage says
 *   how; by default the script's own echo lines and exit 0); its output, framed by the JSON status
 *   markers the bash trap prints, is appended to the output log the line tees into, and to the
 *   container's log (pods/log);
 * - exec `gitlab-runner-helper read-logs --path P --offset N`: "<offset> <line>" records of P from
 *   N, following it; exit 100 when P is deleted;
 * - exec of the cancellation script: running stages in that container end (exit 1, as the
 *   script's TERM trap makes them).
 * Legacy exec mode: a detect-shell exec (or gitlab-runner-build) whose stdin is a whole stage
 * script runs that stage with its output on the exec's own streams and its exit code in the
 * Status. */
#ifndef KF_CONTAINERS_H
#define KF_CONTAINERS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mockapi/hooks.h"
#include "mockapi/stream/remotecmd.h"

struct cluster;
struct event_base;
struct store;
struct ctr_runtime;

#define CTR_MAX_FILE_BYTES                                                                         \
    (64u * 1024u * 1024u) /**< one pod file (the output log); more is                              \
                               dropped with a warning */

/** The runtime over cluster and store (borrowed); hooks may be NULL. NULL when memory ran out. */
struct ctr_runtime *ctr_runtime_new(struct cluster *cl, struct store *store,
                                    const struct mockapi_hooks *hooks);

/** Free. Sessions still open keep their pod's state until they end. NULL is a no-op. */
void ctr_runtime_free(struct ctr_runtime *rt);

/** Exec and attach sessions running now (for tests). */
size_t ctr_runtime_sessions(const struct ctr_runtime *rt);

/** Output an exec or attach client may leave unread before its session is ended, for sessions
 *  started from now on (0: REMOTECMD_MAX_PENDING_BYTES, 8 MiB). Tests lower it. */
void ctr_runtime_set_max_pending(struct ctr_runtime *rt, size_t bytes);

/** Decide what an exec/attach into container of pod runs (after the apiserver's checks) and start
 *  it on c: consults hooks.on_remotecmd, then the runner protocol, then the built-in commands, and
 *  upgrades over WebSocket or SPDY (websocket: 1 for WebSocket). opts is borrowed. */
void ctr_remotecmd(struct ctr_runtime *rt, struct conn *c, struct http_request *req,
                   const struct route *route, const cJSON *pod, const char *container,
                   const struct rcs_opts *opts, int websocket);

/* ---- a pod's files (tests, and the output-log-deleted fault) ---- */

/** A copy of a file of the pod (ns/name) in *data (caller frees) and its length. 0, or -1 when
 *  there is no such pod or file. */
int ctr_file_read(struct ctr_runtime *rt, const char *ns, const char *name, const char *path,
                  char **data, size_t *len);

/** Delete a file: read-logs streams of it end with exit code 100. 0, or -1 when there is none. */
int ctr_file_delete(struct ctr_runtime *rt, const char *ns, const char *name, const char *path);

/** The pod's files, in the order they were made: cb(arg, path, bytes). 0, or -1 for an unknown
 *  pod. */
int ctr_file_list(struct ctr_runtime *rt, const char *ns, const char *name,
                  void (*cb)(void *arg, const char *path, size_t len), void *arg);

/** The stages started in the pod so far, oldest first: cb(arg, container, stage, script path,
 *  exit code or -1 while it runs or hangs). 0, or -1 for an unknown pod. */
int ctr_stage_list(struct ctr_runtime *rt, const char *ns, const char *name,
                   void (*cb)(void *arg, const char *container, const char *stage,
                              const char *script, int exit_code),
                   void *arg);

#endif
