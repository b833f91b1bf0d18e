"""Genetic algorithm (遗传算法): a population bred by selection, crossover and mutation.

The GA works in the unit cube of the space (``space.encode``/``decode``): an *individual* is a
vector ``x`` in ``[0, 1]^n_unit`` (its *genotype*), its *fitness* is the loss of
``decode(x)``. A Float or Int is one number ``x_j``; a Choice of k options is a one-hot *block*
of k columns that the operators treat as one gene.

One generation of ``population`` individuals:

1. the ``elitism`` best individuals of the last generation survive unchanged (not re-evaluated);
2. the rest are children: two parents by ``tournament`` selection, ``crossover`` with
   probability ``crossover_prob`` (``"sbx"``, ``"blend"`` or ``"uniform"``), then ``mutate``;
3. the children are asked one at a time; when all are told, the next generation is bred. In a
   parallel search the whole generation is out at once; ``ask()`` raises
   ``fidelity.WaitForTrials`` while its last children are still running, and each result goes
   to its individual whatever order they arrive in, so a seeded run breeds the same
   generations as a sequential one.

Each operator is a small pure function below, with its formula. The first generation is drawn
at random from the space. A child that decodes to an already evaluated point is mutated again
(up to a few times) so that the budget is not spent twice on the same ``params``.

The source material's "genetic algorithm" (article 004) mutates at random and never uses
fitness, so it is a random walk; here selection is what turns fitness into progress.
"""

from __future__ import annotations

import math

import numpy as np

from ..fidelity import WaitForTrials
from ..space import Choice
from .base import Strategy, is_integer, is_real

CROSSOVERS = ("sbx", "blend", "uniform")


# -- operators (pure functions of numpy arrays and a Generator) --------------------------------------
def tournament(losses: np.ndarray, k: int, rng: np.random.Generator) -> int:
    """Index of the best (lowest loss) of ``k`` individuals drawn without replacement."""
    contestants = rng.choice(len(losses), size=min(k, len(losses)), replace=False)
    return int(contestants[np.argmin(losses[contestants])])


def sbx(p1: np.ndarray, p2: np.ndarray, eta: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Simulated binary crossover (Deb & Agrawal, 1995), gene by gene.

    With ``u ~ U(0, 1)``, the spread ``beta = (2u)^(1/(eta+1))`` if ``u <= 1/2`` else
    ``(1 / (2(1-u)))^(1/(eta+1))``, and
    ``c1 = ((1+beta) p1 + (1-beta) p2) / 2``, ``c2 = ((1-beta) p1 + (1+beta) p2) / 2``.
    The children's mean is the parents' mean; a large ``eta`` keeps them close to the parents.
    Children are clipped to [0, 1].
    """
    u = rng.random(p1.shape)
    beta = np.where(u <= 0.5, (2 * u) ** (1 / (eta + 1)), (1 / (2 * (1 - u))) ** (1 / (eta + 1)))
    c1 = 0.5 * ((1 + beta) * p1 + (1 - beta) * p2)
    c2 = 0.5 * ((1 - beta) * p1 + (1 + beta) * p2)
    return np.clip(c1, 0.0, 1.0), np.clip(c2, 0.0, 1.0)


def blend(p1: np.ndarray, p2: np.ndarray, alpha: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Blend crossover BLX-alpha (Eshelman & Schaffer, 1993), gene by gene:
    ``c = p1 + gamma (p2 - p1)`` with ``gamma ~ U(-alpha, 1 + alpha)``, clipped to [0, 1]."""
    gammas = rng.uniform(-alpha, 1 + alpha, size=(2, *p1.shape))
    c1, c2 = (p1 + g * (p2 - p1) for g in gammas)
    return np.clip(c1, 0.0, 1.0), np.clip(c2, 0.0, 1.0)


def uniform_crossover(p1: np.ndarray, p2: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each gene comes from either parent with probability 1/2 (the other child gets the other)."""
    take = rng.random(p1.shape) < 0.5
    return np.where(take, p1, p2), np.where(take, p2, p1)


def reflect(x: np.ndarray) -> np.ndarray:
    """Fold values back into [0, 1] at its walls: ``-0.1 -> 0.1``, ``1.2 -> 0.8`` (exact for
    overshoots up to one unit). Unlike clipping, it does not pile children up on the boundary."""
    return np.clip(1.0 - np.abs(1.0 - np.abs(x)), 0.0, 1.0)


def gaussian_mutation(x: np.ndarray, prob: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Each gene, with probability ``prob``: ``x_j <- reflect(x_j + sigma * N(0, 1))``."""
    hit = rng.random(x.shape) < prob
    return reflect(x + hit * sigma * rng.standard_normal(x.shape))


def resample_choice(block: np.ndarray, prob: float, rng: np.random.Generator) -> np.ndarray:
    """With probability ``prob``, replace a one-hot block by the one-hot of a uniformly drawn option."""
    if rng.random() >= prob:
        return block
    out = np.zeros_like(block)
    out[rng.integers(len(block))] = 1.0
    return out


# -- the strategy --------------------------------------------------------------------------------------
class GeneticSearch(Strategy):
    """A generational GA with elitism, asked one individual at a time (see the module).

    population      individuals per generation
    tournament      individuals per tournament (selection pressure; 1 = random parents);
                    default ``min(3, population)``
    crossover       ``"uniform"`` (default), ``"sbx"`` or ``"blend"`` for numeric genes; a Choice
                    block always comes whole from one parent
    crossover_prob  probability that two parents are crossed (else the children are copies)
    eta             SBX distribution index (large = children near the parents)
    alpha           BLX-alpha spread
    mutation_prob   per-gene mutation probability; default ``1 / n_params``
    sigma           std of the Gaussian mutation, in unit-cube coordinates
    elitism         best individuals copied into the next generation

    The defaults were chosen by measurement at a budget of 50 (``python -m amsearch_lab.bench hpo``
    on the four test functions, over seeds 0..29): with only ~5 generations, a wide mutation
    (``sigma=0.2``, one gene in ``n_params`` on average) and uniform crossover beat SBX/BLX.
    """

    def __init__(self, space, seed=None, minimize=True, population=10, tournament=None, crossover="uniform",
                 crossover_prob=0.9, eta=15.0, alpha=0.5, mutation_prob=None, sigma=0.2, elitism=1):
        super().__init__(space, seed=seed, minimize=minimize)
        if not (is_integer(population) and population >= 2):
            raise ValueError(f"GeneticSearch: population={population!r} must be an integer >= 2")
        if tournament is None:  # a default never conflicts with a population the user chose
            tournament = min(3, population)
        if not (is_integer(tournament) and 1 <= tournament <= population):
            raise ValueError(f"GeneticSearch: tournament={tournament!r} must be an integer in [1, population={population}]")
        if crossover not in CROSSOVERS:
            raise ValueError(f"GeneticSearch: crossover={crossover!r} must be one of {CROSSOVERS}")
        for name, value in (("crossover_prob", crossover_prob), ("sigma", sigma), ("alpha", alpha)):
            if not (is_real(value) and 0 <= value <= 1):
                raise ValueError(f"GeneticSearch: {name}={value!r} must be in [0, 1]")
        if not (is_real(eta) and eta >= 0):
            raise ValueError(f"GeneticSearch: eta={eta!r} must be >= 0")
        if mutation_prob is None:
            mutation_prob = 1.0 / len(space)
        if not (is_real(mutation_prob) and 0 <= mutation_prob <= 1):
            raise ValueError(f"GeneticSearch: mutation_prob={mutation_prob!r} must be in [0, 1]")
        if not (is_integer(elitism) and 0 <= elitism < population):
            raise ValueError(f"GeneticSearch: elitism={elitism!r} must be an integer in [0, population={population})")
        self.population, self.tournament, self.crossover = int(population), int(tournament), crossover
        self.crossover_prob, self.eta, self.alpha = float(crossover_prob), float(eta), float(alpha)
        self.mutation_prob, self.sigma, self.elitism = float(mutation_prob), float(sigma), int(elitism)
        self.blocks_ = [(s, isinstance(d, Choice)) for s, d in zip(space.unit_slices().values(),
                                                                   space.dimensions.values())]
        # learned state
        self.generation_ = 0
        self.genomes_ = []  # genotypes of the current generation, (population, n_unit) once full
        self.losses_ = []  # their losses, inf until told
        self.queue_ = []  # positions in genomes_ still to be asked
        self.asked_ = {}  # key(params) -> positions in the current generation waiting for tell, first asked first
        self.seen_ = set()  # keys of every point ever bred (never proposed twice, within reason)
        self.generations_ = []  # (genomes, losses) of each finished generation, for plots

    # -- ask / tell ----------------------------------------------------------------------------------
    def ask(self) -> dict:
        if not self.queue_:
            if self.asked_:  # a parallel search: the generation is out, its last results are not in
                raise WaitForTrials(f"GeneticSearch: generation {self.generation_} waits for "
                                    f"{sum(map(len, self.asked_.values()))} results")
            self._next_generation()
        i = self.queue_.pop(0)
        params = self.space.decode(self.genomes_[i])
        self.asked_.setdefault(self.space.key(params), []).append(i)
        return params

    def tell(self, trial) -> None:
        super().tell(trial)
        key = self.space.key(trial.params)
        waiting = self.asked_.get(key)
        if waiting:  # two individuals with the same params take their results in the order asked
            self.losses_[waiting.pop(0)] = self.loss(trial)
            if not waiting:
                del self.asked_[key]

    def populations(self) -> list[list[dict]]:
        """The ``params`` of every finished generation, oldest first (for plots)."""
        return [[self.space.decode(x) for x in genomes] for genomes, _ in self.generations_]

    # -- the algorithm -------------------------------------------------------------------------------
    def _next_generation(self) -> None:
        """Replace the generation just evaluated by the next one and queue its new members."""
        if not self.genomes_:
            # 0. the first generation: random points of the space
            self.genomes_ = [self.space.encode(self.space.sample(self.rng)) for _ in range(self.population)]
            self.seen_.update(self.space.key(self.space.decode(x)) for x in self.genomes_)
            self.losses_ = [math.inf] * self.population
            self.queue_ = list(range(self.population))
            return
        parents, losses = np.array(self.genomes_), np.array(self.losses_)  # (population, n_unit)
        self.generations_.append((parents, losses))
        self.generation_ += 1
        # 1. elitism: the best individuals survive with their known loss
        elite = np.argsort(losses, kind="stable")[: self.elitism]
        genomes, new_losses = [parents[i] for i in elite], [losses[i] for i in elite]
        # 2. children: tournament selection, crossover, mutation
        while len(genomes) < self.population:
            p1 = parents[tournament(losses, self.tournament, self.rng)]
            p2 = parents[tournament(losses, self.tournament, self.rng)]
            for child in self._cross(p1, p2):
                if len(genomes) < self.population:
                    genomes.append(self._mutate_new(child))
                    new_losses.append(math.inf)
        self.genomes_, self.losses_ = genomes, new_losses
        self.queue_ = list(range(self.elitism, self.population))
        self.asked_ = {}

    def _cross(self, p1: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two children: numeric genes by the chosen crossover, each Choice block whole from one parent."""
        if self.rng.random() >= self.crossover_prob:
            return p1.copy(), p2.copy()
        if self.crossover == "sbx":
            c1, c2 = sbx(p1, p2, self.eta, self.rng)
        elif self.crossover == "blend":
            c1, c2 = blend(p1, p2, self.alpha, self.rng)
        else:
            c1, c2 = uniform_crossover(p1, p2, self.rng)
        for s, is_choice in self.blocks_:
            if is_choice:
                first = self.rng.random() < 0.5
                c1[s], c2[s] = (p1[s], p2[s]) if first else (p2[s], p1[s])
        return c1, c2

    def _mutate(self, x: np.ndarray) -> np.ndarray:
        """Gaussian mutation of numeric genes, resampling of Choice blocks, each with ``mutation_prob``."""
        x = x.copy()
        for s, is_choice in self.blocks_:
            if is_choice:
                x[s] = resample_choice(x[s], self.mutation_prob, self.rng)
            else:
                x[s] = gaussian_mutation(x[s], self.mutation_prob, self.sigma, self.rng)
        return x

    def _mutate_new(self, child: np.ndarray, tries: int = 10) -> np.ndarray:
        """Mutate; while the result decodes to an already proposed point, mutate it again."""
        x = self._mutate(child)
        for _ in range(tries):
            if self.space.key(self.space.decode(x)) not in self.seen_:
                break
            x = self._mutate(x)
        self.seen_.add(self.space.key(self.space.decode(x)))
        return x
