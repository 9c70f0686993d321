/* spdy.h -- SPDY/3.1 framing for exec/attach: an incremental frame parser that inflates header
 * blocks, and frame writers that deflate them; no sockets, no sessions, no stream table */
#ifndef KF_SPDY_H
#define KF_SPDY_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define SPDY_VERSION 3    /**< the only version spoken (SPDY/3.1 frames carry version 3) */
#define SPDY_FRAME_HEAD 8 /**< bytes in every frame header, control or data */

/* Control frame types (SPDY/3 draft §2.6) */
#define SPDY_SYN_STREAM 1    /**< open a stream: id, associated id, priority, header block */
#define SPDY_SYN_REPLY 2     /**< accept a stream: id, header block */
#define SPDY_RST_STREAM 3    /**< abort a stream: id, status */
#define SPDY_SETTINGS 4      /**< count, then (flags:8 id:24 value:32) entries */
#define SPDY_PING 6          /**< 32-bit id, echoed by the receiver */
#define SPDY_GOAWAY 7        /**< last good stream id, status */
#define SPDY_HEADERS 8       /**< more headers for a stream: id, header block */
#define SPDY_WINDOW_UPDATE 9 /**< id, 31-bit delta window size */
#define SPDY_DATA 0          /**< pseudo type this module gives data frames */

/* Flags */
#define SPDY_FLAG_FIN 0x01            /**< last frame the sender sends on this stream */
#define SPDY_FLAG_UNIDIRECTIONAL 0x02 /**< SYN_STREAM: the receiver must not reply with data */
#define SPDY_FLAG_SETTINGS_CLEAR 0x01 /**< SETTINGS: forget persisted settings */

/* RST_STREAM status codes */
#define SPDY_RST_PROTOCOL_ERROR 1
#define SPDY_RST_INVALID_STREAM 2
#define SPDY_RST_REFUSED_STREAM 3
#define SPDY_RST_UNSUPPORTED_VERSION 4
#define SPDY_RST_CANCEL 5
#define SPDY_RST_INTERNAL_ERROR 6
#define SPDY_RST_FLOW_CONTROL_ERROR 7
#define SPDY_RST_STREAM_IN_USE 8
#define SPDY_RST_STREAM_ALREADY_CLOSED 9
#define SPDY_RST_FRAME_TOO_LARGE 11

/* GOAWAY status codes */
#define SPDY_GOAWAY_OK 0
#define SPDY_GOAWAY_PROTOCOL_ERROR 1
#define SPDY_GOAWAY_INTERNAL_ERROR 2

/* Protocol limits */
#define SPDY_MAX_LENGTH 0xffffffu      /**< the 24-bit length field */
#define SPDY_MAX_STREAM_ID 0x7fffffffu /**< stream ids, GOAWAY ids and deltas are 31-bit */

/* Caps on what a peer may make us hold (the parser refuses past them with an error) */
#define SPDY_MAX_FRAME_LEN                                                                         \
    (1024u * 1024u) /**< payload bytes of one frame (client-go writes 32 KiB) */
#define SPDY_MAX_HEADER_BLOCK (64u * 1024u) /**< one header block after inflation */
#define SPDY_MAX_HEADERS 64                 /**< name/value pairs in one header block */
#define SPDY_MAX_SETTINGS 16                /**< entries in one SETTINGS frame */
#define SPDY_MAX_STREAMS 64 /**< SYN_STREAMs per connection (exec/attach opens at most 5) */
#define SPDY_ERR_MAX 160    /**< a useful size for error buffers; messages are cut to fit */

/** The SPDY/3 header compression dictionary (1423 bytes, adler32 0xe3c6a7c2). */
extern const unsigned char spdy_dictionary[];
#define SPDY_DICTIONARY_LEN 1423

/** One name/value pair. In parsed frames both strings are NUL-terminated and borrowed until the
 *  callback returns; value may hold several values separated by NUL bytes (value_len counts them
 *  all). For writers, the lengths are what counts (no terminator needed). */
struct spdy_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/** A header pair from two string literals, for writers. */
#define SPDY_HDR(n, v)                                                                             \
    {                                                                                              \
        (n), sizeof(n) - 1, (v), sizeof(v) - 1                                                     \
    }

/** One SETTINGS entry. */
struct spdy_setting {
    uint8_t flags; /**< 0x01 persist value, 0x02 persisted */
    uint32_t id;   /**< 24-bit */
    uint32_t value;
};

/** One complete frame, as the parser hands it over. Everything it points to is borrowed until the
 *  callback returns. Fields not listed for a type are 0 / NULL. */
struct spdy_frame {
    int control;     /**< 1 for control frames, 0 for data frames */
    uint16_t type;   /**< SPDY_SYN_STREAM, ..., or SPDY_DATA; unknown control types pass through */
    uint8_t flags;   /**< the frame's flags byte */
    uint32_t length; /**< payload length from the frame header */
    uint32_t stream_id; /**< DATA, SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE;
                             GOAWAY: last good stream id */
    uint32_t assoc_id;  /**< SYN_STREAM */
    uint8_t priority;   /**< SYN_STREAM: 0 (highest) to 7 */
    uint8_t slot;       /**< SYN_STREAM: credential slot */
    uint32_t status;    /**< RST_STREAM, GOAWAY */
    uint32_t ping_id;   /**< PING */
    uint32_t delta;     /**< WINDOW_UPDATE */
    const struct spdy_header *headers; /**< SYN_STREAM, SYN_REPLY, HEADERS: the decoded block */
    size_t nheaders;
    const struct spdy_setting *settings; /**< SETTINGS */
    size_t nsettings;
    const unsigned char *data; /**< DATA: the payload; unknown control types: the raw payload */
    size_t data_len;
};

/** Called once per complete frame. Return 0 to go on, -1 to stop: the feed then fails with
 *  "spdy: stopped by the frame handler". It must not free the parser. */
typedef int (*spdy_frame_cb)(void *arg, const struct spdy_frame *f);

struct spdy_parser;

/** A parser for one connection's incoming bytes, with its own zlib inflate stream (primed with
 *  spdy_dictionary when the peer's zlib header asks for it). NULL on allocation failure.
 *  Caller frees with spdy_parser_free(). */
struct spdy_parser *spdy_parser_new(spdy_frame_cb on_frame, void *arg);

/** Free the parser and its zlib stream. spdy_parser_free(NULL) is a no-op. */
void spdy_parser_free(struct spdy_parser *p);

/** Feed len bytes, split anywhere. Calls on_frame for each frame completed by these bytes, in
 * order. Returns 0, or -1 with a message starting "spdy: " in err (when err is not NULL) on
 * malformed input, a cap exceeded, allocation failure or a stop from the callback. After -1 the
 * parser is dead (the shared inflate stream cannot resync): every later feed fails with the same
 * message. */
int spdy_parser_feed(struct spdy_parser *p, const void *data, size_t len, char *err, size_t errlen);

/** spdy_parser_feed() over the whole of in, draining it (upgraded connection input). */
int spdy_parser_feed_evbuffer(struct spdy_parser *p, struct evbuffer *in, char *err, size_t errlen);

/** How many bytes of a frame are buffered, waiting for the rest (0 at a frame boundary). */
size_t spdy_parser_pending(const struct spdy_parser *p);

struct spdy_encoder;

/** One connection's outgoing header compressor: a zlib deflate stream primed with
 *  spdy_dictionary, shared by every header block written, each ended with Z_SYNC_FLUSH. NULL on
 *  allocation failure. Caller frees with spdy_encoder_free(). */
struct spdy_encoder *spdy_encoder_new(void);

/** spdy_encoder_free(NULL) is a no-op. */
void spdy_encoder_free(struct spdy_encoder *e);

/* Writers append exactly one frame to out and return 0, or return -1 and append nothing: on an
 * argument out of range (stream id 0 or past 31 bits, payload past 24 bits, more than
 * SPDY_MAX_HEADERS headers, an empty or upper-case header name, an uncompressed block past
 * SPDY_MAX_HEADER_BLOCK) or allocation failure. The header-block writers put a message in err;
 * if they fail after compressing, the encoder is dead (the peer's inflate stream would no longer
 * match), and later calls fail too. Header names must be lower case, and connection, keep-alive,
 * proxy-connection and transfer-encoding must not be sent (spdystream rejects the frame): the
 * caller's business, not checked here. */

/** SYN_REPLY for stream_id with the given headers (nheaders may be 0). flags: SPDY_FLAG_FIN. */
int spdy_write_syn_reply(struct spdy_encoder *e, struct evbuffer *out, uint32_t stream_id,
                         uint8_t flags, const struct spdy_header *headers, size_t nheaders,
                         char *err, size_t errlen);

/** SYN_STREAM (what clients send; here for tests and server-pushed streams). priority 0..7. */
int spdy_write_syn_stream(struct spdy_encoder *e, struct evbuffer *out, uint32_t stream_id,
                          uint32_t assoc_id, uint8_t priority, uint8_t flags,
                          const struct spdy_header *headers, size_t nheaders, char *err,
                          size_t errlen);

/** HEADERS for stream_id. */
int spdy_write_headers(struct spdy_encoder *e, struct evbuffer *out, uint32_t stream_id,
                       uint8_t flags, const struct spdy_header *headers, size_t nheaders, char *err,
                       size_t errlen);

/** DATA on stream_id; flags SPDY_FLAG_FIN ends the stream (len 0 is fine). */
int spdy_write_data(struct evbuffer *out, uint32_t stream_id, uint8_t flags, const void *data,
                    size_t len);

/** RST_STREAM for stream_id with status (SPDY_RST_*, not 0). */
int spdy_write_rst_stream(struct evbuffer *out, uint32_t stream_id, uint32_t status);

/** PING with id (the echo of a client's ping carries the client's id). */
int spdy_write_ping(struct evbuffer *out, uint32_t id);

/** GOAWAY with the last stream id accepted and a SPDY_GOAWAY_* status. */
int spdy_write_goaway(struct evbuffer *out, uint32_t last_good_id, uint32_t status);

/** SETTINGS with n entries (ids are 24-bit; n at most SPDY_MAX_SETTINGS). */
int spdy_write_settings(struct evbuffer *out, uint8_t flags, const struct spdy_setting *settings,
                        size_t n);

/** WINDOW_UPDATE for stream_id (0 is the connection) with a 31-bit delta (not 0). */
int spdy_write_window_update(struct evbuffer *out, uint32_t stream_id, uint32_t delta);

#endif
