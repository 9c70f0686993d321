/* run.c -- runs one scenario: the fake in-process with the scenario's engine, a command in a child
 * process pointed at it (output read on the event loop, bounded by a timeout), then the
 * expectations checked and the evidence kept */
#include "harness/run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "harness/control.h"
#include "harness/diag.h"
#include "harness/engine.h"
#include "harness/expect.h"
#include "harness/glrun.h"
#include "harness/journal.h"
#include "harness/jsonc.h"
#include "harness/scenario.h"
#include "mockapi/base/file.h"
#include "mockapi/base/log.h"
#include "mockapi/gitlab/gitlab.h"
#include "mockapi/kube/kubeconfig.h"
#include "mockapi/server.h"

extern char **environ;

#define READ_CHUNK (64 * 1024)
#define PROGRESS_WIDTH_DEFAULT 80
#define FD_SCAN_MAX 4096 /* descriptors marked close-on-exec when /proc/self/fd cannot be read */

/* The variables the command gets; inherited ones of the same names are dropped. The last,
 * KUBECACHEDIR, is passed on as inherited, except to --kubectl's kubectl: a fresh one per
 * scenario, so discovery and the /version the dispatcher picks its binary by start cold (a cache
 * left by an earlier fake on the same port would change what kubectl does and prints). */
static const char *const ENV_NAMES[] = {"KUBECONFIG",
                                        "KUBEFAULT_URL",
                                        "KUBEFAULT_TOKEN",
                                        "KUBEFAULT_CA_FILE",
                                        "KUBEFAULT_SCENARIO",
                                        "KUBEFAULT_CONTROL_URL",
                                        "KUBEFAULT_CONTROL_TOKEN",
                                        "KUBEFAULT_GITLAB_URL",
                                        "KUBEFAULT_GITLAB_TOKEN",
                                        "KUBEFAULT_GITLAB_CA",
                                        "KUBEFAULT_RUNNER_CONFIG",
                                        "KUBECACHEDIR"};
#define NENV (sizeof ENV_NAMES / sizeof ENV_NAMES[0])

/* One run's state, shared by the loop's callbacks. */
struct runner {
    const struct run_opts *o;
    struct run_result *r;
    struct event_base *base;
    struct engine *eng;
    pid_t pid;  /* the child (and its process group); 0 before it starts */
    int reaped; /* its exit status is in r */
    int out_fd; /* the read end of its output pipe, -1 once closed */
    size_t cap; /* bytes allocated for r->output */
    int64_t start_ms;
    int64_t timeout_ms;
    const char *what; /* the program, for the progress line */
    int progress_shown;
    struct event *ev_out, *ev_chld, *ev_int, *ev_term, *ev_timeout, *ev_grace, *ev_drain, *ev_tick;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval tv_ms(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
    return tv;
}

/* ---- the progress line ---- */

static void progress_clear(struct runner *rn)
{
    if (rn->o->progress && rn->progress_shown) {
        fputs("\r\033[K", rn->o->progress);
        fflush(rn->o->progress);
        rn->progress_shown = 0;
    }
}

static void progress_draw(struct runner *rn)
{
    FILE *f = rn->o->progress;
    if (!f)
        return;
    struct winsize ws;
    size_t width = PROGRESS_WIDTH_DEFAULT;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
        width = ws.ws_col;
    char el[48], to[48], state[600], line[1024];
    expect_format_duration(el, sizeof el, rn->pid ? now_ms() - rn->start_ms : 0);
    expect_format_duration(to, sizeof to, rn->timeout_ms);
    struct journal *j = rn->eng ? engine_journal(rn->eng) : NULL;
    size_t n = j ? journal_count(j) : 0;
    char last[200] = "";
    if (n) {
        const struct journal_entry *e = journal_get(j, n - 1);
        char code[16];
        snprintf(code, sizeof code, e->code ? "%d" : "...", e->code);
        snprintf(last, sizeof last, ", last %s %.120s -> %s", e->method, e->path, code);
    }
    if (rn->reaped)
        snprintf(state, sizeof state, "%s exited: waiting for its output to close", rn->what);
    else if (rn->r->timed_out)
        snprintf(state, sizeof state, "timed out: waiting for %s to end after %s", rn->what,
                 rn->r->killed_by == SIGKILL ? "SIGKILL" : "SIGTERM");
    else
        snprintf(state, sizeof state, "waiting for %s to exit; %zu request%s%s", rn->what, n,
                 n == 1 ? "" : "s", last);
    snprintf(line, sizeof line, "%s  %s / %s  %s", rn->o->label ? rn->o->label : "", el, to, state);
    size_t len = strlen(line);
    if (len > width - 1) { /* cut at a character boundary */
        len = width - 1;
        while (len > 0 && ((unsigned char)line[len] & 0xc0) == 0x80)
            len--;
    }
    fprintf(f, "\r\033[K%.*s", (int)len, line);
    fflush(f);
    rn->progress_shown = 1;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    progress_draw(arg);
}

/* ---- the child ---- */

static void finish(struct runner *rn)
{
    event_base_loopbreak(rn->base);
}

static void close_output(struct runner *rn)
{
    if (rn->out_fd < 0)
        return;
    if (rn->ev_out)
        event_del(rn->ev_out);
    close(rn->out_fd);
    rn->out_fd = -1;
}

static void on_output(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct runner *rn = arg;
    struct run_result *r = rn->r;
    char buf[READ_CHUNK];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) { /* end of output (or an error reading it): done with it */
            close_output(rn);
            if (rn->reaped)
                finish(rn);
            return;
        }
        if (rn->o->echo) {
            progress_clear(rn);
            fwrite(buf, 1, (size_t)n, rn->o->echo);
            fflush(rn->o->echo);
        }
        size_t keep = (size_t)n;
        if (r->output_len + keep > RUN_OUTPUT_MAX)
            keep = RUN_OUTPUT_MAX - r->output_len;
        if (r->output_len + keep > rn->cap) {
            size_t cap = rn->cap ? rn->cap : READ_CHUNK;
            while (cap < r->output_len + keep)
                cap *= 2;
            char *o = realloc(r->output, cap);
            if (!o)
                keep = 0;
            else {
                r->output = o;
                rn->cap = cap;
            }
        }
        if (keep)
            memcpy(r->output + r->output_len, buf, keep);
        r->output_len += keep;
        r->output_dropped += (size_t)n - keep;
    }
}

/* Send sig to the command's process group (it and whatever it started). */
static void signal_child(struct runner *rn, int sig)
{
    if (!rn->pid)
        return;
    if (kill(-rn->pid, sig) < 0 && !rn->reaped)
        kill(rn->pid, sig);
    if (!rn->reaped)
        rn->r->killed_by = sig;
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runner *rn = arg;
    if (!rn->reaped)
        signal_child(rn, SIGKILL);
}

static void stop_child(struct runner *rn)
{
    if (rn->reaped || evtimer_pending(rn->ev_grace, NULL))
        return;
    signal_child(rn, SIGTERM);
    struct timeval tv =
        tv_ms(rn->o->kill_grace_ms > 0 ? rn->o->kill_grace_ms : (int64_t)RUN_KILL_GRACE_MS);
    evtimer_add(rn->ev_grace, &tv);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runner *rn = arg;
    if (rn->reaped)
        return;
    rn->r->timed_out = 1;
    log_info("timeout: stopping the command (SIGTERM)");
    stop_child(rn);
}

static void on_interrupt(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct runner *rn = arg;
    log_info("signal %d: stopping the command", (int)sig);
    rn->r->interrupted = 1;
    if (rn->reaped)
        finish(rn);
    else
        stop_child(rn);
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runner *rn = arg;
    close_output(rn); /* something the command left behind holds the pipe open */
    finish(rn);
}

static void on_sigchld(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runner *rn = arg;
    int st;
    pid_t p;
    if (rn->reaped || !rn->pid)
        return;
    while ((p = waitpid(rn->pid, &st, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (p != rn->pid)
        return;
    rn->reaped = 1;
    rn->r->duration_ms = now_ms() - rn->start_ms;
    if (WIFEXITED(st)) {
        rn->r->exited = 1;
        rn->r->exit_code = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
        rn->r->signal = WTERMSIG(st);
    }
    kill(-rn->pid, SIGTERM); /* what it left running in its group: nothing outlives a run */
    event_del(rn->ev_timeout);
    event_del(rn->ev_grace);
    if (rn->out_fd < 0) {
        finish(rn);
        return;
    }
    struct timeval tv = tv_ms(RUN_DRAIN_MS);
    evtimer_add(rn->ev_drain, &tv);
}

/* Mark every descriptor from 3 up close-on-exec, so the command inherits none of the server's
 * sockets (a "refuse" fault must really close the listening port). */
static void cloexec_all(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        for (int fd = 3; fd < FD_SCAN_MAX; fd++) {
            int fl = fcntl(fd, F_GETFD);
            if (fl >= 0)
                fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
        }
        return;
    }
    int self = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long fd = strtol(de->d_name, &end, 10);
        if (*end || end == de->d_name || fd < 3 || fd == self || fd > INT_MAX)
            continue;
        int fl = fcntl((int)fd, F_GETFD);
        if (fl >= 0)
            fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
    }
    closedir(d);
}

static char *dupf(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

/* The command's environment: ours without the names we set, then ours (vals[i] NULL: unset).
 * NULL-ended; caller frees each string from index `own` on, and the array. */
static char **make_env(const char *const vals[NENV], size_t *own)
{
    size_t n = 0, k = 0;
    while (environ && environ[n])
        n++;
    char **env = calloc(n + NENV + 1, sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        for (; j < NENV; j++) {
            size_t l = strlen(ENV_NAMES[j]);
            if (strncmp(environ[i], ENV_NAMES[j], l) == 0 && environ[i][l] == '=')
                break;
        }
        if (j == NENV)
            env[k++] = environ[i];
    }
    *own = k;
    for (size_t j = 0; j < NENV; j++)
        if (vals[j] && !(env[k++] = dupf("%s=%s", ENV_NAMES[j], vals[j]))) {
            for (size_t i = *own; i < k - 1; i++)
                free(env[i]);
            free(env);
            return NULL;
        }
    return env;
}

/* argv as one shell-like line: words with blanks or quotes in single quotes. */
static void join_command(char *buf, size_t len, char *const *argv)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; argv[i] && n < len; i++) {
        const char *a = argv[i];
        int quote = !*a || strpbrk(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") != NULL;
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "", quote ? "'" : "");
        for (const char *p = a; *p && n < len; p++)
            n += (size_t)snprintf(buf + n, len - n, *p == '\'' && quote ? "'\\''" : "%c", *p);
        if (quote && n < len)
            n += (size_t)snprintf(buf + n, len - n, "'");
    }
}

/* Start argv with env, output into a new pipe; 0, or an errno value. */
static int spawn(struct runner *rn, char *const *argv, char **env)
{
    int fds[2] = {-1, -1}, rc;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t def, none;

    /* a path that cannot run fails here, not as a child exiting 127: posix_spawn() reports exec
     * errors only where the child shares the parent's memory (not under valgrind, for one) */
    if (strchr(argv[0], '/') && access(argv[0], X_OK) < 0)
        return errno;
    if (pipe(fds) < 0)
        return errno;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    cloexec_all();
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    /* kubefault ignores SIGPIPE and catches SIGINT, SIGTERM and SIGCHLD; the command starts with
     * every signal at its default, none blocked, in a process group of its own (so a timeout can
     * stop whatever it started, and Ctrl-C reaches kubefault, which stops it) */
    sigemptyset(&def);
    int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&def, sigs[i]);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETSIGMASK);
    rn->start_ms = now_ms();
    rc = posix_spawnp(&rn->pid, argv[0], &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(fds[1]);
    if (rc != 0) {
        rn->pid = 0;
        close(fds[0]);
        return rc;
    }
    rn->out_fd = fds[0];
    return 0;
}

/* ---- the fake ---- */

static int fail(struct run_result *r, const char *f, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct run_result *r, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(r->error, sizeof r->error, f, ap);
    va_end(ap);
    return -1;
}

static int write_text(const char *path, const char *text, mode_t mode, struct run_result *r)
{
    char err[512];
    if (file_write_atomic(path, text, strlen(text), mode, err, sizeof err) < 0)
        return fail(r, "%s", err);
    return 0;
}

int run_scenario(struct event_base *base, struct scenario *s, const struct run_opts *o,
                 struct run_result *r)
{
    struct runner rn;
    struct mockapi_server_opts so;
    struct mockapi_server *srv = NULL;
    struct gitlab_server *gl = NULL;
    struct control *ctl = NULL;
    FILE *slog = NULL;
    char **env = NULL;
    size_t env_own = 0;
    char kubeconfig[FILE_PATH_MAX], ca_file[FILE_PATH_MAX], job_file[FILE_PATH_MAX],
        log_file[FILE_PATH_MAX], self[FILE_PATH_MAX], scen_abs[PATH_MAX], err[512],
        kube_cache[FILE_PATH_MAX], runner_config[FILE_PATH_MAX];
    char *ref_argv[12 + RUN_JOB_ARGS_MAX] = {NULL};
    char **kube_argv = NULL;
    char seed_arg[24];
    char *const *argv = o->command;
    int rc = -1;

    memset(r, 0, sizeof *r);
    memset(&rn, 0, sizeof rn);
    rn.o = o;
    rn.r = r;
    rn.base = base;
    rn.out_fd = -1;
    rn.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : RUN_DEFAULT_TIMEOUT_MS;

    if ((size_t)snprintf(kubeconfig, sizeof kubeconfig, "%s/kubeconfig", o->work_dir) >=
            sizeof kubeconfig ||
        (size_t)snprintf(ca_file, sizeof ca_file, "%s/ca.crt", o->work_dir) >= sizeof ca_file ||
        (size_t)snprintf(job_file, sizeof job_file, "%s/job.json", o->work_dir) >=
            sizeof job_file ||
        (size_t)snprintf(log_file, sizeof log_file, "%s/server.log", o->work_dir) >=
            sizeof log_file ||
        (size_t)snprintf(kube_cache, sizeof kube_cache, "%s/kube-cache", o->work_dir) >=
            sizeof kube_cache ||
        (size_t)snprintf(runner_config, sizeof runner_config, "%s/config.toml", o->work_dir) >=
            sizeof runner_config) {
        fail(r, "work directory path too long: %s", o->work_dir);
        goto out;
    }

    /* the server's log goes beside the kubeconfig (kept as evidence), not into the report */
    if ((slog = fopen(log_file, "w")))
        log_set_file(slog);

    /* the fake, wired as `kubefault serve` wires it */
    memset(&so, 0, sizeof so);
    so.seed = s->seed;
    so.plain_http = o->plain_http;
    so.kube_version = s->cluster.version[0] ? s->cluster.version : NULL;
    so.cluster.schedule_delay_ms =
        s->cluster.schedule_delay_ms >= 0 ? s->cluster.schedule_delay_ms : 50;
    so.cluster.start_delay_ms = s->cluster.start_delay_ms >= 0 ? s->cluster.start_delay_ms : 200;
    so.cluster.terminate_delay_ms =
        s->cluster.terminate_delay_ms >= 0 ? s->cluster.terminate_delay_ms : 200;
    if (!(rn.eng = engine_new(s, base, NULL))) {
        fail(r, "out of memory");
        goto out;
    }
    r->engine = rn.eng;
    so.hooks = engine_hooks(rn.eng);
    if (!(srv = mockapi_server_new(base, &so, err, sizeof err))) {
        fail(r, "the fake did not start: %s", err);
        goto out;
    }
    if (engine_start(rn.eng, srv, err, sizeof err) < 0) {
        fail(r, "the scenario did not start: %s", err);
        goto out;
    }
    if (!(ctl = control_new(rn.eng, base, NULL, 0, NULL, err, sizeof err))) {
        fail(r, "the control API did not start: %s", err);
        goto out;
    }
    const char *ca_pem = mockapi_server_ca_pem(srv);
    if (ca_pem && write_text(ca_file, ca_pem, 0644, r) < 0)
        goto out;
    struct kubeconfig_opts ko = {mockapi_server_url(srv), ca_pem, mockapi_server_token(srv), NULL,
                                 NULL};
    if (kubeconfig_write(&ko, kubeconfig, err, sizeof err) < 0) {
        fail(r, "%s", err);
        goto out;
    }
    /* the fake GitLab beside it, with the same CA, and a config.toml for a real runner */
    if (s->gitlab.present) {
        if (!(gl = glrun_start(rn.eng, base, s, mockapi_server_tls(srv), 0, err, sizeof err))) {
            fail(r, "the fake GitLab did not start: %s", err);
            goto out;
        }
        if (glrun_write_config_for(runner_config, gl, srv, ca_pem ? ca_file : NULL, err,
                                   sizeof err) < 0) {
            fail(r, "%s", err);
            goto out;
        }
    }

    /* what runs: kubectl with the scenario's "kubectl.args", the command, or the reference job
     * client with the scenario's "jobClient" */
    if (o->kubectl) {
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(s->kubectl, "args");
        size_t k = 0;
        if (!args) {
            fail(r, "the scenario has no \"kubectl\" section");
            goto out;
        }
        if (!(kube_argv = calloc((size_t)cJSON_GetArraySize(args) + 2, sizeof *kube_argv))) {
            fail(r, "out of memory");
            goto out;
        }
        kube_argv[k++] = (char *)o->kubectl;
        for (const cJSON *e = args->child; e; e = e->next)
            kube_argv[k++] = e->valuestring; /* borrowed: s outlives the run */
        argv = kube_argv;
    }
    if (!argv) {
        ssize_t n = 0;
        if (o->self_exe)
            snprintf(self, sizeof self, "%s", o->self_exe);
        else if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0)
            self[n] = '\0';
        else
            self[0] = '\0';
        size_t k = 0;
        ref_argv[k++] = self;
        ref_argv[k++] = (char *)"job";
        if (s->job_client) { /* the scenario's "jobClient" section, as the client's file */
            char *text = cJSON_Print(s->job_client);
            if (!text || write_text(job_file, text, 0600, r) < 0) {
                free(text);
                if (!r->error[0])
                    fail(r, "out of memory");
                goto out;
            }
            free(text);
            ref_argv[k++] = job_file;
        }
        ref_argv[k++] = (char *)"--kubeconfig";
        ref_argv[k++] = kubeconfig;
        /* the scenario's seed names the pod and secret: the same run every time */
        snprintf(seed_arg, sizeof seed_arg, "%llu", (unsigned long long)s->seed);
        ref_argv[k++] = (char *)"--seed";
        ref_argv[k++] = seed_arg;
        if (gl) /* the job comes from the fake GitLab (KUBEFAULT_GITLAB_URL, _TOKEN, _CA) */
            ref_argv[k++] = (char *)"--gitlab";
        for (size_t a = 0; o->job_args && o->job_args[a]; a++) {
            if (a == RUN_JOB_ARGS_MAX) {
                fail(r, "more than %d arguments for the reference job client", RUN_JOB_ARGS_MAX);
                goto out;
            }
            ref_argv[k++] = o->job_args[a];
        }
        argv = ref_argv;
        rn.what = "the reference job client";
    } else {
        const char *slash = strrchr(argv[0], '/');
        rn.what = slash ? slash + 1 : argv[0];
    }
    join_command(r->command, sizeof r->command, argv);

    const char *url = mockapi_server_url(srv);
    const char *scen = s->file && realpath(s->file, scen_abs) ? scen_abs : s->file;
    const char *vals[NENV] = {kubeconfig,
                              url,
                              mockapi_server_token(srv),
                              ca_pem ? ca_file : NULL,
                              scen,
                              control_url(ctl),
                              control_token(ctl),
                              gl ? gitlab_server_url(gl) : NULL,
                              gl ? gitlab_server_runner_token(gl) : NULL,
                              gl && ca_pem ? ca_file : NULL,
                              gl ? runner_config : NULL,
                              o->kubectl ? kube_cache : getenv("KUBECACHEDIR")};
    if (!(env = make_env(vals, &env_own))) {
        fail(r, "out of memory");
        goto out;
    }

    rn.ev_out = NULL;
    rn.ev_chld = evsignal_new(base, SIGCHLD, on_sigchld, &rn);
    rn.ev_int = evsignal_new(base, SIGINT, on_interrupt, &rn);
    rn.ev_term = evsignal_new(base, SIGTERM, on_interrupt, &rn);
    rn.ev_timeout = evtimer_new(base, on_timeout, &rn);
    rn.ev_grace = evtimer_new(base, on_grace, &rn);
    rn.ev_drain = evtimer_new(base, on_drain, &rn);
    rn.ev_tick = event_new(base, -1, EV_PERSIST, on_tick, &rn);
    if (!rn.ev_chld || !rn.ev_int || !rn.ev_term || !rn.ev_timeout || !rn.ev_grace ||
        !rn.ev_drain || !rn.ev_tick || evsignal_add(rn.ev_chld, NULL) < 0 ||
        evsignal_add(rn.ev_int, NULL) < 0 || evsignal_add(rn.ev_term, NULL) < 0) {
        fail(r, "cannot set up the event loop");
        goto out;
    }
    log_info("run: %s against %s", r->command, url);
    int e = spawn(&rn, argv, env);
    if (e != 0) {
        if (argv == ref_argv)
            fail(r, "cannot run the reference job client \"%s job\": %s", self, strerror(e));
        else
            fail(r, "cannot run \"%s\": %s", argv[0], strerror(e));
        goto out;
    }
    r->started = 1;
    if (!(rn.ev_out = event_new(base, rn.out_fd, EV_READ | EV_PERSIST, on_output, &rn)) ||
        event_add(rn.ev_out, NULL) < 0) {
        fail(r, "cannot set up the event loop");
        kill(-rn.pid, SIGKILL);
        while (waitpid(rn.pid, NULL, 0) < 0 && errno == EINTR)
            ;
        goto out;
    }
    struct timeval tv = tv_ms(rn.timeout_ms);
    evtimer_add(rn.ev_timeout, &tv);
    if (o->progress) {
        struct timeval tick = tv_ms(RUN_PROGRESS_MS);
        event_add(rn.ev_tick, &tick);
        progress_draw(&rn);
    }
    event_base_dispatch(base);
    progress_clear(&rn);
    if (!rn.reaped) { /* the loop ended without the child: cannot happen, but never leave one */
        kill(-rn.pid, SIGKILL);
        while (waitpid(rn.pid, NULL, 0) < 0 && errno == EINTR)
            ;
        r->duration_ms = now_ms() - rn.start_ms;
    }
    rc = 0;
out:
    progress_clear(&rn);
    close_output(&rn);
    if (rn.ev_out)
        event_free(rn.ev_out);
    struct event *evs[] = {rn.ev_chld,  rn.ev_int,   rn.ev_term, rn.ev_timeout,
                           rn.ev_grace, rn.ev_drain, rn.ev_tick};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i])
            event_free(evs[i]);
    if (rn.eng && (r->rule_fired = calloc(s->nrules ? s->nrules : 1, sizeof *r->rule_fired)))
        for (size_t i = 0; i < s->nrules; i++)
            r->rule_fired[i] = engine_rule_fired(rn.eng, &s->rules[i]);
    /* as serve shuts down: the control API, then the engine detaches, then the server */
    /* what the fake GitLab kept of each job, for the expectations */
    if (gl)
        r->gitlab_jobs = glrun_jobs_json(gl, 1);
    control_free(ctl);
    engine_stop(rn.eng);
    gitlab_server_free(gl);
    mockapi_server_free(srv);
    if (env) {
        for (size_t i = env_own; env[i]; i++)
            free(env[i]);
        free(env);
    }
    free(kube_argv);
    if (slog) {
        log_set_file(NULL);
        fclose(slog);
    }
    return rc;
}

void run_result_release(struct run_result *r)
{
    free(r->output);
    engine_free(r->engine);
    free(r->rule_fired);
    cJSON_Delete(r->gitlab_jobs);
    memset(r, 0, sizeof *r);
}

/* ---- files ---- */

int run_mkdirs(const char *path, char *err, size_t errlen)
{
    char p[FILE_PATH_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s", path) >= sizeof p) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q != '\0')
            continue;
        char c = *q;
        *q = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
            return -1;
        }
        *q = c;
        if (!c)
            break;
    }
    return 0;
}

static int rmtree_at(int dfd, const char *name, int depth)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dfd, name, 0);
    int fd = depth < 16 ? openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    int rc = 0;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            rmtree_at(dirfd(d), de->d_name, depth + 1) < 0)
            rc = -1;
    closedir(d);
    return unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -1 : rc;
}

int run_rmtree(const char *dir)
{
    return rmtree_at(AT_FDCWD, dir, 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push_file(char ***files, size_t *n, char *f)
{
    char **nf = f ? realloc(*files, (*n + 1) * sizeof *nf) : NULL;
    if (!nf) {
        free(f);
        return -1;
    }
    nf[(*n)++] = f;
    *files = nf;
    return 0;
}

int run_collect(const char *arg, char ***files, size_t *n, char *err, size_t errlen)
{
    struct stat st;
    if (stat(arg, &st) < 0 || !S_ISDIR(st.st_mode))
        return push_file(files, n, strdup(arg)) < 0 ? (snprintf(err, errlen, "out of memory"), -1)
                                                    : 0;
    DIR *d = opendir(arg);
    if (!d) {
        snprintf(err, errlen, "cannot read directory %s: %s", arg, strerror(errno));
        return -1;
    }
    size_t first = *n, alen = strlen(arg);
    int slash = alen && arg[alen - 1] == '/';
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) && rc == 0) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || strncmp(de->d_name, "README", 6) == 0 || l < 6 ||
            strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        char *path = dupf("%s%s%s", arg, slash ? "" : "/", de->d_name);
        if (path && (stat(path, &st) < 0 || !S_ISREG(st.st_mode))) {
            free(path);
            continue;
        }
        if (push_file(files, n, path) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    closedir(d);
    if (rc == 0 && *n > first)
        qsort(*files + first, *n - first, sizeof **files, by_name);
    return rc;
}

static int copy_file(const char *from, const char *to)
{
    char buf[READ_CHUNK];
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    size_t k;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (k = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, k, out) != k)
            rc = -1;
    if (in && ferror(in))
        rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

/* ---- one scenario, whole ---- */

/* "x" for "dir/x.json". */
static char *stem_of(const char *file)
{
    const char *b = strrchr(file, '/');
    b = b ? b + 1 : file;
    size_t l = strlen(b);
    if (l > 5 && strcmp(b + l - 5, ".json") == 0)
        l -= 5;
    return dupf("%.*s", (int)l, b);
}

/* The expectations in short, for the table: `exit 1, "etcdserver: leader changed", 2 journal
 * checks`; ex is the section called section ("expect", "kubectl.expect"), or NULL. */
static char *expect_summary(const cJSON *ex, const char *section)
{
    const cJSON *v;
    char buf[1024], q[JSONC_SHOW_BUF];
    size_t n = 0;
    if (!ex)
        return dupf("exit 0 (no \"%s\")", section);
    buf[0] = '\0';
#define PART(...)                                                                                  \
    do {                                                                                           \
        if (n < sizeof buf)                                                                        \
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", n ? ", " : "");                   \
        if (n < sizeof buf)                                                                        \
            n += (size_t)snprintf(buf + n, sizeof buf - n, __VA_ARGS__);                           \
    } while (0)
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(ex, "exitCode")))
        PART("exit %d", v->valueint);
    v = cJSON_GetObjectItemCaseSensitive(ex, "outputContains");
    for (const cJSON *e = cJSON_IsArray(v) ? v->child : NULL; e; e = e->next)
        if (cJSON_IsString(e))
            PART("\"%s\"", jsonc_show(q, sizeof q, e->valuestring));
    v = cJSON_GetObjectItemCaseSensitive(ex, "outputLacks");
    for (const cJSON *e = cJSON_IsArray(v) ? v->child : NULL; e; e = e->next)
        if (cJSON_IsString(e))
            PART("no \"%s\"", jsonc_show(q, sizeof q, e->valuestring));
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(ex, "durationMin")))
        PART(">= %s", v->valuestring);
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(ex, "durationMax")))
        PART("<= %s", v->valuestring);
    if (cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(ex, "journal"))) {
        int k = cJSON_GetArraySize(v);
        PART("%d journal check%s", k, k == 1 ? "" : "s");
    }
#undef PART
    return dupf("%s", n ? buf : "(nothing)");
}

/* One folder per scenario under o->keep_dir: output.txt, journal.jsonl, the scenario file,
 * server.log and result.json. */
static void keep_evidence(const struct run_opts *o, struct report_case *c, const struct journal *j,
                          int ran)
{
    char err[512], dir[FILE_PATH_MAX], path[FILE_PATH_MAX + 64];
    if (!o->keep_dir || run_mkdirs(o->keep_dir, err, sizeof err) < 0) {
        if (o->keep_dir)
            log_warn("evidence not kept: %s", err);
        return;
    }
    for (int k = 1;; k++) {
        if (k == 1)
            snprintf(dir, sizeof dir, "%s/%s", o->keep_dir, c->id);
        else
            snprintf(dir, sizeof dir, "%s/%s-%d", o->keep_dir, c->id, k);
        if (mkdir(dir, 0700) == 0)
            break;
        if (errno != EEXIST || k == 1000) {
            log_warn("evidence not kept: cannot create %s: %s", dir, strerror(errno));
            return;
        }
    }
    if (!(c->evidence = strdup(dir)))
        return;
    if (ran) {
        snprintf(path, sizeof path, "%s/output.txt", dir);
        if (file_write_atomic(path, c->output ? c->output : "", c->output_len, 0644, err,
                              sizeof err) < 0)
            log_warn("evidence: %s", err);
        snprintf(path, sizeof path, "%s/journal.jsonl", dir);
        if (report_journal_jsonl(j, path, err, sizeof err) < 0)
            log_warn("evidence: %s", err);
        char from[FILE_PATH_MAX + 16];
        snprintf(from, sizeof from, "%s/server.log", o->work_dir);
        snprintf(path, sizeof path, "%s/server.log", dir);
        if (access(from, R_OK) == 0 && copy_file(from, path) < 0)
            log_warn("evidence: cannot copy %s to %s", from, path);
    }
    const char *b = strrchr(c->file, '/');
    snprintf(path, sizeof path, "%s/%s", dir, b ? b + 1 : c->file);
    if (copy_file(c->file, path) < 0 && access(c->file, R_OK) == 0)
        log_warn("evidence: cannot copy %s to %s", c->file, path);
    cJSON *res = report_case_json(c);
    char *text = res ? cJSON_Print(res) : NULL;
    cJSON_Delete(res);
    snprintf(path, sizeof path, "%s/result.json", dir);
    size_t tl = text ? strlen(text) : 0;
    char *nl = text ? realloc(text, tl + 2) : NULL;
    if (nl) { /* a text file ends with a newline */
        text = nl;
        memcpy(text + tl, "\n", 2);
    }
    if (!text || file_write_atomic(path, text, strlen(text), 0644, err, sizeof err) < 0)
        log_warn("evidence: %s", text ? err : "out of memory");
    free(text);
}

enum report_status run_case(struct event_base *base, const char *file, const struct run_opts *o,
                            struct report_case *c)
{
    struct diag d;
    struct run_result r;
    memset(c, 0, sizeof *c);
    memset(&r, 0, sizeof r);
    c->file = strdup(file);
    c->id = stem_of(file);
    c->status = REPORT_ERROR;
    diag_init(&d, file);
    struct scenario *s = c->file && c->id ? scenario_load(file, &d) : NULL;
    if (!s) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (m) {
            if (diag_print(&d, m) == 0)
                fprintf(m, "%s: invalid scenario\n", file);
            fclose(m);
        }
        while (buf && len && buf[len - 1] == '\n')
            buf[--len] = '\0';
        c->error = buf;
        c->invalid = 1;
        diag_release(&d);
        if (c->file && c->id)
            keep_evidence(o, c, NULL, 0);
        return c->status;
    }
    diag_release(&d);
    c->name = s->name ? strdup(s->name) : NULL;
    c->anchor = s->anchor ? strdup(s->anchor) : NULL;
    c->class_ = s->class_ ? strdup(s->class_) : NULL;
    if (o->kubectl && !s->kubectl) { /* --kubectl: only scenarios that say what kubectl shows */
        c->status = REPORT_SKIP;
        c->skip_reason = strdup("no kubectl form");
        scenario_free(s);
        return c->status;
    }
    const char *section = o->kubectl ? "kubectl.expect" : "expect";
    const cJSON *ex =
        o->kubectl ? cJSON_GetObjectItemCaseSensitive(s->kubectl, "expect") : s->expect;
    c->expect_summary = expect_summary(ex, section);

    int rc = run_scenario(base, s, o, &r);
    c->command = r.command[0] ? strdup(r.command) : NULL;
    c->started = r.started;
    c->exited = r.exited;
    c->exit_code = r.exit_code;
    c->signal = r.signal;
    c->timed_out = r.timed_out;
    c->duration_ms = r.duration_ms;
    if (rc < 0) {
        c->error = strdup(r.error);
    } else {
        struct expect_input in = {r.exited,
                                  r.exit_code,
                                  r.signal,
                                  r.timed_out,
                                  r.killed_by,
                                  o->timeout_ms > 0 ? o->timeout_ms : RUN_DEFAULT_TIMEOUT_MS,
                                  r.output,
                                  r.output_len,
                                  r.output_dropped,
                                  r.duration_ms,
                                  r.engine ? engine_journal(r.engine) : NULL,
                                  r.rule_fired,
                                  r.gitlab_jobs};
        if (expect_evaluate_section(s, ex, section, &in, &c->expect) < 0)
            c->error = strdup("out of memory checking the expectations");
        else
            c->status = c->expect.verdict == EXPECT_PASS   ? REPORT_PASS
                        : c->expect.verdict == EXPECT_FAIL ? REPORT_FAIL
                                                           : REPORT_ERROR;
        if (r.interrupted) {
            c->status = REPORT_ERROR;
            c->interrupted = 1;
            free(c->error);
            c->error = strdup("interrupted: kubefault got SIGINT or SIGTERM and stopped the "
                              "command");
        }
    }
    c->output = r.output;
    c->output_len = r.output_len;
    c->output_dropped = r.output_dropped;
    r.output = NULL;
    const struct journal *j = r.engine ? engine_journal(r.engine) : NULL;
    c->requests = j ? journal_count(j) : 0;
    if (c->status != REPORT_PASS)
        c->journal_excerpt = report_journal_excerpt(j, REPORT_JOURNAL_EXCERPT);
    if (c->status != REPORT_PASS || o->keep_all)
        keep_evidence(o, c, j, r.started);
    run_result_release(&r);
    scenario_free(s);
    return c->status;
}
