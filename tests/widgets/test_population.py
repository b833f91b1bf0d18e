"""The population-based training playground, driven from Python: set controls, press Run, check
the data behind the lineage and the schedules.

Oracle: the playground's history is ``PopulationBasedTraining.run`` with the same settings; the
schedule it reports is the best member's ancestry, epoch by epoch; the founders are the roots of
the final members' ancestries, counted by hand on a made-up history.
"""

import pytest

from amsearch_lab.datasets import cached_mnist
from amsearch_lab.models import mlp
from amsearch_lab.population import PopulationBasedTraining, ancestry
from amsearch_lab.widgets import PBTPlayground
from amsearch_lab.widgets.population import LR_SPACE, SIZES

LIMIT = 300  # images per split: enough to train, fast to test


def test_playground_reproduces_pbt_and_reruns_on_click():
    pg = PBTPlayground(population=4, epochs=4, interval=2, seed=1, limit=LIMIT, device="cpu")
    expected = PopulationBasedTraining(LR_SPACE, population=4, epochs=4, interval=2, factors=(0.8, 1.2),
                                       resample_prob=0.25, metric="val_loss", fixed={"momentum": 0.9}, seed=1)
    data = cached_mnist(LIMIT, device="cpu")
    history = expected.run(lambda i: mlp(SIZES, seed=1 * 4 + i), data, device="cpu", progress=False)
    assert [(t.params, t.value, t.info["parent"]) for t in pg.history] == \
        [(t.params, t.value, t.info["parent"]) for t in history]
    assert pg.pbt.best_member_ == expected.best_member_
    path = ancestry(history, expected.best_member_)
    assert pg.schedule == [t.params["lr"] for t in path for _ in range(2)] and len(pg.schedule) == 4
    assert f"best member {expected.best_member_}" in pg.status.value and pg.image.value
    shown = pg.image.value
    pg.interval.value = 1
    pg.population.value = 5
    assert "press <b>Run</b>" in pg.status.value and len(pg.history) == 4 * 2  # not trained yet
    pg.run_button.click()
    assert len(pg.history) == 5 * 4 and {t.info["round"] for t in pg.history} == {0, 1, 2, 3}
    assert pg.image.value != shown and not pg.run_button.disabled
    assert 1 <= len(pg.founders) <= 5


def test_perturbation_sets_the_explore_factors():
    pg = PBTPlayground(population=4, epochs=2, interval=1, perturbation=0.5, resample_prob=0.0, limit=LIMIT,
                       device="cpu")
    assert pg.pbt.factors == (0.5, 1.5) and pg.pbt.resample_prob == 0.0
    before = {t.info["member"]: t.params["lr"] for t in pg.history if t.info["round"] == 0}
    for t in pg.history:
        if t.info["round"] == 1 and t.info["parent"] != t.info["member"]:  # copied and explored: x 0.5 or x 1.5
            ratio = t.params["lr"] / before[t.info["parent"]]
            assert ratio == pytest.approx(0.5) or ratio == pytest.approx(1.5) or t.params["lr"] in (1e-3, 1.0)


@pytest.mark.parametrize("kwargs, match", [({"population": 3}, "population=3"), ({"interval": 0}, "interval"),
                                           ({"perturbation": 0.9}, "perturbation"),
                                           ({"resample_prob": 1.5}, "resample_prob"), ({"limit": 10}, "limit")])
def test_bad_settings_are_refused_before_training(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PBTPlayground(**kwargs)
