/* SPDX-License-Identifier: MIT */
/*
 * Direct opens on a filesystem that refuses O_DIRECT (ramfs), in a private
 * mount namespace so that nothing is left mounted whatever happens:
 *  - TIO_DIRECT|TIO_CREATE fails with TIO_ENOTSUP and leaves no file;
 *  - TIO_DIRECT|TIO_TRUNCATE on an existing file fails and truncates nothing;
 *  - TIO_DIRECT_TRY|TIO_CREATE|TIO_EXCL opens buffered (not TIO_EEXIST).
 * Needs root (mount); exits 77 (skipped) where it cannot mount.
 *
 *   direct_refused BACKEND
 */
#define _GNU_SOURCE
#include <taskio.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tio_expect.h"


int main(int argc, char **argv)
{
    const char *backend = argc > 1 ? argv[1] : NULL;
    char dir[] = "/tmp/tio-ramfs-XXXXXX";
    if (geteuid() != 0)
        return skip("not root: cannot mount a ramfs");
    if (unshare(CLONE_NEWNS) != 0)
        return skip("unshare(CLONE_NEWNS) refused");
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return skip("cannot make mounts private");
    if (mkdtemp(dir) == NULL)
        return skip("mkdtemp failed");
    if (mount("ramfs", dir, "ramfs", 0, NULL) != 0) {
        rmdir(dir);
        return skip("the kernel has no ramfs");
    }
    tio_loop_config cfg = {0, 0, backend, 0};
    tio_loop *loop;
    if (tio_loop_create(&loop, &cfg) != 0) {
        umount(dir);
        rmdir(dir);
        return skip("backend unavailable");
    }
    char path[256];
    struct stat st;
    tio_file *f = NULL;

    snprintf(path, sizeof path, "%s/created", dir);
    int rc = tio_file_open(loop, &f, path, TIO_CREATE | TIO_RDWR | TIO_DIRECT, 0600);
    EXPECT(rc == TIO_ENOTSUP, "TIO_DIRECT|TIO_CREATE on ramfs: %d (%s)", rc, tio_strerror(rc));
    EXPECT(f == NULL, "out set on failure");
    EXPECT(strstr(tio_last_error(loop), "refuses direct") != NULL, "message: %s",
           tio_last_error(loop));
    EXPECT(stat(path, &st) != 0 && errno == ENOENT, "a refused direct create left %s behind", path);

    snprintf(path, sizeof path, "%s/kept", dir);
    FILE *fp = fopen(path, "w");
    EXPECT(fp != NULL && fputs("precious", fp) >= 0 && fclose(fp) == 0, "setup %s", path);
    rc = tio_file_open(loop, &f, path, TIO_RDWR | TIO_TRUNCATE | TIO_DIRECT, 0);
    EXPECT(rc == TIO_ENOTSUP, "TIO_DIRECT|TIO_TRUNCATE on ramfs: %d", rc);
    EXPECT(stat(path, &st) == 0 && st.st_size == 8, "a refused direct open truncated %s", path);

    snprintf(path, sizeof path, "%s/excl", dir);
    rc = tio_file_open(loop, &f, path, TIO_CREATE | TIO_EXCL | TIO_RDWR | TIO_DIRECT_TRY, 0600);
    EXPECT(rc == 0, "TIO_DIRECT_TRY|TIO_CREATE|TIO_EXCL on ramfs: %d (%s)", rc,
           tio_last_error(loop));
    if (rc == 0) {
        EXPECT(!tio_file_is_direct(f) && tio_file_align(f) == 1, "fell back to buffered");
        tio_file_close(f);
    }
    rc = tio_file_open(loop, &f, path, TIO_CREATE | TIO_EXCL | TIO_RDWR | TIO_DIRECT_TRY, 0600);
    EXPECT(rc == TIO_EEXIST, "a second exclusive create: %d", rc);

    tio_loop_destroy(loop);
    umount2(dir, MNT_DETACH);
    rmdir(dir);
    printf("direct_refused[%s]: %s\n", backend ? backend : "default", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
