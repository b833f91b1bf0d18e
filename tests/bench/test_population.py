"""The population benchmark harness: ``main --quick`` prints the speed and compare figures (parsed
here, never timed), the two training paths end with the same weights, a per-epoch schedule in a
population equals ``fit`` with that schedule (oracle), PBT without an exploit step is exactly the
random-search arm, and bad arguments stop it before any training. The figures themselves are
printed by ``python -m amsearch_lab.bench population``."""

import math
import re

import numpy as np
import pytest

from amsearch_lab.bench import BENCHMARKS, population
from amsearch_lab.datasets import cached_mnist

PCT = r"([\d.]+)% \[([\d.]+)%, ([\d.]+)%\]"


def test_main_quick_prints_both_parts(tmp_path, capsys):
    assert "population" in BENCHMARKS
    plot = tmp_path / "schedules.png"
    assert population.main(["--quick", "--device", "cpu", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    # speed: both timings, their ratio, the reference, and the same weights on both paths
    seq = float(re.search(r"sequential \(4 fit calls\): ([\d.]+) s", out).group(1))
    vec = float(re.search(r"vectorized \(one stacked model\): ([\d.]+) s", out).group(1))
    ratio = float(re.search(r"speed-up sequential / vectorized: ([\d.]+)x", out).group(1))
    assert seq > 0 and vec > 0 and ratio > 0
    assert "sequential 18.8 s, vectorized 1.87 s" in out
    assert re.search(r"^\s+1  seq then vec\s+[\d.]+\s+[\d.]+\s+[\d.]+$", out, re.MULTILINE)
    assert "same batches and updates on both paths: yes" in out
    gaps = re.search(r"per configuration: median ([\d.e+-]+), largest ([\d.e+-]+) \(lr [\d.]+\); 0 of 4", out)
    assert float(gaps.group(1)) <= float(gaps.group(2)) < 1e-4
    # compare: every arm's row, medians inside their ranges, equal compute
    for arm in population.ARMS:
        row = re.search(rf"^{arm}\s+3\s+{PCT}\s+{PCT}\s+(\d+)\s+([\d.]+)$", out, re.MULTILINE)
        assert row, arm
        figures = [float(x) for x in row.groups()]
        for median, low, high in (figures[0:3], figures[3:6]):
            assert 0 <= low <= median <= high <= 100
        assert figures[6] == 4 * 2
    for arm in population.ARMS[1:]:
        assert re.search(rf"pbt - {arm}\s+[+-][\d.]+ pp \(spread [\d.]+ pp\): (tie|PBT better|PBT worse)", out)
    schedules = re.findall(r"seed (\d) \(member \d\): (.*)$", out, re.MULTILINE)
    assert [seed for seed, _ in schedules] == ["0", "1", "2"]
    for _, steps in schedules:
        lrs = [float(lr) for lr in re.findall(r"\d-\d: ([\d.e+-]+) \(m\d\)", steps)]
        assert len(lrs) == 2 and all(1e-3 <= lr <= 1.0 for lr in lrs)
    assert plot.stat().st_size > 0


def test_speed_paths_train_the_same_weights():
    data = cached_mnist(limit=256, device="cpu")
    result = population.run_speed(data, configs=3, repeats=2, device="cpu")
    assert result["orders"] == [("sequential", "vectorized"), ("vectorized", "sequential")]
    assert len(result["sequential_s"]) == len(result["vectorized_s"]) == 2
    assert result["weight_gap"].shape == (3,) and np.all(result["weight_gap"] < 1e-4)
    assert result["val_acc_gap"] < 1e-6 and result["val_loss_gap"] < 1e-4


def test_pbt_without_exploit_is_the_random_arm():
    """With one interval spanning every epoch PBT never exploits: it is random search on its own
    initial draws, so the two arms choose the same network with the same accuracies."""
    data = cached_mnist(limit=256, device="cpu")
    rows = population.compare_seed(data, seed=1, population=3, epochs=2, interval=2, device="cpu")
    assert set(rows) == set(population.ARMS)
    pbt, rnd = rows["pbt"], rows["random"]
    assert pbt["member"] == rnd["member"]
    assert pbt["val"] == pytest.approx(rnd["val"], abs=1e-6) and pbt["test"] == pytest.approx(rnd["test"], abs=1e-6)
    assert pbt["schedule"] == pytest.approx(rnd["schedule"])
    assert [(a, b, m) for a, b, _, m in pbt["ancestry"]] == [(0, 2, pbt["member"])]
    assert {r["member_epochs"] for r in rows.values()} == {6}
    cosine = rows["cosine"]["schedule"]
    assert cosine[1] == pytest.approx(cosine[0] / 2)  # CosineDecay(lr0, 2) at t = 1


def test_summarize_leaves_out_failed_seeds():
    def row(val, test):
        return {"val": val, "test": test, "member_epochs": 64, "seconds": 1.0}

    results = {s: {arm: row(0.9 + s / 100, 0.8 + s / 100) for arm in population.ARMS} for s in range(3)}
    results[2]["cosine"] = row(math.nan, math.nan)
    summary = population.summarize(results)
    assert summary["pbt"]["val"] == pytest.approx((0.91, 0.90, 0.92))
    assert summary["cosine"]["test"] == pytest.approx((0.805, 0.80, 0.81))
    assert summary["cosine"]["seeds"] == 3 and summary["pbt"]["member_epochs"] == 64


@pytest.mark.parametrize("argv, message", [(["--population", "1"], "population=1"),
                                           (["--lr-low", "1", "--lr-high", "0.1"], "lr_low"),
                                           (["--n-train", "0"], "--n-train=0"),
                                           (["--repeats", "0"], "--repeats=0")])
def test_bad_arguments_stop_before_training(argv, message, capsys):
    with pytest.raises(SystemExit):
        population.main(argv)
    assert message in capsys.readouterr().err


def test_bad_arguments_of_the_functions():
    data = cached_mnist(limit=256, device="cpu")
    with pytest.raises(ValueError, match="epochs=0"):
        population.run_compare(data, seeds=[0], epochs=0)
    with pytest.raises(ValueError, match="momentum=1"):
        population.run_compare(data, seeds=[0], momentum=1)
    with pytest.raises(ValueError, match="configs=0"):
        population.run_speed(data, configs=0)
