/* openapi.h -- OpenAPI v3 documents: just enough for kubectl create -f and apply -f */
#ifndef KF_OPENAPI_H
#define KF_OPENAPI_H

#include <stddef.h>

#include <cjson/cJSON.h>

/** Size of the buffer openapi_hash() needs: 16 upper-case hex digits and the NUL. */
#define OPENAPI_HASH_SIZE 17

/**
 * GET /openapi/v3: {"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=<H>"},
 * "apis/policy/v1":{...},...}}, one entry per group version of kinds_table, H from
 * openapi_hash(). Caller frees with cJSON_Delete(); NULL when out of memory.
 */
cJSON *openapi_v3_root(void);

/**
 * GET /openapi/v3/<path>, path being "api/v1" or "apis/<group>/<version>" (a leading '/' is
 * allowed; borrowed). An OpenAPI 3.0 document with, for every kind of that group version and every
 * verb kinds.def gives it, an operation on the collection or item path carrying
 * x-kubernetes-action and x-kubernetes-group-version-kind. Write operations declare dryRun,
 * fieldManager and fieldValidation: a PATCH with fieldValidation is what makes kubectl create -f /
 * apply -f leave validation to the server (kubectl: cli-runtime
 * resource/query_param_verifier_v3.go). components.schemas holds a permissive object schema per
 * kind (io.k8s.api.core.v1.Pod, with x-kubernetes-group-version-kind) plus the meta.v1 schemas the
 * operations refer to.
 *
 * PATCH bodies do not list application/strategic-merge-patch+json, although the server accepts
 * it: kubectl apply would then compute its patch from these schemas, which have no fields, and
 * print "warning: error calculating patch from openapi v3 spec"; without it kubectl silently
 * uses its built-in types (kubectl: pkg/cmd/apply/patcher.go, gvkSupportsPatchOpenAPIV3).
 *
 * NULL for a path naming no group version of kinds_table (the caller answers 404) or when out of
 * memory. Caller frees with cJSON_Delete().
 */
cJSON *openapi_v3_group(const char *path);

/**
 * The hash kubectl sees in serverRelativeURL for path (as for openapi_v3_group()): FNV-1a 64 of
 * the document's unformatted JSON, so it changes exactly when the document does. Written into buf
 * (len >= OPENAPI_HASH_SIZE) and returned; NULL for an unknown path, a short buf or out of memory.
 */
const char *openapi_hash(const char *path, char *buf, size_t len);

#endif
