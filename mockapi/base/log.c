/* log.c -- the log sink: leveled, timestamped lines on stderr (or a file) */
#include "mockapi/base/log.h"

#include <stdarg.h>
#include <sys/time.h>
#include <time.h>

/* The log sink is one of the few globals the house style allows. */
static enum log_level current_level = LOG_LEVEL_INFO;
static FILE *sink;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
    current_level = level;
}

enum log_level log_get_level(void)
{
    return current_level;
}

void log_set_file(FILE *f)
{
    sink = f;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level > current_level)
        return;
    FILE *out = sink ? sink : stderr;
    struct timeval tv;
    struct tm tm;
    char stamp[32];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(out, "%s.%03dZ kubefault[%s] %s\n", stamp, (int)(tv.tv_usec / 1000), level_names[level],
            line);
    fflush(out);
}

char *log_snippet(const void *data, size_t len, char *out, size_t out_len)
{
    const unsigned char *p = data;
    size_t n = 0;
    if (out_len == 0)
        return out;
    for (; n < len && n + 1 < out_len; n++)
        out[n] = (p[n] >= 0x20 && p[n] < 0x7f) ? (char)p[n] : '.';
    out[n] = '\0';
    return out;
}
