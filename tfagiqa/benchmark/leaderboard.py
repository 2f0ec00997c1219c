"""The leaderboard of one benchmark run: method × dataset × target, SRCC and PLCC as mean ± sample std over the
splits, the SRCC against a stand-in's latent truth, the time per split, and whether the method is above chance.

Chance: under no association the SRCC of n test images has a standard deviation of about 1/√(n − 1); over k
splits the mean's is about 1/√((n − 1)·k) (splits whose test sides overlap make this optimistic). A mean SRCC
beyond :data:`CHANCE_Z` such deviations is "above chance" (or below); within them, "near chance". A trained method
*learns* when it is above chance against the MOS and, on a stand-in, against the latent truth too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.atomic import atomic_path, write_text

KEYS = ("experiment", "dataset", "target")
CARRIED = ("data", "weights", "profile", "split", "selection", "backbone", "trained")
CHANCE_Z = 2.0
SYNTHETIC = ("SYNTHETIC stand-in data: these numbers test the code path and what each method can pick up from the "
             "stand-in; they are NOT the papers' numbers.")
RANDOM = "weights=random: no pretrained weights were found; every network started from random initialisation."


def table(rows: pd.DataFrame) -> pd.DataFrame:
    """One leaderboard row per (method, dataset, target) of ``rows`` (result rows of one run), in row order."""
    out = []
    for key, group in rows.groupby(list(KEYS), sort=False):
        entry = dict(zip(KEYS, key))
        for column in CARRIED:
            entry[column] = "; ".join(dict.fromkeys(group[column].astype(str)))
        entry["n_splits"] = len(group)
        entry["n_test"] = float(group["n_test"].mean())
        for metric in ("srcc", "plcc", "srcc_truth"):
            values = group[metric].astype(float) if metric in group.columns else pd.Series(dtype=float)
            entry[f"{metric}_mean"] = float(values.mean()) if len(values) else np.nan
            entry[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else np.nan
        entry["wall_s"] = float(group["wall_s"].mean())
        entry["cpu_s"] = float(group["cpu_s"].mean())
        entry["chance"] = chance(entry["n_test"], int(group["srcc"].notna().sum()))  # splits with a defined SRCC
        entry["verdict"] = verdict(entry)
        out.append(entry)
    return pd.DataFrame(out)


def chance(n_test: float, n_splits: int) -> float:
    """The |mean SRCC| beyond which it is not chance: CHANCE_Z / √((n − 1)·k) over the k splits whose SRCC is
    defined (a constant prediction has none); NaN when no split has one."""
    return CHANCE_Z / np.sqrt(max(n_test - 1.0, 1.0) * n_splits) if n_splits else np.nan


def _side(value: float, bound: float) -> str:
    if not np.isfinite(value):
        return "undefined"
    return "above" if value > bound else "below" if value < -bound else "chance"


def verdict(entry: dict) -> str:
    """learns / near chance / … for a trained method; above / near / below chance for a zero-shot one."""
    mos = _side(entry["srcc_mean"], entry["chance"])
    truth = _side(entry["srcc_truth_mean"], entry["chance"]) if np.isfinite(entry["srcc_truth_mean"]) else None
    trained = str(entry["trained"]).lower() == "true"
    if trained and mos == "above" and truth in ("above", None):
        return "learns"
    if mos == truth or truth is None:
        return {"above": "above chance", "below": "below chance", "chance": "near chance"}.get(mos, "undefined")
    return f"MOS {mos}, truth {truth}"


def _cell(mean: float, std: float) -> str:
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:+.3f} ± {std:.3f}" if np.isfinite(std) else f"{mean:+.3f}"


def markdown(board: pd.DataFrame, title: str, context: Sequence[str], skipped: Sequence[str]) -> str:
    """The leaderboard as Markdown: one table per dataset and target (best SRCC first), then the notes."""
    lines = [f"# {title}", ""]
    if (board["data"] == "synthetic").any():
        lines += [f"**{SYNTHETIC}**", ""]
    if board["weights"].str.contains("random").any():
        lines += [f"**{RANDOM}** (rows whose weights say so)", ""]
    lines += [*(f"- {c}" for c in context), ""]
    truth = board["srcc_truth_mean"].notna().any()
    for (dataset, target), part in board.groupby(["dataset", "target"], sort=False):
        lines += [f"## {dataset}, {target}", ""]
        header = ["method", "trained", "SRCC", "PLCC", *(["SRCC vs latent truth"] if truth else []), "verdict",
                  "s / split (wall)", "s / split (CPU)", "data", "weights", "backbone", "selection"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for _, r in part.sort_values("srcc_mean", ascending=False, na_position="last").iterrows():
            cells = [r["experiment"], "yes" if str(r["trained"]).lower() == "true" else "zero-shot",
                     _cell(r["srcc_mean"], r["srcc_std"]), _cell(r["plcc_mean"], r["plcc_std"]),
                     *([_cell(r["srcc_truth_mean"], r["srcc_truth_std"])] if truth else []), r["verdict"],
                     f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}", r["data"], r["weights"], r["backbone"], r["selection"]]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        chance_bound = part["chance"].min()  # the bound of the cells with every split defined
        lines += ["", f"{int(part['n_splits'].max())} split(s), about {part['n_test'].mean():.0f} test images each: "
                      f"chance = |mean SRCC| ≤ {chance_bound:.3f}.", ""]
    lines += ["## Notes", "", *notes(board, skipped)]
    return "\n".join(lines) + "\n"


def notes(board: pd.DataFrame, skipped: Sequence[str]) -> list[str]:
    """Which methods learn on this data in this profile and which do not, the time per method, what was skipped."""
    out = [f"- Chance: |mean SRCC| ≤ {CHANCE_Z:g}/√((n_test − 1)·splits) (the no-association spread of the mean "
           "SRCC; splits = those with a defined SRCC). 'learns' = a trained method above it against the MOS"
           + (" and against the stand-in's latent truth." if board["srcc_truth_mean"].notna().any() else ".")]
    for label, wanted in (("Learns", {"learns"}), ("Above chance (zero-shot)", {"above chance"})):
        cells = board[board["verdict"].isin(wanted)]
        if len(cells):
            out.append(f"- {label}: " + "; ".join(_cells(cells)) + ".")
    rest = board[~board["verdict"].isin({"learns", "above chance"})]
    if len(rest):
        out.append("- Not above chance: " + "; ".join(f"{c} ({v})" for c, v in zip(_cells(rest), rest["verdict"]))
                   + ".")
    out.append(f"- {times(board)}.")
    out += [f"- Skipped: {line}" for line in skipped]
    return out


def times(board: pd.DataFrame) -> str:
    """Each method's wall and CPU seconds over all its cells (also printed at the end of a run)."""
    totals = board.assign(total_wall=board["wall_s"] * board["n_splits"], total_cpu=board["cpu_s"] * board["n_splits"])
    per_method = totals.groupby("experiment", sort=False)[["total_wall", "total_cpu"]].sum()
    return "Time per method (all its cells, wall / CPU): " + ", ".join(
        f"{m} {r.total_wall:.0f} s / {r.total_cpu:.0f} s" for m, r in per_method.iterrows())


def _cells(part: pd.DataFrame) -> list[str]:
    return [f"{r.experiment} {r.dataset} {r.target}" for r in part.itertuples()]


def write(board: pd.DataFrame, text: str, stem: Path) -> list[Path]:
    """``<stem>.csv`` and ``<stem>.md``, each written atomically; returns their paths."""
    csv, md = stem.with_name(f"{stem.name}.csv"), stem.with_name(f"{stem.name}.md")
    with atomic_path(csv) as temporary:
        board.to_csv(temporary, index=False)
    write_text(md, text)
    return [csv, md]
