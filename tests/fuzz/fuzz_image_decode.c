/* libFuzzer target for wpl.media's decode path: header probe, full decode, scaled decodes
 * (for JPEG: 1/2, 1/4 and 1/8 DCT scaling, the progressive ones through media_progressive.c,
 * also on helper threads) through the streaming resizer, orientation, flattening and
 * metadata removal, on any bytes. Built by tests/fuzz/run-fuzzers (clang, -DWPL_FUZZ=ON). */
#include <stdint.h>
#include <stdlib.h>

#include "media_internal.h"

/* Small enough that every input decodes in milliseconds, large enough for real headers. */
#define FUZZ_MAX_PIXELS (4u * 1000u * 1000u)

static void decode(const media_source *src, const media_info *info, int width, int height, int threads) {
    media_decode_options opts = {0};
    opts.max_pixels = FUZZ_MAX_PIXELS;
    opts.target_width = width;
    opts.target_height = height;
    opts.threads = threads;
    media_image img;
    media_error err;
    if (media_decode(src, &opts, &img, &err)) {
        if (info) media_orient(&img, info->orientation, &err);
        media_flatten(&img, (const unsigned char[3]){255, 255, 255}, &err);
    }
    media_image_free(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    media_source src = {data, size, NULL};
    media_error err;
    media_info info;
    bool probed = media_probe(&src, &info, &err);
    decode(&src, probed ? &info : NULL, 0, 0, 0);
    if (!probed || info.width <= 0 || info.height <= 0) return 0;

    for (int divisor = 2; divisor <= (info.format == MEDIA_JPEG ? 8 : 2); divisor *= 2) {
        int w = info.width / divisor, h = info.height / divisor;
        decode(&src, NULL, w > 0 ? w : 1, h > 0 ? h : 1, divisor == 4 ? 2 : 0);
    }
    media_buffer stripped;
    if (media_strip_metadata(data, size, info.format, &stripped, &err)) free(stripped.data);
    return 0;
}
