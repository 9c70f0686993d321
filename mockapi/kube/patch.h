/* patch.h -- PATCH bodies applied to stored objects: JSON merge, JSON patch, strategic merge */
#ifndef KF_PATCH_H
#define KF_PATCH_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Named caps. KPATCH_MAX_OPS is kube-apiserver's own (maxJSONPatchOperations); the others are
 * ours: kube has none, and a patch over them is refused rather than recursed or scanned. */
#define KPATCH_MAX_OPS 10000       /**< operations in one JSON patch */
#define KPATCH_MAX_DEPTH 100       /**< nesting of a merge / strategic merge patch */
#define KPATCH_MAX_LIST_ITEMS 2000 /**< items in one list merged by key (strategic merge) */

/* How kube-apiserver answers a failed patch. Every failure is negative, so callers that only
 * test `!= 0` still work; the value says which Status to build from the err text. */
enum kpatch_status {
    KPATCH_OK = 0,
    KPATCH_EBADREQUEST = -1, /**< 400 BadRequest, message = err */
    KPATCH_EINVALID = -2,    /**< 422 Invalid, message KPATCH_INVALID_MESSAGE, err as the
                                  details.causes[0].message (type UnexpectedServerResponse) */
    KPATCH_ETOOLARGE =
        -3, /**< 413 RequestEntityTooLarge, message "Request entity too large: " + err */
    KPATCH_EINTERNAL = -4, /**< 500, no reason, message = err (kube passes the raw error through) */
};

/** The Status message kube uses for 422 answers to JSON patch failures (NewGenericServerResponse).
 */
#define KPATCH_INVALID_MESSAGE "the server rejected our request due to an error in our request"

/**
 * RFC 7386 JSON merge patch (application/merge-patch+json, what kubectl label/annotate send).
 * Modifies target in place; atomic: on failure target is unchanged. Borrows patch. A patch that
 * is not an object (null, scalar, array) is refused with kube's `Invalid JSON Patch`
 * (KPATCH_EBADREQUEST) rather than replacing the whole object. Returns 0 or a negative
 * enum kpatch_status with a message in err (err may be NULL).
 */
int kpatch_merge(cJSON *target, const cJSON *patch, char *err, size_t errlen);

/**
 * RFC 6902 JSON patch (application/json-patch+json): add, remove, replace, move, copy, test, with
 * JSON pointers (`~0` `~1` escapes, `-` appends). Behaves as kube's json-patch (evanphx v4) does,
 * including its leniencies: negative array indices count from the end, `replace` of a missing
 * object member adds it, `copy` from a missing member copies null. Error text is the library's,
 * e.g. `testing value /metadata/name failed: test failed` or `add operation does not apply: doc is
 * missing path: "/a/b": missing value` (KPATCH_EINVALID); a body that is not an array of objects
 * is KPATCH_EBADREQUEST (`json: cannot unmarshal object into Go value of type jsonpatch.Patch`);
 * more than KPATCH_MAX_OPS operations is KPATCH_ETOOLARGE. A NULL or null ops list is a no-op.
 * Atomic: on failure target is unchanged. Borrows ops.
 */
int kpatch_json(cJSON *target, const cJSON *ops, char *err, size_t errlen);

/**
 * Strategic merge patch (application/strategic-merge-patch+json), as kube's strategicpatch
 * package applies it server side: maps merge recursively, null deletes, lists of objects whose
 * field has a patch merge key merge by that key (kind selects a const table transcribed from the
 * patchStrategy/patchMergeKey tags of k8s.io/api: Pod containers by name, env by name, ports by
 * containerPort, volumes by name, Service ports by port, conditions by type, ...), primitive lists
 * with the merge strategy (finalizers) union, every other list is replaced. Directives: `$patch:
 * replace|delete` in maps and list items (`merge` in a list is kube's error), `$retainKeys`,
 * `$deleteFromPrimitiveList/<f>`, `$setElementOrder/<f>` (honoured, including the order). Values
 * added where the target had none are cleaned of directives and nulls, as kube's typed decode
 * would. Unknown kinds (or NULL) have no merge keys: lists are replaced, maps merged, as JSON merge
 * patch does. Errors carry kube's text and status class (e.g. `invalid patch format of
 * retainKeys` is KPATCH_EBADREQUEST, `map: map[image:x] does not contain declared merge key:
 * name` is KPATCH_EINTERNAL). Atomic: on failure target is unchanged. Borrows patch.
 */
int kpatch_strategic(cJSON *target, const cJSON *patch, const char *kind, char *err, size_t errlen);

#endif
