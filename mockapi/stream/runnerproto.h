/* runnerproto.h -- what GitLab Runner's Kubernetes executor sends into containers, recognised and
 * interpreted: shell words, the detect-shell command, save scripts, stage attach lines, legacy
 * stage scripts, read-logs commands, exit-status markers and read-logs records. Pure functions
 * (no I/O, no event loop, no globals); every input is length-bounded and may be hostile.
 *
 * Sources of the facts (gitlabhq/gitlab-runner): shells/bash.go (BashDetectShellScript,
 * generateSaveScript, bashJSONInitializationScript/TerminationScript, Finish, SectionStart),
 * helpers/shell_escape.go (ShellEscape, PosixShellEscape, ShellEscapeLegacy),
 * executors/kubernetes/kubernetes.go (getContainerInfo, buildRedirectionCmd,
 * stageCancellationScript), executors/kubernetes/exec.go (AttachOptions.Run),
 * executors/kubernetes/log_processor.go, commands/helpers/read_logs.go,
 * shells/trap_command_exit_status.go, shells/abstract.go, common/build.go (stage names). */
#ifndef KF_RUNNERPROTO_H
#define KF_RUNNERPROTO_H

#include <stddef.h>
#include <stdint.h>

#define RP_MAX_INPUT (16u << 20)      /**< bytes of one script, line or file taken */
#define RP_MAX_OUTPUT (16u << 20)     /**< bytes one interpretation may produce */
#define RP_MAX_TOKENS 100000          /**< tokens rp_split() returns */
#define RP_MAX_WORDS 4096             /**< words plus redirections in one simple command */
#define RP_MAX_NEST 64                /**< nesting of $( ) ${ } ` ` and quotes, and of blocks */
#define RP_MAX_HEREDOCS 8             /**< here-documents pending on one line */
#define RP_MAX_FILES 64               /**< files one save script may leave behind */
#define RP_PATH_MAX 1024              /**< bytes of a path in fixed-size results, NUL included */
#define RP_NAME_MAX 256               /**< bytes of a stage name, NUL included */
#define RP_READ_LOGS_BUFFER 16384     /**< read_logs.go's bufio reader size */
#define RP_READ_LOGS_CHUNK (1u << 20) /**< file bytes one rp_read_logs_records() call consumes */
#define RP_JSON_MAX_DEPTH 10000       /**< Go encoding/json's nesting limit */

/* ---- 1. Shell words ------------------------------------------------------------------------ */

/** Token kinds of rp_split(). */
enum rp_tok_type {
    RP_TOK_WORD = 0,    /**< a word, unquoted */
    RP_TOK_OP = 1,      /**< a control or redirection operator */
    RP_TOK_NEWLINE = 2, /**< an unquoted newline (ends a command) */
    RP_TOK_HEREDOC = 3  /**< the body of a here-document, after the newline that ends its line */
};

/** Operators (RP_TOK_OP). */
enum rp_op {
    RP_OP_NONE = 0,
    RP_OP_PIPE,      /**< | */
    RP_OP_OR,        /**< || */
    RP_OP_PIPEAND,   /**< |& */
    RP_OP_BG,        /**< & */
    RP_OP_AND,       /**< && */
    RP_OP_SEMI,      /**< ; */
    RP_OP_DSEMI,     /**< ;; */
    RP_OP_LPAREN,    /**< ( */
    RP_OP_RPAREN,    /**< ) */
    RP_OP_GREAT,     /**< > */
    RP_OP_DGREAT,    /**< >> */
    RP_OP_CLOBBER,   /**< >| */
    RP_OP_LESS,      /**< < */
    RP_OP_DLESS,     /**< << (the next word is the here-document's delimiter) */
    RP_OP_DLESSDASH, /**< <<- */
    RP_OP_TLESS,     /**< <<< (here-string) */
    RP_OP_GREATAND,  /**< >& ("2>&1" is one token: fd 2, dup 1) */
    RP_OP_LESSAND,   /**< <& */
    RP_OP_LESSGREAT, /**< <> */
    RP_OP_ANDGREAT,  /**< &> */
    RP_OP_ANDDGREAT  /**< &>> */
};

/** One token. */
struct rp_token {
    enum rp_tok_type type;
    enum rp_op op; /**< RP_TOK_OP only */
    int fd;        /**< a redirection's IO number (2 in "2>&1"), else -1 */
    int dup;       /**< >&N / <&N written in one token: N, -2 for "-", else -1 */
    int quoted;    /**< RP_TOK_WORD: 1 when any part was quoted or backslash-escaped */
    char *text;    /**< WORD: the unquoted bytes; OP and NEWLINE: the source text; HEREDOC: the
                        body. NUL-terminated, may contain NUL bytes (see len). Owned by the
                        token list. */
    size_t len;    /**< bytes in text */
    size_t start;  /**< span of the token in the input (for HEREDOC: the body lines) */
    size_t end;
};

/** A token list from rp_split(). Release with rp_tokens_release(). */
struct rp_tokens {
    struct rp_token *v;
    size_t n;
};

/**
 * Unquote the shell word that starts at s[pos] (len bytes in all, borrowed), as bash would read
 * it, without expansions: bare characters; '...'; "..." where \ escapes only $ ` " \ and newline
 * (removed); $'...' ANSI-C quoting with \a \b \e \E \f \n \r \t \v \\ \' \" \? \NNN (1-3 octal
 * digits) \xHH (1-2 hex digits; "\x" alone stays "\x") \uHHHH \UHHHHHHHH (UTF-8) \cX (control
 * X), other escapes kept with their backslash; $"..." as "..."; a bare backslash quotes the next
 * byte and backslash-newline vanishes. Concatenated parts make one word. $(...), `...`, ${...}
 * and $NAME are kept as written (their quotes are honoured to find where they end).
 * The word ends at an unquoted blank, newline or one of | & ; ( ) < >.
 * Unlike bash, \x00 (or \0) in $'...' gives a NUL byte rather than ending the string, so bytes
 * survive a ShellEscape round trip. NUL bytes in the input are ordinary characters.
 * On success *out is the word (NUL-terminated, *out_len bytes, may hold NULs; caller frees with
 * free()) and *end the index after it; returns 0. Returns -1 (and leaves *out NULL) when pos is
 * not at a word, a quote or $( ${ ` is unterminated, nesting passes RP_MAX_NEST, len exceeds
 * RP_MAX_INPUT, or memory runs out.
 */
int rp_unquote_word(const char *s, size_t len, size_t pos, size_t *end, char **out,
                    size_t *out_len);

/**
 * Split the command text s (len bytes, borrowed) into tokens: words (unquoted as by
 * rp_unquote_word()), operators (| || |& & && ; ;; ( ) > >> >| < << <<- <<< >& <& <> &> &>>,
 * an IO number joined to its operator: "2>", "2>&1", ">&2"), newlines, and here-document bodies
 * (after the newline that ends the line that opened them; "<<-" strips leading tabs; a body
 * missing its delimiter runs to the end). Blanks and backslash-newlines separate; a '#' that
 * starts a word starts a comment. Returns 0 with *out filled (release with rp_tokens_release()),
 * or -1 with *out empty on an unterminated quote, a redirection missing its word, more than
 * RP_MAX_TOKENS tokens or RP_MAX_HEREDOCS pending here-documents, len over RP_MAX_INPUT, or
 * memory running out.
 */
int rp_split(const char *s, size_t len, struct rp_tokens *out);

/** Free the tokens' text and array; t is left empty. NULL is a no-op. */
void rp_tokens_release(struct rp_tokens *t);

/* ---- 2. The detect-shell command ----------------------------------------------------------- */

#define RP_SHELL_NORMAL 1 /**< BashDetectShellScript with $@ replaced by nothing */
#define RP_SHELL_LOGIN 2  /**< the same with $@ replaced by -l (login shell) */

/**
 * Whether argv (argc C strings, borrowed) is ["sh", "-c", S] with S the runner's
 * BashDetectShellScript: "if [ -x /usr/local/bin/bash ]; then\n\texec /usr/local/bin/bash ..."
 * through "echo shell not found" to the closing "fi", optionally prefixed by ">'PROBE'; " (the
 * startup-probe form of GetEntrypointCommand). This is the command of the build and helper
 * containers and of every save-script, legacy-stage and cancellation exec. Returns
 * RP_SHELL_NORMAL, RP_SHELL_LOGIN, or 0 when it is not.
 */
int rp_is_detect_shell(const char *const *argv, size_t argc);

/* ---- 3. Save scripts and cancellation ------------------------------------------------------- */

/** A file a save script leaves behind. */
struct rp_file {
    char *path; /**< as written in the script (unquoted), NUL-terminated */
    char *data; /**< contents, NUL-terminated for convenience; len bytes, may hold NULs */
    size_t len;
    unsigned mode; /**< permission bits: 0644 when created, then what chmod set */
};

/** What rp_save_script() found. Release with rp_files_release(). */
struct rp_files {
    struct rp_file *v; /**< in order of creation */
    size_t n;
    size_t commands; /**< simple commands seen (assignments and blank lines excluded) */
    size_t unknown;  /**< commands not understood, skipped */
    size_t failed;   /**< commands understood that failed (mv of a missing file, bad mode) */
};

/**
 * Interpret the stdin of a save-script exec (text, len bytes, borrowed) the way bash would leave
 * the file system, for the commands the runner writes (GenerateSaveScript: "touch P", "chmod 777
 * P", "echo WORD > P"; the forms with a temporary and "mv"): touch, chmod (octal or [ugoa][+-=]
 * [rwxX]), echo [-neE] (a trailing "\n" unless -n; with -e bash's echo escapes: \0NNN is the only
 * octal form, \c stops), printf FORMAT ARGS as bash 5's builtin (the format's escapes as $'...'
 * but "\c" kept; %b with \0NNN and \NNN, \c stops; %s %b %c %d %i %u %o %x %X %f %e %g %E %G %%
 * with flags, width, precision, * arguments, 'c character values, saturating integers, long
 * double floats, the format reused while it consumes arguments; a field wider than
 * RP_MAX_OUTPUT fails), cat with a here-document or of known files, ":" and bare redirections,
 * mv [-f], cp [-f], rm [-f] [-r], mkdir (ignored), all with > >> >| &> &>> N> redirections
 * (/dev/null, /dev/stdout and /dev/stderr are not files). Words are not expanded: $VAR stays as
 * written. Commands run in order whatever joins them (; && || | newline); unknown commands are
 * skipped and counted. Returns 0 with *out filled (release with rp_files_release()), or -1 with
 * *out empty when the text does not tokenize (unterminated quote), exceeds RP_MAX_INPUT, a file
 * would exceed RP_MAX_OUTPUT, more than RP_MAX_FILES files would exist, or memory runs out.
 */
int rp_save_script(const char *text, size_t len, struct rp_files *out);

/** The file at path (exact match), borrowed from f, or NULL. */
const struct rp_file *rp_files_get(const struct rp_files *f, const char *path);

/** Free every file and the array; f is left empty. NULL is a no-op. */
void rp_files_release(struct rp_files *f);

#define RP_CANCEL_STAGE 1 /**< stageCancellationScript: kill -TERM of one stage's processes */
#define RP_CANCEL_ALL 2   /**< ContainerSigTermScriptForLinux: SIGTERM to every PID but 1 */

/**
 * Whether text (len bytes, borrowed) is a cancellation script fed to "sh -c <detect>":
 * RP_CANCEL_STAGE for "kill -TERM $(for item in $(for prc in /proc/[0-9]*... | grep -e 'NAME $'
 * ...) 2> /dev/null" (NAME, the stage script's name, goes to stage when stage is not NULL,
 * truncated to stage_size - 1 bytes and NUL-terminated; "" when not found), RP_CANCEL_ALL for
 * "PROCS=$(cd /proc && ls -rvd [0-9]*) && for P in $PROCS; do ... kill -TERM $P ...", else 0.
 */
int rp_is_cancel_script(const char *text, size_t len, char *stage, size_t stage_size);

/* ---- 4. read-logs ------------------------------------------------------------------------- */

/** A read-logs command (commands/helpers/read_logs.go). */
struct rp_read_logs {
    char path[RP_PATH_MAX];    /**< --path, "" when absent */
    int64_t offset;            /**< --offset, default 0 */
    int64_t wait_file_timeout; /**< --wait-file-timeout in ns, default 1s (1000000000); the
                                    helper tries to open the file timeout/1s times, and fails
                                    with "no attempts to open log file configured" below 1s */
};

/**
 * Parse argv (argc C strings, borrowed): argv[0] "gitlab-runner-helper" or "gitlab-runner" or a
 * path ending in "/gitlab-runner-helper", argv[1] "read-logs", then Go flag syntax: -name or
 * --name, with "=value" or the value as the next word, up to "--" or the first non-flag. Known
 * flags: path, offset (Go strconv.ParseInt base 0: decimal, 0x, 0o, 0b, leading-0 octal; no
 * underscores), wait-file-timeout (a Go duration, see rp_parse_duration()). The runner sends
 * ["gitlab-runner-helper", "read-logs", "--path", P, "--offset", N, "--wait-file-timeout",
 * "1m0s"]. Returns 0 with *out filled, or -1 when argv is not read-logs, a flag is unknown
 * (including -h/--help), lacks its value, or a value does not parse.
 */
int rp_parse_read_logs(const char *const *argv, size_t argc, struct rp_read_logs *out);

/**
 * Parse a Go duration (time.ParseDuration; s, len bytes, borrowed): [-+] then one or more
 * decimal numbers with optional fraction and a unit (ns, us, µs, μs, ms, s, m, h), e.g. "1m0s",
 * "500ms", "1h2m3.5s", ".5s"; "0" alone is allowed. Returns 0 with *ns set, or -1 (missing or
 * unknown unit, no digits, overflow past int64 nanoseconds).
 */
int rp_parse_duration(const char *s, size_t len, int64_t *ns);

/* ---- 5. Stage attach lines ---------------------------------------------------------------- */

/** What a stage attach line asks for. */
struct rp_stage_line {
    char script[RP_PATH_MAX];      /**< "/scripts-P-J/step_script" */
    char stage[RP_NAME_MAX];       /**< its basename: "step_script", "prepare_script", ... */
    char scripts_dir[RP_PATH_MAX]; /**< "/scripts-P-J" */
    char log[RP_PATH_MAX];         /**< the tee -a (or Out-File) target, "" when absent */
    int helper;                    /**< 1: the helper form (gitlab-runner-build <<< SCRIPT) */
};

/**
 * Parse the line the runner writes to a stage attach's stdin (strings.Join(command, " ") +
 * "\n"; line, len bytes, borrowed, the newline optional). Forms accepted:
 *   sh /S/detect_shell_script /S/STAGE 2>&1 | tee -a /L/output.log              (older runners)
 *   sh -c '(/S/detect_shell_script /S/STAGE 2>&1 | tee -a /L/output.log) &'
 *   sh -c '((/S/detect_shell_script /S/STAGE; ec=$?; ...) 2>&1 | tee -a /L/output.log) &'
 *   gitlab-runner-build <<< /S/STAGE 2>&1 | tee -a /L/output.log                (helper)
 *   /S/terminate_with_json_script /S/STAGE.ps1 2>&1 | ... | Out-File ... /L/output.log  (pwsh)
 * and any line whose words (looked for inside an "sh -c" script too) hold a word ending in
 * /detect_shell_script (or gitlab-runner-build followed by <<<) followed by the stage script.
 * Returns 0 with *out filled, or -1 when the line is not a stage start (or a path does not fit).
 */
int rp_parse_stage_line(const char *line, size_t len, struct rp_stage_line *out);

/* ---- 6 and 7. Stage scripts ---------------------------------------------------------------- */

/** What to substitute when rendering a script's output. */
struct rp_render {
    int64_t unix_time;    /**< $(date +%s) and `date +%s` */
    const char *hostname; /**< $(hostname) and `hostname`; NULL renders "" */
};

/**
 * Guess the stage of a legacy-mode stage script (FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY: the
 * whole script on stdin, no name; script, len bytes, borrowed). The runner's body sits in
 * ": | eval WORD" or ": | (eval WORD)" (BashWriter.Finish), WORD quoted by ShellEscape,
 * PosixShellEscape or ShellEscapeLegacy; it is unquoted, then its output on the success path (as
 * rp_script_echo_lines() renders it) decides:
 *   "prepare_script"  the first line starts "Running on "
 *   then the first of the runner's colour-prefixed notices (lines starting ESC "[" that are not
 *   "$ <user command>") that starts with:
 *   "get_sources"     Fetching changes, Cloning repository, Skipping Git repository setup,
 *                     Created fresh repository, Checking out , Skipping Git checkout,
 *                     Skippping Git checkout, Updating/initializing submodules,
 *                     Skipping Git submodules setup
 *   "restore_cache"   Checking cache for, Not downloading cache, Skipping cache extraction,
 *                     Successfully extracted cache, Failed to extract cache
 *   "download_artifacts"  Downloading artifacts
 *   "after_script"    Running after script, Running after_script
 *   "archive_cache"   Creating cache, Not uploading cache, Skipping cache archiving, Created cache
 *                     (archive_cache_on_failure prints the same: not told apart)
 *   "upload_artifacts_on_success"  Uploading artifacts (on_failure prints the same)
 *   "cleanup_file_variables"  Skipping build directory cleanup step, or a body that runs
 *                     nothing but rm (with find and chmod) on its success path
 *   "step_script"     anything else.
 * Returns a static string, or NULL when the text holds no eval body or does not tokenize.
 */
const char *rp_legacy_stage(const char *script, size_t len);

/** Called once per output line (without its "\n"; line borrowed for the call). Return 0 to go on,
 *  anything else to stop. */
typedef int (*rp_on_line)(void *arg, const char *line, size_t len);

/**
 * Render what a stage script (script, len bytes, borrowed) prints through its own echo and
 * printf commands, for a stage run without scenario instructions. The eval body (see
 * rp_legacy_stage()) is rendered when present, else the text itself; the JSON markers and the
 * trap's output are not (rp_marker_start()/rp_marker_exit() make those).
 * Rendered: echo [-neE] words (with -e, backslash escapes as bash's echo -e, \c stops), printf
 * as in rp_save_script() (so printf '%b\n' section_start:$(date +%s):section_ID\r\e[0K$'...'
 * renders "section_start:<unix_time>:section_ID\r\x1b[0K<text>", the %b also expanding any
 * backslash in the text as bash does), words unquoted with $(date +%s) / `date +%s` replaced by
 * r->unix_time, $(hostname) by r->hostname, $? and $# by "0", every other $NAME, ${...},
 * $((...)) and $(...) by "" (no field splitting, no globbing, no tilde expansion). Checked
 * against bash 5 running the same text.
 * Not rendered (the success path): conditions of if/while/until; elif and else branches (the
 * first then-branch is taken); loop bodies; case statements; function bodies; the command after
 * ||; commands whose stdout goes to a file, /dev/null or a pipe; command substitutions; the
 * output of any other program. exit does not stop rendering.
 * Calls on_line(arg, line, len) per line; output left without a final newline is passed as a
 * last line. Returns the number of lines passed, or -1 when the script does not tokenize, output
 * exceeds RP_MAX_OUTPUT, nesting exceeds RP_MAX_NEST, or memory runs out (lines passed before
 * the failure stay passed).
 */
int rp_script_echo_lines(const char *script, size_t len, const struct rp_render *r,
                         rp_on_line on_line, void *arg);

/* ---- 8. Markers and read-logs records ----------------------------------------------------- */

/**
 * The line bashJSONInitializationScript prints (echo "$start_json"): {"script": "PATH"}, PATH
 * as given ($0, the path bash was started with), not JSON-escaped, as the shell interpolates it.
 * Written NUL-terminated to buf (size bytes) without the newline echo adds. Returns its length,
 * or -1 when buf is too small.
 */
int rp_marker_start(const char *path, char *buf, size_t size);

/**
 * The last line the EXIT trap (bashJSONTerminationScript) prints: {"command_exit_code": N,
 * "script": "PATH"}. The trap prints an empty line before it (echo ""), and echo ends each line
 * with "\n": the log gets "\n" + this + "\n". Same conventions as rp_marker_start().
 */
int rp_marker_exit(int code, const char *path, char *buf, size_t size);

/** A status marker's contents. */
struct rp_status {
    int has_exit_code; /**< "command_exit_code" present and not null */
    int64_t exit_code;
    int has_script;           /**< "script" present and not null */
    char script[RP_PATH_MAX]; /**< its value, unescaped, truncated to RP_PATH_MAX - 1 bytes */
    int script_truncated;
};

/**
 * Whether line (len bytes, borrowed; a trailing "\n" is fine) is a status marker as the runner
 * decides it (StageCommandStatus.TryUnmarshal: Go json.Unmarshal into {command_exit_code *int,
 * script *string} succeeds and at least one is non-nil): strict JSON (RFC 8259, depth up to
 * RP_JSON_MAX_DEPTH, surrounding whitespace allowed), a top-level object, keys matched ASCII
 * case-insensitively (Go also folds a few non-ASCII runes; not done here), the last duplicate
 * wins, command_exit_code an integer literal fitting int64 (no fraction or exponent) or null,
 * script a string or null; any other type there makes Unmarshal fail. Runners up to 16.x
 * (TrapCommandExitStatus) required both keys: check has_exit_code && has_script for those.
 * Returns 1 with *out filled (out may be NULL), or 0.
 */
int rp_is_status_marker(const char *line, size_t len, struct rp_status *out);

/** The bytes gitlab-runner-helper read-logs prints. Release with rp_records_release(). */
struct rp_records {
    char *data; /**< "<offset after the piece> <piece>\n"..., NUL-terminated, len bytes */
    size_t len;
    size_t consumed; /**< file bytes turned into records: resume at offset + consumed */
    size_t count;    /**< records in data */
};

/**
 * What read-logs prints for file (file_len bytes, borrowed: the whole log file) read from
 * offset: per piece, its end offset in decimal, a space, the piece, and "\n" when the piece does
 * not end with one. A piece is a line with its "\n", or RP_READ_LOGS_BUFFER bytes of a longer
 * line (bufio.Reader.ReadSlice returning ErrBufferFull; so a line of exactly 16384 bytes plus its
 * newline gives two records, the second an empty line). Bytes after the last newline, when fewer
 * than RP_READ_LOGS_BUFFER: the real helper prints them as soon as it reaches end of file
 * (ReadSlice returns them with io.EOF and read_logs.go prints any non-empty slice) and goes on
 * from after them; pass flush = 1 for that, 0 to hold them back until their newline arrives
 * (what a writer of whole lines expects). At most RP_READ_LOGS_CHUNK file bytes per call.
 * Returns 0 with *out filled (release with rp_records_release()), or -1 with *out empty when
 * offset exceeds INT64_MAX or memory runs out. An offset past the end consumes nothing.
 */
int rp_read_logs_records(const char *file, size_t file_len, uint64_t offset, int flush,
                         struct rp_records *out);

/** Free r's data; r is left empty. NULL is a no-op. */
void rp_records_release(struct rp_records *r);

#endif
