/* gltest.h -- integration-test helpers for the fake GitLab job API (mockapi/gitlab): one standing
 * on the itest server's event loop, jobs added, read and canceled there through itest_run, and
 * the runner's requests (jobs/request, job update, any other) sent to it with libcurl.
 *
 * A test keeps its struct gltest (a static, so hooks on the server thread can reach gs) and
 * registers a teardown that calls gltest_teardown, which frees the fake GitLab even when an
 * assertion failed. Request helpers report a failed transfer in the response, not as a test
 * failure, so they may run on a thread of the test's own; the others use cmocka assertions and
 * belong on the test thread. */
#ifndef KF_TEST_GLTEST_H
#define KF_TEST_GLTEST_H

#include <stddef.h>
#include <stdint.h>

#include "itest.h"
#include "mockapi/gitlab/gitlab.h"

/** A fake GitLab on an itest server's loop. */
struct gltest {
    struct itest *t;          /**< the itest server whose loop runs it */
    struct gitlab_server *gs; /**< use on the server thread only; NULL once freed */
    char url[128];            /**< "http://127.0.0.1:PORT/" (https with TLS) */
    char token[300];          /**< the runner token jobs/request sends by default */
    char ca_file[64];         /**< the CA PEM written to a temp file; "" with plain HTTP */
    char *trace;              /**< private: the trace gltest_job_get last copied */
};

/** Start an itest server (io: as for itest_start; NULL: plain HTTP, no hooks) and, on its loop, a
 *  fake GitLab made with o exactly as given; fills g (zeroed first). Fails the test when either
 *  does not come up. Returns the itest server, also stored in *state and in g->t. */
struct itest *gltest_start(void **state, struct gltest *g, const struct itest_opts *io,
                           const struct gitlab_server_opts *o);

/** Fill g from gs (borrowed), a fake GitLab made elsewhere on t's loop: its URL, runner token and
 *  CA file. Call it on the server thread; no cmocka assertions. The maker still frees gs (set
 *  g->gs to NULL when it does). */
void gltest_init(struct gltest *g, struct itest *t, struct gitlab_server *gs);

/** Free g->gs now, on the server thread (it ends the requests it holds); NULL is a no-op. */
void gltest_free_server(struct gltest *g);

/** cmocka teardown for a test that started with gltest_start or gltest_init: frees the fake
 *  GitLab (gltest_free_server), removes the CA file and the copied trace, zeroes g, then
 *  itest_teardown(state). */
int gltest_teardown(void **state, struct gltest *g);

/** Add a job from spec (JSON text as in a scenario's gitlab.jobs; NULL: all defaults) on the
 *  server thread; returns its id. Fails the test when gitlab_job_add refuses it. */
int64_t gltest_add_job(struct gltest *g, const char *spec);

/** A job as gitlab_job_get saw it on the server thread. */
struct gltest_job {
    int64_t id;
    char token[300];
    enum gitlab_job_state state;
    char reason[128]; /**< failure_reason, "" for none */
    int has_exit_code, exit_code;
    const char *trace; /**< NUL-terminated; borrowed from g until its next gltest_job_get */
    size_t trace_len;
    uint32_t crc; /**< CRC-32 of the trace */
    int has_checksum;
    uint32_t checksum; /**< what the final update said */
    uint64_t bytesize;
    unsigned patches, range_errors, updates, checksum_failures;
};

/** Read job id into out; fails the test when there is no such job. */
void gltest_job_get(struct gltest *g, int64_t id, struct gltest_job *out);

/** gitlab_job_cancel on the server thread: its 0 or -1. */
int gltest_job_cancel(struct gltest *g, int64_t id);

/* ---- the runner's requests ---- */

struct gltest_req {
    const char *method;
    const char *path;    /**< below /api/v4/ */
    const char *body;    /**< NULL: none */
    size_t body_len;     /**< 0: strlen(body) */
    const char *ct;      /**< NULL: application/json with a body */
    const char *h1, *h2; /**< extra "Name: value" lines; NULL: none */
    long timeout_ms;     /**< 0: ITEST_WAIT_MS */
};

/** Send r to g's /api/v4/ (with g's CA file, when it has one). Release out with
 *  itest_resp_release(). */
void gltest_do(const struct gltest *g, const struct gltest_req *r, struct itest_resp *out);

/** POST jobs/request as the runner does: token tok (NULL: g->token) and the X-GitLab-Last-Update
 *  value last_update it saw ("" for none: answered at once); timeout_ms 0: ITEST_WAIT_MS. */
void gltest_request_job(const struct gltest *g, const char *tok, const char *last_update,
                        long timeout_ms, struct itest_resp *out);

/** PUT jobs/<id> with body (JSON), as the runner updates a job. */
void gltest_update_job(const struct gltest *g, int64_t id, const char *body,
                       struct itest_resp *out);

/** jobs/request with g->token must hand out a job (201 with an id and a token): returns its id,
 *  its token into tok. Fails the test otherwise. */
int64_t gltest_take_job(const struct gltest *g, char *tok, size_t toklen);

#endif
