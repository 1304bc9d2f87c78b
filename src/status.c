/* SPDX-License-Identifier: MIT */
#include <minicnn/status.h>

const char *mc_status_name(mc_status s)
{
    switch (s) {
#define MC_STATUS_NAME_(code, text)                                                                \
    case code:                                                                                     \
        return #code;
        MC_STATUS_TABLE(MC_STATUS_NAME_)
#undef MC_STATUS_NAME_
    default:
        return "MC_UNKNOWN_STATUS";
    }
}

const char *mc_status_text(mc_status s)
{
    switch (s) {
#define MC_STATUS_TEXT_(code, text)                                                                \
    case code:                                                                                     \
        return text;
        MC_STATUS_TABLE(MC_STATUS_TEXT_)
#undef MC_STATUS_TEXT_
    default:
        return "unknown status";
    }
}
