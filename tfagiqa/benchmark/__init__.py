"""One benchmark over every method of the package: the same datasets, the same grouped splits, the same metrics.

Each method provides an adapter (:mod:`tfagiqa.benchmark.adapters` states the contract) that trains on a split's
training side with the method's own protocol (or scores zero-shot) and predicts its test side. The parts:

* :mod:`~tfagiqa.benchmark.splits` — the split files every method shares (``benchmark``, ``ipiqa``, ``sfiqa``);
* :mod:`~tfagiqa.benchmark.frames` — the train/test frames as the protocols take them, and an adapter's answer;
* :mod:`~tfagiqa.benchmark.truth` — a synthetic stand-in's latent truth (``srcc_truth``);
* :mod:`~tfagiqa.benchmark.runner` — every (method, dataset, target, split), one result row each;
* :mod:`~tfagiqa.benchmark.leaderboard` and :mod:`~tfagiqa.benchmark.figure` — what a run publishes;
* :mod:`~tfagiqa.benchmark.cli` — ``experiments/run_benchmark.py`` and ``tfagiqa benchmark``.

Nothing heavy is imported here.
"""
