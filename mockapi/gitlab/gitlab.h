/* gitlab.h -- the fake GitLab job API: a loopback listener (TLS or plain) that hands jobs to a
 * runner with long polling, keeps each job's trace and final state, and exposes hook points */
#ifndef KF_GITLAB_H
#define KF_GITLAB_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mockapi/gitlab/proto.h"
#include "mockapi/hooks.h"
#include "mockapi/http/listener.h"

struct conn;
struct event_base;
struct http_request;
struct tls_ctx;
struct gitlab_server;

#define GITLAB_DEFAULT_LONG_POLL_MS 50000    /**< Workhorse's apiCiLongPollingDuration */
#define GITLAB_DEFAULT_UPDATE_INTERVAL_S 3   /**< the runner's own default trace interval */
#define GITLAB_DEFAULT_MAX_TRACE (16u << 20) /**< per-job trace cap (bytes) by default */
#define GITLAB_MAX_JOBS 4096                 /**< jobs one server keeps; more: -1 from add */
#define GITLAB_MAX_WAITERS 256               /**< jobs/request held at once; more: 204 at once */

/**
 * The hook points, the GitLab counterpart of struct mockapi_hooks (hooks.h). A separate struct
 * because the kube server's on_request takes a Kubernetes struct route, while GitLab requests are
 * routed to struct glproto_route (endpoint + job id). on_accept and on_response have exactly the
 * types of mockapi_hooks' members, so the harness can plug the same functions into both; only
 * on_request needs a GitLab-shaped adapter (its matcher sees the endpoint name and the job id).
 * Every hook is optional. They run on the server's event loop.
 */
struct gitlab_hooks {
    void *arg; /**< passed to every hook */

    /** A connection was accepted (TLS not yet negotiated). HANDLED: the hook owns its fate
     *  (conn_reset, conn_abort, silence) as for the kube server; it may install an egress filter.
     */
    enum hook_verdict (*on_accept)(void *arg, struct conn *c);

    /** A complete, routed request, before tokens are checked (route->ep NONE for unknown paths).
     *  HANDLED: the hook answered it or will (conn_respond, conn_reset, ...) or hands it back
     *  later with gitlab_server_dispatch(). */
    enum hook_verdict (*on_request)(void *arg, struct conn *c, struct http_request *req,
                                    const struct glproto_route *route);

    /** The answer to a request is complete (1) or the connection died first (0). For the journal.
     */
    void (*on_response)(void *arg, struct conn *c, const struct http_request *req, int code,
                        uint64_t bytes, int complete);
};

struct gitlab_server_opts {
    const char *bind_addr;    /**< default "127.0.0.1" */
    int port;                 /**< 0: a free port */
    int plain_http;           /**< serve HTTP without TLS */
    struct tls_ctx *tls;      /**< borrowed: serve with this CA/certificate (the kube server's,
                                   so the runner needs one CA file); NULL: make a fresh one */
    const char *runner_token; /**< NULL: "glrt-" and 20 random characters, like GitLab's */
    int64_t runner_id;        /**< runners/verify's id; 0: 1 */
    int64_t long_poll_ms;     /**< hold for jobs/request; 0: GITLAB_DEFAULT_LONG_POLL_MS;
                                   negative: never hold (answer 204 at once) */
    int update_interval_s;    /**< X-GitLab-Trace-Update-Interval; 0: the default */
    size_t max_trace_bytes;   /**< per-job trace cap; 0: GITLAB_DEFAULT_MAX_TRACE */
    int strict_checksum;      /**< 0 (default): a final update whose checksum/bytesize disagree
                                   with the stored trace is accepted with 200, as GitLab does (it
                                   only counts it); 1: answered 412, so the runner rewinds its
                                   trace (a path GitLab itself never takes: a fault) */
    uint64_t seed;            /**< seeds X-GitLab-Last-Update values and job tokens */
    size_t max_connections;   /**< connections served at once; 0: CONN_DEFAULT_MAX. A connection
                                   past it gets 503 {"message": "503 Service Unavailable - too
                                   many connections: ..."} for its first request, then is
                                   closed */
    const struct gitlab_hooks *hooks; /**< borrowed; NULL for none */
};

/** Start listening. NULL + err on failure (address in use, TLS setup, bad token). Caller frees
 *  with gitlab_server_free(). */
struct gitlab_server *gitlab_server_new(struct event_base *base,
                                        const struct gitlab_server_opts *opts, char *err,
                                        size_t errlen);

/** Stop listening, end every connection (held long polls included), free every job. NULL is a
 *  no-op. */
void gitlab_server_free(struct gitlab_server *s);

/** Serve a request normally, skipping the on_request hook (a fault that delayed it hands it
 *  back). */
void gitlab_server_dispatch(struct gitlab_server *s, struct conn *c, struct http_request *req,
                            const struct glproto_route *route);

/** Serve a connected stream socket (one end of a socketpair) as if the listener had accepted it,
 *  as mockapi_server_serve_fd() does for the kube server (the fuzz targets). Takes ownership of fd.
 *  0, or -1 (fd is closed then). */
int gitlab_server_serve_fd(struct gitlab_server *s, int fd);

int gitlab_server_port(const struct gitlab_server *s);

/** Switch the fake GitLab's port to mode (the refuse and blackhole faults with
 *  "match": {"server": "gitlab"}), keeping its number. 0, or -1 + err. Connections already
 *  accepted, and jobs held in a long poll, are not touched. */
int gitlab_server_listen_mode(struct gitlab_server *s, enum listen_mode mode, char *err,
                              size_t errlen);

/** The current mode. */
enum listen_mode gitlab_server_get_listen_mode(const struct gitlab_server *s);
const char *gitlab_server_url(const struct gitlab_server *s);    /**< "https://127.0.0.1:PORT/" */
const char *gitlab_server_ca_pem(const struct gitlab_server *s); /**< NULL with plain HTTP */
const char *gitlab_server_runner_token(const struct gitlab_server *s);
uint64_t gitlab_server_requests(const struct gitlab_server *s); /**< requests seen so far */

/** The job states, GitLab's words. */
enum gitlab_job_state {
    GITLAB_JOB_PENDING,   /**< queued, not handed out */
    GITLAB_JOB_RUNNING,   /**< handed out by jobs/request */
    GITLAB_JOB_CANCELING, /**< gitlab_job_cancel on a running job: Job-Status says "canceling" */
    GITLAB_JOB_SUCCESS,
    GITLAB_JOB_FAILED,
    GITLAB_JOB_CANCELED,
};

/** "pending", "running", "canceling", "success", "failed", "canceled". */
const char *gitlab_job_state_name(enum gitlab_job_state st);

/** What the server knows of a job. Pointers are borrowed: valid until the next call into the
 *  server or a return to the event loop. */
struct gitlab_job_info {
    int64_t id;
    const char *token;
    const char *name;
    enum gitlab_job_state state;
    const char *failure_reason; /**< as the runner sent it; "" when none */
    int has_exit_code;
    int exit_code;
    const unsigned char *trace; /**< the stored trace (not NUL-terminated) */
    size_t trace_len;
    uint32_t trace_crc; /**< CRC-32 of the stored trace */
    int has_checksum;   /**< the last update carried a checksum */
    uint32_t checksum;
    int has_bytesize;
    uint64_t bytesize;
    unsigned patches;           /**< trace PATCHes accepted (202) */
    unsigned range_errors;      /**< 416 answers */
    unsigned updates;           /**< PUTs with a valid token */
    unsigned checksum_failures; /**< 412 answers */
};

/**
 * Queue a job built from spec (borrowed; see glproto_job_payload for its keys; NULL: all
 * defaults). Without "id" the job gets the next free id (1, 2, ...); without "token" a random
 * "glcbt-..." token. A held jobs/request is answered with it from the event loop (never from inside
 * this call). Returns the job id, or -1 with a message in err (bad spec, duplicate id, more than
 * GITLAB_MAX_JOBS jobs).
 */
int64_t gitlab_job_add(struct gitlab_server *s, const cJSON *spec, char *err, size_t errlen);

/**
 * Cancel a job: a pending one becomes canceled at once (never handed out); a running one becomes
 * canceling, so the next trace PATCH or update answers Job-Status: canceling, and the runner's
 * final update then makes it canceled. 0, or -1 when the job does not exist or already finished.
 */
int gitlab_job_cancel(struct gitlab_server *s, int64_t id);

/** Fill *out for job id. 0, or -1 when there is no such job. */
int gitlab_job_get(const struct gitlab_server *s, int64_t id, struct gitlab_job_info *out);

/** The job payload jobs/request answers with for job id (borrowed), or NULL. */
const cJSON *gitlab_job_payload(const struct gitlab_server *s, int64_t id);

/** Call fn for every job in the order they were added; stop early when it returns non-zero (that
 *  value is returned; 0 otherwise). fn must not add or cancel jobs. */
typedef int (*gitlab_job_fn)(void *arg, const struct gitlab_job_info *job);
int gitlab_job_foreach(const struct gitlab_server *s, gitlab_job_fn fn, void *arg);

#endif
