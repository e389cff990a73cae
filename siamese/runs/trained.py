"""A trained run put to use: its model loaded for inference, the one step that turns a photo into its
embedding (the run knows how its faces are cut, sized, coloured and flip-averaged), and the images it was
trained or validated on. The decision threshold is not part of the model: it is run state, read when a decision is made
(`siamese.decisions`), so saving a new one reloads and re-embeds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from ..config import TrainConfig
from ..data.dataset import FaceDataset
from ..data.mix import load_recorded
from ..data.sources import open_source
from ..device import pick_device
from ..distances import Distance
from ..errors import DatasetError, RunError
from ..faces.prepare import FaceCrop, face_tensor, faces_of, photo_cut, prepare_face
from ..losses import build_loss, pair_distance_fn
from ..models import build_model, embed_images
from . import embedded
from .files import load_torch_with_digest, read_json
from .folder import RunPaths, run_config


@dataclass
class Probe:
    """A photo made into what the model decides on."""

    face: FaceCrop            # the face found and cut as the run cuts faces
    input: torch.Tensor       # (1, C, H, W) uint8: the model's input, at the run's size and colour
    embedding: torch.Tensor   # (1, D) float32 on the CPU (flip-averaged when the run says so)


@dataclass
class TrainedModel:
    config: TrainConfig
    model: torch.nn.Module
    distance: Distance         # paired: (N, D) x (N, D) -> (N,)
    fingerprint: str           # changes whenever the weights change
    device: torch.device
    run_dir: Path
    faces: str = "whole"       # how the run's faces were cut: 'align' or 'whole' (see siamese.faces)
    weights: Path | None = None  # the file the weights were loaded from: the checkpoint or a snapshot

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (N, C, H, W) at the config's size and colour -> (N, D) float32 on the CPU."""
        return embed_images(self.model, images, self.device)

    def cut(self, detect: bool = True) -> str:
        """How a photo's face is cut for this run (`faces.prepare.photo_cut`)."""
        return photo_cut(self.faces, detect)

    def face_input(self, crop: Image.Image) -> torch.Tensor:
        """A face crop as this run's input (1, C, H, W) uint8, as the gallery stores and reads it."""
        return face_tensor(crop, self.config.input_size, self.config.colour)

    def embed_crops(self, crops: list[Image.Image]) -> list[torch.Tensor]:
        """Face crops (already cut) -> their embeddings, (1, D) each, embedded in one batch."""
        return list(self.embed(torch.cat([self.face_input(crop) for crop in crops])).split(1)) if crops else []

    def probes(self, photos: list, detect: bool = True, allow_largest: bool = False
               ) -> tuple[list[Probe | None], dict[int, str]]:
        """Photos (bytes or PIL images; None for one not given) made into probes, embedded in one batch,
        and by position why each photo given has no usable face (exactly one is needed, or the largest
        with `allow_largest`)."""
        faces, problems = faces_of(photos, self.cut(detect), allow_largest)
        found = [face for face in faces if face is not None]
        inputs = [self.face_input(face.crop) for face in found]
        vectors = self.embed(torch.cat(inputs)) if inputs else None
        made = {id(face): Probe(face, image, vectors[k:k + 1]) for k, (face, image) in enumerate(zip(found, inputs))}
        return [made.get(id(face)) if face is not None else None for face in faces], problems

    def probe(self, photo, detect: bool = True, allow_largest: bool = False) -> Probe:
        """One photo made into a probe; its problem raised as the face pipeline's error when it has none."""
        face = prepare_face(photo, self.cut(detect), allow_largest)
        image = self.face_input(face.crop)
        return Probe(face, image, self.embed(image))


def load_trained(run_dir: str | Path, checkpoint: str | Path | None = None, device: str = "auto") -> TrainedModel:
    """Load a run's model from its checkpoint (or a snapshot), with the distance it is scored by."""
    run_dir = Path(run_dir)
    paths = RunPaths(run_dir)
    config = run_config(run_dir)
    path = Path(checkpoint) if checkpoint else paths.checkpoint
    state, digest = load_torch_with_digest(path)  # the digest keys the gallery's cached embeddings
    model = build_model(TrainConfig.from_dict({**config.to_dict(), "pretrained": False}))
    split = read_json(paths.split)
    loss = build_loss(config, len(split["train"]))
    try:
        model.load_state_dict(state["model"])
        if "loss" in state:
            loss.load_state_dict(state["loss"])
    except (KeyError, RuntimeError) as exc:
        raise RunError(f"{path} does not match the run's configuration ({str(exc).splitlines()[0]})") from None
    target = pick_device(device)
    model.to(target).eval()
    loss.to("cpu").eval()
    return TrainedModel(config, model, pair_distance_fn(config, loss), digest, target, run_dir,
                        recorded_faces(run_dir, split), path)


def recorded_faces(run_dir: Path, split: dict) -> str:
    """How the run's faces were cut ('align' or 'whole'), as its split records; runs from before it was
    recorded were all trained on whole images. RunError for a record this version cannot apply."""
    faces = split.get("faces", "whole")
    if faces not in ("align", "whole"):
        raise RunError(f"run {Path(run_dir).name} records its faces as cut {faces!r}, which this version "
                       "cannot apply to photos; train a new run")
    return faces


def run_dataset(run_dir: str | Path, split: str = "validation", data: str | None = None,
                data_dir: str | Path = "data", config: TrainConfig | None = None) -> FaceDataset:
    """The images a run was trained or validated on, prepared at its input size and colour with its faces
    cut as in training: the 'validation' or 'train' identities recorded in its split, or 'all' (of a run on
    several datasets: everyone it trained or validated on, each from their own dataset). With
    `data`, another dataset, through the same face pipeline. Only the identities asked for are decoded, so
    a large streamed dataset is not read whole."""
    config = config or run_config(Path(run_dir))
    record = read_json(RunPaths(Path(run_dir)).split)
    cut = recorded_faces(Path(run_dir), record)
    sources = record.get("sources", [])
    if data or (split == "all" and len(sources) < 2):
        source = open_source(data or config.data, data_dir)
        return source.load(config.input_size, config.colour, cut=cut if source.folder is not None else "whole")
    recorded = record["train"] + record["validation"] if split == "all" else \
        record["validation" if split == "validation" else "train"]
    try:
        if len(sources) > 1:  # a run on several datasets: each person from their own, cut as it was
            return load_recorded(sources, recorded, config.input_size, config.colour, data_dir)
        return open_source(config.data, data_dir).load(config.input_size, config.colour, recorded, cut=cut)
    except DatasetError as exc:
        raise DatasetError(f"run {Path(run_dir).name} was trained on '{config.data}', which cannot be used now "
                           f"({exc}). Put that dataset back as it was, or train a new run.") from None


def run_embeddings(trained: TrainedModel, split: str = "validation", data_dir: str | Path = "data"
                   ) -> tuple[torch.Tensor, FaceDataset]:
    """(embeddings (N, D), the images they are of) of a run's 'validation', 'train' or 'all' identities by
    the loaded weights: what the run keeps of them (`runs.embedded`), else read from its dataset once,
    embedded, and kept for the next reader. The kept images are those the run's figures were computed on,
    whatever its dataset folder holds since."""
    if split not in embedded.SPLITS:
        raise RunError(f"split {split!r} is not one of {', '.join(embedded.SPLITS)}")
    run = trained.run_dir
    dataset = embedded.kept_images(run, split)
    if dataset is None:
        dataset = run_dataset(run, split, data_dir=data_dir, config=trained.config)
        embedded.keep(lambda: embedded.save_images(run, split, dataset), f"the {split} images")
    vectors = embedded.kept_embeddings(run, split, trained.weights, trained.fingerprint)
    if vectors is None or len(vectors) != len(dataset):
        vectors = trained.embed(dataset.images)
        embedded.keep(lambda: embedded.save_embeddings(run, split, trained.weights, trained.fingerprint, vectors),
                      f"the {split} embeddings")
    return vectors, dataset
