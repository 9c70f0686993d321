/* main.c -- the kubefault program: argument parsing and wiring only */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "harness/check.h"
#include "harness/control.h"
#include "harness/diag.h"
#include "harness/engine.h"
#include "harness/fault.h"
#include "harness/glrun.h"
#include "harness/scenario.h"
#include "mockapi/base/file.h"
#include "mockapi/base/log.h"
#include "mockapi/gitlab/gitlab.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/kubeconfig.h"
#include "mockapi/server.h"
#include "src/job.h"
#include "src/run.h"
#include "src/tune.h"

#define EXIT_USAGE 2

static int list_faults(void)
{
    static const char *const layers[] = {"listener", "http", "watch", "cluster", "stream"};
    for (size_t i = 0; i < fault_types_count; i++)
        printf("%-20s %-9s %s\n", fault_types[i]->name, layers[fault_types[i]->layer],
               fault_types[i]->summary);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kubefault serve [SCENARIO.json] [options]\n"
        "       kubefault check FILE...        validate scenario files without running them\n"
        "       kubefault faults              list the fault types scenarios can use\n"
        "       kubefault run SCENARIO... [-- COMMAND...]\n"
        "                                     run scenarios against a command, check their\n"
        "                                     expectations (kubefault run --help)\n"
        "       kubefault list [DIR...]       the scenario catalogue\n"
        "       kubefault tune SCENARIO --poll-timeout 30,60,120,180\n"
        "                                     which poll_timeout a distribution of scheduling\n"
        "                                     delays needs (kubefault tune --help)\n"
        "       kubefault job [CONFIG.json]   run one CI job as GitLab Runner's Kubernetes "
        "executor\n"
        "                                     does (the reference job client; kubefault job "
        "--help)\n"
        "       kubefault --help | --version\n"
        "\n"
        "serve: run a fake kube-apiserver (a one-node cluster that runs pods at once) until\n"
        "SIGINT or SIGTERM, and write a kubeconfig that points at it. With a SCENARIO file\n"
        "(scenarios/README.md), replay its rules, timeline and cluster settings; options given\n"
        "on the command line win over the scenario's.\n"
        "\n"
        "options:\n"
        "  --port N              port on 127.0.0.1 (default 0: a free port)\n"
        "  --bind ADDR           IPv4 address to bind (default 127.0.0.1)\n"
        "  --plain-http          serve HTTP instead of HTTPS (kubectl then sends no token)\n"
        "  --kube-version 1.NN   version /version reports (default 1.32; the kubectl\n"
        "                        dispatcher picks its binary from the minor)\n"
        "  --kubeconfig FILE     where to write the kubeconfig (default\n"
        "                        $TMPDIR/kubefault-PID/kubeconfig)\n"
        "  --ca-file FILE        where to write the CA certificate (default: ca.crt beside\n"
        "                        the default kubeconfig, else KUBECONFIG.ca.crt)\n"
        "  --token TOKEN         bearer token to require (default: random per run)\n"
        "  --seed N              seed for uids, generated names and IPs (default 1)\n"
        "  --schedule-delay MS   pod created -> scheduled (default 50)\n"
        "  --start-delay MS      scheduled -> Running and Ready (default 200)\n"
        "  --terminate-delay MS  graceful delete -> gone, at most the grace period (default 200)\n"
        "  --journal FILE        write every request (rule, fault, code, bytes) as JSON lines\n"
        "  --control-port N      serve the control API (harness/CONTROL.md) on 127.0.0.1:N\n"
        "                        (0: a free port); without a SCENARIO, an empty one runs\n"
        "  --control-token T     bearer token for the control API (default: random per run)\n"
        "  --max-connections N   connections each port (kube-apiserver, GitLab) serves at once\n"
        "                        (default 16384); past it a new connection's request is\n"
        "                        answered 503 \"too many connections\" and the connection closed\n"
        "  --gitlab              also serve the fake GitLab job API (with an empty job queue\n"
        "                        when the scenario has no \"gitlab\" section) and write a\n"
        "                        config.toml beside the kubeconfig for gitlab-runner run\n"
        "  --verbose             log every request\n"
        "  --quiet               log only errors\n");
}

static int parse_num(const char *opt, const char *v, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (!v || errno || end == v || *end || n < min || n > max) {
        fprintf(stderr, "kubefault: %s needs a number from %lld to %lld (got \"%s\")\n", opt, min,
                max, v ? v : "");
        return -1;
    }
    *out = n;
    return 0;
}

/* Raise the open-files soft limit to the hard one: each connection is a descriptor, and shells
 * often start with a soft limit of 1024. */
static void raise_open_files(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl); /* best effort: the old limit stays otherwise */
    }
}

/* Say so when the open-files limit stays below the connection limit: accept() then fails first
 * (the listener pauses and clients wait) instead of the 503 the connection limit gives. */
static void check_open_files(size_t max_connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < max_connections + 64)
        log_info("open-files limit %llu is below --max-connections %zu: past about %llu "
                 "connections accept() fails and new clients wait instead of getting a 503",
                 (unsigned long long)rl.rlim_cur, max_connections,
                 (unsigned long long)rl.rlim_cur - 64);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    log_info("signal %d: shutting down", (int)sig);
    event_base_loopbreak(arg);
}

static int serve(int argc, char **argv)
{
    struct mockapi_server_opts o;
    memset(&o, 0, sizeof o);
    o.seed = 1;
    o.cluster.schedule_delay_ms = 50;
    o.cluster.start_delay_ms = 200;
    o.cluster.terminate_delay_ms = 200;
    const char *kubeconfig = NULL, *ca_file = NULL, *scenario_file = NULL, *journal_file = NULL;
    char default_dir[512] = "";
    char default_path[600], default_ca[700] = "";
    long long n;
    int set_seed = 0, set_version = 0, set_delay[3] = {0, 0, 0};
    int ctl_port = -1; /* -1: no control API */
    int want_gitlab = 0;
    const char *ctl_token = NULL;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--plain-http") == 0) {
            o.plain_http = 1;
        } else if (strcmp(a, "--gitlab") == 0) {
            want_gitlab = 1;
        } else if (strcmp(a, "--verbose") == 0) {
            log_set_level(LOG_LEVEL_DEBUG);
        } else if (strcmp(a, "--quiet") == 0) {
            log_set_level(LOG_LEVEL_ERROR);
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--port") == 0) {
            if (parse_num(a, v, 0, 65535, &n) < 0)
                return EXIT_USAGE;
            o.port = (int)n;
            i++;
        } else if (strcmp(a, "--max-connections") == 0) {
            if (parse_num(a, v, 1, 1000000, &n) < 0)
                return EXIT_USAGE;
            o.max_connections = (size_t)n;
            i++;
        } else if (strcmp(a, "--control-port") == 0) {
            if (parse_num(a, v, 0, 65535, &n) < 0)
                return EXIT_USAGE;
            ctl_port = (int)n;
            i++;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_num(a, v, 0, INT64_MAX, &n) < 0)
                return EXIT_USAGE;
            o.seed = (uint64_t)n;
            set_seed = 1;
            i++;
        } else if (strcmp(a, "--schedule-delay") == 0 || strcmp(a, "--start-delay") == 0 ||
                   strcmp(a, "--terminate-delay") == 0) {
            if (parse_num(a, v, 0, 86400000, &n) < 0)
                return EXIT_USAGE;
            if (a[2] == 's' && a[3] == 'c') {
                o.cluster.schedule_delay_ms = n;
                set_delay[0] = 1;
            } else if (a[2] == 's') {
                o.cluster.start_delay_ms = n;
                set_delay[1] = 1;
            } else {
                o.cluster.terminate_delay_ms = n;
                set_delay[2] = 1;
            }
            i++;
        } else if (strcmp(a, "--bind") == 0 || strcmp(a, "--kube-version") == 0 ||
                   strcmp(a, "--kubeconfig") == 0 || strcmp(a, "--token") == 0 ||
                   strcmp(a, "--ca-file") == 0 || strcmp(a, "--journal") == 0 ||
                   strcmp(a, "--control-token") == 0) {
            if (!v) {
                fprintf(stderr, "kubefault: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            if (strcmp(a, "--bind") == 0)
                o.bind_addr = v;
            else if (strcmp(a, "--kube-version") == 0) {
                char *end;
                long minor = strncmp(v, "1.", 2) == 0 ? strtol(v + 2, &end, 10) : -1;
                if (minor < 0 || minor > 99 || end == v + 2 || *end) {
                    fprintf(stderr,
                            "kubefault: bad Kubernetes version \"%s\" (expected 1.NN, "
                            "e.g. 1.32)\n",
                            v);
                    return EXIT_USAGE;
                }
                o.kube_version = v;
                set_version = 1;
            } else if (strcmp(a, "--kubeconfig") == 0)
                kubeconfig = v;
            else if (strcmp(a, "--ca-file") == 0)
                ca_file = v;
            else if (strcmp(a, "--journal") == 0)
                journal_file = v;
            else if (strcmp(a, "--control-token") == 0)
                ctl_token = v;
            else
                o.token = v;
            i++;
        } else if (a[0] != '-' && !scenario_file) {
            scenario_file = a;
        } else {
            fprintf(stderr, "kubefault: unknown option \"%s\" (see kubefault --help)\n", a);
            return EXIT_USAGE;
        }
    }

    if (ctl_token && ctl_port < 0) {
        fprintf(stderr, "kubefault: --control-token needs --control-port\n");
        return EXIT_USAGE;
    }
    struct scenario *sc = NULL;
    if (!scenario_file && (ctl_port >= 0 || want_gitlab)) {
        /* the control API drives an engine: an empty scenario (no rules) gives it one, so pods
         * can be driven by hand and the journal read without writing a file */
        static const char empty[] = "{\"name\": \"none\"}";
        struct diag d;
        diag_init(&d, "(no scenario)");
        sc = scenario_parse("(no scenario)", empty, sizeof empty - 1, &d);
        diag_release(&d);
        if (!sc) {
            fprintf(stderr, "kubefault: out of memory\n");
            return 1;
        }
    }
    if (scenario_file) {
        struct diag d;
        diag_init(&d, scenario_file);
        sc = scenario_load(scenario_file, &d);
        if (!sc) {
            diag_print(&d, stderr);
            diag_release(&d);
            return EXIT_USAGE;
        }
        diag_release(&d);
        /* the scenario's settings, unless the command line says otherwise */
        if (!set_seed)
            o.seed = sc->seed;
        if (!set_version && sc->cluster.version[0])
            o.kube_version = sc->cluster.version;
        int64_t delays[3] = {sc->cluster.schedule_delay_ms, sc->cluster.start_delay_ms,
                             sc->cluster.terminate_delay_ms};
        int64_t *targets[3] = {&o.cluster.schedule_delay_ms, &o.cluster.start_delay_ms,
                               &o.cluster.terminate_delay_ms};
        for (int k = 0; k < 3; k++)
            if (!set_delay[k] && delays[k] >= 0)
                *targets[k] = delays[k];
    }

    check_open_files(o.max_connections ? o.max_connections : CONN_DEFAULT_MAX);

    /* timerfd-backed timers: injected delays and timeline switches land within a millisecond
     * instead of epoll's rounding; and no cached time: a timer armed late in a busy turn of the
     * loop would otherwise count from the turn's start and fire early (scripted times count from
     * events measured on the real clock) */
    struct event_config *cfg = event_config_new();
    if (cfg) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        event_config_set_flag(cfg, EVENT_BASE_FLAG_NO_CACHE_TIME);
    }
    struct event_base *base = cfg ? event_base_new_with_config(cfg) : NULL;
    if (cfg)
        event_config_free(cfg);
    struct mockapi_server *srv = NULL;
    struct engine *eng = NULL;
    struct gitlab_server *gl = NULL;
    char runner_config[700] = "";
    struct control *ctl = NULL;
    FILE *journal = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    int rc = 1;
    char err[512];
    if (!base) {
        fprintf(stderr, "kubefault: cannot create the event loop\n");
        goto out;
    }
    if (journal_file && !(journal = fopen(journal_file, "w"))) {
        fprintf(stderr, "kubefault: cannot write \"%s\": %s\n", journal_file, strerror(errno));
        goto out;
    }
    if (sc) {
        if (!(eng = engine_new(sc, base, journal))) {
            fprintf(stderr, "kubefault: out of memory\n");
            goto out;
        }
        o.hooks = engine_hooks(eng);
    }
    if (!(srv = mockapi_server_new(base, &o, err, sizeof err))) {
        fprintf(stderr, "kubefault: %s\n", err);
        goto out;
    }
    if (eng && engine_start(eng, srv, err, sizeof err) < 0) {
        fprintf(stderr, "kubefault: %s\n", err);
        goto out;
    }
    if (ctl_port >= 0 &&
        !(ctl = control_new(eng, base, NULL, ctl_port, ctl_token, err, sizeof err))) {
        fprintf(stderr, "kubefault: %s\n", err);
        goto out;
    }
    if (!kubeconfig) {
        const char *tmp = getenv("TMPDIR");
        snprintf(default_dir, sizeof default_dir, "%s/kubefault-%ld", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid());
        if (mkdir(default_dir, 0700) < 0 && errno != EEXIST) {
            fprintf(stderr, "kubefault: cannot create %s: %s\n", default_dir, strerror(errno));
            goto out;
        }
        snprintf(default_path, sizeof default_path, "%s/kubeconfig", default_dir);
        kubeconfig = default_path;
        if (!ca_file) {
            snprintf(default_ca, sizeof default_ca, "%s/ca.crt", default_dir);
            ca_file = default_ca;
        }
    }
    if (!ca_file) {
        if ((size_t)snprintf(default_ca, sizeof default_ca, "%s.ca.crt", kubeconfig) >=
            sizeof default_ca) {
            fprintf(stderr, "kubefault: kubeconfig path too long: %s\n", kubeconfig);
            goto out;
        }
        ca_file = default_ca;
    }
    const char *ca_pem = mockapi_server_ca_pem(srv);
    if (ca_pem && file_write_atomic(ca_file, ca_pem, strlen(ca_pem), 0644, err, sizeof err) < 0) {
        fprintf(stderr, "kubefault: %s\n", err);
        goto out;
    }
    struct kubeconfig_opts ko = {mockapi_server_url(srv), mockapi_server_ca_pem(srv),
                                 mockapi_server_token(srv), NULL, NULL};
    if (kubeconfig_write(&ko, kubeconfig, err, sizeof err) < 0) {
        fprintf(stderr, "kubefault: %s\n", err);
        goto out;
    }
    /* the fake GitLab job API beside it (the scenario's "gitlab" section, or --gitlab for an empty
     * queue), and a config.toml beside the kubeconfig for a real gitlab-runner */
    if (eng && (want_gitlab || sc->gitlab.present)) {
        if (!(gl = glrun_start(eng, base, sc, mockapi_server_tls(srv), o.max_connections, err,
                               sizeof err))) {
            fprintf(stderr, "kubefault: the fake GitLab did not start: %s\n", err);
            goto out;
        }
        const char *slash = strrchr(kubeconfig, '/');
        int dirlen = slash ? (int)(slash - kubeconfig) : 1;
        if ((size_t)snprintf(runner_config, sizeof runner_config, "%.*s/config.toml", dirlen,
                             slash ? kubeconfig : ".") >= sizeof runner_config) {
            fprintf(stderr, "kubefault: kubeconfig path too long: %s\n", kubeconfig);
            goto out;
        }
        if (glrun_write_config_for(runner_config, gl, srv, ca_pem ? ca_file : NULL, err,
                                   sizeof err) < 0) {
            fprintf(stderr, "kubefault: %s\n", err);
            goto out;
        }
    }
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    if (!sigint || !sigterm || evsignal_add(sigint, NULL) < 0 || evsignal_add(sigterm, NULL) < 0) {
        fprintf(stderr, "kubefault: cannot install signal handlers\n");
        goto out;
    }
    printf("kubefault %s: fake kube-apiserver v%s listening on %s\n", KF_VERSION,
           o.kube_version ? o.kube_version : "1.32", mockapi_server_url(srv));
    printf("kubeconfig: %s\n", kubeconfig);
    if (sc && scenario_file)
        printf("scenario: %s (%s, %zu rule%s, seed %llu)\n", sc->name, scenario_file, sc->nrules,
               sc->nrules == 1 ? "" : "s", (unsigned long long)o.seed);
    if (ctl)
        printf("control: %s (token %s)\n", control_url(ctl), control_token(ctl));
    printf("try: KUBECONFIG=%s kubectl get pods\n", kubeconfig);
    if (ca_pem)
        printf("gitlab-runner [runners.kubernetes]: host = \"%s\", bearer_token = \"%s\", "
               "ca_file = \"%s\"\n",
               mockapi_server_url(srv), mockapi_server_token(srv), ca_file);
    else
        printf("gitlab-runner [runners.kubernetes]: host = \"%s\"\n", mockapi_server_url(srv));
    if (gl) {
        printf("gitlab: fake job API on %s (runner token %s, %d job%s queued)\n",
               gitlab_server_url(gl), gitlab_server_runner_token(gl),
               cJSON_GetArraySize(sc->gitlab.jobs),
               cJSON_GetArraySize(sc->gitlab.jobs) == 1 ? "" : "s");
        printf("config.toml: %s\n", runner_config);
        printf("run a runner: gitlab-runner run --config %s\n", runner_config);
    }
    fflush(stdout);
    event_base_dispatch(base);
    rc = 0;
out:
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    /* the control API first (its handlers use the engine and the server), then the server: its
     * connections' close callbacks may still reach the engine's hooks */
    control_free(ctl);
    engine_stop(eng);
    gitlab_server_free(gl);
    mockapi_server_free(srv);
    engine_free(eng);
    scenario_free(sc);
    if (journal)
        fclose(journal);
    if (base) {
        /* libevent's own deferred callbacks release connections freed while one was queued (one
         * whose reading had stopped at its high watermark); event_base_free would drop them */
        event_base_loop(base, EVLOOP_NONBLOCK);
        event_base_free(base);
    }
    if (default_dir[0]) {
        unlink(default_path);
        if (runner_config[0]) /* beside the kubeconfig, so in our directory too */
            unlink(runner_config);
        if (default_ca[0] && ca_file == default_ca)
            unlink(default_ca);
        rmdir(default_dir);
    }
    return rc;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    raise_open_files();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("kubefault %s\n", KF_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if (strcmp(argv[1], "faults") == 0)
        return list_faults();
    if (strcmp(argv[1], "check") == 0)
        return check_files(argc - 2, argv + 2, stdout, stderr);
    if (strcmp(argv[1], "job") == 0)
        return job_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "run") == 0)
        return run_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "list") == 0)
        return list_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "tune") == 0)
        return tune_main(argc - 2, argv + 2);
    fprintf(
        stderr,
        "kubefault: unknown command \"%s\" (known: serve, check, faults, run, list, job, tune)\n",
        argv[1]);
    return EXIT_USAGE;
}
