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
