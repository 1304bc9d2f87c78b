/* SPDX-License-Identifier: MIT */
/* The run-time version: the one the library was compiled with. */
#include <minicnn/version.h>

const char *mc_version(void)
{
    return MC_VERSION_STRING;
}
