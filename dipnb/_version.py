"""The version of dipnb (one home: the package, the results and the book read it from here)."""
__version__ = "0.1.0"


def source_digest() -> str:
    """A digest (12 hex digits) of the source of the installed dipnb package: every ``.py`` file
    under it, by relative path and content. Two processes with the same digest compute the same
    cells; :mod:`dipnb.experiments.cluster` refuses a Dask worker whose digest differs from the
    client's (another commit installed there would compute cells keyed by this one's code)."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]
