/* fuzz_selector.c -- libFuzzer target: label and field selectors (mockapi/kube/selector.c), the
 * labelSelector and fieldSelector query values of list and watch requests.
 *
 * Input: byte 0 picks label or field selector (bit 0) and the kind (the rest); the remaining bytes
 * are the selector text (cut at a NUL, as a query value cannot hold one). Checks: a parsed selector
 * matches the sample objects without crashing, ksel_exact_name() is NULL for label selectors, and
 * parsing is deterministic (the same text parses the same way twice, with the same error). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {
    "Pod",       "Event", "Secret", "Namespace", "Node", "Service", "ReplicationController",
    "ConfigMap", NULL};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static const char *const samples[] = {
    "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"labels\":"
    "{\"app\":\"web\",\"tier\":\"1\",\"x.io/y\":\"z\",\"n\":5}},\"spec\":{\"nodeName\":"
    "\"kubefault-node\",\"restartPolicy\":\"Always\",\"hostNetwork\":false,\"schedulerName\":"
    "\"default-scheduler\",\"serviceAccountName\":\"default\"},\"status\":{\"phase\":\"Running\","
    "\"podIP\":\"10.0.0.1\",\"nominatedNodeName\":\"\"}}",
    "{\"kind\":\"Event\",\"metadata\":{\"name\":\"e\",\"namespace\":\"default\"},"
    "\"involvedObject\":"
    "{\"kind\":\"Pod\",\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u\",\"resourceVersion\":"
    "\"3\",\"fieldPath\":\"spec.containers{c}\",\"apiVersion\":\"v1\"},\"reason\":\"Started\","
    "\"type\":\"Normal\",\"source\":{\"component\":\"kubelet\",\"host\":\"n\"},\"count\":2}",
    "{\"kind\":\"Node\",\"metadata\":{\"name\":\"kubefault-node\",\"labels\":{}},\"spec\":"
    "{\"unschedulable\":true}}",
    "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"kube-system\"},\"type\":"
    "\"Opaque\"}",
    "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"default\"},\"status\":{\"phase\":\"Active\"}"
    "}",
    "{\"metadata\":7}",
    "[]",
};
#define NSAMPLES (sizeof samples / sizeof samples[0])

static cJSON *objs[NSAMPLES];

static struct ksel *parse(int fields, const char *text, const char *kind, char *err, size_t len)
{
    return fields ? ksel_parse_fields(text, kind, err, len) : ksel_parse_labels(text, err, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!objs[0])
        for (size_t i = 0; i < NSAMPLES; i++)
            if (!(objs[i] = cJSON_Parse(samples[i])))
                abort();
    int fields = data[0] & 1;
    const char *kind = kinds[(data[0] >> 1) % NKINDS];
    char *text = malloc(size);
    if (!text)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    char err1[512] = "", err2[512] = "";
    struct ksel *a = parse(fields, text, kind, err1, sizeof err1);
    struct ksel *b = parse(fields, text, kind, err2, sizeof err2);
    if (!a != !b || (!a && strcmp(err1, err2) != 0) || (!a && !err1[0])) {
        fprintf(stderr, "fuzz_selector: \"%s\" parses differently twice (\"%s\" / \"%s\")\n", text,
                err1, err2);
        abort();
    }
    if (a) {
        for (size_t i = 0; i < NSAMPLES; i++)
            if (ksel_match(a, objs[i]) != ksel_match(b, objs[i])) {
                fprintf(stderr, "fuzz_selector: \"%s\" matches sample %zu differently\n", text, i);
                abort();
            }
        const char *name = ksel_exact_name(a);
        if (!fields && name) {
            fprintf(stderr, "fuzz_selector: label selector \"%s\" has an exact name\n", text);
            abort();
        }
        if (name)
            (void)strlen(name);
        (void)ksel_empty(a);
    }
    ksel_free(a);
    ksel_free(b);
    free(text);
    return 0;
}
