"""Helpers the test modules share: loading a script from its file, and running code in a
fresh interpreter. (conftest.py puts tests/ and scripts/ on sys.path.)"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load_script(name):
    """The module of ``scripts/<name>.py``, loaded from its file (scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_python(code, env=None, timeout=240, args=()):
    """Run ``code`` in a fresh interpreter; returns the CompletedProcess (never hangs).
    ``env`` adds to (a value of None removes from) the current environment."""
    full = dict(os.environ, **(env or {}))
    for k, v in list(full.items()):
        if v is None:
            del full[k]
    # not from the source tree's folder: ``-c`` puts the working folder first on sys.path
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=full,
                          capture_output=True, text=True, timeout=timeout, cwd=tempfile.gettempdir())


def ok(proc):
    """The stdout of a subprocess that must have succeeded (else its output, in the failure)."""
    assert proc.returncode == 0, f"rc {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout
