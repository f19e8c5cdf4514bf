/* SPDX-License-Identifier: MIT */
/*
 * win32_files.c: what Windows makes the file layer and the IOCP backend do
 * that no other OS does: how a UTF-8 path becomes the one CreateFileW gets
 * (device paths, the long form, slashes, reserved device names), TIO_DSYNC
 * on drives whose write cache ignores write-through, atomic_write, and
 * deadlines on a clock that ticks in milliseconds.
 *
 *     win32_files            exit 77 (skip) where no iocp loop can be made
 *
 * Windows has no fork: the runner is CK_NOFORK, so each test releases its
 * loops and handles itself (a failing test may leak them).
 */
#ifdef _WIN32

#  include "win32/win32.h" /* <windows.h>, common/internal.h, tio__win_long_path */

#  include <stdio.h>
#  include <stdlib.h>
#  include <string.h>
#  include <wchar.h>

#  include "tio_check.h"

/* A callback that stores the result where task->data points. */
static void result_cb(tio_task *task, int64_t result)
{
    *(int64_t *)task->data = result;
}

static void result_cb_ignore(tio_task *task, int64_t result)
{
    (void)task;
    (void)result;
}

/* ================================================================ paths */

/* tio__win_long_path(utf8) as UTF-8 again, or NULL with *err. */
static char *converted(const char *utf8, DWORD *err)
{
    wchar_t *w = tio__win_long_path(utf8, err);
    if (w == NULL)
        return NULL;
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = malloc((size_t)n);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL), n);
    free(w);
    return s;
}

static void ck_path(const char *in, const char *want)
{
    DWORD err = 0;
    char *got = converted(in, &err);
    ck_assert_msg(got != NULL, "%s: refused (Win32 error %lu), want %s", in, (unsigned long)err,
                  want);
    ck_assert_msg(strcmp(got, want) == 0, "%s became %s, want %s", in, got, want);
    free(got);
}

static void ck_path_refused(const char *in)
{
    DWORD err = 0;
    char *got = converted(in, &err);
    ck_assert_msg(got == NULL, "%s was accepted as %s; a reserved device name must be refused", in,
                  got ? got : "");
    ck_assert_msg(err == ERROR_INVALID_NAME, "%s: Win32 error %lu, want ERROR_INVALID_NAME (123)",
                  in, (unsigned long)err);
}

/* Device paths name a device, not a file on a share: a \\?\ prefix or
 * GetFullPathNameW's UNC handling would make them \\?\UNC\.\... */
START_TEST(device_paths_pass_through_unchanged)
{
    ck_path("\\\\.\\PhysicalDrive0", "\\\\.\\PhysicalDrive0");
    ck_path("\\\\.\\C:", "\\\\.\\C:");
    ck_path("\\\\.\\pipe\\taskio", "\\\\.\\pipe\\taskio");
    ck_path("//./PhysicalDrive1", "\\\\.\\PhysicalDrive1"); /* slashes converted only */
}
END_TEST

/* The \\?\ form turns every conversion off: what the caller wrote is what
 * CreateFileW gets, a '/' and a "NUL" included. */
START_TEST(long_form_paths_pass_through_verbatim)
{
    ck_path("\\\\?\\C:\\dir\\file", "\\\\?\\C:\\dir\\file");
    ck_path("\\\\?\\C:\\dir/x", "\\\\?\\C:\\dir/x");
    ck_path("\\\\?\\C:\\dir\\NUL", "\\\\?\\C:\\dir\\NUL");
    ck_path("\\\\?\\UNC\\server\\share\\f", "\\\\?\\UNC\\server\\share\\f");
    ck_path("//?/C:/dir/file", "\\\\?\\C:\\dir\\file");
}
END_TEST

START_TEST(drive_and_unc_paths_get_the_long_form_with_backslashes)
{
    ck_path("C:\\dir\\file.dat", "\\\\?\\C:\\dir\\file.dat");
    ck_path("C:/dir/sub/file.dat", "\\\\?\\C:\\dir\\sub\\file.dat");
    ck_path("C:/dir/./sub/../file.dat", "\\\\?\\C:\\dir\\file.dat");
    ck_path("\\\\server\\share\\f", "\\\\?\\UNC\\server\\share\\f");
    ck_path("//server/share/dir/f", "\\\\?\\UNC\\server\\share\\dir\\f");
    /* Names that merely begin like a device are files. */
    ck_path("C:/d/console.log", "\\\\?\\C:\\d\\console.log");
    ck_path("C:/d/COM10", "\\\\?\\C:\\d\\COM10");
    ck_path("C:/d/nullable.txt", "\\\\?\\C:\\d\\nullable.txt");
    ck_path("C:/d/LPT", "\\\\?\\C:\\d\\LPT");
}
END_TEST

/* A relative path is resolved against the current directory. */
START_TEST(relative_paths_become_absolute_long_form)
{
    wchar_t cwd[MAX_PATH];
    DWORD n = GetCurrentDirectoryW(MAX_PATH, cwd);
    ck_assert_msg(n > 0 && n < MAX_PATH, "GetCurrentDirectoryW: Win32 error %lu",
                  (unsigned long)GetLastError());
    char want[4 * MAX_PATH], cwd8[3 * MAX_PATH];
    ck_assert_int_gt(WideCharToMultiByte(CP_UTF8, 0, cwd, -1, cwd8, sizeof cwd8, NULL, NULL), 0);
    size_t len = strlen(cwd8);
    const char *sep = len > 0 && cwd8[len - 1] == '\\' ? "" : "\\";
    if (strncmp(cwd8, "\\\\", 2) == 0)
        snprintf(want, sizeof want, "\\\\?\\UNC\\%s%sa\\b.dat", cwd8 + 2, sep);
    else
        snprintf(want, sizeof want, "\\\\?\\%s%sa\\b.dat", cwd8, sep);
    ck_path("a/b.dat", want);
}
END_TEST

/* For an open, a relative path that fits in MAX_PATH stays relative: the
 * open resolves it once, under the OS's own lock, instead of taskio
 * reading the process-wide current directory first. Other forms are as
 * for the long path; a relative path too long for MAX_PATH gets it too. */
START_TEST(relative_open_paths_stay_relative_where_they_fit)
{
    DWORD err = 0;
    wchar_t *w = tio__win_open_path("a/b.dat", &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_msg(wcscmp(w, L"a\\b.dat") == 0, "a/b.dat became %ls for an open", w);
    free(w);
    w = tio__win_open_path("C:/dir/file", &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_msg(wcscmp(w, L"\\\\?\\C:\\dir\\file") == 0, "C:/dir/file became %ls", w);
    free(w);
    ck_assert_ptr_null(tio__win_open_path("a/NUL", &err));
    ck_assert_int_eq(err, ERROR_INVALID_NAME);
    char longrel[400];
    memset(longrel, 'x', sizeof longrel - 1);
    longrel[sizeof longrel - 1] = '\0';
    w = tio__win_open_path(longrel, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_msg(wcsncmp(w, L"\\\\?\\", 4) == 0, "a %zu-character relative name stayed relative",
                  strlen(longrel));
    free(w);
}
END_TEST

/* A relative open lands in the current directory, and the file's volume
 * (alignment, write cache) is found through the handle. */
START_TEST(relative_open_lands_in_the_current_directory)
{
    wchar_t before[MAX_PATH];
    ck_assert_int_gt(GetCurrentDirectoryW(MAX_PATH, before), 0);
    ck_assert_msg(SetCurrentDirectoryA(test_dir()), "SetCurrentDirectory(%s): %lu", test_dir(),
                  (unsigned long)GetLastError());
    char name[64], full[MAX_PATH + 80], dir[MAX_PATH];
    snprintf(name, sizeof name, "win32-relative-%ld.dat", proc_id());
    ck_assert_int_gt(GetCurrentDirectoryA(sizeof dir, dir), 0);
    snprintf(full, sizeof full, "%s\\%s", dir, name);
    tio_loop *loop = NULL;
    tio_loop_config cfg = {.backend = "iocp"};
    ck_assert_int_eq(tio_loop_create(&loop, &cfg), 0);
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, name, TIO_RDWR | TIO_CREATE | TIO_DSYNC | TIO_DIRECT_TRY,
                           0644);
    ck_assert_msg(rc == 0, "tio_file_open(%s): %s", name, tio_last_error(loop));
    ck_assert_msg(GetFileAttributesA(full) != INVALID_FILE_ATTRIBUTES, "%s was not created", full);
    size_t align = tio_file_align(f);
    ck_assert_msg(align == 1 || (align >= 512 && (align & (align - 1)) == 0), "alignment %zu",
                  align);
    ck_assert_int_eq(tio_file_close(f), 0);
    tio_loop_destroy(loop);
    ck_assert(DeleteFileA(full));
    ck_assert(SetCurrentDirectoryW(before));
}
END_TEST

/* CON, PRN, AUX, NUL, COM1-9, LPT1-9 (and the superscript digits), CONIN$,
 * CONOUT$: devices in every directory and with every extension. Through
 * the long form they would create undeletable files. */
START_TEST(reserved_device_names_are_refused_in_every_component)
{
    static const char *const refused[] = {"NUL",
                                          "nul",
                                          "C:/d/NUL",
                                          "C:/d/nul.txt",
                                          "C:/d/CON",
                                          "con.tar.gz",
                                          "C:/d/PRN.log",
                                          "AUX",
                                          "C:/d/COM1",
                                          "com9.dat",
                                          "C:/d/LPT1",
                                          "lpt9.x",
                                          "C:/d/nul .txt",
                                          "C:/d/NUL:stream",
                                          "C:/d/CONIN$",
                                          "C:/d/conout$.txt",
                                          "C:/CON/file",
                                          "dir\\aux\\f",
                                          "C:/d/COM\xc2\xb9",
                                          "C:/d/lpt\xc2\xb3.log"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        ck_path_refused(refused[i]);
}
END_TEST

/* tio_file_open and the engine operations refuse one with TIO_EINVAL and
 * say why; no file is created. */
START_TEST(open_of_a_reserved_name_fails_with_einval_and_says_why)
{
    tio_loop *loop = NULL;
    tio_loop_config cfg = {.backend = "iocp"};
    ck_assert_int_eq(tio_loop_create(&loop, &cfg), 0);
    char path[1100];
    snprintf(path, sizeof path, "%s/nul.txt", test_dir());
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, path, TIO_RDWR | TIO_CREATE, 0644);
    printf("NOTE: tio_file_open(%s): %s (%s)\n", path, tio_strerror(rc), tio_last_error(loop));
    ck_assert_int_eq(rc, TIO_EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(tio_last_error(loop), "reserved device name") != NULL,
                  "tio_last_error does not name the reason: \"%s\"", tio_last_error(loop));

    /* As a task, on the helper thread: the callback reports it. */
    tio_task t = TIO_TASK_INIT;
    int64_t result = 1;
    t.data = &result;
    f = (tio_file *)&result; /* set to NULL by the failed open */
    ck_assert_int_eq(tio_open(loop, &t, &f, path, TIO_RDWR | TIO_CREATE, 0644, result_cb), 0);
    ck_assert_int_eq(tio_drain(loop), 0);
    ck_assert_int_eq(result, TIO_EINVAL);
    ck_assert_int_eq(tio_os_error(&t), ERROR_INVALID_NAME);
    ck_assert_ptr_null(f);
    /* Only the long form sees a file of that name: Win32 takes "nul.txt"
     * itself for the NUL device, which always exists. */
    char dir[MAX_PATH], real[MAX_PATH + 16];
    ck_assert_int_gt(GetFullPathNameA(test_dir(), sizeof dir, dir, NULL), 0);
    snprintf(real, sizeof real, "\\\\?\\%s\\nul.txt", dir);
    ck_assert_msg(GetFileAttributesA(real) == INVALID_FILE_ATTRIBUTES, "%s was created", real);
    tio_loop_destroy(loop);
}
END_TEST

/* ================================================================ dsync */

#  define DSYNC_WRITES 16
#  define DSYNC_LEN 4096

static tio_loop *g_loop;

typedef struct dsync_rec {
    int calls;
    int64_t result;
    uint64_t flushes; /* flushes ended when the callback ran */
} dsync_rec;

static void dsync_cb(tio_task *task, int64_t result)
{
    dsync_rec *r = task->data;
    r->calls++;
    r->result = result;
    r->flushes = tio__iocp_dsync_flushes(g_loop);
}

static tio_file *open_dsync(tio_loop *loop, char *path, size_t size)
{
    snprintf(path, size, "%s/win32-dsync-%ld.dat", test_dir(), proc_id());
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, path, TIO_RDWR | TIO_CREATE | TIO_TRUNCATE | TIO_DSYNC, 0644);
    ck_assert_msg(rc == 0, "tio_file_open(%s): %s", path, tio_last_error(loop));
    return f;
}

/* Where the drive's cache needs it (always under Wine, whose volumes
 * answer no IOCTL_STORAGE_QUERY_PROPERTY), a TIO_DSYNC write's callback
 * comes only after a flush has ended, and writes completed together share
 * one: 16 writes handed over at once and complete before the loop looks
 * take fewer than 16 flushes. Where the drive honours write-through no
 * flush is added at all. */
START_TEST(dsync_writes_complete_after_a_shared_flush_where_the_cache_needs_one)
{
    tio_loop_config cfg = {.backend = "iocp", .submit_batch = 1}; /* each at the OS at once */
    ck_assert_int_eq(tio_loop_create(&g_loop, &cfg), 0);
    char path[1100];
    tio_file *f = open_dsync(g_loop, path, sizeof path);
    int flushing = (f->backend_flags & TIO__WIN_FLUSH_DSYNC) != 0;
    printf("NOTE: TIO_DSYNC on %s: %s\n", test_dir(),
           flushing ? "the write cache needs a flush (or cannot be asked)"
                    : "write-through reaches stable media, no flush added");

    static char data[DSYNC_WRITES][DSYNC_LEN];
    tio_task t[DSYNC_WRITES];
    dsync_rec r[DSYNC_WRITES];
    memset(r, 0, sizeof r);
    for (int i = 0; i < DSYNC_WRITES; i++) {
        memset(data[i], 'a' + i, DSYNC_LEN);
        memset(&t[i], 0, sizeof t[i]);
        t[i].data = &r[i];
        ck_assert_int_eq(
            tio_write(g_loop, &t[i], f, data[i], DSYNC_LEN, (uint64_t)i * DSYNC_LEN, dsync_cb), 0);
    }
    Sleep(200); /* the OS finishes the writes before the loop collects them */
    ck_assert_int_eq(tio_drain(g_loop), 0);
    uint64_t flushes = tio__iocp_dsync_flushes(g_loop);
    printf("NOTE: %d TIO_DSYNC writes, %llu flushes\n", DSYNC_WRITES, (unsigned long long)flushes);
    for (int i = 0; i < DSYNC_WRITES; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].result, DSYNC_LEN);
        if (flushing)
            ck_assert_msg(r[i].flushes >= 1, "write %d's callback ran before any flush ended", i);
    }
    if (flushing) {
        ck_assert_msg(flushes >= 1 && flushes < DSYNC_WRITES,
                      "%llu flushes for %d writes completed together: not shared",
                      (unsigned long long)flushes, DSYNC_WRITES);
    } else {
        ck_assert_int_eq(flushes, 0);
    }

    /* One more write: exactly one more flush, ended before its callback. */
    tio_task one = TIO_TASK_INIT;
    dsync_rec r1 = {0, 0, 0};
    one.data = &r1;
    ck_assert_int_eq(tio_write(g_loop, &one, f, data[0], DSYNC_LEN, 0, dsync_cb), 0);
    ck_assert_int_eq(tio_drain(g_loop), 0);
    ck_assert_int_eq(r1.result, DSYNC_LEN);
    ck_assert_int_eq(tio__iocp_dsync_flushes(g_loop), flushes + (flushing ? 1 : 0));
    ck_assert_int_eq(r1.flushes, flushes + (flushing ? 1 : 0));

    /* The data is there. */
    static char back[DSYNC_WRITES * DSYNC_LEN];
    tio_task rd = TIO_TASK_INIT;
    ck_assert_int_eq(tio_read(g_loop, &rd, f, back, sizeof back, 0, result_cb_ignore), 0);
    ck_assert_int_eq(tio_wait(g_loop, &rd, TIO_FOREVER), (int64_t)sizeof back);
    for (int i = 0; i < DSYNC_WRITES; i++)
        ck_assert_msg(memcmp(back + i * DSYNC_LEN, data[i], DSYNC_LEN) == 0,
                      "block %d does not hold what was written", i);
    ck_assert_int_eq(tio_file_close(f), 0);
    remove_path(path);
    tio_loop_destroy(g_loop);
    g_loop = NULL;
}
END_TEST

/* Without TIO_DSYNC no write waits for a flush. */
START_TEST(writes_without_dsync_add_no_flush)
{
    tio_loop_config cfg = {.backend = "iocp"};
    ck_assert_int_eq(tio_loop_create(&g_loop, &cfg), 0);
    char path[1100];
    snprintf(path, sizeof path, "%s/win32-nodsync-%ld.dat", test_dir(), proc_id());
    tio_file *f = NULL;
    ck_assert_int_eq(tio_file_open(g_loop, &f, path, TIO_RDWR | TIO_CREATE | TIO_TRUNCATE, 0644),
                     0);
    ck_assert_uint_eq(f->backend_flags & TIO__WIN_FLUSH_DSYNC, 0);
    static char data[DSYNC_LEN];
    tio_task t = TIO_TASK_INIT;
    dsync_rec r = {0, 0, 0};
    t.data = &r;
    ck_assert_int_eq(tio_write(g_loop, &t, f, data, sizeof data, 0, dsync_cb), 0);
    ck_assert_int_eq(tio_drain(g_loop), 0);
    ck_assert_int_eq(r.result, DSYNC_LEN);
    ck_assert_int_eq(tio__iocp_dsync_flushes(g_loop), 0);
    ck_assert_int_eq(tio_file_close(f), 0);
    remove_path(path);
    tio_loop_destroy(g_loop);
    g_loop = NULL;
}
END_TEST

/* ================================================================ stat */

/* tio_stat_file's atomic_write is what the device keeps whole on power
 * loss: PhysicalBytesPerSectorForAtomicity where FileStorageInfo answers,
 * else the volume's logical sector (GetDiskFreeSpaceW: Wine), never the
 * 4096 guessed for direct-I/O alignment. */
START_TEST(stat_atomic_write_is_the_devices_atomicity_else_the_logical_sector)
{
    tio_loop_config cfg = {.backend = "iocp"};
    tio_loop *loop = NULL;
    ck_assert_int_eq(tio_loop_create(&loop, &cfg), 0);
    char path[1100];
    snprintf(path, sizeof path, "%s/win32-stat-%ld.dat", test_dir(), proc_id());
    tio_file *f = NULL;
    ck_assert_int_eq(tio_file_open(loop, &f, path, TIO_RDWR | TIO_CREATE, 0644), 0);
    tio_stat st;
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(tio_stat_file(loop, &t, f, &st, result_cb_ignore), 0);
    ck_assert_int_eq(tio_wait(loop, &t, TIO_FOREVER), 0);

    FILE_STORAGE_INFO si;
    unsigned long want = 0;
    const char *source;
    if (GetFileInformationByHandleEx(tio_file_handle(f), FileStorageInfo, &si, sizeof si)) {
        want = si.PhysicalBytesPerSectorForAtomicity;
        source = "FileStorageInfo";
    } else {
        char full[MAX_PATH], root[MAX_PATH];
        DWORD spc, bps = 0, fc, tc;
        ck_assert_int_gt(GetFullPathNameA(path, sizeof full, full, NULL), 0);
        if (GetVolumePathNameA(full, root, sizeof root) &&
            GetDiskFreeSpaceA(root, &spc, &bps, &fc, &tc))
            want = bps;
        source = "GetDiskFreeSpace";
    }
    if (want < 512 || (want & (want - 1)) != 0)
        want = 512;
    printf("NOTE: atomic_write %u (%s says %lu)\n", (unsigned)st.atomic_write, source, want);
    ck_assert_uint_eq(st.atomic_write, want);
    ck_assert_int_eq(tio_file_close(f), 0);
    remove_path(path);
    tio_loop_destroy(loop);
}
END_TEST

/* ================================================================ timers */

/* GetQueuedCompletionStatusEx waits whole milliseconds and ends on a
 * system timer tick (15.6 ms by default), and a wait may end before its
 * time (Sleep and the wait functions, Microsoft docs: a time below the
 * clock's resolution may be cut short). taskio rounds up and reads the
 * clock again after every wait, so no deadline fires early, however far
 * below a tick or a millisecond it lies. */

static void stamp_cb(tio_task *task, int64_t result)
{
    (void)result;
    *(int64_t *)task->data = now_ns();
}

START_TEST(sub_tick_sleeps_and_timeouts_never_fire_early)
{
    tio_loop_config cfg = {.backend = "iocp"};
    tio_loop *loop = NULL;
    ck_assert_int_eq(tio_loop_create(&loop, &cfg), 0);
    uint64_t seed = 0x7105eed;
    int64_t fired = 0;
    for (int i = 0; i < 40; i++) {
        uint64_t ns = 10 * 1000 + xorshift(&seed) % (20 * MS); /* 10 us .. 20 ms */
        tio_task t = TIO_TASK_INIT;
        t.data = &fired;
        int64_t t0 = now_ns();
        ck_assert_int_eq(tio_sleep(loop, &t, ns, stamp_cb), 0);
        ck_assert_int_eq(tio_drain(loop), 0);
        ck_assert_msg(fired - t0 >= (int64_t)ns, "a %llu ns sleep completed after %lld ns",
                      (unsigned long long)ns, (long long)(fired - t0));
    }
    /* A deadline on a read that never completes, and tio_run's and
     * tio_wait's own timeouts, alike. */
    tio_handle p[2];
    make_pipe(p);
    tio_file *f = NULL;
    ck_assert_int_eq(tio_file_wrap(loop, &f, p[0], TIO_RDONLY), 0);
    char buf[8];
    for (int i = 0; i < 10; i++) {
        uint64_t ns = 50 * 1000 + xorshift(&seed) % (5 * MS);
        tio_task t = TIO_TASK_INIT;
        t.data = &fired;
        int64_t t0 = now_ns();
        ck_assert_int_eq(tio_read(loop, &t, f, buf, sizeof buf, 0, stamp_cb), 0);
        ck_assert_int_eq(tio_run(loop, (int64_t)ns), 0);
        ck_assert_msg(now_ns() - t0 >= (int64_t)ns, "tio_run(%llu ns) returned after %lld ns",
                      (unsigned long long)ns, (long long)(now_ns() - t0));
        t0 = now_ns();
        ck_assert_int_eq(tio_wait(loop, &t, (int64_t)ns), TIO_ETIMEDOUT);
        ck_assert_msg(now_ns() - t0 >= (int64_t)ns, "tio_wait(%llu ns) expired after %lld ns",
                      (unsigned long long)ns, (long long)(now_ns() - t0));
        t0 = now_ns();
        ck_assert_int_eq(tio_timeout(loop, &t, ns), 0);
        ck_assert_int_eq(tio_wait(loop, &t, TIO_FOREVER), TIO_ETIMEDOUT);
        ck_assert_msg(fired - t0 >= (int64_t)ns, "a %llu ns deadline fired after %lld ns",
                      (unsigned long long)ns, (long long)(fired - t0));
    }
    ck_assert_int_eq(tio_file_close(f), 0);
    close_fd(p[0]);
    close_fd(p[1]);
    tio_loop_destroy(loop);
}
END_TEST

/* The resolution taskio.h documents: a 1 ms sleep takes about one timer
 * tick (15.6 ms by default, 1 ms where timeBeginPeriod raised it), not
 * more. Wine's waits are millisecond-exact. */
START_TEST(one_millisecond_sleep_takes_at_most_about_a_timer_tick)
{
    tio_loop_config cfg = {.backend = "iocp"};
    tio_loop *loop = NULL;
    ck_assert_int_eq(tio_loop_create(&loop, &cfg), 0);
    int64_t took[11], fired = 0;
    for (int i = 0; i < 11; i++) {
        tio_task t = TIO_TASK_INIT;
        t.data = &fired;
        int64_t t0 = now_ns();
        ck_assert_int_eq(tio_sleep(loop, &t, MS, stamp_cb), 0);
        ck_assert_int_eq(tio_drain(loop), 0);
        took[i] = fired - t0;
    }
    for (int i = 1; i < 11; i++) /* insertion sort: the median */
        for (int j = i; j > 0 && took[j - 1] > took[j]; j--) {
            int64_t x = took[j];
            took[j] = took[j - 1];
            took[j - 1] = x;
        }
    printf("NOTE: 1 ms sleeps took %.3f ms (median), %.3f .. %.3f ms\n", took[5] / 1e6,
           took[0] / 1e6, took[10] / 1e6);
    ck_assert_int_ge(took[0], MS);
    ck_assert_msg(took[5] < 40 * MS, "a 1 ms sleep takes %lld ns (median): beyond two ticks",
                  (long long)took[5]);
    tio_loop_destroy(loop);
}
END_TEST

/* ================================================================ suite */

static TCase *new_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60); /* no effect without fork */
    return tc;
}

static Suite *files_suite(void)
{
    Suite *s = suite_create("win32_files");
    TCase *tc = new_tcase("paths");
    tcase_add_test(tc, device_paths_pass_through_unchanged);
    tcase_add_test(tc, long_form_paths_pass_through_verbatim);
    tcase_add_test(tc, drive_and_unc_paths_get_the_long_form_with_backslashes);
    tcase_add_test(tc, relative_paths_become_absolute_long_form);
    tcase_add_test(tc, relative_open_paths_stay_relative_where_they_fit);
    tcase_add_test(tc, relative_open_lands_in_the_current_directory);
    tcase_add_test(tc, reserved_device_names_are_refused_in_every_component);
    tcase_add_test(tc, open_of_a_reserved_name_fails_with_einval_and_says_why);
    suite_add_tcase(s, tc);

    tc = new_tcase("dsync");
    tcase_add_test(tc, dsync_writes_complete_after_a_shared_flush_where_the_cache_needs_one);
    tcase_add_test(tc, writes_without_dsync_add_no_flush);
    suite_add_tcase(s, tc);

    tc = new_tcase("timers");
    tcase_add_test(tc, sub_tick_sleeps_and_timeouts_never_fire_early);
    tcase_add_test(tc, one_millisecond_sleep_takes_at_most_about_a_timer_tick);
    suite_add_tcase(s, tc);

    tc = new_tcase("stat");
    tcase_add_test(tc, stat_atomic_write_is_the_devices_atomicity_else_the_logical_sector);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc = probe_backend("iocp", "win32_files");
    if (rc != 0)
        return rc;

    SRunner *sr = srunner_create(files_suite());
    srunner_set_fork_status(sr, CK_NOFORK); /* no fork() on Windows */
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#else /* !_WIN32 */

#  include <stdio.h>

int main(void)
{
    printf("SKIP: win32_files tests the Windows file layer (Windows only)\n");
    return 77;
}

#endif
