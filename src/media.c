/* wpl.media: the image pipeline recipes use before an upload: size for the web (fit inside a
 * box, never upscale), EXIF orientation applied to the pixels, metadata dropped (GPS must not
 * reach a public site), compressed; animated images pass unchanged. ICC colour profiles are
 * kept (as WordPress's own editor does): they hold no private data and the colours need them.
 *
 * C resources live in userdata whose __gc frees them (an image, or a job holding the open
 * file and the buffers of one call), created before the work starts, so a Lua error at any
 * point leaks nothing; the codecs (media_*.c) never call Lua. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "internal.h"
#include "media_internal.h"

#define IMAGE_MT "wpl.media.image"
#define JOB_MT "wpl.media.job"
#define DEFAULT_MAX_SIZE 2560 /* WordPress's own big_image_size_threshold */
#define DEFAULT_QUALITY 82    /* WordPress's default JPEG quality */

/* ---------------------------------------------------------------- userdata */

/* An image is closed when it has no pixels; every method checks through toimage(). */
static media_image *toimage(lua_State *L, int idx) {
    media_image *img = luaL_checkudata(L, idx, IMAGE_MT);
    if (img->pixels == NULL) luaL_argerror(L, idx, "the image is closed");
    return img;
}

static media_image *new_image(lua_State *L) {
    media_image *img = lua_newuserdatauv(L, sizeof *img, 0);
    memset(img, 0, sizeof *img);
    luaL_setmetatable(L, IMAGE_MT);
    return img;
}

/* The pixels are not Lua memory: tells the collector about them, so that images a loop leaves
 * behind (without close) are collected at the pace they are made. */
static void account_pixels(lua_State *L, const media_image *img) {
    size_t bytes = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    lua_gc(L, LUA_GCSTEP, (int)(bytes / 1024 > 1000000 ? 1000000 : bytes / 1024));
}

/* __gc, __close and img:close() */
static int image_close(lua_State *L) {
    media_image_free(luaL_checkudata(L, 1, IMAGE_MT));
    return 0;
}

/* Everything one call holds in C, freed by __gc if a Lua error interrupts the call. */
typedef struct media_job {
    FILE *file;
    media_buffer original; /* the source's bytes, when they had to be read whole */
    media_buffer stripped;
    media_buffer encoded;
    media_image image;
} media_job;

static void job_release(media_job *job) {
    if (job->file) fclose(job->file);
    job->file = NULL;
    free(job->original.data);
    free(job->stripped.data);
    free(job->encoded.data);
    memset(&job->original, 0, sizeof job->original);
    memset(&job->stripped, 0, sizeof job->stripped);
    memset(&job->encoded, 0, sizeof job->encoded);
    media_image_free(&job->image);
}

static int job_gc(lua_State *L) {
    job_release(luaL_checkudata(L, 1, JOB_MT));
    return 0;
}

static media_job *new_job(lua_State *L) {
    media_job *job = lua_newuserdatauv(L, sizeof *job, 0);
    memset(job, 0, sizeof *job);
    luaL_setmetatable(L, JOB_MT);
    return job;
}

/* ---------------------------------------------------------------- errors and options */

/* nil, err where err.message starts with the file's name and err.file holds it. */
static int fail(lua_State *L, const char *name, const media_error *err) {
    lua_pushnil(L);
    wpl_error_push(L, err->code, lua_pushfstring(L, "%s: %s", name, err->message), 0, false);
    lua_remove(L, -2);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "file");
    return 2;
}

/* Raises on option names that are not in allowed (a typo would otherwise be ignored). */
static void check_option_names(lua_State *L, int t, const char *fname, const char *const *allowed) {
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        bool known = false;
        for (const char *const *a = allowed; key && *a && !known; a++) known = strcmp(key, *a) == 0;
        if (!known) luaL_error(L, "%s: unknown option %s", fname, key ? key : luaL_typename(L, -1));
    }
}

static lua_Integer opt_integer(lua_State *L, int t, const char *fname, const char *field, lua_Integer def,
                               lua_Integer min, lua_Integer max) {
    if (t == 0) return def;
    lua_getfield(L, t, field);
    lua_Integer v = def;
    if (!lua_isnil(L, -1)) {
        int ok;
        v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < min || v > max)
            luaL_error(L, "%s: '%s' must be an integer from %I to %I", fname, field, min, max);
    }
    lua_pop(L, 1);
    return v;
}

static bool opt_boolean(lua_State *L, int t, const char *field, bool def) {
    if (t == 0) return def;
    lua_getfield(L, t, field);
    bool v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static const char *opt_string(lua_State *L, int t, const char *fname, const char *field, const char *def) {
    if (t == 0) return def;
    lua_getfield(L, t, field);
    const char *s = def;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s: '%s' must be a string", fname, field);
        s = lua_tostring(L, -1);
    }
    lua_pop(L, 1); /* the options table keeps it alive */
    return s;
}

/* "jpeg" | "png" | "webp", or "auto" when allowed (returned as MEDIA_UNKNOWN). */
static media_format opt_format(lua_State *L, int t, const char *fname, const char *def, bool auto_allowed) {
    const char *s = opt_string(L, t, fname, "format", def);
    if (s == NULL) return MEDIA_UNKNOWN;
    if (strcmp(s, "jpeg") == 0 || strcmp(s, "jpg") == 0) return MEDIA_JPEG;
    if (strcmp(s, "png") == 0) return MEDIA_PNG;
    if (strcmp(s, "webp") == 0) return MEDIA_WEBP;
    if (auto_allowed && strcmp(s, "auto") == 0) return MEDIA_UNKNOWN;
    luaL_error(L, "%s: 'format' must be %s\"jpeg\", \"png\" or \"webp\"", fname, auto_allowed ? "\"auto\", " : "");
    return MEDIA_UNKNOWN;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* background = "#rrggbb" | "#rgb" | {r, g, b}; white by default. */
static void opt_background(lua_State *L, int t, const char *fname, unsigned char rgb[3]) {
    rgb[0] = rgb[1] = rgb[2] = 255;
    if (t == 0) return;
    int type = lua_getfield(L, t, "background");
    if (type == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        bool ok = s[0] == '#' && (n == 7 || n == 4);
        for (size_t i = 1; ok && i < n; i++) ok = hex_digit(s[i]) >= 0;
        if (!ok) luaL_error(L, "%s: 'background' must be \"#rrggbb\", \"#rgb\" or {r, g, b}", fname);
        for (int c = 0; c < 3; c++)
            rgb[c] = (unsigned char)(n == 7 ? hex_digit(s[1 + 2 * c]) * 16 + hex_digit(s[2 + 2 * c])
                                            : hex_digit(s[1 + c]) * 17);
    } else if (type == LUA_TTABLE) {
        for (int c = 0; c < 3; c++) {
            lua_rawgeti(L, -1, c + 1);
            int ok;
            lua_Integer v = lua_tointegerx(L, -1, &ok);
            if (!ok || v < 0 || v > 255)
                luaL_error(L, "%s: 'background' components must be integers from 0 to 255", fname);
            rgb[c] = (unsigned char)v;
            lua_pop(L, 1);
        }
    } else if (type != LUA_TNIL) {
        luaL_error(L, "%s: 'background' must be \"#rrggbb\", \"#rgb\" or {r, g, b}", fname);
    }
    lua_pop(L, 1);
}

static int opt_table(lua_State *L, int idx, const char *fname, const char *const *allowed) {
    if (lua_isnoneornil(L, idx)) return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    check_option_names(L, idx, fname, allowed);
    return idx;
}

/* ---------------------------------------------------------------- sizes */

/* The largest size inside box_w x box_h with the aspect ratio of w x h (0 = no bound). */
static void fit_inside(int w, int h, int box_w, int box_h, bool upscale, int *out_w, int *out_h) {
    double sx = box_w > 0 ? (double)box_w / w : 1e300, sy = box_h > 0 ? (double)box_h / h : 1e300;
    double s = sx < sy ? sx : sy;
    if (!upscale && s >= 1.0) {
        *out_w = w;
        *out_h = h;
        return;
    }
    if (sx <= sy) { /* the width is the bound: it is met exactly */
        *out_w = box_w;
        *out_h = (int)(h * s + 0.5);
    } else {
        *out_h = box_h;
        *out_w = (int)(w * s + 0.5);
    }
    if (*out_w < 1) *out_w = 1;
    if (*out_h < 1) *out_h = 1;
}

static void oriented_size(const media_info *info, int *w, int *h) {
    bool swap = info->orientation >= 5;
    *w = swap ? info->height : info->width;
    *h = swap ? info->width : info->height;
}

/* ---------------------------------------------------------------- sources */

typedef struct source_arg {
    media_source src;
    const char *name; /* for messages: the path, or the file name given with the bytes */
} source_arg;

/* Opens the path at idx into job->file; false (and err) when it cannot be opened. */
static bool open_path(lua_State *L, int idx, media_job *job, source_arg *s, media_error *err) {
    const char *path = luaL_checkstring(L, idx);
    wpl_sandbox_check_path(L, path, false);
    memset(s, 0, sizeof *s);
    s->name = path;
    job->file = fopen(path, "rb");
    if (job->file == NULL) {
        media_set_error(err, "read", "cannot open: %s", strerror(errno));
        return false;
    }
    s->src.file = job->file;
    return true;
}

static void bytes_arg(lua_State *L, int idx, source_arg *s, const char *name) {
    memset(s, 0, sizeof *s);
    s->src.data = (const unsigned char *)luaL_checklstring(L, idx, &s->src.size);
    s->name = name;
}

/* ---------------------------------------------------------------- info */

static void push_info(lua_State *L, const media_info *info) {
    int w, h;
    oriented_size(info, &w, &h);
    lua_createtable(L, 0, 9);
    lua_pushinteger(L, w);
    lua_setfield(L, -2, "width");
    lua_pushinteger(L, h);
    lua_setfield(L, -2, "height");
    lua_pushstring(L, media_format_name(info->format));
    lua_setfield(L, -2, "format");
    lua_pushstring(L, media_format_mime(info->format));
    lua_setfield(L, -2, "mime");
    lua_pushinteger(L, info->channels);
    lua_setfield(L, -2, "channels");
    lua_pushboolean(L, info->channels == 2 || info->channels == 4);
    lua_setfield(L, -2, "alpha");
    lua_pushinteger(L, info->orientation);
    lua_setfield(L, -2, "orientation");
    lua_pushboolean(L, info->animated);
    lua_setfield(L, -2, "animated");
    lua_pushboolean(L, info->progressive);
    lua_setfield(L, -2, "progressive");
}

static int info_of(lua_State *L, source_arg *s) {
    media_info info;
    media_error err;
    if (!media_probe(&s->src, &info, &err)) return fail(L, s->name, &err);
    push_info(L, &info);
    return 1;
}

/* media.info(path) -> {width=, height=, format=, mime=, channels=, alpha=, orientation=,
 * animated=, progressive=} | nil, err. width and height are as displayed (after orientation). */
static int media_info_path(lua_State *L) {
    media_job *job = new_job(L);
    source_arg s;
    media_error err;
    if (!open_path(L, 1, job, &s, &err)) return fail(L, s.name, &err);
    int n = info_of(L, &s);
    job_release(job);
    return n;
}

/* media.info_bytes(data [, filename]) */
static int media_info_bytes(lua_State *L) {
    source_arg s;
    bytes_arg(L, 1, &s, luaL_optstring(L, 2, "image data"));
    return info_of(L, &s);
}

/* ---------------------------------------------------------------- load */

static const char *const load_options[] = {"max_pixels", "orient", NULL};

/* Decodes into a new image userdata (pushed), upright unless opts.orient == false. */
static int load_from(lua_State *L, source_arg *s, int opts, const char *fname) {
    media_decode_options d = {0};
    d.max_pixels = (uint64_t)opt_integer(L, opts, fname, "max_pixels", (lua_Integer)MEDIA_DEFAULT_MAX_PIXELS, 1,
                                         LUA_MAXINTEGER);
    bool orient = opt_boolean(L, opts, "orient", true);
    media_info info;
    media_error err;
    if (!media_probe(&s->src, &info, &err)) return fail(L, s->name, &err);
    media_image *img = new_image(L);
    if (!media_decode(&s->src, &d, img, &err) || (orient && !media_orient(img, info.orientation, &err))) {
        media_image_free(img);
        return fail(L, s->name, &err);
    }
    account_pixels(L, img);
    return 1;
}

/* media.load(path [, {max_pixels=, orient=}]) -> image | nil, err */
static int media_load(lua_State *L) {
    int opts = opt_table(L, 2, "media.load", load_options);
    media_job *job = new_job(L);
    source_arg s;
    media_error err;
    if (!open_path(L, 1, job, &s, &err)) return fail(L, s.name, &err);
    int n = load_from(L, &s, opts, "media.load");
    job_release(job);
    return n;
}

/* media.load_bytes(data [, opts]) -> image | nil, err */
static int media_load_bytes(lua_State *L) {
    int opts = opt_table(L, 2, "media.load_bytes", load_options);
    source_arg s;
    bytes_arg(L, 1, &s, "image data");
    return load_from(L, &s, opts, "media.load_bytes");
}

/* media.from_pixels(width, height, channels, data): raw 8-bit rows, top to bottom, channels
 * interleaved (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). */
static int media_from_pixels(lua_State *L) {
    lua_Integer w = luaL_checkinteger(L, 1), h = luaL_checkinteger(L, 2), c = luaL_checkinteger(L, 3);
    size_t n;
    const char *data = luaL_checklstring(L, 4, &n);
    luaL_argcheck(L, w > 0 && w <= 65535, 1, "must be from 1 to 65535");
    luaL_argcheck(L, h > 0 && h <= 65535, 2, "must be from 1 to 65535");
    luaL_argcheck(L, c >= 1 && c <= 4, 3, "must be from 1 to 4");
    luaL_argcheck(L, n == (size_t)(w * h * c), 4, "must hold width * height * channels bytes");
    media_image *img = new_image(L);
    img->pixels = malloc(n);
    if (img->pixels == NULL) return luaL_error(L, "not enough memory");
    memcpy(img->pixels, data, n);
    img->width = (int)w;
    img->height = (int)h;
    img->channels = (int)c;
    account_pixels(L, img);
    return 1;
}

/* ---------------------------------------------------------------- image methods */

static int image_index(lua_State *L) {
    const char *key = lua_tostring(L, 2);
    if (key && (strcmp(key, "width") == 0 || strcmp(key, "height") == 0 || strcmp(key, "channels") == 0)) {
        media_image *img = toimage(L, 1);
        lua_pushinteger(L, key[0] == 'w' ? img->width : key[0] == 'h' ? img->height : img->channels);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

static int image_tostring(lua_State *L) {
    media_image *img = luaL_checkudata(L, 1, IMAGE_MT);
    if (img->pixels == NULL)
        lua_pushliteral(L, "wpl.media.image (closed)");
    else
        lua_pushfstring(L, "wpl.media.image (%dx%d, %d channels)", img->width, img->height, img->channels);
    return 1;
}

/* img:resize{max_width=, max_height=} fits inside and never upscales;
 * img:resize{width=, height=, fit = "inside" | "cover"} scales to that box (one side alone
 * keeps the aspect ratio; "cover" fills the box and crops the overflow, centred).
 * Returns a new image | nil, err. */
static int image_resize(lua_State *L) {
    static const char *const allowed[] = {"max_width", "max_height", "width", "height", "fit", NULL};
    media_image *img = toimage(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_option_names(L, 2, "image:resize", allowed);
    const char *fname = "image:resize";
    lua_Integer max_w = opt_integer(L, 2, fname, "max_width", 0, 1, 65535);
    lua_Integer max_h = opt_integer(L, 2, fname, "max_height", 0, 1, 65535);
    lua_Integer box_w = opt_integer(L, 2, fname, "width", 0, 1, 65535);
    lua_Integer box_h = opt_integer(L, 2, fname, "height", 0, 1, 65535);
    const char *fit = opt_string(L, 2, fname, "fit", "inside");
    bool cover = strcmp(fit, "cover") == 0;
    if (!cover && strcmp(fit, "inside") != 0) luaL_error(L, "%s: 'fit' must be \"inside\" or \"cover\"", fname);
    if ((max_w || max_h) && (box_w || box_h))
        luaL_error(L, "%s: give max_width/max_height or width/height, not both", fname);
    if (!max_w && !max_h && !box_w && !box_h) luaL_error(L, "%s: give max_width/max_height or width/height", fname);
    if (cover && !(box_w && box_h)) luaL_error(L, "%s: fit = \"cover\" needs both width and height", fname);

    double x0 = 0, y0 = 0, win_w = img->width, win_h = img->height;
    int out_w, out_h;
    if (max_w || max_h) {
        fit_inside(img->width, img->height, (int)max_w, (int)max_h, false, &out_w, &out_h);
    } else if (cover) {
        out_w = (int)box_w;
        out_h = (int)box_h;
        double sx = (double)out_w / img->width, sy = (double)out_h / img->height, s = sx > sy ? sx : sy;
        win_w = out_w / s;
        win_h = out_h / s;
        x0 = (img->width - win_w) / 2;
        y0 = (img->height - win_h) / 2;
    } else {
        fit_inside(img->width, img->height, (int)box_w, (int)box_h, true, &out_w, &out_h);
    }
    media_image *out = new_image(L);
    media_error err;
    if (!media_resize(img, x0, y0, win_w, win_h, out_w, out_h, out, &err)) return fail(L, "image", &err);
    account_pixels(L, out);
    return 1;
}

static const char *const encode_options[] = {"format", "quality", "background", "progressive", "lossless", NULL};

/* All but the format, which the callers read (their defaults differ). */
static void read_encode_options(lua_State *L, int t, const char *fname, media_encode_options *e) {
    memset(e, 0, sizeof *e);
    e->quality = (int)opt_integer(L, t, fname, "quality", DEFAULT_QUALITY, 1, 100);
    e->progressive = opt_boolean(L, t, "progressive", false);
    e->lossless = opt_boolean(L, t, "lossless", false);
    opt_background(L, t, fname, e->background);
}

/* img:encode{format = "jpeg" | "png" | "webp", quality = 82, background = "#ffffff",
 * progressive = false, lossless = false} -> bytes | nil, err. Without a format: PNG when the
 * image has alpha, else JPEG. JPEG flattens alpha onto the background. */
static int image_encode(lua_State *L) {
    media_image *img = toimage(L, 1);
    int t = opt_table(L, 2, "image:encode", encode_options);
    media_encode_options e;
    read_encode_options(L, t, "image:encode", &e);
    e.format = opt_format(L, t, "image:encode", NULL, false);
    if (e.format == MEDIA_UNKNOWN) e.format = img->channels == 2 || img->channels == 4 ? MEDIA_PNG : MEDIA_JPEG;
    media_job *job = new_job(L);
    media_error err;
    if (!media_encode(img, &e, &job->encoded, &err)) return fail(L, "image", &err);
    lua_pushlstring(L, (const char *)job->encoded.data, job->encoded.size);
    job_release(job);
    return 1;
}

/* img:pixels() -> the raw rows (see media.from_pixels) */
static int image_pixels(lua_State *L) {
    media_image *img = toimage(L, 1);
    lua_pushlstring(L, (const char *)img->pixels, (size_t)img->width * (size_t)img->height * (size_t)img->channels);
    return 1;
}

/* ---------------------------------------------------------------- optimize */

static const char *const optimize_options[] = {"max_size", "max_width", "max_height", "quality", "format",
                                               "background", "progressive", "lossless", "max_pixels", NULL};

/* The output name: the source's base name, its extension kept when it suits the output
 * format, else replaced by the format's. */
static void push_output_name(lua_State *L, const char *name, media_format format) {
    static const char *const jpeg_ext[] = {"jpg", "jpeg", "jpe", NULL}, *const png_ext[] = {"png", NULL},
                             *const gif_ext[] = {"gif", NULL}, *const webp_ext[] = {"webp", NULL},
                             *const bmp_ext[] = {"bmp", NULL};
    const char *const *exts = format == MEDIA_JPEG ? jpeg_ext : format == MEDIA_PNG ? png_ext
                              : format == MEDIA_GIF ? gif_ext : format == MEDIA_WEBP ? webp_ext : bmp_ext;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (stem == 0) {
        base = "image";
        stem = 5;
        dot = NULL;
    }
    if (dot && dot != base)
        for (const char *const *e = exts; *e; e++)
            if (strcasecmp(dot + 1, *e) == 0) {
                lua_pushstring(L, base);
                return;
            }
    lua_pushfstring(L, "%s.%s", lua_pushlstring(L, base, stem), exts[0]);
    lua_remove(L, -2);
}

static media_format auto_format(media_format source) {
    return source == MEDIA_JPEG || source == MEDIA_WEBP ? source : MEDIA_PNG;
}

static void push_result(lua_State *L, const char *name, const unsigned char *data, size_t size, media_format format,
                        int width, int height, size_t bytes_in, bool changed) {
    lua_createtable(L, 0, 9);
    lua_pushlstring(L, (const char *)data, size);
    lua_setfield(L, -2, "data");
    lua_pushstring(L, media_format_mime(format));
    lua_setfield(L, -2, "mime");
    lua_pushstring(L, media_format_name(format));
    lua_setfield(L, -2, "format");
    push_output_name(L, name, format);
    lua_setfield(L, -2, "filename");
    lua_pushinteger(L, width);
    lua_setfield(L, -2, "width");
    lua_pushinteger(L, height);
    lua_setfield(L, -2, "height");
    lua_pushinteger(L, (lua_Integer)bytes_in);
    lua_setfield(L, -2, "bytes_in");
    lua_pushinteger(L, (lua_Integer)size);
    lua_setfield(L, -2, "bytes_out");
    lua_pushboolean(L, changed);
    lua_setfield(L, -2, "changed");
}

static size_t source_size_of(const source_arg *s) {
    struct stat st;
    if (s->src.data) return s->src.size;
    return fstat(fileno(s->src.file), &st) == 0 ? (size_t)st.st_size : 0;
}

/* The source's bytes without metadata, or false when its structure is broken. */
static bool strip_source(media_job *job, const source_arg *s, const media_info *info, const unsigned char **data,
                         size_t *size, media_error *err) {
    if (!media_source_bytes(&s->src, data, size, &job->original, err)) return false;
    return media_strip_metadata(*data, *size, info->format, &job->stripped, err);
}

static int optimize(lua_State *L, media_job *job, source_arg *s, int t, const char *fname) {
    lua_Integer max_size = opt_integer(L, t, fname, "max_size", DEFAULT_MAX_SIZE, 1, 65535);
    int max_w = (int)opt_integer(L, t, fname, "max_width", max_size, 1, 65535);
    int max_h = (int)opt_integer(L, t, fname, "max_height", max_size, 1, 65535);
    media_format requested = opt_format(L, t, fname, "auto", true);
    media_encode_options e;
    read_encode_options(L, t, fname, &e);
    e.format = requested;
    media_decode_options d = {0};
    d.max_pixels = (uint64_t)opt_integer(L, t, fname, "max_pixels", (lua_Integer)MEDIA_DEFAULT_MAX_PIXELS, 1,
                                         LUA_MAXINTEGER);
    media_info info;
    media_error err;
    if (!media_probe(&s->src, &info, &err) || !media_check_pixels(info.width, info.height, d.max_pixels, &err))
        return fail(L, s->name, &err);
    int width, height;
    oriented_size(&info, &width, &height);
    const unsigned char *source = NULL;
    size_t source_size = 0;

    if (info.animated) { /* published as it is (only metadata chunks go): frames cannot be resized here */
        if (!strip_source(job, s, &info, &source, &source_size, &err)) return fail(L, s->name, &err);
        bool changed = job->stripped.size != source_size || memcmp(job->stripped.data, source, source_size) != 0;
        push_result(L, s->name, job->stripped.data, job->stripped.size, info.format, width, height, source_size,
                    changed);
        return 1;
    }

    int out_w, out_h;
    fit_inside(width, height, max_w, max_h, false, &out_w, &out_h);
    bool resize = out_w != width || out_h != height;
    if (e.format == MEDIA_UNKNOWN) e.format = auto_format(info.format);
    /* Without resizing or rotating, the original (less its metadata) may be the smaller file. */
    bool keep_candidate = !resize && info.orientation == 1 &&
                          (requested == MEDIA_UNKNOWN ? info.format != MEDIA_BMP : requested == info.format) &&
                          strip_source(job, s, &info, &source, &source_size, &err);
    if (resize) {
        bool swap = info.orientation >= 5;
        d.target_width = swap ? out_h : out_w;
        d.target_height = swap ? out_w : out_h;
    }
    if (!media_decode(&s->src, &d, &job->image, &err) || !media_orient(&job->image, info.orientation, &err) ||
        !media_encode(&job->image, &e, &job->encoded, &err))
        return fail(L, s->name, &err);
    media_image_free(&job->image); /* before the result's copy of the bytes: a lower peak */

    size_t bytes_in = source_size_of(s);
    if (keep_candidate && job->stripped.size <= job->encoded.size) {
        bool changed = job->stripped.size != source_size || memcmp(job->stripped.data, source, source_size) != 0;
        push_result(L, s->name, job->stripped.data, job->stripped.size, info.format, width, height, bytes_in, changed);
    } else {
        push_result(L, s->name, job->encoded.data, job->encoded.size, e.format, out_w, out_h, bytes_in, true);
    }
    return 1;
}

/* media.optimize(path [, opts]) -> {data=, mime=, format=, filename=, width=, height=,
 * bytes_in=, bytes_out=, changed=} | nil, err.
 * opts: max_size = 2560 (or max_width=/max_height=), quality = 82, format = "auto" | "jpeg" |
 * "png" | "webp", background = "#ffffff", progressive, lossless, max_pixels = 100e6.
 * "auto" keeps JPEG and WebP, and writes PNG for PNG, GIF and BMP. */
static int media_optimize(lua_State *L) {
    int t = opt_table(L, 2, "media.optimize", optimize_options);
    media_job *job = new_job(L);
    source_arg s;
    media_error err;
    if (!open_path(L, 1, job, &s, &err)) return fail(L, s.name, &err);
    int n = optimize(L, job, &s, t, "media.optimize");
    job_release(job);
    return n;
}

/* media.optimize_bytes(data, filename [, opts]): as media.optimize for bytes in memory;
 * filename names the result and the errors. */
static int media_optimize_bytes(lua_State *L) {
    int t = opt_table(L, 3, "media.optimize_bytes", optimize_options);
    source_arg s;
    bytes_arg(L, 1, &s, luaL_optstring(L, 2, "image"));
    media_job *job = new_job(L);
    int n = optimize(L, job, &s, t, "media.optimize_bytes");
    job_release(job);
    return n;
}

int luaopen_wpl_media(lua_State *L) {
    static const luaL_Reg funcs[] = {
        {"info", media_info_path},   {"info_bytes", media_info_bytes},       {"load", media_load},
        {"load_bytes", media_load_bytes}, {"optimize", media_optimize}, {"optimize_bytes", media_optimize_bytes},
        {"from_pixels", media_from_pixels}, {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"resize", image_resize}, {"encode", image_encode}, {"pixels", image_pixels}, {"close", image_close},
        {NULL, NULL},
    };
    static const luaL_Reg image_meta[] = {
        {"__gc", image_close}, {"__close", image_close}, {"__tostring", image_tostring}, {NULL, NULL},
    };
    luaL_newmetatable(L, IMAGE_MT);
    luaL_setfuncs(L, image_meta, 0);
    luaL_newlib(L, methods);
    lua_pushcclosure(L, image_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newmetatable(L, JOB_MT);
    lua_pushcfunction(L, job_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    luaL_newlib(L, funcs);
    return 1;
}
