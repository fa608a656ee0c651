/* wpl.crypto: secret-key encryption, random bytes, content hashes and the user's key, on
 * libsodium. A key is a 32-byte string; on disk and in $WPL_KEY it is 64 hex characters.
 * Key material held in C buffers is wiped with sodium_memzero before the buffers go. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define KEY_BYTES crypto_secretbox_KEYBYTES
#define KEY_HEX_LEN (2 * KEY_BYTES)
#define HASH_BYTES 32
#define MAX_RANDOM_BYTES (1 << 20)
#define KEY_FILE_MAX 256 /* a key file is 64 hex characters and maybe a newline */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_init_result;
static void init_sodium(void) { sodium_init_result = sodium_init(); }

static const unsigned char *check_key(lua_State *L, int idx) {
    size_t len;
    const char *key = luaL_checklstring(L, idx, &len);
    if (len != KEY_BYTES)
        luaL_argerror(L, idx, lua_pushfstring(L, "a key is %d bytes, got %d (use crypto.load_key or crypto.key_from_hex)",
                                              KEY_BYTES, (int)len));
    return (const unsigned char *)key;
}

/* crypto.seal(plaintext, key) -> nonce .. secretbox(plaintext) */
static int lcrypto_seal(lua_State *L) {
    size_t len;
    const unsigned char *plain = (const unsigned char *)luaL_checklstring(L, 1, &len);
    const unsigned char *key = check_key(L, 2);
    size_t total = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
    luaL_Buffer b;
    unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, total);
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, plain, len, out, key);
    luaL_pushresultsize(&b, total);
    return 1;
}

static int decrypt_failed(lua_State *L, const char *why) {
    return wpl_error_return(L, "decrypt_failed", why, 0, false);
}

/* crypto.open(ciphertext, key) -> plaintext | nil, err {code = "decrypt_failed"} */
static int lcrypto_open(lua_State *L) {
    size_t len;
    const unsigned char *sealed = (const unsigned char *)luaL_checklstring(L, 1, &len);
    const unsigned char *key = check_key(L, 2);
    if (len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return decrypt_failed(L, "cannot decrypt: the data is too short to come from crypto.seal (truncated or damaged)");
    size_t plain_len = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    luaL_Buffer b;
    unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, plain_len);
    if (crypto_secretbox_open_easy(out, sealed + crypto_secretbox_NONCEBYTES, len - crypto_secretbox_NONCEBYTES,
                                   sealed, key) != 0)
        return decrypt_failed(L, "cannot decrypt: the key is wrong or the data is damaged");
    luaL_pushresultsize(&b, plain_len);
    return 1;
}

/* crypto.random(n) -> n random bytes (0 <= n <= 1 MiB) */
static int lcrypto_random(lua_State *L) {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= MAX_RANDOM_BYTES, 1, "must be between 0 and 1048576");
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, (size_t)n);
    randombytes_buf(out, (size_t)n);
    luaL_pushresultsize(&b, (size_t)n);
    return 1;
}

/* crypto.hash(data) -> 64 hex characters (BLAKE2b-256, crypto_generichash) */
static int lcrypto_hash(lua_State *L) {
    size_t len;
    const unsigned char *data = (const unsigned char *)luaL_checklstring(L, 1, &len);
    unsigned char digest[HASH_BYTES];
    char hex[2 * HASH_BYTES + 1];
    crypto_generichash(digest, sizeof digest, data, len, NULL, 0);
    lua_pushstring(L, sodium_bin2hex(hex, sizeof hex, digest, sizeof digest));
    return 1;
}

/* crypto.hash_file(path [, suffix]) -> hex | nil, err: the hash of the file's bytes followed by
 * suffix, read in pieces (a large photo is never held in memory whole). Equals
 * crypto.hash(contents .. suffix). */
static int lcrypto_hash_file(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    size_t suffix_len = 0;
    const char *suffix = luaL_optlstring(L, 2, "", &suffix_len);
    wpl_sandbox_check_path(L, path, false);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return wpl_error_return(L, errno == ENOENT ? "not_found" : "io",
                                lua_pushfstring(L, "cannot read '%s': %s", path, strerror(errno)), 0, false);
    crypto_generichash_state state;
    crypto_generichash_init(&state, NULL, 0, HASH_BYTES);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) crypto_generichash_update(&state, buf, n);
    bool failed = ferror(f);
    fclose(f);
    if (failed) return wpl_error_return(L, "io", lua_pushfstring(L, "cannot read '%s'", path), 0, false);
    crypto_generichash_update(&state, (const unsigned char *)suffix, suffix_len);
    unsigned char digest[HASH_BYTES];
    char hex[2 * HASH_BYTES + 1];
    crypto_generichash_final(&state, digest, sizeof digest);
    lua_pushstring(L, sodium_bin2hex(hex, sizeof hex, digest, sizeof digest));
    return 1;
}

/* Decodes exactly 64 hex characters; false when hex is anything else. */
static bool parse_hex_key(const char *hex, size_t len, unsigned char key[KEY_BYTES]) {
    size_t bin_len = 0;
    const char *end = NULL;
    if (len != KEY_HEX_LEN) return false;
    return sodium_hex2bin(key, KEY_BYTES, hex, len, NULL, &bin_len, &end) == 0 && bin_len == KEY_BYTES &&
           end == hex + len;
}

static const char key_format[] = "64 hexadecimal characters (32 bytes), as written by crypto.key_to_hex";

/* crypto.key_from_hex(hex) -> key | nil, err {code = "invalid_key"} */
static int lcrypto_key_from_hex(lua_State *L) {
    size_t len;
    const char *hex = luaL_checklstring(L, 1, &len);
    unsigned char key[KEY_BYTES];
    if (!parse_hex_key(hex, len, key))
        return wpl_error_return(L, "invalid_key", lua_pushfstring(L, "not a key: a key is %s", key_format), 0, false);
    lua_pushlstring(L, (const char *)key, KEY_BYTES);
    sodium_memzero(key, sizeof key);
    return 1;
}

/* crypto.key_to_hex(key) -> 64 hex characters */
static int lcrypto_key_to_hex(lua_State *L) {
    const unsigned char *key = check_key(L, 1);
    char hex[KEY_HEX_LEN + 1];
    lua_pushstring(L, sodium_bin2hex(hex, sizeof hex, key, KEY_BYTES));
    sodium_memzero(hex, sizeof hex);
    return 1;
}

/* ---------------------------------------------------------------- load_key */

/* Pushes the key decoded from text (surrounding blanks ignored) and registers its hex form
 * as a log secret; false when text is malformed. */
static bool push_key_from_text(lua_State *L, const char *text, size_t len) {
    while (len > 0 && strchr(" \t\r\n", text[len - 1])) len--;
    while (len > 0 && strchr(" \t\r\n", text[0])) text++, len--;
    unsigned char key[KEY_BYTES];
    if (!parse_hex_key(text, len, key)) return false;
    wpl_log_add_secret(wpl_runtime_of(L), text, len);
    lua_pushlstring(L, (const char *)key, KEY_BYTES);
    sodium_memzero(key, sizeof key);
    return true;
}

static int key_error(lua_State *L, const char *code, const char *message) {
    return wpl_error_return(L, code, message, 0, false);
}

/* Writes a new random key to path, mode 0600, never over an existing file. Returns 0 or an
 * errno value (EEXIST: someone else created it first). */
static int create_key_file(const char *path) {
    char dir[4096];
    int err = wpl_make_parent_dirs(path, dir, sizeof dir);
    if (err != 0) return err;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) return errno;
    unsigned char key[KEY_BYTES];
    char text[KEY_HEX_LEN + 2];
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(text, sizeof text, key, sizeof key);
    text[KEY_HEX_LEN] = '\n';
    size_t done = 0;
    while (done < KEY_HEX_LEN + 1) {
        ssize_t n = write(fd, text + done, KEY_HEX_LEN + 1 - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += (size_t)n;
    }
    err = done == KEY_HEX_LEN + 1 && fsync(fd) == 0 ? 0 : (errno ? errno : EIO);
    sodium_memzero(key, sizeof key);
    sodium_memzero(text, sizeof text);
    if (close(fd) != 0 && err == 0) err = errno;
    if (err != 0) unlink(path);
    return err;
}

/* Reads the key file at path (created first when missing and create is set); pushes the
 * key or nil, err. The file must be a regular file of ours that only we can read. */
static int load_key_file(lua_State *L, const char *path, bool create) {
    int fd = -1;
    for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0 || errno != ENOENT) break;
        if (!create)
            return key_error(L, "key_missing", lua_pushfstring(L, "no key file '%s' (and WPL_KEY is not set)", path));
        int err = create_key_file(path);
        if (err != 0 && err != EEXIST)
            return key_error(L, "key_file", lua_pushfstring(L, "cannot create key file '%s': %s", path, strerror(err)));
    }
    if (fd < 0)
        return key_error(L, "key_file", lua_pushfstring(L, "cannot open key file '%s': %s", path, strerror(errno)));
    /* the message is formatted in C so that no Lua error can leak fd */
    struct stat st;
    char problem[4400] = "";
    const char *code = "key_permissions";
    if (fstat(fd, &st) != 0) {
        snprintf(problem, sizeof problem, "cannot read key file '%s': %s", path, strerror(errno));
        code = "key_file";
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(problem, sizeof problem, "key file '%s' is not a regular file", path);
        code = "key_file";
    } else if (st.st_uid != geteuid()) {
        snprintf(problem, sizeof problem, "key file '%s' belongs to another user (uid %d); it must be yours", path,
                 (int)st.st_uid);
    } else if (st.st_mode & 077) {
        snprintf(problem, sizeof problem, "key file '%s' is open to other users (mode %04o); fix it with: chmod 600 '%s'",
                 path, (unsigned)(st.st_mode & 07777), path);
    }
    if (problem[0]) {
        close(fd);
        return key_error(L, code, problem);
    }
    char text[KEY_FILE_MAX + 1];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof text && ((n = read(fd, text + len, sizeof text - len)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0) len += (size_t)n;
    close(fd);
    bool ok = len <= KEY_FILE_MAX && push_key_from_text(L, text, len);
    sodium_memzero(text, sizeof text);
    if (ok) return 1;
    return key_error(L, "invalid_key", lua_pushfstring(L, "key file '%s' is malformed: it must hold %s", path, key_format));
}

/* crypto.load_key([{path = key_file, create = true}]) -> key | nil, err
 * From opts.path if given, else $WPL_KEY, else $XDG_CONFIG_HOME/wpl/key (~/.config/wpl/key),
 * which is created with a new random key when missing (unless create = false). */
static int lcrypto_load_key(lua_State *L) {
    const char *path = NULL;
    bool create = true;
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
            if (strcmp(key, "path") == 0 && lua_type(L, -1) == LUA_TSTRING) path = lua_tostring(L, -1);
            else if (strcmp(key, "create") == 0 && lua_isboolean(L, -1)) create = lua_toboolean(L, -1);
            else luaL_error(L, "crypto.load_key: bad option '%s' (known: path = string, create = boolean)", key);
            lua_pop(L, 1);
        }
    }
    if (path == NULL) {
        const char *env = getenv("WPL_KEY");
        if (env && env[0]) {
            if (push_key_from_text(L, env, strlen(env))) return 1;
            return key_error(L, "invalid_key", lua_pushfstring(L, "WPL_KEY is malformed: it must hold %s", key_format));
        }
        if (!wpl_push_xdg_path(L, "XDG_CONFIG_HOME", ".config", "wpl/key"))
            return key_error(L, "key_missing", "no key: set WPL_KEY or HOME");
        path = lua_tostring(L, -1);
    }
    return load_key_file(L, path, create);
}

int luaopen_wpl_crypto(lua_State *L) {
    pthread_once(&sodium_once, init_sodium);
    if (sodium_init_result < 0) return luaL_error(L, "libsodium failed to initialise");
    static const luaL_Reg funcs[] = {
        {"seal", lcrypto_seal}, {"open", lcrypto_open}, {"random", lcrypto_random}, {"hash", lcrypto_hash}, {"hash_file", lcrypto_hash_file},
        {"key_from_hex", lcrypto_key_from_hex}, {"key_to_hex", lcrypto_key_to_hex}, {"load_key", lcrypto_load_key},
        {NULL, NULL},
    };
    luaL_newlib(L, funcs);
    return 1;
}
