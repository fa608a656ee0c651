/* Shared by the wpl.markdown files (markdown.c, markdown_render.c, markdown_yaml.c). */
#ifndef WPL_MARKDOWN_INTERNAL_H
#define WPL_MARKDOWN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmark-gfm.h>

#include "internal.h"

/* Inputs above this size are refused with a "too_large" error. */
#define MD_MAX_INPUT (16u * 1024u * 1024u)

/* ---------------------------------------------------------------- output buffer */

/* A growing byte buffer. An allocation failure sets `failed` and later additions are
 * dropped, so callers check once at the end. */
typedef struct md_buf {
    char *data;
    size_t len, cap;
    bool failed;
} md_buf;

void md_buf_add(md_buf *b, const char *s, size_t n);
void md_buf_puts(md_buf *b, const char *s);
void md_buf_free(md_buf *b);

/* ---------------------------------------------------------------- rendering (no Lua) */

typedef struct md_render_opts {
    bool blocks;            /* WordPress block markup; false: the same HTML without delimiters */
    bool safe;              /* drop raw HTML and dangerous link/image URLs */
    const char *image_size; /* sizeSlug of image blocks that have an attachment id */
} md_render_opts;

/* Attachment ids of images ride on the image nodes' user data (0 = none). */
#define MD_IMAGE_ID(node) ((long long)(intptr_t)cmark_node_get_user_data(node))

/* Renders the document (iteratively: nesting depth costs no C stack). False when out of
 * memory. */
bool md_render(cmark_node *doc, const md_render_opts *opts, md_buf *out);

/* Appends the plain text of a node's inline content (alt text, titles): text and code
 * literals, line breaks as spaces, raw HTML left out. */
void md_plain_text(cmark_node *node, md_buf *out);

/* True for the extension node types, by name ("table", "table_row", ...). */
bool md_is_type(cmark_node *node, const char *type_name);

/* ---------------------------------------------------------------- front matter (yaml) */

typedef struct md_front_matter {
    size_t yaml_start, yaml_len; /* the YAML between the delimiter lines */
    size_t body_start;           /* the first byte after the closing line */
} md_front_matter;

/* 0: the text has no front matter; 1: found, span filled; -1: opened but never closed. */
int md_find_front_matter(const char *text, size_t len, md_front_matter *span);

/* Parses YAML (whose first line is line `first_line` of the document) into a Lua table
 * and pushes it; on invalid YAML pushes nil and an "invalid_front_matter" error instead.
 * Returns the number of values pushed (1 or 2). The YAML must stay alive on the stack. */
int md_push_yaml(lua_State *L, const char *yaml, size_t len, int first_line);

/* Registers the metatables of the YAML module (called by luaopen_wpl_markdown). */
void md_yaml_open(lua_State *L);

#endif
