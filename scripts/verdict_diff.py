"""Every claim row's verdict on the results of an earlier commit against today's, both read by
today's code (dipnb.report): which verdicts the new runs changed.

    .venv/bin/python scripts/verdict_diff.py REV [-v]

REV is a git revision (e.g. 7ad2fee); its results/*.npz and .json are extracted to a temporary
folder. ``-v`` also prints both measurements of every row.
"""
import subprocess
import sys
import tempfile
from pathlib import Path

from dipnb.report.findings import saved_claims


def rows(out) -> dict:
    return {c.key: c for c in saved_claims(out, reps=1000)[0]}


def extract(rev: str, folder: Path) -> None:
    names = subprocess.run(["git", "ls-tree", "--name-only", rev, "results/"], check=True,
                           capture_output=True, text=True).stdout.split()
    for path in names:
        if path.endswith((".npz", ".json")):
            data = subprocess.run(["git", "show", f"{rev}:{path}"], check=True, capture_output=True).stdout
            (folder / Path(path).name).write_bytes(data)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "-v"]
    if len(args) != 1:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        extract(args[0], Path(tmp))
        old, new = rows(tmp), rows(None)
    for key in sorted(set(old) | set(new)):
        o, n = old.get(key), new.get(key)
        ov, nv = (o.verdict if o else "-"), (n.verdict if n else "-")
        print(f"{'CHANGED' if ov != nv else 'same':7s} {key:28s} {ov:35s} -> {nv}")
        if "-v" in sys.argv:
            print("    old:", o.measured if o else "-")
            print("    new:", n.measured if n else "-")
