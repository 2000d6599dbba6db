/* Whole-file reads and atomic writes (temp file in the same directory, fsync, rename, fsync dir). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jatp/io.h"

jt_status jt_read_file(jt_ctx *ctx, const char *path, size_t max_size, void **data, size_t *size) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return jt_fail(ctx, JT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return jt_fail(ctx, JT_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)max_size) {
        fclose(f);
        return jt_fail(ctx, JT_ERR_IO, "%s: file is %lld bytes, more than the %zu-byte limit", path,
                       (long long)st.st_size, max_size);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory reading %zu bytes", path, n);
    }
    if (n && fread(buf, 1, n, f) != n) {
        int e = errno;
        free(buf);
        fclose(f);
        return jt_fail(ctx, JT_ERR_IO, "%s: read failed: %s", path, strerror(e));
    }
    fclose(f);
    *data = buf;
    *size = n;
    return JT_OK;
}

jt_status jt_write_atomic(jt_ctx *ctx, const char *path, const void *data, size_t size) {
    size_t len = strlen(path);
    char *tmp = malloc(len + 32);
    char *dircopy = strdup(path);
    if (!tmp || !dircopy) {
        free(tmp);
        free(dircopy);
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", path);
    }
    snprintf(tmp, len + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        jt_status st = jt_fail(ctx, JT_ERR_IO, "%s: cannot create temporary file: %s", path, strerror(errno));
        free(tmp);
        free(dircopy);
        return st;
    }
    const unsigned char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            free(dircopy);
            return jt_fail(ctx, JT_ERR_IO, "%s: write failed: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        free(dircopy);
        return jt_fail(ctx, JT_ERR_IO, "%s: flush failed: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        free(dircopy);
        return jt_fail(ctx, JT_ERR_IO, "%s: rename failed: %s", path, strerror(e));
    }
    int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(tmp);
    free(dircopy);
    return JT_OK;
}
