"""The one-shot benchmark harness: ``main --quick`` prints every part (parsed here, never
timed), the evolution's trainings-to-top-10 % agree with a replay of its history, the table's
rank helper is an oracle-checked count, and bad arguments stop it before any training. The
figures themselves are printed by ``python -m amsearch_lab.bench oneshot``."""

import re

import numpy as np
import pytest

from amsearch_lab.bench import BENCHMARKS, oneshot
from amsearch_lab.nas import load_cell_table


@pytest.fixture(scope="module")
def bench():
    return load_cell_table()


def test_main_quick_prints_every_part(capsys):
    assert "oneshot" in BENCHMARKS
    assert oneshot.main(["--quick", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    ceiling = re.search(r"noise ceiling \(stand-alone seed 0 vs seed 1, (\d+) networks\): Kendall tau ([-\d.]+)", out)
    assert ceiling and int(ceiling.group(1)) >= 30 and 0 < float(ceiling.group(2)) <= 1
    taus = re.findall(r": 30 networks tau ([-\d.]+) rho ([-\d.]+)", out)
    assert len(taus) == 2 and all(-1 <= float(t) <= 1 for pair in taus for t in pair)
    assert re.search(r"trainings until the pick is in the top 10 % \(rank <= 26\): median \d+", out)
    assert re.search(r"until it is in the top 1 % \(rank <= 3\): median \d+", out)
    for label in ("SPOS + evolution", "DARTS, 1st order", "random search"):
        row = re.search(rf"{re.escape(label)}[^\n]*seeds: median rank (\d+), in the top 10 % (\d+)/(\d+)", out)
        assert row, label
        assert 1 <= int(row.group(1)) <= 259 and int(row.group(2)) <= int(row.group(3))
    for variant in ("first order", "second order", "Gumbel-softmax"):
        assert f"DARTS {variant}" in out
    shares = re.findall(r"parameter-free operations per epoch ([\d.]+) -> ([\d.]+)", out)
    assert len(shares) == 3 and all(0 <= float(s) <= 1 for pair in shares for s in pair)


def test_evaluations_to_top_agree_with_a_replay(bench):
    reached = bench.evaluations_to_top("evolution", [0, 1, 2], budget=100)
    # the top 10 % by value: at least the 26th best validation accuracy of the table
    threshold = np.sort(bench.frame["val_acc"].to_numpy())[::-1][bench.top_rank(0.1) - 1]
    for seed, n in zip([0, 1, 2], reached):
        values = [t.value for t in bench.search("evolution", 100, seed)]
        first = next((i for i in range(1, 101) if max(values[:i]) >= threshold), np.nan)
        assert (np.isnan(n) and np.isnan(first)) or n == first
    assert not np.isnan(reached).all()


def test_rank_counts_the_better_networks(bench):
    values = bench.frame["val_acc"]
    for key in values.sort_values().index[[0, 100, -1]]:
        params = bench.frame.loc[key, list(bench.space.names)].to_dict()
        assert bench.rank(params) == 1 + sum(v > values[key] for v in values)
    assert bench.top_rank(0.1) == 26 and bench.top_rank(1.0) == len(bench)
    with pytest.raises(ValueError, match="fraction"):
        bench.top_rank(0.0)


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--epochs", "0"], ["--budget", "-1"]])
def test_bad_arguments_stop_before_any_work(argv, capsys):
    with pytest.raises(SystemExit):
        oneshot.main(argv)
    assert "must be >= 1" in capsys.readouterr().err
