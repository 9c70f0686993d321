/* fuzz_http.c -- libFuzzer target: raw client bytes into the fake kube-apiserver through the real
 * request path (connection, HTTP parser, router, REST handlers, store, watches, pods/log, exec and
 * attach upgrades to SPDY and WebSocket). A fresh plain-HTTP server, store and cluster per input,
 * on a socketpair; pods are scheduled and started with zero delays, so an input can create a pod,
 * pause (FZ_PAUSE, fuzzsrv.h) and then exec into it and speak a stream protocol. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "fuzzsrv.h"
#include "mockapi/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int serve(void *server, int fd)
{
    return mockapi_server_serve_fd(server, fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    fz_quiet();
    struct event_base *base = event_base_new();
    struct mockapi_server_opts o = {
        .bind_addr = "127.0.0.1",
        .plain_http = 1,
        .seed = 1,
        .cluster = {.schedule_delay_ms = 0, .start_delay_ms = 0, .terminate_delay_ms = 0},
    };
    struct mockapi_server *s = base ? mockapi_server_new(base, &o, err, sizeof err) : NULL;
    if (!s) {
        fprintf(stderr, "fuzz_http: cannot start the server: %s\n", base ? err : "no event base");
        abort();
    }
    if (fz_converse(base, serve, s, data, size, 1) < 0) {
        fprintf(stderr, "fuzz_http: socketpair failed\n");
        abort();
    }
    mockapi_server_free(s);
    event_base_free(base);
    return 0;
}
