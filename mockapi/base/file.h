/* file.h -- whole-buffer writes and atomic file replacement (temporary beside, fsync, rename) */
#ifndef KF_FILE_H
#define KF_FILE_H

#include <stddef.h>
#include <sys/types.h>

/** Cap on a path file_write_atomic() writes, its temporary's ".XXXXXX" suffix and NUL included. */
#define FILE_PATH_MAX 4096

/**
 * Write all len bytes of data (borrowed) to fd, retrying short writes and EINTR.
 * Returns 0, or -1 with errno from write() (left as it was when write() returned 0).
 */
int file_write_all(int fd, const void *data, size_t len);

/**
 * Replace path with the len bytes of data (borrowed), atomically: write a temporary file
 * "<path>.XXXXXX" beside path (mkstemp), set its mode, fsync it, close it and rename() it over
 * path, so readers see the old file or the whole new one, never part of it. mode is applied with
 * fchmod(), not filtered by the umask. Returns 0, or -1 with a message in err (errlen bytes;
 * "<file>: <strerror>" for system errors, "<path>: path too long (max N)" when the temporary's
 * path would not fit in FILE_PATH_MAX); on failure path is untouched and no temporary remains.
 */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                      size_t errlen);

#endif
