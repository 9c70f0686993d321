/* replay.c -- a standalone main() for the fuzz targets in builds without libFuzzer (gcc, ASan,
 * valgrind): feeds every file of the directories (or the files) named on the command line to
 * LLVMFuzzerTestOneInput, so the seed corpus and every crash ever found run in each test pass.
 *
 * Usage: fuzz_NAME [-q] PATH...  A directory's files are fed in name order (dot files skipped; a
 * directory that does not exist is skipped with a note, as tests/fuzz/regressions/NAME/ exists
 * only once a crash was found). Exits 0 when every input returned, 2 on bad usage, an unreadable
 * file or no input at all; a crash ends the process as it would under libFuzzer. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_MAX_INPUT (64u * 1024u * 1024u) /**< larger files are refused, not read */

static int quiet;

/* Read a whole file into a new buffer (one spare byte, never read by the target, so an empty file
 * still has a non-NULL pointer). 0, or -1 with a message printed. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    struct stat st;
    int rc = -1;
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: %s: cannot size it or larger than %u bytes\n", path,
                REPLAY_MAX_INPUT);
        goto out;
    }
    size_t n = (size_t)st.st_size;
    if (!(buf = malloc(n + 1)) || fread(buf, 1, n, f) != n) {
        fprintf(stderr, "replay: %s: read failed\n", path);
        goto out;
    }
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

/* Feed one file. 0, or -1 when it could not be read. */
static int run_file(const char *path)
{
    uint8_t *data;
    size_t len;
    if (read_file(path, &data, &len) < 0)
        return -1;
    if (!quiet)
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    /* the target gets exactly len bytes: a copy of that size lets ASan catch a read past it */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feed every regular file of dir in name order. The number fed, or -1 on an error. */
static long run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    long fed = 0;
    struct dirent *e;
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn)
                goto fail;
            names = nn;
            cap = ncap;
        }
        size_t plen = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(plen)))
            goto fail;
        snprintf(names[n++], plen, "%s/%s", dir, e->d_name);
    }
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (run_file(names[i]) < 0)
            goto fail;
        fed++;
    }
    goto out;
fail:
    fed = -1;
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return fed;
}

int main(int argc, char **argv)
{
    long total = 0;
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "-q") == 0) {
        quiet = 1;
        first = 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [-q] DIR-OR-FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = first; i < argc; i++) {
        struct stat st;
        long fed;
        if (stat(argv[i], &st) < 0 && errno == ENOENT) {
            fprintf(stderr, "replay: %s: no such directory, skipped\n", argv[i]);
            continue;
        }
        fed = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : (run_file(argv[i]) < 0 ? -1 : 1);
        if (fed < 0)
            return 2;
        total += fed;
    }
    if (total == 0) {
        fprintf(stderr, "replay: no input found\n");
        return 2;
    }
    fprintf(stderr, "replay: %ld inputs ran\n", total);
    return 0;
}
