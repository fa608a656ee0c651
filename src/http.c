/* wpl.http: HTTP(S) on libcurl's multi interface.
 *
 * One multi handle per runtime holds the connection cache, so requests to the same host
 * reuse connections (keep-alive). Transfers are userdata whose __gc frees every C
 * resource, so a Lua error at any point leaks nothing; Lua is never called from inside a
 * curl callback, so no Lua error can unwind through libcurl's frames. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "http_internal.h"
#include "wpl_version.h"

/* ---------------------------------------------------------------- request options */

static long opt_ms(lua_State *L, int t, const char *field, long def) {
    lua_getfield(L, t, field);
    long v = def;
    if (!lua_isnil(L, -1)) {
        int ok;
        lua_Number secs = lua_tonumberx(L, -1, &ok);
        if (!ok || secs <= 0) luaL_error(L, "http.request: '%s' must be a positive number of seconds", field);
        v = (long)(secs * 1000);
        if (v < 1) v = 1;
    }
    lua_pop(L, 1);
    return v;
}

static const char *opt_string(lua_State *L, int t, const char *field) {
    lua_getfield(L, t, field);
    const char *s = NULL;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "http.request: '%s' must be a string", field);
        s = lua_tostring(L, -1);
    }
    lua_pop(L, 1); /* still referenced by the options table */
    return s;
}

/* Appends s percent-encoded (RFC 3986 unreserved characters stay) to b. */
static void add_escaped(luaL_Buffer *b, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            luaL_addchar(b, (char)c);
        } else {
            luaL_addchar(b, '%');
            luaL_addchar(b, hex[c >> 4]);
            luaL_addchar(b, hex[c & 15]);
        }
    }
}

/* Pushes "key=value", both escaped; value at vidx (booleans as true/false). */
static void push_query_pair(lua_State *L, const char *key, int vidx) {
    size_t n;
    const char *v;
    if (lua_type(L, vidx) == LUA_TBOOLEAN) {
        v = lua_toboolean(L, vidx) ? "true" : "false";
        lua_pushstring(L, v);
    } else {
        v = luaL_tolstring(L, vidx, &n);
    }
    v = lua_tolstring(L, -1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    add_escaped(&b, key, strlen(key));
    luaL_addchar(&b, '=');
    add_escaped(&b, v, n);
    luaL_pushresult(&b);
    lua_remove(L, -2);
}

static int compare_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* url + "?" + query, keys sorted; list values as key[]=v (as PHP reads them). */
static const char *build_url(lua_State *L, int opts, const char *url) {
    if (lua_getfield(L, opts, "query") == LUA_TNIL) {
        lua_pop(L, 1);
        return url;
    }
    luaL_checktype(L, -1, LUA_TTABLE);
    int q = lua_gettop(L);
    size_t count = 0;
    for (lua_pushnil(L); lua_next(L, q); lua_pop(L, 1))
        if (lua_type(L, -2) == LUA_TSTRING) count++;
    const char **keys = lua_newuserdatauv(L, (count + 1) * sizeof *keys, 0);
    size_t n = 0;
    for (lua_pushnil(L); lua_next(L, q); lua_pop(L, 1))
        if (lua_type(L, -2) == LUA_TSTRING) keys[n++] = lua_tostring(L, -2);
    qsort(keys, n, sizeof *keys, compare_cstr);

    lua_newtable(L);
    int parts = lua_gettop(L);
    lua_Integer np = 0;
    for (size_t i = 0; i < n; i++) {
        lua_getfield(L, q, keys[i]);
        int v = lua_gettop(L);
        if (lua_istable(L, v)) {
            const char *list_key = lua_pushfstring(L, "%s[]", keys[i]);
            lua_Integer len = (lua_Integer)lua_rawlen(L, v);
            for (lua_Integer j = 1; j <= len; j++) {
                lua_rawgeti(L, v, j);
                push_query_pair(L, list_key, lua_gettop(L));
                lua_rawseti(L, parts, ++np);
                lua_pop(L, 1);
            }
        } else {
            push_query_pair(L, keys[i], v);
            lua_rawseti(L, parts, ++np);
        }
        lua_settop(L, parts);
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, url);
    if (np > 0) luaL_addchar(&b, strchr(url, '?') ? '&' : '?');
    for (lua_Integer i = 1; i <= np; i++) {
        if (i > 1) luaL_addchar(&b, '&');
        lua_rawgeti(L, parts, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_replace(L, q); /* anchored where the query table was */
    lua_settop(L, q);
    return lua_tostring(L, q);
}

/* ---------------------------------------------------------------- errors */

typedef struct error_kind {
    const char *code;
    bool retryable;
    bool request_sent; /* the server may have received the request */
} error_kind;

static error_kind classify(const xfer *x) {
    if (x->too_large) return (error_kind){"too_large", false, true};
    switch (x->result) {
    case CURLE_OPERATION_TIMEDOUT: return (error_kind){"timeout", true, true};
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return (error_kind){"dns", false, false};
    case CURLE_COULDNT_CONNECT: return (error_kind){"connect", true, false};
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED: return (error_kind){"tls", false, false};
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return (error_kind){"invalid_url", false, false};
    case CURLE_FILESIZE_EXCEEDED: return (error_kind){"too_large", false, true};
    case CURLE_TOO_MANY_REDIRECTS: return (error_kind){"redirect", false, true};
    case CURLE_READ_ERROR: return (error_kind){"read", false, true};
    case CURLE_OUT_OF_MEMORY: return (error_kind){"out_of_memory", false, true};
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return (error_kind){"network", true, true};
    default:
        if (x->out_of_memory) return (error_kind){"out_of_memory", false, true};
        return (error_kind){"transport", false, true};
    }
}

static int push_transfer_error(lua_State *L, xfer *x, const request *r, const char *url) {
    error_kind k = classify(x);
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result);
    if (x->too_large)
        detail = lua_pushfstring(L, "response larger than the limit of %I bytes (option max_size)", (lua_Integer)r->max_size);
    lua_pushnil(L);
    wpl_error_push(L, k.code, lua_pushfstring(L, "%s %s: %s", r->method, url, detail), 0, k.retryable);
    lua_remove(L, -2);
    lua_pushboolean(L, k.request_sent);
    lua_setfield(L, -2, "request_sent");
    return 2;
}

/* ---------------------------------------------------------------- response */

/* Pushes {name = value} from the raw header block; names lower-case, repeated headers
 * joined with ", " (as HTTP allows). */
static void push_headers(lua_State *L, const membuf *raw) {
    lua_newtable(L);
    const char *p = raw->p, *end = raw->p + raw->len;
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        bool status_line = line_end - p >= 5 && memcmp(p, "HTTP/", 5) == 0;
        if (colon && colon > p && !status_line) {
            luaL_Buffer name;
            luaL_buffinit(L, &name);
            for (const char *c = p; c < colon; c++) luaL_addchar(&name, (char)tolower((unsigned char)*c));
            luaL_pushresult(&name);
            const char *v = colon + 1, *ve = line_end;
            while (v < ve && (*v == ' ' || *v == '\t')) v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            lua_pushvalue(L, -1);
            if (lua_rawget(L, -3) == LUA_TSTRING) {
                lua_pushliteral(L, ", ");
                lua_pushlstring(L, v, (size_t)(ve - v));
                lua_concat(L, 3);
            } else {
                lua_pop(L, 1);
                lua_pushlstring(L, v, (size_t)(ve - v));
            }
            lua_rawset(L, -3);
        }
        p = eol ? eol + 1 : end;
    }
}

/* ---------------------------------------------------------------- request */

static void read_request(lua_State *L, int opts, request *r) {
    r->method = opt_string(L, opts, "method");
    if (r->method == NULL) r->method = "GET";
    for (const char *c = r->method; *c; c++)
        if (!isupper((unsigned char)*c)) luaL_error(L, "http.request: method must be upper-case letters, got '%s'", r->method);
    r->url = opt_string(L, opts, "url");
    if (r->url == NULL) luaL_error(L, "http.request: 'url' is required");
    lua_getfield(L, opts, "body");
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "http.request: 'body' must be a string (use wpl.json.encode for tables)");
        r->body = lua_tolstring(L, -1, &r->body_len);
    }
    lua_pop(L, 1);
    r->body_file = opt_string(L, opts, "body_file");
    if (r->body && r->body_file) luaL_error(L, "http.request: give 'body' or 'body_file', not both");
    r->cainfo = opt_string(L, opts, "ca_bundle");
    r->timeout_ms = opt_ms(L, opts, "timeout", DEFAULT_TIMEOUT_MS);
    r->connect_timeout_ms = opt_ms(L, opts, "connect_timeout", DEFAULT_CONNECT_TIMEOUT_MS);
    lua_getfield(L, opts, "max_size");
    r->max_size = DEFAULT_MAX_SIZE;
    if (!lua_isnil(L, -1)) {
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0) luaL_error(L, "http.request: 'max_size' must be a positive integer");
        r->max_size = (size_t)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    r->safe_method = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    lua_getfield(L, opts, "follow_redirects");
    r->follow = lua_isnil(L, -1) ? r->safe_method : lua_toboolean(L, -1);
    if (r->follow && !r->safe_method) luaL_error(L, "http.request: follow_redirects is only for GET and HEAD");
    lua_pop(L, 1);
    if (lua_getfield(L, opts, "auth") != LUA_TNIL) {
        luaL_checktype(L, -1, LUA_TTABLE);
        int a = lua_gettop(L);
        r->user = opt_string(L, a, "user");
        r->password = opt_string(L, a, "password");
        if (r->user == NULL || r->password == NULL) luaL_error(L, "http.request: auth needs 'user' and 'password'");
    }
    lua_pop(L, 1);
}

/* Registers the credential in every form a log line could show it in. */
static void protect_credentials(lua_State *L, const request *r) {
    wpl_runtime *rt = wpl_runtime_of(L);
    if (r->password == NULL) return;
    wpl_log_add_secret(rt, r->password, strlen(r->password));
    lua_pushfstring(L, "%s:%s", r->user, r->password);
    size_t n;
    const char *pair = lua_tolstring(L, -1, &n);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)pair[i] << 16;
        if (i + 1 < n) v |= (unsigned char)pair[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)pair[i + 2];
        luaL_addchar(&b, b64[(v >> 18) & 63]);
        luaL_addchar(&b, b64[(v >> 12) & 63]);
        luaL_addchar(&b, i + 1 < n ? b64[(v >> 6) & 63] : '=');
        luaL_addchar(&b, i + 2 < n ? b64[v & 63] : '=');
    }
    luaL_pushresult(&b);
    const char *encoded = lua_tolstring(L, -1, &n);
    wpl_log_add_secret(rt, encoded, n);
    lua_pop(L, 2);
}

/* Pushes the request headers as a curl list owned by x. Values may not hold CR/LF. */
static void set_request_headers(lua_State *L, int opts, xfer *x, const request *r) {
    if (lua_getfield(L, opts, "headers") != LUA_TNIL) {
        luaL_checktype(L, -1, LUA_TTABLE);
        int h = lua_gettop(L);
        for (lua_pushnil(L); lua_next(L, h); lua_pop(L, 1)) {
            if (lua_type(L, -2) != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
                luaL_error(L, "http.request: headers must map names to strings");
            const char *name = lua_tostring(L, -2);
            lua_pushvalue(L, -1);
            const char *value = lua_tostring(L, -1);
            if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
                luaL_error(L, "http.request: header '%s' contains a line break or colon", name);
            const char *line = lua_pushfstring(L, *value ? "%s: %s" : "%s;", name, value);
            struct curl_slist *next = curl_slist_append(x->request_headers, line);
            if (next == NULL) luaL_error(L, "not enough memory");
            x->request_headers = next;
            lua_pop(L, 2);
        }
    }
    lua_pop(L, 1);
    if (r->body_file) { /* no "Expect: 100-continue" round trip before the upload */
        struct curl_slist *next = curl_slist_append(x->request_headers, "Expect:");
        if (next == NULL) luaL_error(L, "not enough memory");
        x->request_headers = next;
    }
}

/* Pushes url without user:password@ (curl puts the credentials into redirect URLs) and
 * returns it. */
static const char *without_userinfo(lua_State *L, const char *url) {
    const char *scheme_end = strstr(url, "://");
    const char *authority = scheme_end ? scheme_end + 3 : url;
    const char *at = strchr(authority, '@');
    const char *path = authority + strcspn(authority, "/?#");
    if (at == NULL || at > path) return lua_pushstring(L, url);
    return lua_pushfstring(L, "%s%s", lua_pushlstring(L, url, (size_t)(authority - url)), at + 1);
}

static bool is_redirect(long status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Builds the response (or the error) of a finished transfer and releases it. */
static int finish_request(lua_State *L, xfer *x) {
    wpl_runtime *rt = wpl_runtime_of(L);
    const request *r = &x->req;
    const char *url = x->full_url;
    double elapsed = (double)(x->finished.tv_sec - x->started.tv_sec) +
                     (double)(x->finished.tv_nsec - x->started.tv_nsec) / 1e9;
    if (x->result != CURLE_OK) {
        wpl_logf(rt, WPL_LOG_DEBUG, "http %s %s failed after %.0f ms: %s", r->method, url, elapsed * 1000,
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result));
        int n = push_transfer_error(L, x, r, url);
        wpl_http_release(x);
        return n;
    }
    CURL *e = x->easy;
    long status = 0, new_connections = 0;
    char *effective = NULL;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &effective);
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &new_connections);
    wpl_logf(rt, WPL_LOG_DEBUG, "http %s %s -> %ld (%.0f ms, %zu bytes)", r->method, url, status, elapsed * 1000,
             x->body.len);

    if (is_redirect(status) && !r->safe_method) {
        char *redirect_url = NULL;
        curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &redirect_url);
        const char *location = redirect_url ? without_userinfo(L, redirect_url) : NULL;
        lua_pushnil(L);
        wpl_error_push(L, "redirect",
                       lua_pushfstring(L,
                                       "%s %s was redirected (%d) to %s; a redirect would turn it into a "
                                       "GET and lose the body, so use the final address as the site URL",
                                       r->method, url, (int)status, location ? location : "(no Location)"),
                       (int)status, false);
        lua_remove(L, -2);
        lua_pushstring(L, location);
        lua_setfield(L, -2, "location");
        wpl_http_release(x);
        return 2;
    }

    lua_createtable(L, 0, 6);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    push_headers(L, &x->headers);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, x->body.p ? x->body.p : "", x->body.len);
    lua_setfield(L, -2, "body");
    without_userinfo(L, effective ? effective : url);
    lua_setfield(L, -2, "url");
    lua_pushnumber(L, elapsed);
    lua_setfield(L, -2, "elapsed");
    lua_pushboolean(L, new_connections > 0);
    lua_setfield(L, -2, "new_connection");
    wpl_http_release(x);
    return 1;
}

/* Continuation of http.request in a task, resumed by the scheduler once the transfer is done. */
static int request_resumed(lua_State *L, int status, lua_KContext xfer_index) {
    (void)status;
    xfer *x = luaL_checkudata(L, (int)xfer_index, XFER_MT);
    if (!x->done) return luaL_error(L, "http.request: task resumed before its transfer finished");
    return finish_request(L, x);
}

/* True when L is a wpl.tasks coroutine that may yield here. */
static bool running_in_task(lua_State *L) {
    if (!lua_isyieldable(L)) return false;
    lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
    lua_pushthread(L);
    bool task = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return task;
}

static bool is_write(const char *method) {
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0;
}

/* --dry-run: the write is logged (with the caller's one-line `dry_run_summary`, if any) and
 * answered with status 200, the request body echoed back and `dry_run = true`. */
static int dry_run_response(lua_State *L, const request *r, const char *url) {
    lua_getfield(L, 1, "dry_run_summary");
    const char *summary = lua_tostring(L, -1);
    size_t bytes = r->body_len;
    struct stat sb;
    if (r->body_file && stat(r->body_file, &sb) == 0) bytes = (size_t)sb.st_size;
    wpl_logf(wpl_runtime_of(L), WPL_LOG_INFO, "dry run: %s %s (%zu bytes)%s%s", r->method, url, bytes,
             summary ? ": " : "", summary ? summary : "");
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, 200);
    lua_setfield(L, -2, "status");
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "application/json");
    lua_setfield(L, -2, "content-type");
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, r->body ? r->body : "", r->body ? r->body_len : 0);
    lua_setfield(L, -2, "body");
    lua_pushstring(L, url);
    lua_setfield(L, -2, "url");
    lua_pushnumber(L, 0);
    lua_setfield(L, -2, "elapsed");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "dry_run");
    return 1;
}

/* http.dry_run([true]) -> whether writes are held back; http.dry_run(true) turns it on.
 * It cannot be turned off from Lua: a recipe may not undo the --dry-run its user asked for. */
static int http_dry_run(lua_State *L) {
    wpl_runtime *rt = wpl_runtime_of(L);
    bool was = rt->dry_run;
    if (!lua_isnoneornil(L, 1)) {
        luaL_argcheck(L, lua_toboolean(L, 1), 1, "dry run can only be turned on");
        rt->dry_run = true;
    }
    lua_pushboolean(L, was);
    return 1;
}

/* Creates the transfer for request r (userdata left on the stack) with every option set. */
static xfer *prepare_transfer(lua_State *L, int opts, const request *r, const char *url) {
    wpl_runtime *rt = wpl_runtime_of(L);
    xfer *x = lua_newuserdatauv(L, sizeof *x, 0);
    memset(x, 0, sizeof *x);
    luaL_setmetatable(L, XFER_MT);
    x->req = *r;
    x->full_url = url;
    x->max_size = r->max_size;
    set_request_headers(L, opts, x, r);

    curl_off_t upload_size = -1;
    if (r->body_file) {
        struct stat sb;
        x->upload = fopen(r->body_file, "rb");
        if (x->upload == NULL || fstat(fileno(x->upload), &sb) != 0) {
            x->result = CURLE_READ_ERROR;
            snprintf(x->errbuf, sizeof x->errbuf, "cannot read body_file '%s': %s", r->body_file, strerror(errno));
            return x;
        }
        upload_size = (curl_off_t)sb.st_size;
    }
    x->easy = curl_easy_init();
    if (x->easy == NULL) luaL_error(L, "not enough memory for a transfer");
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "wpl/" WPL_VERSION_STRING);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_size);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, wpl_http_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, wpl_http_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->request_headers);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, r->follow ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    const char *ca = r->cainfo ? r->cainfo : rt->ca_bundle;
    if (ca) curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    if (r->user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, r->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, r->password);
    }
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (x->upload) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READDATA, x->upload);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, upload_size);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (r->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body); /* the options table keeps it alive */
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
    return x;
}

/* http.request{method=, url=, query=, headers=, body= | body_file=, timeout=, connect_timeout=,
 *              auth={user=, password=}, max_size=, follow_redirects=, ca_bundle=}
 *   -> {status=, headers=, body=, url=, elapsed=, new_connection=} | nil, err
 * Inside a wpl.tasks task the calling coroutine yields while the transfer runs; elsewhere
 * the call blocks (and moves the tasks' transfers along meanwhile). */
static int http_request(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    http_state *st = wpl_http_state(L);
    request r = {0};
    read_request(L, 1, &r);
    const char *url = build_url(L, 1, r.url); /* anchored on the stack */
    wpl_sandbox_check_url(L, url);
    protect_credentials(L, &r);
    if (wpl_runtime_of(L)->dry_run && is_write(r.method)) return dry_run_response(L, &r, url);
    xfer *x = prepare_transfer(L, 1, &r, url);
    int x_index = lua_gettop(L);
    if (x->result != CURLE_OK) { /* failed before it started (unreadable body file) */
        x->done = true;
        return finish_request(L, x);
    }
    wpl_http_record(st, &r, url, x->request_headers);
    wpl_http_submit(L, st, x, x_index);
    if (running_in_task(L)) {
        x->for_task = true;
        lua_pushliteral(L, "wpl.http.wait");
        lua_pushvalue(L, x_index);
        return lua_yieldk(L, 2, x_index, request_resumed);
    }
    wpl_http_wait(L, st, x);
    return finish_request(L, x);
}

/* http.poll(timeout_seconds) -> {transfer, ...}: moves transfers along, waiting up to the
 * timeout for one to finish; returns the finished transfers that tasks wait for. */
static int http_poll(lua_State *L) {
    lua_Number timeout = luaL_optnumber(L, 1, 0);
    http_state *st = wpl_http_state(L);
    lua_getfield(L, LUA_REGISTRYINDEX, DONE_KEY);
    if (lua_rawlen(L, -1) == 0 && (st->in_flight > 0 || st->queue_head))
        wpl_http_drive(L, st, timeout > 0 ? (int)(timeout * 1000) : 0);
    wpl_check_deadline(L);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, DONE_KEY);
    return 1;
}

/* http.pending() -> transfers in flight, transfers queued for a free slot */
static int http_pending(lua_State *L) {
    http_state *st = wpl_http_state(L);
    int queued = 0;
    for (xfer *x = st->queue_head; x; x = x->next_queued) queued++;
    lua_pushinteger(L, st->in_flight);
    lua_pushinteger(L, queued);
    return 2;
}

/* http.limit([n]) -> the previous limit on transfers in flight; sets it to n (1..256) */
static int http_limit(lua_State *L) {
    http_state *st = wpl_http_state(L);
    lua_pushinteger(L, st->max_in_flight);
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer n = luaL_checkinteger(L, 1);
        luaL_argcheck(L, n >= 1 && n <= 256, 1, "must be between 1 and 256");
        st->max_in_flight = (int)n;
        wpl_http_promote_queued(st);
    }
    return 1;
}

/* http.parse_headers(raw) -> {name = value}: header lines as a response has them (names in
 * lower case, repeated headers joined with ", "). */
static int http_parse_headers(lua_State *L) {
    size_t n;
    const char *raw = luaL_checklstring(L, 1, &n);
    membuf m = {(char *)raw, n, n};
    push_headers(L, &m);
    return 1;
}

/* http.escape(s): percent-encodes s for a URL path segment or query value. */
static int http_escape(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    add_escaped(&b, s, n);
    luaL_pushresult(&b);
    return 1;
}

int luaopen_wpl_http(lua_State *L) {
    static const luaL_Reg funcs[] = {
        {"request", http_request}, {"escape", http_escape}, {"poll", http_poll},
        {"pending", http_pending}, {"limit", http_limit}, {"dry_run", http_dry_run},
        {"parse_headers", http_parse_headers}, {NULL, NULL},
    };
    if (luaL_newmetatable(L, XFER_MT)) {
        lua_pushcfunction(L, wpl_http_transfer_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, wpl_http_transfer_gc);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    luaL_newlib(L, funcs);
    /* the set of task coroutines (weak keys), filled by wpl.tasks */
    if (lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
    }
    lua_setfield(L, -2, "task_threads");
    lua_pushstring(L, "wpl/" WPL_VERSION_STRING);
    lua_setfield(L, -2, "user_agent");
    return 1;
}
