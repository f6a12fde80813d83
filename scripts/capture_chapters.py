"""Execute every chapter and write what a reader is told: each glued value, each table and
each printed line, per chapter, to one JSON file. Two captures (before and after a change
that must not change results) are compared with ``--compare A.json B.json``.

    python scripts/capture_chapters.py --book book --out /tmp/after.json
    python scripts/capture_chapters.py --compare /tmp/before.json /tmp/after.json
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

GLUE = "application/papermill.record/"


def capture(nb_path: Path, timeout: int) -> dict:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(nb_path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(nb_path.parent)}}).execute()
    glue, tables, text = {}, [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for mime, val in data.items():
                if mime.startswith(GLUE):
                    key = out.get("metadata", {}).get("scrapbook", {}).get("name", "?")
                    glue[key] = val if isinstance(val, str) else json.dumps(val)
            html = data.get("text/html", "")
            if "<table" in html:
                tables.append(html if isinstance(html, str) else "".join(html))
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                text.append(out.get("text", ""))
            elif "text/plain" in data and not any(m.startswith(GLUE) for m in data):
                plain = data["text/plain"]
                if not re.match(r"^<(Figure|matplotlib)", plain):
                    text.append(plain)
    return {"glue": glue, "tables": tables, "text": text}


def compare(a: dict, b: dict) -> int:
    bad = 0
    for ch in sorted(set(a) | set(b)):
        ca, cb = a.get(ch), b.get(ch)
        if ca is None or cb is None:
            print(f"{ch}: only in {'after' if ca is None else 'before'}")
            bad += 1
            continue
        for key in sorted(set(ca["glue"]) | set(cb["glue"])):
            va, vb = ca["glue"].get(key), cb["glue"].get(key)
            if va != vb:
                print(f"{ch}: glue {key}: {va!r} -> {vb!r}")
                bad += 1
        if ca["tables"] != cb["tables"]:
            print(f"{ch}: tables differ ({len(ca['tables'])} before, {len(cb['tables'])} after)")
            bad += 1
        if ca["text"] != cb["text"]:
            print(f"{ch}: printed text differs")
            bad += 1
        n = len(ca["glue"])
        print(f"{ch}: {n} glued values, {len(ca['tables'])} tables, {len(ca['text'])} text outputs compared")
    print("identical" if bad == 0 else f"{bad} differences")
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--book", default="book")
    ap.add_argument("--out")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--compare", nargs=2)
    ap.add_argument("chapters", nargs="*", help="chapter prefixes (default: all)")
    args = ap.parse_args(argv)
    if args.compare:
        a, b = (json.loads(Path(p).read_text()) for p in args.compare)
        return compare(a, b)
    res = {}
    for nb in sorted(Path(args.book).glob("[0-9]*.ipynb")):
        if args.chapters and not any(nb.name.startswith(c) for c in args.chapters):
            continue
        t0 = time.time()
        res[nb.stem] = capture(nb.resolve(), args.timeout)
        print(f"{nb.stem}: {time.time() - t0:.0f} s, {len(res[nb.stem]['glue'])} glued", flush=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
