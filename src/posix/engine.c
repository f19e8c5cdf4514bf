/* SPDX-License-Identifier: MIT */
/*
 * The engine operations as POSIX calls (tio__os_engine_run): each runs to
 * its end on a helper thread and reports 0 or the raw errno; the common
 * code normalises it. Where systems differ (reserving space, a rename that
 * must not replace, what unlink says of a directory) the call that gives
 * the contract's result is chosen here, with the reason.
 */
#include "posix/posix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* close(2) releases the descriptor even when it reports EINTR (Linux,
 * macOS, the BSDs): never retried, and not an error of the close. */
static int close_file(tio_file *f)
{
    if (!f->owned)
        return 0;
    return close(f->handle) == 0 || errno == EINTR ? 0 : errno;
}

/* Reserve [offset, offset+len) without changing the data. */
static int allocate(int fd, uint64_t offset, uint64_t len, bool keep_size)
{
#if defined(__linux__)
    /* fallocate(2) mode 0 extends the size, FALLOC_FL_KEEP_SIZE does not;
     * EOPNOTSUPP where the filesystem cannot reserve (ext2, some FUSE). */
    while (fallocate(fd, keep_size ? FALLOC_FL_KEEP_SIZE : 0, (off_t)offset, (off_t)len) != 0) {
        if (errno != EINTR)
            return errno == EOPNOTSUPP ? ENOTSUP : errno;
    }
    return 0;
#elif defined(__APPLE__)
    /* fcntl(F_PREALLOCATE) reserves from the end of the file's allocation
     * (F_PEOFPOSMODE); the size then moves with ftruncate, which never
     * shrinks here because the target is past the current size. */
    struct stat st;
    if (fstat(fd, &st) != 0)
        return errno;
    uint64_t end = offset + len;
    if (end > (uint64_t)st.st_blocks * 512u) {
        fstore_t fs = {F_ALLOCATECONTIG, F_PEOFPOSMODE, 0,
                       (off_t)(end - (uint64_t)st.st_blocks * 512u), 0};
        if (fcntl(fd, F_PREALLOCATE, &fs) != 0) {
            fs.fst_flags = F_ALLOCATEALL;
            if (fcntl(fd, F_PREALLOCATE, &fs) != 0)
                return errno;
        }
    }
    if (!keep_size && end > (uint64_t)st.st_size && ftruncate(fd, (off_t)end) != 0)
        return errno;
    return 0;
#else
    /* posix_fallocate(3) always extends the size: a reservation that keeps
     * it has no portable form. It returns the error instead of setting errno. */
    if (keep_size)
        return ENOTSUP;
    int err;
    while ((err = posix_fallocate(fd, (off_t)offset, (off_t)len)) == EINTR)
        ;
    return err == EINVAL ? ENOTSUP : err;
#endif
}

static int truncate_file(int fd, uint64_t size)
{
    while (ftruncate(fd, (off_t)size) != 0) {
        if (errno != EINTR)
            return errno;
    }
    return 0;
}

/* A rename that refuses to replace: renameat2(RENAME_NOREPLACE) (Linux 3.15,
 * glibc 2.28) or renamex_np(RENAME_EXCL) (macOS 10.12); where the
 * filesystem lacks it (EINVAL), link + unlink, which is atomic against a
 * concurrent creator of `to` (link fails with EEXIST) and leaves `from` in
 * place if anything fails before the unlink. */
static int rename_noreplace(const char *from, const char *to)
{
#if defined(__linux__) && defined(RENAME_NOREPLACE)
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return errno;
#elif defined(__APPLE__)
    if (renamex_np(from, to, RENAME_EXCL) == 0)
        return 0;
    if (errno != ENOTSUP)
        return errno;
#endif
    struct stat st;
    if (lstat(from, &st) != 0)
        return errno;
    if (S_ISDIR(st.st_mode))
        return ENOTSUP; /* directories have no second name */
    if (link(from, to) != 0)
        return errno;
    return unlink(from) == 0 ? 0 : errno;
}

/* unlink(2) of a directory: Linux says EISDIR, POSIX allows EPERM (macOS,
 * the BSDs): the contract says TIO_EISDIR everywhere. */
static int unlink_file(const char *path)
{
    if (unlink(path) == 0)
        return 0;
    int err = errno;
    struct stat st;
    if (err == EPERM && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return EISDIR;
    return err;
}

/* The largest write the device does not tear: what it says where the OS
 * exposes it, else its logical block size (the alignment direct I/O needs
 * there), never below 512 (sector devices write at least that atomically). */
static int stat_file(tio_file *f, tio_stat *st)
{
    struct stat s;
    if (fstat(f->handle, &s) != 0)
        return errno;
    uint64_t size = (uint64_t)s.st_size;
    if ((S_ISBLK(s.st_mode) || S_ISCHR(s.st_mode)) && tio__posix_device_size(f->handle, &size) != 0)
        size = (uint64_t)s.st_size;
    st->size = size;
    st->allocated = (uint64_t)s.st_blocks * 512u; /* st_blocks counts 512-byte units (POSIX) */
    size_t unit = tio__posix_atomic_write(f->handle);
    st->atomic_write = (uint32_t)(unit >= 512 ? unit : 512);
    return 0;
}

int tio__os_engine_run(tio__task *t)
{
    switch (t->op) {
    case TIO__OP_OPEN: {
        tio_file *f = t->buf;
        return tio__os_open_raw(f, t->e.path, f->flags, (unsigned)t->offset);
    }
    case TIO__OP_CLOSE: return close_file(t->file);
    case TIO__OP_ALLOCATE:
        return allocate(t->file->handle, t->offset, t->e.len,
                        (t->op_flags & TIO_ALLOCATE_KEEP_SIZE) != 0);
    case TIO__OP_TRUNCATE: return truncate_file(t->file->handle, t->offset);
    case TIO__OP_RENAME:
        if (t->op_flags & TIO_RENAME_NOREPLACE)
            return rename_noreplace(t->e.path, t->e.to);
        return rename(t->e.path, t->e.to) == 0 ? 0 : errno;
    case TIO__OP_UNLINK: return unlink_file(t->e.path);
    case TIO__OP_STAT: return stat_file(t->file, t->buf);
    default: TIO_ASSERT(!"tio__os_engine_run: not an engine operation"); return EINVAL;
    }
}
