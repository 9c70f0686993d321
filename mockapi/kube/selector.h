/* selector.h -- label and field selectors from list/watch queries: parse, match, kube-apiserver
 * errors */
#ifndef KF_SELECTOR_H
#define KF_SELECTOR_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Named caps on what a client may send. kube-apiserver has none of its own; a selector over a cap
 * is refused with a message naming the cap (the caller answers 400 BadRequest with it). */
#define KSEL_MAX_LEN 4096   /**< bytes of selector text */
#define KSEL_MAX_REQS 64    /**< requirements (label) or terms (field) in one selector */
#define KSEL_MAX_VALUES 256 /**< values over all `in`/`notin` sets of one label selector */

struct ksel; /* opaque */

/**
 * Parse a labelSelector query value (already percent-decoded): `a=b`, `a==b`, `a!=b`,
 * `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`, comma-joined (AND), whitespace
 * tolerant; "" selects everything. Keys and values are validated as Kubernetes does.
 * Returns a selector the caller frees with ksel_free(), or NULL with the message kube-apiserver
 * gives (verbatim where its grammar allows, e.g. `unable to parse requirement: found '',
 * expected: identifier`) in err; the apiserver answers such errors with 400 BadRequest.
 * s == NULL is treated as "". err may be NULL.
 */
struct ksel *ksel_parse_labels(const char *s, char *err, size_t errlen);

/**
 * Parse a fieldSelector query value: `f=v`, `f==v`, `f!=v`, comma-joined; `\,` `\=` `\\`
 * escape values. The field labels allowed depend on kind ("Pod", "Event", "Secret", "Namespace",
 * "Node", "Service", "ReplicationController"; any other kind, or NULL, gets kube's default of
 * metadata.name and metadata.namespace). Cluster-scoped Namespace and Node do not accept
 * metadata.namespace, as in kube. Errors are kube-apiserver's text (400 BadRequest):
 * `field label not supported: spec.foo`, `"x" is not a known field selector: only
 * "metadata.name", "metadata.namespace"`, `invalid selector: 'a'; can't understand 'a'`,
 * `invalid field selector: invalid escape sequence: \x`. The Pod label `spec.host` is
 * converted to `spec.nodeName` as kube does. Returns a selector the caller frees with
 * ksel_free(), or NULL + err.
 */
struct ksel *ksel_parse_fields(const char *s, const char *kind, char *err, size_t errlen);

/**
 * 1 if obj matches, else 0. Label selectors read obj.metadata.labels (non-string values count
 * as absent); field selectors read the value the kind's field label maps to (booleans as
 * "true"/"false", integers in decimal, missing as "" except where kube defaults, e.g.
 * spec.hostNetwork and spec.unschedulable read "false"). A NULL selector matches everything.
 * Borrows both arguments.
 */
int ksel_match(const struct ksel *sel, const cJSON *obj);

/** 1 if the selector has no requirements (or is NULL), else 0. */
int ksel_empty(const struct ksel *sel);

/**
 * For a field selector with an exact `metadata.name=X` (or `==`) term, X (borrowed: valid until
 * ksel_free()), so callers can look one object up instead of scanning; else NULL. Always NULL
 * for label selectors.
 */
const char *ksel_exact_name(const struct ksel *sel);

/** Free a selector; NULL is a no-op. */
void ksel_free(struct ksel *sel);

#endif
