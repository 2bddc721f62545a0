"""The scripts' harness: the benchmark helpers (``bench``) and the multi-label experiment
(``multilabel``). Not part of the toolkit: ``sparsetools`` never imports it, and it is not
installed with it; the scripts in ``scripts/`` import it from this folder, and the tests
find it there."""
