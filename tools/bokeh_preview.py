"""Write one interactive figure into a standalone page that loads BokehJS as the book does
(one <script src> per bundle, from a folder beside the page), to look at it or drive it in a
browser without building the book:

    python tools/bokeh_preview.py OUT_DIR 'module:function' [args as Python literals]

The function must return a dipnb.plotting.interactive.Interactive.
"""
from __future__ import annotations

import ast
import importlib
import os
import shutil
import sys


def write_page(fig, out_dir: str) -> str:
    os.environ["DIPNB_BOOK"] = "1"
    from dipnb.plotting.interactive import BOKEH_JS, bokeh_js_dir

    os.makedirs(out_dir, exist_ok=True)
    for name in BOKEH_JS:
        shutil.copyfile(os.path.join(bokeh_js_dir(), name), os.path.join(out_dir, name))
    scripts = "".join(f'<script src="{name}"></script>' for name in BOKEH_JS)
    path = os.path.join(out_dir, f"{fig.name}.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"<!doctype html><html><head><meta charset='utf-8'>{scripts}</head>"
                f"<body>{fig._repr_html_()}</body></html>")
    return path


if __name__ == "__main__":
    out, target, *args = sys.argv[1:]
    mod, fn = target.split(":")
    fig = getattr(importlib.import_module(mod), fn)(*map(ast.literal_eval, args))
    print(write_page(fig, out))
