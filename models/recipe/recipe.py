#!/usr/bin/env python3
"""actiond's training recipe: labelled videos (UCF101 layout) → ONNX model + manifest + report.

  recipe.py train --data DIR --out DIR [options]    train, export, evaluate, report
  recipe.py train-temporal --data DIR --out DIR      TSM MobileNetV2: online (stateful) + clip models
  recipe.py render --out DIR --groups 1-8 ...        render a synthetic dataset (GStreamer)
  recipe.py render-demo --out demo.mp4 --seed N      render a scheduled demo video
  recipe.py render-humans --out DIR --groups 1-8 ... render procedural people performing actions
  recipe.py render-people-demo --out demo.mp4        a scheduled demo video of rendered people
  recipe.py people-report --frame RUN --tsm RUN --out FILE.md   single-frame vs TSM on people
  recipe.py compare --out FILE.md RUN_DIR...         backbone comparison table from runs
  recipe.py params                                    Keras parameter counts of the backbones
  recipe.py demo-eval --model M --seeds 100-104      clip accuracy on fresh demo streams
  recipe.py assess --model M --data DIR [--groups G]  score a model on any labelled folder
  recipe.py street-check --model M                    what a people model says about walkers on a street
  recipe.py chair-check --model M                     whether an empty chair makes a people model say sitting_down
  recipe.py reference / variant                       parity-test helpers (ONNX Runtime reference)

Run it with the recipe's environment (scripts/python-env.sh makes .venv/):
  .venv/bin/python models/recipe/recipe.py train --data my_clips --out runs/mine
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX-512 VNNI/BF16 or
# AMX; on an AVX2-only AMD EPYC they made a MobileNetV2 training step 1.45× faster.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def int_list(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def log(msg: str) -> None:
    print(msg, flush=True)


def cmd_render(a):
    from actiond_recipe import render

    render.require_gstreamer()
    render.render_dataset(Path(a.out), int_list(a.groups), a.clips, a.seed, a.profile,
                          (a.seconds[0], a.seconds[1]), a.labels.split(",") if a.labels else None, a.jobs, log=log)


def cmd_render_humans(a):
    from actiond_recipe import render
    from actiond_recipe.humans import sheet, write

    render.require_gstreamer()
    w, h = (int(v) for v in a.size.lower().split("x"))
    write.render_dataset(Path(a.out), int_list(a.groups), a.clips, a.seed, (w, h), a.fps, a.seconds,
                         a.labels.split(",") if a.labels else None, a.jobs, log=log,
                         scale_range=tuple(float(v) for v in a.scale.split("-")), views=tuple(a.views.split(",")))
    if a.sheet:
        sheet.contact_sheet(Path(a.sheet), a.seed, log=log)


def cmd_render_people_demo(a):
    from actiond_recipe import render
    from actiond_recipe.humans import demo

    render.require_gstreamer()
    w, h = (int(v) for v in a.size.lower().split("x"))
    demo.render_people_demo(Path(a.out), a.seed, a.scenes, a.seconds, (w, h), a.fps, a.bitrate, log=log,
                            scale_range=tuple(float(v) for v in a.scale.split("-")))


def cmd_people_report(a):
    from actiond_recipe import people_report

    s = people_report.write(Path(a.frame), Path(a.tsm), Path(a.out))
    log(f"wrote {a.out}: clip accuracy frame {s['models']['frame']['clip_accuracy']:.3f}, "
        f"TSM {s['models']['tsm']['clip_accuracy']:.3f}; targets {s['targets']}")


def cmd_render_demo(a):
    from actiond_recipe import render

    render.require_gstreamer()
    render.render_demo(Path(a.out), a.seed, a.scenes, a.seconds, log=log)


def training_config(a, keys) -> dict:
    """--config JSON (checked: actiond_recipe/config.py) overridden by the command-line options
    named in `keys` and the group, augmentation and smoothing options."""
    cfg = {}
    if a.config:
        from actiond_recipe import config, train, train_temporal

        try:  # refused here, before TensorFlow loads, not when a training draw hits it
            cfg = config.load(Path(a.config), {**train_temporal.DEFAULTS, **train.DEFAULTS})
        except config.ConfigError as e:
            raise SystemExit(str(e)) from e
    for key in keys:
        v = getattr(a, key)
        if v is not None:
            cfg[key] = v
    if a.test_groups is not None:
        cfg["test_groups"] = int_list(a.test_groups)
    if a.val_groups is not None:
        cfg["val_groups"] = int_list(a.val_groups)
    if getattr(a, "train_groups", None) is not None:
        cfg["train_groups"] = int_list(a.train_groups)
    if a.no_augment:
        cfg["augment"] = False  # not None: the trainers take None as "the default augmentations"
    if getattr(a, "smoothing", None):
        cfg["smoothing"] = smoothing_of(a.smoothing)
    return cfg


def smoothing_of(text: str) -> dict:
    """METHOD:WINDOW:STRIDE (e.g. mean:8:4) → the smoothing settings."""
    method, window, stride = text.split(":")
    return {"method": method, "window": int(window), "stride": int(stride)}


def sample_fps_of(given: float | None, model: Path) -> float:
    """--sample-fps, or the rate `model` was trained on."""
    from actiond_recipe import export

    fps = given if given is not None else export.trained_sample_fps(model)
    log(f"sampling {fps:g} frames per second" + ("" if given is not None else " (the model's training rate)"))
    return fps


def write_results(res: dict, text: str, out: str | None) -> None:
    """Prints the Markdown; with `out`, writes the JSON there and the Markdown beside it (.md)."""
    print(text)
    if out:
        Path(out).write_text(json.dumps(res, indent=1) + "\n")
        Path(out).with_suffix(".md").write_text(text)


def cmd_train(a):
    from actiond_recipe import train

    cfg = training_config(a, ("name", "backbone", "alpha", "head", "dropout", "weights", "size", "resize",
                              "channel_order", "sample_fps", "train_frame_step", "normalization", "epochs",
                              "batch_size", "learning_rate", "max_minutes", "seed", "layout", "output", "threads",
                              "split_dir", "split_index", "init_from"))
    train.train(Path(a.data), Path(a.out), cfg, a.actiond, log=log)


def cmd_train_temporal(a):
    from actiond_recipe import train_temporal

    cfg = training_config(a, ("name", "alpha", "size", "frames", "clip_step", "epochs", "batch_size",
                              "learning_rate", "max_minutes", "seed", "threads", "sample_fps", "normalization",
                              "init_from", "init_from_frame", "from_onset", "expand", "init_from_expand",
                              "onset_mask", "evaluate"))
    if a.forms is not None:
        cfg["forms"] = [f for f in a.forms.split(",") if f]
    train_temporal.train(Path(a.data), Path(a.out), cfg, a.actiond, log=log)


def cmd_quantize(a):
    from actiond_recipe import quantize

    quantize.quantize(Path(a.model), Path(a.data), Path(a.out), a.actiond, a.calibration_frames, a.seed, log=log)


def cmd_compare(a):
    from actiond_recipe.compare import table

    text = table([Path(r) for r in a.runs], Path(a.note).read_text() if a.note else "", a.remeasure)
    Path(a.out).write_text(text)
    print(text)


def cmd_demo_eval(a):
    from actiond_recipe import dataset, demo_eval

    res = demo_eval.evaluate_demo(Path(a.model), int_list(a.seeds), dataset.find_actiond(a.actiond),
                                  a.scenes, a.seconds, people=a.people,
                                  scale=tuple(float(v) for v in a.scale.split("-")), log=log)
    log(f"all seeds: {res['correct']}/{res['clips']} clips correct ({100 * res['accuracy']:.1f} %)")
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


def cmd_assess(a):
    from actiond_recipe import assess, dataset

    model = Path(a.model)
    cache = Path(a.cache) if a.cache else model.parent / "assess-cache" / Path(a.data).resolve().name
    res = assess.assess(model, Path(a.data), dataset.find_actiond(a.actiond), cache,
                        int_list(a.groups) if a.groups else None, sample_fps_of(a.sample_fps, model),
                        smoothing_of(a.smoothing), a.from_onset, log=log)
    write_results(res, assess.markdown(res), a.out)


def cmd_street_check(a):
    from actiond_recipe import dataset, street_check

    res = street_check.check(Path(a.model), dataset.find_actiond(a.actiond), a.seed, a.scenes,
                             seconds=a.seconds, scale_range=tuple(float(v) for v in a.scale.split("-")),
                             sample_fps=sample_fps_of(a.sample_fps, Path(a.model)), log=log)
    write_results(res, street_check.markdown(res), a.out)


def cmd_chair_check(a):
    from actiond_recipe import chair_check, dataset

    res = chair_check.check(Path(a.model), dataset.find_actiond(a.actiond), int_list(a.groups), a.seed,
                            tuple(int(v) for v in a.size.split("x")), tuple(float(v) for v in a.scale.split("-")),
                            sample_fps=sample_fps_of(a.sample_fps, Path(a.model)), log=log)
    write_results(res, chair_check.markdown(res), a.out)


def cmd_reference(a):
    from actiond_recipe import parity

    parity.reference(Path(a.model), Path(a.frames), Path(a.out), history=not a.no_history)


def cmd_variant(a):
    from actiond_recipe import parity

    print(parity.variant(Path(a.model), a.layout, a.kind, Path(a.out)))


def cmd_params(a):
    from actiond_recipe import nets

    for name in nets.BACKBONES:
        net = nets.backbone(name, a.size)
        print(f"{name}: {net.count_params():,} (published {nets.PUBLISHED_PARAMS[name]:,})")


def parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job, each with its handler as `fn`."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("render", help="render a synthetic dataset in UCF101 layout")
    r.add_argument("--out", required=True)
    r.add_argument("--groups", default="1-8", help="group numbers, e.g. 1-8 or 9,10")
    r.add_argument("--clips", type=int, default=3, help="clips per class and group")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--profile", choices=["train", "test"], default="train")
    r.add_argument("--seconds", type=float, nargs=2, default=[4.0, 6.0], metavar=("MIN", "MAX"))
    r.add_argument("--labels", help="comma-separated subset of the classes")
    r.add_argument("--jobs", type=int, default=2)
    r.set_defaults(fn=cmd_render)

    h = sub.add_parser("render-humans", help="render procedural people performing actions (UCF101 layout)")
    h.add_argument("--out", required=True)
    h.add_argument("--groups", default="1-8", help="group numbers (performers and scene), e.g. 1-8 or 9,10")
    h.add_argument("--clips", type=int, default=3, help="clips per action and group")
    h.add_argument("--seed", type=int, default=1)
    h.add_argument("--size", default="160x120", help="WIDTHxHEIGHT")
    h.add_argument("--seconds", type=float, default=3.0)
    h.add_argument("--fps", type=int, default=10)
    h.add_argument("--labels", help="comma-separated subset of the actions")
    h.add_argument("--jobs", type=int, default=2)
    h.add_argument("--scale", default="0.1-0.9", help="MIN-MAX height of the main person, fractions of the frame height")
    h.add_argument("--views", default="side,front,three_quarter,high",
                   help="cameras to draw from, evenly (a view named twice is drawn twice as often)")
    h.add_argument("--sheet", help="also write a contact sheet PNG (one frame per action)")
    h.set_defaults(fn=cmd_render_humans)

    d = sub.add_parser("render-demo", help="render a scheduled demo video and its schedule (.json)")
    d.add_argument("--out", required=True)
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--scenes", type=int, default=12)
    d.add_argument("--seconds", type=float, default=6.0)
    d.set_defaults(fn=cmd_render_demo)

    pd = sub.add_parser("render-people-demo", help="render a scheduled demo video of people and its schedule (.json)")
    pd.add_argument("--out", required=True)
    pd.add_argument("--seed", type=int, default=7)
    pd.add_argument("--scenes", type=int, default=10)
    pd.add_argument("--seconds", type=float, default=6.0)
    pd.add_argument("--size", default="320x240", help="WIDTHxHEIGHT")
    pd.add_argument("--fps", type=int, default=10)
    pd.add_argument("--bitrate", type=int, default=300, help="kbit/s")
    pd.add_argument("--scale", default="0.1-0.9", help="MIN-MAX height of the main person, fractions of the frame height")
    pd.set_defaults(fn=cmd_render_people_demo)

    pr = sub.add_parser("people-report", help="single-frame vs TSM comparison on people (held-out groups)")
    pr.add_argument("--frame", required=True, help="run folder of recipe.py train")
    pr.add_argument("--tsm", required=True, help="run folder of recipe.py train-temporal")
    pr.add_argument("--out", required=True, help="markdown file (a .json is written beside it)")
    pr.set_defaults(fn=cmd_people_report)

    t = sub.add_parser("train", help="train, export and evaluate a model")
    t.add_argument("--data", required=True, help="folder of <Class>/v_<Class>_gXX_cYY.<ext> videos")
    t.add_argument("--out", required=True, help="output folder (model.onnx, model.toml, report)")
    t.add_argument("--config", help="JSON file with training settings (see actiond_recipe/train.py DEFAULTS)")
    t.add_argument("--name")
    t.add_argument("--backbone", choices=["mobilenet_v2", "mobilenet_v1", "vgg16"])
    t.add_argument("--alpha", type=float, help="width multiplier of the MobileNets (1.0)")
    t.add_argument("--head", choices=["gap", "flatten"])
    t.add_argument("--dropout", type=float)
    t.add_argument("--weights", help="local no-top weights file (e.g. ImageNet); default: from scratch")
    t.add_argument("--init-from", dest="init_from",
                   help="continue from an earlier run's weights (<run>/cache/model.weights.h5, same settings)")
    t.add_argument("--size", type=int, help="input width = height in pixels (128)")
    t.add_argument("--resize", choices=["stretch", "center_crop", "letterbox"])
    t.add_argument("--channel-order", dest="channel_order", choices=["RGB", "BGR"])
    t.add_argument("--sample-fps", dest="sample_fps", type=float, help="frames per second taken from each video (5)")
    t.add_argument("--train-frame-step", dest="train_frame_step", type=int,
                   help="train on every n-th extracted frame (1)")
    t.add_argument("--normalization", choices=["imagenet", "dataset", "unit"])
    t.add_argument("--no-augment", action="store_true")
    t.add_argument("--epochs", type=int, help="(12); 0 exports and evaluates the --init-from weights untrained")
    t.add_argument("--batch-size", dest="batch_size", type=int)
    t.add_argument("--learning-rate", dest="learning_rate", type=float)
    t.add_argument("--max-minutes", dest="max_minutes", type=float, help="training time budget")
    t.add_argument("--seed", type=int)
    t.add_argument("--test-groups", help="groups held out for testing, e.g. 9,10 (default: 20 %% drawn)")
    t.add_argument("--val-groups", help="groups for validation (default: 15 %% drawn)")
    t.add_argument("--split-dir", dest="split_dir", help="folder with UCF101 trainlist0N.txt/testlist0N.txt")
    t.add_argument("--split-index", dest="split_index", type=int, help="N of the split files (1)")
    t.add_argument("--smoothing", help="METHOD:WINDOW:STRIDE for clip accuracy (mean:8:4)")
    t.add_argument("--layout", choices=["NHWC", "NCHW"])
    t.add_argument("--output", choices=["probabilities", "logits"])
    t.add_argument("--threads", type=int, help="TensorFlow threads (2)")
    t.add_argument("--actiond", help="actiond binary used for frame extraction")
    t.set_defaults(fn=cmd_train)

    tt = sub.add_parser("train-temporal", help="train a TSM MobileNetV2; export online (stateful) and clip models")
    tt.add_argument("--data", required=True, help="folder of <Class>/v_<Class>_gXX_cYY.<ext> videos")
    tt.add_argument("--out", required=True, help="output folder: tsm/ (stateful) and clip/ (clip model)")
    tt.add_argument("--config", help="JSON file with settings (see actiond_recipe/train_temporal.py DEFAULTS)")
    tt.add_argument("--name")
    tt.add_argument("--alpha", type=float, help="width multiplier (0.5)")
    tt.add_argument("--expand", type=float, help="multiplies every block's expansion, 6 (1.0): wider hidden layers")
    tt.add_argument("--size", type=int, help="input width = height in pixels (96)")
    tt.add_argument("--frames", type=int, help="T: consecutive sampled frames per training clip and clip model (8)")
    tt.add_argument("--clip-step", dest="clip_step", type=int, help="a training clip starts every N frames (4)")
    tt.add_argument("--sample-fps", dest="sample_fps", type=float)
    tt.add_argument("--normalization", choices=["imagenet", "dataset", "unit"])
    tt.add_argument("--no-augment", action="store_true")
    tt.add_argument("--epochs", type=int, help="(20); 0 exports and evaluates the --init-from weights untrained")
    tt.add_argument("--batch-size", dest="batch_size", type=int, help="clips per step (8)")
    tt.add_argument("--learning-rate", dest="learning_rate", type=float)
    tt.add_argument("--max-minutes", dest="max_minutes", type=float, help="training time budget")
    tt.add_argument("--init-from", dest="init_from",
                    help="continue from an earlier run's weights (<run>/cache/tsm.weights.h5, same settings)")
    tt.add_argument("--init-from-expand", dest="init_from_expand", type=float,
                    help="the --init-from weights are a TSM's of this smaller --expand: widened so that they "
                         "compute the same at first")
    tt.add_argument("--init-from-frame", dest="init_from_frame",
                    help="start from a single-frame MobileNetV2 of `train` (<run>/cache/model.weights.h5; "
                         "same alpha, size and labels, config \"hidden\": 0)")
    tt.add_argument("--seed", type=int)
    tt.add_argument("--test-groups")
    tt.add_argument("--val-groups")
    tt.add_argument("--train-groups", dest="train_groups",
                    help="train on these groups only (default: all not held out); only their frames are extracted")
    tt.add_argument("--from-onset", dest="from_onset", type=float, metavar="SHARE",
                    help="train on a rendered fall's or sit's windows only from when SHARE of it is under way "
                         "(the sidecar's plan): before, the person stands as idle people do")
    tt.add_argument("--mask-before-onset", dest="onset_mask", action="store_true", default=None,
                    help="with --from-onset, a kept window's frames from before that share get no loss "
                         "(for windows longer than the standing before a fall)")
    tt.add_argument("--forms", help="the forms exported: stateful, clip or stateful,clip (both, the default)")
    tt.add_argument("--no-evaluate", dest="evaluate", action="store_false", default=None,
                    help="export without evaluating (recipe.py assess measures the model later, on two cores)")
    tt.add_argument("--threads", type=int)
    tt.add_argument("--actiond")
    tt.set_defaults(fn=cmd_train_temporal)

    qz = sub.add_parser("quantize", help="static int8 quantization of a trained model, measured against it")
    qz.add_argument("--model", required=True, help="a run or model folder (model.onnx, model.toml, training_config.json)")
    qz.add_argument("--data", required=True, help="the data it was trained on (calibration and held-out groups)")
    qz.add_argument("--out", required=True, help="output folder (model.onnx, model.toml, quantization.json, REPORT.md)")
    qz.add_argument("--calibration-frames", dest="calibration_frames", type=int, default=256,
                    help="training frames the activation ranges are calibrated on (256)")
    qz.add_argument("--seed", type=int, default=0, help="which calibration frames are drawn (0)")
    qz.add_argument("--actiond", help="actiond binary used for frame extraction")
    qz.set_defaults(fn=cmd_quantize)

    c = sub.add_parser("compare", help="backbone comparison table (Markdown) from training runs")
    c.add_argument("--out", required=True)
    c.add_argument("--note", help="Markdown file appended under the table")
    c.add_argument("--remeasure", action="store_true",
                   help="measure every frame model's CPU latency again, together, interleaved "
                        "(temporal forms keep their report's)")
    c.add_argument("runs", nargs="+", help="run folders of train, or <run>/tsm and <run>/clip of train-temporal")
    c.set_defaults(fn=cmd_compare)

    e = sub.add_parser("demo-eval", help="clip accuracy on freshly rendered demo streams (offline)")
    e.add_argument("--model", required=True)
    e.add_argument("--seeds", default="100-104")
    e.add_argument("--scenes", type=int, default=8)
    e.add_argument("--seconds", type=float, default=5.0)
    e.add_argument("--out", help="JSON file for the results")
    e.add_argument("--actiond")
    e.add_argument("--people", action="store_true", help="render-people-demo's demos instead of test patterns")
    e.add_argument("--scale", default="0.4-0.9", help="with --people: MIN-MAX height of the main person")
    e.set_defaults(fn=cmd_demo_eval)

    asx = sub.add_parser("assess", help="score an exported model on a labelled folder (UCF101 layout): accuracy, "
                                        "per-class recall, confusion matrix")
    asx.add_argument("--model", required=True, help="model.onnx with its model.toml beside it")
    asx.add_argument("--data", required=True, help="folder of <Class>/v_<Class>_gXX_cYY.<ext> videos")
    asx.add_argument("--groups", help="only these groups, e.g. 761-800 (default: every video)")
    asx.add_argument("--sample-fps", type=float, help="frames per second sampled (default: the model's training rate)")
    asx.add_argument("--smoothing", default="mean:8:4", help="METHOD:WINDOW:STRIDE for clip accuracy")
    asx.add_argument("--cache", help="frame cache folder (default: <model dir>/assess-cache/<data name>)")
    asx.add_argument("--from-onset", type=float, metavar="SHARE",
                     help="also score the clips but a rendered fall's or sit's that end before SHARE (0-1) of it "
                          "is under way (they show someone standing)")
    asx.add_argument("--out", help="JSON file for the results (and the Markdown beside it as .md)")
    asx.add_argument("--actiond")
    asx.set_defaults(fn=cmd_assess)

    st = sub.add_parser("street-check", help="share of `walking` and `falling` answers on fresh street scenes "
                                            "(a lone pedestrian, a walking crowd)")
    st.add_argument("--model", required=True, help="model.onnx of a people model (frame, clip or stateful)")
    st.add_argument("--seed", type=int, default=1)
    st.add_argument("--scenes", type=int, default=10, help="scenes of each kind")
    st.add_argument("--seconds", type=float, default=6.0)
    st.add_argument("--scale", default="0.15-0.6", help="MIN-MAX height of walker 0, fractions of the frame height")
    st.add_argument("--sample-fps", type=float, help="frames per second sampled (default: the model's training rate)")
    st.add_argument("--out", help="JSON file for the results (and the table beside it as .md)")
    st.add_argument("--actiond")
    st.set_defaults(fn=cmd_street_check)

    ch = sub.add_parser("chair-check", help="`sitting_down` answers on held-out clips of the other actions, "
                                            "without and with an empty chair behind the main person")
    ch.add_argument("--model", required=True, help="model.onnx of a people model (frame, clip or stateful)")
    ch.add_argument("--groups", default="781-800", help="held-out groups of the people data set, e.g. 781-800")
    ch.add_argument("--seed", type=int, default=21, help="the data set's render seed (prepare.sh: 21)")
    ch.add_argument("--size", default="160x120", help="WIDTHxHEIGHT of the renders (prepare.sh's small half: 256x192)")
    ch.add_argument("--scale", default="0.4-0.9", help="MIN-MAX height of the main person, fractions of the "
                                                       "frame height (prepare.sh's small half: 0.1-0.4)")
    ch.add_argument("--sample-fps", type=float, help="frames per second sampled (default: the model's training rate)")
    ch.add_argument("--out", help="JSON file for the results (and the table beside it as .md)")
    ch.add_argument("--actiond")
    ch.set_defaults(fn=cmd_chair_check)

    f = sub.add_parser("reference", help="ONNX Runtime (Python) outputs for raw RGB frames (parity tests)")
    f.add_argument("--model", required=True)
    f.add_argument("--frames", required=True, help="H×W×3 uint8 frames back to back at the model's size")
    f.add_argument("--out", required=True, help="JSON file to write")
    f.add_argument("--no-history", action="store_true",
                   help="stateful: zero state on every call; clip: the newest frame T times (tests that history matters)")
    f.set_defaults(fn=cmd_reference)

    v = sub.add_parser("variant", help="NCHW-input and/or logits-output copy of an NHWC probabilities model")
    v.add_argument("--model", required=True)
    v.add_argument("--layout", choices=["NHWC", "NCHW"], default="NCHW")
    v.add_argument("--kind", choices=["probabilities", "logits"], default="logits")
    v.add_argument("--out", required=True)
    v.set_defaults(fn=cmd_variant)

    q = sub.add_parser("params", help="print Keras' parameter counts of the backbones")
    q.add_argument("--size", type=int, default=224)
    q.set_defaults(fn=cmd_params)

    return p


def main(argv=None):
    a = parser().parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
