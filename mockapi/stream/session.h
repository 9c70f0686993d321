/* session.h -- the remote-command session engine behind pods/exec and pods/attach: what the
 * container does with its streams (stdin, stdout, stderr, error, resize), knowing nothing of the
 * framing (WebSocket channels or SPDY streams) that carries them.
 *
 * A session runs one program. A program is code (struct rcs_program: the container runtime's
 * read-logs, save-script and stage programs) or data (struct rcs_script: timed output chunks, an
 * exit code or never finishing — what scenarios write); without either the built-in commands run.
 * Everything is asynchronous on the session's event loop. Stream faults (struct rcs_faults) are
 * applied here for every program alike: the error stream closed with no Status, an abnormal end
 * of the connection, output that stalls for good, pings left unanswered.
 *
 * Lifetime: the transport owns the session and frees it when the connection goes (rcs_free). Code
 * that touches a session from outside the transport's callbacks (a timer, a file the container
 * wrote) brackets it with rcs_enter()/rcs_leave(): a session freed inside the bracket is only
 * freed at rcs_leave(), which then says so. */
#ifndef KF_SESSION_H
#define KF_SESSION_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

struct rcs_session;

/* The streams of a session (the Kubernetes remotecommand stream set). */
enum rcs_stream {
    RCS_STDIN = 0,  /**< client to container */
    RCS_STDOUT = 1, /**< container to client */
    RCS_STDERR = 2, /**< container to client */
    RCS_ERROR = 3,  /**< container to client: one Status JSON, then end */
    RCS_RESIZE = 4, /**< client to container: {"Width":W,"Height":H} */
    RCS_NSTREAMS = 5
};

#define RCS_MAX_ARGS 64                   /**< command words kept from the query */
#define RCS_MAX_STATUS_BYTES 4096         /**< one error-stream Status */
#define RCS_MAX_INPUT_BYTES (1024 * 1024) /**< stdin a program keeps (a saved script, ...) */

/** Stream faults, applied by the session to whatever program runs. Times count from the start of
 *  the program (every stream open). -1: off. */
struct rcs_faults {
    int empty_status;    /**< end with the error stream closed and no Status: client-go then
                              reports success whatever the exit code (runner issue #4119) */
    int64_t abort_ms;    /**< end the connection abnormally: TCP closed with no WebSocket close
                              frame (the client sees 1006) or no SPDY FIN/GOAWAY */
    int64_t stall_ms;    /**< from then on nothing more is written and the session never ends */
    int no_pong;         /**< pings (SPDY PING, WebSocket ping) are never answered */
    int64_t status_exit; /**< >= 0: the Status reports this exit code instead of the program's */
};

/** The faults all off. */
void rcs_faults_none(struct rcs_faults *f);

/** One step of a scripted program (data, not code). */
enum rcs_step_kind {
    RCS_STEP_WRITE, /**< write data to stream (stdout or stderr) */
    RCS_STEP_SLEEP, /**< wait ms */
    RCS_STEP_STDIN, /**< wait until stdin ends (EOF), or go on when the client opened no stdin */
    RCS_STEP_EXIT,  /**< end with exit code (the error stream's Status) */
    RCS_STEP_HANG,  /**< never end (the client waits until it gives up) */
};

struct rcs_step {
    enum rcs_step_kind kind;
    enum rcs_stream stream; /**< WRITE */
    char *data;             /**< WRITE: owned by the script */
    size_t len;
    int64_t ms;    /**< SLEEP */
    int exit_code; /**< EXIT: 0..255 */
};

/** A scripted program: its steps in order. A script that runs out of steps exits 0. */
struct rcs_script {
    struct rcs_step *steps;
    size_t nsteps;
    int echo_stdin; /**< stdin bytes are written back to stdout as they come (a cat) */
};

/** Free the steps' data and the steps array (not s itself). NULL is a no-op. */
void rcs_script_clear(struct rcs_script *s);

/** Append a step (data copied). 0 or -1 when memory ran out. */
int rcs_script_add(struct rcs_script *s, const struct rcs_step *step);

/** A deep copy of src into dst. 0 or -1. */
int rcs_script_copy(struct rcs_script *dst, const struct rcs_script *src);

/** A program as code. Every callback runs with the session entered (it cannot be freed under
 *  it); a callback that ends the session (rcs_exit) returns at once. input is never called
 *  before start: what the client sends before its last stream is open (SPDY allows it) is held,
 *  up to RCS_MAX_INPUT_BYTES + 1 bytes of stdin and the last resize, and handed over right after
 *  start returns. */
struct rcs_program {
    const char *name; /**< for logs: "read-logs", "save-script", ... */
    /** Every stream the client wanted is open: begin. */
    void (*start)(struct rcs_session *s, void *ctx);
    /** stdin bytes (len 0 and data NULL: stdin ended) or a resize message. NULL: dropped. */
    void (*input)(struct rcs_session *s, void *ctx, enum rcs_stream stream, const void *data,
                  size_t len);
    /** The session is being freed: release ctx (cancel timers, unsubscribe). Never call back into
     *  the session from here. */
    void (*release)(void *ctx);
    void *ctx;
};

/** What the client asked for (the query of the exec/attach request). */
struct rcs_opts {
    int attach;              /**< 1: pods/attach (no command; Success or InternalError only) */
    const char *const *argv; /**< exec's command words, borrowed (copied by rcs_new) */
    size_t argc;             /**< at most RCS_MAX_ARGS are kept */
    int want[RCS_NSTREAMS];  /**< 1 for each stream the client opens (stdin, stdout, stderr; the
                                  error stream always; resize with tty) */
    int tty;                 /**< tty=true */
    struct event_base *base; /**< timers; NULL only for programs that never wait */
    /** Called once when the session is freed (also when rcs_new fails), after the program's
     *  release; the session must not be touched from it. NULL: none. */
    void (*on_free)(void *arg, struct rcs_session *s);
    void *on_free_arg;
};

/** Where the session's output goes: the transport frames it. write() returns 0, or -1 when the
 *  connection is gone. end() is called once after the error stream's Status (status_len 0: the
 *  error stream closes with no data); the transport then closes as its protocol wants. abort()
 *  ends the connection abnormally (the abort fault). Both return 0 or -1. */
struct rcs_sink {
    int (*write)(void *arg, enum rcs_stream stream, const void *data, size_t len);
    int (*end)(void *arg);
    int (*abort)(void *arg);
    void *arg;
};

/** A session for opts, writing to sink (both borrowed; argv is copied). prog: the program (copied;
 *  its release runs when the session is freed, even when rcs_new fails after taking it), or NULL
 *  for script, or both NULL for the built-in commands. script is copied. faults may be NULL.
 *  NULL on allocation failure. Caller frees with rcs_free(). */
struct rcs_session *rcs_new(const struct rcs_opts *opts, const struct rcs_sink *sink,
                            const struct rcs_program *prog, const struct rcs_script *script,
                            const struct rcs_faults *faults);

/** Free, or (inside rcs_enter/rcs_leave) mark for freeing at rcs_leave. The sink is never called
 *  again. rcs_free(NULL) is a no-op. */
void rcs_free(struct rcs_session *s);

/** Start the program once every stream the client wanted is open. 0, or -1 when the session is
 *  gone (do not touch s then). */
int rcs_start(struct rcs_session *s);

/** Input from the client: stdin bytes (len 0: stdin EOF) and resize messages. 0, or -1 when the
 *  session is gone. */
int rcs_input(struct rcs_session *s, enum rcs_stream stream, const void *data, size_t len);

/** Bracket code that touches s from outside the transport's callbacks. rcs_leave returns 0, or -1
 *  when the session was freed meanwhile (it is gone now: do not touch it or the program's ctx). */
void rcs_enter(struct rcs_session *s);
int rcs_leave(struct rcs_session *s);

/** For programs: write output. 0, or -1 when the session ended or its connection is gone. Output
 *  to a stream the client did not open is dropped (0). */
int rcs_write(struct rcs_session *s, enum rcs_stream stream, const void *data, size_t len);

/** For programs: end with exit code (0..255) — the Status on the error stream, then the end. Also
 *  how a session is ended from outside (the container was killed: 137). 0, or -1 when the session
 *  was already over or its connection went. */
int rcs_exit(struct rcs_session *s, int exit_code);

/** End with a Status of one's own (a Failure with a message: attach's InternalError). */
int rcs_exit_status(struct rcs_session *s, const char *status_json, size_t len);

/** End with a Failure Status (reason InternalError, code 500) saying message: client-go then
 *  returns message itself as the exec's error (its v4 error decoder), kubectl prints "error:
 *  <message>". For limits the fake enforces. 0, or -1 as rcs_exit. */
int rcs_exit_failure(struct rcs_session *s, const char *message);

/** 1 once the session ended (an exit, or the connection went). */
int rcs_finished(const struct rcs_session *s);

/** What the session was asked for (argv copied, valid while s lives). */
const struct rcs_opts *rcs_options(const struct rcs_session *s);

/** The session's faults. */
const struct rcs_faults *rcs_get_faults(const struct rcs_session *s);

/** What the built-in shell does with one command line typed into it (no sleeping, no stdin): its
 *  output as WRITE steps and, when it exits, an EXIT step, appended to out. 0 or -1. */
int rcs_shell_line(const char *line, size_t len, struct rcs_script *out);

/** The exit code the built-in commands give argv (0..255): "sh -c 'exit N'" gives N, "false" 1,
 *  anything else 0. */
int rcs_script_exit(const char *const *argv, size_t argc);

/** A Failure Status {"metadata":{},"status":"Failure","message":message,"reason":"InternalError",
 *  "code":500}, NUL-terminated in buf. Returns the length, or -1 when buf is too small or memory
 *  ran out. */
int rcs_failure_json(const char *message, char *buf, size_t len);

/** The error-stream Status as the kubelet writes it (v4 and v5 alike), NUL-terminated in buf:
 *  exit 0 gives {"metadata":{},"status":"Success"}; exit N gives the NonZeroExitCode Failure with
 *  the message "command terminated with non-zero exit code: error executing command [ARGV],
 *  exit code N" and an ExitCode cause "N". Returns the length, or -1 when buf is too small or
 *  memory ran out. */
int rcs_status_json(int exit_code, const char *const *argv, size_t argc, char *buf, size_t len);

#endif
