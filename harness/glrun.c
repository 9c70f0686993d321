/* glrun.c -- the fake GitLab beside a running scenario: started from the scenario's "gitlab"
 * section with the engine's hooks, its jobs as JSON, and a ready config.toml for gitlab-runner */
#include "harness/glrun.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/engine.h"
#include "harness/scenario.h"
#include "mockapi/base/log.h"
#include "mockapi/gitlab/gitlab.h"
#include "mockapi/server.h"

#define GLRUN_POLL_INTERVAL 1 /* seconds: [runners.kubernetes] poll_interval */
#define GLRUN_POLL_TIMEOUT 10 /* seconds: poll_timeout, short enough for a scenario */

struct gitlab_server *glrun_start(struct engine *e, struct event_base *base,
                                  const struct scenario *s, struct tls_ctx *tls,
                                  size_t max_connections, char *err, size_t errlen)
{
    struct gitlab_server_opts o;
    struct gitlab_server *gl = NULL;
    memset(&o, 0, sizeof o);
    o.plain_http = tls == NULL;
    o.tls = tls;
    o.runner_token = s->gitlab.runner_token;
    o.long_poll_ms = s->gitlab.long_poll_ms;
    o.update_interval_s = s->gitlab.update_interval_s;
    o.seed = s->seed;
    o.max_connections = max_connections;
    o.hooks = engine_gitlab_hooks(e);
    if (!(gl = gitlab_server_new(base, &o, err, errlen)))
        return NULL;
    const cJSON *job;
    cJSON_ArrayForEach(job, s->gitlab.jobs)
    {
        char why[256];
        if (gitlab_job_add(gl, job, why, sizeof why) < 0) {
            snprintf(err, errlen, "cannot queue a job: %s", why);
            gitlab_server_free(gl);
            return NULL;
        }
    }
    engine_attach_gitlab(e, gl);
    log_info("gitlab: fake job API on %s, %d job%s queued", gitlab_server_url(gl),
             cJSON_GetArraySize(s->gitlab.jobs),
             cJSON_GetArraySize(s->gitlab.jobs) == 1 ? "" : "s");
    return gl;
}

cJSON *glrun_job_json(const struct gitlab_job_info *j, int with_trace)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int ok = cJSON_AddNumberToObject(o, "id", (double)j->id) &&
             cJSON_AddStringToObject(o, "name", j->name ? j->name : "") &&
             cJSON_AddStringToObject(o, "state", gitlab_job_state_name(j->state)) &&
             cJSON_AddStringToObject(o, "failure_reason", j->failure_reason) &&
             (!j->has_exit_code || cJSON_AddNumberToObject(o, "exit_code", j->exit_code)) &&
             cJSON_AddNumberToObject(o, "trace_length", (double)j->trace_len) &&
             cJSON_AddNumberToObject(o, "patches", j->patches) &&
             cJSON_AddNumberToObject(o, "updates", j->updates);
    if (ok && with_trace) {
        /* the trace is the runner's bytes: cJSON needs a NUL-terminated copy */
        char *t = malloc(j->trace_len + 1);
        if (t) {
            if (j->trace_len)
                memcpy(t, j->trace, j->trace_len);
            t[j->trace_len] = '\0';
            ok = cJSON_AddStringToObject(o, "trace", t) != NULL;
            free(t);
        } else {
            ok = 0;
        }
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

struct collect {
    cJSON *arr;
    int with_trace;
};

static int on_job(void *arg, const struct gitlab_job_info *j)
{
    struct collect *c = arg;
    cJSON *o = glrun_job_json(j, c->with_trace);
    if (!o || !cJSON_AddItemToArray(c->arr, o)) {
        cJSON_Delete(o);
        return -1;
    }
    return 0;
}

cJSON *glrun_jobs_json(const struct gitlab_server *gl, int with_trace)
{
    struct collect c = {cJSON_CreateArray(), with_trace};
    if (c.arr && gl && gitlab_job_foreach(gl, on_job, &c) != 0) {
        cJSON_Delete(c.arr);
        return NULL;
    }
    return c.arr;
}

/* A TOML basic string: quotes, backslashes and control characters escaped. */
static void toml_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void toml_kv(FILE *f, const char *indent, const char *key, const char *value)
{
    fprintf(f, "%s%s = ", indent, key);
    toml_str(f, value);
    fputc('\n', f);
}

int glrun_write_config(const char *path, const struct glrun_config *c, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "cannot write \"%s\": %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "# written by kubefault: gitlab-runner run --config ");
    fprintf(f, "%s\n", path);
    fprintf(f, "# the fake GitLab job API and the fake kube-apiserver of one scenario run\n");
    fprintf(f, "concurrent = 1\ncheck_interval = 1\n\n[[runners]]\n");
    toml_kv(f, "  ", "name", "kubefault");
    toml_kv(f, "  ", "url", c->gitlab_url);
    toml_kv(f, "  ", "token", c->runner_token);
    toml_kv(f, "  ", "executor", "kubernetes");
    if (c->ca_file)
        toml_kv(f, "  ", "tls-ca-file", c->ca_file);
    fprintf(f, "  [runners.kubernetes]\n");
    toml_kv(f, "    ", "host", c->kube_url);
    if (c->kube_token)
        toml_kv(f, "    ", "bearer_token", c->kube_token);
    if (c->ca_file)
        toml_kv(f, "    ", "ca_file", c->ca_file);
    toml_kv(f, "    ", "namespace", c->namespace_ ? c->namespace_ : "default");
    toml_kv(f, "    ", "image", c->image ? c->image : "alpine:3.20");
    fprintf(f, "    poll_interval = %d\n    poll_timeout = %d\n", GLRUN_POLL_INTERVAL,
            GLRUN_POLL_TIMEOUT);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write \"%s\": %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int glrun_write_config_for(const char *path, struct gitlab_server *gl, struct mockapi_server *srv,
                           const char *ca_file, char *err, size_t errlen)
{
    struct glrun_config gc = {gitlab_server_url(gl),
                              gitlab_server_runner_token(gl),
                              ca_file,
                              mockapi_server_url(srv),
                              mockapi_server_token(srv),
                              NULL,
                              NULL};
    return glrun_write_config(path, &gc, err, errlen);
}
