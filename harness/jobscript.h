/* jobscript.h -- the shell text GitLab Runner's Kubernetes executor (bash shell) sends into the
 * build pod, as the reference job client writes it: ShellEscape, the detect-shell script, stage
 * scripts in BashWriter.Finish's shape, save scripts, stage attach lines, the init-permissions
 * command and the cancellation script (runner-k8s-executor.md §2.3, §4.1; shells/bash.go and
 * mockapi/stream/runnerproto.h for the facts). Pure functions: no I/O. */
#ifndef KF_JOBSCRIPT_H
#define KF_JOBSCRIPT_H

#include <stddef.h>

struct jobconfig;

/** BashDetectShellScript as saved to /scripts-P-J/detect_shell_script (with its "$@"). */
extern const char js_detect_shell_saved[];

/** The same with "$@" replaced by nothing: the command of the build and helper containers and of
 *  every save-script and cancellation exec (["sh", "-c", this]). */
extern const char js_detect_shell[];

/* ANSI sequences the runner's logs use (helpers/ansi.go) */
#define JS_ANSI_BOLD_CYAN "\033[36;1m"
#define JS_ANSI_BOLD_GREEN "\033[32;1m"
#define JS_ANSI_BOLD_RED "\033[31;1m"
#define JS_ANSI_YELLOW "\033[0;33m"
#define JS_ANSI_RESET "\033[0;m"
#define JS_ANSI_CLEAR "\033[0K"

/** The paths of one job: "/scripts-P-J", "/logs-P-J", "/logs-P-J/output.log", "/builds/PATH". */
struct js_paths {
    char scripts_dir[96];
    char logs_dir[96];
    char log_file[128];
    char build_dir[512];
};

/** The job's paths from its project and job ids and project path. */
void js_paths_init(struct js_paths *p, const struct jobconfig *c);

/** ShellEscape (helpers/shell_escape.go): s itself when every byte is in [,-./0-9@A-Z_a-z],
 *  '' for the empty string, else $'...' with \a \b \t \n \v \f \r \' \\ and \xHH for other bytes
 *  outside the printable set. Caller frees; NULL when memory ran out. */
char *js_shell_escape(const char *s);

/** Go's strconv.Quote of s (the %q verb): double quotes, \" \\ \a \b \f \n \r \t \v escaped,
 *  other control bytes as \xHH. Into buf (cut to len). Returns buf. */
char *js_go_quote(char *buf, size_t len, const char *s);

/**
 * The script of one stage (prepare_script, get_sources, restore_cache, download_artifacts,
 * step_script, after_script, archive_cache, archive_cache_on_failure,
 * upload_artifacts_on_success, upload_artifacts_on_failure, cleanup_file_variables) as
 * BashWriter.Finish writes it: "#!/usr/bin/env bash", the TERM trap, in attach mode
 * (json_markers) the JSON start line and the EXIT trap that prints the exit-code marker, pipefail
 * and errexit, then ": | eval $'...'" around the stage's body and "exit 0". The body prints the
 * runner's notices (as `echo $'\e[32;1m...\e[0;m'`) and the user's commands preceded by their
 * "$ command" line. Caller frees; NULL for an unknown stage or no memory.
 */
char *js_stage_script(const struct jobconfig *c, const struct js_paths *p, const char *stage,
                      int json_markers);

/** GenerateSaveScript for path (§2.3): "touch P.tmp", "chmod 777 P.tmp", "echo <escaped
 *  content> > P.tmp", "mv P.tmp P", one a line. Caller frees. */
char *js_save_script(const char *path, const char *content);

/** The line an attach writes to start a stage (§2.3 step 3, newline included): in the build
 *  container sh -c '((DETECT STAGE; ec=$?; ...) 2>&1 | tee -a LOG) &', in the helper container
 *  gitlab-runner-build <<< STAGE 2>&1 | tee -a LOG. Caller frees. */
char *js_attach_line(const struct js_paths *p, const char *stage, int helper);

/** stageCancellationScript for a stage (§2.3 step 5): kill -TERM of the processes running the
 *  stage's script. Caller frees. */
char *js_cancel_script(const char *stage);

/** The init-permissions container's shell command: touch the output log and chmod it 777 (attach
 *  mode), and with dumb_init copy dumb-init into the scripts folder; joined by ";\n". Caller
 *  frees. */
char *js_init_permissions_command(const struct js_paths *p, int attach, int dumb_init);

/** 1 when stage runs in the helper container (getPredefinedEnv): every stage but step_script and
 *  after_script. */
int js_stage_in_helper(const char *stage);

/** The runner's section header for a stage (GetStageDescription): "Preparing environment",
 *  "Executing \"step_script\" stage of the job script", ... Borrowed static text. */
const char *js_stage_description(const char *stage);

#endif
