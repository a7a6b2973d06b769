/* video_log.c — FFmpeg's messages. Its log goes to stderr by default,
 * which a library must not spam on every damaged file; instead the last
 * error it logs on a thread is kept and joined to orrery's own message
 * ("Invalid data found when processing input (moov atom not found)").
 * ORR_FFMPEG_LOG=1 in the environment also prints everything FFmpeg logs. */
#include "media.h"

#if ORR_HAVE_FFMPEG
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_log[256];
static bool echo_log;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void keep_log(void *avcl, int level, const char *fmt, va_list args) {
    if (echo_log) {
        va_list copy;
        va_copy(copy, args);
        av_log_default_callback(avcl, level, fmt, copy);
        va_end(copy);
    }
    if (level > AV_LOG_ERROR) return;
    int print_prefix = 0;
    char line[256];
    av_log_format_line2(NULL, level, fmt, args, line, sizeof line, &print_prefix);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' ' || line[n - 1] == '.')) line[--n] = '\0';
    if (n) memcpy(last_log, line, n + 1);
}

static void install(void) {
    const char *env = getenv("ORR_FFMPEG_LOG");
    echo_log = env && env[0] && strcmp(env, "0") != 0;
    av_log_set_callback(keep_log);
}

void orr_av_log_begin(void) {
    pthread_once(&log_once, install);
    last_log[0] = '\0';
}

const char *orr_av_error(int code, char buf[ORR_AV_ERROR_SIZE]) {
    char text[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(code, text, sizeof text);
    if (last_log[0] && !strstr(text, last_log))
        snprintf(buf, ORR_AV_ERROR_SIZE, "%s (%s)", text, last_log);
    else
        snprintf(buf, ORR_AV_ERROR_SIZE, "%s", text);
    return buf;
}
#endif
