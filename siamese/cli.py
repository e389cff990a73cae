"""Command line: `python -m siamese train | adapt | evaluate | prepare | search | sweep | embed | enroll | verify |
identify | explain | remove`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from .config import TrainConfig, field_types
from .errors import SiameseError
from .runs.progress import clock

# Long spellings of the one-letter fields: torchrun reads the whole command line before handing it on, and
# stops at `--p` as an ambiguous abbreviation of its own `--print-completion`.
ALIASES = {"p": "--identities-per-batch", "k": "--images-per-identity"}


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field, named and described by the dataclass itself."""
    types = field_types()
    for f in fields(TrainConfig):
        flags = ["--" + f.name.replace("_", "-")] + ([ALIASES[f.name]] if f.name in ALIASES else [])
        help_text = f"{f.metadata['help']} (default: {f.default})"
        if types[f.name] is bool:
            parser.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                                help=help_text)
        else:
            parser.add_argument(*flags, dest=f.name, type=types[f.name], default=None,
                                choices=f.metadata.get("choices"), help=help_text)


class ConsoleProgress:
    """A live progress line on a terminal (loss, images/second, elapsed and remaining time), and one
    summary line per epoch with the validation AUC."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.live = stream.isatty()

    def __call__(self, record: dict) -> None:
        if record["kind"] == "faces":
            if self.live or record["done"] == record["total"]:
                bar = "#" * int(record["done"] / record["total"] * 20)
                self.stream.write(f"\r[{bar:<20}] finding and aligning faces: {record['done']:,} of "
                                  f"{record['total']:,} photos" + ("\n" if record["done"] == record["total"] else ""))
        elif record["kind"] == "step" and self.live:
            bar = "#" * int(record["fraction"] * 20)
            self.stream.write(f"\r[{bar:<20}] {record['fraction']:4.0%}  epoch {record['epoch']}  "
                              f"loss {record['loss']:.4f}  {record['images_per_second']:5.0f} img/s  "
                              f"{clock(record['elapsed'])} elapsed, {clock(record['remaining'])} left ")
        elif record["kind"] == "epoch":
            self.stream.write(("\r" if self.live else "") +
                              f"epoch {record['epoch']:3d}  loss {_number(record['train_loss'])}  "
                              f"val AUC {record['val_auc']:.4f}  EER {record['val_eer']:.4f}  "
                              f"{record['n_way']}-way one-shot {record['oneshot_accuracy']:.3f}  "
                              f"[{clock(record['elapsed'])}]" + " " * 20 + "\n")
        elif record["kind"] == "end":
            self.stream.write(f"{record['status']}: {record['message']} after {record['step']} steps, "
                              f"{clock(record['elapsed'])}\n")
        self.stream.flush()


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def cmd_train(args: argparse.Namespace) -> int:
    from .runs.folder import run_config
    from .train.distributed import init_world, leave_world
    from .train.loop import resume

    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    if args.run and values:
        raise SiameseError(f"--run trains the configuration in {args.run}/config.json as it is; change it "
                           f"there, not with --{next(iter(values)).replace('_', '-')}")
    config = None if args.resume else run_config(Path(args.run)) if args.run else _new_config(values, args.data_dir)
    # Under torchrun every process runs this command; they join one process group, and rank 0 alone
    # creates the run folder, shows progress and prints the result.
    world = init_world(config.device if config else values.get("device", "auto"))
    progress = None if args.quiet or not world.is_main else ConsoleProgress()
    try:
        if args.resume:
            result = resume(args.resume, progress, args.data_dir, world, epochs=values.get("epochs"),
                            max_seconds=values.get("max_seconds"))
        else:
            result = _train_new(config, args, progress, world)
    except BaseException:
        leave_world(world, wait=False)  # the other ranks may never reach a barrier now
        raise
    leave_world(world)
    if world.is_main:
        print(json.dumps({"run": str(result.run_dir), "status": result.status, "message": result.message,
                          "epochs": result.epochs, "steps": result.steps, "seconds": round(result.seconds, 2),
                          "processes": world.size,
                          **({"val_auc": result.final["val_auc"], "val_eer": result.final["val_eer"]}
                             if result.final else {})}))
    return 0 if result.status in ("finished", "stopped") else 3


def _new_config(values: dict, data_dir: str) -> TrainConfig:
    """The configuration of a new run: the defaults for its dataset (`recipes.defaults_for`), then, when it
    starts from another run (--init-from), that run's network and recipe, then the options given."""
    from .recipes import defaults_for
    from .train.parent import inherit

    data = values.get("data", TrainConfig().data)
    defaults, _ = defaults_for(data, data_dir, values.get("faces", "auto"), values.get("device", "auto"))
    if values.get("init_from"):
        return TrainConfig.from_dict(inherit({**defaults, **values}, values["init_from"], tuple(values)))
    return TrainConfig.from_dict({**defaults, **values})


def _train_new(config: TrainConfig, args: argparse.Namespace, progress, world):
    """Train a new run: the folder given by --run (made by the dashboard, holding config.json), or one
    made here under --out."""
    import shutil

    from .runs.folder import RunPaths, create_run
    from .runs.status import write_status
    from .train.loop import train

    run_dir = Path(args.run) if args.run else None
    made_here = run_dir is None
    if world.is_main and made_here:
        out = Path(args.out) if args.out else None
        run_dir = create_run(config, out.parent if out else Path("runs"), out.name if out else None)
        print(f"run folder: {run_dir}" + (f" ({world.size} processes)" if world.distributed else ""),
              file=sys.stderr)
    run_dir = world.broadcast(run_dir)
    try:
        with _sigterm_as_interrupt():
            return train(config, run_dir, progress, args.data_dir, world=world)
    except KeyboardInterrupt:
        # Asked to stop before training began (the loop itself turns a signal into a clean stop).
        if world.is_main:
            write_status(run_dir, "stopped", "stopped before training began")
        raise SiameseError("stopped before training began") from None
    except SiameseError as exc:
        if world.is_main and made_here and not RunPaths(run_dir).metrics.exists():
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing was trained: leave no run behind
        elif world.is_main:
            write_status(run_dir, "failed", str(exc))
        raise


class _sigterm_as_interrupt:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does, while the dataset loads: Stop on a run that is
    still starting ends it with a status instead of a silent death."""

    def __enter__(self):
        import signal
        import threading

        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
        return self

    def __exit__(self, *exc):
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate.run import evaluate_run

    open_set = ({"gallery_size": args.gallery_size, "enrolled_per_person": args.enrolled_per_person,
                 "draws": args.draws} if args.open_set else None)
    report = evaluate_run(args.run, data_dir=args.data_dir, n_way=args.n_way, trials=args.trials,
                          seed=args.seed, checkpoint=args.checkpoint, pairs=args.pairs, data=args.data,
                          greyscale=args.greyscale, open_set=open_set)
    print(json.dumps(report, indent=2))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Create or join a study and run its trials: one line a trial as it ends, the best at the end."""
    from .search.study import open_study, shown, storage_url, study_exists
    from .search.workers import run_search

    values = _given(args)
    url = storage_url(args.storage, args.out)
    name = args.study or time.strftime("search-%Y%m%d-%H%M%S")
    joining = args.study and not (args.space or args.vary) and study_exists(name, url)
    _, plan = open_study(name, url, None if joining else _search_plan(args, values))
    if not args.quiet:
        print(f"study {name} in {shown(url)}" + (" (joined)" if joining else ""), file=sys.stderr)
    trials = args.trials if args.trials or args.timeout else 20
    study = run_search(name, url, None, values, trials, args.timeout, args.out, args.data_dir, args.workers,
                       None if args.quiet else _print_trial(plan))
    return _print_best(study, plan, url, args.quiet)


def _given(args: argparse.Namespace) -> dict:
    return {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}


def _search_plan(args: argparse.Namespace, values: dict):
    """The plan of a new study: the dataset's defaults and the options given, fixed; the space of the file,
    of --vary, or the dataset's default space."""
    from .search.space import dataset_kind, default_space, parse_dimension, read_space
    from .search.study import Plan

    base = _new_config(values, args.data_dir)
    space = read_space(args.space, base) if args.space else {}
    space.update({dim.field: dim for dim in (parse_dimension(text, base) for text in args.vary or [])})
    if not (args.space or args.vary):
        space, _ = default_space(dataset_kind(base.data, args.data_dir))
    return Plan(base, space, args.objective, args.search_sampler, args.pruner, base.seed)


def _print_trial(plan):
    from .search.results import trial_line

    return lambda trial: print(trial_line(trial, plan), flush=True)


def _print_best(study, plan, url: str, quiet: bool) -> int:
    from .search.results import STATES, best_trial, trial_line
    from .search.study import shown

    best = best_trial(study)
    if not quiet:
        print("best: " + (trial_line(best, plan) if best else "no trial has completed"), flush=True)
        counts = {}
        for trial in study.get_trials(deepcopy=False):
            state = STATES.get(trial.state, trial.state.name.lower())
            counts[state] = counts.get(state, 0) + 1
        print(json.dumps({"study": study.study_name, "storage": shown(url), "trials": counts,
                          "best": {"trial": best.number, "value": best.value, "params": best.params,
                                   "run": best.user_attrs.get("run")} if best else None}))
    return 0 if best else 3


def cmd_sweep(args: argparse.Namespace) -> int:
    """A grid study over one field's listed values, every trial to its end."""
    from .search.study import storage_url
    from .search.sweep import plan_sweep, sweep_name
    from .search.workers import run_search

    if args.sweep:
        raise SiameseError(f"{args.sweep} is a sweep record of an older version, which is no longer run; its "
                           "runs are listed on the Runs page. Start it again: python -m siamese sweep --field "
                           "FIELD --values A,B,C")
    if not (args.field and args.values):
        raise SiameseError("give the field to sweep and its values: --field margin --values 0.1,0.2,0.5")
    plan = plan_sweep(_new_config(_given(args), args.data_dir), args.field, args.values)
    name, url = args.study or sweep_name(args.field), storage_url(args.storage, args.out)
    study = run_search(name, url, plan, trials=len(plan.space[args.field].choices), runs_dir=args.out,
                       data_dir=args.data_dir, on_trial=None if args.quiet else _print_trial(plan))
    return _print_best(study, plan, url, args.quiet)


def cmd_prepare(args: argparse.Namespace) -> int:
    from .data.sources import open_source
    from .faces.cache import prepare_faces

    source = open_source(args.data, args.data_dir)
    if source.folder is None:
        raise SiameseError(f"'{args.data}' holds face crops, not photographs to find faces in")
    progress = ConsoleProgress()
    prepared = prepare_faces(source.folder, args.data_dir,
                             lambda done, total: progress({"kind": "faces", "done": done, "total": total}),
                             workers=args.workers)
    print(json.dumps({"faces": str(prepared.root), "photos": prepared.photos, "no_face": len(prepared.no_face),
                      "unreadable": len(prepared.unreadable), "seconds": round(prepared.seconds, 1)}))
    return 0


def cmd_adapt(args: argparse.Namespace) -> int:
    """Adapt a run's model to a gallery's people: a new run, trained from it on their crops beside its own
    dataset, then the gallery embedded by the new model and its thresholds calibrated on it again."""
    from .gallery import Gallery
    from .gallery.adapt import ADAPTED_NOTE, create_adaptation
    from .runs.folder import run_config
    from .runs.trained import load_trained
    from .train.loop import train

    out = Path(args.out) if args.out else None
    # Beside the run it adapts by default: the dashboard showing that run lists its adaptation too.
    run_dir = create_adaptation(args.run, args.gallery, out.parent if out else Path(args.run).parent,
                                args.max_seconds, args.seed, out.name if out else None, args.epochs)
    print(f"run folder: {run_dir}", file=sys.stderr)
    with _sigterm_as_interrupt():
        result = train(run_config(run_dir), run_dir, None if args.quiet else ConsoleProgress(), args.data_dir)
    if result.status not in ("finished", "stopped"):
        print(json.dumps({"run": str(run_dir), "status": result.status, "message": result.message}))
        return 3
    enrolled = Gallery(args.gallery, load_trained(run_dir)).now()  # embeds the gallery by the new model
    print(json.dumps({"run": str(run_dir), "status": result.status, "epochs": result.epochs,
                      "seconds": round(result.seconds, 2), "people": len(enrolled.identities()),
                      "images": len(enrolled.names), "val_auc": result.final["val_auc"] if result.final else None,
                      "note": ADAPTED_NOTE}))
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from .projection import embed_run, write_projector_files

    embeddings, dataset = embed_run(args.run, data=args.data, data_dir=args.data_dir, split=args.split)
    out = Path(args.out)
    if out.suffix == ".npz":
        np.savez(out, embeddings=embeddings.numpy(), labels=dataset.labels.numpy(),
                 identities=np.array(dataset.identities), paths=np.array(dataset.paths))
    else:
        write_projector_files(out, embeddings, dataset)
    print(json.dumps({"out": str(out), "images": len(dataset), "identities": len(dataset.identities),
                      "dim": int(embeddings.shape[1])}))
    return 0


def _open_gallery(args: argparse.Namespace):
    from .gallery import Gallery
    from .runs.trained import load_trained

    return Gallery(args.gallery, load_trained(args.run))


def cmd_enroll(args: argparse.Namespace) -> int:
    from .errors import ImageError
    from .gallery import enrol_photos

    gallery = _open_gallery(args)
    photos = []
    for path in args.images:
        try:
            photos.append((path, Path(path).read_bytes()))
        except OSError as exc:
            raise ImageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    count = enrol_photos(gallery, args.name, photos, detect=not args.no_detect, allow_largest=args.largest)
    print(json.dumps({"enrolled": args.name, "images": count, "identities": len(gallery.identities())}))
    return 0


def _probe(path: str, args: argparse.Namespace, trained):
    """The photo made into a probe by the run's own step, as the dashboard makes it, so CLI and dashboard
    decisions compare."""
    from .errors import ImageError

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return trained.probe(data, not args.no_detect, args.largest)
    except ImageError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def cmd_remove(args: argparse.Namespace) -> int:
    gallery = _open_gallery(args)
    gallery.remove(args.name)
    print(json.dumps({"removed": args.name, "identities": len(gallery.identities())}))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """1:1 with --claim (identify without it): one JSON line per image, each decided by one rule from the
    gallery as it is (or the run's threshold). Exit 0 when every claim is accepted, 1 when one is rejected,
    2 when an image has no usable face (the others are still decided)."""
    from .decisions import decision_rule
    from .errors import GalleryError
    from .gallery.store import check_identity_name

    gallery = _open_gallery(args)
    enrolled = gallery.now()
    task = "verify" if getattr(args, "claim", None) else "identify"
    if task == "verify" and check_identity_name(args.claim) not in enrolled.names:
        raise GalleryError(f"{args.claim!r} is not enrolled; enrolled: {', '.join(enrolled.identities()) or 'nobody'}")
    target = args.far if task == "verify" else args.fpir
    rule = decision_rule(enrolled.calibration, Path(args.run), task, args.threshold_from, target)
    for note in rule.notes:
        print(f"note: {note}", file=sys.stderr)
    worst = 0
    for path in args.images:
        line = {"image": path, "task": task, "threshold": rule.threshold, "threshold_from": rule.basis,
                "target": rule.target, "promise": rule.promise}
        try:
            probe = _probe(path, args, gallery.model).embedding
        except SiameseError as exc:
            print(json.dumps({**line, "error": str(exc)}), flush=True)
            worst = 2
            continue
        if task == "verify":
            result = enrolled.verify(probe, args.claim, rule)
            line.update(claimed=result.claimed, accepted=result.accepted, distance=result.distance,
                        confidence=result.confidence, nearest=[vars(m) for m in result.nearest])
            worst = max(worst, 0 if result.accepted else 1)
        else:
            result = enrolled.identify(probe, rule)
            line.update(identity=result.identity, distance=result.distance, confidence=result.confidence,
                        candidates=[vars(m) for m in result.candidates])
        print(json.dumps(line), flush=True)
    return worst


def cmd_explain(args: argparse.Namespace) -> int:
    """Where two photos' faces agree and differ: a PNG of both faces with their maps, and one JSON object
    (the distance, the decision at the gallery's or the run's threshold, the similarity the maps add up to)."""
    from .decisions import decision_rule
    from .explain import explain_pair, picture

    gallery = _open_gallery(args)
    trained = gallery.model
    rule = decision_rule(gallery.now().calibration, Path(args.run), "compare", args.threshold_from, args.far)
    first, second = (_probe(path, args, trained) for path in (args.first, args.second))
    faces = (first.input, second.input)
    explanation = explain_pair(trained, *faces, rule, args.method, (first.embedding, second.embedding))
    out = Path(args.out)
    picture(explanation, *faces, rule).save(out)
    print(json.dumps({"first": args.first, "second": args.second, "out": str(out), "threshold_from": rule.basis,
                      **explanation.summary(rule)}))
    return 0


def _add_face_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-detect", action="store_true", help="the images are face crops already "
                        "(like ORL): use them whole instead of detecting the face")
    parser.add_argument("--largest", action="store_true", help="when a photo shows several faces, use "
                        "the largest instead of refusing it")


def _add_threshold_options(parser: argparse.ArgumentParser, fpir: bool) -> None:
    """Where a decision's threshold comes from and its targets, with the choices and defaults the decisions
    themselves define (`siamese.decisions`)."""
    from .decisions import DEFAULT_TARGET, SOURCES

    parser.add_argument("--threshold-from", choices=SOURCES, default=SOURCES[0],
                        help="gallery: calibrated on the people enrolled, at --far" + (" / --fpir" if fpir else "") +
                        " (the run's threshold while fewer than 2 people are enrolled); run: the threshold saved "
                        f"with the run (default: {SOURCES[0]})")
    parser.add_argument("--far", type=float, default=DEFAULT_TARGET,
                        help=f"target false-accept rate of a 1:1 claim (default: {DEFAULT_TARGET:g})")
    if fpir:
        parser.add_argument("--fpir", type=float, default=DEFAULT_TARGET, help="target false-positive "
                            f"identification rate of a 1:N search, at the gallery's size (default: {DEFAULT_TARGET:g})")


def _add_study_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--storage", metavar="URL", help="where the study is kept: a database URL "
                   "(postgresql://user:password@host/db, shared by several machines), a journal file's path, "
                   "or by default runs/search.db (SQLite)")
    p.add_argument("--study", metavar="NAME", help="the study's name; an existing study is joined (with "
                   "--storage alone, as a worker on another machine) or resumed (default: search-<date-time>)")
    p.add_argument("--out", default="runs", help="where the trials' run folders go (default: runs)")
    p.add_argument("--quiet", action="store_true", help="no output (the workers a search starts)")


def _add_search_parser(sub) -> None:
    from .search.objective import OBJECTIVE_HELP
    from .search.study import PRUNERS, SAMPLERS

    p = sub.add_parser("search", help="search several hyperparameters at once with Optuna, trials pruned on "
                       "their live validation curve, on one machine or many; each trial is a run folder")
    _add_config_options(p)
    p.add_argument("--space", metavar="FILE", help='JSON of the fields searched: {"lr": {"log": [0.0001, 0.01]}, '
                   '"k": {"int": [2, 5]}, "loss": {"choice": ["cosface", "arcface"]}} (default: the '
                   "dataset's default space, face crops or photographs)")
    p.add_argument("--vary", action="append", metavar="FIELD=KIND:LOW:HIGH",
                   help="a field to search (repeat for several): lr=log:0.0001:0.01, k=int:2:5, "
                   "loss=choice:cosface,arcface; kinds float, log, int, choice")
    p.add_argument("--objective", default="val_auc", help=OBJECTIVE_HELP)
    p.add_argument("--search-sampler", choices=SAMPLERS, default="tpe", help="Optuna's sampler, which draws "
                   "each trial's values: tpe (default), grid (listed values only), random (not --sampler: that is "
                   "how batches are drawn)")
    p.add_argument("--pruner", choices=PRUNERS, default="median", help="median (default), halving "
                   "(successive halving), none")
    p.add_argument("--trials", type=int, help="trials to run, over all the workers (default: 20, or as many "
                   "as --timeout allows)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="start no trial after this many seconds")
    p.add_argument("--workers", type=int, default=1, help="processes on this machine, each with its share "
                   "of the cores (default: 1)")
    _add_study_options(p)
    p.set_defaults(func=cmd_search)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m siamese", description="Siamese networks for face verification.")
    parser.add_argument("--data-dir", default="data", help="where built-in datasets are cached and "
                        "named datasets are found (default: data)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model into a run folder")
    _add_config_options(p)
    p.add_argument("--out", help="run folder to create (default: runs/<date-time>)")
    p.add_argument("--run", metavar="RUN", help="train the new run folder RUN as its config.json says (the "
                   "dashboard makes such folders)")
    p.add_argument("--resume", metavar="RUN", help="carry on training this run folder from its checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress output, only the final JSON line")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("adapt", help="adapt a run's model to the people of a gallery: a short run from it on "
                       "their enrolled crops (beside a sample of its own dataset), the gallery embedded again")
    p.add_argument("--run", required=True, help="run folder of the model to adapt")
    p.add_argument("--gallery", default="gallery", help="gallery folder of the people (default: gallery)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="training time (default: 60)")
    p.add_argument("--epochs", type=int, help="train at most this many epochs (default: as many as the time "
                   "allows)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--out", help="run folder to create (default: <run>-adapted beside the run)")
    p.add_argument("--quiet", action="store_true", help="no progress output, only the final JSON line")
    p.set_defaults(func=cmd_adapt)

    p = sub.add_parser("evaluate", help="print a run's verification figures as JSON: on its validation "
                       "identities, a pairs file (LFW's protocols), or another dataset")
    p.add_argument("--run", required=True, help="run folder")
    p.add_argument("--pairs", metavar="FILE", help="an LFW-format pairs file (pairsDevTest.txt: View 1; "
                   "pairs.txt: View 2, 10 folds); its images are found next to it, or in --data")
    p.add_argument("--data", help="with --pairs: the folder of the pairs' images; without: score every "
                   "identity of this dataset instead of the run's validation identities")
    p.add_argument("--checkpoint", help="a snapshot to evaluate instead of the final checkpoint")
    p.add_argument("--n-way", type=int, default=10, help="N of the N-way one-shot task (default: 10)")
    p.add_argument("--trials", type=int, default=2000, help="one-shot trials (default: 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed for impostor pairs, one-shot trials and open-set draws")
    p.add_argument("--greyscale", action="store_true", help="score the images in greyscale, as a camera without "
                   "colour gives them")
    p.add_argument("--open-set", action="store_true", help="open-set identification (1:N) instead: part of the "
                   "people enrolled, the others strangers; FPIR, FNIR and DIR per target FPIR, the CMC")
    p.add_argument("--gallery-size", type=int, help="with --open-set: people enrolled (default: half of them)")
    p.add_argument("--enrolled-per-person", type=int, default=1, help="with --open-set: images enrolled of each "
                   "(default: 1)")
    p.add_argument("--draws", type=int, default=5, help="with --open-set: seeded draws of who is enrolled (default: 5)")
    p.set_defaults(func=cmd_evaluate)

    _add_search_parser(sub)
    p = sub.add_parser("sweep", help="try one field at a few values, every run to its end: a grid search")
    _add_config_options(p)
    p.add_argument("--field", help="the field to sweep, e.g. margin")
    p.add_argument("--values", help="its values, separated by commas: 0.1,0.2,0.5")
    _add_study_options(p)
    p.add_argument("--sweep", help=argparse.SUPPRESS)  # an older version's record: named as unsupported
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("prepare", help="find and align the faces of a folder of photographs once, into the "
                       "face cache every run and evaluation uses")
    p.add_argument("--data", required=True, help="a folder of identity folders, a .zip, or a dataset name")
    p.add_argument("--workers", type=int, help="processes detecting faces (default: every core)")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("embed", help="write embeddings of a dataset: a .npz, or a folder with TensorBoard "
                       "projector files (vectors.tsv, metadata.tsv)")
    p.add_argument("--run", required=True, help="run folder")
    p.add_argument("--data", help="dataset to embed (default: the run's)")
    p.add_argument("--split", choices=("validation", "train", "all"), default="validation",
                   help="which identities of the run's dataset (default: validation)")
    p.add_argument("--out", required=True, help="FILE.npz, or a folder for the projector files")
    p.set_defaults(func=cmd_embed)

    for name, func, text in (("enroll", cmd_enroll, "add a person to a gallery from face images"),
                             ("remove", cmd_remove, "delete a person and their images from a gallery")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--run", required=True, help="run folder of the model to embed with")
        p.add_argument("--gallery", default="gallery", help="gallery folder (default: gallery)")
        p.add_argument("--name", required=True, help="the person's name")
        if name == "enroll":
            p.add_argument("images", nargs="+", help="photos of the person (one face each)")
            _add_face_options(p)
        p.set_defaults(func=func)

    for name, text in (("verify", "1:1: is each photo the person it claims to be (--claim NAME)? Without --claim, "
                                  "as identify. Exit 0: all accepted, 1: one rejected, 2: a photo without a face"),
                       ("identify", "1:N: who is each photo, or nobody enrolled ('identity': null)?")):
        p = sub.add_parser(name, help=text + "; one JSON line a photo, with the threshold, where it comes from, "
                           "the distance and the confidence (null where the gallery cannot fit one)")
        p.add_argument("--run", required=True, help="run folder of the model")
        p.add_argument("--gallery", default="gallery", help="gallery folder (default: gallery)")
        if name == "verify":
            p.add_argument("--claim", help="the identity the person claims to be")
        _add_threshold_options(p, fpir=True)
        p.add_argument("images", nargs="+", help="photos with one face each")
        _add_face_options(p)
        p.set_defaults(func=cmd_verify)
    p = sub.add_parser("explain", help="where two photos' faces agree and differ: a PNG of both faces with their "
                       "maps, and JSON with the distance, the decision and the similarity the maps add up to")
    p.add_argument("--run", required=True, help="run folder of the model")
    p.add_argument("--gallery", default="gallery", help="gallery folder whose people calibrate the threshold "
                   "(default: gallery)")
    _add_threshold_options(p, fpir=False)
    p.add_argument("--method", choices=("auto", "decomposition", "occlusion"), default="auto",
                   help="decomposition of the similarity over the faces' locations, where the network allows it; "
                   "occlusion (the distance as patches are covered) for any network (default: auto)")
    p.add_argument("--out", required=True, help="the PNG to write")
    p.add_argument("first", help="a photo with one face")
    p.add_argument("second", help="another photo with one face")
    _add_face_options(p)
    p.set_defaults(func=cmd_explain)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SiameseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a read-only or full disk, a missing folder: the message, not a traceback
        print(f"error: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return 2
