/* fuzz_video.c — libFuzzer entry for the video reader over a buffer: any
 * input must either fail with a message and no reader, or give a reader
 * whose frames can be read, seeked and read again, with metadata that can
 * be listed. Frames are read at a small size, so the scaler runs too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orrery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_FRAMES = 4, HEIGHT = 12, WIDTH = 16 };

static volatile unsigned byte_sink;

static unsigned read_frames(orr_video_reader *r, orr_tensor *frames) {
    int64_t n = -1;
    unsigned sum = 0;
    if (orr_video_read(r, frames, &n) != ORR_OK) {
        if (!orr_last_error()[0]) abort();
        return 0;
    }
    if (n < 0 || n > MAX_FRAMES) abort();
    const uint8_t *p = frames->data;
    for (int64_t i = 0; i < n * HEIGHT * WIDTH * 3; i++) sum += p[i];
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    orr_video_read_params params;
    orr_video_read_params_init(&params);
    params.width = WIDTH;
    params.height = HEIGHT;
    orr_video_reader *r = NULL;
    if (orr_video_open_memory(data, size, "fuzz", &params, &r) != ORR_OK) {
        if (r || !orr_last_error()[0]) abort();
        return 0;
    }
    orr_video_info info;
    orr_video_get_info(r, &info);
    if (info.frames < 1 || info.width != WIDTH || info.height != HEIGHT || !(info.fps > 0)) abort();
    const orr_metadata *meta = orr_video_metadata(r);
    unsigned sum = 0;
    for (int64_t i = 0; i < orr_metadata_count(meta); i++) sum += (unsigned)strlen(orr_metadata_value(meta, i));

    int64_t shape[4] = {MAX_FRAMES, HEIGHT, WIDTH, 3};
    orr_tensor *frames = NULL;
    if (orr_tensor_empty(&frames, ORR_U8, 4, shape) != ORR_OK) abort();
    sum += read_frames(r, frames);
    if (orr_video_seek(r, info.frames - 1) == ORR_OK) sum += read_frames(r, frames);
    if (orr_video_seek(r, info.frames / 2) == ORR_OK) sum += read_frames(r, frames);
    byte_sink = sum;
    orr_tensor_free(frames);
    orr_video_close(r);
    return 0;
}
