/* SPDX-License-Identifier: MIT */
/*
 * version.matches: the linked library (tio_version), the header
 * (TIO_VERSION_STRING and TIO_VERSION_MAJOR/MINOR/PATCH) and CMakeLists.txt's
 * project(VERSION), which the build passes as TIO_PROJECT_VERSION, say the
 * same version.
 */
#include "taskio.h"

#include <stdio.h>
#include <string.h>

#define TIO_STR_(x) #x
#define TIO_STR(x) TIO_STR_(x)

int main(void)
{
    const char *numbers = TIO_STR(TIO_VERSION_MAJOR) "." TIO_STR(TIO_VERSION_MINOR) "." TIO_STR(
        TIO_VERSION_PATCH);
    const char *linked = tio_version();
    printf("tio_version() %s, TIO_VERSION_STRING %s, TIO_VERSION_MAJOR.MINOR.PATCH %s, "
           "project(VERSION) %s\n",
           linked ? linked : "(null)", TIO_VERSION_STRING, numbers, TIO_PROJECT_VERSION);
    if (linked == NULL || strcmp(linked, TIO_VERSION_STRING) != 0 ||
        strcmp(numbers, TIO_VERSION_STRING) != 0 ||
        strcmp(TIO_PROJECT_VERSION, TIO_VERSION_STRING) != 0) {
        printf("version.matches: the versions differ\n");
        return 1;
    }
    return 0;
}
