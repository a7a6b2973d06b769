/* media_file.c — the temporary-name-and-rename discipline of the media
 * writers: nothing appears under the final name until it is complete. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media.h"

char *orr_media_temp_name(const char *path) {
    size_t size = strlen(path) + 32;
    char *tmp = malloc(size);
    if (tmp) snprintf(tmp, size, "%s.tmp.%ld", path, (long)getpid());
    return tmp;
}

orr_status orr_media_sync(const char *what, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return orr_error(ORR_ERR_IO, "%s: cannot reopen %s: %s", what, path, strerror(errno));
    int failed = fsync(fd) != 0;
    int err = errno;
    close(fd);
    if (failed) return orr_error(ORR_ERR_IO, "%s: cannot flush %s to disk: %s", what, path, strerror(err));
    return ORR_OK;
}
