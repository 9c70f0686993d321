/* test_it_pods.c -- the pod-script layer over real sockets with libcurl, through a real engine
 * built from scenario text on the server thread: what a client reads of each script as the pod
 * JSON (phase, status.conditions, container and init-container statuses with their waiting
 * reasons and messages, node and IPs), the events list (type, reason, message, source, count or
 * the events.k8s.io shape of kube-scheduler's), watch events in the scripted order, 404 after a
 * scripted delete, and every timing bounded (never early, late by at most SLACK_MS); and the
 * cluster's scheduler primitive driven by hand: FailedScheduling events aggregated into a series
 * as client-go's events broadcaster does, notes cut at 1024 bytes; at most CLUSTER_MAX_EVENTS
 * Events kept, the oldest deleted first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "itest.h"
#include "mockapi/kube/cluster.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/store.h"
#include "mockapi/server.h"

#define NS "/api/v1/namespaces/"
#define SLACK_MS                                                                                   \
    5000 /* a scripted time may be met late by this much (sanitizer builds, CI's shared cores),    \
            never early */
#define WAIT_MS 5000

#define INSUFFICIENT                                                                               \
    "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No "      \
    "preemption victims found for incoming pod.."
#define SHUTDOWN "Pod was terminated in response to imminent node shutdown."

/* The scenario (' for "): one script per pod-name prefix. */
static const char SCENARIO[] =
    "{'name': 'pods', 'cluster': {'namespaces': ['gitlab']},"
    " 'pods': ["
    "  {'match': {'name': 'unsched-*', 'namespace': 'gitlab'},"
    "   'schedule': {'unschedulable': {'message': '" INSUFFICIENT "'}, 'for': '600ms'}},"
    "  {'match': {'name': 'stuck-*'},"
    "   'schedule': {'unschedulable': {'message': "
    "     '{name} in {namespace}: 0/1 nodes are available: 1 Insufficient memory.'}}},"
    "  {'match': {'name': 'late-*'}, 'schedule': {'delay': {'fixed': '500ms'}}},"
    "  {'match': {'name': 'ipb-*'},"
    "   'containers': {'build': {'waiting': {'reason': 'ImagePullBackOff'}}}},"
    "  {'match': {'name': 'pull-*'},"
    "   'containers': {'build': {'waiting': {'reason': 'ErrImagePull', 'for': '700ms',"
    "     'message': '{container}: rpc error: code = Unknown desc = boom'}}}},"
    "  {'match': {'name': 'reserve-*'},"
    "   'initContainers': {'init-permissions': {'waiting': {'reason': 'CreateContainerError',"
    "     'message': 'failed to reserve container name \\'{container}_{name}_{namespace}_{uid}_0\\'"
    ": name \\'{container}_{name}_{namespace}_{uid}_0\\' is reserved for \\'4b6f\\''}}}},"
    "  {'match': {'name': 'config-*'},"
    "   'containers': {'build': {'waiting': {'reason': 'CreateContainerConfigError',"
    "     'message': 'secret \\'runner-creds\\' not found'}}}},"
    "  {'match': {'name': 'dind-*'}, 'containers': {'svc-*': {'readyAfter': '600ms'}}},"
    "  {'match': {'name': 'exit-*'}, 'containers': {'build': {'exitCode': 2, 'exitAfter': "
    "'300ms'}}},"
    "  {'match': {'name': 'crash-*'},"
    "   'containers': {'build': {'waiting': {'reason': 'CrashLoopBackOff'}}}},"
    "  {'match': {'name': 'win-*'},"
    "   'when': [{'path': 'spec.nodeSelector[\\'kubernetes.io/os\\']', 'notEquals': 'linux'}],"
    "   'node': {'name': 'akswin000001', 'os': 'windows'},"
    "   'containers': {'*': {'waiting': {'reason': 'ContainerCreating'}}},"
    "   'events': [{'at': '300ms', 'type': 'Warning', 'reason': 'FailedMount',"
    "     'message': 'MountVolume.SetUp failed for volume \\'kube-api-access-xxxxx\\' : chown "
    "c:\\\\var\\\\lib\\\\kubelet\\\\pods\\\\{uid}\\\\token: not supported by windows'},"
    "              {'reason': 'Hello', 'message': 'on {node}'}]},"
    "  {'match': {'name': 'gone-*'},"
    "   'disrupt': {'at': '300ms', 'steps': ["
    "     {'condition': {'type': 'DisruptionTarget', 'reason': 'TerminationByKubelet',"
    "                    'message': '" SHUTDOWN "'}},"
    "     {'after': '200ms', 'deletionTimestamp': true},"
    "     {'after': '200ms', 'terminate': {'exitCode': 137}},"
    "     {'after': '200ms', 'delete': true}]}},"
    "  {'match': {'name': 'fail-*'},"
    "   'disrupt': {'on': 'running', 'at': '200ms', 'steps': ["
    "     {'condition': {'type': 'DisruptionTarget', 'reason': 'TerminationByKubelet',"
    "                    'message': '" SHUTDOWN "'}},"
    "     {'terminate': {}},"
    "     {'phase': 'Failed', 'reason': 'Terminated', 'message': '" SHUTDOWN "'}]}}"
    " ]}";

/* A server running the scenario through a real engine (the pod-script layer takes the cluster's
 * step hook, not the server's). */
static int setup(void **state)
{
    struct itest_opts o = {.single_quoted = 1};
    itest_start_scenario(state, SCENARIO, &o);
    return 0;
}

/* The same, with pods that no script schedules left unbound for a minute (to drive the cluster's
 * primitives by hand). */
static int setup_unbound(void **state)
{
    struct itest_opts o = {.single_quoted = 1};
    o.cluster.schedule_delay_ms = 60000;
    itest_start_scenario(state, SCENARIO, &o);
    return 0;
}

/* ---- helpers ---- */

/* Create a pod (containers "name=image" ..., init containers after "|") in ns; returns the time
 * just before the request. extra: more spec members (' for "), or NULL. */
static int64_t create(struct itest *t, const char *ns, const char *name, const char *containers,
                      const char *extra)
{
    char body[4096], path[256], list[2][1024] = {"", ""};
    char spec[256];
    snprintf(spec, sizeof spec, "%s", containers);
    int which = 0;
    for (char *tok = spec, *end; tok && *tok; tok = end) {
        end = strpbrk(tok, " |");
        char sep = end ? *end : '\0';
        if (end)
            *end++ = '\0';
        char *eq = strchr(tok, '=');
        if (*tok && eq) {
            *eq = '\0';
            size_t n = strlen(list[which]);
            snprintf(list[which] + n, sizeof list[which] - n, "%s{'name': '%s', 'image': '%s'}",
                     n ? ", " : "", tok, eq + 1);
        }
        if (sep == '|')
            which = 1;
    }
    snprintf(body, sizeof body,
             "{'metadata': {'name': '%s'}, 'spec': {'restartPolicy': 'Never', 'containers': [%s]"
             "%s%s%s%s}}",
             name, list[0], list[1][0] ? ", 'initContainers': [" : "", list[1],
             list[1][0] ? "]" : "", extra ? extra : "");
    snprintf(path, sizeof path, NS "%s/pods", ns);
    char *b = itest_dq(body);
    int64_t t0 = itest_now_ms();
    itest_must(t, "POST", path, NULL, b, 201);
    free(b);
    return t0;
}

static cJSON *get_pod(struct itest *t, const char *ns, const char *name)
{
    char path[256];
    long code;
    snprintf(path, sizeof path, NS "%s/pods/%s", ns, name);
    cJSON *p = itest_json(t, "GET", path, NULL, &code);
    if (code != 200)
        itest_fail_json(p, "GET %s: %ld", path, code);
    return p;
}

static const cJSON *condition(const cJSON *pod, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, itest_jget(pod, "status.conditions"))
    {
        const char *ty = itest_jstr(c, "type");
        if (ty && strcmp(ty, type) == 0)
            return c;
    }
    return NULL;
}

static const char *cond_str(const cJSON *pod, const char *type, const char *field)
{
    return itest_jstr(condition(pod, type), field);
}

static const cJSON *cstatus(const cJSON *pod, const char *list, const char *name)
{
    char path[64];
    const cJSON *c;
    snprintf(path, sizeof path, "status.%s", list);
    cJSON_ArrayForEach(c, itest_jget(pod, path))
    {
        const char *n = itest_jstr(c, "name");
        if (n && strcmp(n, name) == 0)
            return c;
    }
    return NULL;
}

typedef int (*pod_pred)(const cJSON *pod, const void *arg);

/* GET the pod every 10 ms until pred holds; the pod (caller frees) and, in *at, when. Fails the
 * test after timeout_ms. */
static cJSON *wait_pod(struct itest *t, const char *ns, const char *name, pod_pred pred,
                       const void *arg, int timeout_ms, int64_t *at, const char *what)
{
    int64_t end = itest_now_ms() + timeout_ms;
    for (;;) {
        cJSON *p = get_pod(t, ns, name);
        int64_t now = itest_now_ms();
        if (pred(p, arg)) {
            if (at)
                *at = now;
            return p;
        }
        if (now > end)
            itest_fail_json(p, "pod %s/%s: not %s after %d ms", ns, name, what, timeout_ms);
        cJSON_Delete(p);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int has_phase(const cJSON *pod, const void *arg)
{
    const char *ph = itest_jstr(pod, "status.phase");
    return ph && strcmp(ph, arg) == 0;
}

static int has_node(const cJSON *pod, const void *arg)
{
    const char *n = itest_jstr(pod, "spec.nodeName");
    return n && strcmp(n, arg) == 0;
}

/* arg: "Type=Status" */
static int has_condition(const cJSON *pod, const void *arg)
{
    char type[64];
    const char *eq = strchr(arg, '=');
    snprintf(type, sizeof type, "%.*s", (int)(eq - (const char *)arg), (const char *)arg);
    const char *st = cond_str(pod, type, "status");
    return st && strcmp(st, eq + 1) == 0;
}

/* arg: "list/name=reason": that container waits with that reason */
static int waits_with(const cJSON *pod, const void *arg)
{
    char list[64], name[64];
    const char *slash = strchr(arg, '/'), *eq = strchr(arg, '=');
    snprintf(list, sizeof list, "%.*s", (int)(slash - (const char *)arg), (const char *)arg);
    snprintf(name, sizeof name, "%.*s", (int)(eq - slash - 1), slash + 1);
    const char *r = itest_jstr(cstatus(pod, list, name), "state.waiting.reason");
    return r && strcmp(r, eq + 1) == 0;
}

/* The events about one object (caller frees), oldest first as the list is sorted by name. */
static cJSON *events_of(struct itest *t, const char *ns, const char *name)
{
    char path[256];
    long code;
    snprintf(path, sizeof path, NS "%s/events", ns);
    cJSON *list = itest_json(t, "GET", path, NULL, &code);
    assert_int_equal(code, 200);
    cJSON *out = cJSON_CreateArray();
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(list, "items"))
    {
        const char *n = itest_jstr(ev, "involvedObject.name");
        if (n && strcmp(n, name) == 0)
            cJSON_AddItemToArray(out, cJSON_Duplicate(ev, 1));
    }
    cJSON_Delete(list);
    return out;
}

/* The nth (0-based) event with this reason (and message, when not NULL), or NULL. */
static const cJSON *event(const cJSON *events, const char *reason, const char *message, int nth)
{
    const cJSON *ev;
    cJSON_ArrayForEach(ev, events)
    {
        if (strcmp(itest_jstr(ev, "reason"), reason) != 0 ||
            (message && strcmp(itest_jstr(ev, "message"), message) != 0))
            continue;
        if (nth-- == 0)
            return ev;
    }
    return NULL;
}

static int count_events(const cJSON *events, const char *reason)
{
    int n = 0;
    while (event(events, reason, NULL, n))
        n++;
    return n;
}

/* A kubelet event (core/v1 recorder): source {component kubelet, host}, count 1, timestamps. */
static void kubelet_event(const cJSON *events, const char *type, const char *reason,
                          const char *message, const char *field_path, const char *host)
{
    const cJSON *ev = event(events, reason, message, 0);
    if (!ev)
        fail_msg("no %s event \"%s\"", reason, message);
    assert_string_equal(itest_jstr(ev, "type"), type);
    assert_string_equal(itest_jstr(ev, "source.component"), "kubelet");
    assert_string_equal(itest_jstr(ev, "source.host"), host);
    assert_int_equal(itest_jget(ev, "count")->valueint, 1);
    assert_non_null(itest_jstr(ev, "firstTimestamp"));
    assert_non_null(itest_jstr(ev, "lastTimestamp"));
    assert_string_equal(itest_jstr(ev, "involvedObject.kind"), "Pod");
    if (field_path)
        assert_string_equal(itest_jstr(ev, "involvedObject.fieldPath"), field_path);
    else
        assert_null(itest_jget(ev, "involvedObject.fieldPath"));
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- scheduling ---- */

static void test_unschedulable_then_scheduled(void **state)
{
    struct itest *t = *state;
    int64_t at, t0 = create(t, "gitlab", "unsched-1", "build=busybox helper=busybox", NULL);
    cJSON *p = wait_pod(t, "gitlab", "unsched-1", has_condition, "PodScheduled=False", WAIT_MS,
                        NULL, "unschedulable");
    /* what kube-scheduler's handleSchedulingFailure writes */
    const cJSON *c = condition(p, "PodScheduled");
    assert_string_equal(itest_jstr(c, "reason"), "Unschedulable");
    assert_string_equal(itest_jstr(c, "message"), INSUFFICIENT);
    assert_true(cJSON_IsNull(itest_jget(c, "lastProbeTime")));
    assert_non_null(itest_jstr(c, "lastTransitionTime"));
    assert_int_equal(cJSON_GetArraySize(itest_jget(p, "status.conditions")), 1);
    assert_string_equal(itest_jstr(p, "status.phase"), "Pending");
    assert_null(itest_jget(p, "spec.nodeName"));
    assert_null(itest_jget(p, "status.containerStatuses"));
    cJSON_Delete(p);
    /* FailedScheduling, as the events.k8s.io recorder writes it, read as core/v1 */
    cJSON *evs = events_of(t, "gitlab", "unsched-1");
    assert_int_equal(count_events(evs, "FailedScheduling"), 1);
    const cJSON *ev = event(evs, "FailedScheduling", INSUFFICIENT, 0);
    assert_non_null(ev);
    assert_string_equal(itest_jstr(ev, "type"), "Warning");
    assert_string_equal(itest_jstr(ev, "action"), "Scheduling");
    assert_string_equal(itest_jstr(ev, "reportingComponent"), "default-scheduler");
    assert_string_equal(itest_jstr(ev, "reportingInstance"),
                        "default-scheduler-" CLUSTER_NODE_NAME);
    assert_non_null(itest_jstr(ev, "eventTime"));
    assert_true(cJSON_IsObject(itest_jget(ev, "source")));
    assert_null(itest_jget(ev, "source")->child);
    assert_true(cJSON_IsNull(itest_jget(ev, "firstTimestamp")));
    assert_true(cJSON_IsNull(itest_jget(ev, "lastTimestamp")));
    assert_null(itest_jget(ev, "count"));
    assert_null(itest_jget(ev, "series"));
    assert_string_equal(itest_jstr(ev, "involvedObject.kind"), "Pod");
    assert_string_equal(itest_jstr(ev, "involvedObject.namespace"), "gitlab");
    cJSON_Delete(evs);
    /* then, after "for", it is scheduled: PodScheduled=True without reason or message */
    p = wait_pod(t, "gitlab", "unsched-1", has_node, CLUSTER_NODE_NAME, WAIT_MS, &at, "bound");
    assert_true(at - t0 >= 600);
    assert_true(at - t0 <= 600 + SLACK_MS);
    c = condition(p, "PodScheduled");
    assert_string_equal(itest_jstr(c, "status"), "True");
    assert_null(itest_jget(c, "reason"));
    assert_null(itest_jget(c, "message"));
    cJSON_Delete(p);
    p = wait_pod(t, "gitlab", "unsched-1", has_phase, "Running", WAIT_MS, NULL, "Running");
    cJSON_Delete(p);
    evs = events_of(t, "gitlab", "unsched-1");
    ev = event(evs, "Scheduled", "Successfully assigned gitlab/unsched-1 to " CLUSTER_NODE_NAME, 0);
    assert_non_null(ev);
    assert_string_equal(itest_jstr(ev, "action"), "Binding");
    assert_int_equal(count_events(evs, "FailedScheduling"), 1);
    cJSON_Delete(evs);
}

static void test_unschedulable_for_good(void **state)
{
    struct itest *t = *state;
    create(t, "default", "stuck-1", "build=busybox", NULL);
    create(t, "default", "other-1", "build=busybox", NULL);
    cJSON *p = wait_pod(t, "default", "stuck-1", has_condition, "PodScheduled=False", WAIT_MS, NULL,
                        "unschedulable");
    assert_string_equal(cond_str(p, "PodScheduled", "message"),
                        "stuck-1 in default: 0/1 nodes are available: 1 Insufficient memory.");
    cJSON_Delete(p);
    /* a pod no script matches runs as usual, with the kubelet's conditions in its order */
    p = wait_pod(t, "default", "other-1", has_phase, "Running", WAIT_MS, NULL, "Running");
    static const char *const order[] = {"PodReadyToStartContainers", "Initialized", "Ready",
                                        "ContainersReady", "PodScheduled"};
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, itest_jget(p, "status.conditions"))
    {
        assert_true(i < 5);
        assert_string_equal(itest_jstr(c, "type"), order[i++]);
        assert_string_equal(itest_jstr(c, "status"), "True");
    }
    assert_int_equal(i, 5);
    cJSON_Delete(p);
    sleep_ms(800);
    p = get_pod(t, "default", "stuck-1");
    assert_string_equal(itest_jstr(p, "status.phase"), "Pending");
    assert_null(itest_jget(p, "spec.nodeName"));
    cJSON_Delete(p);
    /* kube-scheduler tries again only after 5 minutes: one event so far */
    cJSON *evs = events_of(t, "default", "stuck-1");
    assert_int_equal(count_events(evs, "FailedScheduling"), 1);
    assert_int_equal(cJSON_GetArraySize(evs), 1);
    cJSON_Delete(evs);
    /* an unbound pod is deleted at once */
    itest_must(t, "DELETE", NS "default/pods/stuck-1", NULL, NULL, 200);
    assert_true(itest_wait_code(t, NS "default/pods/stuck-1", 404, WAIT_MS));
}

static void test_schedule_delay(void **state)
{
    struct itest *t = *state;
    int64_t at, t0 = create(t, "default", "late-1", "build=busybox", NULL);
    cJSON *p = wait_pod(t, "default", "late-1", has_node, CLUSTER_NODE_NAME, WAIT_MS, &at, "bound");
    if (at - t0 < 500 || at - t0 > 500 + SLACK_MS)
        fail_msg("bound %lld ms after the create, want 500 .. %d", (long long)(at - t0),
                 500 + SLACK_MS);
    cJSON_Delete(p);
}

/* ---- containers ---- */

static void test_image_pull_backoff(void **state)
{
    struct itest *t = *state;
    create(t, "default", "ipb-1", "build=registry.example.com/build:nope helper=busybox", NULL);
    cJSON *p =
        wait_pod(t, "default", "ipb-1", waits_with, "containerStatuses/build=ImagePullBackOff",
                 WAIT_MS, NULL, "in ImagePullBackOff");
    const cJSON *b = cstatus(p, "containerStatuses", "build");
    assert_string_equal(itest_jstr(b, "state.waiting.message"),
                        "Back-off pulling image \"registry.example.com/build:nope\"");
    assert_false(cJSON_IsTrue(itest_jget(b, "ready")));
    assert_false(cJSON_IsTrue(itest_jget(b, "started")));
    assert_int_equal(itest_jget(b, "restartCount")->valueint, 0);
    assert_string_equal(itest_jstr(b, "imageID"), "");
    assert_null(itest_jget(b, "containerID"));
    assert_true(cJSON_IsObject(itest_jget(b, "lastState")));
    const cJSON *h = cstatus(p, "containerStatuses", "helper");
    assert_non_null(itest_jget(h, "state.running.startedAt"));
    assert_true(cJSON_IsTrue(itest_jget(h, "ready")));
    assert_true(cJSON_IsTrue(itest_jget(h, "started")));
    /* kubelet getPhase: a waiting container keeps the pod Pending */
    assert_string_equal(itest_jstr(p, "status.phase"), "Pending");
    assert_string_equal(cond_str(p, "PodReadyToStartContainers", "status"), "True");
    assert_string_equal(cond_str(p, "Initialized", "status"), "True");
    assert_string_equal(cond_str(p, "Ready", "status"), "False");
    assert_string_equal(cond_str(p, "Ready", "reason"), "ContainersNotReady");
    assert_string_equal(cond_str(p, "Ready", "message"), "containers with unready status: [build]");
    assert_string_equal(cond_str(p, "ContainersReady", "message"),
                        "containers with unready status: [build]");
    assert_non_null(itest_jstr(p, "status.podIP"));
    assert_string_equal(itest_jstr(p, "status.hostIP"), "10.0.0.10");
    cJSON_Delete(p);
    cJSON *evs = events_of(t, "default", "ipb-1");
    kubelet_event(evs, "Normal", "BackOff",
                  "Back-off pulling image \"registry.example.com/build:nope\"",
                  "spec.containers{build}", CLUSTER_NODE_NAME);
    kubelet_event(evs, "Warning", "Failed", "Error: ImagePullBackOff", "spec.containers{build}",
                  CLUSTER_NODE_NAME);
    kubelet_event(evs, "Normal", "Started", "Started container helper", "spec.containers{helper}",
                  CLUSTER_NODE_NAME);
    assert_null(event(evs, "Started", "Started container build", 0));
    cJSON_Delete(evs);
}

static void test_err_image_pull_for_a_while(void **state)
{
    struct itest *t = *state;
    int64_t at, t0 = create(t, "default", "pull-1", "build=busybox", NULL);
    cJSON *p = wait_pod(t, "default", "pull-1", waits_with, "containerStatuses/build=ErrImagePull",
                        WAIT_MS, NULL, "in ErrImagePull");
    assert_string_equal(
        itest_jstr(cstatus(p, "containerStatuses", "build"), "state.waiting.message"),
        "build: rpc error: code = Unknown desc = boom");
    cJSON_Delete(p);
    p = wait_pod(t, "default", "pull-1", has_condition, "Ready=True", WAIT_MS, &at, "Ready");
    assert_true(at - t0 >= 700);
    assert_true(at - t0 <= 700 + SLACK_MS);
    assert_string_equal(itest_jstr(p, "status.phase"), "Running");
    assert_non_null(itest_jget(cstatus(p, "containerStatuses", "build"), "state.running"));
    cJSON_Delete(p);
    cJSON *evs = events_of(t, "default", "pull-1");
    kubelet_event(evs, "Normal", "Pulling", "Pulling image \"busybox\"", "spec.containers{build}",
                  CLUSTER_NODE_NAME);
    kubelet_event(evs, "Warning", "Failed",
                  "Failed to pull image \"busybox\": build: rpc error: code = Unknown desc = boom",
                  "spec.containers{build}", CLUSTER_NODE_NAME);
    kubelet_event(evs, "Warning", "Failed", "Error: ErrImagePull", "spec.containers{build}",
                  CLUSTER_NODE_NAME);
    kubelet_event(evs, "Normal", "Started", "Started container build", "spec.containers{build}",
                  CLUSTER_NODE_NAME);
    cJSON_Delete(evs);
}

static void test_init_container_error(void **state)
{
    struct itest *t = *state;
    char want[1024];
    create(t, "gitlab", "reserve-1", "build=busybox helper=busybox | init-permissions=busybox",
           NULL);
    cJSON *p = wait_pod(t, "gitlab", "reserve-1", waits_with,
                        "initContainerStatuses/init-permissions=CreateContainerError", WAIT_MS,
                        NULL, "in CreateContainerError");
    const char *uid = itest_jstr(p, "metadata.uid");
    snprintf(want, sizeof want,
             "failed to reserve container name \"init-permissions_reserve-1_gitlab_%s_0\": name "
             "\"init-permissions_reserve-1_gitlab_%s_0\" is reserved for \"4b6f\"",
             uid, uid);
    assert_string_equal(itest_jstr(cstatus(p, "initContainerStatuses", "init-permissions"),
                                   "state.waiting.message"),
                        want);
    /* the containers wait for the init container (the kubelet's default with init containers) */
    assert_string_equal(
        itest_jstr(cstatus(p, "containerStatuses", "build"), "state.waiting.reason"),
        "PodInitializing");
    assert_string_equal(
        itest_jstr(cstatus(p, "containerStatuses", "helper"), "state.waiting.reason"),
        "PodInitializing");
    assert_string_equal(itest_jstr(p, "status.phase"), "Pending");
    assert_string_equal(cond_str(p, "Initialized", "status"), "False");
    assert_string_equal(cond_str(p, "Initialized", "reason"), "ContainersNotInitialized");
    assert_string_equal(cond_str(p, "Initialized", "message"),
                        "containers with incomplete status: [init-permissions]");
    assert_string_equal(cond_str(p, "Ready", "message"),
                        "containers with unready status: [build helper]");
    cJSON_Delete(p);
    cJSON *evs = events_of(t, "gitlab", "reserve-1");
    char msg[1100];
    snprintf(msg, sizeof msg, "Error: %s", want);
    kubelet_event(evs, "Warning", "Failed", msg, "spec.initContainers{init-permissions}",
                  CLUSTER_NODE_NAME);
    cJSON_Delete(evs);
    sleep_ms(500); /* it waits for good */
    p = get_pod(t, "gitlab", "reserve-1");
    assert_string_equal(itest_jstr(p, "status.phase"), "Pending");
    cJSON_Delete(p);
}

static void test_config_error(void **state)
{
    struct itest *t = *state;
    create(t, "default", "config-1", "build=busybox", NULL);
    cJSON *p = wait_pod(t, "default", "config-1", waits_with,
                        "containerStatuses/build=CreateContainerConfigError", WAIT_MS, NULL,
                        "in CreateContainerConfigError");
    assert_string_equal(
        itest_jstr(cstatus(p, "containerStatuses", "build"), "state.waiting.message"),
        "secret \"runner-creds\" not found");
    cJSON_Delete(p);
    cJSON *evs = events_of(t, "default", "config-1");
    kubelet_event(evs, "Warning", "Failed", "Error: secret \"runner-creds\" not found",
                  "spec.containers{build}", CLUSTER_NODE_NAME);
    cJSON_Delete(evs);
}

static void test_ready_after(void **state)
{
    struct itest *t = *state;
    int64_t at, t0 = create(t, "default", "dind-1", "build=busybox svc-0=docker:dind", NULL);
    /* Running, build ready, the service not yet: what the runner waits on is there */
    cJSON *p = wait_pod(t, "default", "dind-1", has_phase, "Running", WAIT_MS, NULL, "Running");
    const cJSON *svc = cstatus(p, "containerStatuses", "svc-0");
    assert_true(cJSON_IsTrue(itest_jget(cstatus(p, "containerStatuses", "build"), "ready")));
    assert_non_null(itest_jget(svc, "state.running"));
    assert_false(cJSON_IsTrue(itest_jget(svc, "ready")));
    assert_true(cJSON_IsTrue(itest_jget(svc, "started")));
    assert_string_equal(cond_str(p, "Ready", "status"), "False");
    assert_string_equal(cond_str(p, "Ready", "message"), "containers with unready status: [svc-0]");
    cJSON_Delete(p);
    p = wait_pod(t, "default", "dind-1", has_condition, "Ready=True", WAIT_MS, &at, "Ready");
    assert_true(at - t0 >= 600);
    assert_true(at - t0 <= 600 + SLACK_MS);
    assert_true(cJSON_IsTrue(itest_jget(cstatus(p, "containerStatuses", "svc-0"), "ready")));
    assert_string_equal(cond_str(p, "ContainersReady", "status"), "True");
    assert_null(itest_jget(condition(p, "Ready"), "reason"));
    cJSON_Delete(p);
}

static void test_exit_code(void **state)
{
    struct itest *t = *state;
    int64_t at, t0 = create(t, "default", "exit-1", "build=busybox", NULL);
    cJSON *p = wait_pod(t, "default", "exit-1", has_phase, "Failed", WAIT_MS, &at, "Failed");
    assert_true(at - t0 >= 300);
    assert_true(at - t0 <= 300 + SLACK_MS);
    const cJSON *b = cstatus(p, "containerStatuses", "build");
    assert_int_equal(itest_jget(b, "state.terminated.exitCode")->valueint, 2);
    assert_string_equal(itest_jstr(b, "state.terminated.reason"), "Error");
    assert_non_null(itest_jstr(b, "state.terminated.startedAt"));
    assert_non_null(itest_jstr(b, "state.terminated.finishedAt"));
    assert_non_null(itest_jstr(b, "state.terminated.containerID"));
    assert_false(cJSON_IsTrue(itest_jget(b, "ready")));
    /* the kubelet's conditions for a terminal phase */
    assert_string_equal(cond_str(p, "Ready", "status"), "False");
    assert_string_equal(cond_str(p, "Ready", "reason"), "PodFailed");
    assert_null(itest_jget(condition(p, "Ready"), "message"));
    assert_string_equal(cond_str(p, "ContainersReady", "reason"), "PodFailed");
    cJSON_Delete(p);
}

static void test_crash_loop(void **state)
{
    struct itest *t = *state;
    char want[512];
    create(t, "default", "crash-1", "build=busybox", NULL);
    cJSON *p =
        wait_pod(t, "default", "crash-1", waits_with, "containerStatuses/build=CrashLoopBackOff",
                 WAIT_MS, NULL, "in CrashLoopBackOff");
    const char *uid = itest_jstr(p, "metadata.uid");
    const cJSON *b = cstatus(p, "containerStatuses", "build");
    snprintf(want, sizeof want,
             "back-off 10s restarting failed container=build pod=crash-1_default(%s)", uid);
    assert_string_equal(itest_jstr(b, "state.waiting.message"), want);
    assert_int_equal(itest_jget(b, "lastState.terminated.exitCode")->valueint, 1);
    assert_string_equal(itest_jstr(b, "lastState.terminated.reason"), "Error");
    assert_int_equal(itest_jget(b, "restartCount")->valueint, 1);
    assert_non_null(itest_jstr(b, "containerID"));
    assert_string_equal(itest_jstr(b, "containerID"),
                        itest_jstr(b, "lastState.terminated.containerID"));
    cJSON *evs = events_of(t, "default", "crash-1");
    snprintf(want, sizeof want,
             "Back-off restarting failed container build in pod crash-1_default(%s)", uid);
    kubelet_event(evs, "Warning", "BackOff", want, "spec.containers{build}", CLUSTER_NODE_NAME);
    cJSON_Delete(evs);
    cJSON_Delete(p);
}

/* ---- nodes and events ---- */

static void test_windows_node(void **state)
{
    struct itest *t = *state;
    long code;
    char want[512];
    cJSON *node = itest_json(t, "GET", "/api/v1/nodes/akswin000001", NULL, &code);
    assert_int_equal(code, 200);
    const cJSON *labels = itest_jget(node, "metadata.labels");
    assert_string_equal(cJSON_GetObjectItem(labels, "kubernetes.io/os")->valuestring, "windows");
    assert_string_equal(itest_jstr(node, "status.nodeInfo.operatingSystem"), "windows");
    cJSON_Delete(node);

    int64_t t0 = create(t, "default", "win-1", "build=busybox", NULL);
    create(t, "default", "win-2", "build=busybox",
           ", 'nodeSelector': {'kubernetes.io/os': 'linux'}");
    cJSON *p = wait_pod(t, "default", "win-1", has_node, "akswin000001", WAIT_MS, NULL,
                        "on the Windows node");
    cJSON_Delete(p);
    p = wait_pod(t, "default", "win-1", waits_with, "containerStatuses/build=ContainerCreating",
                 WAIT_MS, NULL, "ContainerCreating");
    /* the volume never mounted: no sandbox, no pod IP */
    assert_string_equal(cond_str(p, "PodReadyToStartContainers", "status"), "False");
    assert_null(itest_jget(p, "status.podIP"));
    assert_string_equal(itest_jstr(p, "status.hostIP"), "10.0.0.11");
    assert_string_equal(itest_jstr(p, "status.phase"), "Pending");
    char uid[64];
    snprintf(uid, sizeof uid, "%s", itest_jstr(p, "metadata.uid"));
    cJSON_Delete(p);
    /* the selector pins Linux: no script, kubefault's node, Running */
    p = wait_pod(t, "default", "win-2", has_phase, "Running", WAIT_MS, NULL, "Running");
    assert_string_equal(itest_jstr(p, "spec.nodeName"), CLUSTER_NODE_NAME);
    cJSON_Delete(p);
    /* events at their times: "Hello" at 0s (type Normal by default), FailedMount at 300ms */
    snprintf(want, sizeof want,
             "MountVolume.SetUp failed for volume \"kube-api-access-xxxxx\" : chown "
             "c:\\var\\lib\\kubelet\\pods\\%s\\token: not supported by windows",
             uid);
    cJSON *evs;
    for (;;) {
        evs = events_of(t, "default", "win-1");
        if (event(evs, "FailedMount", NULL, 0))
            break;
        cJSON_Delete(evs);
        assert_true(itest_now_ms() - t0 < 300 + SLACK_MS);
        sleep_ms(10);
    }
    assert_true(itest_now_ms() - t0 >= 300);
    kubelet_event(evs, "Warning", "FailedMount", want, NULL, "akswin000001");
    kubelet_event(evs, "Normal", "Hello", "on akswin000001", NULL, "akswin000001");
    assert_non_null(
        event(evs, "Scheduled", "Successfully assigned default/win-1 to akswin000001", 0));
    cJSON_Delete(evs);
}

/* ---- disruption ---- */

static void test_disruption_deleted(void **state)
{
    struct itest *t = *state;
    char path[256];
    long long rv = itest_list_rv(t, NS "default/pods");
    snprintf(path, sizeof path,
             NS
             "default/pods?watch=true&fieldSelector=metadata.name%%3Dgone-1&resourceVersion=%lld",
             rv);
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    create(t, "default", "gone-1", "build=busybox", NULL);
    cJSON_Delete(itest_expect_event(st, "ADDED", "gone-1", WAIT_MS));
    cJSON_Delete(itest_expect_event(st, "MODIFIED", "gone-1", WAIT_MS)); /* bound */
    cJSON *ev = itest_expect_event(st, "MODIFIED", "gone-1", WAIT_MS);   /* running */
    assert_string_equal(itest_jstr(ev, "object.status.phase"), "Running");
    int64_t running = itest_now_ms();
    cJSON_Delete(ev);
    /* 300ms later: DisruptionTarget=True, first among the conditions (not the kubelet's) */
    ev = itest_expect_event(st, "MODIFIED", "gone-1", WAIT_MS);
    const cJSON *obj = itest_jget(ev, "object");
    const cJSON *dt = condition(obj, "DisruptionTarget");
    assert_non_null(dt);
    assert_string_equal(itest_jstr(itest_jget(obj, "status.conditions")->child, "type"),
                        "DisruptionTarget");
    assert_string_equal(itest_jstr(dt, "status"), "True");
    assert_string_equal(itest_jstr(dt, "reason"), "TerminationByKubelet");
    assert_string_equal(itest_jstr(dt, "message"), SHUTDOWN);
    assert_null(itest_jget(obj, "metadata.deletionTimestamp"));
    assert_string_equal(itest_jstr(obj, "status.phase"), "Running");
    cJSON_Delete(ev);
    /* then deletionTimestamp (now + the grace period) */
    ev = itest_expect_event(st, "MODIFIED", "gone-1", WAIT_MS);
    assert_non_null(itest_jstr(ev, "object.metadata.deletionTimestamp"));
    assert_int_equal(itest_jget(ev, "object.metadata.deletionGracePeriodSeconds")->valueint, 30);
    assert_non_null(itest_jget(cstatus(itest_jget(ev, "object"), "containerStatuses", "build"),
                               "state.running"));
    cJSON_Delete(ev);
    /* then the containers are killed: 137, and a terminating pod with nothing running is Failed */
    ev = itest_expect_event(st, "MODIFIED", "gone-1", WAIT_MS);
    obj = itest_jget(ev, "object");
    const cJSON *b = cstatus(obj, "containerStatuses", "build");
    assert_int_equal(itest_jget(b, "state.terminated.exitCode")->valueint, 137);
    assert_string_equal(itest_jstr(b, "state.terminated.reason"), "Error");
    assert_string_equal(itest_jstr(obj, "status.phase"), "Failed");
    cJSON_Delete(ev);
    /* then it is gone: DELETED, and GET answers 404 with details.kind pods */
    cJSON_Delete(itest_expect_event(st, "DELETED", "gone-1", WAIT_MS));
    int64_t gone = itest_now_ms();
    assert_true(gone - running >= 300 + 200 + 200 + 200 - 50);
    assert_true(gone - running <= 900 + SLACK_MS);
    itest_stream_close(st);
    long code;
    cJSON *s = itest_json(t, "GET", NS "default/pods/gone-1", NULL, &code);
    assert_int_equal(code, 404);
    assert_string_equal(itest_jstr(s, "message"), "pods \"gone-1\" not found");
    assert_string_equal(itest_jstr(s, "reason"), "NotFound");
    assert_string_equal(itest_jstr(s, "details.kind"), "pods");
    assert_string_equal(itest_jstr(s, "details.name"), "gone-1");
    cJSON_Delete(s);
    cJSON *evs = events_of(t, "default", "gone-1");
    kubelet_event(evs, "Normal", "Killing", "Stopping container build", "spec.containers{build}",
                  CLUSTER_NODE_NAME);
    cJSON_Delete(evs);
}

static void test_disruption_failed(void **state)
{
    struct itest *t = *state;
    char body[512];
    snprintf(body, sizeof body,
             "{'metadata': {'name': 'fail-1'}, 'spec': {'restartPolicy': 'Always', 'containers': "
             "[{'name': 'build', 'image': 'busybox'}]}}");
    char *b = itest_dq(body);
    itest_must(t, "POST", NS "default/pods", NULL, b, 201);
    free(b);
    cJSON *p = wait_pod(t, "default", "fail-1", has_phase, "Running", WAIT_MS, NULL, "Running");
    cJSON_Delete(p);
    p = wait_pod(t, "default", "fail-1", has_phase, "Failed", WAIT_MS, NULL, "Failed");
    assert_string_equal(itest_jstr(p, "status.reason"), "Terminated");
    assert_string_equal(itest_jstr(p, "status.message"), SHUTDOWN);
    assert_string_equal(cond_str(p, "DisruptionTarget", "status"), "True");
    assert_string_equal(cond_str(p, "Ready", "reason"), "PodFailed");
    const cJSON *c = cstatus(p, "containerStatuses", "build");
    assert_int_equal(itest_jget(c, "state.terminated.exitCode")->valueint, 137);
    assert_null(itest_jget(p, "metadata.deletionTimestamp"));
    cJSON_Delete(p);
    sleep_ms(300); /* terminal: it stays so */
    p = get_pod(t, "default", "fail-1");
    assert_string_equal(itest_jstr(p, "status.phase"), "Failed");
    cJSON_Delete(p);
}

static void test_client_delete_while_scripted(void **state)
{
    struct itest *t = *state;
    create(t, "default", "pull-2", "build=busybox", NULL);
    cJSON *p = wait_pod(t, "default", "pull-2", waits_with, "containerStatuses/build=ErrImagePull",
                        WAIT_MS, NULL, "in ErrImagePull");
    cJSON_Delete(p);
    itest_must(t, "DELETE", NS "default/pods/pull-2", NULL, NULL, 200);
    assert_true(itest_wait_code(t, NS "default/pods/pull-2", 404, WAIT_MS));
    sleep_ms(900); /* past the script's 700ms: nothing comes back */
    long code;
    cJSON_Delete(itest_json(t, "GET", NS "default/pods/pull-2", NULL, &code));
    assert_int_equal(code, 404);
    /* the same name again follows the script afresh */
    create(t, "default", "pull-2", "build=busybox", NULL);
    p = wait_pod(t, "default", "pull-2", has_condition, "Ready=True", WAIT_MS, NULL, "Ready");
    cJSON_Delete(p);
}

/* ---- the scheduler's events, driven by hand ---- */

struct attempt {
    const char *name, *message;
    int rc;
};

static void on_loop_unschedulable(void *arg, struct mockapi_server *s)
{
    struct attempt *a = arg;
    a->rc = cluster_pod_unschedulable(mockapi_server_cluster(s), "default", a->name, a->message);
}

static void on_loop_advance(void *arg, struct mockapi_server *s)
{
    struct attempt *a = arg;
    a->rc = cluster_pod_advance(mockapi_server_cluster(s), "default", a->name);
}

static int unschedulable(struct itest *t, const char *name, const char *message)
{
    struct attempt a = {name, message, 0};
    itest_run(t, on_loop_unschedulable, &a);
    return a.rc;
}

static void test_scheduler_series(void **state)
{
    struct itest *t = *state;
    create(t, "default", "series-1", "build=busybox", NULL);
    /* 1: an Event; the condition is written, so the pod's resourceVersion moves */
    assert_int_equal(unschedulable(t, "series-1", INSUFFICIENT), 0);
    cJSON *evs = events_of(t, "default", "series-1");
    assert_int_equal(count_events(evs, "FailedScheduling"), 1);
    cJSON_Delete(evs);
    cJSON *p = get_pod(t, "default", "series-1");
    char ltt[64];
    snprintf(ltt, sizeof ltt, "%s", cond_str(p, "PodScheduled", "lastTransitionTime"));
    const char *rv1 = itest_jstr(p, "metadata.resourceVersion");
    char rv[32];
    snprintf(rv, sizeof rv, "%s", rv1);
    cJSON_Delete(p);
    /* 2: about a pod at another resourceVersion: not isomorphic, a second Event; the condition is
     * already so: no write */
    assert_int_equal(unschedulable(t, "series-1", INSUFFICIENT), 0);
    p = get_pod(t, "default", "series-1");
    assert_string_equal(itest_jstr(p, "metadata.resourceVersion"), rv);
    assert_string_equal(cond_str(p, "PodScheduled", "lastTransitionTime"), ltt);
    cJSON_Delete(p);
    evs = events_of(t, "default", "series-1");
    assert_int_equal(count_events(evs, "FailedScheduling"), 2);
    assert_null(itest_jget(event(evs, "FailedScheduling", NULL, 1), "series"));
    cJSON_Delete(evs);
    /* 3: a repeat: series {count 2} written at once */
    assert_int_equal(unschedulable(t, "series-1", INSUFFICIENT), 0);
    evs = events_of(t, "default", "series-1");
    assert_int_equal(count_events(evs, "FailedScheduling"), 2);
    const cJSON *e2 = event(evs, "FailedScheduling", NULL, 1);
    assert_int_equal(itest_jget(e2, "series.count")->valueint, 2);
    assert_non_null(itest_jstr(e2, "series.lastObservedTime"));
    assert_null(itest_jget(event(evs, "FailedScheduling", NULL, 0), "series"));
    cJSON_Delete(evs);
    /* 4: counted, written only every 30 min or when the series ends */
    assert_int_equal(unschedulable(t, "series-1", INSUFFICIENT), 0);
    evs = events_of(t, "default", "series-1");
    assert_int_equal(itest_jget(event(evs, "FailedScheduling", NULL, 1), "series.count")->valueint,
                     2);
    cJSON_Delete(evs);

    /* a message past the events.k8s.io note limit is cut in the event, not in the condition */
    char big[2100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    create(t, "default", "series-2", "build=busybox", NULL);
    assert_int_equal(unschedulable(t, "series-2", big), 0);
    evs = events_of(t, "default", "series-2");
    const char *note = itest_jstr(event(evs, "FailedScheduling", NULL, 0), "message");
    assert_int_equal(strlen(note), 1024);
    assert_string_equal(note + 1020, " ...");
    assert_memory_equal(note, big, 1020);
    cJSON_Delete(evs);
    p = get_pod(t, "default", "series-2");
    assert_string_equal(cond_str(p, "PodScheduled", "message"), big);
    cJSON_Delete(p);

    /* once bound, the scheduler has nothing to say about it */
    struct attempt a = {"series-2", NULL, 0};
    itest_run(t, on_loop_advance, &a);
    assert_int_equal(a.rc, 0);
    assert_int_equal(unschedulable(t, "series-2", "late"), -1);
    assert_int_equal(unschedulable(t, "no-such-pod", "x"), -1);
    p = get_pod(t, "default", "series-2");
    assert_string_equal(cond_str(p, "PodScheduled", "status"), "True");
    assert_null(itest_jget(condition(p, "PodScheduled"), "message"));
    cJSON_Delete(p);
}

/* ---- the Events kept ---- */

struct flood {
    int n_old, n_new;
    size_t count, old_left;
};

static void on_loop_flood(void *arg, struct mockapi_server *s)
{
    struct flood *f = arg;
    struct cluster *cl = mockapi_server_cluster(s);
    cJSON *old = cJSON_Parse("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
                             "\"old-one\",\"namespace\":\"default\",\"uid\":\"u-old\"}}");
    cJSON *young = cJSON_Parse("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
                               "\"new-one\",\"namespace\":\"default\",\"uid\":\"u-new\"}}");
    for (int i = 0; i < f->n_old; i++)
        cluster_record_event(cl, old, "Normal", "Flood", "old", "kubelet", NULL);
    for (int i = 0; i < f->n_new; i++)
        cluster_record_event(cl, young, "Normal", "Flood", "new", "kubelet", NULL);
    cJSON_Delete(old);
    cJSON_Delete(young);
}

static void on_loop_count_events(void *arg, struct mockapi_server *s)
{
    struct flood *f = arg;
    size_t n;
    const cJSON **items = store_list(mockapi_server_store(s), &kinds_table[KIND_events], NULL, &n);
    f->count = n;
    f->old_left = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(itest_jstr(items[i], "involvedObject.name"), "old-one") == 0)
            f->old_left++;
    free(items);
}

/* Events pile up in a long run (scripts/soak.sh saw the fake's memory and every deletion's cost
 * grow with them): past CLUSTER_MAX_EVENTS the oldest are deleted, the newest all stay. */
static void test_events_capped_oldest_first(void **state)
{
    struct itest *t = *state;
    struct flood f = {5, CLUSTER_MAX_EVENTS, 0, 0};
    long code;
    itest_run(t, on_loop_flood, &f);
    /* a round trip: the trim, due once the loop is past the changes, has run */
    cJSON_Delete(itest_json(t, "GET", "/version", NULL, &code));
    itest_run(t, on_loop_count_events, &f);
    assert_int_equal(f.count, CLUSTER_MAX_EVENTS);
    assert_int_equal(f.old_left, 0);
    /* and the cluster still records: one more pod's events push out as many of the oldest */
    create(t, "default", "after-flood", "build=busybox", NULL);
    cJSON *p =
        wait_pod(t, "default", "after-flood", has_condition, "Ready=True", WAIT_MS, NULL, "Ready");
    cJSON_Delete(p);
    cJSON *evs = events_of(t, "default", "after-flood");
    assert_true(count_events(evs, "Started") == 1);
    cJSON_Delete(evs);
    itest_run(t, on_loop_count_events, &f);
    assert_int_equal(f.count, CLUSTER_MAX_EVENTS);
}

int main(void)
{
    itest_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unschedulable_then_scheduled, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_unschedulable_for_good, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_schedule_delay, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_image_pull_backoff, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_err_image_pull_for_a_while, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_init_container_error, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_config_error, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_ready_after, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_exit_code, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_crash_loop, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_windows_node, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_disruption_deleted, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_disruption_failed, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_client_delete_while_scripted, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_scheduler_series, setup_unbound, itest_teardown),
        cmocka_unit_test_setup_teardown(test_events_capped_oldest_first, setup, itest_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
