/* wpl.media pixel operations: a streaming Lanczos-3 resampler, EXIF orientation and alpha
 * flattening. The resampler is separable: each source row is filtered horizontally as it
 * arrives and kept in a ring of as many rows as the vertical filter spans; an output row is
 * written as soon as its last source row is in. Work is in float, with alpha premultiplied
 * so that transparent pixels do not bleed their colour into the edges. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "media_internal.h"

#define LANCZOS_LOBES 3.0

/* Four floats processed as one (GCC and clang vector extension); rows are padded so that
 * a 3-channel pixel can be read as four floats. */
typedef float float4 __attribute__((vector_size(16)));
typedef int int4 __attribute__((vector_size(16)));
typedef unsigned char byte4 __attribute__((vector_size(4)));

static inline float4 load4(const float *p) {
    float4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store4(float *p, float4 v) { memcpy(p, &v, sizeof v); }

/* Which source samples, with which weights, make each destination sample along one axis. */
typedef struct axis_filter {
    int *start;     /* first source index for each destination index; never decreases */
    int *count;
    float *weights; /* taps weights per destination index, taps apart */
    int taps;       /* the largest count */
} axis_filter;

static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double lanczos(double x) {
    if (x <= -LANCZOS_LOBES || x >= LANCZOS_LOBES) return 0.0;
    return sinc(x) * sinc(x / LANCZOS_LOBES);
}

static void axis_filter_free(axis_filter *f) {
    free(f->start);
    free(f->count);
    free(f->weights);
    memset(f, 0, sizeof *f);
}

/* The destination covers source coordinates [offset, offset + window) in dst_size steps. */
static bool axis_filter_init(axis_filter *f, int src_size, double offset, double window, int dst_size) {
    memset(f, 0, sizeof *f);
    double scale = window / dst_size;
    double stretch = scale > 1.0 ? scale : 1.0; /* widen the kernel when shrinking */
    double support = LANCZOS_LOBES * stretch;
    f->taps = (int)ceil(support) * 2 + 1;
    if (f->taps > src_size) f->taps = src_size;
    f->start = malloc(sizeof *f->start * (size_t)dst_size);
    f->count = malloc(sizeof *f->count * (size_t)dst_size);
    f->weights = calloc((size_t)dst_size * (size_t)f->taps, sizeof *f->weights);
    if (f->start == NULL || f->count == NULL || f->weights == NULL) {
        axis_filter_free(f);
        return false;
    }
    for (int i = 0; i < dst_size; i++) {
        double center = offset + (i + 0.5) * scale;
        int lo = (int)floor(center - support + 0.5), hi = (int)floor(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > src_size) hi = src_size;
        if (hi - lo > f->taps) hi = lo + f->taps;
        if (hi <= lo) { /* the window lies outside the source: take the nearest edge */
            lo = center < 0 ? 0 : src_size - 1;
            hi = lo + 1;
        }
        float *w = f->weights + (size_t)i * (size_t)f->taps;
        double total = 0.0;
        for (int j = lo; j < hi; j++) total += lanczos((j + 0.5 - center) / stretch);
        for (int j = lo; j < hi; j++) {
            double v = lanczos((j + 0.5 - center) / stretch);
            w[j - lo] = (float)(total != 0.0 ? v / total : 1.0 / (hi - lo));
        }
        f->start[i] = lo;
        f->count[i] = hi - lo;
    }
    return true;
}

struct media_resizer {
    int src_width, src_height, dst_width, dst_height, channels;
    unsigned char *dst;
    axis_filter horizontal, vertical;
    float *source_row; /* one source row as premultiplied floats, plus padding */
    float *ring;       /* vertical.taps horizontally filtered rows */
    size_t ring_stride; /* floats per ring row, a multiple of 4 */
    float *sum;        /* one destination row being accumulated */
    float byte_values[256];
    int next_source_row, next_dst_row;
};

void media_resizer_free(media_resizer *rz) {
    if (rz == NULL) return;
    axis_filter_free(&rz->horizontal);
    axis_filter_free(&rz->vertical);
    free(rz->source_row);
    free(rz->ring);
    free(rz->sum);
    free(rz);
}

media_resizer *media_resizer_new(int src_width, int src_height, double x0, double y0, double w, double h,
                                 int dst_width, int dst_height, int channels, unsigned char *dst) {
    if (src_width <= 0 || src_height <= 0 || dst_width <= 0 || dst_height <= 0 || channels < 1 || channels > 4 ||
        !(w > 0) || !(h > 0))
        return NULL;
    media_resizer *rz = calloc(1, sizeof *rz);
    if (rz == NULL) return NULL;
    rz->src_width = src_width;
    rz->src_height = src_height;
    rz->dst_width = dst_width;
    rz->dst_height = dst_height;
    rz->channels = channels;
    rz->dst = dst;
    if (!axis_filter_init(&rz->horizontal, src_width, x0, w, dst_width) ||
        !axis_filter_init(&rz->vertical, src_height, y0, h, dst_height)) {
        media_resizer_free(rz);
        return NULL;
    }
    size_t row_floats = (size_t)dst_width * (size_t)channels;
    rz->ring_stride = (row_floats + 3) & ~(size_t)3;
    rz->source_row = malloc(sizeof(float) * ((size_t)src_width * (size_t)channels + 4));
    rz->ring = calloc(rz->ring_stride * (size_t)rz->vertical.taps, sizeof(float)); /* padding stays 0 */
    rz->sum = malloc(sizeof(float) * rz->ring_stride);
    if (rz->source_row == NULL || rz->ring == NULL || rz->sum == NULL) {
        media_resizer_free(rz);
        return NULL;
    }
    memset(rz->source_row, 0, sizeof(float) * ((size_t)src_width * (size_t)channels + 4));
    for (int i = 0; i < 256; i++) rz->byte_values[i] = (float)i;
    return rz;
}

static void to_premultiplied_floats(const float *restrict byte_values, const unsigned char *restrict row,
                                    float *restrict out, int width, int channels) {
    size_t n = (size_t)width * (size_t)channels, i = 0;
    if (channels == 1 || channels == 3) {
        for (; i < n; i++) out[i] = byte_values[row[i]]; /* a table: SSE2 has no cheap byte to float */
        return;
    }
    if (channels == 4) {
        for (; i < n; i += 4) {
            float a = byte_values[row[i + 3]] * (1.0f / 255.0f);
            float4 f = {byte_values[row[i]], byte_values[row[i + 1]], byte_values[row[i + 2]], byte_values[row[i + 3]]};
            store4(out + i, f * (float4){a, a, a, 1.0f});
        }
        return;
    }
    int colours = channels - 1;
    for (; i < n; i += (size_t)channels) {
        float alpha = row[i + (size_t)colours];
        for (int c = 0; c < colours; c++) out[i + (size_t)c] = row[i + (size_t)c] * alpha * (1.0f / 255.0f);
        out[i + (size_t)colours] = alpha;
    }
}

static void filter_row(const axis_filter *f, const float *restrict in, float *restrict out, int dst_width,
                       int channels) {
    for (int x = 0; x < dst_width; x++) {
        const float *w = f->weights + (size_t)x * (size_t)f->taps;
        const float *p = in + (size_t)f->start[x] * (size_t)channels;
        int n = f->count[x];
        float *o = out + (size_t)x * (size_t)channels;
        if (channels >= 3) { /* one vector per pixel; a 3-channel pixel reads one float beyond */
            float4 acc = {0, 0, 0, 0};
            for (int k = 0; k < n; k++, p += channels) acc += w[k] * load4(p);
            o[0] = acc[0];
            o[1] = acc[1];
            o[2] = acc[2];
            if (channels == 4) o[3] = acc[3];
        } else if (channels == 2) {
            float a = 0, b = 0;
            for (int k = 0; k < n; k++, p += 2) {
                a += w[k] * p[0];
                b += w[k] * p[1];
            }
            o[0] = a;
            o[1] = b;
        } else {
            float a = 0;
            for (int k = 0; k < n; k++) a += w[k] * p[k];
            o[0] = a;
        }
    }
}

static inline unsigned char to_byte(float v) {
    if (!(v > 0.0f)) return 0; /* also NaN */
    if (v >= 255.0f) return 255;
    return (unsigned char)(v + 0.5f);
}

/* Rounds and clamps four values to bytes. */
static inline byte4 to_bytes(float4 v) {
    int4 i = __builtin_convertvector(v + 0.5f, int4);
    int4 zero = {0, 0, 0, 0}, max = {255, 255, 255, 255};
    i &= i > zero;
    int4 over = i > max;
    i = (over & max) | (~over & i);
    return __builtin_convertvector(i, byte4);
}

static void emit_row(media_resizer *rz, int y) {
    const axis_filter *f = &rz->vertical;
    const float *w = f->weights + (size_t)y * (size_t)f->taps;
    int first = f->start[y], n = f->count[y], taps = f->taps;
    size_t stride = rz->ring_stride;
    float *restrict sum = rz->sum;
    const float *row = rz->ring + (size_t)(first % taps) * stride;
    float4 w0 = {w[0], w[0], w[0], w[0]};
    for (size_t i = 0; i < stride; i += 4) store4(sum + i, w0 * load4(row + i));
    for (int k = 1; k < n; k++) {
        row = rz->ring + (size_t)((first + k) % taps) * stride;
        float4 wk = {w[k], w[k], w[k], w[k]};
        for (size_t i = 0; i < stride; i += 4) store4(sum + i, load4(sum + i) + wk * load4(row + i));
    }
    int channels = rz->channels;
    size_t n_out = (size_t)rz->dst_width * (size_t)channels, i = 0;
    unsigned char *out = rz->dst + (size_t)y * n_out;
    if (channels == 1 || channels == 3) {
        for (; i + 4 <= n_out; i += 4) {
            byte4 b = to_bytes(load4(sum + i));
            memcpy(out + i, &b, sizeof b);
        }
        for (; i < n_out; i++) out[i] = to_byte(sum[i]);
        return;
    }
    if (channels == 4) {
        for (; i < n_out; i += 4) {
            float4 v = load4(sum + i);
            float alpha = v[3] > 0.5f ? v[3] : 0.0f; /* rounds to 0: fully transparent */
            float unmultiply = alpha > 0.0f ? 255.0f / alpha : 0.0f;
            byte4 b = to_bytes(v * (float4){unmultiply, unmultiply, unmultiply, 1.0f});
            memcpy(out + i, &b, sizeof b);
        }
        return;
    }
    int colours = channels - 1;
    for (; i < n_out; i += (size_t)channels) {
        float alpha = sum[i + (size_t)colours];
        unsigned char a = to_byte(alpha);
        float unmultiply = a > 0 ? 255.0f / alpha : 0.0f;
        for (int c = 0; c < colours; c++) out[i + (size_t)c] = to_byte(sum[i + (size_t)c] * unmultiply);
        out[i + (size_t)colours] = a;
    }
}

void media_resizer_push(media_resizer *rz, const unsigned char *row) {
    int r = rz->next_source_row++;
    if (rz->next_dst_row >= rz->dst_height || r < rz->vertical.start[rz->next_dst_row]) return; /* not needed */
    float *slot = rz->ring + (size_t)(r % rz->vertical.taps) * rz->ring_stride;
    to_premultiplied_floats(rz->byte_values, row, rz->source_row, rz->src_width, rz->channels);
    filter_row(&rz->horizontal, rz->source_row, slot, rz->dst_width, rz->channels);
    while (rz->next_dst_row < rz->dst_height) {
        int y = rz->next_dst_row;
        if (rz->vertical.start[y] + rz->vertical.count[y] - 1 > r) break;
        emit_row(rz, y);
        rz->next_dst_row++;
    }
}

static unsigned char *alloc_pixels(int width, int height, int channels) {
    return malloc((size_t)width * (size_t)height * (size_t)channels);
}

bool media_resize(const media_image *src, double x0, double y0, double w, double h, int dst_width, int dst_height,
                  media_image *dst, media_error *err) {
    memset(dst, 0, sizeof *dst);
    dst->pixels = alloc_pixels(dst_width, dst_height, src->channels);
    media_resizer *rz = dst->pixels ? media_resizer_new(src->width, src->height, x0, y0, w, h, dst_width,
                                                         dst_height, src->channels, dst->pixels)
                                    : NULL;
    if (rz == NULL) {
        media_image_free(dst);
        media_set_error(err, "out_of_memory", "not enough memory to resize to %dx%d", dst_width, dst_height);
        return false;
    }
    size_t stride = (size_t)src->width * (size_t)src->channels;
    for (int y = 0; y < src->height; y++) media_resizer_push(rz, src->pixels + (size_t)y * stride);
    media_resizer_free(rz);
    dst->width = dst_width;
    dst->height = dst_height;
    dst->channels = src->channels;
    if (src->icc) {
        dst->icc = malloc(src->icc_size);
        if (dst->icc == NULL) {
            media_image_free(dst);
            media_set_error(err, "out_of_memory", "not enough memory to resize to %dx%d", dst_width, dst_height);
            return false;
        }
        memcpy(dst->icc, src->icc, src->icc_size);
        dst->icc_size = src->icc_size;
    }
    return true;
}

bool media_orient(media_image *img, int orientation, media_error *err) {
    if (orientation < 2 || orientation > 8) return true;
    int w = img->width, h = img->height, c = img->channels;
    bool transposed = orientation >= 5;
    int out_w = transposed ? h : w, out_h = transposed ? w : h;
    unsigned char *out = alloc_pixels(out_w, out_h, c);
    if (out == NULL) {
        media_set_error(err, "out_of_memory", "not enough memory to rotate a %dx%d image", w, h);
        return false;
    }
    const unsigned char *in = img->pixels;
    for (int y = 0; y < out_h; y++) {
        unsigned char *o = out + (size_t)y * (size_t)out_w * (size_t)c;
        for (int x = 0; x < out_w; x++, o += c) {
            int sx, sy;
            switch (orientation) {
            case 2: sx = w - 1 - x; sy = y; break;
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;
            case 4: sx = x; sy = h - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = h - 1 - x; break;
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;
            default: sx = w - 1 - y; sy = x; break; /* 8 */
            }
            memcpy(o, in + ((size_t)sy * (size_t)w + (size_t)sx) * (size_t)c, (size_t)c);
        }
    }
    free(img->pixels);
    img->pixels = out;
    img->width = out_w;
    img->height = out_h;
    return true;
}

bool media_flatten(media_image *img, const unsigned char background[3], media_error *err) {
    (void)err;
    int c = img->channels;
    if (c != 2 && c != 4) return true;
    size_t pixels = (size_t)img->width * (size_t)img->height;
    unsigned char *p = img->pixels; /* compacted in place: the write position never passes the read one */
    unsigned gray_background = (background[0] * 299u + background[1] * 587u + background[2] * 114u + 500u) / 1000u;
    for (size_t i = 0; i < pixels; i++) {
        const unsigned char *in = img->pixels + i * (size_t)c;
        unsigned a = in[c - 1];
        for (int k = 0; k < c - 1; k++) {
            unsigned bg = c == 2 ? gray_background : background[k];
            p[k] = (unsigned char)((in[k] * a + bg * (255u - a) + 127u) / 255u);
        }
        p += c - 1;
    }
    img->channels = c - 1;
    unsigned char *smaller = realloc(img->pixels, pixels * (size_t)(c - 1));
    if (smaller) img->pixels = smaller;
    return true;
}
