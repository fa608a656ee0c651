/* wpl.markdown: GitHub Flavored Markdown (cmark-gfm: tables, strikethrough, autolinks, task
 * lists) to HTML and to WordPress block markup, and YAML front matter (libyaml).
 *
 *   markdown.to_html(text [, {safe=, smart=}]) -> html | nil, err
 *       GFM as GitHub renders it (cmark-gfm's own HTML renderer).
 *   markdown.front_matter(text) -> meta, body | nil, err
 *   markdown.parse(text [, opts]) -> {meta=, title=, body=, images=, html=, blocks=} | nil, err
 *   markdown.render(text_or_parsed [, opts]) -> markup | nil, err
 *       WordPress-ready output: block markup (format = "blocks", the default) or the same
 *       HTML without block delimiters (format = "html"), image URLs rewritten through
 *       opts.images = {[src as written] = {url=, id=} or url}.
 *
 * Raw HTML in the Markdown passes through (WordPress authors expect it to); safe = true
 * drops it along with javascript:/vbscript:/file:/data: (non-image) URLs.
 *
 * Errors of the input (too large, invalid front matter) are nil, err; misuse (wrong types,
 * unknown options) raises. cmark-gfm keeps process-wide state while it parses (its core
 * extension registry and the inline parser's table of special characters, which attaching
 * extensions rewrites), so parsing is serialized by one lock; no Lua call is made inside it.
 * Every cmark resource is held by a userdata with __gc while Lua code can run. */
#include <pthread.h>
#include <string.h>

#include <cmark-gfm-core-extensions.h>

#include "markdown_internal.h"

#define DOC_MT "wpl.markdown.document"

static pthread_once_t extensions_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t cmark_lock = PTHREAD_MUTEX_INITIALIZER;

static void register_extensions(void) { cmark_gfm_core_extensions_ensure_registered(); }

static const char *const extension_names[] = {"table", "strikethrough", "autolink", "tasklist"};

/* The C resources of one call, freed by __gc if a Lua error cuts the call short. */
typedef struct md_doc {
    cmark_node *doc;
    cmark_iter *iter;
    char *html; /* from cmark_render_html */
    md_buf out;
} md_doc;

static void free_doc_node(md_doc *d) {
    if (d->iter) cmark_iter_free(d->iter);
    if (d->doc) cmark_node_free(d->doc);
    d->iter = NULL;
    d->doc = NULL;
}

/* Frees everything now rather than at the next collection (idempotent). */
static void release_doc(md_doc *d) {
    free_doc_node(d);
    if (d->html) cmark_get_default_mem_allocator()->free(d->html);
    d->html = NULL;
    md_buf_free(&d->out);
}

static int doc_gc(lua_State *L) {
    release_doc(luaL_checkudata(L, 1, DOC_MT));
    return 0;
}

static md_doc *new_doc(lua_State *L) {
    md_doc *d = lua_newuserdatauv(L, sizeof *d, 0);
    memset(d, 0, sizeof *d);
    luaL_setmetatable(L, DOC_MT);
    return d;
}

/* Parses text into d->doc; with render_options >= 0 also renders it with cmark's HTML
 * renderer into d->html (the extensions it needs belong to the parser). */
static void parse_markdown(lua_State *L, md_doc *d, const char *text, size_t len, int options, int render_options) {
    pthread_once(&extensions_once, register_extensions);
    pthread_mutex_lock(&cmark_lock);
    cmark_parser *parser = cmark_parser_new(options);
    if (parser) {
        for (size_t i = 0; i < sizeof extension_names / sizeof *extension_names; i++) {
            cmark_syntax_extension *ext = cmark_find_syntax_extension(extension_names[i]);
            if (ext) cmark_parser_attach_syntax_extension(parser, ext);
        }
        cmark_parser_feed(parser, text, len);
        d->doc = cmark_parser_finish(parser);
        if (d->doc && render_options >= 0)
            d->html = cmark_render_html(d->doc, render_options, cmark_parser_get_syntax_extensions(parser));
        cmark_parser_free(parser);
    }
    pthread_mutex_unlock(&cmark_lock);
    if (d->doc == NULL || (render_options >= 0 && d->html == NULL)) luaL_error(L, "not enough memory");
}

/* ---------------------------------------------------------------- options */

enum { FORMAT_NONE, FORMAT_HTML, FORMAT_BLOCKS };

typedef struct md_options {
    bool safe, smart, title_from_h1;
    int format;
    const char *image_size;
    int images; /* stack index of the image map, or 0 */
} md_options;

static bool read_bool(lua_State *L, int opts, const char *name, bool fallback) {
    int t = lua_getfield(L, opts, name);
    bool v = t == LUA_TNIL ? fallback : lua_toboolean(L, -1);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN)
        luaL_argerror(L, opts, lua_pushfstring(L, "option '%s' must be a boolean", name));
    lua_pop(L, 1);
    return v;
}

static bool is_size_slug(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 40) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

/* Reads the options table at idx (nil allowed); names not in `allowed` raise, so that a
 * misspelt option is not silently ignored. Strings stay valid while the table is on the stack. */
static void read_options(lua_State *L, int idx, const char *const *allowed, md_options *o) {
    memset(o, 0, sizeof *o);
    o->title_from_h1 = true;
    o->image_size = "large";
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        bool known = false;
        for (const char *const *a = allowed; key && *a; a++)
            if (strcmp(key, *a) == 0) known = true;
        if (!known)
            luaL_argerror(L, idx, lua_pushfstring(L, "unknown option '%s'", key ? key : luaL_typename(L, -1)));
    }
    o->safe = read_bool(L, idx, "safe", false);
    o->smart = read_bool(L, idx, "smart", false);
    o->title_from_h1 = read_bool(L, idx, "title_from_h1", true);
    if (lua_getfield(L, idx, "format") != LUA_TNIL) {
        const char *f = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        if (strcmp(f, "blocks") && strcmp(f, "html"))
            luaL_argerror(L, idx, "option 'format' must be \"blocks\" or \"html\"");
        o->format = strcmp(f, "blocks") == 0 ? FORMAT_BLOCKS : FORMAT_HTML;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "image_size") != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING || !is_size_slug(lua_tostring(L, -1)))
            luaL_argerror(L, idx, "option 'image_size' must be a size name such as \"large\" or \"full\"");
        o->image_size = lua_tostring(L, -1); /* anchored by the options table */
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "images") != LUA_TNIL) {
        if (!lua_istable(L, -1)) luaL_argerror(L, idx, "option 'images' must be a table {[src] = {url=, id=}}");
        o->images = lua_gettop(L); /* stays on the stack */
        return;
    }
    lua_pop(L, 1);
}

static int parser_options(const md_options *o) { return o->smart ? CMARK_OPT_SMART : CMARK_OPT_DEFAULT; }

static bool check_size(lua_State *L, size_t len) {
    if (len <= MD_MAX_INPUT) return true;
    wpl_error_return(L, "too_large",
                     lua_pushfstring(L, "the Markdown text is %I bytes, more than the limit of %d MiB",
                                     (lua_Integer)len, (int)(MD_MAX_INPUT >> 20)),
                     0, false);
    return false;
}

/* ---------------------------------------------------------------- images */

/* Rewrites image URLs through the map at index `map` and records attachment ids. */
static void apply_image_map(lua_State *L, md_doc *d, int map) {
    d->iter = cmark_iter_new(d->doc);
    if (d->iter == NULL) luaL_error(L, "not enough memory");
    int top = lua_gettop(L);
    cmark_event_type ev;
    while ((ev = cmark_iter_next(d->iter)) != CMARK_EVENT_DONE) {
        cmark_node *node = cmark_iter_get_node(d->iter);
        if (ev != CMARK_EVENT_ENTER || cmark_node_get_type(node) != CMARK_NODE_IMAGE) continue;
        const char *src = cmark_node_get_url(node);
        src = src ? src : "";
        int t = lua_getfield(L, map, src);
        const char *url = NULL;
        lua_Integer id = 0;
        if (t == LUA_TSTRING) {
            url = lua_tostring(L, -1);
        } else if (t == LUA_TTABLE) {
            int ut = lua_getfield(L, -1, "url");
            int it = lua_getfield(L, -2, "id");
            int is_integer = lua_isinteger(L, -1);
            id = is_integer ? lua_tointeger(L, -1) : 0;
            if ((ut != LUA_TSTRING && ut != LUA_TNIL) || (it != LUA_TNIL && (!is_integer || id <= 0)))
                luaL_error(L, "markdown: images[%s] must be {url = string, id = positive integer}", src);
            url = ut == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        } else if (t != LUA_TNIL) {
            luaL_error(L, "markdown: images[%s] must be a URL or a table {url=, id=}, got %s", src,
                       luaL_typename(L, -1));
        }
        if (url && !cmark_node_set_url(node, url)) luaL_error(L, "not enough memory");
        if (id > 0) cmark_node_set_user_data(node, (void *)(intptr_t)id);
        lua_settop(L, top);
    }
    cmark_iter_free(d->iter);
    d->iter = NULL;
}

/* Pushes {{src=, alt=, title=}, ...}: each distinct src once, in document order. */
static void push_images(lua_State *L, md_doc *d) {
    lua_newtable(L);
    int list = lua_gettop(L);
    lua_newtable(L);
    int seen = list + 1;
    lua_Integer n = 0;
    d->iter = cmark_iter_new(d->doc);
    if (d->iter == NULL) luaL_error(L, "not enough memory");
    cmark_event_type ev;
    while ((ev = cmark_iter_next(d->iter)) != CMARK_EVENT_DONE) {
        cmark_node *node = cmark_iter_get_node(d->iter);
        if (ev != CMARK_EVENT_ENTER || cmark_node_get_type(node) != CMARK_NODE_IMAGE) continue;
        const char *src = cmark_node_get_url(node);
        src = src ? src : "";
        if (lua_getfield(L, seen, src) != LUA_TNIL) {
            lua_pop(L, 1);
            continue;
        }
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
        lua_setfield(L, seen, src);
        lua_createtable(L, 0, 3);
        lua_pushstring(L, src);
        lua_setfield(L, -2, "src");
        d->out.len = 0;
        md_plain_text(node, &d->out);
        if (d->out.failed) luaL_error(L, "not enough memory");
        lua_pushlstring(L, d->out.data ? d->out.data : "", d->out.len);
        lua_setfield(L, -2, "alt");
        const char *title = cmark_node_get_title(node);
        if (title && *title) {
            lua_pushstring(L, title);
            lua_setfield(L, -2, "title");
        }
        lua_rawseti(L, list, ++n);
    }
    cmark_iter_free(d->iter);
    d->iter = NULL;
    lua_pop(L, 1);
}

/* ---------------------------------------------------------------- rendering */

static void push_rendered(lua_State *L, md_doc *d, const md_options *o, bool blocks) {
    md_render_opts ro = {.blocks = blocks, .safe = o->safe, .image_size = o->image_size};
    d->out.len = 0;
    d->out.failed = false;
    if (!md_render(d->doc, &ro, &d->out)) luaL_error(L, "not enough memory");
    lua_pushlstring(L, d->out.data ? d->out.data : "", d->out.len);
}

/* markdown.to_html(text [, {safe=, smart=}]) -> html | nil, err */
static int md_to_html(lua_State *L) {
    static const char *const allowed[] = {"safe", "smart", NULL};
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    md_options o;
    read_options(L, 2, allowed, &o);
    if (!check_size(L, len)) return 2;
    md_doc *d = new_doc(L);
    int options = parser_options(&o) | (o.safe ? CMARK_OPT_DEFAULT : CMARK_OPT_UNSAFE);
    parse_markdown(L, d, text, len, options, options);
    lua_pushstring(L, d->html);
    release_doc(d);
    return 1;
}

/* ---------------------------------------------------------------- front matter */

/* Pushes the front matter table of text (an empty one when there is none) and sets *body.
 * Returns 1, or 2 after pushing nil, err. */
static int push_front_matter(lua_State *L, const char *text, size_t len, const char **body, size_t *body_len) {
    md_front_matter span;
    int found = md_find_front_matter(text, len, &span);
    *body = text;
    *body_len = len;
    if (found == 0) {
        lua_newtable(L);
        return 1;
    }
    if (found < 0) {
        lua_pushnil(L);
        wpl_error_push(L, "invalid_front_matter",
                       "invalid front matter at line 1, column 1: the --- line opens front matter "
                       "that no --- or ... line closes",
                       0, false);
        lua_pushinteger(L, 1);
        lua_setfield(L, -2, "line");
        lua_pushinteger(L, 1);
        lua_setfield(L, -2, "column");
        return 2;
    }
    *body = text + span.body_start;
    *body_len = len - span.body_start;
    return md_push_yaml(L, text + span.yaml_start, span.yaml_len, 2);
}

/* markdown.front_matter(text) -> meta, body | nil, err */
static int md_front_matter_lua(lua_State *L) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    if (!check_size(L, len)) return 2;
    lua_settop(L, 1);
    const char *body;
    size_t body_len;
    if (push_front_matter(L, text, len, &body, &body_len) == 2) return 2;
    lua_pushlstring(L, body, body_len);
    return 2;
}

/* ---------------------------------------------------------------- parse and render */

/* Offset of the start of 1-based line `line`, counting line ends as cmark does (\n, \r\n, \r). */
static size_t line_offset(const char *s, size_t n, int line) {
    size_t i = 0;
    for (int current = 1; current < line && i < n; i++) {
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n'))) current++;
    }
    return i;
}

/* The end of the line at `from`, past its line break. */
static size_t next_line(const char *s, size_t n, size_t from) {
    while (from < n && s[from] != '\n' && s[from] != '\r') from++;
    if (from < n && s[from] == '\r') {
        from++;
        if (from < n && s[from] == '\n') from++;
    } else if (from < n) {
        from++;
    }
    return from;
}

/* Where the H1 starting at offset `from` ends. An ATX heading is one line; a setext one
 * ends with its === line (cmark-gfm 0.29 reports a setext heading's end line one too far,
 * so it is found here). */
static size_t heading_end(const char *s, size_t n, size_t from) {
    size_t i = from;
    while (i < n && i - from < 3 && s[i] == ' ') i++;
    if (i < n && s[i] == '#') return next_line(s, n, from);
    for (size_t line = from; line < n; line = next_line(s, n, line)) {
        i = line;
        while (i < n && i - line < 3 && s[i] == ' ') i++;
        size_t marks = 0;
        while (i < n && s[i] == '=') i++, marks++;
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        if (marks > 0 && (i == n || s[i] == '\n' || s[i] == '\r')) return next_line(s, n, line);
    }
    return n;
}

/* The first top-level H1 with some text: pushes its plain text and the body without its
 * lines, and returns true; false (nothing pushed) when there is none. */
static bool push_title_from_h1(lua_State *L, md_doc *d, const char *body, size_t len) {
    for (cmark_node *n = cmark_node_first_child(d->doc); n; n = cmark_node_next(n)) {
        if (cmark_node_get_type(n) != CMARK_NODE_HEADING || cmark_node_get_heading_level(n) != 1) continue;
        d->out.len = 0;
        md_plain_text(n, &d->out);
        if (d->out.failed) luaL_error(L, "not enough memory");
        const char *t = d->out.data ? d->out.data : "";
        size_t a = 0, b = d->out.len;
        while (a < b && (t[a] == ' ' || t[a] == '\t')) a++;
        while (b > a && (t[b - 1] == ' ' || t[b - 1] == '\t')) b--;
        if (a == b) continue;
        lua_pushlstring(L, t + a, b - a);
        size_t from = line_offset(body, len, cmark_node_get_start_line(n));
        size_t to = heading_end(body, len, from);
        luaL_Buffer buf;
        luaL_buffinit(L, &buf);
        luaL_addlstring(&buf, body, from);
        luaL_addlstring(&buf, body + to, len - to);
        luaL_pushresult(&buf);
        return true;
    }
    return false;
}

static const char *const render_option_names[] = {"format", "safe", "smart", "images", "image_size", NULL};
static const char *const parse_option_names[] = {"format", "safe", "smart", "images", "image_size",
                                                 "title_from_h1", NULL};

/* markdown.parse(text [, opts]) -> {meta=, title=, body=, images=, html=, blocks=} | nil, err
 *   meta    the front matter ({} without)
 *   title   meta.title as a string, else (title_from_h1, default true) the text of the first
 *           top-level H1, which is then left out of body, html and blocks: WordPress shows
 *           the title itself
 *   body    the Markdown after the front matter (and without that H1): what render() takes
 *   images  {{src=, alt=, title=}, ...}: each distinct image src in document order
 *   html    render(body, {format = "html"}); blocks: with format = "blocks" only */
static int md_parse(lua_State *L) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    md_options o;
    read_options(L, 2, parse_option_names, &o);
    if (!check_size(L, len)) return 2;
    const char *body;
    size_t body_len;
    if (push_front_matter(L, text, len, &body, &body_len) == 2) return 2;
    int meta = lua_gettop(L);
    md_doc *d = new_doc(L);
    parse_markdown(L, d, body, body_len, parser_options(&o), -1);

    lua_createtable(L, 0, 6);
    int result = lua_gettop(L);
    lua_pushvalue(L, meta);
    lua_setfield(L, result, "meta");
    int title_type = lua_getfield(L, meta, "title");
    if (title_type == LUA_TSTRING || title_type == LUA_TNUMBER) {
        luaL_tolstring(L, -1, NULL);
        lua_setfield(L, result, "title");
        lua_pushlstring(L, body, body_len);
    } else if (title_type == LUA_TNIL && o.title_from_h1 && push_title_from_h1(L, d, body, body_len)) {
        size_t new_len;
        const char *new_body = lua_tolstring(L, -1, &new_len);
        lua_insert(L, -2);
        lua_setfield(L, result, "title");
        free_doc_node(d);
        parse_markdown(L, d, new_body, new_len, parser_options(&o), -1);
    } else {
        lua_pushlstring(L, body, body_len);
    }
    lua_setfield(L, result, "body");
    lua_settop(L, result);

    push_images(L, d);
    lua_setfield(L, result, "images");
    if (o.images) apply_image_map(L, d, o.images);
    push_rendered(L, d, &o, false);
    lua_setfield(L, result, "html");
    if (o.format == FORMAT_BLOCKS) {
        push_rendered(L, d, &o, true);
        lua_setfield(L, result, "blocks");
    }
    release_doc(d);
    return 1;
}

/* markdown.render(text_or_parsed [, {format=, safe=, smart=, images=, image_size=}]) -> markup | nil, err
 * text_or_parsed: Markdown without front matter, or parse()'s result (its body). */
static int md_render_lua(lua_State *L) {
    md_options o;
    read_options(L, 2, render_option_names, &o);
    size_t len;
    const char *text;
    if (lua_istable(L, 1)) {
        if (lua_getfield(L, 1, "body") != LUA_TSTRING)
            luaL_argerror(L, 1, "a parsed document must have a string 'body'");
        text = lua_tolstring(L, -1, &len); /* stays on the stack */
    } else {
        text = luaL_checklstring(L, 1, &len);
    }
    if (!check_size(L, len)) return 2;
    md_doc *d = new_doc(L);
    parse_markdown(L, d, text, len, parser_options(&o), -1);
    if (o.images) apply_image_map(L, d, o.images);
    push_rendered(L, d, &o, o.format != FORMAT_HTML);
    release_doc(d);
    return 1;
}

int luaopen_wpl_markdown(lua_State *L) {
    static const luaL_Reg funcs[] = {
        {"to_html", md_to_html},
        {"front_matter", md_front_matter_lua},
        {"parse", md_parse},
        {"render", md_render_lua},
        {NULL, NULL},
    };
    luaL_newlib(L, funcs);
    lua_pushinteger(L, MD_MAX_INPUT);
    lua_setfield(L, -2, "max_input");
    if (luaL_newmetatable(L, DOC_MT)) {
        lua_pushcfunction(L, doc_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    md_yaml_open(L);
    return 1;
}
