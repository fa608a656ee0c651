/* wpl.media JPEG through libjpeg-turbo's libjpeg API (rather than TurboJPEG, whose 2.1 API
 * can only decode a whole image into one buffer): scanlines stream into the resizer, and
 * when the image is to be shrunk the inverse DCT already scales it by M/8, so a 17.9 MP
 * photo fitted into 2048 px is never held at full size.
 *
 * libjpeg reports errors through error_exit, which must not return: it longjmps back to
 * the setjmp in the function that started the work. Everything that must be freed then is
 * reachable from the heap-allocated codec state (not from locals changed after setjmp). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <jerror.h>
#include <jpeglib.h>

#include "media_internal.h"

/* Legitimate progressive files have about ten scans; thousands of empty ones are a known
 * way to make a small file take minutes to decode. */
#define MAX_SCANS 200

typedef struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    const char *code;
    char message[JMSG_LENGTH_MAX];
} jpeg_failure;

static void fail_with(j_common_ptr cinfo, const char *code) {
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    f->code = code;
    f->mgr.format_message(cinfo, f->message);
    longjmp(f->jump, 1);
}

static void on_error(j_common_ptr cinfo) {
    const char *code = "corrupt_image";
    switch (cinfo->err->msg_code) {
    case JERR_OUT_OF_MEMORY: code = "out_of_memory"; break;
    case JERR_FILE_READ: code = "read"; break;
    case JERR_SOF_UNSUPPORTED:
    case JERR_BAD_PRECISION:
    case JERR_NOT_COMPILED:
    case JERR_ARITH_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_EMPTY_IMAGE: code = "unsupported_format"; break;
    default: break;
    }
    fail_with(cinfo, code);
}

/* Warnings that mean lost or damaged data fail the decode: a truncated upload must not be
 * published with a grey bottom. Harmless ones (extraneous bytes, unknown JFIF revision) pass. */
static void on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC: fail_with(cinfo, "corrupt_image"); break;
    default: cinfo->err->num_warnings++; break;
    }
}

/* ---------------------------------------------------------------- decode */

typedef struct jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    struct jpeg_progress_mgr progress;
    media_sink sink;
    bool created;
    void *mapping; /* of the file, for the progressive decoder */
    size_t mapping_size;
} jpeg_decoder;

static void count_scans(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        jpeg_failure *f = (jpeg_failure *)cinfo->err;
        f->code = "corrupt_image";
        snprintf(f->message, sizeof f->message, "more than %d progressive scans", MAX_SCANS);
        longjmp(f->jump, 1);
    }
}

/* The smallest DCT scale M/8 whose output still covers the target, so that the resizer does
 * the last (high quality) step. Only 1/8, 1/4 and 1/2: the odd sizes (3/8, 5/8, 7/8) measured
 * 10 dB further from a full-size Lanczos reduction, enough to see. */
static unsigned scale_for(unsigned width, unsigned height, int target_width, int target_height) {
    for (unsigned m = 1; m < 8; m *= 2) {
        if ((width * m + 7) / 8 >= (unsigned)target_width && (height * m + 7) / 8 >= (unsigned)target_height)
            return m;
    }
    return 8;
}

/* CMYK as Photoshop writes it (inverted, with an Adobe marker) or plain. */
static void cmyk_to_rgb(const unsigned char *in, unsigned char *out, unsigned width, bool inverted) {
    for (unsigned x = 0; x < width; x++, in += 4, out += 3) {
        unsigned c = in[0], m = in[1], y = in[2], k = in[3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        out[0] = (unsigned char)((c * k + 127) / 255);
        out[1] = (unsigned char)((m * k + 127) / 255);
        out[2] = (unsigned char)((y * k + 127) / 255);
    }
}

/* Shrinking a progressive JPEG: see media_progressive.c. A file is mapped rather than read
 * (its pages are given back scan by scan); like any mapping, it assumes the file is not
 * truncated by another process meanwhile. */
static int decode_progressive(jpeg_decoder *d, const media_source *src, bool rgb, int threads, media_error *err) {
    const unsigned char *data = src->data;
    size_t size = src->size;
    if (data == NULL) {
        struct stat st;
        int fd = fileno(src->file);
        if (fstat(fd, &st) != 0 || st.st_size <= 0) return 0;
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) return 0;
        d->mapping = map;
        d->mapping_size = (size_t)st.st_size;
        data = map;
        size = d->mapping_size;
    }
    return media_progressive_decode(data, size, d->mapping != NULL, (int)d->cinfo.scale_num, rgb, threads, &d->sink,
                                    (int)d->cinfo.output_width, (int)d->cinfo.output_height, err);
}

static bool decode(jpeg_decoder *d, const media_source *src, const media_decode_options *opts, media_image *out,
                   media_error *err) {
    struct jpeg_decompress_struct *cinfo = &d->cinfo;
    jpeg_create_decompress(cinfo);
    d->created = true;
    if (src->data) {
        jpeg_mem_src(cinfo, src->data, (unsigned long)src->size);
    } else {
        rewind(src->file);
        jpeg_stdio_src(cinfo, src->file);
    }
    jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xFFFF); /* ICC profile */
    jpeg_read_header(cinfo, TRUE);
    if (!media_check_pixels((int)cinfo->image_width, (int)cinfo->image_height, opts->max_pixels, err)) return false;
    d->progress.progress_monitor = count_scans;
    cinfo->progress = &d->progress;

    int channels = 3;
    bool cmyk = false;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo->out_color_space = JCS_GRAYSCALE; channels = 1; break;
    case JCS_CMYK:
    case JCS_YCCK: cinfo->out_color_space = JCS_CMYK; cmyk = true; break;
    default: cinfo->out_color_space = JCS_RGB; break;
    }
    if (opts->target_width > 0 && opts->target_height > 0) {
        cinfo->scale_num = scale_for(cinfo->image_width, cinfo->image_height, opts->target_width, opts->target_height);
        cinfo->scale_denom = 8;
    }
    jpeg_calc_output_dimensions(cinfo);

    JOCTET *icc = NULL;
    unsigned int icc_size = 0;
    if (jpeg_read_icc_profile(cinfo, &icc, &icc_size)) { /* malloc'd by libjpeg */
        if (cmyk) { /* a CMYK profile does not describe the RGB pixels we make */
            free(icc);
        } else {
            out->icc = icc;
            out->icc_size = icc_size;
        }
    }
    if (!media_sink_begin(&d->sink, out, (int)cinfo->output_width, (int)cinfo->output_height, channels, opts, err))
        return false;

    if (cinfo->progressive_mode && !cinfo->arith_code && cinfo->scale_denom == 8 && cinfo->scale_num < 8 && !cmyk) {
        int r = decode_progressive(d, src, channels == 3 && cinfo->jpeg_color_space == JCS_RGB, opts->threads, err);
        if (r != 0) return r > 0;
    }

    jpeg_start_decompress(cinfo);
    JDIMENSION width = cinfo->output_width;
    int batch = cinfo->rec_outbuf_height;
    JSAMPARRAY rows = cinfo->mem->alloc_sarray((j_common_ptr)cinfo, JPOOL_IMAGE,
                                               width * (JDIMENSION)cinfo->output_components, (JDIMENSION)batch);
    JSAMPARRAY rgb = cmyk ? cinfo->mem->alloc_sarray((j_common_ptr)cinfo, JPOOL_IMAGE, width * 3, 1) : NULL;
    while (cinfo->output_scanline < cinfo->output_height) {
        int y = (int)cinfo->output_scanline;
        unsigned char *direct = cmyk ? NULL : media_sink_direct_row(&d->sink, y);
        if (direct) {
            JSAMPROW targets[16];
            int n = batch < 16 ? batch : 16;
            for (int i = 0; i < n; i++) targets[i] = media_sink_direct_row(&d->sink, y + i < out->height ? y + i : y);
            jpeg_read_scanlines(cinfo, targets, (JDIMENSION)n);
            continue;
        }
        JDIMENSION got = jpeg_read_scanlines(cinfo, rows, (JDIMENSION)batch);
        for (JDIMENSION i = 0; i < got; i++) {
            if (cmyk) {
                cmyk_to_rgb(rows[i], rgb[0], width, cinfo->saw_Adobe_marker);
                media_sink_row(&d->sink, rgb[0]);
            } else {
                media_sink_row(&d->sink, rows[i]);
            }
        }
    }
    jpeg_finish_decompress(cinfo); /* reads to the end marker: a missing end is a truncated file */
    return true;
}

bool media_jpeg_decode(const media_source *src, const media_decode_options *opts, media_image *out, media_error *err) {
    jpeg_decoder *d = calloc(1, sizeof *d);
    if (d == NULL) {
        media_set_error(err, "out_of_memory", "not enough memory to decode a JPEG");
        return false;
    }
    d->cinfo.err = jpeg_std_error(&d->failure.mgr);
    d->failure.mgr.error_exit = on_error;
    d->failure.mgr.emit_message = on_message;
    bool ok;
    if (setjmp(d->failure.jump) == 0) {
        ok = decode(d, src, opts, out, err);
    } else {
        if (strcmp(d->failure.code, "corrupt_image") == 0)
            media_set_error(err, d->failure.code, "corrupt JPEG: %s", d->failure.message);
        else
            media_set_error(err, d->failure.code, "cannot decode this JPEG: %s", d->failure.message);
        ok = false;
    }
    media_sink_end(&d->sink);
    if (d->created) jpeg_destroy_decompress(&d->cinfo);
    if (d->mapping) munmap(d->mapping, d->mapping_size);
    free(d);
    return ok;
}

/* ---------------------------------------------------------------- encode */

typedef struct jpeg_encoder {
    struct jpeg_compress_struct cinfo;
    jpeg_failure failure;
    unsigned char *bytes; /* jpeg_mem_dest's buffer (malloc'd) */
    unsigned long size;
    unsigned char *row;   /* one flattened row when the image has alpha */
    bool created;
} jpeg_encoder;

static void flatten_row(const unsigned char *in, unsigned char *out, int width, int channels,
                        const unsigned char background[3]) {
    int colours = channels - 1;
    unsigned gray_background = (background[0] * 299u + background[1] * 587u + background[2] * 114u + 500u) / 1000u;
    for (int x = 0; x < width; x++, in += channels, out += colours) {
        unsigned a = in[colours];
        for (int c = 0; c < colours; c++) {
            unsigned bg = colours == 1 ? gray_background : background[c];
            out[c] = (unsigned char)((in[c] * a + bg * (255u - a) + 127u) / 255u);
        }
    }
}

static void encode(jpeg_encoder *e, const media_image *img, const media_encode_options *opts) {
    struct jpeg_compress_struct *cinfo = &e->cinfo;
    jpeg_create_compress(cinfo);
    e->created = true;
    jpeg_mem_dest(cinfo, &e->bytes, &e->size);
    bool gray = img->channels <= 2, alpha = img->channels == 2 || img->channels == 4;
    cinfo->image_width = (JDIMENSION)img->width;
    cinfo->image_height = (JDIMENSION)img->height;
    cinfo->input_components = gray ? 1 : 3;
    cinfo->in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(cinfo); /* 4:2:0 chroma subsampling, as Pillow and most cameras */
    jpeg_set_quality(cinfo, opts->quality, TRUE);
    cinfo->optimize_coding = TRUE;
    if (opts->progressive) jpeg_simple_progression(cinfo);
    jpeg_start_compress(cinfo, TRUE);
    if (img->icc) jpeg_write_icc_profile(cinfo, img->icc, (unsigned int)img->icc_size);
    size_t stride = (size_t)img->width * (size_t)img->channels;
    while (cinfo->next_scanline < cinfo->image_height) {
        JSAMPROW row = img->pixels + (size_t)cinfo->next_scanline * stride;
        if (alpha) {
            flatten_row(row, e->row, img->width, img->channels, opts->background);
            row = e->row;
        }
        jpeg_write_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_compress(cinfo);
}

bool media_jpeg_encode(const media_image *img, const media_encode_options *opts, media_buffer *out, media_error *err) {
    jpeg_encoder *e = calloc(1, sizeof *e);
    if (e) e->row = malloc((size_t)img->width * 3);
    if (e == NULL || e->row == NULL) {
        free(e);
        media_set_error(err, "out_of_memory", "not enough memory to encode a JPEG");
        return false;
    }
    e->cinfo.err = jpeg_std_error(&e->failure.mgr);
    e->failure.mgr.error_exit = on_error;
    bool ok = true;
    if (setjmp(e->failure.jump) == 0) {
        encode(e, img, opts);
    } else {
        media_set_error(err, strcmp(e->failure.code, "out_of_memory") == 0 ? "out_of_memory" : "encode",
                        "cannot encode JPEG: %s", e->failure.message);
        ok = false;
    }
    if (e->created) jpeg_destroy_compress(&e->cinfo);
    if (ok) {
        out->data = e->bytes;
        out->size = e->size;
    } else {
        free(e->bytes);
    }
    free(e->row);
    free(e);
    return ok;
}
