/* SPDX-License-Identifier: MIT */
/* Files written whole or not at all: see include/minicnn/atomic.h. */
#include <minicnn/atomic.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "../internal.h"

#define PATH_CAP 4096
#define MAX_LINKS 40

/* ---- The temporaries being written, for a signal handler ------------------------------- */

enum { SLOT_FREE, SLOT_CLAIMED, SLOT_REMOVE, SLOT_KEEP };

typedef struct slot {
    atomic_int state;
    char temp[PATH_CAP], target[PATH_CAP];
} slot;

#define N_SLOTS 16
static slot slots[N_SLOTS]; /* the library's one mutable global: see atomic.h */

/* A slot holding temp (to be removed on a signal, or renamed to target); -1 when all are taken
 * (the file is then written without the signal clean-up). */
static int slot_take(const char *temp, const char *target, bool keep)
{
    for (int i = 0; i < N_SLOTS; i++) {
        int expected = SLOT_FREE;
        if (atomic_compare_exchange_strong(&slots[i].state, &expected, SLOT_CLAIMED)) {
            memcpy(slots[i].temp, temp, strlen(temp) + 1);
            memcpy(slots[i].target, target, strlen(target) + 1);
            atomic_store(&slots[i].state, keep ? SLOT_KEEP : SLOT_REMOVE);
            return i;
        }
    }
    return -1;
}

/* Whether another thread of this process is writing temp (its slot is not `self`). */
static bool slot_busy(const char *temp, int self)
{
    for (int i = 0; i < N_SLOTS; i++) {
        const int s = atomic_load(&slots[i].state);
        if (i != self && (s == SLOT_REMOVE || s == SLOT_KEEP) && strcmp(slots[i].temp, temp) == 0)
            return true;
    }
    return false;
}

static void slot_release(int i)
{
    if (i >= 0)
        atomic_store(&slots[i].state, SLOT_FREE);
}

void mc_atomic_signal_cleanup(void)
{
    const int saved = errno;
    for (int i = 0; i < N_SLOTS; i++) {
        const int s = atomic_load(&slots[i].state);
        if (s == SLOT_REMOVE)
            unlink(slots[i].temp);
        else if (s == SLOT_KEEP && rename(slots[i].temp, slots[i].target) != 0)
            unlink(slots[i].temp);
    }
    errno = saved;
}

/* ---- Targets ----------------------------------------------------------------------------- */

struct mc_atomic_file {
    mc_ctx *ctx;
    int fd, slot, flags;
    char target[PATH_CAP], temp[PATH_CAP], dir[PATH_CAP];
};

static mc_status io_fail(mc_ctx *ctx, const char *what, const char *path, int err)
{
    return mc_ctx_fail(ctx, MC_ERR_IO, "cannot %s '%s': %s", what, path, strerror(err));
}

static const char *kind_of(mode_t m)
{
    return S_ISREG(m)    ? "a file"
           : S_ISDIR(m)  ? "a folder"
           : S_ISFIFO(m) ? "a FIFO (named pipe)"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

/* The folder part of path ("." when none) into dir, the last component into *base. */
static mc_status split(mc_ctx *ctx, const char *path, char *dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
        *base = path;
    } else if (slash == path) {
        strcpy(dir, "/");
        *base = path + 1;
    } else {
        const size_t n = (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
        *base = slash + 1;
    }
    if (**base == '\0')
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot write '%s': the path names a folder, not a file",
                           path);
    return MC_OK;
}

/* Follows symbolic links from path to the file they name (which need not exist) into out. */
static mc_status resolve(mc_ctx *ctx, const char *path, char *out)
{
    if (strlen(path) >= PATH_CAP)
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot write '%.200s...': the path is too long", path);
    if (*path == '\0')
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot write a file with an empty name");
    strcpy(out, path);
    for (int k = 0;; k++) {
        struct stat st;
        if (lstat(out, &st) != 0 || !S_ISLNK(st.st_mode))
            return MC_OK;
        if (k == MAX_LINKS)
            return mc_ctx_fail(ctx, MC_ERR_IO,
                               "cannot write '%s': more than %d symbolic links (a loop?)", path,
                               MAX_LINKS);
        char link[PATH_CAP];
        const ssize_t n = readlink(out, link, sizeof link - 1);
        if (n < 0)
            return io_fail(ctx, "follow the symbolic link", out, errno);
        link[n] = '\0';
        if (link[0] == '/' || strchr(out, '/') == NULL) {
            if ((size_t)n >= PATH_CAP)
                return mc_ctx_fail(ctx, MC_ERR_IO, "cannot write '%s': the path is too long", path);
            strcpy(out, link);
        } else {
            char *slash = strrchr(out, '/');
            const size_t keep = (size_t)(slash - out) + 1;
            if (keep + (size_t)n >= PATH_CAP)
                return mc_ctx_fail(ctx, MC_ERR_IO, "cannot write '%s': the path is too long", path);
            memcpy(out + keep, link, (size_t)n + 1);
        }
    }
}

/* Refuses an existing target that is not a regular file; *exists and *mode tell about it. */
static mc_status check_target(mc_ctx *ctx, const char *given, const char *target, bool *exists,
                              mode_t *mode)
{
    struct stat st;
    *exists = false;
    if (stat(target, &st) != 0) {
        if (errno == ENOENT)
            return MC_OK;
        return io_fail(ctx, "write", target, errno);
    }
    if (!S_ISREG(st.st_mode) && strcmp(given, target) != 0)
        return mc_ctx_fail(ctx, MC_ERR_IO,
                           "cannot write '%s': its link target '%s' is %s; minicnn writes "
                           "regular files only and does not replace it",
                           given, target, kind_of(st.st_mode));
    if (!S_ISREG(st.st_mode))
        return mc_ctx_fail(ctx, MC_ERR_IO,
                           "cannot write '%s': it is %s; minicnn writes regular files only and "
                           "does not replace it",
                           given, kind_of(st.st_mode));
    *exists = true;
    *mode = st.st_mode & 07777;
    return MC_OK;
}

/* Removes base.tmp.PID in dir for every PID that no longer runs. */
static void remove_stale(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    const size_t n = strlen(base);
    const long self = (long)getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0)
            continue;
        const char *digits = name + n + 5;
        char *end = NULL;
        errno = 0;
        const long pid = strtol(digits, &end, 10);
        if (*digits < '0' || *digits > '9' || *end != '\0' || errno != 0 || pid <= 0 ||
            pid == self || pid > INT_MAX)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive, or someone else's: not ours to remove */
        char stale[PATH_CAP];
        if (snprintf(stale, sizeof stale, "%s/%s", dir, name) < (int)sizeof stale)
            unlink(stale);
    }
    closedir(d);
}

static void sync_dir(const char *dir, int flags)
{
    if (flags & MC_ATOMIC_BULK)
        return;
    const int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: the rename is already visible */
        close(dfd);
    }
}

mc_status mc_atomic_open(mc_ctx *ctx, const char *path, int flags, mc_atomic_file **out)
{
    *out = NULL;
    mc_atomic_file *f = mc_alloc(ctx, sizeof *f);
    if (f == NULL)
        return mc__nomem(ctx, "starting to write a file");
    f->ctx = ctx;
    f->fd = -1;
    f->slot = -1;
    f->flags = flags;
    const char *base = NULL;
    bool exists = false;
    mode_t mode = 0;
    mc_status st = resolve(ctx, path, f->target);
    if (st == MC_OK)
        st = split(ctx, f->target, f->dir, &base);
    if (st == MC_OK)
        st = check_target(ctx, path, f->target, &exists, &mode);
    if (st == MC_OK && snprintf(f->temp, sizeof f->temp, "%s.tmp.%ld", f->target, (long)getpid()) >=
                           (int)sizeof f->temp)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot write '%s': the path is too long", path);
    if (st != MC_OK) {
        mc_free(ctx, f);
        return st;
    }
    if (!(flags & MC_ATOMIC_BULK) || exists)
        remove_stale(f->dir, base);
    /* registered before it exists, so that no signal can leave it behind */
    f->slot = slot_take(f->temp, f->target, (flags & MC_ATOMIC_KEEP_ON_SIGNAL) != 0);
    if (slot_busy(f->temp, f->slot)) {
        slot_release(f->slot);
        mc_free(ctx, f);
        return mc_ctx_fail(ctx, MC_ERR_IO,
                           "cannot write '%s': another thread of this process is writing it", path);
    }
    unlink(f->temp); /* an earlier failed write of this process, or of a dead one of our PID */
    f->fd = open(f->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (f->fd < 0) {
        st = io_fail(ctx, "create", f->temp, errno);
        slot_release(f->slot);
        mc_free(ctx, f);
        return st;
    }
    if (exists)
        (void)fchmod(f->fd, mode); /* the replaced file's permissions; best effort */
    *out = f;
    return MC_OK;
}

mc_status mc_atomic_write(mc_atomic_file *f, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t done = 0;
    while (done < len) {
        const size_t chunk = len - done < ((size_t)1 << 30) ? len - done : (size_t)1 << 30;
        const ssize_t k = write(f->fd, p + done, chunk);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return io_fail(f->ctx, "write", f->temp, k < 0 ? errno : ENOSPC);
        done += (size_t)k;
    }
    return MC_OK;
}

int mc_atomic_fd(const mc_atomic_file *f)
{
    return f->fd;
}

const char *mc_atomic_temp_path(const mc_atomic_file *f)
{
    return f->temp;
}

const char *mc_atomic_target(const mc_atomic_file *f)
{
    return f->target;
}

void mc_atomic_abort(mc_atomic_file *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    unlink(f->temp);
    slot_release(f->slot);
    mc_free(f->ctx, f);
}

/* Syncs and closes the temporary. */
static mc_status finish(mc_atomic_file *f)
{
    mc_status st = MC_OK;
    if (!(f->flags & MC_ATOMIC_BULK) && fsync(f->fd) != 0)
        st = io_fail(f->ctx, "sync", f->temp, errno);
    if (close(f->fd) != 0 && st == MC_OK)
        st = io_fail(f->ctx, "close", f->temp, errno);
    f->fd = -1;
    return st;
}

mc_status mc_atomic_commit(mc_atomic_file *f)
{
    mc_status st = finish(f);
    /* The target may have become something else since it was opened: never rename over it. */
    bool exists = false;
    mode_t mode = 0;
    if (st == MC_OK)
        st = check_target(f->ctx, f->target, f->target, &exists, &mode);
    if (st == MC_OK && rename(f->temp, f->target) != 0)
        st = io_fail(f->ctx, "rename the new file to", f->target, errno);
    if (st == MC_OK) {
        slot_release(f->slot);
        sync_dir(f->dir, f->flags);
        mc_free(f->ctx, f);
        return MC_OK;
    }
    mc_atomic_abort(f);
    return st;
}

mc_status mc_atomic_commit_new(mc_atomic_file *f, const char *path)
{
    mc_status st = f->fd >= 0 ? finish(f) : MC_OK;
    if (st != MC_OK) {
        mc_atomic_abort(f);
        return st;
    }
    if (link(f->temp, path) == 0) {
        unlink(f->temp);
        slot_release(f->slot);
        sync_dir(f->dir, f->flags);
        mc_free(f->ctx, f);
        return MC_OK;
    }
    const int err = errno;
    if (err == EEXIST)
        return mc_ctx_fail(f->ctx, MC_ERR_STATE, "'%s' exists; it is not replaced", path);
    if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP || err == ENOSYS) {
        /* A file system without hard links: claim the name exclusively, then replace the
         * empty file just made (ours) by the temporary. */
        const int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST)
            return mc_ctx_fail(f->ctx, MC_ERR_STATE, "'%s' exists; it is not replaced", path);
        if (fd >= 0) {
            close(fd);
            if (rename(f->temp, path) == 0) {
                slot_release(f->slot);
                sync_dir(f->dir, f->flags);
                mc_free(f->ctx, f);
                return MC_OK;
            }
            const int e2 = errno;
            unlink(path);
            st = io_fail(f->ctx, "rename the new file to", path, e2);
        } else {
            st = io_fail(f->ctx, "create", path, errno);
        }
    } else {
        st = io_fail(f->ctx, "create", path, err);
    }
    mc_atomic_abort(f);
    return st;
}

mc_status mc_atomic_write_file(mc_ctx *ctx, const char *path, const void *data, size_t len)
{
    mc_atomic_file *f = NULL;
    mc_status st = mc_atomic_open(ctx, path, 0, &f);
    if (st == MC_OK)
        st = mc_atomic_write(f, data, len);
    if (st == MC_OK)
        return mc_atomic_commit(f);
    mc_atomic_abort(f);
    return st;
}

/* Creates and removes a probe file in dir; names `what` and `shown` in the message. */
static mc_status probe(mc_ctx *ctx, const char *dir, const char *what, const char *shown)
{
    char p[PATH_CAP];
    if (snprintf(p, sizeof p, "%s/.minicnn-probe.tmp.%ld", dir, (long)getpid()) >= (int)sizeof p)
        return mc_ctx_fail(ctx, MC_ERR_IO, "%s%s'%s': the path is too long", what ? what : "",
                           what ? " " : "", shown);
    unlink(p);
    const int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return mc_ctx_fail(ctx, MC_ERR_IO, "%s%s'%s': cannot create files in the folder '%s': %s",
                           what ? what : "", what ? " " : "", shown, dir, strerror(errno));
    close(fd);
    unlink(p);
    return MC_OK;
}

mc_status mc_atomic_check(mc_ctx *ctx, const char *path, const char *what)
{
    char target[PATH_CAP], dir[PATH_CAP];
    const char *base = NULL;
    bool exists = false;
    mode_t mode = 0;
    mc_status st = resolve(ctx, path, target);
    if (st == MC_OK)
        st = split(ctx, target, dir, &base);
    if (st == MC_OK)
        st = check_target(ctx, path, target, &exists, &mode);
    if (st != MC_OK) {
        if (what != NULL) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", mc_ctx_message(ctx));
            st = mc_ctx_fail(ctx, st, "%s: %s", what, msg);
        }
        return st;
    }
    struct stat sd;
    if (stat(dir, &sd) != 0)
        return mc_ctx_fail(ctx, MC_ERR_IO, "%s%s'%s': the folder '%s' does not exist: %s",
                           what ? what : "", what ? " " : "", path, dir, strerror(errno));
    if (!S_ISDIR(sd.st_mode))
        return mc_ctx_fail(ctx, MC_ERR_IO, "%s%s'%s': '%s' is not a folder", what ? what : "",
                           what ? " " : "", path, dir);
    return probe(ctx, dir, what, path);
}

mc_status mc_atomic_check_folder(mc_ctx *ctx, const char *dir, const char *what)
{
    struct stat sd;
    if (stat(dir, &sd) != 0)
        return mc_ctx_fail(ctx, MC_ERR_IO, "%s%s'%s': the folder does not exist: %s",
                           what ? what : "", what ? " " : "", dir, strerror(errno));
    if (!S_ISDIR(sd.st_mode))
        return mc_ctx_fail(ctx, MC_ERR_IO, "%s%s'%s' is %s, not a folder", what ? what : "",
                           what ? " " : "", dir, kind_of(sd.st_mode));
    return probe(ctx, dir, what, dir);
}
