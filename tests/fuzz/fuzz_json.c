/* fuzz_json.c — libFuzzer entry for the JSON reader: any input must either
 * fail with a "json: ..." message or give a tree whose every value can be
 * read back, whose keys are all found by lookup, and whose strings are valid
 * UTF-8 that survives orr_json_quote and a second parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile double sink;

static void check_string(const char *s, size_t len) {
    if (!s || s[len] != '\0' || !orr_json_utf8_valid(s, len)) abort();
    size_t n = orr_json_quote(NULL, 0, s, len);
    char *quoted = malloc(n + 1);
    if (!quoted || orr_json_quote(quoted, n + 1, s, len) != n) abort();
    orr_json *doc = NULL;
    size_t back_len = 0;
    if (orr_json_parse(quoted, n, NULL, &doc) != ORR_OK) abort();
    const char *back = orr_json_string(orr_json_root(doc), &back_len);
    if (!back || back_len != len || memcmp(back, s, len)) abort();
    orr_json_free(doc);
    free(quoted);
}

static void walk(const orr_json_value *v) {
    size_t len;
    int64_t i;
    switch (orr_json_type_of(v)) {
    case ORR_JSON_NULL:
    case ORR_JSON_BOOL: sink = orr_json_bool(v); break;
    case ORR_JSON_NUMBER:
        sink = orr_json_number(v);
        /* An exact integer is also what the double rounds from. */
        if (orr_json_int64(v, &i) && (double)i != orr_json_number(v)) abort();
        break;
    case ORR_JSON_STRING: {
        const char *s = orr_json_string(v, &len);
        check_string(s, len);
        break;
    }
    case ORR_JSON_ARRAY:
        for (size_t k = 0; k < orr_json_length(v); k++) walk(orr_json_at(v, k));
        if (orr_json_at(v, orr_json_length(v))) abort();
        break;
    case ORR_JSON_OBJECT:
        for (size_t k = 0; k < orr_json_length(v); k++) {
            const char *key = orr_json_key_at(v, k, &len);
            check_string(key, len);
            /* Lookup by C string reaches keys without an embedded NUL. */
            if (strlen(key) == len && orr_json_get(v, key) != orr_json_value_at(v, k)) abort();
            walk(orr_json_value_at(v, k));
        }
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    orr_json *doc = NULL;
    if (orr_json_parse((const char *)data, size, NULL, &doc) != ORR_OK) {
        if (doc || strncmp(orr_last_error(), "json: ", 6)) abort();
        return 0;
    }
    walk(orr_json_root(doc));
    orr_json_free(doc);
    return 0;
}
