"""When a driver may enter a parallel region, and when it must run serially.

Numba runs ``prange`` loops on one of three threading layers, and they differ in what they
survive:

- ``tbb`` (Intel TBB, ``pip install tbb``): safe with several Python threads and across
  ``fork``;
- ``omp`` (OpenMP; GNU's libgomp on Linux): safe with several Python threads; but a process
  that forks after it has started libgomp's threads cannot use them in the child (libgomp's
  threads are not copied by ``fork``, and Numba stops the child with "Terminating: fork()
  called from a process already using GNU OpenMP");
- ``workqueue`` (Numba's own, the fallback when neither is installed): safe across ``fork``,
  but two parallel regions entered at once from two threads abort the process
  ("Concurrent access has been detected").

So every driver (``_jit.Driver``) can run both ways: its chunk of rows called from a
``prange`` loop, or on all the rows at once on the calling thread, and ``claim`` picks one
per call:

- in a process forked from one that had started a layer that is not fork-safe (GNU
  OpenMP), every call runs serially: in that child and in its own children;
- with one thread (``NUMBA_NUM_THREADS=1``, or ``numba.set_num_threads(1)`` in the calling
  thread), serially: it is what one thread would do anyway, without entering a region;
- under ``workqueue``, one parallel region at a time: a call that finds another one in
  flight runs serially on its own thread rather than waiting.

The serial and parallel versions give the same bits: each row is computed by the same
code whichever thread runs it.
"""

import os
import threading

import numba

_raw_num_threads = None  # the layer's own thread count, once started (see num_threads)
_started = False  # this process has started Numba's threading layer
_serial_only = False  # forked from a process whose layer does not survive fork
_workqueue = False
_plain = False  # started, not serial-only, not workqueue: claim's fast path
_region = threading.Lock()  # held while a workqueue parallel region runs
_init = threading.Lock()


def num_threads():
    """Numba's thread count for the calling thread (starts the layer on first use)."""
    global _started, _workqueue, _plain, _raw_num_threads
    if not _started:
        with _init:
            n = numba.get_num_threads()  # starts the layer
            _workqueue = numba.threading_layer() == "workqueue"
            # numba.get_num_threads takes a lock and checks the layer on every call; once
            # the layer has started, its own C function answers (a third of the time)
            from numba.np.ufunc import parallel

            _raw_num_threads = getattr(parallel, "_get_num_threads", None)
            if not callable(_raw_num_threads):  # pragma: no cover - other Numba versions
                _raw_num_threads = None
            _started = True
            _plain = _raw_num_threads is not None and not _workqueue and not _serial_only
        return n
    n = _raw_num_threads() if _raw_num_threads is not None else 0
    return n if n > 0 else numba.get_num_threads()


def claim():
    """``(threads, lock)`` for one driver call: ``threads`` is 0 for a serial call, else
    the number of threads the parallel one may use; ``lock`` is a lock the caller must
    release when the call returns, or None."""
    if _plain:  # the common case, kept short: it runs on every call
        n = _raw_num_threads()
        return (n if n > 1 else 0), None
    if _serial_only:
        return 0, None
    n = num_threads()
    if n <= 1:
        return 0, None
    if _workqueue:
        if _region.acquire(blocking=False):
            return n, _region
        return 0, None
    return n, None


def serial_only():
    """True in a process where every call runs serially (forked from a process whose
    threading layer does not survive fork)."""
    return _serial_only


def _fork_safe(name):
    if name in ("tbb", "workqueue"):
        return True
    try:
        from numba.np.ufunc import omppool
    except ImportError:  # pragma: no cover
        return False
    return getattr(omppool, "openmp_vendor", "GNU") != "GNU"


def _after_fork_in_child():
    global _serial_only, _region, _init, _plain
    # a lock held by one of the parent's threads would never be released here
    _region = threading.Lock()
    _init = threading.Lock()
    if _serial_only:
        return
    try:  # also a layer started by the caller's own Numba code
        name = numba.threading_layer()
    except ValueError:  # not started: the child starts its own
        return
    _serial_only = not _fork_safe(name)
    _plain = _plain and not _serial_only


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
