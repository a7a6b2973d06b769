/* error.c — per-thread error messages behind orr_last_error(). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define ORR_ERROR_SIZE 1024

static _Thread_local char last_error[ORR_ERROR_SIZE];

const char *orr_last_error(void) { return last_error; }

void orr_clear_error(void) { last_error[0] = '\0'; }

orr_status orr_error(orr_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

orr_status orr_error_context(orr_status status, const char *fmt, ...) {
    char prefix[ORR_ERROR_SIZE], old[ORR_ERROR_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    size_t n = strlen(prefix); /* the message is cut at ORR_ERROR_SIZE by design */
    memcpy(last_error, prefix, n + 1);
    strncat(last_error, old, sizeof last_error - n - 1);
    return status;
}

const char *orr_status_name(orr_status status) {
    switch (status) {
    case ORR_OK: return "ok";
    case ORR_ERR_ARGUMENT: return "argument";
    case ORR_ERR_SHAPE: return "shape";
    case ORR_ERR_DTYPE: return "dtype";
    case ORR_ERR_IO: return "io";
    case ORR_ERR_FORMAT: return "format";
    case ORR_ERR_NOT_FOUND: return "not found";
    case ORR_ERR_MEMORY: return "memory";
    case ORR_ERR_UNSUPPORTED: return "unsupported";
    case ORR_ERR_NONFINITE: return "non-finite";
    case ORR_ERR_CANCELLED: return "cancelled";
    case ORR_ERR_MISMATCH: return "mismatch";
    }
    return "unknown status";
}
