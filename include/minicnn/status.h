/* SPDX-License-Identifier: MIT */
/* Status codes returned by every fallible minicnn call. */
#ifndef MINICNN_STATUS_H
#define MINICNN_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* One table gives the enum constant, its printable name and its text. Append only: the numeric
 * values are part of the ABI and of the command's exit codes. */
#define MC_STATUS_TABLE(X)                                                                         \
    X(MC_OK, "success")                                                                            \
    X(MC_ERR_NOMEM, "out of memory")                                                               \
    X(MC_ERR_INVALID, "invalid argument")                                                          \
    X(MC_ERR_SHAPE, "incompatible shapes")                                                         \
    X(MC_ERR_STATE, "operation not valid in the current state")                                    \
    X(MC_ERR_IO, "input/output error")                                                             \
    X(MC_ERR_FORMAT, "malformed input file")                                                       \
    X(MC_ERR_NUMERIC, "non-finite value")                                                          \
    X(MC_ERR_CALLBACK, "a user callback failed")

typedef enum mc_status {
#define MC_STATUS_ENUM_(code, text) code,
    MC_STATUS_TABLE(MC_STATUS_ENUM_)
#undef MC_STATUS_ENUM_
        MC_STATUS_COUNT_
} mc_status;

/* "MC_ERR_NOMEM" for MC_ERR_NOMEM; "MC_UNKNOWN_STATUS" for a value outside the table.
 * Returns a static string. */
const char *mc_status_name(mc_status s);

/* "out of memory" for MC_ERR_NOMEM; a static string. */
const char *mc_status_text(mc_status s);

#ifdef __cplusplus
}
#endif

#endif
