/* SPDX-License-Identifier: MIT */
/* Files written whole or not at all: every file minicnn writes goes through this writer.
 *
 * A file is written to a temporary NAME.tmp.PID in the folder of its target, synced, and renamed
 * over the target (whose folder is synced too), so a crash, a full disk or a signal leaves the
 * old file or the new one, never a mix. On any error the temporary is removed and the old file
 * is kept. Targets:
 *   - a symbolic link is followed (up to 40 links): the file it points to is replaced and the
 *     link stays a link;
 *   - a target that exists and is not a regular file (a directory, a FIFO, a device such as
 *     /dev/null, a socket) is refused with MC_ERR_IO: it is never replaced nor written to;
 *   - a file replaced keeps its permission bits.
 * Temporaries of processes that are gone (NAME.tmp.PID whose PID no longer runs), left by a
 * crash or a kill -9, are removed the next time the same target is written.
 *
 * Signals: the temporaries being written are kept in a small process-wide table that
 * mc_atomic_signal_cleanup() reads, so that a program's SIGINT/SIGTERM handler can remove them
 * (it is async-signal-safe). This table is the one mutable global of the library: a signal
 * is process-wide, so is what it must clean up. Thread-safe (lock-free). */
#ifndef MINICNN_ATOMIC_H
#define MINICNN_ATOMIC_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>

#include <minicnn/ctx.h>

typedef struct mc_atomic_file mc_atomic_file;

/* Flags of mc_atomic_open. */
enum {
    /* On a signal, mc_atomic_signal_cleanup renames what was written so far over the target
     * instead of removing it (for logs written as they go, whose lines so far are worth
     * keeping). */
    MC_ATOMIC_KEEP_ON_SIGNAL = 1,
    /* Many files that can be made again (exported images, figures): neither the file nor the
     * folder is synced, and dead processes' temporaries are looked for only when the target
     * exists, so that writing N files into one folder stays linear. Still whole or nothing
     * when the process crashes or is killed; a power cut may lose the new file. */
    MC_ATOMIC_BULK = 2
};

/* Starts writing `path`: checks the target (see above), removes dead processes' temporaries of
 * it and creates this process's temporary. *out is freed by mc_atomic_commit, mc_atomic_commit_new
 * or mc_atomic_abort. Returns MC_OK, MC_ERR_IO (naming the path and strerror(errno), or why the
 * target is refused) or MC_ERR_NOMEM; *out is NULL on failure. */
mc_status mc_atomic_open(mc_ctx *ctx, const char *path, int flags, mc_atomic_file **out);

/* Appends len bytes. On failure (MC_ERR_IO naming the temporary and errno) the file stays open:
 * abort it. */
mc_status mc_atomic_write(mc_atomic_file *f, const void *data, size_t len);

/* The temporary's descriptor (to write through stdio: fdopen a dup of it, fclose that before
 * committing), its path, and the target's path after following links. Borrowed, valid until
 * the file is committed or aborted. */
int mc_atomic_fd(const mc_atomic_file *f);
const char *mc_atomic_temp_path(const mc_atomic_file *f);
const char *mc_atomic_target(const mc_atomic_file *f);

/* Syncs the temporary and renames it over the target, then syncs the folder. Frees f, also on
 * failure (then the temporary is removed and the target untouched). MC_OK or MC_ERR_IO. */
mc_status mc_atomic_commit(mc_atomic_file *f);

/* Creates `path` (in the target's folder) from the temporary, exclusively: an existing file of
 * that name is never replaced. Returns MC_OK (f freed), MC_ERR_STATE when `path` exists (f is
 * kept: try another name or abort), or MC_ERR_IO (f freed, temporary removed). */
mc_status mc_atomic_commit_new(mc_atomic_file *f, const char *path);

/* Removes the temporary and frees f; NULL is allowed. The target is untouched. */
void mc_atomic_abort(mc_atomic_file *f);

/* Writes len bytes to path whole or not at all (open, write, commit). */
mc_status mc_atomic_write_file(mc_ctx *ctx, const char *path, const void *data, size_t len);

/* Checks, before long work, that path can be written later: its folder exists and a file can
 * be created in it (tried, then removed), and the target, if it exists, is a regular file
 * (after following links). MC_OK or MC_ERR_IO saying what is wrong with which path. `what`
 * names the destination in the message ("--report"), or is NULL. */
mc_status mc_atomic_check(mc_ctx *ctx, const char *path, const char *what);

/* The same for a folder that files will be created in: it exists, is a folder, and a file can
 * be created in it. */
mc_status mc_atomic_check_folder(mc_ctx *ctx, const char *dir, const char *what);

/* Removes (or, for MC_ATOMIC_KEEP_ON_SIGNAL, renames into place) every temporary this process
 * is writing. Async-signal-safe: for a SIGINT/SIGTERM handler, which then ends the process. */
void mc_atomic_signal_cleanup(void);

#ifdef __cplusplus
}
#endif

#endif
