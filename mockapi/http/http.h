/* http.h -- HTTP protocol constants: status codes, reason phrases, content types, caps */
#ifndef KF_HTTP_H
#define KF_HTTP_H

#define HTTP_OK 200               /**< request completed */
#define HTTP_CREATED 201          /**< object created */
#define HTTP_ACCEPTED 202         /**< accepted (GitLab: trace appended) */
#define HTTP_NOCONTENT 204        /**< no body (GitLab: no job for the runner) */
#define HTTP_SWITCHING 101        /**< protocol upgrade accepted */
#define HTTP_BADREQUEST 400       /**< malformed request or invalid query */
#define HTTP_UNAUTHORIZED 401     /**< missing or wrong bearer token */
#define HTTP_FORBIDDEN 403        /**< denied */
#define HTTP_NOTFOUND 404         /**< no such object or path */
#define HTTP_METHODNOTALLOWED 405 /**< verb not supported on this path */
#define HTTP_NOTACCEPTABLE 406    /**< no acceptable representation */
#define HTTP_CONFLICT 409         /**< already exists / resourceVersion conflict */
#define HTTP_GONE 410             /**< resourceVersion too old */
#define HTTP_PRECONDFAILED 412    /**< GitLab: the final update's trace checksum is wrong */
#define HTTP_PAYLOADTOOLARGE 413  /**< body over the cap */
#define HTTP_URITOOLONG 414       /**< request line over the cap */
#define HTTP_UNSUPPORTEDMEDIA 415 /**< body in a format we cannot read */
#define HTTP_BADRANGE 416         /**< GitLab: a trace patch not at the trace's end */
#define HTTP_UNPROCESSABLE 422    /**< invalid object */
#define HTTP_TOOMANYREQUESTS 429  /**< throttled */
#define HTTP_HEADERSTOOLARGE 431  /**< headers over the caps */
#define HTTP_INTERNAL 500         /**< internal error */
#define HTTP_NOTIMPLEMENTED 501   /**< not implemented */
#define HTTP_SERVUNAVAIL 503      /**< unavailable */
#define HTTP_GATEWAYTIMEOUT 504   /**< timeout */

#define HTTP_CT_JSON "application/json"
#define HTTP_CT_TEXT "text/plain; charset=utf-8"
#define HTTP_CT_PROTOBUF "application/vnd.kubernetes.protobuf"
#define HTTP_CT_MERGE_PATCH "application/merge-patch+json"
#define HTTP_CT_JSON_PATCH "application/json-patch+json"
#define HTTP_CT_STRATEGIC_PATCH "application/strategic-merge-patch+json"
#define HTTP_CT_APPLY_PATCH "application/apply-patch+yaml"
#define HTTP_CT_YAML "application/yaml"

/* Caps on what a client controls; each trips a Status answer, never growth. */
#define HTTP_MAX_URL_BYTES (16 * 1024)        /**< request target; over it: 414 */
#define HTTP_MAX_HEADER_BYTES (64 * 1024)     /**< all header names and values; over it: 431 */
#define HTTP_MAX_HEADER_COUNT 128             /**< header lines; over it: 431 */
#define HTTP_MAX_BODY_BYTES (4 * 1024 * 1024) /**< request body; over it: 413 */
#define HTTP_MAX_QUERY_PARAMS 64              /**< query parameters kept; more: 400 */
#define HTTP_MAX_UNREAD_BYTES                                                                      \
    (256 * 1024) /**< input buffered while a request is answered;                                  \
                      past it the server stops reading (TCP backpressure) */

/** The reason phrase for a status code ("Not Found"); "Unknown" for codes not listed. */
const char *http_reason(int code);

#endif
