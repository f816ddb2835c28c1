#!/usr/bin/env python3
"""marks.py: find messages a person reads that are not marked for
translation (issue 13), in C and Lua sources; --fix wraps them.

A "message" is a string literal that holds a letter (format specifiers,
the "relm" prefix and punctuation aside) and is passed, unmarked, as the
message argument of a call that shows text to a person:
  C:   relm_diag_set(d, code, MSG), relm_lua_error(L, code, MSG),
       luaL_error(L, MSG), usage_error(MSG), fprintf(stderr, MSG),
       file_error(im, row, code, MSG), problem(...) in audit.c and import.c,
       fail(ms, MSG) in pattern.c, script_error(L, MSG),
       printf(MSG), puts(MSG), fputs(MSG, f)
  Lua: relm.error(code, MSG), base.error(code, MSG), fail(code, MSG),
       rerror(code, MSG), refuse(code, MSG), add_problem(c, loc, MSG) and
       bad(where, MSG) (workflow and portfolio validation),
       error(MSG); in Lua every literal with a space inside MSG counts (a
       message built with .. or :format), single words being identifiers.
A literal is marked when it sits inside _(), N_(), n_() (C) or i18n._(),
i18n.n_(), relm._(), relm.n_() (Lua). Literals listed in po/unmarked.txt
(one a line, as written in the source, quotes included) are not messages.
Usage: marks.py [--fix] FILE...   exit 1 when a message is unmarked."""
import os
import re
import sys

C_CALLS = {"relm_diag_set": 2, "relm_lua_error": 2, "luaL_error": 1,
           "usage_error": 0, "printf": 0, "puts": 0, "fputs": 0,
           "fprintf": 1, "script_error": 1, "file_error": 3, "fail": 1}
# Helpers whose message argument sits elsewhere in one file.
C_FILE_CALLS = {"audit.c": {"problem": 3}, "import.c": {"problem": 4}}
LUA_CALLS = {"relm.error": 1, "base.error": 1, "fail": 1, "error": 0,
             "rerror": 1, "refuse": 1, "add_problem": 2, "bad": 1}
C_MARKS = {"_", "N_", "n_"}
LUA_MARKS = {"i18n._", "i18n.n_", "relm._", "relm.n_", "i18n.N_"}

C_TOKEN = re.compile(r'''
    (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<str>"(?:\\.|[^"\\\n])*")
  | (?P<chr>'(?:\\.|[^'\\\n])*')
  | (?P<pre>^[ \t]*\#[^\n]*(?:\\\n[^\n]*)*)
  | (?P<id>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<num>[0-9][A-Za-z_0-9.]*)
  | (?P<punct>->|[^\sA-Za-z_0-9])
  | (?P<ws>\s+)''', re.S | re.X | re.M)

LUA_TOKEN = re.compile(r'''
    (?P<comment>--\[(?P<eq>=*)\[.*?\](?P=eq)\]|--[^\n]*)
  | (?P<str>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|\[(?P<eq2>=*)\[.*?\](?P=eq2)\])
  | (?P<id>[A-Za-z_][A-Za-z_0-9]*(?:\s*[.:]\s*[A-Za-z_][A-Za-z_0-9]*)*)
  | (?P<num>[0-9][A-Za-z_0-9.]*)
  | (?P<punct>\.\.\.|\.\.|==|~=|<=|>=|[^\sA-Za-z_0-9])
  | (?P<ws>\s+)''', re.S | re.X)


def tokens(text, lua):
    out = []
    for m in (LUA_TOKEN if lua else C_TOKEN).finditer(text):
        kind = m.lastgroup
        if kind in ("eq", "eq2"):
            kind = "str" if m.group("str") else "comment"
        if kind in ("ws", "comment", "pre"):
            continue
        val = m.group(0)
        if kind == "id":
            val = re.sub(r"\s+", "", val)
        out.append((kind, val, m.start(), m.end()))
    return out


def is_message(lit, lua):
    body = lit
    if lit.startswith("["):
        body = re.sub(r"^\[=*\[|\]=*\]$", "", lit)
    else:
        body = lit[1:-1]
    body = re.sub(r"%[-+ #0-9.*lhjztqL]*[a-zA-Z%]", "", body)
    body = re.sub(r"\\[ntr\\\"']", " ", body)
    body = re.sub(r"\brelm\b", "", body)
    if not re.search(r"[A-Za-z]", body):
        return False
    return " " in body.strip() if lua else True


def scan(path, text, allow):
    lua = path.endswith(".lua")
    toks = tokens(text, lua)
    calls = LUA_CALLS if lua else dict(C_CALLS, **C_FILE_CALLS.get(os.path.basename(path), {}))
    marks = LUA_MARKS if lua else C_MARKS
    found = []   # (start, end) of literal runs to wrap
    stack = []   # per open paren: [call name, arg index]
    for i, (kind, val, start, end) in enumerate(toks):
        if kind == "punct" and val in "([{":
            name = toks[i - 1][1] if i > 0 and toks[i - 1][0] == "id" and val == "(" else None
            stack.append([name, 0])
        elif kind == "punct" and val in ")]}":
            if stack:
                stack.pop()
        elif kind == "punct" and val == "," and stack:
            stack[-1][1] += 1
        elif kind == "str":
            if any(f[0] in marks for f in stack):
                continue
            # The innermost call that shows text, and whether we are in its
            # message argument (in Lua: anywhere inside it).
            target = None
            for depth in range(len(stack) - 1, -1, -1):
                name, arg = stack[depth]
                if name in calls:
                    if arg == calls[name] and (lua or depth == len(stack) - 1):
                        target = name
                    break
            if target is None or not is_message(val, lua) or val in allow:
                continue
            if target == "fprintf":
                # fprintf(stderr, ...) only: a FILE* of data is not a person.
                j = i
                while j > 0 and toks[j][1] != "fprintf":
                    j -= 1
                if toks[j + 2][1] != "stderr":
                    continue
            if lua:
                found.append((start, end))
            elif i > 0 and toks[i - 1][0] in ("str", "id") and toks[i - 1][1].startswith(("\"", "PRI")):
                found[-1] = (found[-1][0], end)
            else:
                # A run of adjacent literals (and PRId64-style macros).
                j, stop = i, end
                while j + 1 < len(toks) and (toks[j + 1][0] == "str" or
                                             toks[j + 1][1].startswith("PRI")):
                    j += 1
                    stop = toks[j][3]
                if found and found[-1][1] >= start:
                    continue
                found.append((start, stop))
    # C literal runs were appended once at their first literal.
    runs, last = [], -1
    for s, e in found:
        if s > last:
            runs.append((s, e))
            last = e
    return runs


def fix(path, text, runs):
    lua = path.endswith(".lua")
    wrap = "i18n._(" if lua else "_("
    for s, e in reversed(runs):
        text = text[:s] + wrap + text[s:e] + ")" + text[e:]
    if lua and not re.search(r'^local i18n = require "relm\.i18n"', text, re.M):
        m = re.search(r'^local [^\n]*require[^\n]*\n', text, re.M)
        at = m.start() if m else re.search(r"^(?!--)", text, re.M).start()
        text = text[:at] + 'local i18n = require "relm.i18n"\n' + text[at:]
    if not lua and '#include "base/i18n.h"' not in text:
        m = re.search(r'^#include "[^\n]*\n', text, re.M)
        text = text[:m.start()] + '#include "base/i18n.h"\n' + text[m.start():]
    return text


def main(argv):
    do_fix = "--fix" in argv
    files = [a for a in argv if a != "--fix"]
    here = os.path.dirname(os.path.abspath(__file__))
    allow = set()
    with open(os.path.join(here, "unmarked.txt"), encoding="utf-8") as f:
        allow = {l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")}
    bad = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        runs = scan(path, text, allow)
        if not runs:
            continue
        if do_fix:
            with open(path, "w", encoding="utf-8") as f:
                f.write(fix(path, text, runs))
            continue
        for s, e in runs:
            line = text.count("\n", 0, s) + 1
            print("%s:%d: message not marked for translation: %s"
                  % (path, line, text[s:e].split("\n")[0]))
            bad += 1
    if bad:
        print("mark it with _() (C) or i18n._() (Lua), see docs/languages.md;"
              " a literal that is not a message goes in po/unmarked.txt")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
