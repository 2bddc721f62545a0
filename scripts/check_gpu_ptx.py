#!/usr/bin/env python
"""Compile every sparsetools.cuda kernel to PTX for a GPU architecture, without a GPU.

The kernels and their argument types come from one table, ``sparsetools.cuda._signatures``.

The CUDA simulator (what CI runs the GPU tests on) executes the kernels as Python, so it
cannot catch what only the real compiler rejects: a variable whose type differs between
branches, an unsupported NumPy call, a shared array of non-constant size. This compiles
each kernel, for each block size and both dtypes, with numba-cuda's real pipeline (NVVM);
it needs the NVVM and NVRTC libraries, e.g.

    pip install nvidia-cuda-nvcc-cu12 nvidia-cuda-nvrtc-cu12
    python scripts/check_gpu_ptx.py [--cc 9.0]

Without a CUDA driver, numba-cuda cannot ask a device for its compute capability, so the
one given by --cc is used. Exits non-zero if a kernel does not compile.
"""

import argparse
import os
import sys
import types as pytypes


def compute_capability(text):
    """An argparse type: ``MAJOR.MINOR`` as a pair of ints."""
    parts = text.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not MAJOR.MINOR (for example 9.0)")
    return int(parts[0]), int(parts[1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cc", default="9.0", type=compute_capability,
                   help="compute capability MAJOR.MINOR (default 9.0, Hopper)")
    p.add_argument("--probe", action="store_true",
                   help="only check that the compiler libraries are there (exit 0) or not (exit 3)")
    args = p.parse_args(argv)
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        sys.exit("NUMBA_ENABLE_CUDASIM=1: the simulator compiles nothing; unset it")
    cc = args.cc
    import numba.cuda.dispatcher as dispatcher
    from numba import cuda, types

    try:
        cuda.get_current_device()
    except Exception:  # no driver: device functions are compiled for the requested cc
        dispatcher.get_current_device = lambda: pytypes.SimpleNamespace(compute_capability=cc)
    if args.probe:
        def tiny(x):
            x[0] = 1.0

        try:
            cuda.compile_ptx(tiny, (types.float64[:],), cc=cc)
        except Exception as e:
            print(f"no CUDA compiler here: {type(e).__name__}: {e}")
            sys.exit(3)
        print("the CUDA compiler libraries are there")
        return
    from sparsetools.cuda import _launch
    from sparsetools.cuda._signatures import KERNELS, signature

    failures = 0
    for T in (32, 256):
        kern = _launch.kernels(T)
        for dt in (types.float32, types.float64):
            for name in KERNELS:
                try:
                    ptx, _ = cuda.compile_ptx(kern[name].py_func, signature(name, dt), cc=cc)
                    local = ".local" in ptx
                    print(f"T={T:<3} {dt!s:<7} {name:<16} ok  ({len(ptx):,} bytes of PTX"
                          f"{', uses local memory' if local else ''})")
                except Exception as e:  # report every kernel, then fail
                    failures += 1
                    print(f"T={T:<3} {dt!s:<7} {name:<16} FAILED: {type(e).__name__}: {e}")
    if failures:
        sys.exit(f"{failures} kernel(s) did not compile")


if __name__ == "__main__":
    main()
