/* json.c -- small cJSON helpers: typed getters, get-or-create, replace-or-add, add-or-free */
#include "mockapi/base/json.h"

const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *json_str_or(const cJSON *o, const char *key, const char *def)
{
    const char *s = json_str(o, key);
    return s ? s : def;
}

cJSON *json_obj(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsObject(v))
        return v;
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    return cJSON_AddObjectToObject(o, key);
}

void json_set(cJSON *o, const char *key, cJSON *v)
{
    if (!v)
        return;
    if (cJSON_GetObjectItemCaseSensitive(o, key)) {
        if (!cJSON_ReplaceItemInObjectCaseSensitive(o, key, v))
            cJSON_Delete(v);
    } else if (!cJSON_AddItemToObject(o, key, v)) {
        cJSON_Delete(v);
    }
}

void json_default_str(cJSON *o, const char *key, const char *value)
{
    if (!cJSON_GetObjectItemCaseSensitive(o, key))
        cJSON_AddStringToObject(o, key, value);
}

/* cJSON_AddItemTo* take ownership only when they succeed: free here so callers need not. */
cJSON *json_add(cJSON *obj, const char *key, cJSON *item)
{
    if (item == NULL)
        return NULL;
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

cJSON *json_push(cJSON *arr, cJSON *item)
{
    if (item == NULL)
        return NULL;
    if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

int json_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    /* the range first: only then is the cast defined (NaN fails both comparisons) */
    if (!(d >= (double)lo && d <= (double)hi) || (double)(int64_t)d != d)
        return -1;
    *out = (int64_t)d;
    return 1;
}

int64_t json_int_clamp(const cJSON *v, int64_t lo, int64_t hi, int64_t def)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble)
        return def;
    double d = v->valuedouble;
    /* (double)hi may round up past hi (INT64_MAX becomes 2^63): below it the cast is defined */
    if (!(d < (double)hi))
        return hi;
    if (!(d > (double)lo))
        return lo;
    int64_t n = (int64_t)d;
    return n < lo ? lo : n > hi ? hi : n;
}
