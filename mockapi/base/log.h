/* log.h -- the log sink: leveled, timestamped lines on stderr (or a file), bounded and sanitised
 * snippets */
#ifndef KF_LOG_H
#define KF_LOG_H

#include <stddef.h>
#include <stdio.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/** Messages above this level are dropped. Default: LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/** Send lines to f (borrowed; NULL means stderr). */
void log_set_file(FILE *f);

/** Write one line: "2026-11-27T23:15:30.123Z kubefault[info] <message>". */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Copy at most out_len-1 bytes of data into out with non-printables as '.', for logging client
 * bytes (Redis logs 128 bytes this way). Returns out. */
char *log_snippet(const void *data, size_t len, char *out, size_t out_len);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_get_level() >= LOG_LEVEL_DEBUG)                                                    \
            log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                                 \
    } while (0)

#endif
