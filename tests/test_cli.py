"""The command line: what it prints, what it saves, and how it refuses a bad argument (exit
status 2, one line ``amsearch-lab: error: ...`` naming the flag and the value, no traceback,
nothing evaluated and no file touched)."""

import json
import os
import warnings

import pytest

from amsearch_lab import cli
from amsearch_lab.cli import main
from amsearch_lab.storage import lock_storage
from amsearch_lab.study import History, Trial
from amsearch_lab.tasks import TASKS

NOTES = "my notes, not a history\n"


def test_lists_tasks_and_strategies(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "iris" in out and "regression" in out and "branin" in out
    assert main(["strategies"]) == 0
    out = capsys.readouterr().out
    assert "random" in out and "grid" in out
    gradient = next(line for line in out.splitlines() if line.startswith("gradient"))
    assert "not here: needs a differentiable objective" in gradient


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "(default: iris)" in out and "(default: random)" in out and "(default: 30)" in out


@pytest.mark.parametrize("flag, value, fragment", [("--task", "mnist-giant", "unknown task 'mnist-giant'"),
                                                    ("--strategy", "annealing", "unknown strategy 'annealing'")])
def test_unknown_names_list_the_valid_ones(capsys, flag, value, fragment):
    assert main(["search", flag, value]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "choose one of" in err and flag in err


def test_search_prints_a_leaderboard_and_saves_the_history(tmp_path, capsys):
    storage = tmp_path / "reg.jsonl"
    code = main(["search", "--task", "regression", "--strategy", "random", "--budget", "6", "--seed", "0",
                 "--storage", str(storage), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "6 trials (0 failed)" in out and "cv_mse" in out and "degree" in out
    assert f"history saved to {storage}" in out
    assert len(storage.read_text().splitlines()) == 6


def test_printed_values_are_plain_python(tmp_path, capsys):
    """An Int dimension's value prints as ``3``, never ``np.int64(3)``."""
    assert main(["search", "--task", "regression", "--budget", "3", "--storage", str(tmp_path / "r.jsonl"),
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    best = next(line for line in out.splitlines() if line.startswith("best cv_mse"))
    assert "'degree': " in best and "np." not in out


def test_resume_flag_continues_the_file(tmp_path, capsys):
    storage = str(tmp_path / "reg.jsonl")
    base = ["search", "--task", "regression", "--seed", "1", "--storage", storage, "--quiet"]
    assert main(base + ["--budget", "3"]) == 0
    assert main(base + ["--budget", "5", "--resume"]) == 0
    assert len(open(storage).read().splitlines()) == 5
    assert main(base + ["--budget", "2"]) == 0  # without --resume a new run replaces the history
    assert len(open(storage).read().splitlines()) == 2


def _refused(capsys, argv, *fragments):
    """Run ``argv``; it must exit 2 with one error line holding every fragment, and print nothing else."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("amsearch-lab: error: "), captured.err
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.mark.parametrize("argv, fragments", [
    (["--budget", "-1"], ["--budget", "'-1'", ">= 1"]),
    (["--budget", "0"], ["--budget", "'0'", ">= 1"]),  # no evaluation: nothing to rank or save
    (["--budget", "ten"], ["--budget", "'ten'", "not an integer"]),
    (["--top", "0"], ["--top", "'0'", ">= 1"]),
    (["--seed", "-1"], ["--seed", "'-1'", ">= 0"]),
    (["--timeout", "0"], ["--timeout", "'0'", "positive"]),
    (["--timeout", "nan"], ["--timeout", "'nan'", "positive"]),
    (["--options", "n=5"], ["--options", "'n=5'", "not JSON", "Expecting value"]),
    (["--options", "[1]"], ["--options", "'[1]'", "JSON object"]),
    (["--options", '{"foo": 1}'], ["--options", "random has no option 'foo'", "its options are: step"]),
    (["--options", '{"step": 5}'], ["--options", "step=5"]),
    (["--strategy", "grid", "--options", '{"n": "five"}'], ["--options", "n='five'"]),
    (["--strategy", "greedy", "--options", '{"start": {"x0": 100}}'], ["--options", "100"]),
    (["--strategy", "gradient"], ["--strategy gradient", "differentiable", "amsearch_lab.hypergrad", "random"]),
    (["--unknown-flag"], ["--unknown-flag"]),
])
def test_bad_arguments_exit_2_before_touching_the_storage(tmp_path, monkeypatch, capsys, argv, fragments):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text(NOTES)
    monkeypatch.setattr(cli, "search", lambda *a, **k: pytest.fail("search ran despite a bad argument"))
    _refused(capsys, ["search", "--task", "branin", "--storage", "notes.txt", "--quiet"] + argv, *fragments)
    assert (tmp_path / "notes.txt").read_text() == NOTES
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("resume", [[], ["--resume"]])
def test_a_file_that_is_not_a_history_is_never_replaced(tmp_path, monkeypatch, capsys, resume):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text(NOTES)
    _refused(capsys, ["search", "--task", "branin", "--budget", "2", "--storage", "notes.txt", "--quiet"] + resume,
             "--storage notes.txt exists and is not a trial history; choose another path or remove it")
    assert (tmp_path / "notes.txt").read_text() == NOTES


def test_a_history_with_a_bad_line_is_not_replaced(tmp_path, monkeypatch, capsys):
    """Every line must be a trial record, the last one too: one good line is not enough."""
    monkeypatch.chdir(tmp_path)
    text = Trial(number=0, params={"x0": 1.0, "x1": 2.0}, value=3.0).to_json() + "\nnot a trial\n"
    (tmp_path / "mixed.jsonl").write_text(text)
    _refused(capsys, ["search", "--task", "branin", "--budget", "2", "--storage", "mixed.jsonl", "--quiet"],
             "--storage mixed.jsonl exists and is not a trial history")
    assert (tmp_path / "mixed.jsonl").read_text() == text


def test_a_fresh_run_replaces_an_old_history(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["search", "--task", "branin", "--storage", "old.jsonl", "--quiet"]
    assert main(argv + ["--budget", "4"]) == 0
    assert main(argv + ["--budget", "2", "--seed", "1"]) == 0
    records = [json.loads(line) for line in (tmp_path / "old.jsonl").read_text().splitlines()]
    assert [r["number"] for r in records] == [0, 1]


def test_a_storage_that_cannot_be_written_is_refused_first(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "notes.txt").write_text(NOTES)
    monkeypatch.setattr(cli, "search", lambda *a, **k: pytest.fail("search ran despite a bad --storage"))
    base = ["search", "--task", "branin", "--quiet", "--storage"]
    _refused(capsys, base + ["a_folder"], "--storage a_folder is a directory")
    _refused(capsys, base + ["notes.txt/run.jsonl"], "--storage notes.txt/run.jsonl: cannot write in notes.txt")
    # a read-only folder; as root chmod does not stop writing, so os.access is told the answer
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == "locked" else real_access(p, mode))
    _refused(capsys, base + ["locked/run.jsonl"], "--storage locked/run.jsonl: cannot write in locked")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_folder", "locked", "notes.txt"]


def test_a_grid_larger_than_the_budget_gets_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    base = ["search", "--task", "branin", "--strategy", "grid", "--budget", "3", "--quiet"]
    assert main(base) == 0
    err = capsys.readouterr().err
    assert err.count("the grid has") == 1 and "Warning" not in err  # said once, in the CLI's terms
    assert "the grid has 25 points and a budget of 3 walks only the first 3 in order" in err
    assert """--options '{"shuffle": true}'""" in err
    assert main(base + ["--options", '{"shuffle": true}']) == 0
    assert "the grid has" not in capsys.readouterr().err
    assert main(base + ["--options", '{"n": 1}']) == 0  # a 1-point grid fits in the budget
    assert "the grid has" not in capsys.readouterr().err


def test_a_run_where_every_trial_failed_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(TASKS["branin"], "objective", lambda params: float("nan"))
    assert main(["search", "--task", "branin", "--budget", "2", "--storage", "nan.jsonl", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 trials (2 failed)" in out and "no trial succeeded; the errors are in nan.jsonl" in out


def test_library_warnings_are_one_line(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        warnings.warn("search interrupted after 0 trials; the history is kept", stacklevel=2)
        return History()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "search", interrupted)
    assert main(["search", "--task", "branin", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err == "amsearch-lab: warning: search interrupted after 0 trials; the history is kept\n"


def test_a_history_another_search_is_writing_is_left_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["search", "--task", "branin", "--budget", "2", "--storage", "busy.jsonl", "--quiet"]) == 0
    text = (tmp_path / "busy.jsonl").read_text()
    capsys.readouterr()
    lock = lock_storage(tmp_path / "busy.jsonl")  # as a running search holds it
    try:
        for resume in ([], ["--resume"]):
            _refused(capsys, ["search", "--task", "branin", "--budget", "3", "--storage", "busy.jsonl", "--quiet"]
                     + resume, "--storage busy.jsonl", "in use by another search")
    finally:
        lock.release()
    assert (tmp_path / "busy.jsonl").read_text() == text


def test_resume_drops_a_torn_last_line_only_after_a_record(tmp_path, monkeypatch, capsys):
    """A search killed mid-write leaves an unterminated last line; --resume drops it. A file that is
    nothing but such a line (say, notes without a final newline) is not a history to rewrite."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("my notes")
    fresh = ["search", "--task", "branin", "--budget", "3", "--quiet", "--storage"]
    resume = fresh[:-1] + ["--resume", "--storage"]
    _refused(capsys, resume + ["notes.txt"], "--storage notes.txt exists and is not a trial history")
    assert (tmp_path / "notes.txt").read_text() == "my notes"
    assert main(fresh + ["run.jsonl", "--budget", "1"]) == 0
    with open(tmp_path / "run.jsonl", "a") as f:
        f.write('{"number": 1, "par')
    capsys.readouterr()
    _refused(capsys, fresh + ["run.jsonl"], "--storage run.jsonl exists and is not a trial history")
    assert main(resume + ["run.jsonl"]) == 0
    assert "torn last line" in capsys.readouterr().err
    assert [json.loads(line)["number"] for line in (tmp_path / "run.jsonl").read_text().splitlines()] == [0, 1, 2]


def test_storage_that_is_empty_or_not_a_regular_file_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for storage, fragment in [("", "--storage ''"), ("/dev/null", "not a regular file")]:
        assert main(["search", "--task", "branin", "--budget", "2", "--quiet", "--storage", storage]) == 2
        assert fragment in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_fresh_run_says_it_replaces_an_old_history(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["search", "--task", "branin", "--budget", "3", "--quiet", "--storage", "h.jsonl"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    assert "replacing the 3 trials of h.jsonl" in capsys.readouterr().err


# -- pbt ---------------------------------------------------------------------------------------------
PBT_SMALL = ["pbt", "--population", "4", "--epochs", "3", "--interval", "1", "--limit", "300", "--sizes", "784,16,10",
             "--quiet"]


def test_pbt_prints_the_schedule_and_the_chosen_members_test_accuracy(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(PBT_SMALL) == 0
    out = capsys.readouterr().out
    history = History.load(tmp_path / "runs" / "pbt-seed0.jsonl", minimize=False)
    assert len(history) == 4 * 3
    assert (tmp_path / "runs" / "pbt-seed0.jsonl.pt").exists()
    schedule = [line for line in out.splitlines() if " member " in line and ": lr " in line]
    assert len(schedule) == 3  # one line per interval of the chosen member's ancestry
    chosen = int(out.split("chosen on validation: member ")[1].split(",")[0])
    last = [t for t in history if t.info["round"] == 2]
    assert max(last, key=lambda t: t.value).info["member"] == chosen  # validation chose it
    assert "test accuracy 0." in out


def test_pbt_resume_continues_and_a_fresh_run_replaces(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(PBT_SMALL) == 0
    first = capsys.readouterr().out.split("chosen on validation")[1]
    assert main(PBT_SMALL + ["--resume"]) == 0  # the finished run: nothing trained again, same answer
    assert capsys.readouterr().out.split("chosen on validation")[1] == first
    assert main(PBT_SMALL) == 0
    captured = capsys.readouterr()
    assert "replacing the run" in captured.err and captured.out.split("chosen on validation")[1] == first


@pytest.mark.parametrize("argv, fragment", [
    (["pbt", "--fraction", "0.7"], "fraction=0.7"),
    (["pbt", "--population", "1"], "--population"),
    (["pbt", "--sizes", "3,4"], "--sizes"),
    (["pbt", "--storage", ""], "--storage"),
])
def test_pbt_bad_arguments_exit_2_before_anything_runs(tmp_path, monkeypatch, capsys, argv, fragment):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
