/* glrun.h -- the fake GitLab beside a running scenario: started with the scenario's "gitlab"
 * section and the engine's hooks, its jobs as JSON (control API, expectations), and the
 * config.toml that points a real gitlab-runner at both fakes */
#ifndef KF_GLRUN_H
#define KF_GLRUN_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct engine;
struct event_base;
struct gitlab_job_info;
struct gitlab_server;
struct mockapi_server;
struct scenario;
struct tls_ctx;

/** Start the fake GitLab on 127.0.0.1:0 with s's "gitlab" settings (an empty queue when s has no
 *  such section), the engine's hooks and tls (borrowed: the kube-apiserver's, so one CA serves
 *  both; NULL: plain HTTP), at most max_connections connections at once (0: the default, as
 *  gitlab_server_opts says), queue s's jobs and attach it to e (engine_attach_gitlab). Caller
 *  frees with gitlab_server_free() after engine_stop(). NULL with a message in err. */
struct gitlab_server *glrun_start(struct engine *e, struct event_base *base,
                                  const struct scenario *s, struct tls_ctx *tls,
                                  size_t max_connections, char *err, size_t errlen);

/** One job as the control API and the expectations see it: {"id", "name", "state",
 *  "failure_reason", "exit_code" (when sent), "trace_length", "patches", "updates"} plus "trace"
 *  when with_trace. Caller frees with cJSON_Delete(); NULL on OOM. */
cJSON *glrun_job_json(const struct gitlab_job_info *j, int with_trace);

/** Every job of gl, in the order they were added, as an array of glrun_job_json(). */
cJSON *glrun_jobs_json(const struct gitlab_server *gl, int with_trace);

/** What config.toml points at. */
struct glrun_config {
    const char *gitlab_url; /**< "https://127.0.0.1:PORT/" */
    const char *runner_token;
    const char *ca_file;    /**< the CA both fakes serve with; NULL: plain HTTP */
    const char *kube_url;   /**< the fake kube-apiserver */
    const char *kube_token; /**< NULL with plain HTTP */
    const char *namespace_; /**< NULL: "default" */
    const char *image;      /**< NULL: "alpine:3.20" */
};

/** Write a ready config.toml for `gitlab-runner run --config PATH` (mode 0600). 0, or -1 with a
 *  message in err. */
int glrun_write_config(const char *path, const struct glrun_config *c, char *err, size_t errlen);

/** The same for a running pair: gl beside srv, both serving with the CA in ca_file (NULL: plain
 *  HTTP), the default namespace and image. */
int glrun_write_config_for(const char *path, struct gitlab_server *gl, struct mockapi_server *srv,
                           const char *ca_file, char *err, size_t errlen);

#endif
