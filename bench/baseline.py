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
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # quiet FFmpeg; failures are reported here
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (Fail, arguments, count, cpu_seconds, guarded, load_manifest, open_session,  # noqa: E402
                    report)


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
            count(stats, classify(sess, spec, frame), t_read)


def main():
    args = arguments(__doc__.splitlines()[0])
    spec = load_manifest(args.manifest)
    sess = open_session(args, spec)
    video = Video(args.input)

    run(video, sess, spec, args, args.warmup)
    stats = {"analyzed": 0, "decoded": 0, "late": 0, "latency": [], "labels": {}}
    t0, c0 = time.monotonic(), cpu_seconds()
    run(video, sess, spec, args, args.duration, stats)
    wall, cpu = time.monotonic() - t0, cpu_seconds() - c0
    report(stats, wall, cpu, args, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           opencv=cv2.__version__)


if __name__ == "__main__":
    guarded("baseline.py", main)
