"""A study in Optuna's own terms: what it searches (a `Plan`: the fixed configuration, the space, the
objective, the sampler and the pruner), kept in the study's storage so that any worker, on this machine or
another, joins it by name alone.

The storage is an SQLite file under the runs folder by default (`runs/search.db`, every study in one
file), an Optuna journal file when given a path, or any database URL (`postgresql://user:pw@host/db`)
that several machines share.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna

from ..config import TrainConfig
from ..errors import ConfigError, SearchError
from .objective import check_objective, direction
from .space import Space, check_space, space_from_json, space_to_json

DEFAULT_STORAGE = "search.db"
# A worker records a heartbeat this often (seconds); one silent for GRACE_SECONDS has died, and the next
# worker to start a trial, or anyone listing the study, marks its trial failed.
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 60
SAMPLERS = ("tpe", "grid", "random")
WORKER = "SIAMESE_SEARCH_WORKER"  # which worker of a study this process is, where several were started
PRUNERS = ("median", "halving", "none")
# Fields whose value may differ between the machines of one study: where the data is, and the hardware.
MACHINE_FIELDS = ("data", "more_data", "exclude_people", "init_from", "device", "precision", "data_loading",
                  "loader_workers")

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class Plan:
    """What a study searches: `base` fixed for every trial, `space` drawn by the sampler."""

    base: TrainConfig
    space: Space
    objective: str = "val_auc"
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int = 0

    def attrs(self) -> dict:
        return {"base": self.base.to_dict(), "space": space_to_json(self.space), "objective": self.objective,
                "sampler": self.sampler, "pruner": self.pruner, "seed": self.seed}

    @classmethod
    def from_attrs(cls, attrs: dict) -> "Plan":
        base = TrainConfig.from_dict(attrs["base"])
        return cls(base, space_from_json(attrs["space"], base), attrs["objective"], attrs["sampler"],
                   attrs["pruner"], attrs.get("seed", 0))


def check_plan(plan: Plan) -> Plan:
    """SearchError for a plan that cannot run: an empty space, an unknown sampler, pruner or objective,
    a grid over ranges."""
    check_space(plan.space)
    check_objective(plan.objective)
    if plan.sampler not in SAMPLERS:
        raise SearchError(f"sampler {plan.sampler!r} is not one of {', '.join(SAMPLERS)}")
    if plan.pruner not in PRUNERS:
        raise SearchError(f"pruner {plan.pruner!r} is not one of {', '.join(PRUNERS)}")
    ranges = [f for f, dim in plan.space.items() if dim.kind != "choice"]
    if plan.sampler == "grid" and ranges:
        raise SearchError(f"a grid tries listed values: give {', '.join(ranges)} as choice:A,B,... ")
    return plan


def sampler_for(plan: Plan) -> optuna.samplers.BaseSampler:
    if plan.sampler == "grid":
        return optuna.samplers.GridSampler({f: list(dim.choices) for f, dim in plan.space.items()}, seed=plan.seed)
    if plan.sampler == "random":
        return optuna.samplers.RandomSampler(seed=plan.seed)
    # Each worker of a study seeds its TPE apart (`workers.worker_env` numbers them): with one seed, parallel
    # workers would draw the same first trials.
    return optuna.samplers.TPESampler(n_startup_trials=5, seed=plan.seed * 1000 + int(os.environ.get(WORKER, 0)))


def pruner_for(plan: Plan) -> optuna.pruners.BasePruner:
    """Median: a trial below the median of the others at the same epoch stops, once 4 trials have
    finished and after 3 epochs (the first epochs' figures are noise). Successive halving: a quarter of
    the trials go on at each rung."""
    if plan.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=3)
    if plan.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=3)
    return optuna.pruners.NopPruner()


def storage_url(storage: str | None, runs_dir: str | Path) -> str:
    """The storage a study is kept in: the URL given, or the SQLite file under `runs_dir`."""
    if storage:
        return storage
    return f"sqlite:///{(Path(runs_dir) / DEFAULT_STORAGE).resolve()}"


def shown(url: str) -> str:
    """A storage URL as it may be printed: its password hidden."""
    if "://" not in url:
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: say only its scheme
        return url.split("://", 1)[0] + "://…"


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """Optuna's storage at `url` (a database URL, or a path to a journal file), connected now: a storage
    that cannot be reached, refuses the login or is not one, raises SearchError naming the URL without
    its password."""
    if "://" not in url:
        from optuna.storages.journal import JournalFileBackend

        try:
            return optuna.storages.JournalStorage(JournalFileBackend(str(url)))
        except OSError as exc:
            raise SearchError(f"cannot open the study journal {url}: {exc.strerror or exc}") from None
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    try:
        if url.startswith("sqlite:///"):  # the folder of a study's file is made when the study is, not before
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # the heartbeat is marked experimental; it has been since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_SECONDS,
                                              grace_period=GRACE_SECONDS)
    except Exception as exc:  # SQLAlchemy's, the driver's, or a bad URL: all mean "not this storage"
        raise SearchError(f"cannot open the study storage {shown(url)}: {_reason(exc, url)}. Nothing was "
                          "started.") from None


def _reason(exc: Exception, url: str) -> str:
    """The first line of what the database said, without the password if it echoed it."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    reason = text[0] if text else type(exc).__name__
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:
        password = None
    return reason.replace(password, "***") if password else reason


def open_study(name: str, url: str, plan: Plan | None = None) -> tuple[optuna.Study, Plan]:
    """Create study `name` in `url` for `plan`, or open it: with a plan, an existing study must search the
    same space for the same objective; without one (a worker joining), the study's own plan is used."""
    storage = open_storage(url)
    if plan is None:
        return _join(name, storage, url)
    check_plan(plan)
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler_for(plan),
                                pruner=pruner_for(plan), direction=direction(plan.objective), load_if_exists=True)
    stored = study.user_attrs.get("plan")
    if stored is None:
        study.set_user_attr("plan", plan.attrs())
        study.set_user_attr("created", time.time())
        return study, plan
    _check_same(name, Plan.from_attrs(stored), plan)
    return study, plan


def _join(name: str, storage, url: str) -> tuple[optuna.Study, Plan]:
    try:
        attrs = storage.get_study_user_attrs(storage.get_study_id_from_name(name))
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise SearchError(f"there is no study {name!r} in {shown(url)}; studies there: "
                          f"{', '.join(names) or 'none'}") from None
    if "plan" not in attrs:
        raise SearchError(f"study {name!r} in {shown(url)} was not made by this project's search")
    plan = Plan.from_attrs(attrs["plan"])
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler_for(plan), pruner=pruner_for(plan))
    return study, plan


def _check_same(name: str, stored: Plan, plan: Plan) -> None:
    """SearchError when a study is opened for another space or objective than it was made with."""
    differences = []
    if space_to_json(stored.space) != space_to_json(plan.space):
        differences.append(f"it searches {json.dumps(space_to_json(stored.space))}, not "
                           f"{json.dumps(space_to_json(plan.space))}")
    if stored.objective != plan.objective:
        differences.append(f"its objective is {stored.objective}, not {plan.objective}")
    fixed = [f for f, v in stored.base.to_dict().items()
             if f not in MACHINE_FIELDS and f not in stored.space and getattr(plan.base, f) != v]
    if fixed:
        differences.append("its trials fix " + ", ".join(f"{f}={getattr(stored.base, f)!r}" for f in fixed))
    if differences:
        raise SearchError(f"study {name!r} exists and {'; '.join(differences)}. Give another --study name, or "
                          "join it with --study alone to search as it does.")


def joined_plan(plan: Plan, overrides: dict) -> Plan:
    """A joining worker's plan: the study's, with this machine's paths and hardware (`MACHINE_FIELDS`);
    any other field given must agree with the study's."""
    other = {f: v for f, v in overrides.items() if f not in MACHINE_FIELDS and getattr(plan.base, f) != v}
    if other:
        raise SearchError("this study fixes " + ", ".join(f"{f}={getattr(plan.base, f)!r}" for f in other) +
                          "; a worker joining it may only set where its data is and its hardware ("
                          + ", ".join(MACHINE_FIELDS) + ")")
    try:
        base = TrainConfig.from_dict({**plan.base.to_dict(), **overrides})
    except ConfigError as exc:
        raise SearchError(str(exc)) from None
    return Plan(base, plan.space, plan.objective, plan.sampler, plan.pruner, plan.seed)


def study_exists(name: str, url: str) -> bool:
    storage = open_storage(url)
    try:
        storage.get_study_id_from_name(name)
        return True
    except KeyError:
        return False


def list_studies(url: str) -> list[optuna.study.StudySummary]:
    """The studies of a storage, newest first; none in an SQLite file not yet made (reading makes it)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    summaries = optuna.get_all_study_summaries(open_storage(url))
    return sorted(summaries, key=lambda s: s.user_attrs.get("created", 0), reverse=True)


def request_stop(study: optuna.Study) -> None:
    """Ask every worker of the study to end: running trials end after their epoch (or step, where the
    run folder is here: `objective.stop_local_trials`), and no new trial starts."""
    study.set_user_attr("stop", time.time())


def stop_requested(study: optuna.Study, since: float) -> bool:
    """Whether a stop was asked for after `since` (when this worker started: an old request does not stop
    a search started again)."""
    asked = study.user_attrs.get("stop")  # read from the storage each time
    return isinstance(asked, (int, float)) and asked >= since

