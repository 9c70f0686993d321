/* remotecmd.h -- pods/exec and pods/attach on an HTTP connection: the WebSocket and SPDY/3.1
 * upgrades, and the framing that carries a remote-command session's streams over each */
#ifndef KF_REMOTECMD_H
#define KF_REMOTECMD_H

#include "mockapi/http/conn.h"
#include "mockapi/stream/session.h"

/** Output a session may leave unread by its client: bytes written toward the connection that the
 *  kernel has not taken yet. A session whose client lets more pile up is ended: a Failure Status
 *  "kubefault: the client left N bytes of output unread, ..." after the output already queued
 *  (WebSocket: then close 1008), and the connection closes once the client has read it all. */
#define REMOTECMD_MAX_PENDING_BYTES (8u * 1024u * 1024u)

/** v5.channel.k8s.io: the program starts this long after the 101, or at the client's first data
 *  message if that comes sooner. client-go before kubernetes#131203 (April 2025; kubectl 1.32.5
 *  here) reads the connection before it has made its streams and drops what arrives in between:
 *  "Unknown stream id N, discarding message", then "error: closed all streams". A real apiserver
 *  relays exec through a SPDY round trip to the kubelet, so its first frame is never that early;
 *  on loopback ours was (kubectl/matrix failed once so in two loaded ctest -j4 runs). */
#define REMOTECMD_WS_V5_START_MS 50

/** What runs in the session: opts (required), and the program, script and faults as rcs_new()
 *  takes them (each may be NULL). The program belongs to the call from then on: its release runs
 *  whatever happens (a refused handshake included), and so does opts->on_free. */
struct remotecmd_spec {
    const struct rcs_opts *opts;
    const struct rcs_program *prog;
    const struct rcs_script *script;
    const struct rcs_faults *faults;
    void (*created)(void *arg, struct rcs_session *s); /**< the session exists (NULL: none) */
    void *created_arg;
    size_t max_pending; /**< unread output that ends the session; 0: REMOTECMD_MAX_PENDING_BYTES */
};

/** 1 when req asks for a WebSocket upgrade (Upgrade: websocket). */
int remotecmd_is_websocket(const struct http_request *req);

/** 1 when req asks for a SPDY/3.1 upgrade (Upgrade: SPDY/3.1). */
int remotecmd_is_spdy(const struct http_request *req);

/** Answer req with 101 and run a session for spec (borrowed; copied) over WebSocket with the
 *  subprotocol v5.channel.k8s.io or v4.channel.k8s.io: channel frames, the Status on channel 3,
 *  close 1000, then the connection closes once the client's close arrives. A refused handshake is
 *  answered with its code (400, 426) and a text body, which makes kubectl fall back to SPDY.
 *  The connection then belongs to the session until it ends: do not touch c after the call. */
void remotecmd_websocket(struct conn *c, struct http_request *req,
                         const struct remotecmd_spec *spec);

/** The same over SPDY/3.1 (X-Stream-Protocol-Version v4 or v5): a SYN_REPLY per client
 *  SYN_STREAM at once, the session starts once every expected stream is open, output as DATA, the
 *  Status on the error stream, FIN on every stream; PING is echoed; the connection closes on the
 *  client's GOAWAY. A request offering no known version is answered 400 with a Status. */
void remotecmd_spdy(struct conn *c, struct http_request *req, const struct remotecmd_spec *spec);

#endif
