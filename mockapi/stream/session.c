/* session.c -- remote-command sessions: the program behind exec and attach (code, a script of
 * timed output, or the built-in commands), the stream faults, and the error-stream Status the
 * kubelet writes (k8s.io/kubelet cri/streaming/remotecommand exec.go, with containerd's "error
 * executing command %v, exit code %d").
 *
 * The built-in commands are a tiny shell, enough for kubectl exec and attach tests: echo, true,
 * false, exit N, sleep N, cat (stdin back to stdout), and sh/bash, which with -c runs its line and
 * without it reads lines from stdin (a prompt and the terminal's echo with a tty). Anything else
 * succeeds silently. Lines are split on ';' and words on blanks with '...' and "..." quoting. */
#include "mockapi/stream/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "mockapi/base/log.h"

enum mode { MODE_SCRIPT, MODE_PROGRAM, MODE_SHELL };

struct rcs_session {
    struct rcs_opts opts;
    struct rcs_sink sink;
    char *argv[RCS_MAX_ARGS];
    size_t argc;
    enum mode mode;
    struct rcs_program prog;
    struct rcs_script script;
    struct rcs_faults faults;
    size_t step;         /* the script's next step */
    struct event *timer; /* the script's sleep */
    struct event *abort_ev, *stall_ev;
    int busy;   /* rcs_enter depth */
    int doomed; /* freed while busy: free at the last rcs_leave; never call the sink */
    int started;
    int finished;
    int stalled;
    int stdin_eof;
    char *line; /* the interactive shell's partial line */
    size_t line_len;
    /* A program's stdin that came before start: SPDY clients may send it, and close it, before
     * their last stream is open; the kubelet's process reads it once it runs. Kept up to
     * RCS_MAX_INPUT_BYTES + 1 bytes (so a program still sees that it was too long). */
    char *early;
    size_t early_len;
    int early_eof;
    char early_resize[256]; /* the last resize message before start, "" if none */
    size_t early_resize_len;
};

void rcs_faults_none(struct rcs_faults *f)
{
    memset(f, 0, sizeof *f);
    f->abort_ms = -1;
    f->stall_ms = -1;
    f->status_exit = -1;
}

/* ---- scripts ---- */

void rcs_script_clear(struct rcs_script *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nsteps; i++)
        free(s->steps[i].data);
    free(s->steps);
    s->steps = NULL;
    s->nsteps = 0;
}

int rcs_script_add(struct rcs_script *s, const struct rcs_step *step)
{
    struct rcs_step *n = realloc(s->steps, (s->nsteps + 1) * sizeof *n);
    if (!n)
        return -1;
    s->steps = n;
    struct rcs_step *d = &n[s->nsteps];
    *d = *step;
    d->data = NULL;
    if (step->kind == RCS_STEP_WRITE) {
        d->data = malloc(step->len ? step->len : 1);
        if (!d->data)
            return -1;
        if (step->len)
            memcpy(d->data, step->data, step->len);
    }
    s->nsteps++;
    return 0;
}

int rcs_script_copy(struct rcs_script *dst, const struct rcs_script *src)
{
    memset(dst, 0, sizeof *dst);
    dst->echo_stdin = src->echo_stdin;
    for (size_t i = 0; i < src->nsteps; i++) {
        if (rcs_script_add(dst, &src->steps[i]) < 0) {
            rcs_script_clear(dst);
            return -1;
        }
    }
    return 0;
}

static int add_write(struct rcs_script *s, enum rcs_stream st, const char *data, size_t len)
{
    struct rcs_step step = {.kind = RCS_STEP_WRITE, .stream = st, .data = (char *)data, .len = len};
    return rcs_script_add(s, &step);
}

static int add_kind(struct rcs_script *s, enum rcs_step_kind kind, int64_t ms, int code)
{
    struct rcs_step step = {.kind = kind, .ms = ms, .exit_code = code};
    return rcs_script_add(s, &step);
}

/* ---- the built-in commands ---- */

#define SHELL_MAX_WORDS 64
#define SHELL_MAX_DEPTH 4

/* Split one command (no ';') into words: blanks separate, '...' and "..." quote, a backslash
 * outside quotes takes the next byte as it is. Words are written into buf (NUL-separated). */
static size_t split_words(const char *p, size_t len, char *buf, char **words, size_t max)
{
    size_t n = 0, o = 0, i = 0;
    while (i < len && n < max) {
        while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
            i++;
        if (i >= len)
            break;
        words[n++] = buf + o;
        while (i < len && p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') {
            char q = p[i];
            if (q == '\'' || q == '"') {
                i++;
                while (i < len && p[i] != q) {
                    if (q == '"' && p[i] == '\\' && i + 1 < len && strchr("\"\\$`", p[i + 1]))
                        i++;
                    buf[o++] = p[i++];
                }
                if (i < len)
                    i++;
            } else if (q == '\\' && i + 1 < len) {
                buf[o++] = p[i + 1];
                i += 2;
            } else {
                buf[o++] = p[i++];
            }
        }
        buf[o++] = '\0';
    }
    return n;
}

/* "N" (0..255 after truncation, as a shell does) or -1 when it is no number. */
static int parse_code(const char *w)
{
    char *end;
    errno = 0;
    long v = strtol(w, &end, 10);
    if (errno || *end || end == w)
        return -1;
    return (int)(v & 0xff);
}

struct shell {
    struct rcs_script *out;
    int status; /* $? */
    int exited;
    int interactive; /* sleep is not played */
};

static int shell_words(struct shell *sh, char **w, size_t n, int depth);

/* One line: commands separated by ';', "&&" and "||" taken as ';' (good enough here). */
static int shell_line(struct shell *sh, const char *line, size_t len, int depth)
{
    if (depth > SHELL_MAX_DEPTH)
        return 0;
    char *buf = malloc(len + 1);
    if (!buf)
        return -1;
    size_t i = 0;
    int rc = 0;
    while (i <= len && !sh->exited && rc == 0) {
        /* the next command: up to an unquoted ';', '&&' or '||' */
        size_t j = i;
        char q = 0;
        while (j < len) {
            char c = line[j];
            if (q) {
                if (c == q)
                    q = 0;
            } else if (c == '\'' || c == '"') {
                q = c;
            } else if (c == ';' || c == '\n' ||
                       (j + 1 < len &&
                        ((c == '&' && line[j + 1] == '&') || (c == '|' && line[j + 1] == '|')))) {
                break;
            }
            j++;
        }
        char *words[SHELL_MAX_WORDS];
        size_t n = split_words(line + i, j - i, buf, words, SHELL_MAX_WORDS);
        if (n > 0)
            rc = shell_words(sh, words, n, depth);
        if (j < len && (line[j] == '&' || line[j] == '|'))
            j++;
        i = j + 1;
    }
    free(buf);
    return rc;
}

static int shell_words(struct shell *sh, char **w, size_t n, int depth)
{
    const char *cmd = w[0];
    const char *base = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
    sh->status = 0;
    if (strcmp(base, "echo") == 0) {
        size_t first = 1;
        int nl = 1;
        if (n > 1 && strcmp(w[1], "-n") == 0) {
            nl = 0;
            first = 2;
        }
        size_t need = 2;
        for (size_t i = first; i < n; i++)
            need += strlen(w[i]) + 1;
        char *o = malloc(need);
        if (!o)
            return -1;
        size_t k = 0;
        for (size_t i = first; i < n; i++) {
            if (i > first)
                o[k++] = ' ';
            size_t l = strlen(w[i]);
            memcpy(o + k, w[i], l);
            k += l;
        }
        if (nl)
            o[k++] = '\n';
        int rc = k ? add_write(sh->out, RCS_STDOUT, o, k) : 0;
        free(o);
        return rc;
    }
    if (strcmp(base, "exit") == 0) {
        int code = n > 1 ? parse_code(w[1]) : sh->status;
        if (code < 0) { /* dash: "exit: Illegal number" and status 2 */
            char msg[160];
            int l = snprintf(msg, sizeof msg, "sh: exit: Illegal number: %.100s\n", w[1]);
            if (add_write(sh->out, RCS_STDERR, msg, (size_t)l) < 0)
                return -1;
            code = 2;
        }
        sh->exited = 1;
        return add_kind(sh->out, RCS_STEP_EXIT, 0, code);
    }
    if (strcmp(base, "false") == 0) {
        sh->status = 1;
        return 0;
    }
    if (strcmp(base, "sleep") == 0 && n > 1) {
        double secs = strtod(w[1], NULL);
        if (secs > 0 && !sh->interactive)
            return add_kind(sh->out, RCS_STEP_SLEEP, (int64_t)(secs * 1000.0), 0);
        return 0;
    }
    if (strcmp(base, "cat") == 0 && n == 1 && !sh->interactive) {
        sh->out->echo_stdin = 1;
        return add_kind(sh->out, RCS_STEP_STDIN, 0, 0);
    }
    if ((strcmp(base, "sh") == 0 || strcmp(base, "bash") == 0) && n >= 3 && strcmp(w[1], "-c") == 0)
        return shell_line(sh, w[2], strlen(w[2]), depth + 1);
    return 0; /* true, and every command the fake does not know: success, no output */
}

/* The built-in program for argv: a script, or MODE_SHELL for an interactive shell. */
static int builtin_script(struct rcs_session *s)
{
    struct shell sh = {.out = &s->script};
    if (s->opts.attach)
        return add_kind(&s->script, RCS_STEP_EXIT, 0, 0);
    const char *base = strrchr(s->argv[0], '/') ? strrchr(s->argv[0], '/') + 1 : s->argv[0];
    if ((strcmp(base, "sh") == 0 || strcmp(base, "bash") == 0) &&
        (s->argc == 1 || (s->argc == 2 && strcmp(s->argv[1], "-i") == 0)) &&
        s->opts.want[RCS_STDIN]) {
        s->mode = MODE_SHELL;
        return 0;
    }
    if (shell_words(&sh, s->argv, s->argc, 0) < 0)
        return -1;
    if (!sh.exited)
        return add_kind(&s->script, RCS_STEP_EXIT, 0, sh.status);
    return 0;
}

int rcs_shell_line(const char *line, size_t len, struct rcs_script *out)
{
    struct shell sh = {.out = out, .interactive = 1};
    return shell_line(&sh, line, len, 0);
}

int rcs_script_exit(const char *const *argv, size_t argc)
{
    struct rcs_script script = {0};
    struct shell sh = {.out = &script};
    char *w[RCS_MAX_ARGS];
    if (argc == 0)
        return 0;
    for (size_t i = 0; i < argc && i < RCS_MAX_ARGS; i++)
        w[i] = (char *)argv[i];
    int code = 0;
    if (shell_words(&sh, w, argc < RCS_MAX_ARGS ? argc : RCS_MAX_ARGS, 0) == 0) {
        code = sh.status;
        for (size_t i = 0; i < script.nsteps; i++)
            if (script.steps[i].kind == RCS_STEP_EXIT)
                code = script.steps[i].exit_code;
    }
    rcs_script_clear(&script);
    return code;
}

int rcs_status_json(int exit_code, const char *const *argv, size_t argc, char *buf, size_t len)
{
    int ret = -1;
    char *text = NULL;
    char *msg = NULL;
    cJSON *st = cJSON_CreateObject();
    if (!st)
        goto out;
    if (!cJSON_AddItemToObject(st, "metadata", cJSON_CreateObject()))
        goto out;
    if (exit_code == 0) {
        if (!cJSON_AddStringToObject(st, "status", "Success"))
            goto out;
    } else {
        /* Go's %v of a []string: the words space-separated in brackets */
        size_t need = 128;
        for (size_t i = 0; i < argc; i++)
            need += strlen(argv[i]) + 1;
        msg = malloc(need);
        if (!msg)
            goto out;
        size_t n = 0;
        static const char head[] =
            "command terminated with non-zero exit code: error executing command [";
        memcpy(msg, head, sizeof head - 1);
        n = sizeof head - 1;
        for (size_t i = 0; i < argc; i++) {
            if (i)
                msg[n++] = ' ';
            size_t w = strlen(argv[i]);
            memcpy(msg + n, argv[i], w);
            n += w;
        }
        char tail[48], code[16];
        int tl = snprintf(tail, sizeof tail, "], exit code %d", exit_code);
        snprintf(code, sizeof code, "%d", exit_code);
        memcpy(msg + n, tail, (size_t)tl + 1);
        cJSON *details = cJSON_CreateObject();
        cJSON *causes = cJSON_CreateArray();
        cJSON *cause = cJSON_CreateObject();
        if (!details || !causes || !cause || !cJSON_AddItemToArray(causes, cause)) {
            cJSON_Delete(details);
            cJSON_Delete(causes);
            cJSON_Delete(cause);
            goto out;
        }
        if (!cJSON_AddItemToObject(details, "causes", causes)) {
            cJSON_Delete(details);
            cJSON_Delete(causes);
            goto out;
        }
        if (!cJSON_AddStringToObject(cause, "reason", "ExitCode") ||
            !cJSON_AddStringToObject(cause, "message", code) ||
            !cJSON_AddStringToObject(st, "status", "Failure") ||
            !cJSON_AddStringToObject(st, "message", msg) ||
            !cJSON_AddStringToObject(st, "reason", "NonZeroExitCode") ||
            !cJSON_AddItemToObject(st, "details", details)) {
            cJSON_Delete(details); /* not attached when the last add failed */
            goto out;
        }
    }
    text = cJSON_PrintUnformatted(st);
    if (!text)
        goto out;
    size_t tlen = strlen(text);
    if (tlen + 1 > len)
        goto out;
    memcpy(buf, text, tlen + 1);
    ret = (int)tlen;
out:
    free(text);
    free(msg);
    cJSON_Delete(st);
    return ret;
}

/* ---- the session ---- */

static void really_free(struct rcs_session *s)
{
    if (s->mode == MODE_PROGRAM && s->prog.release)
        s->prog.release(s->prog.ctx);
    if (s->timer)
        event_free(s->timer);
    if (s->abort_ev)
        event_free(s->abort_ev);
    if (s->stall_ev)
        event_free(s->stall_ev);
    rcs_script_clear(&s->script);
    for (size_t i = 0; i < s->argc; i++)
        free(s->argv[i]);
    free(s->line);
    free(s->early);
    if (s->opts.on_free)
        s->opts.on_free(s->opts.on_free_arg, s);
    free(s);
}

void rcs_free(struct rcs_session *s)
{
    if (!s)
        return;
    if (s->busy > 0) {
        s->doomed = 1;
        s->finished = 1;
        return;
    }
    really_free(s);
}

void rcs_enter(struct rcs_session *s)
{
    s->busy++;
}

int rcs_leave(struct rcs_session *s)
{
    if (--s->busy > 0 || !s->doomed)
        return 0;
    really_free(s);
    return -1;
}

struct rcs_session *rcs_new(const struct rcs_opts *opts, const struct rcs_sink *sink,
                            const struct rcs_program *prog, const struct rcs_script *script,
                            const struct rcs_faults *faults)
{
    struct rcs_session *s = calloc(1, sizeof *s);
    if (!s) {
        if (prog && prog->release)
            prog->release(prog->ctx);
        return NULL;
    }
    s->opts = *opts;
    s->sink = *sink;
    if (faults)
        s->faults = *faults;
    else
        rcs_faults_none(&s->faults);
    if (prog) {
        s->mode = MODE_PROGRAM;
        s->prog = *prog;
    }
    for (size_t i = 0; i < opts->argc && i < RCS_MAX_ARGS; i++) {
        s->argv[i] = strdup(opts->argv[i] ? opts->argv[i] : "");
        if (!s->argv[i])
            goto fail;
        s->argc++;
    }
    s->opts.argv = (const char *const *)s->argv;
    s->opts.argc = s->argc;
    if (!prog) {
        if (script) {
            if (rcs_script_copy(&s->script, script) < 0)
                goto fail;
        } else if (builtin_script(s) < 0) {
            goto fail;
        }
    }
    return s;
fail:
    really_free(s);
    return NULL;
}

const struct rcs_opts *rcs_options(const struct rcs_session *s)
{
    return &s->opts;
}

const struct rcs_faults *rcs_get_faults(const struct rcs_session *s)
{
    return &s->faults;
}

int rcs_finished(const struct rcs_session *s)
{
    return s->finished;
}

static void cancel_timers(struct rcs_session *s)
{
    if (s->timer)
        event_del(s->timer);
    if (s->abort_ev)
        event_del(s->abort_ev);
    if (s->stall_ev)
        event_del(s->stall_ev);
}

int rcs_write(struct rcs_session *s, enum rcs_stream stream, const void *data, size_t len)
{
    if (s->finished || s->doomed)
        return -1;
    if (s->stalled || len == 0 || stream >= RCS_NSTREAMS || !s->opts.want[stream])
        return 0;
    if (s->sink.write(s->sink.arg, stream, data, len) < 0) {
        s->finished = 1;
        return -1;
    }
    return 0;
}

static int end_with(struct rcs_session *s, const char *status, size_t len)
{
    if (s->finished || s->doomed)
        return -1;
    if (s->stalled)
        return 0; /* the stall fault: the end never comes */
    s->finished = 1;
    cancel_timers(s);
    if (!s->faults.empty_status && len > 0 &&
        s->sink.write(s->sink.arg, RCS_ERROR, status, len) < 0)
        return -1;
    return s->sink.end(s->sink.arg);
}

int rcs_exit_status(struct rcs_session *s, const char *status_json, size_t len)
{
    return end_with(s, status_json, len);
}

int rcs_failure_json(const char *message, char *buf, size_t len)
{
    int ret = -1;
    cJSON *st = cJSON_CreateObject();
    if (st && cJSON_AddObjectToObject(st, "metadata") &&
        cJSON_AddStringToObject(st, "status", "Failure") &&
        cJSON_AddStringToObject(st, "message", message) &&
        cJSON_AddStringToObject(st, "reason", "InternalError") &&
        cJSON_AddNumberToObject(st, "code", 500) && cJSON_PrintPreallocated(st, buf, (int)len, 0))
        ret = (int)strlen(buf);
    cJSON_Delete(st);
    return ret;
}

int rcs_exit_failure(struct rcs_session *s, const char *message)
{
    char status[RCS_MAX_STATUS_BYTES];
    int len = rcs_failure_json(message, status, sizeof status);
    if (len < 0)
        len = rcs_failure_json("internal error", status, sizeof status);
    return end_with(s, status, len > 0 ? (size_t)len : 0);
}

int rcs_exit(struct rcs_session *s, int exit_code)
{
    if (s->faults.status_exit >= 0)
        exit_code = (int)(s->faults.status_exit & 0xff);
    char status[RCS_MAX_STATUS_BYTES];
    int len =
        rcs_status_json(exit_code, (const char *const *)s->argv, s->argc, status, sizeof status);
    if (len < 0) /* a command too long to report: the kubelet would still say it failed */
        len = rcs_status_json(exit_code, NULL, 0, status, sizeof status);
    return end_with(s, status, len > 0 ? (size_t)len : 0);
}

/* The script player: run steps until one waits. Called with the session entered. */
static void play(struct rcs_session *s)
{
    while (!s->finished && s->step < s->script.nsteps) {
        const struct rcs_step *st = &s->script.steps[s->step];
        switch (st->kind) {
        case RCS_STEP_WRITE:
            s->step++;
            if (rcs_write(s, st->stream, st->data, st->len) < 0)
                return;
            break;
        case RCS_STEP_SLEEP: {
            s->step++;
            struct timeval tv = {(time_t)(st->ms / 1000), (suseconds_t)(st->ms % 1000) * 1000};
            if (!s->timer || evtimer_add(s->timer, &tv) < 0) {
                log_warn("exec: cannot wait: ending the command now");
                rcs_exit(s, 0);
            }
            return;
        }
        case RCS_STEP_STDIN:
            if (s->opts.want[RCS_STDIN] && !s->stdin_eof)
                return;
            s->step++;
            break;
        case RCS_STEP_EXIT:
            rcs_exit(s, st->exit_code);
            return;
        case RCS_STEP_HANG:
            return;
        }
    }
    if (!s->finished && s->mode == MODE_SCRIPT)
        rcs_exit(s, 0);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rcs_session *s = arg;
    rcs_enter(s);
    play(s);
    rcs_leave(s);
}

static void on_abort(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rcs_session *s = arg;
    if (s->finished || s->doomed)
        return;
    rcs_enter(s);
    s->finished = 1;
    cancel_timers(s);
    if (s->sink.abort)
        s->sink.abort(s->sink.arg);
    rcs_leave(s);
}

static void on_stall(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rcs_session *s = arg;
    s->stalled = 1;
}

static int arm(struct rcs_session *s, struct event **ev, event_callback_fn fn, int64_t ms)
{
    if (ms < 0 || !s->opts.base)
        return 0;
    *ev = evtimer_new(s->opts.base, fn, s);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    if (!*ev || evtimer_add(*ev, &tv) < 0)
        return -1;
    return 0;
}

/* The interactive shell: run each complete line. */
static void shell_input(struct rcs_session *s, const char *data, size_t len)
{
    if (s->opts.tty) { /* the terminal echoes what is typed */
        for (size_t i = 0; i < len && !s->finished; i++) {
            if (data[i] == '\r' || data[i] == '\n')
                rcs_write(s, RCS_STDOUT, "\r\n", 2);
            else
                rcs_write(s, RCS_STDOUT, data + i, 1);
        }
    }
    for (size_t i = 0; i < len && !s->finished; i++) {
        char c = data[i];
        if (c != '\n' && c != '\r') {
            if (s->line_len < 4096) {
                char *n = realloc(s->line, s->line_len + 1);
                if (!n)
                    return;
                s->line = n;
                s->line[s->line_len++] = c;
            }
            continue;
        }
        struct rcs_script out = {0};
        struct shell sh = {.out = &out, .interactive = 1};
        if (shell_line(&sh, s->line ? s->line : "", s->line_len, 0) == 0) {
            for (size_t k = 0; k < out.nsteps && !s->finished; k++) {
                const struct rcs_step *st = &out.steps[k];
                if (st->kind == RCS_STEP_WRITE) {
                    if (!s->opts.tty) {
                        rcs_write(s, st->stream, st->data, st->len);
                        continue;
                    }
                    for (size_t b = 0; b < st->len && !s->finished; b++) /* onlcr */
                        rcs_write(s, st->stream, st->data[b] == '\n' ? "\r\n" : st->data + b,
                                  st->data[b] == '\n' ? 2 : 1);
                } else if (st->kind == RCS_STEP_EXIT) {
                    rcs_exit(s, st->exit_code);
                }
            }
        }
        rcs_script_clear(&out);
        s->line_len = 0;
        if (!s->finished && s->opts.tty)
            rcs_write(s, RCS_STDOUT, "# ", 2);
    }
}

/* Keep a program's input that came before start (see early in struct rcs_session). */
static void program_keep_early(struct rcs_session *s, enum rcs_stream stream, const void *data,
                               size_t len)
{
    if (stream == RCS_RESIZE) {
        if (len <= sizeof s->early_resize) {
            memcpy(s->early_resize, data, len);
            s->early_resize_len = len;
        }
        return;
    }
    if (stream != RCS_STDIN || s->early_eof)
        return;
    if (len == 0) {
        s->early_eof = 1;
        return;
    }
    size_t room = RCS_MAX_INPUT_BYTES + 1 - s->early_len;
    if (len > room)
        len = room;
    if (len == 0)
        return;
    char *n = realloc(s->early, s->early_len + len);
    if (!n)
        return;
    memcpy(n + s->early_len, data, len);
    s->early = n;
    s->early_len += len;
}

/* Hand the program what came before start, in order: resize, stdin, end of stdin. */
static void program_early_input(struct rcs_session *s)
{
    if (!s->prog.input)
        return;
    if (s->early_resize_len && !s->finished)
        s->prog.input(s, s->prog.ctx, RCS_RESIZE, s->early_resize, s->early_resize_len);
    if (s->early_len && !s->finished)
        s->prog.input(s, s->prog.ctx, RCS_STDIN, s->early, s->early_len);
    free(s->early);
    s->early = NULL;
    s->early_len = 0;
    if (s->early_eof && !s->finished)
        s->prog.input(s, s->prog.ctx, RCS_STDIN, NULL, 0);
}

int rcs_start(struct rcs_session *s)
{
    if (s->started)
        return 0;
    s->started = 1;
    rcs_enter(s);
    if (s->opts.base && s->mode == MODE_SCRIPT)
        s->timer = evtimer_new(s->opts.base, on_timer, s);
    if (arm(s, &s->abort_ev, on_abort, s->faults.abort_ms) < 0 ||
        arm(s, &s->stall_ev, on_stall, s->faults.stall_ms) < 0)
        log_warn("exec: cannot arm a stream fault's timer");
    if (s->faults.stall_ms == 0)
        s->stalled = 1;
    if (s->faults.abort_ms == 0)
        on_abort(-1, 0, s);
    if (!s->finished) {
        switch (s->mode) {
        case MODE_PROGRAM:
            if (s->prog.start)
                s->prog.start(s, s->prog.ctx);
            program_early_input(s);
            break;
        case MODE_SCRIPT:
            play(s);
            break;
        case MODE_SHELL:
            if (s->opts.tty)
                rcs_write(s, RCS_STDOUT, "# ", 2);
            break;
        }
    }
    return rcs_leave(s);
}

int rcs_input(struct rcs_session *s, enum rcs_stream stream, const void *data, size_t len)
{
    if (s->finished)
        return 0;
    rcs_enter(s);
    int eof = stream == RCS_STDIN && len == 0;
    if (eof)
        s->stdin_eof = 1;
    switch (s->mode) {
    case MODE_PROGRAM:
        if (!s->started)
            program_keep_early(s, stream, data, len);
        else if (s->prog.input)
            s->prog.input(s, s->prog.ctx, stream, eof ? NULL : data, len);
        break;
    case MODE_SCRIPT:
        if (stream == RCS_STDIN && len > 0 && s->script.echo_stdin)
            rcs_write(s, RCS_STDOUT, data, len);
        if (eof && s->started)
            play(s);
        break;
    case MODE_SHELL:
        if (stream == RCS_STDIN && len > 0)
            shell_input(s, data, len);
        else if (eof && !s->finished)
            rcs_exit(s, 0);
        break;
    }
    return rcs_leave(s);
}
