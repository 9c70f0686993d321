/* gitlab_no_job.c -- the `gitlab-no-job` fault: answer POST /api/v4/jobs/request with 204 No
 * Content at once, whatever jobs are queued (catalogue 16: "jobs/request gives 204"). Jobs stay
 * pending for as long as the rule fires. */
#include <stdio.h>

#include "harness/fault.h"
#include "harness/faults/param.h"
#include "mockapi/http/conn.h"
#include "mockapi/http/http.h"

static enum hook_verdict on_request(struct fault_request *fr)
{
    snprintf(fr->note, fr->note_len, "no job (204)");
    conn_respond(fr->conn, HTTP_NOCONTENT, NULL, NULL, NULL, 0);
    return HOOK_HANDLED;
}

const struct fault_type fault_type_gitlab_no_job = {
    .name = "gitlab-no-job",
    .layer = FAULT_LAYER_HTTP,
    .gitlab_only = 1,
    .summary = "GitLab: answer jobs/request with 204 No Content at once (no job), whatever is "
               "queued; a rule without a trigger does it forever",
    .client_sees = "gitlab-runner --debug: Checking for jobs... nothing (every check_interval); "
                   "the job stays pending, and GitLab ends it with: There has been a timeout "
                   "failure or the job got stuck. Check your timeout limits or try again. (This "
                   "job does not have a trace.)",
    .keys = param_no_keys,
    .parse = param_parse_none,
    .free = NULL,
    .on_request = on_request,
};
