#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Lists the settings a synproxyd.conf sets, one "key<TAB>value" a line.

A key is the setting's path with dots ("queue.count", "timeouts.time_wait");
settings inside the groups of a list carry the list's name ("rules.mss"),
once per value.  Values are the file's text, whitespace squeezed.  Used by
tests/live/lib.sh to find the defaults a live test overrides (the libconfig
subset synproxyd.conf(5) describes: groups, lists, arrays, scalars,
comments).
"""
import re
import sys

TOKEN = re.compile(r'''
    (?P<space>\s+) |
    (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/) |
    (?P<string>"(?:[^"\\]|\\.)*") |
    (?P<name>[A-Za-z*][-A-Za-z0-9_*]*) |
    (?P<scalar>[-+0-9.][-+0-9.xXa-fA-FLl]*) |
    (?P<punct>[=:;,{}()\[\]])
''', re.S | re.X)


def tokens(text):
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            sys.exit("conf_keys: cannot read %r" % text[pos:pos + 20])
        pos = m.end()
        kind = m.lastgroup
        if kind not in ("space", "comment"):
            yield kind, m.group(kind)


def settings(text):
    out = []
    path = []          # names of the enclosing groups and lists
    stack = []         # what each open bracket is: "group", "list" or "array"
    toks = list(tokens(text))
    i = 0
    while i < len(toks):
        kind, val = toks[i]
        if kind == "name" and i + 1 < len(toks) and toks[i + 1][1] in ("=", ":"):
            key = ".".join(path + [val])
            nxt = toks[i + 2][1] if i + 2 < len(toks) else ""
            if nxt in ("{", "("):
                path.append(val)
                stack.append(("group" if nxt == "{" else "list", True))
                i += 3
                continue
            # A scalar or an array: take its text up to the ';' or ','.
            j = i + 2
            depth = 0
            parts = []
            while j < len(toks):
                v = toks[j][1]
                if v == "[":
                    depth += 1
                elif v == "]":
                    depth -= 1
                elif depth == 0 and v in (";", ",", "}", ")"):
                    break
                parts.append(v)
                j += 1
            out.append((key, " ".join(parts).replace("[ ", "[").replace(" ]", "]")
                        .replace(" ,", ",")))
            i = j
            continue
        if val in ("{", "("):
            stack.append(("group" if val == "{" else "list", False))   # anonymous
        elif val in ("}", ")"):
            if not stack:
                sys.exit("conf_keys: unbalanced %s" % val)
            _, named = stack.pop()
            if named:
                path.pop()
        i += 1
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: conf_keys.py FILE")
    with open(sys.argv[1]) as f:
        for key, value in settings(f.read()):
            print("%s\t%s" % (key, value))


if __name__ == "__main__":
    main()
