"""Argument checks the scripts share: a bad option is an argparse error at once, not a
traceback after minutes of work."""

import argparse
import os
from pathlib import Path


def positive_int(text):
    """An argparse type: an integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def nonneg_int(text):
    """An argparse type: an integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def shape(text):
    """An argparse type: ``ROWSxN`` with both at least 1, as a (rows, n) tuple."""
    parts = text.lower().split("x")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not ROWSxN (for example 8192x128)")
    rows, n = (_int(p) for p in parts)
    if rows < 1 or n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: rows and n must both be at least 1")
    return rows, n


def out_folder(parser, path, option="--out"):
    """Make the output folder now (before any work), or stop with an argparse error."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        parser.error(f"{option} {path} is a file; it must be a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        parser.error(f"{option} {path}: {e.strerror or e}")
    if not os.access(path, os.W_OK):
        parser.error(f"{option} {path} is not writable")
    return path


def out_file(parser, path, option="--json"):
    """Check now (before any work) that ``path`` can be written: its folder exists and is
    writable, and it is not a folder itself."""
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        parser.error(f"{option} {path} is a folder; it must be a file name")
    folder = path.parent
    if not folder.is_dir():
        parser.error(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        parser.error(f"{option} {path} is not writable")
    return path


def check_scheduler(parser, option="--scheduler"):
    """Stop at once when ``--scheduler`` is asked for and dask.distributed is missing."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        parser.error(f"{option} needs dask.distributed: pip install 'sparsetools[dask]'")


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
