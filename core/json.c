/* json.c — the strict JSON reader behind json.h: recursive descent over a
 * sized buffer into a tree allocated from one arena per document. */
#include "json.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define JSON_DEFAULT_MAX_BYTES ((size_t)256 << 20)
#define JSON_DEFAULT_MAX_DEPTH 128
/* The parser recurses once per level, so a caller's limit is capped to keep
 * the C stack safe. */
#define JSON_DEPTH_CAP 1000
#define ARENA_BLOCK 65536

typedef struct json_member {
    const char *key;
    size_t key_len;
    size_t key_offset;
    const orr_json_value *value;
} json_member;

struct orr_json_value {
    orr_json_type type;
    bool flag; /* the boolean; for numbers: `integer` holds the exact value */
    size_t offset;
    union {
        struct {
            double real;
            int64_t integer;
        } number;
        struct {
            const char *chars;
            size_t len;
        } string;
        struct {
            const orr_json_value **items;
            size_t count;
        } array;
        struct {
            const json_member *members;       /* document order */
            const json_member **sorted;       /* by key, for lookup */
            size_t count;
        } object;
    } u;
};

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
} arena_block;

struct orr_json {
    arena_block *blocks;
    const orr_json_value *root;
};

/* Growable scratch stacks shared by all nesting levels: a container's
 * children sit on top until it closes and they move into the arena. */
typedef struct parser {
    const unsigned char *text;
    size_t size, pos;
    int depth, max_depth;
    orr_json *doc;
    const orr_json_value **items;
    size_t n_items, cap_items;
    json_member *members;
    size_t n_members, cap_members;
    char *scratch; /* number literals for strtod */
    size_t cap_scratch;
} parser;

/* ---- arena ------------------------------------------------------------- */

static void *arena_alloc(orr_json *doc, size_t bytes) {
    bytes = (bytes + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
    arena_block *b = doc->blocks;
    if (!b || b->cap - b->used < bytes) {
        size_t cap = bytes > ARENA_BLOCK ? bytes : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->used = 0;
        b->cap = cap;
        /* An oversized block goes second so the current block keeps serving
         * small requests. */
        if (doc->blocks && bytes > ARENA_BLOCK) {
            b->next = doc->blocks->next;
            doc->blocks->next = b;
        } else {
            b->next = doc->blocks;
            doc->blocks = b;
        }
    }
    void *p = b->data + b->used;
    b->used += bytes;
    return p;
}

void orr_json_free(orr_json *doc) {
    if (!doc) return;
    for (arena_block *b = doc->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(doc);
}

/* ---- errors -------------------------------------------------------------- */

/* The byte at pos for messages: 'x', byte 0x01 or end of input. */
static const char *describe_at(const parser *p, size_t pos, char *buf, size_t size) {
    if (pos >= p->size) return "end of input";
    unsigned char c = p->text[pos];
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, size, "'%c'", c);
    else
        snprintf(buf, size, "byte 0x%02x", c);
    return buf;
}

static orr_status expected(const parser *p, const char *what) {
    char buf[32];
    return orr_error(ORR_ERR_FORMAT, "json: expected %s at byte %zu (found %s)", what, p->pos,
                     describe_at(p, p->pos, buf, sizeof buf));
}

static orr_status out_of_memory(void) { return orr_error(ORR_ERR_MEMORY, "json: out of memory"); }

/* ---- UTF-8 --------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence starting at s (at most `avail`
 * bytes), or 0 when it is not one (RFC 3629 table: no overlongs, no
 * surrogates, nothing past U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t avail) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

bool orr_json_utf8_valid(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(u + i, len - i);
        if (!n) return false;
        i += n;
    }
    return true;
}

static size_t utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* ---- scanning ------------------------------------------------------------ */

static void skip_space(parser *p) {
    while (p->pos < p->size) {
        unsigned char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static bool at(const parser *p, char c) { return p->pos < p->size && p->text[p->pos] == (unsigned char)c; }

static bool is_digit(const parser *p, size_t pos) {
    return pos < p->size && p->text[pos] >= '0' && p->text[pos] <= '9';
}

static orr_json_value *new_value(parser *p, orr_json_type type, size_t offset) {
    orr_json_value *v = arena_alloc(p->doc, sizeof *v);
    if (!v) return NULL;
    memset(v, 0, sizeof *v);
    v->type = type;
    v->offset = offset;
    return v;
}

/* Reads four hex digits at p->pos. */
static bool read_hex4(parser *p, uint32_t *out) {
    uint32_t v = 0;
    if (p->size - p->pos < 4) return false;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p->text[p->pos + (size_t)i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10u;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10u;
        else
            return false;
        v = v * 16 + d;
    }
    p->pos += 4;
    *out = v;
    return true;
}

/* After "\u" at p->pos: one code point, combining a surrogate pair. */
static orr_status read_unicode_escape(parser *p, size_t escape_at, uint32_t *cp) {
    if (!read_hex4(p, cp))
        return orr_error(ORR_ERR_FORMAT, "json: \\u needs four hex digits at byte %zu", escape_at);
    if (*cp >= 0xdc00 && *cp <= 0xdfff)
        return orr_error(ORR_ERR_FORMAT, "json: unpaired low surrogate \\u%04X at byte %zu", (unsigned)*cp,
                         escape_at);
    if (*cp < 0xd800 || *cp > 0xdbff) return ORR_OK;
    uint32_t low;
    if (p->size - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
        return orr_error(ORR_ERR_FORMAT, "json: unpaired high surrogate \\u%04X at byte %zu", (unsigned)*cp,
                         escape_at);
    size_t low_at = p->pos;
    p->pos += 2;
    if (!read_hex4(p, &low))
        return orr_error(ORR_ERR_FORMAT, "json: \\u needs four hex digits at byte %zu", low_at);
    if (low < 0xdc00 || low > 0xdfff)
        return orr_error(ORR_ERR_FORMAT, "json: high surrogate \\u%04X at byte %zu is followed by \\u%04X, "
                                         "not a low surrogate", (unsigned)*cp, escape_at, (unsigned)low);
    *cp = 0x10000 + ((*cp - 0xd800) << 10) + (low - 0xdc00);
    return ORR_OK;
}

/* A string at p->pos (the opening quote), decoded into the arena. */
static orr_status parse_string(parser *p, const char **chars, size_t *len) {
    size_t start = p->pos++;
    /* The decoded form is never longer than the raw one, so find the end
     * first and allocate once. */
    size_t end = p->pos;
    while (end < p->size && p->text[end] != '"') end += p->text[end] == '\\' ? 2 : 1;
    if (end >= p->size) return orr_error(ORR_ERR_FORMAT, "json: unterminated string starting at byte %zu", start);
    char *out = arena_alloc(p->doc, end - p->pos + 1);
    if (!out) return out_of_memory();
    size_t n = 0;
    while (p->pos < end) {
        unsigned char c = p->text[p->pos];
        if (c < 0x20)
            return orr_error(ORR_ERR_FORMAT, "json: control character 0x%02x in a string at byte %zu", c, p->pos);
        if (c >= 0x80) {
            size_t k = utf8_sequence(p->text + p->pos, end - p->pos);
            if (!k) return orr_error(ORR_ERR_FORMAT, "json: invalid UTF-8 at byte %zu", p->pos);
            memcpy(out + n, p->text + p->pos, k);
            n += k;
            p->pos += k;
            continue;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            p->pos++;
            continue;
        }
        size_t escape_at = p->pos;
        char e = (char)p->text[p->pos + 1];
        p->pos += 2;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            uint32_t cp = 0;
            orr_status st = read_unicode_escape(p, escape_at, &cp);
            if (st) return st;
            /* Six raw bytes (or twelve for a pair) always cover the encoding. */
            n += utf8_encode(cp, out + n);
            break;
        }
        default: {
            char buf[32];
            return orr_error(ORR_ERR_FORMAT, "json: invalid escape \\ followed by %s at byte %zu",
                             describe_at(p, escape_at + 1, buf, sizeof buf), escape_at);
        }
        }
    }
    out[n] = '\0';
    p->pos = end + 1;
    *chars = out;
    *len = n;
    return ORR_OK;
}

/* The exact integer value of a number literal written as digits d (without
 * leading zeros) times 10^exp10, if it has one that fits an int64. */
static bool exact_integer(const char *digits, size_t n_digits, int64_t exp10, bool negative, int64_t *out) {
    while (n_digits && digits[n_digits - 1] == '0') {
        n_digits--;
        exp10++;
    }
    if (!n_digits) {
        *out = 0;
        return true;
    }
    if (exp10 < 0) return false;
    /* Accumulate as a negative number: its range is one larger. */
    int64_t v = 0;
    for (size_t i = 0; i < n_digits; i++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, digits[i] - '0', &v)) return false;
    for (int64_t i = 0; i < exp10; i++)
        if (__builtin_mul_overflow(v, 10, &v)) return false;
    if (!negative && v == INT64_MIN) return false;
    *out = negative ? v : -v;
    return true;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void make_c_locale(void) { c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

static orr_status parse_number(parser *p, orr_json_value **out) {
    size_t start = p->pos;
    bool negative = at(p, '-');
    if (negative) p->pos++;
    if (!is_digit(p, p->pos)) return expected(p, "a digit");
    size_t int_start = p->pos;
    if (p->text[p->pos] == '0')
        p->pos++;
    else
        while (is_digit(p, p->pos)) p->pos++;
    size_t int_end = p->pos, frac_start = p->pos, frac_end = p->pos;
    if (at(p, '.')) {
        p->pos++;
        if (!is_digit(p, p->pos)) return expected(p, "a digit after '.'");
        frac_start = p->pos;
        while (is_digit(p, p->pos)) p->pos++;
        frac_end = p->pos;
    }
    int64_t exp10 = 0;
    if (at(p, 'e') || at(p, 'E')) {
        p->pos++;
        bool exp_negative = at(p, '-');
        if (at(p, '-') || at(p, '+')) p->pos++;
        if (!is_digit(p, p->pos)) return expected(p, "a digit in the exponent");
        /* Beyond a billion any non-zero value over- or underflows anyway. */
        while (is_digit(p, p->pos)) {
            if (exp10 < 1000000000) exp10 = exp10 * 10 + (p->text[p->pos] - '0');
            p->pos++;
        }
        if (exp_negative) exp10 = -exp10;
    }
    size_t len = p->pos - start;
    if (len + 1 > p->cap_scratch) {
        char *s = realloc(p->scratch, len + 1);
        if (!s) return out_of_memory();
        p->scratch = s;
        p->cap_scratch = len + 1;
    }
    memcpy(p->scratch, p->text + start, len);
    p->scratch[len] = '\0';

    orr_json_value *v = new_value(p, ORR_JSON_NUMBER, start);
    if (!v) return out_of_memory();
    pthread_once(&c_locale_once, make_c_locale);
    /* strtod_l: a caller's setlocale must not change what "0.5" means. */
    v->u.number.real = c_locale ? strtod_l(p->scratch, NULL, c_locale) : strtod(p->scratch, NULL);
    if (!isfinite(v->u.number.real))
        return orr_error(ORR_ERR_FORMAT, "json: number %.40s%s at byte %zu is out of range", p->scratch,
                         len > 40 ? "..." : "", start);

    /* The integer test works on the digits: the double may have rounded. */
    char *digits = p->scratch; /* int and fraction digits joined, leading zeros dropped */
    size_t n = 0;
    for (size_t i = int_start; i < int_end; i++)
        if (n || p->text[i] != '0') digits[n++] = (char)p->text[i];
    for (size_t i = frac_start; i < frac_end; i++)
        if (n || p->text[i] != '0') digits[n++] = (char)p->text[i];
    v->flag = exact_integer(digits, n, exp10 - (int64_t)(frac_end - frac_start), negative, &v->u.number.integer);
    *out = v;
    return ORR_OK;
}

static orr_status parse_value(parser *p, const orr_json_value **out);

static orr_status push_item(parser *p, const orr_json_value *v) {
    if (p->n_items == p->cap_items) {
        size_t cap = p->cap_items ? 2 * p->cap_items : 64;
        const orr_json_value **items = realloc(p->items, cap * sizeof *items);
        if (!items) return out_of_memory();
        p->items = items;
        p->cap_items = cap;
    }
    p->items[p->n_items++] = v;
    return ORR_OK;
}

static orr_status push_member(parser *p, json_member m) {
    if (p->n_members == p->cap_members) {
        size_t cap = p->cap_members ? 2 * p->cap_members : 64;
        json_member *members = realloc(p->members, cap * sizeof *members);
        if (!members) return out_of_memory();
        p->members = members;
        p->cap_members = cap;
    }
    p->members[p->n_members++] = m;
    return ORR_OK;
}

static orr_status enter(parser *p) {
    if (++p->depth > p->max_depth)
        return orr_error(ORR_ERR_FORMAT, "json: nesting deeper than %d at byte %zu", p->max_depth, p->pos);
    return ORR_OK;
}

static orr_status parse_array(parser *p, orr_json_value **out) {
    orr_status st = enter(p);
    if (st) return st;
    orr_json_value *v = new_value(p, ORR_JSON_ARRAY, p->pos);
    if (!v) return out_of_memory();
    p->pos++;
    size_t base = p->n_items;
    skip_space(p);
    if (at(p, ']'))
        p->pos++;
    else
        for (;;) {
            const orr_json_value *item;
            if ((st = parse_value(p, &item)) || (st = push_item(p, item))) return st;
            skip_space(p);
            if (at(p, ']')) {
                p->pos++;
                break;
            }
            if (!at(p, ',')) return expected(p, "',' or ']'");
            p->pos++;
        }
    size_t count = p->n_items - base;
    if (count) {
        const orr_json_value **items = arena_alloc(p->doc, count * sizeof *items);
        if (!items) return out_of_memory();
        memcpy(items, p->items + base, count * sizeof *items);
        v->u.array.items = items;
    }
    v->u.array.count = count;
    p->n_items = base;
    p->depth--;
    *out = v;
    return ORR_OK;
}

static int compare_keys(const char *a, size_t a_len, const char *b, size_t b_len) {
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c) return c;
    return (a_len > b_len) - (a_len < b_len);
}

static int compare_members(const void *a, const void *b) {
    const json_member *x = *(const json_member *const *)a, *y = *(const json_member *const *)b;
    return compare_keys(x->key, x->key_len, y->key, y->key_len);
}

static orr_status index_object(parser *p, orr_json_value *v) {
    size_t count = v->u.object.count;
    const json_member **sorted = arena_alloc(p->doc, count * sizeof *sorted);
    if (!sorted) return out_of_memory();
    for (size_t i = 0; i < count; i++) sorted[i] = &v->u.object.members[i];
    qsort(sorted, count, sizeof *sorted, compare_members);
    for (size_t i = 1; i < count; i++)
        if (!compare_members(&sorted[i - 1], &sorted[i])) {
            const json_member *later =
                sorted[i]->key_offset > sorted[i - 1]->key_offset ? sorted[i] : sorted[i - 1];
            char key[80];
            size_t n = orr_json_quote(key, sizeof key, later->key, later->key_len);
            return orr_error(ORR_ERR_FORMAT, "json: duplicate key %s%s at byte %zu", key,
                             n >= sizeof key ? "..." : "", later->key_offset);
        }
    v->u.object.sorted = sorted;
    return ORR_OK;
}

static orr_status parse_object(parser *p, orr_json_value **out) {
    orr_status st = enter(p);
    if (st) return st;
    orr_json_value *v = new_value(p, ORR_JSON_OBJECT, p->pos);
    if (!v) return out_of_memory();
    p->pos++;
    size_t base = p->n_members;
    skip_space(p);
    if (at(p, '}'))
        p->pos++;
    else
        for (;;) {
            json_member m = {.key_offset = p->pos};
            if (!at(p, '"')) return expected(p, "a string key");
            if ((st = parse_string(p, &m.key, &m.key_len))) return st;
            skip_space(p);
            if (!at(p, ':')) return expected(p, "':'");
            p->pos++;
            if ((st = parse_value(p, &m.value)) || (st = push_member(p, m))) return st;
            skip_space(p);
            if (at(p, '}')) {
                p->pos++;
                break;
            }
            if (!at(p, ',')) return expected(p, "',' or '}'");
            p->pos++;
            skip_space(p);
        }
    size_t count = p->n_members - base;
    if (count) {
        json_member *members = arena_alloc(p->doc, count * sizeof *members);
        if (!members) return out_of_memory();
        memcpy(members, p->members + base, count * sizeof *members);
        v->u.object.members = members;
        v->u.object.count = count;
        if ((st = index_object(p, v))) return st;
    }
    p->n_members = base;
    p->depth--;
    *out = v;
    return ORR_OK;
}

static orr_status parse_literal(parser *p, const char *word, orr_json_type type, bool flag, orr_json_value **out) {
    size_t n = strlen(word);
    if (p->size - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) return expected(p, "a value");
    orr_json_value *v = new_value(p, type, p->pos);
    if (!v) return out_of_memory();
    v->flag = flag;
    p->pos += n;
    *out = v;
    return ORR_OK;
}

static orr_status parse_value(parser *p, const orr_json_value **out) {
    skip_space(p);
    if (p->pos >= p->size) return expected(p, "a value");
    orr_json_value *v = NULL;
    orr_status st;
    switch (p->text[p->pos]) {
    case '{': st = parse_object(p, &v); break;
    case '[': st = parse_array(p, &v); break;
    case '"': {
        size_t start = p->pos;
        const char *chars;
        size_t len;
        if ((st = parse_string(p, &chars, &len))) break;
        if (!(v = new_value(p, ORR_JSON_STRING, start))) return out_of_memory();
        v->u.string.chars = chars;
        v->u.string.len = len;
        break;
    }
    case 't': st = parse_literal(p, "true", ORR_JSON_BOOL, true, &v); break;
    case 'f': st = parse_literal(p, "false", ORR_JSON_BOOL, false, &v); break;
    case 'n': st = parse_literal(p, "null", ORR_JSON_NULL, false, &v); break;
    default:
        if (at(p, '-') || is_digit(p, p->pos))
            st = parse_number(p, &v);
        else
            st = expected(p, "a value");
    }
    *out = v;
    return st;
}

void orr_json_limits_init(orr_json_limits *limits) {
    limits->max_bytes = JSON_DEFAULT_MAX_BYTES;
    limits->max_depth = JSON_DEFAULT_MAX_DEPTH;
}

orr_status orr_json_parse(const char *text, size_t size, const orr_json_limits *limits, orr_json **out) {
    orr_json_limits lim;
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "json: out is NULL");
    *out = NULL;
    if (!text && size) return orr_error(ORR_ERR_ARGUMENT, "json: text is NULL");
    if (limits)
        lim = *limits;
    else
        orr_json_limits_init(&lim);
    if (size > lim.max_bytes)
        return orr_error(ORR_ERR_FORMAT, "json: input of %zu bytes is larger than the limit of %zu", size,
                         lim.max_bytes);
    parser p = {.text = (const unsigned char *)text, .size = size};
    p.max_depth = lim.max_depth < JSON_DEPTH_CAP ? lim.max_depth : JSON_DEPTH_CAP;
    if (!(p.doc = calloc(1, sizeof *p.doc))) return out_of_memory();
    const orr_json_value *root;
    orr_status st = parse_value(&p, &root);
    if (!st) {
        skip_space(&p);
        if (p.pos < p.size) {
            char buf[32];
            st = orr_error(ORR_ERR_FORMAT, "json: unexpected %s after the value at byte %zu",
                           describe_at(&p, p.pos, buf, sizeof buf), p.pos);
        }
    }
    free(p.items);
    free(p.members);
    free(p.scratch);
    if (st) {
        orr_json_free(p.doc);
        return st;
    }
    p.doc->root = root;
    *out = p.doc;
    return ORR_OK;
}

/* ---- access -------------------------------------------------------------- */

const orr_json_value *orr_json_root(const orr_json *doc) { return doc ? doc->root : NULL; }

orr_json_type orr_json_type_of(const orr_json_value *v) { return v ? v->type : ORR_JSON_NULL; }

const char *orr_json_type_name(orr_json_type type) {
    switch (type) {
    case ORR_JSON_NULL: return "null";
    case ORR_JSON_BOOL: return "boolean";
    case ORR_JSON_NUMBER: return "number";
    case ORR_JSON_STRING: return "string";
    case ORR_JSON_ARRAY: return "array";
    case ORR_JSON_OBJECT: return "object";
    }
    return "invalid";
}

size_t orr_json_offset(const orr_json_value *v) { return v ? v->offset : 0; }

size_t orr_json_length(const orr_json_value *v) {
    if (!v) return 0;
    if (v->type == ORR_JSON_ARRAY) return v->u.array.count;
    if (v->type == ORR_JSON_OBJECT) return v->u.object.count;
    return 0;
}

const orr_json_value *orr_json_at(const orr_json_value *array, size_t i) {
    if (!array || array->type != ORR_JSON_ARRAY || i >= array->u.array.count) return NULL;
    return array->u.array.items[i];
}

const orr_json_value *orr_json_get(const orr_json_value *object, const char *key) {
    if (!object || object->type != ORR_JSON_OBJECT || !key) return NULL;
    size_t key_len = strlen(key), lo = 0, hi = object->u.object.count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const json_member *m = object->u.object.sorted[mid];
        int c = compare_keys(key, key_len, m->key, m->key_len);
        if (!c) return m->value;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *orr_json_key_at(const orr_json_value *object, size_t i, size_t *key_len) {
    if (!object || object->type != ORR_JSON_OBJECT || i >= object->u.object.count) return NULL;
    if (key_len) *key_len = object->u.object.members[i].key_len;
    return object->u.object.members[i].key;
}

const orr_json_value *orr_json_value_at(const orr_json_value *object, size_t i) {
    if (!object || object->type != ORR_JSON_OBJECT || i >= object->u.object.count) return NULL;
    return object->u.object.members[i].value;
}

bool orr_json_bool(const orr_json_value *v) { return v && v->type == ORR_JSON_BOOL && v->flag; }

double orr_json_number(const orr_json_value *v) {
    return v && v->type == ORR_JSON_NUMBER ? v->u.number.real : NAN;
}

bool orr_json_int64(const orr_json_value *v, int64_t *out) {
    if (!v || v->type != ORR_JSON_NUMBER || !v->flag) return false;
    *out = v->u.number.integer;
    return true;
}

const char *orr_json_string(const orr_json_value *v, size_t *len) {
    if (!v || v->type != ORR_JSON_STRING) return NULL;
    if (len) *len = v->u.string.len;
    return v->u.string.chars;
}

/* ---- writing ------------------------------------------------------------- */

size_t orr_json_quote(char *dst, size_t cap, const char *s, size_t len) {
    size_t n = 0;
#define EMIT(c)                              \
    do {                                     \
        if (n + 1 < cap) dst[n] = (char)(c); \
        n++;                                 \
    } while (0)
    EMIT('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *short_escape = NULL;
        switch (c) {
        case '"': short_escape = "\\\""; break;
        case '\\': short_escape = "\\\\"; break;
        case '\b': short_escape = "\\b"; break;
        case '\f': short_escape = "\\f"; break;
        case '\n': short_escape = "\\n"; break;
        case '\r': short_escape = "\\r"; break;
        case '\t': short_escape = "\\t"; break;
        }
        if (short_escape) {
            EMIT(short_escape[0]);
            EMIT(short_escape[1]);
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            EMIT('\\');
            EMIT('u');
            EMIT('0');
            EMIT('0');
            EMIT(hex[c >> 4]);
            EMIT(hex[c & 15]);
        } else
            EMIT(c);
    }
    EMIT('"');
#undef EMIT
    if (cap) dst[n < cap ? n : cap - 1] = '\0';
    return n;
}
