/* shape.h -- egress helpers for the byte-level faults (reset, close, drip): where a response's head
 * ends, and cutting one response short before ending the connection with a FIN or an RST */
#ifndef KF_SHAPE_H
#define KF_SHAPE_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct evbuffer;

/** How a cut connection ends. */
enum shape_end {
    SHAPE_FIN, /**< close after the kept bytes reached the kernel: the client reads them, then EOF
                */
    SHAPE_RST, /**< reset (SO_LINGER 0) once the kept bytes reached the kernel */
};

/** Where the response being served is cut. */
struct shape_cut {
    int after_headers; /**< cut at the end of the head (status line and headers, CRLF CRLF) */
    uint64_t bytes;    /**< otherwise after this many bytes of the response (0: none sent) */
    enum shape_end end;
};

/** The length of the head (status line, headers and the empty line) at the front of the first
 *  avail bytes of buf, or 0 when the empty line is not there yet. */
size_t shape_head_len(struct evbuffer *buf, size_t avail);

/** Cut the response now being served on c: the request is served normally, the first bytes of its
 *  answer up to the cut leave (all of them when the answer is shorter), everything after them is
 *  dropped, and the connection ends as cut->end says. A streamed answer (a watch) is held until
 *  enough of it was written to place the cut. cut is borrowed and must outlive c (it is a rule's
 *  parsed parameters). Returns 0, or -1 when the connection is gone. */
int shape_cut_install(struct conn *c, const struct shape_cut *cut);

/** Drop every byte written on c from now on, for good (conn_silence: no fault can install a filter
 *  after it): the connection stays open and silent until it is ended or the client gives up.
 *  Returns 0, or -1 when it is gone. */
int shape_silence(struct conn *c);

/** "after 120 bytes" / "after the headers" for notes and logs, into buf. Returns buf. */
const char *shape_cut_describe(const struct shape_cut *cut, char *buf, size_t len);

struct engine;
struct rule;

/** Listener faults: switch the port of the rule's server (the kube-apiserver's, or the fake
 *  GitLab's for "match": {"server": "gitlab"}) to mode (an enum listen_mode) when on, back to
 *  normal when off -- but only while the port is still in mode, so another listener fault switched
 *  on meanwhile stays. Failures are logged with the rule's name. */
void shape_listen(struct engine *e, struct rule *r, int mode, int on);

#endif
