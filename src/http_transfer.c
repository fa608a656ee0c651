/* Transfers of wpl.http on the runtime's curl multi handle: their lifetime (userdata whose
 * __gc frees every C resource), the queue beyond the in-flight limit, and the loop that moves
 * them along. Lua is never called from inside a curl callback. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"


/* ---------------------------------------------------------------- buffers & callbacks */

static bool membuf_add(membuf *m, const char *s, size_t n) {
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + n + 1) cap *= 2;
        char *p = realloc(m->p, cap);
        if (p == NULL) return false;
        m->p = p;
        m->cap = cap;
    }
    memcpy(m->p + m->len, s, n);
    m->len += n;
    m->p[m->len] = '\0';
    return true;
}

size_t wpl_http_on_body(char *data, size_t size, size_t nmemb, void *userdata) {
    xfer *x = userdata;
    size_t n = size * nmemb;
    if (x->body.len + n > x->max_size) {
        x->too_large = true;
        return 0;
    }
    if (!membuf_add(&x->body, data, n)) {
        x->out_of_memory = true;
        return 0;
    }
    return n;
}

size_t wpl_http_on_header(char *data, size_t size, size_t nmemb, void *userdata) {
    xfer *x = userdata;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) x->headers.len = 0; /* a new response (after 100, redirects) */
    if (!membuf_add(&x->headers, data, n)) {
        x->out_of_memory = true;
        return 0;
    }
    return n;
}

/* ---------------------------------------------------------------- transfer lifetime */

static void unqueue(xfer *x) {
    http_state *st = x->state;
    xfer **link = &st->queue_head, *prev = NULL;
    while (*link && *link != x) prev = *link, link = &(*link)->next_queued;
    if (*link) *link = x->next_queued;
    if (st->queue_tail == x) st->queue_tail = prev;
    x->queued = false;
    x->next_queued = NULL;
}

/* Frees every C resource of x; idempotent (__gc, __close, and after use). */
void wpl_http_release(xfer *x) {
    if (x->queued) unqueue(x);
    if (x->easy) {
        if (x->attached && x->state->multi) {
            curl_multi_remove_handle(x->state->multi, x->easy);
            x->state->in_flight--;
        }
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    x->attached = false;
    curl_slist_free_all(x->request_headers);
    x->request_headers = NULL;
    if (x->upload) fclose(x->upload);
    x->upload = NULL;
    free(x->body.p);
    free(x->headers.p);
    memset(&x->body, 0, sizeof x->body);
    memset(&x->headers, 0, sizeof x->headers);
}

int wpl_http_transfer_gc(lua_State *L) {
    wpl_http_release(luaL_checkudata(L, 1, XFER_MT));
    return 0;
}

static int state_gc(lua_State *L) {
    http_state *st = lua_touserdata(L, 1);
    if (st->multi) curl_multi_cleanup(st->multi);
    st->multi = NULL;
    return 0;
}

/* The runtime's http state, created on first use (finalised after every transfer, since
 * Lua runs finalisers in reverse order of creation). */
http_state *wpl_http_state(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY) == LUA_TUSERDATA) {
        http_state *st = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return st;
    }
    lua_pop(L, 1);
    const char *load_error;
    if (wpl_curl_load(&load_error) == NULL) luaL_error(L, "%s", load_error);
    http_state *st = lua_newuserdatauv(L, sizeof *st, 0);
    memset(st, 0, sizeof *st);
    st->max_in_flight = 4;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, state_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    st->multi = curl_multi_init();
    if (st->multi == NULL) luaL_error(L, "not enough memory for libcurl");
    curl_multi_setopt(st->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
    lua_setfield(L, LUA_REGISTRYINDEX, STATE_KEY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, DONE_KEY);
    return st;
}

static void attach(http_state *st, xfer *x) {
    clock_gettime(CLOCK_MONOTONIC, &x->started);
    if (curl_multi_add_handle(st->multi, x->easy) != CURLM_OK) {
        x->result = CURLE_FAILED_INIT;
        x->done = true;
        return;
    }
    x->attached = true;
    st->in_flight++;
}

void wpl_http_promote_queued(http_state *st) {
    while (st->queue_head && st->in_flight < st->max_in_flight) {
        xfer *x = st->queue_head;
        unqueue(x);
        attach(st, x);
    }
}

/* Starts x now or queues it; the transfer at x_index stays referenced until it is done. */
void wpl_http_submit(lua_State *L, http_state *st, xfer *x, int x_index) {
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    lua_pushlightuserdata(L, x);
    lua_pushvalue(L, x_index);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    x->state = st;
    if (st->in_flight < st->max_in_flight) {
        attach(st, x);
    } else {
        x->queued = true;
        if (st->queue_tail) st->queue_tail->next_queued = x;
        else st->queue_head = x;
        st->queue_tail = x;
    }
}

static void complete(lua_State *L, http_state *st, xfer *x, CURLcode result) {
    x->result = result;
    x->done = true;
    clock_gettime(CLOCK_MONOTONIC, &x->finished);
    if (x->attached) {
        curl_multi_remove_handle(st->multi, x->easy);
        x->attached = false;
        st->in_flight--;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    lua_pushlightuserdata(L, x);
    lua_rawget(L, -2);
    if (x->for_task) {
        lua_getfield(L, LUA_REGISTRYINDEX, DONE_KEY);
        lua_pushvalue(L, -2);
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushlightuserdata(L, x);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Moves every transfer forward; waits up to wait_ms for activity when none completed. */
void wpl_http_drive(lua_State *L, http_state *st, int wait_ms) {
    for (int round = 0; round < 2; round++) {
        int running = 0, completed = 0;
        curl_multi_perform(st->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(st->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) continue;
            xfer *owner = NULL;
            CURLcode result = msg->data.result;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&owner);
            if (owner) {
                complete(L, st, owner, result);
                completed++;
            }
        }
        wpl_http_promote_queued(st);
        if (completed || round == 1 || wait_ms <= 0) return;
        curl_multi_poll(st->multi, NULL, 0, wait_ms, NULL);
    }
}

void wpl_http_wait(lua_State *L, http_state *st, xfer *x) {
    while (!x->done) {
        wpl_http_drive(L, st, 200);
        wpl_check_deadline(L); /* a run's time limit covers its waits */
    }
}

/* One `name = "value"` line of a curl config file, with \ and " escaped. */
static void config_line(FILE *f, const char *name, const char *value) {
    fprintf(f, "%s = \"", name);
    for (const char *c = value; *c; c++) {
        if (*c == '"' || *c == '\\') fputc('\\', f);
        fputc(*c, f);
    }
    fputs("\"\n", f);
}

/* Writes a curl config file for the request into the folder $WPL_HTTP_RECORD (benchmarks
 * replay wpl's own requests with `curl -K`). Development aid: the files hold credentials. */
void wpl_http_record(http_state *st, const request *r, const char *url, const struct curl_slist *headers) {
    const char *dir = getenv("WPL_HTTP_RECORD");
    if (dir == NULL || *dir == '\0') return;
    unsigned long n = ++st->recorded;
    char path[4096], body_path[4096], user[1024];
    snprintf(path, sizeof path, "%s/%06lu.curl", dir, n);
    snprintf(body_path, sizeof body_path, "%s/%06lu.body", dir, n);
    FILE *f = fopen(path, "w");
    if (f == NULL) return;
    config_line(f, "url", url);
    config_line(f, "request", r->method);
    fputs("silent\noutput = \"/dev/null\"\n", f);
    for (const struct curl_slist *h = headers; h; h = h->next) config_line(f, "header", h->data);
    if (r->user) {
        snprintf(user, sizeof user, "%s:%s", r->user, r->password);
        config_line(f, "user", user);
    }
    if (r->body_file) {
        snprintf(body_path, sizeof body_path, "@%s", r->body_file);
        config_line(f, "data-binary", body_path);
    } else if (r->body) {
        FILE *b = fopen(body_path, "wb");
        if (b) {
            fwrite(r->body, 1, r->body_len, b);
            fclose(b);
            char ref[4100];
            snprintf(ref, sizeof ref, "@%s", body_path);
            config_line(f, "data-binary", ref);
        }
    }
    fclose(f);
}

