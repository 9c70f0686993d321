/* gitlab_cancel.c -- the `gitlab-cancel` fault: cancel a job on the fake GitLab, as a user pressing
 * "Cancel" does, then serve the request normally. On the job's trace PATCH or update the answer
 * then already carries Job-Status: canceling; the runner stops the job and its final update makes
 * it canceled. "job" names the job; without it, the job the request's path names. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness/diag.h"
#include "harness/engine.h"
#include "harness/fault.h"
#include "harness/faults/answer.h"
#include "harness/faults/param.h"
#include "mockapi/gitlab/gitlab.h"
#include "mockapi/gitlab/proto.h"

#define CANCEL_MAX_JOB 1000000000L

static const char *const keys[] = {"job", NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    long job = 0;
    if (param_check_keys(spec, path, keys, d) < 0 ||
        param_int(spec, path, "job", 0, 1, CANCEL_MAX_JOB, &job, d) < 0)
        return -1;
    int64_t *x = malloc(sizeof *x);
    if (!x) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    *x = job;
    *ctx = x;
    return 0;
}

static enum hook_verdict on_request(struct fault_request *fr)
{
    int64_t id = *(const int64_t *)fr->ctx;
    struct gitlab_server *gl = engine_gitlab(fr->engine);
    if (!id && fr->gitlab)
        id = fr->gitlab->job_id;
    if (!id)
        snprintf(fr->note, fr->note_len, "no job to cancel (give \"job\")");
    else if (!gl || gitlab_job_cancel(gl, id) < 0)
        snprintf(fr->note, fr->note_len, "job %" PRId64 " not cancelable", id);
    else
        snprintf(fr->note, fr->note_len, "cancel job %" PRId64, id);
    if (!fr->gitlab)
        return HOOK_PASS;
    answer_serve_now(fr);
    return HOOK_HANDLED;
}

const struct fault_type fault_type_gitlab_cancel = {
    .name = "gitlab-cancel",
    .layer = FAULT_LAYER_HTTP,
    .gitlab_only = 1,
    .summary = "GitLab: cancel job {job} (default: the one the request names) as a user does, then "
               "serve the request: its trace PATCH answers Job-Status: canceling",
    .client_sees = "the runner stops the job mid-run (in the pod: the stage cancellation script, "
                   "kill -TERM; the executor returns build aborted) and sends its final update; "
                   "the job ends canceled",
    .keys = keys,
    .parse = parse,
    .free = NULL,
    .on_request = on_request,
};
