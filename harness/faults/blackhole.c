/* blackhole.c -- the `blackhole` fault: while the rule is on, the API server's port drops new SYNs
 * (a listening socket with a full accept queue that nobody drains, no root needed), so connect
 * times out as against an unreachable address; when it goes off, the port accepts again */
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
    if (s && mockapi_server_listen_mode(s, LISTEN_BLACKHOLE, err, sizeof err) < 0)
        log_warn("rule %s: blackhole: %s", r->name, err);
}

static void on_disable(struct engine *e, struct rule *r, void *ctx)
{
    (void)ctx;
    char err[256];
    struct mockapi_server *s = engine_server(e);
    /* only undo our own mode: a refusal switched on meanwhile stays */
    if (s && mockapi_server_get_listen_mode(s) == LISTEN_BLACKHOLE &&
        mockapi_server_listen_mode(s, LISTEN_NORMAL, err, sizeof err) < 0)
        log_warn("rule %s: reopening the port: %s", r->name, err);
}

const struct fault_type fault_type_blackhole = {
    .name = "blackhole",
    .layer = FAULT_LAYER_LISTENER,
    .summary = "drop new connections' SYNs while the rule is on (connect times out, as against an "
               "unreachable address); accept again when it goes off",
    .client_sees = "Unable to connect to the server: dial tcp 127.0.0.1:<port>: i/o timeout (after "
                   "kubectl's 30 s dial timeout); with --request-timeout=3s, after 3 s: Unable to "
                   "connect to the server: net/http: request canceled while waiting for connection "
                   "(Client.Timeout exceeded while awaiting headers) (the wording varies between "
                   "runs: also context deadline exceeded, with or without the parenthesis)",
    .keys = keys,
    .parse = parse,
    .on_enable = on_enable,
    .on_disable = on_disable,
};
