#!/usr/bin/env python3
"""Python baseline for `actiond bench`: OpenCV + onnxruntime, written as people write it.

This is the loop found in most tutorials and quick prototypes, deliberately not
optimised, so that the comparison with the daemon is against what a user would
otherwise run:
  * every frame is read and decoded with `cap.read()` (no grab()/retrieve() skipping),
    and only every N-th one is analysed;
  * preprocessing is cv2.resize (INTER_LINEAR) + cv2.cvtColor + numpy float32 arithmetic;
  * inference is one frame at a time (batch 1), on a plain CPU InferenceSession.
The file is looped (rewound at its end) until the measured window is over; with
--realtime, frame k of a window is read no earlier than window start + k/fps, as from
a live camera, and counted `late` when its read starts more than one frame period
after that. Latency runs from `cap.read()` returning to the top-1 label being known.
After --warmup unmeasured seconds, prints one JSON object on stdout for the measured
window; errors go to stderr as one line with exit code 2.
"""
import argparse
import json
import os
import platform
import resource
import sys
import time
import tomllib
from pathlib import Path

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # quiet FFmpeg; failures are reported here
import cv2
import numpy as np
import onnxruntime as ort


class Fail(Exception):
    """An error reported as one line on stderr, exit code 2."""


def first_line(e):
    return (str(e).splitlines() or [""])[0]


def load_manifest(path):
    try:
        m = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise Fail(f"manifest {path}: {e}")

    def need(table, key, where):
        if not isinstance(table, dict) or key not in table:
            raise Fail(f"manifest {path}: missing key {where}{key}")
        return table[key]

    i, o = need(m, "input", ""), need(m, "output", "")
    try:
        if "labels" in m:
            labels = [str(label) for label in m["labels"]]
        else:
            text = (Path(path).parent / need(m, "labels_file", "labels or ")).read_text()
            labels = [line.strip() for line in text.splitlines() if line.strip()]
        spec = dict(in_name=need(i, "name", "[input] "), layout=need(i, "layout", "[input] "),
                    w=int(need(i, "width", "[input] ")), h=int(need(i, "height", "[input] ")),
                    order=i.get("channel_order", "RGB"), resize=i.get("resize", "stretch"),
                    scale=float(i.get("scale", 255.0)),
                    mean=np.array(i.get("mean", [0.485, 0.456, 0.406]), np.float32),
                    std=np.array(i.get("std", [0.229, 0.224, 0.225]), np.float32),
                    out_name=need(o, "name", "[output] "), kind=need(o, "kind", "[output] "),
                    labels=labels)
    except (OSError, TypeError, ValueError) as e:
        raise Fail(f"manifest {path}: {e}")
    for key, allowed in (("layout", ("NHWC", "NCHW")), ("order", ("RGB", "BGR")),
                         ("resize", ("stretch", "center_crop", "letterbox")),
                         ("kind", ("probabilities", "logits"))):
        if spec[key] not in allowed:
            raise Fail(f"manifest {path}: {key} = {spec[key]!r}, expected one of {allowed}")
    if not labels or spec["mean"].shape != (3,) or spec["std"].shape != (3,):
        raise Fail(f"manifest {path}: need non-empty labels and 3-element mean/std")
    if spec["w"] < 1 or spec["h"] < 1 or spec["scale"] <= 0 or not spec["std"].all():
        raise Fail(f"manifest {path}: need width, height, scale > 0 and non-zero std")
    return spec


def fit(frame, s):
    """Resize the BGR frame to the model's input size as the manifest says."""
    w, h = s["w"], s["h"]
    fh, fw = frame.shape[:2]
    if s["resize"] == "center_crop":
        cw, ch = min(fw, fh * w // h), min(fh, fw * h // w)
        x, y = (fw - cw) // 2, (fh - ch) // 2
        frame = frame[y:y + ch, x:x + cw]
    elif s["resize"] == "letterbox":
        k = min(w / fw, h / fh)
        nw, nh = max(1, round(fw * k)), max(1, round(fh * k))
        out = np.zeros((h, w, 3), np.uint8)
        x, y = (w - nw) // 2, (h - nh) // 2
        out[y:y + nh, x:x + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
        return out
    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)


def classify(sess, s, frame):
    img = fit(frame, s)
    if s["order"] == "RGB":
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    x = (img.astype(np.float32) / s["scale"] - s["mean"]) / s["std"]
    if s["layout"] == "NCHW":
        x = x.transpose(2, 0, 1)
    x = np.ascontiguousarray(x[np.newaxis], dtype=np.float32)
    out = sess.run([s["out_name"]], {s["in_name"]: x})[0].reshape(-1)
    if s["kind"] == "logits":
        e = np.exp(out - out.max())
        out = e / e.sum()
    i = int(np.argmax(out))
    return s["labels"][i] if i < len(s["labels"]) else str(i)


class Video:
    """cv2.VideoCapture over a file, rewound when it ends."""

    def __init__(self, path):
        if not Path(path).is_file():
            raise Fail(f"no such video file: {path}")
        self.path, self.cap, self.count = path, cv2.VideoCapture(path), 0
        if not self.cap.isOpened():
            raise Fail(f"cannot open video {path}")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else 30.0  # 0 or NaN when unknown

    def read(self):
        ok, frame = self.cap.read()
        if not ok:  # end of file: rewind, and reopen if the backend cannot seek
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.cap.read()
            if not ok:
                self.cap.release()
                self.cap = cv2.VideoCapture(self.path)
                ok, frame = self.cap.read()
            if not ok:
                raise Fail(f"cannot read a frame from {self.path}")
        self.count += 1
        return frame


def run(video, sess, spec, args, seconds, stats=None):
    """Runs the loop for `seconds`; counts into `stats` when given (the measured window)."""
    start = time.monotonic()
    end, period, k = start + seconds, 1.0 / video.fps, 0
    while time.monotonic() < end:
        if args.realtime:
            due, now = start + k * period, time.monotonic()
            if due >= end:
                break
            if now < due:
                time.sleep(due - now)
            elif now - due > period and stats is not None:
                stats["late"] += 1
        index = video.count
        frame = video.read()
        t_read = time.monotonic()
        k += 1
        if stats is not None:
            stats["decoded"] += 1
        if index % args.every == 0:
            label = classify(sess, spec, frame)
            if stats is not None:
                stats["latency"].append((time.monotonic() - t_read) * 1000.0)
                stats["analyzed"] += 1
                stats["labels"][label] = stats["labels"].get(label, 0) + 1


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--input", required=True, help="video file, looped")
    p.add_argument("--every", type=int, default=1, help="analyse every N-th frame")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0 = ORT default)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    p.add_argument("--realtime", action="store_true", help="pace reads at the file's FPS")
    args = p.parse_args()
    if args.every < 1 or args.threads < 0 or args.duration <= 0 or args.warmup < 0:
        raise Fail("--every must be >= 1, --threads >= 0, --duration > 0, --warmup >= 0")

    spec = load_manifest(args.manifest)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    try:
        sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise Fail(f"cannot load model {args.model}: {first_line(e)}")
    inp = {t.name: t.shape for t in sess.get_inputs()}.get(spec["in_name"])
    out = {t.name: t.shape for t in sess.get_outputs()}.get(spec["out_name"])
    if inp is None or out is None:
        raise Fail(f"model has no input {spec['in_name']!r} or no output {spec['out_name']!r}")
    h, w = spec["h"], spec["w"]
    want = [1, h, w, 3] if spec["layout"] == "NHWC" else [1, 3, h, w]
    if len(inp) != 4 or any(isinstance(d, int) and d != e for d, e in zip(inp, want)):
        raise Fail(f"model input shape {inp} does not match the manifest "
                   f"({spec['layout']} {w}x{h})")
    if out and isinstance(out[-1], int) and out[-1] != len(spec["labels"]):
        raise Fail(f"model has {out[-1]} outputs but the manifest {len(spec['labels'])} labels")
    video = Video(args.input)

    run(video, sess, spec, args, args.warmup)
    stats = {"analyzed": 0, "decoded": 0, "late": 0, "latency": [], "labels": {}}
    t0, c0 = time.monotonic(), cpu_seconds()
    run(video, sess, spec, args, args.duration, stats)
    wall, cpu = time.monotonic() - t0, cpu_seconds() - c0

    lat = stats["latency"]
    pct = (lambda q: round(float(np.percentile(lat, q)), 3)) if lat else (lambda q: None)
    print(json.dumps({
        "analyzed": stats["analyzed"], "decoded": stats["decoded"],
        "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "latency_p50_ms": pct(50), "latency_p99_ms": pct(99), "late": stats["late"],
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "labels": stats["labels"], "every": args.every, "threads": args.threads,
        "python": platform.python_version(), "opencv": cv2.__version__,
        "onnxruntime": ort.__version__,
    }))


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        print(f"baseline.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # e.g. an onnxruntime failure mid-run: still one line, exit 2
        print(f"baseline.py: error: {type(e).__name__}: {first_line(e)}", file=sys.stderr)
        sys.exit(2)
