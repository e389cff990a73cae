"""The Train page's form: one widget per configuration field, described by `siamese.config.form_field`,
laid out in groups; the widgets' state lives under `cfg_<field>` keys. "Start from" (a trained run whose
network a new run begins with) stands above them: choosing a run fills the form with its network and recipe."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from siamese.config import OPTIONAL_FIELDS, TrainConfig, form_field
from siamese.errors import SiameseError
from siamese.losses import default_margin
from siamese.runs.folder import run_config
from siamese.runs.lineage import parent_files
from siamese.train.parent import NETWORK_FIELDS, inherit, load_parent, network_differences

LAYOUT = [("Data", ["more_data", "data_people", "val_fraction", "validate_from", "singletons", "exclude_people"]),
          ("Model", ["model", "embedding_dim", "input_size", "colour", "faces", "normalize", "flip_average"]),
          ("Loss", ["loss", "margin", "mining", "distance"]),
          ("Optimisation", ["optimizer", "lr", "lr_schedule", "weight_decay", "freeze_epochs", "p", "k", "sampler"]),
          ("Training", ["epochs", "max_seconds", "augment", "augmentation", "augment_strength",
                        "grey_fraction", "seed"])]
FIELDS = [name for _, names in LAYOUT for name in names]
# What an empty optional field means, said in the widget.
EMPTY = {"max_seconds": "no limit", "exclude_people": "nobody", "more_data": "no other dataset",
         "data_people": "all of them"}
NEW_WEIGHTS = "nothing: new weights"
START_FROM_HELP = ("A new run whose embedding network begins with a trained run's weights (its final checkpoint); "
                   "choosing one fills the form with its network and the recipe that trained it, keeping this "
                   "form's dataset and budget. The loss's class centres start new, for the new people. Not "
                   "the same as Resume (above), which carries one run on with its optimiser and its clock.")


def chosen_for(data: str, defaults: dict) -> dict:
    """The Train form's values for dataset `data` as this session last chose them, over `defaults` (the
    dataset's: what the form starts from)."""
    chosen = st.session_state.get("train_values", {}) if st.session_state.get("cfg_defaults_of") == data else {}
    return {**TrainConfig(data=data).to_dict(), **defaults, **chosen}


def fill(values: dict) -> None:
    """Set every widget of the form to `values` (a preset, a parent's, or a new dataset's defaults)."""
    for name in FIELDS:
        st.session_state[f"cfg_{name}"] = values[name]


def forget() -> None:
    """Drop the widgets' values, so the next form starts from its defaults."""
    for name in FIELDS:
        st.session_state.pop(f"cfg_{name}", None)


def start_from(col, current: str | None, choices: list[tuple[Path, str]]) -> str | None:
    """The "Start from" choice: nothing, or one of `choices` (`train.parent.parent_choices`); a run or
    snapshot named by the link but not among them is offered too (`parent_problem` says what is wrong with
    it). Returns the run folder (or snapshot file) chosen, or None."""
    labels = {str(path): label for path, label in choices}
    if current and current not in labels:
        run_dir, weights = parent_files(current)
        labels[current] = run_dir.name + ("" if weights.parent == run_dir else f", {weights.name}")
    options = [None, *labels]
    if st.session_state.get("cfg_init_from", current) not in options:  # gone meanwhile
        st.session_state.pop("cfg_init_from")
    st.session_state.setdefault("cfg_init_from", current)
    return col.selectbox("Start from", options, key="cfg_init_from", help=START_FROM_HELP,
                         format_func=lambda path: NEW_WEIGHTS if path is None else labels[path])


def follow_parent(values: dict, parent: str | None, data: str) -> dict:
    """The form's values once the parent or the dataset has changed: a parent chosen (or kept for a new
    dataset) fills the form with its network and recipe (`train.parent.inherit`); a link's values are
    kept as they are the first time."""
    st.session_state.setdefault("cfg_parent_of", (parent, data))
    if st.session_state.cfg_parent_of == (parent, data):
        return {**values, "init_from": parent}
    st.session_state.cfg_parent_of = (parent, data)
    if parent is None:  # new weights: nothing to keep frozen
        st.session_state.cfg_freeze_epochs = 0
        return {**values, "init_from": None, "freeze_epochs": 0}
    try:
        values = inherit({**values, "data": data}, parent)
    except SiameseError as exc:
        st.error(f"The form was not filled from {Path(parent).name}: {exc}")
        return {**values, "init_from": parent}
    fill(values)
    return values


def parent_problem(config: TrainConfig, choices: list[tuple[Path, str]]) -> str | None:
    """Why a run configured from `config` could not start from its parent, in words; None when it can (or
    when it starts from new weights). A parent that is not among `choices` is loaded to say why."""
    if not config.init_from:
        return None
    run_dir, _ = parent_files(config.init_from)
    try:
        if config.init_from not in {str(path) for path, _ in choices}:
            parent = load_parent(config.init_from).config
        else:
            parent = run_config(run_dir)
    except SiameseError as exc:
        return f"This run cannot start from {run_dir.name}: {exc}"
    differences = network_differences(parent, config)
    if not differences:
        return None
    return (f"The form's network differs from {run_dir.name}'s, so its weights cannot be loaded: "
            f"{'; '.join(differences)}. Take its network back, or start from new weights.")


def take_network(values: dict, parent: str) -> None:
    """Set the form's network fields back to the parent's, keeping every other value (a button's callback:
    it runs before the widgets are drawn again)."""
    try:
        fill(inherit(values, parent, keep=tuple(set(values) - set(NETWORK_FIELDS))))
    except SiameseError as exc:
        st.session_state.cfg_take_failed = str(exc)


def config_form(values: dict) -> dict:
    """The form, its widgets starting at `values` the first time; returns the values chosen."""
    chosen = {}
    for column, (group, names) in zip(st.columns(len(LAYOUT)), LAYOUT):
        with column:
            st.markdown(f"**{group}**")
            for name in names:
                chosen[name] = _widget(name, values[name], chosen.get("loss") or values["loss"])
    return chosen


def _widget(name: str, default, loss: str):
    spec, key = form_field(name), f"cfg_{name}"
    if key not in st.session_state:
        st.session_state[key] = default
    if spec.kind == "choice":
        return st.selectbox(spec.label, spec.choices, key=key, help=spec.help)
    if spec.kind == "bool":
        return st.checkbox(spec.label, key=key, help=spec.help)
    if spec.kind == "int":
        return st.number_input(spec.label, min_value=int(spec.minimum), step=1, key=key,
                               help=spec.help, placeholder=EMPTY.get(name))
    if spec.kind == "text":
        return st.text_input(spec.label, key=key, help=spec.help, placeholder=EMPTY.get(name)) or None
    margin = default_margin(loss) if name == "margin" else None
    empty = (EMPTY.get(name) or (f"{loss}'s default: {margin}" if margin is not None else f"{loss} has no margin"))
    return st.number_input(spec.label, min_value=spec.minimum, key=key, help=spec.help, format="%g",
                           placeholder=empty if name in OPTIONAL_FIELDS else None)
