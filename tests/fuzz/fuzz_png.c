/* fuzz_png.c — libFuzzer entry for the PNG reader: any input must either
 * fail with a message and no tensor, or give an [H,W,C] image (u8, or i32
 * within 0..65535) whose every value can be read, with text that can be
 * listed and looked up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orrery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile int64_t value_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    orr_tensor *image = NULL;
    orr_metadata *text = NULL;
    if (orr_metadata_create(&text) != ORR_OK) abort();
    if (orr_png_read_memory(data, size, "fuzz.png", &image, text) != ORR_OK) {
        if (image || !orr_last_error()[0]) abort();
        orr_metadata_free(text);
        return 0;
    }
    if (image->ndim != 3 || image->shape[2] < 1 || image->shape[2] > 4) abort();
    int64_t sum = 0, n = orr_tensor_numel(image);
    if (image->dtype == ORR_U8) {
        const uint8_t *v = image->data;
        for (int64_t i = 0; i < n; i++) sum += v[i];
    } else if (image->dtype == ORR_I32) {
        const int32_t *v = image->data;
        for (int64_t i = 0; i < n; i++) {
            if (v[i] < 0 || v[i] > 65535) abort();
            sum += v[i];
        }
    } else {
        abort();
    }
    for (int64_t i = 0; i < orr_metadata_count(text); i++) {
        const char *key = orr_metadata_key(text, i);
        if (!key || !orr_metadata_get(text, key)) abort();
        sum += (int64_t)strlen(orr_metadata_value(text, i));
    }
    value_sink = sum;
    orr_tensor_free(image);
    orr_metadata_free(text);
    return 0;
}
