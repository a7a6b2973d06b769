/* json.h — a small strict JSON (RFC 8259) reader and a string-literal writer,
 * internal to liborrery: safetensors headers, model configs, control specs.
 *
 * orr_json_parse builds a read-only tree owned by one orr_json document; every
 * value pointer stays valid until orr_json_free. Strings are decoded to UTF-8
 * and NUL-terminated (they may also contain NULs written as \u0000: use the
 * length). Objects keep their members in document order; duplicate keys are
 * an error. Errors read "json: expected ',' or '}' at byte 123" (0-based). */
#ifndef ORR_JSON_H
#define ORR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery.h"

typedef enum orr_json_type {
    ORR_JSON_NULL,
    ORR_JSON_BOOL,
    ORR_JSON_NUMBER,
    ORR_JSON_STRING,
    ORR_JSON_ARRAY,
    ORR_JSON_OBJECT
} orr_json_type;

typedef struct orr_json orr_json;             /* a parsed document */
typedef struct orr_json_value orr_json_value; /* one value inside it */

typedef struct orr_json_limits {
    size_t max_bytes; /* longest input accepted */
    int max_depth;    /* deepest nesting of arrays and objects */
} orr_json_limits;

/* 256 MiB and depth 128. Depths above 1000 are treated as 1000: the parser
 * recurses once per level. */
void orr_json_limits_init(orr_json_limits *limits);

/* Parses exactly `size` bytes (no NUL needed) holding one JSON value with
 * optional surrounding whitespace. limits may be NULL for the defaults.
 * ORR_ERR_FORMAT for malformed text, ORR_ERR_MEMORY when allocation fails. */
orr_status orr_json_parse(const char *text, size_t size, const orr_json_limits *limits, orr_json **out);
void orr_json_free(orr_json *doc);
const orr_json_value *orr_json_root(const orr_json *doc);

orr_json_type orr_json_type_of(const orr_json_value *v);
/* "null", "boolean", "number", "string", "array", "object". */
const char *orr_json_type_name(orr_json_type type);
/* Where the value starts in the parsed text, for messages. */
size_t orr_json_offset(const orr_json_value *v);

/* Elements of an array or members of an object; 0 for any other value. */
size_t orr_json_length(const orr_json_value *v);
/* Array element i; NULL when v is not an array or i is out of range. */
const orr_json_value *orr_json_at(const orr_json_value *array, size_t i);
/* Member with the given key (O(log n)); NULL when absent or v is not an object. */
const orr_json_value *orr_json_get(const orr_json_value *object, const char *key);
/* Member i in document order: its key (length in *key_len when not NULL) and
 * value; NULL when v is not an object or i is out of range. */
const char *orr_json_key_at(const orr_json_value *object, size_t i, size_t *key_len);
const orr_json_value *orr_json_value_at(const orr_json_value *object, size_t i);

/* false for anything but `true`. */
bool orr_json_bool(const orr_json_value *v);
/* The number as the nearest double; NaN when v is not a number. */
double orr_json_number(const orr_json_value *v);
/* The number as an int64 when it is exactly an integer in range, decided on
 * its digits rather than the rounded double: 42, -7, 4.0, 1e3 and
 * 9007199254740993 are; 0.5, 1e19 and 1.00000000000000000001 are not.
 * false otherwise, or when v is not a number. */
bool orr_json_int64(const orr_json_value *v, int64_t *out);
/* The decoded string (NUL-terminated, length in *len when not NULL); NULL
 * when v is not a string. */
const char *orr_json_string(const orr_json_value *v, size_t *len);

/* Writes `s` (len bytes of UTF-8) as a quoted JSON string literal with
 * ", \ and control characters escaped, snprintf-style: at most cap-1 bytes
 * and a NUL go into dst (dst may be NULL when cap is 0); returns the full
 * length, so a first call with cap 0 sizes the buffer. */
size_t orr_json_quote(char *dst, size_t cap, const char *s, size_t len);

/* Whether s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool orr_json_utf8_valid(const char *s, size_t len);

#endif /* ORR_JSON_H */
