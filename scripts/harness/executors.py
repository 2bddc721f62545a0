"""Where the experiment scripts run their points: in this process, in local worker
processes, or on a Dask cluster, through one ``concurrent.futures``-style interface.

:func:`open_executor` is a context manager that yields an executor (anything with
``submit(fn, *args)`` returning ``concurrent.futures.Future``), or None for "run the points
here, one after the other":

- ``scheduler=None``: a ``ProcessPoolExecutor`` of ``workers`` spawned processes (None
  when ``workers`` is 1);
- ``scheduler="local"``: a ``dask.distributed.LocalCluster`` of ``workers`` processes of
  one thread each, started here and closed at the end;
- ``scheduler="tcp://host:8786"`` (any address a ``dask.distributed.Client`` takes): the
  cluster already running there.

A point runs with one thread for Numba and for BLAS wherever it runs (:func:`one_thread`),
so that its numbers do not depend on where it ran: a point computed on a cluster gives the
same bits as on a local worker process.
"""

import contextlib
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

#: What each worker process runs its BLAS with (read when the process starts).
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _init_worker():
    import numba

    numba.set_num_threads(1)


@contextlib.contextmanager
def _environ(env):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def open_executor(scheduler=None, workers=1, one_thread=True):
    """The executor the points run on (see the module's text); None means in this process.
    With ``one_thread`` false (timings, which are of the machine's every core), a local
    cluster's workers keep the thread counts of this process's environment."""
    if scheduler is None:
        if workers <= 1:
            yield None
            return
        # spawn, not fork: a fork of a process whose Numba threads have started is unsafe
        with _environ(ONE_THREAD_ENV if one_thread else {}), ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker if one_thread else None) as pool:
            yield pool
        return
    try:
        import distributed
    except ImportError:
        raise SystemExit("--scheduler needs dask.distributed: pip install 'sparsetools[dask]'") from None
    if scheduler == "local":
        # workers of one thread: a point is one core's work, as on the process pool. They
        # import this package from its folder (and so find Numba's cache of its kernels
        # there); the workers' statistical profiler is off: it samples every thread's stack
        # a hundred times a second, which costs a point a third of its time on a small machine
        import dask

        scripts = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join([scripts] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
        # and they, like the scheduler here, log warnings only, not every start and stop
        env = dict(ONE_THREAD_ENV if one_thread else {}, PYTHONPATH=path, DASK_LOGGING__DISTRIBUTED="warning")
        logging.getLogger("distributed").setLevel(logging.WARNING)
        # (the nanny's own default is one thread for BLAS and OpenMP: for timings, none)
        config = {"distributed.worker.profile.enabled": False}
        if not one_thread:
            config["distributed.nanny.pre-spawn-environ"] = {}
        with dask.config.set(config), _environ(env), \
                distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None, env=env) as cluster, \
                distributed.Client(cluster) as client:
            yield client.get_executor(pure=False)
        return
    with distributed.Client(scheduler) as client:
        ship_harness(client)
        yield client.get_executor(pure=False)


def ship_harness(client):
    """Put this package (``harness``, which the points' functions live in) on the
    cluster's workers: they have sparsetools installed, not the scripts folder. It goes as
    a zip that each worker puts on its ``sys.path`` (a worker plugin, so it reaches the workers
    that join later too)."""
    import tempfile
    import zipfile

    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sparsetools_harness.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in sorted(here.glob("*.py")):
                zf.write(f, f"{here.name}/{f.name}")
        # a worker plugin, not Client.upload_file: that one also loads the file into the
        # scheduler, which for a LocalCluster is this process (and the zip is gone after)
        from distributed.diagnostics.plugin import UploadFile

        client.register_plugin(UploadFile(str(path)))


def one_thread(fn, *args):
    """``fn(*args)`` with Numba on one thread in this thread (a cluster worker's threads
    are the parallelism; a point's own threads would compete with them), restored after.
    BLAS takes its thread count from the worker's environment."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return fn(*args)
    finally:
        numba.set_num_threads(before)


def run_points(fn, points, executor, progress=None, label=str, single=True):
    """``[fn(p) for p in points]``, on ``executor`` (None: here, in order); ``progress``
    is called with ``label(p)`` as each point finishes. Results are in ``points``' order.
    With ``single``, a point on the executor runs with Numba on one thread
    (:func:`one_thread`)."""
    results = [None] * len(points)
    if executor is None:
        for i, p in enumerate(points):
            results[i] = fn(p)
            if progress:
                progress(label(p))
        return results
    futures = {(executor.submit(one_thread, fn, p) if single else executor.submit(fn, p)): i
               for i, p in enumerate(points)}
    for fut in as_completed(futures):
        i = futures[fut]
        results[i] = fut.result()
        if progress:
            progress(label(points[i]))
    return results
