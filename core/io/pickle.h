/* pickle.h — a pickle reader for the data PyTorch checkpoints hold, which
 * executes nothing. It runs the opcodes of plain data (protocols 2 to 4:
 * numbers, strings, tuples, lists, dicts, memo) and knows a closed list of
 * globals by name; each is turned into a data value, never resolved or
 * called:
 *
 *   torch._utils _rebuild_tensor_v2      -> a TENSOR (storage, offset, size, stride)
 *   torch._utils _rebuild_parameter      -> the TENSOR it wraps
 *   torch._utils _rebuild_parameter_with_state -> the same
 *   collections OrderedDict              -> a DICT (BUILD of its attributes ignored)
 *   torch <Type>Storage (10 types)       -> the dtype of a persistent id
 *   _io BytesIO + BUILD, _codecs encode  -> BYTES (TransformerEngine extra state)
 *   __torch__.<path> <Class>             -> an OBJECT with the attribute dict
 *                                           of its BUILD (TorchScript modules)
 *
 * Persistent ids ('storage', <Type>Storage, key, location, numel) become
 * STORAGE values. Any other opcode or global fails with ORR_ERR_FORMAT and
 * a message naming it and its byte offset. */
#ifndef ORR_PICKLE_H
#define ORR_PICKLE_H

#include "internal.h"

typedef enum orr_pk_kind {
    ORR_PK_NONE,
    ORR_PK_BOOL,
    ORR_PK_INT,
    ORR_PK_FLOAT,
    ORR_PK_STRING, /* UTF-8 text */
    ORR_PK_BYTES,
    ORR_PK_TUPLE,
    ORR_PK_LIST,
    ORR_PK_DICT,
    ORR_PK_GLOBAL,  /* an allowed global not (yet) applied to anything */
    ORR_PK_STORAGE, /* a persistent id */
    ORR_PK_TENSOR,
    ORR_PK_OBJECT,  /* a TorchScript module object */
    ORR_PK_BYTESIO  /* io.BytesIO: its bytes in u.str */
} orr_pk_kind;

typedef struct orr_pk_value orr_pk_value;

/* A storage: `numel` elements of `dtype` in the archive record `key`. */
typedef struct orr_pk_storage {
    orr_dtype dtype;
    const char *type_name; /* "FloatStorage", for messages */
    const char *key;       /* NUL-terminated */
    int64_t numel;
} orr_pk_storage;

/* A view of a storage, as _rebuild_tensor_v2 describes it. */
typedef struct orr_pk_tensor {
    const orr_pk_value *storage; /* an ORR_PK_STORAGE */
    int64_t offset;              /* in elements */
    int ndim;
    int64_t shape[ORR_MAX_DIMS];
    int64_t stride[ORR_MAX_DIMS];
} orr_pk_tensor;

struct orr_pk_value {
    orr_pk_kind kind;
    size_t at; /* byte offset of the opcode that made it, for messages */
    union {
        bool boolean;
        int64_t integer;
        double real;
        struct {
            const char *data; /* NUL-terminated; may hold NULs within len */
            size_t len;
        } str;                /* STRING, BYTES, BYTESIO */
        struct {
            orr_pk_value **items;
            size_t count, capacity;
        } seq;                /* TUPLE, LIST */
        struct {
            orr_pk_value **keys, **values;
            size_t count, capacity;
        } dict;               /* DICT */
        struct {
            int id;           /* internal */
            const char *module, *name;
        } global;
        struct {
            const char *module, *name; /* the class */
            const orr_pk_value *attributes; /* a DICT, NULL before BUILD */
        } object;
        orr_pk_storage storage;
        orr_pk_tensor tensor;
    } u;
};

typedef struct orr_pickle orr_pickle;

/* Runs the pickle in data[0, size) (borrowed: it must outlive the result).
 * `label` names it in messages ("pickle: LABEL: ..."). */
orr_status orr_pickle_load(const uint8_t *data, size_t size, const char *label, orr_pickle **out);
void orr_pickle_free(orr_pickle *pk);
/* The value STOP returned; owned by pk. */
const orr_pk_value *orr_pickle_result(const orr_pickle *pk);
/* "dict", "tensor", ... */
const char *orr_pk_kind_name(orr_pk_kind kind);

#endif
