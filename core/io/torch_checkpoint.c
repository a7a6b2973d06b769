/* torch_checkpoint.c — orr_ckpt_*: the tensors of torch.save and
 * torch.jit.save archives (and, for one API over every weights file, of
 * safetensors files), as zero-copy views of the mapped file.
 *
 * A PyTorch archive is a zip whose entries all sit under one root folder
 * (named after the file it was first saved as, so taken from the first
 * entry): <root>/data.pkl holds the pickled object, <root>/data/<key> the
 * raw little-endian bytes of each storage. TorchScript archives add
 * code/ and constants; their data.pkl holds the module tree as objects
 * whose attribute dicts name the parameters and buffers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pickle.h"
#include "zip.h"

/* Deeper nesting than this is refused (it also stops reference cycles). */
#define MAX_NESTING 64

typedef struct ckpt_entry {
    char *name;
    orr_tensor *tensor;
} ckpt_entry;

struct orr_checkpoint {
    char *path;
    orr_checkpoint_format format;
    ckpt_entry *entries; /* file order */
    int64_t count, capacity;
    ckpt_entry **by_name;
    char **meta; /* key, value, key, value, ... */
    int64_t n_meta;
};

static orr_status ck_fail(const orr_checkpoint *ck, orr_status status, const char *fmt, ...) ORR_PRINTF(3, 4);
static orr_status ck_fail(const orr_checkpoint *ck, orr_status status, const char *fmt, ...) {
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return orr_error(status, "checkpoint: %s: %s", ck->path, detail);
}

static orr_status out_of_memory(const orr_checkpoint *ck) { return ck_fail(ck, ORR_ERR_MEMORY, "out of memory"); }

/* Takes ownership of t (freed here on failure). */
static orr_status add_entry(orr_checkpoint *ck, const char *name, orr_tensor *t) {
    if (ck->count == ck->capacity) {
        int64_t cap = ck->capacity ? ck->capacity * 2 : 64;
        ckpt_entry *e = realloc(ck->entries, (size_t)cap * sizeof *e);
        if (!e) {
            orr_tensor_free(t);
            return out_of_memory(ck);
        }
        ck->entries = e;
        ck->capacity = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        orr_tensor_free(t);
        return out_of_memory(ck);
    }
    ck->entries[ck->count++] = (ckpt_entry){copy, t};
    return ORR_OK;
}

static orr_status add_metadata(orr_checkpoint *ck, const char *key, const char *value) {
    char **m = realloc(ck->meta, (size_t)(ck->n_meta + 1) * 2 * sizeof *m);
    if (!m) return out_of_memory(ck);
    ck->meta = m;
    m[2 * ck->n_meta] = strdup(key);
    m[2 * ck->n_meta + 1] = strdup(value);
    ck->n_meta++;
    return m[2 * ck->n_meta - 2] && m[2 * ck->n_meta - 1] ? ORR_OK : out_of_memory(ck);
}

/* ---- tensors from pickled descriptions ---------------------------------- */

typedef struct ckpt_reader {
    orr_checkpoint *ck;
    const orr_zip *zip;
    orr_storage *file; /* the whole archive */
    const char *root;  /* "<root>/" */
    char *name;        /* the name being built */
    size_t name_len, name_capacity;
} ckpt_reader;

/* A view with arbitrary strides over `storage`, whose elements from
 * `offset` up to the view's last one have been checked to exist. */
static orr_status strided_view(orr_storage *storage, int64_t offset, int64_t span, const orr_pk_tensor *t,
                               orr_dtype dtype, orr_tensor **out) {
    orr_status st = orr_tensor_over(out, storage, offset, dtype, 1, &span);
    if (st) return st;
    (*out)->ndim = t->ndim;
    memcpy((*out)->shape, t->shape, sizeof t->shape);
    memcpy((*out)->stride, t->stride, sizeof t->stride);
    return ORR_OK;
}

/* The elements of the storage the view reaches, [offset, offset + span). */
static orr_status view_span(const ckpt_reader *r, const char *name, const orr_pk_tensor *t, int64_t numel,
                            int64_t *span) {
    *span = 0;
    const orr_pk_storage *s = &t->storage->u.storage;
    int64_t elements = 1, last = t->offset;
    bool overflow = false;
    for (int d = 0; d < t->ndim; d++) {
        int64_t reach;
        overflow |= orr_mul_overflows(elements, t->shape[d], &elements);
        if (t->shape[d]) overflow |= orr_mul_overflows(t->shape[d] - 1, t->stride[d], &reach) || INT64_MAX - last < reach;
        if (!overflow && t->shape[d]) last += reach;
    }
    char shape[160];
    orr_shape_str(t->ndim, t->shape, shape, sizeof shape);
    if (overflow || (elements && last >= numel) || (!elements && t->offset > numel))
        return ck_fail(r->ck, ORR_ERR_FORMAT,
                       "tensor '%s': a view of size %s at offset %lld reaches past the end of its storage '%s' "
                       "(%s, %lld elements)", name, shape, (long long)t->offset, s->key, s->type_name, (long long)numel);
    *span = elements ? last - t->offset + 1 : 0;
    return ORR_OK;
}

static orr_status make_tensor(ckpt_reader *r, const char *name, const orr_pk_tensor *t) {
    const orr_pk_storage *s = &t->storage->u.storage;
    size_t esize = orr_dtype_size(s->dtype);
    char record[600];
    snprintf(record, sizeof record, "%sdata/%s", r->root, s->key);
    const orr_zip_entry *e = orr_zip_find(r->zip, record);
    if (!e)
        return ck_fail(r->ck, ORR_ERR_FORMAT, "tensor '%s': storage '%s' (%s, %lld elements) has no record '%s'",
                       name, s->key, s->type_name, (long long)s->numel, record);
    int64_t bytes;
    if (orr_mul_overflows(s->numel, (int64_t)esize, &bytes) || e->size != (uint64_t)bytes)
        return ck_fail(r->ck, ORR_ERR_FORMAT,
                       "tensor '%s': storage '%s' is %s of %lld elements but its record '%s' holds %llu bytes", name,
                       s->key, s->type_name, (long long)s->numel, record, (unsigned long long)e->size);
    const uint8_t *data;
    int64_t span;
    orr_status st = orr_zip_stored_data(r->zip, e, &data);
    if (st || (st = view_span(r, name, t, s->numel, &span))) return st;
    orr_tensor *tensor;
    if (e->data_offset % esize == 0 || bytes == 0) {
        st = strided_view(r->file, (int64_t)(e->data_offset / esize) + t->offset, span, t, s->dtype, &tensor);
    } else {
        /* Kernels need elements aligned to their size: copy this storage. */
        orr_storage *copy;
        if (!(st = orr_storage_alloc(ORR_CPU, (size_t)bytes, false, &copy))) {
            memcpy(orr_storage_base(copy), data, (size_t)bytes);
            st = strided_view(copy, t->offset, span, t, s->dtype, &tensor);
            orr_storage_release(copy);
        }
    }
    if (st) return orr_error_context(st, "checkpoint: %s: tensor '%s': ", r->ck->path, name);
    return add_entry(r->ck, name, tensor);
}

/* TransformerEngine's extra state as io.BytesIO: its bytes, as u8. */
static orr_status make_bytes_tensor(ckpt_reader *r, const char *name, const orr_pk_value *v) {
    int64_t n = (int64_t)v->u.str.len;
    orr_tensor *t;
    orr_status st = orr_tensor_empty(&t, ORR_U8, 1, &n);
    if (st) return orr_error_context(st, "checkpoint: %s: tensor '%s': ", r->ck->path, name);
    if (n) memcpy(t->data, v->u.str.data, (size_t)n);
    return add_entry(r->ck, name, t);
}

/* ---- names -------------------------------------------------------------- */

static orr_status name_append(ckpt_reader *r, char sep, const char *part, size_t len) {
    size_t need = r->name_len + 1 + len + 1;
    if (need > r->name_capacity) {
        size_t cap = need * 2;
        char *p = realloc(r->name, cap);
        if (!p) return out_of_memory(r->ck);
        r->name = p;
        r->name_capacity = cap;
    }
    if (r->name_len && sep) r->name[r->name_len++] = sep;
    memcpy(r->name + r->name_len, part, len);
    r->name_len += len;
    r->name[r->name_len] = 0;
    return ORR_OK;
}

static orr_status collect(ckpt_reader *r, const orr_pk_value *v, int depth);

/* One child: name it `sep`+`part` and collect it. */
static orr_status collect_child(ckpt_reader *r, char sep, const char *part, size_t len, const orr_pk_value *child,
                                int depth) {
    size_t saved = r->name_len;
    orr_status st = name_append(r, sep, part, len);
    if (!st) st = collect(r, child, depth + 1);
    r->name_len = saved;
    if (r->name) r->name[saved] = 0;
    return st;
}

/* Dict keys are strings (state dicts) or ints (optimizer states). */
static orr_status dict_key(ckpt_reader *r, const orr_pk_value *key, char *buf, size_t size, const char **part,
                           size_t *len) {
    *part = "";
    *len = 0;
    if (key->kind == ORR_PK_INT) {
        *len = (size_t)snprintf(buf, size, "%lld", (long long)key->u.integer);
        *part = buf;
        return ORR_OK;
    }
    if (key->kind != ORR_PK_STRING || strlen(key->u.str.data) != key->u.str.len)
        return ck_fail(r->ck, ORR_ERR_FORMAT, "in '%s': a dict key made at pickle byte %zu is %s; names need a "
                       "string without NUL or an int", r->name_len ? r->name : "(top level)", key->at,
                       key->kind == ORR_PK_STRING ? "a string with a NUL" : orr_pk_kind_name(key->kind));
    *part = key->u.str.data;
    *len = key->u.str.len;
    return ORR_OK;
}

static orr_status collect(ckpt_reader *r, const orr_pk_value *v, int depth) {
    if (depth > MAX_NESTING)
        return ck_fail(r->ck, ORR_ERR_FORMAT, "'%s' is nested more than %d levels deep (or contains itself)", r->name,
                       MAX_NESTING);
    const char *here = r->name_len ? r->name : "tensor";
    char index[32];
    orr_status st = ORR_OK;
    switch (v->kind) {
    case ORR_PK_TENSOR:
        return make_tensor(r, here, &v->u.tensor);
    case ORR_PK_BYTESIO:
        return make_bytes_tensor(r, here, v);
    case ORR_PK_DICT:
        for (size_t i = 0; !st && i < v->u.dict.count; i++) {
            const char *part;
            size_t len;
            if (!(st = dict_key(r, v->u.dict.keys[i], index, sizeof index, &part, &len)))
                st = collect_child(r, '/', part, len, v->u.dict.values[i], depth);
        }
        return st;
    case ORR_PK_TUPLE:
    case ORR_PK_LIST:
        for (size_t i = 0; !st && i < v->u.seq.count; i++) {
            int len = snprintf(index, sizeof index, "%zu", i);
            st = collect_child(r, '/', index, (size_t)len, v->u.seq.items[i], depth);
        }
        return st;
    case ORR_PK_OBJECT: {
        /* A TorchScript module: its attributes, joined with '.' as
         * state_dict() names them. */
        const orr_pk_value *attrs = v->u.object.attributes;
        for (size_t i = 0; attrs && !st && i < attrs->u.dict.count; i++) {
            const char *part;
            size_t len;
            if (!(st = dict_key(r, attrs->u.dict.keys[i], index, sizeof index, &part, &len)))
                st = collect_child(r, '.', part, len, attrs->u.dict.values[i], depth);
        }
        return st;
    }
    default: /* numbers, strings, None, bare storages: not weights */
        return ORR_OK;
    }
}

/* ---- the archive -------------------------------------------------------- */

/* A short stored text record (version, byteorder), trimmed; "" if absent. */
static void read_small_record(const orr_zip *zip, const char *name, char *buf, size_t size) {
    const orr_zip_entry *e = orr_zip_find(zip, name);
    const uint8_t *data;
    buf[0] = 0;
    if (!e || e->size >= size || orr_zip_stored_data(zip, e, &data)) return;
    size_t n = (size_t)e->size;
    while (n && (data[n - 1] == '\n' || data[n - 1] == '\r' || data[n - 1] == ' ')) n--;
    for (size_t i = 0; i < n; i++)
        if (data[i] < 0x20 || data[i] > 0x7e) return;
    memcpy(buf, data, n);
    buf[n] = 0;
}

static orr_status read_archive(orr_checkpoint *ck, orr_storage *file) {
    orr_zip *zip = NULL;
    orr_pickle *pk = NULL;
    ckpt_reader r = {.ck = ck, .file = file};
    char prefix[512], root[520], record[600], text[64];
    orr_status st = orr_zip_open(orr_storage_base(file), orr_storage_bytes(file), ck->path, &zip);
    if (st) return st;
    r.zip = zip;
    const orr_zip_entry *first = orr_zip_entry_at(zip, 0);
    const char *slash = first ? strchr(first->name, '/') : NULL;
    if (!slash || (size_t)(slash - first->name) >= sizeof prefix) {
        st = ck_fail(ck, ORR_ERR_FORMAT, "%s: a PyTorch archive keeps its entries in one root folder",
                     first ? "the first zip entry is not in a folder" : "the zip archive is empty");
        goto done;
    }
    memcpy(prefix, first->name, (size_t)(slash - first->name));
    prefix[slash - first->name] = 0;
    snprintf(root, sizeof root, "%s/", prefix);
    r.root = root;

    snprintf(record, sizeof record, "%sbyteorder", root);
    read_small_record(zip, record, text, sizeof text);
    if (*text && strcmp(text, "little") != 0) {
        st = ck_fail(ck, ORR_ERR_UNSUPPORTED, "byte order '%s': only little-endian checkpoints are read", text);
        goto done;
    }
    snprintf(record, sizeof record, "%sconstants.pkl", root);
    ck->format = orr_zip_find(zip, record) ? ORR_CKPT_TORCHSCRIPT : ORR_CKPT_TORCH;
    if ((st = add_metadata(ck, "format", ck->format == ORR_CKPT_TORCH ? "torch" : "torchscript")) ||
        (st = add_metadata(ck, "archive_prefix", prefix)))
        goto done;
    snprintf(record, sizeof record, "%sversion", root);
    read_small_record(zip, record, text, sizeof text);
    if (*text && (st = add_metadata(ck, "archive_version", text))) goto done;

    snprintf(record, sizeof record, "%sdata.pkl", root);
    const orr_zip_entry *pickle = orr_zip_find(zip, record);
    const uint8_t *data;
    if (!pickle) {
        st = ck_fail(ck, ORR_ERR_FORMAT, "no '%s' in the archive: not a torch.save or torch.jit.save file", record);
        goto done;
    }
    if ((st = orr_zip_stored_data(zip, pickle, &data))) goto done;
    char label[1200];
    snprintf(label, sizeof label, "%s: %s", ck->path, record);
    if ((st = orr_pickle_load(data, (size_t)pickle->size, label, &pk))) goto done;
    st = collect(&r, orr_pickle_result(pk), 0);
done:
    free(r.name);
    orr_pickle_free(pk);
    orr_zip_close(zip);
    return st;
}

/* safetensors through the same API: its views, its metadata. */
static orr_status read_safetensors(orr_checkpoint *ck, orr_safetensors *st_file) {
    orr_status st = add_metadata(ck, "format", "safetensors");
    for (int64_t i = 0; !st && i < orr_st_count(st_file); i++) {
        orr_tensor *t;
        if (!(st = orr_st_get(st_file, orr_st_name(st_file, i), &t))) st = add_entry(ck, orr_st_name(st_file, i), t);
    }
    for (int64_t i = 0; !st && i < orr_st_metadata_count(st_file); i++) {
        const char *key = orr_st_metadata_key(st_file, i);
        if (strcmp(key, "format") != 0) st = add_metadata(ck, key, orr_st_metadata(st_file, key));
    }
    orr_st_close(st_file);
    return st;
}

static int compare_names(const void *a, const void *b) {
    return strcmp((*(const ckpt_entry *const *)a)->name, (*(const ckpt_entry *const *)b)->name);
}

static orr_status index_names(orr_checkpoint *ck) {
    ck->by_name = malloc((size_t)(ck->count ? ck->count : 1) * sizeof *ck->by_name);
    if (!ck->by_name) return out_of_memory(ck);
    for (int64_t i = 0; i < ck->count; i++) ck->by_name[i] = &ck->entries[i];
    qsort(ck->by_name, (size_t)ck->count, sizeof *ck->by_name, compare_names);
    for (int64_t i = 1; i < ck->count; i++)
        if (!strcmp(ck->by_name[i - 1]->name, ck->by_name[i]->name))
            return ck_fail(ck, ORR_ERR_FORMAT, "two tensors are named '%s'", ck->by_name[i]->name);
    return ORR_OK;
}

static bool is_zip(const uint8_t *p, size_t size) {
    return size >= 4 && p[0] == 'P' && p[1] == 'K' && ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6));
}

/* Reads the archive in `file` (one reference, released here) or, when it
 * is not a zip, hands `path`/the bytes to the safetensors reader. */
static orr_status open_file(orr_storage *file, const char *path, bool from_memory, orr_checkpoint **out) {
    orr_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck || !(ck->path = strdup(path))) {
        free(ck);
        orr_storage_release(file);
        return orr_error(ORR_ERR_MEMORY, "checkpoint: %s: out of memory", path);
    }
    const uint8_t *bytes = orr_storage_base(file);
    size_t size = orr_storage_bytes(file);
    orr_status st;
    if (is_zip(bytes, size)) {
        st = read_archive(ck, file);
    } else if (size >= 2 && bytes[0] == 0x80 && bytes[1] <= 5) {
        st = ck_fail(ck, ORR_ERR_UNSUPPORTED, "a bare pickle: the legacy torch.save format (before PyTorch 1.6) is "
                     "not read; load and save it again with a recent PyTorch");
    } else {
        orr_safetensors *sf;
        ck->format = ORR_CKPT_SAFETENSORS;
        st = from_memory ? orr_st_open_memory(bytes, size, path, &sf) : orr_st_open(path, &sf);
        if (st) st = orr_error_context(st, "checkpoint: %s is neither a PyTorch zip archive nor safetensors: ", path);
        else st = read_safetensors(ck, sf);
    }
    orr_storage_release(file);
    if (!st) st = index_names(ck);
    if (st) {
        orr_ckpt_close(ck);
        return st;
    }
    *out = ck;
    return ORR_OK;
}

static void unmap_file(void *user, void *base, size_t bytes) {
    (void)user;
    munmap(base, bytes);
    orr_mem_note_mapped(ORR_CPU, -(int64_t)bytes);
}

orr_status orr_ckpt_open(const char *path, orr_checkpoint **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "checkpoint: out is NULL");
    *out = NULL;
    if (!path) return orr_error(ORR_ERR_ARGUMENT, "checkpoint: path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return orr_error(ORR_ERR_IO, "checkpoint: cannot open %s: %s", path, strerror(errno));
    struct stat info;
    orr_status bad = ORR_ERR_IO;
    const char *problem = fstat(fd, &info) != 0 ? strerror(errno)
                          : S_ISDIR(info.st_mode) ? "it is a directory"
                          : !S_ISREG(info.st_mode) ? "not a regular file"
                                                   : NULL;
    if (!problem && info.st_size == 0) {
        problem = "the file is empty";
        bad = ORR_ERR_FORMAT;
    }
    if (problem) {
        close(fd);
        return orr_error(bad, "checkpoint: cannot read %s: %s", path, problem);
    }
    size_t size = (size_t)info.st_size;
    /* Private and writable, like safetensors: a caller writing into a view
     * gets its own copy of that page. */
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (base == MAP_FAILED) return orr_error(ORR_ERR_IO, "checkpoint: cannot map %s: %s", path, strerror(err));
    orr_mem_note_mapped(ORR_CPU, (int64_t)size);
    orr_storage *file;
    orr_status st = orr_storage_create(ORR_CPU, base, size, unmap_file, NULL, &file);
    if (st) {
        unmap_file(NULL, base, size);
        return st;
    }
    /* Opening reads one local header per tensor, spread over the whole
     * file: without read-ahead that is a page each, not a window each. */
    madvise(base, size, MADV_RANDOM);
    orr_storage_retain(file);
    st = open_file(file, path, false, out);
    madvise(base, size, MADV_NORMAL);
    orr_storage_release(file);
    return st;
}

orr_status orr_ckpt_open_memory(const void *data, size_t size, const char *name, orr_checkpoint **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "checkpoint: out is NULL");
    *out = NULL;
    if (!name) name = "(memory)";
    if (!data && size) return orr_error(ORR_ERR_ARGUMENT, "checkpoint: %s: data is NULL", name);
    orr_storage *file;
    /* Owned and 64-byte aligned, so the records keep their alignment. */
    orr_status st = orr_storage_alloc(ORR_CPU, size, false, &file);
    if (st) return orr_error_context(st, "checkpoint: %s: ", name);
    if (size) memcpy(orr_storage_base(file), data, size);
    return open_file(file, name, true, out);
}

void orr_ckpt_close(orr_checkpoint *ck) {
    if (!ck) return;
    for (int64_t i = 0; i < ck->count; i++) {
        free(ck->entries[i].name);
        orr_tensor_free(ck->entries[i].tensor);
    }
    for (int64_t i = 0; i < 2 * ck->n_meta; i++) free(ck->meta[i]);
    free(ck->meta);
    free(ck->entries);
    free(ck->by_name);
    free(ck->path);
    free(ck);
}

/* ---- lookups ------------------------------------------------------------ */

orr_checkpoint_format orr_ckpt_format(const orr_checkpoint *ck) { return ck ? ck->format : ORR_CKPT_TORCH; }
const char *orr_ckpt_path(const orr_checkpoint *ck) { return ck ? ck->path : NULL; }
int64_t orr_ckpt_count(const orr_checkpoint *ck) { return ck ? ck->count : 0; }

const char *orr_ckpt_name(const orr_checkpoint *ck, int64_t index) {
    return ck && index >= 0 && index < ck->count ? ck->entries[index].name : NULL;
}

static const ckpt_entry *find(const orr_checkpoint *ck, const char *name) {
    if (!ck || !name) return NULL;
    int64_t lo = 0, hi = ck->count;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, ck->by_name[mid]->name);
        if (!c) return ck->by_name[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool orr_ckpt_has(const orr_checkpoint *ck, const char *name) { return find(ck, name) != NULL; }

static orr_status not_found(const orr_checkpoint *ck, const char *name) {
    if (!ck) return orr_error(ORR_ERR_ARGUMENT, "checkpoint: checkpoint is NULL");
    if (!name) return orr_error(ORR_ERR_ARGUMENT, "checkpoint: %s: tensor name is NULL", ck->path);
    return ck_fail(ck, ORR_ERR_NOT_FOUND, "no tensor named '%s'", name);
}

orr_status orr_ckpt_info(const orr_checkpoint *ck, const char *name, orr_dtype *dtype, int *ndim,
                         int64_t shape[ORR_MAX_DIMS]) {
    const ckpt_entry *e = find(ck, name);
    if (!e) return not_found(ck, name);
    if (dtype) *dtype = e->tensor->dtype;
    if (ndim) *ndim = e->tensor->ndim;
    if (shape) memcpy(shape, e->tensor->shape, (size_t)e->tensor->ndim * sizeof *shape);
    return ORR_OK;
}

orr_status orr_ckpt_get(const orr_checkpoint *ck, const char *name, orr_tensor **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "checkpoint: out is NULL");
    *out = NULL;
    const ckpt_entry *e = find(ck, name);
    if (!e) return not_found(ck, name);
    return orr_tensor_view(out, e->tensor);
}

int64_t orr_ckpt_metadata_count(const orr_checkpoint *ck) { return ck ? ck->n_meta : 0; }

const char *orr_ckpt_metadata_key(const orr_checkpoint *ck, int64_t index) {
    return ck && index >= 0 && index < ck->n_meta ? ck->meta[2 * index] : NULL;
}

const char *orr_ckpt_metadata(const orr_checkpoint *ck, const char *key) {
    for (int64_t i = 0; ck && key && i < ck->n_meta; i++)
        if (!strcmp(ck->meta[2 * i], key)) return ck->meta[2 * i + 1];
    return NULL;
}
