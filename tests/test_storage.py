"""The storage promises: one writer, every record checked on load, values compared as stored."""

import json
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from amsearch_lab import Choice, Float, History, Int, Space, search
from amsearch_lab.storage import RECORD_START, StorageInUse, check_record, same_stored, stored_form
from amsearch_lab.strategies import RandomSearch


def space():
    return Space({"x": Float(-3.0, 3.0), "k": Int(1, 9), "c": Choice(["a", "b"])})


def quadratic(params):
    return (params["x"] - 1) ** 2 + 0.1 * params["k"] + (params["c"] == "b")


def stored(path, budget=4, seed=0):
    search(quadratic, space(), "random", budget=budget, seed=seed, storage=path, progress=False)
    return path.read_text().splitlines()


# -- one writer -----------------------------------------------------------------------------------
SLOW_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from amsearch_lab import Float, Space, search

    def slow(params):
        time.sleep(0.05)
        return params["x"] ** 2

    search(slow, Space({"x": Float(-1.0, 1.0)}), "random", budget=int(sys.argv[2]), seed=0,
           storage=sys.argv[1], progress=False)
    """
)


def test_a_second_search_on_a_file_in_use_is_refused_and_nothing_is_lost(tmp_path):
    path, script = tmp_path / "h.jsonl", tmp_path / "run.py"
    script.write_text(SLOW_SCRIPT)
    first = subprocess.Popen([sys.executable, str(script), str(path), "40"])
    deadline = time.time() + 60
    while time.time() < deadline and (not path.exists() or len(path.read_text().splitlines()) < 2):
        time.sleep(0.05)
    calls = []
    with pytest.raises(StorageInUse, match="in use by another search"):
        search(lambda p: calls.append(p) or 0.0, Space({"x": Float(-1.0, 1.0)}), "random", budget=40, seed=0,
               storage=path, progress=False)
    assert calls == []  # refused before any evaluation
    assert first.wait(timeout=120) == 0
    history = History.load(path)
    assert [t.number for t in history] == list(range(40))
    # the lock went with the first search: the file can be resumed now
    assert len(search(lambda p: 0.0, Space({"x": Float(-1.0, 1.0)}), "random", budget=40, seed=0,
                      storage=path, progress=False)) == 40


def test_the_lock_is_released_when_the_search_ends_or_fails(tmp_path):
    path = tmp_path / "h.jsonl"
    stored(path)
    with pytest.raises(ValueError, match="cannot resume"):
        search(quadratic, space(), "random", budget=8, seed=1, storage=path, progress=False)
    assert len(search(quadratic, space(), "random", budget=8, seed=0, storage=path, progress=False)) == 8


# -- every record checked ---------------------------------------------------------------------------
def rewrite(path, i, **changes):
    lines = path.read_text().splitlines()
    record = json.loads(lines[i])
    record.update(changes)
    lines[i] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "changes, fragment",
    [({"value": "abc"}, "value='abc' of an ok trial"), ({"number": 99}, "number=99"),
     ({"status": "maybe"}, "status='maybe'"), ({"value": None}, "value=None of an ok trial"),
     ({"params": [1, 2]}, "params=\\[1, 2\\]"), ({"duration": -1}, "duration=-1"),
     ({"info": "x"}, "info='x'"), ({"color": "red"}, "unknown \\['color'\\]"), ({"value": True}, "value=True")],
)
def test_a_bad_record_anywhere_is_an_error_naming_its_line(tmp_path, changes, fragment):
    for line in (1, 3):  # in the middle and the complete last line
        path = tmp_path / f"h{line}.jsonl"
        stored(path)
        rewrite(path, line, **changes)
        with pytest.raises(ValueError, match=f"line {line + 1} .*{fragment}"):
            History.load(path)
        with pytest.raises(ValueError, match=f"line {line + 1}"):
            search(quadratic, space(), "random", budget=8, seed=0, storage=path, progress=False)
        assert len(path.read_text().splitlines()) == 4  # nothing deleted


def test_a_complete_unexpected_last_line_is_an_error_not_a_torn_write(tmp_path):
    path = tmp_path / "h.jsonl"
    stored(path)
    with open(path, "a") as f:
        f.write('{"hello": "world"}\n')
    with pytest.raises(ValueError, match="line 5"):
        History.load(path)
    assert len(path.read_text().splitlines()) == 5


def test_only_a_last_line_without_its_newline_is_torn(tmp_path):
    path = tmp_path / "h.jsonl"
    stored(path)
    with open(path, "a") as f:
        f.write('{"number": 4, "params": {"x": 0.')
    with pytest.warns(UserWarning, match="torn last line 5"):
        assert len(History.load(path)) == 4
    # a complete record that only lacks its newline is kept, and the file is mended on resume
    path2 = tmp_path / "h2.jsonl"
    stored(path2, budget=5)
    path2.write_text(path2.read_text().rstrip("\n"))
    assert len(History.load(path2)) == 5
    assert len(search(quadratic, space(), "random", budget=7, seed=0, storage=path2, progress=False)) == 7
    assert [t.number for t in History.load(path2)] == list(range(7))


def test_check_record_accepts_what_search_writes(tmp_path):
    for i, line in enumerate(stored(tmp_path / "h.jsonl")):
        check_record(json.loads(line), i)
        assert line.startswith(RECORD_START)  # what tells a torn record from a file that is no history


# -- resume -------------------------------------------------------------------------------------------
def test_resume_with_a_smaller_budget_returns_that_many_trials_and_keeps_the_file(tmp_path):
    path = tmp_path / "h.jsonl"
    stored(path, budget=12)
    calls = []
    short = search(lambda p: calls.append(p) or quadratic(p), space(), "random", budget=5, seed=0, storage=path,
                   progress=False)
    uninterrupted = search(quadratic, space(), "random", budget=5, seed=0, progress=False)
    assert calls == [] and len(short) == 5
    assert [t.params for t in short] == [t.params for t in uninterrupted]
    assert len(path.read_text().splitlines()) == 12


@pytest.mark.filterwarnings("ignore:search. the grid has")
@pytest.mark.parametrize("choices", [[(64, 64), (128,)], [1, 1.0, True, "1", None], [[1, 2], "a"]])
@pytest.mark.parametrize("strategy", ["random", "grid", "evolution", "genetic", "bayes"])
def test_resume_with_any_storable_choices_equals_an_uninterrupted_run(tmp_path, choices, strategy):
    sp = Space({"layers": Choice(choices), "x": Float(0.0, 1.0)})

    def objective(p):
        return p["x"] + len(str(p["layers"]))

    path = tmp_path / "h.jsonl"
    search(objective, sp, strategy, budget=4, seed=1, storage=path, progress=False)
    resumed = search(objective, sp, strategy, budget=12, seed=1, storage=path, progress=False)
    full = search(objective, sp, strategy, budget=12, seed=1, progress=False)
    assert [t.params for t in resumed] == [t.params for t in full]
    # the Python values come back, not their JSON forms (a tuple stays a tuple)
    assert [[type(v) for v in t.params.values()] for t in resumed] == [[type(v) for v in t.params.values()]
                                                                       for t in full]


def test_a_choice_json_cannot_store_is_refused_before_any_evaluation(tmp_path):
    calls = []
    sp = Space({"act": Choice([max, min]), "x": Float(0.0, 1.0)})
    path = tmp_path / "h.jsonl"
    with pytest.raises(ValueError, match="Choice 'act'.*cannot be stored"):
        search(lambda p: calls.append(p) or 0.0, sp, "random", budget=3, storage=path, progress=False)
    assert calls == [] and not path.exists()
    # without storage the same space runs
    assert len(search(lambda p: p["act"](p["x"], 0.5), sp, "random", budget=3, seed=0, progress=False)) == 3


def test_choices_that_read_back_alike_are_refused_with_storage(tmp_path):
    sp = Space({"shape": Choice([(1, 2), [1, 2]])})
    with pytest.raises(ValueError, match="Choice 'shape': two choices are stored as the same value"):
        search(lambda p: 0.0, sp, "random", budget=3, storage=tmp_path / "h.jsonl", progress=False)


def test_resuming_a_grid_on_a_smaller_space_says_it_cannot_resume(tmp_path):
    path = tmp_path / "h.jsonl"
    search(lambda p: p["k"], Space({"k": Int(1, 6)}), "grid", budget=6, storage=path, progress=False)
    with pytest.raises(ValueError, match="cannot resume"):
        search(lambda p: p["k"], Space({"k": Int(1, 3)}), "grid", budget=10, storage=path, progress=False)


def test_stored_form_and_type_exact_comparison():
    assert stored_form((64, 64)) == [64, 64] and stored_form({"a": (1,)}) == {"a": [1]}
    assert same_stored([1, 2], [1, 2]) and not same_stored([1, 2], [1, 2.0])
    assert not same_stored(1, True) and not same_stored(1, 1.0) and not same_stored(None, 0)
    with pytest.raises(TypeError):
        stored_form(max)


# -- storage paths ------------------------------------------------------------------------------------
def test_bad_storage_paths_are_named_before_any_evaluation(tmp_path):
    calls = []
    (tmp_path / "a_file").write_text("")
    for storage, fragment in [(tmp_path, "is a folder"), (tmp_path / "a_file" / "h.jsonl", "cannot be written"),
                              (5, "storage=5"), ("", "storage=''")]:
        with pytest.raises(ValueError, match=fragment):
            search(lambda p: calls.append(p) or 0.0, space(), "random", budget=3, storage=storage, progress=False)
    assert calls == []


def test_a_strategy_error_keeps_the_history(tmp_path):
    class Breaks(RandomSearch):
        def ask(self):
            if len(self.trials_) == 3:
                raise RuntimeError("strategy bug")
            return super().ask()

    path = tmp_path / "h.jsonl"
    with pytest.raises(RuntimeError, match="strategy bug") as caught:
        search(quadratic, space(), Breaks, budget=10, seed=0, storage=path, progress=False)
    assert len(caught.value.history) == 3 and len(History.load(path)) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # the lock was released: the file opens again
        assert len(search(quadratic, space(), "random", budget=3, seed=0, storage=path, progress=False)) == 3


def test_a_callback_error_keeps_the_history():
    def breaks(trial, history):
        if len(history) == 2:
            raise KeyError("callback bug")

    with pytest.raises(KeyError, match="callback bug") as caught:
        search(quadratic, space(), "random", budget=10, seed=0, progress=False, callbacks=[breaks])
    assert len(caught.value.history) == 2


def test_a_strategy_built_on_another_space_is_refused():
    other = Space({"y": Float(0.0, 1.0)})
    with pytest.raises(ValueError, match="the strategy was built on Space\\(\\{'y'"):
        search(quadratic, space(), RandomSearch(other, seed=0), budget=3, progress=False)
    wider = Space({"x": Float(-3.0, 4.0), "k": Int(1, 9), "c": Choice(["a", "b"])})  # same names, other bounds
    with pytest.raises(ValueError, match="the strategy was built on"):
        search(quadratic, space(), RandomSearch(wider, seed=0), budget=3, progress=False)


def test_a_file_that_is_not_a_history_is_never_rewritten(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk")  # one line, no newline: not a torn record
    with pytest.raises(ValueError, match="storage=.*is not a trial history.*line 1 is not a valid trial record"):
        search(quadratic, space(), "random", budget=3, seed=0, storage=notes, progress=False)
    assert notes.read_text() == "remember the milk"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no lock file left beside it either


def test_an_objectives_extra_outputs_are_kept_in_the_trial_and_the_file(tmp_path):
    def with_curve(p):
        return quadratic(p), {"curve": [3.0, 2.0, quadratic(p)], "epochs": 3}

    path = tmp_path / "h.jsonl"
    history = search(with_curve, space(), "random", budget=3, seed=0, storage=path, progress=False)
    assert history[0].info == {"curve": [3.0, 2.0, history[0].value], "epochs": 3}
    assert [t.info for t in History.load(path)] == [t.info for t in history]
    # extras JSON cannot hold make a failed trial with storage (and are kept as they are without)
    history = search(lambda p: (1.0, {"model": max}), space(), "random", budget=2, seed=0,
                     storage=tmp_path / "h2.jsonl", progress=False)
    assert [t.status for t in history] == ["failed", "failed"] and "cannot be stored" in history[0].error
    assert search(lambda p: (1.0, {"model": max}), space(), "random", budget=1, seed=0,
                  progress=False)[0].info == {"model": max}


# -- what the adversarial review found ----------------------------------------------------------------
def test_a_symbolic_link_to_a_file_in_use_shares_its_lock(tmp_path):
    from amsearch_lab.storage import lock_storage

    target, link = tmp_path / "h.jsonl", tmp_path / "link.jsonl"
    target.write_text("")
    link.symlink_to(target)
    lock = lock_storage(target)
    try:
        with pytest.raises(StorageInUse):
            search(quadratic, space(), "random", budget=2, seed=0, storage=link, progress=False)
    finally:
        lock.release()


@pytest.mark.parametrize("last", ['{"number": 3, "params": {}, "status": "pruned"}', '{"hello": 1}',
                                  '{"number": 3, "params": {"x": 0.5, "k": 1, "c": "a"}, "status": "ok", "value": "1"}'])
def test_a_complete_last_line_without_its_newline_is_checked_not_dropped(tmp_path, last):
    path = tmp_path / "h.jsonl"
    stored(path, budget=3)
    path.write_text(path.read_text() + last)
    before = path.read_text()
    with pytest.raises(ValueError, match="line 4 is not a valid trial record"):
        search(quadratic, space(), "random", budget=6, seed=0, storage=path, progress=False)
    assert path.read_text() == before


@pytest.mark.parametrize("torn", ['{"num', "{", '{"number": 3, "params": {"x'])
def test_any_beginning_of_a_record_is_a_torn_last_line(tmp_path, torn):
    path = tmp_path / "h.jsonl"
    stored(path, budget=3)
    path.write_text(path.read_text() + torn)
    with pytest.warns(UserWarning, match="torn last line 4"):
        assert len(search(quadratic, space(), "random", budget=5, seed=0, storage=path, progress=False)) == 5
    assert [t.number for t in History.load(path)] == list(range(5))


def test_a_refused_resume_or_a_zero_budget_leaves_a_torn_file_as_it_was(tmp_path):
    path = tmp_path / "h.jsonl"
    stored(path, budget=3)
    path.write_text(path.read_text() + '{"number": 3, "par')
    before = path.read_text()
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="cannot resume"):
        search(quadratic, space(), "random", budget=6, seed=1, storage=path, progress=False)
    with pytest.warns(UserWarning):
        search(quadratic, space(), "random", budget=0, seed=0, storage=path, progress=False)
    assert path.read_text() == before


def test_blank_lines_binary_files_devices_and_nul_names_are_refused_by_name(tmp_path):
    path = tmp_path / "h.jsonl"
    lines = stored(path, budget=3)
    path.write_text(lines[0] + "\n\n" + "\n".join(lines[1:]) + "\n")
    with pytest.raises(ValueError, match="line 2 is blank"):
        History.load(path)
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ValueError, match="not a trial history"):
        search(quadratic, space(), "random", budget=2, storage=binary, progress=False)
    with pytest.raises(ValueError, match="not a regular file"):
        search(quadratic, space(), "random", budget=2, storage="/dev/null", progress=False)
    with pytest.raises(ValueError, match="NUL"):
        search(quadratic, space(), "random", budget=2, storage=str(tmp_path / "a\0b"), progress=False)


# -- multi-fidelity fields ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "changes, fragment",
    [({"budget": 0}, "budget=0 must be a positive number"), ({"budget": -3}, "budget=-3"),
     ({"budget": "9"}, "budget='9'"), ({"budget": True}, "budget=True"), ({"budget": float("inf")}, "budget=inf"),
     ({"config": -1}, "config=-1 must be an integer >= 0"), ({"config": 1.5}, "config=1.5"),
     ({"config": True}, "config=True"), ({"bracket": "0"}, "bracket='0'"), ({"rung": 2.0}, "rung=2.0"),
     ({"start_step": -1}, "start_step=-1 must be a finite number >= 0"), ({"start_step": "0"}, "start_step='0'"),
     ({"start_step": None}, "start_step=None"), ({"start_step": float("nan")}, "start_step=nan"),
     ({"curve": "1,2"}, "curve='1,2' must be a list"), ({"curve": [[1]]}, "curve point \\[1\\]"),
     ({"curve": [1, 2]}, "curve point 1 "), ({"curve": [[1, "a"]]}, "curve point \\[1, 'a'\\]"),
     ({"curve": [["a", 1]]}, "curve point \\['a', 1\\]"), ({"curve": [[1, float("inf")]]}, "curve point \\[1, inf\\]"),
     ({"curve": [[float("nan"), 1]]}, "curve point \\[nan, 1\\]"), ({"curve": [[1, 0.5, 2]]}, "curve point"),
     ({"status": "stopped", "value": "0.5"}, "value='0.5' of a stopped trial")],
)
def test_bad_multi_fidelity_fields_are_named(tmp_path, changes, fragment):
    path = tmp_path / "h.jsonl"
    stored(path)
    rewrite(path, 2, **changes)  # json.dumps writes inf and nan as Infinity and NaN, which json.loads reads back
    with pytest.raises(ValueError, match=f"line 3 .*{fragment}"):
        History.load(path)
    with pytest.raises(ValueError, match="line 3"):
        search(quadratic, space(), "random", budget=8, seed=0, storage=path, progress=False)


def test_multi_fidelity_fields_that_are_allowed(tmp_path):
    path = tmp_path / "h.jsonl"
    stored(path)
    rewrite(path, 1, budget=2.5, config=0, bracket=3, rung=1, start_step=1.5, curve=[[2, 0.5], [2.5, None]])
    rewrite(path, 2, status="stopped", value=None, curve=[[1, None]], error="stopped by X at step 1")
    rewrite(path, 3, status="stopped", value=0.25, budget=None, config=None, curve=[])
    history = History.load(path)
    assert (history[1].budget, history[1].start_step, history[1].curve, history[1].resource) == (2.5, 1.5,
                                                                                                [[2, 0.5], [2.5, None]], 1.0)
    assert [t.status for t in history] == ["ok", "ok", "stopped", "stopped"] and history.best.number in (0, 1)
