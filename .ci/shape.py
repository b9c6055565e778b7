#!/usr/bin/env python3
"""The shape of src/ (issue 28): no function over 80 lines (tests excepted) and no import
circle between the modules of src/. Prints what it finds; exits 1 on a finding."""
import os
import re
import sys

LIMIT = 80
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
FN = re.compile(r"^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")
TEST_FILES = ("properties.rs", "rule_properties.rs")


def rust_files():
    for base, _, files in os.walk(ROOT):
        for name in sorted(files):
            if name.endswith(".rs"):
                yield os.path.join(base, name)


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, "::")
    if rel.endswith("::mod"):
        rel = rel[: -len("::mod")]
    return rel


def long_functions(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    found = []
    in_tests = False
    for i, line in enumerate(lines):
        if line.startswith("#[cfg(test)]"):
            in_tests = True
        if in_tests:
            continue
        m = FN.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        indent = m.group(1)
        for j in range(i + 1, len(lines)):
            if lines[j] == indent + "}":
                length = j - i + 1
                if length > LIMIT:
                    found.append((m.group(2), i + 1, length))
                break
    return found


def imports(path, modules):
    text = open(path, encoding="utf-8").read()
    text = text.split("#[cfg(test)]")[0]
    own = module_of(path)
    used = set()
    for m in re.finditer(r"\b(?:crate|super)::([a-z_]+(?:::[a-z_]+)?)", text):
        name = m.group(1)
        if m.group(0).startswith("super::"):
            parent = own.rsplit("::", 1)[0] if "::" in own else ""
            name = (parent + "::" + name) if parent else name
        # The deepest module the path names.
        while name and name not in modules:
            name = name.rsplit("::", 1)[0] if "::" in name else ""
        if name and name != own:
            used.add(name)
    for m in re.finditer(r"use crate::\{([^}]*)\}", text):
        for part in m.group(1).split(","):
            name = part.strip().split("::")[0]
            if name in modules and name != own:
                used.add(name)
    return used


def circles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main():
    files = [f for f in rust_files() if os.path.basename(f) not in TEST_FILES]
    modules = {module_of(f) for f in files}
    failed = False
    for path in files:
        for name, line, length in long_functions(path):
            print(f"function over {LIMIT} lines: {os.path.relpath(path, ROOT)}:{line} {name} ({length})")
            failed = True
    # A module and its own submodules are one room: `plan` and `plan::rules` may use each other.
    top = lambda m: m.split("::")[0]
    graph = {}
    for path in files:
        own = top(module_of(path))
        for used in imports(path, modules):
            if top(used) != own:
                graph.setdefault(own, set()).add(top(used))
    for circle in circles(graph):
        print("import circle between modules: " + " <-> ".join(circle))
        failed = True
    if not failed:
        print(f"shape: no function over {LIMIT} lines, no import circle ({len(files)} files)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
