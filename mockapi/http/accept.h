/* accept.h -- Accept header matching: is application/json asked for with these parameters */
#ifndef KF_ACCEPT_H
#define KF_ACCEPT_H

#include <stddef.h>

/** Most name=value parameters accept_has_json_with() can look for at once. */
#define ACCEPT_WANT_MAX 16

/**
 * 1 when some media range of the Accept header accept (borrowed; NULL gives 0) is
 * application/json carrying each of the nwant name=value parameters in want (borrowed), else 0.
 * Ranges are split at ',' and parameters at ';', with spaces and tabs around each piece ignored;
 * the media type and parameter names compare without case, parameter values exactly (quoted
 * values are not unquoted). Other parameters are allowed, q included (q=0 is not a refusal).
 * nwant 0 asks for any application/json range; nwant above ACCEPT_WANT_MAX gives 0.
 * Example: want {{"as", "Table"}, {"v", "v1"}, {"g", "meta.k8s.io"}} matches kubectl get's
 * "application/json;as=Table;v=v1;g=meta.k8s.io,application/json".
 */
int accept_has_json_with(const char *accept, const char *const want[][2], size_t nwant);

#endif
