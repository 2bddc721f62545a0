"""Small PyTorch models trained with sparsemax, entmax's sparsemax and softmax, on data
generated here (``scripts/train_torch.py`` runs them).

- A classifier: an MLP on a mixture of Gaussians (one per class, means drawn on a sphere),
  with the output map and its loss swapped: sparsemax + the sparsemax loss, or softmax +
  cross-entropy.
- An attention model on a retrieval task: each example is a sequence of ``length`` random
  keys, one of which is a noisy copy of the query; the label is the class carried by that
  position. The model scores the keys against the query (bilinear), turns the scores into
  attention weights with the map, and classifies the attended values. The right attention
  is on one position: a sparse map can put all of it there.
"""

import time

import numpy as np

#: the maps compared: sparsetools' sparsemax, entmax's sparsemax, softmax
MAPS = ("sparsetools", "entmax", "softmax")


def available_maps():
    """The maps that can run here (entmax's needs the entmax package)."""
    try:
        import entmax  # noqa: F401
    except ImportError:
        return tuple(m for m in MAPS if m != "entmax")
    return MAPS


def _map_and_loss(name):
    import torch.nn.functional as F

    if name == "sparsetools":
        import sparsetools.torch as st

        return (lambda s: st.sparsemax(s, dim=-1)), st.SparsemaxLoss(reduction="mean")
    if name == "entmax":
        import entmax

        return (lambda s: entmax.sparsemax(s, dim=-1)), entmax.SparsemaxLoss(reduction="elementwise_mean")
    if name == "softmax":
        return (lambda s: F.softmax(s, dim=-1)), (lambda s, y: F.cross_entropy(s, y))
    raise ValueError(f"unknown map {name!r}; valid: {', '.join(MAPS)}")


def gaussian_mixture(n, classes=10, dim=20, spread=0.9, seed=0):
    """``(X, y)``: ``n`` points, ``classes`` Gaussians of std ``spread`` around unit means."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((classes, dim))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    y = rng.integers(0, classes, n)
    X = means[y] * 2.0 + spread * rng.standard_normal((n, dim))
    return X.astype(np.float32), y


def retrieval(n, length=16, dim=12, classes=8, noise=0.3, seed=0):
    """``(query, keys, values, y)``: the label is the class stored at the key the query copies."""
    rng = np.random.default_rng(seed)
    keys = rng.standard_normal((n, length, dim)).astype(np.float32)
    target = rng.integers(0, length, n)
    query = keys[np.arange(n), target] + noise * rng.standard_normal((n, dim)).astype(np.float32)
    labels_at = rng.integers(0, classes, (n, length))
    y = labels_at[np.arange(n), target]
    values = np.eye(classes, dtype=np.float32)[labels_at]  # each position carries its class
    return query, keys, values, y, target


def _classifier(dim, classes, hidden=64):
    import torch.nn as nn

    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, classes))


class _Attention:
    """Bilinear scores q^T W k_i, the map over positions, a linear read-out of the values."""

    def __init__(self, dim, classes):
        import torch.nn as nn

        self.W = nn.Linear(dim, dim, bias=False)
        self.out = nn.Linear(classes, classes)

    def parameters(self):
        return list(self.W.parameters()) + list(self.out.parameters())

    def __call__(self, q, k, v, attend):
        scores = (k * self.W(q).unsqueeze(1)).sum(-1)  # (batch, length)
        p = attend(scores)
        return self.out((p.unsqueeze(-1) * v).sum(1)), p


def train(task, name, epochs=10, batch=128, seed=0, n_train=8000, n_test=2000, progress=None):
    """Train one model; returns its record: per-epoch train loss and seconds, test accuracy,
    and (attention) the mean attention weight outside the top position and the fraction of
    exact zeros, with the attention maps of the first test examples."""
    import torch

    torch.manual_seed(seed)
    attend, loss_fn = _map_and_loss(name)
    if task == "classifier":
        X, y = gaussian_mixture(n_train + n_test, seed=seed)
        data = [torch.from_numpy(X)]
        model = _classifier(X.shape[1], int(y.max()) + 1)
        params = list(model.parameters())

        def forward(idx):
            return model(data[0][idx]), None
    elif task == "attention":
        q, k, v, y, where = retrieval(n_train + n_test, seed=seed)
        data = [torch.from_numpy(a) for a in (q, k, v)]
        model = _Attention(q.shape[1], v.shape[2])
        params = model.parameters()

        def forward(idx):
            return model(data[0][idx], data[1][idx], data[2][idx], attend)
    else:
        raise ValueError(f"unknown task {task!r}")
    labels = torch.from_numpy(y)
    warm = torch.arange(min(batch, n_train))  # compile and load everything before the clock
    loss_fn(forward(warm)[0], labels[warm]).backward()
    for prm in params:
        prm.grad = None
    opt = torch.optim.Adam(params, lr=1e-2)
    order = np.random.default_rng(seed)
    record = dict(task=task, map=name, epochs=epochs, train_loss=[], epoch_seconds=[])
    for epoch in range(epochs):
        perm = torch.from_numpy(order.permutation(n_train))
        total, t0 = 0.0, time.perf_counter()
        for start in range(0, n_train, batch):
            idx = perm[start:start + batch]
            scores, _ = forward(idx)
            loss = loss_fn(scores, labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        record["epoch_seconds"].append(time.perf_counter() - t0)
        record["train_loss"].append(total / n_train)
        if progress is not None:
            progress.step(f"{task} {name} epoch {epoch + 1}")
    with torch.no_grad():
        test = torch.arange(n_train, n_train + n_test)
        scores, p = forward(test)
        record["test_accuracy"] = float((scores.argmax(-1) == labels[test]).float().mean())
        if task == "classifier":
            out = attend(scores)
            record["output_zeros"] = float((out == 0).float().mean())
        else:
            record["attention_zeros"] = float((p == 0).float().mean())
            record["attention_on_target"] = float(p[torch.arange(n_test), torch.from_numpy(where[test.numpy()])].mean())
            record["attention_maps"] = p[:8].tolist()
            record["attention_targets"] = where[test.numpy()][:8].tolist()
    return record
