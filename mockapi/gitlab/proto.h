/* proto.h -- the GitLab job API's wire rules as pure functions: routes, Content-Range, the CRC32
 * output checksum, request bodies, and the job payload built from a small spec */
#ifndef KF_GLPROTO_H
#define KF_GLPROTO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define GLPROTO_CT_JSON "application/json"
#define GLPROTO_CT_TEXT "text/plain"

#define GLPROTO_HDR_RUNNER_TOKEN "RUNNER-TOKEN" /**< jobs/request, runners/verify */
#define GLPROTO_HDR_JOB_TOKEN "JOB-TOKEN"       /**< trace PATCH (and PUT, without body token) */
#define GLPROTO_HDR_LAST_UPDATE "X-GitLab-Last-Update" /**< the runner queue's value */
#define GLPROTO_HDR_JOB_STATUS "Job-Status" /**< the job's state on trace/update answers */
#define GLPROTO_HDR_UPDATE_INTERVAL "X-GitLab-Trace-Update-Interval" /**< seconds */
#define GLPROTO_HDR_CONTENT_RANGE "Content-Range" /**< "<start>-<end>" on trace PATCH */
#define GLPROTO_HDR_RANGE "Range"                 /**< "0-<trace length>" on 202 and 416 */

#define GLPROTO_MAX_TOKEN 255  /**< longest token kept (GitLab's are ~50 bytes); longer: 403 */
#define GLPROTO_MAX_STATE 31   /**< longest state word kept; longer: 400 */
#define GLPROTO_MAX_REASON 127 /**< longest failure_reason kept; longer: 400 */

/** The endpoints of the fake (the ones gitlab-runner run and register/verify use). */
enum glproto_endpoint {
    GLPROTO_EP_NONE,        /**< anything else: 404 {"message":"404 Not Found"} */
    GLPROTO_EP_JOB_REQUEST, /**< POST /api/v4/jobs/request */
    GLPROTO_EP_JOB_UPDATE,  /**< PUT /api/v4/jobs/:id */
    GLPROTO_EP_TRACE,       /**< PATCH /api/v4/jobs/:id/trace */
    GLPROTO_EP_VERIFY,      /**< POST /api/v4/runners/verify */
};

/** A routed request. job_id is set for JOB_UPDATE and TRACE (> 0), else 0. */
struct glproto_route {
    enum glproto_endpoint ep;
    int64_t job_id;
};

/** Route method + path (percent-decoded, no query). A trailing '/' is not accepted; a path with
 *  a method it does not serve routes to NONE (GitLab answers 404 then too). Never fails. */
void glproto_route(const char *method, const char *path, struct glproto_route *out);

/** The endpoint's name for logs and the journal: "jobs/request", "jobs/:id", "jobs/:id/trace",
 *  "runners/verify", "none". */
const char *glproto_endpoint_name(enum glproto_endpoint ep);

/**
 * Parse a trace PATCH Content-Range: "<start>-<end>", both decimal without sign or blanks, end >=
 * start (the runner sends the inclusive end, start + len - 1; old runners sent start + len, so the
 * end is parsed but not compared with the body, as GitLab ignores it too). 0 with *start, *end, or
 * -1 with a message in err naming the offending text (quoted, at most 64 bytes of it).
 */
int glproto_parse_content_range(const char *value, uint64_t *start, uint64_t *end, char *err,
                                size_t errlen);

/** CRC-32 (IEEE, zlib's crc32) of data, continuing from crc (0 to start): what the runner reports
 *  as output.checksum for its whole trace. crc32(crc32(0, a), b) == crc32(0, a b). */
uint32_t glproto_crc32(uint32_t crc, const void *data, size_t len);

/** Format as the runner does, "crc32:%08x" (lowercase, 8 digits) into buf (>= 15). */
char *glproto_format_checksum(uint32_t crc, char *buf, size_t len);

/** Parse "crc32:<1-8 hex digits>" (either case). 0 with *crc, or -1. */
int glproto_parse_checksum(const char *s, uint32_t *crc);

/** What a job update (PUT /api/v4/jobs/:id) body said. */
struct glproto_update {
    char token[GLPROTO_MAX_TOKEN + 1]; /**< "" when the body had none */
    char state[GLPROTO_MAX_STATE + 1]; /**< "" when absent */
    char failure_reason[GLPROTO_MAX_REASON + 1];
    int has_exit_code;
    int exit_code;
    int has_checksum; /**< output.checksum, or the deprecated top-level checksum */
    uint32_t checksum;
    int has_bytesize; /**< output.bytesize */
    uint64_t bytesize;
};

/** Parse a job update body (a JSON object; unknown keys such as "info" are ignored, as Grape's
 *  declared params do). 0, or -1 with a message in err for what GitLab would answer 400 to: not
 *  JSON, not an object, a field of the wrong type, a checksum that is not "crc32:<hex>", a token
 *  or word over its cap. */
int glproto_parse_update(const void *body, size_t len, struct glproto_update *out, char *err,
                         size_t errlen);

/** What a jobs/request or runners/verify body said. */
struct glproto_runner_req {
    char token[GLPROTO_MAX_TOKEN + 1];       /**< "" when absent */
    char last_update[GLPROTO_MAX_TOKEN + 1]; /**< "" when absent */
};

/** Parse a jobs/request or runners/verify body. An empty body is allowed (everything ""). 0, or
 *  -1 with a message in err (not JSON, not an object, token/last_update not strings or too long).
 */
int glproto_parse_runner_req(const void *body, size_t len, struct glproto_runner_req *out,
                             char *err, size_t errlen);

/**
 * Build the job payload jobs/request answers with (common/spec/spec.go's JobResponse, the defaults
 * of runner-k8s-executor.md §9.4) from a small spec object (borrowed). Spec keys, all optional:
 *   id (integer > 0; default default_id), token (string; default default_token),
 *   name, stage (default "test"), project_id (integer, 1), project_name ("p"),
 *   repo_url, ref ("main"), sha (40 hex, a fixed default), before_sha,
 *   image (string or object), services (array of strings or objects),
 *   variables (object name -> string, or array of {key, value, public?, masked?, file?}),
 *   script (array of strings: the "script" step), after_script (array of strings),
 *   steps (array of step objects, instead of script), timeout (integer seconds, default 600),
 *   credentials (array of objects), extra (object merged over the top level last).
 * CI_JOB_TOKEN (masked), CI_JOB_ID and GIT_STRATEGY=none are added unless variables name them.
 * Unknown keys and wrong types are errors: NULL with "<key>: <what was expected>" in err.
 * Returns a new object; caller frees with cJSON_Delete().
 */
cJSON *glproto_job_payload(const cJSON *spec, int64_t default_id, const char *default_token,
                           char *err, size_t errlen);

#endif
