/* png.c — PNG images in and out through libpng: 8-bit gray/gray+alpha/RGB/
 * RGBA as u8 [H,W,C], 16-bit as i32 [H,W,C] (depth maps), text chunks as
 * orr_metadata. libpng reports errors by longjmp; every call into it runs
 * under a setjmp whose resources live in a state struct owned by the
 * caller, so nothing leaks and nothing aborts on a bad file. */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media.h"

/* deflate cannot compress better than 1032:1, so a file of N bytes holds at
 * most about 1032*N bytes of image data: a header claiming more is a
 * decompression bomb or a truncated file, refused before allocating. */
#define DEFLATE_MAX_RATIO 1032.0

typedef struct png_io {
    const uint8_t *data; /* reading: the whole file */
    size_t size, pos;
    char message[256]; /* libpng's error text */
} png_io;

static void on_error(png_structp png, png_const_charp msg) {
    png_io *io = png_get_error_ptr(png);
    snprintf(io->message, sizeof io->message, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (a bad CRC in an ancillary chunk, an unknown chunk) do not stop
 * reading; libpng turns what matters into errors. */
static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static void read_bytes(png_structp png, png_bytep dst, size_t n) {
    png_io *io = png_get_io_ptr(png);
    if (n > io->size - io->pos) png_error(png, "the file ends early (truncated)");
    memcpy(dst, io->data + io->pos, n);
    io->pos += n;
}

/* ---- reading --------------------------------------------------------------- */

typedef struct read_state {
    png_structp png;
    png_infop info;
    orr_tensor *image;
    uint8_t *wide;   /* 16-bit samples before widening to i32 */
    png_bytep *rows;
} read_state;

static void read_state_free(read_state *s) {
    if (s->png) png_destroy_read_struct(&s->png, s->info ? &s->info : NULL, NULL);
    orr_tensor_free(s->image);
    free(s->wide);
    free(s->rows);
}

static int color_type_channels(int color_type) {
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1; /* gray, palette */
    }
}

/* tEXt and zTXt hold Latin-1; orr_metadata holds UTF-8. */
static char *latin1_to_utf8(const char *s, size_t n) {
    char *out = malloc(2 * n + 1), *p = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            *p++ = (char)c;
        } else {
            *p++ = (char)(0xc0 | (c >> 6));
            *p++ = (char)(0x80 | (c & 0x3f));
        }
    }
    *p = '\0';
    return out;
}

static orr_status read_text(const char *name, png_structp png, png_infop info, orr_metadata *text) {
    png_textp chunks = NULL;
    int n = png_get_text(png, info, &chunks, NULL);
    for (int i = 0; i < n; i++) {
        const png_text *c = &chunks[i];
        bool utf8 = c->compression == PNG_ITXT_COMPRESSION_NONE || c->compression == PNG_ITXT_COMPRESSION_zTXt;
        const char *raw = c->text ? c->text : "";
        char *value = utf8 ? strdup(raw) : latin1_to_utf8(raw, strlen(raw));
        if (!value) return orr_error(ORR_ERR_MEMORY, "png: %s: out of memory reading text '%s'", name, c->key);
        orr_status status = orr_metadata_set(text, c->key, value);
        free(value);
        if (status) return orr_error_context(status, "png: %s: ", name);
    }
    return ORR_OK;
}

/* libpng buffers a chunk at its declared length before finding that the
 * file ends sooner, so the chunk lengths are checked against the bytes
 * that are there first. */
static orr_status check_chunks(const char *name, const uint8_t *data, size_t size) {
    size_t pos = 8;
    while (size - pos >= 8) {
        uint32_t length = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 | (uint32_t)data[pos + 2] << 8 |
                          data[pos + 3];
        char type[5] = {0};
        for (int i = 0; i < 4; i++) {
            uint8_t c = data[pos + 4 + i];
            type[i] = c >= 32 && c < 127 ? (char)c : '?';
        }
        if ((uint64_t)length + 12 > size - pos)
            return orr_error(ORR_ERR_FORMAT,
                             "png: %s: chunk '%s' at byte %zu claims %u bytes but the file ends %zu bytes later "
                             "(truncated or damaged)",
                             name, type, pos, (unsigned)length, size - pos);
        if (memcmp(type, "IEND", 4) == 0) break;
        pos += 12 + (size_t)length;
    }
    return ORR_OK;
}

/* Runs libpng over io into s->image; on a libpng error returns
 * ORR_ERR_FORMAT with its message (the caller frees s). */
static orr_status decode(const char *name, png_io *io, read_state *s, orr_metadata *text) {
    s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, io, on_error, on_warning);
    if (!s->png || !(s->info = png_create_info_struct(s->png)))
        return orr_error(ORR_ERR_MEMORY, "png: %s: out of memory starting libpng", name);
    if (setjmp(png_jmpbuf(s->png))) return orr_error(ORR_ERR_FORMAT, "png: %s: %s", name, io->message);

    png_set_read_fn(s->png, io, read_bytes);
    /* Ancillary chunks (text, ICC profiles) are buffered whole at their
     * declared length, and compressed ones expand by at most deflate's
     * ratio: a chunk claiming more than the file can hold is refused
     * before anything is allocated for it. */
    double chunk_max = DEFLATE_MAX_RATIO * (double)io->size + 65536;
    png_set_chunk_malloc_max(s->png, chunk_max < PNG_UINT_31_MAX ? (png_alloc_size_t)chunk_max : PNG_UINT_31_MAX);
    png_read_info(s->png, s->info);
    png_uint_32 width, height;
    int depth, color_type, interlace;
    png_get_IHDR(s->png, s->info, &width, &height, &depth, &color_type, &interlace, NULL, NULL);

    double raw_bytes = ((double)width * color_type_channels(color_type) * depth / 8.0 + 1.0) * height;
    if (raw_bytes > DEFLATE_MAX_RATIO * (double)io->size)
        return orr_error(ORR_ERR_FORMAT, "png: %s: the header claims %ux%u pixels, more than a %zu-byte file can hold",
                         name, (unsigned)width, (unsigned)height, io->size);

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s->png);
    if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(s->png);
    if (png_get_valid(s->png, s->info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(s->png);
    png_set_interlace_handling(s->png);
    png_read_update_info(s->png, s->info);

    int channels = png_get_channels(s->png, s->info);
    bool wide = png_get_bit_depth(s->png, s->info) == 16;
    size_t row_bytes = png_get_rowbytes(s->png, s->info);
    int64_t shape[3] = {height, width, channels};
    orr_status status = orr_tensor_empty(&s->image, wide ? ORR_I32 : ORR_U8, 3, shape);
    if (status) return orr_error_context(status, "png: %s: ", name);
    uint8_t *pixels = s->image->data;
    if (wide) {
        if (!(s->wide = malloc(row_bytes * height)))
            return orr_error(ORR_ERR_MEMORY, "png: %s: out of memory for %ux%u 16-bit pixels", name,
                             (unsigned)width, (unsigned)height);
        pixels = s->wide;
    }
    if (!(s->rows = malloc(height * sizeof *s->rows)))
        return orr_error(ORR_ERR_MEMORY, "png: %s: out of memory for %u rows", name, (unsigned)height);
    for (png_uint_32 y = 0; y < height; y++) s->rows[y] = pixels + (size_t)y * row_bytes;
    png_read_image(s->png, s->rows);
    png_read_end(s->png, s->info);

    if (wide) {
        int32_t *dst = s->image->data;
        size_t n = (size_t)height * width * channels;
        for (size_t i = 0; i < n; i++) dst[i] = (int32_t)s->wide[2 * i] << 8 | s->wide[2 * i + 1];
    }
    return text ? read_text(name, s->png, s->info, text) : ORR_OK;
}

orr_status orr_png_read_memory(const void *data, size_t size, const char *name, orr_tensor **out,
                               orr_metadata *text) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "png: reading: out is NULL");
    *out = NULL;
    if (!name) name = "(memory)";
    if (!data && size) return orr_error(ORR_ERR_ARGUMENT, "png: %s: data is NULL", name);
    const uint8_t *bytes = data;
    if (size < 8) return orr_error(ORR_ERR_FORMAT, "png: %s: not a PNG file (only %zu bytes)", name, size);
    if (png_sig_cmp(bytes, 0, 8))
        return orr_error(ORR_ERR_FORMAT, "png: %s: not a PNG file (it starts with %02x %02x %02x %02x)", name,
                         bytes[0], bytes[1], bytes[2], bytes[3]);
    orr_status status = check_chunks(name, bytes, size);
    if (status) return status;
    png_io io = {.data = bytes, .size = size};
    read_state s = {0};
    status = decode(name, &io, &s, text);
    if (!status) {
        *out = s.image;
        s.image = NULL;
    }
    read_state_free(&s);
    return status;
}

static orr_status read_file(const char *path, uint8_t **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return orr_error(ORR_ERR_IO, "png: %s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return orr_error(ORR_ERR_IO, "png: %s: not a regular file", path);
    }
    *size = (size_t)sb.st_size;
    *data = malloc(*size ? *size : 1);
    if (!*data) {
        fclose(f);
        return orr_error(ORR_ERR_MEMORY, "png: %s: out of memory for %zu bytes", path, *size);
    }
    size_t got = fread(*data, 1, *size, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (got != *size) {
        free(*data);
        *data = NULL;
        return orr_error(ORR_ERR_IO, "png: %s: read %zu of %zu bytes: %s", path, got, *size,
                         err ? strerror(err) : "the file shrank");
    }
    return ORR_OK;
}

orr_status orr_png_read(const char *path, orr_tensor **out, orr_metadata *text) {
    if (!path || !out) return orr_error(ORR_ERR_ARGUMENT, "png: reading: %s is NULL", !path ? "path" : "out");
    *out = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    orr_status status = read_file(path, &data, &size);
    if (status) return status;
    status = orr_png_read_memory(data, size, path, out, text);
    free(data);
    return status;
}

/* ---- writing --------------------------------------------------------------- */

/* The PNG keyword rules (PNG spec 11.3.4.3), restricted to ASCII since
 * keys are UTF-8 and keywords Latin-1. */
static bool valid_keyword(const char *key) {
    size_t n = strlen(key);
    if (n < 1 || n > 79 || key[0] == ' ' || key[n - 1] == ' ') return false;
    for (size_t i = 0; i < n; i++) {
        if (key[i] < 32 || key[i] > 126) return false;
        if (key[i] == ' ' && key[i + 1] == ' ') return false;
    }
    return true;
}

static bool is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return false;
    return true;
}

typedef struct write_state {
    png_structp png;
    png_infop info;
    FILE *file;
    png_text *chunks;
    uint8_t *row; /* one big-endian 16-bit row */
} write_state;

static void write_state_free(write_state *s) {
    if (s->png) png_destroy_write_struct(&s->png, s->info ? &s->info : NULL);
    if (s->file) fclose(s->file);
    free(s->chunks);
    free(s->row);
}

/* Checks the image and text; fills the PNG geometry. */
static orr_status check_image(const char *what, const orr_tensor *image, const orr_metadata *text, int *channels,
                              bool *wide) {
    char desc[64];
    if (!image) return orr_error(ORR_ERR_ARGUMENT, "%s: image is NULL", what);
    orr_status status = orr_check_cpu(what, "image", image);
    if (status) return status;
    orr_tensor_describe(image, desc, sizeof desc);
    if (image->dtype != ORR_U8 && image->dtype != ORR_I32)
        return orr_error(ORR_ERR_DTYPE, "%s: image is %s; PNG takes u8 (8-bit) or i32 (16-bit) [H,W,C]", what, desc);
    int c = image->ndim == 2 ? 1 : image->ndim == 3 ? (int)image->shape[2] : 0;
    if (c < 1 || c > 4 || image->shape[0] < 1 || image->shape[1] < 1 || image->shape[0] > PNG_UINT_31_MAX ||
        image->shape[1] > PNG_UINT_31_MAX)
        return orr_error(ORR_ERR_SHAPE, "%s: image is %s; PNG takes [H,W] or [H,W,C] with C 1..4 and H,W >= 1",
                         what, desc);
    *channels = c;
    *wide = image->dtype == ORR_I32;
    for (int64_t i = 0; i < orr_metadata_count(text); i++)
        if (!valid_keyword(orr_metadata_key(text, i)))
            return orr_error(ORR_ERR_ARGUMENT,
                             "%s: text key '%s' is not a PNG keyword (1-79 printable ASCII characters, no "
                             "leading, trailing or double spaces)",
                             what, orr_metadata_key(text, i));
    return ORR_OK;
}

static orr_status check_16bit_range(const char *what, const orr_tensor *image) {
    const int32_t *v = image->data;
    int64_t n = orr_tensor_numel(image);
    for (int64_t i = 0; i < n; i++)
        if (v[i] < 0 || v[i] > 65535)
            return orr_error(ORR_ERR_ARGUMENT, "%s: value %d at flat index %lld is outside 0..65535 (16-bit PNG)",
                             what, v[i], (long long)i);
    return ORR_OK;
}

static orr_status encode(const char *what, const char *path, const orr_tensor *image, int channels, bool wide,
                         const orr_metadata *text, write_state *s, png_io *io) {
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                       PNG_COLOR_TYPE_RGB_ALPHA};
    png_uint_32 height = (png_uint_32)image->shape[0], width = (png_uint_32)image->shape[1];
    size_t row_values = (size_t)width * channels;
    int64_t n_text = orr_metadata_count(text);
    if (n_text && !(s->chunks = calloc((size_t)n_text, sizeof *s->chunks)))
        return orr_error(ORR_ERR_MEMORY, "%s: out of memory for %lld text chunks", what, (long long)n_text);
    if (wide && !(s->row = malloc(2 * row_values)))
        return orr_error(ORR_ERR_MEMORY, "%s: out of memory for a row of %u pixels", what, (unsigned)width);
    if (!(s->file = fopen(path, "wb"))) return orr_error(ORR_ERR_IO, "%s: cannot create %s: %s", what, path, strerror(errno));
    s->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, io, on_error, on_warning);
    if (!s->png || !(s->info = png_create_info_struct(s->png)))
        return orr_error(ORR_ERR_MEMORY, "%s: out of memory starting libpng", what);
    if (setjmp(png_jmpbuf(s->png))) return orr_error(ORR_ERR_IO, "%s: writing %s: %s", what, path, io->message);

    png_init_io(s->png, s->file);
    png_set_IHDR(s->png, s->info, width, height, wide ? 16 : 8, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    for (int64_t i = 0; i < n_text; i++) {
        png_text *c = &s->chunks[i];
        c->key = (png_charp)orr_metadata_key(text, i);
        c->text = (png_charp)orr_metadata_value(text, i);
        c->compression = is_ascii(c->text) ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
    }
    /* Before the image data, so that readers stopping there see them. */
    if (n_text) png_set_text(s->png, s->info, s->chunks, (int)n_text);
    png_write_info(s->png, s->info);
    for (png_uint_32 y = 0; y < height; y++) {
        if (!wide) {
            png_write_row(s->png, (png_const_bytep)image->data + (size_t)y * row_values);
            continue;
        }
        const int32_t *src = (const int32_t *)image->data + (size_t)y * row_values;
        for (size_t i = 0; i < row_values; i++) {
            s->row[2 * i] = (uint8_t)(src[i] >> 8);
            s->row[2 * i + 1] = (uint8_t)src[i];
        }
        png_write_row(s->png, s->row);
    }
    png_write_end(s->png, NULL);
    FILE *f = s->file;
    s->file = NULL;
    bool failed = fflush(f) != 0 || ferror(f);
    int err = errno;
    if (fclose(f) != 0 && !failed) {
        failed = true;
        err = errno;
    }
    if (failed) return orr_error(ORR_ERR_IO, "%s: writing %s: %s", what, path, strerror(err));
    return ORR_OK;
}

orr_status orr_png_write_exact(const char *what, const char *path, const orr_tensor *image,
                               const orr_metadata *text) {
    int channels = 0;
    bool wide = false;
    orr_status status = check_image(what, image, text, &channels, &wide);
    if (status) return status;
    orr_tensor *dense = NULL;
    if ((status = orr_tensor_contiguous(&dense, image))) return orr_error_context(status, "%s: ", what);
    if (wide && (status = check_16bit_range(what, dense))) {
        orr_tensor_free(dense);
        return status;
    }
    write_state s = {0};
    png_io io = {0};
    status = encode(what, path, dense, channels, wide, text, &s, &io);
    write_state_free(&s);
    orr_tensor_free(dense);
    return status;
}

orr_status orr_png_write(const char *path, const orr_tensor *image, const orr_metadata *text) {
    if (!path) return orr_error(ORR_ERR_ARGUMENT, "png: writing: path is NULL");
    char what[512];
    snprintf(what, sizeof what, "png: writing %s", path);
    char *tmp = orr_media_temp_name(path);
    if (!tmp) return orr_error(ORR_ERR_MEMORY, "%s: out of memory", what);
    orr_status status = orr_png_write_exact(what, tmp, image, text);
    if (!status) status = orr_media_sync(what, tmp);
    if (!status && rename(tmp, path) != 0)
        status = orr_error(ORR_ERR_IO, "%s: cannot rename %s to it: %s", what, tmp, strerror(errno));
    if (status) unlink(tmp);
    free(tmp);
    return status;
}
