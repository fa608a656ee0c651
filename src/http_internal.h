/* Shared by http.c (the Lua API, requests and responses) and http_transfer.c (transfers on
 * the runtime's curl multi handle, their queue and their lifetime). Not installed. */
#ifndef WPL_HTTP_INTERNAL_H
#define WPL_HTTP_INTERNAL_H

#include "curl_loader.h"
#include <stdbool.h>
#include <time.h>

#include "internal.h"

#define STATE_KEY "wpl.http.state"
#define XFER_MT "wpl.http.transfer"
#define DEFAULT_TIMEOUT_MS 60000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_SIZE (64L * 1024 * 1024)

typedef struct xfer xfer;

/* Per runtime. Transfers beyond max_in_flight wait in a FIFO queue for a free slot. */
typedef struct http_state {
    CURLM *multi;
    int in_flight;
    int max_in_flight;
    unsigned long recorded; /* requests written to $WPL_HTTP_RECORD so far */
    xfer *queue_head, *queue_tail;
} http_state;

typedef struct membuf {
    char *p;
    size_t len, cap;
} membuf;

/* What the response builder needs of the request; the strings stay anchored on the
 * calling coroutine's stack (also across a yield). */
typedef struct request {
    const char *method;
    const char *url;
    const char *body;
    size_t body_len;
    const char *body_file;
    const char *user, *password, *cainfo;
    long timeout_ms, connect_timeout_ms;
    size_t max_size;
    bool follow;
    bool safe_method; /* GET or HEAD */
} request;

struct xfer {
    CURL *easy;
    struct curl_slist *request_headers;
    FILE *upload;
    membuf body;
    membuf headers;   /* raw header lines of the last response */
    size_t max_size;
    bool too_large, out_of_memory, done, attached;
    bool queued;      /* waiting for a slot in state's queue */
    bool for_task;    /* a task waits: report completion through http.poll */
    CURLcode result;
    http_state *state;
    xfer *next_queued;
    request req;
    const char *full_url; /* with the query string */
    struct timespec started, finished;
    char errbuf[CURL_ERROR_SIZE];
};

#define ACTIVE_KEY "wpl.http.active" /* {[lightuserdata] = transfer} while queued or in flight */
#define DONE_KEY "wpl.http.done"     /* finished task transfers not yet handed out by http.poll */
#define TASKS_KEY "wpl.http.tasks"   /* weak set of coroutines run by wpl.tasks */

/* http_transfer.c */
void wpl_http_release(xfer *x);
int wpl_http_transfer_gc(lua_State *L);
http_state *wpl_http_state(lua_State *L);
void wpl_http_promote_queued(http_state *st);
void wpl_http_submit(lua_State *L, http_state *st, xfer *x, int x_index);
void wpl_http_drive(lua_State *L, http_state *st, int wait_ms);
void wpl_http_wait(lua_State *L, http_state *st, xfer *x);
size_t wpl_http_on_body(char *data, size_t size, size_t nmemb, void *userdata);
size_t wpl_http_on_header(char *data, size_t size, size_t nmemb, void *userdata);
void wpl_http_record(http_state *st, const request *r, const char *url, const struct curl_slist *headers);

#endif
