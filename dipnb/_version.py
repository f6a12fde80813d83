"""The version of dipnb (one home: the package, the results and the book read it from here)."""
__version__ = "0.1.0"
