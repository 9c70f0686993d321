/* test_file.c -- tests mockapi/base/file.c: whole writes, atomic replacement, modes, clean failure
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mockapi/base/file.h"

struct tmpdir {
    char path[64];
};

static int dir_setup(void **state)
{
    struct tmpdir *d = calloc(1, sizeof *d);

    if (d == NULL)
        return -1;
    snprintf(d->path, sizeof d->path, "/tmp/test_file.XXXXXX");
    if (mkdtemp(d->path) == NULL) {
        free(d);
        return -1;
    }
    *state = d;
    return 0;
}

/* Removes what the tests leave (files and empty directories, one level) and the directory. */
static int dir_teardown(void **state)
{
    struct tmpdir *d = *state;
    DIR *dir = opendir(d->path);
    struct dirent *de;
    char p[512];

    while (dir != NULL && (de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", d->path, de->d_name);
        if (unlink(p) != 0)
            rmdir(p);
    }
    if (dir != NULL)
        closedir(dir);
    rmdir(d->path);
    free(d);
    return 0;
}

static int not_dot(const struct dirent *de)
{
    return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

/* Entries of path besides . and ..: a leftover temporary shows up here. */
static int count_entries(const char *path)
{
    struct dirent **names = NULL;
    int n = scandir(path, &names, not_dot, NULL);

    assert_true(n >= 0);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return n;
}

/* The contents of path into buf (NUL added); returns the byte count. */
static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static void write_all_through_a_pipe(void **state)
{
    char big[200000];
    char *got = malloc(sizeof big);
    int fds[2];
    size_t total = 0;
    pid_t pid;

    (void)state;
    assert_non_null(got);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(pipe(fds), 0);
    /* More than a pipe buffer: the writer must loop over short writes while a child reads. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(file_write_all(fds[1], big, sizeof big) == 0 ? 0 : 1);
    }
    close(fds[1]);
    for (;;) {
        ssize_t r = read(fds[0], got + total, sizeof big - total);

        if (r <= 0)
            break;
        total += (size_t)r;
    }
    close(fds[0]);
    assert_int_equal(total, sizeof big);
    assert_memory_equal(got, big, sizeof big);
    free(got);
    assert_int_equal(file_write_all(-1, "x", 1), -1);
    assert_int_equal(file_write_all(-1, "x", 0), 0); /* nothing to write */
}

static void atomic_writes_and_replaces(void **state)
{
    struct tmpdir *d = *state;
    static const char bin[] = {'a', '\0', 'b', '\n'};
    char path[256];
    char buf[64];
    char err[512] = "";
    struct stat st;
    ino_t first;

    snprintf(path, sizeof path, "%s/out", d->path);
    assert_int_equal(file_write_atomic(path, "hello\n", 6, 0644, err, sizeof err), 0);
    assert_int_equal(slurp(path, buf, sizeof buf), 6);
    assert_string_equal(buf, "hello\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    first = st.st_ino;
    /* Replacing: a new file renamed over the old one (new inode), exact bytes, new mode. */
    assert_int_equal(file_write_atomic(path, bin, sizeof bin, 0600, err, sizeof err), 0);
    assert_int_equal(slurp(path, buf, sizeof buf), sizeof bin);
    assert_memory_equal(buf, bin, sizeof bin);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(st.st_ino != first);
    /* Empty contents are a valid file. */
    assert_int_equal(file_write_atomic(path, "", 0, 0600, err, sizeof err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(count_entries(d->path), 1);
}

static void mode_ignores_umask(void **state)
{
    struct tmpdir *d = *state;
    char path[256];
    char err[512] = "";
    struct stat st;
    mode_t old = umask(077);

    snprintf(path, sizeof path, "%s/public", d->path);
    assert_int_equal(file_write_atomic(path, "x", 1, 0644, err, sizeof err), 0);
    umask(old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
}

static void failures_leave_nothing(void **state)
{
    struct tmpdir *d = *state;
    char path[256];
    char sub[256];
    char buf[64];
    char err[512] = "";

    /* No such directory: the temporary cannot be made. */
    assert_int_equal(file_write_atomic("/nonexistent/kubefault/out", "x", 1, 0600, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/kubefault/out."));
    assert_non_null(strstr(err, "No such file or directory"));
    /* rename() over a directory fails: the message names the target, the temporary is gone. */
    snprintf(path, sizeof path, "%s/dir", d->path);
    assert_int_equal(mkdir(path, 0700), 0);
    err[0] = '\0';
    assert_int_equal(file_write_atomic(path, "x", 1, 0600, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "directory"));
    assert_int_equal(count_entries(d->path), 1);
    /* An existing file is untouched by a failed write. */
    snprintf(path, sizeof path, "%s/keep", d->path);
    assert_int_equal(file_write_atomic(path, "old", 3, 0600, err, sizeof err), 0);
    snprintf(sub, sizeof sub, "%s/keep/sub", d->path);
    assert_int_equal(file_write_atomic(sub, "new", 3, 0600, err, sizeof err), -1);
    assert_int_equal(slurp(path, buf, sizeof buf), 3);
    assert_string_equal(buf, "old");
    assert_int_equal(count_entries(d->path), 2);
}

static void path_too_long(void **state)
{
    char *path = malloc(FILE_PATH_MAX + 1);
    char err[FILE_PATH_MAX + 128];

    (void)state;
    assert_non_null(path);
    /* FILE_PATH_MAX - 8 characters fit with ".XXXXXX" and the NUL; one more does not. */
    memset(path, 'a', FILE_PATH_MAX - 7);
    path[0] = '/';
    path[FILE_PATH_MAX - 7] = '\0';
    err[0] = '\0';
    assert_int_equal(file_write_atomic(path, "x", 1, 0600, err, sizeof err), -1);
    assert_non_null(strstr(err, ": path too long (max 4088)"));
    /* At the cap the path is accepted; it then fails in the file system, not on length. */
    path[FILE_PATH_MAX - 8] = '\0';
    err[0] = '\0';
    assert_int_equal(file_write_atomic(path, "x", 1, 0600, err, sizeof err), -1);
    assert_null(strstr(err, "path too long"));
    /* A short err buffer gets a cut message, never an overflow. */
    assert_int_equal(file_write_atomic("/nonexistent/x", "x", 1, 0600, err, 8), -1);
    assert_int_equal(strlen(err), 7);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_all_through_a_pipe),
        cmocka_unit_test_setup_teardown(atomic_writes_and_replaces, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(mode_ignores_umask, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(failures_leave_nothing, dir_setup, dir_teardown),
        cmocka_unit_test(path_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
