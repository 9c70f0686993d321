/* fuzz_gitlab.c -- libFuzzer target: raw client bytes into the fake GitLab job API through the
 * real request path (connection, HTTP parser, glproto routes, jobs/request and runners/verify
 * bodies, trace PATCHes with Content-Range, job update PUT bodies with checksums).
 *
 * A fresh plain-HTTP server per input (fuzzsrv.h) with runner token "glrt-fuzz" and three jobs:
 * 1 and 2 pending (tokens "glcbt-fz1", "glcbt-fz2"), 3 canceled before it ran; traces capped at
 * 4 KiB so the cap is reachable; jobs/request is never held (no long poll). FZ_PAUSE works as in
 * fuzz_http. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "fuzzsrv.h"
#include "mockapi/gitlab/gitlab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_GITLAB_MAX_TRACE 4096

static const char *const jobs[] = {
    "{\"id\":1,\"token\":\"glcbt-fz1\",\"name\":\"build\",\"script\":[\"echo hi\"]}",
    "{\"id\":2,\"token\":\"glcbt-fz2\",\"image\":\"alpine:3.20\",\"variables\":{\"A\":\"b\"}}",
    "{\"id\":3,\"token\":\"glcbt-fz3\"}",
};

static int serve(void *server, int fd)
{
    return gitlab_server_serve_fd(server, fd);
}

static void add_jobs(struct gitlab_server *s)
{
    char err[256];
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        cJSON *spec = cJSON_Parse(jobs[i]);
        if (!spec || gitlab_job_add(s, spec, err, sizeof err) < 0) {
            fprintf(stderr, "fuzz_gitlab: job %zu: %s\n", i + 1, spec ? err : "bad JSON");
            abort();
        }
        cJSON_Delete(spec);
    }
    gitlab_job_cancel(s, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    fz_quiet();
    struct event_base *base = event_base_new();
    struct gitlab_server_opts o = {
        .bind_addr = "127.0.0.1",
        .plain_http = 1,
        .runner_token = "glrt-fuzz",
        .long_poll_ms = -1,
        .max_trace_bytes = FZ_GITLAB_MAX_TRACE,
        .seed = 1,
    };
    struct gitlab_server *s = base ? gitlab_server_new(base, &o, err, sizeof err) : NULL;
    if (!s) {
        fprintf(stderr, "fuzz_gitlab: cannot start the server: %s\n", base ? err : "no event base");
        abort();
    }
    add_jobs(s);
    if (fz_converse(base, serve, s, data, size, 1) < 0) {
        fprintf(stderr, "fuzz_gitlab: socketpair failed\n");
        abort();
    }
    gitlab_server_free(s);
    event_base_free(base);
    return 0;
}
