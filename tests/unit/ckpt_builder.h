/* ckpt_builder.h — writes small PyTorch-style archives in memory for the
 * checkpoint tests and the fuzz harness: a stored zip laid out like
 * torch.save's (entries under one root folder, data 64-byte aligned, sizes
 * in the central directory) and the pickle opcodes a state dict uses.
 * Test code: allocation failure ends the process. */
#ifndef ORR_CKPT_BUILDER_H
#define ORR_CKPT_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tb_buf {
    unsigned char *data;
    size_t size, capacity;
} tb_buf;

static inline void tb_put(tb_buf *b, const void *p, size_t n) {
    if (b->size + n > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 256;
        while (cap < b->size + n) cap *= 2;
        unsigned char *d = realloc(b->data, cap);
        if (!d) {
            fprintf(stderr, "ckpt_builder: out of memory\n");
            exit(2);
        }
        b->data = d;
        b->capacity = cap;
    }
    if (n) memcpy(b->data + b->size, p, n);
    b->size += n;
}

static inline void tb_byte(tb_buf *b, unsigned v) {
    unsigned char c = (unsigned char)v;
    tb_put(b, &c, 1);
}

static inline void tb_le(tb_buf *b, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) tb_byte(b, (unsigned)(v >> (8 * i)) & 0xff);
}

typedef struct tb_entry {
    const char *name;
    const void *data;
    size_t size;
} tb_entry;

/* A stored zip of the entries; the caller frees the result. */
static inline unsigned char *tb_zip(const tb_entry *entries, int n, size_t *size) {
    tb_buf z = {0};
    uint64_t *offsets = calloc((size_t)(n ? n : 1), sizeof *offsets);
    for (int i = 0; i < n; i++) {
        size_t name_len = strlen(entries[i].name);
        /* torch pads the "FB" extra field so that the data starts on 64 bytes */
        size_t pad = (64 - (z.size + 30 + name_len + 4) % 64) % 64;
        offsets[i] = z.size;
        tb_le(&z, 0x04034b50, 4);
        tb_le(&z, 0, 2);
        tb_le(&z, 0x0808, 2);
        tb_le(&z, 0, 2); /* stored */
        tb_le(&z, 0, 4);
        tb_le(&z, 0, 4); /* crc, sizes: zero, as torch writes them */
        tb_le(&z, 0, 4);
        tb_le(&z, 0, 4);
        tb_le(&z, name_len, 2);
        tb_le(&z, 4 + pad, 2);
        tb_put(&z, entries[i].name, name_len);
        tb_le(&z, 0x4246, 2);
        tb_le(&z, pad, 2);
        for (size_t p = 0; p < pad; p++) tb_byte(&z, 'Z');
        tb_put(&z, entries[i].data, entries[i].size);
    }
    size_t cd = z.size;
    for (int i = 0; i < n; i++) {
        size_t name_len = strlen(entries[i].name);
        tb_le(&z, 0x02014b50, 4);
        tb_le(&z, 0, 2);
        tb_le(&z, 0, 2);
        tb_le(&z, 0x0808, 2);
        tb_le(&z, 0, 2);
        tb_le(&z, 0, 4);
        tb_le(&z, 0, 4); /* crc: never checked */
        tb_le(&z, entries[i].size, 4);
        tb_le(&z, entries[i].size, 4);
        tb_le(&z, name_len, 2);
        tb_le(&z, 0, 2);
        tb_le(&z, 0, 2);
        tb_le(&z, 0, 2);
        tb_le(&z, 0, 2);
        tb_le(&z, 0, 4);
        tb_le(&z, offsets[i], 4);
        tb_put(&z, entries[i].name, name_len);
    }
    size_t cd_size = z.size - cd;
    tb_le(&z, 0x06054b50, 4);
    tb_le(&z, 0, 4);
    tb_le(&z, (uint64_t)n, 2);
    tb_le(&z, (uint64_t)n, 2);
    tb_le(&z, cd_size, 4);
    tb_le(&z, cd, 4);
    tb_le(&z, 0, 2);
    free(offsets);
    *size = z.size;
    return z.data;
}

/* ---- pickle opcodes (protocol 2) ----------------------------------------- */

static inline void pk_proto(tb_buf *b) {
    tb_byte(b, 0x80);
    tb_byte(b, 2);
}

static inline void pk_str(tb_buf *b, const char *s) {
    tb_byte(b, 'X');
    tb_le(b, strlen(s), 4);
    tb_put(b, s, strlen(s));
}

static inline void pk_int(tb_buf *b, int64_t v) {
    if (v >= 0 && v < 256) {
        tb_byte(b, 'K');
        tb_byte(b, (unsigned)v);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        tb_byte(b, 'J');
        tb_le(b, (uint64_t)v, 4);
    } else {
        tb_byte(b, 0x8a);
        tb_byte(b, 8);
        tb_le(b, (uint64_t)v, 8);
    }
}

static inline void pk_global(tb_buf *b, const char *module, const char *name) {
    tb_byte(b, 'c');
    tb_put(b, module, strlen(module));
    tb_byte(b, '\n');
    tb_put(b, name, strlen(name));
    tb_byte(b, '\n');
}

static inline void pk_ints(tb_buf *b, int n, const int64_t *v) {
    tb_byte(b, '(');
    for (int i = 0; i < n; i++) pk_int(b, v[i]);
    tb_byte(b, 't');
}

/* _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset,
 * shape, stride, False, OrderedDict()) */
static inline void pk_tensor(tb_buf *b, const char *storage_type, const char *key, int64_t numel, int64_t offset,
                             int ndim, const int64_t *shape, const int64_t *stride) {
    pk_global(b, "torch._utils", "_rebuild_tensor_v2");
    tb_byte(b, '(');
    tb_byte(b, '(');
    pk_str(b, "storage");
    pk_global(b, "torch", storage_type);
    pk_str(b, key);
    pk_str(b, "cpu");
    pk_int(b, numel);
    tb_byte(b, 't');
    tb_byte(b, 'Q');
    pk_int(b, offset);
    pk_ints(b, ndim, shape);
    pk_ints(b, ndim, stride);
    tb_byte(b, 0x89);
    pk_global(b, "collections", "OrderedDict");
    tb_byte(b, ')');
    tb_byte(b, 'R');
    tb_byte(b, 't');
    tb_byte(b, 'R');
}

/* OrderedDict() followed by MARK: add key/value pairs, then pk_dict_end. */
static inline void pk_dict_begin(tb_buf *b) {
    pk_global(b, "collections", "OrderedDict");
    tb_byte(b, ')');
    tb_byte(b, 'R');
    tb_byte(b, '(');
}

static inline void pk_dict_end(tb_buf *b) { tb_byte(b, 'u'); }

static inline void pk_stop(tb_buf *b) { tb_byte(b, '.'); }

/* An archive "archive/data.pkl" + "archive/data/<i>" for each storage +
 * "archive/version"; the caller frees the result. */
static inline unsigned char *tb_torch_archive(const tb_buf *pickle, int n_storages, const char *const *keys,
                                              const void *const *data, const size_t *sizes, size_t *size) {
    tb_entry e[16];
    char names[16][64];
    int n = 0;
    e[n++] = (tb_entry){"archive/data.pkl", pickle->data, pickle->size};
    for (int i = 0; i < n_storages && n < 15; i++) {
        snprintf(names[i], sizeof names[i], "archive/data/%s", keys[i]);
        e[n++] = (tb_entry){names[i], data[i], sizes[i]};
    }
    e[n++] = (tb_entry){"archive/version", "3\n", 2};
    return tb_zip(e, n, size);
}

#endif
