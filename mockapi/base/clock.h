/* clock.h -- the one clock interface: wall and monotonic time, RFC 3339 stamps */
#ifndef KF_CLOCK_H
#define KF_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/** Wall-clock time in nanoseconds since the epoch. */
int64_t clock_wall_ns(void);

/** Monotonic time in nanoseconds (for durations and timers). */
int64_t clock_mono_ns(void);

/** Format epoch seconds as Kubernetes' RFC 3339 ("2026-11-27T23:15:30Z") into buf (>= 21 bytes).
 *  Returns buf. */
char *clock_rfc3339(int64_t epoch_s, char *buf, size_t len);

/** Same with microseconds ("2026-11-27T23:15:30.123456Z"), as MicroTime fields use. */
char *clock_rfc3339_micro(int64_t epoch_ns, char *buf, size_t len);

/** Parse "2026-11-27T23:15:30Z" (optional fraction) into epoch seconds; -1 on error. */
int64_t clock_parse_rfc3339(const char *s);

#endif
