/* job.c -- `kubefault job`: argument parsing and wiring for the reference job client */
#include "src/job.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness/diag.h"
#include "harness/glclient.h"
#include "harness/jobclient.h"
#include "harness/jobconfig.h"
#include "harness/jsonc.h"

#define EXIT_USAGE 2
#define JOB_TIME_SCALE_MAX 1000 /* a 3 s poll_interval still lasts 3 ms */

static volatile sig_atomic_t canceled;

static void on_signal(int sig)
{
    (void)sig;
    canceled = 1;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kubefault job [CONFIG.json] [options]\n"
        "\n"
        "Run one CI job the way GitLab Runner 19.x's Kubernetes executor does, against the\n"
        "kube-apiserver the configuration names (a kubefault server, or any cluster), and\n"
        "print its job log. This is the reference job client: a model of the runner for\n"
        "demos, self-tests and poll_timeout tuning, not the runner (harness/JOBCLIENT.md).\n"
        "\n"
        "CONFIG.json holds the runner's [runners.kubernetes] settings under their config.toml\n"
        "names, feature flags and the job (JSON with comments; harness/JOBCLIENT.md). Without\n"
        "kubernetes.host the kubeconfig is used: --kubeconfig, else $KUBECONFIG, else\n"
        "~/.kube/config.\n"
        "\n"
        "options:\n"
        "  --set KEY=VALUE     override one setting; KEY is a [runners.kubernetes] name\n"
        "                      (poll_timeout), job.NAME, runner.NAME, FF_NAME, or MAP.KEY for\n"
        "                      node_selector, pod_labels, pod_annotations, retry_limits and\n"
        "                      job.variables; VALUE is JSON when it parses (2, true,\n"
        "                      [\"a\",\"b\"]), else a string. Repeatable; applied in order\n"
        "  --kubeconfig FILE   the kubeconfig to use when kubernetes.host is not set\n"
        "  --color             keep the runner's ANSI colours and section markers\n"
        "  --seed N            seed for the pod and secret name suffixes (default: random;\n"
        "                      the same seed gives the same names)\n"
        "  --time-scale N      model N times the wall time: each poll_interval wait lasts\n"
        "                      poll_interval/N (for kubefault tune; default 1)\n"
        "  --check             validate the configuration and exit\n"
        "  --help              this text\n"
        "\n"
        "GitLab mode: take the job from GitLab's job API (a kubefault fake GitLab or a real\n"
        "one) instead of the job section, stream the log to it as the job's trace and send\n"
        "the final state, as the runner does. On when runner.url is set or with --gitlab.\n"
        "  --gitlab [URL]      GitLab's URL ([[runners]] url); without URL:\n"
        "                      $KUBEFAULT_GITLAB_URL, else runner.url\n"
        "  --gitlab-token T    the runner authentication token; default:\n"
        "                      $KUBEFAULT_GITLAB_TOKEN (with --gitlab), else runner.token\n"
        "  --gitlab-ca FILE    CA file for GitLab's certificate (runner.tls-ca-file;\n"
        "                      $KUBEFAULT_GITLAB_CA with --gitlab)\n"
        "  --wait-job DURATION how long to poll jobs/request for a job (default 30s; every\n"
        "                      runner.check_interval seconds, default 3)\n"
        "  --debug             also the runner's debug log lines (Checking for jobs...nothing)\n"
        "The runner's own log lines (Checking for jobs..., Appending trace...,\n"
        "Submitting job...) go to stderr; the job log to stdout.\n"
        "\n"
        "exit status: 0 the job succeeded, 1 it failed (the failure reason goes to stderr),\n"
        "2 bad usage or configuration, 3 GitLab mode: no job came within --wait-job\n");
}

int job_main(int argc, char **argv)
{
    const char *config = NULL, *kubeconfig = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    size_t nsets = 0;
    int color = 0, check_only = 0, time_scale = 1, rc = EXIT_USAGE;
    int gitlab = 0, debug = 0;
    const char *gl_url = NULL, *gl_token = NULL, *gl_ca = NULL;
    int64_t wait_job_ms = 0; /* 0: runner.wait_job, else GLCLIENT_WAIT_JOB_MS */
    /* random names by default, as the runner's; --seed makes them repeatable */
    unsigned long long seed = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20);
    cJSON *doc = NULL;
    struct jobconfig cfg;
    int have_cfg = 0;
    struct diag d;
    diag_init(&d, "--set");
    if (!sets) {
        fprintf(stderr, "kubefault job: out of memory\n");
        return EXIT_USAGE;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        } else if (strcmp(a, "--color") == 0) {
            color = 1;
        } else if (strcmp(a, "--check") == 0) {
            check_only = 1;
        } else if (strcmp(a, "--debug") == 0) {
            debug = 1;
        } else if (strcmp(a, "--gitlab") == 0) {
            gitlab = 1;
            if (v && (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)) {
                gl_url = v;
                i++;
            }
        } else if (strcmp(a, "--gitlab-token") == 0 || strcmp(a, "--gitlab-ca") == 0 ||
                   strcmp(a, "--wait-job") == 0) {
            if (!v) {
                fprintf(stderr, "kubefault job: %s needs a value\n", a);
                goto out;
            }
            i++;
            if (strcmp(a, "--gitlab-token") == 0) {
                gl_token = v;
            } else if (strcmp(a, "--gitlab-ca") == 0) {
                gl_ca = v;
            } else {
                char derr[256];
                if (jsonc_parse_duration(v, &wait_job_ms, derr, sizeof derr) < 0 ||
                    wait_job_ms <= 0) {
                    fprintf(stderr,
                            "kubefault job: --wait-job needs a duration such as 30s or 2m (got "
                            "\"%s\")\n",
                            v);
                    goto out;
                }
            }
        } else if (strcmp(a, "--set") == 0 || strcmp(a, "--kubeconfig") == 0 ||
                   strcmp(a, "--seed") == 0 || strcmp(a, "--config") == 0 ||
                   strcmp(a, "--time-scale") == 0) {
            if (!v) {
                fprintf(stderr, "kubefault job: %s needs a value\n", a);
                goto out;
            }
            i++;
            if (strcmp(a, "--set") == 0) {
                sets[nsets++] = v;
            } else if (strcmp(a, "--kubeconfig") == 0) {
                kubeconfig = v;
            } else if (strcmp(a, "--config") == 0) {
                config = v;
            } else if (strcmp(a, "--time-scale") == 0) {
                char *end;
                errno = 0;
                long n = strtol(v, &end, 10);
                if (errno || end == v || *end || n < 1 || n > JOB_TIME_SCALE_MAX) {
                    fprintf(stderr,
                            "kubefault job: --time-scale needs a whole number from 1 to %d (got "
                            "\"%s\")\n",
                            JOB_TIME_SCALE_MAX, v);
                    goto out;
                }
                time_scale = (int)n;
            } else {
                char *end;
                errno = 0;
                seed = strtoull(v, &end, 10);
                if (errno || end == v || *end) {
                    fprintf(stderr, "kubefault job: --seed needs a number (got \"%s\")\n", v);
                    goto out;
                }
            }
        } else if (strncmp(a, "--", 2) == 0 || config) {
            fprintf(stderr, "kubefault job: unknown argument \"%s\" (see kubefault job --help)\n",
                    a);
            goto out;
        } else {
            config = a;
        }
    }
    if (config) {
        struct diag fd;
        diag_init(&fd, config);
        doc = jobconfig_read(config, &fd);
        if (!doc) {
            diag_print(&fd, stderr);
            diag_release(&fd);
            goto out;
        }
        diag_release(&fd);
    } else {
        doc = cJSON_CreateObject();
    }
    for (size_t i = 0; doc && i < nsets; i++)
        if (jobconfig_set(doc, sets[i], &d) < 0) {
            diag_print(&d, stderr);
            goto out;
        }
    /* GitLab mode: the flags, then the environment (with --gitlab), then runner.url/token */
    const cJSON *rs = doc ? cJSON_GetObjectItemCaseSensitive(doc, "runner") : NULL;
    const cJSON *ru = rs ? cJSON_GetObjectItemCaseSensitive(rs, "url") : NULL;
    const cJSON *rt = rs ? cJSON_GetObjectItemCaseSensitive(rs, "token") : NULL;
    if (gitlab && !gl_url && getenv("KUBEFAULT_GITLAB_URL") && *getenv("KUBEFAULT_GITLAB_URL"))
        gl_url = getenv("KUBEFAULT_GITLAB_URL");
    if (gitlab && !gl_token && getenv("KUBEFAULT_GITLAB_TOKEN") &&
        *getenv("KUBEFAULT_GITLAB_TOKEN"))
        gl_token = getenv("KUBEFAULT_GITLAB_TOKEN");
    if (gitlab && !gl_ca && getenv("KUBEFAULT_GITLAB_CA") && *getenv("KUBEFAULT_GITLAB_CA"))
        gl_ca = getenv("KUBEFAULT_GITLAB_CA");
    if (!gl_url && cJSON_IsString(ru) && ru->valuestring[0])
        gl_url = ru->valuestring;
    if (gl_url)
        gitlab = 1;
    if (gitlab && !gl_url) {
        fprintf(stderr, "kubefault job: --gitlab needs a URL: --gitlab URL, "
                        "$KUBEFAULT_GITLAB_URL or runner.url\n");
        goto out;
    }
    if (gitlab && !gl_token && !(cJSON_IsString(rt) && rt->valuestring[0])) {
        fprintf(stderr, "kubefault job: GitLab mode needs the runner token: --gitlab-token, "
                        "$KUBEFAULT_GITLAB_TOKEN or runner.token\n");
        goto out;
    }
    if (gitlab && gl_token) {
        /* the token names the pods too, as the runner's */
        cJSON *r = cJSON_GetObjectItemCaseSensitive(doc, "runner");
        if (!r)
            r = cJSON_AddObjectToObject(doc, "runner");
        cJSON *tv = cJSON_CreateString(gl_token);
        if (!r || !tv) {
            cJSON_Delete(tv);
            fprintf(stderr, "kubefault job: out of memory\n");
            goto out;
        }
        if (cJSON_GetObjectItemCaseSensitive(r, "token"))
            cJSON_ReplaceItemInObjectCaseSensitive(r, "token", tv);
        else
            cJSON_AddItemToObject(r, "token", tv);
    }
    struct diag vd;
    diag_init(&vd, config ? config : "--set");
    if (!doc || jobconfig_from_json(doc, &cfg, &vd) < 0) {
        diag_print(&vd, stderr);
        diag_release(&vd);
        goto out;
    }
    diag_release(&vd);
    have_cfg = 1;
    if (check_only) {
        rc = 0;
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct jobclient_opts o = {.cfg = &cfg,
                               .kubeconfig = kubeconfig,
                               .log = stdout,
                               .color = color,
                               .seed = seed,
                               .cancel = &canceled,
                               .time_scale = time_scale};
    struct jobclient_result *res = calloc(1, sizeof *res);
    if (!res) {
        fprintf(stderr, "kubefault job: out of memory\n");
        goto out;
    }
    if (gitlab) {
        struct glclient_opts go = {.url = gl_url,
                                   .token = gl_token ? gl_token : cfg.runner_token,
                                   .ca_file = gl_ca ? gl_ca : cfg.runner_ca_file,
                                   .config = doc,
                                   .kubeconfig = kubeconfig,
                                   .log = stdout,
                                   .runner_log = stderr,
                                   .debug = debug,
                                   .color = color,
                                   .seed = seed,
                                   .cancel = &canceled,
                                   .wait_job_ms = wait_job_ms       ? wait_job_ms
                                                  : cfg.wait_job_ms ? cfg.wait_job_ms
                                                                    : GLCLIENT_WAIT_JOB_MS,
                                   .check_interval_ms =
                                       cfg.check_interval > 0 ? cfg.check_interval * 1000 : 0};
        struct glclient_result gr;
        rc = glclient_run(&go, res, &gr);
        fflush(stdout);
        if (rc == GLCLIENT_EXIT_NO_JOB || (rc == EXIT_USAGE && gr.error[0])) {
            fprintf(stderr, "kubefault job: %s\n", gr.error);
            free(res);
            goto out;
        }
    } else {
        rc = jobclient_run(&o, res);
    }
    fflush(stdout);
    if (rc != 0) {
        if (res->exit_code)
            fprintf(stderr, "kubefault job: job failed: %s (exit code %d)\n", res->failure_reason,
                    res->exit_code);
        else
            fprintf(stderr, "kubefault job: job failed: %s\n", res->failure_reason);
    }
    free(res);
out:
    if (have_cfg)
        jobconfig_release(&cfg);
    cJSON_Delete(doc);
    diag_release(&d);
    free(sets);
    return rc;
}
