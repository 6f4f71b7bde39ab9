# TEST SEARCH PY
# The search without processes: the original's sample points, pending and
# failed points, batches from one fit, the lies, the GP's proposals
# (bounds, integers, categories, log scales, pending points, bounded fits),
# the surrogates that skopt 0.10.2 cannot build on new numpy /
# scikit-learn by itself, several objectives (ParEGO), and the feasibility
# model that keeps proposals out of where tasks fail.

import itertools
import warnings

import numpy as np
import pytest
from skopt import Optimizer
from skopt.learning import ExtraTreesRegressor, RandomForestRegressor
from threadpoolctl import threadpool_info, threadpool_limits

import Acquisition
from Config import DEFAULT_OPTIMIZER
from Feasibility import MAX_FAIL_PROBABILITY, Feasibility
from Problem import Problem
from Scalarization import parego, random_weights
from Search import POINTS_PER_WEIGHT, Search
from Surrogates import FastForest, QuantileGBRT, gp_proposal, make_optimizer
from utils import UsageError

RF = dict(DEFAULT_OPTIMIZER, base_estimator="RF")  # the forest's own paths

# What the original workflow printed for its default run (ask(4), then
# tell + ask(1) per result): the same 8 points, in this order.
ORIGINAL_SAMPLE = [
    [0.3690935629679824, 256],
    [0.8395811989630504, 32],
    [0.6031331534420412, 64],
    [0.31583820140922964, 256],
    [0.7536495199979558, 512],
    [0.40034926107103663, 512],
    [0.731156389521627, 32],
    [0.7195980974464558, 64],
]


def objective(point: list) -> float:
    """A smooth test objective on numbers (categoricals by their text)."""
    return float(sum((x - 0.3) ** 2 if isinstance(x, float) else (hash(str(x)) % 7) / 10
                     for x in point))


def space(d: int = 3) -> Problem:
    return Problem({f"x{i}": {"low": 0.0, "high": 1.0} for i in range(d)})


def warmed(problem: Problem, n: int = 12, lie: str = "max", **optimizer) -> Search:
    """A search past its random phase (n results told)."""
    search = Search(problem, dict(DEFAULT_OPTIMIZER, **optimizer), lie)
    points = search.ask(n)
    search.tell(points, [objective(p) for p in points])
    assert not search.in_random_phase
    return search


def key(point: list) -> str:
    return repr([float(x) if isinstance(x, (float, np.floating)) else
                 x.item() if isinstance(x, np.generic) else x for x in point])


# -- the original's points ---------------------------------------------------
def test_default_search_gives_the_original_sample_points():
    search = Search(Problem(), DEFAULT_OPTIMIZER, "max")
    points = search.ask(4)
    for i in range(4):
        search.tell([points[i]], [float(i)])
        points += search.ask(1)
    assert [[float(p[0]), int(p[1])] for p in points] == ORIGINAL_SAMPLE


@pytest.mark.parametrize("surrogate", ["RF", "GP", "ET"])
def test_every_surrogate_starts_with_the_original_sample(surrogate):
    """skopt normalizes a GP's space (random reals an ulp apart); the state keeps the cfg's."""
    search = Search(Problem(), dict(DEFAULT_OPTIMIZER, base_estimator=surrogate), "max")
    points = search.ask(4)
    for i in range(4):
        search.tell([points[i]], [float(i)])
        points += search.ask(1)
    assert [[float(p[0]), int(p[1])] for p in points] == ORIGINAL_SAMPLE


def test_a_gp_leaves_the_problems_dimensions_alone():
    problem = space(2)
    before = problem.space.transform([[0.5, 0.25]]).tolist()
    Search(problem, dict(DEFAULT_OPTIMIZER, base_estimator="GP"), "max")
    make_optimizer(problem, {"base_estimator": "GP"})
    assert problem.space.transform([[0.5, 0.25]]).tolist() == before


def test_the_random_phase_ignores_results_and_lies():
    """The initial points depend on nothing but the seed (same as skopt's own)."""
    a = Search(Problem(), DEFAULT_OPTIMIZER, "max")
    b = Search(Problem(), DEFAULT_OPTIMIZER, "none")
    first_a, first_b = a.ask(4), b.ask(4)
    a.tell(first_a[:2], [5.0, 1.0])
    b.fail(first_b[:1])
    assert first_a + a.ask(2) == first_b + b.ask(2)


def test_resume_offset_draws_other_random_points():
    plain = Search(Problem(), DEFAULT_OPTIMIZER, "max").ask(4)
    resumed = Search(Problem(), DEFAULT_OPTIMIZER, "max", resume_offset=8).ask(4)
    assert plain != resumed


# -- pending points ---------------------------------------------------------
def test_pending_points_are_recorded_and_released():
    search = warmed(space())
    points = search.ask(3)
    assert all(p in search.pending for p in points)
    search.tell(points[:1], [0.5])
    search.fail(points[1:2])
    search.drop(points[2:])
    assert search.pending == []
    assert points[1] in search.failed


@pytest.mark.parametrize("lie", ["max", "mean", "min", "none"])
@pytest.mark.parametrize("surrogate", ["RF", "GP"])
def test_asks_while_tasks_run_never_duplicate(lie, surrogate):
    search = warmed(space(2), lie=lie, base_estimator=surrogate)
    seen = {key(p) for p in search.optimizer.Xi}
    for _ in range(15):  # nothing comes back: every point stays pending
        for point in search.ask(2):
            assert key(point) not in seen
            seen.add(key(point))
    assert len(search.pending) == 30


def test_pending_points_are_told_to_the_model_at_the_lie():
    search = warmed(space())
    pending = search.ask(3)
    X, y = search.training_set(search.snapshot())
    assert X[-3:] == pending
    assert y[-3:] == [max(search.optimizer.yi)] * 3


@pytest.mark.parametrize("lie, pick", [("max", max), ("min", min),
                                       ("mean", lambda y: sum(y) / len(y))])
def test_lie_values(lie, pick):
    search = Search(space(), DEFAULT_OPTIMIZER, lie)
    assert search.lie_value([1.0, 2.0, 6.0]) == pytest.approx(pick([1.0, 2.0, 6.0]))


def test_lie_none_leaves_pending_points_out():
    search = warmed(space(), lie="none")
    search.ask(3)
    X, _ = search.training_set(search.snapshot())
    assert len(X) == len(search.optimizer.Xi)


def test_the_lie_moves_the_next_point_away_from_pending_ones():
    """With the max lie the forest sees a pending point as bad, so it looks elsewhere."""
    problem = space(2)
    with_lie = warmed(problem, lie="max", base_estimator="RF")
    without = warmed(problem, lie="none", base_estimator="RF")
    snap_a, snap_b = with_lie.snapshot(), without.snapshot()
    best = list(with_lie.propose(snap_a, 1)[0])
    assert best == without.propose(snap_b, 1)[0]  # same state, same seed, same point
    snap_a.pending = [best]
    snap_b.pending = [best]
    assert with_lie.propose(snap_a, 1)[0] != best
    assert without.propose(snap_b, 1)[0] == best  # ignoring it would repeat it


# -- failed points ----------------------------------------------------------
@pytest.mark.parametrize("surrogate", ["RF", "GP"])
def test_failed_points_are_never_proposed_again_verbatim(surrogate):
    problem = Problem({"a": list(range(6)), "b": ["x", "y", "z"]})  # 18 points in all
    search = warmed(problem, n=10, base_estimator=surrogate)
    snap = search.snapshot()
    best = search.propose(snap, 1)[0]
    search.fail([best])
    for _ in range(5):
        point = search.propose(search.snapshot(), 1)[0]
        assert point != best


def test_failed_points_are_told_at_the_worst_value():
    search = warmed(space())
    failed = search.ask(1)
    search.fail(failed)
    X, y = search.training_set(search.snapshot())
    assert failed[0] in X
    assert y[X.index(failed[0])] == max(search.optimizer.yi)


# -- batches ------------------------------------------------------------------
def count_fits(monkeypatch) -> list[int]:
    fits = [0]
    for cls in (RandomForestRegressor, ExtraTreesRegressor):
        original = cls.fit

        def counted(self, *args, _original=original, **kwargs):
            fits[0] += 1
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(cls, "fit", counted)
    return fits


def test_a_batch_comes_from_one_fit(monkeypatch):
    search = warmed(space(), base_estimator="RF")
    fits = count_fits(monkeypatch)
    points = search.ask(8)
    assert fits[0] == 1
    assert len(points) == 8
    assert len({key(p) for p in points}) == 8


def test_a_batch_is_spread_out():
    """The batch is far more spread than the 8 best raw candidates of the same fit."""
    search = warmed(space(2), n=15, base_estimator="RF")
    snap = search.snapshot()
    batch = np.array(search.propose(snap, 8), dtype=float)

    scratch = make_optimizer(search.problem, search.kwargs, random_state=snap.seed)
    X, y = search.training_set(snap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scratch.tell(X, y)
    candidates = np.array(scratch.space.rvs(n_samples=scratch.n_points,
                                            random_state=np.random.RandomState(1)), dtype=float)
    mean, std = scratch.models[-1].predict(candidates, return_std=True)
    greedy = candidates[np.argsort(mean - 1.96 * std)[:8]]

    def closest(points):
        return min(np.linalg.norm(a - b) for a, b in itertools.combinations(points, 2))
    assert closest(batch) > 2 * closest(greedy)


def test_the_first_point_of_a_batch_is_skopts_own_choice():
    search = warmed(space(), base_estimator="RF")
    search.ask(2)
    snap = search.snapshot()
    ours = search.propose(snap, 3)[0]
    scratch = make_optimizer(search.problem, search.kwargs, random_state=snap.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scratch.tell(*search.training_set(snap))
        skopts = scratch.ask()
    assert np.allclose(ours, skopts)


@pytest.mark.parametrize("surrogate", ["RF", "GP"])
def test_a_tiny_space_still_gives_k_points(surrogate):
    problem = Problem({"a": [1, 2, 3], "b": ["x", "y", "z", "w"]})
    search = warmed(problem, n=10, base_estimator=surrogate)
    assert len(search.ask(5)) == 5


# -- surrogates -----------------------------------------------------------------
def test_fast_forest_predicts_what_skopt_predicts():
    rng = np.random.RandomState(0)
    X, Xc = rng.rand(80, 3), rng.rand(500, 3)
    y = np.sum((X - 0.3) ** 2, axis=1)
    for cls in (RandomForestRegressor, ExtraTreesRegressor):
        model = cls(n_estimators=20, min_samples_leaf=3, random_state=0).fit(X, y)
        mean, std = model.predict(Xc, return_std=True)
        fast_mean, fast_std = FastForest(model).predict(Xc, return_std=True)
        assert np.allclose(mean, fast_mean) and np.allclose(std, fast_std)


@pytest.mark.parametrize("settings", [{"base_estimator": name} for name in
                                      ("RF", "ET", "GBRT", "GP", "gbrt", "gp")] +
                         [{"base_estimator": "GP", "acq_optimizer": "lbfgs"},
                          {"base_estimator": "GP", "acq_func": "gp_hedge"},
                          {"base_estimator": "GP", "acq_func": "EI"},
                          {"base_estimator": "GP", "acq_func": "PI"}])
def test_model_based_surrogates_propose(settings):
    search = warmed(space(), **settings)
    points = search.ask(3)
    assert len(points) == 3 and all(p in search.problem.space for p in points)


def test_gbrt_shim_is_a_regressor_and_predicts_std():
    from sklearn.base import is_regressor
    from sklearn.ensemble import GradientBoostingRegressor
    model = QuantileGBRT(base_estimator=GradientBoostingRegressor(loss="quantile",
                                                                  n_estimators=10),
                         random_state=0)
    assert is_regressor(model)
    rng = np.random.RandomState(0)
    X = rng.rand(40, 2)
    model.fit(X, X.sum(axis=1))
    mean, std = model.predict(X[:5], return_std=True)
    assert mean.shape == std.shape == (5,)
    assert np.all(std >= 0)


@pytest.mark.parametrize("name", ["dummy", "DUMMY"])
def test_dummy_is_random_search(name):
    search = Search(space(), dict(DEFAULT_OPTIMIZER, base_estimator=name), "max")
    for _ in range(5):
        points = search.ask(4)
        search.tell(points, [objective(p) for p in points])
    assert search.in_random_phase  # never a model
    assert len({key(p) for p in search.optimizer.Xi}) == 20


def test_an_unknown_surrogate_is_one_clear_error():
    with pytest.raises(UsageError, match="base_estimator.*expected one of RF, ET, GP, GBRT"):
        Search(space(), dict(DEFAULT_OPTIMIZER, base_estimator="XGB"), "max")


def test_a_bad_optimizer_argument_is_one_clear_error():
    with pytest.raises(UsageError, match="skopt.Optimizer rejects"):
        Search(space(), dict(DEFAULT_OPTIMIZER, acq_func="nope"), "max")


def test_skopt_gbrt_alone_still_fails_here():
    """Why the shim exists: if this starts passing, skopt was fixed upstream."""
    with pytest.raises((ValueError, AttributeError)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Optimizer(space().space, base_estimator="GBRT")


def test_random_points_past_the_initial_phase_need_no_model(monkeypatch):
    search = warmed(space(), base_estimator="RF")
    fits = count_fits(monkeypatch)
    points = search.ask_random(5)
    assert fits[0] == 0
    assert len({key(p) for p in points}) == 5


# -- the GP's proposals -------------------------------------------------------------
MIXED = {"lr": {"low": 1e-5, "high": 1.0, "prior": "log-uniform"},
         "width": {"low": 4, "high": 512, "prior": "log-uniform"},
         "layers": {"low": 1, "high": 4}, "act": ["relu", "tanh", "elu"],
         "flag": [True, False], "only": ["one"], "x": {"low": -2.0, "high": 3.0}}


def mixed_objective(point: list) -> float:
    lr, width, layers, act, flag, _, x = point
    return float((np.log10(lr) + 3) ** 2 + (np.log2(width) - 6) ** 2 / 4 + (layers - 2) ** 2
                 + {"relu": 0.0, "tanh": 0.5, "elu": 1.0}[act] + 0.3 * flag + (x - 1) ** 2)


def gp_search(problem: Problem, n: int = 12, **optimizer) -> Search:
    search = Search(problem, dict(DEFAULT_OPTIMIZER, base_estimator="GP", **optimizer), "max")
    points = search.ask(n)
    search.tell(points, [mixed_objective(p) if len(p) == 7 else objective(p) for p in points])
    return search


def test_the_default_surrogate_is_the_gp():
    assert Search(space(), DEFAULT_OPTIMIZER, "max").gp is not None


def test_gp_points_are_in_the_space_with_the_spaces_own_values():
    problem = Problem(MIXED)
    search = gp_search(problem, n=15)
    for _ in range(3):
        points = search.ask(8)
        search.tell(points, [mixed_objective(p) for p in points])
        for point in points:
            assert point in problem.space
            lr, width, layers, act, flag, only, x = point
            assert 1e-5 <= lr <= 1.0 and -2.0 <= x <= 3.0
            assert type(width) is int and 4 <= width <= 512
            assert type(layers) is int and 1 <= layers <= 4
            assert act in ("relu", "tanh", "elu") and type(act) is str
            assert flag is True or flag is False
            assert only == "one"


def test_gp_candidates_cover_log_scales_evenly():
    """A log-uniform range is searched in its log: as many candidates per decade."""
    problem = Problem({"lr": {"low": 1e-6, "high": 1.0, "prior": "log-uniform"}})
    search = gp_search(problem, n=10)
    X, y = search.optimizer.Xi, search.optimizer.yi
    Xt = search.gp.space.transform(X)
    kernel = search.gp.fit(Xt, Acquisition.warp(np.array(y)), np.random.RandomState(0))
    uniform = search.gp.candidates(Xt, Acquisition.warp(np.array(y)), kernel.k1,
                                   np.random.RandomState(0))[:Acquisition.RANDOM_CANDIDATES]
    decades = np.log10([search.gp.decode(row)[0] for row in uniform])
    counts = np.histogram(decades, bins=6, range=(-6, 0))[0]
    assert counts.min() > 0.6 * counts.mean()


def test_gp_batches_have_no_duplicates_and_avoid_known_points():
    problem = Problem({"a": list(range(5)), "b": {"low": 0, "high": 3}})  # 20 points in all
    search = gp_search(problem, n=10)
    known = {key(p) for p in search.optimizer.Xi}
    batch = search.ask(6)
    assert len({key(p) for p in batch}) == 6
    assert not known & {key(p) for p in batch}
    assert len(search.ask(4)) == 4  # the 20th point: only 0 new ones may be left after


def test_gp_keeps_away_from_pending_points():
    """A pending point is believed at the model's mean: its neighbourhood is known."""
    search = gp_search(space(2), n=15)
    snap = search.snapshot()
    first = np.array(search.propose(snap, 1)[0])
    snap.pending = [list(first)]
    second = np.array(search.propose(snap, 1)[0])
    assert np.linalg.norm(second - first) > 1e-3


def test_gp_pending_points_do_not_move_the_models_mean(monkeypatch):
    """Kriging believer: the mean is the same with pending points, the variance shrinks."""
    search = gp_search(space(2), n=15)
    models = []
    init = Acquisition._Posterior.__init__

    def record(self, *args):
        init(self, *args)
        models.append(self)
    monkeypatch.setattr(Acquisition._Posterior, "__init__", record)
    snap = search.snapshot()
    search.propose(snap, 1)
    without = models[-1]
    snap.pending = [[0.1, 0.9], [0.8, 0.2]]
    search.propose(snap, 1)
    grid = np.random.RandomState(3).rand(50, 2)
    mean, var, _ = without.predict(grid)
    believed_mean, believed_var, _ = models[-1].predict(grid)
    assert np.allclose(mean, believed_mean, atol=1e-4)
    at_pending = models[-1].predict(np.array(snap.pending))[1]
    assert np.all(at_pending < without.predict(np.array(snap.pending))[1] / 10)
    assert np.all(believed_var <= var + 1e-9)


def test_gp_batch_is_spread_by_the_believer():
    search = gp_search(space(2), n=15)
    batch = np.array(search.propose(search.snapshot(), 8))
    closest = min(np.linalg.norm(a - b) for a, b in itertools.combinations(batch, 2))
    assert closest > 1e-3


def test_gp_large_batches_are_complete():
    search = gp_search(space(3), n=12)
    points = search.ask(Acquisition.MODELLED_BATCH + 20)
    assert len({key(p) for p in points}) == Acquisition.MODELLED_BATCH + 20


def test_gp_large_batches_come_from_the_model(monkeypatch):
    """Past MODELLED_BATCH points qUCB picks the rest: no random filler (issue 22)."""
    search = gp_search(space(3), n=12)

    def refuse(self, k, rng, taken):
        assert k == 0, f"{k} random points in a model batch"
        return []
    monkeypatch.setattr(Acquisition.GPProposal, "random_points", refuse)
    batch = search.propose(search.snapshot(), Acquisition.MODELLED_BATCH + 40)
    assert len({key(p) for p in batch}) == Acquisition.MODELLED_BATCH + 40


def test_gp_large_batches_are_spread_and_better_than_random():
    """qUCB's points keep apart (local penalization) and score better than random points."""
    search = gp_search(space(2), n=20)
    k = Acquisition.MODELLED_BATCH + 100
    batch = np.array(search.propose(search.snapshot(), k))[Acquisition.MODELLED_BATCH:]
    closest = min(np.linalg.norm(a - b) for a, b in itertools.combinations(batch, 2))
    assert closest > 1e-3
    rng = np.random.RandomState(0)
    assert np.mean([objective(list(p)) for p in batch]) \
        < np.mean([objective(list(p)) for p in rng.rand(len(batch), 2)])


def test_gp_candidates_repeating_known_points_are_never_decoded(monkeypatch):
    """On a grid most candidates repeat a known point: weeded out before the pick (issue 22:
    decoding each cost 5 s of CPU in a 100-evaluation run)."""
    problem = Problem({"a": {"low": 0, "high": 4}, "b": ["x", "y", "z"]})  # 15 points in all
    search = gp_search(problem, n=10)
    decoded = []
    decode = Acquisition.GPProposal.decode
    monkeypatch.setattr(Acquisition.GPProposal, "decode",
                        lambda self, row: decoded.append(row) or decode(self, row))
    batch = search.propose(search.snapshot(), 3)
    assert len(decoded) == 3
    assert not {key(p) for p in batch} & {key(p) for p in search.optimizer.Xi}


def test_gp_proposals_look_only_at_the_new_results(monkeypatch):
    """The cost of a proposal does not grow with the results seen before (issue 22)."""
    search = gp_search(space(3), n=60)
    search.propose(search.snapshot(), 2)
    point = [0.5, 0.5, 0.5]
    search.tell([point], [objective(point)])
    keyed = []
    key_of = Acquisition.key
    monkeypatch.setattr(Acquisition, "key", lambda p: keyed.append(p) or key_of(p))
    batch = search.propose(search.snapshot(), 2)
    assert len(batch) == 2 and point not in batch
    assert len(keyed) < 20  # the new result and the picks, not the 61 results


def test_fresh_candidates_are_new_and_distinct():
    known = np.array([[0.0, 1.0]])
    candidates = np.array([[0.0, 1.0], [0.5, 0.5], [0.5, 0.5], [1.0, 0.0]])
    assert Acquisition.fresh(candidates, known).tolist() == [False, True, False, True]
    assert Acquisition.fresh(candidates, np.empty((0, 2))).tolist() == [True, True, False, True]


def test_gp_lcb_refines_while_the_best_improves_and_explores_when_it_stalls(monkeypatch):
    """The picks' kappa: a quarter of the given one right after a better result, growing
    back to all of it over d results without one; qUCB's mean kappa stays the given one."""
    search = gp_search(space(4), n=12, acq_func_kwargs={"kappa": 2.0})
    used = []
    acquisition = Acquisition.GPProposal.acquisition
    monkeypatch.setattr(Acquisition.GPProposal, "acquisition",
                        lambda self, mean, std, best, kappa:
                        used.append(kappa) or acquisition(self, mean, std, best, kappa))
    # a new best (0 results since), then 2 worse ones, then 4 more (6 since, in 4 dimensions)
    for values, kappa in (([-1.0], 0.5), ([10.0] * 2, 1.0), ([10.0] * 4, 2.0)):
        points = search.ask_random(len(values))
        search.tell(points, values)
        used.clear()
        search.propose(search.snapshot(), 1)
        assert used == [pytest.approx(kappa)]
    assert search.gp.kappa == 2.0


def test_gp_kernel_is_refitted_only_when_the_results_grew():
    search = gp_search(space(2), n=12)
    fitted = []
    for _ in range(6):
        search.propose(search.snapshot(), 1)
        fitted.append(search.gp.fits)
        points = search.ask_random(1)
        search.tell(points, [objective(points[0])])
    # 12 results: fit; 13, 14: the same kernel; 15 = 1.25 x 12: refit; 16, 17: the same
    assert fitted == [1, 1, 1, 2, 2, 2]


def test_gp_transforms_each_point_once(monkeypatch):
    """The cached rows are skopt's own; a point known before is not transformed again."""
    search = gp_search(Problem(MIXED), n=15)
    X = search.optimizer.Xi
    assert np.array_equal(search.gp.transform(X), search.gp.space.transform(X))
    calls = []
    transform = search.gp.space.transform
    monkeypatch.setattr(search.gp.space, "transform", lambda points: calls.append(len(points))
                        or transform(points))
    search.gp.transform(X + X[:2])
    assert calls == []
    search.ask(3)  # pending from now on
    assert calls == []
    search.ask(1)
    assert calls == [3]  # the pending points, the known ones not again
    search.ask(1)
    assert calls == [3, 1]


def test_gp_proposes_on_one_blas_thread(monkeypatch):
    """The model's small matrices run on one BLAS thread, restored after."""
    search = gp_search(space(2), n=12)
    threads = []
    propose = Acquisition.GPProposal._propose

    def counted(self, *args):
        threads.extend(pool["num_threads"] for pool in threadpool_info()
                       if pool["user_api"] == "blas")
        return propose(self, *args)
    monkeypatch.setattr(Acquisition.GPProposal, "_propose", counted)
    with threadpool_limits(limits=2, user_api="blas"):
        before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert len(search.ask(2)) == 2
        after = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert threads and set(threads) == {1}
    assert after == before


def test_gp_fit_and_model_sizes_are_bounded(monkeypatch):
    problem = space(2)
    search = Search(problem, dict(DEFAULT_OPTIMIZER, base_estimator="GP"), "max")
    rng = np.random.RandomState(0)
    X = rng.rand(Acquisition.MAX_MODEL_POINTS + 200, 2).tolist()
    search.tell(X, [objective(p) for p in X])
    sizes = {"fit": [], "model": []}
    fit = Acquisition.GaussianProcessRegressor.fit
    init = Acquisition._Posterior.__init__

    def counted_fit(self, Xt, u):
        sizes["fit"].append(len(u))
        return fit(self, Xt, u)

    def counted_init(self, signal, noise, Z, u, offset):
        sizes["model"].append(len(u))
        init(self, signal, noise, Z, u, offset)
    monkeypatch.setattr(Acquisition.GaussianProcessRegressor, "fit", counted_fit)
    monkeypatch.setattr(Acquisition._Posterior, "__init__", counted_init)
    pending = rng.rand(400, 2).tolist()
    search.register(pending)
    assert len(search.ask(4)) == 4
    assert sizes["fit"] == [Acquisition.MAX_FIT_POINTS]
    assert max(sizes["model"]) == Acquisition.MAX_MODEL_POINTS
    more = rng.rand(20, 2).tolist()  # 520 results: not a quarter more than 500
    search.tell(more, [objective(p) for p in more])
    assert len(search.ask(4)) == 4
    assert sizes["fit"] == [Acquisition.MAX_FIT_POINTS]


def test_gp_failed_points_are_told_at_the_worst_value(monkeypatch):
    search = gp_search(space(2), n=12)
    told = []
    init = Acquisition._Posterior.__init__

    def record(self, signal, noise, Z, u, offset):
        told.append((Z.copy(), u.copy()))
        init(self, signal, noise, Z, u, offset)
    monkeypatch.setattr(Acquisition._Posterior, "__init__", record)
    snap = search.snapshot()
    snap.failed = [[0.5, 0.5]]
    search.propose(snap, 1)
    Z, u = told[0]
    assert np.allclose(Z[-1], [0.5, 0.5]) and u[-1] == u.max()


def test_gp_lie_none_leaves_pending_points_out(monkeypatch):
    search = Search(space(2), dict(DEFAULT_OPTIMIZER, base_estimator="GP"), "none")
    points = search.ask(12)
    search.tell(points, [objective(p) for p in points])
    sizes = []
    init = Acquisition._Posterior.__init__

    def record(self, signal, noise, Z, u, offset):
        sizes.append(len(u))
        init(self, signal, noise, Z, u, offset)
    monkeypatch.setattr(Acquisition._Posterior, "__init__", record)
    snap = search.snapshot()
    snap.pending = [[0.1, 0.1], [0.2, 0.2]]
    search.propose(snap, 1)
    assert sizes == [12]


def test_gp_finds_a_smooth_minimum():
    """Past the random phase the GP's points close in on a quadratic's minimum.

    The median of 5 seeds after 30 evaluations (random search: ~0.03).
    """
    best = []
    for seed in range(5):
        search = Search(space(3), dict(DEFAULT_OPTIMIZER, base_estimator="GP",
                                       random_state=seed), "max")
        points = search.ask(10)
        search.tell(points, [objective(p) for p in points])
        for _ in range(5):
            points = search.ask(4)
            search.tell(points, [objective(p) for p in points])
        best.append(min(search.optimizer.yi))
    assert np.median(best) < 0.01


def test_gp_length_scales_are_not_shorter_than_the_results_can_support():
    """No length scale below a tenth of the spacing of the fitted results, n^(-1/d) (issue
    22): on few results in many dimensions the marginal likelihood chose wiggles of 0.01 -
    0.03 between points; the floor falls as the results grow, to LENGTH_BOUNDS' own."""
    problem = Problem({f"x{i}": {"low": -5.0, "high": 5.0} for i in range(10)})
    proposal = gp_proposal(problem, DEFAULT_OPTIMIZER)
    for fitted, floor in [(10, 0.1 * 10 ** -0.1), (200, 0.1 * 200 ** -0.1),
                          (10 ** 12, Acquisition.LENGTH_BOUNDS[0])]:
        low = np.asarray(proposal.kernel(fitted).k1.k2.length_scale_bounds)[:, 0]
        assert low == pytest.approx([floor] * 10)
    # a fit to 12 structureless values (which, unbounded, took a length scale of 0.057)
    # keeps to the floor of 12 results
    rng = np.random.RandomState(1)
    X = rng.uniform(-5, 5, (12, 10))
    y = rng.rand(12)
    proposal.propose(X.tolist(), y.tolist(), [], [], "max", 1, np.random.RandomState(0))
    assert np.min(np.exp(proposal.theta[1:-1])) >= 0.1 * 12 ** -0.1 * (1 - 1e-6)


def test_gp_length_scales_of_integers_are_at_least_one_step():
    """An integer dimension's length scale never falls below one step of its grid (the
    objective is only defined on the grid); real and categorical columns keep the usual
    bounds, so a space without integers is modelled as before."""
    problem = Problem({"x": {"low": 0.0, "high": 1.0}, "n": {"low": 0, "high": 10},
                       "w": {"low": 4, "high": 128, "prior": "log-uniform"},
                       "c": ["a", "b"]})
    proposal = gp_proposal(problem, DEFAULT_OPTIMIZER)  # on skopt's normalized space
    matern = proposal.kernel(10 ** 8).k1.k2  # results so dense that their spacing sets no floor
    low = np.asarray(matern.length_scale_bounds)[:, 0]
    assert low[0] == Acquisition.LENGTH_BOUNDS[0]  # the real
    assert low[1] == pytest.approx(0.1)  # 0..10: one step is a tenth
    assert low[2] == pytest.approx(np.log(5 / 4) / np.log(128 / 4))  # the log grid's first step
    assert list(low[3:]) == [Acquisition.LENGTH_BOUNDS[0]] * (len(low) - 3)
    assert np.all(np.asarray(matern.length_scale) >= low)


# -- several objectives ---------------------------------------------------------
def two_objectives(point: list) -> tuple[float, float]:
    """Two objectives in conflict: near 0.3 in every coordinate, and near 0.8."""
    return objective(point), float(sum((x - 0.8) ** 2 for x in point))


def test_several_objectives_are_told_as_vectors():
    search = Search(space(), DEFAULT_OPTIMIZER, "max", objectives=2)
    points = search.ask(3)
    search.tell(points, [two_objectives(p) for p in points])
    assert search.snapshot().vectors == [two_objectives(p) for p in points]
    assert search.optimizer.yi == [two_objectives(p)[0] for p in points]
    with pytest.raises(ValueError, match="expected 2 values"):
        search.tell(search.ask(1), [(1.0,)])


def test_a_search_needs_one_objective_at_least():
    with pytest.raises(ValueError, match="objectives"):
        Search(space(), DEFAULT_OPTIMIZER, "max", objectives=0)


@pytest.mark.parametrize("surrogate", ["GP", "RF"])
def test_several_objectives_propose_other_points_than_the_first_alone(surrogate):
    searches = [Search(space(), dict(DEFAULT_OPTIMIZER, base_estimator=surrogate), "max",
                       objectives=m) for m in (1, 2)]
    for search in searches:
        points = search.ask(12)
        search.tell(points, [two_objectives(p)[:search.objectives] if search.objectives > 1
                             else two_objectives(p)[0] for p in points])
    one, two = (search.propose(search.snapshot(), 4) for search in searches)
    assert one != two


def test_each_fit_scalarizes_with_its_own_random_weights(monkeypatch):
    search = Search(space(), DEFAULT_OPTIMIZER, "max", objectives=2)
    points = search.ask(12)
    search.tell(points, [two_objectives(p) for p in points])
    seen: list[list[float]] = []
    monkeypatch.setattr(search.gp, "propose", lambda X, y, *args: seen.append(list(y)) or [])
    snap = search.snapshot()
    search.propose(snap, 2)
    search.propose(snap, 2)
    search.propose(search.snapshot(), 2)
    assert seen[0] == seen[1] != seen[2]  # the snapshot's seed draws the weights
    seen.clear()
    search.propose(snap, 2 * POINTS_PER_WEIGHT + 1)
    assert len(seen) == 3 and seen[0] != seen[1] != seen[2]  # a large batch: several weights
    best = int(np.argmin(seen[0]))
    assert not any(all(a <= b for a, b in zip(v, search.vectors[best])) and
                   v != search.vectors[best] for v in search.vectors)  # on the front


def test_parego_weights_pick_each_objectives_best():
    vectors = [(0.0, 9.0), (1.0, 1.0), (9.0, 0.0), (5.0, 5.0)]
    assert np.argmin(parego(vectors, np.array([1.0, 0.0]))) == 0
    assert np.argmin(parego(vectors, np.array([0.0, 1.0]))) == 2
    assert np.argmin(parego(vectors, np.array([0.5, 0.5]))) == 1  # the knee, not (5, 5)
    weights = random_weights(3, np.random.RandomState(0))
    assert weights.min() >= 0 and weights.sum() == pytest.approx(1.0)


def test_parego_scales_the_objectives_by_the_front_not_by_the_worst_result():
    front = [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    far = (100.0, 0.9)  # a bad result: scaled by it, the first objective would not count
    assert np.argmin(parego(front + [far], np.array([0.5, 0.5]))) == 1
    assert np.argmin(parego([(3.0, 1.0), (3.0, 2.0)], np.array([0.5, 0.5]))) == 0  # one point


# -- failures -------------------------------------------------------------------
def half_broken(point: list) -> bool:
    """The region where tasks fail (out of memory): the better half of x0."""
    return point[0] > 0.6


def beside_failures(surrogate: str) -> tuple[Search, list[list], list[list]]:
    """A search told 20 random points of a plane, where x0 > 0.6 fails and lower
    values lie towards it (y = -x0)."""
    problem = Problem({"x0": {"low": 0.0, "high": 1.0}, "x1": {"low": 0.0, "high": 1.0}})
    search = Search(problem, dict(DEFAULT_OPTIMIZER, base_estimator=surrogate, random_state=3),
                    "max")
    points = [list(p) for p in np.random.RandomState(0).rand(20, 2)]
    broken = [p for p in points if half_broken(p)]
    ok = [p for p in points if not half_broken(p)]
    search.fail(broken)
    search.tell(ok, [-p[0] for p in ok])
    return search, ok, broken


@pytest.mark.parametrize("surrogate", ["GP", "RF"])
def test_proposals_keep_out_of_the_predicted_failure_region(surrogate):
    search, ok, broken = beside_failures(surrogate)
    points = search.propose(search.snapshot(), 8)
    transform = search.problem.space.transform
    p_fail = Feasibility().fail_probability(transform(ok), transform(broken), transform(points),
                                            np.random.RandomState(0))
    assert not any(half_broken(p) for p in points)
    assert p_fail is not None and max(p_fail) <= MAX_FAIL_PROBABILITY


def test_the_feasibility_model_predicts_where_failures_lie():
    search, ok, broken = beside_failures("GP")
    transform = search.problem.space.transform
    inside, outside = [[0.9, 0.5], [0.8, 0.1]], [[0.1, 0.5], [0.3, 0.9]]
    p_fail = search.feasibility.fail_probability(transform(ok), transform(broken),
                                                 transform(inside + outside),
                                                 np.random.RandomState(0))
    assert p_fail is not None
    assert min(p_fail[:2]) > MAX_FAIL_PROBABILITY > max(p_fail[2:])
    no_failure = np.empty((0, len(ok[0])))
    assert search.feasibility.fail_probability(transform(ok), no_failure, transform(inside),
                                               np.random.RandomState(0)) is None


def test_a_refit_of_the_feasibility_kernel_does_not_start_from_the_last_one():
    """A kernel fitted on few points may interpolate the labels (every length scale at
    its floor): the next fit must not stay there (issue 21: its model allowed points that
    all failed)."""
    rows = np.random.RandomState(0).rand(60, 2)
    labels = (rows[:, 0] > 0.6).astype(float)
    model = Feasibility()
    model.fit(rows[:12], labels[:12], np.random.RandomState(0))
    collapsed = model.fitted.theta.copy()
    collapsed[1:3] = np.log(Acquisition.LENGTH_BOUNDS[0])  # the Matern's length scales
    model.fitted = model.fitted.clone_with_theta(collapsed)
    refit = model.fit(rows, labels, np.random.RandomState(0))
    fresh = Feasibility().fit(rows, labels, np.random.RandomState(0))
    assert model.fits == 2
    assert np.allclose(refit.theta, fresh.theta)


def test_a_large_batch_for_several_objectives_is_complete_and_new():
    search = Search(space(), DEFAULT_OPTIMIZER, "max", objectives=2)
    points = search.ask(12)
    search.tell(points, [two_objectives(p) for p in points])
    batch = search.propose(search.snapshot(), 3 * POINTS_PER_WEIGHT)
    assert len(batch) == 3 * POINTS_PER_WEIGHT
    assert len({key(p) for p in batch + points}) == len(batch) + len(points)
