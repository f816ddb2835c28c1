/* ptydrive.c: run a command in a pseudo-terminal and drive it from a script
 * of steps (send text, Ctrl keys, expect output), like a person at a tty. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *usage_text =
    "usage: ptydrive [-v] [-t SECONDS] [-c COLUMNS] SCRIPT -- COMMAND [ARGS...]\n"
    "Runs COMMAND in a pseudo-terminal and plays SCRIPT, one step a line:\n"
    "  send TEXT      type TEXT (escapes: \\n \\r \\t \\e \\\\ \\xHH)\n"
    "  ctrl X         press Ctrl-X (ctrl C, ctrl D, ...)\n"
    "  expect TEXT    wait until TEXT appears in the output after the last\n"
    "                 match (escape sequences and \\r are removed first)\n"
    "  sleep MS       keep reading output for MS milliseconds\n"
    "  timeout SECS   time limit of the following expect/exit steps\n"
    "  hangup         close the terminal (COMMAND gets SIGHUP)\n"
    "  exit CODE      wait for COMMAND to exit with status CODE ('any')\n"
    "Blank lines and lines starting with # are skipped. SCRIPT '-' reads\n"
    "stdin. On a failed step the transcript goes to stderr and the exit\n"
    "status is 1; -v prints the transcript on success too.\n";

/* Output seen so far with terminal escape sequences and \r removed, and the
 * position after the last match. */
static char *seen;
static size_t seen_len, seen_cap, cursor;
static int esc_state; /* 0 text, 1 after ESC, 2 in CSI, 3 in OSC */

static int master = -1;
static pid_t child = -1;
static int child_status = -1; /* wait status once the child has exited */

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "ptydrive: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static void keep(char c)
{
    if (seen_len + 1 >= seen_cap) {
        seen_cap = seen_cap ? seen_cap * 2 : 65536;
        seen = realloc(seen, seen_cap);
        if (seen == NULL)
            die("%s", "out of memory");
    }
    seen[seen_len++] = c;
    seen[seen_len] = '\0';
}

/* Feed raw terminal output through a small state machine that drops
 * escape sequences (CSI, OSC, two-byte ESC) and control characters other
 * than newline and tab, so expectations match what a person reads. */
static void absorb(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        switch (esc_state) {
        case 1:
            esc_state = c == '[' ? 2 : c == ']' ? 3 : 0;
            continue;
        case 2:
            if (c >= 0x40 && c <= 0x7e)
                esc_state = 0;
            continue;
        case 3:
            if (c == 0x07)
                esc_state = 0;
            else if (c == 0x1b)
                esc_state = 1;
            continue;
        default:
            break;
        }
        if (c == 0x1b)
            esc_state = 1;
        else if (c == '\n' || c == '\t' || c >= 0x20)
            keep((char)c);
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Reap the child without blocking; remembers its status. */
static void reap(void)
{
    if (child_status >= 0)
        return;
    int st;
    if (waitpid(child, &st, WNOHANG) == child)
        child_status = st;
}

/* Read whatever the child writes for up to ms milliseconds (0: just what is
 * there now). Returns 0 once the terminal is closed (the child is gone). */
static int pump(int ms)
{
    long end = now_ms() + ms;
    if (master < 0) /* hung up: nothing more to read */
        return 0;
    for (;;) {
        long left = end - now_ms();
        struct pollfd p = {.fd = master, .events = POLLIN};
        int r = poll(&p, 1, left > 0 ? (int)left : 0);
        if (r < 0 && errno != EINTR)
            return 0;
        if (r > 0) {
            char buf[4096];
            ssize_t n = read(master, buf, sizeof buf);
            if (n <= 0) /* EIO: the slave side is closed */
                return 0;
            absorb(buf, (size_t)n);
            continue;
        }
        if (left <= 0)
            return 1;
    }
}

/* Decode the escapes of a script argument in place; returns its length. */
static size_t unescape(char *s)
{
    char *out = s;
    for (char *p = s; *p; p++) {
        if (*p != '\\' || p[1] == '\0') {
            *out++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case 't': *out++ = '\t'; break;
        case 'e': *out++ = 0x1b; break;
        case 'x': {
            char hex[3] = {p[1], p[1] ? p[2] : '\0', '\0'};
            *out++ = (char)strtol(hex, NULL, 16);
            p += strlen(hex);
            break;
        }
        default: *out++ = *p; break;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

static void send_bytes(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(master, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        s += w;
        n -= (size_t)w;
        pump(0);
    }
    /* Let the program react before the next keystrokes, as typing does. */
    pump(20);
}

static void fail(int step, const char *what, const char *text)
{
    fprintf(stderr, "ptydrive: step %d: %s '%s'\n", step, what, text);
    fprintf(stderr, "---- transcript, up to the last match (%zu bytes after it) ----\n"
            "%.*s\n---- unmatched rest ----\n%s\n---- end ----\n",
            seen_len - cursor, (int)cursor, seen ? seen : "",
            seen ? seen + cursor : "");
    if (child_status < 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    exit(1);
}

int main(int argc, char **argv)
{
    int verbose = 0, cols = 80;
    double timeout = 10;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            timeout = atof(argv[++i]);
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            cols = atoi(argv[++i]);
        else if (strcmp(argv[i], "--") == 0)
            break;
        else {
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (i + 2 >= argc || strcmp(argv[i + 1], "--") != 0) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *script_path = argv[i];
    char **command = argv + i + 2;
    FILE *script = strcmp(script_path, "-") == 0 ? stdin
                                                  : fopen(script_path, "r");
    if (script == NULL)
        die("cannot open script %s", script_path);

    struct winsize ws = {.ws_row = 24, .ws_col = (unsigned short)cols};
    child = forkpty(&master, NULL, NULL, &ws);
    if (child < 0)
        die("forkpty: %s", strerror(errno));
    if (child == 0) {
        execvp(command[0], command);
        fprintf(stderr, "ptydrive: cannot run %s: %s\n", command[0],
                strerror(errno));
        _exit(127);
    }
    signal(SIGPIPE, SIG_IGN);

    char line[8192];
    int step = 0;
    while (fgets(line, sizeof line, script) != NULL) {
        step++;
        line[strcspn(line, "\n")] = '\0';
        char *p = line + strspn(line, " \t");
        if (*p == '\0' || *p == '#')
            continue;
        char *arg = p + strcspn(p, " \t");
        if (*arg != '\0')
            *arg++ = '\0';
        if (strcmp(p, "send") == 0) {
            size_t n = unescape(arg);
            send_bytes(arg, n);
        } else if (strcmp(p, "ctrl") == 0) {
            char c = (char)((arg[0] | 0x20) - 'a' + 1);
            if (arg[0] == '\0' || c < 1 || c > 26)
                fail(step, "unknown control key", arg);
            send_bytes(&c, 1);
        } else if (strcmp(p, "expect") == 0) {
            size_t n = unescape(arg);
            long end = now_ms() + (long)(timeout * 1000);
            const char *hit;
            for (;;) {
                hit = seen ? memmem(seen + cursor, seen_len - cursor, arg, n)
                           : NULL;
                if (hit != NULL || now_ms() >= end)
                    break;
                if (!pump(50)) {
                    hit = seen ? memmem(seen + cursor, seen_len - cursor, arg,
                                        n) : NULL;
                    break;
                }
            }
            if (hit == NULL)
                fail(step, "did not see", arg);
            cursor = (size_t)(hit - seen) + n;
        } else if (strcmp(p, "sleep") == 0) {
            pump(atoi(arg));
        } else if (strcmp(p, "hangup") == 0) {
            /* Close the terminal, as a closed window or a dropped ssh
             * connection does: the kernel sends the command SIGHUP. */
            close(master);
            master = -1;
        } else if (strcmp(p, "timeout") == 0) {
            timeout = atof(arg);
        } else if (strcmp(p, "exit") == 0) {
            long end = now_ms() + (long)(timeout * 1000);
            while (child_status < 0 && now_ms() < end) {
                if (!pump(50)) {
                    /* Terminal closed: the child is exiting. */
                    int st;
                    if (waitpid(child, &st, 0) == child)
                        child_status = st;
                }
                reap();
            }
            if (child_status < 0)
                fail(step, "command did not exit; wanted status", arg);
            int code = WIFEXITED(child_status) ? WEXITSTATUS(child_status)
                                               : 128 + WTERMSIG(child_status);
            if (strcmp(arg, "any") != 0 && code != atoi(arg)) {
                char got[64];
                snprintf(got, sizeof got, "%d (wanted %s)", code, arg);
                fail(step, "command exited with status", got);
            }
        } else {
            fail(step, "unknown step", p);
        }
    }
    if (script != stdin)
        fclose(script);
    reap();
    if (child_status < 0) {
        kill(child, SIGTERM);
        waitpid(child, NULL, 0);
    }
    if (verbose)
        printf("%s", seen ? seen : "");
    return 0;
}
