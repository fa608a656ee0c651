/* wpl.media formats: recognising a file, reading its header without decoding (size, alpha,
 * EXIF orientation, animation), dispatching decode and encode to the format's library
 * (media_jpeg.c, media_png.c, media_webp.c; GIF and BMP through stb_image), and removing
 * metadata from a file without touching its pixels. */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "media_internal.h"

#define MAX_SOURCE_BYTES (1024u * 1024u * 1024u)

void media_set_error(media_error *err, const char *code, const char *fmt, ...) {
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

const char *media_format_name(media_format format) {
    switch (format) {
    case MEDIA_JPEG: return "jpeg";
    case MEDIA_PNG: return "png";
    case MEDIA_GIF: return "gif";
    case MEDIA_WEBP: return "webp";
    case MEDIA_BMP: return "bmp";
    default: return "unknown";
    }
}

const char *media_format_mime(media_format format) {
    switch (format) {
    case MEDIA_JPEG: return "image/jpeg";
    case MEDIA_PNG: return "image/png";
    case MEDIA_GIF: return "image/gif";
    case MEDIA_WEBP: return "image/webp";
    case MEDIA_BMP: return "image/bmp";
    default: return "application/octet-stream";
    }
}

media_format media_sniff(const unsigned char *h, size_t n) {
    if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) return MEDIA_JPEG;
    if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0) return MEDIA_PNG;
    if (n >= 6 && (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0)) return MEDIA_GIF;
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0) return MEDIA_WEBP;
    if (n >= 2 && h[0] == 'B' && h[1] == 'M') return MEDIA_BMP;
    return MEDIA_UNKNOWN;
}

/* A name for formats that are recognised but not supported, for the error message. */
static const char *unsupported_name(const unsigned char *h, size_t n) {
    if (n >= 4 && (memcmp(h, "II*\0", 4) == 0 || memcmp(h, "MM\0*", 4) == 0)) return "TIFF";
    if (n >= 12 && memcmp(h + 4, "ftyp", 4) == 0) {
        if (memcmp(h + 8, "avif", 4) == 0 || memcmp(h + 8, "avis", 4) == 0) return "AVIF";
        return "HEIF/HEIC";
    }
    if (n >= 4 && memcmp(h, "8BPS", 4) == 0) return "Photoshop";
    if (n >= 4 && memcmp(h, "\0\0\1\0", 4) == 0) return "ICO";
    if (n >= 1 && (h[0] == '<' || h[0] == ' ' || h[0] == '\n')) return "text/SVG";
    return NULL;
}

/* ---------------------------------------------------------------- sources */

size_t media_source_read_at(const media_source *src, uint64_t offset, void *buf, size_t n) {
    if (src->data) {
        if (offset >= src->size) return 0;
        size_t available = src->size - (size_t)offset;
        if (n > available) n = available;
        memcpy(buf, src->data + offset, n);
        return n;
    }
    if (offset > (uint64_t)LLONG_MAX || fseeko(src->file, (off_t)offset, SEEK_SET) != 0) return 0;
    return fread(buf, 1, n, src->file);
}

bool media_source_bytes(const media_source *src, const unsigned char **data, size_t *size, media_buffer *owned,
                        media_error *err) {
    memset(owned, 0, sizeof *owned);
    if (src->data) {
        *data = src->data;
        *size = src->size;
        return true;
    }
    if (fseeko(src->file, 0, SEEK_END) != 0) {
        media_set_error(err, "read", "cannot seek in the file");
        return false;
    }
    off_t end = ftello(src->file);
    if (end < 0 || (uint64_t)end > MAX_SOURCE_BYTES) {
        media_set_error(err, end < 0 ? "read" : "too_large", "the file is larger than %u MB", MAX_SOURCE_BYTES >> 20);
        return false;
    }
    owned->data = malloc(end > 0 ? (size_t)end : 1);
    if (owned->data == NULL) {
        media_set_error(err, "out_of_memory", "not enough memory to read the file");
        return false;
    }
    owned->size = media_source_read_at(src, 0, owned->data, (size_t)end);
    if (owned->size != (size_t)end) {
        free(owned->data);
        owned->data = NULL;
        media_set_error(err, "read", "the file could not be read");
        return false;
    }
    *data = owned->data;
    *size = owned->size;
    return true;
}

/* ---------------------------------------------------------------- decoded rows */

bool media_sink_begin(media_sink *sink, media_image *out, int width, int height, int channels,
                      const media_decode_options *opts, media_error *err) {
    memset(sink, 0, sizeof *sink);
    sink->image = out;
    int out_w = width, out_h = height;
    if (opts && opts->target_width > 0 && opts->target_height > 0) {
        out_w = opts->target_width;
        out_h = opts->target_height;
    }
    out->pixels = malloc((size_t)out_w * (size_t)out_h * (size_t)channels);
    if (out->pixels == NULL) {
        media_set_error(err, "out_of_memory", "not enough memory for %dx%d pixels", out_w, out_h);
        return false;
    }
    out->width = out_w;
    out->height = out_h;
    out->channels = channels;
    sink->row_bytes = (size_t)width * (size_t)channels;
    if (out_w != width || out_h != height) {
        sink->resizer = media_resizer_new(width, height, 0, 0, width, height, out_w, out_h, channels, out->pixels);
        if (sink->resizer == NULL) {
            media_set_error(err, "out_of_memory", "not enough memory to resize to %dx%d", out_w, out_h);
            return false;
        }
    }
    return true;
}

unsigned char *media_sink_direct_row(media_sink *sink, int y) {
    if (sink->resizer) return NULL;
    return sink->image->pixels + (size_t)y * sink->row_bytes;
}

void media_sink_row(media_sink *sink, const unsigned char *row) {
    if (sink->resizer)
        media_resizer_push(sink->resizer, row);
    else
        memcpy(sink->image->pixels + (size_t)sink->rows_done * sink->row_bytes, row, sink->row_bytes);
    sink->rows_done++;
}

void media_sink_end(media_sink *sink) {
    media_resizer_free(sink->resizer);
    sink->resizer = NULL;
}

/* ---------------------------------------------------------------- headers */

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static unsigned long be32(const unsigned char *p) {
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}
static unsigned le16(const unsigned char *p) { return (unsigned)p[1] << 8 | p[0]; }

int media_exif_orientation(const unsigned char *t, size_t n) {
    if (n < 8) return 1;
    bool little = memcmp(t, "II*\0", 4) == 0;
    if (!little && memcmp(t, "MM\0*", 4) != 0) return 1;
#define RD16(p) (little ? le16(p) : be16(p))
#define RD32(p) (little ? ((unsigned long)le16((p) + 2) << 16 | le16(p)) : be32(p))
    unsigned long ifd = RD32(t + 4);
    if (ifd > n - 2) return 1;
    unsigned count = RD16(t + ifd);
    for (unsigned i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
        if (entry + 12 > n) break;
        if (RD16(t + entry) != 0x0112) continue;
        unsigned type = RD16(t + entry + 2);
        unsigned value = type == 3 ? RD16(t + entry + 8) : type == 4 ? (unsigned)RD32(t + entry + 8) : 0;
        return value >= 1 && value <= 8 ? (int)value : 1;
    }
    return 1;
#undef RD16
#undef RD32
}

static bool truncated(media_error *err, const char *what) {
    media_set_error(err, "corrupt_image", "truncated or corrupt %s header", what);
    return false;
}

static bool probe_jpeg(const media_source *src, media_info *info, media_error *err) {
    uint64_t pos = 2;
    bool have_frame = false, have_exif = false;
    for (;;) {
        unsigned char m[4];
        if (media_source_read_at(src, pos, m, 2) != 2) break;
        if (m[0] != 0xFF) return truncated(err, "JPEG");
        if (m[1] == 0xFF) { /* fill byte */
            pos++;
            continue;
        }
        unsigned marker = m[1];
        pos += 2;
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue; /* no length */
        if (marker == 0xD9 || marker == 0xD8) break;
        if (media_source_read_at(src, pos, m, 2) != 2) break;
        unsigned len = be16(m);
        if (len < 2) return truncated(err, "JPEG");
        if (marker == 0xDA) break; /* start of scan: the header is complete */
        bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (sof && !have_frame) {
            unsigned char f[6];
            if (len < 8 || media_source_read_at(src, pos + 2, f, 6) != 6) return truncated(err, "JPEG");
            if ((marker & 3) == 3) {
                media_set_error(err, "unsupported_format", "lossless JPEG is not supported");
                return false;
            }
            if (f[0] != 8) {
                media_set_error(err, "unsupported_format", "%d-bit JPEG is not supported", f[0]);
                return false;
            }
            info->height = (int)be16(f + 1);
            info->width = (int)be16(f + 3);
            info->channels = f[5] == 1 ? 1 : 3;
            info->progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
            have_frame = true;
        } else if (marker == 0xE1 && !have_exif && len > 8) {
            unsigned char *segment = malloc(len - 2);
            if (segment == NULL) {
                media_set_error(err, "out_of_memory", "not enough memory to read EXIF");
                return false;
            }
            size_t got = media_source_read_at(src, pos + 2, segment, len - 2);
            if (got >= 6 && memcmp(segment, "Exif\0\0", 6) == 0) {
                info->orientation = media_exif_orientation(segment + 6, got - 6);
                have_exif = true;
            }
            free(segment);
        }
        pos += len;
    }
    if (!have_frame || info->width == 0 || info->height == 0) return truncated(err, "JPEG");
    return true;
}

static bool probe_png(const media_source *src, media_info *info, media_error *err) {
    unsigned char h[33];
    if (media_source_read_at(src, 0, h, 33) != 33 || be32(h + 8) != 13 || memcmp(h + 12, "IHDR", 4) != 0)
        return truncated(err, "PNG");
    unsigned long w = be32(h + 16), ht = be32(h + 20);
    unsigned depth = h[24], colour = h[25];
    if (w == 0 || ht == 0 || w > INT_MAX || ht > INT_MAX) return truncated(err, "PNG");
    static const int channels_of[7] = {1, 0, 3, 3, 2, 0, 4};
    if (colour > 6 || channels_of[colour] == 0 || depth == 0 || depth > 16 || (depth & (depth - 1)) != 0)
        return truncated(err, "PNG");
    info->width = (int)w;
    info->height = (int)ht;
    info->channels = channels_of[colour];
    uint64_t pos = 33;
    for (;;) {
        unsigned char c[12];
        if (media_source_read_at(src, pos, c, 12) < 8) break;
        unsigned long len = be32(c);
        if (memcmp(c + 4, "IDAT", 4) == 0 || memcmp(c + 4, "IEND", 4) == 0) break;
        if (memcmp(c + 4, "tRNS", 4) == 0) {
            if (colour == 0) info->channels = 2;
            else if (colour == 2 || colour == 3) info->channels = 4;
        } else if (memcmp(c + 4, "acTL", 4) == 0 && len >= 4) {
            info->animated = be32(c + 8) > 1;
        }
        pos += 12 + (uint64_t)len;
    }
    return true;
}

static bool gif_skip_sub_blocks(const media_source *src, uint64_t *pos) {
    for (;;) {
        unsigned char size;
        if (media_source_read_at(src, *pos, &size, 1) != 1) return false;
        *pos += 1 + (uint64_t)size;
        if (size == 0) return true;
    }
}

static bool probe_gif(const media_source *src, media_info *info, media_error *err) {
    unsigned char h[13];
    if (media_source_read_at(src, 0, h, 13) != 13) return truncated(err, "GIF");
    info->width = (int)le16(h + 6);
    info->height = (int)le16(h + 8);
    if (info->width == 0 || info->height == 0) return truncated(err, "GIF");
    uint64_t pos = 13;
    if (h[10] & 0x80) pos += 3u << ((h[10] & 7) + 1);
    int frames = 0;
    bool transparent = false;
    while (frames < 2) {
        unsigned char b[10];
        if (media_source_read_at(src, pos, b, 1) != 1 || b[0] == 0x3B) break;
        if (b[0] == 0x21) {
            if (media_source_read_at(src, pos + 1, b, 3) != 3) break;
            if (b[0] == 0xF9 && frames == 0 && b[1] >= 4 && (b[2] & 1)) transparent = true;
            pos += 2;
            if (!gif_skip_sub_blocks(src, &pos)) break;
        } else if (b[0] == 0x2C) {
            if (media_source_read_at(src, pos + 1, b, 9) != 9) break;
            frames++;
            pos += 10;
            if (b[8] & 0x80) pos += 3u << ((b[8] & 7) + 1);
            pos += 1; /* LZW minimum code size */
            if (!gif_skip_sub_blocks(src, &pos)) break;
        } else {
            break;
        }
    }
    if (frames == 0) return truncated(err, "GIF");
    info->animated = frames > 1;
    info->channels = transparent ? 4 : 3;
    return true;
}

static bool probe_webp(const media_source *src, media_info *info, media_error *err) {
    unsigned char h[64];
    size_t n = media_source_read_at(src, 0, h, sizeof h);
    if (n < 30) return truncated(err, "WebP");
    if (memcmp(h + 12, "VP8X", 4) == 0) {
        info->animated = (h[20] & 0x02) != 0;
        info->channels = (h[20] & 0x10) ? 4 : 3;
        info->width = (int)((unsigned long)h[24] | (unsigned long)h[25] << 8 | (unsigned long)h[26] << 16) + 1;
        info->height = (int)((unsigned long)h[27] | (unsigned long)h[28] << 8 | (unsigned long)h[29] << 16) + 1;
        return true;
    }
    int w = 0, ht = 0, alpha = 0;
    if (!media_webp_header(h, n, &w, &ht, &alpha)) return truncated(err, "WebP");
    info->width = w;
    info->height = ht;
    info->channels = alpha ? 4 : 3;
    return true;
}

static bool probe_bmp(const media_source *src, media_info *info, media_error *err) {
    unsigned char h[256];
    size_t n = media_source_read_at(src, 0, h, sizeof h);
    int w, ht, comp;
    if (!stbi_info_from_memory(h, (int)n, &w, &ht, &comp) || w <= 0 || ht <= 0) return truncated(err, "BMP");
    info->width = w;
    info->height = ht;
    info->channels = comp == 4 ? 4 : 3;
    return true;
}

bool media_probe(const media_source *src, media_info *info, media_error *err) {
    memset(info, 0, sizeof *info);
    info->orientation = 1;
    unsigned char head[32];
    size_t n = media_source_read_at(src, 0, head, sizeof head);
    info->format = media_sniff(head, n);
    switch (info->format) {
    case MEDIA_JPEG: return probe_jpeg(src, info, err);
    case MEDIA_PNG: return probe_png(src, info, err);
    case MEDIA_GIF: return probe_gif(src, info, err);
    case MEDIA_WEBP: return probe_webp(src, info, err);
    case MEDIA_BMP: return probe_bmp(src, info, err);
    default: break;
    }
    const char *name = unsupported_name(head, n);
    if (n == 0)
        media_set_error(err, "corrupt_image", "the file is empty");
    else if (name)
        media_set_error(err, "unsupported_format", "%s images are not supported (JPEG, PNG, GIF, WebP and BMP are)",
                        name);
    else
        media_set_error(err, "unsupported_format", "not an image in a supported format (JPEG, PNG, GIF, WebP, BMP)");
    return false;
}

bool media_check_pixels(int width, int height, uint64_t max_pixels, media_error *err) {
    if (max_pixels == 0) max_pixels = MEDIA_DEFAULT_MAX_PIXELS;
    uint64_t pixels = (uint64_t)width * (uint64_t)height;
    if (width <= 0 || height <= 0) {
        media_set_error(err, "corrupt_image", "the image has no pixels (%dx%d)", width, height);
        return false;
    }
    if (pixels > max_pixels) {
        media_set_error(err, "too_large", "%dx%d is %.1f megapixels, more than the limit of %.1f", width, height,
                        (double)pixels / 1e6, (double)max_pixels / 1e6);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- decode and encode */

static bool decode_with_stb(const media_source *src, const media_decode_options *opts, media_image *out,
                            media_error *err) {
    media_info info;
    if (!media_probe(src, &info, err) || !media_check_pixels(info.width, info.height, opts->max_pixels, err))
        return false;
    const unsigned char *data;
    size_t size;
    media_buffer owned;
    if (!media_source_bytes(src, &data, &size, &owned, err)) return false;
    bool ok = false;
    int w = 0, h = 0, comp = 0;
    unsigned char *pixels = NULL;
    media_sink sink = {0};
    if (size > INT_MAX) {
        media_set_error(err, "too_large", "the file is too large");
        goto done;
    }
    pixels = stbi_load_from_memory(data, (int)size, &w, &h, &comp, info.channels);
    if (pixels == NULL || w != info.width || h != info.height) {
        const char *reason = stbi_failure_reason();
        media_set_error(err, "corrupt_image", "corrupt %s: %s", info.format == MEDIA_GIF ? "GIF" : "BMP",
                        pixels ? "the size changed while decoding" : reason ? reason : "cannot decode");
        goto done;
    }
    if (!media_sink_begin(&sink, out, w, h, info.channels, opts, err)) goto done;
    size_t stride = (size_t)w * (size_t)info.channels;
    for (int y = 0; y < h; y++) media_sink_row(&sink, pixels + (size_t)y * stride);
    ok = true;
done:
    media_sink_end(&sink);
    stbi_image_free(pixels);
    free(owned.data);
    return ok;
}

bool media_decode(const media_source *src, const media_decode_options *opts, media_image *out, media_error *err) {
    static const media_decode_options defaults = {0};
    if (opts == NULL) opts = &defaults;
    memset(out, 0, sizeof *out);
    unsigned char head[16];
    size_t n = media_source_read_at(src, 0, head, sizeof head);
    switch (media_sniff(head, n)) {
    case MEDIA_JPEG: return media_jpeg_decode(src, opts, out, err);
    case MEDIA_PNG: return media_png_decode(src, opts, out, err);
    case MEDIA_WEBP: return media_webp_decode(src, opts, out, err);
    case MEDIA_GIF:
    case MEDIA_BMP: return decode_with_stb(src, opts, out, err);
    default: {
        media_info info;
        media_probe(src, &info, err); /* for its message */
        return false;
    }
    }
}

void media_image_free(media_image *img) {
    free(img->pixels);
    free(img->icc);
    memset(img, 0, sizeof *img);
}

bool media_encode(const media_image *img, const media_encode_options *opts, media_buffer *out, media_error *err) {
    memset(out, 0, sizeof *out);
    switch (opts->format) {
    case MEDIA_JPEG: return media_jpeg_encode(img, opts, out, err);
    case MEDIA_PNG: return media_png_encode(img, opts, out, err);
    case MEDIA_WEBP: return media_webp_encode(img, opts, out, err);
    default:
        media_set_error(err, "unsupported_format", "cannot encode %s", media_format_name(opts->format));
        return false;
    }
}

/* ---------------------------------------------------------------- metadata removal */

typedef struct byte_writer {
    media_buffer *out;
    size_t cap;
    bool failed;
} byte_writer;

static void put(byte_writer *w, const void *p, size_t n) {
    if (w->failed) return;
    if (w->out->size + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->out->size + n) cap *= 2;
        unsigned char *d = realloc(w->out->data, cap);
        if (d == NULL) {
            w->failed = true;
            return;
        }
        w->out->data = d;
        w->cap = cap;
    }
    memcpy(w->out->data + w->out->size, p, n);
    w->out->size += n;
}

static bool jpeg_segment_kept(unsigned marker, const unsigned char *body, size_t len) {
    if (marker == 0xFE) return false; /* comment */
    if (marker < 0xE0 || marker > 0xEF) return true;
    if (marker == 0xE0) return len >= 5 && memcmp(body, "JFIF\0", 5) == 0;
    if (marker == 0xE2) return len >= 12 && memcmp(body, "ICC_PROFILE\0", 12) == 0;
    if (marker == 0xEE) return len >= 5 && memcmp(body, "Adobe", 5) == 0; /* colour transform */
    return false; /* EXIF, XMP, IPTC, MPF and other application data */
}

static bool strip_jpeg(const unsigned char *d, size_t n, byte_writer *w) {
    put(w, d, 2);
    size_t i = 2;
    bool in_scan = false;
    while (i < n) {
        if (in_scan) { /* entropy-coded data runs to the next marker that is not a restart */
            size_t start = i;
            while (i + 1 < n && !(d[i] == 0xFF && d[i + 1] != 0 && !(d[i + 1] >= 0xD0 && d[i + 1] <= 0xD7))) i++;
            if (i + 1 >= n) return false;
            put(w, d + start, i - start);
            in_scan = false;
        }
        if (d[i] != 0xFF) return false;
        while (i + 1 < n && d[i + 1] == 0xFF) i++;
        if (i + 1 >= n) return false;
        unsigned marker = d[i + 1];
        if (marker == 0xD9) {
            put(w, "\xFF\xD9", 2);
            return true; /* anything after the end of the image (thumbnails, videos) is dropped */
        }
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8) || i + 4 > n) return false;
        size_t len = be16(d + i + 2);
        if (len < 2 || i + 2 + len > n) return false;
        if (jpeg_segment_kept(marker, d + i + 4, len - 2)) put(w, d + i, 2 + len);
        i += 2 + len;
        if (marker == 0xDA) in_scan = true;
    }
    return false;
}

static bool png_chunk_kept(const unsigned char *type) {
    static const char kept[][5] = {"tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "cICP", "sBIT",
                                   "bKGD", "pHYs", "acTL", "fcTL", "fdAT"};
    if (!(type[0] & 0x20)) return true; /* critical */
    for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++)
        if (memcmp(type, kept[k], 4) == 0) return true;
    return false; /* text, eXIf, tIME and private chunks */
}

static bool strip_png(const unsigned char *d, size_t n, byte_writer *w) {
    put(w, d, 8);
    size_t i = 8;
    while (i + 12 <= n) {
        size_t len = be32(d + i);
        if (len > n - i - 12) return false;
        if (png_chunk_kept(d + i + 4)) put(w, d + i, 12 + len);
        if (memcmp(d + i + 4, "IEND", 4) == 0) return true;
        i += 12 + len;
    }
    return false;
}

static bool strip_webp(const unsigned char *d, size_t n, byte_writer *w) {
    put(w, d, 12);
    size_t riff_end = 8 + ((size_t)le16(d + 4) | (size_t)le16(d + 6) << 16);
    if (riff_end < n) n = riff_end; /* bytes after the RIFF container are not part of the image */
    size_t i = 12, vp8x_at = 0;
    while (i + 8 <= n) {
        size_t len = (size_t)le16(d + i + 4) | (size_t)le16(d + i + 6) << 16;
        size_t padded = len + (len & 1);
        if (padded > n - i - 8) {
            if (len > n - i - 8) return false;
            padded = len; /* an odd last chunk without its pad byte */
        }
        bool metadata = memcmp(d + i, "EXIF", 4) == 0 || memcmp(d + i, "XMP ", 4) == 0;
        if (memcmp(d + i, "VP8X", 4) == 0 && len >= 10) vp8x_at = w->out->size;
        if (!metadata) put(w, d + i, 8 + padded);
        i += 8 + padded;
    }
    if (w->failed || w->out->size < 12) return !w->failed;
    if (vp8x_at) w->out->data[vp8x_at + 8] &= (unsigned char)~0x0C; /* no EXIF, no XMP */
    size_t riff = w->out->size - 8;
    unsigned char size_le[4] = {(unsigned char)riff, (unsigned char)(riff >> 8), (unsigned char)(riff >> 16),
                                (unsigned char)(riff >> 24)};
    memcpy(w->out->data + 4, size_le, 4);
    return true;
}

bool media_strip_metadata(const unsigned char *data, size_t size, media_format format, media_buffer *out,
                          media_error *err) {
    memset(out, 0, sizeof *out);
    byte_writer w = {out, 0, false};
    bool ok;
    switch (format) {
    case MEDIA_JPEG: ok = size >= 4 && strip_jpeg(data, size, &w); break;
    case MEDIA_PNG: ok = size >= 8 && strip_png(data, size, &w); break;
    case MEDIA_WEBP: ok = size >= 12 && size - 8 <= 0xFFFFFFFFu && strip_webp(data, size, &w); break;
    default: put(&w, data, size); ok = true; break;
    }
    if (w.failed) {
        free(out->data);
        memset(out, 0, sizeof *out);
        media_set_error(err, "out_of_memory", "not enough memory to copy the file");
        return false;
    }
    if (!ok) {
        free(out->data);
        memset(out, 0, sizeof *out);
        media_set_error(err, "corrupt_image", "corrupt %s structure", media_format_name(format));
        return false;
    }
    return true;
}
