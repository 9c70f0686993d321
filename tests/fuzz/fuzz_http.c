/* fuzz_http.c -- libFuzzer target: raw client bytes into the fake kube-apiserver through the real
 * request path (connection, HTTP parser, router, REST handlers, store, watches, pods/log, exec and
 * attach upgrades to SPDY and WebSocket). A fresh plain-HTTP server, store and cluster per input,
 * on a socketpair; pods are scheduled and started with zero delays, so an input can create a pod,
 * pause (FZ_PAUSE, fuzzsrv.h) and then exec into it and speak a stream protocol. */
#include <stdint.h>

#include "fuzzsrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_quiet();
    fz_kube_converse("fuzz_http", data, size, 1);
    return 0;
}
