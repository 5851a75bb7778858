#!/usr/bin/env python3
"""hls_lint: checks that HLS kernel sources stay in the synthesizable subset
and keep the design's hardware rules.

Outside host-only regions (`#ifndef __SYNTHESIS__`, and the `#else` of
`#ifdef __SYNTHESIS__`) it rejects:
  - dynamic memory: malloc, calloc, realloc, free, alloca
  - stdio and system calls: printf family, puts, fopen..., exit, abort, system
  - includes other than <stdint.h> and the kernel's own "..." headers
  - function pointers (declarators of the form (*name)(...) or typedefs of them)
  - recursion (any cycle in the call graph of functions defined in the files)
  - variable-length arrays (array sizes that are not integer constant
    expressions of literals and UPPER_CASE macros)
and the hardware rules:
  - unroll-bound: a loop unrolled completely (an UNROLL pragma without a
    factor, or any loop inside a PIPELINE loop, which HLS unrolls) whose
    bound is not a compile-time constant (literals and UPPER_CASE macros)
  - unpartitioned: an array indexed by such an unrolled loop's variable
    with no ARRAY_PARTITION for it (a pragma in the files or a
    set_directive_array_partition in the Tcl files given with --tcl)
  - ddr-in-loop: an m_axi port (a parameter named in an INTERFACE m_axi
    pragma) read or written in a pipelined loop of a function that is not
    marked as a DDR transfer (a comment `hls-lint: ddr` before it)
  - one-engine: a function marked `hls-lint: single instance` called from
    more than one place (each call site of a function is a hardware
    instance)
  - maxi-depth: an INTERFACE m_axi pragma without depth=
Usage: hls_lint.py [--tcl FILE]... FILE...   exit 0 clean, 1 violations (one
line each), 2 usage.
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


def loops(code):
    """Every for loop: (line, label, var, bound, body_start, body_end)."""
    out = []
    for m in re.finditer(r"(?:(\w+)\s*:\s*)?\bfor\s*\(([^;]*);([^;]*);[^)]*\)\s*", code):
        init, cond = m.group(2), m.group(3)
        v = re.match(r"\s*(?:\w+\s+)?(\w+)\s*=", init)
        c = re.match(r"\s*(\w+)\s*(<|<=)\s*(.+?)\s*$", cond)
        i = m.end()
        if i < len(code) and code[i] == "{":
            depth, j = 1, i + 1
            while j < len(code) and depth:
                depth += {"{": 1, "}": -1}.get(code[j], 0)
                j += 1
        else:
            j = code.find(";", i) + 1
        out.append((code.count("\n", 0, m.start()) + 1, m.group(1) or "(unlabelled)",
                    v.group(1) if v else None, c.group(3) if c else cond.strip(), i, j))
    return out


CONST = re.compile(r"^[\sA-Z0-9_+\-*/()uUlL]*$")


def functions(code):
    """(name, start, end) of every function definition."""
    out = []
    for m in re.finditer(r"\b([A-Za-z_]\w*)\s*\(([^;{}]*)\)\s*\{", code):
        if m.group(1) in KEYWORDS:
            continue
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        out.append((m.group(1), m.start(), i))
    return out


def hardware_rules(path, raw, code, partitioned, errors):
    lps = loops(code)
    # which loops are pipelined, and which are unrolled completely
    piped = []
    for (line, label, var, bound, b0, b1) in lps:
        head = code[b0:b0 + 400]
        if re.match(r"\s*\{?\s*(#pragma HLS[^\n]*\n\s*)*#pragma HLS PIPELINE", head, re.I):
            piped.append((b0, b1))
    for (line, label, var, bound, b0, b1) in lps:
        head = code[b0:b0 + 300]
        full = re.match(r"\s*\{?\s*(#pragma HLS[^\n]*\n\s*)*#pragma HLS UNROLL\s*\n", head, re.I)
        inside = any(p0 < b0 and b1 <= p1 for (p0, p1) in piped)
        if not (full or inside):
            continue
        if not CONST.match(bound or "x"):
            errors.append("%s:%d: loop '%s' is unrolled but its bound '%s' is not a "
                          "compile-time constant" % (path, line, label, bound))
        if var:
            body = code[b0:b1]
            ports = set(re.findall(r"#pragma HLS INTERFACE m_axi port\s*=\s*(\w+)", code))
            for arr in set(re.findall(r"(?<![.\w])([A-Za-z_]\w*)\s*(?:\[[^\]\n]*\]\s*)*"
                                      r"\[[^\]\n]*\b%s\b" % re.escape(var), body)):
                # partitioned, an m_axi port (bursts), or a member of a struct
                # value (a register, `v.w[e]`): fine
                if arr in partitioned or arr in ports or arr == var:
                    continue
                errors.append("%s:%d: array '%s' is indexed by the unrolled loop '%s' but has "
                              "no ARRAY_PARTITION" % (path, line, arr, label))
    # m_axi ports used in pipelined loops outside DDR-transfer functions
    ports = set(re.findall(r"#pragma HLS INTERFACE m_axi port\s*=\s*(\w+)", code))
    for m in re.finditer(r"#pragma HLS INTERFACE m_axi[^\n]*", code):
        if "depth" not in m.group(0):
            errors.append("%s:%d: m_axi port without depth= (co-simulation needs it): %s"
                          % (path, code.count("\n", 0, m.start()) + 1, m.group(0).strip()))
    marked = set(re.findall(r"hls-lint:\s*ddr[^\n]*\n(?:[^\n]*\n){0,6}?\s*(?:static\s+)?"
                            r"(?:inline\s+)?\w+[\s*]+(\w+)\s*\(", raw))
    for (name, f0, f1) in functions(code):
        if name in marked:
            continue
        for (p0, p1) in piped:
            if f0 <= p0 and p1 <= f1:
                for port in ports:
                    if re.search(r"\b%s\s*\[" % re.escape(port), code[p0:p1]):
                        errors.append("%s:%d: m_axi port '%s' used in a pipelined loop of %s(), "
                                      "which is not a DDR transfer (mark it `hls-lint: ddr`)"
                                      % (path, code.count("\n", 0, p0) + 1, port, name))
    return set(re.findall(r"hls-lint:\s*single instance[^\n]*\n(?:[^\n]*\n){0,6}?\s*"
                          r"(?:static\s+)?(?:inline\s+)?\w+[\s*]+(\w+)\s*\(", raw))


def main(argv):
    args, tcl = argv[1:], []
    while len(args) >= 2 and args[0] == "--tcl":
        tcl.append(args[1])
        args = args[2:]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    errors, defs, calls, texts, single = [], {}, {}, {}, set()
    partitioned = set()
    for path in tcl + args:
        try:
            with open(path) as fh:
                texts[path] = fh.read()
        except OSError as e:
            sys.stderr.write("hls_lint: %s: %s\n" % (path, e.strerror))
            return 2
    for path in tcl:
        partitioned |= set(n.split(".")[-1] for n in re.findall(
            r"set_directive_array_partition[^\n]*\s(\S+)\s*$", texts[path], re.M))
    for path in args:
        partitioned |= set(re.findall(r"ARRAY_PARTITION\s+variable\s*=\s*(\w+)", texts[path]))
    for path in args:
        lint(path, texts[path], errors, defs, calls)
        code = drop_host_only(strip_comments_strings(texts[path]))
        single |= hardware_rules(path, texts[path], code, partitioned, errors)
    for name in sorted(single):
        sites = []
        for path in args:
            code = drop_host_only(strip_comments_strings(texts[path]))
            for (fn, f0, f1) in functions(code):
                for m in re.finditer(r"\b%s\s*\(" % re.escape(name), code[f0:f1]):
                    if fn != name or m.start() > 0:
                        sites.append("%s:%d" % (path, code.count("\n", 0, f0 + m.start()) + 1))
        sites = [x for x in sites]
        if len(sites) > 1:
            errors.append("%s: single-instance function %s() called from %d places: %s"
                          % (defs.get(name, "?"), name, len(sites), ", ".join(sites)))
    find_cycles(calls, defs, errors)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
