/* status.c -- metav1.Status error bodies, worded exactly as kube-apiserver words them
 * (k8s.io/apimachinery/pkg/api/errors: NewNotFound, NewAlreadyExists, NewConflict, NewInvalid). */
#include "mockapi/kube/status.h"

#include <stdio.h>

#include "mockapi/kube/kinds.h"

cJSON *status_new(int code, const char *reason, const char *message)
{
    cJSON *st = cJSON_CreateObject();
    if (!st)
        return NULL;
    cJSON_AddStringToObject(st, "kind", "Status");
    cJSON_AddStringToObject(st, "apiVersion", "v1");
    cJSON_AddItemToObject(st, "metadata", cJSON_CreateObject());
    cJSON_AddStringToObject(st, "status", "Failure");
    cJSON_AddStringToObject(st, "message", message ? message : "");
    if (reason)
        cJSON_AddStringToObject(st, "reason", reason);
    cJSON_AddNumberToObject(st, "code", code);
    return st;
}

cJSON *status_success(void)
{
    cJSON *st = cJSON_CreateObject();
    if (!st)
        return NULL;
    cJSON_AddStringToObject(st, "kind", "Status");
    cJSON_AddStringToObject(st, "apiVersion", "v1");
    cJSON_AddItemToObject(st, "metadata", cJSON_CreateObject());
    cJSON_AddStringToObject(st, "status", "Success");
    return st;
}

const char *status_qualified(const struct kinds_info *k, char *buf, size_t len)
{
    if (k->group[0])
        snprintf(buf, len, "%s.%s", k->resource, k->group);
    else
        snprintf(buf, len, "%s", k->resource);
    return buf;
}

void status_set_details(cJSON *st, const char *name, const struct kinds_info *k)
{
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return;
    if (name && name[0])
        cJSON_AddStringToObject(d, "name", name);
    if (k->group[0])
        cJSON_AddStringToObject(d, "group", k->group);
    cJSON_AddStringToObject(d, "kind", k->resource);
    cJSON_DeleteItemFromObjectCaseSensitive(st, "details");
    /* details sits before code in the apiserver's output; order does not matter to clients */
    if (!cJSON_AddItemToObject(st, "details", d))
        cJSON_Delete(d);
}

/* "<qualified resource> \"<name>\"<tail>" */
static cJSON *named(int code, const char *reason, const struct kinds_info *k, const char *name,
                    const char *head, const char *tail)
{
    char q[128], msg[640];
    status_qualified(k, q, sizeof q);
    snprintf(msg, sizeof msg, "%s%s \"%s\"%s", head, q, name, tail);
    cJSON *st = status_new(code, reason, msg);
    if (st)
        status_set_details(st, name, k);
    return st;
}

cJSON *status_not_found(const struct kinds_info *k, const char *name)
{
    return named(404, STATUS_REASON_NOTFOUND, k, name, "", " not found");
}

cJSON *status_already_exists(const struct kinds_info *k, const char *name)
{
    return named(409, STATUS_REASON_ALREADYEXISTS, k, name, "", " already exists");
}

cJSON *status_conflict(const struct kinds_info *k, const char *name)
{
    return named(409, STATUS_REASON_CONFLICT, k, name, "Operation cannot be fulfilled on ",
                 ": the object has been modified; please apply your changes to the latest "
                 "version and try again");
}

cJSON *status_invalid_kind(const char *kind, const char *group, const char *name, const char *field,
                           const char *cause_reason, const char *detail)
{
    char msg[768];
    snprintf(msg, sizeof msg, "%s%s%s \"%s\" is invalid: %s: %s", kind, group[0] ? "." : "", group,
             name ? name : "", field, detail);
    cJSON *st = status_new(422, STATUS_REASON_INVALID, msg);
    if (!st)
        return NULL;
    cJSON *d = cJSON_CreateObject();
    if (name && name[0])
        cJSON_AddStringToObject(d, "name", name);
    if (group[0])
        cJSON_AddStringToObject(d, "group", group);
    cJSON_AddStringToObject(d, "kind", kind);
    cJSON *causes = cJSON_AddArrayToObject(d, "causes");
    cJSON *cause = cJSON_CreateObject();
    cJSON_AddStringToObject(cause, "reason", cause_reason);
    cJSON_AddStringToObject(cause, "message", detail);
    cJSON_AddStringToObject(cause, "field", field);
    cJSON_AddItemToArray(causes, cause);
    cJSON_AddItemToObject(st, "details", d);
    return st;
}

cJSON *status_invalid(const struct kinds_info *k, const char *name, const char *field,
                      const char *cause_reason, const char *detail)
{
    /* the apiserver qualifies the kind with its group: `PodDisruptionBudget.policy "x" is invalid`
     */
    return status_invalid_kind(k->kind, k->group, name, field, cause_reason, detail);
}

int status_code(const cJSON *st)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "code");
    return cJSON_IsNumber(c) ? c->valueint : 500;
}
