#!/usr/bin/env python3
"""The shape of src/ that issue 13 asked for, checked so it stays.

  check_structure.py ROOT

Prints one line per finding and exits 1 if there is any:
  * a cycle among src/ modules (a module is a .c file and its .h; an
    #include "x.h" is an edge to module x);
  * a function longer than MAX_LINES, except flat tables (FLAT_TABLES);
  * a src/*.c file that docs/internals.md's "Source layout" table does not
    list, or a listed one that does not exist;
  * pg_regress out of PGXS's layout: a pg_regress input sql/NAME.sql
    (anything there but the install scripts, sql/pg_container--*.sql)
    without expected/NAME.out, or the other way round, or a Makefile whose
    DATA would install more than the install scripts.
"""
import glob
import os
import re
import sys

MAX_LINES = 80
# A list of definitions, one after another, reads as a table, not a story.
FLAT_TABLES = {"pgc_define_settings"}


def module_graph(src):
    graph = {}
    for path in glob.glob(os.path.join(src, "*.[ch]")):
        mod = os.path.splitext(os.path.basename(path))[0]
        with open(path) as f:
            incs = re.findall(r'^#include "([A-Za-z0-9_]+)\.h"', f.read(), re.M)
        own = {i for i in incs if os.path.exists(os.path.join(src, i + ".h"))}
        graph.setdefault(mod, set()).update(own - {mod})
    return graph


def cycles(graph):
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                found.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def long_functions(src):
    out = []
    for path in sorted(glob.glob(os.path.join(src, "*.c"))):
        with open(path) as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            # PostgreSQL layout: the name starts a line, the body's brace
            # is alone on the next one, and the closing brace ends it.
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\(", line)
            if not m or i + 1 >= len(lines) or not lines[i + 1].startswith("{"):
                continue
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("}"))
            length = end - i + 1
            if length > MAX_LINES and m.group(1) not in FLAT_TABLES:
                out.append(f"{os.path.basename(path)}:{i + 1}: {m.group(1)} is {length} lines")
    return out


def layout_mismatch(root):
    with open(os.path.join(root, "docs", "internals.md")) as f:
        internals = f.read()
    section = internals.split("## Source layout", 1)[-1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`src/([A-Za-z0-9_]+\.c)`", section))
    present = {os.path.basename(p) for p in glob.glob(os.path.join(root, "src", "*.c"))}
    return ([f"docs/internals.md's Source layout does not list src/{f}" for f in sorted(present - listed)] +
            [f"docs/internals.md's Source layout lists src/{f}, which does not exist" for f in sorted(listed - present)])


def regress_layout(root):
    def names(folder, suffix):
        paths = glob.glob(os.path.join(root, folder, "*" + suffix))
        return {os.path.basename(p)[:-len(suffix)] for p in paths}
    inputs = {n for n in names("sql", ".sql") if not n.startswith("pg_container--")}
    outputs = names("expected", ".out")
    out = [f"sql/{n}.sql has no expected/{n}.out" for n in sorted(inputs - outputs)]
    out += [f"expected/{n}.out has no sql/{n}.sql" for n in sorted(outputs - inputs)]
    makefile = os.path.join(root, "Makefile")
    if os.path.exists(makefile):
        with open(makefile) as f:
            data = re.findall(r"^DATA\s*=\s*(.*)$", f.read(), re.M)
        if data != ["$(wildcard sql/pg_container--*.sql)"]:
            out.append(f"Makefile: DATA is {data}, not $(wildcard sql/pg_container--*.sql)")
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    src = os.path.join(root, "src")
    findings = [f"include cycle: {' -> '.join(c)}" for c in cycles(module_graph(src))]
    findings += long_functions(src)
    findings += layout_mismatch(root)
    findings += regress_layout(root)
    for line in findings:
        print(line)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
