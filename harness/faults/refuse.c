/* refuse.c -- the `refuse` fault: while the rule is on, the API server's port is closed, so connect
 * gets an RST ("connection refused"); when it goes off, the port reopens on the same number */
#include <stddef.h>

#include "harness/engine.h"
#include "harness/fault.h"
#include "harness/faults/param.h"
#include "harness/scenario.h"
#include "mockapi/base/log.h"
#include "mockapi/server.h"

static const char *const keys[] = {NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    *ctx = NULL;
    return param_check_keys(spec, path, keys, d);
}

static void on_enable(struct engine *e, struct rule *r, void *ctx)
{
    (void)ctx;
    char err[256];
    struct mockapi_server *s = engine_server(e);
    if (s && mockapi_server_listen_mode(s, LISTEN_REFUSE, err, sizeof err) < 0)
        log_warn("rule %s: refuse: %s", r->name, err);
}

static void on_disable(struct engine *e, struct rule *r, void *ctx)
{
    (void)ctx;
    char err[256];
    struct mockapi_server *s = engine_server(e);
    /* only undo our own mode: a black hole switched on meanwhile stays */
    if (s && mockapi_server_get_listen_mode(s) == LISTEN_REFUSE &&
        mockapi_server_listen_mode(s, LISTEN_NORMAL, err, sizeof err) < 0)
        log_warn("rule %s: reopening the port: %s", r->name, err);
}

const struct fault_type fault_type_refuse = {
    .name = "refuse",
    .layer = FAULT_LAYER_LISTENER,
    .summary = "close the API server's port while the rule is on (connect gets an RST), reopen it "
               "on the same port when it goes off",
    .client_sees = "The connection to the server 127.0.0.1:<port> was refused - did you specify "
                   "the right host or port? (at once, GET and POST alike; with a cold discovery "
                   "cache after five memcache.go lines)",
    .keys = keys,
    .parse = parse,
    .on_enable = on_enable,
    .on_disable = on_disable,
};
