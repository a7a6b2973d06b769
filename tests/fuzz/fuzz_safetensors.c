/* fuzz_safetensors.c — libFuzzer entry for the safetensors reader: any input
 * must either fail with a message or give tensors whose every byte can be
 * read, with metadata that can be listed and looked up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orrery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the reads of every byte from being optimised away. */
static volatile unsigned byte_sink;
static volatile double value_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    orr_safetensors *st = NULL;
    if (orr_st_open_memory(data, size, "fuzz", &st) != ORR_OK) {
        if (st || !orr_last_error()[0]) abort();
        return 0;
    }
    int64_t n = orr_st_count(st);
    orr_tensor **views = calloc((size_t)(n ? n : 1), sizeof *views);
    unsigned sum = 0;
    for (int64_t i = 0; i < n; i++) {
        const char *name = orr_st_name(st, i);
        if (!name || !orr_st_has(st, name) || orr_st_get(st, name, &views[i]) != ORR_OK) abort();
        const unsigned char *bytes = views[i]->data;
        for (size_t b = 0; b < orr_tensor_nbytes(views[i]); b++) sum += bytes[b];
    }
    for (int64_t i = 0; i < orr_st_metadata_count(st); i++) {
        const char *key = orr_st_metadata_key(st, i), *value = orr_st_metadata(st, key);
        if (!key || !value) abort();
        sum += (unsigned)strlen(value);
    }
    /* The views must outlive the file object. */
    orr_st_close(st);
    for (int64_t i = 0; i < n; i++) {
        if (orr_tensor_numel(views[i])) value_sink = orr_tensor_get(views[i], orr_tensor_numel(views[i]) - 1);
        orr_tensor_free(views[i]);
    }
    free(views);
    byte_sink = sum;
    return 0;
}
