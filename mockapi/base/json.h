/* json.h -- small cJSON helpers every module needs: typed getters, get-or-create, replace-or-add */
#ifndef KF_JSON_H
#define KF_JSON_H

#include <cjson/cJSON.h>

/** The string at o[key], or NULL when absent or not a string. Borrowed. */
const char *json_str(const cJSON *o, const char *key);

/** The string at o[key], or def when absent or not a string. Borrowed. */
const char *json_str_or(const cJSON *o, const char *key, const char *def);

/** The object at o[key], created (replacing a non-object) when missing. Borrowed; NULL on OOM. */
cJSON *json_obj(cJSON *o, const char *key);

/** Set o[key] = v, replacing any value. Takes ownership of v (freed on failure); NULL v is a no-op. */
void json_set(cJSON *o, const char *key, cJSON *v);

/** Set o[key] to the string value only when key is absent. */
void json_default_str(cJSON *o, const char *key, const char *value);

#endif
