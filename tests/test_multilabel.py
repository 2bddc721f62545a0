"""The multi-label experiment (scripts/harness/multilabel.py and scripts/multilabel_simulation.py):
the generator's statistics, the objectives' gradients, training, the metrics and label
rules, cross-validation, the simulation end to end and the ARFF path."""

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

import sparsetools

import helpers
from harness import multilabel as ml

# the harness, end to end: the slow tier
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "multilabel_simulation.py"
TINY = (120, 40, 80)  # train, dev, test documents in the fast tests


def load_script():
    return helpers.load_script("multilabel_simulation")


@pytest.fixture(scope="module")
def world():
    """A data set of the full protocol's size (2,400 documents), K = 10, L = 60."""
    return ml.simulate(K=10, length=60, mixture="uniform", seed=3)


# --------------------------------------------------------------------------------------
# The generator


def test_label_counts_follow_a_poisson_1_truncated_to_1_to_K(world):
    m = np.concatenate([s.Y.sum(axis=1) for s in (world.train, world.dev, world.test)])
    assert len(m) == 2400 and m.min() >= 1 and m.max() <= 10
    # E[m | 1 <= m <= K] for m ~ Poisson(1): sum_m m / m! over sum_m 1 / m!, m = 1..K
    f = np.array([1.0 / np.prod(np.arange(1, k + 1)) for k in range(1, 11)])
    mean = (np.arange(1, 11) * f).sum() / f.sum()
    sd = np.sqrt((np.arange(1, 11) ** 2 * f).sum() / f.sum() - mean**2)
    assert abs(m.mean() - mean) < 4 * sd / np.sqrt(len(m))
    assert abs(np.mean(m == 1) - f[0] / f.sum()) < 0.04


def test_targets_are_on_the_simplex_and_uniform_over_the_labels(world):
    for s in (world.train, world.dev, world.test):
        assert (s.Q >= 0).all()
        np.testing.assert_allclose(s.Q.sum(axis=1), 1.0, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(s.Y, s.Q > 0)
        m = s.Y.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(s.Q[s.Y], np.broadcast_to(1.0 / m, s.Q.shape)[s.Y])


def test_random_mixtures_are_random_weights_on_the_labels():
    d = ml.simulate(K=6, length=30, mixture="random", seed=1, n_train=400, n_dev=0, n_test=0)
    Q = d.train.Q
    np.testing.assert_allclose(Q.sum(axis=1), 1.0, atol=1e-15)
    multi = d.train.Y.sum(axis=1) >= 2
    assert multi.sum() > 50
    # weights of documents with two or more labels are not all equal
    spread = np.array([np.ptp(q[q > 0]) for q in Q[multi]])
    assert (spread > 1e-3).mean() > 0.9


def test_lengths_and_counts(world):
    s = world.train
    np.testing.assert_array_equal(s.counts.sum(axis=1), s.lengths)
    assert s.lengths.min() >= 1
    L = np.concatenate([x.lengths for x in (world.train, world.dev, world.test)])
    assert abs(L.mean() - 60) < 4 * np.sqrt(60 / len(L))
    assert abs(L.var() - 60) < 0.15 * 60  # Poisson: variance = mean


def test_labels_follow_the_priors_and_words_the_class_distributions(world):
    # single-label documents: the label is drawn from the priors, the words from its column
    s = world.train
    one = s.Y.sum(axis=1) == 1
    labels = np.argmax(s.Y[one], axis=1)
    freq = np.bincount(labels, minlength=10) / one.sum()
    assert np.corrcoef(freq, world.priors)[0, 1] > 0.9
    j = np.argmax(np.bincount(labels))
    words = s.counts[one][labels == j].sum(axis=0)
    np.testing.assert_allclose(words / words.sum(), world.word_dists[:, j], atol=0.02)
    np.testing.assert_allclose(world.word_dists.sum(axis=0), 1.0)
    np.testing.assert_allclose(world.priors.sum(), 1.0)


def test_features_are_z_scored_with_the_training_statistics_and_a_bias(world):
    X = world.train.X
    assert X.shape == (1200, 11)
    np.testing.assert_allclose(X[:, :-1].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X[:, :-1].std(axis=0), 1, atol=1e-12)
    np.testing.assert_array_equal(X[:, -1], 1.0)
    c = world.train.counts
    np.testing.assert_allclose(world.test.X[:, :-1], (world.test.counts - c.mean(0)) / c.std(0))


def test_the_seed_decides_everything():
    a = ml.simulate(5, 20, "random", *TINY, seed=7)
    b = ml.simulate(5, 20, "random", *TINY, seed=7)
    c = ml.simulate(5, 20, "random", *TINY, seed=8)
    for x, y in ((a.train, b.train), (a.test, b.test)):
        np.testing.assert_array_equal(x.counts, y.counts)
        np.testing.assert_array_equal(x.Q, y.Q)
    assert not np.array_equal(a.train.counts, c.train.counts)


def test_a_figure_panel_shares_one_world():
    # the points of a panel (one K) differ in L and the mixture, not in priors or words
    a = ml.simulate(6, 50, "uniform", *TINY, seed=np.random.default_rng(ml.data_seed(0, 6)))
    b = ml.simulate(6, 500, "random", *TINY, seed=np.random.default_rng(ml.data_seed(0, 6)))
    c = ml.simulate(6, 50, "uniform", *TINY, seed=np.random.default_rng(ml.data_seed(1, 6)))
    np.testing.assert_array_equal(a.priors, b.priors)
    np.testing.assert_array_equal(a.word_dists, b.word_dists)
    assert not np.array_equal(a.priors, c.priors)
    assert b.train.lengths.mean() > 5 * a.train.lengths.mean()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown mixture 'dirichlet'"):
        ml.simulate(5, 20, "dirichlet")
    with pytest.raises(ValueError, match="K >= 1"):
        ml.simulate(0, 20)


# --------------------------------------------------------------------------------------
# Losses, objectives and training


@pytest.fixture(scope="module")
def small():
    return ml.simulate(K=5, length=40, mixture="random", n_train=60, n_dev=0, n_test=20, seed=11)


def test_logistic_loss_and_grad_is_stable_and_exact():
    z = np.array([[-800.0, -30.0, -1e-3, 0.0, 2.5, 40.0, 800.0]])
    y = np.array([[0, 1, 0, 1, 1, 0, 1]])
    loss, grad = ml.logistic_loss_and_grad(z, y)
    ref = np.logaddexp(0.0, z) - y * z
    np.testing.assert_allclose(loss, ref.sum(axis=1), rtol=1e-15)
    np.testing.assert_allclose(grad, expit(z) - y, rtol=1e-15, atol=1e-300)
    with pytest.raises(ValueError, match="row 0"):
        ml.logistic_loss_and_grad(np.array([[np.nan]]), np.array([[1]]))


@pytest.mark.parametrize("loss", ml.LOSSES)
def test_objective_gradient_matches_finite_differences(small, loss, rng):
    X, T = small.train.X, ml.targets(loss, small.train)
    w = 0.3 * rng.standard_normal(X.shape[1] * T.shape[1])
    lam = 0.05
    value, grad = ml.objective(w, X, T, lam, loss)
    h = 1e-6
    fd = np.empty_like(w)
    for i in range(len(w)):
        e = np.zeros_like(w)
        e[i] = h
        fd[i] = (ml.objective(w + e, X, T, lam, loss)[0] - ml.objective(w - e, X, T, lam, loss)[0]) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)
    assert value > 0


@pytest.mark.parametrize("loss", ml.LOSSES)
def test_the_bias_row_is_not_regularised(small, loss):
    X, T = small.train.X, ml.targets(loss, small.train)
    W = np.zeros((X.shape[1], T.shape[1]))
    W[-1] = np.linspace(-1, 1, T.shape[1])
    v0, g0 = ml.objective(W.ravel(), X, T, 0.0, loss)
    v1, g1 = ml.objective(W.ravel(), X, T, 10.0, loss)
    assert v0 == v1
    np.testing.assert_array_equal(g0, g1)
    W[0, 0] = 1.0
    assert ml.objective(W.ravel(), X, T, 10.0, loss)[0] > ml.objective(W.ravel(), X, T, 0.0, loss)[0] + 4.9


def test_objective_uses_the_toolkits_losses(small):
    X, Q = small.train.X, small.train.Q
    W = np.random.default_rng(0).standard_normal((X.shape[1], Q.shape[1]))
    value, _ = ml.objective(W.ravel(), X, Q, 0.0, "sparsemax")
    assert value == pytest.approx(sparsetools.sparsemax_loss(X @ W, Q).mean(), rel=1e-14)
    value, _ = ml.objective(W.ravel(), X, Q, 0.0, "softmax")
    assert value == pytest.approx(sparsetools.softmax_loss(X @ W, Q).mean(), rel=1e-14)


@pytest.mark.parametrize("loss", ml.LOSSES)
def test_training_lowers_the_objective_to_a_stationary_point(small, loss):
    X, T = small.train.X, ml.targets(loss, small.train)
    lam = 1e-2
    start = ml.objective(np.zeros(X.shape[1] * T.shape[1]), X, T, lam, loss)[0]
    m = ml.fit(X, T, loss, lam, tol=1e-8)
    assert m.converged, m.message
    value, grad = ml.objective(m.W.ravel(), X, T, lam, loss)
    assert value == pytest.approx(m.value)
    assert value < 0.8 * start
    assert np.abs(grad).max() < 1e-5
    # a warm start from the solution stays there
    again = ml.fit(X, T, loss, lam, W0=m.W, tol=1e-8)
    assert again.value <= m.value + 1e-12 and again.n_iter <= 2


def test_more_regularisation_gives_smaller_weights(small):
    X, Q = small.train.X, small.train.Q
    norms = [np.linalg.norm(ml.fit(X, Q, "sparsemax", lam).W[:-1]) for lam in (1e-3, 1e-1, 10.0)]
    assert norms[0] > norms[1] > norms[2]


def test_fit_rejects_bad_arguments(small):
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        ml.fit(small.train.X, small.train.Q, "hinge", 1.0)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        ml.fit(small.train.X, small.train.Q, "softmax", -1.0)


# --------------------------------------------------------------------------------------
# Metrics and label rules


def test_mse_and_jsd_on_known_pairs():
    p = np.array([[1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
    q = np.array([[0.0, 1.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
    assert ml.mse(p, q) == pytest.approx((2 / 4 + 0) / 2)
    np.testing.assert_allclose(ml.jsd_rows(p, q), [np.log(2), 0.0], atol=1e-15)
    assert ml.jsd(p, q) == pytest.approx(np.log(2) / 4 / 2)
    # symmetric, and between 0 and log 2 on random pairs
    rng = np.random.default_rng(0)
    a, b = rng.dirichlet(np.ones(6), 50), rng.dirichlet(np.ones(6), 50)
    np.testing.assert_allclose(ml.jsd_rows(a, b), ml.jsd_rows(b, a))
    assert (ml.jsd_rows(a, b) > 0).all() and (ml.jsd_rows(a, b) < np.log(2)).all()


def test_f1_scores_count_by_hand():
    Y = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 0]], bool)
    P = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0]], bool)
    # label 0: tp 2 -> F1 1; label 1: tp 1, fn 1 -> 2/3; label 2: fp 1 -> 0
    micro, macro = ml.f1_scores(Y, P)
    assert micro == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert macro == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert ml.f1_scores(Y, Y) == (1.0, pytest.approx(2 / 3))  # label 2: never true, never predicted: 0
    with pytest.raises(ValueError, match="do not match"):
        ml.f1_scores(Y, P[:, :2])


def test_label_rules():
    z = np.array([[2.0, 1.0, 0.0, -1.0]])
    # sparsemax: the support of sparsemax(t z) shrinks as t grows
    sizes = [ml.predict_labels("sparsemax", z, t).sum() for t in (0.25, 0.5, 1.0, 4.0)]
    assert sizes == [3, 2, 1, 1]
    np.testing.assert_array_equal(ml.predict_labels("sparsemax", z, 0.5), sparsetools.sparsemax(0.5 * z) > 0)
    np.testing.assert_array_equal(ml.predict_labels("softmax", z, 0.2), sparsetools.softmax(z) > 0.2)
    np.testing.assert_array_equal(ml.predict_labels("logistic", z, 0.5), z > 0)


def test_tune_threshold_takes_the_best_micro_f1():
    Z = np.array([[3.0, 2.9, -2.0], [2.0, -1.0, 1.9], [0.0, 3.0, -3.0]])
    Y = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0]], bool)
    grid = (0.1, 0.5, 0.9)
    best = ml.tune_threshold("logistic", Z, Y, grid)
    f1 = {t: ml.f1_scores(Y, ml.predict_labels("logistic", Z, t))[0] for t in grid}
    assert f1[best] == max(f1.values())


def test_cross_validation_picks_the_lowest_mean_held_out_score(small):
    cv = ml.cross_validate(small.train, "softmax", lambdas=(1e-3, 1e-1, 10.0), folds=3, rng=0)
    assert cv.lambdas == (10.0, 1e-1, 1e-3)
    np.testing.assert_array_equal(np.sort(np.concatenate(cv.folds)), np.arange(len(small.train)))
    for criterion in ml.CRITERIA:
        scores = cv.scores(criterion)
        assert scores.shape == (3, 3)
        lam, models = cv.choose(criterion)
        assert lam == cv.lambdas[int(np.argmin(scores.mean(axis=1)))]
        assert len(models) == 3 and all(m.lam == lam for m in models)
    # the held-out scores are the fold models' losses and JSDs on their held-out folds
    held = small.train.subset(cv.folds[1])
    m = cv.models[2][1]
    assert m.lam == 1e-3
    assert cv.scores("loss")[2, 1] == pytest.approx(sparsetools.softmax_loss(m.scores(held.X), held.Q).mean())
    assert cv.scores("jsd")[2, 1] == pytest.approx(ml.jsd(sparsetools.softmax(m.scores(held.X)), held.Q))
    # a fold model never saw its held-out documents
    other = np.setdiff1d(np.arange(len(small.train)), cv.folds[1])
    again = ml.fit(small.train.X[other], small.train.Q[other], "softmax", 10.0)
    np.testing.assert_allclose(again.W, cv.models[0][1].W, atol=1e-4)
    with pytest.raises(ValueError, match="unknown criterion"):
        cv.choose("auc")
    with pytest.raises(ValueError, match="folds"):
        ml.cross_validate(small.train, "softmax", folds=1)


# --------------------------------------------------------------------------------------
# The simulation, end to end

TINY_GRID = {"mixtures": ("uniform", "random"), "K": (4,), "lengths": (30, 300), "lambdas": (1e-3, 1e-1),
             "folds": 2, "sizes": TINY}


def test_run_setting_records_every_loss():
    recs = ml.run_setting("uniform", 4, 300, seed=1, lambdas=(1e-3, 1e-1), folds=2, sizes=TINY)
    assert [r["loss"] for r in recs] == list(ml.LOSSES)
    for r in recs:
        assert r["lam_jsd"] in (1e-3, 1e-1) and r["lam_mse"] in (1e-3, 1e-1)
        assert 0 <= r["jsd"] <= np.log(2) / 4 and 0 <= r["mse"] <= 2 / 4
        assert 0 <= r["macro_f1"] <= r["micro_f1"] + 0.5 and 0 < r["micro_f1"] <= 1
        assert r["jsd_fold_std"] >= 0 and r["converged"]
    # long documents are informative: sparsemax gets most labels right
    assert recs[0]["micro_f1"] > 0.8


def same_records(a, b):
    """Records equal up to rounding: the worker processes run BLAS on one thread, this
    process on several, which sums the matrix products in another order."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            if k == "seconds":
                continue
            if isinstance(x[k], float) and k not in ("lam_jsd", "lam_mse", "threshold"):
                assert x[k] == pytest.approx(y[k], rel=1e-9, abs=1e-15), k
            else:
                assert x[k] == y[k], k


def test_results_do_not_depend_on_the_workers():
    one = ml.run_simulation(TINY_GRID, seed=5, workers=1)
    two = ml.run_simulation(TINY_GRID, seed=5, workers=2)
    same_records(one, two)
    assert len(one) == 2 * 2 * 3
    # a grid point's data set depends on the point, not on the grid around it
    alone = ml.run_simulation(dict(TINY_GRID, mixtures=("random",), lengths=(300,)), seed=5, workers=1)
    same_records(alone, one[-3:])
    assert [r["jsd"] for r in alone] == [r["jsd"] for r in one[-3:]]  # same process: same bits
    other = ml.run_simulation(dict(TINY_GRID, mixtures=("random",), lengths=(300,)), seed=6, workers=1)
    assert [r["jsd"] for r in other] != [r["jsd"] for r in alone]


def test_the_quick_run_end_to_end(tmp_path, capsys):
    script = load_script()
    records = script.main(["--quick", "--out", str(tmp_path), "--no-progress"])
    g = ml.GRIDS["quick"]
    assert len(records) == len(g["mixtures"]) * len(g["K"]) * len(g["lengths"]) * len(ml.LOSSES)
    with open(tmp_path / "multilabel_simulation_quick.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(records)
    assert {float(r["jsd"]) for r in rows} == {r["jsd"] for r in records}
    assert (tmp_path / "multilabel_simulation_quick.png").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "sparsemax has the lower JSD at" in out and "| uniform | 50 | 2000 |" in out


def test_the_script_rejects_bad_options(capsys, tmp_path):
    script = load_script()
    with pytest.raises(SystemExit):
        script.main(["--arff", "a.arff", "b.arff"])
    assert "--labels" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script.main(["--labels", "3"])
    f = tmp_path / "a_file"
    f.write_text("x")
    train = tmp_path / "t.arff"
    train.write_text("")
    for argv, msg in ((["--seed", "-1"], "--seed: must be 0 or more"), (["--workers", "0"], "--workers"),
                      (["--out", str(f)], "is a file"), (["--out", str(f / "sub")], "--out"),
                      (["--arff", str(train), "nope.arff", "--labels", "2"], "no file nope.arff"),
                      (["--arff", str(train), str(train), "--labels", "0"], "--labels: must be at least 1"),
                      (["--arff", str(train), str(train), "--labels", "2", "--quick"], "takes no --quick")):
        with pytest.raises(SystemExit):
            script.main(argv)  # at once, before any work
        assert msg in capsys.readouterr().err, argv
    # the README's files are the paper's grid with seed 0; other runs have their own names
    assert script.file_stem(False, 0) == "multilabel_simulation"
    assert script.file_stem(True, 0) == "multilabel_simulation_quick"
    assert script.file_stem(False, 3) == "multilabel_simulation_seed3"


# --------------------------------------------------------------------------------------
# ARFF data sets


def write_arff(path, X, Y, nominal_feature=False):
    lines = ["% a small multi-label data set written by the tests", "@relation tiny", ""]
    for j in range(X.shape[1]):
        kind = "{0,1,2,3}" if nominal_feature and j == 0 else "numeric"
        lines.append(f"@attribute f{j} {kind}")
    for j in range(Y.shape[1]):
        lines.append(f"@attribute label{j} {{0,1}}")
    lines += ["", "@data"]
    for x, y in zip(X, Y):
        feats = [str(int(v)) if nominal_feature and j == 0 else repr(float(v)) for j, v in enumerate(x)]
        lines.append(",".join(feats + [str(int(v)) for v in y]))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def arff_files(tmp_path_factory):
    d = ml.simulate(K=5, length=150, mixture="uniform", n_train=200, n_dev=0, n_test=100, seed=2)
    path = tmp_path_factory.mktemp("arff")
    train, test = path / "tiny-train.arff", path / "tiny-test.arff"
    Xtr, Xte = d.train.counts.astype(float), d.test.counts.astype(float)
    Xtr[:, 0] %= 4
    Xte[:, 0] %= 4
    write_arff(train, Xtr, d.train.Y, nominal_feature=True)
    write_arff(test, Xte, d.test.Y, nominal_feature=True)
    return train, test, d


def test_load_arff_reads_features_and_labels(arff_files):
    train, _, d = arff_files
    X, Y, names = ml.load_arff(train, 5)
    assert names[-5:] == [f"label{j}" for j in range(5)]
    np.testing.assert_array_equal(Y, d.train.Y)
    expected = d.train.counts.astype(float)
    expected[:, 0] %= 4
    np.testing.assert_array_equal(X, expected)


def test_arff_benchmark_trains_the_three_losses(arff_files, capsys):
    train, test, _ = arff_files
    script = load_script()
    recs = script.main(["--arff", str(train), str(test), "--labels", "5"])
    assert [r["loss"] for r in recs] == list(ml.LOSSES)
    for r in recs:
        assert 0.6 < r["micro_f1"] <= 1 and 0 < r["macro_f1"] <= 1
    out = capsys.readouterr().out
    assert "| sparsemax |" in out and "micro-F1" in out and "200 training and 100 test documents" in out


def test_documents_without_labels_train_the_logistic_loss_only(tmp_path, arff_files):
    _, test, d = arff_files
    Y = d.train.Y.copy()
    Y[:10] = False
    train = tmp_path / "some-unlabelled.arff"
    write_arff(train, d.train.counts.astype(float), Y)
    write_arff(tmp_path / "test.arff", d.test.counts.astype(float), d.test.Y)
    recs = ml.run_datasets(train, tmp_path / "test.arff", 5, lambdas=(1e-2,), folds=2)
    assert {r["loss"]: r["n_train"] for r in recs} == {"sparsemax": 190, "softmax": 190, "logistic": 200}


def test_arff_errors_name_the_file_attribute_and_instance(tmp_path, arff_files):
    train, test, d = arff_files
    with pytest.raises(ValueError, match="--labels must be 1 to"):
        ml.load_arff(train, 99)
    bad = tmp_path / "bad-label.arff"
    X, Y = d.test.counts.astype(float), d.test.Y.astype(int)
    Y[7, 2] = 2
    write_arff(bad, X, Y)
    bad.write_text(bad.read_text().replace("@attribute label2 {0,1}", "@attribute label2 {0,1,2}"))
    with pytest.raises(ValueError, match=r"label 'label2' is 2.0 at instance 7"):
        ml.load_arff(bad, 5)
    missing = tmp_path / "missing.arff"
    write_arff(missing, X, d.test.Y)
    lines = missing.read_text().split("\n")
    at = lines.index("@data") + 1 + 4
    lines[at] = "?," + lines[at].split(",", 1)[1]
    missing.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=r"missing.arff: attribute 'f0' is missing or not finite at instance 4"):
        ml.load_arff(missing, 5)
    sparse = tmp_path / "sparse.arff"
    sparse.write_text("@relation s\n@attribute a numeric\n@attribute l {0,1}\n@data\n{0 1.5, 1 1}\n")
    with pytest.raises(ValueError, match="sparse.arff: cannot read it"):
        ml.load_arff(sparse, 1)
    other = tmp_path / "other.arff"
    write_arff(other, X[:, :3], d.test.Y)
    with pytest.raises(ValueError, match="attributes differ"):
        ml.run_datasets(train, other, 5)


def test_points_on_any_executor():
    """A concurrent.futures executor runs the points (here a thread pool: each point with
    Numba on one thread); the records are those of the run in this process, to rounding."""
    from concurrent.futures import ThreadPoolExecutor

    here = ml.run_simulation(TINY_GRID, seed=5, workers=1)
    with ThreadPoolExecutor(2) as pool:
        threads = ml.run_simulation(TINY_GRID, seed=5, executor=pool)
    same_records(here, threads)


@pytest.mark.slow
def test_points_on_a_local_dask_cluster():
    """--scheduler local: a LocalCluster of two worker processes gives the same bits as the
    two local worker processes (both run each point with one thread for Numba and BLAS)."""
    pytest.importorskip("distributed")
    procs = ml.run_simulation(TINY_GRID, seed=5, workers=2)
    cluster = ml.run_simulation(TINY_GRID, seed=5, workers=2, scheduler="local")
    strip = [[{k: v for k, v in r.items() if k != "seconds"} for r in recs] for recs in (procs, cluster)]
    assert strip[0] == strip[1]


def test_the_scheduler_option_is_checked(tmp_path, capsys):
    script = load_script()
    for name in ("a.arff", "b.arff"):
        (tmp_path / name).write_text("")
    with pytest.raises(SystemExit):
        script.main(["--arff", str(tmp_path / "a.arff"), str(tmp_path / "b.arff"), "--labels", "2",
                     "--scheduler", "local"])
    assert "--scheduler runs the simulation's points" in capsys.readouterr().err


@pytest.mark.slow
def test_a_running_cluster_gets_the_harness_sent():
    """--scheduler ADDRESS: the workers of a running cluster have sparsetools, not the
    scripts folder; the harness goes to them as a zip on their path."""
    distributed = pytest.importorskip("distributed")
    from harness import executors

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with executors.open_executor(cluster.scheduler_address) as ex:
            def where():
                import harness.executors

                return harness.executors.__file__

            assert "sparsetools_harness.zip" in ex.submit(where).result()
            recs = ml.run_simulation(dict(TINY_GRID, mixtures=("random",), lengths=(30,)), seed=5, executor=ex)
    assert len(recs) == len(ml.LOSSES)
    # and this process (the LocalCluster's scheduler) still imports the harness from its folder
    import harness

    assert "sparsetools_harness" not in harness.__file__
    import harness.training  # noqa: F401
