/* zip.h — a read-only view of a zip archive held in memory (a mapped file),
 * as PyTorch writes them: entries stored or deflated, sizes taken from the
 * central directory (torch's local headers hold zeros and a data
 * descriptor), ZIP64 end records and extra fields for files past 4 GiB.
 * Nothing is decompressed: callers read stored entries in place. */
#ifndef ORR_ZIP_H
#define ORR_ZIP_H

#include "internal.h"

enum { ORR_ZIP_STORED = 0, ORR_ZIP_DEFLATED = 8 };

typedef struct orr_zip_entry {
    const char *name;         /* NUL-terminated, owned by the archive */
    uint64_t data_offset;     /* where the entry's bytes start in the archive */
    uint64_t size;            /* uncompressed */
    uint64_t compressed_size; /* bytes at data_offset */
    uint16_t method;
    uint16_t flags;
} orr_zip_entry;

typedef struct orr_zip orr_zip;

/* Parses the central directory of `size` bytes at `data` (borrowed: it must
 * outlive the archive) and checks every entry's local header and bounds.
 * `label` names the archive in error messages ("zip: LABEL: ..."). */
orr_status orr_zip_open(const void *data, size_t size, const char *label, orr_zip **out);
void orr_zip_close(orr_zip *zip);

int64_t orr_zip_count(const orr_zip *zip);
/* Entries in central-directory order; NULL out of range. */
const orr_zip_entry *orr_zip_entry_at(const orr_zip *zip, int64_t index);
/* NULL when there is no entry of that name. */
const orr_zip_entry *orr_zip_find(const orr_zip *zip, const char *name);
/* The bytes of a stored entry, in place; ORR_ERR_UNSUPPORTED for a
 * compressed or encrypted one. */
orr_status orr_zip_stored_data(const orr_zip *zip, const orr_zip_entry *entry, const uint8_t **bytes);

#endif
