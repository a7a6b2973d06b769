/* fuzz_torch_checkpoint.c — libFuzzer entry for the checkpoint reader (zip,
 * safe pickle, tensor views). An input starting with "PK" is a whole
 * archive; any other input is taken as the data.pkl of an archive with
 * fixed storage records, so that mutations reach the pickle interpreter
 * without first breaking the zip's offsets. Any input must either fail with
 * a message or give tensors whose every element can be read, also after
 * the checkpoint is closed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/ckpt_builder.h"
#include "orrery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned byte_sink;
static volatile double value_sink;

/* Records "0" (64 bytes), "1" (8), "2" (0) and "3" (4096) of the archive
 * wrapped around a bare pickle. */
static unsigned char *wrap_pickle(const uint8_t *data, size_t size, size_t *out_size) {
    static unsigned char records[4096];
    static const char *const keys[] = {"0", "1", "2", "3"};
    static const size_t sizes[] = {64, 8, 0, 4096};
    const void *bytes[] = {records, records, records, records};
    for (size_t i = 0; i < sizeof records; i++) records[i] = (unsigned char)(i * 37 + 11);
    tb_buf pickle = {(unsigned char *)data, size, size};
    return tb_torch_archive(&pickle, 4, keys, bytes, sizes, out_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    orr_checkpoint *ck = NULL;
    orr_status st;
    if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
        st = orr_ckpt_open_memory(data, size, "fuzz.pt", &ck);
    } else {
        size_t archive_size;
        unsigned char *archive = wrap_pickle(data, size, &archive_size);
        st = orr_ckpt_open_memory(archive, archive_size, "fuzz.pt", &ck);
        free(archive);
    }
    if (st != ORR_OK) {
        if (ck || !orr_last_error()[0]) abort();
        return 0;
    }
    int64_t n = orr_ckpt_count(ck);
    orr_tensor **views = calloc((size_t)(n ? n : 1), sizeof *views);
    unsigned sum = 0;
    for (int64_t i = 0; i < n; i++) {
        const char *name = orr_ckpt_name(ck, i);
        if (!name || !orr_ckpt_has(ck, name) || orr_ckpt_get(ck, name, &views[i]) != ORR_OK) abort();
    }
    for (int64_t i = 0; i < orr_ckpt_metadata_count(ck); i++) {
        const char *key = orr_ckpt_metadata_key(ck, i), *value = orr_ckpt_metadata(ck, key);
        if (!key || !value) abort();
        sum += (unsigned)strlen(value);
    }
    /* The views must outlive the checkpoint; a contiguous copy reads every
     * element through the file's strides. Stride-0 views may be far larger
     * than their storage: of those only the ends are read. */
    orr_ckpt_close(ck);
    for (int64_t i = 0; i < n; i++) {
        int64_t numel = orr_tensor_numel(views[i]);
        if (numel > (1 << 20)) {
            value_sink = orr_tensor_get(views[i], 0) + orr_tensor_get(views[i], numel - 1);
        } else {
            orr_tensor *c = NULL;
            if (orr_tensor_contiguous(&c, views[i]) != ORR_OK) abort();
            const unsigned char *bytes = c->data;
            for (size_t b = 0; b < orr_tensor_nbytes(c); b++) sum += bytes[b];
            orr_tensor_free(c);
        }
        orr_tensor_free(views[i]);
    }
    free(views);
    byte_sink = sum;
    return 0;
}
