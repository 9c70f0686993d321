/* admission.h -- admission policies: validating webhooks as a scenario describes them, run on
 * create, update, patch and delete requests before the rules; a policy denies with the webhook's
 * exact words or makes the webhook misbehave with an HTTP fault (scenarios/README.md "admission").
 *
 * What a policy looks at (kube-apiserver's AdmissionReview object, or oldObject for deletes):
 *   create          the decoded request body (JSON or protobuf alike)
 *   update          the decoded request body
 *   patch           the stored object with the patch applied (JSON patch, merge patch, strategic
 *                   merge patch; server-side apply as a merge patch, or the body itself when the
 *                   object does not exist yet and apply creates it)
 *   delete          the stored object being deleted
 *   deletecollection every stored object the collection's selectors pick, one at a time; the first
 *                   one a policy acts on decides the whole request (nothing is deleted)
 * Requests kube-apiserver refuses before its webhooks run are left to the API layer, which refuses
 * them the same way: an undecodable or empty body, a body that is not an object or names another
 * kind or namespace, a missing namespace, an object without name or generateName, an update, patch
 * or delete of an object that does not exist, a patch that does not apply, a bad selector.
 * Subresources (pods/status, pods/eviction, ...) are seen only by policies whose match names a
 * subresource, as a webhook rule on "pods" does not cover "pods/status".
 *
 * A policy acts when its match holds (match.body sees the object above), no exempt entry excuses
 * the object (labels and annotations of the object; the namespace of the request, else of the
 * object), and every "when" predicate holds (with forEach: for some element, on its own). A denial
 * is answered as webhookerrors.ToStatusErr answers a webhook's Status in kube 1.15+:
 *   {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
 *    "message":"admission webhook \"<webhook>\" denied the request: <text>","reason":R,"code":C}
 * with no details. The scenario's message is used as written when it already starts with
 * `admission webhook "` (the README's examples name the real webhook there); otherwise it gets the
 * prefix with the policy's name as the webhook's. reason defaults to the code's (400 BadRequest,
 * 403 Forbidden, 422 Invalid). Placeholders: {name} (the URL's name,
 * else metadata.name, else metadata.generateName: the suffix kubefault generates is not known yet),
 * {namespace}, and with forEach {element} (the element's "name", else its 0-based position among
 * the elements forEach reached). */
#ifndef KF_ADMISSION_H
#define KF_ADMISSION_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "mockapi/hooks.h"

struct conn;
struct diag;
struct engine;
struct http_request;
struct journal_entry;
struct route;
struct scenario;
struct admission;

#define ADMISSION_MAX_MESSAGE 16384 /**< bytes of a denial's message, placeholders filled */

/** The policies of scenario s (borrowed: must outlive the result), built once: each entry's match
 *  parsed, its predicates, exemptions, denial and fault kept. NULL with a message in d when an
 *  entry cannot be built (out of memory; scenario_parse validated everything else). A scenario
 *  without policies gives an empty set. Caller frees with admission_free(). */
struct admission *admission_new(const struct scenario *s, struct diag *d);

/** Free. NULL is a no-op. */
void admission_free(struct admission *a);

/** The engine's lazy constructor: *slot, built from s on the first call; NULL when s has no
 *  policies. When building fails (logged once) *slot becomes an empty set: requests then pass.
 *  The engine frees *slot with admission_free(). */
struct admission *admission_get(struct admission **slot, const struct scenario *s);

/** 1 when some policy may act on this request and needs its decoded body (create, update, patch
 *  with a policy whose verbs include it), so the engine decodes it only then. NULL a: 0. */
int admission_needs_body(const struct admission *a, const struct http_request *req,
                         const struct route *r);

/** What a policy decided. */
struct admission_result {
    const char *policy; /**< the policy's name (borrowed from the scenario) */
    int deny;           /**< 1: deny with code, reason, message; 0: apply the policy's fault */
    int code;
    const char *reason; /**< NULL: none */
    char *message;      /**< deny: the whole Status message (owned; admission_result_release()) */
    const void *fault;  /**< !deny: the policy's fault (opaque; for admission_on_request) */
};

/** Offer one object (the one described at the top; borrowed, may be NULL) to the policies in file
 *  order. 1 when a policy acts, with *out filled (release with admission_result_release()); 0
 *  when none does; -1 when out of memory. req and r are the request's (for match). */
int admission_decide(const struct admission *a, const struct http_request *req,
                     const struct route *r, const cJSON *object, struct admission_result *out);

/** Free what admission_decide() put in res; res stays valid to release again. */
void admission_result_release(struct admission_result *res);

/** The Status kube-apiserver answers a denial with. Caller frees with cJSON_Delete(). */
cJSON *admission_status(const struct admission_result *res);

/** The engine's call, before its rules: find the object, decide, and deny (api_send_status) or
 *  apply the policy's fault (its type's on_request). body is the decoded request body (borrowed;
 *  NULL when there is none or it did not decode). Fills je's rule ("admission:<policy>"), fault
 *  (the fault type, "" for a denial) and note. HOOK_HANDLED when answered (or the fault took the
 *  request), HOOK_PASS to let the rules and the API go on. NULL a: HOOK_PASS. */
enum hook_verdict admission_on_request(struct admission *a, struct engine *e, struct conn *c,
                                       struct http_request *req, const struct route *r,
                                       const cJSON *body, struct journal_entry *je);

#endif
