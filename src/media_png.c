/* wpl.media PNG through libpng: rows stream into the resizer (interlaced files, whose rows
 * are refined over seven passes, are decoded whole first), and the encoder uses zlib with
 * libpng's adaptive row filters. libpng longjmps to the setjmp of the function that started
 * the work on errors, so everything to free is reachable from the heap-allocated state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "media_internal.h"

/* zlib's fast levels (1-3 use a different matcher) compress filtered photographs better
 * than level 6 or 9, and 3x faster; graphics compress much better at 6. So: level 3 first,
 * and level 6 when the first result shows the content compresses well. */
#define PNG_FAST_LEVEL 3
#define PNG_GRAPHICS_LEVEL 6

typedef struct png_codec {
    png_structp png;
    png_infop info;
    bool writing;
    char message[200];
    const char *code;
    /* decode */
    const media_source *src;
    size_t pos;
    media_sink sink;
    unsigned char *whole; /* an interlaced image before it goes through the sink */
    unsigned char **rows;
    /* encode */
    media_buffer out;
    size_t cap;
    unsigned char *row;
} png_codec;

static void on_error(png_structp png, png_const_charp message) {
    png_codec *c = png_get_error_ptr(png);
    if (c->code == NULL) c->code = c->writing ? "encode" : "corrupt_image";
    snprintf(c->message, sizeof c->message, "%s", message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void read_bytes(png_structp png, png_bytep out, size_t n) {
    png_codec *c = png_get_io_ptr(png);
    if (c->src->data) {
        if (c->src->size - c->pos < n) png_error(png, "unexpected end of file");
        memcpy(out, c->src->data + c->pos, n);
    } else if (fread(out, 1, n, c->src->file) != n) {
        if (ferror(c->src->file)) c->code = "read";
        png_error(png, ferror(c->src->file) ? "read error" : "unexpected end of file");
    }
    c->pos += n;
}

static void codec_free(png_codec *c) {
    if (c->png) {
        if (c->writing)
            png_destroy_write_struct(&c->png, &c->info);
        else
            png_destroy_read_struct(&c->png, &c->info, NULL);
    }
    media_sink_end(&c->sink);
    free(c->whole);
    free(c->rows);
    free(c->row);
    free(c->out.data);
    free(c);
}

/* ---------------------------------------------------------------- decode */

static bool decode(png_codec *c, const media_decode_options *opts, media_image *out, media_error *err) {
    png_structp png = c->png;
    png_infop info = c->info;
    png_set_read_fn(png, c, read_bytes);
    if (!c->src->data) rewind(c->src->file);
    /* only the chunks that change the pixels (and the colour profile) are read */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_AS_DEFAULT, (png_const_bytep) "iCCP", 1);
    png_read_info(png, info);
    png_uint_32 width, height;
    int depth, colour, interlace;
    png_get_IHDR(png, info, &width, &height, &depth, &colour, &interlace, NULL, NULL);
    if (width > 0x7fffffff || height > 0x7fffffff) png_error(png, "image size out of range");
    if (!media_check_pixels((int)width, (int)height, opts->max_pixels, err)) return false;

    if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    if (channels < 1 || channels > 4 || png_get_rowbytes(png, info) != (size_t)width * (size_t)channels)
        png_error(png, "unexpected pixel layout");

    png_charp name;
    int compression;
    png_bytep profile;
    png_uint_32 profile_size;
    if (png_get_iCCP(png, info, &name, &compression, &profile, &profile_size) && profile_size > 0) {
        out->icc = malloc(profile_size);
        if (out->icc) {
            memcpy(out->icc, profile, profile_size);
            out->icc_size = profile_size;
        }
    }
    if (!media_sink_begin(&c->sink, out, (int)width, (int)height, channels, opts, err)) return false;
    size_t stride = (size_t)width * (size_t)channels;
    if (passes == 1) {
        c->row = malloc(stride);
        if (c->row == NULL) png_error(png, "out of memory");
        for (png_uint_32 y = 0; y < height; y++) {
            unsigned char *direct = media_sink_direct_row(&c->sink, (int)y);
            png_read_row(png, direct ? direct : c->row, NULL);
            if (!direct) media_sink_row(&c->sink, c->row);
        }
    } else {
        bool direct = media_sink_direct_row(&c->sink, 0) != NULL;
        unsigned char *pixels = direct ? out->pixels : (c->whole = malloc(stride * height));
        c->rows = malloc(sizeof *c->rows * height);
        if (pixels == NULL || c->rows == NULL) {
            c->code = "out_of_memory";
            png_error(png, "out of memory for an interlaced image");
        }
        for (png_uint_32 y = 0; y < height; y++) c->rows[y] = pixels + (size_t)y * stride;
        png_read_image(png, c->rows);
        if (!direct)
            for (png_uint_32 y = 0; y < height; y++) media_sink_row(&c->sink, c->rows[y]);
    }
    png_read_end(png, NULL); /* a file cut short after its pixels is still truncated */
    return true;
}

bool media_png_decode(const media_source *src, const media_decode_options *opts, media_image *out, media_error *err) {
    png_codec *c = calloc(1, sizeof *c);
    if (c) c->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    if (c && c->png) c->info = png_create_info_struct(c->png);
    if (c == NULL || c->info == NULL) {
        if (c) codec_free(c);
        media_set_error(err, "out_of_memory", "not enough memory to decode a PNG");
        return false;
    }
    c->src = src;
    bool ok;
    if (setjmp(png_jmpbuf(c->png)) == 0) {
        ok = decode(c, opts, out, err);
    } else {
        bool corrupt = strcmp(c->code, "corrupt_image") == 0;
        media_set_error(err, c->code, "%s PNG: %s", corrupt ? "corrupt" : "cannot decode this", c->message);
        ok = false;
    }
    codec_free(c);
    return ok;
}

/* ---------------------------------------------------------------- encode */

static void write_bytes(png_structp png, png_bytep data, size_t n) {
    png_codec *c = png_get_io_ptr(png);
    if (c->out.size + n > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64 * 1024;
        while (cap < c->out.size + n) cap *= 2;
        unsigned char *p = realloc(c->out.data, cap);
        if (p == NULL) {
            c->code = "out_of_memory";
            png_error(png, "out of memory");
        }
        c->out.data = p;
        c->cap = cap;
    }
    memcpy(c->out.data + c->out.size, data, n);
    c->out.size += n;
}

static void flush_bytes(png_structp png) { (void)png; }

static void encode(png_codec *c, const media_image *img, int level) {
    static const int colour_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                        PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_write_fn(c->png, c, write_bytes, flush_bytes);
    png_set_benign_errors(c->png, 1); /* a colour profile libpng finds invalid is left out, not fatal */
    png_set_compression_level(c->png, level);
    png_set_IHDR(c->png, c->info, (png_uint_32)img->width, (png_uint_32)img->height, 8, colour_types[img->channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (img->icc) png_set_iCCP(c->png, c->info, "icc", PNG_COMPRESSION_TYPE_BASE, img->icc, (png_uint_32)img->icc_size);
    png_write_info(c->png, c->info);
    size_t stride = (size_t)img->width * (size_t)img->channels;
    for (int y = 0; y < img->height; y++) png_write_row(c->png, img->pixels + (size_t)y * stride);
    png_write_end(c->png, NULL);
}

static bool encode_at(const media_image *img, int level, media_buffer *out, media_error *err) {
    png_codec *c = calloc(1, sizeof *c);
    if (c) {
        c->writing = true;
        c->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    }
    if (c && c->png) c->info = png_create_info_struct(c->png);
    if (c == NULL || c->info == NULL) {
        if (c) codec_free(c);
        media_set_error(err, "out_of_memory", "not enough memory to encode a PNG");
        return false;
    }
    bool ok = true;
    if (setjmp(png_jmpbuf(c->png)) == 0) {
        encode(c, img, level);
        *out = c->out;
        memset(&c->out, 0, sizeof c->out);
    } else {
        media_set_error(err, c->code, "cannot encode PNG: %s", c->message);
        ok = false;
    }
    codec_free(c);
    return ok;
}

bool media_png_encode(const media_image *img, const media_encode_options *opts, media_buffer *out, media_error *err) {
    (void)opts;
    if (!encode_at(img, PNG_FAST_LEVEL, out, err)) return false;
    size_t raw = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    if (out->size >= raw / 2) return true;
    media_buffer better;
    if (!encode_at(img, PNG_GRAPHICS_LEVEL, &better, err)) {
        free(out->data);
        memset(out, 0, sizeof *out);
        return false;
    }
    if (better.size < out->size) {
        free(out->data);
        *out = better;
    } else {
        free(better.data);
    }
    return true;
}
