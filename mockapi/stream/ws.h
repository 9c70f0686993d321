/* ws.h -- WebSocket (RFC 6455) codec for the server side: the upgrade handshake, an incremental
 * parser for client frames, writers for server frames, Kubernetes channel frames */
#ifndef KF_WS_H
#define KF_WS_H

#include <stddef.h>
#include <stdint.h>

/* Opcodes (RFC 6455 §5.2) */
#define WS_OP_CONTINUATION 0x0 /**< continues a fragmented message */
#define WS_OP_TEXT 0x1         /**< UTF-8 text message */
#define WS_OP_BINARY 0x2       /**< binary message (every Kubernetes channel message) */
#define WS_OP_CLOSE 0x8        /**< close, with an optional code and reason */
#define WS_OP_PING 0x9         /**< ping; the peer must answer with a pong of the same payload */
#define WS_OP_PONG 0xA         /**< pong */

/* Bits of the first header byte */
#define WS_FIN 0x80      /**< last frame of a message */
#define WS_RSV_MASK 0x70 /**< RSV1..3: must be 0 (no extension is ever negotiated) */
#define WS_OPCODE_MASK 0x0F

/* Close codes (RFC 6455 §7.4.1) */
#define WS_CLOSE_NORMAL 1000      /**< kubectl's stdout/stderr reach EOF only on this one */
#define WS_CLOSE_GOING_AWAY 1001  /**< endpoint going away */
#define WS_CLOSE_PROTOCOL 1002    /**< protocol error */
#define WS_CLOSE_UNSUPPORTED 1003 /**< data type not accepted */
#define WS_CLOSE_NO_STATUS 1005   /**< reported for a close frame without a code; never sent */
#define WS_CLOSE_ABNORMAL 1006    /**< clients report it for a TCP close without a close frame */
#define WS_CLOSE_BAD_DATA 1007    /**< e.g. invalid UTF-8 in a text message */
#define WS_CLOSE_POLICY 1008      /**< policy violation (a client too slow to read its output) */
#define WS_CLOSE_TOO_BIG 1009     /**< message over the cap */
#define WS_CLOSE_INTERNAL 1011    /**< server error */

/* Kubernetes channel subprotocols (streaming.md §1.1) and channel ids (§1.3) */
#define WS_PROTO_K8S_V5 "v5.channel.k8s.io" /**< kubectl >= 1.30; has the [255, n] close signal */
#define WS_PROTO_K8S_V4 "v4.channel.k8s.io" /**< Python client; v4 error-stream Status */
#define WS_PROTO_K8S_V1 "channel.k8s.io"    /**< gitlab-terminal (the runner's web terminal) */
#define WS_PROTO_K8S_V4_B64 "v4.base64.channel.k8s.io" /**< browsers: text frames, base64 */
#define WS_PROTO_K8S_V1_B64 "base64.channel.k8s.io"

#define WS_K8S_STDIN 0   /**< client to server */
#define WS_K8S_STDOUT 1  /**< server to client */
#define WS_K8S_STDERR 2  /**< server to client */
#define WS_K8S_ERROR 3   /**< server to client: one Status JSON */
#define WS_K8S_RESIZE 4  /**< client to server: {"Width":W,"Height":H} */
#define WS_K8S_CLOSE 255 /**< v5: [255, n] closes channel n (stdin EOF) */

/* Caps */
#define WS_MAX_HEAD_BYTES 14                   /**< 2 + 8 (64-bit length) + 4 (mask) */
#define WS_MAX_CONTROL_PAYLOAD 125             /**< RFC 6455 §5.5 */
#define WS_MAX_CLOSE_REASON 123                /**< control payload minus the 2-byte code */
#define WS_MAX_MESSAGE_BYTES (4 * 1024 * 1024) /**< default reassembled message cap */
#define WS_MAX_KEY_BYTES 64                    /**< Sec-WebSocket-Key accepted length bound */
#define WS_MAX_PROTOCOL_BYTES 64               /**< one offered subprotocol token */
#define WS_ACCEPT_BYTES 29                     /**< base64(SHA-1) is 28 characters, plus NUL */
#define WS_ERR_BYTES 256                       /**< error texts, NUL-terminated */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- handshake ---- */

/** The upgrade request, as header values (each NULL when absent; borrowed). When a header was
 *  sent several times, pass the values joined with ", " (they are comma-separated lists). */
struct ws_handshake {
    const char *method;     /**< "GET" required; NULL: not checked */
    const char *upgrade;    /**< Upgrade: must list "websocket" */
    const char *connection; /**< Connection: must list "upgrade" */
    const char *key;        /**< Sec-WebSocket-Key: base64 of 16 bytes */
    const char *version;    /**< Sec-WebSocket-Version: must be "13" */
    const char *protocol;   /**< Sec-WebSocket-Protocol: the offered list, or NULL */
};

/** The outcome of ws_handshake(). */
struct ws_accept {
    const char *protocol;         /**< the chosen entry of prefs (borrowed from it); "" means
                                       none offered and "" was acceptable: no header is sent */
    char accept[WS_ACCEPT_BYTES]; /**< Sec-WebSocket-Accept value */
    int code;                     /**< on refusal: the HTTP code to answer with (400; 426 for a
                                       wrong version, with "Sec-WebSocket-Version: 13") */
    char err[WS_ERR_BYTES];       /**< on refusal: why, "ws: ..." */
};

/** Check an upgrade request and choose a subprotocol: the first entry of prefs (a NULL-terminated
 *  list in the server's order of preference, borrowed) that the client offered. An entry "" in
 *  prefs accepts a client that offers no subprotocol. Returns 0 and fills out->protocol and
 *  out->accept, or -1 with out->code and out->err (missing or malformed key, version other than
 *  13, missing Upgrade/Connection tokens, no acceptable subprotocol). */
int ws_handshake(const struct ws_handshake *req, const char *const *prefs, struct ws_accept *out);

/** Sec-WebSocket-Accept for a key: base64(SHA-1(key + WS_GUID)) into out (WS_ACCEPT_BYTES).
 *  Returns 0, or -1 when the key is longer than WS_MAX_KEY_BYTES or hashing fails. */
int ws_accept_key(const char *key, char out[WS_ACCEPT_BYTES]);

/** The 101 response head for an accepted handshake, blank line included, into buf (NUL-terminated).
 *  Returns its length, or -1 when len is too small. */
int ws_handshake_response(const struct ws_accept *a, char *buf, size_t len);

/* ---- parser for client frames ---- */

/** One complete message or control frame. Borrowed: valid only during the callback. */
struct ws_message {
    int opcode;                /**< WS_OP_TEXT, _BINARY (reassembled), _PING, _PONG or _CLOSE */
    const unsigned char *data; /**< unmasked payload (never NULL); for close: the reason only */
    size_t len;
    unsigned frames; /**< frames the message arrived in (1 for control frames) */
    int close_code;  /**< close: the code, WS_CLOSE_NO_STATUS when the frame had none */
};

/** Called per complete message or control frame. Return 0 to go on, non-zero to stop
 *  ws_parser_feed() right after this frame (e.g. the session was closed). */
typedef int (*ws_message_cb)(void *arg, const struct ws_message *m);

struct ws_parser;

/** A parser for the frames a client sends: masked, no extensions, text checked as UTF-8 (once the
 *  message is complete), control frames may interleave with a fragmented message, nothing may
 *  follow a close; lengths in a non-minimal form are accepted. max_message caps a reassembled
 *  message (0: WS_MAX_MESSAGE_BYTES) and is checked at each frame head, before any payload is
 *  read; memory never exceeds it plus a constant. cb and arg are borrowed. Caller frees with
 *  ws_parser_free(). NULL on allocation failure. */
struct ws_parser *ws_parser_new(size_t max_message, ws_message_cb cb, void *arg);

/** ws_parser_free(NULL) is a no-op. */
void ws_parser_free(struct ws_parser *p);

/** Feed bytes, split anywhere. Returns 0 when all were consumed; 1 when the callback stopped it
 *  (*consumed, when not NULL, says how many were); -1 on a protocol violation: ws_parser_error()
 *  says what, and every later call returns -1 too (answer with a close 1002/1007/1009 or drop). */
int ws_parser_feed(struct ws_parser *p, const void *data, size_t len, size_t *consumed);

/** The error text after -1 ("ws: ..."), "" before. Borrowed. */
const char *ws_parser_error(const struct ws_parser *p);

/** The close code that fits the error (1002, 1007 or 1009), 0 while there is none. */
int ws_parser_error_code(const struct ws_parser *p);

/** 1 once a close frame has been received. */
int ws_parser_closed(const struct ws_parser *p);

/** Bytes held for a partial message (for tests and logs). */
size_t ws_parser_buffered(const struct ws_parser *p);

/* ---- writers for server frames (unmasked) ---- */

/** Where writers put bytes (conn_write_raw, evbuffer_add...). Return 0, or -1 to abort. */
typedef int (*ws_write_cb)(void *arg, const void *data, size_t len);

/** Encode a frame head: first is the raw first byte (FIN | RSV | opcode; faults may set anything),
 *  len the payload length (minimal 7/16/64-bit encoding), mask 4 bytes or NULL for unmasked.
 *  Returns the head's length (2..WS_MAX_HEAD_BYTES). */
size_t ws_frame_head(unsigned char out[WS_MAX_HEAD_BYTES], unsigned first, uint64_t len,
                     const unsigned char *mask);

/** One unmasked frame, unchecked (faults: bad opcodes, RSV bits, oversized control frames).
 *  Returns 0 or -1 from write. */
int ws_write_frame(ws_write_cb write, void *arg, unsigned first, const void *data, size_t len);

/** A text or binary message, in one frame (frag 0) or in frames of at most frag bytes (the first
 *  with opcode, the rest continuations, FIN on the last). Returns 0, or -1 (write failed, or
 *  opcode is not WS_OP_TEXT/WS_OP_BINARY). */
int ws_write_message(ws_write_cb write, void *arg, int opcode, const void *data, size_t len,
                     size_t frag);

/** Ping and pong. -1 when len > WS_MAX_CONTROL_PAYLOAD or write fails. */
int ws_write_ping(ws_write_cb write, void *arg, const void *data, size_t len);
int ws_write_pong(ws_write_cb write, void *arg, const void *data, size_t len);

/** Close with code and reason (NULL: none). code 0 sends an empty close payload (no code). Codes
 *  are not checked (faults send odd ones). -1 when the reason exceeds WS_MAX_CLOSE_REASON or write
 *  fails. */
int ws_write_close(ws_write_cb write, void *arg, int code, const char *reason);

/** A Kubernetes v4/v5 channel message: one binary frame whose first payload byte is channel. */
int ws_k8s_channel_frame(ws_write_cb write, void *arg, unsigned char channel, const void *data,
                         size_t len);

#endif
