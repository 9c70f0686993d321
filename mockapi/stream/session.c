/* session.c -- remote-command sessions: the scripted container behind exec and attach, and the
 * error-stream Status the kubelet writes (k8s.io/kubelet cri/streaming/remotecommand exec.go, with
 * containerd's "error executing command %v, exit code %d") */
#include "mockapi/stream/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

struct rcs_session {
    struct rcs_opts opts;
    struct rcs_sink sink;
    char *argv[RCS_MAX_ARGS];
    size_t argc;
    int started;
    int finished;
};

struct rcs_session *rcs_new(const struct rcs_opts *opts, const struct rcs_sink *sink)
{
    struct rcs_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->opts = *opts;
    s->sink = *sink;
    for (size_t i = 0; i < opts->argc && i < RCS_MAX_ARGS; i++) {
        s->argv[i] = strdup(opts->argv[i] ? opts->argv[i] : "");
        if (!s->argv[i]) {
            rcs_free(s);
            return NULL;
        }
        s->argc++;
    }
    s->opts.argv = (const char *const *)s->argv;
    s->opts.argc = s->argc;
    return s;
}

void rcs_free(struct rcs_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->argc; i++)
        free(s->argv[i]);
    free(s);
}

/* "exit N" (as sh -c's script) to N, or -1. */
static int parse_exit(const char *script)
{
    while (*script == ' ')
        script++;
    if (strncmp(script, "exit", 4) != 0)
        return -1;
    script += 4;
    if (*script == '\0')
        return 0;
    if (*script != ' ')
        return -1;
    char *end;
    errno = 0;
    long n = strtol(script, &end, 10);
    while (*end == ' ' || *end == ';')
        end++;
    if (errno || *end || end == script)
        return -1;
    return (int)(n & 0xff); /* as a shell truncates it */
}

int rcs_script_exit(const char *const *argv, size_t argc)
{
    if (argc == 3 && (strcmp(argv[0], "sh") == 0 || strcmp(argv[0], "/bin/sh") == 0) &&
        strcmp(argv[1], "-c") == 0) {
        int n = parse_exit(argv[2]);
        if (n >= 0)
            return n;
    }
    return 0;
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

int rcs_start(struct rcs_session *s)
{
    if (s->started)
        return 0;
    s->started = 1;
    int code = 0;
    if (!s->opts.attach && s->argc > 0) {
        const char *const *argv = (const char *const *)s->argv;
        if (strcmp(argv[0], "echo") == 0 && s->opts.want[RCS_STDOUT]) {
            size_t need = 2;
            for (size_t i = 1; i < s->argc; i++)
                need += strlen(argv[i]) + 1;
            char *out = malloc(need);
            if (out) {
                size_t n = 0;
                for (size_t i = 1; i < s->argc; i++) {
                    if (i > 1)
                        out[n++] = ' ';
                    size_t w = strlen(argv[i]);
                    memcpy(out + n, argv[i], w);
                    n += w;
                }
                out[n++] = '\n';
                int r = s->sink.write(s->sink.arg, RCS_STDOUT, out, n);
                free(out);
                if (r < 0)
                    return -1;
            }
        }
        code = rcs_script_exit(argv, s->argc);
    }
    char status[RCS_MAX_STATUS_BYTES];
    int len = rcs_status_json(code, (const char *const *)s->argv, s->argc, status, sizeof status);
    if (len < 0) /* a command too long to report: the kubelet would still say it failed */
        len = rcs_status_json(code, NULL, 0, status, sizeof status);
    if (len > 0 && s->sink.write(s->sink.arg, RCS_ERROR, status, (size_t)len) < 0)
        return -1;
    s->finished = 1;
    return s->sink.end(s->sink.arg);
}

int rcs_input(struct rcs_session *s, enum rcs_stream stream, const void *data, size_t len)
{
    (void)s;
    (void)stream;
    (void)data;
    (void)len;
    return 0;
}

int rcs_finished(const struct rcs_session *s)
{
    return s->finished;
}
