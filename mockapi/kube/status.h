/* status.h -- metav1.Status error bodies, worded exactly as kube-apiserver words them */
#ifndef KF_STATUS_H
#define KF_STATUS_H

#include <cjson/cJSON.h>

struct kinds_info;

/* Status reasons (metav1.StatusReason) */
#define STATUS_REASON_NOTFOUND "NotFound"
#define STATUS_REASON_ALREADYEXISTS "AlreadyExists"
#define STATUS_REASON_CONFLICT "Conflict"
#define STATUS_REASON_INVALID "Invalid"
#define STATUS_REASON_BADREQUEST "BadRequest"
#define STATUS_REASON_UNAUTHORIZED "Unauthorized"
#define STATUS_REASON_FORBIDDEN "Forbidden"
#define STATUS_REASON_METHODNOTALLOWED "MethodNotAllowed"
#define STATUS_REASON_EXPIRED "Expired"
#define STATUS_REASON_GONE "Gone"
#define STATUS_REASON_INTERNAL "InternalError"
#define STATUS_REASON_UNSUPPORTEDMEDIA "UnsupportedMediaType"
#define STATUS_REASON_NOTACCEPTABLE "NotAcceptable"
#define STATUS_REASON_TOOLARGE "RequestEntityTooLarge"
#define STATUS_REASON_TIMEOUT "Timeout"
#define STATUS_REASON_TOOMANYREQUESTS "TooManyRequests"

/** A Failure Status: {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
 *  "message":M,"reason":R,"code":C}. reason may be NULL (omitted). Caller frees with cJSON_Delete.
 */
cJSON *status_new(int code, const char *reason, const char *message);

/** A Success Status (as DELETE of a collection returns). */
cJSON *status_success(void);

/** Add details {name, group (omitted when ""), kind} where kind is the plural resource. */
void status_set_details(cJSON *st, const char *name, const struct kinds_info *k);

/** The qualified resource as the apiserver prints it: "pods", "poddisruptionbudgets.policy". */
const char *status_qualified(const struct kinds_info *k, char *buf, size_t len);

/** 404 `pods "x" not found` with details. */
cJSON *status_not_found(const struct kinds_info *k, const char *name);

/** 409 `pods "x" already exists` with details. */
cJSON *status_already_exists(const struct kinds_info *k, const char *name);

/** 409 Conflict: `Operation cannot be fulfilled on pods "x": the object has been modified; please
 *  apply your changes to the latest version and try again`. */
cJSON *status_conflict(const struct kinds_info *k, const char *name);

/** 422 Invalid: `Pod "x" is invalid: <field>: <detail>` with one cause {reason, message, field}. */
cJSON *status_invalid(const struct kinds_info *k, const char *name, const char *field,
                      const char *cause_reason, const char *detail);

/** The same for an object that is not a resource kind, e.g. kind "ListOptions" in group
 *  "meta.k8s.io": `ListOptions.meta.k8s.io "" is invalid: <field>: <detail>`. */
cJSON *status_invalid_kind(const char *kind, const char *group, const char *name, const char *field,
                           const char *cause_reason, const char *detail);

/** The HTTP code a Status carries (its "code"), 500 when absent. */
int status_code(const cJSON *st);

#endif
