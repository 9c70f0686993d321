/* test_jobscript.c -- tests harness/jobscript.c: the bash the reference job client sends, checked
 * against the runner's shapes (runner-k8s-executor.md §2.3, §4.1) and read back through the fake's
 * own interpreter of the runner protocol (mockapi/stream/runnerproto.h), which was written and
 * tested independently against bash: a save script leaves exactly the content behind, the stage
 * scripts render the lines the runner's would, attach lines name their stage, the cancellation
 * script is recognised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/jobconfig.h"
#include "harness/jobscript.h"
#include "mockapi/stream/runnerproto.h"

static void config(struct jobconfig *c, const char *text)
{
    struct diag d;
    diag_init(&d, "t.json");
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    if (jobconfig_from_json(doc, c, &d) < 0)
        fail_msg("config: %s", d.n ? d.msgs[0] : "?");
    cJSON_Delete(doc);
    diag_release(&d);
}

static void test_shell_escape(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"", "''"},
        {"abc/DEF-1.2_x,@", "abc/DEF-1.2_x,@"},
        {"a b", "$'a b'"},
        {"it's", "$'it\\'s'"},
        {"x\ny\tz\\", "$'x\\ny\\tz\\\\'"},
        {"\033[32;1m$ ls\033[0;m", "$'\\x1b[32;1m$ ls\\x1b[0;m'"},
        {"caf\xc3\xa9", "$'caf\\xc3\\xa9'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = js_shell_escape(cases[i][0]);
        assert_string_equal(e, cases[i][1]);
        /* and bash (as runnerproto reads it) gets the original back */
        size_t end, n;
        char *back;
        assert_int_equal(rp_unquote_word(e, strlen(e), 0, &end, &back, &n), 0);
        assert_int_equal(end, strlen(e));
        assert_int_equal(n, strlen(cases[i][0]));
        assert_memory_equal(back, cases[i][0], n);
        free(back);
        free(e);
    }
}

static void test_go_quote(void **state)
{
    (void)state;
    char b[128];
    assert_string_equal(js_go_quote(b, sizeof b, "containers with unready status: [build helper]"),
                        "\"containers with unready status: [build helper]\"");
    assert_string_equal(js_go_quote(b, sizeof b, "a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\x01\"");
    assert_string_equal(js_go_quote(b, 6, "abcdefgh"), "\"abc\"");
}

static void test_detect_shell(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", js_detect_shell};
    assert_int_equal(rp_is_detect_shell(argv, 3), RP_SHELL_NORMAL);
    assert_non_null(strstr(js_detect_shell_saved, "exec /bin/bash $@\n"));
    assert_null(strstr(js_detect_shell, "$@"));
}

/* §2.3 step 1: the save script leaves the content at the path, mode 777, via path.tmp. */
static void test_save_script(void **state)
{
    (void)state;
    static const char content[] =
        "#!/usr/bin/env bash\necho 'it''s' \"$HOME\" \\\n\t\x1b[0m done\n";
    char *s = js_save_script("/scripts-7-42/step_script", content);
    assert_string_equal(strstr(s, "mv "), "mv /scripts-7-42/step_script.tmp "
                                          "/scripts-7-42/step_script\n");
    assert_int_equal(strncmp(s,
                             "touch /scripts-7-42/step_script.tmp\nchmod 777 "
                             "/scripts-7-42/step_script.tmp\necho $'",
                             68),
                     0);
    struct rp_files f;
    assert_int_equal(rp_save_script(s, strlen(s), &f), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.unknown, 0);
    assert_int_equal(f.failed, 0);
    const struct rp_file *fl = rp_files_get(&f, "/scripts-7-42/step_script");
    assert_non_null(fl);
    assert_int_equal(fl->mode, 0777);
    assert_int_equal(fl->len, strlen(content) + 1); /* echo's newline */
    assert_memory_equal(fl->data, content, strlen(content));
    rp_files_release(&f);
    free(s);
}

struct lines {
    char buf[4096];
    size_t n;
};

static int on_line(void *arg, const char *line, size_t len)
{
    struct lines *l = arg;
    l->n += (size_t)snprintf(l->buf + l->n, sizeof l->buf - l->n, "%.*s|", (int)len, line);
    return 0;
}

/* What the fake renders of a stage script, lines joined with '|', ANSI kept. */
static void render(const char *script, char *out, size_t len)
{
    struct lines l = {.n = 0};
    l.buf[0] = '\0';
    struct rp_render r = {.unix_time = 1700000000, .hostname = "pod-x"};
    assert_true(rp_script_echo_lines(script, strlen(script), &r, on_line, &l) >= 0);
    snprintf(out, len, "%s", l.buf);
}

/* BashWriter.Finish's shape (shells/bash.go), with and without the JSON markers (§4.1). */
static void test_stage_script_shape(void **state)
{
    (void)state;
    struct jobconfig c;
    config(&c, "{\"job\":{\"id\":42,\"project_id\":7,\"script\":[\"echo hi\",\"make test\"]}}");
    struct js_paths p;
    js_paths_init(&p, &c);
    assert_string_equal(p.scripts_dir, "/scripts-7-42");
    assert_string_equal(p.log_file, "/logs-7-42/output.log");
    char *s = js_stage_script(&c, &p, "step_script", 1);
    assert_non_null(s);
    assert_int_equal(strncmp(s,
                             "#!/usr/bin/env bash\n\ntrap exit 1 TERM\n\n"
                             "start_json=\"{\\\"script\\\": \\\"$0\\\"}\"\necho \"$start_json\"\n"
                             "runner_script_trap() {\n\texit_code=$?\n",
                             104),
                     0);
    assert_non_null(strstr(s, "trap runner_script_trap EXIT\nif set -o | grep pipefail > "
                              "/dev/null; then set -o pipefail; fi; set -o errexit\nset +o "
                              "noclobber\n: | eval $'"));
    assert_int_equal(strcmp(s + strlen(s) - 8, "\nexit 0\n"), 0);
    char out[4096];
    render(s, out, sizeof out);
    assert_string_equal(out, "\033[32;1m$ echo hi\033[0;m|hi|\033[32;1m$ make test\033[0;m|");
    assert_string_equal(rp_legacy_stage(s, strlen(s)), "step_script");
    free(s);
    s = js_stage_script(&c, &p, "step_script", 0);
    assert_null(strstr(s, "start_json"));
    assert_null(strstr(s, "runner_script_trap"));
    free(s);
    assert_null(js_stage_script(&c, &p, "no_such_stage", 1));
    jobconfig_release(&c);
}

/* Every stage renders the runner's notice and, in legacy mode, the fake tells them apart by it
 * (rp_legacy_stage). */
static void test_stage_scripts_recognised(void **state)
{
    (void)state;
    struct jobconfig c;
    config(&c, "{\"runner\":{\"hostname\":\"ci-host\"},\"job\":{\"after_script\":[\"echo bye\"],"
               "\"variables\":{\"GIT_STRATEGY\":\"none\",\"A\":\"x y\"}}}");
    struct js_paths p;
    js_paths_init(&p, &c);
    static const char *const stages[][2] = {
        {"prepare_script", "Running on pod-x via ci-host...|"},
        {"get_sources", "\033[32;1mSkipping Git repository setup\033[0;m|\033[32;1mSkipping Git "
                        "checkout\033[0;m|\033[32;1mSkipping Git submodules setup\033[0;m|"},
        {"restore_cache", "\033[32;1mChecking cache for main-protected...\033[0;m|\033[32;1m"
                          "Successfully extracted cache\033[0;m|"},
        {"download_artifacts", "\033[32;1mDownloading artifacts for job (1)...\033[0;m|"},
        {"after_script", "\033[32;1mRunning after script...\033[0;m|\033[32;1m$ echo "
                         "bye\033[0;m|bye|"},
        {"archive_cache", "\033[32;1mCreating cache main-protected...\033[0;m|\033[32;1mCreated "
                          "cache\033[0;m|"},
        {"upload_artifacts_on_success", "\033[32;1mUploading artifacts...\033[0;m|"},
        {"cleanup_file_variables", ""},
    };
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        char *s = js_stage_script(&c, &p, stages[i][0], 0);
        assert_non_null(s);
        char out[4096];
        render(s, out, sizeof out);
        assert_string_equal(out, stages[i][1]);
        assert_string_equal(rp_legacy_stage(s, strlen(s)), stages[i][0]);
        free(s);
    }
    jobconfig_release(&c);
    /* the default strategy fetches */
    config(&c, "{\"job\":{\"sha\":\"0123456789abcdef0123456789abcdef01234567\"}}");
    js_paths_init(&p, &c);
    char *s = js_stage_script(&c, &p, "get_sources", 0);
    char out[4096];
    render(s, out, sizeof out);
    assert_string_equal(out, "\033[32;1mFetching changes with git depth set to 20...\033[0;m|"
                             "\033[32;1mChecking out 01234567 as detached HEAD (ref is "
                             "main)...\033[0;m|\033[32;1mSkipping Git submodules setup\033[0;m|");
    assert_string_equal(rp_legacy_stage(s, strlen(s)), "get_sources");
    free(s);
    jobconfig_release(&c);
}

/* §2.3 step 3: the attach lines, as the fake parses them. */
static void test_attach_lines(void **state)
{
    (void)state;
    struct jobconfig c;
    config(&c, "{\"job\":{\"id\":42,\"project_id\":7}}");
    struct js_paths p;
    js_paths_init(&p, &c);
    char *l = js_attach_line(&p, "step_script", 0);
    assert_string_equal(l, "sh -c '((/scripts-7-42/detect_shell_script /scripts-7-42/step_script; "
                           "ec=$?; if [ $ec -ne 0 ]; then echo; echo \"{\\\"command_exit_code\\\": "
                           "$ec, \\\"script\\\": \\\"/scripts-7-42/step_script\\\"}\"; fi) 2>&1 | "
                           "tee -a /logs-7-42/output.log) &'\n");
    struct rp_stage_line sl;
    assert_int_equal(rp_parse_stage_line(l, strlen(l), &sl), 0);
    assert_string_equal(sl.stage, "step_script");
    assert_string_equal(sl.log, "/logs-7-42/output.log");
    assert_int_equal(sl.helper, 0);
    free(l);
    l = js_attach_line(&p, "get_sources", 1);
    assert_string_equal(l, "gitlab-runner-build <<< /scripts-7-42/get_sources 2>&1 | tee -a "
                           "/logs-7-42/output.log\n");
    assert_int_equal(rp_parse_stage_line(l, strlen(l), &sl), 0);
    assert_string_equal(sl.stage, "get_sources");
    assert_int_equal(sl.helper, 1);
    free(l);
    jobconfig_release(&c);
}

static void test_cancel_and_init(void **state)
{
    (void)state;
    char *k = js_cancel_script("step_script");
    char stage[64];
    assert_int_equal(rp_is_cancel_script(k, strlen(k), stage, sizeof stage), RP_CANCEL_STAGE);
    assert_string_equal(stage, "step_script");
    free(k);
    struct jobconfig c;
    config(&c, "{\"job\":{\"id\":42,\"project_id\":7}}");
    struct js_paths p;
    js_paths_init(&p, &c);
    char *i = js_init_permissions_command(&p, 1, 0);
    assert_string_equal(i, "touch /logs-7-42/output.log && (chmod 777 /logs-7-42/output.log || "
                           "exit 0)");
    free(i);
    i = js_init_permissions_command(&p, 1, 1);
    assert_string_equal(i, "touch /logs-7-42/output.log && (chmod 777 /logs-7-42/output.log || "
                           "exit 0);\ncp /usr/bin/dumb-init /scripts-7-42");
    free(i);
    i = js_init_permissions_command(&p, 0, 1);
    assert_string_equal(i, "cp /usr/bin/dumb-init /scripts-7-42");
    free(i);
    jobconfig_release(&c);
    assert_true(js_stage_in_helper("get_sources"));
    assert_false(js_stage_in_helper("step_script"));
    assert_false(js_stage_in_helper("after_script"));
    assert_string_equal(js_stage_description("step_script"),
                        "Executing \"step_script\" stage of the job script");
    assert_string_equal(js_stage_description("cleanup_file_variables"),
                        "Cleaning up project directory and file based variables");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_escape),       cmocka_unit_test(test_go_quote),
        cmocka_unit_test(test_detect_shell),       cmocka_unit_test(test_save_script),
        cmocka_unit_test(test_stage_script_shape), cmocka_unit_test(test_stage_scripts_recognised),
        cmocka_unit_test(test_attach_lines),       cmocka_unit_test(test_cancel_and_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
