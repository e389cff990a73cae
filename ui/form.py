"""The Train page's form: one widget per configuration field, described by `siamese.config.form_field`,
laid out in groups; the widgets' state lives under `cfg_<field>` keys."""

from __future__ import annotations

import streamlit as st

from siamese.config import form_field
from siamese.losses import default_margin

LAYOUT = [("Model", ["model", "embedding_dim", "input_size", "colour", "faces", "normalize", "flip_average"]),
          ("Loss", ["loss", "margin", "mining", "distance"]),
          ("Optimisation", ["optimizer", "lr", "lr_schedule", "weight_decay", "p", "k", "sampler"]),
          ("Budget and data", ["epochs", "max_seconds", "augment", "augmentation", "augment_strength",
                               "grey_fraction", "val_fraction", "exclude_people", "seed"])]
FIELDS = [name for _, names in LAYOUT for name in names]


def fill(values: dict) -> None:
    """Set every widget of the form to `values` (a preset, or a new dataset's defaults)."""
    for name in FIELDS:
        st.session_state[f"cfg_{name}"] = values[name]


def forget() -> None:
    """Drop the widgets' values, so the next form starts from its defaults."""
    for name in FIELDS:
        st.session_state.pop(f"cfg_{name}", None)


def config_form(values: dict) -> dict:
    """The form, its widgets starting at `values` the first time; returns the values chosen."""
    chosen = {}
    for column, (group, names) in zip(st.columns(len(LAYOUT)), LAYOUT):
        with column:
            st.markdown(f"**{group}**")
            for name in names:
                chosen[name] = _widget(name, values[name], chosen.get("loss"))
    return chosen


def _widget(name: str, default, loss: str | None):
    spec, key = form_field(name), f"cfg_{name}"
    if key not in st.session_state:
        st.session_state[key] = default
    if spec.kind == "choice":
        return st.selectbox(spec.label, spec.choices, key=key, help=spec.help)
    if spec.kind == "bool":
        return st.checkbox(spec.label, key=key, help=spec.help)
    if spec.kind == "int":
        return st.number_input(spec.label, min_value=int(spec.minimum), step=1, key=key, help=spec.help)
    if spec.kind == "text":
        return st.text_input(spec.label, key=key, help=spec.help, placeholder="nobody") or None
    margin = default_margin(loss) if name == "margin" else None
    empty = ("no limit" if name == "max_seconds" else f"{loss}'s default: {margin}" if margin is not None
             else f"{loss} has no margin")
    return st.number_input(spec.label, min_value=spec.minimum, key=key, help=spec.help, format="%g",
                           placeholder=empty if spec.kind == "optional" else None)
