/* safetensors.c — reading (mmap, zero-copy views) and writing of the
 * safetensors format: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__": {..}},
 * then the data section that the tensors' byte ranges tile exactly.
 *
 * Validation follows the reference reader (huggingface/safetensors): sorted
 * by offset, the tensors must cover the data section without gaps, overlaps
 * or trailing bytes, and each range must hold exactly numel * dtype size. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "json.h"

/* The reference implementation's limit; real headers are a few MB. */
#define ST_MAX_HEADER 100000000ull

static const struct {
    const char *name;
    orr_dtype dtype;
} st_dtypes[] = {
    {"F32", ORR_F32}, {"F64", ORR_F64}, {"BF16", ORR_BF16}, {"F16", ORR_F16}, {"I64", ORR_I64},
    {"I32", ORR_I32}, {"I16", ORR_I16}, {"I8", ORR_I8},     {"U8", ORR_U8},   {"BOOL", ORR_BOOL},
};

/* Valid in the format, but orrery has no dtype for them. */
static const char *const st_unsupported_dtypes[] = {"U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0",
                                                     "F4", "F6_E2M3", "F6_E3M2", "C64"};

typedef struct st_tensor {
    const char *name; /* points into the parsed header */
    orr_dtype dtype;
    int ndim;
    int64_t shape[ORR_MAX_DIMS];
    uint64_t begin, end; /* byte range in the data section */
    size_t order;        /* position in the header: ties between empty tensors keep it */
} st_tensor;

struct orr_safetensors {
    char *path;
    orr_storage *storage; /* the whole file: a mapping or an owned copy */
    size_t data_start;    /* 8 + header length */
    orr_json *header;
    const orr_json_value *metadata; /* NULL when the file has none */
    st_tensor *tensors;             /* by data offset */
    const st_tensor **by_name;      /* sorted by name, for lookup */
    int64_t count;
};

/* ---- reading ------------------------------------------------------------- */

/* Every format error names the file: "safetensors: x.safetensors: ...". */
static orr_status st_fail(const orr_safetensors *st, orr_status status, const char *fmt, ...) ORR_PRINTF(3, 4);
static orr_status st_fail(const orr_safetensors *st, orr_status status, const char *fmt, ...) {
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return orr_error(status, "safetensors: %s: %s", st->path, detail);
}

#define ST_FAIL(st, status, ...) return st_fail((st), (status), __VA_ARGS__)

static orr_status parse_dtype(const orr_safetensors *st, const char *name, const orr_json_value *v,
                              orr_dtype *out) {
    const char *s = orr_json_string(v, NULL);
    if (!s) ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': \"dtype\" must be a string (found %s)", name,
                    orr_json_type_name(orr_json_type_of(v)));
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (!strcmp(s, st_dtypes[i].name)) {
            *out = st_dtypes[i].dtype;
            return ORR_OK;
        }
    for (size_t i = 0; i < sizeof st_unsupported_dtypes / sizeof st_unsupported_dtypes[0]; i++)
        if (!strcmp(s, st_unsupported_dtypes[i]))
            ST_FAIL(st, ORR_ERR_UNSUPPORTED, "tensor '%s': dtype %s is not supported by orrery", name, s);
    ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': unknown dtype \"%.40s\"", name, s);
}

/* A non-negative JSON integer (shape entries and offsets). */
static bool json_size(const orr_json_value *v, int64_t *out) { return orr_json_int64(v, out) && *out >= 0; }

static orr_status parse_shape(const orr_safetensors *st, st_tensor *t, const orr_json_value *v) {
    if (orr_json_type_of(v) != ORR_JSON_ARRAY)
        ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': \"shape\" must be an array (found %s)", t->name,
                orr_json_type_name(orr_json_type_of(v)));
    size_t ndim = orr_json_length(v);
    if (ndim > ORR_MAX_DIMS)
        ST_FAIL(st, ORR_ERR_UNSUPPORTED, "tensor '%s': %zu dims, more than orrery's limit of %d", t->name, ndim,
                ORR_MAX_DIMS);
    t->ndim = (int)ndim;
    for (size_t d = 0; d < ndim; d++)
        if (!json_size(orr_json_at(v, d), &t->shape[d]))
            ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': shape[%zu] is not a non-negative integer", t->name, d);
    return ORR_OK;
}

static orr_status parse_offsets(const orr_safetensors *st, st_tensor *t, const orr_json_value *v) {
    int64_t begin, end;
    if (orr_json_type_of(v) != ORR_JSON_ARRAY || orr_json_length(v) != 2)
        ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': \"data_offsets\" must be an array of two integers", t->name);
    if (!json_size(orr_json_at(v, 0), &begin) || !json_size(orr_json_at(v, 1), &end))
        ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': \"data_offsets\" must be non-negative integers", t->name);
    if (begin > end)
        ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': data_offsets [%lld,%lld] end before they begin", t->name,
                (long long)begin, (long long)end);
    t->begin = (uint64_t)begin;
    t->end = (uint64_t)end;
    return ORR_OK;
}

static orr_status parse_tensor(const orr_safetensors *st, st_tensor *t, const orr_json_value *entry,
                               size_t data_size) {
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    const orr_json_value *v[3];
    char shape[200];
    if (orr_json_type_of(entry) != ORR_JSON_OBJECT)
        ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': entry must be an object (found %s)", t->name,
                orr_json_type_name(orr_json_type_of(entry)));
    for (int i = 0; i < 3; i++)
        if (!(v[i] = orr_json_get(entry, fields[i])))
            ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': \"%s\" is missing", t->name, fields[i]);
    orr_status status;
    if ((status = parse_dtype(st, t->name, v[0], &t->dtype)) || (status = parse_shape(st, t, v[1])) ||
        (status = parse_offsets(st, t, v[2])))
        return status;

    int64_t numel = 1, bytes;
    for (int d = 0; d < t->ndim; d++)
        if (orr_mul_overflows(numel, t->shape[d], &numel))
            ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': shape %s has more elements than fit in 64 bits", t->name,
                    orr_shape_str(t->ndim, t->shape, shape, sizeof shape));
    if (orr_mul_overflows(numel, (int64_t)orr_dtype_size(t->dtype), &bytes))
        ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': %s%s is larger than 2^63 bytes", t->name,
                orr_dtype_name(t->dtype), orr_shape_str(t->ndim, t->shape, shape, sizeof shape));
    if (t->end > data_size)
        ST_FAIL(st, ORR_ERR_FORMAT,
                "tensor '%s': data_offsets [%llu,%llu] run past the end of the %zu-byte data section "
                "(truncated file?)", t->name, (unsigned long long)t->begin, (unsigned long long)t->end, data_size);
    if (t->end - t->begin != (uint64_t)bytes)
        ST_FAIL(st, ORR_ERR_FORMAT, "tensor '%s': %s%s needs %lld bytes but data_offsets [%llu,%llu] hold %llu",
                t->name, orr_dtype_name(t->dtype), orr_shape_str(t->ndim, t->shape, shape, sizeof shape),
                (long long)bytes, (unsigned long long)t->begin, (unsigned long long)t->end,
                (unsigned long long)(t->end - t->begin));
    return ORR_OK;
}

static orr_status parse_metadata(const orr_safetensors *st, const orr_json_value *v) {
    if (orr_json_type_of(v) != ORR_JSON_OBJECT)
        ST_FAIL(st, ORR_ERR_FORMAT, "__metadata__ must be an object of strings (found %s)",
                orr_json_type_name(orr_json_type_of(v)));
    for (size_t i = 0; i < orr_json_length(v); i++) {
        size_t key_len, len;
        const char *key = orr_json_key_at(v, i, &key_len);
        const char *value = orr_json_string(orr_json_value_at(v, i), &len);
        if (!value)
            ST_FAIL(st, ORR_ERR_FORMAT, "__metadata__ '%s' must be a string (found %s)", key,
                    orr_json_type_name(orr_json_type_of(orr_json_value_at(v, i))));
        /* The C API hands out NUL-terminated strings, which would silently cut these. */
        if (strlen(key) != key_len || strlen(value) != len)
            ST_FAIL(st, ORR_ERR_FORMAT, "__metadata__ '%s' contains a NUL character", key);
    }
    return ORR_OK;
}

static int compare_offsets(const void *a, const void *b) {
    const st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

static int compare_names(const void *a, const void *b) {
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

/* The tensors must tile [0, data_size) exactly once sorted by offset. */
static orr_status check_coverage(const orr_safetensors *st, size_t data_size) {
    uint64_t covered = 0;
    for (int64_t i = 0; i < st->count; i++) {
        const st_tensor *t = &st->tensors[i];
        if (t->begin < covered) {
            const st_tensor *prev = &st->tensors[i - 1];
            ST_FAIL(st, ORR_ERR_FORMAT, "tensors '%s' [%llu,%llu] and '%s' [%llu,%llu] overlap", prev->name,
                    (unsigned long long)prev->begin, (unsigned long long)prev->end, t->name,
                    (unsigned long long)t->begin, (unsigned long long)t->end);
        }
        if (t->begin > covered)
            ST_FAIL(st, ORR_ERR_FORMAT,
                    "a gap of %llu unused bytes before tensor '%s' [%llu,%llu]: tensors must cover the data "
                    "section contiguously", (unsigned long long)(t->begin - covered), t->name,
                    (unsigned long long)t->begin, (unsigned long long)t->end);
        covered = t->end;
    }
    if (covered != data_size)
        ST_FAIL(st, ORR_ERR_FORMAT, "%llu unused bytes after the last tensor: the tensors cover %llu of the "
                "%zu-byte data section", (unsigned long long)(data_size - covered), (unsigned long long)covered,
                data_size);
    return ORR_OK;
}

static orr_status parse_file(orr_safetensors *st) {
    const unsigned char *base = orr_storage_base(st->storage);
    size_t size = orr_storage_bytes(st->storage);
    if (size < 8)
        ST_FAIL(st, ORR_ERR_FORMAT, "file is %zu bytes, shorter than the 8-byte header length", size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | base[i];
    if (n > ST_MAX_HEADER)
        ST_FAIL(st, ORR_ERR_FORMAT, "header length %llu is larger than the 100 MB limit (not a safetensors file?)",
                (unsigned long long)n);
    if (n > size - 8)
        ST_FAIL(st, ORR_ERR_FORMAT, "header length %llu runs past the end of the %zu-byte file",
                (unsigned long long)n, size);
    st->data_start = 8 + (size_t)n;
    size_t data_size = size - st->data_start;

    orr_status status = orr_json_parse((const char *)base + 8, (size_t)n, NULL, &st->header);
    if (status) return orr_error_context(status, "safetensors: %s: header: ", st->path);
    const orr_json_value *root = orr_json_root(st->header);
    if (orr_json_type_of(root) != ORR_JSON_OBJECT)
        ST_FAIL(st, ORR_ERR_FORMAT, "header must be a JSON object (found %s)",
                orr_json_type_name(orr_json_type_of(root)));

    size_t members = orr_json_length(root);
    st->tensors = calloc(members ? members : 1, sizeof *st->tensors);
    st->by_name = calloc(members ? members : 1, sizeof *st->by_name);
    if (!st->tensors || !st->by_name) return orr_error(ORR_ERR_MEMORY, "safetensors: %s: out of memory", st->path);
    for (size_t i = 0; i < members; i++) {
        size_t name_len;
        const char *name = orr_json_key_at(root, i, &name_len);
        const orr_json_value *entry = orr_json_value_at(root, i);
        if (!strcmp(name, "__metadata__") && name_len == strlen("__metadata__")) {
            if ((status = parse_metadata(st, entry))) return status;
            st->metadata = entry;
            continue;
        }
        if (strlen(name) != name_len)
            ST_FAIL(st, ORR_ERR_FORMAT, "tensor name '%s...' contains a NUL character", name);
        st_tensor *t = &st->tensors[st->count++];
        t->name = name;
        t->order = i;
        if ((status = parse_tensor(st, t, entry, data_size))) return status;
    }
    qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, compare_offsets);
    if ((status = check_coverage(st, data_size))) return status;
    for (int64_t i = 0; i < st->count; i++) st->by_name[i] = &st->tensors[i];
    qsort(st->by_name, (size_t)st->count, sizeof *st->by_name, compare_names);
    return ORR_OK;
}

/* Takes over `storage` (one reference): released again on failure. */
static orr_status open_storage(orr_storage *storage, const char *path, orr_safetensors **out) {
    orr_safetensors *st = calloc(1, sizeof *st);
    char *copy = strdup(path);
    if (!st || !copy) {
        free(st);
        free(copy);
        orr_storage_release(storage);
        return orr_error(ORR_ERR_MEMORY, "safetensors: %s: out of memory", path);
    }
    st->path = copy;
    st->storage = storage;
    orr_status status = parse_file(st);
    if (status) {
        orr_st_close(st);
        return status;
    }
    *out = st;
    return ORR_OK;
}

static void unmap_file(void *user, void *base, size_t bytes) {
    munmap(base, bytes);
    orr_mem_note_mapped(ORR_CPU, -(int64_t)bytes);
}

orr_status orr_st_open(const char *path, orr_safetensors **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "safetensors: out is NULL");
    *out = NULL;
    if (!path) return orr_error(ORR_ERR_ARGUMENT, "safetensors: path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return orr_error(ORR_ERR_IO, "safetensors: cannot open %s: %s", path, strerror(errno));
    struct stat info;
    if (fstat(fd, &info) != 0) {
        int err = errno;
        close(fd);
        return orr_error(ORR_ERR_IO, "safetensors: cannot read %s: %s", path, strerror(err));
    }
    if (!S_ISREG(info.st_mode)) {
        close(fd);
        return orr_error(ORR_ERR_IO, "safetensors: cannot read %s: %s", path,
                         S_ISDIR(info.st_mode) ? "it is a directory" : "not a regular file");
    }
    size_t size = (size_t)info.st_size;
    if (size < 8) {
        close(fd);
        return orr_error(ORR_ERR_FORMAT, "safetensors: %s: file is %zu bytes, shorter than the 8-byte header length",
                         path, size);
    }
    /* Private and writable: the file never changes, and a caller writing
     * into a weight view gets a private copy of that page, not a crash. */
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (base == MAP_FAILED) return orr_error(ORR_ERR_IO, "safetensors: cannot map %s: %s", path, strerror(err));
    orr_mem_note_mapped(ORR_CPU, (int64_t)size);
    orr_storage *storage;
    orr_status status = orr_storage_create(ORR_CPU, base, size, unmap_file, NULL, &storage);
    if (status) return status;
    return open_storage(storage, path, out);
}

orr_status orr_st_open_memory(const void *data, size_t size, const char *name, orr_safetensors **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "safetensors: out is NULL");
    *out = NULL;
    if (!name) name = "(memory)";
    if (!data && size) return orr_error(ORR_ERR_ARGUMENT, "safetensors: %s: data is NULL", name);
    orr_storage *storage;
    orr_status status = orr_storage_alloc(ORR_CPU, size, false, &storage);
    if (status) return orr_error_context(status, "safetensors: %s: ", name);
    if (size) memcpy(orr_storage_base(storage), data, size);
    return open_storage(storage, name, out);
}

void orr_st_close(orr_safetensors *st) {
    if (!st) return;
    orr_storage_release(st->storage);
    orr_json_free(st->header);
    free(st->tensors);
    free(st->by_name);
    free(st->path);
    free(st);
}

int64_t orr_st_count(const orr_safetensors *st) { return st ? st->count : 0; }

const char *orr_st_name(const orr_safetensors *st, int64_t index) {
    if (!st || index < 0 || index >= st->count) return NULL;
    return st->tensors[index].name;
}

static const st_tensor *find(const orr_safetensors *st, const char *name) {
    if (!st || !name) return NULL;
    int64_t lo = 0, hi = st->count;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st->by_name[mid]->name);
        if (!c) return st->by_name[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool orr_st_has(const orr_safetensors *st, const char *name) { return find(st, name) != NULL; }

static orr_status not_found(const orr_safetensors *st, const char *name) {
    if (!st) return orr_error(ORR_ERR_ARGUMENT, "safetensors: file is NULL");
    if (!name) return orr_error(ORR_ERR_ARGUMENT, "safetensors: %s: tensor name is NULL", st->path);
    return orr_error(ORR_ERR_NOT_FOUND, "safetensors: %s: no tensor named '%s'", st->path, name);
}

orr_status orr_st_info(const orr_safetensors *st, const char *name, orr_dtype *dtype, int *ndim,
                       int64_t shape[ORR_MAX_DIMS]) {
    const st_tensor *t = find(st, name);
    if (!t) return not_found(st, name);
    if (dtype) *dtype = t->dtype;
    if (ndim) *ndim = t->ndim;
    if (shape) memcpy(shape, t->shape, (size_t)t->ndim * sizeof *shape);
    return ORR_OK;
}

orr_status orr_st_get(const orr_safetensors *st, const char *name, orr_tensor **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "safetensors: out is NULL");
    *out = NULL;
    const st_tensor *t = find(st, name);
    if (!t) return not_found(st, name);
    size_t esize = orr_dtype_size(t->dtype), at = st->data_start + (size_t)t->begin;
    orr_status status;
    if (at % esize == 0) {
        /* The storage base is page (or 64-byte) aligned, so this view is
         * aligned for its dtype: share the bytes. */
        status = orr_tensor_over(out, st->storage, (int64_t)(at / esize), t->dtype, t->ndim, t->shape);
    } else {
        /* Writers that do not pad the header leave tensors misaligned;
         * kernels need aligned elements, so such a tensor is copied. */
        status = orr_tensor_empty(out, t->dtype, t->ndim, t->shape);
        if (!status)
            memcpy((*out)->data, (const char *)orr_storage_base(st->storage) + at, (size_t)(t->end - t->begin));
    }
    if (status) return orr_error_context(status, "safetensors: %s: tensor '%s': ", st->path, name);
    return ORR_OK;
}

int64_t orr_st_metadata_count(const orr_safetensors *st) {
    return st ? (int64_t)orr_json_length(st->metadata) : 0;
}

const char *orr_st_metadata_key(const orr_safetensors *st, int64_t index) {
    if (!st || index < 0) return NULL;
    return orr_json_key_at(st->metadata, (size_t)index, NULL);
}

const char *orr_st_metadata(const orr_safetensors *st, const char *key) {
    return st ? orr_json_string(orr_json_get(st->metadata, key), NULL) : NULL;
}

const char *orr_st_path(const orr_safetensors *st) { return st ? st->path : NULL; }

/* ---- writing ------------------------------------------------------------- */

typedef struct text {
    char *data;
    size_t len, cap;
    bool failed;
} text;

static void text_append(text *t, const char *s, size_t n) {
    if (t->failed) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1) cap *= 2;
        char *data = realloc(t->data, cap);
        if (!data) {
            t->failed = true;
            return;
        }
        t->data = data;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void text_printf(text *t, const char *fmt, ...) ORR_PRINTF(2, 3);
static void text_printf(text *t, const char *fmt, ...) {
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    text_append(t, buf, (size_t)n);
}

static void text_quoted(text *t, const char *s) {
    size_t len = strlen(s), n = orr_json_quote(NULL, 0, s, len);
    char small[256], *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) {
        t->failed = true;
        return;
    }
    orr_json_quote(buf, n + 1, s, len);
    text_append(t, buf, n);
    if (buf != small) free(buf);
}

static const char *st_dtype_name(orr_dtype dtype) {
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (st_dtypes[i].dtype == dtype) return st_dtypes[i].name;
    return NULL;
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names (tensor names or metadata keys) must be UTF-8 and unique. */
static orr_status check_names(const char *path, const char *what, int64_t n, const char *const *names) {
    for (int64_t i = 0; i < n; i++) {
        if (!names[i]) return orr_error(ORR_ERR_ARGUMENT, "safetensors: saving %s: %s[%lld] is NULL", path, what,
                                        (long long)i);
        if (!orr_json_utf8_valid(names[i], strlen(names[i])))
            return orr_error(ORR_ERR_ARGUMENT, "safetensors: saving %s: %s[%lld] is not valid UTF-8", path, what,
                             (long long)i);
    }
    if (n < 2) return ORR_OK;
    const char **sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted) return orr_error(ORR_ERR_MEMORY, "safetensors: saving %s: out of memory", path);
    memcpy(sorted, names, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_strings);
    for (int64_t i = 1; i < n; i++)
        if (!strcmp(sorted[i - 1], sorted[i])) {
            orr_status status = orr_error(ORR_ERR_ARGUMENT, "safetensors: saving %s: %s '%s' appears twice", path,
                                          what, sorted[i]);
            free(sorted);
            return status;
        }
    free(sorted);
    return ORR_OK;
}

static orr_status check_save_args(const char *path, int64_t n, const char *const *names,
                                  const orr_tensor *const *tensors, int64_t n_meta, const char *const *meta_keys,
                                  const char *const *meta_values) {
    if (!path) return orr_error(ORR_ERR_ARGUMENT, "safetensors: save: path is NULL");
    if (n < 0 || n_meta < 0)
        return orr_error(ORR_ERR_ARGUMENT, "safetensors: saving %s: negative count (%lld tensors, %lld metadata)",
                         path, (long long)n, (long long)n_meta);
    if (n && (!names || !tensors))
        return orr_error(ORR_ERR_ARGUMENT, "safetensors: saving %s: names or tensors is NULL", path);
    if (n_meta && (!meta_keys || !meta_values))
        return orr_error(ORR_ERR_ARGUMENT, "safetensors: saving %s: meta_keys or meta_values is NULL", path);
    orr_status status;
    if ((status = check_names(path, "names", n, names)) ||
        (status = check_names(path, "meta_keys", n_meta, meta_keys)))
        return status;
    for (int64_t i = 0; i < n; i++) {
        if (!strcmp(names[i], "__metadata__"))
            return orr_error(ORR_ERR_ARGUMENT, "safetensors: saving %s: '__metadata__' is reserved, not a tensor name",
                             path);
        if ((status = orr_check_cpu("safetensors save", names[i], tensors[i]))) return status;
        if (!st_dtype_name(tensors[i]->dtype))
            return orr_error(ORR_ERR_DTYPE, "safetensors: saving %s: tensor '%s' has an invalid dtype %d", path,
                             names[i], (int)tensors[i]->dtype);
    }
    for (int64_t i = 0; i < n_meta; i++)
        if (!meta_values[i] || !orr_json_utf8_valid(meta_values[i], strlen(meta_values[i])))
            return orr_error(ORR_ERR_ARGUMENT, "safetensors: saving %s: the value of metadata '%s' is %s", path,
                             meta_keys[i], meta_values[i] ? "not valid UTF-8" : "NULL");
    return ORR_OK;
}

/* The header, padded with spaces to a multiple of 8 bytes as the reference
 * writer does, with tensors laid out in `order`. */
static orr_status build_header(const char *path, text *h, int64_t n, const int64_t *order, const char *const *names,
                               const orr_tensor *const *tensors, int64_t n_meta, const char *const *meta_keys,
                               const char *const *meta_values) {
    text_append(h, "{", 1);
    if (n_meta) {
        text_append(h, "\"__metadata__\":{", 16);
        for (int64_t i = 0; i < n_meta; i++) {
            if (i) text_append(h, ",", 1);
            text_quoted(h, meta_keys[i]);
            text_append(h, ":", 1);
            text_quoted(h, meta_values[i]);
        }
        text_append(h, "}", 1);
    }
    uint64_t offset = 0;
    for (int64_t k = 0; k < n; k++) {
        const orr_tensor *t = tensors[order[k]];
        if (n_meta || k) text_append(h, ",", 1);
        text_quoted(h, names[order[k]]);
        text_append(h, ":{\"dtype\":\"", 11);
        text_append(h, st_dtype_name(t->dtype), strlen(st_dtype_name(t->dtype)));
        text_append(h, "\",\"shape\":[", 11);
        for (int d = 0; d < t->ndim; d++) text_printf(h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        uint64_t bytes = orr_tensor_nbytes(t);
        text_printf(h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                    (unsigned long long)(offset + bytes));
        offset += bytes;
    }
    text_append(h, "}", 1);
    while (!h->failed && h->len % 8) text_append(h, " ", 1);
    if (h->failed) return orr_error(ORR_ERR_MEMORY, "safetensors: saving %s: out of memory for the header", path);
    return ORR_OK;
}

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

static orr_status write_tensor(int fd, const char *tmp, const char *name, const orr_tensor *t) {
    orr_tensor *copy = NULL;
    const orr_tensor *src = t;
    if (!orr_tensor_is_contiguous(t)) {
        orr_status status = orr_tensor_contiguous(&copy, t);
        if (status) return orr_error_context(status, "safetensors: writing %s: tensor '%s': ", tmp, name);
        src = copy;
    }
    bool ok = write_all(fd, src->data, orr_tensor_nbytes(src));
    int err = errno;
    orr_tensor_free(copy);
    if (!ok) return orr_error(ORR_ERR_IO, "safetensors: writing %s: tensor '%s': %s", tmp, name, strerror(err));
    return ORR_OK;
}

static orr_status write_file(int fd, const char *tmp, const text *header, int64_t n, const int64_t *order,
                             const char *const *names, const orr_tensor *const *tensors) {
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)header->len >> (8 * i));
    if (!write_all(fd, len, 8) || !write_all(fd, header->data, header->len))
        return orr_error(ORR_ERR_IO, "safetensors: writing %s: %s", tmp, strerror(errno));
    for (int64_t k = 0; k < n; k++) {
        orr_status status = write_tensor(fd, tmp, names[order[k]], tensors[order[k]]);
        if (status) return status;
    }
    /* The data must be on disk before the rename makes it the file. */
    if (fsync(fd) != 0) return orr_error(ORR_ERR_IO, "safetensors: writing %s: %s", tmp, strerror(errno));
    return ORR_OK;
}

orr_status orr_st_save(const char *path, int64_t n, const char *const *names, const orr_tensor *const *tensors,
                       int64_t n_meta, const char *const *meta_keys, const char *const *meta_values) {
    orr_status status = check_save_args(path, n, names, tensors, n_meta, meta_keys, meta_values);
    if (status) return status;

    /* Larger elements first (the caller's order otherwise), as the reference
     * writer does: with the 8-byte header padding every tensor then starts
     * aligned for its dtype, without gaps, which readers reject. */
    int64_t *order = malloc((size_t)(n ? n : 1) * sizeof *order), k = 0;
    if (!order) return orr_error(ORR_ERR_MEMORY, "safetensors: saving %s: out of memory", path);
    for (size_t esize = 8; esize >= 1; esize /= 2)
        for (int64_t i = 0; i < n; i++)
            if (orr_dtype_size(tensors[i]->dtype) == esize) order[k++] = i;

    text header = {0};
    char *tmp = NULL;
    int fd = -1;
    status = build_header(path, &header, n, order, names, tensors, n_meta, meta_keys, meta_values);
    if (status) goto done;
    size_t tmp_size = strlen(path) + 32;
    if (!(tmp = malloc(tmp_size))) {
        status = orr_error(ORR_ERR_MEMORY, "safetensors: saving %s: out of memory", path);
        goto done;
    }
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        status = orr_error(ORR_ERR_IO, "safetensors: saving %s: cannot create %s: %s", path, tmp, strerror(errno));
        goto done;
    }
    status = write_file(fd, tmp, &header, n, order, names, tensors);
    if (close(fd) != 0 && !status)
        status = orr_error(ORR_ERR_IO, "safetensors: writing %s: %s", tmp, strerror(errno));
    if (!status && rename(tmp, path) != 0)
        status = orr_error(ORR_ERR_IO, "safetensors: saving %s: cannot rename %s to it: %s", path, tmp,
                           strerror(errno));
    if (status) unlink(tmp);
done:
    free(tmp);
    free(header.data);
    free(order);
    return status;
}
