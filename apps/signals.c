/* SPDX-License-Identifier: MIT */
/* Signals: see signals.h. */
#include "signals.h"

#include <signal.h>
#include <string.h>

#include <minicnn/atomic.h>

static void on_signal(int sig)
{
    mc_atomic_signal_cleanup();
    /* the default action, delivered when this handler returns (the signal is blocked in it) */
    signal(sig, SIG_DFL);
    raise(sig);
}

void signals_install(void)
{
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        for (int k = 0; k < 3; k++) /* one clean-up at a time */
            sigaddset(&sa.sa_mask, sigs[k]);
        sigaction(sigs[i], &sa, NULL);
    }
}
