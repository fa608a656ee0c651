/* wpl.media internals shared by media.c (the Lua binding), media_codec.c (file formats) and
 * media_resize.c (pixel operations). Nothing here touches Lua, so the fuzz harness links the
 * codec without a runtime. Every function reports failures of the input or of the world
 * through a media_error and returns false; none of them keeps state between calls. */
#ifndef WPL_MEDIA_INTERNAL_H
#define WPL_MEDIA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MEDIA_DEFAULT_MAX_PIXELS 100000000ULL

typedef struct media_resizer media_resizer;

typedef enum media_format {
    MEDIA_UNKNOWN = 0,
    MEDIA_JPEG,
    MEDIA_PNG,
    MEDIA_GIF,
    MEDIA_WEBP,
    MEDIA_BMP,
} media_format;

typedef struct media_error {
    const char *code; /* "corrupt_image", "unsupported_format", "too_large", "read", "encode", "out_of_memory" */
    char message[240]; /* a sentence without the file name (the caller adds it) */
} media_error;

/* Encoded bytes: a buffer, or an open file read from its start (so that large sources are
 * streamed instead of held in memory). */
typedef struct media_source {
    const unsigned char *data;
    size_t size;
    FILE *file;
} media_source;

typedef struct media_info {
    media_format format;
    int width, height;  /* as stored, before orientation */
    int channels;       /* of the decoded pixels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    int orientation;    /* EXIF orientation 1..8; 1 when absent */
    bool animated;      /* more than one frame (GIF, APNG, WebP) */
    bool progressive;   /* JPEG only */
} media_info;

typedef struct media_image {
    unsigned char *pixels; /* rows top to bottom, channels interleaved, no padding; malloc'd */
    int width, height, channels;
    unsigned char *icc; /* ICC colour profile of the pixels or NULL; malloc'd */
    size_t icc_size;
} media_image;

typedef struct media_buffer {
    unsigned char *data; /* malloc'd */
    size_t size;
} media_buffer;

typedef struct media_decode_options {
    uint64_t max_pixels; /* width * height allowed, checked from the header; 0 means the default */
    /* When both are > 0 the pixels come out resized to exactly this size (in stored
     * orientation), streamed row by row through the resizer; JPEGs are DCT-scaled first. */
    int target_width, target_height;
    int threads; /* helper threads for large progressive JPEGs; 0 = by CPU count and size */
} media_decode_options;

typedef struct media_encode_options {
    media_format format;      /* MEDIA_JPEG, MEDIA_PNG or MEDIA_WEBP */
    int quality;              /* 1..100 (JPEG, lossy WebP) */
    bool progressive;         /* JPEG */
    bool lossless;            /* WebP */
    unsigned char background[3]; /* alpha is flattened onto this colour for JPEG */
} media_encode_options;

void media_set_error(media_error *err, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

const char *media_format_name(media_format format); /* "jpeg", "png", ... or "unknown" */
const char *media_format_mime(media_format format);
media_format media_sniff(const unsigned char *head, size_t len);

/* Reads the header only: no pixels are decoded and nothing large is allocated. */
bool media_probe(const media_source *src, media_info *info, media_error *err);
bool media_check_pixels(int width, int height, uint64_t max_pixels, media_error *err);
/* Decodes the first frame into out (which the caller frees with media_image_free, also on failure). */
bool media_decode(const media_source *src, const media_decode_options *opts, media_image *out, media_error *err);
void media_image_free(media_image *img);
bool media_encode(const media_image *img, const media_encode_options *opts, media_buffer *out, media_error *err);
/* Copies data without EXIF, XMP, IPTC, comments and text chunks, keeping the pixels' bytes
 * (and the ICC profile) as they are. GIF and BMP are copied unchanged. */
bool media_strip_metadata(const unsigned char *data, size_t size, media_format format, media_buffer *out,
                          media_error *err);
/* The EXIF orientation (1..8) from a TIFF structure ("II*\0" or "MM\0*"), 1 if absent or broken. */
int media_exif_orientation(const unsigned char *tiff, size_t size);

/* ---------------------------------------------------------------- between the codec files */

size_t media_source_read_at(const media_source *src, uint64_t offset, void *buf, size_t n);
/* The whole source: borrowed when it is a buffer, else read into owned (which the caller frees). */
bool media_source_bytes(const media_source *src, const unsigned char **data, size_t *size, media_buffer *owned,
                        media_error *err);

/* Where a decoder puts its rows: straight into the image, or through a resizer when the
 * decode options ask for a target size. */
typedef struct media_sink {
    media_image *image;
    struct media_resizer *resizer;
    size_t row_bytes; /* of a source row */
    int rows_done;
} media_sink;
bool media_sink_begin(media_sink *sink, media_image *out, int width, int height, int channels,
                      const media_decode_options *opts, media_error *err);
/* Where row y goes when it can be written in place, or NULL when rows must go through media_sink_row. */
unsigned char *media_sink_direct_row(media_sink *sink, int y);
void media_sink_row(media_sink *sink, const unsigned char *row);
void media_sink_end(media_sink *sink); /* also after a failure */

bool media_jpeg_decode(const media_source *src, const media_decode_options *opts, media_image *out, media_error *err);
bool media_jpeg_encode(const media_image *img, const media_encode_options *opts, media_buffer *out, media_error *err);
/* A progressive JPEG that is to be DCT-scaled by scale/8 (1, 2 or 4), decoded keeping only the
 * coefficients the scaled output needs (media_progressive.c). Returns 1 when the rows went into
 * the sink, -1 on failure (err set), 0 when it declines the file (libjpeg decodes it). mapped:
 * data is a file mapping whose pages may be given back once read. */
int media_progressive_decode(const unsigned char *data, size_t size, bool mapped, int scale, bool rgb, int threads,
                             media_sink *sink, int out_width, int out_height, media_error *err);
bool media_png_decode(const media_source *src, const media_decode_options *opts, media_image *out, media_error *err);
bool media_png_encode(const media_image *img, const media_encode_options *opts, media_buffer *out, media_error *err);
bool media_webp_decode(const media_source *src, const media_decode_options *opts, media_image *out, media_error *err);
bool media_webp_encode(const media_image *img, const media_encode_options *opts, media_buffer *out, media_error *err);
bool media_webp_header(const unsigned char *head, size_t size, int *width, int *height, int *has_alpha);

/* ---------------------------------------------------------------- pixels (media_resize.c) */

/* A separable Lanczos-3 resampler fed one source row at a time, in order, so that a decoder
 * can stream into it without holding the whole source. Alpha is premultiplied while
 * filtering. The source window (x0, y0, w, h) selects a crop of the source. */
media_resizer *media_resizer_new(int src_width, int src_height, double x0, double y0, double w, double h,
                                 int dst_width, int dst_height, int channels, unsigned char *dst);
void media_resizer_push(media_resizer *rz, const unsigned char *row);
void media_resizer_free(media_resizer *rz);

bool media_resize(const media_image *src, double x0, double y0, double w, double h, int dst_width, int dst_height,
                  media_image *dst, media_error *err);
/* Turns the pixels upright for an EXIF orientation (2..8; 1 leaves them as they are). */
bool media_orient(media_image *img, int orientation, media_error *err);
/* Composites pixels with alpha onto an opaque colour: 2 channels become 1, 4 become 3. */
bool media_flatten(media_image *img, const unsigned char background[3], media_error *err);

#endif
