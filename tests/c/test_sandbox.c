/* test_sandbox.c: relm_sandbox_call from C, as core primitives use it: the
 * stack contract, diag codes, limits restored, hooks given back. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lua/host.h"
#include "lua/sandbox.h"

static char dir[256];

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)L;
    (void)ar;
}

/* Push the function compiled from code (text, default environment). */
static void push_chunk(lua_State *L, const char *code, const char *name)
{
    if (luaL_loadbufferx(L, code, strlen(code), name, "t") != LUA_OK) {
        fprintf(stderr, "load %s: %s\n", name, lua_tostring(L, -1));
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

static void test_results_and_stack(lua_State *L)
{
    relm_diag d;
    int top = lua_gettop(L);
    push_chunk(L, "local a, b = ... return a + b, 'x'", "=sum");
    lua_pushinteger(L, 40);
    lua_pushinteger(L, 2);
    CHECK(relm_sandbox_call(L, 2, 2, NULL, &d) == RELM_OK);
    CHECK(lua_gettop(L) == top + 2);
    CHECK(lua_tointeger(L, -2) == 42);
    CHECK(strcmp(lua_tostring(L, -1), "x") == 0);
    lua_settop(L, top);
    CHECK(!relm_sandbox_active());
}

static void test_timeout(lua_State *L)
{
    relm_diag d;
    int top = lua_gettop(L);
    relm_sandbox_limits lim = {.timeout_ms = 30};
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1000000);
    push_chunk(L, "while true do pcall(function() while true do end end) end",
               "@spin.lua");
    CHECK(relm_sandbox_call(L, 0, 0, &lim, &d) == RELM_ERR);
    CHECK(lua_gettop(L) == top + 1); /* the error value */
    CHECK(d.code != NULL && strcmp(d.code, "sandbox") == 0);
    CHECK(strcmp(d.msg, "time limit of 30 ms exceeded (at spin.lua:1)") == 0);
    /* The caller's hook is given back, untouched. */
    CHECK(lua_gethook(L) == count_hook);
    CHECK(lua_gethookmask(L) == LUA_MASKCOUNT);
    CHECK(lua_gethookcount(L) == 1000000);
    lua_sethook(L, NULL, 0, 0);
    lua_settop(L, top);
    /* And the next call runs normally. */
    push_chunk(L, "return 7", "=seven");
    CHECK(relm_sandbox_call(L, 0, 1, &lim, &d) == RELM_OK);
    CHECK(lua_tointeger(L, -1) == 7);
    lua_settop(L, top);
}

static void test_memory(lua_State *L)
{
    relm_diag d;
    int top = lua_gettop(L);
    relm_sandbox_limits lim = {.timeout_ms = 10000,
                               .memory_bytes = (size_t)2 << 20};
    size_t before = relm_host_mem_limit(L, 0);
    push_chunk(L, "local t = {} for i = 1, math.maxinteger do "
                  "t[i] = ('x'):rep(256) .. i end", "@hog.lua");
    CHECK(relm_sandbox_call(L, 0, 0, &lim, &d) == RELM_ERR);
    CHECK(strcmp(d.msg, "memory limit of 2 MB exceeded") == 0);
    CHECK(relm_host_mem_limit(L, 0) == before); /* cap lifted */
    lua_settop(L, top);
    lua_gc(L, LUA_GCCOLLECT, 0);
    lim.memory_bytes = 1000;
    push_chunk(L, "return ('y'):rep(4096)", "@small.lua");
    CHECK(relm_sandbox_call(L, 0, 1, &lim, &d) == RELM_ERR);
    CHECK(strcmp(d.msg, "memory limit of 1 KB exceeded") == 0);
    lua_settop(L, top);
}

static void test_script_error(lua_State *L)
{
    relm_diag d;
    int top = lua_gettop(L);
    push_chunk(L, "local t\nreturn t.x", "@bug.lua");
    CHECK(relm_sandbox_call(L, 0, 1, NULL, &d) == RELM_ERR);
    CHECK(strstr(d.msg, "bug.lua:2: attempt to index a nil value") == d.msg);
    CHECK(lua_gettop(L) == top + 1);
    lua_settop(L, top);
}

/* What repl.c does on Ctrl-C: a hook that raises "interrupted" at every
 * instruction until the statement is over. */
static void interrupt_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    relm_lua_error(L, "interrupted", "statement stopped by Ctrl-C");
}

/* Ctrl-C pressed while the script runs (stands in for the signal). */
static int press_ctrl_c(lua_State *L)
{
    lua_sethook(L, interrupt_hook, LUA_MASKCOUNT, 1);
    return 0;
}

/* Ctrl-C during a sandboxed call stops the script with code "interrupted",
 * and the interrupt hook stays for the caller (it is not replaced by the
 * caller's previous hook), so the statement stops too. */
static void test_interrupt(lua_State *L)
{
    relm_diag d;
    int top = lua_gettop(L);
    push_chunk(L, "local ctrl_c = ...\nctrl_c()\n"
                  "while true do pcall(function() end) end", "@busy.lua");
    lua_pushcfunction(L, press_ctrl_c);
    CHECK(relm_sandbox_call(L, 1, 0, NULL, &d) == RELM_ERR);
    CHECK(d.code != NULL && strcmp(d.code, "interrupted") == 0);
    CHECK(strcmp(d.msg, "statement stopped by Ctrl-C") == 0);
    CHECK(lua_gettop(L) == top + 1); /* the error value */
    CHECK(lua_gethook(L) == interrupt_hook);
    lua_sethook(L, NULL, 0, 0);
    lua_settop(L, top);
}

/* A C function that never returns: only the watchdog's last resort can
 * end it. */
static int spin_in_c(lua_State *L)
{
    (void)L;
    volatile unsigned long n = 0;
    for (;;)
        n++;
    return 0;
}

/* In a child process (before this process starts its own watchdog): a
 * call stuck in C past its deadline ends the process with status 70. */
static void test_stuck_in_c(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        relm_diag d;
        relm_store *s = NULL;
        relm_store_opts o = {.create = 1};
        if (relm_store_open(&s, path, &o, NULL, &d) != RELM_OK)
            _exit(2);
        lua_State *L = relm_host_open(s, relm_host_find_home(), &d);
        if (L == NULL)
            _exit(3);
        relm_sandbox_hard_grace(200);
        relm_sandbox_limits lim = {.timeout_ms = 20};
        lua_pushcfunction(L, spin_in_c);
        relm_sandbox_call(L, 0, 0, &lim, &d);
        _exit(4);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 70);
}

static void test_config(void)
{
    relm_sandbox_limits out, set = {.timeout_ms = 123};
    relm_sandbox_config(NULL, &out);
    CHECK(out.timeout_ms == RELM_SANDBOX_TIMEOUT_MS);
    CHECK(out.memory_bytes == RELM_SANDBOX_MEMORY_BYTES);
    relm_sandbox_config(&set, &out);
    CHECK(out.timeout_ms == 123);
    CHECK(out.memory_bytes == RELM_SANDBOX_MEMORY_BYTES);
    set.timeout_ms = RELM_SANDBOX_TIMEOUT_MS;
    relm_sandbox_config(&set, NULL);
}

/* The source tree above this test binary (build/tests or build/asan/tests),
 * for the host's Lua modules, unless RELM_HOME says otherwise. */
static void find_home(void)
{
    if (getenv("RELM_HOME") != NULL)
        return;
    char exe[4096], probe[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    for (int up = 0; up < 5; up++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL || slash == exe)
            return;
        *slash = '\0';
        snprintf(probe, sizeof probe, "%s/lua/relm/init.lua", exe);
        if (access(probe, R_OK) == 0) {
            setenv("RELM_HOME", exe, 1);
            return;
        }
    }
}

int main(void)
{
    find_home();
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/relm-test-sandbox.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    char path[400];
    snprintf(path, sizeof path, "%s/s.db", dir);
    relm_diag d;
    relm_store *s = NULL;
    relm_store_opts o = {.create = 1};
    lua_State *L = NULL;
    if (relm_store_open(&s, path, &o, NULL, &d) != RELM_OK)
        fprintf(stderr, "open: %s\n", d.msg);
    else if ((L = relm_host_open(s, relm_host_find_home(), &d)) == NULL)
        fprintf(stderr, "host: %s\n", d.msg);
    CHECK(L != NULL);
    if (L != NULL) {
        test_stuck_in_c(path);
        test_config();
        test_results_and_stack(L);
        test_timeout(L);
        test_memory(L);
        test_script_error(L);
        test_interrupt(L);
        relm_host_close(L);
    }
    relm_store_close(s);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE("test_sandbox");
}
