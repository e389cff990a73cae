"""Why a decision went the way it did, drawn beside it: both faces with the maps of where they agree and
differ (`siamese.explain`), in an expander so that the decision stays first."""

from __future__ import annotations

import streamlit as st
import torch

from siamese.decisions import Rule
from siamese.explain import decomposition_problem, explain_pair, picture
from siamese.runs.trained import TrainedModel

METHODS = {"where they agree (decomposition)": "decomposition", "covering patches (occlusion)": "occlusion"}


def explanation(trained: TrainedModel, a: torch.Tensor, b: torch.Tensor, rule: Rule, key: str,
                what: str = "the two faces", embeddings: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """An expander explaining the distance of two faces, (1, C, H, W) uint8 at the run's input size, as
    `rule` decided it; `embeddings` (1, D) each, the decision's own, are not computed again."""
    with st.expander(f"Why? Where {what} agree and where they differ"):
        why_not = decomposition_problem(trained)
        if why_not:
            st.caption(f"Shown by occlusion: {why_not}.")
            method = "occlusion"
        else:
            method = METHODS[st.radio("Method", list(METHODS), horizontal=True, key=f"explain_{key}")]
        explained = explain_pair(trained, a, b, rule, method, embeddings)
        st.image(picture(explained, a, b, rule), width=560)
        if explained.method == "decomposition":
            st.caption(f"The similarity of the two embeddings, {explained.similarity:.3f}, is a sum over pairs of "
                       "locations of the network's last feature map (Stylianou et al. 2019): each face's map shows "
                       "its locations' shares, red where they agree, blue where they differ; both add up to "
                       f"{explained.map_sum:.3f}. Yellow lines join the most alike locations.")
        else:
            crossing = int(explained.crosses_a.sum() + explained.crosses_b.sum())
            st.caption("Each patch of one face covered with grey in turn: red where covering it moves the pair apart "
                       "(it made them alike), blue where it brings them closer, in distance units up to "
                       f"{max(abs(explained.map_a).max(), abs(explained.map_b).max()):.3f}; "
                       f"{crossing} patch(es), outlined, move the pair across the threshold on their own.")


def open_a_mistake(trained: TrainedModel, data, hardest: dict, rule: Rule) -> None:
    """A choice of one of the hardest mistakes (`PairScores.hardest`, over the images of `data`) at the
    page's `rule`, and its explanation."""
    pairs = [("false accept", *pair) for pair in hardest["false_accepts"]] + \
            [("false reject", *pair) for pair in hardest["false_rejects"]]
    if not pairs:
        return
    name = lambda k: data.identities[int(data.labels[k])]  # noqa: E731
    chosen = st.selectbox("Open a mistake to see why", range(len(pairs)), key="mistake_opened",
                          format_func=lambda n: f"{pairs[n][0]}: {name(pairs[n][1])} / {name(pairs[n][2])} · "
                                                f"d={pairs[n][3]:.3f}")
    _, i, j, _ = pairs[chosen]
    explanation(trained, data.images[i][None], data.images[j][None], rule, "mistake")
