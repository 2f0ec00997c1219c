"""tfagiqa.metrics against hand-computed values, the SPEC §1.1 checks, and its handling of bad input."""

import math

import numpy as np
import pytest
from scipy import stats

from tfagiqa import metrics
from tfagiqa.errors import DataError, TfagiqaError
from tfagiqa.metrics import MetricInputError, MetricWarning

PRED = [1, 2, 3, 4, 5]
MOS = [2, 1, 4, 3, 5]


def test_hand_computed_scores():
    # Both vectors are rankings of 1..5 with d = (-1, 1, -1, 1, 0): SRCC = 1 - 6·4/(5·24) = 0.8 = PLCC.
    # Discordant pairs (1,2) and (3,4): KRCC = (8 - 2)/10 = 0.6.  RMSE = sqrt(4/5).
    assert metrics.srcc(PRED, MOS) == pytest.approx(0.8)
    assert metrics.plcc(PRED, MOS) == pytest.approx(0.8)
    assert metrics.krcc(PRED, MOS) == pytest.approx(0.6)
    assert metrics.rmse(PRED, MOS) == pytest.approx(math.sqrt(0.8))
    assert metrics.main_score(PRED, MOS) == pytest.approx(0.8)


def test_krcc_is_tau_b_with_ties():
    # C = 4, D = 0, one pair tied in pred only, one in mos only: tau-b = 4/sqrt(5·5) = 0.8 (tau-a would be 4/6).
    assert metrics.krcc([1, 2, 2, 3], [1, 2, 3, 3]) == pytest.approx(0.8)


def test_main_score_is_mean_of_srcc_and_plcc():
    rng = np.random.default_rng(0)
    pred, mos = rng.normal(size=50), rng.normal(size=50)
    expected = (metrics.srcc(pred, mos) + metrics.plcc(pred, mos)) / 2
    assert metrics.main_score(pred, mos) == pytest.approx(expected)


def test_evaluate_keys_and_values():
    scores = metrics.evaluate(PRED, MOS)
    assert list(scores)[:7] == ["srcc", "plcc", "plcc_logistic4", "plcc_logistic5", "krcc", "rmse", "main"]
    assert scores["srcc"] == pytest.approx(0.8)
    assert scores["plcc"] == pytest.approx(0.8)
    assert scores["krcc"] == pytest.approx(0.6)
    assert scores["main"] == pytest.approx(0.8)
    assert scores["plcc_logistic4"] == pytest.approx(metrics.plcc_logistic(PRED, MOS, 4))
    assert scores["plcc_logistic5"] == pytest.approx(metrics.plcc_logistic(PRED, MOS, 5))
    assert scores["plcc_logistic4_converged"] is True and scores["plcc_logistic5_converged"] is True


def test_logistic_forms():
    assert metrics.logistic4(3.0, 5, 1, 3.0, 0.5) == pytest.approx(3.0)  # midpoint: (b1 + b2)/2
    assert metrics.logistic5(2.0, 4, 1, 2.0, 0.5, 1) == pytest.approx(2.0)  # logistic part 0: b4·x + b5


@pytest.mark.parametrize(
    ("n_params", "curve", "true_params"),
    [(4, metrics.logistic4, (4.5, 0.5, 2.5, 0.4)), (5, metrics.logistic5, (3.0, 2.0, 2.5, 0.2, 1.5))],
)
def test_logistic_fit_recovers_exact_logistic(n_params, curve, true_params):
    pred = np.linspace(0, 5, 60)
    mos = curve(pred, *true_params)
    assert metrics.plcc(pred, mos) < 0.99
    fit = metrics.fit_logistic(pred, mos, n_params)
    assert fit.converged and len(fit.params) == n_params
    np.testing.assert_allclose(fit.mapped, mos, atol=1e-5)
    assert metrics.plcc_logistic(pred, mos, n_params) == pytest.approx(1.0, abs=1e-8)
    mapped, params = fit  # unpacks as (mapped_pred, params)
    assert mapped is fit.mapped and params is fit.params


def test_logistic_fit_failure_falls_back_to_raw(monkeypatch):
    monkeypatch.setattr(metrics, "MAXFEV", 1)
    pred, mos = np.linspace(0, 5, 40), metrics.logistic4(np.linspace(0, 5, 40), 4.5, 0.5, 2.5, 0.4)
    with pytest.warns(MetricWarning, match="logistic fit failed"):
        fit = metrics.fit_logistic(pred, mos, 4)
    assert not fit.converged and fit.params is None
    np.testing.assert_array_equal(fit.mapped, pred)
    with pytest.warns(MetricWarning, match="uses the raw prediction") as caught:
        scores = metrics.evaluate(pred, mos)
    assert sorted(str(w.message)[:1] for w in caught) == ["4", "5"]
    for n in (4, 5):
        assert scores[f"plcc_logistic{n}_converged"] is False
        assert scores[f"plcc_logistic{n}"] == pytest.approx(scores["plcc"])


def test_fit_logistic_rejects_other_sizes():
    with pytest.raises(MetricInputError, match="4 or 5"):
        metrics.fit_logistic(PRED, MOS, 3)
    with pytest.raises(MetricInputError, match="4 or 5"):
        metrics.plcc_logistic(PRED, MOS, 6)


def test_fold_summary_matches_dlsr_var():
    summary = metrics.fold_summary([0.7332, 0.7231, 0.7227])
    assert set(summary) == {"average", "var"}
    assert summary["average"] == pytest.approx(0.726333, abs=1e-6)
    assert summary["var"] == pytest.approx(3.54e-5, abs=5e-8)


def test_fold_summary_edge_cases():
    assert math.isnan(metrics.fold_summary([0.5])["var"])
    with pytest.raises(MetricInputError, match="at least one"):
        metrics.fold_summary([])


def test_constant_prediction_gives_nan_with_warning():
    with pytest.warns(MetricWarning, match="pred .* constant"):
        assert math.isnan(metrics.srcc([3, 3, 3, 3], [1, 2, 3, 4]))
    with pytest.warns(MetricWarning, match="mos .* constant"):
        assert math.isnan(metrics.plcc([1, 2, 3, 4], [2, 2, 2, 2]))
    with pytest.warns(MetricWarning, match="constant"):
        scores = metrics.evaluate([3, 3, 3, 3], [1, 2, 3, 4])
    assert all(math.isnan(scores[k]) for k in ("srcc", "plcc", "plcc_logistic4", "plcc_logistic5", "krcc", "main"))
    assert scores["rmse"] == pytest.approx(math.sqrt(1.5))
    assert scores["plcc_logistic4_converged"] is False


def test_accepts_columns_and_arrays():
    col = np.array(PRED, dtype=np.float32).reshape(-1, 1)
    assert metrics.srcc(col, np.array(MOS)) == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("pred", "mos", "message"),
    [
        ([1, 2, 3], [1, 2], "pred has 3 values but mos has 2"),
        ([1, 2], [1, 2], "at least 3 samples"),
        ([1, np.nan, np.nan, 4], [1, 2, 3, 4], "pred has 2 NaN and 0 infinite"),
        ([1, 2, 3, 4], [1, 2, np.inf, 4], "mos has 0 NaN and 1 infinite"),
        (np.ones((2, 3)), np.ones(6), r"shape \(2, 3\)"),
        (["a", "b", "c"], [1, 2, 3], "pred must be numeric"),
    ],
)
def test_bad_input_raises_clear_error(pred, mos, message):
    with pytest.raises(MetricInputError, match=message) as info:
        metrics.evaluate(pred, mos)
    assert isinstance(info.value, DataError) and isinstance(info.value, TfagiqaError)
    with pytest.raises(MetricInputError, match=message):
        metrics.srcc(pred, mos)


def test_three_samples_score_without_fits():
    # ranks d = (0, -1, 1): SRCC = 1 - 6·2/(3·8) = 0.5; centred (-1, 0, 1)·(-1, 1, 0) = 1 over sqrt(2·2): PLCC 0.5;
    # pairs: 2 concordant, 1 discordant: KRCC 1/3. Neither logistic can be fitted to 3 points.
    with pytest.warns(MetricWarning, match="3 samples cannot determine [45] parameters"):
        scores = metrics.evaluate([1, 2, 3], [1, 3, 2])
    assert (scores["srcc"], scores["plcc"], scores["krcc"]) == pytest.approx((0.5, 0.5, 1 / 3))
    assert scores["rmse"] == pytest.approx(math.sqrt(2 / 3)) and scores["main"] == pytest.approx(0.5)
    assert scores["plcc_logistic4_converged"] is False and scores["plcc_logistic5_converged"] is False
    assert scores["plcc_logistic4"] == scores["plcc_logistic5"] == pytest.approx(0.5)  # the raw PLCC
    with pytest.warns(MetricWarning, match="3 samples cannot determine 5 parameters"):
        fit = metrics.fit_logistic([1, 2, 3], [1, 3, 2], 5)
    assert fit.params is None and not fit.converged and list(fit.mapped) == [1, 2, 3]


def test_four_samples_fit_only_the_four_parameter_logistic():
    # d = (-1, 1, -1, 1): SRCC = 1 - 6·4/(4·15) = 0.6 = PLCC (both vectors are rankings); 4 of 6 pairs concordant.
    pred, mos = [1, 2, 3, 4], [2, 1, 4, 3]
    with pytest.warns(MetricWarning, match="4 samples cannot determine 5 parameters"):
        scores = metrics.evaluate(pred, mos)
    assert (scores["srcc"], scores["plcc"], scores["krcc"]) == pytest.approx((0.6, 0.6, 1 / 3))
    assert scores["plcc_logistic5_converged"] is False and scores["plcc_logistic5"] == pytest.approx(0.6)
    fit = metrics.fit_logistic(pred, mos, 4)
    assert scores["plcc_logistic4_converged"] is fit.converged is True
    assert scores["plcc_logistic4"] == pytest.approx(stats.pearsonr(metrics.logistic4(pred, *fit.params), mos)[0])


def test_five_samples_with_ties_match_hand_computation_and_scipy():
    # average ranks pred (1, 2.5, 2.5, 4, 5), mos (1, 3, 2, 4.5, 4.5): Pearson of ranks = 9/9.5.
    # 8 concordant pairs, none discordant, one tie in pred only and one in mos only: tau-b = 8/sqrt(9·9).
    # raw Pearson: centred sums 5.4 / sqrt(5.2·6.8).
    pred, mos = [1, 2, 2, 3, 4], [1, 3, 2, 4, 4]
    scores = metrics.evaluate(pred, mos)
    assert scores["srcc"] == pytest.approx(9 / 9.5) == stats.spearmanr(pred, mos)[0]
    assert scores["krcc"] == pytest.approx(8 / 9) == stats.kendalltau(pred, mos)[0]
    assert scores["plcc"] == pytest.approx(5.4 / math.sqrt(5.2 * 6.8)) == stats.pearsonr(pred, mos)[0]
    for n in (4, 5):
        assert isinstance(scores[f"plcc_logistic{n}_converged"], bool)
        assert -1 <= scores[f"plcc_logistic{n}"] <= 1


def test_three_samples_with_a_tie_and_constant_predictions():
    # pred ranks (1.5, 1.5, 3) against (1, 2, 3): SRCC = 1.5/sqrt(1.5·2); tau-b = 2/sqrt((3-1)·3).
    with pytest.warns(MetricWarning, match="cannot determine"):
        scores = metrics.evaluate([1, 1, 2], [1, 2, 3])
    assert scores["srcc"] == pytest.approx(1.5 / math.sqrt(3)) and scores["krcc"] == pytest.approx(2 / math.sqrt(6))
    for n in (3, 4, 5):
        with pytest.warns(MetricWarning, match="constant"):
            scores = metrics.evaluate([2.0] * n, list(range(n)))
        assert all(math.isnan(scores[k]) for k in ("srcc", "plcc", "krcc", "plcc_logistic4", "plcc_logistic5"))
        assert scores["plcc_logistic4_converged"] is False and scores["plcc_logistic5_converged"] is False
