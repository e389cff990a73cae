"""The training loop: one run folder, one config, read top to bottom.

`train(config, run_dir)` trains on the training identities with P x K batches, evaluates the held-out
identities after every epoch, and writes everything to the run folder (see `siamese.runs`). Progress goes
to an optional callback, never to the screen directly, so the command line, the dashboard and tests each
show it their own way. It stops cleanly on a STOP file, SIGINT or SIGTERM, the epoch limit or the time
budget. Under `torchrun` the same function runs in every process with DistributedDataParallel
(`distributed.py`).
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from ..augment import AUGMENTATIONS, Augmenter
from ..config import TrainConfig
from ..data.dataset import FaceDataset
from ..decisions.saved import save_validation_threshold
from ..device import uses_bf16
from ..errors import RunError
from ..evaluate.scores import EvaluationSet
from ..losses import build_loss, pair_distance_fn
from ..models import build_model, early_layers, embed_images, freeze_layers, to_input, to_unit
from ..optim import build_optimizer, set_learning_rate
from ..runs import embedded
from ..runs.files import append_metrics, load_torch, save_torch, write_json
from ..runs.folder import RunPaths, run_config
from ..runs.status import write_status
from ..sampling import PKSampler, UniformSampler, build_sampler
from .distributed import World, init_world
from .inputs import batch_source, prepare_data
from .parent import check_fit, imprint_centres, load_parent

Callback = Callable[[dict], None]
# Told each epoch's validation record; returns None to go on, or (status, message) to end the run after this
# epoch as a stopped run ends (checkpoint, threshold, curves): how a search's trial is pruned.
Report = Callable[[dict], "tuple[str, str] | None"]

# A checkpoint costs a full write of model and optimiser: at most one every this many seconds, plus one at
# the end. Snapshots for the embedding-evolution view are kept at epochs 1, 2, 4, 8, ... and the last.
# Both are copied to the CPU between two steps and written by a thread while the steps go on.
CHECKPOINT_SECONDS = 20.0
SNAPSHOT_MAX_PARAMETERS = 5_000_000
ONESHOT_TRIALS_PER_EPOCH = 500
# With eval_every 0, validation may take this share of the time trained since the last one: an epoch of
# LFW takes about 10 s on a 2-core CPU (validated every epoch) and under a second on a GPU (every few).
# The first and last epochs and those with a snapshot are always validated.
VALIDATION_SHARE = 0.05
# Validation images embedded at once: on a GPU, large batches keep it busy; on a CPU, 256 is as fast.
VALIDATION_BATCH = {"cuda": 1024}
# Steps between the moments the ranks agree (one all-reduce, which waits for the device): every step on a
# CPU, where nothing runs ahead anyway; every 10 on a GPU, so the host queues work without waiting for it.
# A non-finite loss is then caught within 10 steps, still before any checkpoint is written.
SYNC_STEPS = {"cuda": 10}
# On a GPU the default's step is bound by launching kernels (9.7 ms a step at batch 128 on an H200, 2.5 ms
# once captured: issue #25): there the objective's forward and backward are compiled and captured as CUDA
# graphs (torch.compile's "reduce-overhead"), replayed every step; one graph for the fixed batch shape.
CAPTURE = {"mode": "reduce-overhead", "dynamic": False}


@dataclass
class TrainResult:
    run_dir: Path
    status: str          # finished | stopped | diverged | what `report` ended it as (pruned)
    message: str
    epochs: int
    steps: int
    seconds: float
    final: dict | None   # the last epoch's validation record (rank 0 only under torchrun)
    model: torch.nn.Module | None = field(default=None, repr=False)  # the trained embedding network


class _StopFlag:
    """Set by SIGINT / SIGTERM (when training runs in the main thread) or by a STOP file in the run, which
    only rank 0 watches: the other ranks may run on machines that do not see the run folder."""

    def __init__(self, stop_file: Path, watch_file: bool = True):
        self.stop_file = stop_file
        self.watch_file = watch_file
        self.signalled: str | None = None
        self._previous: dict = {}

    def __enter__(self) -> "_StopFlag":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        self.signalled = signal.Signals(signum).name

    def reason(self) -> str | None:
        if self.signalled:
            return f"stopped by {self.signalled}"
        if self.watch_file and self.stop_file.exists():
            return "stopped on request"
        return None


class _Objective(torch.nn.Module):
    """The embedding network and the loss as one module, so DistributedDataParallel averages the gradients
    of both (the class centres of CosFace and ArcFace and the BCE head are parameters too). With `gather`
    (and several processes) the loss sees the embeddings of every process: see `World.gather`. With
    `bf16`, the network computes in bfloat16 (autocast); the loss always in float32."""

    def __init__(self, model: torch.nn.Module, loss_fn: torch.nn.Module, world: World, gather: bool,
                 bf16: bool = False):
        super().__init__()
        self.model, self.loss_fn, self.world = model, loss_fn, world
        self.gather = gather and world.distributed
        self.bf16 = bf16

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            embeddings = self.model(x)
        embeddings = embeddings.float()
        if self.gather:
            embeddings, labels = self.world.gather(embeddings, labels)
        return self.loss_fn(embeddings, labels)


@dataclass
class _State:
    """Everything a checkpoint holds, and where training is."""

    model: torch.nn.Module
    loss_fn: torch.nn.Module
    optimizer: torch.optim.Optimizer
    sampler: PKSampler | UniformSampler
    augment: Augmenter
    epoch: int = 0
    step: int = 0
    elapsed: float = 0.0  # seconds trained before this process began (a resumed run's clock carries on)


def train(config: TrainConfig, run_dir: str | Path, callback: Callback | None = None,
          data_dir: str | Path = "data", resume: bool = False, world: World | None = None,
          report: Report | None = None) -> TrainResult:
    """Train `config` into `run_dir` (created by the caller: `runs.folder.create_run`). With `resume`,
    carry on from the run's checkpoint with the config saved in the run. `report` (one process only) may
    end the run after any validated epoch, with a status of its own (`pruned`).

    Under torchrun every process calls this with the same arguments; only rank 0 writes `run_dir` and
    calls `callback`, and all ranks stop together (see `distributed.py`).
    """
    world = world or init_world(config.device)
    if report and world.distributed:  # rank 0 alone validates: the other ranks would never learn of the end
        raise RunError("a run reporting to a search trains in one process, not under torchrun")
    paths = RunPaths(Path(run_dir))
    notify = (callback or (lambda record: None)) if world.is_main else (lambda record: None)
    torch.manual_seed(config.seed)
    device = world.device
    train_set, val_set, split = prepare_data(config, data_dir, _FaceProgress(paths, notify, world))

    # channels-last weights on a GPU: its convolutions in bf16 are fastest on NHWC tensors (the inputs are)
    model = build_model(config).to(device, memory_format=torch.channels_last if device.type == "cuda" else None)
    loss_fn = build_loss(config, len(train_set.identities)).to(device)
    bf16 = uses_bf16(config.precision, device)
    objective = _Objective(model, loss_fn, world, config.gather_embeddings, bf16)
    state = _State(model, loss_fn, build_optimizer(config.optimizer, list(objective.parameters()), config.lr,
                                                   config.weight_decay, fused=device.type == "cuda"),
                   build_sampler(config.sampler, train_set.labels, config.p, config.k, config.seed, world.rank,
                                 world.size),
                   Augmenter(config.augment_strength if config.augment else 0.0, seed=config.seed + 1 + world.rank,
                             ranges=AUGMENTATIONS[config.augmentation], grey_fraction=config.grey_fraction,
                             device=device))
    if resume:
        _restore(paths, world, state)
    else:
        if config.init_from:
            _start_from_parent(config, model, split, world)
            imprint_centres(loss_fn, model, train_set, device)
        if world.is_main:
            config.save(paths.config)
            write_json(paths.split, {**split, "processes": world.size})
    if world.is_main and not embedded.images_file(paths.root, "validation").is_file():
        embedded.keep(lambda: embedded.save_images(paths.root, "validation", val_set), "the validation images")
    if world.is_main:
        paths.stop.unlink(missing_ok=True)
        _write_status(paths, "running", "training", config, state.epoch, world)
    if world.distributed:
        objective = DistributedDataParallel(objective, device_ids=[device] if device.type == "cuda" else None)
    step_loss = captured(objective, device, world)

    batches = batch_source(train_set, state.sampler, config, device)
    steps_total = config.epochs * state.sampler.batches_per_epoch
    start = time.perf_counter() - state.elapsed
    last_checkpoint = time.perf_counter()
    elapsed = 0.0
    validation = _Validation(model, val_set, pair_distance_fn(config, loss_fn), device, config.seed, bf16,
                             state.epoch)
    saver = _Saver(paths, validation)

    def validate(losses: list[float]) -> dict:
        """Validate, log and show the figures; the EER threshold becomes the run's (unless one was chosen)."""
        record = validation(state, losses, start)
        append_metrics(paths.metrics, record)
        save_validation_threshold(paths.root, record["threshold"])
        notify(record)
        return record

    final, ending = None, None  # ending: (status, message) once the run ends before the epoch limit
    sync = SYNC_STEPS.get(device.type, 1)
    if config.init_from and state.step == 0 and world.is_main:
        # Epoch 0: the parent's network on this run's validation people, before any step, so the curves
        # show what fine-tuning gained.
        final = validate([])
        if _snapshot_small(model):
            saver.snapshot(state)
    frozen = early_layers(model) if config.freeze_epochs else []
    with _StopFlag(paths.stop, watch_file=world.is_main) as stop:
        while state.epoch < config.epochs and ending is None:
            state.epoch += 1
            freeze_layers(frozen, state.epoch <= config.freeze_epochs)
            losses, pending = [], []  # pending: losses on the device since the ranks last agreed
            tick = time.perf_counter()  # a step's time includes waiting for its batch (sampling, decoding)
            for images, labels in batches():
                loss = step_loss(to_input(state.augment(to_unit(images)), device), labels)
                pending.append(loss.detach())
                if len(pending) == sync:
                    ending, elapsed, mean_loss = _agree(world, stop, torch.stack(pending).mean().item(), start,
                                                        config, state.step)
                    if ending:
                        break
                set_learning_rate(state.optimizer, config.lr_schedule, config.lr,
                                  _progress(config, state.step, steps_total, elapsed))
                state.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                state.optimizer.step()
                state.step += 1
                if len(pending) == sync:
                    losses.append(mean_loss)
                    if world.is_main:
                        _log_step(paths, notify, state, len(labels) * world.size * sync, tick, elapsed, mean_loss,
                                  config, steps_total)
                    pending, tick = [], time.perf_counter()
            if ending and not losses and not pending:
                state.epoch -= 1  # the run ended before this epoch's first update: it never began
            if (ending and ending[0] == "diverged") or not world.is_main:
                continue  # rank 0 alone validates and writes; a diverged epoch has nothing worth keeping
            last = bool(ending) or state.epoch == config.epochs
            snapshot = _snapshot_due(state.epoch, model) or (last and _snapshot_small(model))
            if losses and validation.due(state.epoch, config.eval_every, last, snapshot):
                final = validate(losses)
                ending = ending or (report(final) if report else None)
            if snapshot:
                saver.snapshot(state)
            if not ending and time.perf_counter() - last_checkpoint > CHECKPOINT_SECONDS:
                saver.checkpoint(state, time.perf_counter() - start)
                last_checkpoint = time.perf_counter()

    world.share_buffers(model)
    status, message = ending or ("finished", f"reached {config.epochs} epochs")
    if world.is_main:
        if status != "diverged":  # a diverged run keeps its last good checkpoint
            if final is None or final["epoch"] != state.epoch:
                final = validate(losses)
            saver.checkpoint(state, time.perf_counter() - start)
        saver.close()
        end = {"kind": "end", "status": status, "message": message, "epoch": state.epoch, "step": state.step,
               "elapsed": time.perf_counter() - start, "processes": world.size}
        append_metrics(paths.metrics, end)
        _write_status(paths, status, message, config, state.epoch, world)
        notify(end)
    return TrainResult(paths.root, status, message, state.epoch, state.step, time.perf_counter() - start,
                       final, model)


def captured(objective: torch.nn.Module, device: torch.device, world: World) -> Callable:
    """The objective as the steps call it, (inputs, labels) -> loss: captured (CAPTURE) in one process on
    a GPU; as it is elsewhere, and under torchrun, whose gradient hooks stay outside any graph."""
    if device.type != "cuda" or world.distributed:
        return objective
    torch._dynamo.config.suppress_errors = True  # what cannot be compiled runs as it is: never a failed run
    compiled = torch.compile(objective, **CAPTURE)

    def step(x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        torch.compiler.cudagraph_mark_step_begin()
        return compiled(x, labels).clone()  # the graph's own output is overwritten by its next replay
    return step


def _start_from_parent(config: TrainConfig, model: torch.nn.Module, split: dict, world: World) -> None:
    """Load the parent's network weights into `model` (every rank reads them from rank 0), after checking
    they fit; a warning about the parent joins the split's problems."""
    if config.freeze_epochs and world.distributed:
        raise RunError("freeze_epochs is not supported under torchrun (every process must train the same "
                       "parameters); set it to 0")
    parent = load_parent(config.init_from) if world.is_main else None
    if world.is_main:
        split["problems"] = list(split.get("problems", [])) + check_fit(parent, config, split["faces"])
        split["parent"] = {"run": str(parent.run_dir), "weights": str(parent.weights),
                           "data": parent.config.data}
    state = world.broadcast(parent.state if world.is_main else None)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise RunError(f"init_from: {config.init_from}'s weights do not fit this network "
                       f"({str(exc).splitlines()[0]})") from None


class _FaceProgress:
    """Progress of finding and aligning a dataset's faces the first time: to the callback, and, at most
    once a second, into the run's status, so a dashboard watching the run can show it."""

    def __init__(self, paths: RunPaths, notify: Callback, world: World):
        self.paths, self.notify, self.world, self.written = paths, notify, world, 0.0

    def __call__(self, done: int, total: int) -> None:
        self.notify({"kind": "faces", "done": done, "total": total})
        if self.world.is_main and (time.monotonic() - self.written > 1.0 or done == total):
            self.written = time.monotonic()
            write_status(self.paths.root, "starting", f"finding and aligning the faces: {done:,} of {total:,} "
                         "photos (once for this folder)", pid=os.getpid(), faces_done=done, faces_total=total)


def _log_step(paths: RunPaths, notify: Callback, state: _State, images: int, tick: float, elapsed: float,
              loss: float, config: TrainConfig, steps_total: int) -> None:
    """One step record: the loss agreed on, and images a second since the last record."""
    record = {"kind": "step", "epoch": state.epoch, "step": state.step, "loss": loss, "images": images,
              "images_per_second": images / max(time.perf_counter() - tick, 1e-9), "elapsed": elapsed,
              "steps_total": steps_total}
    append_metrics(paths.metrics, record)
    notify(_with_eta(record, config, steps_total))


def _agree(world: World, stop: _StopFlag, loss: float, start: float, config: TrainConfig,
           step: int) -> tuple[tuple[str, str] | None, float, float]:
    """One all-reduce a step, before backward, so every rank takes the same decision: a non-finite loss
    anywhere skips this update everywhere; a stop request or the end of the time budget ends the run
    before this update, on every rank; and the clock is the ranks' mean, so the learning rate that follows
    it is the same on each. Returns (ending or None, elapsed seconds, loss averaged over the ranks)."""
    finite = math.isfinite(loss)
    stops, bad, elapsed, total = world.sum([float(stop.reason() is not None), float(not finite),
                                            time.perf_counter() - start, loss if finite else 0.0])
    elapsed /= world.size
    if bad:
        return ("diverged", f"the loss became {loss if not finite else 'non-finite'} at step {step + 1}: "
                f"training diverged. Lower the learning rate (now {config.lr:g}); the last good checkpoint "
                "is kept."), elapsed, math.nan
    if stops:
        return ("stopped", stop.reason() or "stopped on request"), elapsed, math.nan
    if config.max_seconds is not None and elapsed >= config.max_seconds:
        return ("finished", "time budget reached"), elapsed, math.nan
    return None, elapsed, total / world.size


def _progress(config: TrainConfig, step: int, steps_total: int, elapsed: float) -> float:
    """Fraction of the run done, in [0, 1]: by steps or by the time budget, whichever ends first."""
    fraction = step / steps_total
    if config.max_seconds:
        fraction = max(fraction, elapsed / config.max_seconds)
    return min(fraction, 1.0)


def _with_eta(record: dict, config: TrainConfig, steps_total: int) -> dict:
    """Add the fraction done and the seconds remaining."""
    fraction = _progress(config, record["step"], steps_total, record["elapsed"])
    remaining = record["elapsed"] * (1 - fraction) / fraction if fraction > 0 else math.nan
    return {**record, "fraction": fraction, "remaining": remaining}


class _Validation:
    """The held-out identities, kept on the device, embedded in large batches in the training's precision
    and scored there, on pairs and one-shot trials drawn once. The embeddings of the latest weights are
    kept for the snapshot or checkpoint saved next (`of`) and the threshold, never computed twice."""

    def __init__(self, model, val_set: FaceDataset, distance, device: torch.device, seed: int, bf16: bool,
                 epoch: int):
        self.model, self.distance, self.device, self.bf16 = model, distance, device, bf16
        self.images = val_set.images.to(device)
        self.pairs = EvaluationSet.draw(val_set.labels.numpy(), 10, ONESHOT_TRIALS_PER_EPOCH, seed)
        self.step, self.embeddings = -1, None
        self.epoch = epoch  # the last epoch validated (or trained before this process began)
        self.seconds, self.finished = 0.0, None  # what the last validation took, and when it ended

    def _embedded(self, state: _State) -> torch.Tensor:
        if self.step != state.step:
            self.embeddings = embed_images(self.model, self.images, self.device,
                                           VALIDATION_BATCH.get(self.device.type, 256), self.bf16, on_device=True)
            self.step = state.step
        return self.embeddings

    def due(self, epoch: int, every: int, last: bool, snapshot: bool) -> bool:
        """Whether to validate at the end of `epoch`: the last, and every `every` epochs; with `every` 0,
        also the first and those with a snapshot, and any other once the time trained since the last
        validation makes its cost at most VALIDATION_SHARE of it."""
        if last or (every and epoch % every == 0):
            return True
        if every:
            return False
        return snapshot or self.finished is None or \
            self.seconds <= VALIDATION_SHARE * (time.perf_counter() - self.finished)

    def __call__(self, state: _State, losses: list[float], start: float) -> dict:
        """The epoch record; `every`: the epochs since the one validated before (1: this one alone)."""
        began = time.perf_counter()
        result = self.pairs.evaluate(self._embedded(state), self.distance)
        every, self.epoch = max(1, state.epoch - self.epoch), state.epoch
        self.finished = time.perf_counter()
        self.seconds = self.finished - began
        return {"kind": "epoch", "epoch": state.epoch, "step": state.step,
                "train_loss": float(np.mean(losses)) if losses else None,
                "val_auc": result.auc, "val_eer": result.eer, "threshold": result.threshold,
                "val_accuracy": result.accuracy, "oneshot_accuracy": result.oneshot_accuracy,
                "n_way": result.n_way, "genuine_pairs": result.genuine_pairs,
                "impostor_pairs": result.impostor_pairs, "every": every, "elapsed": time.perf_counter() - start}

    def of(self, state: _State) -> torch.Tensor | None:
        """The embeddings (N, D) on the CPU of the weights as they are now, when these were validated."""
        return self.embeddings.cpu() if self.step == state.step else None


class _Saver:
    """Snapshots and checkpoints, copied to the CPU between two steps and written by one thread, in order,
    while the steps go on; each with the validation embeddings of its weights when they were validated,
    so no reader embeds them again. `close` waits for the writes; a write that failed fails the run."""

    def __init__(self, paths: RunPaths, validation: _Validation):
        self.paths, self.validation = paths, validation
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="run-saver")
        self.pending: list[Future] = []

    def snapshot(self, state: _State) -> None:
        """The model as the epoch's snapshot, for the embedding-evolution view."""
        self.paths.snapshots.mkdir(exist_ok=True)
        self._write(self.paths.snapshots / f"epoch-{state.epoch:04d}.pt",
                    {"model": state.model.state_dict(), "epoch": state.epoch, "step": state.step}, state)

    def checkpoint(self, state: _State, elapsed: float) -> None:
        """Everything training needs to go on."""
        self._write(self.paths.checkpoint, {
            "model": state.model.state_dict(), "loss": state.loss_fn.state_dict(),
            "optimizer": state.optimizer.state_dict(), "epoch": state.epoch, "step": state.step,
            "elapsed": elapsed, "sampler": state.sampler.state(), "augment": state.augment.state(),
            "torch_rng": torch.get_rng_state()}, state)

    def _write(self, path: Path, value: dict, state: _State) -> None:
        value, embeddings = _on_cpu(value), self.validation.of(state)
        for written in [future for future in self.pending if future.done()]:
            written.result()
        self.pending = [future for future in self.pending if not future.done()]
        self.pending.append(self.pool.submit(self._save, path, value, embeddings))

    def _save(self, path: Path, value: dict, embeddings: torch.Tensor | None) -> None:
        fingerprint = save_torch(path, value)
        if embeddings is not None:
            embedded.keep(lambda: embedded.save_embeddings(self.paths.root, "validation", path, fingerprint,
                                                           embeddings), f"the validation embeddings of {path.name}")

    def close(self) -> None:
        try:
            for future in self.pending:
                future.result()
        finally:
            self.pool.shutdown()


def _on_cpu(value):
    """A copy on the CPU of a state (tensors in dicts and lists), which the steps that follow leave alone."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _on_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(item) for item in value)
    return value


def _snapshot_small(model: torch.nn.Module) -> bool:
    return sum(p.numel() for p in model.parameters()) <= SNAPSHOT_MAX_PARAMETERS


def _snapshot_due(epoch: int, model: torch.nn.Module) -> bool:
    return _snapshot_small(model) and epoch & (epoch - 1) == 0


def _restore(paths: RunPaths, world: World, state: _State) -> None:
    # Rank 0 reads the checkpoint and sends it: the other ranks may not see the run folder.
    saved = world.broadcast(load_torch(paths.checkpoint) if world.is_main else None)
    state.model.load_state_dict(saved["model"])
    state.loss_fn.load_state_dict(saved["loss"])
    state.optimizer.load_state_dict(saved["optimizer"])
    state.sampler.set_state(saved["sampler"])
    if world.is_main:  # the saved augmentation stream is rank 0's; the others keep their own seeds
        state.augment.set_state(saved["augment"])
    torch.set_rng_state(saved["torch_rng"])
    state.epoch, state.step = int(saved["epoch"]), int(saved["step"])
    state.elapsed = float(saved.get("elapsed", 0.0))  # checkpoints from before it was saved: from zero


def _write_status(paths: RunPaths, status: str, message: str, config: TrainConfig, epoch: int,
                  world: World) -> None:
    write_status(paths.root, status, message, pid=os.getpid(), processes=world.size, epoch=epoch,
                 epochs=config.epochs, max_seconds=config.max_seconds)


def resume(run_dir: str | Path, callback: Callback | None = None, data_dir: str | Path = "data",
           world: World | None = None, **overrides) -> TrainResult:
    """Carry on training a run from its checkpoint; `overrides` may raise epochs or set max_seconds."""
    world = world or init_world()
    paths = RunPaths(Path(run_dir))
    values = None
    if world.is_main:
        config = run_config(paths.root)
        config = TrainConfig.from_dict({**config.to_dict(), **{k: v for k, v in overrides.items() if v is not None}})
        saved = load_torch(paths.checkpoint)
        if saved["epoch"] >= config.epochs:
            raise RunError(f"{paths.root.name} has already trained {saved['epoch']} of {config.epochs} epochs; "
                           "raise --epochs to train it further")
        if config.max_seconds is not None and saved.get("elapsed", 0.0) >= config.max_seconds:
            raise RunError(f"{paths.root.name} has used its time budget of {config.max_seconds:g} s; raise "
                           "--max-seconds to train it further")
        config.save(paths.config)
        values = config.to_dict()
    config = TrainConfig.from_dict(world.broadcast(values))
    return train(config, run_dir, callback, data_dir, resume=True, world=world)
