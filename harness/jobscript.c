/* jobscript.c -- the bash the Kubernetes executor sends into the build pod (jobscript.h) */
#include "harness/jobscript.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/jobconfig.h"

#define DETECT_BODY(ARGS)                                                                          \
    "if [ -x /usr/local/bin/bash ]; then\n"                                                        \
    "\texec /usr/local/bin/bash " ARGS "\n"                                                        \
    "elif [ -x /usr/bin/bash ]; then\n"                                                            \
    "\texec /usr/bin/bash " ARGS "\n"                                                              \
    "elif [ -x /bin/bash ]; then\n"                                                                \
    "\texec /bin/bash " ARGS "\n"                                                                  \
    "elif [ -x /usr/local/bin/sh ]; then\n"                                                        \
    "\texec /usr/local/bin/sh " ARGS "\n"                                                          \
    "elif [ -x /usr/bin/sh ]; then\n"                                                              \
    "\texec /usr/bin/sh " ARGS "\n"                                                                \
    "elif [ -x /bin/sh ]; then\n"                                                                  \
    "\texec /bin/sh " ARGS "\n"                                                                    \
    "elif [ -x /busybox/sh ]; then\n"                                                              \
    "\texec /busybox/sh " ARGS "\n"                                                                \
    "else\n"                                                                                       \
    "\techo shell not found\n"                                                                     \
    "\texit 1\n"                                                                                   \
    "fi\n\n"

const char js_detect_shell_saved[] = DETECT_BODY("$@");
const char js_detect_shell[] = DETECT_BODY("");

/* bashJSONInitializationScript and bashJSONTerminationScript (shells/bash.go) */
static const char json_init[] = "start_json=\"{\\\"script\\\": \\\"$0\\\"}\"\n"
                                "echo \"$start_json\"\n";
static const char json_term[] = "runner_script_trap() {\n"
                                "\texit_code=$?\n"
                                "\tout_json=\"{\\\"command_exit_code\\\": $exit_code, "
                                "\\\"script\\\": \\\"$0\\\"}\"\n"
                                "\n"
                                "\techo \"\"\n"
                                "\techo \"$out_json\"\n"
                                "\texit 0\n"
                                "}\n"
                                "\n"
                                "trap runner_script_trap EXIT\n";

/* ---- a growing string ---- */

struct sb {
    char *p;
    size_t n, cap;
    int oom;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    char *t = malloc((size_t)n + 1);
    if (!t) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(t, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_add(b, t, (size_t)n);
    free(t);
}

static char *sb_take(struct sb *b)
{
    if (b->oom || !b->p) {
        free(b->p);
        return b->oom ? NULL : strdup("");
    }
    return b->p;
}

/* ---- quoting ---- */

char *js_shell_escape(const char *s)
{
    if (!*s)
        return strdup("''");
    struct sb t = {0};
    int esc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        const char *e = NULL;
        switch (c) {
        case '\a':
            e = "\\a";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\t':
            e = "\\t";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\v':
            e = "\\v";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\'':
            e = "\\'";
            break;
        case '\\':
            e = "\\\\";
            break;
        default:
            break;
        }
        if (e) {
            sb_puts(&t, e);
            esc = 1;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   strchr(",-./@_", c)) {
            sb_add(&t, (const char *)&c, 1);
        } else if (strchr(" !\"#$%&()*+:;<=>?[]^`{|}~", c)) {
            sb_add(&t, (const char *)&c, 1);
            esc = 1;
        } else {
            sb_printf(&t, "\\x%02x", c);
            esc = 1;
        }
    }
    if (t.oom) {
        free(t.p);
        return NULL;
    }
    if (!esc)
        return t.p;
    struct sb o = {0};
    sb_puts(&o, "$'");
    sb_add(&o, t.p, t.n);
    sb_puts(&o, "'");
    free(t.p);
    return sb_take(&o);
}

char *js_go_quote(char *buf, size_t len, const char *s)
{
    size_t o = 0;
#define PUT(str)                                                                                   \
    do {                                                                                           \
        size_t l_ = strlen(str);                                                                   \
        if (o + l_ + 2 > len)                                                                      \
            goto done;                                                                             \
        memcpy(buf + o, str, l_);                                                                  \
        o += l_;                                                                                   \
    } while (0)
    if (len < 3) {
        if (len)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char t[8];
        switch (*p) {
        case '"':
            PUT("\\\"");
            break;
        case '\\':
            PUT("\\\\");
            break;
        case '\a':
            PUT("\\a");
            break;
        case '\b':
            PUT("\\b");
            break;
        case '\f':
            PUT("\\f");
            break;
        case '\n':
            PUT("\\n");
            break;
        case '\r':
            PUT("\\r");
            break;
        case '\t':
            PUT("\\t");
            break;
        case '\v':
            PUT("\\v");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(t, sizeof t, "\\x%02x", *p);
            } else {
                t[0] = (char)*p;
                t[1] = '\0';
            }
            PUT(t);
        }
    }
done:
    buf[o++] = '"';
    buf[o] = '\0';
#undef PUT
    return buf;
}

/* ---- paths and stages ---- */

void js_paths_init(struct js_paths *p, const struct jobconfig *c)
{
    snprintf(p->scripts_dir, sizeof p->scripts_dir, "/scripts-%lld-%lld", (long long)c->project_id,
             (long long)c->job_id);
    snprintf(p->logs_dir, sizeof p->logs_dir, "/logs-%lld-%lld", (long long)c->project_id,
             (long long)c->job_id);
    snprintf(p->log_file, sizeof p->log_file, "%s/output.log", p->logs_dir);
    snprintf(p->build_dir, sizeof p->build_dir, "/builds/%s", c->project_path);
}

int js_stage_in_helper(const char *stage)
{
    return strcmp(stage, "step_script") != 0 && strcmp(stage, "after_script") != 0 &&
           strncmp(stage, "step_", 5) != 0;
}

const char *js_stage_description(const char *stage)
{
    static const char *const d[][2] = {
        {"prepare_script", "Preparing environment"},
        {"get_sources", "Getting source from Git repository"},
        {"restore_cache", "Restoring cache"},
        {"download_artifacts", "Downloading artifacts"},
        {"after_script", "Running after_script"},
        {"archive_cache", "Saving cache for successful job"},
        {"archive_cache_on_failure", "Saving cache for failed job"},
        {"upload_artifacts_on_failure", "Uploading artifacts for failed job"},
        {"upload_artifacts_on_success", "Uploading artifacts for successful job"},
        {"cleanup_file_variables", "Cleaning up project directory and file based variables"},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        if (strcmp(stage, d[i][0]) == 0)
            return d[i][1];
    if (strcmp(stage, "step_script") == 0)
        return "Executing \"step_script\" stage of the job script";
    return "Executing a stage of the job script";
}

/* w.Noticef: echo of ANSI_BOLD_GREEN + text + ANSI_RESET, ShellEscape'd. */
static void notice(struct sb *b, const char *text)
{
    struct sb t = {0};
    sb_puts(&t, JS_ANSI_BOLD_GREEN);
    sb_puts(&t, text);
    sb_puts(&t, JS_ANSI_RESET);
    char *e = t.oom ? NULL : js_shell_escape(t.p);
    free(t.p);
    if (!e) {
        b->oom = 1;
        return;
    }
    sb_puts(b, "echo ");
    sb_puts(b, e);
    sb_puts(b, "\n");
    free(e);
}

/* export KEY=value for the CI variables and the job's own (BashWriter.Variable). */
static void exports(struct sb *b, const struct jobconfig *c, const struct js_paths *p)
{
    char num[32];
    const char *fixed[][2] = {{"CI", "true"},
                              {"GITLAB_CI", "true"},
                              {"CI_JOB_ID", NULL},
                              {"CI_JOB_NAME", c->job_name},
                              {"CI_JOB_STAGE", c->job_stage},
                              {"CI_COMMIT_SHA", c->job_sha},
                              {"CI_COMMIT_REF_NAME", c->job_ref},
                              {"CI_PROJECT_DIR", p->build_dir},
                              {"CI_PROJECT_PATH", c->project_path}};
    snprintf(num, sizeof num, "%lld", (long long)c->job_id);
    fixed[2][1] = num;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        char *v = js_shell_escape(fixed[i][1]);
        if (!v) {
            b->oom = 1;
            return;
        }
        sb_printf(b, "export %s=%s\n", fixed[i][0], v);
        free(v);
    }
    for (size_t i = 0; i < c->nvariables; i++) {
        char *k = js_shell_escape(c->variables[i].key);
        char *v = js_shell_escape(c->variables[i].value);
        if (k && v)
            sb_printf(b, "export %s=%s\n", k, v);
        else
            b->oom = 1;
        free(k);
        free(v);
    }
}

static void cd_build_dir(struct sb *b, const struct js_paths *p)
{
    char *d = js_shell_escape(p->build_dir);
    if (!d) {
        b->oom = 1;
        return;
    }
    sb_printf(b, "cd %s\n", d);
    free(d);
}

/* writeUserScript: "$ command" notices, then the command. */
static void user_commands(struct sb *b, char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *cmd = lines[i];
        while (*cmd == ' ' || *cmd == '\t' || *cmd == '\n')
            cmd++;
        size_t len = strlen(cmd);
        while (len && (cmd[len - 1] == ' ' || cmd[len - 1] == '\t' || cmd[len - 1] == '\n'))
            len--;
        if (len == 0) {
            sb_puts(b, "echo\n");
            continue;
        }
        const char *nl = memchr(cmd, '\n', len);
        struct sb t = {0};
        sb_puts(&t, "$ ");
        sb_add(&t, cmd, nl ? (size_t)(nl - cmd) : len);
        if (nl)
            sb_puts(&t, " # collapsed multi-line command");
        if (t.oom) {
            b->oom = 1;
            free(t.p);
            return;
        }
        notice(b, t.p);
        free(t.p);
        sb_add(b, cmd, len);
        sb_puts(b, "\n");
    }
}

/* The stage's body: what BashWriter collects before Finish wraps it. */
static int stage_body(struct sb *b, const struct jobconfig *c, const struct js_paths *p,
                      const char *stage)
{
    char line[1024], q[1024];
    if (strcmp(stage, "prepare_script") == 0) {
        /* ensurePrepareStageHostnameMessage: echo strconv.Quote("Running on $(hostname) via H...")
         */
        snprintf(line, sizeof line, "Running on $(hostname) via %s...", c->runner_hostname);
        sb_printf(b, "echo %s\n", js_go_quote(q, sizeof q, line));
        return 0;
    }
    if (strcmp(stage, "get_sources") == 0) {
        exports(b, c, p);
        const char *strategy = jobconfig_variable(c, "GIT_STRATEGY");
        if (strategy && (strcmp(strategy, "none") == 0 || strcmp(strategy, "empty") == 0)) {
            notice(b, "Skipping Git repository setup");
            sb_printf(b, "mkdir -p %s\n", p->build_dir);
            notice(b, "Skipping Git checkout");
            notice(b, "Skipping Git submodules setup");
            return 0;
        }
        notice(b, "Fetching changes with git depth set to 20...");
        sb_printf(b, "mkdir -p %s.tmp/git-template\n", p->build_dir);
        sb_printf(b, "git init %s --template %s.tmp/git-template\n", p->build_dir, p->build_dir);
        cd_build_dir(b, p);
        sb_printf(b, "git fetch origin +%s:refs/pipelines/%lld --depth 20 --prune --quiet\n",
                  c->job_sha, (long long)c->job_id);
        snprintf(line, sizeof line, "Checking out %.8s as detached HEAD (ref is %s)...", c->job_sha,
                 c->job_ref);
        notice(b, line);
        sb_printf(b, "git checkout -f -q %s\n", c->job_sha);
        notice(b, "Skipping Git submodules setup");
        return 0;
    }
    if (strcmp(stage, "restore_cache") == 0) {
        exports(b, c, p);
        cd_build_dir(b, p);
        snprintf(line, sizeof line, "Checking cache for %s-protected...", c->job_ref);
        notice(b, line);
        sb_printf(b,
                  "gitlab-runner-helper cache-extractor --file ../../../cache/%s-protected/"
                  "cache.zip\n",
                  c->job_ref);
        notice(b, "Successfully extracted cache");
        return 0;
    }
    if (strcmp(stage, "download_artifacts") == 0) {
        exports(b, c, p);
        cd_build_dir(b, p);
        snprintf(line, sizeof line, "Downloading artifacts for %s (%lld)...", c->job_name,
                 (long long)c->job_id);
        notice(b, line);
        sb_puts(b, "gitlab-runner-helper artifacts-downloader\n");
        return 0;
    }
    if (strcmp(stage, "step_script") == 0) {
        exports(b, c, p);
        cd_build_dir(b, p);
        user_commands(b, c->before_script, c->nbefore_script);
        user_commands(b, c->script, c->nscript);
        return 0;
    }
    if (strcmp(stage, "after_script") == 0) {
        exports(b, c, p);
        cd_build_dir(b, p);
        notice(b, "Running after script...");
        user_commands(b, c->after_script, c->nafter_script);
        return 0;
    }
    if (strcmp(stage, "archive_cache") == 0 || strcmp(stage, "archive_cache_on_failure") == 0) {
        exports(b, c, p);
        cd_build_dir(b, p);
        snprintf(line, sizeof line, "Creating cache %s-protected...", c->job_ref);
        notice(b, line);
        sb_puts(b, "gitlab-runner-helper cache-archiver\n");
        notice(b, "Created cache");
        return 0;
    }
    if (strcmp(stage, "upload_artifacts_on_success") == 0 ||
        strcmp(stage, "upload_artifacts_on_failure") == 0) {
        exports(b, c, p);
        cd_build_dir(b, p);
        notice(b, "Uploading artifacts...");
        sb_puts(b, "gitlab-runner-helper artifacts-uploader\n");
        return 0;
    }
    if (strcmp(stage, "cleanup_file_variables") == 0) {
        char *d = js_shell_escape(p->build_dir);
        if (!d)
            return -1;
        sb_printf(b, "rm -r -f %s.tmp\n", d);
        free(d);
        return 0;
    }
    return -1;
}

char *js_stage_script(const struct jobconfig *c, const struct js_paths *p, const char *stage,
                      int json_markers)
{
    struct sb body = {0};
    if (stage_body(&body, c, p, stage) < 0 || body.oom) {
        free(body.p);
        return NULL;
    }
    char *esc = js_shell_escape(body.p ? body.p : "");
    free(body.p);
    if (!esc)
        return NULL;
    struct sb o = {0};
    sb_puts(&o, "#!/usr/bin/env bash\n\n");
    sb_puts(&o, "trap exit 1 TERM\n\n");
    if (json_markers) {
        sb_puts(&o, json_init);
        sb_puts(&o, json_term);
    }
    sb_puts(&o,
            "if set -o | grep pipefail > /dev/null; then set -o pipefail; fi; set -o errexit\n");
    sb_puts(&o, "set +o noclobber\n");
    sb_puts(&o, ": | eval ");
    sb_puts(&o, esc);
    sb_puts(&o, "\nexit 0\n");
    free(esc);
    return sb_take(&o);
}

char *js_save_script(const char *path, const char *content)
{
    char *esc = js_shell_escape(content);
    if (!esc)
        return NULL;
    struct sb o = {0};
    sb_printf(&o, "touch %s.tmp\nchmod 777 %s.tmp\necho %s > %s.tmp\nmv %s.tmp %s\n", path, path,
              esc, path, path, path);
    free(esc);
    return sb_take(&o);
}

char *js_attach_line(const struct js_paths *p, const char *stage, int helper)
{
    struct sb o = {0};
    if (helper)
        sb_printf(&o, "gitlab-runner-build <<< %s/%s 2>&1 | tee -a %s\n", p->scripts_dir, stage,
                  p->log_file);
    else
        sb_printf(&o,
                  "sh -c '((%s/detect_shell_script %s/%s; ec=$?; if [ $ec -ne 0 ]; then echo; "
                  "echo \"{\\\"command_exit_code\\\": $ec, \\\"script\\\": \\\"%s/%s\\\"}\"; fi) "
                  "2>&1 | tee -a %s) &'\n",
                  p->scripts_dir, p->scripts_dir, stage, p->scripts_dir, stage, p->log_file);
    return sb_take(&o);
}

char *js_cancel_script(const char *stage)
{
    struct sb o = {0};
    sb_printf(&o,
              "kill -TERM $(for item in $(for prc in /proc/[0-9]*/cmdline; do (printf \"$prc \"; "
              "cat -A \"$prc\") | sed 's/\\^@/ /g;s|/proc/||;s|/cmdline||'; echo; done | grep -e "
              "'%s $' | awk '{print $1}'); do test -f /proc/${item}/task/${item}/children && cat "
              "/proc/${item}/task/${item}/children && echo; done) 2> /dev/null",
              stage);
    return sb_take(&o);
}

char *js_init_permissions_command(const struct js_paths *p, int attach, int dumb_init)
{
    struct sb o = {0};
    if (attach)
        sb_printf(&o, "touch %s && (chmod 777 %s || exit 0)", p->log_file, p->log_file);
    if (dumb_init)
        sb_printf(&o, "%scp /usr/bin/dumb-init %s", attach ? ";\n" : "", p->scripts_dir);
    return sb_take(&o);
}
