/* video_none.c — the video API in a build without FFmpeg (ORR_FFMPEG=OFF):
 * every call reports ORR_ERR_UNSUPPORTED, so callers and tests can tell. */
#include "media.h"

#if !ORR_HAVE_FFMPEG
#define NO_FFMPEG(what) orr_error(ORR_ERR_UNSUPPORTED, "%s: orrery was built without FFmpeg (ORR_FFMPEG=OFF)", what)

orr_status orr_frames_resize(orr_tensor *out, const orr_tensor *frames, orr_fit fit) {
    return NO_FFMPEG("frames_resize");
}

orr_status orr_video_open(const char *path, const orr_video_read_params *params, orr_video_reader **out) {
    if (out) *out = NULL;
    return NO_FFMPEG("video_open");
}

orr_status orr_video_open_memory(const void *data, size_t size, const char *name,
                                 const orr_video_read_params *params, orr_video_reader **out) {
    if (out) *out = NULL;
    return NO_FFMPEG("video_open_memory");
}

/* No reader or writer can exist in this build: the calls that take one
 * have nothing to do. */
void orr_video_close(orr_video_reader *r) {}
void orr_video_get_info(const orr_video_reader *r, orr_video_info *out) {}
const orr_metadata *orr_video_metadata(const orr_video_reader *r) { return NULL; }
int64_t orr_video_position(const orr_video_reader *r) { return 0; }
orr_status orr_video_seek(orr_video_reader *r, int64_t index) { return NO_FFMPEG("video_seek"); }

orr_status orr_video_read(orr_video_reader *r, orr_tensor *out, int64_t *n_read) {
    if (n_read) *n_read = 0;
    return NO_FFMPEG("video_read");
}

orr_status orr_video_load(const char *path, const orr_video_read_params *params, orr_tensor **frames,
                          orr_video_info *info, orr_metadata *metadata) {
    if (frames) *frames = NULL;
    return NO_FFMPEG("video_load");
}

orr_status orr_video_writer_open(const char *path, int64_t width, int64_t height,
                                 const orr_video_write_params *params, const orr_metadata *metadata,
                                 orr_video_writer **out) {
    if (out) *out = NULL;
    return NO_FFMPEG("video_writer_open");
}

orr_status orr_video_writer_add(orr_video_writer *w, const orr_tensor *frames) {
    return NO_FFMPEG("video_writer_add");
}

orr_status orr_video_writer_finish(orr_video_writer *w) { return NO_FFMPEG("video_writer_finish"); }
void orr_video_writer_free(orr_video_writer *w) {}

orr_status orr_video_save(const char *path, const orr_tensor *frames, const orr_video_write_params *params,
                          const orr_metadata *metadata) {
    return NO_FFMPEG("video_save");
}
#endif
