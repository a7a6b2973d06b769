/* test_json.c — the strict JSON reader and the string writer of core/json.h. */
#include <locale.h>
#include <stdint.h>

#include "json.h"
#include "test_util.h"

static orr_json *parse(const char *text) {
    orr_json *doc = NULL;
    orr_status st = orr_json_parse(text, strlen(text), NULL, &doc);
    if (st) fprintf(stderr, "parse(%s) failed: %s\n", text, orr_last_error());
    return doc;
}

/* Parsing must fail with ORR_ERR_FORMAT and a message holding `needle`. */
static void check_bad(const char *text, size_t size, const char *needle) {
    orr_json *doc = (orr_json *)1;
    test_checks++;
    orr_status st = orr_json_parse(text, size, NULL, &doc);
    if (st != ORR_ERR_FORMAT || doc != NULL || !strstr(orr_last_error(), needle)) {
        test_failures++;
        fprintf(stderr, "bad json %.60s: got %s \"%s\", wanted \"%s\"\n", text, orr_status_name(st),
                orr_last_error(), needle);
    }
    if (st == ORR_OK) orr_json_free(doc);
}
#define BAD(text, needle) check_bad((text), strlen(text), (needle))

static void test_values(void) {
    orr_json *doc = parse(" {\"a\": [1, -2.5, true, false, null, \"s\", {}, []], \"b\": {\"c\": 3}}\r\n\t");
    CHECK(doc != NULL);
    if (!doc) return;
    const orr_json_value *root = orr_json_root(doc);
    CHECK(orr_json_type_of(root) == ORR_JSON_OBJECT);
    CHECK(orr_json_length(root) == 2);
    CHECK(orr_json_offset(root) == 1);
    const orr_json_value *a = orr_json_get(root, "a");
    CHECK(orr_json_type_of(a) == ORR_JSON_ARRAY && orr_json_length(a) == 8);
    CHECK(orr_json_offset(a) == 7);
    int64_t i = 0;
    CHECK(orr_json_int64(orr_json_at(a, 0), &i) && i == 1);
    CHECK(orr_json_number(orr_json_at(a, 1)) == -2.5);
    CHECK(!orr_json_int64(orr_json_at(a, 1), &i));
    CHECK(orr_json_type_of(orr_json_at(a, 2)) == ORR_JSON_BOOL && orr_json_bool(orr_json_at(a, 2)));
    CHECK(orr_json_type_of(orr_json_at(a, 3)) == ORR_JSON_BOOL && !orr_json_bool(orr_json_at(a, 3)));
    CHECK(orr_json_type_of(orr_json_at(a, 4)) == ORR_JSON_NULL);
    size_t len = 9;
    CHECK(!strcmp(orr_json_string(orr_json_at(a, 5), &len), "s") && len == 1);
    CHECK(orr_json_type_of(orr_json_at(a, 6)) == ORR_JSON_OBJECT && orr_json_length(orr_json_at(a, 6)) == 0);
    CHECK(orr_json_type_of(orr_json_at(a, 7)) == ORR_JSON_ARRAY && orr_json_length(orr_json_at(a, 7)) == 0);
    CHECK(orr_json_at(a, 8) == NULL);
    CHECK(orr_json_get(orr_json_at(a, 6), "x") == NULL);
    CHECK(orr_json_int64(orr_json_get(orr_json_get(root, "b"), "c"), &i) && i == 3);

    /* Accessors on the wrong type answer "nothing" instead of failing. */
    const orr_json_value *s = orr_json_at(a, 5);
    CHECK(orr_json_get(a, "a") == NULL && orr_json_at(root, 0) == NULL && orr_json_key_at(a, 0, NULL) == NULL);
    CHECK(orr_json_length(s) == 0 && orr_json_string(a, NULL) == NULL && isnan(orr_json_number(s)));
    CHECK(!orr_json_bool(s) && !orr_json_int64(s, &i) && orr_json_value_at(a, 0) == NULL);
    CHECK(!strcmp(orr_json_type_name(ORR_JSON_OBJECT), "object") && !strcmp(orr_json_type_name(ORR_JSON_NULL), "null"));

    /* Members keep document order. */
    CHECK(!strcmp(orr_json_key_at(root, 0, &len), "a") && len == 1);
    CHECK(!strcmp(orr_json_key_at(root, 1, NULL), "b"));
    CHECK(orr_json_value_at(root, 1) == orr_json_get(root, "b"));
    CHECK(orr_json_key_at(root, 2, NULL) == NULL);
    orr_json_free(doc);
    orr_json_free(NULL);

    /* Any value may be the root. */
    const char *scalars[] = {"0", "\"x\"", "true", "null", " -1e-2 "};
    for (int k = 0; k < 5; k++) {
        doc = parse(scalars[k]);
        CHECK(doc != NULL);
        orr_json_free(doc);
    }
}

static void test_strings(void) {
    orr_json *doc = parse("[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\", \"\\u0041\\u00e9\\u20AC\\uD83D\\uDE00\", "
                          "\"a\\u0000b\", \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"\"]");
    CHECK(doc != NULL);
    if (!doc) return;
    const orr_json_value *root = orr_json_root(doc);
    size_t len;
    CHECK(!strcmp(orr_json_string(orr_json_at(root, 0), NULL), "\" \\ / \b \f \n \r \t"));
    const char *u = orr_json_string(orr_json_at(root, 1), &len);
    CHECK(len == 10 && !memcmp(u, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 11));
    const char *nul = orr_json_string(orr_json_at(root, 2), &len);
    CHECK(len == 3 && !memcmp(nul, "a\0b", 4));
    CHECK(!strcmp(orr_json_string(orr_json_at(root, 3), NULL), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
    CHECK(!strcmp(orr_json_string(orr_json_at(root, 4), &len), "") && len == 0);
    orr_json_free(doc);
}

static void check_int(const char *text, bool exact, int64_t want) {
    orr_json *doc = parse(text);
    int64_t got = 0;
    test_checks++;
    bool ok = doc && orr_json_int64(orr_json_root(doc), &got) == exact && (!exact || got == want);
    if (!ok) {
        test_failures++;
        fprintf(stderr, "int64(%s): got %s %lld\n", text, exact ? "inexact" : "exact", (long long)got);
    }
    orr_json_free(doc);
}

static void check_double(const char *text, double want) {
    orr_json *doc = parse(text);
    CHECK(doc && orr_json_number(orr_json_root(doc)) == want);
    orr_json_free(doc);
}

static void test_numbers(void) {
    check_int("0", true, 0);
    check_int("-0", true, 0);
    check_int("42", true, 42);
    check_int("-7", true, -7);
    check_int("9223372036854775807", true, INT64_MAX);
    check_int("-9223372036854775808", true, INT64_MIN);
    check_int("9223372036854775808", false, 0);
    check_int("-9223372036854775809", false, 0);
    check_int("9007199254740993", true, 9007199254740993LL); /* not a double, still exact */
    check_int("4.0", true, 4);
    check_int("1e3", true, 1000);
    check_int("1.5E+1", true, 15);
    check_int("100e-2", true, 1);
    check_int("0.000e5", true, 0);
    check_int("0.5", false, 0);
    check_int("1e19", false, 0);
    check_int("1e-1", false, 0);
    check_int("1.00000000000000000001", false, 0); /* rounds to 1.0 as a double */
    check_int("9007199254740993.5", false, 0);
    check_int("1e-1000000000000", false, 0);
    check_int("0e1000000000000", true, 0);

    check_double("0.1", 0.1);
    check_double("-2.5e-3", -2.5e-3);
    check_double("1E+2", 100.0);
    check_double("123456789012345678901234567890", 123456789012345678901234567890.0);
    check_double("1e-400", 0.0);
    check_double("-0.0", -0.0);

    /* The decimal point does not follow the process locale. */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
        check_double("0.5", 0.5);
        setlocale(LC_NUMERIC, "C");
    }
}

static void test_errors(void) {
    BAD("", "expected a value at byte 0 (found end of input)");
    BAD("   ", "expected a value at byte 3");
    BAD("{\"a\":1 \"b\":2}", "json: expected ',' or '}' at byte 7 (found '\"')");
    BAD("[1,2", "expected ',' or ']' at byte 4 (found end of input)");
    BAD("[1,]", "expected a value at byte 3 (found ']')");
    BAD("{\"a\":1,}", "expected a string key at byte 7");
    BAD("{a:1}", "expected a string key at byte 1");
    BAD("{\"a\" 1}", "expected ':' at byte 5");
    BAD("{\"a\":}", "expected a value at byte 5");
    BAD("['a']", "expected a value at byte 1 (found ''')");
    BAD("01", "unexpected '1' after the value at byte 1");
    BAD("1 2", "unexpected '2' after the value at byte 2");
    BAD("{} x", "after the value at byte 3");
    BAD("1.", "expected a digit after '.' at byte 2");
    BAD(".5", "expected a value at byte 0");
    BAD("+1", "expected a value at byte 0");
    BAD("-", "expected a digit at byte 1");
    BAD("-a", "expected a digit at byte 1");
    BAD("1e", "expected a digit in the exponent at byte 2");
    BAD("1e+", "expected a digit in the exponent at byte 3");
    BAD("1e999", "number 1e999 at byte 0 is out of range");
    BAD("-1e400", "out of range");
    BAD("NaN", "expected a value at byte 0");
    BAD("Infinity", "expected a value");
    BAD("tru", "expected a value at byte 0");
    BAD("nul", "expected a value at byte 0");
    BAD("True", "expected a value at byte 0");
    BAD("[1] // c", "unexpected '/' after the value at byte 4");
    BAD("\"abc", "unterminated string starting at byte 0");
    BAD("[\"ab\\\"]", "unterminated string starting at byte 1");
    BAD("\"a\nb\"", "control character 0x0a in a string at byte 2");
    BAD("\"a\tb\"", "control character 0x09");
    BAD("\"\\x\"", "invalid escape \\ followed by 'x' at byte 1");
    BAD("\"\\u12G4\"", "\\u needs four hex digits at byte 1");
    BAD("\"\\u12\"", "\\u needs four hex digits at byte 1");
    BAD("\"\\uD800\"", "unpaired high surrogate \\uD800 at byte 1");
    BAD("\"\\uDC00\"", "unpaired low surrogate \\uDC00 at byte 1");
    BAD("\"\\uD800\\u0041\"", "is followed by \\u0041, not a low surrogate");
    BAD("\"\\uD800\\uD800\"", "not a low surrogate");
    BAD("\"\\uD800\\u12\"", "\\u needs four hex digits at byte 7");
    BAD("\"\xc0\x80\"", "invalid UTF-8 at byte 1");         /* overlong NUL */
    BAD("\"\xe0\x80\xaf\"", "invalid UTF-8 at byte 1");     /* overlong '/' */
    BAD("\"\xed\xa0\x80\"", "invalid UTF-8 at byte 1");     /* encoded surrogate */
    BAD("\"\xf4\x90\x80\x80\"", "invalid UTF-8 at byte 1"); /* past U+10FFFF */
    BAD("\"\xf5\x80\x80\x80\"", "invalid UTF-8 at byte 1");
    BAD("\"ab\xe2\x82\"", "invalid UTF-8 at byte 3");       /* cut short by the quote */
    BAD("\"\x80\"", "invalid UTF-8 at byte 1");
    BAD("\xef\xbb\xbf{}", "expected a value at byte 0 (found byte 0xef)"); /* a BOM */
    BAD("{\"a\":1,\"b\":2,\"a\":3}", "duplicate key \"a\" at byte 13");
    BAD("{\"k\\n\":1,\"k\\n\":2}", "duplicate key \"k\\n\" at byte 9");
    check_bad("[1]\0", 4, "unexpected byte 0x00 after the value at byte 3");
    check_bad("\"a\0\"", 4, "control character 0x00 in a string at byte 2");
    /* Only the given bytes are read: the same text cut short is incomplete. */
    check_bad("[1, 2]", 5, "expected ',' or ']' at byte 5 (found end of input)");
    check_bad("\"abc\"", 4, "unterminated string");
    orr_json *doc = NULL;
    int64_t v = 0;
    CHECK_OK(orr_json_parse("12", 1, NULL, &doc));
    CHECK(doc && orr_json_int64(orr_json_root(doc), &v) && v == 1);
    orr_json_free(doc);
}

static void test_limits(void) {
    char deep[300];
    for (int n = 0; n < 2; n++) {
        int depth = 128 + n; /* the default limit is 128 */
        for (int i = 0; i < depth; i++) {
            deep[i] = '[';
            deep[2 * depth - 1 - i] = ']';
        }
        deep[2 * depth] = '\0';
        orr_json *doc = NULL;
        orr_status st = orr_json_parse(deep, strlen(deep), NULL, &doc);
        if (n == 0)
            CHECK(st == ORR_OK);
        else
            CHECK(st == ORR_ERR_FORMAT && strstr(orr_last_error(), "nesting deeper than 128 at byte 128"));
        orr_json_free(doc);
    }
    orr_json_limits lim;
    orr_json_limits_init(&lim);
    CHECK(lim.max_depth == 128 && lim.max_bytes == (size_t)256 << 20);
    lim.max_depth = 2;
    orr_json *doc = NULL;
    CHECK_OK(orr_json_parse("[[1]]", 5, &lim, &doc));
    orr_json_free(doc);
    CHECK_FAILS(orr_json_parse("[{\"a\":[]}]", 10, &lim, &doc), ORR_ERR_FORMAT, "nesting deeper than 2 at byte 6");
    lim.max_bytes = 4;
    CHECK_FAILS(orr_json_parse("[1,2]", 5, &lim, &doc), ORR_ERR_FORMAT,
                "json: input of 5 bytes is larger than the limit of 4");
    /* A huge requested depth is capped so recursion cannot exhaust the stack. */
    lim.max_bytes = 1 << 20;
    lim.max_depth = 1 << 30;
    size_t n = 200000;
    char *big = malloc(n);
    memset(big, '[', n);
    CHECK_FAILS(orr_json_parse(big, n, &lim, &doc), ORR_ERR_FORMAT, "nesting deeper than 1000");
    free(big);
    CHECK_FAILS(orr_json_parse("1", 1, NULL, NULL), ORR_ERR_ARGUMENT, "out is NULL");
    CHECK_FAILS(orr_json_parse(NULL, 1, NULL, &doc), ORR_ERR_ARGUMENT, "text is NULL");
}

/* Lookup in a big object, and document order of its members. */
static void test_big_object(void) {
    int n = 5000;
    char *text = malloc((size_t)n * 24 + 8), *p = text;
    p += sprintf(p, "{");
    for (int i = 0; i < n; i++) p += sprintf(p, "%s\"k%d\":%d", i ? "," : "", (i * 7919) % n, i);
    sprintf(p, "}");
    orr_json *doc = parse(text);
    CHECK(doc != NULL);
    const orr_json_value *root = orr_json_root(doc);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char key[16];
        int64_t v;
        sprintf(key, "k%d", (i * 7919) % n);
        if (!orr_json_int64(orr_json_get(root, key), &v) || v != i) bad++;
        if (strcmp(orr_json_key_at(root, (size_t)i, NULL), key)) bad++;
    }
    CHECK(bad == 0);
    CHECK(orr_json_get(root, "k") == NULL && orr_json_get(root, "k5000") == NULL && orr_json_get(root, NULL) == NULL);
    orr_json_free(doc);
    free(text);
}

static void test_quote(void) {
    char buf[64];
    CHECK(orr_json_quote(buf, sizeof buf, "a\"b\\c\n\x01/", 8) == 18);
    CHECK(!strcmp(buf, "\"a\\\"b\\\\c\\n\\u0001/\""));
    CHECK(orr_json_quote(NULL, 0, "abc", 3) == 5);
    CHECK(orr_json_quote(buf, 4, "abc", 3) == 5 && !strcmp(buf, "\"ab"));
    CHECK(orr_json_quote(buf, sizeof buf, "a\0b", 3) == 10 && !strcmp(buf, "\"a\\u0000b\""));
    CHECK(orr_json_quote(buf, sizeof buf, "\xc3\xa9", 2) == 4 && !strcmp(buf, "\"\xc3\xa9\""));

    /* Every byte 1..127 and some UTF-8 survive quote + parse. */
    char raw[140];
    size_t n = 0;
    for (int c = 1; c < 128; c++) raw[n++] = (char)c;
    memcpy(raw + n, "\xe2\x82\xac\xf0\x9f\x98\x80", 7);
    n += 7;
    char quoted[1024];
    size_t q = orr_json_quote(quoted, sizeof quoted, raw, n);
    CHECK(q < sizeof quoted);
    orr_json *doc = NULL;
    CHECK_OK(orr_json_parse(quoted, q, NULL, &doc));
    size_t len = 0;
    const char *back = orr_json_string(orr_json_root(doc), &len);
    CHECK(back && len == n && !memcmp(back, raw, n));
    orr_json_free(doc);
}

static void test_utf8(void) {
    CHECK(orr_json_utf8_valid("", 0));
    CHECK(orr_json_utf8_valid("plain ascii", 11));
    CHECK(orr_json_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 13));
    CHECK(!orr_json_utf8_valid("\xc3", 1));
    CHECK(!orr_json_utf8_valid("\xc1\xbf", 2));
    CHECK(!orr_json_utf8_valid("\xed\xbf\xbf", 3));
    CHECK(!orr_json_utf8_valid("\xf4\x90\x80\x80", 4));
    CHECK(!orr_json_utf8_valid("\xff", 1));
    CHECK(!orr_json_utf8_valid("a\x80", 2));
}

int main(void) {
    test_values();
    test_strings();
    test_numbers();
    test_errors();
    test_limits();
    test_big_object();
    test_quote();
    test_utf8();
    return test_finish("test_json");
}
