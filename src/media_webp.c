/* wpl.media WebP through libwebp (WordPress accepts WebP uploads since 5.8): still images are
 * decoded whole (libwebp needs the whole file), animated ones are not decoded at all. The
 * colour profile travels in an ICCP chunk, written with libwebpmux. */
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "media_internal.h"

bool media_webp_header(const unsigned char *head, size_t size, int *width, int *height, int *has_alpha) {
    WebPBitstreamFeatures features;
    if (WebPGetFeatures(head, size, &features) != VP8_STATUS_OK) return false;
    *width = features.width;
    *height = features.height;
    *has_alpha = features.has_alpha;
    return true;
}

/* The ICCP chunk of an extended-format file, copied, or NULL. */
static unsigned char *find_icc(const unsigned char *data, size_t size, size_t *icc_size) {
    size_t i = 12;
    while (i + 8 <= size) {
        size_t len = (size_t)data[i + 4] | (size_t)data[i + 5] << 8 | (size_t)data[i + 6] << 16 |
                     (size_t)data[i + 7] << 24;
        if (len > size - i - 8) return NULL;
        if (memcmp(data + i, "ICCP", 4) == 0 && len > 0) {
            unsigned char *icc = malloc(len);
            if (icc) {
                memcpy(icc, data + i + 8, len);
                *icc_size = len;
            }
            return icc;
        }
        i += 8 + len + (len & 1);
    }
    return NULL;
}

bool media_webp_decode(const media_source *src, const media_decode_options *opts, media_image *out, media_error *err) {
    const unsigned char *data;
    size_t size;
    media_buffer owned;
    if (!media_source_bytes(src, &data, &size, &owned, err)) return false;
    bool ok = false;
    unsigned char *whole = NULL;
    media_sink sink = {0};
    WebPBitstreamFeatures features;
    if (WebPGetFeatures(data, size, &features) != VP8_STATUS_OK) {
        media_set_error(err, "corrupt_image", "corrupt WebP header");
        goto done;
    }
    if (!media_check_pixels(features.width, features.height, opts->max_pixels, err)) goto done;
    if (features.has_animation) {
        media_set_error(err, "unsupported_format", "animated WebP images cannot be decoded (publish them unchanged)");
        goto done;
    }
    int channels = features.has_alpha ? 4 : 3;
    if (!media_sink_begin(&sink, out, features.width, features.height, channels, opts, err)) goto done;
    size_t stride = (size_t)features.width * (size_t)channels, total = stride * (size_t)features.height;
    unsigned char *pixels = media_sink_direct_row(&sink, 0);
    if (pixels == NULL) pixels = whole = malloc(total);
    if (pixels == NULL) {
        media_set_error(err, "out_of_memory", "not enough memory to decode a WebP");
        goto done;
    }
    unsigned char *decoded = channels == 4 ? WebPDecodeRGBAInto(data, size, pixels, total, (int)stride)
                                           : WebPDecodeRGBInto(data, size, pixels, total, (int)stride);
    if (decoded == NULL) {
        media_set_error(err, "corrupt_image", "corrupt or truncated WebP");
        goto done;
    }
    if (whole)
        for (int y = 0; y < features.height; y++) media_sink_row(&sink, whole + (size_t)y * stride);
    out->icc = find_icc(data, size, &out->icc_size);
    ok = true;
done:
    media_sink_end(&sink);
    free(whole);
    free(owned.data);
    return ok;
}

/* Gray images are widened to RGB(A): WebP has no gray mode. */
static unsigned char *widen_gray(const media_image *img) {
    int out_channels = img->channels == 1 ? 3 : 4;
    size_t pixels = (size_t)img->width * (size_t)img->height;
    unsigned char *out = malloc(pixels * (size_t)out_channels);
    if (out == NULL) return NULL;
    for (size_t i = 0; i < pixels; i++) {
        const unsigned char *p = img->pixels + i * (size_t)img->channels;
        unsigned char *o = out + i * (size_t)out_channels;
        o[0] = o[1] = o[2] = p[0];
        if (out_channels == 4) o[3] = p[1];
    }
    return out;
}

static bool add_icc(const media_image *img, media_buffer *out, media_error *err) {
    WebPData image = {out->data, out->size}, icc = {img->icc, img->icc_size}, assembled = {NULL, 0};
    WebPMux *mux = WebPMuxCreate(&image, 0);
    bool ok = mux && WebPMuxSetChunk(mux, "ICCP", &icc, 0) == WEBP_MUX_OK &&
              WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK;
    WebPMuxDelete(mux);
    unsigned char *copy = ok ? malloc(assembled.size) : NULL;
    if (copy) {
        memcpy(copy, assembled.bytes, assembled.size);
        free(out->data);
        out->data = copy;
        out->size = assembled.size;
    }
    WebPDataClear(&assembled);
    if (copy == NULL) media_set_error(err, "encode", "cannot add the colour profile to the WebP");
    return copy != NULL;
}

bool media_webp_encode(const media_image *img, const media_encode_options *opts, media_buffer *out, media_error *err) {
    WebPConfig config;
    WebPPicture picture;
    WebPMemoryWriter writer;
    if (!WebPConfigInit(&config) || !WebPPictureInit(&picture)) {
        media_set_error(err, "encode", "libwebp version mismatch");
        return false;
    }
    config.quality = (float)opts->quality;
    config.lossless = opts->lossless;
    config.method = 4;
    picture.width = img->width;
    picture.height = img->height;
    picture.use_argb = opts->lossless;
    WebPMemoryWriterInit(&writer);
    picture.writer = WebPMemoryWrite;
    picture.custom_ptr = &writer;

    unsigned char *wide = img->channels <= 2 ? widen_gray(img) : NULL;
    const unsigned char *rgb = wide ? wide : img->pixels;
    bool alpha = img->channels == 2 || img->channels == 4;
    int stride = img->width * (alpha ? 4 : 3);
    bool ok = (img->channels > 2 || wide) &&
              (alpha ? WebPPictureImportRGBA(&picture, rgb, stride) : WebPPictureImportRGB(&picture, rgb, stride));
    free(wide);
    if (!ok) {
        WebPPictureFree(&picture);
        media_set_error(err, "out_of_memory", "not enough memory to encode a WebP");
        return false;
    }
    ok = WebPEncode(&config, &picture);
    int error_code = picture.error_code;
    WebPPictureFree(&picture);
    if (ok && writer.size > 0) {
        out->data = malloc(writer.size);
        ok = out->data != NULL;
        if (ok) {
            memcpy(out->data, writer.mem, writer.size);
            out->size = writer.size;
        }
    }
    WebPMemoryWriterClear(&writer);
    if (!ok) {
        free(out->data);
        memset(out, 0, sizeof *out);
        media_set_error(err, "encode", "cannot encode WebP (libwebp error %d)", error_code);
        return false;
    }
    if (img->icc && img->channels > 2 && !add_icc(img, out, err)) { /* a gray profile does not fit widened RGB */
        free(out->data);
        memset(out, 0, sizeof *out);
        return false;
    }
    return true;
}
