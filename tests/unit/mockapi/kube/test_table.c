/* test_table.c -- Table documents, kube's printer cells (pod status rules), AGE formatting */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/kinds.h"
#include "mockapi/kube/table.h"

#define NOW 1704067200LL /* 2024-01-01T00:00:00Z */

/* kubectl get's Accept (1.29 and 1.32 send the same one, kube-wire.md section 3). */
#define ACCEPT_GET                                                                                 \
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s." \
    "io,application/json"

static void assert_json(const cJSON *item, const char *want)
{
    char *got;

    assert_non_null(item);
    got = cJSON_PrintUnformatted(item);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static cJSON *field(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    assert_non_null(v);
    return v;
}

static cJSON *parse(const char *text)
{
    cJSON *obj = cJSON_Parse(text);

    assert_non_null(obj);
    return obj;
}

static const struct kinds_info *kind(enum kinds_id id)
{
    return &kinds_table[id];
}

/* The cells of the only row of a one-object Table. */
static void assert_cells(enum kinds_id id, const char *object, int wide, const char *want)
{
    cJSON *obj = parse(object);
    cJSON *table = table_from_object(kind(id), obj, NULL, NOW, wide);
    cJSON *rows;

    assert_non_null(table);
    rows = field(table, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 1);
    assert_json(field(cJSON_GetArrayItem(rows, 0), "cells"), want);
    cJSON_Delete(table);
    cJSON_Delete(obj);
}

/* The column names of a Table for kind id, joined with "|". */
static void assert_columns(enum kinds_id id, int wide, const char *want)
{
    cJSON *table = table_from_list(kind(id), NULL, "1", NOW, wide);
    cJSON *def;
    char got[512] = "";

    assert_non_null(table);
    cJSON_ArrayForEach(def, field(table, "columnDefinitions"))
    {
        size_t used = strlen(got);

        snprintf(got + used, sizeof(got) - used, "%s%s", used > 0 ? "|" : "",
                 field(def, "name")->valuestring);
    }
    assert_string_equal(got, want);
    cJSON_Delete(table);
}

#define RUNNING_POD                                                                                \
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p1\",\"namespace\":"         \
    "\"default\",\"uid\":\"u1\",\"resourceVersion\":\"101\",\"creationTimestamp\":\"2023-12-"      \
    "31T23:59:55Z\",\"labels\":{\"run\":\"p1\"}},\"spec\":{\"containers\":[{\"name\":\"main\","    \
    "\"image\":\"busybox\"}],\"nodeName\":\"node1\"},\"status\":{\"phase\":\"Running\","           \
    "\"podIP\":\"10.0.0.5\",\"podIPs\":[{\"ip\":\"10.0.0.5\"}],\"conditions\":[{\"type\":"         \
    "\"Ready\",\"status\":\"True\"}],\"containerStatuses\":[{\"name\":\"main\",\"ready\":true,"    \
    "\"restartCount\":0,\"state\":{\"running\":{\"startedAt\":\"2023-12-31T23:59:56Z\"}}}]}}"

static void test_wanted(void **state)
{
    (void)state;
    assert_int_equal(table_wanted(ACCEPT_GET), 1);
    assert_int_equal(table_wanted(TABLE_CONTENT_TYPE), 1);
    assert_int_equal(table_wanted("application/json; g=meta.k8s.io; as=Table; v=v1"), 1);
    assert_int_equal(table_wanted("application/json"), 0);
    assert_int_equal(table_wanted("application/json, */*"), 0);
    assert_int_equal(table_wanted("application/json;as=Table;v=v1beta1;g=meta.k8s.io"), 0);
    assert_int_equal(table_wanted("application/json;as=Table;v=v1"), 0);
    assert_int_equal(table_wanted("application/yaml;as=Table;v=v1;g=meta.k8s.io"), 0);
    assert_int_equal(table_wanted(""), 0);
    assert_int_equal(table_wanted(NULL), 0);
    /* aggregated discovery's Accept is not a Table request */
    assert_int_equal(
        table_wanted("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"), 0);
}

static void test_duration(void **state)
{
    static const struct {
        long long seconds;
        const char *want;
    } cases[] = {
        {-5, "<invalid>"},
        {-2, "<invalid>"},
        {-1, "0s"},
        {0, "0s"},
        {5, "5s"},
        {59, "59s"},
        {60, "60s"},
        {119, "119s"},
        {120, "2m"},
        {121, "2m1s"},
        {182, "3m2s"},
        {599, "9m59s"},
        {600, "10m"},
        {601, "10m"},
        {10799, "179m"},
        {10800, "3h"},
        {10860, "3h1m"},
        {28799, "7h59m"},
        {28800, "8h"},
        {28860, "8h"},
        {172799, "47h"},
        {172800, "2d"},
        {183600, "2d3h"},
        {691199, "7d23h"},
        {691200, "8d"},
        {730LL * 86400 - 1, "729d"},
        {730LL * 86400, "2y"},
        {745LL * 86400, "2y15d"},
        {8LL * 365 * 86400 - 1, "7y364d"},
        {8LL * 365 * 86400, "8y"},
        {3650LL * 86400 + 5000, "10y"},
    };
    char buf[TABLE_DURATION_SIZE];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(table_duration(cases[i].seconds, buf, sizeof(buf)), cases[i].want);
}

static void test_table_shape(void **state)
{
    cJSON *pod = parse(RUNNING_POD);
    cJSON *items = cJSON_CreateArray();
    cJSON *table;
    cJSON *def;
    cJSON *row;

    (void)state;
    assert_true(cJSON_AddItemReferenceToArray(items, pod));
    table = table_from_list(kind(KIND_pods), items, "102", NOW, 1);
    assert_non_null(table);
    assert_json(field(table, "kind"), "\"Table\"");
    assert_json(field(table, "apiVersion"), "\"meta.k8s.io/v1\"");
    assert_json(field(table, "metadata"), "{\"resourceVersion\":\"102\"}");
    assert_int_equal(cJSON_GetArraySize(field(table, "columnDefinitions")), 9);
    def = cJSON_GetArrayItem(field(table, "columnDefinitions"), 0);
    assert_json(def, "{\"name\":\"Name\",\"type\":\"string\",\"format\":\"name\",\"description\":"
                     "\"Name of the object, unique in its namespace.\",\"priority\":0}");
    def = cJSON_GetArrayItem(field(table, "columnDefinitions"), 5);
    assert_json(field(def, "name"), "\"IP\"");
    assert_json(field(def, "format"), "\"\"");
    assert_json(field(def, "priority"), "1");

    row = cJSON_GetArrayItem(field(table, "rows"), 0);
    assert_json(field(row, "cells"),
                "[\"p1\",\"1/1\",\"Running\",\"0\",\"5s\",\"10.0.0.5\",\"node1\",\"<none>\","
                "\"<none>\"]");
    assert_null(cJSON_GetObjectItem(row, "conditions"));
    assert_json(field(field(row, "object"), "kind"), "\"PartialObjectMetadata\"");
    assert_json(field(field(row, "object"), "apiVersion"), "\"meta.k8s.io/v1\"");
    assert_true(cJSON_Compare(field(field(row, "object"), "metadata"), field(pod, "metadata"), 1));
    assert_null(cJSON_GetObjectItem(field(row, "object"), "spec"));
    cJSON_Delete(table);

    /* Without wide: the priority-1 columns and cells go, as kube's GenerateTable drops them. */
    table = table_from_list(kind(KIND_pods), items, NULL, NOW, 0);
    assert_json(field(table, "metadata"), "{}");
    assert_int_equal(cJSON_GetArraySize(field(table, "columnDefinitions")), 5);
    assert_json(field(cJSON_GetArrayItem(field(table, "rows"), 0), "cells"),
                "[\"p1\",\"1/1\",\"Running\",\"0\",\"5s\"]");
    cJSON_Delete(table);

    /* No items: no rows; one object: its own resourceVersion unless told otherwise. */
    table = table_from_list(kind(KIND_pods), NULL, "7", NOW, 1);
    assert_json(field(table, "rows"), "[]");
    cJSON_Delete(table);
    table = table_from_object(kind(KIND_pods), pod, NULL, NOW, 1);
    assert_json(field(table, "metadata"), "{\"resourceVersion\":\"101\"}");
    cJSON_Delete(table);
    table = table_from_object(kind(KIND_pods), pod, "205", NOW, 1);
    assert_json(field(table, "metadata"), "{\"resourceVersion\":\"205\"}");
    cJSON_Delete(table);

    assert_null(table_from_object(NULL, pod, NULL, NOW, 1));
    assert_null(table_from_object(kind(KIND_pods), NULL, NULL, NOW, 1));
    assert_null(table_from_list(NULL, items, NULL, NOW, 1));
    cJSON_Delete(items);
    cJSON_Delete(pod);
}

static void test_columns(void **state)
{
    (void)state;
    assert_columns(KIND_pods, 1,
                   "Name|Ready|Status|Restarts|Age|IP|Node|Nominated Node|Readiness Gates");
    assert_columns(KIND_namespaces, 1, "Name|Status|Age");
    assert_columns(KIND_secrets, 1, "Name|Type|Data|Age");
    assert_columns(KIND_configmaps, 1, "Name|Data|Age");
    assert_columns(KIND_services, 1, "Name|Type|Cluster-IP|External-IP|Port(s)|Age|Selector");
    assert_columns(KIND_services, 0, "Name|Type|Cluster-IP|External-IP|Port(s)|Age");
    assert_columns(KIND_serviceaccounts, 1, "Name|Secrets|Age");
    assert_columns(KIND_events, 0, "Last Seen|Type|Reason|Object|Message");
    assert_columns(KIND_events, 1,
                   "Last Seen|Type|Reason|Object|Subobject|Source|Message|First Seen|Count|Name");
    assert_columns(KIND_nodes, 0, "Name|Status|Roles|Age|Version");
    assert_columns(KIND_poddisruptionbudgets, 1,
                   "Name|Min Available|Max Unavailable|Allowed Disruptions|Age");
    assert_columns(KIND_selfsubjectaccessreviews, 1, "Name|Age");
}

static void test_pod_pending_waiting(void **state)
{
    (void)state;
    assert_cells(
        KIND_pods,
        "{\"metadata\":{\"name\":\"p2\",\"creationTimestamp\":\"2023-12-31T23:58:55Z\"},"
        "\"spec\":{\"containers\":[{\"name\":\"main\"}]},\"status\":{\"phase\":"
        "\"Pending\",\"containerStatuses\":[{\"name\":\"main\",\"ready\":false,"
        "\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}}",
        1,
        "[\"p2\",\"0/1\",\"ContainerCreating\",\"0\",\"65s\",\"<none>\",\"<none>\","
        "\"<none>\",\"<none>\"]");
    /* Not scheduled yet: no statuses, the phase shows. */
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"p3\",\"creationTimestamp\":\"2023-12-31T23:50:00Z\"},"
                 "\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
                 "\"status\":{\"phase\":\"Pending\"}}",
                 0, "[\"p3\",\"0/2\",\"Pending\",\"0\",\"10m\"]");
    /* The last container's waiting reason wins (kube walks them backwards, so the first). */
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"p4\",\"creationTimestamp\":\"2023-12-31T23:56:58Z\"},"
                 "\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},\"status\":{"
                 "\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"a\",\"state\":{"
                 "\"waiting\":{\"reason\":\"ImagePullBackOff\"}}},{\"name\":\"b\",\"ready\":true,"
                 "\"state\":{\"running\":{}}}]}}",
                 0, "[\"p4\",\"1/2\",\"ImagePullBackOff\",\"0\",\"3m2s\"]");
}

static void test_pod_restarts_and_endings(void **state)
{
    (void)state;
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"crash\",\"creationTimestamp\":\"2023-12-29T21:00:"
                 "00Z\"},\"spec\":{\"containers\":[{\"name\":\"main\"}]},\"status\":{\"phase\":"
                 "\"Running\",\"containerStatuses\":[{\"name\":\"main\",\"ready\":false,"
                 "\"restartCount\":3,\"lastState\":{\"terminated\":{\"exitCode\":1,\"finishedAt\":"
                 "\"2023-12-31T23:58:55Z\"}},\"state\":{\"waiting\":{\"reason\":"
                 "\"CrashLoopBackOff\"}}}]}}",
                 0, "[\"crash\",\"0/1\",\"CrashLoopBackOff\",\"3 (65s ago)\",\"2d3h\"]");
    /* Terminated without a reason: the exit code or signal. */
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":[{\"name\":\"m\"}]},"
                 "\"status\":{\"phase\":\"Failed\",\"containerStatuses\":[{\"name\":\"m\","
                 "\"state\":{\"terminated\":{\"exitCode\":3}}}]}}",
                 0, "[\"x\",\"0/1\",\"ExitCode:3\",\"0\",\"<unknown>\"]");
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":[{\"name\":\"m\"}]},"
                 "\"status\":{\"phase\":\"Failed\",\"containerStatuses\":[{\"name\":\"m\","
                 "\"state\":{\"terminated\":{\"exitCode\":137,\"signal\":9}}}]}}",
                 0, "[\"x\",\"0/1\",\"Signal:9\",\"0\",\"<unknown>\"]");
    /* Deleting a running pod shows Terminating; a finished one keeps its reason. */
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"t\",\"deletionTimestamp\":\"2023-12-31T23:59:59Z\"},"
                 "\"spec\":{\"containers\":[{\"name\":\"m\"}]},\"status\":{\"phase\":\"Running\","
                 "\"containerStatuses\":[{\"name\":\"m\",\"ready\":true,\"state\":{\"running\":{}}}"
                 "]}}",
                 0, "[\"t\",\"1/1\",\"Terminating\",\"0\",\"<unknown>\"]");
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"t\",\"deletionTimestamp\":\"2023-12-31T23:59:59Z\"},"
                 "\"spec\":{\"containers\":[{\"name\":\"m\"}]},\"status\":{\"phase\":"
                 "\"Succeeded\",\"containerStatuses\":[{\"name\":\"m\",\"state\":{\"terminated\":"
                 "{\"exitCode\":0,\"reason\":\"Completed\"}}}]}}",
                 0, "[\"t\",\"0/1\",\"Completed\",\"0\",\"<unknown>\"]");
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"t\",\"deletionTimestamp\":\"2023-12-31T23:59:59Z\"},"
                 "\"spec\":{\"containers\":[{\"name\":\"m\"}]},\"status\":{\"phase\":\"Running\","
                 "\"reason\":\"NodeLost\"}}",
                 0, "[\"t\",\"0/1\",\"Unknown\",\"0\",\"<unknown>\"]");
    /* status.reason overrides the phase (Evicted); SchedulingGated from the condition. */
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"e\"},\"spec\":{\"containers\":[{\"name\":\"m\"}]},"
                 "\"status\":{\"phase\":\"Failed\",\"reason\":\"Evicted\"}}",
                 0, "[\"e\",\"0/1\",\"Evicted\",\"0\",\"<unknown>\"]");
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"g\"},\"spec\":{\"containers\":[{\"name\":\"m\"}]},"
                 "\"status\":{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\","
                 "\"status\":\"False\",\"reason\":\"SchedulingGated\"}]}}",
                 0, "[\"g\",\"0/1\",\"SchedulingGated\",\"0\",\"<unknown>\"]");
    /* Completed container next to a running one: Running when the pod is Ready. */
    assert_cells(
        KIND_pods,
        "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"containers\":[{\"name\":\"a\"},{"
        "\"name\":\"b\"}]},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
        "\"Ready\",\"status\":\"False\"}],\"containerStatuses\":[{\"name\":\"a\",\"state\":"
        "{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}},{\"name\":\"b\","
        "\"ready\":true,\"state\":{\"running\":{}}}]}}",
        0, "[\"c\",\"1/2\",\"NotReady\",\"0\",\"<unknown>\"]");
}

static void test_pod_row_conditions(void **state)
{
    cJSON *pod = parse("{\"metadata\":{\"name\":\"done\"},\"spec\":{\"containers\":[{\"name\":"
                       "\"m\"}]},\"status\":{\"phase\":\"Succeeded\"}}");
    cJSON *table = table_from_object(kind(KIND_pods), pod, NULL, NOW, 0);

    (void)state;
    assert_json(field(cJSON_GetArrayItem(field(table, "rows"), 0), "conditions"),
                "[{\"type\":\"Completed\",\"status\":\"True\",\"reason\":\"Succeeded\","
                "\"message\":\"The pod has completed successfully.\"}]");
    cJSON_Delete(table);
    cJSON_Delete(pod);
}

static void test_pod_init_containers(void **state)
{
    (void)state;
    /* First init container done, second running: Init:1/2. */
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"i\"},\"spec\":{\"initContainers\":[{\"name\":\"i1\"},"
                 "{\"name\":\"i2\"}],\"containers\":[{\"name\":\"m\"}]},\"status\":{\"phase\":"
                 "\"Pending\",\"initContainerStatuses\":[{\"name\":\"i1\",\"state\":{"
                 "\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}},{\"name\":\"i2\","
                 "\"state\":{\"running\":{}}}],\"containerStatuses\":[{\"name\":\"m\",\"state\":{"
                 "\"waiting\":{\"reason\":\"PodInitializing\"}}}]}}",
                 0, "[\"i\",\"0/1\",\"Init:1/2\",\"0\",\"<unknown>\"]");
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"i\"},\"spec\":{\"initContainers\":[{\"name\":\"i1\"}],"
                 "\"containers\":[{\"name\":\"m\"}]},\"status\":{\"phase\":\"Pending\","
                 "\"initContainerStatuses\":[{\"name\":\"i1\",\"restartCount\":2,\"state\":{"
                 "\"waiting\":{\"reason\":\"ErrImagePull\"}}}]}}",
                 0, "[\"i\",\"0/1\",\"Init:ErrImagePull\",\"2\",\"<unknown>\"]");
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"i\"},\"spec\":{\"initContainers\":[{\"name\":\"i1\"}],"
                 "\"containers\":[{\"name\":\"m\"}]},\"status\":{\"phase\":\"Pending\","
                 "\"initContainerStatuses\":[{\"name\":\"i1\",\"state\":{\"terminated\":{"
                 "\"exitCode\":1}}}]}}",
                 0, "[\"i\",\"0/1\",\"Init:ExitCode:1\",\"0\",\"<unknown>\"]");
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"i\"},\"spec\":{\"initContainers\":[{\"name\":\"i1\"}],"
                 "\"containers\":[{\"name\":\"m\"}]},\"status\":{\"phase\":\"Pending\","
                 "\"initContainerStatuses\":[{\"name\":\"i1\",\"state\":{\"terminated\":{"
                 "\"exitCode\":2,\"reason\":\"Error\"}}}]}}",
                 0, "[\"i\",\"0/1\",\"Init:Error\",\"0\",\"<unknown>\"]");
    /* A started sidecar (restartPolicy Always) counts as a container and lets the pod run. */
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"initContainers\":[{\"name\":\"side\","
                 "\"restartPolicy\":\"Always\"}],\"containers\":[{\"name\":\"m\"}]},\"status\":{"
                 "\"phase\":\"Running\",\"conditions\":[{\"type\":\"Initialized\",\"status\":"
                 "\"True\"}],\"initContainerStatuses\":[{\"name\":\"side\",\"started\":true,"
                 "\"ready\":true,\"restartCount\":1,\"state\":{\"running\":{}}}],"
                 "\"containerStatuses\":[{\"name\":\"m\",\"ready\":true,\"state\":{\"running\":{}"
                 "}}]}}",
                 0, "[\"s\",\"2/2\",\"Running\",\"1\",\"<unknown>\"]");
}

static void test_pod_wide(void **state)
{
    (void)state;
    assert_cells(KIND_pods,
                 "{\"metadata\":{\"name\":\"w\"},\"spec\":{\"containers\":[{\"name\":\"m\"}],"
                 "\"readinessGates\":[{\"conditionType\":\"g1\"},{\"conditionType\":\"g2\"}]},"
                 "\"status\":{\"phase\":\"Pending\",\"podIP\":\"10.1.1.1\",\"nominatedNodeName\":"
                 "\"n2\",\"conditions\":[{\"type\":\"g1\",\"status\":\"True\"},{\"type\":\"g2\","
                 "\"status\":\"False\"}]}}",
                 1,
                 "[\"w\",\"0/1\",\"Pending\",\"0\",\"<unknown>\",\"10.1.1.1\",\"<none>\","
                 "\"n2\",\"1/2\"]");
}

static void test_other_kinds(void **state)
{
    (void)state;
    assert_cells(KIND_namespaces,
                 "{\"metadata\":{\"name\":\"default\",\"creationTimestamp\":\"2023-12-31T23:50:"
                 "00Z\"},\"status\":{\"phase\":\"Active\"}}",
                 1, "[\"default\",\"Active\",\"10m\"]");
    assert_cells(KIND_secrets,
                 "{\"metadata\":{\"name\":\"s1\",\"creationTimestamp\":\"2023-12-31T23:56:58Z\"},"
                 "\"type\":\"Opaque\",\"data\":{\"a\":\"eA==\",\"b\":\"eQ==\"}}",
                 1, "[\"s1\",\"Opaque\",2,\"3m2s\"]");
    assert_cells(KIND_configmaps,
                 "{\"metadata\":{\"name\":\"c1\",\"creationTimestamp\":\"2023-12-31T23:59:55Z\"},"
                 "\"data\":{\"a\":\"x\"},\"binaryData\":{\"b\":\"eQ==\"}}",
                 1, "[\"c1\",2,\"5s\"]");
    assert_cells(KIND_configmaps, "{\"metadata\":{\"name\":\"c2\"}}", 1,
                 "[\"c2\",0,\"<unknown>\"]");
    assert_cells(KIND_serviceaccounts,
                 "{\"metadata\":{\"name\":\"default\",\"creationTimestamp\":\"2023-12-31T23:59:"
                 "55Z\"},\"secrets\":[{\"name\":\"t\"}]}",
                 1, "[\"default\",1,\"5s\"]");
    assert_cells(KIND_poddisruptionbudgets,
                 "{\"metadata\":{\"name\":\"pdb\"},\"spec\":{\"minAvailable\":1},\"status\":{"
                 "\"disruptionsAllowed\":2}}",
                 1, "[\"pdb\",\"1\",\"N/A\",2,\"<unknown>\"]");
    assert_cells(KIND_poddisruptionbudgets,
                 "{\"metadata\":{\"name\":\"pdb\"},\"spec\":{\"maxUnavailable\":\"50%\"}}", 1,
                 "[\"pdb\",\"N/A\",\"50%\",0,\"<unknown>\"]");
    assert_cells(KIND_selfsubjectaccessreviews,
                 "{\"metadata\":{\"name\":\"r\",\"creationTimestamp\":\"2023-12-31T23:59:55Z\"}}",
                 1, "[\"r\",\"5s\"]");
}

static void test_services(void **state)
{
    (void)state;
    assert_cells(KIND_services,
                 "{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2023-12-31T23:50:00Z\"},"
                 "\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.0.10\",\"clusterIPs\":["
                 "\"10.96.0.10\"],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"},{\"port\":53,"
                 "\"protocol\":\"UDP\"}],\"selector\":{\"tier\":\"fe\",\"app\":\"web\"}}}",
                 1,
                 "[\"web\",\"ClusterIP\",\"10.96.0.10\",\"<none>\",\"80/TCP,53/UDP\",\"10m\","
                 "\"app=web,tier=fe\"]");
    assert_cells(KIND_services,
                 "{\"metadata\":{\"name\":\"np\"},\"spec\":{\"type\":\"NodePort\",\"clusterIP\":"
                 "\"10.96.0.11\",\"externalIPs\":[\"1.2.3.4\"],\"ports\":[{\"port\":443,"
                 "\"nodePort\":30443}]}}",
                 1,
                 "[\"np\",\"NodePort\",\"10.96.0.11\",\"1.2.3.4\",\"443:30443/TCP\","
                 "\"<unknown>\",\"<none>\"]");
    assert_cells(KIND_services,
                 "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":\"LoadBalancer\","
                 "\"clusterIPs\":[\"10.96.0.12\"]}}",
                 0,
                 "[\"lb\",\"LoadBalancer\",\"10.96.0.12\",\"<pending>\",\"<none>\","
                 "\"<unknown>\"]");
    assert_cells(KIND_services,
                 "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":\"LoadBalancer\"},\"status\":"
                 "{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.20\"},{\"hostname\":"
                 "\"a-very-long-host.example.com\"}]}}}",
                 0,
                 "[\"lb\",\"LoadBalancer\",\"<none>\",\"203.0.113.20,...\",\"<none>\","
                 "\"<unknown>\"]");
    assert_cells(KIND_services,
                 "{\"metadata\":{\"name\":\"ext\"},\"spec\":{\"type\":\"ExternalName\","
                 "\"externalName\":\"db.example.com\",\"clusterIPs\":[\"None\"]}}",
                 0,
                 "[\"ext\",\"ExternalName\",\"None\",\"db.example.com\",\"<none>\","
                 "\"<unknown>\"]");
}

static void test_events(void **state)
{
    static const char *const event =
        "{\"metadata\":{\"name\":\"p1.17a\"},\"type\":\"Warning\",\"reason\":\"BackOff\","
        "\"message\":\"  Back-off restarting failed container\\n\",\"involvedObject\":{\"kind\":"
        "\"Pod\",\"name\":\"p1\",\"fieldPath\":\"spec.containers{main}\"},\"source\":{"
        "\"component\":\"kubelet\",\"host\":\"node1\"},\"firstTimestamp\":\"2023-12-31T23:50:00Z\","
        "\"lastTimestamp\":\"2023-12-31T23:59:30Z\",\"count\":5}";

    (void)state;
    assert_cells(KIND_events, event, 0,
                 "[\"30s\",\"Warning\",\"BackOff\",\"pod/p1\",\"Back-off restarting failed "
                 "container\"]");
    assert_cells(KIND_events, event, 1,
                 "[\"30s\",\"Warning\",\"BackOff\",\"pod/p1\",\"spec.containers{main}\","
                 "\"kubelet, node1\",\"Back-off restarting failed container\",\"10m\",5,"
                 "\"p1.17a\"]");
    /* events.k8s.io style: eventTime only, no count, reporting controller as source. */
    assert_cells(KIND_events,
                 "{\"metadata\":{\"name\":\"e\"},\"type\":\"Normal\",\"reason\":\"Scheduled\","
                 "\"message\":\"ok\",\"involvedObject\":{\"kind\":\"Node\"},\"eventTime\":\"2023-"
                 "12-31T23:59:55.123456Z\",\"reportingComponent\":\"default-scheduler\"}",
                 1,
                 "[\"5s\",\"Normal\",\"Scheduled\",\"node\",\"\",\"default-scheduler\",\"ok\","
                 "\"5s\",1,\"e\"]");
    /* A series carries the last time and the count. */
    assert_cells(KIND_events,
                 "{\"metadata\":{\"name\":\"e\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":"
                 "\"p\"},\"firstTimestamp\":\"2023-12-31T23:50:00Z\",\"series\":{\"count\":7,"
                 "\"lastObservedTime\":\"2023-12-31T23:59:55.000000Z\"}}",
                 1, "[\"5s\",\"\",\"\",\"pod/p\",\"\",\"\",\"\",\"10m\",7,\"e\"]");
}

static void test_nodes(void **state)
{
    (void)state;
    assert_cells(KIND_nodes,
                 "{\"metadata\":{\"name\":\"node1\",\"creationTimestamp\":\"2023-12-29T21:00:00Z\","
                 "\"labels\":{\"node-role.kubernetes.io/worker\":\"\",\"node-role.kubernetes.io/"
                 "control-plane\":\"\",\"kubernetes.io/role\":\"worker\",\"kubernetes.io/os\":"
                 "\"linux\"}},\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":[{"
                 "\"type\":\"MemoryPressure\",\"status\":\"False\"},{\"type\":\"Ready\","
                 "\"status\":\"True\"}],\"addresses\":[{\"type\":\"InternalIP\",\"address\":"
                 "\"192.168.0.2\"},{\"type\":\"Hostname\",\"address\":\"node1\"}],\"nodeInfo\":{"
                 "\"kubeletVersion\":\"v1.32.0\",\"osImage\":\"Debian GNU/Linux 12\"}}}",
                 1,
                 "[\"node1\",\"Ready,SchedulingDisabled\",\"control-plane,worker\",\"2d3h\","
                 "\"v1.32.0\",\"192.168.0.2\",\"<none>\",\"Debian GNU/Linux 12\","
                 "\"<unknown>\",\"<unknown>\"]");
    assert_cells(KIND_nodes,
                 "{\"metadata\":{\"name\":\"n2\"},\"status\":{\"conditions\":[{\"type\":"
                 "\"Ready\",\"status\":\"Unknown\"}]}}",
                 0, "[\"n2\",\"NotReady\",\"<none>\",\"<unknown>\",\"\"]");
    assert_cells(KIND_nodes, "{\"metadata\":{\"name\":\"n3\"}}", 0,
                 "[\"n3\",\"Unknown\",\"<none>\",\"<unknown>\",\"\"]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wanted),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_table_shape),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_pod_pending_waiting),
        cmocka_unit_test(test_pod_restarts_and_endings),
        cmocka_unit_test(test_pod_row_conditions),
        cmocka_unit_test(test_pod_init_containers),
        cmocka_unit_test(test_pod_wide),
        cmocka_unit_test(test_other_kinds),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_nodes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
