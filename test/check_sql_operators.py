#!/usr/bin/env python3
"""Find operators in pg_container's install and upgrade scripts that are not
bound to pg_catalog, and @extschema@ inside a DO body.

An unqualified operator in a CHECK, a default or a view is resolved while
the script runs, under the search_path CREATE EXTENSION sets.  An exact
match that a database owner placed in the extension's schema wins over a
catalog operator that needs a cast, and then runs as whoever writes the
table (issue 10: public.>=(real, integer) made a superuser run it).  So
every operator in every script, function bodies included, must be written
OPERATOR(pg_catalog.x); so must the SQL constructs that are operators in
disguise (BETWEEN, IN (...), LIKE, IS DISTINCT FROM, a simple CASE).

Prints one line per finding, file:line: text, and exits 1 if there is any.
Usage: check_sql_operators.py FILE...
"""
import re
import sys

QUALIFIED_MARK = "\x01"

# Words after which "=" assigns or names an option instead of comparing.
ASSIGNING_WORDS = {
    "search_path", "fillfactor", "errcode", "detail", "hint", "message",
    "leftarg", "rightarg", "function", "procedure", "column", "constraint",
    "datatype", "schema", "table",
}

# Constructs that call an operator found through the search_path.
DISGUISED = [
    (re.compile(r"\bBETWEEN\b", re.I), "BETWEEN"),
    (re.compile(r"\b(?:NOT\s+)?I?LIKE\b", re.I), "LIKE"),
    (re.compile(r"\bSIMILAR\s+TO\b", re.I), "SIMILAR TO"),
    (re.compile(r"\bIS\s+(?:NOT\s+)?DISTINCT\s+FROM\b", re.I), "IS DISTINCT FROM"),
    (re.compile(r"\bIN\s*\(", re.I), "IN (...)"),
    (re.compile(r"\bCASE\s+(?!WHEN\b)", re.I), "simple CASE"),
    (re.compile(r"\bNULLIF\s*\(", re.I), "NULLIF"),
]


def blank(match):
    """Replace a match by spaces, keeping its newlines (and so line numbers)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def strip_literals(text):
    """Blank out comments, string literals and quoted identifiers; keep
    dollar-quoted bodies, which are code (function and DO bodies)."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and j + 1 < n and text[j + 1] == "'":
                    j += 2
                elif text[j] == "'":
                    break
                else:
                    j += 1
            out.append("'" + re.sub(r"[^\n]", " ", text[i + 1:j]) + "'")
            i = j + 1
        elif c == '"':
            j = text.find('"', i + 1)
            j = n if j < 0 else j
            out.append("X" * (j + 1 - i))
            i = j + 1
        elif c == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", text[i:])
            if m:
                # The quote marks go; what they enclose is scanned as code.
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def do_body_extschema(raw):
    """Offsets of @extschema@ inside DO bodies.  It is substituted as text,
    also inside the body's strings: a crafted schema name becomes code there
    (CVE-2023-39417).  A DO body names the schema by format('%I', ...)."""
    code = re.sub(r"--[^\n]*", blank, raw)
    hits = []
    for m in re.finditer(r"\bDO\s+(\$[A-Za-z0-9_]*\$)(.*?)\1", code, re.S | re.I):
        for e in re.finditer(r"@extschema@", m.group(2)):
            hits.append(m.start(2) + e.start())
    return hits


def findings(path):
    raw = open(path, encoding="utf-8").read()
    # psql meta-commands are not SQL.
    raw = re.sub(r"(?m)^\\.*$", blank, raw)
    extschema_in_do = do_body_extschema(raw)
    text = strip_literals(raw)
    text = re.sub(r"@extschema@", blank, text)
    # A qualified operator leaves a mark, so that a minus sign after it is
    # known for a negative number.
    text = re.sub(r"OPERATOR\s*\(\s*pg_catalog\s*\.\s*[^)\s]+\s*\)",
                  lambda m: " " * (len(m.group(0)) - 1) + QUALIFIED_MARK, text, flags=re.I)
    # Casts, assignments and named arguments are not operators.
    text = re.sub(r"::|:=|=>", blank, text)
    # %TYPE and %ROWTYPE in PL/pgSQL declarations.
    text = re.sub(r"%(?:ROW)?TYPE\b", blank, text, flags=re.I)

    lines = raw.split("\n")
    found = []

    def report(pos, what):
        line = text.count("\n", 0, pos) + 1
        found.append("%s:%d: %s: %s" % (path, line, what, lines[line - 1].strip()))

    for pos in extschema_in_do:
        report(pos, "@extschema@ in a DO body")

    for pattern, name in DISGUISED:
        for m in pattern.finditer(text):
            if name == "IN (...)":
                before = text[:m.start()].rstrip()
                # FOR x IN SELECT / FOREACH x IN ARRAY are loops, not IN lists.
                if re.search(r"\b(?:FOR|FOREACH)\s+\w+$", before, re.I):
                    continue
            report(m.start(), "unqualified " + name)

    for m in re.finditer(r"[+\-*/<>=~!@#%^&|`?]+", text):
        op = m.group(0)
        before = text[:m.start()]
        prev_word = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", before)
        prev_char = before.rstrip()[-1:] if before.rstrip() else ""
        after = text[m.end():m.end() + 1]
        if op == "=" and prev_word and prev_word.group(1).lower() in ASSIGNING_WORDS:
            continue
        # UPDATE ... SET column = value assigns.
        if op == "=" and re.search(r"\bSET\s+[A-Za-z_][A-Za-z0-9_.]*\s*$", before, re.I):
            continue
        # SELECT *, table.*, count(*).
        if op == "*" and (prev_char in (".", "(") or re.search(r"\bSELECT\s*$", before, re.I)):
            continue
        # A negative number literal.
        if op == "-" and after.isdigit() and prev_char in ("(", ",", "", "[", QUALIFIED_MARK):
            continue
        report(m.start(), "unqualified operator %s" % op)
    return found


def main(paths):
    problems = []
    for path in paths:
        problems.extend(findings(path))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
