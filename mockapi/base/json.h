/* json.h -- small cJSON helpers: typed getters, get-or-create, replace-or-add, add-or-free */
#ifndef KF_JSON_H
#define KF_JSON_H

#include <cjson/cJSON.h>

/** The string at o[key], or NULL when absent or not a string. Borrowed. */
const char *json_str(const cJSON *o, const char *key);

/** The string at o[key], or def when absent or not a string. Borrowed. */
const char *json_str_or(const cJSON *o, const char *key, const char *def);

/** The object at o[key], created (replacing a non-object) when missing. Borrowed; NULL on OOM. */
cJSON *json_obj(cJSON *o, const char *key);

/** Set o[key] = v, replacing any value. Takes ownership of v (freed on failure); NULL v is a
 * no-op. */
void json_set(cJSON *o, const char *key, cJSON *v);

/** Set o[key] to the string value only when key is absent. */
void json_default_str(cJSON *o, const char *key, const char *value);

/**
 * Add item to obj under key (no check for an existing key, as cJSON_AddItemToObject). Takes
 * ownership of item: cJSON keeps it on success and it is freed on failure, so a builder can write
 * `json_add(o, "k", cJSON_CreateArray())` and test only the result. key is copied.
 * Returns item, borrowed from obj now, or NULL when item was NULL or the add failed.
 */
cJSON *json_add(cJSON *obj, const char *key, cJSON *item);

/**
 * Append item to the array arr. Takes ownership of item: freed when the append fails.
 * Returns item, borrowed from arr now, or NULL when item was NULL or the append failed.
 */
cJSON *json_push(cJSON *arr, cJSON *item);

#endif
