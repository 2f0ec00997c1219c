"""Every method of the package on the same datasets, grouped splits and metrics: one leaderboard.

    python experiments/run_benchmark.py --profile smoke --datasets agiqa3k aigciqa2023   # minutes-scale, CPU
    python experiments/run_benchmark.py --methods dlsr ipiqa --target quality --repeats 10 \
        --weights ipiqa=weights/clip_rn50 --data-root datasets --synthetic never           # real data

Without the real datasets under the data root it runs on the synthetic stand-ins (and says so in the banner, every
row, the leaderboard and the figure); without weights, each method starts from random initialisation (tiny
networks in the smoke profile), recorded as weights=random. Rows go to ``<out>/results.csv``, split files to
``<out>/splits/``, per-cell predictions to ``<out>/work/``, the leaderboard to ``<out>/benchmark_<...>.md|csv`` and the
figure to ``figures/benchmark_<...>.png``. See docs/benchmark.md.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfagiqa.benchmark.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="run_benchmark"))
