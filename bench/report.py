"""The benchmark's report: docs/BENCHMARKS.md, and its two charts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLOURS = {"default": "tab:blue", "tutorial": "tab:orange", "koch": "tab:green"}


def summarise(values: list[float | None], digits: int = 3) -> str:
    """'median (min–max)' over seeds; a target not reached counts as never (shown as —)."""
    numbers = [np.inf if v is None else v for v in values]
    if not numbers:
        return "—"
    fmt = lambda v: "—" if not np.isfinite(v) else f"{v:.{digits}f}"  # noqa: E731
    if len(numbers) == 1:
        return fmt(numbers[0])
    return f"{fmt(float(np.median(numbers)))} ({fmt(min(numbers))}–{fmt(max(numbers))})"


def chart(runs: list[dict], key: str, label: str, path: Path, low: float = 0.5) -> None:
    """`key` against training seconds, one line per setup and seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    seen = set()
    for run in runs:
        xs = [r["elapsed"] for r in run["curve"]]
        ys = [r[key] for r in run["curve"]]
        ax.plot(xs, ys, color=COLOURS.get(run["setup"], "grey"), alpha=0.8, marker=".",
                label=None if run["setup"] in seen else run["setup"])
        seen.add(run["setup"])
    ax.set_xlabel("training seconds (evaluation included)")
    ax.set_ylabel(label)
    ax.set_ylim(low, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(results: dict, command: str) -> str:
    m = results["machine"]
    merged = "".join(f" Re-measured by `{m['command']}` on {m['date']}." for m in results.get("merged", []))
    lines = ["# Benchmarks", "", f"Measured by `{command}` on {results['date']}, one measurement at a time.{merged}", "",
             f"Machine: {m['cpu_cores']} CPU cores ({m['processor']}, torch's CPU capability "
             f"{m.get('cpu_capability', 'not recorded')}), torch {m['torch']} with {m['torch_threads']} "
             f"threads, Python {m['python']}, device {results['device']}, bfloat16 training "
             f"{'available' if m['bf16'] else 'not available'}.", ""]
    lines += (_machines(results) + _view2(results) + _photos(results) + _crops(results) + _demo(results)
              + _identities(results) + _finetune(results) + _adapt(results)
              + _pages(results) + _speed(results) + _search(results) + _targets(results))
    lines += ["The same figures as JSON: `docs/benchmarks.json`.", ""]
    return "\n".join(lines)


def _machines(results: dict) -> list[str]:
    table = results.get("machines_table")
    if not table:
        return []
    lines = ["## The photographs default, by machine", "",
             "`python -m siamese train --data lfw/images --exclude-people lfw/peopleDevTest.txt --max-seconds S "
             "--precision P --seed N`, each in a fresh process, then scored on LFW View 1 (`pairsDevTest.txt`, its "
             "1,711 people never trained on; accuracy over its 10 folds, each fold's threshold chosen on the other "
             "nine), the same pairs in greyscale (a proxy for another camera), and every ORL person (another "
             "camera, grey lab crops; all 40 unseen). Median (min–max) over seeds. \"Limited to AVX2\" is this "
             "CPU with torch, oneDNN and MKL held to AVX2 (`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 "
             "MKL_ENABLE_INSTRUCTIONS=AVX2`), the instructions most CPUs have.", "",
             "| machine | seconds | seeds | View 1 accuracy | AUC | greyscale View 1 | grey AUC | LFW → ORL AUC | "
             "epochs | steps |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in table:
        lines.append(f"| {r['label']} | {r['seconds']:.0f} | {len(r['seeds'])} | {summarise(r['view1'])} | "
                     f"{r['view1_auc']:.4f} | {summarise(r['view1_grey'])} | {r['view1_grey_auc']:.4f} | "
                     f"{summarise(r['orl_auc'], 4)} | {r['epochs']:.0f} | {r['steps']:.0f} |")
    lines += ["", "Speed, side by side in each training's process: the network's own step on a fixed batch "
              "(forward, backward, update; no data, no augmentation) against the training loop's steps (sampling, "
              "augmentation and the step; validation between epochs excluded), and the step's arithmetic against "
              "the dense-arithmetic peak measured in the same process (a 2048 × 2048 matrix product in the "
              "training's precision). Outside the steps: the share of the budget spent validating, saving "
              "checkpoints and starting. Over the wall clock: the images trained a second of the whole budget. "
              "GPU busy: nvidia-smi's utilisation, sampled every second of the training (a GPU's row only).", "",
              "| machine | network alone, images/s | training loop, images/s | loop / network | over the wall "
              "clock, images/s | step GFLOP/s | matmul peak GFLOP/s | step / peak | outside the steps | GPU busy |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in table:
        busy = f"{100 * r['gpu_busy']:.0f} %" if r.get("gpu_busy") is not None else "—"
        wall = f"{r['wall']:.0f}" if r.get("wall") is not None else "—"
        lines.append(f"| {r['label']} | {r['raw']:.0f} | {r['loop']:.0f} | {r['loop'] / r['raw']:.2f} | {wall} | "
                     f"{r['raw_gflops']:.0f} | {r['peak']:.0f} | {r['raw_gflops'] / r['peak']:.2f} | "
                     f"{100 * r['outside_steps_share']:.0f} % | {busy} |")
    lines.append("")
    if results.get("face_preparation"):
        f = results["face_preparation"]
        lines += [f"Before the first of them: finding and aligning the faces of all {f['photos']:,} LFW photos into "
                  f"an empty cache, {f['workers']} processes: **{f['seconds']:.0f} s** ({f['photos_per_second']:.0f} "
                  f"photos/s), {f['no_face']} without a face. Done once; every run after reads the cache.", ""]
    return lines


def _view2(results: dict) -> list[str]:
    v = results.get("view2")
    if not v:
        return []
    budget = (f"{v['budget']['epochs']} epochs" if "epochs" in v["budget"] else f"{v['budget']['seconds']:.0f} s")
    lines = ["## LFW View 2, by its rules", "",
             "Ten trainings of the photographs default, one per fold of `people.txt`: each on the people of the "
             "other nine folds only (its validation people drawn from them), its threshold the EER threshold "
             "of its own validation pairs (training data), then scored on its fold's 300 matched and 300 mismatched pairs "
             f"of `pairs.txt`, which are of that fold's people only. {budget} each, seed {v['seed']}. Accuracy: "
             "the mean over the ten folds ± its standard error (the LFW README's estimate); AUC: the mean of the "
             "folds'; TAR at FAR: over the ten folds' 6,000 pairs pooled, each scored by its own fold's model.", "",
             "| accuracy ± SE | AUC | TAR at FAR 1e-2 | TAR at FAR 1e-3 | epochs a fold |",
             "| --- | --- | --- | --- | --- |",
             f"| **{v['accuracy']:.4f} ± {v['accuracy_sem']:.4f}** | {v['auc']:.4f} | {v['tar_at_far_1e-2']:.3f} | "
             f"{v['tar_at_far_1e-3']:.3f} | {np.median([f['epochs'] for f in v['folds']]):.0f} |", "",
             "Per fold: " + ", ".join(f"{f['fold']}: {f['accuracy']:.3f}" for f in v["folds"]) + ".", "",
             "Category on LFW's results page (http://vis-www.cs.umass.edu/lfw/results.html): **unrestricted, "
             "label-free outside data** — identities are used to form training pairs (unrestricted), and the "
             "faces are found and aligned by MTCNN, trained outside LFW without identity labels. That category's "
             "published figures could not be read from this machine (no internet), so none are quoted here: "
             "compare with the table on that page.", ""]
    return lines


def _photos(results: dict) -> list[str]:
    runs = results.get("photos")
    if not runs:
        return []
    p = results["photos_setup"]
    lines = ["## Photographs: LFW, the benchmark's protocols", "",
             f"Trained on `{p['data']}` with View 1's test people (`peopleDevTest.txt`) kept out "
             f"({p['split']} training / validation identities), {p['seconds']:.0f} s of training per setup, seeds "
             f"{', '.join(map(str, p['seeds']))}; faces detected and aligned (the same pipeline as the webcam). "
             "Figures on View 1's test pairs (`pairsDevTest.txt`, 500 matched + 500 mismatched, people never "
             "seen): accuracy is the mean over 10 folds, each fold's threshold chosen on the other nine, ± the "
             "standard deviation over folds; median (min–max) over seeds.", "",
             "| setup | seeds | View 1 accuracy | fold std | AUC | EER | TAR at FAR 1e-2 | seconds |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in p["setups"]:
        rs = [r for r in runs if r["setup"] == name]
        if rs:
            lines.append(f"| {name} | {len(rs)} | {summarise([r['view1']['accuracy'] for r in rs])} | "
                         f"{summarise([r['view1']['accuracy_std'] for r in rs])} | "
                         f"{summarise([r['view1']['auc'] for r in rs], 4)} | {summarise([r['view1']['eer'] for r in rs])} | "
                         f"{summarise([r['view1']['tar_at_far']['1e-2'] for r in rs])} | "
                         f"{summarise([r['seconds'] for r in rs], 0)} |")
    lines += ["", "![View 1 accuracy against training seconds](lfw_vs_time.png)", ""]
    return lines


def _crops(results: dict) -> list[str]:
    runs = results.get("crops")
    if not runs:
        return []
    c = results["crops_setup"]
    lines = ["## Face crops: ORL", "",
             f"Dataset `{c['data']}`, identity split {c['split']} (train / validation identities), seeds "
             f"{', '.join(map(str, c['seeds']))}, {c['seconds']:.0f} s of training per setup. Figures: median "
             "(min–max) over the seeds, on the validation identities only. Seconds include the per-epoch validation.", "",
             "| setup | AUC | EER | 10-way one-shot | s to AUC 0.95 | s to AUC 0.99 |", "| --- | --- | --- | --- | --- | --- |"]
    for name in c["setups"]:
        rs = [r for r in runs if r["setup"] == name]
        lines.append(f"| {name} | {summarise([r['auc'] for r in rs], 4)} | {summarise([r['eer'] for r in rs])} | "
                     f"{summarise([r['oneshot'] for r in rs])} | {summarise([r['seconds_to_auc_0.95'] for r in rs], 1)} | "
                     f"{summarise([r['seconds_to_auc_0.99'] for r in rs], 1)} |")
    lines += ["", "![AUC against training seconds](auc_vs_time.png)", "",
              "- default: this project's defaults for the dataset (`python -m siamese train --data ...`): face "
              "crops get a compact network at 32 px grey with CosFace; photographs a small ResNet at 64 px colour "
              "with ArcFace, faces aligned (siamese/recipes.py).",
              "- tutorial: the classic PyTorch Siamese tutorial network (3 conv layers of 4, 8, 8 channels with "
              "reflection padding and batch norm, fully connected 500-500-5), contrastive loss with margin 2, "
              "Adam 5e-4, 100×100 grey input, random 50/50 pairs, no augmentation.",
              "- koch: Koch et al. 2015 (105×105 grey, 4096-d sigmoid embedding, BCE over weighted L1), Adam 1e-4, "
              "the project's P×K batches and augmentation.", ""]
    return lines


def _demo(results: dict) -> list[str]:
    demos = results.get("demo")
    if not demos:
        return []
    first = next(iter(demos.values()))
    lines = ["## The webcam demo, measured", "",
             f"The default photographs run on people it never saw (`{Path(first.get('run_dir', '')).name}`), over "
             f"{first.get('draws', 1)} random draws of who is enrolled: three quarters of the people enrolled from 3 "
             "random photos each through the Verify page's face pipeline, up to 7 other photos of each then "
             "checked: their own name claimed (genuine), every other enrolled person's name claimed (impostor), and "
             "who-is-this (1:N); the other quarter's photos searched as strangers, who should come out \"unknown\". "
             "Each at the run's saved threshold (its validation EER) and at the thresholds calibrated on the "
             "gallery, targets FAR 1 % (1:1) and FPIR 1 % (1:N at the gallery's size). Rates are pooled over the "
             "draws. *Promised* is what the rule expected of these people's enrolment photos, with its 95 % upper "
             "bound (Clopper-Pearson on the comparisons behind it); *reached* is what the later photos did, as the "
             "mean over draws, and how many draws kept within the bound. Calibration error: the expected "
             "calibration error of the confidence of the 1:1 claims checked (one genuine and one impostor claim a "
             "photo), fitted on the gallery, and for comparison on the run's validation pairs.", "",
             "| people | thresholds | enrolled / not | genuine accepted | impostor accepted | FAR promised (bound) → "
             "reached, within bound | 1:N right | strangers unknown | FPIR promised (bound) → reached, within bound "
             "| calibration error |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, d in demos.items():
        if "skipped" in d:
            lines.append(f"| {name} | — | {d['skipped']} | | | | | | | |")
            continue
        label = "LFW View 1 test people" if name == "LFW" else f"{name}, every person"
        for source, ece in (("run", d["validation_fit_ece"]), ("gallery", d["gallery_fit_ece"])):
            r = d[source]
            lines.append(f"| {label} | {'the run' if source == 'run' else 'the gallery'} | {d['people_enrolled']} / "
                         f"{d['people_unenrolled']} | {PCT(r['genuine_accept_rate'])} ({r['genuine']:,}) | "
                         f"{PCT(r['impostor_accept_rate'])} ({r['impostor']:,}) | {_promise(r, 'far')} | "
                         f"{PCT(r['identify_correct_rate'])} | {PCT(r['unknown_rejected_rate'])} ({r['unknown']:,}) | "
                         f"{_promise(r, 'fpir')} | {'—' if ece is None else f'{ece:.3f}'} |")
    return lines + [""]


def _promise(rows: dict, rate: str) -> str:
    """'1.0 % (1.6 %) → 1.1 %, 9/10': the rate promised on the enrolment photos (mean over draws), its bound,
    the rate the later photos reached, and the draws that kept within the bound."""
    draws = rows.get("per_draw") or []
    if not draws or draws[0][f"promised_{rate}"] is None:
        return "—"
    mean = lambda key: float(np.mean([d[key] for d in draws]))  # noqa: E731
    held = sum(d[f"reached_{rate}"] <= d[f"{rate}_bound"] for d in draws)
    return (f"{PCT(mean(f'promised_{rate}'))} ({PCT(mean(f'{rate}_bound'))}) → {PCT(mean(f'reached_{rate}'))}, "
            f"{held}/{len(draws)}")


PCT = lambda v: "—" if v is None else f"{100 * v:.1f} %"  # noqa: E731


def _demo_cells(rows: dict) -> str:
    """A demo's gallery-threshold cells: genuine, impostor, 1:N right, strangers unknown."""
    r = rows["gallery"]
    return (f"{PCT(r['genuine_accept_rate'])} | {PCT(r['impostor_accept_rate'])} | {PCT(r['identify_correct_rate'])} | "
            f"{PCT(r['unknown_rejected_rate'])}")


def _auc(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _measured_on(results: dict) -> str:
    """Where the figures of the parts on starting from what was learned were measured."""
    m = results.get("transfer_machine") or results["machine"]
    return (f"Measured on {m['cpu_cores']} cores of an {m.get('cpu_model', m['processor'])} (torch's CPU capability "
            f"{m.get('cpu_capability')}), every training in fp32.")


def _identities(results: dict) -> list[str]:
    part = results.get("identities")
    if not part:
        return []
    lines = ["## Who LFW trains on: every person, and beside another camera's people", "", _measured_on(results), "",
             f"The photographs default (`python -m siamese train --data lfw/images --exclude-people "
             f"lfw/peopleDevTest.txt --precision fp32 --max-seconds {part['seconds']:.0f} --seed {part['seed']}`), "
             "trained on LFW's people with two photos or more (`--singletons leave_out`), on every person "
             "(`--singletons classes`: single-photo people are classes of their own, with augmented views), and "
             "beside half of ORL's people (`--more-data orl-half@align`: 20 people of another camera). Scored on "
             "LFW View 1 (`pairsDevTest.txt`, 10-fold accuracy) in colour and greyscale, on ORL (all 40 people, "
             "or the 20 the run did not train on), and by the webcam demo (3 photos enrolled, FAR 1 % / FPIR 1 % "
             "calibrated on the gallery) on ORL's 20 unseen people and LFW's View 1 test people.", "",
             "| training people | people | single-photo people | epochs | View 1 | greyscale View 1 | ORL AUC: "
             "all 40 / the unseen 20 | demo on | genuine accepted | impostor accepted | 1:N right | strangers unknown |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in part["runs"].items():
        for i, (where, demo) in enumerate(r["demo"].items()):
            head = (f"| {name} | {r['train_people']:,} | {r['single_image_people']:,} | {r['epochs']} | "
                    f"{r['view1']['accuracy']:.3f} | {r['view1_grey']['accuracy']:.3f} | {_auc(r.get('orl_auc'))} / "
                    f"{_auc(r.get('orl_unseen_auc'))} |") if i == 0 else "| | | | | | | |"
            cells = demo.get("skipped") or _demo_cells(demo)
            lines.append(f"{head} {where} | {cells} |")
    return lines + [""]


def _finetune(results: dict) -> list[str]:
    rows = results.get("finetune")
    if not rows:
        return []
    parent = results.get("transfer_parent", {})
    lines = ["## Face crops from what LFW taught: ORL fine-tuned from the LFW default", "", _measured_on(results), "",
             f"ORL's 30 / 10 identity split (seed N), trained from the default LFW run ({Path(parent.get('run', '')).name}: "
             "`python -m siamese train --data orl_faces --init-from RUN --freeze-epochs 2 --lr 0.0002 --max-seconds S "
             "--seed N`, its network, recipe and aligned faces, the fine-tuning preset) against trained from scratch "
             "(the face-crop default, `python -m siamese train --data orl_faces --max-seconds S --seed N`). fp32. "
             "Validation AUC, EER and 10-way one-shot accuracy (2,000 trials) on the 10 held-out people; "
             "\"at start\": the LFW run on them before any step (epoch 0).", "",
             "| seconds | seed | from | AUC | EER | 10-way one-shot | at start: AUC / one-shot | epochs |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        start = f"{r['start_auc']:.4f} / {r['start_oneshot']:.3f}" if "start_auc" in r else "—"
        lines.append(f"| {r['seconds']:.0f} | {r['seed']} | {r['how']} | {r['auc']:.4f} | {r['eer']:.3f} | "
                     f"{r['oneshot']:.3f} | {start} | {r['epochs']} |")
    return lines + [""]


def _adapt(results: dict) -> list[str]:
    part = results.get("adapt")
    if not part:
        return []
    lines = ["## Adapting to the people enrolled", "", _measured_on(results), "",
             "The webcam demo (above: 3 photos enrolled of each person, their other photos claimed and searched, "
             "a quarter of the people left out as strangers; FAR 1 % / FPIR 1 % calibrated on the gallery) with "
             "the default LFW run, then again with the same photos after `python -m siamese adapt --run RUN "
             "--gallery G --max-seconds S` (a run from it on the enrolled photos beside 300 of LFW's people, at 0.03 "
             "of its learning rate, the early layers frozen for 2 epochs; the gallery embedded and calibrated "
             "again). After adaptation the enrolled people are no longer people the model never saw; the "
             "strangers still are. A higher rate moves more and costs strangers: the gallery's thresholds are "
             "calibrated on its people compared with each other, whom the adapted model has trained apart "
             "(ORL, 60 s: a tenth of the rate gave 1:N right 97.3 % but strangers unknown 82 %).", "",
             "| people | model | enrolled / not | genuine accepted | impostor accepted | 1:N right | strangers unknown "
             "| thresholds 1:1 / 1:N |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, d in part.items():
        if "skipped" in d:
            lines.append(f"| {name} | — | {d['skipped']} | | | | | |")
            continue
        for label, rows in (("as trained", d), (f"adapted, {d['adapted']['seconds']:.0f} s "
                                                f"({d['adapted']['epochs']} epochs)", d["adapted"])):
            g = rows["gallery"]
            lines.append(f"| {name} | {label} | {d['people_enrolled']} / {d['people_unenrolled']} | "
                         f"{_demo_cells(rows)} | {g['verify_threshold']:.3f} / {g['identify_threshold']:.3f} |")
    return lines + [""]


def _search(results: dict) -> list[str]:
    """Pruning's savings on ORL, a short search on LFW judged on View 1, trials an hour by workers."""
    lines = []
    if rows := results.get("search"):
        size = (f"{rows[0]['trials']} trials of at most {rows[0]['max_epochs']} epochs" if "trials" in rows[0]
                else "its trials of at most the epochs given")
        lines += ["## Hyperparameter search: what pruning saves (ORL)", "",
                  f"`python -m bench --parts search`: the face-crop default space on ORL, TPE, each study {size}, "
                  f"the median pruner (from 4 finished trials, after 3 epochs) against none, seed(s) "
                  f"{', '.join(str(r['seed']) for r in rows)}; fp32 on the CPU above. Target: at least 40 % of the "
                  "trial-epochs saved, the best AUC within 0.005 of the unpruned search's.", "",
                  "| seed | trial-epochs pruned / not | saved | trials pruned | best val AUC pruned / not |",
                  "|---|---|---|---|---|"]
        for row in rows:
            pruned, full = row["median"], row["none"]
            lines.append(f"| {row['seed']} | {pruned['epochs']} / {full['epochs']} | {row['saved']:.0%} | "
                         f"{pruned['pruned']} | {_auc(pruned['best_auc'])} / {_auc(full['best_auc'])} |")
        lines.append("")
    if lfw := results.get("search_lfw"):
        ranked = ", ".join(f"{k} {v:.2f}" for k, v in sorted(lfw["importances"].items(), key=lambda kv: -kv[1]))
        lines += ["## Hyperparameter search on LFW, judged on View 1", "",
                  f"{lfw['trials']} trials of the photographs' default space, {lfw['seconds']:g} s each, objective "
                  f"the AUC of View 1's test pairs (their people kept out of training): best {_auc(lfw['best_auc'])} "
                  f"({', '.join(f'{k} {v:.3g}' for k, v in lfw['best_params'].items())}), against "
                  f"{_auc(lfw['default_auc'])} for the default trained as long. "
                  f"Importances (fANOVA): {ranked or 'too few complete trials'}.", ""]
    if rows := results.get("search_workers"):
        lines += ["## Search workers", "",
                  "One study of the face-crop space on ORL without pruning, by one worker and by two sharing it "
                  "(each with its share of the cores); fp32 on the CPU above.", "",
                  "| workers | trials | seconds | trials an hour |", "|---|---|---|---|"]
        lines += [f"| {r['workers']} | {r['trials']} | {r['seconds']:.0f} | {r['trials_per_hour']:.0f} |" for r in rows]
        lines.append("")
    return lines


def _pages(results: dict) -> list[str]:
    pages = results.get("pages")
    if not pages:
        return []
    cell = lambda row, key: "—" if key not in row else f"{row[key]:.2f}"  # noqa: E731
    return ["## The dashboard's pages on LFW", "",
            "A freshly started `streamlit run app.py` whose only run is the default LFW run above (5 minutes, "
            "its validation people from LFW's 13,233 photos), driven in Chromium at 1400×900: seconds from the "
            "click on a page's sidebar link until its content is on screen and its script has finished. First: "
            "each page's first visit, in the sidebar's order; warm: a switch back to it once every page has "
            "been seen; training: the same while a run trains on one core.", "",
            "| page | first visit | warm | while a run trains |", "| --- | --- | --- | --- |",
            *[f"| {r['page']} | {cell(r, 'first')} | {cell(r, 'warm')} | {cell(r, 'training')} |" for r in pages], ""]


def _speed(results: dict) -> list[str]:
    s = results.get("speed")
    lines = []
    if s:
        lines += ["## Training speed", "", "| measure | value |", "| --- | --- |"]
        for name, raw in s["raw"].items():
            lines += [f"| {name}: forward, backward, update of a batch of {raw['batch']} | {raw['images_per_second']:.0f} "
                      f"images/s, {raw['gflops']:.1f} GFLOP/s ({raw['gflop_per_step']:.2f} GFLOP a step) |"]
        if s.get("pipeline_images_per_second"):
            lines += [f"| face crops default, whole pipeline (sampling, augmentation, step) | "
                      f"{s['pipeline_images_per_second']:.0f} images/s |",
                      f"| pipeline / raw | {s['pipeline_ratio']:.2f} (overhead {100 * (1 - s['pipeline_ratio']):.0f} %) |"]
        lines += [f"| float32 2048×2048 matmul | {s['matmul_gflops']:.1f} GFLOP/s |", ""]
    if results.get("loading"):
        lines += ["## Data loading and processes", "",
                  "The face crops default for 20 s each on ORL; images per wall-clock second of training, per-epoch "
                  "validation included. On 2 cores, 2 processes compete with each other for them.", "",
                  "| how | images/s |", "| --- | --- |"]
        lines += [f"| {row['what']} | {row['images_per_second']:.0f} |" for row in results["loading"]] + [""]
    latency = results.get("latency", []) + results.get("explain", [])
    if latency:
        lines += ["## Dashboard latencies", "", "| measure | seconds |", "| --- | --- |"]
        lines += [f"| {row['what']} | {row['seconds']:.3f} |" for row in latency] + [""]
    return lines


def _targets(results: dict) -> list[str]:
    """The project's targets for this 2-core CPU, each with the measured figure and whether it is met."""
    rows = []
    photos = [r for r in results.get("photos", []) if r["setup"] == "default"]
    if photos:
        acc = float(np.median([r["view1"]["accuracy"] for r in photos]))
        auc = float(np.median([r["view1"]["auc"] for r in photos]))
        rows += [("photographs: LFW View 1 accuracy >= 0.85 in 5 min (median of seeds)", f"{acc:.3f}", acc >= 0.85),
                 ("photographs: LFW View 1 AUC >= 0.92 (median)", f"{auc:.4f}", auc >= 0.92)]
    for r in results.get("machines_table", []):
        med = lambda values: float(np.median(values))  # noqa: E731
        if r["precision"] == "fp32" and "AVX2" in r["label"]:
            rows += [(f"{r['label']}, {r['seconds']:.0f} s: View 1 accuracy >= 0.88", f"{med(r['view1']):.3f}",
                      med(r["view1"]) >= 0.88),
                     (f"{r['label']}: View 1 AUC >= 0.95", f"{r['view1_auc']:.4f}", r["view1_auc"] >= 0.95),
                     (f"{r['label']}: greyscale View 1 accuracy >= 0.85", f"{med(r['view1_grey']):.3f}",
                      med(r["view1_grey"]) >= 0.85),
                     (f"{r['label']}: LFW → ORL AUC >= 0.985", f"{med(r['orl_auc']):.4f}", med(r["orl_auc"]) >= 0.985)]
        if r["precision"] == "bf16":
            rows.append((f"{r['label']}, {r['seconds']:.0f} s: View 1 accuracy >= 0.92", f"{med(r['view1']):.3f}",
                         med(r["view1"]) >= 0.92))
        rows.append((f"{r['label']}: training loop >= 90 % of the network's own step rate",
                     f"{100 * r['loop'] / r['raw']:.0f} %", r["loop"] / r["raw"] >= 0.9))
    crops = [r for r in results.get("crops", []) if r["setup"] == "default"]
    if crops:
        auc = float(np.median([r["auc"] for r in crops]))
        oneshot = float(np.median([r["oneshot"] for r in crops]))
        rows += [("face crops: ORL validation AUC >= 0.97 in 60 s, not falling back (median)", f"{auc:.4f}", auc >= 0.97),
                 ("face crops: ORL validation AUC >= 0.99 (median; open)", f"{auc:.4f}", auc >= 0.99),
                 ("face crops: 10-way one-shot >= 0.95 (median)", f"{oneshot:.3f}", oneshot >= 0.95)]
    speed = results.get("speed") or {}
    if speed.get("pipeline_ratio"):
        rows.append(("pipeline overhead <= 10 %", f"{100 * (1 - speed['pipeline_ratio']):.0f} %",
                     speed["pipeline_ratio"] >= 0.9))
    for r in results.get("pages", []):
        rows.append((f"page {r['page']}: first visit <= 5 s", f"{r['first']:.2f} s", r["first"] <= 5))
    if results.get("pages"):
        warm = max(max(r.get("warm", 0), r.get("training", 0)) for r in results["pages"])
        rows.append(("a page switch <= 1 s, warm and while a run trains (the slowest page)", f"{warm:.2f} s",
                     warm <= 1))
    latency = {row["what"]: row["seconds"] for row in results.get("latency", [])}
    umap_400 = next((v for k, v in latency.items() if "400" in k and "warm" in k), None)
    verify_1000 = next((v for k, v in latency.items() if k.startswith("verify one") and "1000" in k), None)
    for row in results.get("explain", []):
        rows.append((f"{row['what']} <= 1 s", f"{row['seconds']:.2f} s", row["seconds"] <= 1))
    if umap_400 is not None:
        rows.append(("warm UMAP of 400 embeddings <= 2 s", f"{umap_400:.2f} s", umap_400 <= 2))
    if verify_1000 is not None:
        rows.append(("verify one snapshot with 1,000 identities <= 50 ms", f"{1000 * verify_1000:.0f} ms",
                     verify_1000 <= 0.05))
    if not rows:
        return []
    return ["## Against the targets", "", "| target | measured | met |", "| --- | --- | --- |",
            *[f"| {t} | {m} | {'yes' if ok else 'no'} |" for t, m, ok in rows], ""]
