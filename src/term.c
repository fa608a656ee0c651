/* wpl.term: the terminal, for commands that talk to a person. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "internal.h"

/* term.isatty(fd) -> bool (0 stdin, 1 stdout, 2 stderr) */
static int term_isatty(lua_State *L) {
    lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
    return 1;
}

/* term.read_secret(prompt) -> line | nil, err: reads one line from the controlling terminal
 * with echo off (for passwords), restoring the terminal afterwards. */
static int term_read_secret(lua_State *L) {
    const char *prompt = luaL_optstring(L, 1, "Password: ");
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return wpl_error_return(L, "no_terminal", "no terminal to ask for the password on", 0, false);
    struct termios saved, quiet;
    bool restore = tcgetattr(fd, &saved) == 0;
    if (restore) {
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ICANON;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) { /* the prompt is best effort */
    }
    char line[1024];
    size_t n = 0;
    bool ok = false;
    while (n < sizeof line - 1) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (c == '\n' || c == '\r') {
            ok = true;
            break;
        }
        line[n++] = c;
    }
    if (restore) tcsetattr(fd, TCSAFLUSH, &saved);
    if (write(fd, "\n", 1) < 0) {
    }
    close(fd);
    line[n] = '\0';
    if (!ok && n == 0) return wpl_error_return(L, "no_input", "no password was entered", 0, false);
    lua_pushlstring(L, line, n);
    memset(line, 0, sizeof line);
    return 1;
}

int luaopen_wpl_term(lua_State *L) {
    static const luaL_Reg funcs[] = {{"isatty", term_isatty}, {"read_secret", term_read_secret}, {NULL, NULL}};
    luaL_newlib(L, funcs);
    return 1;
}
