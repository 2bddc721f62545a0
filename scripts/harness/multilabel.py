"""The multi-label experiments of Martins & Astudillo (2016), section 4: linear models trained
with the sparsemax, softmax and logistic losses, on simulated label proportions (section 4.1)
or on multi-label datasets in ARFF format (section 4.2).

- :func:`simulate` draws a data set following the paper's simulation protocol, every draw
  from one seeded ``numpy.random.Generator``.
- :func:`fit` trains a linear model with L-BFGS (``scipy.optimize``) on the mean loss plus
  ``lam/2 ||W||^2`` (the bias row is not regularised), through the toolkit's fused
  loss-and-gradient kernels; :func:`cross_validate` chooses ``lam`` from a grid.
- :func:`mse`, :func:`jsd` and :func:`f1_scores` are the paper's metrics; :func:`tune_threshold`
  and :func:`predict_labels` its rules for turning scores into label sets.
- :func:`run_setting` is one point of the simulation figure, :func:`run_simulation` the grid
  (in worker processes), :func:`load_arff` and :func:`run_datasets` the benchmark path.

``scripts/multilabel_simulation.py`` is the command line over these.
"""

import os
import time
from dataclasses import dataclass, field

import numpy as np

from sparsetools import softmax, softmax_loss_and_grad, sparsemax, sparsemax_loss_and_grad
from sparsetools._jit import jit

from . import executors

MIXTURES = ("uniform", "random")
LOSSES = ("sparsemax", "softmax", "logistic")

#: The regularisation grid searched by cross-validation.
LAMBDAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
#: The label-set rules' threshold grids (tuned on held-out data, by micro-F1): the sparsemax
#: scale t (labels = support of sparsemax(t z); larger t, fewer labels), the softmax
#: probability p0 (labels = {j : p_j > p0}) and the logistic delta (sigma(z_j) > delta).
THRESHOLDS = {
    "sparsemax": tuple(np.round(np.geomspace(0.25, 16.0, 25), 6)),
    "softmax": tuple(np.round(np.linspace(0.01, 0.5, 50), 6)),
    "logistic": tuple(np.round(np.linspace(0.05, 0.95, 19), 6)),
}


# --------------------------------------------------------------------------------------
# The simulated data (section 4.1)

@dataclass
class Split:
    """Documents of one split: ``X`` features (z-scored word counts, then a column of ones
    for the bias), ``counts`` the raw bag of words, ``Q`` the target proportions (rows on
    the simplex), ``Y`` the label sets (``Q > 0``) and ``lengths`` the document lengths."""

    X: np.ndarray
    Q: np.ndarray
    Y: np.ndarray
    counts: np.ndarray = None
    lengths: np.ndarray = None

    def __len__(self):
        return len(self.X)

    def subset(self, index):
        def pick(a):
            return None if a is None else a[index]

        return Split(self.X[index], self.Q[index], self.Y[index], pick(self.counts), pick(self.lengths))


@dataclass
class Dataset:
    """A train/dev/test split of one simulated world (``priors``, ``word_dists``: column j
    is the word distribution of class j) or of an ARFF data set (both None then)."""

    train: Split
    dev: Split
    test: Split
    priors: np.ndarray = None
    word_dists: np.ndarray = None
    info: dict = field(default_factory=dict)


def simulate_documents(rng, n, priors, word_dists, length, mixture="uniform"):
    """Draw ``n`` documents: returns ``(counts, Q, lengths)``.

    For each document: a number of labels m ~ Poisson(1), drawn again while it is 0 or more
    than K; m distinct labels drawn without replacement with probabilities ``priors``;
    mixture weights 1/m each (``"uniform"``) or uniform random numbers normalised
    (``"random"``); a length ~ Poisson(``length``), drawn again while 0; the words, drawn
    from the mixture of the labels' word distributions, so the counts are
    Multinomial(length, sum_j w_j word_dists[:, j]). The target q holds the weights.
    """
    if mixture not in MIXTURES:
        raise ValueError(f"unknown mixture {mixture!r}; use one of {', '.join(MIXTURES)}")
    K = len(priors)
    V = word_dists.shape[0]
    counts = np.zeros((n, V), np.int64)
    Q = np.zeros((n, K))
    lengths = np.zeros(n, np.int64)
    for i in range(n):
        m = 0
        while not 1 <= m <= K:
            m = int(rng.poisson(1.0))
        labels = rng.choice(K, size=m, replace=False, p=priors)
        if mixture == "uniform":
            w = np.full(m, 1.0 / m)
        else:
            w = rng.random(m)
            w /= w.sum()
        n_words = 0
        while n_words == 0:
            n_words = int(rng.poisson(length))
        mix = word_dists[:, labels] @ w
        counts[i] = rng.multinomial(n_words, mix / mix.sum())
        Q[i, labels] = w
        lengths[i] = n_words
    return counts, Q, lengths


def features(train_counts, *others):
    """Z-score the columns with the training set's mean and standard deviation (a constant
    column is only centred) and append a column of ones for the bias: one array per input."""
    mu = train_counts.mean(axis=0)
    sd = train_counts.std(axis=0)
    sd[sd == 0] = 1.0
    return [np.hstack([(c - mu) / sd, np.ones((len(c), 1))]) for c in (train_counts,) + others]


def simulate(K=10, length=200, mixture="uniform", n_train=1200, n_dev=200, n_test=1000, seed=0):
    """One data set of the paper's simulation: K classes and a vocabulary of K words.

    The class priors are uniform random numbers, normalised; each class's word distribution
    a column of uniform random numbers, normalised; then ``n_train + n_dev + n_test``
    documents of :func:`simulate_documents`, in that order. Every draw comes from
    ``numpy.random.default_rng(seed)`` (``seed`` may also be a Generator or a SeedSequence),
    so a seed gives the same data set on every machine and in every process.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if K < 1 or length < 1:
        raise ValueError(f"need K >= 1 and length >= 1, got K={K}, length={length}")
    priors = rng.random(K)
    priors /= priors.sum()
    word_dists = rng.random((K, K))
    word_dists /= word_dists.sum(axis=0)
    counts, Q, lengths = simulate_documents(rng, n_train + n_dev + n_test, priors, word_dists, length, mixture)
    cuts = [slice(0, n_train), slice(n_train, n_train + n_dev), slice(n_train + n_dev, None)]
    Xs = features(*(counts[c] for c in cuts))
    splits = [Split(X, Q[c], Q[c] > 0, counts[c], lengths[c]) for X, c in zip(Xs, cuts)]
    return Dataset(*splits, priors=priors, word_dists=word_dists,
                   info={"K": K, "length": length, "mixture": mixture})


# --------------------------------------------------------------------------------------
# Losses, the objective, L-BFGS

#: L-BFGS's relative-decrease stopping tolerance (see :func:`fit`).
FTOL = 1e-9

@jit
def _logistic_rows(z, y, loss, grad):
    # softplus(z) - y z and sigmoid(z) - y from one exp(-|z|) per entry, stable for any z
    for r in range(z.shape[0]):
        acc = 0.0
        for j in range(z.shape[1]):
            x = z[r, j]
            e = np.exp(-abs(x))
            if x >= 0:
                acc += x + np.log1p(e) - y[r, j] * x
                grad[r, j] = 1.0 / (1.0 + e) - y[r, j]
            else:
                acc += np.log1p(e) - y[r, j] * x
                grad[r, j] = e / (1.0 + e) - y[r, j]
        loss[r] = acc


def logistic_loss_and_grad(z, y):
    """Independent binary logistic losses summed over the labels of each row,
    ``sum_j log(1 + exp(z_j)) - y_j z_j``, and the gradient ``sigmoid(z) - y``: ``(loss
    per row, gradient)``, both float64. ``z`` and ``y`` (0/1 labels) are 2-D of one shape;
    z must be finite."""
    z = np.ascontiguousarray(z, np.float64)
    y = np.ascontiguousarray(y, np.float64)
    if z.ndim != 2 or y.shape != z.shape:
        raise ValueError(f"need 2-D scores and labels of one shape, got {z.shape} and {y.shape}")
    if not np.isfinite(z).all():
        raise ValueError(f"scores must be finite; row {int(np.argmin(np.isfinite(z).all(axis=1)))} is not")
    loss = np.empty(len(z))
    grad = np.empty_like(z)
    _logistic_rows(z, y, loss, grad)
    return loss, grad


def _loss_and_grad(loss, Z, split_T):
    if loss == "sparsemax":
        return sparsemax_loss_and_grad(Z, split_T)
    if loss == "softmax":
        return softmax_loss_and_grad(Z, split_T)
    if loss == "logistic":
        return logistic_loss_and_grad(Z, split_T)
    raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)}")


def targets(loss, split):
    """What a loss is trained against: the proportions Q (sparsemax, softmax) or the 0/1
    label sets Y (logistic)."""
    return split.Y if loss == "logistic" else split.Q


def objective(w, X, T, lam, loss):
    """``(value, gradient)`` of ``mean_i loss(X_i W, T_i) + lam/2 ||W[:-1]||^2`` at the
    flattened weights ``w`` (W is d x K; its last row, the bias, is not regularised)."""
    d = X.shape[1]
    W = w.reshape(d, -1)
    values, G = _loss_and_grad(loss, X @ W, T)
    N = len(X)
    reg = W[:-1]
    value = float(values.sum()) / N + 0.5 * lam * float(np.vdot(reg, reg))
    grad = X.T @ G
    grad /= N
    grad[:-1] += lam * reg
    return value, grad.ravel()


@dataclass
class LinearModel:
    """A trained linear model: scores ``X @ W``; ``loss``, ``lam``; and L-BFGS's record."""

    W: np.ndarray
    loss: str
    lam: float
    value: float = np.nan
    n_iter: int = 0
    converged: bool = False
    message: str = ""

    def scores(self, X):
        return X @ self.W

    def proportions(self, X):
        """The predicted label distribution: sparsemax or softmax of the scores, or for the
        logistic model the sigmoids normalised to sum to 1."""
        return proportions(self.loss, self.scores(X))


def proportions(loss, Z):
    if loss == "sparsemax":
        return sparsemax(Z)
    if loss == "softmax":
        return softmax(Z)
    from scipy.special import expit

    s = expit(Z)
    return s / s.sum(axis=-1, keepdims=True)


def fit(X, T, loss, lam, W0=None, tol=1e-5, maxiter=2000, ftol=None):
    """Train a linear model with L-BFGS on :func:`objective`; ``W0`` warm-starts it (zeros
    otherwise). L-BFGS stops when the largest gradient entry is below ``tol``, or when a
    step lowers the objective by less than ``ftol`` relative to it."""
    from scipy.optimize import minimize

    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)}")
    if lam < 0:
        raise ValueError(f"the regularisation lam must be >= 0, got {lam}")
    X = np.ascontiguousarray(X, np.float64)
    T = np.asarray(T)
    d, K = X.shape[1], T.shape[1]
    w0 = np.zeros(d * K) if W0 is None else np.asarray(W0, np.float64).ravel().copy()
    res = minimize(objective, w0, args=(X, T, lam, loss), jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter, "gtol": tol, "ftol": FTOL if ftol is None else ftol, "maxcor": 20})
    return LinearModel(res.x.reshape(d, K), loss, lam, float(res.fun), int(res.nit), bool(res.success),
                       str(res.message))


def fold_indices(n, k, rng):
    """``k`` disjoint index arrays covering range(n), from a permutation drawn from ``rng``."""
    if not 2 <= k <= n:
        raise ValueError(f"need 2 <= folds <= {n} documents, got folds={k}")
    return np.array_split(rng.permutation(n), k)


#: What cross-validation minimises on the held-out fold.
CRITERIA = ("loss", "jsd", "mse")


def heldout_score(model, split, criterion="loss"):
    """The model's mean loss on ``split`` (``"loss"``), or the :func:`jsd` or :func:`mse` of
    its predicted proportions against the split's Q."""
    if criterion == "loss":
        values, _ = _loss_and_grad(model.loss, model.scores(split.X), targets(model.loss, split))
        return float(np.mean(values))
    if criterion == "jsd":
        return jsd(model.proportions(split.X), split.Q)
    if criterion == "mse":
        return mse(model.proportions(split.X), split.Q)
    raise ValueError(f"unknown criterion {criterion!r}; use one of {', '.join(CRITERIA)}")


@dataclass
class CVResult:
    """The models of a cross-validation: ``models[i][f]`` was trained at ``lambdas[i]``
    (largest first) on every fold but ``folds[f]`` (held-out indices into ``split``)."""

    split: Split
    lambdas: tuple
    models: list
    folds: list
    _scores: dict = field(default_factory=dict, repr=False)

    def scores(self, criterion="loss"):
        """``(lambdas x folds)`` held-out scores of :func:`heldout_score`'s ``criterion``."""
        if criterion not in CRITERIA:
            raise ValueError(f"unknown criterion {criterion!r}; use one of {', '.join(CRITERIA)}")
        if criterion not in self._scores:
            held = [self.split.subset(p) for p in self.folds]
            self._scores[criterion] = np.array([[heldout_score(m, h, criterion) for m, h in zip(row, held)]
                                                for row in self.models])
        return self._scores[criterion]

    def choose(self, criterion="loss"):
        """``(lam, fold models at lam)``: the lam of the lowest mean held-out score (the
        largest of equals)."""
        best = int(np.argmin(self.scores(criterion).mean(axis=1)))
        return self.lambdas[best], self.models[best]


def cross_validate(split, loss, lambdas=LAMBDAS, folds=5, rng=0, tol=1e-5):
    """``folds``-fold cross-validation on ``split`` over the lam grid: for each fold, models
    are trained on the other folds along the grid from the largest lam down, each
    warm-started from the previous. Returns a :class:`CVResult`; its ``choose(criterion)``
    picks lam by the held-out loss, JSD or MSE from the same models."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    lambdas = tuple(sorted(lambdas, reverse=True))
    parts = [np.sort(p) for p in fold_indices(len(split), folds, rng)]
    models = [[None] * folds for _ in lambdas]
    for f in range(folds):
        train = split.subset(np.sort(np.concatenate([p for g, p in enumerate(parts) if g != f])))
        W = None
        for i, lam in enumerate(lambdas):
            m = fit(train.X, targets(loss, train), loss, lam, W0=W, tol=tol)
            W = m.W
            models[i][f] = m
    return CVResult(split, lambdas, models, parts)


# --------------------------------------------------------------------------------------
# Metrics and label-set rules

def mse(P, Q):
    """Mean over rows of ``||p - q||^2 / K``."""
    P, Q = np.asarray(P, np.float64), np.asarray(Q, np.float64)
    return float(np.mean(np.sum((P - Q) ** 2, axis=-1) / P.shape[-1]))


def _kl_rows(a, m):
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(a > 0, a * np.log(a / m), 0.0)
    return t.sum(axis=-1)


def jsd_rows(P, Q):
    """Jensen-Shannon divergence of each row pair (natural log), in [0, log 2]."""
    P, Q = np.asarray(P, np.float64), np.asarray(Q, np.float64)
    M = 0.5 * (P + Q)
    return 0.5 * _kl_rows(P, M) + 0.5 * _kl_rows(Q, M)


def jsd(P, Q):
    """Mean over rows of ``JS(p, q) / K`` (natural log)."""
    return float(np.mean(jsd_rows(P, Q) / np.shape(P)[-1]))


def f1_scores(Y, Yhat):
    """``(micro-F1, macro-F1)`` of predicted label sets ``Yhat`` against ``Y`` (boolean,
    documents x labels). Micro pools the counts of every label; macro averages the per-label
    F1, where a label with no true and no predicted positive scores 0 (scikit-learn's
    ``zero_division=0``)."""
    Y, Yhat = np.asarray(Y, bool), np.asarray(Yhat, bool)
    if Y.shape != Yhat.shape:
        raise ValueError(f"label sets of shapes {Y.shape} and {Yhat.shape} do not match")
    tp = (Y & Yhat).sum(axis=0).astype(np.float64)
    fp = (~Y & Yhat).sum(axis=0)
    fn = (Y & ~Yhat).sum(axis=0)
    denom = 2 * tp + fp + fn
    micro = 2 * tp.sum() / denom.sum() if denom.sum() else 0.0
    per_label = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(micro), float(per_label.mean())


def predict_labels(loss, Z, threshold):
    """The paper's label-set rules on scores Z: sparsemax, the support of sparsemax(t Z)
    (``threshold`` = t); softmax, ``softmax(Z) > p0``; logistic, ``sigmoid(Z) > delta``."""
    if loss == "sparsemax":
        return sparsemax(threshold * Z) > 0
    if loss == "softmax":
        return softmax(Z) > threshold
    if loss == "logistic":
        from scipy.special import expit

        return expit(Z) > threshold
    raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)}")


def tune_threshold(loss, Z, Y, grid=None):
    """The threshold of ``grid`` (default ``THRESHOLDS[loss]``) whose label sets have the
    best micro-F1 against Y; the first of equals."""
    grid = THRESHOLDS[loss] if grid is None else grid
    f1 = [f1_scores(Y, predict_labels(loss, Z, t))[0] for t in grid]
    return float(grid[int(np.argmax(f1))])


# --------------------------------------------------------------------------------------
# One point of the simulation, and the grid

#: The simulation grids: the full one is the paper's figure.
GRIDS = {
    "full": {"mixtures": MIXTURES, "K": (10, 50), "lengths": tuple(range(200, 2001, 200)),
             "lambdas": LAMBDAS, "folds": 5},
    "quick": {"mixtures": MIXTURES, "K": (10, 50), "lengths": (200, 1000, 2000),
              "lambdas": (1e-5, 1e-3, 1e-1), "folds": 3},
}

MIXTURE_CODE = {m: i for i, m in enumerate(MIXTURES)}


def data_seed(seed, K):
    """The seed of a simulated data set: ``SeedSequence([seed, K])``. Every point of a
    figure panel, and both mixtures, draw from the same stream: one world (priors and
    word distributions) per K, as in the authors' code had its seed been honoured, and
    documents that differ only where L and the mixture make them differ (common random
    numbers: the curves against L show L's effect, not a new world's). A point's data do
    not depend on the grid it is in or on the worker that runs it."""
    return np.random.SeedSequence([seed, K])


def cv_seed(seed, mixture, K, length):
    """The seed of a point's cross-validation folds (the same folds for every loss)."""
    return np.random.SeedSequence([seed, K, length, 1 + MIXTURE_CODE[mixture]])


def refit(cv, loss, lam, fold_models, tol=1e-5):
    """The model on the whole of ``cv.split`` at ``lam``, warm-started from the mean of the
    fold models."""
    W0 = np.mean([m.W for m in fold_models], axis=0)
    return fit(cv.split.X, targets(loss, cv.split), loss, lam, W0=W0, tol=tol)


def run_setting(mixture, K, length, seed=0, lambdas=LAMBDAS, folds=5, losses=LOSSES,
                sizes=(1200, 200, 1000), tol=1e-5):
    """One point of the simulation figure. A data set of :func:`simulate`; then for each
    loss, cross-validation on the training split; as the authors did, lam is chosen
    separately for each metric: the test JSD is that of the model trained on the whole
    training split at the lam of the best held-out JSD, the test MSE that of the model at
    the lam of the best held-out MSE (the same model when the two agree). The error bars
    (``*_fold_std``) are the standard deviation of the test metric over the fold models at
    that lam. Micro/macro-F1 are the JSD model's, with the label threshold tuned on the
    development split. Returns one record (a dict) per loss."""
    n_train, n_dev, n_test = sizes
    data = simulate(K, length, mixture, n_train, n_dev, n_test, seed=np.random.default_rng(data_seed(seed, K)))
    test, dev = data.test, data.dev
    records = []
    for loss in losses:
        t0 = time.perf_counter()
        cv = cross_validate(data.train, loss, lambdas, folds,
                            rng=np.random.default_rng(cv_seed(seed, mixture, K, length)), tol=tol)
        rec = {"mixture": mixture, "K": K, "length": length, "loss": loss}
        final = {}
        for metric, score in (("jsd", jsd), ("mse", mse)):
            lam, fold_models = cv.choose(metric)
            if lam not in final:
                final[lam] = refit(cv, loss, lam, fold_models, tol)
            model = final[lam]
            folds_score = [score(m.proportions(test.X), test.Q) for m in fold_models]
            rec.update({f"lam_{metric}": lam, metric: score(model.proportions(test.X), test.Q),
                        f"{metric}_fold_mean": float(np.mean(folds_score)),
                        f"{metric}_fold_std": float(np.std(folds_score, ddof=1))})
        model = final[rec["lam_jsd"]]
        t = tune_threshold(loss, model.scores(dev.X), dev.Y)
        micro, macro = f1_scores(test.Y, predict_labels(loss, model.scores(test.X), t))
        rec.update({"micro_f1": micro, "macro_f1": macro, "threshold": t,
                    "n_iter": max(m.n_iter for m in final.values()),
                    "converged": all(m.converged for m in final.values()),
                    "seconds": time.perf_counter() - t0})
        records.append(rec)
    return records


def _run_point(args):
    return run_setting(*args[:3], **args[3])


def default_workers():
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run_simulation(grid="quick", seed=0, workers=None, progress=None, scheduler=None, executor=None):
    """Every point of a grid (a name of ``GRIDS`` or a dict like them). ``progress`` is
    called with a label after each point. Returns the records of every point and loss,
    in grid order.

    Where the points run: on ``executor`` when given (any ``concurrent.futures``-style
    executor: ``submit`` returning futures); else as ``executors.open_executor(scheduler,
    workers)`` says: ``workers`` local processes (default: one per available core; 1 runs
    in this process), or with ``scheduler`` ("local", or a cluster's address) on a
    dask.distributed cluster. Off this process a point runs with one thread for Numba and
    BLAS, so the records are the same bits wherever the points ran (in this process, BLAS
    on several threads sums the matrix products in another order: the same to rounding)."""
    g = GRIDS[grid] if isinstance(grid, str) else grid
    kw = {"seed": seed, "lambdas": tuple(g["lambdas"]), "folds": g["folds"]}
    if "sizes" in g:
        kw["sizes"] = tuple(g["sizes"])
    points = [(m, K, L, kw) for m in g["mixtures"] for K in g["K"] for L in g["lengths"]]

    def label(p):
        return f"{p[0]} K={p[1]} L={p[2]}"

    if executor is not None:
        results = executors.run_points(_run_point, points, executor, progress, label)
    else:
        workers = default_workers() if workers is None else workers
        with executors.open_executor(scheduler, workers) as ex:
            results = executors.run_points(_run_point, points, ex, progress, label)
    return [rec for recs in results for rec in recs]


# --------------------------------------------------------------------------------------
# Multi-label data sets in ARFF format (section 4.2)

def load_arff(path, n_labels):
    """Read a multi-label ARFF file (the Mulan format: the last ``n_labels`` attributes are
    the labels) with ``scipy.io.arff``: returns ``(X, Y, names)``, the features as float64,
    the labels as bool and the attribute names.

    Numeric attributes are read as they are, nominal ones whose values are numbers (such as
    {0, 1}) as those numbers; a label must be 0 or 1. A missing value, a nominal feature
    with non-numeric values, or a label that is not 0/1 raises ``ValueError`` naming the
    file, the attribute and the first offending instance (counted from 0)."""
    from scipy.io import arff

    try:
        data, meta = arff.loadarff(str(path))
    except (NotImplementedError, arff.ParseArffError, ValueError) as e:
        raise ValueError(f"{path}: cannot read it as a dense ARFF file ({e})") from e
    names = list(meta.names())
    if not 1 <= n_labels < len(names):
        raise ValueError(f"{path}: {len(names)} attributes, so --labels must be 1 to {len(names) - 1}, "
                         f"got {n_labels}")
    if len(data) == 0:
        raise ValueError(f"{path}: no instances")
    cols = []
    for name in names:
        col = data[name]
        if col.dtype.kind in "SU":
            text = np.char.strip(col.astype(str))
            bad = np.flatnonzero((text == "?") | (text == ""))
            if len(bad):
                raise ValueError(f"{path}: attribute {name!r} is missing at instance {bad[0]}")
            try:
                col = text.astype(np.float64)
            except ValueError:
                raise ValueError(f"{path}: nominal attribute {name!r} has non-numeric values "
                                 f"such as {text[0]!r}") from None
        col = np.asarray(col, np.float64)
        bad = np.flatnonzero(~np.isfinite(col))
        if len(bad):
            raise ValueError(f"{path}: attribute {name!r} is missing or not finite at instance {bad[0]}")
        cols.append(col)
    A = np.column_stack(cols)
    X, L = A[:, :-n_labels], A[:, -n_labels:]
    bad = np.argwhere((L != 0) & (L != 1))
    if len(bad):
        i, j = bad[0]
        raise ValueError(f"{path}: label {names[len(names) - n_labels + j]!r} is {L[i, j]} at instance {i}; "
                         f"labels must be 0 or 1 (is --labels {n_labels} right?)")
    return X, L.astype(bool), names


def run_datasets(train_path, test_path, n_labels, lambdas=LAMBDAS, folds=5, seed=0, losses=LOSSES,
                 criterion="loss", tol=1e-5):
    """The benchmark of section 4.2 on one data set: the three losses trained on
    ``train_path``, scored by micro- and macro-F1 on ``test_path``.

    Features are z-scored with the training set's statistics (plus a bias). For each loss,
    lam is chosen by ``folds``-fold cross-validation on the training set (held-out loss),
    the label threshold is tuned on the fold models' out-of-fold scores (micro-F1), and the
    final model is trained on the whole training set. The sparsemax and softmax losses need
    a label distribution q = y / ||y||_1, so they are trained on the documents with at
    least one label; the logistic loss uses them all; every test document is scored.
    Returns one record per loss."""
    X_tr, Y_tr, names = load_arff(train_path, n_labels)
    X_te, Y_te, names_te = load_arff(test_path, n_labels)
    if names_te != names:
        raise ValueError(f"{test_path}: its attributes differ from those of {train_path}")
    X_tr, X_te = features(X_tr, X_te)
    with np.errstate(invalid="ignore", divide="ignore"):
        Q_tr = Y_tr / Y_tr.sum(axis=1, keepdims=True)
    Q_tr[~Y_tr.any(axis=1)] = 0.0
    full = Split(X_tr, Q_tr, Y_tr)
    records = []
    for loss in losses:
        t0 = time.perf_counter()
        train = full if loss == "logistic" else full.subset(np.flatnonzero(Y_tr.any(axis=1)))
        cv = cross_validate(train, loss, lambdas, folds, rng=np.random.default_rng(seed), tol=tol)
        lam, fold_models = cv.choose(criterion)
        Z_oof = np.empty((len(train), n_labels))
        for m, held in zip(fold_models, cv.folds):
            Z_oof[held] = m.scores(train.X[held])
        t = tune_threshold(loss, Z_oof, train.Y)
        model = refit(cv, loss, lam, fold_models, tol)
        micro, macro = f1_scores(Y_te, predict_labels(loss, model.scores(X_te), t))
        records.append({"loss": loss, "micro_f1": micro, "macro_f1": macro, "lam": lam, "threshold": t,
                        "n_train": len(train), "n_test": len(X_te), "n_iter": model.n_iter,
                        "converged": model.converged, "seconds": time.perf_counter() - t0})
    return records
