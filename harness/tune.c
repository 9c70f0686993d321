/* tune.c -- `kubefault tune`: poll_timeout against a distribution of scheduling delays.
 *
 * One draw per trial from the scenario's pods[].schedule.delay (the scenario's seeded generator,
 * or --seed), the same draws for every poll_timeout value (common random numbers: the values are
 * compared on the same jobs). A trial is the scenario with that pod scheduled after the draw,
 * run by run_scenario() with the reference job client, in a child process of its own (fork: a
 * trial is mostly waiting, so several run at once).
 *
 * Time scale. The runner GETs the pod every poll_interval, poll_timeout/poll_interval + 1 times.
 * The trials run S times faster than the model: the job client sleeps poll_interval/S between
 * GETs on an absolute schedule (`kubefault job --time-scale S`) and the pod's delay is divided by
 * S. A client that polls every I can only tell which interval ((k-1)I, kI] the pod started in,
 * so the fake starts the pod in the middle of it, (k - 1/2)I: the outcome and the number of polls
 * are then what the model predicts with half an interval of margin on both sides (I/2S of wall
 * time: 100 ms at the default scale), and the table is the same on every run. Each trial's
 * observed polls and outcome are compared with the prediction; a mismatch ("slipped") says the
 * machine could not keep the scale, and is reported, never hidden.
 *
 * Written here rather than as a script around `kubefault run`: it needs the draws, the scenario
 * rewritten per trial and run_scenario()'s output, which the CLI does not expose. */
#include "harness/tune.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "harness/diag.h"
#include "harness/dist.h"
#include "harness/expect.h"
#include "harness/jobconfig.h"
#include "harness/jsonc.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "mockapi/base/clock.h"
#include "mockapi/base/file.h"
#include "mockapi/base/rng.h"

#define WAITING_LINE "Waiting for pod "
#define TIMED_OUT_TEXT "timed out waiting for pod to start"
#define STARTED_TEXT "Running on " /* the runner's first line once the pod runs */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int64_t mono_ms(void)
{
    return clock_mono_ns() / 1000000;
}

static int failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int failf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

int tune_first_poll(int64_t delay_ms, int64_t interval_ms)
{
    if (interval_ms <= 0)
        return 1;
    int64_t k = (delay_ms + interval_ms - 1) / interval_ms;
    if (k > INT32_MAX / 2)
        k = INT32_MAX / 2;
    return k < 1 ? 1 : (int)k;
}

/* ---- the scenario ---- */

static char *read_text(const char *file, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        failf(err, errlen, "cannot read \"%s\": %s", file, strerror(errno));
        return NULL;
    }
    char *buf = malloc((size_t)SCENARIO_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, (size_t)SCENARIO_MAX_BYTES + 1, f) : 0;
    int bad = !buf || ferror(f) || n > SCENARIO_MAX_BYTES;
    fclose(f);
    if (bad) {
        failf(err, errlen, "cannot read \"%s\"", file);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static cJSON *obj_child(cJSON *parent, const char *key)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(parent, key);
    if (cJSON_IsObject(c))
        return c;
    cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
    return cJSON_AddObjectToObject(parent, key);
}

static int set_item(cJSON *obj, const char *key, cJSON *v)
{
    if (!obj || !v) {
        cJSON_Delete(v);
        return -1;
    }
    if (cJSON_HasObjectItem(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v) ? 0 : -1;
    return cJSON_AddItemToObject(obj, key, v) ? 0 : -1;
}

/* The trial's scenario: the pod scheduled after ready_ms (wall time) and started at once, the
 * job client's poll_timeout and poll_interval set. Text to free, or NULL. */
static char *trial_text(const cJSON *doc, int pod_index, int64_t ready_ms, int timeout_s,
                        int interval_s)
{
    char d[32];
    cJSON *t = cJSON_Duplicate(doc, 1);
    if (!t)
        return NULL;
    snprintf(d, sizeof d, "%lldms", (long long)ready_ms);
    cJSON *pod = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(t, "pods"), pod_index);
    int bad = set_item(obj_child(pod, "schedule"), "delay", cJSON_CreateString(d));
    cJSON *cpods = obj_child(obj_child(t, "cluster"), "pods");
    bad |= set_item(cpods, "startDelay", cJSON_CreateString("0ms"));
    cJSON *k = obj_child(obj_child(t, "jobClient"), "kubernetes");
    bad |= set_item(k, "poll_timeout", cJSON_CreateNumber(timeout_s));
    bad |= set_item(k, "poll_interval", cJSON_CreateNumber(interval_s));
    char *text = bad ? NULL : cJSON_PrintUnformatted(t);
    cJSON_Delete(t);
    return text;
}

/* ---- one trial, in a child process ---- */

struct record { /* what a child sends back through its pipe (less than PIPE_BUF) */
    int row, trial;
    enum tune_outcome outcome;
    int polls;
    int64_t wall_ms;
    char detail[TUNE_DETAIL_MAX];
};

/* src into dst (n bytes), cut to fit and NUL-ended */
static void copy_cut(char *dst, size_t n, const char *src, size_t len)
{
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* 1 when text[0..n) holds needle */
static int has(const char *text, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(text + i, needle, k) == 0)
            return 1;
    return 0;
}

static void classify(const char *out, size_t len, const struct run_result *rr, struct record *rec)
{
    const char *p = out, *end = out + len, *last = NULL, *error = NULL;
    size_t last_len = 0, error_len = 0;
    int timed_out = 0, started = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n >= sizeof WAITING_LINE - 1 && memcmp(p, WAITING_LINE, sizeof WAITING_LINE - 1) == 0)
            rec->polls++;
        else if (n >= sizeof STARTED_TEXT - 1 &&
                 memcmp(p, STARTED_TEXT, sizeof STARTED_TEXT - 1) == 0)
            started = 1;
        if (has(p, n, TIMED_OUT_TEXT))
            timed_out = 1;
        if (n) {
            last = p;
            last_len = n;
        }
        if (n > 7 && memcmp(p, "ERROR: ", 7) == 0) {
            error = p;
            error_len = n;
        }
        p += n + 1;
    }
    rec->outcome = timed_out ? TUNE_TIMED_OUT : started ? TUNE_STARTED : TUNE_OTHER;
    if (rec->outcome != TUNE_OTHER)
        return;
    if (rr->error[0])
        copy_cut(rec->detail, sizeof rec->detail, rr->error, strlen(rr->error));
    else if (rr->timed_out)
        snprintf(rec->detail, sizeof rec->detail, "the job client outran its timeout");
    else if (error) /* the runner's last word, rather than kubefault job's summary */
        copy_cut(rec->detail, sizeof rec->detail, error, error_len);
    else if (last)
        copy_cut(rec->detail, sizeof rec->detail, last, last_len);
    else
        snprintf(rec->detail, sizeof rec->detail, "no output, exit code %d", rr->exit_code);
}

static void run_trial(const struct tune_opts *o, const char *text, const char *dir,
                      const char *scale_arg, struct record *rec)
{
    struct diag d;
    diag_init(&d, o->file);
    struct scenario *s = scenario_parse(o->file, text, strlen(text), &d);
    if (!s) {
        snprintf(rec->detail, sizeof rec->detail, "the trial's scenario is invalid: %s",
                 d.n ? d.msgs[0] : "?");
        diag_release(&d);
        return;
    }
    diag_release(&d);
    struct event_config *cfg = event_config_new();
    struct event_base *base = NULL;
    if (cfg) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        event_config_set_flag(cfg, EVENT_BASE_FLAG_NO_CACHE_TIME);
        base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    if (!base) {
        snprintf(rec->detail, sizeof rec->detail, "cannot create an event loop");
        scenario_free(s);
        return;
    }
    char *const job_args[] = {(char *)"--time-scale", (char *)scale_arg, NULL};
    struct run_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.self_exe = o->self_exe;
    ro.work_dir = dir;
    ro.job_args = job_args;
    ro.timeout_ms = TUNE_TRIAL_SLACK_MS;
    struct run_result rr;
    run_scenario(base, s, &ro, &rr);
    rec->wall_ms = rr.duration_ms;
    classify(rr.output ? rr.output : "", rr.output_len, &rr, rec);
    if (rec->outcome == TUNE_OTHER && o->keep_dir) {
        char path[4200], e[256];
        snprintf(path, sizeof path, "%s/trial-%d-%d.log", o->keep_dir, rec->row, rec->trial + 1);
        if (run_mkdirs(o->keep_dir, e, sizeof e) == 0)
            file_write_atomic(path, rr.output ? rr.output : "", rr.output_len, 0644, e, sizeof e);
    }
    run_result_release(&rr);
    scenario_free(s);
    event_base_free(base);
}

/* ---- the parent ---- */

struct child {
    pid_t pid;
    int fd;
    int row, trial;
};

static int reap(struct child *kids, size_t nkids, struct tune_result *r)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, 0)) < 0 && errno == EINTR)
        ;
    if (pid < 0)
        return -1;
    for (size_t i = 0; i < nkids; i++) {
        if (kids[i].pid != pid)
            continue;
        struct record rec;
        memset(&rec, 0, sizeof rec);
        ssize_t n;
        while ((n = read(kids[i].fd, &rec, sizeof rec)) < 0 && errno == EINTR)
            ;
        close(kids[i].fd);
        struct tune_trial *t = &r->rows[kids[i].row].trials[kids[i].trial];
        if (n != (ssize_t)sizeof rec || rec.row != kids[i].row || rec.trial != kids[i].trial) {
            t->outcome = TUNE_OTHER;
            snprintf(t->detail, sizeof t->detail,
                     "the trial's process ended (status %d) without a result", status);
        } else {
            t->outcome = rec.outcome;
            t->polls = rec.polls;
            t->wall_ms = rec.wall_ms;
            snprintf(t->detail, sizeof t->detail, "%s", rec.detail);
        }
        kids[i].pid = 0;
        return (int)i;
    }
    return -2; /* not ours */
}

static const char *outcome_name(enum tune_outcome o)
{
    return o == TUNE_STARTED ? "started" : o == TUNE_TIMED_OUT ? "timed out" : "other";
}

static void progress(const struct tune_opts *o, size_t done, size_t total, int64_t t0)
{
    if (!o->progress)
        return;
    char el[48];
    fprintf(o->progress, "\r\033[Ktune: %zu/%zu trials, %s", done, total,
            expect_format_duration(el, sizeof el, mono_ms() - t0));
    fflush(o->progress);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void summarise(struct tune_result *r)
{
    int64_t interval = (int64_t)r->poll_interval_s * 1000;
    int64_t *waits = malloc(sizeof *waits * (size_t)(r->trials ? r->trials : 1));
    for (size_t v = 0; v < r->nrows; v++) {
        struct tune_row *row = &r->rows[v];
        int attempts = row->poll_timeout_s / r->poll_interval_s, nw = 0;
        row->started = row->timed_out = row->other = row->slipped = 0;
        row->lost_ms = row->waited_ms = row->wait_p95_ms = 0;
        for (int i = 0; i < r->trials; i++) {
            struct tune_trial *t = &row->trials[i];
            int k = tune_first_poll(t->delay_ms, interval);
            t->polls_expected = k <= attempts ? k : attempts + 1;
            enum tune_outcome want = k <= attempts ? TUNE_STARTED : TUNE_TIMED_OUT;
            if (t->outcome == TUNE_OTHER) {
                row->other++;
                continue;
            }
            if (t->outcome != want || t->polls != t->polls_expected)
                row->slipped++;
            int64_t wait = (int64_t)t->polls * interval;
            if (t->outcome == TUNE_TIMED_OUT) {
                row->timed_out++;
                row->lost_ms += wait;
            } else {
                row->started++;
                row->waited_ms += wait;
                if (waits)
                    waits[nw++] = wait;
            }
        }
        if (waits && nw) {
            qsort(waits, (size_t)nw, sizeof *waits, cmp_i64);
            row->wait_p95_ms = waits[(size_t)ceil(0.95 * nw) - 1];
        }
    }
    free(waits);
}

int tune_run(const struct tune_opts *o, struct tune_result *r, char *err, size_t errlen)
{
    struct diag d;
    size_t len = 0;
    char *text = NULL, **texts = NULL;
    cJSON *doc = NULL;
    struct scenario *s = NULL;
    struct child *kids = NULL;
    struct dist dist;
    int rc = -1, pod_index = -1, have_dist = 0, child_rc = -1; /* child_rc: in a trial's child */

    memset(r, 0, sizeof *r);
    if (o->ntimeouts == 0 || o->ntimeouts > TUNE_VALUES_MAX)
        return failf(err, errlen, "give 1 to %d poll_timeout values", TUNE_VALUES_MAX);
    if (o->trials < 1 || o->trials > TUNE_TRIALS_MAX)
        return failf(err, errlen, "--trials must be from 1 to %d", TUNE_TRIALS_MAX);

    diag_init(&d, o->file);
    s = scenario_load(o->file, &d);
    if (!s) {
        size_t n = 0;
        n += (size_t)snprintf(err, errlen, "the scenario is invalid:");
        for (size_t i = 0; i < d.n && n < errlen; i++)
            n += (size_t)snprintf(err + n, errlen - n, "\n  %s", d.msgs[i]);
        diag_release(&d);
        return -1;
    }
    diag_release(&d);
    if (!(text = read_text(o->file, &len, err, errlen)))
        goto out;
    diag_init(&d, o->file);
    doc = jsonc_parse(text, len, &d);
    diag_release(&d);
    if (!doc) {
        failf(err, errlen, "cannot parse \"%s\"", o->file);
        goto out;
    }

    /* the pod script whose schedule.delay is drawn: the first that has one */
    const cJSON *pods = cJSON_GetObjectItemCaseSensitive(doc, "pods"), *p, *script = NULL;
    int i = 0;
    cJSON_ArrayForEach(p, pods)
    {
        const cJSON *sched = cJSON_GetObjectItemCaseSensitive(p, "schedule");
        if (cJSON_GetObjectItemCaseSensitive(sched, "delay")) {
            pod_index = i;
            script = p;
            break;
        }
        i++;
    }
    if (!script) {
        failf(err, errlen,
              "%s: no pods[].schedule.delay to draw scheduling delays from (tune needs a pod "
              "script with one: harness/TUNE.md)",
              o->file);
        goto out;
    }
    if (!s->job_client) {
        failf(err, errlen,
              "%s: no jobClient section: tune runs the reference job client with it "
              "(scenarios/README.md#jobclient)",
              o->file);
        goto out;
    }

    snprintf(r->scenario, sizeof r->scenario, "%s", s->name);
    const cJSON *delay = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(script, "schedule"), "delay");
    if (dist_parse(delay, "", JSONC_DURATION_MAX_MS, NULL, &dist) < 0) { /* validated: cannot be */
        failf(err, errlen, "%s: pods[%d].schedule.delay cannot be read", o->file, pod_index);
        goto out;
    }
    have_dist = 1;
    dist_describe(&dist, r->distribution, sizeof r->distribution);
    r->seed = o->seed_given ? o->seed : s->seed;
    r->trials = o->trials;
    r->target = o->target;
    r->poll_interval_s = o->poll_interval_s;
    if (r->poll_interval_s <= 0) {
        const cJSON *pi = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(s->job_client, "kubernetes"), "poll_interval");
        r->poll_interval_s =
            cJSON_IsNumber(pi) && pi->valueint > 0 ? pi->valueint : JOBCONFIG_POLL_INTERVAL;
    }
    int64_t interval = (int64_t)r->poll_interval_s * 1000;
    r->time_scale =
        o->time_scale > 0
            ? o->time_scale
            : (int)(interval / TUNE_POLL_REAL_MS > 1 ? interval / TUNE_POLL_REAL_MS : 1);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    r->jobs = o->jobs > 0 ? o->jobs
                          : (int)(ncpu > 0 && ncpu < TUNE_JOBS_DEFAULT_MAX / TUNE_JOBS_PER_CPU
                                      ? TUNE_JOBS_PER_CPU * ncpu
                                      : TUNE_JOBS_DEFAULT_MAX);

    /* the draws: trial i gets the i-th, whatever the poll_timeout */
    struct rng rng;
    rng_init(&rng, r->seed);
    if (!(r->delays_ms = calloc((size_t)o->trials, sizeof *r->delays_ms)))
        goto oom;
    for (int t = 0; t < o->trials; t++)
        r->delays_ms[t] = dist_draw(&dist, &rng);

    /* every trial's scenario, checked before any runs */
    size_t total = o->ntimeouts * (size_t)o->trials;
    if (!(texts = calloc(total, sizeof *texts)))
        goto oom;
    for (size_t v = 0; v < o->ntimeouts; v++) {
        struct tune_row *row = &r->rows[v];
        row->poll_timeout_s = o->timeouts_s[v];
        if (!(row->trials = calloc((size_t)o->trials, sizeof *row->trials)))
            goto oom;
        r->nrows++;
        int attempts = row->poll_timeout_s / r->poll_interval_s;
        for (int t = 0; t < o->trials; t++) {
            int k = tune_first_poll(r->delays_ms[t], interval);
            if (k > attempts + 2) /* starts after the job gave up: when, does not matter */
                k = attempts + 2;
            int64_t ready = ((2 * (int64_t)k - 1) * interval) / (2 * r->time_scale);
            row->trials[t].delay_ms = r->delays_ms[t];
            if (!(texts[v * (size_t)o->trials + (size_t)t] =
                      trial_text(doc, pod_index, ready, row->poll_timeout_s, r->poll_interval_s)))
                goto oom;
        }
        diag_init(&d, o->file);
        struct scenario *check = scenario_parse(o->file, texts[v * (size_t)o->trials],
                                                strlen(texts[v * (size_t)o->trials]), &d);
        if (!check) {
            failf(err, errlen, "poll_timeout %ds makes the scenario invalid: %s",
                  row->poll_timeout_s, d.n ? d.msgs[0] : "?");
            diag_release(&d);
            goto out;
        }
        scenario_free(check);
        diag_release(&d);
    }

    /* run them, r->jobs at a time; SIGINT/SIGTERM: start no more, let the running ones end */
    if (!(kids = calloc((size_t)r->jobs, sizeof *kids)))
        goto oom;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    interrupted = 0;
    char scale_arg[16];
    snprintf(scale_arg, sizeof scale_arg, "%d", r->time_scale);
    int64_t t0 = mono_ms();
    size_t next = 0, done = 0, running = 0;
    progress(o, 0, total, t0);
    while (done < total) {
        while (!interrupted && next < total && running < (size_t)r->jobs) {
            size_t slot = 0;
            while (kids[slot].pid)
                slot++;
            int fds[2];
            if (pipe(fds) < 0)
                break;
            int row = (int)(next / (size_t)o->trials), trial = (int)(next % (size_t)o->trials);
            char dir[4200];
            snprintf(dir, sizeof dir, "%s/%d-%d", o->work_dir, row, trial);
            if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                close(fds[0]);
                close(fds[1]);
                failf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
                interrupted = 1;
                break;
            }
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                break;
            }
            if (pid == 0) {
                close(fds[0]);
                sigaction(SIGINT, &old_int, NULL);
                sigaction(SIGTERM, &old_term, NULL);
                struct record rec;
                memset(&rec, 0, sizeof rec);
                rec.row = row;
                rec.trial = trial;
                rec.outcome = TUNE_OTHER;
                run_trial(o, texts[next], dir, scale_arg, &rec);
                run_rmtree(dir);
                ssize_t w = write(fds[1], &rec, sizeof rec);
                /* free the parent's copies like the parent does (valgrind's leak check runs in
                 * every child), then leave without the parent's atexit work */
                child_rc = w == (ssize_t)sizeof rec ? 0 : 1;
                goto out;
            }
            close(fds[1]);
            kids[slot] = (struct child){pid, fds[0], row, trial};
            running++;
            next++;
        }
        if (running == 0)
            break; /* interrupted, or nothing could be started */
        int slot = reap(kids, (size_t)r->jobs, r);
        if (slot == -1)
            break;
        if (slot < 0)
            continue;
        running--;
        done++;
        progress(o, done, total, t0);
    }
    if (o->progress) {
        fputs("\r\033[K", o->progress);
        fflush(o->progress);
    }
    r->wall_ms = mono_ms() - t0;
    r->interrupted = interrupted || done < total;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    summarise(r);
    if (o->verbose)
        for (size_t v = 0; v < r->nrows; v++)
            for (int t = 0; t < r->trials; t++) {
                const struct tune_trial *tr = &r->rows[v].trials[t];
                char dl[48], wl[48];
                fprintf(o->verbose,
                        "poll_timeout %ds trial %d: delay %s, %s after %d polls (expected %d), "
                        "%s wall%s%s\n",
                        r->rows[v].poll_timeout_s, t + 1,
                        expect_format_duration(dl, sizeof dl, tr->delay_ms),
                        outcome_name(tr->outcome), tr->polls, tr->polls_expected,
                        expect_format_duration(wl, sizeof wl, tr->wall_ms),
                        tr->detail[0] ? ": " : "", tr->detail);
            }
    if (r->interrupted && !err[0])
        failf(err, errlen, "interrupted: %zu of %zu trials ran", done, total);
    rc = r->interrupted ? -1 : 0;
    goto out;
oom:
    failf(err, errlen, "out of memory");
out:
    if (texts)
        for (size_t k = 0; k < o->ntimeouts * (size_t)o->trials; k++)
            free(texts[k]);
    free(texts);
    free(kids);
    if (have_dist)
        dist_release(&dist);
    cJSON_Delete(doc);
    free(text);
    scenario_free(s);
    if (child_rc >= 0)
        _exit(child_rc);
    return rc;
}

/* ---- output ---- */

static char *dur(char *buf, size_t len, int64_t ms)
{
    if (ms == 0) {
        snprintf(buf, len, "0s");
        return buf;
    }
    return expect_format_duration(buf, len, ms);
}

int tune_recommend(const struct tune_result *r)
{
    int best = -1;
    for (size_t v = 0; v < r->nrows; v++) {
        const struct tune_row *row = &r->rows[v];
        int n = row->started + row->timed_out + row->other;
        if (n == 0 || row->other)
            continue;
        if ((double)row->timed_out <= r->target * n + 1e-9 &&
            (best < 0 || row->poll_timeout_s < best))
            best = row->poll_timeout_s;
    }
    return best;
}

static void percentiles(const struct tune_result *r, int64_t *p50, int64_t *p95, int64_t *max)
{
    int64_t *x = malloc(sizeof *x * (size_t)r->trials);
    *p50 = *p95 = *max = 0;
    if (!x || r->trials < 1) {
        free(x);
        return;
    }
    memcpy(x, r->delays_ms, sizeof *x * (size_t)r->trials);
    qsort(x, (size_t)r->trials, sizeof *x, cmp_i64);
    *p50 = x[(size_t)ceil(0.50 * r->trials) - 1];
    *p95 = x[(size_t)ceil(0.95 * r->trials) - 1];
    *max = x[r->trials - 1];
    free(x);
}

void tune_print(FILE *out, const struct tune_result *r)
{
    char a[48], b[48], c[48];
    int64_t p50, p95, max;
    percentiles(r, &p50, &p95, &max);
    fprintf(out, "scenario:        %s\n", r->scenario);
    fprintf(out, "schedule delay:  %s, seed %llu\n", r->distribution, (unsigned long long)r->seed);
    fprintf(out, "drawn:           %d delays, median %s, p95 %s, max %s\n", r->trials,
            dur(a, sizeof a, p50), dur(b, sizeof b, p95), dur(c, sizeof c, max));
    fprintf(out, "poll_interval:   %ds (time scale %dx: one poll_interval lasts %s)\n\n",
            r->poll_interval_s, r->time_scale,
            dur(a, sizeof a, (int64_t)r->poll_interval_s * 1000 / r->time_scale));
    fprintf(out, "%-13s %-10s %7s  %-12s %-12s %s\n", "poll_timeout", "timed out", "share",
            "time lost", "mean wait", "p95 wait");
    for (size_t v = 0; v < r->nrows; v++) {
        const struct tune_row *row = &r->rows[v];
        int n = row->started + row->timed_out + row->other;
        char to[32], share[16], vs[16];
        snprintf(vs, sizeof vs, "%ds", row->poll_timeout_s);
        snprintf(to, sizeof to, "%d/%d", row->timed_out, n);
        snprintf(share, sizeof share, "%.1f%%", n ? 100.0 * row->timed_out / n : 0.0);
        fprintf(
            out, "%-13s %-10s %7s  %-12s %-12s %s\n", vs, to, share, dur(a, sizeof a, row->lost_ms),
            row->started ? dur(b, sizeof b, (row->waited_ms / row->started + 50) / 100 * 100) : "-",
            row->started ? dur(c, sizeof c, row->wait_p95_ms) : "-");
    }
    fputc('\n', out);
    int best = tune_recommend(r);
    if (best >= 0)
        fprintf(out, "smallest poll_timeout with at most %g%% timed out: %ds\n", 100 * r->target,
                best);
    else
        fprintf(out, "no poll_timeout tried has at most %g%% timed out: try larger values\n",
                100 * r->target);
    for (size_t v = 0; v < r->nrows; v++) {
        const struct tune_row *row = &r->rows[v];
        if (row->other) {
            const char *why = "";
            for (int t = 0; t < r->trials && !*why; t++)
                if (row->trials[t].outcome == TUNE_OTHER)
                    why = row->trials[t].detail;
            fprintf(out,
                    "warning: poll_timeout %ds: %d trial%s neither started nor timed out "
                    "(first: %s); this row is left out of the recommendation\n",
                    row->poll_timeout_s, row->other, row->other == 1 ? "" : "s", why);
        }
        if (row->slipped)
            fprintf(out,
                    "warning: poll_timeout %ds: %d trial%s polled off the schedule (the machine "
                    "did not keep time scale %dx): run again with a smaller --time-scale\n",
                    row->poll_timeout_s, row->slipped, row->slipped == 1 ? "" : "s", r->time_scale);
    }
    fprintf(out, "\ntime lost: the waits of the jobs that timed out, summed (each waits "
                 "(poll_timeout/poll_interval + 1) x poll_interval); waits: of the jobs whose pod "
                 "started\n");
}

char *tune_json(const struct tune_result *r)
{
    cJSON *j = cJSON_CreateObject(), *rows;
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "scenario", r->scenario);
    cJSON_AddStringToObject(j, "scheduleDelay", r->distribution);
    cJSON_AddNumberToObject(j, "seed", (double)r->seed);
    cJSON_AddNumberToObject(j, "trials", r->trials);
    cJSON_AddNumberToObject(j, "pollIntervalSeconds", r->poll_interval_s);
    cJSON_AddNumberToObject(j, "timeScale", r->time_scale);
    cJSON_AddNumberToObject(j, "target", r->target);
    int best = tune_recommend(r);
    if (best >= 0)
        cJSON_AddNumberToObject(j, "recommendedPollTimeoutSeconds", best);
    else
        cJSON_AddNullToObject(j, "recommendedPollTimeoutSeconds");
    cJSON *delays = cJSON_AddArrayToObject(j, "delaysMs");
    for (int t = 0; delays && t < r->trials; t++)
        cJSON_AddItemToArray(delays, cJSON_CreateNumber((double)r->delays_ms[t]));
    rows = cJSON_AddArrayToObject(j, "pollTimeouts");
    for (size_t v = 0; rows && v < r->nrows; v++) {
        const struct tune_row *row = &r->rows[v];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddItemToArray(rows, o);
        cJSON_AddNumberToObject(o, "pollTimeoutSeconds", row->poll_timeout_s);
        cJSON_AddNumberToObject(o, "started", row->started);
        cJSON_AddNumberToObject(o, "timedOut", row->timed_out);
        cJSON_AddNumberToObject(o, "other", row->other);
        cJSON_AddNumberToObject(o, "slipped", row->slipped);
        cJSON_AddNumberToObject(o, "lostMs", (double)row->lost_ms);
        cJSON_AddNumberToObject(o, "waitedMs", (double)row->waited_ms);
        cJSON_AddNumberToObject(o, "waitP95Ms", (double)row->wait_p95_ms);
        cJSON *ts = cJSON_AddArrayToObject(o, "trials");
        for (int t = 0; ts && t < r->trials; t++) {
            const struct tune_trial *tr = &row->trials[t];
            cJSON *x = cJSON_CreateObject();
            if (!x)
                break;
            cJSON_AddItemToArray(ts, x);
            cJSON_AddNumberToObject(x, "delayMs", (double)tr->delay_ms);
            cJSON_AddStringToObject(x, "outcome", outcome_name(tr->outcome));
            cJSON_AddNumberToObject(x, "polls", tr->polls);
            cJSON_AddNumberToObject(x, "pollsExpected", tr->polls_expected);
            if (tr->detail[0])
                cJSON_AddStringToObject(x, "detail", tr->detail);
        }
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}

void tune_result_release(struct tune_result *r)
{
    for (size_t v = 0; v < r->nrows; v++)
        free(r->rows[v].trials);
    free(r->delays_ms);
    memset(r, 0, sizeof *r);
}
