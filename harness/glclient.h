/* glclient.h -- the reference job client's GitLab side: a model of GitLab Runner 19.x's network
 * client (network/gitlab.go: RequestJob, PatchTrace, UpdateJob) and job trace (network/trace.go,
 * helpers/trace/buffer.go): take one job from POST /api/v4/jobs/request, run it with the reference
 * job client, stream its log as trace PATCHes and send the final update (harness/JOBCLIENT.md) */
#ifndef KF_GLCLIENT_H
#define KF_GLCLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "harness/jobclient.h"

#define GLCLIENT_CHECK_INTERVAL_S 3  /**< check_interval <= 0 (common.CheckInterval) */
#define GLCLIENT_WAIT_JOB_MS 30000   /**< --wait-job default (the model's, not the runner's) */
#define GLCLIENT_UPDATE_INTERVAL_S 3 /**< common.DefaultUpdateInterval */
#define GLCLIENT_MAX_UPDATE_INTERVAL_S 900 /**< common.MaxUpdateInterval (15m) */
#define GLCLIENT_FORCE_SEND_MS 30000       /**< common.MinTraceForceSendInterval: keep-alive PUT */
#define GLCLIENT_PATCH_LIMIT (1u << 20)    /**< common.DefaultTracePatchLimit: bytes per PATCH */
#define GLCLIENT_TRACE_LIMIT (4u << 20)    /**< common.DefaultTraceOutputLimit: trace bytes kept */
#define GLCLIENT_MAX_ANSWER (16u << 20)    /**< bytes of a jobs/request answer read */
#define GLCLIENT_FINAL_UPDATE_TRIES 20     /**< the model's bound; the runner retries forever */
#define GLCLIENT_EXIT_NO_JOB 3             /**< kubefault job: no job within --wait-job */

/** What jobs/request's answer meant (RequestJob's switch). */
enum glclient_request_state {
    GLC_REQUEST_JOB,       /**< 201: a job */
    GLC_REQUEST_NOTHING,   /**< 204: no job; ask again after check_interval */
    GLC_REQUEST_FORBIDDEN, /**< 403 */
    GLC_REQUEST_ERROR,     /**< no HTTP answer (clientError), or a 201 that is not a job */
    GLC_REQUEST_FAILED,    /**< any other status */
};

/** common.PatchState: what a trace PATCH's answer meant (createPatchTraceResult). */
enum glclient_patch_state {
    GLC_PATCH_SUCCEEDED,      /**< 202 */
    GLC_PATCH_NOT_FOUND,      /**< 404 */
    GLC_PATCH_ABORT,          /**< Job-Status canceled/failed, 403, or no HTTP answer */
    GLC_PATCH_RANGE_MISMATCH, /**< 416: resend from the Range the server gives */
    GLC_PATCH_FAILED,         /**< anything else: retried after the update interval */
};

/** common.UpdateState: what a job update's answer meant (createUpdateJobResult). */
enum glclient_update_state {
    GLC_UPDATE_SUCCEEDED,        /**< 200 */
    GLC_UPDATE_ACCEPTED,         /**< 202: accepted, but not yet completed: ask again */
    GLC_UPDATE_TRACE_VALIDATION, /**< 412: rewind the trace to 0 and resend it all */
    GLC_UPDATE_ABORT,            /**< Job-Status canceled/failed, 403, 404, no HTTP answer */
    GLC_UPDATE_FAILED,           /**< anything else: retried after the update interval */
};

/** The PATCH state for an HTTP code (-1: no answer) and a Job-Status header (NULL: none). */
enum glclient_patch_state glclient_patch_state(long code, const char *job_status);

/** The update state for an HTTP code (-1: no answer) and a Job-Status header (NULL: none). */
enum glclient_update_state glclient_update_state(long code, const char *job_status);

/** 1 when Job-Status asks for a cancel ("canceling", RemoteJobStateResponse.IsCanceled). */
int glclient_cancel_requested(const char *job_status);

/** The offset a 416's Range header gives ("0-<n>" -> n; TracePatchResponse.NewOffset: anything
 *  without exactly one '-' gives 0, digits that do not parse give 0). */
uint64_t glclient_range_offset(const char *range);

/** The Content-Range of a PATCH of n >= 1 bytes from start: "start-(start+n-1)" (inclusive). */
char *glclient_content_range(char *buf, size_t len, uint64_t start, size_t n);

/** The output checksum as helpers/trace Buffer.Checksum() writes it: "crc32:%08x". */
char *glclient_checksum(uint32_t crc, char *buf, size_t len);

/** X-GitLab-Trace-Update-Interval in seconds: 0 when absent or not a number (the interval is
 *  kept), capped at GLCLIENT_MAX_UPDATE_INTERVAL_S. */
int glclient_update_interval(const char *value);

/** The failure_reason the runner sends for reason (failureReasonMapper.Map): "" ->
 *  script_failure; a reason the job's features.failure_reasons lists, or script_failure,
 *  runner_system_failure, job_execution_timeout -> itself; image_pull_failure ->
 *  runner_system_failure and runner_configuration_error -> script_failure when those are
 *  supported; else unknown_failure. Borrowed static text or reason itself. */
const char *glclient_failure_reason(const cJSON *payload, const char *reason);

/** How GitLab mode runs. */
struct glclient_opts {
    const char *url;        /**< the [[runners]] url ("https://gitlab.example.com/") */
    const char *token;      /**< the runner authentication token */
    const char *ca_file;    /**< tls-ca-file; NULL: the system's CAs */
    const cJSON *config;    /**< borrowed: the configuration document; its job section is
                                 replaced by the job GitLab hands out */
    const char *kubeconfig; /**< as jobclient_opts */
    FILE *log;              /**< the job log as printed (stdout) */
    FILE *runner_log;       /**< the runner's own log lines (stderr); NULL: none */
    int debug;              /**< also the runner's debug lines (Checking for jobs...nothing) */
    int color;
    uint64_t seed;
    volatile sig_atomic_t *cancel; /**< may be NULL; set: cancel. Set too on Job-Status canceling
                                        or an aborting answer */
    int prepare_retry_ms;
    int64_t wait_job_ms;    /**< polling bound; 0: GLCLIENT_WAIT_JOB_MS */
    int check_interval_ms;  /**< 0: the configuration's runner.check_interval */
    int update_interval_ms; /**< the trace interval before GitLab names one; 0: 3 s (tests) */
};

/** What GitLab mode did besides the job's own result. */
struct glclient_result {
    int got_job;             /**< jobs/request handed a job out */
    int64_t job_id;          /**< its id */
    unsigned requests;       /**< jobs/request calls made */
    unsigned nothing;        /**< of which answered 204 */
    const char *state;       /**< the final update's state: "success" or "failed" ("" none) */
    char failure_reason[40]; /**< as sent (after the mapper) */
    int updated;             /**< the final update was accepted (200) */
    char error[512];         /**< why there was no job, or the mapping error */
};

/**
 * Poll jobs/request every check interval until a job comes or wait_job_ms passes, then run it
 * with jobclient_run (the job log to o->log and, as trace PATCHes, to GitLab) and send the final
 * update. Returns 0 the job succeeded, 1 it failed (*res as jobclient_run fills it), 2 bad
 * configuration or a payload the model cannot run (reported to GitLab as a failed job with
 * runner_system_failure), GLCLIENT_EXIT_NO_JOB when no job came (gr->error says why).
 */
int glclient_run(const struct glclient_opts *o, struct jobclient_result *res,
                 struct glclient_result *gr);

#endif
