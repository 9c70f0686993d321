/* fuzz_patch.c -- libFuzzer target: PATCH bodies applied to stored objects
 * (mockapi/kube/patch.c): JSON merge patch, JSON patch and strategic merge patch, on any object.
 *
 * Input: byte 0 picks the patch type (0-2, mod 3) and byte 1 the kind whose merge keys apply; the
 * rest is "TARGET\0PATCH" (two JSON texts), or just PATCH, applied to a sample pod. Checks, as
 * patch.h promises: a failed patch leaves the target unchanged and returns a kpatch_status with a
 * message; a patched object prints as JSON that reads back the same (compared as printed text:
 * cJSON turns an infinity into null, and no NaN compares equal). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {"Pod",    "Service", "Node", "ConfigMap", "PodDisruptionBudget",
                                    "Secret", "Event",   NULL};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static const char sample_pod[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":"
    "\"default\","
    "\"labels\":{\"a\":\"b\"},\"finalizers\":[\"x\",\"y\"],\"ownerReferences\":[{\"uid\":\"u1\","
    "\"kind\":\"Job\",\"name\":\"j\"}]},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\","
    "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}],\"ports\":"
    "[{\"containerPort\":80,\"protocol\":\"TCP\"}],\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":"
    "\"/v\"}]},{\"name\":\"d\",\"image\":\"j\"}],\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}],"
    "\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\"}]},\"status\":{\"conditions\":"
    "[{\"type\":\"Ready\",\"status\":\"True\"}],\"phase\":\"Running\"}}";

/* Print v (caller frees), aborting when it cannot. */
static char *print(const cJSON *v)
{
    char *t = cJSON_PrintUnformatted(v);
    if (!t)
        abort();
    return t;
}

/* Parse n bytes (not NUL-terminated) as JSON, or NULL. */
static cJSON *parse(const uint8_t *p, size_t n)
{
    return cJSON_ParseWithLength((const char *)p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int type = data[0] % 3;
    const char *kind = kinds[data[1] % NKINDS];
    const uint8_t *rest = data + 2;
    size_t n = size - 2;
    const uint8_t *nul = memchr(rest, '\0', n);
    cJSON *target = nul ? parse(rest, (size_t)(nul - rest)) : cJSON_Parse(sample_pod);
    cJSON *patch = nul ? parse(nul + 1, n - (size_t)(nul - rest) - 1) : parse(rest, n);
    if (!target || !patch)
        goto out;
    char *before = print(target);
    char err[1024] = "";
    int rc = type == 0   ? kpatch_merge(target, patch, err, sizeof err)
             : type == 1 ? kpatch_json(target, patch, err, sizeof err)
                         : kpatch_strategic(target, patch, kind, err, sizeof err);
    if (rc != KPATCH_OK) {
        char *after = print(target);
        if (rc < KPATCH_EINTERNAL || !err[0] || strcmp(before, after) != 0) {
            fprintf(stderr, "fuzz_patch: failed patch (type %d, rc %d, \"%s\") %s\n", type, rc, err,
                    err[0] ? "changed the target" : "has no message");
            abort();
        }
        cJSON_free(after);
    } else {
        char *text = print(target);
        cJSON *back = cJSON_Parse(text);
        char *again = back ? print(back) : NULL;
        if (!again || strcmp(text, again) != 0) {
            fprintf(stderr, "fuzz_patch: the patched object does not read back: %s\n", text);
            abort();
        }
        cJSON_free(again);
        cJSON_Delete(back);
        cJSON_free(text);
    }
    cJSON_free(before);
out:
    cJSON_Delete(target);
    cJSON_Delete(patch);
    return 0;
}
