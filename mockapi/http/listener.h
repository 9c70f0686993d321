/* listener.h -- a listening TCP socket on the event loop, shared by the fake kube-apiserver and the
 * fake GitLab: accepts connections, and when accept() fails (out of file descriptors: EMFILE,
 * ENFILE; out of memory) stops listening for a moment instead of spinning on a socket that stays
 * readable */
#ifndef KF_LISTENER_H
#define KF_LISTENER_H

#include <stddef.h>

struct event_base;
struct sockaddr;
struct sockaddr_in;
struct sockaddr_storage;
struct listener;

/** What the listening port does (the refuse and blackhole faults switch it). */
enum listen_mode {
    LISTEN_NORMAL,    /**< accept and serve */
    LISTEN_REFUSE,    /**< the port is closed: connect gets RST ("connection refused") */
    LISTEN_BLACKHOLE, /**< the port listens with a full accept queue that is never drained: new
                           SYNs are dropped and connect times out ("i/o timeout"), without root */
};

/** How long the listener rests after a failed accept() before it tries again. */
#define LISTENER_PAUSE_MS 100

/** Called per accepted connection: fd (non-blocking, now the callee's) and the peer's address. */
typedef void (*listener_accept_cb)(void *arg, int fd, const struct sockaddr *sa);

/** Bind addr (SO_REUSEADDR) and listen with backlog; cb(arg, ...) per connection. name prefixes
 *  log lines ("kube", "gitlab"; borrowed, a string literal). NULL + err when the socket cannot be
 *  bound ("cannot listen on 127.0.0.1:80: Permission denied"). Caller frees with
 *  listener_free(). */
struct listener *listener_new(struct event_base *base, const struct sockaddr_in *addr, int backlog,
                              listener_accept_cb cb, void *arg, const char *name, char *err,
                              size_t errlen);

/** Close the socket and free. NULL is a no-op. */
void listener_free(struct listener *l);

/** The bound port (the one the kernel chose for port 0). */
int listener_port(const struct listener *l);

/** Switch the port to mode, keeping its number (a closed port is reopened on it). 0, or -1 + err;
 *  a mode that cannot be set leaves the port closed (LISTEN_REFUSE). Connections already accepted
 *  are not touched. */
int listener_set_mode(struct listener *l, enum listen_mode mode, char *err, size_t errlen);

/** The current mode. */
enum listen_mode listener_mode(const struct listener *l);

/** accept() failures that paused the listener so far (for tests and logs). */
unsigned long listener_pauses(const struct listener *l);

/** Ready a connected socket handed over from elsewhere (a socketpair in the fuzz targets) as if it
 *  had been accepted: non-blocking, its peer's address in *peer (AF_UNSPEC when it has none). 0, or
 *  -1 with fd closed. */
int listener_adopt(int fd, struct sockaddr_storage *peer);

#endif
