/* store.h -- the object store: objects by kind, namespace and name; one resourceVersion counter;
 * a bounded event history for watches; change listeners */
#ifndef KF_STORE_H
#define KF_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct kinds_info;
struct rng;
struct store;

enum store_event_type { STORE_ADDED, STORE_MODIFIED, STORE_DELETED };

#define STORE_DEFAULT_HISTORY                                                                      \
    10000 /**< events kept for watches that resume from a resourceVersion */

/** Called after every change. old is the previous object (MODIFIED, DELETED) or NULL; obj the new
 *  one (for DELETED: the last state, with the deletion's resourceVersion). Both borrowed, valid
 *  only during the call. */
typedef void (*store_listener_cb)(void *arg, enum store_event_type type, const struct kinds_info *k,
                                  const cJSON *old, const cJSON *obj);

/** A new empty store. rng (borrowed) makes uids. history_cap: events kept (0: the default). */
struct store *store_new(struct rng *rng, size_t history_cap);

/** Free the store and every object. NULL is a no-op. */
void store_free(struct store *s);

/** The current resourceVersion (the last change's). */
int64_t store_resource_version(const struct store *s);

/** The oldest resourceVersion a watch can still resume from (0: any). */
int64_t store_oldest_resource_version(const struct store *s);

/** The object, or NULL. Borrowed: valid until the next change to the store. */
const cJSON *store_get(const struct store *s, const struct kinds_info *k, const char *ns,
                       const char *name);

/** Insert obj (takes ownership, also on failure). Sets kind, apiVersion, metadata.namespace (ns, or
 *  removed for cluster-scoped kinds), uid, resourceVersion, creationTimestamp. Returns 0 and the
 *  stored object in *out (borrowed), or -1 when the name exists. */
int store_create(struct store *s, const struct kinds_info *k, const char *ns, cJSON *obj,
                 const cJSON **out);

/** Replace an existing object with obj (takes ownership, also on failure), keeping uid and
 *  creationTimestamp, setting a new resourceVersion. -1 when there is no such object. */
int store_replace(struct store *s, const struct kinds_info *k, cJSON *obj, const cJSON **out);

/** Remove an object. Returns 0, or -1 when there is none. */
int store_remove(struct store *s, const struct kinds_info *k, const char *ns, const char *name);

/** The objects of a kind, in one namespace (ns non-empty) or all, sorted by namespace then name.
 *  Returns a malloc'd array of borrowed pointers (caller frees the array only) and the count in *n;
 *  NULL with *n = 0 when there are none. */
const cJSON **store_list(const struct store *s, const struct kinds_info *k, const char *ns,
                         size_t *n);

/** Called per object by store_walk; return non-zero to stop the walk. obj is borrowed. */
typedef int (*store_walk_cb)(void *arg, const cJSON *obj);

/** The objects of a kind, in one namespace (ns non-empty) or all, in store_list's order, to cb,
 *  until it returns non-zero. after (NULL: from the first) is a continue key "namespace/name": only
 *  objects whose "namespace/name" compares greater (strcmp) are visited. cb must not change the
 *  store. Costs O(log n) per namespace to find where to start, then O(1) per object. */
void store_walk(const struct store *s, const struct kinds_info *k, const char *ns,
                const char *after, store_walk_cb cb, void *arg);

/** The current version of a stored object of kind k (obj from store_get or a list) as the API
 *  sends it: cJSON_PrintUnformatted's text and a newline (*len bytes, counting the newline; not
 *  NUL-terminated). Printed on the first call and kept with that version, so an object read over
 *  and over is printed once per change. Borrowed: valid until the next change to the store. NULL
 *  when obj is not the current version of an object in s, or memory ran out. */
const char *store_obj_text(struct store *s, const struct kinds_info *k, const cJSON *obj,
                           size_t *len);

/** Count of objects of a kind. */
size_t store_count(const struct store *s, const struct kinds_info *k);

typedef void (*store_replay_cb)(void *arg, enum store_event_type type, const cJSON *old,
                                const cJSON *obj);

/** Replay the retained events of kind k newer than since_rv, oldest first. Returns 0, or -1 when
 *  since_rv is older than the retained history (the watch must answer 410 Expired). */
int store_replay(const struct store *s, const struct kinds_info *k, int64_t since_rv,
                 store_replay_cb cb, void *arg);

/** Register a listener (returns a handle > 0, or 0 on failure) / remove it. */
uint64_t store_listen(struct store *s, store_listener_cb cb, void *arg);
void store_unlisten(struct store *s, uint64_t handle);

/** Name helpers on stored objects (borrowed strings, "" when absent). */
const char *store_obj_name(const cJSON *obj);
const char *store_obj_namespace(const cJSON *obj);
int64_t store_obj_rv(const cJSON *obj);

#endif
