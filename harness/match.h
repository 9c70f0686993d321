/* match.h -- which requests a rule matches: verb, resource and subresource, namespace, name (glob),
 * query parameters, headers, and paths in the request body (the same for JSON and protobuf bodies)
 */
#ifndef KF_MATCH_H
#define KF_MATCH_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "harness/scenario.h"

struct diag;
struct glproto_route;
struct http_request;
struct route;

#define MATCH_MAX_BODY_PATH 256 /**< characters in one body path */

/** Parse a rule's "match" object (spec, borrowed; NULL matches everything) into m. path names it in
 *  messages ("rules[0].match"). 0, or -1 with errors in d listing what is accepted. */
int match_parse(const cJSON *spec, const char *path, struct diag *d, struct match *m);

/** Free what match_parse allocated; m is zeroed. */
void match_release(struct match *m);

/** The verb bit (enum match_verb) of a routed request: exec/attach/log for those subresources,
 *  MATCH_OTHER for non-resource paths. */
unsigned match_verb_of(const struct http_request *req, const struct route *r);

/** 1 if the request matches. body is the decoded request body (NULL when there is none or it could
 *  not be decoded: body predicates then see every path as absent). */
int match_request(const struct match *m, const struct http_request *req, const struct route *r,
                  const cJSON *body);

/** 1 if a request to the fake GitLab matches: only a match with "server": "gitlab" does (a rule
 *  without one acts on the kube-apiserver, and match_request() is the one that matches it). */
int match_gitlab_request(const struct match *m, const struct http_request *req,
                         const struct glproto_route *r, const cJSON *body);

/** A GitLab endpoint's name as matches and the journal write it: "jobs/request", "trace",
 *  "update", "verify", "other" (any other path). */
const char *match_gitlab_endpoint(int ep);

/** 1 when some rule's match needs the body decoded (so the engine decodes only then). */
int match_needs_body(const struct match *m);

/** Evaluate one body path ("spec.containers[*].image", "metadata.labels.app", "[0]"): calls visit
 *  for each value it reaches (with [*], possibly many) until visit returns non-zero; returns that
 *  value, or 0 when nothing was reached or every visit returned 0. Keys with dots can be quoted:
 *  metadata.annotations["kubernetes.io/psp"]. A selector picks the elements of an array whose
 *  member has a string value: spec.containers[name=helper].image (quoted: [name="a]b"]). -1 when
 *  the path does not parse. */
int match_body_path(const cJSON *body, const char *path,
                    int (*visit)(const cJSON *value, void *arg), void *arg);

/** 1 when a string value at path in obj matches the fnmatch(3) pattern glob (with [*] or a
 *  [name=x] selector: some value it reaches does). 0 otherwise, also for a bad path. */
int match_path_matches(const cJSON *obj, const char *path, const char *glob);

/** Whether one "when" predicate holds on obj (NULL: every path is absent). pred is a validated
 *  entry (scenario.c checks it): {"path": P} with one of "exists": true, "absent": true,
 *  "equals": V, "notEquals": V, "matches": pattern, "notMatches": pattern. With [*] (or a
 *  [name=x] selector) "exists", "equals" and "matches" hold when some value reached holds them;
 *  "absent", "notEquals" and "notMatches" are their opposites (no value reached holds it). The
 * pods, admission and stages sections share it. */
int match_predicate(const cJSON *pred, const cJSON *obj);

#endif
