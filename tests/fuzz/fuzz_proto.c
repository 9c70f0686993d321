/* fuzz_proto.c -- libFuzzer target: the Kubernetes protobuf decoder (mockapi/kube/proto.c), what
 * client-go sends with Content-Type application/vnd.kubernetes.protobuf ("k8s\0" +
 * runtime.Unknown).
 *
 * Input: a whole request body. Checks: kproto_decode() returns an object carrying apiVersion and
 * kind with an empty error, or NULL with a message; the object prints as JSON that reads back and
 * prints the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    cJSON *obj = kproto_decode(data, size, err, sizeof err);
    if (!obj) {
        if (!err[0]) {
            fprintf(stderr, "fuzz_proto: failed without a message\n");
            abort();
        }
        return 0;
    }
    if (err[0] || !cJSON_IsObject(obj) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "kind"))) {
        fprintf(stderr, "fuzz_proto: decoded without apiVersion and kind (err \"%s\")\n", err);
        abort();
    }
    char *text = cJSON_PrintUnformatted(obj);
    cJSON *back = text ? cJSON_Parse(text) : NULL;
    char *again = back ? cJSON_PrintUnformatted(back) : NULL;
    if (!again || strcmp(text, again) != 0) {
        fprintf(stderr,
                "fuzz_proto: the decoded object does not print as JSON that reads back: %s\n",
                text ? text : "(no text)");
        abort();
    }
    cJSON_free(again);
    cJSON_Delete(back);
    cJSON_free(text);
    cJSON_Delete(obj);
    return 0;
}
