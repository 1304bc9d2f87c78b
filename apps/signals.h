/* SPDX-License-Identifier: MIT */
/* SIGINT, SIGTERM and SIGHUP end the command without leaving temporary files behind. */
#ifndef MINICNN_SIGNALS_H
#define MINICNN_SIGNALS_H

/* Installs the handlers: each removes the temporaries being written (mc_atomic_signal_cleanup:
 * a checkpoint or model half written is gone, the old file kept; a --log keeps its lines so
 * far), then ends the process by the same signal, so its exit status says it was killed.
 * Signals ignored at start (nohup) stay ignored. */
void signals_install(void);

#endif
