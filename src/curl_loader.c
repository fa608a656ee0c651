/* libcurl, loaded on first use. Linking it would make every start of wpl (and of every host
 * program) pay for loading its ~30 libraries and their initialisers (about 3 ms), although
 * many runs never send a request. The functions wpl uses are looked up once per process. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "curl_loader.h"

static wpl_curl_api api;
static const char *load_error;
static char load_error_buf[512];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        snprintf(load_error_buf, sizeof load_error_buf, "cannot load libcurl: %s", dlerror());
        load_error = load_error_buf;
        return;
    }
    struct {
        const char *name;
        void **slot;
    } symbols[] = {
#define WPL_CURL_SYMBOL(field, name) {#name, (void **)&api.field},
        WPL_CURL_SYMBOLS
#undef WPL_CURL_SYMBOL
    };
    for (size_t i = 0; i < sizeof symbols / sizeof *symbols; i++) {
        *symbols[i].slot = dlsym(lib, symbols[i].name);
        if (*symbols[i].slot == NULL) {
            snprintf(load_error_buf, sizeof load_error_buf, "libcurl lacks %s (version 7.85 or later is needed)",
                     symbols[i].name);
            load_error = load_error_buf;
            return;
        }
    }
    CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(load_error_buf, sizeof load_error_buf, "libcurl failed to initialise: %s", api.easy_strerror(rc));
        load_error = load_error_buf;
    }
}

const wpl_curl_api *wpl_curl_load(const char **error) {
    pthread_once(&load_once, load);
    *error = load_error;
    return load_error ? NULL : &api;
}

const wpl_curl_api *wpl_curl(void) { return &api; }
