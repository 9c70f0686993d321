/* session.h -- the remote-command session engine behind pods/exec and pods/attach: what the
 * container does with its streams (stdin, stdout, stderr, error, resize), knowing nothing of the
 * framing (WebSocket channels or SPDY streams) that carries them */
#ifndef KF_SESSION_H
#define KF_SESSION_H

#include <stddef.h>

/* The streams of a session (the Kubernetes remotecommand stream set). */
enum rcs_stream {
    RCS_STDIN = 0,  /**< client to container */
    RCS_STDOUT = 1, /**< container to client */
    RCS_STDERR = 2, /**< container to client */
    RCS_ERROR = 3,  /**< container to client: one Status JSON, then end */
    RCS_RESIZE = 4, /**< client to container: {"Width":W,"Height":H} */
    RCS_NSTREAMS = 5
};

#define RCS_MAX_ARGS 64           /**< command words kept from the query */
#define RCS_MAX_STATUS_BYTES 4096 /**< one error-stream Status */

/** What the client asked for (the query of the exec/attach request). */
struct rcs_opts {
    int attach;              /**< 1: pods/attach (no command; Success or InternalError only) */
    const char *const *argv; /**< exec's command words, borrowed (copied by rcs_new) */
    size_t argc;             /**< at most RCS_MAX_ARGS are kept */
    int want[RCS_NSTREAMS];  /**< 1 for each stream the client opens (stdin, stdout, stderr; the
                                  error stream always; resize with tty) */
    int tty;                 /**< tty=true */
};

/** Where the session's output goes: the transport frames it. write() returns 0, or -1 when the
 *  connection is gone (then the session may already be freed: the engine returns at once); end()
 *  is called once after the error stream's Status, the transport then closes as its protocol
 *  wants. */
struct rcs_sink {
    int (*write)(void *arg, enum rcs_stream stream, const void *data, size_t len);
    int (*end)(void *arg);
    void *arg;
};

struct rcs_session;

/** A session for opts, writing to sink (both borrowed; argv is copied). NULL on allocation failure.
 *  Caller frees with rcs_free(). */
struct rcs_session *rcs_new(const struct rcs_opts *opts, const struct rcs_sink *sink);

/** rcs_free(NULL) is a no-op. */
void rcs_free(struct rcs_session *s);

/** Run the scripted container once every stream the client wanted is open: the command's output,
 *  the Status on the error stream, then sink->end(). Built-in script: "echo WORDS" prints its
 *  words and a newline; "sh -c 'exit N'" exits N; any other command exits 0 with no output;
 *  attach ends with Success. Returns 0, or -1 when a sink call failed (do not touch s then). */
int rcs_start(struct rcs_session *s);

/** Input from the client: stdin bytes (len 0: stdin EOF) and resize messages. The built-in
 *  commands (echo, sh -c 'exit N', anything else) read no input, so it is accepted and dropped;
 *  scripted commands (issue 4, next step) will consume it. Returns 0. */
int rcs_input(struct rcs_session *s, enum rcs_stream stream, const void *data, size_t len);

/** 1 once rcs_start() has run to the end. */
int rcs_finished(const struct rcs_session *s);

/** The exit code the built-in script gives argv (0..255). */
int rcs_script_exit(const char *const *argv, size_t argc);

/** The error-stream Status as the kubelet writes it (v4 and v5 alike), NUL-terminated in buf:
 *  exit 0 gives {"metadata":{},"status":"Success"}; exit N gives the NonZeroExitCode Failure with
 *  the message "command terminated with non-zero exit code: error executing command [ARGV],
 *  exit code N" and an ExitCode cause "N". Returns the length, or -1 when buf is too small or
 *  memory ran out. */
int rcs_status_json(int exit_code, const char *const *argv, size_t argc, char *buf, size_t len);

#endif
