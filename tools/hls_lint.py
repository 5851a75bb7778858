#!/usr/bin/env python3
"""hls_lint: checks that HLS kernel sources stay in the synthesizable subset.

Outside `#ifndef __SYNTHESIS__` blocks it rejects:
  - dynamic memory: malloc, calloc, realloc, free, alloca
  - stdio and system calls: printf family, puts, fopen..., exit, abort, system
  - includes other than <stdint.h> and the kernel's own "..." headers
  - function pointers (declarators of the form (*name)(...) or typedefs of them)
  - recursion (any cycle in the call graph of functions defined in the files)
  - variable-length arrays (array sizes that are not integer constant
    expressions of literals and UPPER_CASE macros)
Usage: hls_lint.py FILE...   exit 0 clean, 1 violations (one line each), 2 usage.
"""
import re
import sys

BANNED_CALLS = {
    "malloc", "calloc", "realloc", "free", "alloca", "printf", "fprintf", "sprintf",
    "snprintf", "puts", "fputs", "putchar", "fopen", "fclose", "fread", "fwrite", "exit",
    "abort", "system", "open", "read", "write", "close", "mmap", "getenv", "perror",
}
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "do", "else", "case"}


def strip_comments_strings(src):
    out, i, n = [], 0, len(src)
    while i < n:
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * src.count("\n", i, j))
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src[i] in "\"'":
            q, j = src[i], i + 1
            while j < n and src[j] != q:
                j += 2 if src[j] == "\\" else 1
            out.append(q + q)
            i = j + 1
        else:
            out.append(src[i])
            i += 1
    return "".join(out)


def drop_host_only(src):
    """Blanks the host-only regions: #ifndef __SYNTHESIS__ ... (#else) and the
    #else branch of #ifdef __SYNTHESIS__ (nesting aware)."""
    lines, out, stack = src.split("\n"), [], []  # per level: [kind, in_else]
    for line in lines:
        s = line.strip()
        if re.match(r"#\s*if", s):
            if (re.match(r"#\s*ifndef\s+__SYNTHESIS__\b", s) or
                    re.match(r"#\s*if\s+!\s*defined\s*\(?\s*__SYNTHESIS__", s)):
                kind = "host"
            elif (re.match(r"#\s*ifdef\s+__SYNTHESIS__\b", s) or
                  re.match(r"#\s*if\s+defined\s*\(?\s*__SYNTHESIS__", s)):
                kind = "synth"
            else:
                kind = "other"
            stack.append([kind, False])
            out.append("")
            continue
        if re.match(r"#\s*(else|elif)", s) and stack:
            stack[-1][1] = True
            out.append("")
            continue
        if re.match(r"#\s*endif", s) and stack:
            stack.pop()
            out.append("")
            continue
        host = any((k == "host" and not e) or (k == "synth" and e) for k, e in stack)
        out.append("" if host else line)
    return "\n".join(out)


def lint(path, text, errors, defs, calls):
    code = drop_host_only(strip_comments_strings(text))
    for no, line in enumerate(code.split("\n"), 1):
        m = re.match(r"\s*#\s*include\s*([<\"])([^>\"]+)", line)
        if m and m.group(1) == "<" and m.group(2) != "stdint.h":
            errors.append("%s:%d: include <%s> outside __SYNTHESIS__ guards (only <stdint.h>)"
                          % (path, no, m.group(2)))
        for name in re.findall(r"\b([A-Za-z_]\w*)\s*\(", line):
            if name in BANNED_CALLS:
                errors.append("%s:%d: call to %s() is not synthesizable" % (path, no, name))
        if re.search(r"\(\s*\*\s*[A-Za-z_]\w*\s*\)\s*\(", line):
            errors.append("%s:%d: function pointer" % (path, no))
        for decl in re.finditer(r"\b(?:u?int\d+_t|char|short|int|long|float|double|unsigned)\s+"
                                r"[A-Za-z_]\w*\s*((?:\[[^\]]*\]\s*)+)", line):
            for size in re.findall(r"\[([^\]]*)\]", decl.group(1)):
                expr = re.sub(r"\b[A-Z_][A-Z0-9_]*\b|\b\d+[uUlL]*\b|[\s+\-*/()]", "", size)
                if size.strip() and expr:
                    errors.append("%s:%d: array size '%s' is not a compile-time constant "
                                  "(variable-length array)" % (path, no, size.strip()))
    # function definitions and their calls, for the recursion check
    for m in re.finditer(r"\b([A-Za-z_]\w*)\s*\(([^;{}]*)\)\s*\{", code):
        name = m.group(1)
        if name in KEYWORDS:
            continue
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        body = code[m.end():i]
        defs[name] = path
        calls.setdefault(name, set()).update(
            c for c in re.findall(r"\b([A-Za-z_]\w*)\s*\(", body) if c not in KEYWORDS)


def find_cycles(calls, defs, errors):
    state = {}

    def visit(f, stack):
        state[f] = 1
        for g in sorted(calls.get(f, ())):
            if g not in defs:
                continue
            if state.get(g) == 1:
                cyc = stack[stack.index(g):] + [g] if g in stack else [f, g]
                errors.append("%s: recursion: %s" % (defs[g], " -> ".join(cyc)))
            elif not state.get(g):
                visit(g, stack + [g])
        state[f] = 2

    for f in sorted(defs):
        if not state.get(f):
            visit(f, [f])


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    errors, defs, calls = [], {}, {}
    for path in argv[1:]:
        try:
            with open(path) as fh:
                lint(path, fh.read(), errors, defs, calls)
        except OSError as e:
            sys.stderr.write("hls_lint: %s: %s\n" % (path, e.strerror))
            return 2
    find_cycles(calls, defs, errors)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
