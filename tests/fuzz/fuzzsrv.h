/* fuzzsrv.h -- what the fuzz targets that go through a real server share: the input cut into
 * chunks at FZ_PAUSE, each chunk written into one end of a socketpair whose other end the server
 * serves, the event loop turned until nothing moves (answers read and dropped), then the client's
 * close; quiet logs */
#ifndef KF_FUZZSRV_H
#define KF_FUZZSRV_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/** Where an input pauses: the loop settles (pods get scheduled, answers go out) before the bytes
 *  after it are written. Lets one input create a pod and then exec into it, or upgrade a
 *  connection and then speak SPDY or WebSocket on it. */
#define FZ_PAUSE "\n--pause--\n"
#define FZ_PAUSE_LEN (sizeof(FZ_PAUSE) - 1)

#define FZ_MAX_CHUNKS 16  /**< chunks of one input; the rest goes with the last */
#define FZ_IDLE_TURNS 4   /**< loop turns without any byte out that count as settled */
#define FZ_MAX_TURNS 2000 /**< loop turns per chunk at most (a bound, never reached normally) */

/** Log errors only, once per process (the targets' inputs are mostly garbage). With KF_FUZZ_ECHO=1
 *  in the environment: debug logs, and every byte the server answers copied to stderr (for checking
 *  what a seed does). */
void fz_quiet(void);

/** Hands the server's end of the socketpair over (mockapi_server_serve_fd and the like): takes
 *  ownership of fd. 0 or -1. */
typedef int (*fz_serve_fn)(void *server, int fd);

/** Connect a client to the server through a socketpair (serve gets one end), write data chunk by
 *  chunk (cut at FZ_PAUSE when pauses is 1; in one piece when 0) with the loop settling after
 *  each, close the client and settle once more. Every byte the server writes is read and dropped.
 * Deterministic: only timers that are due at once (zero delays) fire within the turns it runs. -1
 * when the socketpair or the hand-over failed (nothing ran). */
int fz_converse(struct event_base *base, fz_serve_fn serve, void *server, const uint8_t *data,
                size_t len, int pauses);

/** fz_converse() with a fresh fake kube-apiserver (plain HTTP, seed 1, pods scheduled, started and
 *  removed with zero delays), freed afterwards. target names the fuzz target in the message when
 *  the server or the socketpair cannot be had, which aborts. */
void fz_kube_converse(const char *target, const uint8_t *data, size_t len, int pauses);

#endif
