"""The people models' comparison: a single-frame model's and a TSM model's test results
side by side (clip accuracy on held-out groups, per-class recall, confusion matrices,
the pairs that need motion), and whether the issue's targets were met."""

from __future__ import annotations

import json
from pathlib import Path

from .evaluate import pct

MOTION_PAIRS = [("walking", "running"), ("waving", "clapping")]
TARGET_CLIP_ACCURACY = 0.90


def pair_result(result: dict, labels: list[str], pair: tuple[str, str]) -> dict:
    """Clip accuracy over the clips of the pair's two classes, and how many of them were
    taken for the other class of the pair."""
    conf = result["confusion"]
    a, b = (labels.index(x) for x in pair)
    total = sum(conf[a]) + sum(conf[b])
    right = conf[a][a] + conf[b][b]
    return {"pair": list(pair), "clips": total, "correct": right, "accuracy": right / total if total else None,
            "swapped": conf[a][b] + conf[b][a]}



def conf_table(conf: list[list[int]], labels: list[str]) -> list[str]:
    short = [lab[:5] for lab in labels]
    out = ["| true \\ predicted | " + " | ".join(short) + " |", "| --- |" + " ---: |" * len(labels)]
    out += [f"| {lab} | " + " | ".join(str(v) for v in row) + " |" for lab, row in zip(labels, conf)]
    return out


def summarize(frame_report: dict, tsm_report: dict) -> dict:
    """The comparison as data (written as people_comparison.json)."""
    labels = frame_report["data"]["labels"]
    if tsm_report["data"]["labels"] != labels:
        raise ValueError("the two runs have different labels")
    # Each run's figures are from its own test: a frame run tested before the data set was
    # rendered again (attempt 18's falls and sits) would be compared on other clips.
    fps = [rep["data"].get("fingerprint") for rep in (frame_report, tsm_report)]
    if None not in fps and fps[0] != fps[1]:
        raise ValueError(f"the two runs were tested on different data (fingerprints {fps[0][:12]}… and "
                         f"{fps[1][:12]}…): export the frame run again on this data (people/export-frame.sh)")
    out = {"labels": labels, "models": {}}
    for key, rep in (("frame", frame_report), ("tsm", tsm_report)):
        clip = rep["results"]["test"]["clip"]
        m = rep["model"]
        out["models"][key] = {
            "name": m["name"], "params": m["params"]["total"] if isinstance(m["params"], dict) else m["params"],
            "macs": m.get("macs", m.get("macs_per_call")), "epochs_run": m["epochs_run"],
            "best_epoch": m["best_epoch"], "train_seconds": m["train_seconds"],
            "init_from": rep.get("training", {}).get("config", {}).get("init_from"),
            "frame_accuracy": m["frame_accuracy"], "clip_accuracy": m["clip_accuracy"],
            "video_accuracy": m["video_accuracy"], "latency_ms": m["latency_ms"],
            "test_groups": rep["data"]["split"]["test_groups"] if "split" in rep["data"] else None,
            "recall": {lab: clip["per_class"][lab]["recall"] for lab in labels},
            "confusion": clip["confusion"], "clips": clip["count"],
            "pairs": [pair_result(clip, labels, p) for p in MOTION_PAIRS if set(p) <= set(labels)]}
    f, t = out["models"]["frame"], out["models"]["tsm"]
    out["targets"] = {
        "tsm_clip_accuracy_at_least_90": t["clip_accuracy"] >= TARGET_CLIP_ACCURACY,
        "tsm_beats_frame_on_every_motion_pair": all(
            tp["accuracy"] is not None and fp["accuracy"] is not None and tp["accuracy"] > fp["accuracy"]
            for tp, fp in zip(t["pairs"], f["pairs"])),
        # A pair comparison means something only when both models are well above chance;
        # a model that answers one class of each pair for everything wins a pair for free.
        "both_models_above_twice_chance": min(f["clip_accuracy"], t["clip_accuracy"]) >= 2 / len(labels),
    }
    return out


def epochs(m: dict) -> str:
    """Epochs run (kept), or, for an untrained re-export (train --epochs 0), whose weights."""
    if m["epochs_run"] == 0 and m.get("init_from"):
        return f"none here: `{m['init_from']}` exported untrained"
    return f"{m['epochs_run']} ({m['best_epoch']})"


def markdown(s: dict) -> str:
    labels, f, t = s["labels"], s["models"]["frame"], s["models"]["tsm"]
    lines = ["| | single-frame MobileNetV2 | TSM MobileNetV2 |", "| --- | --- | --- |"]
    rows = [("model", "name", str), ("parameters", "params", lambda v: f"{v:,}"),
            ("multiply-adds per frame", "macs", lambda v: f"{v / 1e6:.1f} M"),
            ("epochs run (kept)", None, None), ("training time", "train_seconds", lambda v: f"{v:.0f} s"),
            ("per-frame / per-call accuracy", "frame_accuracy", pct),
            ("**clip accuracy** (mean of 8, stride 4)", "clip_accuracy", pct),
            ("video accuracy", "video_accuracy", pct),
            ("CPU latency, 1 thread", "latency_ms", lambda v: f"{v['threads_1_ms']:.2f} ms")]
    for title, key, fmt in rows:
        if key is None:
            lines.append(f"| {title} | {epochs(f)} | {epochs(t)} |")
        else:
            lines.append(f"| {title} | {fmt(f[key])} | {fmt(t[key])} |")
    lines += ["", "### Pairs that need motion (test clips of the two classes)", "",
              "| pair | single-frame accuracy | TSM accuracy | single-frame swaps | TSM swaps | clips |",
              "| --- | --- | --- | --- | --- | --- |"]
    for fp, tp in zip(f["pairs"], t["pairs"]):
        lines.append(f"| {' / '.join(fp['pair'])} | {pct(fp['accuracy'])} | {pct(tp['accuracy'])} | "
                     f"{fp['swapped']} | {tp['swapped']} | {fp['clips']} / {tp['clips']} |")
    lines += ["", "### Clip recall per class (test groups)", "", "| class | single-frame | TSM |", "| --- | --- | --- |"]
    lines += [f"| {lab} | {pct(f['recall'][lab])} | {pct(t['recall'][lab])} |" for lab in labels]
    for title, m in (("single-frame MobileNetV2", f), ("TSM MobileNetV2", t)):
        lines += ["", f"### Clip confusion matrix, {title} (rows: true, columns: predicted)", ""]
        lines += conf_table(m["confusion"], labels)
    tg = s["targets"]
    lines += ["", "### Targets", "",
              f"- TSM clip accuracy ≥ 90 % on held-out groups: **{'met' if tg['tsm_clip_accuracy_at_least_90'] else 'not met'}** "
              f"({pct(t['clip_accuracy'])}).",
              f"- TSM better than the single-frame model on both motion pairs: "
              f"**{'met' if tg['tsm_beats_frame_on_every_motion_pair'] else 'not met'}**"
              + ("." if tg["both_models_above_twice_chance"] else
                 " on paper only: a model at chance overall that answers one class of a pair for most clips wins "
                 "that pair for free, so this comparison means nothing until both models are well above chance.")]
    return "\n".join(lines) + "\n"


def write(frame_run: Path, tsm_run: Path, out_md: Path) -> dict:
    """Reads <frame_run>/report.json and <tsm_run>/tsm/report.json (or <tsm_run>/report.json),
    writes the markdown and a JSON beside it."""
    fr = json.loads((frame_run / "report.json").read_text())
    tpath = tsm_run / "tsm" / "report.json"
    tr = json.loads((tpath if tpath.exists() else tsm_run / "report.json").read_text())
    s = summarize(fr, tr)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text(markdown(s))
    out_md.with_suffix(".json").write_text(json.dumps(s, indent=1) + "\n")
    return s
