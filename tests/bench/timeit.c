/* timeit.c: time whole commands for the benchmarks: run each N times,
 * interleaved so machine load hits them alike, and print min and median.
 *
 *   timeit N CMD [ARGS...] [:: CMD [ARGS...]]...
 *
 * prints one line per command: "<min seconds> <median seconds>". Standard
 * output and input of the commands go to /dev/null; a command that fails
 * makes timeit fail (a benchmark of a broken command measures nothing). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CMDS = 8 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv once with stdin and stdout on /dev/null; returns the wall time
 * in seconds, or -1 when it could not run or exited non-zero. */
static double run_once(char **argv)
{
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        execvp(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    double t = now() - t0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? t : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: timeit N CMD [ARGS...] [:: CMD [ARGS...]]...\n");
        return 2;
    }
    int n = atoi(argv[1]);
    if (n < 1)
        n = 1;
    char **cmds[MAX_CMDS];
    int ncmd = 0;
    cmds[ncmd++] = &argv[2];
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "::") == 0) {
            argv[i] = NULL;
            if (ncmd == MAX_CMDS || i + 1 >= argc) {
                fprintf(stderr, "timeit: too many or empty commands\n");
                return 2;
            }
            cmds[ncmd++] = &argv[i + 1];
        }
    double *times = calloc((size_t)n * ncmd, sizeof *times);
    if (times == NULL)
        return 2;
    /* One warm-up run each fills the page cache and checks they work. */
    for (int c = 0; c < ncmd; c++)
        if (run_once(cmds[c]) < 0) {
            fprintf(stderr, "timeit: '%s' failed\n", cmds[c][0]);
            return 1;
        }
    for (int r = 0; r < n; r++)
        for (int c = 0; c < ncmd; c++) {
            double t = run_once(cmds[c]);
            if (t < 0) {
                fprintf(stderr, "timeit: '%s' failed\n", cmds[c][0]);
                return 1;
            }
            times[c * n + r] = t;
        }
    for (int c = 0; c < ncmd; c++) {
        double *t = times + c * n;
        qsort(t, (size_t)n, sizeof *t, cmp_double);
        printf("%.6f %.6f\n", t[0], t[n / 2]);
    }
    free(times);
    return 0;
}
