"""Static int8 quantization of a recipe model with ONNX Runtime: calibrated on frames of
the model's own training groups (extracted by `actiond extract-frames`, as in training),
written in QDQ form (int8 weights per channel, uint8 activations), and measured against
the fp32 model on the same held-out groups: accuracy change and CPU latency."""

import json
import shutil
import time
import tomllib
from pathlib import Path

import numpy as np

from . import dataset as ds
from .evaluate import OnnxClassifier, evaluate, write_json
from .export import METADATA_MANIFEST, set_metadata


def _frames_of(videos, frames: dict) -> np.ndarray:
    parts = [frames[v.rel] for v in videos if len(frames[v.rel])]
    return np.concatenate(parts) if parts else np.zeros((0, 1, 1, 3), np.uint8)


def calibration_frames(videos, frames: dict, count: int, seed: int) -> np.ndarray:
    """`count` frames drawn evenly at random from the training videos' frames."""
    x = _frames_of(videos, frames)
    if len(x) == 0:
        raise SystemExit("no training frames to calibrate with")
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(x), size=min(count, len(x)), replace=False))
    return x[pick]


def int8_manifest(text: str) -> str:
    """The fp32 manifest with `-int8` appended to the model's name."""
    m = tomllib.loads(text)
    name = m["name"]
    out = text.replace(f'name = "{name}"', f'name = "{name}-int8"', 1)
    if tomllib.loads(out)["name"] != f"{name}-int8":
        raise SystemExit("cannot rename the model in its manifest")
    return out


def quantize_file(fp32: Path, out: Path, clf: OnnxClassifier, calib: np.ndarray, work: Path) -> None:
    """QDQ int8 `out` from `fp32`, activations calibrated (min/max) on `calib`."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = work / "prepared.onnx"
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
    name = clf.manifest["input"]["name"]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(range(0, len(calib), 16))

        def get_next(self):
            i = next(self.batches, None)
            return None if i is None else {name: clf.prepare(calib[i:i + 16])}

    quantize_static(str(prepared), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)


def _split(model_dir: Path, videos, cfg: dict) -> dict:
    """The groups the model was trained and tested on (its report's, else its config's)."""
    report = model_dir / "report.json"
    if report.exists():
        s = json.loads(report.read_text())["data"]["split"]
        if s.get("method") == "by group":
            return ds.split_by_group(videos, s["test_groups"], s["val_groups"], cfg.get("seed", 1))
    if cfg.get("split_dir"):
        return ds.split_from_files(videos, Path(cfg["split_dir"]), cfg.get("split_index", 1),
                                   cfg.get("val_groups"), cfg.get("seed", 1))
    return ds.split_by_group(videos, cfg.get("test_groups"), cfg.get("val_groups"), cfg.get("seed", 1))


def _measure(path: Path, manifest: dict, videos, frames, labels, smoothing) -> dict:
    clf = OnnxClassifier(path, manifest, threads=1)
    res = evaluate(clf, videos, frames, labels, smoothing)
    return {"frame_accuracy": res["frame"]["accuracy"], "clip_accuracy": res["clip"]["accuracy"],
            "per_class_clip": res["clip"]["per_class"], "confusion_clip": res["clip"]["confusion"],
            "latency_ms": {"threads_1": round(clf.latency_ms(runs=60), 3),
                           "threads_2": round(OnnxClassifier(path, manifest, threads=2).latency_ms(runs=60), 3)},
            "bytes": path.stat().st_size}


def quantize(model_dir: Path, data: Path, out: Path, actiond: str | None = None, calib_count: int = 256,
             seed: int = 0, log=print) -> dict:
    """Quantizes `model_dir`/model.onnx into `out`, with `out`/quantization.json and REPORT.md."""
    t0 = time.time()
    out.mkdir(parents=True, exist_ok=True)
    man_text = (model_dir / "model.toml").read_text()
    manifest = tomllib.loads(man_text)
    cfg = json.loads((model_dir / "training_config.json").read_text())
    labels, videos = ds.scan(Path(data))
    if labels != manifest["labels"]:
        raise SystemExit(f"the data's classes {labels} are not the model's labels {manifest['labels']}")
    split = _split(model_dir, videos, cfg)
    inp = manifest["input"]
    frames = ds.extract(videos, out / "cache" / "frames", ds.find_actiond(actiond), inp["width"],
                        inp["resize"], inp["channel_order"], cfg.get("sample_fps", 5.0), log=log)
    fp32 = model_dir / "model.onnx"
    calib = calibration_frames(split["train"], frames, calib_count, seed)
    log(f"calibrating on {len(calib)} frames of training groups {ds.groups_text(split['train_groups'])}")
    int8 = out / "model.onnx"
    quantize_file(fp32, int8, OnnxClassifier(fp32, manifest, threads=0), calib, out / "cache")
    int8_text = int8_manifest(man_text)
    set_metadata(int8, {METADATA_MANIFEST: int8_text})
    (out / "model.toml").write_text(int8_text)
    held_out = split["test"] or split["val"]
    smoothing = cfg.get("smoothing", {"method": "mean", "window": 8, "stride": 4})
    rows = {kind: _measure(p, manifest, held_out, frames, labels, smoothing)
            for kind, p in (("fp32", fp32), ("int8", int8))}
    f, q = rows["fp32"], rows["int8"]
    summary = {
        "model": manifest["name"], "calibration_frames": int(len(calib)), "calibration": "min/max",
        "format": "QDQ, int8 weights per channel, uint8 activations",
        "held_out_groups": split["test_groups"] or split["val_groups"], "held_out_videos": len(held_out),
        "fp32": f, "int8": q,
        "frame_accuracy_change_points": round(100 * (q["frame_accuracy"] - f["frame_accuracy"]), 2),
        "clip_accuracy_change_points": round(100 * (q["clip_accuracy"] - f["clip_accuracy"]), 2),
        "speedup_1_thread": round(f["latency_ms"]["threads_1"] / q["latency_ms"]["threads_1"], 2),
        "speedup_2_threads": round(f["latency_ms"]["threads_2"] / q["latency_ms"]["threads_2"], 2),
        "elapsed_s": round(time.time() - t0, 1),
    }
    write_json(out / "quantization.json", summary)
    (out / "REPORT.md").write_text(report_markdown(summary))
    shutil.rmtree(out / "cache" / "frames", ignore_errors=True)
    log(f"int8: clip accuracy {q['clip_accuracy']:.4f} (fp32 {f['clip_accuracy']:.4f}, "
        f"{summary['clip_accuracy_change_points']:+.2f} points); latency 1 thread {q['latency_ms']['threads_1']} ms "
        f"(fp32 {f['latency_ms']['threads_1']} ms, ×{summary['speedup_1_thread']})")
    return summary


def report_markdown(s: dict) -> str:
    f, q = s["fp32"], s["int8"]

    def pct(x):
        return "–" if x is None else f"{100 * x:.1f} %"

    lines = [
        f"# {s['model']}-int8: static int8 quantization",
        "",
        f"ONNX Runtime static quantization ({s['format']}), {s['calibration']} calibration on "
        f"{s['calibration_frames']} frames of the training groups; measured against the fp32 model on held-out "
        f"groups {s['held_out_groups']} ({s['held_out_videos']} videos), CPU provider, batch 1.",
        "",
        "| | fp32 | int8 | change |",
        "|---|---|---|---|",
        f"| frame accuracy | {pct(f['frame_accuracy'])} | {pct(q['frame_accuracy'])} | "
        f"{s['frame_accuracy_change_points']:+.2f} points |",
        f"| clip accuracy | {pct(f['clip_accuracy'])} | {pct(q['clip_accuracy'])} | "
        f"{s['clip_accuracy_change_points']:+.2f} points |",
        f"| latency, 1 thread (median) | {f['latency_ms']['threads_1']:.2f} ms | {q['latency_ms']['threads_1']:.2f} ms | "
        f"×{s['speedup_1_thread']} |",
        f"| latency, 2 threads (median) | {f['latency_ms']['threads_2']:.2f} ms | {q['latency_ms']['threads_2']:.2f} ms | "
        f"×{s['speedup_2_threads']} |",
        f"| file size | {f['bytes'] / 1e6:.1f} MB | {q['bytes'] / 1e6:.1f} MB | |",
        "",
        "Per-class clip recall (fp32 → int8):",
        "",
    ]
    for label, r in f["per_class_clip"].items():
        lines.append(f"- {label}: {pct(r.get('recall'))} → {pct(q['per_class_clip'][label].get('recall'))}")
    return "\n".join(lines) + "\n"
