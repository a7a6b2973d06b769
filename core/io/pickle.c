/* pickle.c — the safe pickle reader of pickle.h: a stack machine over the
 * data opcodes only. Globals are matched against a fixed list by name and
 * stay inert values; REDUCE, NEWOBJ and BUILD are interpreted per global
 * (torch._utils._rebuild_tensor_v2 makes a tensor description, OrderedDict()
 * an empty dict, ...). Nothing is looked up, imported or called.
 *
 * Every value is allocated from one arena freed with the result, so memo
 * sharing and cycles need no reference counts. The arena, stack and memo
 * grow at most in proportion to the pickle's length. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle.h"

/* ---- the allowed globals ------------------------------------------------ */

enum {
    G_ORDERED_DICT,
    G_REBUILD_TENSOR,
    G_REBUILD_PARAMETER,
    G_REBUILD_PARAMETER_STATE,
    G_BYTES_IO,
    G_CODECS_ENCODE,
    G_STORAGE,     /* torch.<Type>Storage: only inside a persistent id */
    G_SCRIPT_CLASS /* __torch__.<path> <Class>: TorchScript module classes */
};

static const struct {
    const char *module, *name;
    int id;
} allowed_globals[] = {
    {"collections", "OrderedDict", G_ORDERED_DICT},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER},
    {"torch._utils", "_rebuild_parameter_with_state", G_REBUILD_PARAMETER_STATE},
    {"_io", "BytesIO", G_BYTES_IO},
    {"_codecs", "encode", G_CODECS_ENCODE},
};

/* The storage classes torch.save still names in persistent ids. */
static const struct {
    const char *name;
    orr_dtype dtype;
} storage_types[] = {
    {"FloatStorage", ORR_F32}, {"DoubleStorage", ORR_F64}, {"HalfStorage", ORR_F16},
    {"BFloat16Storage", ORR_BF16}, {"LongStorage", ORR_I64}, {"IntStorage", ORR_I32},
    {"ShortStorage", ORR_I16}, {"CharStorage", ORR_I8}, {"ByteStorage", ORR_U8},
    {"BoolStorage", ORR_BOOL},
};

/* ---- opcodes ------------------------------------------------------------ */

enum {
    OP_MARK = '(', OP_STOP = '.', OP_BININT = 'J', OP_BININT1 = 'K', OP_BININT2 = 'M', OP_NONE = 'N',
    OP_BINPERSID = 'Q', OP_REDUCE = 'R', OP_BINUNICODE = 'X', OP_EMPTY_LIST = ']', OP_APPEND = 'a',
    OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd', OP_APPENDS = 'e', OP_BINGET = 'h', OP_LONG_BINGET = 'j',
    OP_LIST = 'l', OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't', OP_SETITEMS = 'u',
    OP_EMPTY_DICT = '}', OP_EMPTY_TUPLE = ')', OP_BINFLOAT = 'G', OP_BINBYTES = 'B', OP_SHORT_BINBYTES = 'C',
    OP_PROTO = 0x80, OP_NEWOBJ = 0x81, OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87, OP_NEWTRUE = 0x88,
    OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE8 = 0x8d,
    OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94, OP_FRAME = 0x95
};

/* Names of every pickle opcode, for the message that refuses one. */
static const struct {
    unsigned char code;
    const char *name;
} opcode_names[] = {
    {'I', "INT"}, {'J', "BININT"}, {'K', "BININT1"}, {'M', "BININT2"}, {'L', "LONG"}, {0x8a, "LONG1"},
    {0x8b, "LONG4"}, {'S', "STRING"}, {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"}, {'B', "BINBYTES"},
    {'C', "SHORT_BINBYTES"}, {0x8e, "BINBYTES8"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"},
    {0x98, "READONLY_BUFFER"}, {'N', "NONE"}, {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"}, {'V', "UNICODE"},
    {0x8c, "SHORT_BINUNICODE"}, {'X', "BINUNICODE"}, {0x8d, "BINUNICODE8"}, {'F', "FLOAT"}, {'G', "BINFLOAT"},
    {']', "EMPTY_LIST"}, {'a', "APPEND"}, {'e', "APPENDS"}, {'l', "LIST"}, {')', "EMPTY_TUPLE"}, {'t', "TUPLE"},
    {0x85, "TUPLE1"}, {0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {'}', "EMPTY_DICT"}, {'d', "DICT"}, {'s', "SETITEM"},
    {'u', "SETITEMS"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {'0', "POP"}, {'2', "DUP"},
    {'(', "MARK"}, {'1', "POP_MARK"}, {'g', "GET"}, {'h', "BINGET"}, {'j', "LONG_BINGET"}, {'p', "PUT"},
    {'q', "BINPUT"}, {'r', "LONG_BINPUT"}, {0x94, "MEMOIZE"}, {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"},
    {'c', "GLOBAL"}, {0x93, "STACK_GLOBAL"}, {'R', "REDUCE"}, {'b', "BUILD"}, {'i', "INST"}, {'o', "OBJ"},
    {0x81, "NEWOBJ"}, {0x92, "NEWOBJ_EX"}, {0x80, "PROTO"}, {'.', "STOP"}, {0x95, "FRAME"}, {'P', "PERSID"},
    {'Q', "BINPERSID"},
};

static const char *opcode_name(unsigned char code) {
    for (size_t i = 0; i < sizeof opcode_names / sizeof opcode_names[0]; i++)
        if (opcode_names[i].code == code) return opcode_names[i].name;
    return "unknown";
}

const char *orr_pk_kind_name(orr_pk_kind kind) {
    static const char *const names[] = {"None",   "bool",   "int",    "float",   "str",    "bytes",
                                        "tuple",  "list",   "dict",   "global",  "storage", "tensor",
                                        "object", "BytesIO"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

/* ---- the machine -------------------------------------------------------- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, capacity;
    _Alignas(16) unsigned char bytes[];
} arena_block;

struct orr_pickle {
    const uint8_t *data;
    size_t size, pos, op_at; /* read position; where the current opcode started */
    char *label;
    arena_block *blocks;
    orr_pk_value **stack;
    size_t depth, stack_capacity;
    size_t *marks;
    size_t n_marks, marks_capacity;
    orr_pk_value **memo;
    size_t memo_capacity, memo_len; /* memo_len: entries stored, MEMOIZE's next index */
    const orr_pk_value *result;
};

static orr_status pk_fail(const orr_pickle *pk, orr_status status, const char *fmt, ...) ORR_PRINTF(3, 4);
static orr_status pk_fail(const orr_pickle *pk, orr_status status, const char *fmt, ...) {
    char detail[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return orr_error(status, "pickle: %s: byte %zu: %s", pk->label, pk->op_at, detail);
}

static orr_status out_of_memory(const orr_pickle *pk) { return pk_fail(pk, ORR_ERR_MEMORY, "out of memory"); }

static void *arena_alloc(orr_pickle *pk, size_t bytes) {
    bytes = (bytes + 15) & ~(size_t)15;
    arena_block *b = pk->blocks;
    if (!b || b->capacity - b->used < bytes) {
        size_t capacity = bytes > 65536 ? bytes : 65536;
        b = malloc(sizeof *b + capacity);
        if (!b) return NULL;
        b->used = 0;
        b->capacity = capacity;
        b->next = pk->blocks;
        pk->blocks = b;
    }
    void *p = b->bytes + b->used;
    b->used += bytes;
    return p;
}

static orr_pk_value *new_value(orr_pickle *pk, orr_pk_kind kind) {
    orr_pk_value *v = arena_alloc(pk, sizeof *v);
    if (v) {
        memset(v, 0, sizeof *v);
        v->kind = kind;
        v->at = pk->op_at;
    }
    return v;
}

/* Grows an array of pointers held in the arena (the old one is left there). */
static bool grow(orr_pickle *pk, orr_pk_value ***items, size_t count, size_t *capacity, size_t wanted) {
    if (wanted <= *capacity) return true;
    size_t cap = *capacity ? *capacity * 2 : 4;
    while (cap < wanted) cap *= 2;
    orr_pk_value **fresh = arena_alloc(pk, cap * sizeof *fresh);
    if (!fresh) return false;
    if (count) memcpy(fresh, *items, count * sizeof *fresh);
    *items = fresh;
    *capacity = cap;
    return true;
}

static orr_status push(orr_pickle *pk, orr_pk_value *v) {
    if (!v) return out_of_memory(pk);
    if (pk->depth == pk->stack_capacity) {
        size_t cap = pk->stack_capacity * 2;
        orr_pk_value **s = realloc(pk->stack, cap * sizeof *s);
        if (!s) return out_of_memory(pk);
        pk->stack = s;
        pk->stack_capacity = cap;
    }
    pk->stack[pk->depth++] = v;
    return ORR_OK;
}

/* Values above the innermost mark: opcodes never reach below it. */
static size_t available(const orr_pickle *pk) { return pk->depth - (pk->n_marks ? pk->marks[pk->n_marks - 1] : 0); }

static orr_status need(const orr_pickle *pk, size_t n, const char *op) {
    if (available(pk) < n)
        return pk_fail(pk, ORR_ERR_FORMAT, "%s needs %zu value%s on the stack but finds %zu", op, n, n == 1 ? "" : "s",
                       available(pk));
    return ORR_OK;
}

static orr_pk_value *pop(orr_pickle *pk) { return pk->stack[--pk->depth]; }

/* Where the innermost MARK left the stack; the mark is dropped. */
static orr_status pop_mark(orr_pickle *pk, const char *op, size_t *at) {
    *at = 0;
    if (!pk->n_marks) return pk_fail(pk, ORR_ERR_FORMAT, "%s without a MARK before it", op);
    *at = pk->marks[--pk->n_marks];
    return ORR_OK;
}

static orr_status read_bytes(orr_pickle *pk, size_t n, const uint8_t **out) {
    *out = pk->data + pk->pos;
    if (pk->size - pk->pos < n)
        return pk_fail(pk, ORR_ERR_FORMAT, "%s needs %zu more bytes but the pickle ends after %zu (truncated?)",
                       opcode_name(pk->data[pk->op_at]), n, pk->size - pk->pos);
    pk->pos += n;
    return ORR_OK;
}

static orr_status read_uint(orr_pickle *pk, size_t n, uint64_t *out) {
    *out = 0;
    const uint8_t *p;
    orr_status st = read_bytes(pk, n, &p);
    if (st) return st;
    for (size_t i = n; i-- > 0;) *out = *out << 8 | p[i];
    return ORR_OK;
}

/* The next code point of UTF-8 text, or 0 bytes for an invalid sequence.
 * Surrogates pass, as Python's pickle writes them with surrogatepass. */
static size_t utf8_next(const uint8_t *s, size_t len, uint32_t *cp) {
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || n > len) return 0;
    uint32_t c = n == 1 ? s[0] : s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min[n] || c > 0x10ffff) return 0;
    *cp = c;
    return n;
}

/* A STRING or BYTES value holding a NUL-terminated copy of the bytes. */
static orr_status push_text(orr_pickle *pk, orr_pk_kind kind, uint64_t len) {
    const uint8_t *p;
    orr_status st = read_bytes(pk, len, &p);
    if (st) return st;
    if (kind == ORR_PK_STRING)
        for (size_t i = 0, n; i < len; i += n) {
            uint32_t cp;
            if (!(n = utf8_next(p + i, len - i, &cp)))
                return pk_fail(pk, ORR_ERR_FORMAT, "string of %llu bytes is not valid UTF-8 (at its byte %zu)",
                               (unsigned long long)len, i);
        }
    orr_pk_value *v = new_value(pk, kind);
    char *copy = v ? arena_alloc(pk, len + 1) : NULL;
    if (!copy) return out_of_memory(pk);
    memcpy(copy, p, len);
    copy[len] = 0;
    v->u.str.data = copy;
    v->u.str.len = len;
    return push(pk, v);
}

static orr_status push_int(orr_pickle *pk, int64_t i) {
    orr_pk_value *v = new_value(pk, ORR_PK_INT);
    if (v) v->u.integer = i;
    return push(pk, v);
}

/* Module and class names: dotted identifiers, as GLOBAL writes them. */
static bool is_dotted_name(const char *s, bool dots) {
    if (!*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              (dots && *s == '.')))
            return false;
    return true;
}

static orr_status push_global(orr_pickle *pk, const char *module, size_t module_len, const char *name, size_t name_len) {
    char m[256], n[256];
    if (module_len >= sizeof m || name_len >= sizeof n)
        return pk_fail(pk, ORR_ERR_FORMAT, "global name of %zu+%zu bytes is not allowed", module_len, name_len);
    memcpy(m, module, module_len);
    m[module_len] = 0;
    memcpy(n, name, name_len);
    n[name_len] = 0;
    int id = -1;
    for (size_t i = 0; i < sizeof allowed_globals / sizeof allowed_globals[0]; i++)
        if (!strcmp(m, allowed_globals[i].module) && !strcmp(n, allowed_globals[i].name)) id = allowed_globals[i].id;
    if (!strcmp(m, "torch"))
        for (size_t i = 0; i < sizeof storage_types / sizeof storage_types[0]; i++)
            if (!strcmp(n, storage_types[i].name)) id = G_STORAGE;
    if ((!strncmp(m, "__torch__.", 10) || !strcmp(m, "__torch__")) && is_dotted_name(m, true) &&
        is_dotted_name(n, false))
        id = G_SCRIPT_CLASS;
    if (id < 0)
        return pk_fail(pk, ORR_ERR_FORMAT,
                       "global '%s.%s' is not allowed: a checkpoint may only name tensor and parameter rebuilds, "
                       "OrderedDict, typed storages, BytesIO extra state and TorchScript module classes "
                       "(nothing is ever imported or called)", m, n);
    orr_pk_value *v = new_value(pk, ORR_PK_GLOBAL);
    char *copy = v ? arena_alloc(pk, module_len + name_len + 2) : NULL;
    if (!copy) return out_of_memory(pk);
    memcpy(copy, m, module_len + 1);
    memcpy(copy + module_len + 1, n, name_len + 1);
    v->u.global.id = id;
    v->u.global.module = copy;
    v->u.global.name = copy + module_len + 1;
    return push(pk, v);
}

/* GLOBAL: "module\nname\n" inline. */
static orr_status op_global(orr_pickle *pk) {
    const uint8_t *start = pk->data + pk->pos, *end = pk->data + pk->size;
    const uint8_t *nl1 = memchr(start, '\n', (size_t)(end - start));
    const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
    if (!nl2) return pk_fail(pk, ORR_ERR_FORMAT, "GLOBAL is not followed by two newline-terminated names");
    pk->pos = (size_t)(nl2 + 1 - pk->data);
    if (memchr(start, 0, (size_t)(nl2 - start)))
        return pk_fail(pk, ORR_ERR_FORMAT, "GLOBAL name contains a NUL byte");
    return push_global(pk, (const char *)start, (size_t)(nl1 - start), (const char *)nl1 + 1, (size_t)(nl2 - nl1 - 1));
}

static orr_status op_stack_global(orr_pickle *pk) {
    orr_status st = need(pk, 2, "STACK_GLOBAL");
    if (st) return st;
    orr_pk_value *name = pop(pk), *module = pop(pk);
    if (module->kind != ORR_PK_STRING || name->kind != ORR_PK_STRING)
        return pk_fail(pk, ORR_ERR_FORMAT, "STACK_GLOBAL takes two strings, not %s and %s",
                       orr_pk_kind_name(module->kind), orr_pk_kind_name(name->kind));
    if (strlen(module->u.str.data) != module->u.str.len || strlen(name->u.str.data) != name->u.str.len)
        return pk_fail(pk, ORR_ERR_FORMAT, "STACK_GLOBAL name contains a NUL byte");
    return push_global(pk, module->u.str.data, module->u.str.len, name->u.str.data, name->u.str.len);
}

/* A tuple of the `count` values above position `from` (which are popped). */
static orr_status push_sequence(orr_pickle *pk, orr_pk_kind kind, size_t from) {
    size_t count = pk->depth - from;
    orr_pk_value *v = new_value(pk, kind);
    if (!v || !grow(pk, &v->u.seq.items, 0, &v->u.seq.capacity, count)) return out_of_memory(pk);
    if (count) memcpy(v->u.seq.items, pk->stack + from, count * sizeof *v->u.seq.items);
    v->u.seq.count = count;
    pk->depth = from;
    return push(pk, v);
}

static orr_status append_items(orr_pickle *pk, orr_pk_value *list, orr_pk_value *const *items, size_t count,
                               const char *op) {
    if (list->kind != ORR_PK_LIST) return pk_fail(pk, ORR_ERR_FORMAT, "%s on a %s", op, orr_pk_kind_name(list->kind));
    if (!count) return ORR_OK;
    if (!grow(pk, &list->u.seq.items, list->u.seq.count, &list->u.seq.capacity, list->u.seq.count + count))
        return out_of_memory(pk);
    memcpy(list->u.seq.items + list->u.seq.count, items, count * sizeof *items);
    list->u.seq.count += count;
    return ORR_OK;
}

/* Adds key/value pairs in order; a repeated key is kept twice here and
 * refused where the names are made. */
static orr_status set_items(orr_pickle *pk, orr_pk_value *dict, orr_pk_value *const *pairs, size_t count,
                            const char *op) {
    if (dict->kind != ORR_PK_DICT) return pk_fail(pk, ORR_ERR_FORMAT, "%s on a %s", op, orr_pk_kind_name(dict->kind));
    if (count % 2) return pk_fail(pk, ORR_ERR_FORMAT, "%s with an odd number (%zu) of keys and values", op, count);
    size_t n = dict->u.dict.count, cap = dict->u.dict.capacity;
    if (!grow(pk, &dict->u.dict.keys, n, &cap, n + count / 2) ||
        !grow(pk, &dict->u.dict.values, n, &dict->u.dict.capacity, n + count / 2))
        return out_of_memory(pk);
    for (size_t i = 0; i < count / 2; i++) {
        dict->u.dict.keys[n + i] = pairs[2 * i];
        dict->u.dict.values[n + i] = pairs[2 * i + 1];
    }
    dict->u.dict.count = n + count / 2;
    return ORR_OK;
}

/* BINPERSID: ('storage', torch.<Type>Storage, key, location, numel). */
static orr_status op_persid(orr_pickle *pk) {
    orr_status st = need(pk, 1, "BINPERSID");
    if (st) return st;
    const orr_pk_value *pid = pop(pk);
    orr_pk_value *const *f = pid->u.seq.items;
    if (pid->kind != ORR_PK_TUPLE || pid->u.seq.count != 5 || f[0]->kind != ORR_PK_STRING ||
        strcmp(f[0]->u.str.data, "storage") != 0)
        return pk_fail(pk, ORR_ERR_FORMAT, "persistent id is not a ('storage', type, key, location, numel) tuple");
    if (f[1]->kind != ORR_PK_GLOBAL || f[1]->u.global.id != G_STORAGE)
        return pk_fail(pk, ORR_ERR_FORMAT, "persistent id names %s%s%s, not a torch storage type",
                       f[1]->kind == ORR_PK_GLOBAL ? f[1]->u.global.module : "a ",
                       f[1]->kind == ORR_PK_GLOBAL ? "." : "",
                       f[1]->kind == ORR_PK_GLOBAL ? f[1]->u.global.name : orr_pk_kind_name(f[1]->kind));
    if (f[2]->kind != ORR_PK_STRING || !is_dotted_name(f[2]->u.str.data, false) ||
        strlen(f[2]->u.str.data) != f[2]->u.str.len)
        return pk_fail(pk, ORR_ERR_FORMAT, "persistent id key must be a name of letters, digits and '_'");
    if (f[3]->kind != ORR_PK_STRING)
        return pk_fail(pk, ORR_ERR_FORMAT, "persistent id location must be a string (found %s)",
                       orr_pk_kind_name(f[3]->kind));
    if (f[4]->kind != ORR_PK_INT || f[4]->u.integer < 0)
        return pk_fail(pk, ORR_ERR_FORMAT, "storage '%s': numel must be a non-negative int", f[2]->u.str.data);
    orr_pk_value *v = new_value(pk, ORR_PK_STORAGE);
    if (!v) return out_of_memory(pk);
    for (size_t i = 0; i < sizeof storage_types / sizeof storage_types[0]; i++)
        if (!strcmp(f[1]->u.global.name, storage_types[i].name)) {
            v->u.storage.dtype = storage_types[i].dtype;
            v->u.storage.type_name = storage_types[i].name;
        }
    v->u.storage.key = f[2]->u.str.data;
    v->u.storage.numel = f[4]->u.integer;
    return push(pk, v);
}

/* Elements of a size or stride tuple. */
static orr_status read_dims(orr_pickle *pk, const orr_pk_value *t, const char *what, int64_t *dims, int *ndim) {
    if (t->kind != ORR_PK_TUPLE)
        return pk_fail(pk, ORR_ERR_FORMAT, "_rebuild_tensor_v2: %s must be a tuple (found %s)", what,
                       orr_pk_kind_name(t->kind));
    if (t->u.seq.count > ORR_MAX_DIMS)
        return pk_fail(pk, ORR_ERR_UNSUPPORTED, "_rebuild_tensor_v2: a %zu-dim tensor; orrery takes up to %d dims",
                       t->u.seq.count, ORR_MAX_DIMS);
    for (size_t d = 0; d < t->u.seq.count; d++) {
        const orr_pk_value *e = t->u.seq.items[d];
        if (e->kind != ORR_PK_INT || e->u.integer < 0)
            return pk_fail(pk, ORR_ERR_FORMAT, "_rebuild_tensor_v2: %s[%zu] is not a non-negative int", what, d);
        dims[d] = e->u.integer;
    }
    *ndim = (int)t->u.seq.count;
    return ORR_OK;
}

/* (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
static orr_status rebuild_tensor(orr_pickle *pk, const orr_pk_value *args) {
    orr_pk_value *const *a = args->u.seq.items;
    if (args->u.seq.count != 6 && args->u.seq.count != 7)
        return pk_fail(pk, ORR_ERR_FORMAT, "_rebuild_tensor_v2 takes 6 or 7 arguments, not %zu", args->u.seq.count);
    if (a[0]->kind != ORR_PK_STORAGE)
        return pk_fail(pk, ORR_ERR_FORMAT, "_rebuild_tensor_v2: argument 1 must be a storage (found %s)",
                       orr_pk_kind_name(a[0]->kind));
    if (a[1]->kind != ORR_PK_INT || a[1]->u.integer < 0)
        return pk_fail(pk, ORR_ERR_FORMAT, "_rebuild_tensor_v2: storage offset must be a non-negative int");
    orr_pk_value *v = new_value(pk, ORR_PK_TENSOR);
    if (!v) return out_of_memory(pk);
    orr_pk_tensor *t = &v->u.tensor;
    int stride_dims;
    orr_status st;
    if ((st = read_dims(pk, a[2], "size", t->shape, &t->ndim)) ||
        (st = read_dims(pk, a[3], "stride", t->stride, &stride_dims)))
        return st;
    if (stride_dims != t->ndim)
        return pk_fail(pk, ORR_ERR_FORMAT, "_rebuild_tensor_v2: %d sizes but %d strides", t->ndim, stride_dims);
    t->storage = a[0];
    t->offset = a[1]->u.integer;
    return push(pk, v);
}

/* _codecs.encode(text, 'latin1'): how protocol 2 spells a bytes object. */
static orr_status encode_latin1(orr_pickle *pk, const orr_pk_value *args) {
    orr_pk_value *const *a = args->u.seq.items;
    if (args->u.seq.count != 2 || a[0]->kind != ORR_PK_STRING || a[1]->kind != ORR_PK_STRING ||
        (strcmp(a[1]->u.str.data, "latin1") != 0 && strcmp(a[1]->u.str.data, "latin-1") != 0))
        return pk_fail(pk, ORR_ERR_FORMAT, "_codecs.encode is only allowed as encode(str, 'latin1')");
    const uint8_t *s = (const uint8_t *)a[0]->u.str.data;
    size_t len = a[0]->u.str.len, n = 0;
    orr_pk_value *v = new_value(pk, ORR_PK_BYTES);
    char *bytes = v ? arena_alloc(pk, len + 1) : NULL;
    if (!bytes) return out_of_memory(pk);
    for (size_t i = 0, k; i < len; i += k) {
        uint32_t cp = 0;
        if (!(k = utf8_next(s + i, len - i, &cp)) || cp > 0xff)
            return pk_fail(pk, ORR_ERR_FORMAT, "_codecs.encode: character U+%04X does not fit in latin-1", cp);
        bytes[n++] = (char)cp;
    }
    bytes[n] = 0;
    v->u.str.data = bytes;
    v->u.str.len = n;
    return push(pk, v);
}

static orr_status op_reduce(orr_pickle *pk) {
    orr_status st = need(pk, 2, "REDUCE");
    if (st) return st;
    orr_pk_value *args = pop(pk), *fn = pop(pk);
    if (fn->kind != ORR_PK_GLOBAL)
        return pk_fail(pk, ORR_ERR_FORMAT, "REDUCE calls a %s; only allowed globals can be applied",
                       orr_pk_kind_name(fn->kind));
    if (args->kind != ORR_PK_TUPLE)
        return pk_fail(pk, ORR_ERR_FORMAT, "REDUCE of %s.%s with %s arguments, not a tuple", fn->u.global.module,
                       fn->u.global.name, orr_pk_kind_name(args->kind));
    orr_pk_value *const *a = args->u.seq.items;
    size_t n = args->u.seq.count;
    switch (fn->u.global.id) {
    case G_ORDERED_DICT:
        if (n) return pk_fail(pk, ORR_ERR_FORMAT, "OrderedDict is only allowed with no arguments");
        return push(pk, new_value(pk, ORR_PK_DICT));
    case G_REBUILD_TENSOR:
        return rebuild_tensor(pk, args);
    case G_REBUILD_PARAMETER:
    case G_REBUILD_PARAMETER_STATE:
        if (n != (fn->u.global.id == G_REBUILD_PARAMETER ? 3u : 4u) || a[0]->kind != ORR_PK_TENSOR)
            return pk_fail(pk, ORR_ERR_FORMAT, "%s takes (tensor, requires_grad, hooks%s)", fn->u.global.name,
                           fn->u.global.id == G_REBUILD_PARAMETER ? "" : ", state");
        return push(pk, (orr_pk_value *)a[0]);
    case G_CODECS_ENCODE:
        return encode_latin1(pk, args);
    default:
        return pk_fail(pk, ORR_ERR_FORMAT, "%s.%s cannot be called with REDUCE", fn->u.global.module,
                       fn->u.global.name);
    }
}

static orr_status op_newobj(orr_pickle *pk) {
    orr_status st = need(pk, 2, "NEWOBJ");
    if (st) return st;
    orr_pk_value *args = pop(pk), *cls = pop(pk);
    if (cls->kind != ORR_PK_GLOBAL || (cls->u.global.id != G_BYTES_IO && cls->u.global.id != G_SCRIPT_CLASS))
        return pk_fail(pk, ORR_ERR_FORMAT, "NEWOBJ of %s%s%s: only BytesIO and TorchScript classes are allowed",
                       cls->kind == ORR_PK_GLOBAL ? cls->u.global.module : "a ",
                       cls->kind == ORR_PK_GLOBAL ? "." : "",
                       cls->kind == ORR_PK_GLOBAL ? cls->u.global.name : orr_pk_kind_name(cls->kind));
    if (args->kind != ORR_PK_TUPLE || args->u.seq.count)
        return pk_fail(pk, ORR_ERR_FORMAT, "NEWOBJ of %s.%s takes no arguments", cls->u.global.module,
                       cls->u.global.name);
    orr_pk_value *v = new_value(pk, cls->u.global.id == G_BYTES_IO ? ORR_PK_BYTESIO : ORR_PK_OBJECT);
    if (v && v->kind == ORR_PK_BYTESIO) v->u.str.data = "";
    if (v && v->kind == ORR_PK_OBJECT) {
        v->u.object.module = cls->u.global.module;
        v->u.object.name = cls->u.global.name;
    }
    return push(pk, v);
}

/* BUILD sets an object's state: a TorchScript module's attributes, a
 * BytesIO's (bytes, position, dict), or an OrderedDict's instance
 * attributes (the state dict's `_metadata`, not needed). */
static orr_status op_build(orr_pickle *pk) {
    orr_status st = need(pk, 2, "BUILD");
    if (st) return st;
    orr_pk_value *state = pop(pk), *target = pk->stack[pk->depth - 1];
    switch (target->kind) {
    case ORR_PK_DICT:
        if (state->kind != ORR_PK_DICT)
            return pk_fail(pk, ORR_ERR_FORMAT, "BUILD of a dict with a %s state", orr_pk_kind_name(state->kind));
        return ORR_OK;
    case ORR_PK_OBJECT:
        if (state->kind != ORR_PK_DICT || target->u.object.attributes)
            return pk_fail(pk, ORR_ERR_FORMAT, "BUILD of %s.%s needs one dict of attributes", target->u.object.module,
                           target->u.object.name);
        target->u.object.attributes = state;
        return ORR_OK;
    case ORR_PK_BYTESIO: {
        orr_pk_value *const *s = state->u.seq.items;
        if (state->kind != ORR_PK_TUPLE || state->u.seq.count != 3 || s[0]->kind != ORR_PK_BYTES ||
            s[1]->kind != ORR_PK_INT || (s[2]->kind != ORR_PK_NONE && s[2]->kind != ORR_PK_DICT) ||
            *target->u.str.data)
            return pk_fail(pk, ORR_ERR_FORMAT, "BUILD of a BytesIO needs one (bytes, position, dict) state");
        target->u.str = s[0]->u.str;
        return ORR_OK;
    }
    default:
        return pk_fail(pk, ORR_ERR_FORMAT, "BUILD of a %s is not allowed", orr_pk_kind_name(target->kind));
    }
}

static orr_status memo_put(orr_pickle *pk, uint64_t index) {
    orr_status st = need(pk, 1, opcode_name(pk->data[pk->op_at]));
    if (st) return st;
    /* The pickler numbers memo entries 0, 1, 2, ...: each costs at least two
     * bytes, so a valid index is below the pickle's length. */
    if (index >= pk->size) return pk_fail(pk, ORR_ERR_FORMAT, "memo index %llu is out of range", (unsigned long long)index);
    if (index >= pk->memo_capacity) {
        size_t cap = pk->memo_capacity ? pk->memo_capacity : 64;
        while (cap <= index) cap *= 2;
        orr_pk_value **m = realloc(pk->memo, cap * sizeof *m);
        if (!m) return out_of_memory(pk);
        memset(m + pk->memo_capacity, 0, (cap - pk->memo_capacity) * sizeof *m);
        pk->memo = m;
        pk->memo_capacity = cap;
    }
    if (!pk->memo[index]) pk->memo_len++;
    pk->memo[index] = pk->stack[pk->depth - 1];
    return ORR_OK;
}

static orr_status memo_get(orr_pickle *pk, uint64_t index) {
    if (index >= pk->memo_capacity || !pk->memo[index])
        return pk_fail(pk, ORR_ERR_FORMAT, "memo entry %llu was never stored", (unsigned long long)index);
    return push(pk, pk->memo[index]);
}

static orr_status step(orr_pickle *pk, bool *stop) {
    pk->op_at = pk->pos;
    unsigned char op = pk->data[pk->pos++];
    uint64_t n;
    size_t from;
    orr_status st = ORR_OK;
    orr_pk_value *v;
    switch (op) {
    case OP_PROTO:
        if ((st = read_uint(pk, 1, &n))) return st;
        if (n > 5) return pk_fail(pk, ORR_ERR_UNSUPPORTED, "pickle protocol %llu is newer than 5", (unsigned long long)n);
        return ORR_OK;
    case OP_FRAME: /* a read-ahead hint */
        return read_uint(pk, 8, &n);
    case OP_STOP:
        if (pk->n_marks || pk->depth != 1)
            return pk_fail(pk, ORR_ERR_FORMAT, "STOP with %zu values and %zu marks on the stack (wanted 1 and 0)",
                           pk->depth, pk->n_marks);
        if (pk->pos != pk->size)
            return pk_fail(pk, ORR_ERR_FORMAT, "%zu bytes follow STOP", pk->size - pk->pos);
        pk->result = pop(pk);
        *stop = true;
        return ORR_OK;
    case OP_MARK:
        if (pk->n_marks == pk->marks_capacity) {
            size_t cap = pk->marks_capacity ? pk->marks_capacity * 2 : 16;
            size_t *m = realloc(pk->marks, cap * sizeof *m);
            if (!m) return out_of_memory(pk);
            pk->marks = m;
            pk->marks_capacity = cap;
        }
        pk->marks[pk->n_marks++] = pk->depth;
        return ORR_OK;
    case OP_NONE:
        return push(pk, new_value(pk, ORR_PK_NONE));
    case OP_NEWTRUE:
    case OP_NEWFALSE:
        if ((v = new_value(pk, ORR_PK_BOOL))) v->u.boolean = op == OP_NEWTRUE;
        return push(pk, v);
    case OP_BININT1:
    case OP_BININT2:
        if ((st = read_uint(pk, op == OP_BININT1 ? 1 : 2, &n))) return st;
        return push_int(pk, (int64_t)n);
    case OP_BININT:
        if ((st = read_uint(pk, 4, &n))) return st;
        return push_int(pk, (int32_t)(uint32_t)n);
    case OP_LONG1: {
        uint64_t len;
        if ((st = read_uint(pk, 1, &len))) return st;
        if (len > 8) return pk_fail(pk, ORR_ERR_UNSUPPORTED, "LONG1 of %llu bytes: integers past 64 bits", (unsigned long long)len);
        if ((st = read_uint(pk, len, &n))) return st;
        if (len && len < 8 && (n >> (8 * len - 1)) & 1) n |= ~(uint64_t)0 << (8 * len); /* sign-extend */
        return push_int(pk, (int64_t)n);
    }
    case OP_BINFLOAT: {
        const uint8_t *p;
        if ((st = read_bytes(pk, 8, &p))) return st;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | p[i]; /* big-endian */
        if ((v = new_value(pk, ORR_PK_FLOAT))) memcpy(&v->u.real, &bits, sizeof bits);
        return push(pk, v);
    }
    case OP_SHORT_BINUNICODE:
    case OP_BINUNICODE:
    case OP_BINUNICODE8:
        if ((st = read_uint(pk, op == OP_SHORT_BINUNICODE ? 1 : op == OP_BINUNICODE ? 4 : 8, &n))) return st;
        return push_text(pk, ORR_PK_STRING, n);
    case OP_SHORT_BINBYTES:
    case OP_BINBYTES:
        if ((st = read_uint(pk, op == OP_SHORT_BINBYTES ? 1 : 4, &n))) return st;
        return push_text(pk, ORR_PK_BYTES, n);
    case OP_EMPTY_TUPLE:
        return push_sequence(pk, ORR_PK_TUPLE, pk->depth);
    case OP_TUPLE1:
    case OP_TUPLE2:
    case OP_TUPLE3:
        if ((st = need(pk, (size_t)(op - OP_TUPLE1 + 1), opcode_name(op)))) return st;
        return push_sequence(pk, ORR_PK_TUPLE, pk->depth - (size_t)(op - OP_TUPLE1 + 1));
    case OP_TUPLE:
    case OP_LIST:
        if ((st = pop_mark(pk, opcode_name(op), &from))) return st;
        return push_sequence(pk, op == OP_TUPLE ? ORR_PK_TUPLE : ORR_PK_LIST, from);
    case OP_EMPTY_LIST:
        return push_sequence(pk, ORR_PK_LIST, pk->depth);
    case OP_APPEND:
        if ((st = need(pk, 2, "APPEND"))) return st;
        v = pop(pk);
        return append_items(pk, pk->stack[pk->depth - 1], &v, 1, "APPEND");
    case OP_APPENDS:
        if ((st = pop_mark(pk, "APPENDS", &from))) return st;
        if (from == 0) return pk_fail(pk, ORR_ERR_FORMAT, "APPENDS without a list below its MARK");
        st = append_items(pk, pk->stack[from - 1], pk->stack + from, pk->depth - from, "APPENDS");
        pk->depth = from;
        return st;
    case OP_EMPTY_DICT:
        return push(pk, new_value(pk, ORR_PK_DICT));
    case OP_DICT:
        if ((st = pop_mark(pk, "DICT", &from))) return st;
        if (!(v = new_value(pk, ORR_PK_DICT))) return out_of_memory(pk);
        if ((st = set_items(pk, v, pk->stack + from, pk->depth - from, "DICT"))) return st;
        pk->depth = from;
        return push(pk, v);
    case OP_SETITEM:
        if ((st = need(pk, 3, "SETITEM"))) return st;
        pk->depth -= 2;
        return set_items(pk, pk->stack[pk->depth - 1], pk->stack + pk->depth, 2, "SETITEM");
    case OP_SETITEMS:
        if ((st = pop_mark(pk, "SETITEMS", &from))) return st;
        if (from == 0) return pk_fail(pk, ORR_ERR_FORMAT, "SETITEMS without a dict below its MARK");
        st = set_items(pk, pk->stack[from - 1], pk->stack + from, pk->depth - from, "SETITEMS");
        pk->depth = from;
        return st;
    case OP_GLOBAL:
        return op_global(pk);
    case OP_STACK_GLOBAL:
        return op_stack_global(pk);
    case OP_BINPERSID:
        return op_persid(pk);
    case OP_REDUCE:
        return op_reduce(pk);
    case OP_NEWOBJ:
        return op_newobj(pk);
    case OP_BUILD:
        return op_build(pk);
    case OP_BINPUT:
    case OP_LONG_BINPUT:
        if ((st = read_uint(pk, op == OP_BINPUT ? 1 : 4, &n))) return st;
        return memo_put(pk, n);
    case OP_MEMOIZE:
        return memo_put(pk, pk->memo_len);
    case OP_BINGET:
    case OP_LONG_BINGET:
        if ((st = read_uint(pk, op == OP_BINGET ? 1 : 4, &n))) return st;
        return memo_get(pk, n);
    default:
        return pk_fail(pk, ORR_ERR_FORMAT, "opcode %s (0x%02x) is not allowed: a checkpoint pickle holds only data",
                       opcode_name(op), op);
    }
}

orr_status orr_pickle_load(const uint8_t *data, size_t size, const char *label, orr_pickle **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "pickle: out is NULL");
    *out = NULL;
    if (!label) label = "(memory)";
    orr_pickle *pk = calloc(1, sizeof *pk);
    if (!pk || !(pk->label = strdup(label))) {
        free(pk);
        return orr_error(ORR_ERR_MEMORY, "pickle: %s: out of memory", label);
    }
    pk->data = data;
    pk->size = size;
    /* Never NULL, so that `stack + from` is always a valid pointer. */
    pk->stack_capacity = 64;
    if (!(pk->stack = malloc(pk->stack_capacity * sizeof *pk->stack))) {
        orr_pickle_free(pk);
        return orr_error(ORR_ERR_MEMORY, "pickle: %s: out of memory", label);
    }
    orr_status st = ORR_OK;
    bool stop = false;
    while (!st && !stop) {
        if (pk->pos == pk->size) {
            pk->op_at = pk->pos;
            st = pk_fail(pk, ORR_ERR_FORMAT, "the pickle ends without STOP (truncated?)");
        } else {
            st = step(pk, &stop);
        }
    }
    /* The work arrays are not needed by the result. */
    free(pk->stack);
    free(pk->marks);
    free(pk->memo);
    pk->stack = NULL;
    pk->marks = NULL;
    pk->memo = NULL;
    if (st) {
        orr_pickle_free(pk);
        return st;
    }
    *out = pk;
    return ORR_OK;
}

void orr_pickle_free(orr_pickle *pk) {
    if (!pk) return;
    while (pk->blocks) {
        arena_block *next = pk->blocks->next;
        free(pk->blocks);
        pk->blocks = next;
    }
    free(pk->stack);
    free(pk->marks);
    free(pk->memo);
    free(pk->label);
    free(pk);
}

const orr_pk_value *orr_pickle_result(const orr_pickle *pk) { return pk ? pk->result : NULL; }
