// SPDX-License-Identifier: MIT
/*
 * tio-faultfs: a FUSE filesystem that passes through to a backing directory
 * and misbehaves on command, for the EIO and power-loss tests.
 *
 *   tio-faultfs BACKING MOUNTPOINT [--direct-io] [--lazy] [--crash-on-close]
 *
 * Faults. Reads, writes and fsyncs fail with EIO by rule: a rule names the
 * operation, a byte range [START, END) (END 0: to the end; fsync ignores
 * it), how many matching operations to let through first (SKIP) and how
 * many to fail then (COUNT, -1: all). Nothing of a failed write reaches
 * the file.
 *
 * Power loss (--lazy, LazyFS's model). A write is kept in this process's
 * memory, per file, and reads see it; fsync, fdatasync and writes that
 * carry O_DSYNC (the open's flags or the write's) persist a file's kept
 * writes to the backing directory and fsync it there. A crash discards
 * every kept write, as a power cut discards a page cache. A failed fsync
 * does what Linux does after a writeback error: the kept writes stay
 * readable but are never persisted (a later fsync succeeds without them),
 * until the crash discards them. Metadata (create, truncate, fallocate,
 * rename, unlink) is persisted at once. --crash-on-close crashes whenever a
 * descriptor opened for writing is closed (FUSE's flush, which the kernel
 * sends while the closing process exits): a writer killed by SIGKILL is
 * then a machine that lost power at the same moment.
 *
 * --direct-io opens every file with FOPEN_DIRECT_IO: the kernel caches no
 * file data, so every read and write reaches this process (the power-loss
 * tests need that: a kernel-cached page would survive the crash).
 *
 * Control: the file /.faultfs at the root. Write commands to it, one per
 * line; read it for the counters.
 *   fail read|write|fsync START END SKIP COUNT
 *   clear                    disarm every rule
 *   crash                    discard every kept write
 *   lazy 0|1, crash_on_close 0|1
 *
 * Single-threaded (-s): operations are served one at a time, in order.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <fuse.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define CONTROL "/.faultfs"
#define CONTROL_FH UINT64_MAX

/* ---------------------------------------------------------------- state */

enum { OP_READ, OP_WRITE, OP_FSYNC, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"read", "write", "fsync"};

typedef struct rule {
    int armed;
    uint64_t start, end; /* end 0: no end */
    long skip, count;    /* count -1: every matching operation */
} rule;

typedef struct extent {
    struct extent *next;
    uint64_t off;
    size_t len;
    int doomed; /* a failed fsync covered it: never persisted */
    unsigned char data[];
} extent;

/* The kept writes of one backing inode, oldest first. */
typedef struct lazyfile {
    struct lazyfile *next;
    dev_t dev;
    ino_t ino;
    extent *head, **tail;
    uint64_t end; /* the largest offset + length kept */
} lazyfile;

static struct {
    int backing;
    int direct_io, lazy, crash_on_close;
    rule rules[OP_COUNT];
    lazyfile *files;
    uint64_t crashes, dropped_bytes, dropped_writes, kept_writes, persisted_writes;
    uint64_t fsyncs, failed[OP_COUNT], doomed_bytes;
} g;

/* ---------------------------------------------------------------- helpers */

/* A FUSE path ("/a/b") as a path relative to the backing directory. */
static const char *rel(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

/* 1 when this operation is to fail with EIO. */
static int inject(int op, uint64_t off, size_t len)
{
    rule *r = &g.rules[op];
    if (!r->armed)
        return 0;
    if (op != OP_FSYNC && (off + len <= r->start || (r->end != 0 && off >= r->end)))
        return 0;
    if (r->skip > 0) {
        r->skip--;
        return 0;
    }
    if (r->count == 0)
        return 0;
    if (r->count > 0)
        r->count--;
    g.failed[op]++;
    return 1;
}

static lazyfile *lazy_find(int fd, int create)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return NULL;
    for (lazyfile *f = g.files; f != NULL; f = f->next)
        if (f->dev == st.st_dev && f->ino == st.st_ino)
            return f;
    if (!create)
        return NULL;
    lazyfile *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->dev = st.st_dev, f->ino = st.st_ino;
    f->tail = &f->head;
    f->next = g.files;
    g.files = f;
    return f;
}

static void lazy_clear(lazyfile *f)
{
    for (extent *e = f->head, *n; e != NULL; e = n) {
        n = e->next;
        g.dropped_bytes += e->len;
        g.dropped_writes++;
        free(e);
    }
    f->head = NULL, f->tail = &f->head, f->end = 0;
}

/* Persist a file's kept writes (not the doomed ones) and fsync it. The
 * doomed ones stay readable until a crash. */
static int lazy_persist(int fd, lazyfile *f, int datasync)
{
    extent **link = &f->head;
    f->end = 0;
    while (*link != NULL) {
        extent *e = *link;
        if (e->doomed) {
            f->end = f->end > e->off + e->len ? f->end : e->off + e->len;
            link = &e->next;
            continue;
        }
        if (pwrite(fd, e->data, e->len, (off_t)e->off) != (ssize_t)e->len)
            return -errno;
        g.persisted_writes++;
        *link = e->next;
        free(e);
    }
    f->tail = link;
    return (datasync ? fdatasync(fd) : fsync(fd)) == 0 ? 0 : -errno;
}

static void crash(void)
{
    for (lazyfile *f = g.files, *n; f != NULL; f = n) {
        n = f->next;
        lazy_clear(f);
        free(f);
    }
    g.files = NULL;
    g.crashes++;
}

static int status_text(char *buf, size_t size)
{
    uint64_t kept = 0;
    for (lazyfile *f = g.files; f != NULL; f = f->next)
        for (extent *e = f->head; e != NULL; e = e->next)
            kept += e->len;
    return snprintf(
        buf, size,
        "crashes %" PRIu64 "\ndropped_bytes %" PRIu64 "\ndropped_writes %" PRIu64
        "\nkept_writes %" PRIu64 "\npersisted_writes %" PRIu64 "\nunsynced_bytes %" PRIu64
        "\ndoomed_bytes %" PRIu64 "\nfsyncs %" PRIu64 "\nfailed_read %" PRIu64
        "\nfailed_write %" PRIu64 "\nfailed_fsync %" PRIu64 "\n",
        g.crashes, g.dropped_bytes, g.dropped_writes, g.kept_writes, g.persisted_writes, kept,
        g.doomed_bytes, g.fsyncs, g.failed[OP_READ], g.failed[OP_WRITE], g.failed[OP_FSYNC]);
}

static int command(const char *line)
{
    char op[16];
    unsigned long long start, end;
    long skip, count;
    int v;
    if (sscanf(line, "fail %15s %llu %llu %ld %ld", op, &start, &end, &skip, &count) == 5) {
        for (int i = 0; i < OP_COUNT; i++)
            if (strcmp(op, op_names[i]) == 0) {
                g.rules[i] = (rule){1, start, end, skip, count};
                return 0;
            }
        return -EINVAL;
    }
    if (strcmp(line, "clear") == 0) {
        memset(g.rules, 0, sizeof g.rules);
        return 0;
    }
    if (strcmp(line, "crash") == 0) {
        crash();
        return 0;
    }
    if (sscanf(line, "lazy %d", &v) == 1) {
        g.lazy = v;
        return 0;
    }
    if (sscanf(line, "crash_on_close %d", &v) == 1) {
        g.crash_on_close = v;
        return 0;
    }
    return -EINVAL;
}

/* ---------------------------------------------------------------- operations */

static void *ffs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    cfg->use_ino = 0;
    cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
    cfg->direct_io = g.direct_io;
    cfg->kernel_cache = 0;
    return NULL;
}

static int ffs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    if (strcmp(path, CONTROL) == 0) {
        memset(st, 0, sizeof *st);
        st->st_mode = S_IFREG | 0600;
        st->st_nlink = 1;
        st->st_size = 4096;
        return 0;
    }
    int rc = fi != NULL && fi->fh != CONTROL_FH
                 ? fstat((int)fi->fh, st)
                 : fstatat(g.backing, rel(path), st, AT_SYMLINK_NOFOLLOW);
    if (rc != 0)
        return -errno;
    if (S_ISREG(st->st_mode)) {
        for (lazyfile *f = g.files; f != NULL; f = f->next)
            if (f->dev == st->st_dev && f->ino == st->st_ino && f->end > (uint64_t)st->st_size)
                st->st_size = (off_t)f->end;
    }
    return 0;
}

static int ffs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)off, (void)fi, (void)flags;
    int fd = openat(g.backing, rel(path), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -errno;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        fill(buf, e->d_name, NULL, 0, 0);
    closedir(d);
    return 0;
}

static int open_common(const char *path, struct fuse_file_info *fi, int create, mode_t mode)
{
    if (strcmp(path, CONTROL) == 0) {
        fi->fh = CONTROL_FH;
        fi->direct_io = 1;
        return 0;
    }
    /* O_DIRECT is the kernel's business with FUSE; the backing file is
     * opened without it (not every backing filesystem takes it). */
    int flags = (fi->flags & ~(O_DIRECT | O_NOFOLLOW)) | O_CLOEXEC;
    int fd = create ? openat(g.backing, rel(path), flags | O_CREAT, mode)
                    : openat(g.backing, rel(path), flags);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    fi->direct_io = g.direct_io;
    fi->keep_cache = 0;
    return 0;
}

static int ffs_open(const char *path, struct fuse_file_info *fi)
{
    return open_common(path, fi, 0, 0);
}

static int ffs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return open_common(path, fi, 1, mode);
}

static int ffs_read(const char *path, char *buf, size_t len, off_t off, struct fuse_file_info *fi)
{
    (void)path;
    if (fi->fh == CONTROL_FH) {
        char text[1024];
        int n = status_text(text, sizeof text);
        if (off >= n)
            return 0;
        size_t k = (size_t)n - (size_t)off < len ? (size_t)n - (size_t)off : len;
        memcpy(buf, text + off, k);
        return (int)k;
    }
    if (inject(OP_READ, (uint64_t)off, len))
        return -EIO;
    int fd = (int)fi->fh;
    ssize_t n = pread(fd, buf, len, off);
    if (n < 0)
        return -errno;
    lazyfile *f = lazy_find(fd, 0);
    if (f == NULL || f->head == NULL)
        return (int)n;
    /* The kept writes over what the backing file holds. */
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    uint64_t size = f->end > (uint64_t)st.st_size ? f->end : (uint64_t)st.st_size;
    if ((uint64_t)off >= size)
        return 0;
    size_t want = size - (uint64_t)off < len ? (size_t)(size - (uint64_t)off) : len;
    if ((size_t)n < want)
        memset(buf + n, 0, want - (size_t)n);
    for (extent *e = f->head; e != NULL; e = e->next) {
        uint64_t lo = e->off > (uint64_t)off ? e->off : (uint64_t)off;
        uint64_t hi = e->off + e->len < (uint64_t)off + want ? e->off + e->len
                                                             : (uint64_t)off + want;
        if (lo < hi)
            memcpy(buf + (lo - (uint64_t)off), e->data + (lo - e->off), hi - lo);
    }
    return (int)want;
}

static int control_write(const char *buf, size_t len)
{
    char line[256];
    size_t k = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, buf, k);
    line[k] = 0;
    for (char *s = line, *nl; s != NULL && *s; s = nl) {
        nl = strchr(s, '\n');
        if (nl != NULL)
            *nl++ = 0;
        if (*s && command(s) != 0)
            return -EINVAL;
    }
    return (int)len;
}

static int ffs_write(const char *path, const char *buf, size_t len, off_t off,
                     struct fuse_file_info *fi)
{
    (void)path;
    if (fi->fh == CONTROL_FH)
        return control_write(buf, len);
    if (inject(OP_WRITE, (uint64_t)off, len))
        return -EIO;
    int fd = (int)fi->fh;
    int dsync = (fi->flags & O_DSYNC) != 0 || (fcntl(fd, F_GETFL) & O_DSYNC) != 0;
    if (!g.lazy || dsync) {
        lazyfile *f = lazy_find(fd, 0);
        if (f != NULL && f->head != NULL) { /* older kept writes go first */
            int rc = lazy_persist(fd, f, 1);
            if (rc != 0)
                return rc;
        }
        ssize_t n = pwrite(fd, buf, len, off);
        if (n < 0)
            return -errno;
        if (dsync && fdatasync(fd) != 0)
            return -errno;
        g.persisted_writes++;
        return (int)n;
    }
    lazyfile *f = lazy_find(fd, 1);
    extent *e = malloc(sizeof *e + len);
    if (f == NULL || e == NULL) {
        free(e);
        return -ENOMEM;
    }
    e->next = NULL, e->off = (uint64_t)off, e->len = len, e->doomed = 0;
    memcpy(e->data, buf, len);
    *f->tail = e;
    f->tail = &e->next;
    if (e->off + len > f->end)
        f->end = e->off + len;
    g.kept_writes++;
    return (int)len;
}

static int ffs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    if (fi->fh == CONTROL_FH)
        return 0;
    int fd = (int)fi->fh;
    g.fsyncs++;
    lazyfile *f = lazy_find(fd, 0);
    if (inject(OP_FSYNC, 0, 0)) {
        /* Linux after a writeback error: the pages are clean, not written. */
        for (extent *e = f != NULL ? f->head : NULL; e != NULL; e = e->next)
            if (!e->doomed) {
                e->doomed = 1;
                g.doomed_bytes += e->len;
            }
        return -EIO;
    }
    if (f != NULL)
        return lazy_persist(fd, f, datasync);
    return (datasync ? fdatasync(fd) : fsync(fd)) == 0 ? 0 : -errno;
}

static int ffs_flush(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    /* FUSE's flush carries no open flags: the backing descriptor has them. */
    if (fi->fh != CONTROL_FH && g.crash_on_close &&
        (fcntl((int)fi->fh, F_GETFL) & O_ACCMODE) != O_RDONLY)
        crash();
    return 0;
}

static int ffs_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    if (fi->fh != CONTROL_FH)
        close((int)fi->fh);
    return 0;
}

static int ffs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    int own = fi == NULL || fi->fh == CONTROL_FH;
    int fd = own ? openat(g.backing, rel(path), O_WRONLY | O_CLOEXEC) : (int)fi->fh;
    if (fd < 0)
        return -errno;
    lazyfile *f = lazy_find(fd, 0);
    int rc = f != NULL ? lazy_persist(fd, f, 1) : 0;
    if (rc == 0 && ftruncate(fd, size) != 0)
        rc = -errno;
    if (own)
        close(fd);
    return rc;
}

static int ffs_fallocate(const char *path, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
    (void)path;
    if (fi->fh == CONTROL_FH)
        return -EOPNOTSUPP;
    return fallocate((int)fi->fh, mode, off, len) == 0 ? 0 : -errno;
}

static int ffs_unlink(const char *path)
{
    return unlinkat(g.backing, rel(path), 0) == 0 ? 0 : -errno;
}

static int ffs_mkdir(const char *path, mode_t mode)
{
    return mkdirat(g.backing, rel(path), mode) == 0 ? 0 : -errno;
}

static int ffs_rmdir(const char *path)
{
    return unlinkat(g.backing, rel(path), AT_REMOVEDIR) == 0 ? 0 : -errno;
}

static int ffs_rename(const char *from, const char *to, unsigned flags)
{
    return renameat2(g.backing, rel(from), g.backing, rel(to), flags) == 0 ? 0 : -errno;
}

static int ffs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    (void)fi;
    return fchmodat(g.backing, rel(path), mode, 0) == 0 ? 0 : -errno;
}

static int ffs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    (void)fi;
    return utimensat(g.backing, rel(path), tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int ffs_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    return fstatvfs(g.backing, st) == 0 ? 0 : -errno;
}

static int ffs_opendir(const char *path, struct fuse_file_info *fi)
{
    int fd = openat(g.backing, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int ffs_releasedir(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    close((int)fi->fh);
    return 0;
}

static int ffs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path, (void)datasync;
    return fsync((int)fi->fh) == 0 ? 0 : -errno;
}

static const struct fuse_operations ops = {
    .init = ffs_init,
    .getattr = ffs_getattr,
    .readdir = ffs_readdir,
    .open = ffs_open,
    .create = ffs_create,
    .read = ffs_read,
    .write = ffs_write,
    .fsync = ffs_fsync,
    .flush = ffs_flush,
    .release = ffs_release,
    .truncate = ffs_truncate,
    .fallocate = ffs_fallocate,
    .unlink = ffs_unlink,
    .mkdir = ffs_mkdir,
    .rmdir = ffs_rmdir,
    .rename = ffs_rename,
    .chmod = ffs_chmod,
    .utimens = ffs_utimens,
    .statfs = ffs_statfs,
    .opendir = ffs_opendir,
    .releasedir = ffs_releasedir,
    .fsyncdir = ffs_fsyncdir,
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s BACKING MOUNTPOINT [--direct-io] [--lazy] [--crash-on-close]\n",
                argv[0]);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--direct-io") == 0) {
            g.direct_io = 1;
        } else if (strcmp(argv[i], "--lazy") == 0) {
            g.lazy = 1;
        } else if (strcmp(argv[i], "--crash-on-close") == 0) {
            g.crash_on_close = 1;
        } else {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    g.backing = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g.backing < 0) {
        perror(argv[1]);
        return 1;
    }
    /* A test tool: when the script that started it dies (a CTest timeout
     * kills it), so does it, and the mount with it. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() == 1)
        return 1;
    umask(0);
    char *fargv[] = {argv[0], argv[2], "-f", "-s", "-o", "fsname=tio-faultfs", NULL};
    int rc = fuse_main(6, fargv, &ops, NULL);
    close(g.backing);
    return rc;
}
