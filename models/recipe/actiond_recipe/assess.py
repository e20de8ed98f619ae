"""An exported model scored on any labelled folder in UCF101's layout (your own clips, or
another render): frames through the daemon's `extract-frames` at the model's size, the
model run as the daemon runs it (frame, clip or stateful), per-frame, clip (the
daemon's smoothing) and video accuracy, per-class recall and the clip confusion matrix; on
rendered clips also the clip accuracy by how much of the frame height the main person fills."""

from __future__ import annotations

import tomllib
from pathlib import Path

from . import dataset as ds
from .evaluate import evaluate, pct
from .people_report import MOTION_PAIRS, conf_table, pair_result
from .temporal_export import classifier


def model_frames(model: Path, data: Path, actiond: str, cache: Path, groups: list[int] | None = None,
                 sample_fps: float = 5.0, log=print) -> tuple[dict, list, dict]:
    """The manifest of `model`, the videos of `data` in `groups` (all when None) and their frames
    at the model's input, through the daemon's `extract-frames` (cached in `cache`)."""
    man = tomllib.loads((model.parent / "model.toml").read_text())
    labels = man["labels"]
    _, videos = ds.scan(data)
    if groups is not None:
        videos = [v for v in videos if v.group in set(groups)]
    if not videos:
        raise SystemExit(f"no videos in {data}" + (f" in groups {ds.groups_text(groups)}" if groups else ""))
    unknown = sorted({v.label for v in videos} - set(labels))
    if unknown:
        raise SystemExit(f"{data} has classes the model {model} does not know: {unknown} (its labels: {labels})")
    inp = man["input"]
    if inp["width"] != inp["height"]:
        raise SystemExit(f"{model}: only square inputs are supported here ({inp['width']}×{inp['height']})")
    frames = ds.extract(videos, cache, actiond, inp["width"], inp.get("resize", "stretch"),
                        inp.get("channel_order", "RGB"), sample_fps, log=log)
    return man, videos, frames


def assess(model: Path, data: Path, actiond: str, cache: Path, groups: list[int] | None = None,
           sample_fps: float = 5.0, smoothing: dict | None = None, from_onset: float | None = None,
           log=print) -> dict:
    """Scores `model` (its model.toml beside it) on the videos of `data` in `groups` (all when None);
    with `from_onset`, also on the clips but a rendered fall's or sit's before that share of it is under way."""
    smoothing = smoothing or {"method": "mean", "window": 8, "stride": 4}
    man, videos, frames = model_frames(model, data, actiond, cache, groups, sample_fps, log)
    labels = man["labels"]
    under_way = ds.under_way_times(videos, from_onset) if from_onset is not None else None
    results = evaluate(classifier(model, man, threads=1), videos, frames, labels, smoothing, under_way, sample_fps,
                       ds.person_heights(videos))
    clip = results["clip"]
    return {"model": str(model), "name": man.get("name"), "data": str(data), "videos": len(videos),
            "groups": ds.groups_text(sorted({v.group for v in videos})), "sample_fps": sample_fps, "labels": labels,
            "from_onset": from_onset,
            "results": results,
            "pairs": [pair_result(clip, labels, p) for p in MOTION_PAIRS if set(p) <= set(labels)]}


def markdown(r: dict) -> str:
    """Accuracy per level, the motion pairs, per-class clip recall and the clip confusion matrix."""
    res, labels = r["results"], r["labels"]
    sm = res["clip"]["smoothing"]
    lines = [f"`{r['model']}` on `{r['data']}` (groups {r['groups']}, {r['videos']} videos, "
             f"{r.get('sample_fps', 5.0):g} fps)", "",
             "| level | accuracy | count |", "| --- | --- | --- |",
             f"| per frame / call | {pct(res['frame']['accuracy'])} | {res['frame']['count']} |",
             f"| **clip** ({sm['method']}, window {sm['window']}, stride {sm['stride']}) | "
             f"**{pct(res['clip']['accuracy'])}** | {res['clip']['count']} |",
             f"| video | {pct(res['video']['accuracy'])} | {res['video']['count']} |"]
    if "clip_under_way" in res:
        uw = res["clip_under_way"]
        lines.append(f"| clip, but a fall's or sit's clips that end before {100 * r['from_onset']:g} % of it is under way "
                     f"({uw['left_out']} left out) | {pct(uw['accuracy'])} | {uw['count']} |")
    if r["pairs"]:
        lines += ["", "| pair that needs motion | clip accuracy | swaps | clips |", "| --- | --- | --- | --- |"]
        lines += [f"| {' / '.join(p['pair'])} | {pct(p['accuracy'])} | {p['swapped']} | {p['clips']} |"
                  for p in r["pairs"]]
    pc = res["clip"]["per_class"]
    lines += ["", "| class | clip recall | precision | clips |", "| --- | --- | --- | --- |"]
    lines += [f"| {lab} | {pct(pc[lab]['recall'])} | {pct(pc[lab]['precision'])} | {pc[lab]['support']} |"
              for lab in labels if pc[lab]["support"]]
    lines += ["", "Clip confusion matrix (rows: true, columns: predicted):", ""] + conf_table(res["clip"]["confusion"],
                                                                                                labels)
    lines += position_table(res["clip"], labels)
    lines += height_table(res["clip"])
    return "\n".join(lines) + "\n"


def height_table(clip: dict) -> list[str]:
    """Clip accuracy by the share of the frame height the main person fills (rendered clips only)."""
    bands = clip.get("by_height") or []
    if not bands:
        return []
    lines = ["", "Clip accuracy by how much of the frame height the main person fills standing (rendered clips):", "",
             "| height | clip accuracy | clips |", "| --- | ---: | ---: |"]
    for b in bands:
        band = (f"{b['from']:g} and more" if b["to"] is None else f"under {b['to']:g}" if b["from"] == 0
                else f"{b['from']:g}–{b['to']:g}")
        lines.append(f"| {band} | {pct(b['accuracy'])} | {b['count']} |")
    return lines


def position_table(clip: dict, labels: list[str]) -> list[str]:
    """Clip recall per class by where the clip lies in its video (mean smoothing, up to 12 places)."""
    ends = clip.get("by_end_frame", {})
    sm = clip["smoothing"]
    if sm["method"] != "mean" or not 1 < len(ends) <= 12:
        return []
    keys = sorted(ends, key=int)
    head = [f"frames {int(k) - sm['window']}–{int(k) - 1}" for k in keys]
    lines = ["", "Clip recall by where the clip lies in its video (frames counted from 0 at the sampling rate):", "",
             "| class | " + " | ".join(head) + " |", "| --- |" + " ---: |" * len(keys)]
    for lab in labels:
        cells = [ends[k]["recall"][lab] for k in keys]
        if any(c is not None for c in cells):
            lines.append(f"| {lab} | " + " | ".join(pct(c) if c is not None else "–" for c in cells) + " |")
    lines.append("| **all** | " + " | ".join(pct(ends[k]["accuracy"]) for k in keys) + " |")
    return lines
