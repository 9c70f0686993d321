/* json.h -- small cJSON helpers: typed getters, get-or-create, replace-or-add, add-or-free */
#ifndef KF_JSON_H
#define KF_JSON_H

#include <stdint.h>

#include <cjson/cJSON.h>

/** Bound for json_int()'s lo and hi: doubles hold every integer up to 2^53 exactly. */
#define JSON_INT_MAX 9007199254740992LL

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

/**
 * An integer from JSON, never casting a double out of range (undefined behaviour in C): 1 with
 * *out set when v is a number with no fraction within [lo, hi] (both within +-JSON_INT_MAX); 0 when
 * v is NULL or not a number; -1 when it is a number with a fraction or out of range (*out
 * untouched but for 1).
 */
int json_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out);

/** v's number truncated toward zero and clamped to [lo, hi] (any int64 bounds); def when v is not
 *  a number. For values read to be shown or to bound a wait, where out-of-range means "huge". */
int64_t json_int_clamp(const cJSON *v, int64_t lo, int64_t hi, int64_t def);

#endif
