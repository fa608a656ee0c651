/* wpl.markdown rendering: a cmark-gfm document to WordPress block markup, or to the same
 * HTML without the block delimiters.
 *
 * The markup is what the WordPress 6.1 editor's own save() functions write
 * (wp-includes/js/dist/block-library.js and blocks.js of 6.1), so that the editor opens
 * the post as valid, editable blocks:
 *   - blocks are joined by a blank line; a block is `<!-- wp:NAME ATTRS -->\nHTML\n<!-- /wp:NAME -->`
 *     with ATTRS only when some attribute differs from its default (serializeBlock);
 *   - inner blocks (list items, a nested list, the paragraphs of a quote) sit directly
 *     inside the wrapper element, joined by a blank line (InnerBlocks.Content);
 *   - paragraph, heading, list and list-item have `className: false`, so no wp-block-*
 *     class; quote, code, table, image and separator get theirs;
 *   - list items are core/list-item blocks (6.1's list v2); a nested list is an inner
 *     core/list block of its item; content of an item that the list-item block cannot hold
 *     (code, tables, ...) is kept as plain HTML in the item's content, and the paragraphs of
 *     a loose item are joined by <br><br>;
 *   - an image that is all its paragraph holds (possibly inside a link) becomes a core/image
 *     block, with id and sizeSlug when the image map gave an attachment id; other images
 *     stay inline <img> in their rich text;
 *   - task list items start with U+2610 / U+2611 (rich text keeps no <input>);
 *   - rich text (paragraphs, headings, items, cells) is escaped as a browser writes
 *     innerHTML, so the editor re-saves it unchanged, except that `[` in inline code is
 *     &#91; like in code blocks (a shortcode in code must not run).
 * The same walk without delimiters gives the "html" format.
 * The walk is iterative (cmark_iter and a heap stack of frames), so deeply nested input
 * costs no C stack. No Lua here: nothing can longjmp out of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmark-gfm-core-extensions.h>

#include "markdown_internal.h"

/* ---------------------------------------------------------------- buffer */

void md_buf_add(md_buf *b, const char *s, size_t n) {
    if (b->failed || n == 0) return;
    if (n > SIZE_MAX / 4 - b->len) {
        b->failed = true;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

void md_buf_puts(md_buf *b, const char *s) { md_buf_add(b, s, strlen(s)); }

void md_buf_free(md_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---------------------------------------------------------------- escaping */

/* Text and attribute values, escaped as a browser writes innerHTML (quotes only in
 * attributes, U+00A0 as &nbsp;) so that the editor re-saves rich text byte for byte. */
static void put_escaped_html(md_buf *b, const char *s, size_t n, bool attribute) {
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc;
        if (s[i] == '\xC2' && i + 1 < n && s[i + 1] == '\xA0') {
            md_buf_add(b, s + run, i - run);
            md_buf_puts(b, "&nbsp;");
            run = ++i + 1;
            continue;
        }
        switch (s[i]) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"':
            if (!attribute) continue;
            esc = "&quot;";
            break;
        default: continue;
        }
        md_buf_add(b, s + run, i - run);
        md_buf_puts(b, esc);
        run = i + 1;
    }
    md_buf_add(b, s + run, n - run);
}

static void put_escaped_str(md_buf *b, const char *s, bool attribute) {
    if (s) put_escaped_html(b, s, strlen(s), attribute);
}

/* Code as WordPress stores it: HTML-escaped, `[` as &#91; so that no shortcode runs
 * (core/code's escapeOpeningSquareBrackets, applied to inline code too). */
static void put_escaped_code_text(md_buf *b, const char *s, size_t n) {
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc;
        switch (s[i]) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '[': esc = "&#91;"; break;
        default: continue;
        }
        md_buf_add(b, s + run, i - run);
        md_buf_puts(b, esc);
        run = i + 1;
    }
    md_buf_add(b, s + run, n - run);
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* Length of "https:" or "http:" at s, or 0. */
static size_t url_scheme_length(const char *s, size_t n) {
    if (n >= 6 && memcmp(s, "https:", 6) == 0) return 6;
    if (n >= 5 && memcmp(s, "http:", 5) == 0) return 5;
    return 0;
}

/* The content of a code block: as put_escaped_code_text, and a URL alone on its line gets
 * its `//` as &#47;&#47; so that WordPress does not turn it into an embed (core/code's
 * escapeProtocolInIsolatedUrls, here on every such line rather than the first only). */
static void put_code_block_content(md_buf *b, const char *s, size_t n) {
    size_t line = 0;
    while (line < n) {
        const char *nl = memchr(s + line, '\n', n - line);
        size_t end = nl ? (size_t)(nl - s) : n;
        size_t i = line;
        while (i < end && is_space(s[i])) i++;
        size_t scheme = url_scheme_length(s + i, end - i);
        size_t slashes = i + scheme;
        bool isolated = false;
        if (scheme && end - slashes > 2 && s[slashes] == '/' && s[slashes + 1] == '/') {
            size_t j = slashes + 2, url_start = j;
            while (j < end && !is_space(s[j]) && s[j] != '"') j++;
            size_t k = j;
            while (k < end && is_space(s[k])) k++;
            isolated = j > url_start && k == end;
        }
        if (isolated) {
            put_escaped_code_text(b, s + line, slashes - line);
            md_buf_puts(b, "&#47;&#47;");
            put_escaped_code_text(b, s + slashes + 2, end - slashes - 2);
        } else {
            put_escaped_code_text(b, s + line, end - line);
        }
        if (nl) md_buf_puts(b, "\n");
        line = end + 1;
    }
}

/* URLs as cmark writes them: reserved and safe characters kept, & and ' as entities,
 * anything else %-encoded. */
static void put_escaped_href(md_buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-_.+!*(),%#@?=;:/$~", c)) {
            md_buf_add(b, (const char *)p, 1);
        } else if (c == '&') {
            md_buf_puts(b, "&amp;");
        } else if (c == '\'') {
            md_buf_puts(b, "&#x27;");
        } else {
            char pct[3] = {'%', hex[c >> 4], hex[c & 15]};
            md_buf_add(b, pct, 3);
        }
    }
}

static bool has_prefix_ci(const char *s, const char *prefix) {
    for (; *prefix; s++, prefix++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != *prefix) return false;
    }
    return true;
}

/* The schemes cmark's safe mode blanks (data: only for images of these types). */
static bool is_dangerous_url(const char *url) {
    if (has_prefix_ci(url, "data:")) {
        static const char *const images[] = {"data:image/png", "data:image/gif", "data:image/jpeg",
                                             "data:image/webp"};
        for (size_t i = 0; i < sizeof images / sizeof *images; i++)
            if (has_prefix_ci(url, images[i])) return false;
        return true;
    }
    return has_prefix_ci(url, "javascript:") || has_prefix_ci(url, "vbscript:") || has_prefix_ci(url, "file:");
}

/* ---------------------------------------------------------------- plain text */

void md_plain_text(cmark_node *node, md_buf *out) {
    cmark_iter *it = cmark_iter_new(node);
    if (it == NULL) {
        out->failed = true;
        return;
    }
    cmark_event_type ev;
    while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *n = cmark_iter_get_node(it);
        if (ev != CMARK_EVENT_ENTER || n == node) continue;
        switch (cmark_node_get_type(n)) {
        case CMARK_NODE_TEXT:
        case CMARK_NODE_CODE: md_buf_puts(out, cmark_node_get_literal(n)); break;
        case CMARK_NODE_SOFTBREAK:
        case CMARK_NODE_LINEBREAK: md_buf_puts(out, " "); break;
        default: break;
        }
    }
    cmark_iter_free(it);
}

bool md_is_type(cmark_node *node, const char *type_name) {
    const char *t = cmark_node_get_type_string(node);
    return t && strcmp(t, type_name) == 0;
}

/* ---------------------------------------------------------------- the walk */

/* How the children of a frame's node are written. */
enum child_ctx {
    CTX_BLOCKS,     /* blocks with delimiters, joined by a blank line (document, quote) */
    CTX_LIST_ITEMS, /* the items of a list block: list-item blocks */
    CTX_ITEM,       /* the content of a list-item block: inline HTML and nested list blocks */
    CTX_BARE,       /* plain HTML without block classes, inside a list item's content */
    CTX_TABLE,      /* rows */
    CTX_ROW,        /* cells */
    CTX_INLINE,
};

/* What a frame closes when its node exits. */
enum frame_kind {
    K_DOCUMENT, K_NOTHING, K_PARAGRAPH, K_HEADING, K_QUOTE, K_LIST, K_ITEM, K_TABLE,
    K_ROW, K_CELL, K_EMPH, K_STRONG, K_STRIKE, K_LINK,
};

typedef struct frame {
    cmark_node *node;
    unsigned char kind, child_ctx;
    bool block;          /* written as a block (wp classes, delimiters when rendering blocks) */
    bool tight_item;     /* a bare item of a tight list: its paragraphs without <p> */
    bool prev_paragraph; /* CTX_ITEM: the last child written was a paragraph */
    bool header_row;
    unsigned char table_section; /* CTX_TABLE: 0 none open, 1 thead, 2 tbody */
    int emitted;                 /* children written so far, for separators */
    int column;                  /* CTX_ROW: the next cell's column */
} frame;

typedef struct renderer {
    const md_render_opts *opts;
    md_buf *out;
    md_buf scratch; /* alt texts */
    cmark_iter *iter;
    frame *frames;
    size_t depth, cap;
    bool failed;
} renderer;

static frame *push(renderer *r, cmark_node *node, enum frame_kind kind, enum child_ctx ctx, bool block) {
    if (r->depth == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        frame *f = realloc(r->frames, cap * sizeof *f);
        if (f == NULL) {
            r->failed = true;
            return NULL;
        }
        r->frames = f;
        r->cap = cap;
    }
    frame *f = &r->frames[r->depth++];
    memset(f, 0, sizeof *f);
    f->node = node;
    f->kind = (unsigned char)kind;
    f->child_ctx = (unsigned char)ctx;
    f->block = block;
    return f;
}

/* Continues the walk after the node's exit: its subtree was written (or dropped) whole. */
static void skip_children(renderer *r, cmark_node *node) {
    cmark_iter_reset(r->iter, node, CMARK_EVENT_EXIT);
}

static void put(renderer *r, const char *s) { md_buf_puts(r->out, s); }

static void open_delimiter(renderer *r, const char *name, const char *attrs) {
    if (!r->opts->blocks) return;
    put(r, "<!-- wp:");
    put(r, name);
    put(r, " ");
    if (attrs) {
        put(r, attrs);
        put(r, " ");
    }
    put(r, "-->\n");
}

static void close_delimiter(renderer *r, const char *name) {
    if (!r->opts->blocks) return;
    put(r, "\n<!-- /wp:");
    put(r, name);
    put(r, " -->");
}

/* Joins sibling blocks: a blank line in block markup (serialize() joins with "\n\n"). */
static void separate(renderer *r, frame *parent) {
    if (parent->emitted++ > 0) put(r, r->opts->blocks ? "\n\n" : "\n");
}

static void put_literal_without_final_newlines(renderer *r, cmark_node *node, bool code) {
    const char *s = cmark_node_get_literal(node);
    size_t n = s ? strlen(s) : 0;
    if (code) {
        if (n && s[n - 1] == '\n') n--;
        put_code_block_content(r->out, s, n);
    } else {
        while (n && s[n - 1] == '\n') n--;
        md_buf_add(r->out, s, n);
    }
}

static void put_task_marker(renderer *r, cmark_node *item) {
    if (md_is_type(item, "tasklist"))
        put(r, cmark_gfm_extensions_get_tasklist_item_checked(item) ? "\u2611 " : "\u2610 ");
}

static void put_url_attribute(renderer *r, const char *name, const char *url) {
    put(r, " ");
    put(r, name);
    put(r, "=\"");
    if (url && !(r->opts->safe && is_dangerous_url(url))) put_escaped_href(r->out, url);
    put(r, "\"");
}

static void put_alt_attribute(renderer *r, cmark_node *image) {
    r->scratch.len = 0;
    md_plain_text(image, &r->scratch);
    if (r->scratch.failed) r->failed = true;
    put(r, " alt=\"");
    put_escaped_html(r->out, r->scratch.data ? r->scratch.data : "", r->scratch.len, true);
    put(r, "\"");
}

static void put_title_attribute(renderer *r, cmark_node *node) {
    const char *title = cmark_node_get_title(node);
    if (title && *title) {
        put(r, " title=\"");
        put_escaped_str(r->out, title, true);
        put(r, "\"");
    }
}

static void put_inline_image(renderer *r, cmark_node *image) {
    char cls[48];
    put(r, "<img");
    put_url_attribute(r, "src", cmark_node_get_url(image));
    put_alt_attribute(r, image);
    put_title_attribute(r, image);
    if (MD_IMAGE_ID(image) > 0) {
        snprintf(cls, sizeof cls, " class=\"wp-image-%lld\"", MD_IMAGE_ID(image));
        put(r, cls);
    }
    put(r, ">"); /* inside rich text as the browser writes it; blocks' own <img/> is save()'s */
}

/* The image, or the link around the image, when it is all a paragraph holds. */
static cmark_node *lone_image(cmark_node *paragraph, cmark_node **link) {
    cmark_node *child = cmark_node_first_child(paragraph);
    *link = NULL;
    if (child == NULL || child != cmark_node_last_child(paragraph)) return NULL;
    if (cmark_node_get_type(child) == CMARK_NODE_LINK) {
        *link = child;
        child = cmark_node_first_child(child);
        if (child == NULL || child != cmark_node_last_child(*link)) return NULL;
    }
    return cmark_node_get_type(child) == CMARK_NODE_IMAGE ? child : NULL;
}

/* core/image (image/save.js): <figure class="wp-block-image size-S"><a href><img src alt
 * class="wp-image-ID" title/></a></figure>, attributes {"id","sizeSlug","linkDestination"}. */
static void put_image_block(renderer *r, cmark_node *image, cmark_node *link) {
    long long id = MD_IMAGE_ID(image);
    const char *href = link ? cmark_node_get_url(link) : NULL;
    if (href == NULL || *href == '\0' || (r->opts->safe && is_dangerous_url(href)))
        link = NULL; /* save() writes no <a> for an empty href: an empty one would not validate */
    const char *size = r->opts->image_size;
    char attrs[160] = "", text[96];
    if (id > 0 && link)
        snprintf(attrs, sizeof attrs, "{\"id\":%lld,\"sizeSlug\":\"%s\",\"linkDestination\":\"custom\"}", id, size);
    else if (id > 0)
        snprintf(attrs, sizeof attrs, "{\"id\":%lld,\"sizeSlug\":\"%s\"}", id, size);
    else if (link)
        snprintf(attrs, sizeof attrs, "{\"linkDestination\":\"custom\"}");
    open_delimiter(r, "image", attrs[0] ? attrs : NULL);
    put(r, "<figure class=\"wp-block-image");
    if (id > 0) {
        put(r, " size-");
        put(r, size);
    }
    put(r, "\">");
    if (link) {
        put(r, "<a");
        put_url_attribute(r, "href", href);
        put(r, ">");
    }
    put(r, "<img");
    put_url_attribute(r, "src", cmark_node_get_url(image));
    put_alt_attribute(r, image);
    if (id > 0) {
        snprintf(text, sizeof text, " class=\"wp-image-%lld\"", id);
        put(r, text);
    }
    put_title_attribute(r, image);
    put(r, "/>");
    if (link) put(r, "</a>");
    put(r, "</figure>");
    close_delimiter(r, "image");
}

static void open_list(renderer *r, cmark_node *list, bool block) {
    bool ordered = cmark_node_get_list_type(list) == CMARK_ORDERED_LIST;
    int start = cmark_node_get_list_start(list);
    char text[64];
    if (block) {
        if (!ordered)
            open_delimiter(r, "list", NULL);
        else if (start == 1)
            open_delimiter(r, "list", "{\"ordered\":true}");
        else {
            snprintf(text, sizeof text, "{\"ordered\":true,\"start\":%d}", start);
            open_delimiter(r, "list", text);
        }
    }
    if (!ordered) {
        put(r, "<ul>");
    } else if (start == 1) {
        put(r, "<ol>");
    } else {
        snprintf(text, sizeof text, "<ol start=\"%d\">", start);
        put(r, text);
    }
}

static void put_heading_tag(renderer *r, cmark_node *heading, bool closing) {
    char tag[8];
    snprintf(tag, sizeof tag, closing ? "</h%d>" : "<h%d>", cmark_node_get_heading_level(heading));
    put(r, tag);
}

static const char *alignment_name(uint8_t a) {
    return a == 'l' ? "left" : a == 'c' ? "center" : a == 'r' ? "right" : NULL;
}

/* A block-level node in a block context (document, quote: block = true, written as a
 * WordPress block) or in a list item's content (block = false, plain HTML). */
static void enter_block(renderer *r, cmark_node *node, frame *parent, bool block) {
    cmark_node_type type = cmark_node_get_type(node);
    bool blocks_ctx = parent->child_ctx == CTX_BLOCKS;
    cmark_node *link, *image;
    switch (type) {
    case CMARK_NODE_PARAGRAPH:
        if (block && (image = lone_image(node, &link)) != NULL) {
            separate(r, parent);
            put_image_block(r, image, link);
            skip_children(r, node);
        } else if (block) {
            separate(r, parent);
            open_delimiter(r, "paragraph", NULL);
            put(r, "<p>");
            push(r, node, K_PARAGRAPH, CTX_INLINE, true);
        } else if (parent->tight_item) {
            push(r, node, K_NOTHING, CTX_INLINE, false);
        } else {
            put(r, "<p>");
            push(r, node, K_PARAGRAPH, CTX_INLINE, false);
        }
        return;
    case CMARK_NODE_HEADING:
        if (blocks_ctx) separate(r, parent);
        if (block) {
            int level = cmark_node_get_heading_level(node);
            char attrs[16];
            snprintf(attrs, sizeof attrs, "{\"level\":%d}", level);
            open_delimiter(r, "heading", level == 2 ? NULL : attrs);
        }
        put_heading_tag(r, node, false);
        push(r, node, K_HEADING, CTX_INLINE, block);
        return;
    case CMARK_NODE_THEMATIC_BREAK:
        if (blocks_ctx) separate(r, parent);
        if (block) {
            open_delimiter(r, "separator", NULL);
            put(r, "<hr class=\"wp-block-separator has-alpha-channel-opacity\"/>");
            close_delimiter(r, "separator");
        } else {
            put(r, "<hr/>");
        }
        return;
    case CMARK_NODE_CODE_BLOCK:
        if (blocks_ctx) separate(r, parent);
        if (block) open_delimiter(r, "code", NULL);
        put(r, block ? "<pre class=\"wp-block-code\"><code>" : "<pre><code>");
        put_literal_without_final_newlines(r, node, true);
        put(r, "</code></pre>");
        if (block) close_delimiter(r, "code");
        return;
    case CMARK_NODE_HTML_BLOCK:
        if (r->opts->safe) return;
        if (blocks_ctx) separate(r, parent);
        if (block) open_delimiter(r, "html", NULL);
        put_literal_without_final_newlines(r, node, false);
        if (block) close_delimiter(r, "html");
        return;
    case CMARK_NODE_BLOCK_QUOTE:
        if (blocks_ctx) separate(r, parent);
        if (block) open_delimiter(r, "quote", NULL);
        put(r, block ? "<blockquote class=\"wp-block-quote\">" : "<blockquote>");
        push(r, node, K_QUOTE, block ? CTX_BLOCKS : CTX_BARE, block);
        return;
    case CMARK_NODE_LIST:
        if (blocks_ctx) separate(r, parent);
        open_list(r, node, block);
        push(r, node, K_LIST, block ? CTX_LIST_ITEMS : CTX_BARE, block);
        return;
    case CMARK_NODE_ITEM: { /* of a bare list */
        put(r, "<li>");
        put_task_marker(r, node);
        frame *f = push(r, node, K_ITEM, CTX_BARE, false);
        if (f) f->tight_item = cmark_node_get_list_tight(cmark_node_parent(node));
        return;
    }
    default:
        if (md_is_type(node, "table")) {
            if (blocks_ctx) separate(r, parent);
            if (block) {
                open_delimiter(r, "table", NULL);
                put(r, "<figure class=\"wp-block-table\">");
            }
            put(r, "<table>");
            push(r, node, K_TABLE, CTX_TABLE, block);
        } else {
            skip_children(r, node); /* no other block types with these extensions */
        }
        return;
    }
}

static void enter_inline(renderer *r, cmark_node *node) {
    switch (cmark_node_get_type(node)) {
    case CMARK_NODE_TEXT: put_escaped_str(r->out, cmark_node_get_literal(node), false); return;
    case CMARK_NODE_SOFTBREAK: put(r, " "); return;
    case CMARK_NODE_LINEBREAK: put(r, "<br>"); return;
    case CMARK_NODE_CODE: {
        const char *s = cmark_node_get_literal(node);
        put(r, "<code>");
        put_escaped_code_text(r->out, s, s ? strlen(s) : 0);
        put(r, "</code>");
        return;
    }
    case CMARK_NODE_HTML_INLINE:
        if (!r->opts->safe) put(r, cmark_node_get_literal(node));
        return;
    case CMARK_NODE_EMPH:
        put(r, "<em>");
        push(r, node, K_EMPH, CTX_INLINE, false);
        return;
    case CMARK_NODE_STRONG:
        put(r, "<strong>");
        push(r, node, K_STRONG, CTX_INLINE, false);
        return;
    case CMARK_NODE_LINK:
        put(r, "<a");
        put_url_attribute(r, "href", cmark_node_get_url(node));
        put_title_attribute(r, node);
        put(r, ">");
        push(r, node, K_LINK, CTX_INLINE, false);
        return;
    case CMARK_NODE_IMAGE:
        put_inline_image(r, node);
        skip_children(r, node);
        return;
    default:
        if (md_is_type(node, "strikethrough")) {
            put(r, "<s>"); /* WordPress's strikethrough format */
            push(r, node, K_STRIKE, CTX_INLINE, false);
        } else {
            skip_children(r, node);
        }
        return;
    }
}

static void enter_row(renderer *r, cmark_node *row, frame *table) {
    bool header = cmark_gfm_extensions_get_table_row_is_header(row);
    if (header && table->table_section != 1) {
        if (table->table_section == 2) put(r, "</tbody>");
        put(r, "<thead>");
        table->table_section = 1;
    } else if (!header && table->table_section != 2) {
        if (table->table_section == 1) put(r, "</thead>");
        put(r, "<tbody>");
        table->table_section = 2;
    }
    put(r, "<tr>");
    frame *f = push(r, row, K_ROW, CTX_ROW, false);
    if (f) f->header_row = header;
}

/* core/table (table/save.js): th/td with class="has-text-align-X" data-align="X" when aligned. */
static void enter_cell(renderer *r, cmark_node *cell, frame *row) {
    cmark_node *table = cmark_node_parent(row->node);
    int column = row->column++;
    bool header = row->header_row;
    const char *align = NULL;
    if (table && column < cmark_gfm_extensions_get_table_columns(table)) {
        align = alignment_name(cmark_gfm_extensions_get_table_alignments(table)[column]);
    }
    put(r, header ? "<th" : "<td");
    if (align) {
        put(r, " class=\"has-text-align-");
        put(r, align);
        put(r, "\" data-align=\"");
        put(r, align);
        put(r, "\"");
    }
    put(r, ">");
    frame *f = push(r, cell, K_CELL, CTX_INLINE, false);
    if (f) f->header_row = header;
}

static void enter(renderer *r, cmark_node *node) {
    if (r->depth == 0) { /* the document */
        push(r, node, K_DOCUMENT, CTX_BLOCKS, true);
        return;
    }
    frame *parent = &r->frames[r->depth - 1];
    switch (parent->child_ctx) {
    case CTX_BLOCKS: enter_block(r, node, parent, true); return;
    case CTX_BARE: enter_block(r, node, parent, false); return;
    case CTX_LIST_ITEMS:
        separate(r, parent);
        open_delimiter(r, "list-item", NULL);
        put(r, "<li>");
        put_task_marker(r, node);
        push(r, node, K_ITEM, CTX_ITEM, true);
        return;
    case CTX_ITEM:
        if (cmark_node_get_type(node) == CMARK_NODE_PARAGRAPH) {
            /* list-item content is inline: paragraphs become lines */
            if (parent->prev_paragraph) put(r, "<br><br>");
            parent->prev_paragraph = true;
            push(r, node, K_NOTHING, CTX_INLINE, false);
        } else {
            parent->prev_paragraph = false;
            enter_block(r, node, parent, cmark_node_get_type(node) == CMARK_NODE_LIST);
        }
        return;
    case CTX_TABLE:
        if (md_is_type(node, "table_row") || md_is_type(node, "table_header")) enter_row(r, node, parent);
        else skip_children(r, node);
        return;
    case CTX_ROW:
        if (md_is_type(node, "table_cell")) enter_cell(r, node, parent);
        else skip_children(r, node);
        return;
    case CTX_INLINE: enter_inline(r, node); return;
    }
}

static void leave(renderer *r, cmark_node *node) {
    if (r->depth == 0 || r->frames[r->depth - 1].node != node) return; /* entered without a frame */
    frame f = r->frames[--r->depth];
    switch ((enum frame_kind)f.kind) {
    case K_DOCUMENT:
    case K_NOTHING: return;
    case K_PARAGRAPH:
        put(r, "</p>");
        if (f.block) close_delimiter(r, "paragraph");
        return;
    case K_HEADING:
        put_heading_tag(r, node, true);
        if (f.block) close_delimiter(r, "heading");
        return;
    case K_QUOTE:
        put(r, "</blockquote>");
        if (f.block) close_delimiter(r, "quote");
        return;
    case K_LIST:
        put(r, cmark_node_get_list_type(node) == CMARK_ORDERED_LIST ? "</ol>" : "</ul>");
        if (f.block) close_delimiter(r, "list");
        return;
    case K_ITEM:
        put(r, "</li>");
        if (f.block) close_delimiter(r, "list-item");
        return;
    case K_TABLE:
        if (f.table_section == 1) put(r, "</thead>");
        if (f.table_section == 2) put(r, "</tbody>");
        put(r, "</table>");
        if (f.block) {
            put(r, "</figure>");
            close_delimiter(r, "table");
        }
        return;
    case K_ROW: put(r, "</tr>"); return;
    case K_CELL: put(r, f.header_row ? "</th>" : "</td>"); return;
    case K_EMPH: put(r, "</em>"); return;
    case K_STRONG: put(r, "</strong>"); return;
    case K_STRIKE: put(r, "</s>"); return;
    case K_LINK: put(r, "</a>"); return;
    }
}

bool md_render(cmark_node *doc, const md_render_opts *opts, md_buf *out) {
    renderer r = {.opts = opts, .out = out};
    r.iter = cmark_iter_new(doc);
    if (r.iter == NULL) return false;
    cmark_event_type ev;
    while (!r.failed && !out->failed && (ev = cmark_iter_next(r.iter)) != CMARK_EVENT_DONE) {
        cmark_node *node = cmark_iter_get_node(r.iter);
        if (ev == CMARK_EVENT_ENTER)
            enter(&r, node);
        else
            leave(&r, node);
    }
    cmark_iter_free(r.iter);
    free(r.frames);
    md_buf_free(&r.scratch);
    return !r.failed && !out->failed;
}
