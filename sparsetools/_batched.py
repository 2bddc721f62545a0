"""Drivers: run a row kernel over every row of a (rows, n) array.

Each is a ``_jit.Driver``, compiled parallel and serial; it is called without its first
argument, ``nchunks``: the rows are split into that many contiguous chunks (a few per
thread, decided in Python because ``numba.get_num_threads`` inside a kernel defeats the
on-disk cache), each allocating its float64 scratch row once. The drivers that run a
sparsemax method take its registry position as a compile-time literal
(``driver(..., literal=code)``), so only the called (driver, method, dtype) is compiled.
"""

import numpy as np
from numba import prange

from ._jit import driver
from ._registry import row_tau
from .kernels.common import BAD_LABEL, OK, TARGET_SUM, apply_row, gather, presolve
from .kernels.derivs import (
    accurate_sum,
    divide_row,
    exp_shifted_row,
    jacobian_row,
    jvp_row,
    nonfinite_status,
    row_max,
    sigmoid_and_slope,
    softmax_loss_dist_terms,
    sparsemax_loss_dist_row,
    sparsemax_loss_label_row,
)


@driver
def sparsemax_rows(nchunks, z, out, shift, thresh, support, status, write, method):
    """For each row r of ``z``: ``shift[r] = max(z[r])``, ``thresh[r] = tau - max``,
    ``support[r] = k`` and ``status[r]`` (``kernels.common`` codes); when ``write`` is
    true also ``out[r] = sparsemax(z[r])``, fused with the row's own pass so the row is
    still in cache. Rows with a bad status are left unwritten."""
    rows, n = z.shape
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        buf = np.empty(n, np.float64)
        tmp = np.empty(n, np.float64)
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            row = z[r]
            M, m, st = gather(row, buf)
            status[r] = st
            if st != OK:
                continue
            t, k, done = presolve(buf, m)
            if not done:
                t, k = row_tau(buf, k, tmp, method)
            shift[r] = M
            thresh[r] = t
            support[r] = k
            if write:
                apply_row(row, M, t, out[r])


@driver
def apply_rows(nchunks, z, shift, thresh, out):
    """``out[r] = max((z[r] - shift[r]) - thresh[r], 0)`` for every row."""
    rows = z.shape[0]
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            apply_row(z[r], shift[r], thresh[r], out[r])


# ---------------------------------------------------------------------------------------
# Derivatives and losses. Each driver writes into fresh arrays (the public functions copy
# into ``out=`` only after the status check), so a bad row may be left half-written.


@driver
def jvp_rows(nchunks, p, v, out, status):
    """``out[r] = J(p[r]) v[r]`` for every row; ``status[r]`` as in ``kernels.common``."""
    rows = p.shape[0]
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            status[r] = jvp_row(p[r], v[r], out[r])


@driver
def jacobian_rows(nchunks, p, out, status):
    """``out[r] = J(p[r])``, the dense (n, n) Jacobian of sparsemax at a point whose
    output is ``p[r]``."""
    rows = p.shape[0]
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            status[r] = jacobian_row(p[r], out[r])


@driver
def sparsemax_loss_label_rows(nchunks, z, labels, loss, grad, status, write_grad, method):
    """Sparsemax loss of every row for the gold class ``labels[r]``, fused with the forward
    pass; the gradient p - e_label goes to ``grad[r]`` when ``write_grad``."""
    rows, n = z.shape
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        buf = np.empty(n, np.float64)
        tmp = np.empty(n, np.float64)
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            row = z[r]
            lab = labels[r]
            M, m, st = gather(row, buf)
            if st == OK and (lab < 0 or lab >= n):
                st = BAD_LABEL
            status[r] = st
            if st != OK:
                continue
            t, k, done = presolve(buf, m)
            if not done:
                t, k = row_tau(buf, k, tmp, method)
            if write_grad:
                loss[r] = sparsemax_loss_label_row(row, M, t, lab, grad[r])
            else:
                loss[r] = sparsemax_loss_label_row(row, M, t, lab, tmp)


@driver
def sparsemax_loss_dist_rows(nchunks, z, q, qtol, loss, grad, status, write_grad, method):
    """Sparsemax loss of every row for the target distribution ``q[r]`` (checked: entries
    finite and >= 0, sum within ``qtol`` of 1), fused with the forward pass; the gradient
    p - q goes to ``grad[r]`` when ``write_grad``."""
    rows, n = z.shape
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        buf = np.empty(n, np.float64)
        tmp = np.empty(n, np.float64)
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            row = z[r]
            M, m, st = gather(row, buf)
            status[r] = st
            if st != OK:
                continue
            t, k, done = presolve(buf, m)
            if not done:
                t, k = row_tau(buf, k, tmp, method)
            if write_grad:
                L, qsum, st = sparsemax_loss_dist_row(row, M, t, q[r], grad[r])
            else:
                L, qsum, st = sparsemax_loss_dist_row(row, M, t, q[r], tmp)
            if st == OK and not abs(qsum - 1.0) <= qtol and not abs(accurate_sum(q[r]) - 1.0) <= qtol:
                st = TARGET_SUM
            status[r] = st
            loss[r] = L


@driver
def softmax_rows(nchunks, z, out, status):
    """``out[r] = softmax(z[r])``, computed as exp(z - max) / sum."""
    rows = z.shape[0]
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            M, st = row_max(z[r])
            status[r] = st
            if st == OK:
                divide_row(out[r], exp_shifted_row(z[r], M, 1.0, out[r]))


@driver
def softmax_loss_label_rows(nchunks, z, labels, loss, grad, status, write_grad):
    """Negative log-likelihood log(sum exp(z - max)) - (z[label] - max) of every row; the
    gradient softmax - e_label goes to ``grad[r]`` when ``write_grad``."""
    rows, n = z.shape
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        tmp = np.empty(n, np.float64)
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            row = z[r]
            lab = labels[r]
            M, st = row_max(row)
            if st == OK and (lab < 0 or lab >= n):
                st = BAD_LABEL
            status[r] = st
            if st != OK:
                continue
            if write_grad:
                g = grad[r]
                s = exp_shifted_row(row, M, 1.0, g)
                divide_row(g, s)
                g[lab] = g[lab] - 1.0
            else:
                s = exp_shifted_row(row, M, 1.0, tmp)
            loss[r] = np.log(s) - (np.float64(row[lab]) - M)


@driver
def softmax_loss_dist_rows(nchunks, z, q, qtol, loss, grad, status, write_grad):
    """KL(q[r] || softmax(z[r])) of every row (q checked as in the sparsemax loss); the
    gradient softmax - q goes to ``grad[r]`` when ``write_grad``."""
    rows, n = z.shape
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        tmp = np.empty(n, np.float64)
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            row = z[r]
            M, st = row_max(row)
            status[r] = st
            if st != OK:
                continue
            if write_grad:
                g = grad[r]
                s = exp_shifted_row(row, M, 1.0, g)
                divide_row(g, s)
                L, qsum, st = softmax_loss_dist_terms(row, M, np.log(s), q[r], g)
            else:
                s = exp_shifted_row(row, M, 1.0, tmp)
                divide_row(tmp, s)
                L, qsum, st = softmax_loss_dist_terms(row, M, np.log(s), q[r], tmp)
            if st == OK and not abs(qsum - 1.0) <= qtol and not abs(accurate_sum(q[r]) - 1.0) <= qtol:
                st = TARGET_SUM
            status[r] = st
            loss[r] = L


@driver
def softmax_sigmoid_rows(nchunks, z, g, out, status, gamma, beta, alpha, relu, vjp):
    """The activation a = sigmoid(beta (softmax(gamma z) - alpha)), then relu(a) if
    ``relu`` (the identity on (0, 1), applied as written). With ``vjp`` false, ``out[r]``
    is the activation; with ``vjp`` true, ``out[r] = J^T g[r]`` with the full Jacobian
    J = diag(beta a (1 - a)) gamma (diag(a1) - a1 a1^T) (see ``softmax_sigmoid``)."""
    rows, n = z.shape
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        a1 = np.empty(n, np.float64)
        u = np.empty(n, np.float64)
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            row = z[r]
            M, st = row_max(row)
            if st == OK and vjp:
                st = nonfinite_status(g[r])
            status[r] = st
            if st != OK:
                continue
            divide_row(a1, exp_shifted_row(row, M, gamma, a1))
            o = out[r]
            if not vjp:
                for i in range(n):
                    a, _ = sigmoid_and_slope(beta * (a1[i] - alpha))
                    o[i] = max(a, 0.0) if relu else a
                continue
            gr = g[r]
            for i in range(n):
                _, slope = sigmoid_and_slope(beta * (a1[i] - alpha))
                u[i] = beta * slope * np.float64(gr[i])
            dot = 0.0
            for i in range(n):
                dot += a1[i] * u[i]
            for i in range(n):
                o[i] = gamma * a1[i] * (u[i] - dot)


@driver
def softmax_sigmoid_jacobian_rows(nchunks, z, out, status, gamma, beta, alpha):
    """``out[r]``: the dense (n, n) Jacobian of ``softmax_sigmoid`` at ``z[r]``,
    J[i, j] = beta a_i (1 - a_i) gamma (delta_ij a1_i - a1_i a1_j)."""
    rows, n = z.shape
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        a1 = np.empty(n, np.float64)
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            row = z[r]
            M, st = row_max(row)
            status[r] = st
            if st != OK:
                continue
            divide_row(a1, exp_shifted_row(row, M, gamma, a1))
            J = out[r]
            for i in range(n):
                _, slope = sigmoid_and_slope(beta * (a1[i] - alpha))
                d = beta * slope * gamma * a1[i]
                for j in range(n):
                    J[i, j] = -d * a1[j]
                J[i, i] += d

