/* media.h — helpers shared by the media files (png.c, frames.c, video_*.c);
 * not part of the public API. */
#ifndef ORR_MEDIA_H
#define ORR_MEDIA_H

#include "internal.h"

/* "path.tmp.PID": beside path, so that rename() replaces it atomically.
 * malloc'd; NULL when out of memory. */
char *orr_media_temp_name(const char *path);

/* Flushes a written file to disk before it is renamed into place. */
orr_status orr_media_sync(const char *what, const char *path);

/* Writes a PNG at exactly `path`, without the temporary name: the video
 * writer renames a whole PNG sequence at once. `what` names the output in
 * messages. */
orr_status orr_png_write_exact(const char *what, const char *path, const orr_tensor *image,
                               const orr_metadata *text);

/* The index of the source frame that output frame j shows when a clip at
 * src_fps is shown at dst_fps (nearest in time). */
int64_t orr_frames_source_index(int64_t j, double src_fps, double dst_fps);

/* Checks a u8 frames tensor [T,H,W,C] (or one [H,W,C] image when
 * allow_image) and reports its size; messages start with op and arg. */
orr_status orr_frames_check(const char *op, const char *arg, const orr_tensor *frames, bool allow_image,
                            int64_t *t, int64_t *h, int64_t *w, int64_t *c);

#if ORR_HAVE_FFMPEG
#include <libavutil/pixfmt.h>

enum { ORR_AV_ERROR_SIZE = 400 };
/* Starts a series of FFmpeg calls: forgets what FFmpeg last logged. */
void orr_av_log_begin(void);
/* FFmpeg's text for an AVERROR code, with the last error FFmpeg logged on
 * this thread since orr_av_log_begin when it adds something. */
const char *orr_av_error(int code, char buf[ORR_AV_ERROR_SIZE]);

/* Converts pictures of any pixel format and size to packed frames of one
 * size and layout (gray, RGB or RGBA), meeting other aspect ratios by
 * `fit`; pictures with alpha become RGB composited over white when the
 * output is RGB. Keeps its swscale context between calls. */
typedef struct orr_picture_scaler orr_picture_scaler;
orr_status orr_picture_scaler_create(int out_width, int out_height, int out_channels, orr_fit fit,
                                     orr_picture_scaler **out);
void orr_picture_scaler_free(orr_picture_scaler *s);
/* dst holds out_height rows of out_width*out_channels bytes, dst_stride
 * bytes apart. colorspace/full_range describe YUV sources (AVColorSpace,
 * AVColorRange == JPEG). */
orr_status orr_picture_scale(orr_picture_scaler *s, const uint8_t *const src[4], const int src_stride[4],
                             int src_width, int src_height, enum AVPixelFormat src_format, int colorspace,
                             bool full_range, uint8_t *dst, int64_t dst_stride);
#endif

#endif /* ORR_MEDIA_H */
