/* control.h -- the control API: a token-protected JSON admin server on its own loopback port (in
 * the spirit of toxiproxy's and WireMock's admin APIs) to read the status, rules and journal of a
 * running scenario, switch rules, set the named state, reset, drive pods by hand, and read, queue
 * and cancel the fake GitLab's jobs. The endpoints are documented in harness/CONTROL.md. */
#ifndef KF_CONTROL_H
#define KF_CONTROL_H

#include <stddef.h>

struct engine;
struct event_base;
struct control;

#define CONTROL_MAX_BODY_BYTES (64 * 1024) /**< a request body larger than this: 413 */
#define CONTROL_MAX_PATH_BYTES 1024        /**< a request path longer than this: 414 */
#define CONTROL_MAX_CONNS 64               /**< connections open at once; more are closed at once */
#define CONTROL_JOURNAL_DEFAULT 1000       /**< journal entries per answer when no limit is given */
#define CONTROL_JOURNAL_MAX 100000         /**< the largest limit accepted */
#define CONTROL_TOKEN_MAX 256              /**< bytes in a token given by the caller */

/** Listen for the control API on bind_addr:port (bind_addr NULL: "127.0.0.1"; port 0: a free
 *  port) on base, the loop the engine's server runs on. Requests need `Authorization: Bearer
 *  <token>`; token NULL makes a random one for this run (read it back with control_token()).
 *  e is borrowed and must outlive the control server; it may be started (engine_start) before
 *  or after this call (until then the status reports no listener and pod actions answer 503).
 *  NULL with a message in err when the address is bad or in use. Caller frees with
 *  control_free(). */
struct control *control_new(struct engine *e, struct event_base *base, const char *bind_addr,
                            int port, const char *token, char *err, size_t errlen);

/** "http://127.0.0.1:PORT" (borrowed). */
const char *control_url(const struct control *c);

/** The port listened on (the one chosen when 0 was asked for). */
int control_port(const struct control *c);

/** The bearer token requests must carry (borrowed). */
const char *control_token(const struct control *c);

/** Stop listening, close every control connection, free. Call it from the loop's thread but not
 *  from inside a control request, and before engine_free(). NULL is a no-op. */
void control_free(struct control *c);

#endif
