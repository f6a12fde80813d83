"""Count, per chapter, the visible code lines a reader must scroll past: plumbing (glue calls,
column dumps) and lines wider than 88 columns (the rules of issue 12; hidden cells excluded)."""
import pathlib
import re
import sys


def counts(md: pathlib.Path) -> tuple[int, int]:
    plumb = wide = 0
    for cell in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", md.read_text(), flags=re.S):
        head = cell.split("\n", 3)[:3]
        if any(re.search(r"remove-input|remove-cell|hide-input", h) for h in head):
            continue
        for line in cell.splitlines():
            if line.startswith(":tags:"):
                continue
            plumb += bool(re.search(r"\bglue\(|:>\d+\}|:<\d+\}", line))
            wide += len(line) > 88
    return plumb, wide


if __name__ == "__main__":
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "book")
    for md in sorted(root.glob("[0-9]*.md")) + sorted(root.glob("findings.md")):
        p, w = counts(md)
        print(f"{md.name:28s} plumbing {p:3d}   wider than 88: {w:3d}")
