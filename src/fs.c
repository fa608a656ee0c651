/* wpl.fs: files and folders for recipes: listing with globs, reading, atomic writing,
 * path helpers, and a check that a path stays inside a root folder. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_LIST_DEPTH 64
#define MAX_LIST_ENTRIES 1000000

static int io_error(lua_State *L, const char *what, const char *path) {
    int e = errno;
    const char *code = e == ENOENT ? "not_found" : e == EACCES || e == EPERM ? "permission" : e == ENOSPC ? "disk_full" : "io";
    return wpl_error_return(L, code, lua_pushfstring(L, "cannot %s '%s': %s", what, path, strerror(e)), 0, false);
}

/* ---------------------------------------------------------------- paths */

static int fs_join(lua_State *L) {
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    bool empty = true;
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *part = luaL_checklstring(L, i, &len);
        if (len == 0) continue;
        if (part[0] == '/') { /* an absolute part starts over, as in most languages */
            luaL_buffsub(&b, (int)luaL_bufflen(&b));
        } else if (!empty && luaL_buffaddr(&b)[luaL_bufflen(&b) - 1] != '/') {
            luaL_addchar(&b, '/');
        }
        luaL_addlstring(&b, part, len);
        empty = false;
    }
    luaL_pushresult(&b);
    return 1;
}

/* "a/b/c.txt" -> "c.txt" (trailing slashes ignored) */
static int fs_basename(lua_State *L) {
    size_t len;
    const char *p = luaL_checklstring(L, 1, &len);
    while (len > 1 && p[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && p[start - 1] != '/') start--;
    lua_pushlstring(L, p + start, len - start);
    return 1;
}

/* "a/b/c.txt" -> "a/b"; "c.txt" -> "."; "/c" -> "/" */
static int fs_dirname(lua_State *L) {
    size_t len;
    const char *p = luaL_checklstring(L, 1, &len);
    while (len > 1 && p[len - 1] == '/') len--;
    while (len > 0 && p[len - 1] != '/') len--;
    while (len > 1 && p[len - 1] == '/') len--;
    if (len == 0) lua_pushliteral(L, ".");
    else lua_pushlstring(L, p, len);
    return 1;
}

/* "photo.JPG" -> "jpg" (lower case, no dot); "" when there is none; dot files have none */
static int fs_extension(lua_State *L) {
    size_t len;
    const char *p = luaL_checklstring(L, 1, &len);
    const char *base = strrchr(p, '/');
    base = base ? base + 1 : p;
    const char *dot = strrchr(base, '.');
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (dot && dot != base)
        for (const char *c = dot + 1; *c; c++) luaL_addchar(&b, (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c));
    luaL_pushresult(&b);
    return 1;
}

/* fs.realpath(p) -> absolute path with links resolved | nil, err */
static int fs_realpath(lua_State *L) {
    const char *p = luaL_checkstring(L, 1);
    wpl_sandbox_check_path(L, p, false);
    char resolved[PATH_MAX];
    if (realpath(p, resolved) == NULL) return io_error(L, "resolve", p);
    lua_pushstring(L, resolved);
    return 1;
}

/* fs.within(root, path) -> absolute path | nil, err: path (relative to root unless absolute)
 * must exist and, links resolved, lie inside root. For paths taken from content. */
static int fs_within(lua_State *L) {
    const char *root = luaL_checkstring(L, 1);
    const char *path = luaL_checkstring(L, 2);
    char real_root[PATH_MAX], real_path[PATH_MAX];
    if (realpath(root, real_root) == NULL) return io_error(L, "resolve", root);
    const char *full = path[0] == '/' ? path : lua_pushfstring(L, "%s/%s", root, path);
    wpl_sandbox_check_path(L, full, false);
    if (realpath(full, real_path) == NULL) return io_error(L, "find", path);
    size_t n = strlen(real_root);
    bool inside = strncmp(real_path, real_root, n) == 0 && (real_path[n] == '/' || real_path[n] == '\0' || n == 1);
    if (!inside)
        return wpl_error_return(L, "outside_root",
                                lua_pushfstring(L, "'%s' is outside the folder '%s'", path, root), 0, false);
    lua_pushstring(L, real_path);
    return 1;
}

/* ---------------------------------------------------------------- metadata */

/* fs.stat(p) -> {type = "file"|"directory"|"other", size=, mtime=, mode=} | nil, err */
static int fs_stat(lua_State *L) {
    const char *p = luaL_checkstring(L, 1);
    wpl_sandbox_check_path(L, p, false);
    struct stat sb;
    if (stat(p, &sb) != 0) return io_error(L, "stat", p);
    lua_createtable(L, 0, 4);
    lua_pushstring(L, S_ISREG(sb.st_mode) ? "file" : S_ISDIR(sb.st_mode) ? "directory" : "other");
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, (lua_Integer)sb.st_size);
    lua_setfield(L, -2, "size");
    lua_pushnumber(L, (lua_Number)sb.st_mtim.tv_sec + (lua_Number)sb.st_mtim.tv_nsec / 1e9);
    lua_setfield(L, -2, "mtime");
    lua_pushinteger(L, sb.st_mode & 07777);
    lua_setfield(L, -2, "mode");
    return 1;
}

static int fs_exists(lua_State *L) {
    struct stat sb;
    wpl_sandbox_check_path(L, luaL_checkstring(L, 1), false);
    lua_pushboolean(L, stat(luaL_checkstring(L, 1), &sb) == 0);
    return 1;
}

static int fs_is_dir(lua_State *L) {
    struct stat sb;
    wpl_sandbox_check_path(L, luaL_checkstring(L, 1), false);
    lua_pushboolean(L, stat(luaL_checkstring(L, 1), &sb) == 0 && S_ISDIR(sb.st_mode));
    return 1;
}

/* fs.mtime(p) -> seconds since the epoch (float) | nil, err */
static int fs_mtime(lua_State *L) {
    const char *p = luaL_checkstring(L, 1);
    wpl_sandbox_check_path(L, p, false);
    struct stat sb;
    if (stat(p, &sb) != 0) return io_error(L, "stat", p);
    lua_pushnumber(L, (lua_Number)sb.st_mtim.tv_sec + (lua_Number)sb.st_mtim.tv_nsec / 1e9);
    return 1;
}

/* ---------------------------------------------------------------- reading and writing */

/* The open file lives in a userdata so that a memory error while reading closes it. */
typedef struct open_file {
    FILE *f;
} open_file;

static int open_file_close(lua_State *L) {
    open_file *of = lua_touserdata(L, 1);
    if (of->f) fclose(of->f);
    of->f = NULL;
    return 0;
}

static open_file *new_open_file(lua_State *L) {
    open_file *of = lua_newuserdatauv(L, sizeof *of, 0);
    of->f = NULL;
    if (luaL_newmetatable(L, "wpl.fs.file")) {
        lua_pushcfunction(L, open_file_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return of;
}

/* fs.read(path [, max_bytes]) -> contents | nil, err */
static int fs_read(lua_State *L) {
    const char *p = luaL_checkstring(L, 1);
    wpl_sandbox_check_path(L, p, false);
    lua_Integer max = luaL_optinteger(L, 2, 1LL << 30);
    open_file *of = new_open_file(L);
    of->f = fopen(p, "rb");
    if (of->f == NULL) return io_error(L, "read", p);
    struct stat sb;
    if (fstat(fileno(of->f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        errno = EISDIR;
        return io_error(L, "read", p);
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t total = 0, n;
    do {
        char *dst = luaL_prepbuffer(&b);
        n = fread(dst, 1, LUAL_BUFFERSIZE, of->f);
        luaL_addsize(&b, n);
        total += n;
        if ((lua_Integer)total > max) {
            return wpl_error_return(L, "too_large", lua_pushfstring(L, "'%s' is larger than %I bytes", p, max), 0, false);
        }
    } while (n == LUAL_BUFFERSIZE);
    bool failed = ferror(of->f);
    luaL_pushresult(&b);
    if (failed) return io_error(L, "read", p);
    return 1;
}

/* fs.write(path, data) -> true | nil, err. Atomic: written to a temporary file beside it,
 * flushed to disk, then renamed over path, so a crash never leaves a half-written file. */
static int fs_write(lua_State *L) {
    const char *p = luaL_checkstring(L, 1);
    wpl_sandbox_check_path(L, p, true);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    const char *tmp = lua_pushfstring(L, "%s.wpl-tmp-%d", p, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return io_error(L, "write", p);
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            errno = e;
            return io_error(L, "write", p);
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, p) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return io_error(L, "write", p);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* fs.mkdir(path) -> true | nil, err: creates missing parents too; an existing folder is fine. */
static int fs_mkdir(lua_State *L) {
    size_t len;
    const char *p = luaL_checklstring(L, 1, &len);
    wpl_sandbox_check_path(L, p, true);
    char *copy = lua_newuserdatauv(L, len + 1, 0);
    memcpy(copy, p, len + 1);
    for (char *c = copy + 1; ; c++) {
        if (*c == '/' || *c == '\0') {
            char saved = *c;
            *c = '\0';
            if (mkdir(copy, 0755) != 0 && errno != EEXIST) return io_error(L, "create folder", copy);
            *c = saved;
            if (saved == '\0') break;
        }
    }
    struct stat sb;
    if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return io_error(L, "create folder", p);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int fs_remove(lua_State *L) {
    const char *p = luaL_checkstring(L, 1);
    wpl_sandbox_check_path(L, p, true);
    if (remove(p) != 0) return io_error(L, "remove", p);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---------------------------------------------------------------- listing */

typedef struct lister {
    lua_State *L;
    int result;           /* index of the result array */
    lua_Integer count;
    const char *glob;     /* NULL: everything */
    bool glob_has_slash;  /* match the relative path rather than the base name */
    bool recursive, dirs, hidden;
} lister;

/* The open directory lives in a userdata so that an error while listing closes it. */
typedef struct open_dir {
    DIR *d;
} open_dir;

static int open_dir_close(lua_State *L) {
    open_dir *od = lua_touserdata(L, 1);
    if (od->d) closedir(od->d);
    od->d = NULL;
    return 0;
}

static int compare_strings(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lists root/rel (rel "" = root itself); appends matches to the result array. */
static int list_dir(lister *ls, const char *root, const char *rel, int depth) {
    lua_State *L = ls->L;
    if (depth > MAX_LIST_DEPTH) return luaL_error(L, "fs.list: folders nested deeper than %d levels", MAX_LIST_DEPTH);
    luaL_checkstack(L, 8, "fs.list");
    const char *dir = *rel ? lua_pushfstring(L, "%s/%s", root, rel) : lua_pushstring(L, root);
    open_dir *od = lua_newuserdatauv(L, sizeof *od, 0);
    od->d = NULL;
    if (luaL_newmetatable(L, "wpl.fs.dir")) {
        lua_pushcfunction(L, open_dir_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    od->d = opendir(dir);
    if (od->d == NULL) {
        int e = errno;
        lua_pop(L, 2);
        errno = e;
        return -1;
    }
    /* collect names first so that the listing is sorted and the directory closed early */
    lua_newtable(L);
    int names = lua_gettop(L);
    lua_Integer n = 0;
    struct dirent *e;
    while ((e = readdir(od->d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (!ls->hidden && e->d_name[0] == '.') continue;
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, names, ++n);
        if (n > MAX_LIST_ENTRIES) return luaL_error(L, "fs.list: more than %d entries in '%s'", MAX_LIST_ENTRIES, dir);
    }
    closedir(od->d);
    od->d = NULL;
    const char **sorted = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *sorted, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, names, i);
        sorted[i - 1] = lua_tostring(L, -1); /* anchored by the names table */
        lua_pop(L, 1);
    }
    qsort(sorted, (size_t)n, sizeof *sorted, compare_strings);
    for (lua_Integer i = 0; i < n; i++) {
        const char *name = sorted[i];
        const char *child_rel = *rel ? lua_pushfstring(L, "%s/%s", rel, name) : lua_pushstring(L, name);
        const char *child = lua_pushfstring(L, "%s/%s", dir, name);
        struct stat sb;
        bool is_dir = stat(child, &sb) == 0 && S_ISDIR(sb.st_mode);
        lua_pop(L, 1);
        const char *subject = ls->glob_has_slash ? child_rel : name;
        bool matches = ls->glob == NULL || fnmatch(ls->glob, subject, FNM_PATHNAME | FNM_PERIOD) == 0;
        if (matches && (!is_dir || ls->dirs)) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, ls->result, ++ls->count);
        }
        if (is_dir && ls->recursive && list_dir(ls, root, child_rel, depth + 1) < 0) {
            /* an unreadable sub-folder is skipped, not fatal */
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 4); /* dir, od, names, sorted */
    return 0;
}

/* fs.list(dir, {recursive = false, glob = "*.md", dirs = false, hidden = false})
 *   -> {relative paths, sorted} | nil, err. A glob without '/' matches base names; with
 *   '/', the whole path relative to dir. */
static int fs_list(lua_State *L) {
    const char *root = luaL_checkstring(L, 1);
    wpl_sandbox_check_path(L, root, false);
    lister ls = {L, 0, 0, NULL, false, false, false, false};
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "recursive");
        ls.recursive = lua_toboolean(L, -1);
        lua_getfield(L, 2, "dirs");
        ls.dirs = lua_toboolean(L, -1);
        lua_getfield(L, 2, "hidden");
        ls.hidden = lua_toboolean(L, -1);
        lua_getfield(L, 2, "glob");
        ls.glob = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
        lua_pop(L, 3); /* glob stays: anchored */
    }
    ls.glob_has_slash = ls.glob && strchr(ls.glob, '/');
    lua_newtable(L);
    ls.result = lua_gettop(L);
    if (list_dir(&ls, root, "", 0) < 0) return io_error(L, "list", root);
    lua_settop(L, ls.result);
    return 1;
}

int luaopen_wpl_fs(lua_State *L) {
    static const luaL_Reg funcs[] = {
        {"join", fs_join},       {"basename", fs_basename}, {"dirname", fs_dirname}, {"extension", fs_extension},
        {"realpath", fs_realpath}, {"within", fs_within},   {"stat", fs_stat},       {"exists", fs_exists},
        {"is_dir", fs_is_dir},   {"mtime", fs_mtime},       {"read", fs_read},       {"write", fs_write},
        {"mkdir", fs_mkdir},     {"remove", fs_remove},     {"list", fs_list},       {NULL, NULL},
    };
    luaL_newlib(L, funcs);
    return 1;
}
