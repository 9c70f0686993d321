/* test_it_runner.c -- GitLab Runner's attach strategy played over real sockets as the Kubernetes
 * executor drives it (shared/docs/reference/runner-k8s-executor.md §2.2-2.5, §4): the
 * detect-shell execs that save scripts, the attach that starts each stage, the long-lived
 * read-logs exec with its "<offset> <line>" records and JSON status markers, a reconnect with
 * --offset, cancellation, legacy exec mode, a missing or deleted output log, and streams ended by
 * the container's death. Every byte the runner parses is checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"
#include "mockapi/kube/cluster.h"
#include "mockapi/kube/containers.h"
#include "rcclient.h"

#define PODS "/api/v1/namespaces/default/pods"
#define SCRIPTS "/scripts-7-42"
#define LOGS "/logs-7-42"
#define OUTPUT_LOG LOGS "/output.log"
#define WAIT 5000

/* ---- hooks: what stages do in these tests ---- */

static enum { STAGE_DEFAULT, STAGE_HANG, STAGE_FAIL } stage_mode;

static enum hook_verdict on_stage(void *arg, struct hook_stage *st)
{
    (void)arg;
    if (stage_mode == STAGE_DEFAULT || strcmp(st->stage, "step_script") != 0)
        return HOOK_PASS;
    struct rcs_step w = {
        .kind = RCS_STEP_WRITE, .stream = RCS_STDOUT, .data = (char *)"working\n", .len = 8};
    struct rcs_step end = {.kind = stage_mode == STAGE_HANG ? RCS_STEP_HANG : RCS_STEP_EXIT,
                           .exit_code = 2};
    if (rcs_script_add(st->plan, &w) < 0 || rcs_script_add(st->plan, &end) < 0)
        return HOOK_PASS;
    return HOOK_HANDLED;
}

static const struct mockapi_hooks hooks = {.on_stage = on_stage};

/* The runner's pod: build and helper, init-permissions touching the output log. */
static struct itest *start_job_pod(void **state)
{
    stage_mode = STAGE_DEFAULT;
    struct itest_opts o = {.hooks = &hooks};
    struct itest *t = itest_start(state, &o);
    static const char body[] =
        "{\"metadata\":{\"name\":\"runner-abc-project-7-concurrent-0\"},\"spec\":{"
        "\"initContainers\":[{\"name\":\"init-permissions\",\"image\":\"helper\",\"command\":"
        "[\"sh\",\"-c\",\"touch " OUTPUT_LOG " && (chmod 777 " OUTPUT_LOG " || exit 0)\"]}],"
        "\"containers\":[{\"name\":\"build\",\"image\":\"alpine\",\"stdin\":true},"
        "{\"name\":\"helper\",\"image\":\"registry.gitlab.com/gitlab-org/gitlab-runner/"
        "gitlab-runner-helper:x86_64-v17.0.0\",\"stdin\":true}],\"restartPolicy\":\"Never\"}}";
    long code;
    cJSON *p = itest_json(t, "POST", PODS, body, &code);
    assert_int_equal(code, 201);
    cJSON_Delete(p);
    p = itest_wait_field(t, PODS "/runner-abc-project-7-concurrent-0", "status.phase", "Running",
                         WAIT);
    assert_non_null(p);
    cJSON_Delete(p);
    return t;
}

#define POD "runner-abc-project-7-concurrent-0"

static struct rcc *open_exec(struct itest *t, enum rcc_transport tr, const char *container,
                             const char *const *argv, int in, int out)
{
    struct rcc_opts o = {.transport = tr, .stdin_ = in, .stdout_ = out, .stderr_ = out};
    char path[8192], err[RCC_ERR_MAX];
    o.path_and_query = rcc_path(path, sizeof path, "default", POD, container, argv, &o);
    assert_non_null(o.path_and_query);
    struct rcc *c = rcc_open(itest_port(t), &o, WAIT, err, sizeof err, NULL, NULL, 0);
    if (!c)
        fail_msg("open %s: %s", argv ? argv[0] : "attach", err);
    return c;
}

/* A detect-shell exec with script on stdin (save script, cancellation, legacy stage): returns the
 * session once it ended. */
static struct rcc *run_shell(struct itest *t, enum rcc_transport tr, const char *container,
                             const char *script)
{
    const char *argv[] = {"sh", "-c", itest_bash_detect, NULL};
    struct rcc *c = open_exec(t, tr, container, argv, 1, 1);
    assert_int_equal(rcc_write_stdin(c, script, strlen(script)), 0);
    assert_int_equal(rcc_close_stdin(c), 0);
    if (rcc_wait_end(c, WAIT) < 0)
        fail_msg("shell exec did not end: %s", rcc_error(c));
    return c;
}

/* GenerateSaveScript for path (bash shell): touch, chmod, echo $'...' > path. The content here
 * needs no escapes beyond \n and \' . */
static void save_script(struct itest *t, enum rcc_transport tr, const char *container,
                        const char *path, const char *quoted)
{
    char s[4096];
    snprintf(s, sizeof s, "touch %s\nchmod 777 %s\necho %s > %s\n", path, path, quoted, path);
    struct rcc *c = run_shell(t, tr, container, s);
    assert_int_equal(rcc_exit_code(c), 0);
    assert_string_equal(rcc_status(c), "{\"metadata\":{},\"status\":\"Success\"}");
    assert_string_equal(rcc_stdout(c, NULL), "");
    rcc_free(c);
}

static struct rcc *open_read_logs(struct itest *t, enum rcc_transport tr, long offset)
{
    char off[32];
    snprintf(off, sizeof off, "%ld", offset);
    const char *argv[] = {
        "gitlab-runner-helper", "read-logs", "--path", OUTPUT_LOG, "--offset", off,
        "--wait-file-timeout",  "1m0s",      NULL};
    return open_exec(t, tr, "helper", argv, 0, 1);
}

/* The attach that starts a stage: one line on stdin, then stdin closes; it ends at once. */
static void attach_stage(struct itest *t, enum rcc_transport tr, const char *container,
                         const char *stage)
{
    char line[2048];
    if (strcmp(container, "build") == 0)
        snprintf(line, sizeof line,
                 "sh -c '((" SCRIPTS "/detect_shell_script " SCRIPTS
                 "/%s; ec=$?; if [ $ec -ne 0 ]; then echo; echo \"{\\\"command_exit_code\\\": "
                 "$ec, \\\"script\\\": \\\"" SCRIPTS "/%s\\\"}\"; fi) 2>&1 | tee -a " OUTPUT_LOG
                 ") &'\n",
                 stage, stage);
    else
        snprintf(line, sizeof line,
                 "gitlab-runner-build <<< " SCRIPTS "/%s 2>&1 | tee -a " OUTPUT_LOG "\n", stage);
    struct rcc *c = open_exec(t, tr, container, NULL, 1, 0);
    assert_int_equal(rcc_write_stdin(c, line, strlen(line)), 0);
    assert_int_equal(rcc_close_stdin(c), 0);
    if (rcc_wait_end(c, WAIT) < 0)
        fail_msg("attach did not end: %s", rcc_error(c));
    assert_int_equal(rcc_exit_code(c), 0);
    rcc_free(c);
}

/* What read-logs must print for the file bytes from..to: "<end offset> <line>\n" per line. */
static void records(const char *file, size_t from, size_t to, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = from; i < to;) {
        const char *nl = memchr(file + i, '\n', to - i);
        assert_non_null(nl);
        size_t end = (size_t)(nl - file) + 1;
        n += (size_t)snprintf(out + n, len - n, "%zu %.*s", end, (int)(end - i), file + i);
        i = end;
    }
}

struct file_get {
    const char *path;
    char *data;
    size_t len;
    int rc;
};

static void get_file(void *arg, struct mockapi_server *s)
{
    struct file_get *g = arg;
    g->rc = ctr_file_read(mockapi_server_containers(s), "default", POD, g->path, &g->data, &g->len);
}

static char *read_file(struct itest *t, const char *path)
{
    struct file_get g = {path, NULL, 0, -1};
    itest_run(t, get_file, &g);
    if (g.rc < 0)
        fail_msg("no file %s in the pod", path);
    return g.data;
}

static const char stage_script[] =
    "$'#!/usr/bin/env bash\\n\\ntrap exit 1 TERM\\n\\nset -o errexit\\n: | eval $\\'echo "
    "\"$ make test\"\\\\nmake test\\\\necho \"done\"\\\\n\\'\\nexit 0\\n'";

static void play_job(void **state, enum rcc_transport tr)
{
    struct itest *t = start_job_pod(state);
    save_script(t, tr, "build", SCRIPTS "/detect_shell_script",
                "$'if [ -x /usr/local/bin/bash ]; then\\n\\texec /usr/local/bin/bash \\nfi\\n'");
    char *saved = read_file(t, SCRIPTS "/detect_shell_script");
    assert_string_equal(saved, "if [ -x /usr/local/bin/bash ]; then\n\texec /usr/local/bin/bash "
                               "\nfi\n\n");
    free(saved);
    struct rcc *rl = open_read_logs(t, tr, 0);

    static const char *const stages[][2] = {
        {"helper", "prepare_script"}, {"helper", "get_sources"}, {"build", "step_script"}};
    size_t done = 0; /* bytes of the output log read-logs has shown */
    for (size_t i = 0; i < 3; i++) {
        char path[256];
        snprintf(path, sizeof path, SCRIPTS "/%s", stages[i][1]);
        save_script(t, tr, stages[i][0], path, stage_script);
        if (i == 2) { /* a reconnect, as after a stream error: --offset the last offset */
            rcc_free(rl);
            rl = open_read_logs(t, tr, (long)done);
        }
        attach_stage(t, tr, stages[i][0], stages[i][1]);
        char marker[512];
        snprintf(marker, sizeof marker,
                 "{\"command_exit_code\": 0, \"script\": \"" SCRIPTS "/%s\"}\n", stages[i][1]);
        if (rcc_wait_output(rl, marker, WAIT) < 0)
            fail_msg("read-logs never showed %s (got: %s)", marker, rcc_stdout(rl, NULL));
        char *file = read_file(t, OUTPUT_LOG);
        char want_file[1024];
        snprintf(want_file, sizeof want_file,
                 "{\"script\": \"" SCRIPTS "/%s\"}\n$ make test\ndone\n\n%s", stages[i][1], marker);
        size_t flen = strlen(file);
        assert_true(flen >= done + strlen(want_file));
        assert_string_equal(file + done, want_file);
        char want[4096];
        records(file, done, flen, want, sizeof want);
        /* the stream since the last reconnect: everything from the offset it was opened at */
        const char *got = rcc_stdout(rl, NULL);
        const char *tail = got + strlen(got) - strlen(want);
        assert_true(strlen(got) >= strlen(want));
        assert_string_equal(tail, want);
        if (i == 2) /* the new stream repeated nothing before its offset */
            assert_string_equal(got, want);
        done = flen;
        free(file);
    }
    assert_int_equal(rcc_stray(rl), 0);
    assert_null(rcc_status(rl)); /* read-logs never ends by itself */
    rcc_free(rl);
}

static void test_job_spdy(void **state)
{
    play_job(state, RCC_SPDY);
}

static void test_job_websocket(void **state)
{
    play_job(state, RCC_WS);
}

/* A stage that hangs (seed failure 13) shows its output and no marker; the runner's cancellation
 * script ends it as its TERM trap would: exit code 1. */
static void test_hang_and_cancel(void **state)
{
    struct itest *t = start_job_pod(state);
    stage_mode = STAGE_HANG;
    save_script(t, RCC_SPDY, "build", SCRIPTS "/step_script", stage_script);
    struct rcc *rl = open_read_logs(t, RCC_SPDY, 0);
    attach_stage(t, RCC_SPDY, "build", "step_script");
    if (rcc_wait_output(rl, " working\n", WAIT) < 0)
        fail_msg("no stage output: %s", rcc_stdout(rl, NULL));
    rcc_pump(rl, 300);
    assert_null(strstr(rcc_stdout(rl, NULL), "command_exit_code"));
    /* kubernetes.go's stageCancellationScript for step_script */
    static const char cancel[] =
        "kill -TERM $(for item in $(for prc in /proc/[0-9]*/cmdline; do (printf \"$prc \"; cat "
        "-A \"$prc\") | sed 's/\\^@/ /g;s|/proc/||;s|/cmdline||'; echo; done | grep -e "
        "'step_script $' | awk '{print $1}'); do test -f /proc/${item}/task/${item}/children && "
        "cat /proc/${item}/task/${item}/children && echo; done) 2> /dev/null";
    struct rcc *k = run_shell(t, RCC_SPDY, "build", cancel);
    assert_int_equal(rcc_exit_code(k), 0);
    rcc_free(k);
    assert_int_equal(
        rcc_wait_output(rl, "{\"command_exit_code\": 1, \"script\": \"" SCRIPTS "/step_script\"}",
                        WAIT),
        0);
    rcc_free(rl);
}

/* Legacy exec mode: the stage script on stdin, its output on the exec's stdout, its exit code in
 * the Status (`command terminated with exit code 2` client-side). */
static void test_legacy_stage(void **state)
{
    struct itest *t = start_job_pod(state);
    static const char script[] = "#!/usr/bin/env bash\n\ntrap exit 1 TERM\n\nset -o errexit\n"
                                 ": | eval $'echo \"$ make test\"\\nmake test\\n'\nexit 0\n";
    struct rcc *c = run_shell(t, RCC_SPDY, "build", script);
    assert_int_equal(rcc_exit_code(c), 0);
    assert_string_equal(rcc_stdout(c, NULL), "$ make test\n");
    rcc_free(c);
    stage_mode = STAGE_FAIL;
    c = run_shell(t, RCC_SPDY, "build", script);
    assert_int_equal(rcc_exit_code(c), 2);
    assert_string_equal(rcc_stdout(c, NULL), "working\n");
    assert_non_null(strstr(rcc_status(c), "\"reason\":\"NonZeroExitCode\""));
    rcc_free(c);
}

/* A save script that leaves an empty file (a bare touch): the file exists and is empty (found by
 * fuzz_http: writing no bytes to a new file did pointer arithmetic on its NULL data). */
static void test_save_empty_file(void **state)
{
    struct itest *t = start_job_pod(state);
    struct rcc *c = run_shell(t, RCC_SPDY, "build", "touch " SCRIPTS "/empty\n");
    assert_int_equal(rcc_exit_code(c), 0);
    rcc_free(c);
    char *saved = read_file(t, SCRIPTS "/empty");
    assert_string_equal(saved, "");
    free(saved);
}

/* read-logs of a file that never appears: the helper's own error line and exit 1. */
static void test_read_logs_no_file(void **state)
{
    struct itest *t = start_job_pod(state);
    const char *argv[] = {"gitlab-runner-helper", "read-logs", "--path",
                          "/logs-x/nope.log",     "--offset",  "0",
                          "--wait-file-timeout",  "1s",        NULL};
    struct rcc *c = open_exec(t, RCC_SPDY, "helper", argv, 0, 1);
    assert_int_equal(rcc_wait_end(c, WAIT), 0);
    assert_string_equal(rcc_stdout(c, NULL),
                        "error reading logs timeout waiting for file to be created\n");
    assert_int_equal(rcc_exit_code(c), 1);
    rcc_free(c);
}

static void delete_log(void *arg, struct mockapi_server *s)
{
    *(int *)arg = ctr_file_delete(mockapi_server_containers(s), "default", POD, OUTPUT_LOG);
}

/* The output log deleted under read-logs: exit code 100 ("file missing" to the runner). */
static void test_output_log_deleted(void **state)
{
    struct itest *t = start_job_pod(state);
    struct rcc *rl = open_read_logs(t, RCC_SPDY, 0);
    rcc_pump(rl, 100);
    int rc = -1;
    itest_run(t, delete_log, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(rcc_wait_end(rl, WAIT), 0);
    assert_int_equal(rcc_exit_code(rl), 100);
    rcc_free(rl);
}

static void terminate(void *arg, struct mockapi_server *s)
{
    *(int *)arg = cluster_pod_terminate(mockapi_server_cluster(s), "default", POD, 137, NULL);
}

/* The container dies: an exec'd process dies with it (137), an attach ends with Success. */
static void test_container_death_ends_streams(void **state)
{
    struct itest *t = start_job_pod(state);
    const char *argv[] = {"sleep", "60", NULL};
    struct rcc *ex = open_exec(t, RCC_SPDY, "build", argv, 0, 1);
    struct rcc *at = open_exec(t, RCC_WS, "build", NULL, 1, 1);
    rcc_pump(ex, 100);
    int rc = -1;
    itest_run(t, terminate, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(rcc_wait_end(ex, WAIT), 0);
    assert_int_equal(rcc_exit_code(ex), 137);
    assert_int_equal(rcc_wait_end(at, WAIT), 0);
    assert_int_equal(rcc_exit_code(at), 0);
    rcc_free(ex);
    rcc_free(at);
}

int main(void)
{
    itest_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_job_spdy, itest_teardown),
        cmocka_unit_test_teardown(test_job_websocket, itest_teardown),
        cmocka_unit_test_teardown(test_hang_and_cancel, itest_teardown),
        cmocka_unit_test_teardown(test_legacy_stage, itest_teardown),
        cmocka_unit_test_teardown(test_save_empty_file, itest_teardown),
        cmocka_unit_test_teardown(test_read_logs_no_file, itest_teardown),
        cmocka_unit_test_teardown(test_output_log_deleted, itest_teardown),
        cmocka_unit_test_teardown(test_container_death_ends_streams, itest_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
