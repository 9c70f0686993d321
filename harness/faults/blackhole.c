/* blackhole.c -- the `blackhole` fault: while the rule is on, the API server's port (or the fake
 * GitLab's, for a rule with "match": {"server": "gitlab"}) drops new SYNs (a listening socket with
 * a full accept queue that nobody drains, no root needed), so connect times out as against an
 * unreachable address; when it goes off, the port accepts again */
#include <stddef.h>

#include "harness/fault.h"
#include "harness/faults/param.h"
#include "harness/faults/shape.h"
#include "mockapi/server.h"

static void on_enable(struct engine *e, struct rule *r, void *ctx)
{
    (void)ctx;
    shape_listen(e, r, LISTEN_BLACKHOLE, 1);
}

static void on_disable(struct engine *e, struct rule *r, void *ctx)
{
    (void)ctx;
    shape_listen(e, r, LISTEN_BLACKHOLE, 0);
}

const struct fault_type fault_type_blackhole = {
    .name = "blackhole",
    .layer = FAULT_LAYER_LISTENER,
    .summary = "drop new connections' SYNs on the API server's port (the fake GitLab's with "
               "\"match\": {\"server\": \"gitlab\"}) while the rule is on (connect times out, as "
               "against an unreachable address); accept again when it goes off",
    .client_sees = "Unable to connect to the server: dial tcp 127.0.0.1:<port>: i/o timeout (after "
                   "kubectl's 30 s dial timeout); with --request-timeout=3s, after 3 s: Unable to "
                   "connect to the server: net/http: request canceled while waiting for connection "
                   "(Client.Timeout exceeded while awaiting headers) (the wording varies between "
                   "runs: also context deadline exceeded, with or without the parenthesis)",
    .keys = param_no_keys,
    .parse = param_parse_none,
    .on_enable = on_enable,
    .on_disable = on_disable,
};
