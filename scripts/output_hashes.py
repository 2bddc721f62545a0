#!/usr/bin/env python
"""Fingerprint every public function's outputs on a fixed set of inputs.

Runs each public array function of sparsetools (every method where there is a choice) on
seeded inputs of several shapes, dtypes, axes and regimes (N(0, 1) rows, dense rows, ties,
-inf masks, huge offsets), and on inputs each function must reject; hashes the bits of
every result (value, dtype and shape) and the text of every error. Two versions of the
code that give the same hashes compute the same bits: run it before and after a change
that should not change any result, and compare (``--compare OLD.json``).
"""

import argparse
import hashlib
import json
import sys

import numpy as np

import sparsetools as st

import _cli  # scripts/_cli.py: the shared argument checks


def _inputs():
    """(name, z) pairs: the fixed inputs every function runs on."""
    rng = np.random.default_rng(20261201)
    out = []
    for shape in ((7,), (5, 9), (3, 4, 33), (2, 300), (2, 1500)):  # rows of 64 or more: the blocked candidate pass
        z = rng.standard_normal(shape)
        out.append((f"normal{shape}", z))
        out.append((f"dense{shape}", 1e-3 * z))
    ties = np.repeat(rng.standard_normal((4, 3)), 5, axis=1)
    out.append(("ties", ties))
    masked = rng.standard_normal((4, 12))
    masked[:, ::3] = -np.inf
    out.append(("neginf", masked))
    masked = rng.standard_normal((2, 700))
    masked[:, 1::2] = -np.inf
    out.append(("neginf_long", masked))
    out.append(("offset", 1e6 + rng.standard_normal((3, 20))))
    return out


def _digest(x):
    h = hashlib.sha256()
    for a in x if isinstance(x, tuple) else (x,):
        a = np.asarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _call(f):
    try:
        return _digest(f())
    except Exception as e:  # the error's kind and text are part of the behaviour
        return f"{type(e).__name__}: {e}"


def cases():
    """``{case name: thunk}`` for every public function on every input."""
    out = {}
    for name, z0 in _inputs():
        for dtype in (np.float64, np.float32):
            z = z0.astype(dtype)
            axes = (-1, 0) if z.ndim > 1 else (-1,)
            for axis in axes:
                key = f"{name}/{np.dtype(dtype).name}/axis{axis}"
                n = z.shape[axis]
                labels = (np.arange(int(np.prod(z.shape)) // n) % n).reshape(np.delete(z.shape, axis % z.ndim))
                q = st.sparsemax(np.sin(np.arange(z.size)).reshape(z.shape).astype(np.float64), axis=axis)
                g = np.cos(np.arange(z.size)).reshape(z.shape).astype(dtype)
                for m in st.METHODS + ("auto",):
                    out[f"sparsemax/{m}/{key}"] = lambda z=z, a=axis, m=m: st.sparsemax(z, a, method=m)
                    out[f"threshold/{m}/{key}"] = lambda z=z, a=axis, m=m: st.sparsemax_threshold(z, a, method=m)
                    out[f"loss_labels/{m}/{key}"] = (
                        lambda z=z, a=axis, m=m, t=labels: st.sparsemax_loss_and_grad(z, t, a, method=m))
                    out[f"loss_dist/{m}/{key}"] = (
                        lambda z=z, a=axis, m=m, t=q: st.sparsemax_loss_and_grad(z, t, a, method=m))
                for m in st.ENTMAX_METHODS + ("auto",):
                    for alpha in (1.0, 1.3, 1.5, 2.0, 3.0):
                        ek = f"{m}/alpha{alpha}/{key}"
                        out[f"entmax/{ek}"] = lambda z=z, a=axis, m=m, al=alpha: st.entmax(z, al, a, method=m)
                        out[f"entmax_threshold/{ek}"] = (
                            lambda z=z, a=axis, m=m, al=alpha: st.entmax_threshold(z, al, a, method=m))
                        out[f"entmax_loss_labels/{ek}"] = (
                            lambda z=z, a=axis, m=m, al=alpha, t=labels: st.entmax_loss_and_grad(z, t, al, a, method=m))
                        out[f"entmax_loss_dist/{ek}"] = (
                            lambda z=z, a=axis, m=m, al=alpha, t=q: st.entmax_loss_and_grad(z, t, al, a, method=m))
                pe = st.entmax(np.where(np.isfinite(z), z, -5), 1.5, axis)
                out[f"entmax_jvp/{key}"] = lambda p=pe, g=g, a=axis: st.entmax_jvp(p, g, 1.5, a)
                out[f"entmax_jacobian/{key}"] = lambda z=z, a=axis: st.entmax_jacobian(z, 1.3, a)
                out[f"entmax_dalpha/{key}"] = lambda p=pe, a=axis: st.entmax_dalpha(p, 1.5, a)
                p = st.sparsemax(np.where(np.isfinite(z), z, -5), axis)  # a row of -inf has none
                out[f"jacobian/{key}"] = lambda z=z, a=axis: st.sparsemax_jacobian(z, a)
                out[f"jvp/{key}"] = lambda p=p, g=g, a=axis: st.sparsemax_jvp(p, g, a)
                out[f"vjp/{key}"] = lambda p=p, g=g, a=axis: st.sparsemax_vjp(p, g, a)
                out[f"sparsemax_loss/{key}"] = lambda z=z, a=axis, t=labels: st.sparsemax_loss(z, t, a)
                out[f"sparsemax_loss_grad/{key}"] = lambda z=z, a=axis, t=q: st.sparsemax_loss_grad(z, t, a)
                out[f"softmax/{key}"] = lambda z=z, a=axis: st.softmax(z, a)
                out[f"softmax_loss/{key}"] = lambda z=z, a=axis, t=labels: st.softmax_loss_and_grad(z, t, a)
                out[f"softmax_loss_dist/{key}"] = lambda z=z, a=axis, t=q: st.softmax_loss_and_grad(z, t, a)
                out[f"softmax_sigmoid/{key}"] = lambda z=z, a=axis: st.softmax_sigmoid(z, 2.0, 3.0, 0.1, axis=a)
                out[f"softmax_sigmoid_vjp/{key}"] = (
                    lambda z=z, g=g, a=axis: st.softmax_sigmoid_vjp(z, g, 2.0, 3.0, 0.1, axis=a))
                out[f"softmax_sigmoid_jacobian/{key}"] = (
                    lambda z=z, a=axis: st.softmax_sigmoid_jacobian(z, 2.0, 3.0, 0.1, axis=a))
    bad = np.array([[0.0, 1.0], [np.nan, 2.0], [-np.inf, -np.inf]])
    for fname in ("sparsemax", "sparsemax_threshold", "softmax", "sparsemax_jacobian"):
        f = getattr(st, fname)
        out[f"error/{fname}/nan"] = lambda f=f: f(bad)
        out[f"error/{fname}/neginf"] = lambda f=f: f(bad[[0, 2]])
        out[f"error/{fname}/axis"] = lambda f=f: f(bad, axis=5)
        out[f"error/{fname}/complex"] = lambda f=f: f(bad.astype(complex))
    out["error/loss/label"] = lambda: st.sparsemax_loss(bad[:1], np.array([2]))
    out["error/loss/sum"] = lambda: st.sparsemax_loss(bad[:1], np.array([[0.5, 0.6]]))
    out["error/jvp/p"] = lambda: st.sparsemax_jvp(-bad[:1], bad[:1])
    out["error/method"] = lambda: st.sparsemax(bad[:1], method="nope")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="write the hashes to this JSON file")
    ap.add_argument("--compare", help="compare with the hashes in this JSON file; exit 1 if any differ")
    args = ap.parse_args(argv)
    _cli.out_file(ap, args.out, "--out")
    hashes = {name: _call(f) for name, f in cases().items()}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(hashes, f, indent=0, sort_keys=True)
    print(f"{len(hashes)} cases")
    if args.compare:
        with open(args.compare) as f:
            old = json.load(f)
        differ = sorted(k for k in old.keys() | hashes.keys() if old.get(k) != hashes.get(k))
        for k in differ[:50]:
            print(f"differs: {k}: {old.get(k)} -> {hashes.get(k)}")
        print(f"{len(differ)} of {len(old.keys() | hashes.keys())} cases differ")
        if differ:
            sys.exit(1)
    return hashes


if __name__ == "__main__":
    main()
