#!/usr/bin/env python3
"""Fails when files of a crate import each other in a cycle (ARCHITECTURE.md, "files with
one job and no import cycles").

An edge runs from a file to the file that defines a module it names in a path
(`crate::a::b`, `super::c`, `self::d`), outside comments, string literals and
`#[cfg(test)]` modules. `lib.rs` and `mod.rs` files that only declare and re-export their
children are facades: a path through them is followed to the child it re-exports, and
their own re-exports are not edges.

Usage: .ci/import_cycles.py CRATE_SRC_DIR...
"""
import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\b(crate|super|self)::\{")


def strip(text):
    """Drops comments, string literals and `#[cfg(test)] mod ... { }` blocks."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r(#*)".*?"\1', '""', text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text, flags=re.S)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def module_of(src, file):
    """`keys::cache` for src/keys/cache.rs; `` for lib.rs; `keys` for keys/mod.rs."""
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("lib", "main", "mod"):
        parts.pop()
    return tuple(parts)


def expand_groups(text):
    """`crate::{a::X, b}` -> `crate::a::X crate::b` (one level of braces is enough here)."""
    def expand(m):
        root = m.group(1)
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        inner = text[m.end():j - 1]
        items = [s.strip() for s in re.split(r",(?![^{]*\})", inner) if s.strip()]
        return " ".join(f"{root}::{item}" for item in items) + " "
    return USE_GROUP.sub(lambda m: expand(m), text)


def main(dirs):
    cycles = []
    for src in map(Path, dirs):
        files = {module_of(src, f): f for f in src.rglob("*.rs")}
        texts = {m: expand_groups(strip(f.read_text())) for m, f in files.items()}
        facades = {
            m for m, f in files.items()
            if f.name in ("lib.rs", "mod.rs")
            and not re.search(r"\b(fn|struct|enum|trait|impl|const|static|type|macro_rules)\b",
                              re.sub(r"pub(\([^)]*\))?\s+use[^;]*;|\bmod\s+\w+\s*;", "", texts[m]))
        }
        reexports = {}
        for m in facades:
            for use in re.finditer(r"pub(?:\([^)]*\))?\s+use\s+([^;]*);", texts[m]):
                body = use.group(1)
                for name in re.findall(r"\b(\w+)(?:\s*,|\s*\}|$)", body):
                    head = re.match(r"\s*(?:self::)?(\w+)", body).group(1)
                    if (*m, head) in files:
                        reexports[(m, name)] = (*m, head)

        def resolve(here, root, segments):
            base = {"crate": (), "self": here, "super": here[:-1]}[root]
            while segments and segments[0] == "super":
                base, segments = base[:-1], segments[1:]
            target = base
            for seg in segments:
                if (*target, seg) in files:
                    target = (*target, seg)
                elif target in facades and (target, seg) in reexports:
                    target = reexports[(target, seg)]
                    break
                else:
                    break
            return target

        edges = {m: set() for m in files}
        for m, text in texts.items():
            is_facade = m in facades
            for hit in PATH.finditer(text):
                line_start = text.rfind("\n", 0, hit.start()) + 1
                if is_facade and re.match(r"\s*pub(\([^)]*\))?\s+use\b", text[line_start:hit.start()]):
                    continue
                segments = [s for s in hit.group(2).split("::") if s]
                # `self` in a file's own `use self::x` names a child module file.
                here = m if files[m].name in ("lib.rs", "mod.rs") else m
                if hit.group(1) == "self" and files[m].name not in ("lib.rs", "mod.rs"):
                    here = m
                target = resolve(here if hit.group(1) != "super" or files[m].name not in ("lib.rs", "mod.rs") else m,
                                 hit.group(1), segments)
                if target != m and target in files:
                    edges[m].add(target)

        # Tarjan's strongly connected components.
        index, low, stack, on, order = {}, {}, [], set(), [0]

        def visit(v):
            index[v] = low[v] = order[0]
            order[0] += 1
            stack.append(v)
            on.add(v)
            for w in edges[v]:
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    cycles.append(sorted(str(files[c]) for c in component))

        sys.setrecursionlimit(10_000)
        for v in files:
            if v not in index:
                visit(v)
        print(f"{src}: {len(files)} files, {sum(map(len, edges.values()))} imports between them")
    for cycle in cycles:
        print("import cycle: " + " <-> ".join(cycle), file=sys.stderr)
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
