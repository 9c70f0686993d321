/* refuse.c -- the `refuse` fault: while the rule is on, the API server's port (or the fake
 * GitLab's, for a rule with "match": {"server": "gitlab"}) is closed, so connect gets an RST
 * ("connection refused"); when it goes off, the port reopens on the same number */
#include <stddef.h>

#include "harness/fault.h"
#include "harness/faults/param.h"
#include "harness/faults/shape.h"
#include "mockapi/server.h"

static void on_enable(struct engine *e, struct rule *r, void *ctx)
{
    (void)ctx;
    shape_listen(e, r, LISTEN_REFUSE, 1);
}

static void on_disable(struct engine *e, struct rule *r, void *ctx)
{
    (void)ctx;
    shape_listen(e, r, LISTEN_REFUSE, 0);
}

const struct fault_type fault_type_refuse = {
    .name = "refuse",
    .layer = FAULT_LAYER_LISTENER,
    .summary =
        "close the API server's port (the fake GitLab's with \"match\": {\"server\": "
        "\"gitlab\"}) while the rule is on (connect gets an RST), reopen it on the same port "
        "when it goes off",
    .client_sees = "The connection to the server 127.0.0.1:<port> was refused - did you specify "
                   "the right host or port? (at once, GET and POST alike; with a cold discovery "
                   "cache after five memcache.go lines)",
    .keys = param_no_keys,
    .parse = param_parse_none,
    .on_enable = on_enable,
    .on_disable = on_disable,
};
