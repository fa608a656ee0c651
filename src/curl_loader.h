/* libcurl through function pointers filled by wpl_curl_load() (curl_loader.c); the usual
 * names below call through them, so the code reads as plain libcurl. Include this instead of
 * <curl/curl.h>. */
#ifndef WPL_CURL_LOADER_H
#define WPL_CURL_LOADER_H

#define CURL_DISABLE_TYPECHECK /* the type-checking macros would call the real symbols */
#include <curl/curl.h>

#define WPL_CURL_SYMBOLS                                   \
    WPL_CURL_SYMBOL(global_init, curl_global_init)         \
    WPL_CURL_SYMBOL(easy_init, curl_easy_init)             \
    WPL_CURL_SYMBOL(easy_cleanup, curl_easy_cleanup)       \
    WPL_CURL_SYMBOL(easy_setopt, curl_easy_setopt)         \
    WPL_CURL_SYMBOL(easy_getinfo, curl_easy_getinfo)       \
    WPL_CURL_SYMBOL(easy_strerror, curl_easy_strerror)     \
    WPL_CURL_SYMBOL(multi_init, curl_multi_init)           \
    WPL_CURL_SYMBOL(multi_cleanup, curl_multi_cleanup)     \
    WPL_CURL_SYMBOL(multi_setopt, curl_multi_setopt)       \
    WPL_CURL_SYMBOL(multi_add_handle, curl_multi_add_handle) \
    WPL_CURL_SYMBOL(multi_remove_handle, curl_multi_remove_handle) \
    WPL_CURL_SYMBOL(multi_perform, curl_multi_perform)     \
    WPL_CURL_SYMBOL(multi_poll, curl_multi_poll)           \
    WPL_CURL_SYMBOL(multi_info_read, curl_multi_info_read) \
    WPL_CURL_SYMBOL(slist_append, curl_slist_append)       \
    WPL_CURL_SYMBOL(slist_free_all, curl_slist_free_all)

typedef struct wpl_curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} wpl_curl_api;

/* Loads libcurl once per process (thread-safe) and runs curl_global_init; NULL and *error set
 * when it cannot. Call before any function below. */
const wpl_curl_api *wpl_curl_load(const char **error);
/* The table filled by a successful wpl_curl_load. */
const wpl_curl_api *wpl_curl(void);

/* curl.h defines these three as macros of their own */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_easy_init (wpl_curl()->easy_init)
#define curl_easy_cleanup (wpl_curl()->easy_cleanup)
#define curl_easy_setopt (wpl_curl()->easy_setopt)
#define curl_easy_getinfo (wpl_curl()->easy_getinfo)
#define curl_easy_strerror (wpl_curl()->easy_strerror)
#define curl_multi_init (wpl_curl()->multi_init)
#define curl_multi_cleanup (wpl_curl()->multi_cleanup)
#define curl_multi_setopt (wpl_curl()->multi_setopt)
#define curl_multi_add_handle (wpl_curl()->multi_add_handle)
#define curl_multi_remove_handle (wpl_curl()->multi_remove_handle)
#define curl_multi_perform (wpl_curl()->multi_perform)
#define curl_multi_poll (wpl_curl()->multi_poll)
#define curl_multi_info_read (wpl_curl()->multi_info_read)
#define curl_slist_append (wpl_curl()->slist_append)
#define curl_slist_free_all (wpl_curl()->slist_free_all)

#endif
