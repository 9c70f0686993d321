/* file.c -- whole-buffer writes and atomic file replacement (temporary beside, fsync, rename) */
#include "mockapi/base/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The mkstemp suffix appended to the target's path. */
#define TMP_SUFFIX ".XXXXXX"

int file_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                      size_t errlen)
{
    char tmp[FILE_PATH_MAX];
    int fd = -1;
    int n;

    tmp[0] = '\0';
    /* Beside path, so rename() stays within one file system and is atomic. */
    n = snprintf(tmp, sizeof tmp, "%s" TMP_SUFFIX, path);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        tmp[0] = '\0';
        snprintf(err, errlen, "%s: path too long (max %d)", path,
                 (int)(FILE_PATH_MAX - sizeof TMP_SUFFIX));
        goto fail;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        tmp[0] = '\0';
        goto fail;
    }
    /* mkstemp makes 0600; set the caller's mode explicitly either way, before any byte lands. */
    if (fchmod(fd, mode) != 0 || file_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    if (tmp[0] != '\0')
        unlink(tmp);
    return -1;
}
