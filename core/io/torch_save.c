/* torch_save.c — orr_torch_save_tensor: one tensor as torch.save(tensor)
 * writes it, byte for byte where torch's own writer is deterministic.
 *
 * The archive (PyTorch's miniz writer, caffe2/serialize/inline_container):
 * stored entries under one root folder named after the file (its base name
 * up to the last '.'), each local header with sizes zero and a data
 * descriptor after the bytes, an extra field "FB" of 'Z's that starts every
 * entry's bytes at a multiple of 64, ZIP64 fields only for sizes or offsets
 * past 32 bits, and the ZIP64 end records always. The records, in torch's
 * order: data.pkl, byteorder (torch >= 2.1), data/0, version.
 *
 * data.pkl is the protocol-2 pickle the C pickler makes of the tensor's
 * __reduce_ex__: _rebuild_tensor_v2(persistent storage ('storage',
 * torch.<Type>Storage, '0', 'cpu', numel), 0, size, stride, False,
 * OrderedDict()), memoized as that pickler memoizes. A view that is not
 * contiguous is written as its contiguous copy (torch writes the whole
 * storage it views; only the elements matter to readers). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define OP "torch_save"
#define ALIGNMENT 64
#define U32_MAX 0xffffffffu

enum { SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_DESCRIPTOR = 0x08074b50, SIG_END = 0x06054b50,
       SIG_END64 = 0x06064b50, SIG_LOCATOR64 = 0x07064b50 };
enum { FLAG_DESCRIPTOR = 0x0008, FLAG_UTF8 = 0x0800, EXTRA_ZIP64 = 0x0001, EXTRA_PADDING = 0x4246 /* "FB" */ };
enum { LOCAL_SIZE = 30, CENTRAL_SIZE = 46, END_SIZE = 22, END64_SIZE = 56, LOCATOR64_SIZE = 20 };
enum { MAX_RECORDS = 4, MAX_NAME = 600 };

/* ---- a growing byte buffer ---------------------------------------------- */

typedef struct bytes {
    uint8_t *data;
    size_t len, cap;
    bool failed;
} bytes;

static void put(bytes *b, const void *p, size_t n) {
    if (b->failed || !n) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put8(bytes *b, uint8_t v) { put(b, &v, 1); }

static void put_le(bytes *b, uint64_t v, int n) {
    uint8_t p[8];
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
    put(b, p, (size_t)n);
}

/* ---- CRC-32 (zip's), eight bytes a step --------------------------------- */

typedef struct crc_tables {
    uint32_t t[8][256];
} crc_tables;

static void crc_init(crc_tables *c) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t v = i;
        for (int k = 0; k < 8; k++) v = v & 1 ? (v >> 1) ^ 0xedb88320u : v >> 1;
        c->t[0][i] = v;
    }
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++) c->t[k][i] = (c->t[k - 1][i] >> 8) ^ c->t[0][c->t[k - 1][i] & 0xff];
}

static uint32_t crc32_of(const crc_tables *c, const uint8_t *p, size_t n) {
    uint32_t v = 0xffffffffu;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = v ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        v = c->t[7][lo & 0xff] ^ c->t[6][(lo >> 8) & 0xff] ^ c->t[5][(lo >> 16) & 0xff] ^ c->t[4][lo >> 24] ^
            c->t[3][p[4]] ^ c->t[2][p[5]] ^ c->t[1][p[6]] ^ c->t[0][p[7]];
    }
    while (n--) v = (v >> 8) ^ c->t[0][(v ^ *p++) & 0xff];
    return ~v;
}

/* ---- data.pkl ----------------------------------------------------------- */

enum { PK_MARK = '(', PK_STOP = '.', PK_BININT = 'J', PK_BININT1 = 'K', PK_BININT2 = 'M', PK_BINPERSID = 'Q',
       PK_REDUCE = 'R', PK_BINUNICODE = 'X', PK_GLOBAL = 'c', PK_BINPUT = 'q', PK_TUPLE = 't',
       PK_EMPTY_TUPLE = ')', PK_PROTO = 0x80, PK_TUPLE1 = 0x85, PK_NEWFALSE = 0x89, PK_LONG1 = 0x8a };

typedef struct pickler {
    bytes out;
    uint8_t memo; /* the next memo index; a tensor's pickle needs a dozen */
} pickler;

static void pk_memoize(pickler *p) {
    put8(&p->out, PK_BINPUT);
    put8(&p->out, p->memo++);
}

static void pk_global(pickler *p, const char *module, const char *name) {
    put8(&p->out, PK_GLOBAL);
    put(&p->out, module, strlen(module));
    put8(&p->out, '\n');
    put(&p->out, name, strlen(name));
    put8(&p->out, '\n');
    pk_memoize(p);
}

static void pk_string(pickler *p, const char *s) {
    put8(&p->out, PK_BINUNICODE);
    put_le(&p->out, strlen(s), 4);
    put(&p->out, s, strlen(s));
    pk_memoize(p);
}

/* Python's save_long: the shortest fixed form, else LONG1 two's complement. */
static void pk_int(pickler *p, int64_t v) {
    if (v >= 0 && v <= 0xff) {
        put8(&p->out, PK_BININT1);
        put_le(&p->out, (uint64_t)v, 1);
    } else if (v >= 0 && v <= 0xffff) {
        put8(&p->out, PK_BININT2);
        put_le(&p->out, (uint64_t)v, 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        put8(&p->out, PK_BININT);
        put_le(&p->out, (uint64_t)v, 4);
    } else {
        int n = 8;
        /* Drop sign-extension bytes, as encode_long does. */
        while (n > 1 && ((v >> (8 * (n - 1))) & 0xff) == (v < 0 ? 0xff : 0) &&
               (((v >> (8 * (n - 2))) & 0x80) != 0) == (v < 0))
            n--;
        put8(&p->out, PK_LONG1);
        put8(&p->out, (uint8_t)n);
        put_le(&p->out, (uint64_t)v, n);
    }
}

/* A tuple of ints: EMPTY_TUPLE (not memoized), TUPLE1..3 or MARK...TUPLE. */
static void pk_int_tuple(pickler *p, int n, const int64_t *v) {
    if (n == 0) {
        put8(&p->out, PK_EMPTY_TUPLE);
        return;
    }
    if (n > 3) put8(&p->out, PK_MARK);
    for (int i = 0; i < n; i++) pk_int(p, v[i]);
    put8(&p->out, n > 3 ? PK_TUPLE : (uint8_t)(PK_TUPLE1 + n - 1));
    pk_memoize(p);
}

static const char *storage_type(orr_dtype dtype) {
    switch (dtype) {
    case ORR_F32: return "FloatStorage";
    case ORR_F64: return "DoubleStorage";
    case ORR_BF16: return "BFloat16Storage";
    case ORR_F16: return "HalfStorage";
    case ORR_I64: return "LongStorage";
    case ORR_I32: return "IntStorage";
    case ORR_I16: return "ShortStorage";
    case ORR_I8: return "CharStorage";
    case ORR_U8: return "ByteStorage";
    case ORR_BOOL: return "BoolStorage";
    default: return NULL;
    }
}

static void pickle_tensor(pickler *p, const orr_tensor *t, int64_t numel) {
    int64_t stride[ORR_MAX_DIMS], step = 1;
    /* torch's contiguous strides: a dim of size 0 counts as 1. */
    for (int d = t->ndim - 1; d >= 0; d--) {
        stride[d] = step;
        step *= t->shape[d] > 1 ? t->shape[d] : 1;
    }
    put8(&p->out, PK_PROTO);
    put8(&p->out, 2);
    pk_global(p, "torch._utils", "_rebuild_tensor_v2");
    put8(&p->out, PK_MARK);
    put8(&p->out, PK_MARK);
    pk_string(p, "storage");
    pk_global(p, "torch", storage_type(t->dtype));
    pk_string(p, "0");
    pk_string(p, "cpu");
    pk_int(p, numel);
    put8(&p->out, PK_TUPLE);
    pk_memoize(p);
    put8(&p->out, PK_BINPERSID);
    pk_int(p, 0);
    pk_int_tuple(p, t->ndim, t->shape);
    pk_int_tuple(p, t->ndim, stride);
    put8(&p->out, PK_NEWFALSE);
    pk_global(p, "collections", "OrderedDict");
    put8(&p->out, PK_EMPTY_TUPLE);
    put8(&p->out, PK_REDUCE);
    pk_memoize(p);
    put8(&p->out, PK_TUPLE);
    pk_memoize(p);
    put8(&p->out, PK_REDUCE);
    pk_memoize(p);
    put8(&p->out, PK_STOP);
}

/* ---- the archive -------------------------------------------------------- */

typedef struct record {
    char name[MAX_NAME];
    uint64_t offset, size;
    uint32_t crc;
} record;

typedef struct archive {
    int fd;
    const char *tmp;
    uint64_t pos;
    record records[MAX_RECORDS];
    int count;
    crc_tables crc;
} archive;

static bool write_all(int fd, const void *data, size_t size) {
    const char *p = data;
    while (size) {
        ssize_t n = write(fd, p, size < ((size_t)1 << 30) ? size : ((size_t)1 << 30));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= (size_t)n;
    }
    return true;
}

static orr_status emit(archive *a, const void *data, size_t size) {
    errno = 0;
    if (!write_all(a->fd, data, size))
        return orr_error(ORR_ERR_IO, OP ": writing %s: %s", a->tmp, errno ? strerror(errno) : "short write");
    a->pos += size;
    return ORR_OK;
}

static orr_status emit_bytes(archive *a, bytes *b) {
    if (b->failed) return orr_error(ORR_ERR_MEMORY, OP ": writing %s: out of memory", a->tmp);
    return emit(a, b->data, b->len);
}

/* The ZIP64 extra field of one entry: the sizes when they pass 32 bits
 * (in a local header the compressed size is still 0), the offset when it
 * does; empty when neither. */
static void zip64_extra(bytes *b, uint64_t size, uint64_t csize, uint64_t offset) {
    bool big = size >= U32_MAX, far = offset >= U32_MAX;
    if (!big && !far) return;
    put_le(b, EXTRA_ZIP64, 2);
    put_le(b, (big ? 16 : 0) + (far ? 8 : 0), 2);
    if (big) {
        put_le(b, size, 8);
        put_le(b, csize, 8);
    }
    if (far) put_le(b, offset, 8);
}

/* One stored entry `<root>/name` of `size` bytes at data. */
static orr_status add_record(archive *a, const char *root, const char *name, const void *data, uint64_t size) {
    record *r = &a->records[a->count++];
    snprintf(r->name, sizeof r->name, "%s/%s", root, name);
    r->offset = a->pos;
    r->size = size;
    r->crc = crc32_of(&a->crc, data, (size_t)size);
    size_t name_len = strlen(r->name);

    bytes extra = {0};
    zip64_extra(&extra, size, 0, r->offset);
    uint64_t start = r->offset + LOCAL_SIZE + name_len + extra.len + 4;
    size_t padding = (size_t)((ALIGNMENT - start % ALIGNMENT) % ALIGNMENT);
    put_le(&extra, EXTRA_PADDING, 2);
    put_le(&extra, padding, 2);
    for (size_t i = 0; i < padding; i++) put8(&extra, 'Z');

    bytes h = {0};
    put_le(&h, SIG_LOCAL, 4);
    put_le(&h, 0, 2); /* version needed: stored */
    put_le(&h, FLAG_UTF8 | (size ? FLAG_DESCRIPTOR : 0), 2);
    put_le(&h, 0, 2);  /* method: stored */
    put_le(&h, 0, 4);  /* time and date: torch's miniz keeps none */
    put_le(&h, 0, 4);  /* crc: in the descriptor */
    put_le(&h, 0, 8);  /* sizes: in the descriptor */
    put_le(&h, name_len, 2);
    put_le(&h, extra.len, 2);
    put(&h, r->name, name_len);
    put(&h, extra.data, extra.len);
    bool failed = extra.failed;
    free(extra.data);
    if (failed) h.failed = true;
    orr_status st = emit_bytes(a, &h);
    free(h.data);
    if (st || (st = emit(a, data, (size_t)size)) || !size) return st;

    bytes d = {0};
    bool wide = size >= U32_MAX || r->offset >= U32_MAX;
    put_le(&d, SIG_DESCRIPTOR, 4);
    put_le(&d, r->crc, 4);
    put_le(&d, size, wide ? 8 : 4);
    put_le(&d, size, wide ? 8 : 4);
    st = emit_bytes(a, &d);
    free(d.data);
    return st;
}

static uint64_t clamp32(uint64_t v) { return v < U32_MAX ? v : U32_MAX; }

static orr_status finish_archive(archive *a) {
    bytes c = {0};
    uint64_t dir_offset = a->pos;
    for (int i = 0; i < a->count; i++) {
        const record *r = &a->records[i];
        bytes extra = {0};
        zip64_extra(&extra, r->size, r->size, r->offset);
        put_le(&c, SIG_CENTRAL, 4);
        put_le(&c, 0, 2); /* version made by */
        put_le(&c, 0, 2); /* version needed */
        put_le(&c, FLAG_UTF8 | (r->size ? FLAG_DESCRIPTOR : 0), 2);
        put_le(&c, 0, 2);
        put_le(&c, 0, 4);
        put_le(&c, r->crc, 4);
        put_le(&c, clamp32(r->size), 4);
        put_le(&c, clamp32(r->size), 4);
        put_le(&c, strlen(r->name), 2);
        put_le(&c, extra.len, 2);
        put_le(&c, 0, 2); /* comment */
        put_le(&c, 0, 2); /* disk */
        put_le(&c, 0, 2); /* internal attributes */
        put_le(&c, 0, 4); /* external attributes */
        put_le(&c, clamp32(r->offset), 4);
        put(&c, r->name, strlen(r->name));
        put(&c, extra.data, extra.len);
        if (extra.failed) c.failed = true;
        free(extra.data);
    }
    uint64_t dir_size = c.len, end64 = dir_offset + dir_size;
    put_le(&c, SIG_END64, 4);
    put_le(&c, END64_SIZE - 12, 8);
    put_le(&c, 0x031e, 2); /* made by: Unix, 3.0 */
    put_le(&c, 0x002d, 2); /* needed: 4.5, ZIP64 */
    put_le(&c, 0, 8);      /* this disk, the directory's disk */
    put_le(&c, (uint64_t)a->count, 8);
    put_le(&c, (uint64_t)a->count, 8);
    put_le(&c, dir_size, 8);
    put_le(&c, dir_offset, 8);
    put_le(&c, SIG_LOCATOR64, 4);
    put_le(&c, 0, 4);
    put_le(&c, end64, 8);
    put_le(&c, 1, 4);
    put_le(&c, SIG_END, 4);
    put_le(&c, 0, 4);
    put_le(&c, (uint64_t)a->count, 2);
    put_le(&c, (uint64_t)a->count, 2);
    put_le(&c, clamp32(dir_size), 4);
    put_le(&c, clamp32(dir_offset), 4);
    put_le(&c, 0, 2);
    orr_status st = emit_bytes(a, &c);
    free(c.data);
    return st;
}

/* torch's archive name: the file's base name up to its last '.', or
 * "archive" (its name for streams) when that is empty or not ASCII. */
static void archive_root(const char *path, char *root, size_t size) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot ? (size_t)(dot - base) : strlen(base);
    bool ascii = n > 0 && n < size;
    for (size_t i = 0; ascii && i < n; i++) ascii = (unsigned char)base[i] >= 0x20 && (unsigned char)base[i] < 0x7f;
    if (!ascii) {
        snprintf(root, size, "archive");
        return;
    }
    memcpy(root, base, n);
    root[n] = 0;
}

static orr_status write_archive(archive *a, const char *root, bytes *pickle, const orr_tensor *t) {
    static const char byteorder[] = "little", version[] = "3\n";
    orr_status st;
    if (pickle->failed) return orr_error(ORR_ERR_MEMORY, OP ": writing %s: out of memory", a->tmp);
    if ((st = add_record(a, root, "data.pkl", pickle->data, pickle->len)) ||
        (st = add_record(a, root, "byteorder", byteorder, strlen(byteorder))) ||
        (st = add_record(a, root, "data/0", t->data, orr_tensor_nbytes(t))) ||
        (st = add_record(a, root, "version", version, strlen(version))) || (st = finish_archive(a)))
        return st;
    /* The data must be on disk before the rename makes it the file. */
    if (fsync(a->fd) != 0) return orr_error(ORR_ERR_IO, OP ": writing %s: %s", a->tmp, strerror(errno));
    return ORR_OK;
}

orr_status orr_torch_save_tensor(const orr_tensor *t, const char *path) {
    if (!t) return orr_error(ORR_ERR_ARGUMENT, OP ": t is NULL");
    if (!path || !*path) return orr_error(ORR_ERR_ARGUMENT, OP ": path is %s", path ? "empty" : "NULL");
    if (!storage_type(t->dtype))
        return orr_error(ORR_ERR_DTYPE, OP ": %s: t has an invalid dtype %d", path, (int)t->dtype);

    /* torch.save keeps a cuda tensor's device; the official reader wants
     * the map on the cpu, so device tensors are written as their copy. */
    orr_tensor *copy = NULL;
    orr_status st = ORR_OK;
    if (t->device != ORR_CPU) st = orr_tensor_to(&copy, t, ORR_CPU);
    else if (!orr_tensor_is_contiguous(t)) st = orr_tensor_contiguous(&copy, t);
    if (st) return orr_error_context(st, OP ": %s: ", path);
    if (copy) t = copy;
    char root[256];
    archive_root(path, root, sizeof root);
    pickler pk = {{0}, 0};
    pickle_tensor(&pk, t, orr_tensor_numel(t));

    archive *a = malloc(sizeof *a);
    size_t tmp_size = strlen(path) + 32;
    char *tmp = malloc(tmp_size);
    if (!a || !tmp) {
        st = orr_error(ORR_ERR_MEMORY, OP ": saving %s: out of memory", path);
        goto done;
    }
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    *a = (archive){.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666), .tmp = tmp};
    if (a->fd < 0) {
        st = orr_error(ORR_ERR_IO, OP ": saving %s: cannot create %s: %s", path, tmp, strerror(errno));
        goto done;
    }
    crc_init(&a->crc);
    st = write_archive(a, root, &pk.out, t);
    if (close(a->fd) != 0 && !st) st = orr_error(ORR_ERR_IO, OP ": writing %s: %s", tmp, strerror(errno));
    if (!st && rename(tmp, path) != 0)
        st = orr_error(ORR_ERR_IO, OP ": saving %s: cannot rename %s to it: %s", path, tmp, strerror(errno));
    if (st) unlink(tmp);
done:
    free(tmp);
    free(a);
    free(pk.out.data);
    orr_tensor_free(copy);
    return st;
}
