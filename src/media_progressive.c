/* wpl.media: a decoder for progressive JPEGs that are to be shrunk (DCT scale M/8, M = 1, 2
 * or 4), the case where libjpeg is slowest and largest: it keeps all 64 coefficients of every
 * block (72 MB for a 17.9 MP 4:2:2 photo) until the last scan, then scales. Here a block keeps
 * only the coefficients its scaled inverse DCT reads (M x M for luma) plus one bit per
 * coefficient saying whether it is non-zero, which is all that refinement scans need of the
 * others; the inverse DCT evaluates the block's cosine series at the output sample positions,
 * chroma directly at full output resolution (so no upsampling step).
 *
 * Scans are decoded on up to MAX_THREADS threads: a block's coefficients in one scan depend
 * only on the same block in the earlier scans of its component (of its kind, DC or AC), so a
 * scan can follow its predecessor row by row. The threads are joined before returning and
 * share nothing outside this call.
 *
 * Anything outside that case (arithmetic coding, 12-bit, CMYK, odd sampling factors) is
 * declined before any large allocation and decoded by libjpeg instead (media_jpeg.c). Every
 * read is bounds-checked, and damaged or truncated data fails the decode as with libjpeg. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "media_internal.h"

#define MAX_COMPONENTS 3
#define MAX_SCANS 200
#define MAX_THREADS 4
#define MIN_BYTES_PER_THREAD (256 * 1024) /* smaller files are decoded on the calling thread */
#define FAST_BITS 9

/* Zigzag order: natural position of the k-th coefficient; padded for runs past the end. */
static const unsigned char natural_order[64 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13,
    6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31,
    39, 46, 53, 60, 61, 54, 47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63};

typedef struct huffman {
    unsigned short fast[1 << FAST_BITS]; /* (length << 8) | symbol for codes up to FAST_BITS; 0 = longer */
    int max_code[18];                     /* largest code of each length, left-aligned to 16 bits, + 1 */
    int first_index[17];                  /* index in values of the first code of each length, minus that code */
    unsigned char values[256];
    bool defined;
} huffman;

typedef struct component {
    int id, h, v, quant;
    int blocks_w, blocks_h;     /* blocks coded in a scan of this component alone */
    int stride_w, stride_h;     /* blocks stored: whole MCUs */
    int out_w, out_h;           /* output samples per block (scaled inverse DCT size) */
    int kept;                   /* coefficients kept per block: out_w * out_h */
    int block_size;             /* shorts per block: the kept ones and a scratch slot for the others */
    signed char slot[64];       /* zigzag index -> position among the kept ones, or the scratch slot */
    unsigned long long kept_mask; /* bit k set when zigzag coefficient k is kept */
    short *coefs;               /* stride_w * stride_h * block_size */
    unsigned long long *nonzero; /* per block: bit k set when zigzag coefficient k (k >= 1) is non-zero */
    unsigned char *plane;       /* one iMCU row of output samples */
    size_t plane_stride;
} component;

typedef struct bit_reader {
    const unsigned char *p, *end;
    unsigned long long bits; /* next bit is the most significant */
    int count;
    int padding; /* zero bits fed after a marker or the end of the data */
} bit_reader;

/* One scan, as read from its header, with copies of the Huffman tables in force then. */
typedef struct scan {
    int ncomp, comps[MAX_COMPONENTS];
    int ss, se, ah, al, restart_interval;
    const unsigned char *data, *end; /* entropy-coded segment, restart markers included */
    huffman tables[MAX_COMPONENTS];  /* DC scans: one per component; AC scans: [0] */
    int after[MAX_COMPONENTS];       /* per component: the latest earlier scan of the same kind, or -1 */
    int rows;                        /* progress unit: MCU rows (several components) or block rows */
    atomic_int done;                 /* rows finished */
} scan;

typedef struct progressive {
    const unsigned char *data, *end, *p;
    media_error *err;
    int width, height, ncomp, hmax, vmax, mcus_x, mcus_y, restart_interval, scale;
    bool rgb;             /* the three components are R, G, B rather than Y, Cb, Cr */
    bool release_consumed; /* data is a file mapping: give back its pages once read */
    component comp[MAX_COMPONENTS];
    huffman dc[4], ac[4]; /* as defined so far while reading the headers */
    unsigned short quant[4][64]; /* natural order */
    bool quant_defined[4];
    float idct[9][8][8];  /* [size][frequency][sample]: sizes 1, 2, 4, 8 */
    scan *scans;
    int nscans, threads;
    scan last[2]; /* what the output waits for: per component, the last DC [0] and AC [1] scans */
    /* while the scans are decoded */
    pthread_mutex_t lock;
    pthread_cond_t progress;
    atomic_int next_scan;
    atomic_bool failed;
} progressive;

/* Records the first failure (any thread); the others stop at their next row. */
static bool corrupt(progressive *d, const char *what) {
    if (d->threads > 1) pthread_mutex_lock(&d->lock);
    if (!atomic_load(&d->failed)) media_set_error(d->err, "corrupt_image", "corrupt JPEG: %s", what);
    atomic_store(&d->failed, true);
    if (d->threads > 1) {
        pthread_cond_broadcast(&d->progress);
        pthread_mutex_unlock(&d->lock);
    }
    return false;
}

/* ---------------------------------------------------------------- bits */

/* The scan loops keep the reader in a local variable and pass it only to inline functions,
 * so that it lives in registers; the rare slow refill takes and returns it by value. */
#define INLINE static inline __attribute__((always_inline))

/* Byte by byte: stuffed zeros, markers (zeros are fed after one) and the end of the data. */
static bit_reader refill_slow(bit_reader br) {
    while (br.count <= 56) {
        unsigned byte = 0;
        if (br.p < br.end && br.padding == 0) {
            byte = *br.p;
            if (byte == 0xFF) {
                if (br.p + 1 < br.end && br.p[1] == 0x00) {
                    br.p += 2;
                } else { /* a marker: leave it for the caller */
                    byte = 0;
                    br.padding += 8;
                }
            } else {
                br.p++;
            }
        } else if (br.padding < (1 << 24)) {
            br.padding += 8;
        }
        br.bits |= (unsigned long long)byte << (56 - br.count);
        br.count += 8;
    }
    return br;
}

/* Tops the reader up to at least 56 bits: whole bytes at once when none of them is 0xFF. */
INLINE void refill(bit_reader *br) {
    if (br->count > 56) return;
    int n = (64 - br->count) >> 3;
    if (n > 7) n = 7;
    if (br->padding == 0 && br->end - br->p >= 8) {
        unsigned long long x;
        memcpy(&x, br->p, sizeof x);
        x = __builtin_bswap64(x); /* the first byte on top */
        unsigned long long below = ~0ull >> (8 * n);
        unsigned long long inverted = ~x | below; /* the n bytes taken: 0x00 where a 0xFF was */
        bool has_ff = ((inverted - 0x0101010101010101ull) & ~inverted & 0x8080808080808080ull) != 0;
        if (!has_ff) {
            br->bits |= (x & ~below) >> br->count;
            br->count += 8 * n;
            br->p += n;
            return;
        }
    }
    *br = refill_slow(*br);
}

INLINE unsigned get_bits(bit_reader *br, int n) { /* 1 <= n <= 32 */
    if (br->count < n) refill(br);
    unsigned v = (unsigned)(br->bits >> (64 - n));
    br->bits <<= n;
    br->count -= n;
    return v;
}

INLINE unsigned get_bit(bit_reader *br) {
    if (br->count < 1) refill(br);
    unsigned v = (unsigned)(br->bits >> 63);
    br->bits <<= 1;
    br->count--;
    return v;
}

INLINE void skip_bits(bit_reader *br, int n) {
    for (; n > 32; n -= 32) get_bits(br, 32);
    if (n > 0) get_bits(br, n);
}

/* Zigzag positions from .. to - 1 as a bit set. */
INLINE unsigned long long band(int from, int to) {
    if (from >= to) return 0;
    unsigned long long below_to = to >= 64 ? ~0ull : (1ull << to) - 1;
    return below_to & ~((1ull << from) - 1);
}

/* The value of an s-bit magnitude category (s = 1..15). */
INLINE int extend(unsigned v, int s) { return v < (1u << (s - 1)) ? (int)v - (1 << s) + 1 : (int)v; }

static int decode_slow(bit_reader *br, const huffman *h) {
    unsigned code16 = (unsigned)(br->bits >> 48);
    for (int len = FAST_BITS + 1; len <= 16; len++) {
        if ((int)code16 < h->max_code[len]) {
            int index = h->first_index[len] + (int)(code16 >> (16 - len));
            br->bits <<= len;
            br->count -= len;
            return index >= 0 && index < 256 ? h->values[index] : 0;
        }
    }
    br->count = 0; /* no such code: the data is damaged */
    br->bits = 0;
    br->padding += 64;
    return 0;
}

INLINE int decode_symbol(bit_reader *br, const huffman *h) {
    if (br->count < 16) refill(br);
    unsigned entry = h->fast[br->bits >> (64 - FAST_BITS)];
    if (entry) {
        int len = entry >> 8;
        br->bits <<= len;
        br->count -= len;
        return entry & 0xFF;
    }
    bit_reader copy = *br; /* the slow path must not see the address of the caller's reader */
    int symbol = decode_slow(&copy, h);
    *br = copy;
    return symbol;
}

/* True when the scan used bits that were not in the data (it was cut short). */
INLINE bool ran_past_end(const bit_reader *br) { return br->padding > 0 && br->count < br->padding; }

/* ---------------------------------------------------------------- headers */

/* The next marker (0xFF and a code other than 0 or 0xFF) at or after p, skipping what is in
 * between as libjpeg does (the unread padding of the last byte of a scan, for one); or NULL. */
static const unsigned char *next_marker(const unsigned char *p, const unsigned char *end) {
    for (; p + 1 < end; p++)
        if (p[0] == 0xFF && p[1] != 0x00 && p[1] != 0xFF) return p;
    return NULL;
}

/* The end of the entropy-coded data starting at p: the first marker that is not a restart. */
static const unsigned char *scan_data_end(const unsigned char *p, const unsigned char *end) {
    for (;;) {
        p = next_marker(p, end);
        if (p == NULL) return end;
        if (p[1] < 0xD0 || p[1] > 0xD7) return p;
        p += 2;
    }
}

static unsigned rd16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static bool build_huffman(huffman *h, const unsigned char *counts, const unsigned char *values, int nvalues) {
    memset(h, 0, sizeof *h);
    memcpy(h->values, values, (size_t)nvalues);
    int code = 0, index = 0;
    for (int len = 1; len <= 16; len++) {
        h->first_index[len] = index - code;
        for (int i = 0; i < counts[len - 1]; i++, index++, code++) {
            if (code >= 1 << len) return false; /* more codes than fit */
            if (len <= FAST_BITS) {
                int shift = FAST_BITS - len;
                for (int f = 0; f < 1 << shift; f++)
                    h->fast[(code << shift) | f] = (unsigned short)(len << 8 | values[index]);
            }
        }
        h->max_code[len] = code << (16 - len);
        code <<= 1;
    }
    h->max_code[17] = 0x7fffffff;
    h->defined = true;
    return true;
}

static bool read_dht(progressive *d, const unsigned char *p, size_t len) {
    while (len > 0) {
        if (len < 17) return corrupt(d, "bad Huffman table");
        int cls = p[0] >> 4, id = p[0] & 15, total = 0;
        for (int i = 1; i <= 16; i++) total += p[i];
        if (cls > 1 || id > 3 || total > 256 || len < 17 + (size_t)total) return corrupt(d, "bad Huffman table");
        if (!build_huffman(cls ? &d->ac[id] : &d->dc[id], p + 1, p + 17, total)) return corrupt(d, "bad Huffman table");
        p += 17 + total;
        len -= 17 + (size_t)total;
    }
    return true;
}

static bool read_dqt(progressive *d, const unsigned char *p, size_t len) {
    while (len > 0) {
        int precision = p[0] >> 4, id = p[0] & 15;
        size_t need = 1 + 64 * (size_t)(precision ? 2 : 1);
        if (precision > 1 || id > 3 || len < need) return corrupt(d, "bad quantisation table");
        for (int k = 0; k < 64; k++)
            d->quant[id][natural_order[k]] = (unsigned short)(precision ? rd16(p + 1 + 2 * k) : p[1 + k]);
        d->quant_defined[id] = true;
        p += need;
        len -= need;
    }
    return true;
}

/* SOF2: decline (return 0) what this decoder does not handle; -1 on damage. */
static int read_frame(progressive *d, const unsigned char *p, size_t len) {
    if (len < 6 || p[0] != 8) return 0;
    d->height = (int)rd16(p + 1);
    d->width = (int)rd16(p + 3);
    d->ncomp = p[5];
    if (d->ncomp != 1 && d->ncomp != 3) return 0;
    if (d->width == 0 || d->height == 0 || len < 6 + 3 * (size_t)d->ncomp) return -1;
    for (int i = 0; i < d->ncomp; i++) {
        component *c = &d->comp[i];
        c->id = p[6 + 3 * i];
        c->h = p[7 + 3 * i] >> 4;
        c->v = p[7 + 3 * i] & 15;
        c->quant = p[8 + 3 * i];
        if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4 || c->quant > 3) return -1;
        if (c->h > d->hmax) d->hmax = c->h;
        if (c->v > d->vmax) d->vmax = c->v;
    }
    if (d->ncomp == 1) d->hmax = d->vmax = d->comp[0].h = d->comp[0].v = 1; /* one component: no MCU grouping */
    for (int i = 0; i < d->ncomp; i++) {
        component *c = &d->comp[i];
        /* each block yields scale * (hmax / h) samples across: needs whole ratios within 8 */
        if (d->hmax % c->h || d->vmax % c->v) return 0;
        c->out_w = d->scale * (d->hmax / c->h);
        c->out_h = d->scale * (d->vmax / c->v);
        if (c->out_w > 8 || c->out_h > 8 || (c->out_w & (c->out_w - 1)) || (c->out_h & (c->out_h - 1))) return 0;
    }
    return 1;
}

/* Reads a scan header into a new scan (the entropy-coded data follows it). */
static bool read_sos(progressive *d, const unsigned char *p, size_t len) {
    if (d->nscans == MAX_SCANS) return corrupt(d, "too many progressive scans");
    scan *sc = &d->scans[d->nscans];
    memset(sc, 0, sizeof *sc);
    int n = len >= 1 ? p[0] : 0;
    if (n < 1 || n > d->ncomp || len < 4 + 2 * (size_t)n) return corrupt(d, "bad scan header");
    sc->ncomp = n;
    sc->ss = p[1 + 2 * n];
    sc->se = p[2 + 2 * n];
    sc->ah = p[3 + 2 * n] >> 4;
    sc->al = p[3 + 2 * n] & 15;
    bool dc = sc->ss == 0;
    if (sc->ss > 63 || sc->se > 63 || sc->al > 13 || sc->ah > 13 || (dc && sc->se != 0) ||
        (!dc && (sc->ss > sc->se || n != 1)))
        return corrupt(d, "bad progression parameters");
    for (int i = 0; i < n; i++) {
        int id = p[1 + 2 * i], found = -1;
        for (int c = 0; c < d->ncomp; c++)
            if (d->comp[c].id == id) found = c;
        for (int j = 0; j < i; j++)
            if (sc->comps[j] == found) found = -1;
        if (found < 0) return corrupt(d, "bad scan component");
        sc->comps[i] = found;
        int table = dc ? p[2 + 2 * i] >> 4 : p[2 + 2 * i] & 15;
        const huffman *h = table > 3 ? NULL : dc ? &d->dc[table] : &d->ac[table];
        if (dc && sc->ah > 0) continue; /* DC refinement reads raw bits */
        if (h == NULL || !h->defined) return corrupt(d, "scan uses an undefined Huffman table");
        sc->tables[i] = *h;
    }
    for (int i = 0; i < n; i++) {
        sc->after[i] = -1;
        for (int j = d->nscans - 1; j >= 0 && sc->after[i] < 0; j--) {
            const scan *earlier = &d->scans[j];
            for (int k = 0; k < earlier->ncomp; k++)
                if (earlier->comps[k] == sc->comps[i] && (earlier->ss == 0) == dc) sc->after[i] = j;
        }
    }
    sc->rows = n > 1 ? d->mcus_y : d->comp[sc->comps[0]].blocks_h;
    sc->restart_interval = d->restart_interval;
    atomic_init(&sc->done, 0);
    return true;
}

static bool allocate(progressive *d) {
    d->mcus_x = (d->width + 8 * d->hmax - 1) / (8 * d->hmax);
    d->mcus_y = (d->height + 8 * d->vmax - 1) / (8 * d->vmax);
    for (int i = 0; i < d->ncomp; i++) {
        component *c = &d->comp[i];
        int comp_w = (d->width * c->h + d->hmax - 1) / d->hmax, comp_h = (d->height * c->v + d->vmax - 1) / d->vmax;
        c->blocks_w = (comp_w + 7) / 8;
        c->blocks_h = (comp_h + 7) / 8;
        c->stride_w = d->mcus_x * c->h;
        c->stride_h = d->mcus_y * c->v;
        c->kept = 0;
        for (int k = 0; k < 64; k++) {
            int u = natural_order[k] % 8, v = natural_order[k] / 8;
            if (u < c->out_w && v < c->out_h) {
                c->slot[k] = (signed char)c->kept++;
                c->kept_mask |= 1ull << k;
            }
        }
        c->block_size = c->kept + 1;
        for (int k = 0; k < 64; k++)
            if (!(c->kept_mask >> k & 1)) c->slot[k] = (signed char)c->kept; /* written, never read */
        size_t blocks = (size_t)c->stride_w * (size_t)c->stride_h;
        c->coefs = calloc(blocks * (size_t)c->block_size, sizeof *c->coefs);
        c->nonzero = calloc(blocks, sizeof *c->nonzero);
        c->plane_stride = (size_t)c->stride_w * (size_t)c->out_w;
        c->plane = malloc(c->plane_stride * (size_t)(c->v * c->out_h));
        if (c->coefs == NULL || c->nonzero == NULL || c->plane == NULL) {
            media_set_error(d->err, "out_of_memory", "not enough memory to decode a %dx%d JPEG", d->width, d->height);
            return false;
        }
    }
    for (int size = 1; size <= 8; size *= 2)
        for (int n = 0; n < size; n++)
            for (int u = 0; u < 8; u++)
                d->idct[size][u][n] =
                    (float)((u == 0 ? M_SQRT1_2 : 1.0) / 2 * cos((2 * n + 1) * u * M_PI / (2 * size)));
    return true;
}

/* ---------------------------------------------------------------- scans */

INLINE int popcount64(unsigned long long x) { /* without relying on the POPCNT instruction */
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (int)((x * 0x0101010101010101ull) >> 56);
}

/* The position of the (n+1)-th set bit of x (n counted from 0), or none when x has fewer:
 * the byte is found from the running counts of the bytes (all at once), then the bit. */
INLINE int nth_bit(unsigned long long x, int n, int none) {
    unsigned long long ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    unsigned long long c = x - ((x >> 1) & 0x5555555555555555ull);
    c = (c & 0x3333333333333333ull) + ((c >> 2) & 0x3333333333333333ull);
    c = (c + (c >> 4)) & 0x0f0f0f0f0f0f0f0full;
    unsigned long long running = c * ones; /* byte i: set bits in bytes 0..i */
    if ((int)(running >> 56) <= n) return none;
    /* bytes whose running count is <= n (counts are < 128, so the subtraction cannot borrow across) */
    unsigned long long at_most = (((unsigned long long)n * ones | highs) - running) & highs;
    int byte = (int)(((at_most >> 7) * ones) >> 56);
    int seen = byte ? (int)(running >> (8 * (byte - 1)) & 0xFF) : 0;
    unsigned bits = (unsigned)(x >> (8 * byte)) & 0xFF;
    for (int i = seen; i < n; i++) bits &= bits - 1;
    return 8 * byte + __builtin_ctz(bits);
}

/* Reads a correction bit for each non-zero coefficient in zigzag positions from .. to - 1, in
 * order, and applies those of the kept coefficients (adding 1 << Al to the magnitude). */
INLINE void correct(bit_reader *br, const component *c, short *coefs, unsigned long long nz, int from, int to, int p1) {
    unsigned long long pending = nz & band(from, to); /* positions whose bit is still to be read */
    unsigned long long kept = pending & c->kept_mask;
    while (kept) {
        int j = __builtin_ctzll(kept);
        kept &= kept - 1;
        unsigned long long before = pending & ((1ull << j) - 1);
        if (before) { /* non-kept coefficients in between: their bits are skipped */
            skip_bits(br, popcount64(before));
            pending &= ~before;
        }
        pending &= pending - 1; /* j itself */
        if (get_bit(br)) {
            short *coef = &coefs[c->slot[j]];
            if ((*coef & p1) == 0) *coef = (short)(*coef >= 0 ? *coef + p1 : *coef - p1);
        }
    }
    skip_bits(br, popcount64(pending));
}

enum scan_kind { DC_FIRST, DC_REFINE, AC_FIRST, AC_REFINE };

typedef struct scan_state {
    bit_reader br;
    unsigned eobrun;
    int dc_pred[MAX_COMPONENTS];
} scan_state;

/* One block of a scan (libjpeg's decode_mcu_* for one block, with the same bit consumption).
 * i: the component's place in the scan. */
INLINE void decode_block(const scan *sc, enum scan_kind kind, int i, component *c, size_t block, scan_state *st) {
    bit_reader *br = &st->br;
    short *coefs = c->coefs + block * (size_t)c->block_size;
    if (kind == DC_FIRST) {
        int s = decode_symbol(br, &sc->tables[i]);
        int diff = s ? (s > 15 ? 0 : extend(get_bits(br, s), s)) : 0;
        st->dc_pred[i] = (int)((unsigned)st->dc_pred[i] + (unsigned)diff); /* wraps on damaged data */
        coefs[0] = (short)(int)((unsigned)st->dc_pred[i] << sc->al);
        return;
    }
    if (kind == DC_REFINE) {
        if (get_bit(br)) coefs[0] = (short)(coefs[0] | (1 << sc->al));
        return;
    }
    const huffman *table = &sc->tables[0];
    unsigned long long *nz = &c->nonzero[block];
    int se = sc->se, k = sc->ss;
    if (kind == AC_FIRST) {
        if (st->eobrun > 0) {
            st->eobrun--;
            return;
        }
        unsigned long long mask = *nz;
        for (; k <= se; k++) {
            int rs = decode_symbol(br, table), r = rs >> 4, s = rs & 15;
            if (s) {
                k += r;
                if (k > 63) break;
                int value = extend(get_bits(br, s), s) * (1 << sc->al);
                mask |= 1ull << k;
                coefs[c->slot[k]] = (short)value;
            } else if (r == 15) {
                k += 15;
            } else {
                st->eobrun = (1u << r) - 1;
                if (r) st->eobrun += get_bits(br, r);
                break;
            }
        }
        *nz = mask;
        return;
    }
    /* AC_REFINE: a correction bit for each non-zero coefficient, and new ones of magnitude 1
     * (the loop of libjpeg's decode_mcu_AC_refine, with the runs found in the bit set) */
    int p1 = 1 << sc->al;
    unsigned long long mask = *nz;
    if (st->eobrun == 0) {
        for (; k <= se; k++) {
            int rs = decode_symbol(br, table), r = rs >> 4, s = rs & 15, value = 0;
            if (s) {
                value = get_bit(br) ? p1 : -p1;
            } else if (r != 15) {
                st->eobrun = 1u << r;
                if (r) st->eobrun += get_bits(br, r);
                break;
            }
            /* the new coefficient goes to the (r+1)-th zero one from k */
            unsigned long long zeros = ~mask & band(k, se + 1);
            int target;
            if (r < 4) { /* short runs are the common case: drop the zeros before it */
                for (int j = 0; j < r && zeros; j++) zeros &= zeros - 1;
                target = zeros ? __builtin_ctzll(zeros) : se + 1;
            } else {
                target = nth_bit(zeros, r, se + 1);
            }
            correct(br, c, coefs, mask, k, target, p1);
            k = target;
            if (value && k <= 63) {
                mask |= 1ull << k;
                coefs[c->slot[k]] = (short)value;
            }
        }
    }
    if (st->eobrun > 0) {
        correct(br, c, coefs, mask, k, se + 1, p1);
        st->eobrun--;
    }
    *nz = mask;
}

/* After a restart interval: the RSTn marker, then fresh bits and predictions. Works on a copy
 * of the state so that the scan loop's own stays in registers. */
static bool restart(progressive *d, scan_state *state) {
    scan_state st = *state;
    if (ran_past_end(&st.br)) return corrupt(d, "premature end of data segment");
    const unsigned char *p = next_marker(st.br.p, st.br.end);
    if (p == NULL || p[1] < 0xD0 || p[1] > 0xD7) return corrupt(d, "missing restart marker");
    memset(&st, 0, sizeof st);
    st.br.p = p + 2;
    st.br.end = state->br.end;
    *state = st;
    return true;
}

/* Block rows of component c that scan j has finished (INT_MAX once it is complete). */
static int rows_done(progressive *d, int j, int c) {
    scan *sc = &d->scans[j];
    int done = atomic_load_explicit(&sc->done, memory_order_acquire);
    if (done >= sc->rows) return INT_MAX;
    return sc->ncomp > 1 ? done * d->comp[c].v : done;
}

static bool ready(progressive *d, const scan *sc, int row) {
    for (int i = 0; i < sc->ncomp; i++) {
        if (sc->after[i] < 0) continue;
        int c = sc->comps[i], need = sc->ncomp > 1 ? (row + 1) * d->comp[c].v : row + 1;
        if (rows_done(d, sc->after[i], c) < need) return false;
    }
    return true;
}

/* Waits until the earlier scans have done what row `row` of sc builds on; false on failure. */
static bool wait_for(progressive *d, const scan *sc, int row) {
    if (ready(d, sc, row)) return !atomic_load(&d->failed);
    pthread_mutex_lock(&d->lock);
    while (!atomic_load(&d->failed) && !ready(d, sc, row)) pthread_cond_wait(&d->progress, &d->lock);
    pthread_mutex_unlock(&d->lock);
    return !atomic_load(&d->failed);
}

static void publish(progressive *d, scan *sc, int rows) {
    atomic_store_explicit(&sc->done, rows, memory_order_release);
    if (d->threads > 1) {
        pthread_mutex_lock(&d->lock);
        pthread_cond_broadcast(&d->progress);
        pthread_mutex_unlock(&d->lock);
    }
}

INLINE bool walk_scan(progressive *d, scan *sc, enum scan_kind kind) {
    scan_state st;
    memset(&st, 0, sizeof st);
    st.br.p = sc->data;
    st.br.end = sc->end;
    int todo = sc->restart_interval;
    for (int row = 0; row < sc->rows; row++) {
        if (!wait_for(d, sc, row)) return false;
        if (sc->ncomp == 1) { /* blocks of one component in raster order, without MCU padding */
            component *c = &d->comp[sc->comps[0]];
            size_t first = (size_t)row * (size_t)c->stride_w;
            for (int bx = 0; bx < c->blocks_w; bx++) {
                if (sc->restart_interval && todo-- == 0) {
                    if (!restart(d, &st)) return false;
                    todo = sc->restart_interval - 1;
                }
                decode_block(sc, kind, 0, c, first + (size_t)bx, &st);
            }
        } else { /* interleaved (DC only in progressive files): whole MCUs */
            for (int mx = 0; mx < d->mcus_x; mx++) {
                if (sc->restart_interval && todo-- == 0) {
                    if (!restart(d, &st)) return false;
                    todo = sc->restart_interval - 1;
                }
                for (int i = 0; i < sc->ncomp; i++) {
                    component *c = &d->comp[sc->comps[i]];
                    for (int y = 0; y < c->v; y++)
                        for (int x = 0; x < c->h; x++)
                            decode_block(sc, kind, i, c,
                                         (size_t)(row * c->v + y) * (size_t)c->stride_w + (size_t)(mx * c->h + x), &st);
                }
            }
        }
        if (ran_past_end(&st.br)) return corrupt(d, "premature end of data");
        publish(d, sc, row + 1);
    }
    return true;
}

static bool decode_scan(progressive *d, scan *sc) {
    if (sc->ss == 0) return sc->ah == 0 ? walk_scan(d, sc, DC_FIRST) : walk_scan(d, sc, DC_REFINE);
    return sc->ah == 0 ? walk_scan(d, sc, AC_FIRST) : walk_scan(d, sc, AC_REFINE);
}

/* Gives the pages of the mapped file that only [from, to) used back to the system. */
static void release_pages(progressive *d, const unsigned char *from, const unsigned char *to) {
#ifdef MADV_DONTNEED
    const size_t page = 4096;
    size_t start = ((size_t)(from - d->data) + page - 1) / page * page, stop = (size_t)(to - d->data) / page * page;
    if (d->release_consumed && stop > start) madvise((void *)(d->data + start), stop - start, MADV_DONTNEED);
#else
    (void)d;
    (void)from;
    (void)to;
#endif
}

/* Takes the next scan not yet started, in order, until none is left: an earlier scan is never
 * waiting for a later one, so this cannot deadlock. */
static void *decode_scans(void *arg) {
    progressive *d = arg;
    for (;;) {
        int j = atomic_fetch_add(&d->next_scan, 1);
        if (j >= d->nscans || atomic_load(&d->failed)) break;
        if (!decode_scan(d, &d->scans[j])) break;
        release_pages(d, d->scans[j].data, d->scans[j].end);
    }
    return NULL;
}

/* ---------------------------------------------------------------- output */

static inline unsigned char clamp_byte(float v) {
    if (!(v > 0.0f)) return 0;
    if (v >= 255.0f) return 255;
    return (unsigned char)(v + 0.5f);
}

typedef float float4 __attribute__((vector_size(16)));

static inline void store_bytes4(unsigned char *out, float4 v) {
    for (int i = 0; i < 4; i++) out[i] = clamp_byte(v[i]);
}

/* One block's samples (out_w x out_h) from its kept coefficients, into the plane: the cosine
 * series of the block evaluated at the output sample positions, rows then columns. */
static void inverse_dct(const progressive *d, const component *c, const short *coefs, unsigned long long nz,
                        unsigned char *out, size_t stride) {
    const unsigned short *q = d->quant[c->quant];
    int w = c->out_w, h = c->out_h;
    unsigned long long ac = nz & c->kept_mask;
    if (ac == 0) { /* flat block */
        unsigned char v = clamp_byte(128.0f + (float)coefs[0] * q[0] / 8.0f);
        for (int y = 0; y < h; y++) memset(out + (size_t)y * stride, v, (size_t)w);
        return;
    }
    float f[8][8]; /* [v][u], dequantised, only u < w and v < h used */
    unsigned row_used = 1; /* bit v: row v of f has a non-zero coefficient */
    for (int v = 0; v < h; v++)
        for (int u = 0; u < w; u++) f[v][u] = 0.0f;
    f[0][0] = (float)coefs[0] * q[0];
    while (ac) {
        int k = __builtin_ctzll(ac);
        ac &= ac - 1;
        int pos = natural_order[k];
        f[pos / 8][pos % 8] = (float)coefs[c->slot[k]] * q[pos];
        row_used |= 1u << (pos / 8);
    }
    const float(*tx)[8] = d->idct[w], (*ty)[8] = d->idct[h];
    float rows[8][8] __attribute__((aligned(16))); /* [v][x] */
    for (int v = 0; v < h; v++) {
        if (!(row_used >> v & 1)) continue;
        if (w >= 4) {
            for (int x = 0; x < w; x += 4) {
                float4 sum = {0, 0, 0, 0};
                for (int u = 0; u < w; u++) {
                    float4 t;
                    memcpy(&t, &tx[u][x], sizeof t);
                    sum += f[v][u] * t;
                }
                memcpy(&rows[v][x], &sum, sizeof sum);
            }
        } else {
            for (int x = 0; x < w; x++) {
                float sum = 0;
                for (int u = 0; u < w; u++) sum += f[v][u] * tx[u][x];
                rows[v][x] = sum;
            }
        }
    }
    for (int y = 0; y < h; y++) {
        unsigned char *o = out + (size_t)y * stride;
        if (w >= 4) {
            for (int x = 0; x < w; x += 4) {
                float4 sum = {128.0f, 128.0f, 128.0f, 128.0f};
                for (int v = 0; v < h; v++) {
                    if (!(row_used >> v & 1)) continue;
                    float4 r;
                    memcpy(&r, &rows[v][x], sizeof r);
                    sum += ty[v][y] * r;
                }
                store_bytes4(o + x, sum);
            }
        } else {
            for (int x = 0; x < w; x++) {
                float sum = 128.0f;
                for (int v = 0; v < h; v++)
                    if (row_used >> v & 1) sum += ty[v][y] * rows[v][x];
                o[x] = clamp_byte(sum);
            }
        }
    }
}

/* row: room for one output row. */
static bool emit_rows(progressive *d, unsigned char *row, media_sink *sink, int out_width, int out_height) {
    int channels = d->ncomp == 1 ? 1 : 3;
    int rows_per_mcu = d->scale * d->vmax, y_out = 0;
    for (int my = 0; my < d->mcus_y && y_out < out_height; my++) {
        if (d->threads > 1 && !(wait_for(d, &d->last[0], my) && wait_for(d, &d->last[1], my))) return false;
        for (int i = 0; i < d->ncomp; i++) {
            component *c = &d->comp[i];
            for (int by = 0; by < c->v; by++)
                for (int bx = 0; bx < c->stride_w; bx++) {
                    size_t block = (size_t)(my * c->v + by) * (size_t)c->stride_w + (size_t)bx;
                    inverse_dct(d, c, c->coefs + block * (size_t)c->block_size, c->nonzero[block],
                                c->plane + (size_t)(by * c->out_h) * c->plane_stride + (size_t)(bx * c->out_w),
                                c->plane_stride);
                }
        }
        for (int y = 0; y < rows_per_mcu && y_out < out_height; y++, y_out++) {
            const unsigned char *p0 = d->comp[0].plane + (size_t)y * d->comp[0].plane_stride;
            if (channels == 1) {
                media_sink_row(sink, p0);
                continue;
            }
            const unsigned char *p1 = d->comp[1].plane + (size_t)y * d->comp[1].plane_stride;
            const unsigned char *p2 = d->comp[2].plane + (size_t)y * d->comp[2].plane_stride;
            unsigned char *o = row;
            for (int x = 0; x < out_width; x++, o += 3) {
                if (d->rgb) {
                    o[0] = p0[x];
                    o[1] = p1[x];
                    o[2] = p2[x];
                    continue;
                }
                float luma = p0[x], cb = p1[x] - 128.0f, cr = p2[x] - 128.0f;
                o[0] = clamp_byte(luma + 1.402f * cr);
                o[1] = clamp_byte(luma - 0.344136f * cb - 0.714136f * cr);
                o[2] = clamp_byte(luma + 1.772f * cb);
            }
            media_sink_row(sink, row);
        }
    }
    return true;
}

/* CPUs this process may run on (taskset and cpusets count, not only those online). */
static long usable_cpus(void) {
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
    return sysconf(_SC_NPROCESSORS_ONLN);
}

/* Scans on helper threads (when the file is large enough and there are CPUs for them) while
 * this thread turns finished rows into output. */
static bool decode_and_emit(progressive *d, int threads, media_sink *sink, int out_width, int out_height) {
    int helpers = threads;
    if (helpers <= 0) {
        size_t bytes = 0;
        for (int j = 0; j < d->nscans; j++) bytes += (size_t)(d->scans[j].end - d->scans[j].data);
        long cpus = usable_cpus();
        helpers = cpus < 2 ? 0 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
        if ((size_t)helpers > bytes / MIN_BYTES_PER_THREAD) helpers = (int)(bytes / MIN_BYTES_PER_THREAD);
    }
    if (helpers > MAX_THREADS) helpers = MAX_THREADS;
    if (helpers > d->nscans) helpers = d->nscans;
    pthread_t ids[MAX_THREADS];
    int started = 0;
    unsigned char *row = malloc((size_t)out_width * 3);
    if (row == NULL) {
        media_set_error(d->err, "out_of_memory", "not enough memory to decode a JPEG");
        return false;
    }
    if (helpers > 0) {
        pthread_mutex_init(&d->lock, NULL);
        pthread_cond_init(&d->progress, NULL);
        d->threads = helpers + 1;
        for (; started < helpers; started++)
            if (pthread_create(&ids[started], NULL, decode_scans, d) != 0) break;
        if (started == 0) d->threads = 1;
    }
    if (started == 0) decode_scans(d);
    bool ok = !atomic_load(&d->failed) && emit_rows(d, row, sink, out_width, out_height);
    for (int i = 0; i < started; i++) pthread_join(ids[i], NULL);
    free(row);
    if (helpers > 0) {
        pthread_cond_destroy(&d->progress);
        pthread_mutex_destroy(&d->lock);
    }
    d->threads = 1;
    return ok && !atomic_load(&d->failed);
}

/* ---------------------------------------------------------------- driver */

static void release(progressive *d) {
    for (int i = 0; i < MAX_COMPONENTS; i++) {
        free(d->comp[i].coefs);
        free(d->comp[i].nonzero);
        free(d->comp[i].plane);
    }
    free(d->scans);
    free(d);
}

/* Damage before the frame header declines (libjpeg then reports it); after it, fails. */
static int damaged(progressive *d, bool have_frame, const char *what) {
    corrupt(d, what);
    return have_frame ? -1 : 0;
}

/* Reads every segment and notes where each scan's data is; 1 when done, 0 declined, -1 failed. */
static int read_structure(progressive *d, int out_width, int out_height) {
    bool have_frame = false;
    if (d->end - d->p < 2 || d->p[0] != 0xFF || d->p[1] != 0xD8) return damaged(d, have_frame, "not a JPEG");
    d->p += 2;
    for (;;) {
        const unsigned char *m = next_marker(d->p, d->end);
        if (m == NULL) return damaged(d, have_frame, "premature end of file");
        unsigned marker = m[1];
        d->p = m + 2;
        if (marker == 0xD9) break;
        if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
        if (d->end - d->p < 2) return damaged(d, have_frame, "premature end of file");
        size_t len = rd16(d->p);
        if (len < 2 || (size_t)(d->end - d->p) < len) return damaged(d, have_frame, "premature end of file");
        const unsigned char *body = d->p + 2;
        size_t body_len = len - 2;
        d->p += len;
        switch (marker) {
        case 0xC4:
            if (!read_dht(d, body, body_len)) return have_frame ? -1 : 0;
            break;
        case 0xDB:
            if (!read_dqt(d, body, body_len)) return have_frame ? -1 : 0;
            break;
        case 0xDD:
            if (body_len < 2) return damaged(d, have_frame, "bad restart interval");
            d->restart_interval = (int)rd16(body);
            break;
        case 0xC2: {
            if (have_frame) return damaged(d, have_frame, "two frames");
            int r = read_frame(d, body, body_len);
            if (r <= 0) return r == 0 ? 0 : damaged(d, have_frame, "bad frame header");
            if ((d->width * d->scale + 7) / 8 != out_width || (d->height * d->scale + 7) / 8 != out_height)
                return 0; /* not the size libjpeg computed: leave it to libjpeg */
            if (!allocate(d)) return -1;
            have_frame = true;
            break;
        }
        case 0xDA:
            if (!have_frame) return 0;
            if (!read_sos(d, body, body_len)) return -1;
            d->scans[d->nscans].data = body + body_len;
            d->scans[d->nscans].end = d->p = scan_data_end(body + body_len, d->end);
            d->nscans++;
            break;
        default:
            if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC8 && marker != 0xCC) return have_frame ? -1 : 0;
            break; /* APPn, COM, DNL...: nothing for the pixels */
        }
    }
    if (!have_frame || d->nscans == 0) return damaged(d, have_frame, "no image data");
    for (int kind = 0; kind < 2; kind++) {
        scan *last = &d->last[kind];
        last->ncomp = d->ncomp;
        last->rows = d->mcus_y;
        for (int i = 0; i < d->ncomp; i++) {
            last->comps[i] = i;
            last->after[i] = -1;
            for (int j = 0; j < d->nscans; j++)
                for (int k = 0; k < d->scans[j].ncomp; k++)
                    if (d->scans[j].comps[k] == i && (d->scans[j].ss == 0) == (kind == 0)) last->after[i] = j;
        }
    }
    for (int i = 0; i < d->ncomp; i++)
        if (!d->quant_defined[d->comp[i].quant]) return damaged(d, have_frame, "undefined quantisation table");
    return 1;
}

int media_progressive_decode(const unsigned char *data, size_t size, bool mapped, int scale, bool rgb, int threads,
                             media_sink *sink, int out_width, int out_height, media_error *err) {
    if (scale != 1 && scale != 2 && scale != 4) return 0;
    progressive *d = calloc(1, sizeof *d);
    if (d) d->scans = malloc(sizeof *d->scans * MAX_SCANS);
    if (d == NULL || d->scans == NULL) {
        free(d);
        media_set_error(err, "out_of_memory", "not enough memory to decode a JPEG");
        return -1;
    }
    d->data = d->p = data;
    d->end = data + size;
    d->err = err;
    d->scale = scale;
    d->rgb = rgb;
    d->release_consumed = mapped;
    d->threads = 1;
    atomic_init(&d->next_scan, 0);
    atomic_init(&d->failed, false);
    int r = read_structure(d, out_width, out_height);
    if (r > 0) r = decode_and_emit(d, threads, sink, out_width, out_height) ? 1 : -1;
    release(d);
    return r;
}
