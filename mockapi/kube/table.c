/* table.c -- meta.k8s.io/v1 Table renderings of objects, with kube-apiserver's printer columns */
#include "mockapi/kube/table.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi/base/clock.h"
#include "mockapi/base/json.h"
#include "mockapi/http/accept.h"
#include "mockapi/kube/kinds.h"

#define CELL_MAX 1024 /* longest computed cell (reason, joined ports or roles); cut beyond */
#define SORT_MAX 64   /* labels, roles or addresses sorted for one cell; the rest are ignored */
#define LB_WIDTH 16   /* kube's loadBalancerWidth: load-balancer IPs are cut here unless wide */
#define NODE_ROLE_PREFIX "node-role.kubernetes.io/"
#define NODE_ROLE_LABEL "kubernetes.io/role"

/* One column of a printer, as kube-apiserver's printers.go declares it. */
struct column {
    const char *name;
    const char *type;
    const char *format;
    int priority; /* 1: shown by kubectl only with -o wide */
    const char *description;
};

/* Appends one row's cells (the wide ones too when wide) to cells. 0 or -1. */
typedef int (*cells_fn)(cJSON *cells, const cJSON *obj, long long now, int wide);

struct printer {
    enum kinds_id id;
    const struct column *columns;
    size_t ncolumns;
    cells_fn cells;
};

/* The columns most printers share, as initialiser lists: {NAME_COLUMN}. */
#define NAME_COLUMN "Name", "string", "name", 0, "Name of the object, unique in its namespace."
#define AGE_COLUMN "Age", "string", "", 0, "Time since the object was created."

static const struct column default_columns[] = {{NAME_COLUMN}, {AGE_COLUMN}};

static const struct column pod_columns[] = {
    {NAME_COLUMN},
    {"Ready", "string", "", 0, "Ready containers out of all containers."},
    {"Status", "string", "", 0, "The pod phase, or why its containers are not running."},
    {"Restarts", "string", "", 0, "Container restarts, and how long ago the last one was."},
    {AGE_COLUMN},
    {"IP", "string", "", 1, "The pod's first IP address."},
    {"Node", "string", "", 1, "The node the pod is bound to."},
    {"Nominated Node", "string", "", 1, "The node the scheduler preempted pods on for it."},
    {"Readiness Gates", "string", "", 1, "Readiness gates that hold, out of all gates."},
};

static const struct column namespace_columns[] = {
    {NAME_COLUMN}, {"Status", "string", "", 0, "The namespace phase."}, {AGE_COLUMN}};

static const struct column secret_columns[] = {
    {NAME_COLUMN},
    {"Type", "string", "", 0, "The secret type."},
    {"Data", "string", "", 0, "Number of data keys."},
    {AGE_COLUMN},
};

static const struct column configmap_columns[] = {
    {NAME_COLUMN}, {"Data", "string", "", 0, "Number of data and binaryData keys."}, {AGE_COLUMN}};

static const struct column service_columns[] = {
    {NAME_COLUMN},
    {"Type", "string", "", 0, "How the service is exposed."},
    {"Cluster-IP", "string", "", 0, "The service's cluster IP."},
    {"External-IP", "string", "", 0, "External or load-balancer addresses."},
    {"Port(s)", "string", "", 0, "Ports the service exposes."},
    {AGE_COLUMN},
    {"Selector", "string", "", 1, "Labels of the pods the service sends traffic to."},
};

static const struct column serviceaccount_columns[] = {
    {NAME_COLUMN}, {"Secrets", "string", "", 0, "Number of secrets listed."}, {AGE_COLUMN}};

static const struct column event_columns[] = {
    {"Last Seen", "string", "", 0, "Time since the event was last seen."},
    {"Type", "string", "", 0, "Normal or Warning."},
    {"Reason", "string", "", 0, "Short reason for the event."},
    {"Object", "string", "", 0, "The object the event is about."},
    {"Subobject", "string", "", 1, "The part of the object the event is about."},
    {"Source", "string", "", 1, "The component that reported the event."},
    {"Message", "string", "", 0, "What happened."},
    {"First Seen", "string", "", 1, "Time since the event was first seen."},
    {"Count", "string", "", 1, "How often the event was seen."},
    {"Name", "string", "name", 1, "Name of the event."},
};

static const struct column node_columns[] = {
    {NAME_COLUMN},
    {"Status", "string", "", 0, "Ready, NotReady or Unknown, and whether scheduling is off."},
    {"Roles", "string", "", 0, "Roles from node-role labels."},
    {AGE_COLUMN},
    {"Version", "string", "", 0, "The kubelet version."},
    {"Internal-IP", "string", "", 1, "The node's internal address."},
    {"External-IP", "string", "", 1, "The node's external address."},
    {"OS-Image", "string", "", 1, "The operating system image."},
    {"Kernel-Version", "string", "", 1, "The kernel version."},
    {"Container-Runtime", "string", "", 1, "The container runtime and its version."},
};

static const struct column pdb_columns[] = {
    {NAME_COLUMN},
    {"Min Available", "string", "", 0, "Pods that must stay available."},
    {"Max Unavailable", "string", "", 0, "Pods that may be unavailable."},
    {"Allowed Disruptions", "integer", "", 0, "Pods that may be disrupted now."},
    {AGE_COLUMN},
};

/* ---- reading objects: every getter tolerates missing members and NULL parents ---- */

static const cJSON *get(const cJSON *obj, const char *key)
{
    return obj != NULL ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* The string member key of obj, "" when absent or not a string. */
static const char *text(const cJSON *obj, const char *key)
{
    const cJSON *v = get(obj, key);

    return cJSON_IsString(v) && v->valuestring != NULL ? v->valuestring : "";
}

static long long number(const cJSON *obj, const char *key)
{
    const cJSON *v = get(obj, key);

    return (long long)json_int_clamp(v, INT64_MIN, INT64_MAX, 0);
}

/* Number of members of an object or elements of an array, 0 otherwise. */
static int count(const cJSON *obj, const char *key)
{
    const cJSON *v = get(obj, key);

    return cJSON_IsObject(v) || cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
}

/* 1 when status.conditions has type with status "True". */
static int condition_true(const cJSON *status, const char *type)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, get(status, "conditions"))
    {
        if (strcmp(text(c, "type"), type) == 0)
            return strcmp(text(c, "status"), "True") == 0;
    }
    return 0;
}

/* Epoch seconds of an RFC 3339 stamp, or -1 when empty or unparseable. */
static long long stamp(const char *ts)
{
    return ts[0] != '\0' ? (long long)clock_parse_rfc3339(ts) : -1;
}

/* kube's translateTimestampSince: "<unknown>" for a missing stamp, else its age. */
static const char *since(const char *ts, long long now, char *buf, size_t len)
{
    long long t = stamp(ts);

    if (t < 0) {
        snprintf(buf, len, "<unknown>");
        return buf;
    }
    return table_duration(now - t, buf, len);
}

/* Appends s to the NUL-terminated buf of size len, cutting it when full. */
static void append(char *buf, size_t len, const char *s)
{
    size_t used = strlen(buf);

    if (used + 1 < len)
        snprintf(buf + used, len - used, "%s", s);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts the n strings of v and joins the distinct ones with sep into buf. */
static void join_sorted(const char **v, size_t n, const char *sep, char *buf, size_t len)
{
    buf[0] = '\0';
    qsort(v, n, sizeof(v[0]), by_string);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
            continue;
        if (buf[0] != '\0')
            append(buf, len, sep);
        append(buf, len, v[i]);
    }
}

/* labels.FormatLabels: "k=v" pairs sorted by key, "<none>" when there are none. */
static void format_labels(const cJSON *labels, char *buf, size_t len)
{
    const char *pairs[SORT_MAX];
    char *owned[SORT_MAX];
    size_t n = 0;
    const cJSON *l;

    cJSON_ArrayForEach(l, labels)
    {
        size_t size;

        if (n == SORT_MAX || l->string == NULL || !cJSON_IsString(l))
            continue;
        size = strlen(l->string) + strlen(l->valuestring) + 2;
        owned[n] = malloc(size);
        if (owned[n] == NULL)
            continue;
        snprintf(owned[n], size, "%s=%s", l->string, l->valuestring);
        pairs[n] = owned[n];
        n++;
    }
    join_sorted(pairs, n, ",", buf, len);
    if (n == 0)
        snprintf(buf, len, "<none>");
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
}

/* ---- building cells ---- */

static int push_string(cJSON *cells, const char *s)
{
    return json_push(cells, cJSON_CreateString(s)) != NULL ? 0 : -1;
}

static int push_int(cJSON *cells, long long n)
{
    return json_push(cells, cJSON_CreateNumber((double)n)) != NULL ? 0 : -1;
}

/* s without leading and trailing white space (strings.TrimSpace). */
static int push_trimmed(cJSON *cells, const char *s)
{
    size_t n;
    char *copy;
    int rc;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    copy = malloc(n + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, s, n);
    copy[n] = '\0';
    rc = push_string(cells, copy);
    free(copy);
    return rc;
}

static int push_name(cJSON *cells, const cJSON *obj)
{
    return push_string(cells, text(get(obj, "metadata"), "name"));
}

static int push_age(cJSON *cells, const cJSON *obj, long long now)
{
    char age[TABLE_DURATION_SIZE];

    return push_string(
        cells, since(text(get(obj, "metadata"), "creationTimestamp"), now, age, sizeof(age)));
}

static int default_cells(cJSON *cells, const cJSON *obj, long long now, int wide)
{
    (void)wide;
    if (push_name(cells, obj) < 0 || push_age(cells, obj, now) < 0)
        return -1;
    return 0;
}

/* ---- Pod: printPod in kube-apiserver's printers.go ---- */

/* 1 when the init container name is a sidecar (restartPolicy Always). */
static int is_sidecar(const cJSON *spec, const char *name)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, get(spec, "initContainers"))
    {
        if (strcmp(text(c, "name"), name) == 0)
            return strcmp(text(c, "restartPolicy"), "Always") == 0;
    }
    return 0;
}

/* Moves *last to the container's last termination when that is later. */
static void note_restart(const cJSON *cs, long long *last)
{
    long long t = stamp(text(get(get(cs, "lastState"), "terminated"), "finishedAt"));

    if (t > *last)
        *last = t;
}

/* "Signal:9" or "ExitCode:1" (with prefix "Init:" for init containers) for a terminated state
 * without a reason. */
static void exit_reason(const cJSON *term, const char *prefix, char *buf, size_t len)
{
    long long sig = number(term, "signal");

    if (sig != 0)
        snprintf(buf, len, "%sSignal:%lld", prefix, sig);
    else
        snprintf(buf, len, "%sExitCode:%lld", prefix, number(term, "exitCode"));
}

struct pod_state {
    char reason[CELL_MAX];
    long long restarts;
    long long last_restart; /* epoch seconds, -1 for never */
    int ready;
};

/* The init containers' part: returns 1 when the pod is still initializing (reason set). */
static int pod_init_state(const cJSON *spec, const cJSON *status, struct pod_state *st,
                          long long *sidecar_restarts, long long *sidecar_last)
{
    const cJSON *cs;
    int i = 0;

    cJSON_ArrayForEach(cs, get(status, "initContainerStatuses"))
    {
        const cJSON *state = get(cs, "state");
        const cJSON *term = get(state, "terminated");
        const cJSON *wait = get(state, "waiting");
        const char *why = text(wait, "reason");
        int sidecar = is_sidecar(spec, text(cs, "name"));

        st->restarts += number(cs, "restartCount");
        note_restart(cs, &st->last_restart);
        if (sidecar) {
            *sidecar_restarts += number(cs, "restartCount");
            note_restart(cs, sidecar_last);
        }
        if (term != NULL && number(term, "exitCode") == 0) {
            i++;
            continue;
        }
        if (sidecar && cJSON_IsTrue(get(cs, "started"))) {
            if (cJSON_IsTrue(get(cs, "ready")))
                st->ready++;
            i++;
            continue;
        }
        if (term != NULL && text(term, "reason")[0] == '\0')
            exit_reason(term, "Init:", st->reason, sizeof(st->reason));
        else if (term != NULL)
            snprintf(st->reason, sizeof(st->reason), "Init:%s", text(term, "reason"));
        else if (why[0] != '\0' && strcmp(why, "PodInitializing") != 0)
            snprintf(st->reason, sizeof(st->reason), "Init:%s", why);
        else
            snprintf(st->reason, sizeof(st->reason), "Init:%d/%d", i,
                     count(spec, "initContainers"));
        return 1;
    }
    return 0;
}

/* The app containers' part, walked from the last container to the first as kube does. */
static void pod_container_state(const cJSON *status, struct pod_state *st)
{
    const cJSON *statuses = get(status, "containerStatuses");
    int has_running = 0;

    for (int i = cJSON_IsArray(statuses) ? cJSON_GetArraySize(statuses) - 1 : -1; i >= 0; i--) {
        const cJSON *cs = cJSON_GetArrayItem(statuses, i);
        const cJSON *state = get(cs, "state");
        const cJSON *term = get(state, "terminated");
        const char *why = text(get(state, "waiting"), "reason");

        st->restarts += number(cs, "restartCount");
        note_restart(cs, &st->last_restart);
        if (why[0] != '\0')
            snprintf(st->reason, sizeof(st->reason), "%s", why);
        else if (term != NULL && text(term, "reason")[0] != '\0')
            snprintf(st->reason, sizeof(st->reason), "%s", text(term, "reason"));
        else if (term != NULL)
            exit_reason(term, "", st->reason, sizeof(st->reason));
        else if (cJSON_IsTrue(get(cs, "ready")) && get(state, "running") != NULL) {
            has_running = 1;
            st->ready++;
        }
    }
    /* A pod whose last container completed while another still runs is not "Completed". */
    if (strcmp(st->reason, "Completed") == 0 && has_running)
        snprintf(st->reason, sizeof(st->reason), "%s",
                 condition_true(status, "Ready") ? "Running" : "NotReady");
}

/* READINESS GATES: "1/2", or "<none>" without gates. */
static void readiness_gates(const cJSON *spec, const cJSON *status, char *buf, size_t len)
{
    const cJSON *gate;
    int n = 0;
    int ok = 0;

    cJSON_ArrayForEach(gate, get(spec, "readinessGates"))
    {
        n++;
        ok += condition_true(status, text(gate, "conditionType"));
    }
    if (n == 0)
        snprintf(buf, len, "<none>");
    else
        snprintf(buf, len, "%d/%d", ok, n);
}

static const char *or_none(const char *s)
{
    return s[0] != '\0' ? s : "<none>";
}

static int pod_cells(cJSON *cells, const cJSON *pod, long long now, int wide)
{
    const cJSON *spec = get(pod, "spec");
    const cJSON *status = get(pod, "status");
    const cJSON *c;
    const char *phase = text(status, "phase");
    const char *ip;
    struct pod_state st;
    long long sidecar_restarts = 0;
    long long sidecar_last = -1;
    int total = count(spec, "containers");
    char buf[CELL_MAX];
    char ago[TABLE_DURATION_SIZE];

    memset(&st, 0, sizeof(st));
    st.last_restart = -1;
    snprintf(st.reason, sizeof(st.reason), "%s",
             text(status, "reason")[0] != '\0' ? text(status, "reason") : phase);
    cJSON_ArrayForEach(c, get(status, "conditions"))
    {
        if (strcmp(text(c, "type"), "PodScheduled") == 0 &&
            strcmp(text(c, "reason"), "SchedulingGated") == 0)
            snprintf(st.reason, sizeof(st.reason), "SchedulingGated");
    }
    cJSON_ArrayForEach(c, get(spec, "initContainers"))
    {
        if (strcmp(text(c, "restartPolicy"), "Always") == 0)
            total++;
    }
    if (!pod_init_state(spec, status, &st, &sidecar_restarts, &sidecar_last) ||
        condition_true(status, "Initialized")) {
        st.restarts = sidecar_restarts;
        st.last_restart = sidecar_last;
        pod_container_state(status, &st);
    }
    if (text(get(pod, "metadata"), "deletionTimestamp")[0] != '\0') {
        if (strcmp(text(status, "reason"), "NodeLost") == 0)
            snprintf(st.reason, sizeof(st.reason), "Unknown");
        else if (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0)
            snprintf(st.reason, sizeof(st.reason), "Terminating");
    }

    if (push_name(cells, pod) < 0)
        return -1;
    snprintf(buf, sizeof(buf), "%d/%d", st.ready, total);
    if (push_string(cells, buf) < 0 || push_string(cells, st.reason) < 0)
        return -1;
    if (st.restarts != 0 && st.last_restart >= 0)
        snprintf(buf, sizeof(buf), "%lld (%s ago)", st.restarts,
                 table_duration(now - st.last_restart, ago, sizeof(ago)));
    else
        snprintf(buf, sizeof(buf), "%lld", st.restarts);
    if (push_string(cells, buf) < 0 || push_age(cells, pod, now) < 0)
        return -1;
    if (!wide)
        return 0;
    /* kube reads podIPs[0]; a store that only fills podIP still shows it. */
    ip = text(cJSON_GetArrayItem(get(status, "podIPs"), 0), "ip");
    if (ip[0] == '\0')
        ip = text(status, "podIP");
    readiness_gates(spec, status, buf, sizeof(buf));
    if (push_string(cells, or_none(ip)) < 0 ||
        push_string(cells, or_none(text(spec, "nodeName"))) < 0 ||
        push_string(cells, or_none(text(status, "nominatedNodeName"))) < 0 ||
        push_string(cells, buf) < 0)
        return -1;
    return 0;
}

/* ---- the other printers ---- */

static int namespace_cells(cJSON *cells, const cJSON *ns, long long now, int wide)
{
    (void)wide;
    if (push_name(cells, ns) < 0 || push_string(cells, text(get(ns, "status"), "phase")) < 0 ||
        push_age(cells, ns, now) < 0)
        return -1;
    return 0;
}

static int secret_cells(cJSON *cells, const cJSON *secret, long long now, int wide)
{
    (void)wide;
    if (push_name(cells, secret) < 0 || push_string(cells, text(secret, "type")) < 0 ||
        push_int(cells, count(secret, "data")) < 0 || push_age(cells, secret, now) < 0)
        return -1;
    return 0;
}

static int configmap_cells(cJSON *cells, const cJSON *cm, long long now, int wide)
{
    (void)wide;
    if (push_name(cells, cm) < 0 ||
        push_int(cells, count(cm, "data") + count(cm, "binaryData")) < 0 ||
        push_age(cells, cm, now) < 0)
        return -1;
    return 0;
}

static int serviceaccount_cells(cJSON *cells, const cJSON *sa, long long now, int wide)
{
    (void)wide;
    if (push_name(cells, sa) < 0 || push_int(cells, count(sa, "secrets")) < 0 ||
        push_age(cells, sa, now) < 0)
        return -1;
    return 0;
}

/* Joins the string elements of arr with "," onto buf. */
static void append_strings(const cJSON *arr, char *buf, size_t len)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsString(e))
            continue;
        if (buf[0] != '\0')
            append(buf, len, ",");
        append(buf, len, e->valuestring);
    }
}

/* getServiceExternalIP in printers.go. */
static void service_external_ip(const cJSON *svc, const char *type, int wide, char *buf, size_t len)
{
    const cJSON *spec = get(svc, "spec");
    const cJSON *ingress;
    const char *addrs[SORT_MAX];
    size_t n = 0;

    buf[0] = '\0';
    if (strcmp(type, "ClusterIP") == 0 || strcmp(type, "NodePort") == 0) {
        append_strings(get(spec, "externalIPs"), buf, len);
        if (buf[0] == '\0')
            snprintf(buf, len, "<none>");
    } else if (strcmp(type, "LoadBalancer") == 0) {
        cJSON_ArrayForEach(ingress, get(get(get(svc, "status"), "loadBalancer"), "ingress"))
        {
            const char *a =
                text(ingress, "ip")[0] != '\0' ? text(ingress, "ip") : text(ingress, "hostname");
            if (a[0] != '\0' && n < SORT_MAX)
                addrs[n++] = a;
        }
        join_sorted(addrs, n, ",", buf, len);
        if (!wide && strlen(buf) > LB_WIDTH)
            snprintf(buf + LB_WIDTH - 3, len - (LB_WIDTH - 3), "...");
        if (count(spec, "externalIPs") > 0) {
            if (buf[0] != '\0')
                append(buf, len, ",");
            append_strings(get(spec, "externalIPs"), buf, len);
        }
        if (buf[0] == '\0')
            snprintf(buf, len, "<pending>");
    } else if (strcmp(type, "ExternalName") == 0) {
        snprintf(buf, len, "%s", text(spec, "externalName"));
    } else {
        snprintf(buf, len, "<unknown>");
    }
}

static int service_cells(cJSON *cells, const cJSON *svc, long long now, int wide)
{
    const cJSON *spec = get(svc, "spec");
    const cJSON *port;
    const char *type = text(spec, "type")[0] != '\0' ? text(spec, "type") : "ClusterIP";
    const cJSON *first_ip = cJSON_GetArrayItem(get(spec, "clusterIPs"), 0);
    /* kube reads clusterIPs[0]; a store that only fills clusterIP still shows it. */
    const char *cluster_ip =
        cJSON_IsString(first_ip) ? first_ip->valuestring : text(spec, "clusterIP");
    char buf[CELL_MAX];
    char piece[128];

    if (push_name(cells, svc) < 0 || push_string(cells, type) < 0 ||
        push_string(cells, or_none(cluster_ip)) < 0)
        return -1;
    service_external_ip(svc, type, wide, buf, sizeof(buf));
    if (push_string(cells, buf) < 0)
        return -1;
    buf[0] = '\0';
    cJSON_ArrayForEach(port, get(spec, "ports"))
    {
        /* The server defaults protocol to TCP; show that when the stored object lacks it. */
        const char *proto = text(port, "protocol")[0] != '\0' ? text(port, "protocol") : "TCP";

        if (number(port, "nodePort") > 0)
            snprintf(piece, sizeof(piece), "%lld:%lld/%s", number(port, "port"),
                     number(port, "nodePort"), proto);
        else
            snprintf(piece, sizeof(piece), "%lld/%s", number(port, "port"), proto);
        if (buf[0] != '\0')
            append(buf, sizeof(buf), ",");
        append(buf, sizeof(buf), piece);
    }
    if (push_string(cells, or_none(buf)) < 0 || push_age(cells, svc, now) < 0)
        return -1;
    if (!wide)
        return 0;
    format_labels(get(spec, "selector"), buf, sizeof(buf));
    return push_string(cells, buf);
}

static int event_cells(cJSON *cells, const cJSON *ev, long long now, int wide)
{
    const cJSON *involved = get(ev, "involvedObject");
    const cJSON *series = get(ev, "series");
    const char *kind = text(involved, "kind");
    const char *component = text(get(ev, "source"), "component");
    const char *host = text(get(ev, "source"), "host");
    char first[TABLE_DURATION_SIZE];
    char last[TABLE_DURATION_SIZE];
    char target[CELL_MAX];
    char source[CELL_MAX];
    long long n = number(ev, "count");
    size_t i;

    since(text(ev, "firstTimestamp")[0] != '\0' ? text(ev, "firstTimestamp")
                                                : text(ev, "eventTime"),
          now, first, sizeof(first));
    if (text(ev, "lastTimestamp")[0] != '\0')
        since(text(ev, "lastTimestamp"), now, last, sizeof(last));
    else
        snprintf(last, sizeof(last), "%s", first);
    if (series != NULL && !cJSON_IsNull(series)) {
        since(text(series, "lastObservedTime"), now, last, sizeof(last));
        n = number(series, "count");
    } else if (n == 0) {
        n = 1; /* singleton events of the events.k8s.io API carry no count */
    }
    snprintf(target, sizeof(target), "%s%s%s", kind, text(involved, "name")[0] ? "/" : "",
             text(involved, "name"));
    for (i = 0; target[i] != '\0' && i < strlen(kind); i++)
        target[i] = (char)tolower((unsigned char)target[i]);
    if (component[0] == '\0')
        component = text(ev, "reportingComponent");
    if (host[0] == '\0')
        host = text(ev, "reportingInstance");
    snprintf(source, sizeof(source), "%s%s%s", component, host[0] ? ", " : "", host);

    if (push_string(cells, last) < 0 || push_string(cells, text(ev, "type")) < 0 ||
        push_string(cells, text(ev, "reason")) < 0 || push_string(cells, target) < 0)
        return -1;
    if (!wide)
        return push_trimmed(cells, text(ev, "message"));
    if (push_string(cells, text(involved, "fieldPath")) < 0 || push_string(cells, source) < 0 ||
        push_trimmed(cells, text(ev, "message")) < 0 || push_string(cells, first) < 0 ||
        push_int(cells, n) < 0 || push_name(cells, ev) < 0)
        return -1;
    return 0;
}

/* The first address of the given type in status.addresses, or "<none>". */
static const char *node_address(const cJSON *node, const char *type)
{
    const cJSON *a;

    cJSON_ArrayForEach(a, get(get(node, "status"), "addresses"))
    {
        if (strcmp(text(a, "type"), type) == 0)
            return text(a, "address");
    }
    return "<none>";
}

static const char *or_unknown(const char *s)
{
    return s[0] != '\0' ? s : "<unknown>";
}

static int node_cells(cJSON *cells, const cJSON *node, long long now, int wide)
{
    const cJSON *status = get(node, "status");
    const cJSON *info = get(status, "nodeInfo");
    const cJSON *c;
    const cJSON *l;
    const char *roles[SORT_MAX];
    size_t n = 0;
    char buf[CELL_MAX];

    snprintf(buf, sizeof(buf), "Unknown");
    cJSON_ArrayForEach(c, get(status, "conditions"))
    {
        if (strcmp(text(c, "type"), "Ready") == 0)
            snprintf(buf, sizeof(buf), "%s",
                     strcmp(text(c, "status"), "True") == 0 ? "Ready" : "NotReady");
    }
    if (cJSON_IsTrue(get(get(node, "spec"), "unschedulable")))
        append(buf, sizeof(buf), ",SchedulingDisabled");
    if (push_name(cells, node) < 0 || push_string(cells, buf) < 0)
        return -1;

    cJSON_ArrayForEach(l, get(get(node, "metadata"), "labels"))
    {
        const char *key = l->string != NULL ? l->string : "";
        size_t plen = strlen(NODE_ROLE_PREFIX);

        if (n == SORT_MAX)
            break;
        if (strncmp(key, NODE_ROLE_PREFIX, plen) == 0 && key[plen] != '\0')
            roles[n++] = key + plen;
        else if (strcmp(key, NODE_ROLE_LABEL) == 0 && cJSON_IsString(l) &&
                 l->valuestring[0] != '\0')
            roles[n++] = l->valuestring;
    }
    join_sorted(roles, n, ",", buf, sizeof(buf));
    if (push_string(cells, or_none(buf)) < 0 || push_age(cells, node, now) < 0 ||
        push_string(cells, text(info, "kubeletVersion")) < 0)
        return -1;
    if (!wide)
        return 0;
    if (push_string(cells, node_address(node, "InternalIP")) < 0 ||
        push_string(cells, node_address(node, "ExternalIP")) < 0 ||
        push_string(cells, or_unknown(text(info, "osImage"))) < 0 ||
        push_string(cells, or_unknown(text(info, "kernelVersion"))) < 0 ||
        push_string(cells, or_unknown(text(info, "containerRuntimeVersion"))) < 0)
        return -1;
    return 0;
}

/* An IntOrString as kube prints it, "N/A" when unset. */
static const char *int_or_string(const cJSON *obj, const char *key, char *buf, size_t len)
{
    const cJSON *v = get(obj, key);

    if (cJSON_IsNumber(v))
        snprintf(buf, len, "%lld", (long long)json_int_clamp(v, INT64_MIN, INT64_MAX, 0));
    else if (cJSON_IsString(v))
        snprintf(buf, len, "%s", v->valuestring);
    else
        snprintf(buf, len, "N/A");
    return buf;
}

static int pdb_cells(cJSON *cells, const cJSON *pdb, long long now, int wide)
{
    const cJSON *spec = get(pdb, "spec");
    char buf[CELL_MAX];

    (void)wide;
    if (push_name(cells, pdb) < 0 ||
        push_string(cells, int_or_string(spec, "minAvailable", buf, sizeof(buf))) < 0 ||
        push_string(cells, int_or_string(spec, "maxUnavailable", buf, sizeof(buf))) < 0 ||
        push_int(cells, number(get(pdb, "status"), "disruptionsAllowed")) < 0 ||
        push_age(cells, pdb, now) < 0)
        return -1;
    return 0;
}

/* The columns and cell function of a printer: {KIND_pods, PRINTER(pod_columns, pod_cells)}. */
#define PRINTER(cols, fn) cols, sizeof(cols) / sizeof(cols[0]), fn

static const struct printer printer_table[] = {
    {KIND_pods, PRINTER(pod_columns, pod_cells)},
    {KIND_namespaces, PRINTER(namespace_columns, namespace_cells)},
    {KIND_secrets, PRINTER(secret_columns, secret_cells)},
    {KIND_configmaps, PRINTER(configmap_columns, configmap_cells)},
    {KIND_services, PRINTER(service_columns, service_cells)},
    {KIND_serviceaccounts, PRINTER(serviceaccount_columns, serviceaccount_cells)},
    {KIND_events, PRINTER(event_columns, event_cells)},
    {KIND_nodes, PRINTER(node_columns, node_cells)},
    {KIND_poddisruptionbudgets, PRINTER(pdb_columns, pdb_cells)},
};

static const struct printer default_printer = {KIND__COUNT, default_columns, 2, default_cells};

static const struct printer *printer_for(const struct kinds_info *k)
{
    for (size_t i = 0; i < sizeof(printer_table) / sizeof(printer_table[0]); i++)
        if (printer_table[i].id == k->id)
            return &printer_table[i];
    return &default_printer;
}

/* ---- the Table document ---- */

static cJSON *column_definition(const struct column *c)
{
    cJSON *def = cJSON_CreateObject();

    if (def == NULL || cJSON_AddStringToObject(def, "name", c->name) == NULL ||
        cJSON_AddStringToObject(def, "type", c->type) == NULL ||
        cJSON_AddStringToObject(def, "format", c->format) == NULL ||
        cJSON_AddStringToObject(def, "description", c->description) == NULL ||
        cJSON_AddNumberToObject(def, "priority", c->priority) == NULL)
        goto fail;
    return def;
fail:
    cJSON_Delete(def);
    return NULL;
}

/* A Table with no rows yet: kind, apiVersion, metadata, columnDefinitions, rows. */
static cJSON *table_new(const struct printer *p, const char *rv, int wide)
{
    cJSON *table = cJSON_CreateObject();
    cJSON *meta;
    cJSON *defs;

    if (table == NULL || cJSON_AddStringToObject(table, "kind", "Table") == NULL ||
        cJSON_AddStringToObject(table, "apiVersion", "meta.k8s.io/v1") == NULL)
        goto fail;
    meta = json_add(table, "metadata", cJSON_CreateObject());
    if (meta == NULL ||
        (rv != NULL && cJSON_AddStringToObject(meta, "resourceVersion", rv) == NULL))
        goto fail;
    defs = json_add(table, "columnDefinitions", cJSON_CreateArray());
    if (defs == NULL)
        goto fail;
    for (size_t i = 0; i < p->ncolumns; i++) {
        if (!wide && p->columns[i].priority != 0)
            continue;
        if (json_push(defs, column_definition(&p->columns[i])) == NULL)
            goto fail;
    }
    if (json_add(table, "rows", cJSON_CreateArray()) == NULL)
        goto fail;
    return table;
fail:
    cJSON_Delete(table);
    return NULL;
}

/* kube marks finished pods' rows Completed (podSuccessConditions / podFailedConditions). */
static cJSON *pod_row_conditions(const cJSON *pod)
{
    const char *phase = text(get(pod, "status"), "phase");
    int ok = strcmp(phase, "Succeeded") == 0;
    cJSON *arr = NULL;
    cJSON *c;

    if (!ok && strcmp(phase, "Failed") != 0)
        return NULL;
    arr = cJSON_CreateArray();
    if (arr == NULL)
        goto fail;
    c = json_push(arr, cJSON_CreateObject());
    if (c == NULL || cJSON_AddStringToObject(c, "type", "Completed") == NULL ||
        cJSON_AddStringToObject(c, "status", "True") == NULL ||
        cJSON_AddStringToObject(c, "reason", phase) == NULL ||
        cJSON_AddStringToObject(
            c, "message", ok ? "The pod has completed successfully." : "The pod failed.") == NULL)
        goto fail;
    return arr;
fail:
    cJSON_Delete(arr);
    return NULL;
}

/* One TableRow: cells, conditions for finished pods, and the PartialObjectMetadata. */
static int push_row(cJSON *table, const struct printer *p, const cJSON *obj, long long now,
                    int wide)
{
    cJSON *row = cJSON_CreateObject();
    cJSON *cells;
    cJSON *partial;
    cJSON *meta;
    const cJSON *m = get(obj, "metadata");

    if (row == NULL)
        goto fail;
    cells = json_add(row, "cells", cJSON_CreateArray());
    if (cells == NULL || p->cells(cells, obj, now, wide) < 0)
        goto fail;
    if (p->id == KIND_pods) {
        cJSON *conds = pod_row_conditions(obj);

        if (conds != NULL && json_add(row, "conditions", conds) == NULL)
            goto fail;
    }
    partial = json_add(row, "object", cJSON_CreateObject());
    if (partial == NULL ||
        cJSON_AddStringToObject(partial, "kind", "PartialObjectMetadata") == NULL ||
        cJSON_AddStringToObject(partial, "apiVersion", "meta.k8s.io/v1") == NULL)
        goto fail;
    meta = cJSON_IsObject(m) ? cJSON_Duplicate(m, 1) : cJSON_CreateObject();
    if (json_add(partial, "metadata", meta) == NULL)
        goto fail;
    if (!cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(table, "rows"), row))
        goto fail;
    return 0;
fail:
    cJSON_Delete(row);
    return -1;
}

cJSON *table_from_list(const struct kinds_info *k, const cJSON *items, const char *list_rv,
                       long long now_epoch, int wide)
{
    const struct printer *p;
    cJSON *table = NULL;
    const cJSON *obj;

    if (k == NULL)
        goto fail;
    p = printer_for(k);
    table = table_new(p, list_rv, wide);
    if (table == NULL)
        goto fail;
    cJSON_ArrayForEach(obj, items)
    {
        if (push_row(table, p, obj, now_epoch, wide) < 0)
            goto fail;
    }
    return table;
fail:
    cJSON_Delete(table);
    return NULL;
}

cJSON *table_from_object(const struct kinds_info *k, const cJSON *obj, const char *rv,
                         long long now_epoch, int wide)
{
    const struct printer *p;
    cJSON *table = NULL;
    const cJSON *own_rv = get(get(obj, "metadata"), "resourceVersion");

    if (k == NULL || obj == NULL)
        goto fail;
    if (rv == NULL && cJSON_IsString(own_rv))
        rv = own_rv->valuestring;
    p = printer_for(k);
    table = table_new(p, rv, wide);
    if (table == NULL || push_row(table, p, obj, now_epoch, wide) < 0)
        goto fail;
    return table;
fail:
    cJSON_Delete(table);
    return NULL;
}

const char *table_duration(long long seconds, char *buf, size_t len)
{
    long long minutes = seconds / 60;
    long long hours = seconds / 3600;
    long long days = hours / 24;

    if (seconds < -1)
        snprintf(buf, len, "<invalid>");
    else if (seconds < 0)
        snprintf(buf, len, "0s");
    else if (seconds < 60 * 2)
        snprintf(buf, len, "%llds", seconds);
    else if (minutes < 10 && seconds % 60 != 0)
        snprintf(buf, len, "%lldm%llds", minutes, seconds % 60);
    else if (minutes < 60 * 3)
        snprintf(buf, len, "%lldm", minutes);
    else if (hours < 8 && minutes % 60 != 0)
        snprintf(buf, len, "%lldh%lldm", hours, minutes % 60);
    else if (hours < 48)
        snprintf(buf, len, "%lldh", hours);
    else if (hours < 24 * 8 && hours % 24 != 0)
        snprintf(buf, len, "%lldd%lldh", days, hours % 24);
    else if (hours < 24 * 365 * 2)
        snprintf(buf, len, "%lldd", days);
    else if (hours < 24 * 365 * 8 && days % 365 != 0)
        snprintf(buf, len, "%lldy%lldd", days / 365, days % 365);
    else
        snprintf(buf, len, "%lldy", days / 365);
    return buf;
}

/* ---- Accept negotiation ---- */

int table_wanted(const char *accept)
{
    static const char *const want[][2] = {{"as", "Table"}, {"v", "v1"}, {"g", "meta.k8s.io"}};

    return accept_has_json_with(accept, want, sizeof(want) / sizeof(want[0]));
}
