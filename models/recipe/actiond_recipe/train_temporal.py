"""Trains the TSM MobileNetV2 from frames in time order and exports its two temporal
forms: the online (stateful) model and the clip model, each with manifest and report.

Same data path as `train`: scan → split by group → `actiond extract-frames` (same
cache) → training items of T consecutive sampled frames of one video, augmented with
the same random parameters for all T frames (a clip stays a consistent clip) →
per-frame loss on the clip form → export (checked against Keras through ONNX Runtime)
→ evaluation of the exported files as the daemon runs them.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from . import augment as aug
from . import config
from . import dataset as ds
from . import schedule
from .evaluate import pct
from .train import check_epochs, tensorflow

DEFAULTS = {
    "name": None,
    "alpha": 0.5,
    "expand": 1.0,  # multiplies MobileNetV2's expansion (6): wider hidden layers in every block
    "size": 96,
    "frames": 8,  # T: frames per training clip, and the clip model's T
    "clip_step": 4,  # a training clip starts every clip_step frames of a video
    "dropout": 0.2,
    "resize": "stretch",
    "channel_order": "RGB",
    "sample_fps": 5.0,
    "normalization": "imagenet",
    "augment": aug.DEFAULT_AUGMENT,
    "epochs": 20,
    "batch_size": 8,  # clips (batch_size · frames images per step)
    "learning_rate": 3e-3,
    "weight_decay": 1e-4,
    "label_smoothing": 0.05,
    "bn_momentum": 0.9,
    "max_minutes": None,
    "init_from": None,  # the clip model's weights of an earlier run (<run>/cache/tsm.weights.h5)
    "init_from_expand": None,  # --init-from weights of a narrower TSM (this expand), widened as they compute
    "init_from_frame": None,  # a frame MobileNetV2's weights (<train run>/cache/model.weights.h5, hidden 0)
    "seed": 1,
    "test_groups": None,
    "val_groups": None,
    "train_groups": None,  # train on these groups only (default: every group not held out)
    "from_onset": None,  # train on a fall's or a sit's windows only once this share of it is under way
    "onset_mask": False,  # with from_onset, a kept window's frames from before then get no loss
    "smoothing": {"method": "mean", "window": 8, "stride": 4},
    "threads": 2,
    "forms": ["stateful", "clip"],  # the forms exported: stateful (online, tsm/) and clip (clip/)
    "evaluate": True,  # evaluate each exported form on the validation and test groups
}
FORMS = ("stateful", "clip")
RUN_ONLY = ("threads", "forms", "evaluate")  # how a run goes, not what it trains: left out of the model's record


def only_train_groups(split: dict, groups: list[int]) -> dict:
    """`split` with its training part cut to `groups` (a subset of a bigger render: at a larger
    input size the frames of every clip would not fit the disk). Test and validation stay."""
    keep = set(groups) & set(split["train_groups"])
    if not keep:
        raise SystemExit(f"none of the training groups {ds.groups_text(groups)} is left for training "
                         f"(train groups: {ds.groups_text(split['train_groups'])})")
    return {**split, "train": [v for v in split["train"] if v.group in keep], "train_groups": sorted(keep)}


def clips_of(videos, frames: dict, labels: list[str], t: int, step: int,
             from_s: dict[str, float] | None = None, fps: float = 1.0):
    """(video rel, start) of every window of T consecutive frames, starting every `step` frames;
    with `from_s` (rel → s, frames at `fps`) only the windows whose last frame lies at or after it:
    a fall's first frames show someone standing, as idle people stand."""
    items, ys = [], []
    idx = {lab: i for i, lab in enumerate(labels)}
    for v in videos:
        n = len(frames[v.rel])
        for s in range(0, n - t + 1, step):
            if from_s and ds.before_under_way(from_s, v.rel, s + t - 1, fps):
                continue
            items.append((v.rel, s))
            ys.append(idx[v.label])
    return items, np.asarray(ys, np.int32)


def onset_weights(items, when: dict[str, float], t: int, fps: float) -> np.ndarray:
    """Each window's per-frame loss weights: 0 for a fall's or sit's frames before it is under
    way (`when`, from `under_way_times`; the person still stands as idle people do), else 1."""
    w = np.ones((len(items), t), np.float32)
    for i, (rel, s) in enumerate(items):
        w[i] = [0.0 if ds.before_under_way(when, rel, s + j, fps) else 1.0 for j in range(t)]
    return w


def augment_clip(augmenter, clip: np.ndarray, seed) -> np.ndarray:
    """The same random augmentation for every frame: each frame gets a fresh generator
    with the clip's seed, so every draw (ops, angles, crops, colours) repeats."""
    return np.stack([augmenter(f, np.random.default_rng(seed)) for f in clip])


def clip_batches(items, ys, frames, t, batch, augmenter, norm, seed, classes, smoothing, weights=None):
    """Shuffled, augmented, normalised batches of clips and per-frame labels; with `weights`
    (windows × t, `onset_weights`) each frame's loss weight too."""
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch, self.order = 0, np.arange(len(items))
            self.on_epoch_end()

        def __len__(self):
            return (len(items) + batch - 1) // batch

        def on_epoch_end(self):
            np.random.default_rng((seed, self.epoch)).shuffle(self.order)
            self.epoch += 1

        def __getitem__(self, i):
            sel = self.order[i * batch:(i + 1) * batch]
            xs = []
            for k in sel:
                rel, s = items[k]
                clip = frames[rel][s:s + t]
                if augmenter is not None:
                    clip = augment_clip(augmenter, clip, (seed, self.epoch, int(k)))
                xs.append(clip)
            y = np.eye(classes, dtype=np.float32)[ys[sel]]
            y = (1 - smoothing) * y + smoothing / classes
            out = aug.normalize(np.stack(xs), norm), np.repeat(y[:, None], t, axis=1)
            return out if weights is None else (*out, weights[sel])

    return Batches()


def fit(clip_model, train_ds, val, cfg, ckpt: Path, log):
    """AdamW + cosine decay (over the epochs or the time budget, whichever ends first) on the per-frame loss; keeps the best validation epoch,
    writes it to `ckpt` after every improvement and the latest weights beside it (`*.latest.weights.h5`)
    every 10 minutes, stops at the time budget."""
    import keras

    steps = len(train_ds) * cfg["epochs"]
    lr_cb = schedule.callback(cfg["learning_rate"], steps, cfg["max_minutes"])
    clip_model.compile(optimizer=keras.optimizers.AdamW(cfg["learning_rate"], weight_decay=cfg["weight_decay"]),
                       loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])

    class Keep(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best, self.weights, self.history, self.t0, self.best_epoch = None, None, [], time.time(), 0
            self.saved, self.batches = self.t0, 0

        def on_epoch_begin(self, epoch, logs=None):
            self.batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            # The latest weights every 10 minutes and when the budget stops the run, before the
            # epoch's validation: a run killed after that keeps its training (--init-from it).
            if time.time() - self.saved >= 600 or self.model.stop_training:
                self.model.save_weights(str(latest))
                self.saved = time.time()

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: round(float(v), 5) for k, v in (logs or {}).items()}
            # batches: how much of the epoch ran (a budget stops most runs mid-epoch)
            logs.update(epoch=epoch + 1, elapsed_s=round(time.time() - self.t0, 1), batches=self.batches)
            self.history.append(logs)
            key = (logs.get("val_accuracy", logs.get("accuracy", 0.0)), -logs.get("val_loss", logs.get("loss", 0.0)))
            if self.best is None or key >= self.best:
                self.best, self.weights, self.best_epoch = key, self.model.get_weights(), epoch + 1
                self.model.save_weights(str(ckpt))
            log(f"epoch {epoch + 1}/{cfg['epochs']}: " + ", ".join(
                f"{k} {v:.4f}" for k, v in logs.items() if k not in ("epoch", "elapsed_s", "batches"))
                + f" ({logs['elapsed_s']:.0f} s, {self.batches} of {len(train_ds)} batches)")
            if cfg["max_minutes"] and time.time() - self.t0 > 60 * cfg["max_minutes"]:
                log(f"time budget of {cfg['max_minutes']} min reached")
                self.model.stop_training = True

    latest = ckpt.with_name(ckpt.name.replace(".weights.h5", ".latest.weights.h5"))
    keep = Keep()
    if cfg["epochs"]:
        clip_model.fit(train_ds, epochs=cfg["epochs"], verbose=0, callbacks=[lr_cb, keep], validation_data=val)
        clip_model.set_weights(keep.weights)
    else:  # a kept run's weights exported again, e.g. on a machine that has only the repository
        log(f"no training (--epochs 0): exporting {cfg['init_from']} as it is")
        clip_model.save_weights(str(ckpt))
    return keep


def check_init(cfg: dict) -> None:
    """Refuses starting points that contradict each other before any frame is extracted."""
    if cfg["init_from"] and cfg["init_from_frame"]:
        raise SystemExit("--init-from and --init-from-frame exclude each other")
    if cfg["init_from_expand"] is not None and not cfg["init_from"]:
        raise SystemExit("--init-from-expand says what --init-from's weights are: give --init-from too")
    if cfg["onset_mask"] and cfg["from_onset"] is None:
        raise SystemExit("--mask-before-onset masks the frames before --from-onset's share: give --from-onset too")


def check_forms(cfg: dict) -> None:
    """Refuses forms other than stateful and clip, and none at all, before TensorFlow loads."""
    unknown = [f for f in cfg["forms"] if f not in FORMS]
    if unknown or not cfg["forms"]:
        raise SystemExit(f"forms {unknown or '(none)'}: export one or both of {', '.join(FORMS)}")


def train(data: Path, out: Path, cfg: dict, actiond: str | None = None, log=print) -> dict:
    """Trains, exports `out/tsm/` (stateful) and `out/clip/` (clip), evaluates both (or the
    forms in cfg["forms"], unevaluated without cfg["evaluate"])."""
    cfg = config.settings(DEFAULTS, cfg)
    check_epochs(cfg)
    check_init(cfg)
    check_forms(cfg)
    keras, _ = tensorflow(int(cfg["threads"]))
    from . import nets
    from .temporal import TSMNet

    t_start = time.time()
    out.mkdir(parents=True, exist_ok=True)
    labels, videos = ds.scan(Path(data))
    split = ds.split_by_group(videos, cfg["test_groups"], cfg["val_groups"], cfg["seed"])
    if cfg.get("train_groups"):
        split = only_train_groups(split, cfg["train_groups"])
    log(f"{len(videos)} videos, {len(labels)} classes; split by group: train {ds.groups_text(split['train_groups'])}, "
        f"val {ds.groups_text(split['val_groups'])}, test {ds.groups_text(split['test_groups'])}")
    # Only the frames the split uses (all of them unless --train-groups leaves some out).
    frames = ds.extract(split["train"] + split["val"] + split["test"], out / "cache" / "frames",
                        ds.find_actiond(actiond), cfg["size"], cfg["resize"], cfg["channel_order"],
                        cfg["sample_fps"], log=log)
    t = int(cfg["frames"])
    from_s = ds.under_way_times(split["train"], float(cfg["from_onset"])) if cfg["from_onset"] is not None else None
    tr_items, tr_y = clips_of(split["train"], frames, labels, t, int(cfg["clip_step"]), from_s, float(cfg["sample_fps"]))
    if from_s is not None:
        every = len(clips_of(split["train"], frames, labels, t, int(cfg["clip_step"]))[0])
        log(f"--from-onset {cfg['from_onset']}: {every - len(tr_items)} of the training windows of "
            f"{len(from_s)} falls and sits left out (they end before it is under way)")
    tr_w = onset_weights(tr_items, from_s, t, float(cfg["sample_fps"])) if cfg["onset_mask"] else None
    if tr_w is not None:
        log(f"--mask-before-onset: {int((tr_w == 0).sum())} of the kept windows' {tr_w.size} frames get no loss")
    va_items, va_y = clips_of(split["val"], frames, labels, t, t)
    if not tr_items:
        raise SystemExit(f"no training video has {t} frames")
    # Only "dataset" normalization reads the training frames; a copy of them all would
    # otherwise stay alive for the whole run (4.5 GB for 10,800 videos at 96 px).
    norm = aug.normalization(cfg["normalization"], np.concatenate([frames[v.rel] for v in split["train"]])
                             if cfg["normalization"] == "dataset" else None)
    log(f"clips of {t} frames: train {len(tr_items)}, val {len(va_items)}")

    keras.utils.set_random_seed(cfg["seed"])
    net = TSMNet(cfg["size"], len(labels), cfg["alpha"], cfg["dropout"], cfg["bn_momentum"], cfg["expand"])
    clip = net.offline(t)
    if cfg["init_from"] and cfg["init_from_expand"] not in (None, cfg["expand"]):
        net.load_narrower(Path(cfg["init_from"]), cfg["init_from_expand"])
        log(f"continuing from {cfg['init_from']}, widened from expand {cfg['init_from_expand']} to {cfg['expand']}")
    elif cfg["init_from"]:
        clip.load_weights(str(cfg["init_from"]))
        log(f"continuing from {cfg['init_from']}")
    if cfg["init_from_frame"]:
        n = net.load_frame_weights(Path(cfg["init_from_frame"]), cfg["dropout"])
        log(f"starting from the frame model {cfg['init_from_frame']} ({n} layers)")
    augmenter = aug.from_config(cfg["augment"])
    train_ds = clip_batches(tr_items, tr_y, frames, t, cfg["batch_size"], augmenter, norm, cfg["seed"],
                            len(labels), cfg["label_smoothing"], tr_w)
    # Validation clips normalised a batch at a time from the frame maps, as the training clips
    # are: normalised all at once they took 7.5 GB at 256 px, and Keras copied them again at the
    # epoch's end (attempt 21's first launch was killed there, out of memory).
    val = clip_batches(va_items, va_y, frames, t, 8, None, norm, cfg["seed"], len(labels), 0.0) if va_items else None
    (out / "cache").mkdir(exist_ok=True)
    t_train = time.time()
    keep = fit(clip, train_ds, val, cfg, out / "cache" / "tsm.weights.h5", log)
    train_s = time.time() - t_train
    log(f"trained in {train_s:.0f} s; kept epoch {keep.best_epoch}")

    fp = ds.fingerprint(videos)
    common = {"cfg": cfg, "labels": labels, "norm": norm, "fingerprint": fp, "train_s": train_s, "keep": keep,
              "split": split, "frames": frames, "data": Path(data), "t_start": t_start,
              "macs_frame": nets.count_macs(net.online())}
    reports = {}
    for kind in [f for f in FORMS if f in cfg["forms"]]:
        reports[kind] = export_and_report(net, kind, out / ("tsm" if kind == "stateful" else "clip"), common, log)
    return reports


def export_and_report(net, kind: str, out: Path, c: dict, log) -> dict:
    """Exports one form with its manifest and metadata, verifies it, evaluates it, writes the report."""
    import tomllib

    from . import export as ex
    from . import temporal_export as tx
    from .evaluate import evaluate, write_json

    cfg, labels, t, s = c["cfg"], c["labels"], int(c["cfg"]["frames"]), c["cfg"]["size"]
    name = (cfg["name"] or f"tsm-mobilenetv2-{c['data'].name}") + ("-online" if kind == "stateful" else f"-clip{t}")
    base = ex.manifest_toml(name, labels, "NHWC", s, cfg["resize"], cfg["channel_order"], c["norm"], "probabilities",
                            "probabilities", comment=f"Written by models/recipe train-temporal (TSM MobileNetV2, "
                            f"alpha {cfg['alpha']}, {kind}), trained on {c['data'].name}.",
                            sample_fps=cfg["sample_fps"])
    train_cfg = {k: v for k, v in cfg.items() if k not in RUN_ONLY}
    form = tx.export_form(net, kind, out, base, t, {"actiond.training_config": json.dumps(train_cfg, sort_keys=True),
                                                    "actiond.data_fingerprint": c["fingerprint"],
                                                    "actiond.labels": json.dumps(labels)})
    model, inputs, diff, path = form.model, form.inputs, form.max_diff, out / "model.onnx"
    log(f"exported {path} ({path.stat().st_size / 1e6:.2f} MB); max |onnxruntime - keras| {diff:.1e}")

    manifest = tomllib.loads(form.manifest)
    results = {}
    for part in ("val", "test") if cfg["evaluate"] else ():
        if c["split"][part]:
            results[part] = evaluate(tx.classifier(path, manifest, threads=1), c["split"][part], c["frames"], labels,
                                     cfg["smoothing"])
    latency = {"threads_1_ms": round(tx.classifier(path, manifest, threads=1).latency_ms(), 3),
               "threads_2_ms": round(tx.classifier(path, manifest, threads=2).latency_ms(), 3)}
    test = results.get("test") or results.get("val")
    macs = c["macs_frame"] * (t if kind == "clip" else 1)
    metrics = {"name": name, "kind": kind, "backbone": "tsm_mobilenet_v2", "alpha": cfg["alpha"], "input_size": s,
               "frames": t if kind == "clip" else 1, "state_pairs": len(inputs) - 1 if kind == "stateful" else 0,
               "params": int(model.count_params()), "macs_per_call": int(macs),
               "epochs_run": len(c["keep"].history), "best_epoch": c["keep"].best_epoch,
               "train_seconds": round(c["train_s"], 1),
               "frame_accuracy": test["frame"]["accuracy"] if test else None,
               "clip_accuracy": test["clip"]["accuracy"] if test else None,
               "video_accuracy": test["video"]["accuracy"] if test else None,
               "latency_ms": latency, "onnx_keras_max_abs_diff": diff}
    ex.set_metadata(path, {"actiond.metrics": json.dumps(metrics, sort_keys=True)})
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    sp = c["split"]
    report = {"model": {"file": "model.onnx", "sha256": sha, "bytes": path.stat().st_size, **metrics},
              "data": {"root": str(c["data"]), "fingerprint": c["fingerprint"], "labels": labels,
                       "split": {k: sp[k] for k in ("method", "train_groups", "val_groups", "test_groups")}},
              "normalization": c["norm"], "training": {"history": c["keep"].history, "config": train_cfg},
              "results": results, "elapsed_s": round(time.time() - c["t_start"], 1)}
    write_json(out / "report.json", report)
    write_json(out / "training_config.json", train_cfg)
    (out / "REPORT.md").write_text(report_markdown(report))
    (out / "model.onnx.sha256").write_text(f"{sha}  model.onnx\n")
    log(f"{kind}: test frame accuracy {metrics['frame_accuracy']}, clip accuracy {metrics['clip_accuracy']}; "
        f"latency {latency}")
    return report


def report_markdown(r: dict) -> str:
    m, d = r["model"], r["data"]
    sp = d["split"]
    what = (f"stateful (online TSM): one frame per call, {m['state_pairs']} shift-buffer state pairs"
            if m["kind"] == "stateful" else f"clip: {m['frames']} frames per call (NTCHW), softmax of the mean logits")
    lines = [f"# {m['name']}: training report", "",
             f"- Model: `model.onnx`, sha256 `{m['sha256']}` ({m['bytes'] / 1e6:.2f} MB); TSM MobileNetV2 "
             f"(alpha {m['alpha']}), input {m['input_size']}×{m['input_size']}; {what}.",
             f"- Parameters: {m['params']:,}; multiply-adds per call: {m['macs_per_call'] / 1e6:.1f} M.",
             f"- Data: `{d['root']}`, classes {', '.join(d['labels'])}; split by group: train {ds.groups_text(sp['train_groups'])}, "
             f"validation {ds.groups_text(sp['val_groups'])}, test {ds.groups_text(sp['test_groups'])}.",
             f"- Training (one run; every form exported shares its weights): clips of {r['training']['config']['frames']} "
             f"consecutive frames, {m['epochs_run']} epochs in {m['train_seconds']:.0f} s, kept epoch {m['best_epoch']}.",
             f"- CPU latency per call (ONNX Runtime, batch 1, median): {m['latency_ms']['threads_1_ms']:.2f} ms on 1 "
             f"thread, {m['latency_ms']['threads_2_ms']:.2f} ms on 2; ONNX vs Keras max difference "
             f"{m['onnx_keras_max_abs_diff']:.1e}.", ""]
    for part, res in r["results"].items():
        sm = res["clip"]["smoothing"]
        lines += [f"## {'Test' if part == 'test' else 'Validation'} set", "", "| level | accuracy | count |",
                  "| --- | --- | --- |",
                  f"| per call | {pct(res['frame']['accuracy'])} | {res['frame']['count']} outputs |",
                  f"| smoothed ({sm['method']}, window {sm['window']}, stride {sm['stride']}) | "
                  f"{pct(res['clip']['accuracy'])} | {res['clip']['count']} |",
                  f"| video | {pct(res['video']['accuracy'])} | {res['video']['count']} videos |", ""]
    if not r["results"]:
        lines += ["Not evaluated (`--no-evaluate`): `recipe.py assess --model model.onnx` measures it.", ""]
    return "\n".join(lines)
