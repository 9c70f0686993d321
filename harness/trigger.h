/* trigger.h -- when a matching request fires its rule's fault: counts (nth, first N, after N, every
 * k-th), seeded probability, time windows from scenario start or from an event */
#ifndef KF_TRIGGER_H
#define KF_TRIGGER_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "harness/scenario.h"

struct diag;
struct rng;

/** The events a window or timeline entry can start from. */
#define TRIGGER_EVENTS                                                                             \
    "start, pod-created, pod-scheduled, pod-running, pod-deleted, stage-started, "                 \
    "stage-started:<stage>, rule-fired:<rule>"

/** Parse a rule's "trigger" object (NULL: fire on every match) into t. 0, or -1 with errors in d.
 */
int trigger_parse(const cJSON *spec, const char *path, struct diag *d, struct trigger *t);

/** Parse an event reference: a string ("pod-running") or {"event": "...", "name": "glob"}. */
int trigger_parse_event(const cJSON *spec, const char *path, struct diag *d,
                        struct trigger_event *ev);

/** Free what the parse functions allocated. */
void trigger_release(struct trigger *t);
void trigger_event_release(struct trigger_event *ev);

/** Decide one match. count: this rule's matches so far, this one included (1-based). now_ms: time
 *  since scenario start. since_ms: when t->since happened (since scenario start), or -1 when it has
 *  not happened yet (then a window never fires). rng is drawn from only when the counts and the
 *  window already allow firing, so the draws depend only on the request sequence. */
int trigger_fires(const struct trigger *t, uint64_t count, int64_t now_ms, int64_t since_ms,
                  struct rng *rng);

#endif
