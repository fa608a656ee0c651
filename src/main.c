/* wpl: the command-line host. Parses options, creates one runtime, runs the recipe and
 * reports its error once, here at the edge. Exit codes: 0 ok, 1 recipe failed, 2 usage. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>

#include "wpl.h"

static const char usage_line[] = "usage: wpl [options] run RECIPE [ARGS...]\n"
                                 "       wpl site add|list|test|remove ...   wpl history [...]\n"
                                 "       wpl version | help\n";

static void print_help(FILE *out) {
    fputs(usage_line, out);
    fputs("\n"
          "Runs Lua recipes that publish to WordPress over its REST API.\n"
          "\n"
          "Commands:\n"
          "  run RECIPE [ARGS...]   run the Lua file RECIPE; everything after it is the\n"
          "                         recipe's own (it sees them as `arg` and `...`)\n"
          "  site add NAME URL USER [--seo yoast|rankmath|meta:KEY|excerpt] [--no-test]\n"
          "                         register a site; its application password is read from\n"
          "                         $WPL_APP_PASSWORD, --password-stdin or the terminal\n"
          "  site list [--json] | site test NAME | site remove NAME\n"
          "  history [--site NAME] [--limit N] [--json]\n"
          "                         what was published, updated, trashed or failed\n"
          "  version                print the version\n"
          "  help                   show this help\n"
          "\n"
          "Options (before or after the command, but before RECIPE):\n"
          "  -v, --verbose          log more (debug level: every HTTP request)\n"
          "  -q, --quiet            log only errors\n"
          "      --log-format FMT   'text' (default) or 'json' (one object per line)\n"
          "      --max-memory SIZE  memory limit for the recipe (e.g. 64M, 1G)\n"
          "      --timeout TIME     time limit for the run, HTTP waits included (30s, 5m, 1h)\n"
          "      --sandbox          for recipes you did not write: no processes, no native\n"
          "                         modules, files only in the recipe's folder (or --allow-dir),\n"
          "                         HTTP only to registered sites (or --allow-host)\n"
          "      --allow-dir DIR    with --sandbox: another folder the recipe may use\n"
          "      --allow-host HOST  with --sandbox: another host the recipe may reach\n"
          "      --dry-run          send no write request to any site: print what would be\n"
          "                         written instead (also accepted after RECIPE)\n"
          "  -h, --help             show this help\n"
          "\n"
          "Environment:\n"
          "  WPL_LUA_PATH   folder with wpl/*.lua files used instead of the built-in modules\n"
          "  WPL_DB         the database of sites and history (default ~/.local/share/wpl/wpl.db)\n"
          "  WPL_KEY        64 hex digits: the key that encrypts passwords (default: the file\n"
          "                 ~/.config/wpl/key, created on first use)\n"
          "\n"
          "Example:\n"
          "  wpl run recipes/demo.lua\n",
          out);
}

/* "64M" -> bytes; 0 when it is not a size */
static size_t parse_size(const char *s) {
    char *end;
    double v = strtod(s, &end);
    double unit = 1;
    if (*end == 'k' || *end == 'K') unit = 1024, end++;
    else if (*end == 'm' || *end == 'M') unit = 1024.0 * 1024, end++;
    else if (*end == 'g' || *end == 'G') unit = 1024.0 * 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b') end++;
    if (end == s || *end != '\0' || v <= 0) return 0;
    return (size_t)(v * unit);
}

/* "30s", "5m", "1h", "2.5" (seconds) -> seconds; 0 when it is not a duration */
static double parse_duration(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0) return 0;
    if (*end == 's') end++;
    else if (*end == 'm') v *= 60, end++;
    else if (*end == 'h') v *= 3600, end++;
    return *end == '\0' ? v : 0;
}

static int usage_error(const char *fmt, const char *arg) {
    fputs("wpl: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(usage_line, stderr);
    fputs("Try 'wpl help' for more.\n", stderr);
    return 2;
}

/* `wpl site ...` and `wpl history ...`, written in Lua (wpl.cli): everything after the
 * command is passed to it. */
static int run_cli_command(const wpl_options *opts, const char *command, int argc, char **argv) {
    wpl_runtime *rt = wpl_runtime_new(opts);
    if (rt == NULL) {
        fputs("wpl: not enough memory to start\n", stderr);
        return 1;
    }
    lua_State *L = wpl_lua_state(rt);
    lua_createtable(L, argc + 1, 0);
    lua_pushstring(L, command);
    lua_rawseti(L, -2, 1);
    for (int k = 0; k < argc; k++) {
        lua_pushstring(L, argv[k]);
        lua_rawseti(L, -2, k + 2);
    }
    lua_setglobal(L, "arg");
    wpl_status status = wpl_run_string(rt, "require('wpl.cli').main(table.unpack(arg))", "=wpl");
    if (status != WPL_OK && *wpl_last_error(rt)) fprintf(stderr, "wpl: %s\n", wpl_last_error(rt));
    int exit_status = wpl_exit_status(rt);
    wpl_runtime_free(rt);
    return exit_status;
}

int main(int argc, char **argv) {
    wpl_options opts;
    wpl_options_init(&opts);
    int verbose = 0;
    bool quiet = false;
    /* --allow-dir / --allow-host values, NULL-terminated (at most one per argument) */
    const char *roots[argc + 1], *hosts[argc + 1];
    memset(roots, 0, sizeof roots);
    memset(hosts, 0, sizeof hosts);
    int root_count = 0, host_count = 0;
    const char *command = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (command == NULL) {
                command = a;
                if (strcmp(a, "site") == 0 || strcmp(a, "history") == 0) {
                    i++; /* the rest is the subcommand's */
                    break;
                }
                continue;
            }
            break; /* the recipe path: the rest belongs to the recipe */
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_help(stdout);
            return 0;
        } else if (strcmp(a, "--verbose") == 0) {
            verbose++;
        } else if (a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
            verbose += (int)strlen(a + 1);
        } else if (strcmp(a, "--sandbox") == 0) {
            opts.sandbox = 1;
        } else if (strcmp(a, "--max-memory") == 0 || strcmp(a, "--timeout") == 0 || strcmp(a, "--allow-dir") == 0 ||
                   strcmp(a, "--allow-host") == 0 || strcmp(a, "--max-instructions") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : NULL;
            if (v == NULL) return usage_error("%s needs a value", a);
            if (strcmp(a, "--max-memory") == 0 && (opts.max_memory = parse_size(v)) == 0)
                return usage_error("--max-memory takes a size like 64M, not '%s'", v);
            if (strcmp(a, "--timeout") == 0 && (opts.time_limit = parse_duration(v)) == 0)
                return usage_error("--timeout takes a duration like 30s or 5m, not '%s'", v);
            if (strcmp(a, "--max-instructions") == 0 && (opts.max_instructions = strtoull(v, NULL, 10)) == 0)
                return usage_error("--max-instructions takes a positive number, not '%s'", v);
            if (strcmp(a, "--allow-dir") == 0) roots[root_count++] = v;
            if (strcmp(a, "--allow-host") == 0) hosts[host_count++] = v;
        } else if (strcmp(a, "--dry-run") == 0) {
            /* handled below, wherever it stands */
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--log-format") == 0 || strncmp(a, "--log-format=", 13) == 0) {
            const char *fmt = a[12] == '=' ? a + 13 : (i + 1 < argc ? argv[++i] : NULL);
            if (fmt == NULL) return usage_error("%s needs a value: text or json", a);
            if (strcmp(fmt, "text") == 0) opts.log_format = WPL_LOG_TEXT;
            else if (strcmp(fmt, "json") == 0) opts.log_format = WPL_LOG_JSON;
            else return usage_error("unknown log format '%s' (use text or json)", fmt);
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    /* --dry-run is honoured wherever it stands, also among the recipe's own arguments: a
     * user who asks for it must never get a write, whether or not the recipe reads it. */
    for (int k = 1; k < argc; k++)
        if (strcmp(argv[k], "--dry-run") == 0) opts.dry_run = 1;
    if (quiet && verbose) return usage_error("%s", "--quiet and --verbose contradict each other");
    if ((root_count || host_count) && !opts.sandbox) return usage_error("%s", "--allow-dir and --allow-host go with --sandbox");
    if (root_count) opts.allowed_roots = roots;
    if (host_count) opts.allowed_hosts = hosts;
    opts.log_level = quiet ? WPL_LOG_ERROR : verbose ? WPL_LOG_DEBUG : WPL_LOG_INFO;

    if (command == NULL) return usage_error("%s", "no command given");
    if (strcmp(command, "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(command, "version") == 0) {
        printf("wpl %s\n", wpl_version());
        return 0;
    }
    if (strcmp(command, "site") == 0 || strcmp(command, "history") == 0)
        return run_cli_command(&opts, command, argc - i, argv + i);
    if (strcmp(command, "run") != 0) return usage_error("unknown command '%s'", command);
    if (i >= argc) return usage_error("%s", "run: which recipe? (a path to a .lua file)");
    const char *recipe = argv[i];
    if (access(recipe, R_OK) != 0) return usage_error("cannot read recipe '%s'", recipe);

    wpl_runtime *rt = wpl_runtime_new(&opts);
    if (rt == NULL) {
        fputs("wpl: not enough memory to start\n", stderr);
        return 1;
    }
    wpl_status status = wpl_run_file(rt, recipe, argc - i - 1, (const char *const *)argv + i + 1);
    if (status != WPL_OK && *wpl_last_error(rt)) fprintf(stderr, "wpl: %s\n", wpl_last_error(rt));
    int exit_status = wpl_exit_status(rt);
    wpl_runtime_free(rt);
    return exit_status;
}
