"""Folder of labelled videos → trained, exported, evaluated model with its report.

Steps: scan the UCF101-layout folder → split by group → extract frames with the
daemon's own pipeline → train (Keras 3, TensorFlow CPU) → export ONNX + manifest +
metadata → evaluate the exported file through ONNX Runtime → report.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from . import augment as aug
from . import config
from . import dataset as ds
from . import schedule
from .evaluate import OnnxClassifier, confusion_png, evaluate, pct, write_json

DEFAULTS = {
    "name": None,  # default: "<backbone>-<folder name>"
    "backbone": "mobilenet_v2",
    "alpha": 1.0,
    "head": "gap",
    "hidden": 256,
    "dropout": 0.3,
    "weights": None,  # a local no-top weights file (e.g. ImageNet); nothing is downloaded
    "init_from": None,  # a whole-model weights file of an earlier run (<run>/cache/model.weights.h5)
    "size": 128,
    "resize": "stretch",
    "channel_order": "RGB",
    "sample_fps": 5.0,
    "train_frame_step": 1,  # train on every n-th extracted frame (neighbours are near duplicates)
    "normalization": "imagenet",  # or "dataset" or "unit"
    "augment": aug.DEFAULT_AUGMENT,
    "epochs": 12,
    "batch_size": 32,
    "learning_rate": 2e-3,
    "weight_decay": 1e-4,
    "label_smoothing": 0.05,
    "bn_momentum": 0.9,  # Keras' 0.999 needs thousands of steps before eval-mode BN is usable
    "max_minutes": None,  # stop training after this long (keeps the best epoch so far)
    "seed": 1,
    "test_groups": None,
    "val_groups": None,
    "split_dir": None,  # UCF101 split files (trainlist0N.txt / testlist0N.txt)
    "split_index": 1,
    "smoothing": {"method": "mean", "window": 8, "stride": 4},
    "layout": "NHWC",
    "output": "probabilities",
    "threads": 2,
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Frames:
    """Training samples: every extracted frame of every training video."""

    def __init__(self, videos, frames, labels, step=1):
        idx = {lab: i for i, lab in enumerate(labels)}
        xs, ys = [], []
        for v in videos:
            f = frames[v.rel][::step]
            xs.append(f)
            ys += [idx[v.label]] * len(f)
        self.x = np.concatenate(xs) if xs else np.zeros((0, 1, 1, 3), np.uint8)
        self.y = np.asarray(ys, np.int32)


def make_dataset(x, y, batch, augmenter, norm, seed, shuffle):
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0
            self.order = np.arange(len(x))
            self.on_epoch_end()

        def __len__(self):
            return (len(x) + batch - 1) // batch

        def on_epoch_end(self):
            if shuffle:
                np.random.default_rng((seed, self.epoch)).shuffle(self.order)
            self.epoch += 1

        def __getitem__(self, i):
            sel = self.order[i * batch:(i + 1) * batch]
            imgs = x[sel]
            if augmenter is not None:
                rng = np.random.default_rng((seed, self.epoch, i))
                imgs = np.stack([augmenter(im, rng) for im in imgs])
            return aug.normalize(imgs, norm), y[sel]

    return Batches()


def tensorflow(threads: int):
    """Keras and TensorFlow with `threads` intra-op threads and one inter-op thread."""
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return keras, tf


def check_epochs(cfg: dict) -> None:
    """Refuses, before TensorFlow loads, a negative --epochs and --epochs 0 without --init-from."""
    if cfg["epochs"] < 0:
        raise SystemExit(f"--epochs {cfg['epochs']}: give 0 (export --init-from untrained) or more")
    if cfg["epochs"] == 0 and not cfg["init_from"]:
        raise SystemExit("--epochs 0 exports and evaluates the --init-from weights as they are: give --init-from")


def train(data: Path, out: Path, cfg: dict, actiond: str | None = None, log=print) -> dict:
    cfg = config.settings(DEFAULTS, cfg)
    check_epochs(cfg)
    keras, tf = tensorflow(int(cfg["threads"]))
    from . import export as ex
    from . import nets

    t_start = time.time()
    out.mkdir(parents=True, exist_ok=True)
    data = Path(data)
    labels, videos = ds.scan(data)
    if cfg["split_dir"]:
        split = ds.split_from_files(videos, Path(cfg["split_dir"]), cfg["split_index"], cfg["val_groups"], cfg["seed"])
    else:
        split = ds.split_by_group(videos, cfg["test_groups"], cfg["val_groups"], cfg["seed"])
    for part in ("train", "val", "test"):
        missing = sorted(set(labels) - {v.label for v in split[part]})
        if missing and part != "val":
            log(f"warning: no {part} videos of class(es) {missing}")
    log(f"{len(videos)} videos, {len(labels)} classes {labels}; split by group: train {ds.groups_text(split['train_groups'])}, "
        f"val {ds.groups_text(split['val_groups'])}, test {ds.groups_text(split['test_groups'])} "
        f"({len(split['train'])}/{len(split['val'])}/{len(split['test'])} videos)")
    fp = ds.fingerprint(videos)
    actiond = ds.find_actiond(actiond)
    frames = ds.extract(videos, out / "cache" / "frames", actiond, cfg["size"], cfg["resize"],
                        cfg["channel_order"], cfg["sample_fps"], log=log)
    tr = Frames(split["train"], frames, labels, int(cfg["train_frame_step"]))
    va = Frames(split["val"], frames, labels)
    if len(tr.x) == 0:
        raise SystemExit("no training frames were extracted")
    norm = aug.normalization(cfg["normalization"], tr.x)
    log(f"frames: train {len(tr.x)}, val {len(va.x)}; normalization {cfg['normalization']}: "
        f"mean {np.round(norm['mean'], 4).tolist()} std {np.round(norm['std'], 4).tolist()}")

    keras.utils.set_random_seed(cfg["seed"])
    model, backbone = nets.classifier(cfg["backbone"], cfg["size"], len(labels), cfg["head"], cfg["alpha"],
                                      cfg["dropout"], cfg["hidden"], cfg["weights"])
    if cfg["bn_momentum"] is not None and not cfg["weights"]:
        for layer in nets._layers(model):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = cfg["bn_momentum"]
    if cfg["init_from"]:
        model.load_weights(str(cfg["init_from"]))
        log(f"continuing from {cfg['init_from']}")
    params = {"backbone": int(backbone.count_params()), "total": int(model.count_params())}
    macs = nets.count_macs(model)
    log(f"{cfg['backbone']} (alpha {cfg['alpha']}, head {cfg['head']}, {cfg['size']}px): "
        f"{params['backbone']:,} backbone + {params['total'] - params['backbone']:,} head parameters, "
        f"{macs / 1e6:.1f} M multiply-adds")

    augmenter = aug.from_config(cfg["augment"])
    train_ds = make_dataset(tr.x, tr.y, cfg["batch_size"], augmenter, norm, cfg["seed"], True)
    steps = len(train_ds) * cfg["epochs"]
    lr_cb = schedule.callback(cfg["learning_rate"], steps, cfg["max_minutes"])
    model.compile(optimizer=keras.optimizers.AdamW(cfg["learning_rate"], weight_decay=cfg["weight_decay"]),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                            label_smoothing=cfg["label_smoothing"]),
                  metrics=["accuracy"])

    # Sparse labels → one-hot for label smoothing.
    n_cls = len(labels)

    class OneHot(keras.utils.PyDataset):
        def __init__(self, inner):
            super().__init__(workers=1, use_multiprocessing=False)
            self.inner = inner

        def __len__(self):
            return len(self.inner)

        def on_epoch_end(self):
            self.inner.on_epoch_end()

        def __getitem__(self, i):
            x, y = self.inner[i]
            return x, np.eye(n_cls, dtype=np.float32)[y]

    val_x = aug.normalize(va.x, norm) if len(va.x) else None
    val_y = np.eye(n_cls, dtype=np.float32)[va.y] if len(va.x) else None

    ckpt = out / "cache" / "model.weights.h5"

    class Keep(keras.callbacks.Callback):
        """Keeps the weights of the best validation epoch (accuracy, then loss), writing
        them to `ckpt` after every improvement (a stopped run can be continued with
        --init-from); stops at the time budget."""

        def __init__(self):
            super().__init__()
            self.best, self.weights, self.history, self.t0 = None, None, [], time.time()
            self.best_epoch = 0  # epoch 0: the starting weights (no epoch ran)

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            logs["epoch"] = epoch + 1
            logs["elapsed_s"] = round(time.time() - self.t0, 1)
            self.history.append({k: (round(float(v), 5) if isinstance(v, float) else v) for k, v in logs.items()})
            key = (logs.get("val_accuracy", logs.get("accuracy", 0.0)), -logs.get("val_loss", logs.get("loss", 0.0)))
            if self.best is None or key >= self.best:
                self.best, self.weights = key, self.model.get_weights()
                self.best_epoch = epoch + 1
                self.model.save_weights(str(ckpt))
            log(f"epoch {epoch + 1}/{cfg['epochs']}: " + ", ".join(
                f"{k} {v:.4f}" for k, v in logs.items() if isinstance(v, float) and k != "elapsed_s")
                + f" ({logs['elapsed_s']:.0f} s)")
            if cfg["max_minutes"] and time.time() - self.t0 > 60 * cfg["max_minutes"]:
                log(f"time budget of {cfg['max_minutes']} min reached")
                self.model.stop_training = True

    keep = Keep()
    t_train = time.time()
    if cfg["epochs"]:
        model.fit(OneHot(train_ds), epochs=cfg["epochs"], verbose=0, callbacks=[lr_cb, keep],
                  validation_data=(val_x, val_y) if val_x is not None else None,
                  validation_batch_size=64)
    else:  # a kept run's weights exported again, e.g. on a machine that has only the repository
        log(f"no training (--epochs 0): exporting {cfg['init_from']} as it is")
    train_s = time.time() - t_train
    if keep.weights is not None:
        model.set_weights(keep.weights)
    log(f"trained in {train_s:.0f} s; kept epoch {keep.best_epoch}")
    model.save_weights(str(ckpt))

    # Export.
    name = cfg["name"] or f"{cfg['backbone'].replace('_', '')}-{data.name}"
    man_text = ex.manifest_toml(name, labels, cfg["layout"], cfg["size"], cfg["resize"], cfg["channel_order"],
                                norm, cfg["output"], cfg["output"],
                                comment=f"Written by models/recipe ({cfg['backbone']}, trained on {data.name}).",
                                sample_fps=cfg["sample_fps"])
    train_cfg = {k: v for k, v in cfg.items() if k != "threads"}
    train_cfg["weights"] = str(cfg["weights"]) if cfg["weights"] else None
    train_cfg["init_from"] = str(cfg["init_from"]) if cfg["init_from"] else None
    meta = {ex.METADATA_MANIFEST: man_text, "actiond.training_config": json.dumps(train_cfg, sort_keys=True),
            "actiond.data_fingerprint": fp, "actiond.labels": json.dumps(labels)}
    onnx_path = out / "model.onnx"
    exp = ex.export_onnx(model, onnx_path, cfg["size"], cfg["layout"], cfg["output"], name, meta)
    shape = (cfg["size"], cfg["size"], 3) if cfg["layout"] == "NHWC" else (3, cfg["size"], cfg["size"])
    diff = ex.verify(exp, onnx_path, shape)
    (out / "model.toml").write_text(man_text)
    log(f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB); max |onnxruntime - keras| {diff:.1e}")

    # Evaluate the exported file the way the daemon runs it.
    import tomllib

    manifest = tomllib.loads(man_text)
    clf = OnnxClassifier(onnx_path, manifest, threads=1)
    results = {}
    for part in ("val", "test"):
        if split[part]:
            results[part] = evaluate(clf, split[part], frames, labels, cfg["smoothing"])
    latency = {"threads_1_ms": round(clf.latency_ms(), 3)}
    latency["threads_2_ms"] = round(OnnxClassifier(onnx_path, manifest, threads=2).latency_ms(), 3)
    test = results.get("test") or results.get("val")
    metrics = {
        "name": name,
        "backbone": cfg["backbone"], "alpha": cfg["alpha"], "head": cfg["head"], "input_size": cfg["size"],
        "params": params, "macs": macs,
        "epochs_run": len(keep.history), "best_epoch": keep.best_epoch, "train_seconds": round(train_s, 1),
        "frame_accuracy": test["frame"]["accuracy"] if test else None,
        "clip_accuracy": test["clip"]["accuracy"] if test else None,
        "video_accuracy": test["video"]["accuracy"] if test else None,
        "latency_ms": latency, "onnx_keras_max_abs_diff": diff,
    }
    ex.set_metadata(onnx_path, {"actiond.metrics": json.dumps(metrics, sort_keys=True)})
    sha = _sha256(onnx_path)
    report = {
        "model": {"file": "model.onnx", "sha256": sha, "bytes": onnx_path.stat().st_size, **metrics},
        "data": {"root": str(data), "fingerprint": fp, "labels": labels, "videos": len(videos),
                 "split": {"method": split["method"], "train_groups": split["train_groups"],
                           "val_groups": split["val_groups"], "test_groups": split["test_groups"],
                           "videos": {p: len(split[p]) for p in ("train", "val", "test")},
                           "frames": {"train": int(len(tr.x)), "val": int(len(va.x))}},
                 "extraction": {"tool": "actiond extract-frames", "size": cfg["size"], "resize": cfg["resize"],
                                "channel_order": cfg["channel_order"], "sample_fps": cfg["sample_fps"]}},
        "normalization": norm,
        "training": {"history": keep.history, "config": train_cfg},
        "results": results,
        "environment": {"python": platform.python_version(), "keras": keras.__version__,
                        "tensorflow": tf.__version__, "onnxruntime": __import__("onnxruntime").__version__,
                        "machine": platform.machine(), "cpus": os.cpu_count()},
        "elapsed_s": round(time.time() - t_start, 1),
    }
    write_json(out / "training_config.json", train_cfg)
    write_json(out / "report.json", report)
    if test:
        which = "test" if results.get("test") else "val"
        write_json(out / "confusion.json", {"labels": labels, "rows": "true", "columns": "predicted",
                                            "split": which,
                                            "clip": test["clip"]["confusion"],
                                            "frame": test["frame"]["confusion"]})
        confusion_png(test["clip"]["confusion"], labels,
                      f"{name}: {which} clips ({cfg['smoothing']['method']} over {cfg['smoothing']['window']} "
                      f"frames), accuracy {test['clip']['accuracy']:.3f}", out / "confusion.png")
    (out / "REPORT.md").write_text(report_markdown(report))
    (out / "model.onnx.sha256").write_text(f"{sha}  model.onnx\n")
    log(f"test: frame accuracy {metrics['frame_accuracy']}, clip accuracy {metrics['clip_accuracy']}; "
        f"latency {latency}; report in {out / 'REPORT.md'}")
    return report



def report_markdown(r: dict) -> str:
    m, d = r["model"], r["data"]
    sp = d["split"]
    lines = [
        f"# {m['name']}: training report", "",
        f"- Model: `model.onnx`, sha256 `{m['sha256']}` ({m['bytes'] / 1e6:.1f} MB); "
        f"{m['backbone']} (alpha {m['alpha']}), head `{m['head']}`, input {m['input_size']}×{m['input_size']}.",
        f"- Parameters: {m['params']['backbone']:,} backbone + {m['params']['total'] - m['params']['backbone']:,} "
        f"head = {m['params']['total']:,} (Keras `count_params`); multiply-adds per frame: {m['macs'] / 1e6:.1f} M "
        f"(Conv/Depthwise/Dense layers, counted from Keras output shapes).",
        f"- Data: `{d['root']}`, {d['videos']} videos, {len(d['labels'])} classes ({', '.join(d['labels'])}), "
        f"fingerprint `{d['fingerprint'][:16]}…`.",
        f"- Split {sp['method']}: train groups {ds.groups_text(sp['train_groups'])}, validation {ds.groups_text(sp['val_groups'])}, "
        f"test {ds.groups_text(sp['test_groups'])} → {sp['videos']['train']}/{sp['videos']['val']}/{sp['videos']['test']} videos; "
        f"never by frame.",
        f"- Frames: `actiond extract-frames` at {d['extraction']['sample_fps']} fps, {d['extraction']['resize']}, "
        f"{d['extraction']['channel_order']} ({sp['frames']['train']} training frames).",
        f"- Normalization: scale {r['normalization']['scale']}, mean "
        f"{[round(x, 4) for x in r['normalization']['mean']]}, std {[round(x, 4) for x in r['normalization']['std']]}.",
        f"- Training: {m['epochs_run']} epochs in {m['train_seconds']:.0f} s, kept epoch {m['best_epoch']} "
        f"(best validation accuracy)"
        + (f", continuing from the weights of an earlier run (`{r['training']['config']['init_from']}`)."
           if r["training"]["config"].get("init_from") else "."),
        f"- CPU latency (ONNX Runtime, batch 1, median): {m['latency_ms']['threads_1_ms']:.2f} ms on 1 thread, "
        f"{m['latency_ms']['threads_2_ms']:.2f} ms on 2; ONNX vs Keras max difference {m['onnx_keras_max_abs_diff']:.1e}.",
        "",
    ]
    for part, res in r["results"].items():
        sm = res["clip"]["smoothing"]
        lines += [f"## {'Test' if part == 'test' else 'Validation'} set", "",
                  "| level | accuracy | count |", "| --- | --- | --- |",
                  f"| frame | {pct(res['frame']['accuracy'])} | {res['frame']['count']} frames |",
                  f"| clip ({sm['method']}, window {sm['window']}, stride {sm['stride']}: the daemon's smoothing) | "
                  f"{pct(res['clip']['accuracy'])} | {res['clip']['count']} clips |",
                  f"| video (mean of all frames) | {pct(res['video']['accuracy'])} | {res['video']['count']} videos |",
                  "", "| class | frame precision | frame recall | clip precision | clip recall | clips |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for lab in d["labels"]:
            f, c = res["frame"]["per_class"][lab], res["clip"]["per_class"][lab]
            lines.append(f"| {lab} | {pct(f['precision'])} | {pct(f['recall'])} | {pct(c['precision'])} | "
                         f"{pct(c['recall'])} | {c['support']} |")
        lines.append("")
    lines += ["Confusion matrices: `confusion.json` (clip and frame level), `confusion.png` (clip level).", ""]
    return "\n".join(lines)
