/* zip.c — the central directory of a zip archive in memory (APPNOTE 6.3.x,
 * the subset PyTorch's miniz writer uses): one disk, no archive comment
 * games, ZIP64 where sizes or offsets pass 32 bits. Entry bytes are never
 * checked against their CRC: the tensors of a 14 GB checkpoint are read in
 * place from the mapping, and the pickle reader validates what it reads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zip.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

enum { LOCAL_SIZE = 30, CENTRAL_SIZE = 46, END_SIZE = 22, END64_SIZE = 56, LOCATOR64_SIZE = 20 };
enum { EXTRA_ZIP64 = 0x0001, FLAG_ENCRYPTED = 0x0001 };

struct orr_zip {
    const uint8_t *data;
    size_t size;
    char *label;
    char *names; /* every name, NUL-terminated, back to back */
    orr_zip_entry *entries;
    const orr_zip_entry **by_name;
    int64_t count;
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static orr_status zip_fail(const orr_zip *zip, const char *fmt, ...) ORR_PRINTF(2, 3);
static orr_status zip_fail(const orr_zip *zip, const char *fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return orr_error(ORR_ERR_FORMAT, "zip: %s: %s", zip->label, detail);
}

/* Where the central directory is, from the end records. */
typedef struct zip_directory {
    uint64_t offset, size, count;
    uint64_t end; /* where the end records start: the directory must stop before */
} zip_directory;

/* The classic end record: the last "PK\5\6" whose comment reaches exactly
 * the end of the file (a signature inside the comment cannot fool that). */
static orr_status find_end_record(const orr_zip *zip, size_t *at) {
    if (zip->size < END_SIZE)
        return zip_fail(zip, "%zu bytes, too short for a zip archive (truncated file?)", zip->size);
    size_t last = zip->size - END_SIZE, first = last > 0xffff ? last - 0xffff : 0;
    for (size_t pos = last + 1; pos-- > first;)
        if (rd32(zip->data + pos) == SIG_END && pos + END_SIZE + rd16(zip->data + pos + 20) == zip->size) {
            *at = pos;
            return ORR_OK;
        }
    return zip_fail(zip, "no end-of-central-directory record: the file is truncated or not a zip archive");
}

static orr_status read_zip64_end(const orr_zip *zip, size_t locator, zip_directory *dir) {
    const uint8_t *p = zip->data + locator;
    uint64_t at = rd64(p + 8);
    if (rd32(p + 4) != 0 || rd32(p + 16) > 1) return zip_fail(zip, "multi-disk archives are not supported");
    if (at > locator || locator - at < END64_SIZE)
        return zip_fail(zip, "the ZIP64 end record offset %llu is not before its locator at %zu",
                        (unsigned long long)at, locator);
    const uint8_t *e = zip->data + at;
    if (rd32(e) != SIG_END64) return zip_fail(zip, "no ZIP64 end record at offset %llu", (unsigned long long)at);
    if (rd32(e + 16) != 0 || rd32(e + 20) != 0 || rd64(e + 24) != rd64(e + 32))
        return zip_fail(zip, "multi-disk archives are not supported");
    dir->count = rd64(e + 32);
    dir->size = rd64(e + 40);
    dir->offset = rd64(e + 48);
    dir->end = at;
    return ORR_OK;
}

static orr_status read_directory_location(const orr_zip *zip, zip_directory *dir) {
    size_t end = 0;
    orr_status st = find_end_record(zip, &end);
    if (st) return st;
    const uint8_t *p = zip->data + end;
    uint16_t disk = rd16(p + 4), cd_disk = rd16(p + 6), on_disk = rd16(p + 8), count = rd16(p + 10);
    uint32_t size = rd32(p + 12), offset = rd32(p + 16);
    bool saturated = count == 0xffff || size == 0xffffffffu || offset == 0xffffffffu;
    if (end >= LOCATOR64_SIZE && rd32(zip->data + end - LOCATOR64_SIZE) == SIG_LOCATOR64)
        return read_zip64_end(zip, end - LOCATOR64_SIZE, dir);
    if (saturated) return zip_fail(zip, "the end record needs a ZIP64 end record, which is missing");
    if (disk != 0 || cd_disk != 0 || on_disk != count) return zip_fail(zip, "multi-disk archives are not supported");
    dir->count = count;
    dir->size = size;
    dir->offset = offset;
    dir->end = end;
    return ORR_OK;
}

/* Replaces the 32-bit fields that hold 0xFFFFFFFF by the 64-bit values of
 * the ZIP64 extra field, which lists only those, in this order. */
static orr_status apply_zip64_extra(const orr_zip *zip, const char *name, const uint8_t *extra, size_t len,
                                    uint64_t *size, uint64_t *csize, uint64_t *offset) {
    uint64_t *fields[3] = {size, csize, offset};
    bool wanted[3] = {*size == 0xffffffffu, *csize == 0xffffffffu, *offset == 0xffffffffu};
    if (!wanted[0] && !wanted[1] && !wanted[2]) return ORR_OK;
    for (size_t pos = 0; pos + 4 <= len;) {
        uint16_t id = rd16(extra + pos), n = rd16(extra + pos + 2);
        if (n > len - pos - 4) break;
        if (id == EXTRA_ZIP64) {
            size_t at = pos + 4;
            for (int f = 0; f < 3; f++) {
                if (!wanted[f]) continue;
                if (at + 8 > pos + 4 + (size_t)n)
                    return zip_fail(zip, "entry '%s': its ZIP64 extra field is too short", name);
                *fields[f] = rd64(extra + at);
                at += 8;
            }
            return ORR_OK;
        }
        pos += 4 + (size_t)n;
    }
    return zip_fail(zip, "entry '%s': sizes or offset of 0xFFFFFFFF without a ZIP64 extra field", name);
}

/* The local header must be where the directory says, name the same entry,
 * and leave room for the entry's bytes before the central directory. */
static orr_status locate_data(const orr_zip *zip, orr_zip_entry *e, uint64_t local, const zip_directory *dir) {
    if (local > dir->offset || dir->offset - local < LOCAL_SIZE)
        return zip_fail(zip, "entry '%s': local header offset %llu is not before the central directory at %llu",
                        e->name, (unsigned long long)local, (unsigned long long)dir->offset);
    const uint8_t *p = zip->data + local;
    if (rd32(p) != SIG_LOCAL)
        return zip_fail(zip, "entry '%s': no local header at offset %llu", e->name, (unsigned long long)local);
    size_t name_len = rd16(p + 26), extra_len = rd16(p + 28);
    uint64_t start = local + LOCAL_SIZE + name_len + extra_len;
    if (start > dir->offset || name_len != strlen(e->name) || memcmp(p + LOCAL_SIZE, e->name, name_len) != 0)
        return zip_fail(zip, "entry '%s': the local header at offset %llu does not match the central directory",
                        e->name, (unsigned long long)local);
    if (e->compressed_size > dir->offset - start)
        return zip_fail(zip, "entry '%s': %llu bytes at offset %llu run into the central directory at %llu "
                        "(truncated or damaged file?)", e->name, (unsigned long long)e->compressed_size,
                        (unsigned long long)start, (unsigned long long)dir->offset);
    e->data_offset = start;
    return ORR_OK;
}

static int compare_names(const void *a, const void *b) {
    return strcmp((*(const orr_zip_entry *const *)a)->name, (*(const orr_zip_entry *const *)b)->name);
}

static orr_status read_directory(orr_zip *zip) {
    zip_directory dir = {0};
    orr_status st = read_directory_location(zip, &dir);
    if (st) return st;
    if (dir.offset > dir.end || dir.size > dir.end - dir.offset)
        return zip_fail(zip, "the central directory (%llu bytes at offset %llu) does not end before the end "
                        "record at %llu", (unsigned long long)dir.size, (unsigned long long)dir.offset,
                        (unsigned long long)dir.end);
    if (dir.count > dir.size / CENTRAL_SIZE)
        return zip_fail(zip, "%llu entries cannot fit in a %llu-byte central directory",
                        (unsigned long long)dir.count, (unsigned long long)dir.size);
    /* Names take less room than the directory they are read from. */
    zip->entries = calloc(dir.count ? dir.count : 1, sizeof *zip->entries);
    zip->by_name = calloc(dir.count ? dir.count : 1, sizeof *zip->by_name);
    zip->names = malloc(dir.size + 1);
    if (!zip->entries || !zip->by_name || !zip->names)
        return orr_error(ORR_ERR_MEMORY, "zip: %s: out of memory for %llu entries", zip->label,
                         (unsigned long long)dir.count);

    const uint8_t *p = zip->data + dir.offset, *end = p + dir.size;
    char *names = zip->names;
    for (uint64_t i = 0; i < dir.count; i++) {
        if (end - p < CENTRAL_SIZE || rd32(p) != SIG_CENTRAL)
            return zip_fail(zip, "central directory entry %llu at offset %llu is damaged", (unsigned long long)i,
                            (unsigned long long)(p - zip->data));
        size_t name_len = rd16(p + 28), extra_len = rd16(p + 30), comment_len = rd16(p + 32);
        if ((size_t)(end - p) - CENTRAL_SIZE < name_len + extra_len + comment_len)
            return zip_fail(zip, "central directory entry %llu runs past the directory", (unsigned long long)i);
        if (memchr(p + CENTRAL_SIZE, 0, name_len))
            return zip_fail(zip, "central directory entry %llu has a NUL byte in its name", (unsigned long long)i);
        orr_zip_entry *e = &zip->entries[i];
        memcpy(names, p + CENTRAL_SIZE, name_len);
        names[name_len] = 0;
        e->name = names;
        names += name_len + 1;
        e->flags = rd16(p + 8);
        e->method = rd16(p + 10);
        e->compressed_size = rd32(p + 20);
        e->size = rd32(p + 24);
        uint64_t local = rd32(p + 42);
        if (rd16(p + 34) != 0 && rd16(p + 34) != 0xffff)
            return zip_fail(zip, "entry '%s' is on another disk: multi-disk archives are not supported", e->name);
        if ((st = apply_zip64_extra(zip, e->name, p + CENTRAL_SIZE + name_len, extra_len, &e->size,
                                    &e->compressed_size, &local)) ||
            (st = locate_data(zip, e, local, &dir)))
            return st;
        zip->by_name[i] = e;
        zip->count++;
        p += CENTRAL_SIZE + name_len + extra_len + comment_len;
    }
    if (p != end)
        return zip_fail(zip, "%lld bytes left in the central directory after its %llu entries", (long long)(end - p),
                        (unsigned long long)dir.count);
    qsort(zip->by_name, (size_t)zip->count, sizeof *zip->by_name, compare_names);
    for (int64_t i = 1; i < zip->count; i++)
        if (!strcmp(zip->by_name[i - 1]->name, zip->by_name[i]->name))
            return zip_fail(zip, "entry '%s' appears twice", zip->by_name[i]->name);
    return ORR_OK;
}

orr_status orr_zip_open(const void *data, size_t size, const char *label, orr_zip **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "zip: out is NULL");
    *out = NULL;
    if (!label) label = "(memory)";
    if (!data && size) return orr_error(ORR_ERR_ARGUMENT, "zip: %s: data is NULL", label);
    orr_zip *zip = calloc(1, sizeof *zip);
    if (!zip || !(zip->label = strdup(label))) {
        free(zip);
        return orr_error(ORR_ERR_MEMORY, "zip: %s: out of memory", label);
    }
    zip->data = data;
    zip->size = size;
    orr_status st = read_directory(zip);
    if (st) {
        orr_zip_close(zip);
        return st;
    }
    *out = zip;
    return ORR_OK;
}

void orr_zip_close(orr_zip *zip) {
    if (!zip) return;
    free(zip->entries);
    free(zip->by_name);
    free(zip->names);
    free(zip->label);
    free(zip);
}

int64_t orr_zip_count(const orr_zip *zip) { return zip ? zip->count : 0; }

const orr_zip_entry *orr_zip_entry_at(const orr_zip *zip, int64_t index) {
    return zip && index >= 0 && index < zip->count ? &zip->entries[index] : NULL;
}

const orr_zip_entry *orr_zip_find(const orr_zip *zip, const char *name) {
    if (!zip || !name) return NULL;
    int64_t lo = 0, hi = zip->count;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, zip->by_name[mid]->name);
        if (!c) return zip->by_name[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

orr_status orr_zip_stored_data(const orr_zip *zip, const orr_zip_entry *entry, const uint8_t **bytes) {
    *bytes = NULL;
    if (entry->flags & FLAG_ENCRYPTED)
        return orr_error(ORR_ERR_UNSUPPORTED, "zip: %s: entry '%s' is encrypted", zip->label, entry->name);
    if (entry->method != ORR_ZIP_STORED)
        return orr_error(ORR_ERR_UNSUPPORTED, "zip: %s: entry '%s' is compressed (method %u); only stored entries "
                         "can be read in place", zip->label, entry->name, entry->method);
    if (entry->size != entry->compressed_size)
        return zip_fail(zip, "stored entry '%s' has size %llu but %llu bytes in the archive", entry->name,
                        (unsigned long long)entry->size, (unsigned long long)entry->compressed_size);
    *bytes = zip->data + entry->data_offset;
    return ORR_OK;
}
