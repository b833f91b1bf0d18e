import pytest

from amsearch_lab.cli import main


def test_lists_tasks_and_strategies(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "iris" in out and "regression" in out and "branin" in out
    assert main(["strategies"]) == 0
    out = capsys.readouterr().out
    assert "random" in out and "grid" in out


@pytest.mark.parametrize("flag, value, fragment", [("--task", "mnist-giant", "unknown task 'mnist-giant'"),
                                                    ("--strategy", "annealing", "unknown strategy 'annealing'")])
def test_unknown_names_list_the_valid_ones(capsys, flag, value, fragment):
    assert main(["search", flag, value]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "choose one of" in err


def test_search_prints_a_leaderboard_and_saves_the_history(tmp_path, capsys):
    storage = tmp_path / "reg.jsonl"
    code = main(["search", "--task", "regression", "--strategy", "random", "--budget", "6", "--seed", "0",
                 "--storage", str(storage), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "6 trials (0 failed)" in out and "cv_mse" in out and "degree" in out
    assert f"history saved to {storage}" in out
    assert len(storage.read_text().splitlines()) == 6


def test_resume_flag_continues_the_file(tmp_path, capsys):
    storage = str(tmp_path / "reg.jsonl")
    base = ["search", "--task", "regression", "--seed", "1", "--storage", storage, "--quiet"]
    assert main(base + ["--budget", "3"]) == 0
    assert main(base + ["--budget", "5", "--resume"]) == 0
    assert len(open(storage).read().splitlines()) == 5
    assert main(base + ["--budget", "2"]) == 0  # without --resume a new run replaces the file
    assert len(open(storage).read().splitlines()) == 2


def test_bad_options_are_reported(capsys):
    assert main(["search", "--task", "regression", "--options", "[1]", "--quiet"]) == 2
    assert "--options" in capsys.readouterr().err
    assert main(["search", "--task", "regression", "--options", '{"step": 5}', "--budget", "1", "--quiet"]) == 2
    assert "step=5" in capsys.readouterr().err
