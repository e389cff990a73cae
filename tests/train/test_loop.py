"""The training loop (siamese/train/loop.py): it learns, it writes a complete run folder, it is reproducible,
and it stops, resumes and diverges cleanly."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path

import pytest
import torch

from siamese.config import TrainConfig
from siamese.errors import RunError, SiameseError
from siamese.evaluate.scores import evaluate_embeddings
from siamese.losses import build_loss, pair_distance_fn
from siamese.models import build_model, embed_images
from siamese.runs.files import load_torch, read_metrics
from siamese.decisions.saved import read_threshold
from siamese.runs.folder import RunPaths, new_run_dir
from siamese.runs.status import read_status
from siamese.train import loop as train_module
from siamese.train.inputs import prepare_data
from siamese.train.loop import ONESHOT_TRIALS_PER_EPOCH, _Objective, resume, train

STEP_KEYS = {"kind", "epoch", "step", "loss", "images_per_second", "elapsed", "steps_total"}
EPOCH_KEYS = {"kind", "epoch", "step", "train_loss", "val_auc", "val_eer", "threshold", "val_accuracy",
              "oneshot_accuracy", "n_way", "elapsed"}
END_KEYS = {"kind", "status", "message", "epoch", "step", "elapsed"}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train fastest on one thread, and a busy machine does not slow them down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "runs" / name
    folder.mkdir(parents=True)
    return folder


def strict_json(line: str) -> dict:
    """json.loads that refuses NaN and Infinity, which are not JSON (RFC 8259) and break other readers."""
    def refuse(constant):
        raise ValueError(f"{constant} is not valid JSON")
    return json.loads(line, parse_constant=refuse)


def metrics_lines(run_dir: Path) -> list[dict]:
    text = (run_dir / "metrics.jsonl").read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [strict_json(line) for line in text.splitlines()]


def untrained_auc(config: TrainConfig) -> float:
    """Validation AUC of the network train() starts from: same seed, same build order, same evaluation."""
    torch.manual_seed(config.seed)
    _, val_set, _ = prepare_data(config)
    model = build_model(config)
    loss_fn = build_loss(config, 2)  # only the BCE head scores pairs; cosface centres never do
    embeddings = embed_images(model, val_set.images, "cpu")
    result = evaluate_embeddings(embeddings, val_set.labels.numpy(), pair_distance_fn(config, loss_fn),
                                 n_way=10, trials=ONESHOT_TRIALS_PER_EPOCH, seed=config.seed)
    return result.auc


@pytest.mark.parametrize("loss, mining", [("cosface", "batch_hard"), ("contrastive", "batch_hard"), ("triplet", "batch_all"),
                                          ("triplet", "batch_hard"), ("triplet", "semi_hard"),
                                          ("bce", "batch_hard")])
def test_short_training_improves_validation_auc(noisy_faces, tmp_path, loss, mining, small_config):
    config = small_config(noisy_faces, loss=loss, mining=mining, epochs=6)
    before = untrained_auc(config)
    result = train(config, run_folder(tmp_path, f"{loss}-{mining}"))
    assert result.status == "finished"
    assert result.steps == 18  # 36 training images / (4 x 3) = 3 batches an epoch
    after = result.final["val_auc"]
    assert before < 0.8, f"the untrained network already separates the identities (AUC {before:.3f})"
    assert after > 0.9, f"{loss}/{mining}: validation AUC {after:.3f} after 18 steps"
    assert after > before + 0.1, f"{loss}/{mining}: AUC {before:.3f} -> {after:.3f}"


def test_untrained_network_is_the_one_train_starts_from(noisy_faces, tmp_path, monkeypatch, small_config):
    """untrained_auc() rebuilds train()'s initial network: the same seed gives the same initial weights."""
    captured = {}
    real_build_model = train_module.build_model

    def build(config):
        model = real_build_model(config)
        captured.update({k: v.clone() for k, v in model.state_dict().items()})
        return model

    monkeypatch.setattr(train_module, "build_model", build)
    config = small_config(noisy_faces, epochs=1)
    train(config, run_folder(tmp_path, "init"))
    torch.manual_seed(config.seed)
    fresh = build_model(config).state_dict()
    assert captured.keys() == fresh.keys()
    assert all(torch.equal(captured[k], fresh[k]) for k in fresh)


def test_run_folder_is_complete_and_consistent(faces, tmp_path, small_config):
    config = small_config(faces, epochs=4)
    run = run_folder(tmp_path, "complete")
    result = train(config, run)
    paths = RunPaths(run)

    assert TrainConfig.load(paths.config) == config
    assert json.loads(paths.config.read_text()) == config.to_dict()

    split = json.loads(paths.split.read_text())
    train_ids, val_ids = set(split["train"]), set(split["validation"])
    assert not train_ids & val_ids
    assert train_ids | val_ids == {f"person_{i:02d}" for i in range(12)}
    assert len(val_ids) == 6

    records = metrics_lines(run)
    for record in records:
        expected = {"step": STEP_KEYS, "epoch": EPOCH_KEYS, "end": END_KEYS}[record["kind"]]
        assert expected <= set(record), record  # the documented keys (more may be added)
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["step"] for r in steps] == list(range(1, 13))
    assert {r["steps_total"] for r in steps} == {12}
    assert [r["epoch"] for r in epochs] == [1, 2, 3, 4]
    assert all(0.5 <= r["val_auc"] <= 1 and 0 <= r["val_eer"] <= 0.5 for r in epochs)
    assert records[-1] == {**records[-1], "kind": "end", "status": "finished", "epoch": 4, "step": 12}
    assert read_metrics(paths.metrics, "epoch") == epochs

    status = read_status(run)
    assert status["status"] == "finished" and status["epoch"] == 4

    state = torch.load(paths.checkpoint, map_location="cpu", weights_only=True)
    assert state["epoch"] == 4 and state["step"] == 12
    model = build_model(config)
    model.load_state_dict(state["model"])

    assert read_threshold(run) == pytest.approx(epochs[-1]["threshold"])
    assert json.loads((run / "threshold.json").read_text())["source"] == "eer"
    assert sorted(p.name for p in paths.snapshots.iterdir()) == ["epoch-0001.pt", "epoch-0002.pt",
                                                                 "epoch-0004.pt"]
    assert result.final == epochs[-1]


def test_same_seed_gives_identical_runs(faces, tmp_path, small_config):
    config = small_config(faces, epochs=2, augment=True)
    first = train(config, run_folder(tmp_path, "a"))
    second = train(small_config(faces, epochs=2, augment=True), run_folder(tmp_path, "b"))
    losses_a = [r["loss"] for r in read_metrics(first.run_dir / "metrics.jsonl", "step")]
    losses_b = [r["loss"] for r in read_metrics(second.run_dir / "metrics.jsonl", "step")]
    assert len(losses_a) == 6
    assert losses_a == losses_b
    assert first.final["val_auc"] == second.final["val_auc"]

    other_seed = train(small_config(faces, epochs=2, augment=True, seed=1), run_folder(tmp_path, "c"))
    losses_c = [r["loss"] for r in read_metrics(other_seed.run_dir / "metrics.jsonl", "step")]
    assert losses_c != losses_a


def stop_after(run: Path, steps: int):
    def callback(record: dict) -> None:
        if record["kind"] == "step" and record["step"] == steps:
            (run / "STOP").touch()
    return callback


def test_stop_file_then_resume(faces, tmp_path, small_config):
    run = run_folder(tmp_path, "stopped")
    config = small_config(faces, epochs=4)
    stopped = train(config, run, stop_after(run, 4))
    assert (stopped.status, stopped.message) == ("stopped", "stopped on request")
    assert stopped.steps == 4 and stopped.epochs == 2
    assert read_status(run)["status"] == "stopped"
    state = load_torch(run / "checkpoint.pt")
    assert (state["epoch"], state["step"]) == (2, 4)
    assert read_threshold(run) is not None

    seen = []
    finished = resume(run, seen.append)
    assert finished.status == "finished"
    assert not (run / "STOP").exists()
    steps = [r for r in seen if r["kind"] == "step"]
    # The stopped run counted epoch 2 as done: resuming goes on with epoch 3 and step 5.
    assert (steps[0]["epoch"], steps[0]["step"]) == (3, 5)
    assert (finished.epochs, finished.steps) == (4, 10)
    assert read_status(run)["status"] == "finished"

    records = metrics_lines(run)
    assert [r["status"] for r in records if r["kind"] == "end"] == ["stopped", "finished"]
    logged_steps = [r["step"] for r in records if r["kind"] == "step"]
    assert logged_steps == list(range(1, 11))
    assert load_torch(run / "checkpoint.pt")["epoch"] == 4


def test_a_resumed_run_s_clock_carries_on_and_its_time_budget_is_kept(faces, tmp_path, small_config):
    run = run_folder(tmp_path, "clock")
    train(small_config(faces, epochs=400, max_seconds=60.0), run, stop_after(run, 4))
    before = load_torch(run / "checkpoint.pt")["elapsed"]
    first = [r["elapsed"] for r in metrics_lines(run) if r["kind"] == "step"]
    resume(run, stop_after(run, 8))
    records = [r for r in metrics_lines(run) if r["kind"] == "step"]
    assert before > 0 and [r["elapsed"] for r in records][:len(first)] == first
    assert all(r["elapsed"] >= before for r in records[len(first):])  # the clock goes on, not from zero
    assert load_torch(run / "checkpoint.pt")["elapsed"] > before

    spent = run_folder(tmp_path, "spent")
    train(small_config(faces, epochs=400, max_seconds=0.5), spent)
    with pytest.raises(RunError, match="has used its time budget of 0.5 s; raise --max-seconds"):
        resume(spent)
    assert resume(spent, max_seconds=2.0).status == "finished"


def test_resume_may_raise_the_epoch_limit(faces, tmp_path, small_config):
    run = run_folder(tmp_path, "longer")
    train(small_config(faces, epochs=1), run)
    result = resume(run, epochs=2)
    assert (result.status, result.epochs, result.steps) == ("finished", 2, 6)
    assert TrainConfig.load(run / "config.json").epochs == 2


def test_divergence_keeps_the_last_good_checkpoint(faces, tmp_path, loss_turns_nan, small_config):
    run = run_folder(tmp_path, "diverging")
    config = small_config(faces, epochs=4)
    train(config, run, stop_after(run, 3))
    good = (run / "checkpoint.pt").read_bytes()
    good_threshold = read_threshold(run)

    loss_turns_nan()
    result = resume(run)
    assert result.status == "diverged"
    assert "diverged" in result.message and "Lower the learning rate" in result.message
    status = read_status(run)
    assert status["status"] == "diverged" and "Lower the learning rate" in status["message"]
    assert "Traceback" not in status["message"]
    assert (run / "checkpoint.pt").read_bytes() == good
    state = load_torch(run / "checkpoint.pt")
    assert state["step"] == 3 and all(torch.isfinite(t).all() for t in state["model"].values())
    assert read_threshold(run) == good_threshold
    records = metrics_lines(run)
    assert records[-1]["kind"] == "end" and records[-1]["status"] == "diverged"


def test_divergence_from_the_first_step(faces, tmp_path, loss_turns_nan, small_config):
    loss_turns_nan()
    run = run_folder(tmp_path, "nan")
    result = train(small_config(faces), run)
    assert (result.status, result.steps) == ("diverged", 0)
    assert "Lower the learning rate (now 0.003)" in result.message
    assert not (run / "checkpoint.pt").exists()
    assert read_status(run)["status"] == "diverged"
    assert metrics_lines(run)[-1]["status"] == "diverged"


def test_time_budget_stops_a_long_run(faces, tmp_path, small_config):
    result = train(small_config(faces, epochs=10_000, max_seconds=0.5), run_folder(tmp_path, "budget"))
    assert (result.status, result.message) == ("finished", "time budget reached")
    assert result.epochs < 10_000
    assert result.final is not None and result.final["epoch"] == result.epochs
    assert (result.run_dir / "checkpoint.pt").exists()
    assert read_status(result.run_dir)["status"] == "finished"


def test_callback_gets_progress_with_fraction_and_remaining(faces, tmp_path, small_config):
    seen = []
    train(small_config(faces, epochs=3), run_folder(tmp_path, "progress"), seen.append)
    steps = [r for r in seen if r["kind"] == "step"]
    assert len(steps) == 9
    fractions = [r["fraction"] for r in steps]
    assert fractions == pytest.approx([i / 9 for i in range(1, 10)])
    assert all(r["remaining"] >= 0 and math.isfinite(r["remaining"]) for r in steps)
    assert steps[-1]["remaining"] == 0
    assert [r["kind"] for r in seen].count("epoch") == 3
    assert seen[-1]["kind"] == "end" and seen[-1]["status"] == "finished"


def test_every_config_field_is_in_the_saved_config(faces, tmp_path, small_config):
    run = run_folder(tmp_path, "fields")
    train(small_config(faces, epochs=1), run)
    saved = json.loads((run / "config.json").read_text())
    assert set(saved) == {f.name for f in fields(TrainConfig)}


def test_resuming_a_finished_run_without_more_epochs_is_clean(faces, tmp_path, small_config):
    run = run_folder(tmp_path, "done")
    train(small_config(faces, epochs=1), run)
    try:
        result = resume(run)
    except SiameseError as exc:
        assert "epochs" in str(exc)
    else:
        assert (result.status, result.epochs, result.steps) == ("finished", 1, 3)
    assert read_status(run)["status"] == "finished"
    metrics_lines(run)  # every line strict JSON (no NaN train_loss for an epoch without steps)


def test_streaming_from_disk_trains_exactly_like_decoding_up_front(noisy_faces, tmp_path, small_config):
    in_memory = train(small_config(noisy_faces, data_loading="memory", augment=True), run_folder(tmp_path, "m"))
    streamed = train(small_config(noisy_faces, data_loading="stream", loader_workers=2, augment=True),
                     run_folder(tmp_path, "s"))
    # The same seeded batches, decoded by two worker processes instead of up front: the same run.
    losses = [[r["loss"] for r in read_metrics(result.run_dir / "metrics.jsonl", "step")]
              for result in (in_memory, streamed)]
    assert len(losses[0]) == 9 and losses[0] == losses[1]
    assert streamed.final["val_auc"] == in_memory.final["val_auc"]
    assert json.loads((streamed.run_dir / "split.json").read_text())["streamed"] is True


def test_resume_rewrites_a_damaged_status_file(faces, tmp_path, small_config):
    run = run_folder(tmp_path, "damaged")
    train(small_config(faces, epochs=1), run)
    (run / "status.json").write_text('{"status": "runn')  # torn by a crash
    result = resume(run, epochs=2)
    assert result.status == "finished" and result.epochs == 2
    assert read_status(run)["status"] == "finished"


def test_a_metrics_line_cut_by_a_kill_then_resume_leaves_valid_json_lines(make_identity_folders, tmp_path):
    faces = make_identity_folders(n_identities=12, n_images=6)
    config = TrainConfig(data=str(faces), input_size=32, embedding_dim=8, p=4, k=2, augment=False,
                         val_fraction=0.34, device="cpu", seed=0, epochs=2)
    run = new_run_dir(tmp_path / "runs", "cut")

    def stop_mid_epoch(record):
        if record["kind"] == "step" and record["step"] == 2:
            RunPaths(run).stop.touch()

    assert train(config, run, stop_mid_epoch, data_dir=tmp_path).status == "stopped"
    metrics = RunPaths(run).metrics
    assert read_metrics(metrics, "step")[-1]["steps_total"] > 2 * 2  # stopped inside the first epoch
    with open(metrics, "a") as handle:  # what a SIGKILL in the middle of a write leaves
        handle.write('{"kind": "step", "epoch": 1, "step": 3, "lo')
    assert resume(run, data_dir=tmp_path).status == "finished"
    text = metrics.read_text()
    refuse = lambda constant: pytest.fail(f"{constant} is not JSON")  # noqa: E731
    records = [json.loads(line, parse_constant=refuse) for line in text.splitlines()]
    assert text.endswith("\n") and len(records) == len(read_metrics(metrics))
    assert [r["epoch"] for r in records if r["kind"] == "epoch"][-1] == 2


def test_bf16_runs_the_network_in_bfloat16_and_the_loss_in_float32(small_config, faces):
    from siamese.losses import build_loss
    from siamese.models import build_model
    from siamese.train.distributed import World

    config = small_config(faces, loss="arcface", model="face_resnet", embedding_dim=8)
    model, loss_fn = build_model(config), build_loss(config, 4)
    seen = []
    model.backbone.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    objective = _Objective(model, loss_fn, World(), gather=False, bf16=True)
    loss = objective(torch.rand(8, 1, 32, 32) * 2 - 1, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    loss.backward()
    assert seen == [torch.bfloat16] and loss.dtype == torch.float32
    assert loss_fn.centres.grad is not None and loss_fn.centres.grad.dtype == torch.float32


@pytest.mark.parametrize("share, validated, every", [(0.0, [1, 2, 4, 6], [1, 1, 2, 2]),
                                                     (1e9, [1, 2, 3, 4, 5, 6], [1] * 6)])
def test_validation_by_time_keeps_the_first_last_and_snapshot_epochs_and_says_what_it_skipped(
        faces, tmp_path, small_config, monkeypatch, share, validated, every):
    """eval_every 0: an epoch is validated when the time trained since the last validation makes its cost a
    small share; with no share allowed, only the first, the last and the snapshot epochs (1, 2, 4) are."""
    monkeypatch.setattr(train_module, "VALIDATION_SHARE", share)
    run = run_folder(tmp_path, f"share-{share}")
    result = train(small_config(faces, epochs=6, eval_every=0), run)
    epochs = read_metrics(RunPaths(run).metrics, "epoch")
    assert [r["epoch"] for r in epochs] == validated and [r["every"] for r in epochs] == every
    assert result.final == epochs[-1]
    # every snapshot has the validation embeddings of its weights kept beside it
    kept = sorted(p.name for p in RunPaths(run).embeddings.glob("validation-epoch-*.pt"))
    assert kept == ["validation-epoch-0001.pt", "validation-epoch-0002.pt", "validation-epoch-0004.pt",
                    "validation-epoch-0006.pt"]


def test_a_checkpoint_that_cannot_be_written_fails_the_run(faces, tmp_path, small_config, monkeypatch):
    """Checkpoints are written by a thread; its failure still reaches the caller."""
    def refuse(path, value):
        raise RunError(f"cannot write {path.name}: disk full")

    monkeypatch.setattr(train_module, "save_torch", refuse)
    with pytest.raises(RunError, match="disk full"):
        train(small_config(faces, epochs=1), run_folder(tmp_path, "full"))


def test_a_saved_state_is_a_copy_that_later_steps_leave_alone():
    weights = torch.ones(3)
    saved = train_module._on_cpu({"model": {"w": weights}, "groups": [{"lr": 0.1, "params": [0]}], "step": 4})
    weights.add_(1)
    assert torch.equal(saved["model"]["w"], torch.ones(3))
    assert saved["groups"] == [{"lr": 0.1, "params": [0]}] and saved["step"] == 4


@pytest.mark.parametrize("loss", ["arcface", "cosface"])
def test_the_objective_a_gpu_captures_traces_whole_and_gives_the_plain_loss_and_gradients(small_config, faces, loss):
    """On CUDA the step's objective is compiled and captured (`CAPTURE`); what it computes is checked here
    with the same tracing on the CPU: one graph (nothing left out of the capture), the same loss and the
    same gradients as the plain objective, in bf16 as the GPU recipe trains."""
    import copy

    from siamese.train.distributed import World
    from siamese.train.loop import CAPTURE, captured

    config = small_config(faces, loss=loss, model="face_resnet_lite", embedding_dim=16, colour="rgb")
    torch.manual_seed(0)
    plain = _Objective(build_model(config), build_loss(config, 4), World(), gather=False, bf16=True)
    twin = copy.deepcopy(plain)
    assert captured(plain, torch.device("cpu"), World()) is plain  # compiled on CUDA only
    compiled = torch.compile(twin, backend="aot_eager", fullgraph=True, dynamic=CAPTURE["dynamic"])
    x, labels = torch.rand(8, 3, 32, 32) * 2 - 1, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    for objective in (plain, compiled):
        objective(x, labels).backward()
    torch.testing.assert_close(compiled(x, labels), plain(x, labels))
    for (name, a), b in zip(plain.named_parameters(), twin.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-3, atol=1e-4, msg=name)
