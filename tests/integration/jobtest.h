/* jobtest.h -- what the reference job client's integration tests share (header-only, static
 * inline): server hooks that record every request the fake saw and misbehave on demand (hold the
 * pod unscheduled, answer pod creates or deletes with a Status, fail or hang a stage, delete the
 * output log), a token trace of the requests in §2's vocabulary, and a helper that runs one job
 * against the test server and returns its log. Hooks run on the server thread; their state is
 * static and guarded by a mutex (or atomics). */
#ifndef KF_JOBTEST_H
#define KF_JOBTEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness/diag.h"
#include "harness/jobclient.h"
#include "harness/jobconfig.h"
#include "itest.h"
#include "mockapi/hooks.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/api.h"
#include "mockapi/kube/cluster.h"
#include "mockapi/server.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/route.h"
#include "mockapi/kube/status.h"

#define JT_MAX_REQS 4096
#define JT_REQ_MAX 1024

static pthread_mutex_t jt_mu = PTHREAD_MUTEX_INITIALIZER;

static struct {
    char reqs[JT_MAX_REQS][JT_REQ_MAX]; /* "METHOD target" in arrival order */
    int nreqs;
    char pod_body[65536];          /* the last POST pods body */
    char delete_body[1024];        /* the last DELETE pods body */
    char create_msg[256];          /* message of the Status pod creates get */
    atomic_int create_errors;      /* pod creates answered 500 while > 0 */
    atomic_int delete_404;         /* answer the pod DELETE with a pods 404 */
    atomic_int hold_schedule;      /* keep new pods Pending, unscheduled */
    atomic_int fast;               /* schedule and start pods at once */
    atomic_int step_exit;          /* step_script ends with this code (0: the default stage) */
    atomic_int step_hang;          /* step_script prints a line and never ends */
    atomic_int step_delete_log;    /* step_script deletes the output log and hangs */
    atomic_int hold_start;         /* keep new pods scheduled but not started */
    atomic_int put_secret_error;   /* answer secret updates with 500 etcdserver: leader changed */
    atomic_int pull_fail;          /* GETs of the pod show build in ImagePullBackOff for this many
                                      pods (the server pointer must be set) */
    atomic_int step_started;       /* step_script began (on_stage) */
    struct mockapi_server *server; /* for hooks that change the pod (set with jt_grab_server) */
    char pull_failed_pod[256];
} JT;

static inline void jt_reset(void)
{
    pthread_mutex_lock(&jt_mu);
    JT.nreqs = 0;
    JT.pod_body[0] = JT.delete_body[0] = JT.create_msg[0] = '\0';
    pthread_mutex_unlock(&jt_mu);
    atomic_store(&JT.create_errors, 0);
    atomic_store(&JT.delete_404, 0);
    atomic_store(&JT.hold_schedule, 0);
    atomic_store(&JT.fast, 1);
    atomic_store(&JT.step_exit, 0);
    atomic_store(&JT.step_hang, 0);
    atomic_store(&JT.step_delete_log, 0);
    atomic_store(&JT.hold_start, 0);
    atomic_store(&JT.put_secret_error, 0);
    atomic_store(&JT.pull_fail, 0);
    atomic_store(&JT.step_started, 0);
    JT.pull_failed_pod[0] = '\0';
}

static inline void jt_grab(void *arg, struct mockapi_server *s)
{
    (void)arg;
    JT.server = s;
}

/* Let the hooks reach the cluster of t's server. */
static inline void jt_grab_server(struct itest *t)
{
    itest_run(t, jt_grab, NULL);
}

static inline enum hook_verdict jt_on_request(void *arg, struct conn *c, struct http_request *req,
                                              const struct route *route)
{
    (void)arg;
    int is_pods = route->type == ROUTE_OBJECT && route->kind == &kinds_table[KIND_pods] &&
                  !route->subresource[0];
    pthread_mutex_lock(&jt_mu);
    if (JT.nreqs < JT_MAX_REQS)
        snprintf(JT.reqs[JT.nreqs++], JT_REQ_MAX, "%s %s", req->method, req->url);
    if (is_pods && route->verb == VERB_CREATE)
        snprintf(JT.pod_body, sizeof JT.pod_body, "%.*s", (int)req->body_len,
                 (const char *)req->body);
    if (is_pods && route->verb == VERB_DELETE)
        snprintf(JT.delete_body, sizeof JT.delete_body, "%.*s", (int)req->body_len,
                 (const char *)req->body);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", JT.create_msg);
    pthread_mutex_unlock(&jt_mu);
    if (is_pods && route->verb == VERB_CREATE && atomic_load(&JT.create_errors) > 0) {
        atomic_fetch_sub(&JT.create_errors, 1);
        api_send_status(c, status_new(500, "InternalError", msg));
        return HOOK_HANDLED;
    }
    if (is_pods && route->verb == VERB_GET && atomic_load(&JT.pull_fail) > 0 && JT.server &&
        strcmp(JT.pull_failed_pod, route->name) != 0) {
        /* the kubelet cannot pull the build image: ImagePullBackOff (§3.1, §7.13) */
        struct cluster *cl = mockapi_server_cluster(JT.server);
        struct cluster_container st = {.state = CLUSTER_WAITING, .reason = "ImagePullBackOff"};
        if (cluster_pod_set_container(cl, route->namespace, route->name, "build", &st) == 0 &&
            cluster_pod_flush(cl, route->namespace, route->name) == 0) {
            atomic_fetch_sub(&JT.pull_fail, 1);
            snprintf(JT.pull_failed_pod, sizeof JT.pull_failed_pod, "%s", route->name);
        }
    }
    if (route->type == ROUTE_OBJECT && route->kind == &kinds_table[KIND_secrets] &&
        route->verb == VERB_UPDATE && atomic_load(&JT.put_secret_error)) {
        api_send_status(c, status_new(500, "InternalError", "etcdserver: leader changed"));
        return HOOK_HANDLED;
    }
    if (is_pods && route->verb == VERB_DELETE && atomic_load(&JT.delete_404)) {
        api_send_status(c, status_not_found(&kinds_table[KIND_pods], route->name));
        return HOOK_HANDLED;
    }
    return HOOK_PASS;
}

static inline enum hook_verdict jt_on_pod_step(void *arg, struct hook_pod_step *step)
{
    (void)arg;
    if (step->step == POD_STEP_SCHEDULE && atomic_load(&JT.hold_schedule))
        return HOOK_HOLD;
    if (step->step == POD_STEP_START && atomic_load(&JT.hold_start))
        return HOOK_HOLD;
    if (atomic_load(&JT.fast) && step->step != POD_STEP_TERMINATE)
        step->delay_ms = 0;
    return HOOK_PASS;
}

static inline enum hook_verdict jt_on_stage(void *arg, struct hook_stage *st)
{
    (void)arg;
    if (strcmp(st->stage, "step_script") != 0)
        return HOOK_PASS;
    atomic_store(&JT.step_started, 1);
    int code = atomic_load(&JT.step_exit);
    int hang = atomic_load(&JT.step_hang), del = atomic_load(&JT.step_delete_log);
    if (!code && !hang && !del)
        return HOOK_PASS;
    struct rcs_step w = {
        .kind = RCS_STEP_WRITE, .stream = RCS_STDOUT, .data = (char *)"working\n", .len = 8};
    struct rcs_step end = {.kind = code ? RCS_STEP_EXIT : RCS_STEP_HANG, .exit_code = code};
    if (rcs_script_add(st->plan, &w) < 0 || rcs_script_add(st->plan, &end) < 0)
        return HOOK_PASS;
    if (del)
        st->delete_log_ms = 0;
    return HOOK_HANDLED;
}

static const struct mockapi_hooks jt_hooks = {
    .on_request = jt_on_request, .on_pod_step = jt_on_pod_step, .on_stage = jt_on_stage};

/* The requests as §2's steps, one token each, space-separated:
 *   SSAR  WATCHLIST  LIST  WATCH  VERSION  NS  SECRET  PUTSECRET  POD  GET  EVENTS  LOG
 *   SAVE:<container> (a detect-shell exec)  BUILD:<container> (a gitlab-runner-build exec)
 *   RL (read-logs)  ATTACH:<container>  DELPOD  DELSECRET  DELNS  OTHER */
static inline void jt_trace(char *out, size_t len)
{
    size_t o = 0;
    out[0] = '\0';
    pthread_mutex_lock(&jt_mu);
    for (int i = 0; i < JT.nreqs && o + 64 < len; i++) {
        const char *r = JT.reqs[i];
        char tok[64] = "OTHER";
        const char *cont = strstr(r, "container=");
        char cn[32] = "";
        if (cont)
            snprintf(cn, sizeof cn, "%.*s", (int)strcspn(cont + 10, "&"), cont + 10);
        if (strstr(r, "selfsubjectaccessreviews"))
            snprintf(tok, sizeof tok, "SSAR");
        else if (strncmp(r, "GET ", 4) == 0 && strstr(r, "sendInitialEvents=true"))
            snprintf(tok, sizeof tok, "WATCHLIST");
        else if (strncmp(r, "GET ", 4) == 0 && strstr(r, "/pods?") && strstr(r, "watch=true"))
            snprintf(tok, sizeof tok, "WATCH");
        else if (strncmp(r, "GET ", 4) == 0 && strstr(r, "/pods?"))
            snprintf(tok, sizeof tok, "LIST");
        else if (strcmp(r, "GET /version") == 0)
            snprintf(tok, sizeof tok, "VERSION");
        else if (strcmp(r, "POST /api/v1/namespaces") == 0)
            snprintf(tok, sizeof tok, "NS");
        else if (strncmp(r, "POST ", 5) == 0 && strstr(r, "/secrets"))
            snprintf(tok, sizeof tok, "SECRET");
        else if (strncmp(r, "PUT ", 4) == 0 && strstr(r, "/secrets/"))
            snprintf(tok, sizeof tok, "PUTSECRET");
        else if (strncmp(r, "POST ", 5) == 0 && strstr(r, "/exec?command=gitlab-runner-helper"))
            snprintf(tok, sizeof tok, "RL");
        else if (strncmp(r, "POST ", 5) == 0 && strstr(r, "/exec?command=sh&"))
            snprintf(tok, sizeof tok, "SAVE:%s", cn);
        else if (strncmp(r, "POST ", 5) == 0 && strstr(r, "/exec?command=gitlab-runner-build"))
            snprintf(tok, sizeof tok, "BUILD:%s", cn);
        else if (strncmp(r, "POST ", 5) == 0 && strstr(r, "/attach?"))
            snprintf(tok, sizeof tok, "ATTACH:%s", cn);
        else if (strncmp(r, "POST ", 5) == 0 && strstr(r, "/pods"))
            snprintf(tok, sizeof tok, "POD");
        else if (strncmp(r, "GET ", 4) == 0 && strstr(r, "/log?"))
            snprintf(tok, sizeof tok, "LOG");
        else if (strncmp(r, "GET ", 4) == 0 && strstr(r, "/events?"))
            snprintf(tok, sizeof tok, "EVENTS");
        else if (strncmp(r, "GET ", 4) == 0 && strstr(r, "/pods/"))
            snprintf(tok, sizeof tok, "GET");
        else if (strncmp(r, "DELETE ", 7) == 0 && strstr(r, "/pods/"))
            snprintf(tok, sizeof tok, "DELPOD");
        else if (strncmp(r, "DELETE ", 7) == 0 && strstr(r, "/secrets/"))
            snprintf(tok, sizeof tok, "DELSECRET");
        else if (strncmp(r, "DELETE ", 7) == 0 && strstr(r, "/namespaces/"))
            snprintf(tok, sizeof tok, "DELNS");
        o += (size_t)snprintf(out + o, len - o, "%s%s", o ? " " : "", tok);
    }
    pthread_mutex_unlock(&jt_mu);
}

/* The trace without the kinds of token in drop (space-separated): the per-stage poller's GETs
 * and the wait loop's rounds come when they come. */
static inline void jt_trace_without(char *out, size_t len, const char *drop)
{
    char *all = malloc(len);
    jt_trace(all, len);
    size_t o = 0;
    out[0] = '\0';
    for (char *t = all; *t;) {
        size_t l = strcspn(t, " ");
        int dropped = 0;
        for (const char *d = drop; *d;) {
            size_t dl = strcspn(d, " ");
            dropped |= dl == l && strncmp(t, d, l) == 0;
            d += dl;
            d += *d == ' ';
        }
        if (!dropped)
            o += (size_t)snprintf(out + o, len - o, "%s%.*s", o ? " " : "", (int)l, t);
        t += l;
        t += *t == ' ';
    }
    free(all);
}

/* How many requests were recorded whose "METHOD target" starts with prefix. */
static inline int jt_count(const char *prefix)
{
    int n = 0;
    pthread_mutex_lock(&jt_mu);
    for (int i = 0; i < JT.nreqs; i++)
        n += strncmp(JT.reqs[i], prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&jt_mu);
    return n;
}

/* How many requests were exactly "METHOD target". */
static inline int jt_count_exact(const char *req)
{
    int n = 0;
    pthread_mutex_lock(&jt_mu);
    for (int i = 0; i < JT.nreqs; i++)
        n += strcmp(JT.reqs[i], req) == 0;
    pthread_mutex_unlock(&jt_mu);
    return n;
}

static inline int jt_nreqs(void)
{
    pthread_mutex_lock(&jt_mu);
    int n = JT.nreqs;
    pthread_mutex_unlock(&jt_mu);
    return n;
}

/* Run one job with the configuration text json (the server's host is added unless the text
 * sets one) and return its log (caller frees); *res gets the result. */
static inline char *jt_run(struct itest *t, const char *json, struct jobclient_result *res)
{
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        fail_msg("bad test config: %s", json);
    cJSON *k = cJSON_GetObjectItemCaseSensitive(doc, "kubernetes");
    if (!k)
        k = cJSON_AddObjectToObject(doc, "kubernetes");
    if (t && !cJSON_GetObjectItemCaseSensitive(k, "host")) {
        cJSON_AddStringToObject(k, "host", itest_url(t));
        if (itest_token(t))
            cJSON_AddStringToObject(k, "bearer_token", itest_token(t));
        if (itest_ca_file(t))
            cJSON_AddStringToObject(k, "ca_file", itest_ca_file(t));
    }
    struct diag d;
    diag_init(&d, "test");
    struct jobconfig cfg;
    if (jobconfig_from_json(doc, &cfg, &d) < 0)
        fail_msg("config: %s", d.n ? d.msgs[0] : "?");
    diag_release(&d);
    cJSON_Delete(doc);
    char *log = NULL;
    size_t loglen = 0;
    FILE *f = open_memstream(&log, &loglen);
    /* a new seed per job: names differ from the last job's pod, which may still be terminating */
    static atomic_int seed = 7;
    struct jobclient_opts o = {.cfg = &cfg,
                               .log = f,
                               .seed = (uint64_t)atomic_fetch_add(&seed, 1),
                               .prepare_retry_ms = 200};
    jobclient_run(&o, res);
    fclose(f);
    jobconfig_release(&cfg);
    if (getenv("KF_JOBTEST_LOG"))
        fprintf(stderr, "---- job log ----\n%s---- end ----\n", log);
    return log;
}

/* A job running on its own thread, so the test can act on the server meanwhile. */
struct jt_async {
    pthread_t th;
    struct itest *t;
    const char *json;
    struct jobclient_result res;
    char *log;
};

static inline void *jt_async_main(void *arg)
{
    struct jt_async *a = arg;
    a->log = jt_run(a->t, a->json, &a->res);
    return NULL;
}

static inline void jt_start_async(struct jt_async *a, struct itest *t, const char *json)
{
    memset(a, 0, sizeof *a);
    a->t = t;
    a->json = json;
    assert_int_equal(pthread_create(&a->th, NULL, jt_async_main, a), 0);
}

/* Wait for the job's end: its log (caller frees); a->res holds the result. */
static inline char *jt_wait_async(struct jt_async *a)
{
    pthread_join(a->th, NULL);
    return a->log;
}

/* Poll flag every 10 ms until it is set; 1, or 0 after timeout_ms. */
static inline int jt_wait_flag(atomic_int *flag, int timeout_ms)
{
    int64_t until = itest_now_ms() + timeout_ms;
    while (!atomic_load(flag)) {
        if (itest_now_ms() >= until)
            return 0;
        usleep(10000);
    }
    return 1;
}

#endif
