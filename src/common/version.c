/* SPDX-License-Identifier: MIT */
/*
 * The library's version: what this library was compiled as, for a program
 * to compare with the header it was compiled against (TIO_VERSION_STRING).
 */
#include "taskio.h"

const char *tio_version(void)
{
    return TIO_VERSION_STRING;
}
