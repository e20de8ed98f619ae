"""The backbone comparison table (Markdown + JSON) from training runs' report.json."""

from __future__ import annotations

import json
from pathlib import Path

from .evaluate import pct


def measure(runs: list[Path], rounds: int = 3) -> dict[str, tuple[float, float]]:
    """CPU latency of every frame run's model measured together, interleaved, `rounds`
    times (best median per model): numbers taken minutes apart on a shared machine are not
    comparable. Temporal forms (stateful inputs) keep the latency of their own report."""
    import tomllib

    from .evaluate import OnnxClassifier

    best: dict[str, list[float]] = {}
    runs = [r for r in runs if "kind" not in json.loads((r / "report.json").read_text())["model"]]
    for _ in range(rounds):
        for run in runs:
            man = tomllib.loads((run / "model.toml").read_text())
            t = [OnnxClassifier(run / "model.onnx", man, threads=n).latency_ms(runs=20) for n in (1, 2)]
            old = best.get(run.name, [float("inf")] * 2)
            best[run.name] = [min(a, b) for a, b in zip(old, t)]
    return {k: (v[0], v[1]) for k, v in best.items()}


def _row(run: Path, lat: dict) -> dict:
    """One table row from a run's report.json: a frame run of `train`, or a temporal
    form (`<run>/tsm` or `<run>/clip`) of `train-temporal`."""
    r = json.loads((run / "report.json").read_text())
    m = r["model"]
    cfg = r["training"]["config"]
    test = r["results"].get("test", {})
    params = m["params"]
    # train-temporal's reports name their form (stateful or clip), and its folders are tsm/ and clip/
    name = f"{run.parent.name}/{run.name}" if "kind" in m else run.name
    return {
        "run": name, "backbone": m["backbone"], "alpha": m["alpha"],
        "head": m.get("head", "gap"), "kind": m.get("kind", "frame"), "frames": m.get("frames", 1),
        "input": m["input_size"],
        "backbone_params": params["backbone"] if isinstance(params, dict) else None,
        "params": params["total"] if isinstance(params, dict) else params,
        "macs": m["macs"] if "macs" in m else m["macs_per_call"], "epochs": m["epochs_run"],
        "planned_epochs": cfg["epochs"], "budget_min": cfg.get("max_minutes"), "train_s": m["train_seconds"],
        "frame_acc": test.get("frame", {}).get("accuracy"), "clip_acc": test.get("clip", {}).get("accuracy"),
        "recall": {k: v["recall"] for k, v in test.get("clip", {}).get("per_class", {}).items()},
        "lat1": lat.get(run.name, (m["latency_ms"]["threads_1_ms"],))[0],
        "lat2": lat.get(run.name, (0, m["latency_ms"]["threads_2_ms"]))[1],
        "mb": m["bytes"] / 1e6,
    }


def recall_table(rows: list[dict]) -> list[str]:
    """Per-class clip recall on the test groups, one row per run (classes as columns)."""
    labels = sorted({k for x in rows for k in x["recall"]})
    if not labels:
        return []
    lines = ["| run | " + " | ".join(labels) + " |", "| --- |" + " --- |" * len(labels)]
    for x in rows:
        cells = [pct(x["recall"].get(k)) for k in labels]
        lines.append(f"| {x['run']} | " + " | ".join(cells) + " |")
    return lines


def table(runs: list[Path], note: str = "", remeasure: bool = False) -> str:
    lat = measure(runs) if remeasure else {}
    rows = [_row(run, lat) for run in runs]
    lines = [
        "| run | backbone | head | input | backbone params | total params | multiply-adds | training | "
        "test frame acc. | test clip acc. | CPU latency 1 / 2 threads | ONNX size |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for x in rows:
        budget = f"{x['epochs']} of {x['planned_epochs']} epochs, {x['train_s'] / 60:.0f} min"
        if x["budget_min"]:
            budget += f" (budget {x['budget_min']:g} min)"
        name = x["backbone"] + (f" α{x['alpha']:g}" if x["alpha"] != 1.0 else "")
        if x["kind"] != "frame":
            name += f" ({x['kind']}, {x['frames']} frame{'s' if x['frames'] > 1 else ''} per call)"
        bparams = "—" if x["backbone_params"] is None else f"{x['backbone_params']:,}"
        lines.append(
            f"| {x['run']} | {name} | {x['head']} | {x['input']}² | {bparams} | {x['params']:,} | "
            f"{x['macs'] / 1e6:,.0f} M | {budget} | {pct(x['frame_acc'])} | {pct(x['clip_acc'])} | "
            f"{x['lat1']:.1f} / {x['lat2']:.1f} ms | {x['mb']:.1f} MB |")
    recall = recall_table(rows)
    if recall:
        lines += ["", "Per-class clip recall on the test groups:", ""] + recall
    text = "\n".join(lines) + "\n"
    if note:
        text += "\n" + note.strip() + "\n"
    return text
