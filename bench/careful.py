#!/usr/bin/env python3
"""Careful Python peer for `actiond bench`: ffmpeg samples and scales, onnxruntime classifies.

This is how a careful engineer (and Frigate, for its detectors) feeds a model from a
camera: ffmpeg decodes with one thread and does the sampling and the resize in its own
filter graph (`-vf fps=F,scale=W:H`), writing only the frames to analyse, already at the
model's size and in RGB, to a pipe; Python reads whole frames from the pipe, normalises
them with one vectorised multiply-add and runs a plain CPU InferenceSession, batch 1 (ONNX Runtime's defaults, as Frigate
ships them); with --tuned, one intra-op thread and no spin-waiting between runs, as
a careful engineer who measured it would set it.
With --realtime ffmpeg reads the file at its own rate (`-re`), like a live camera; the
file is looped (`-stream_loop -1`). CPU time is this process's plus ffmpeg's (from
/proc). `late` counts the sampled frames that did not arrive in the window (expected
minus analysed); `decoded` is the frames ffmpeg decoded for them (analysed × rate / F).
Same command line and JSON line as baseline.py (see bench/README.md).
"""
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (Fail, arguments, count, cpu_seconds, guarded, load_manifest, open_session,  # noqa: E402
                    report)


def probe_fps(path):
    """The video's frame rate from ffprobe (30 when unknown)."""
    if not Path(path).is_file():
        raise Fail(f"no such video file: {path}")
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=avg_frame_rate", "-of", "csv=p=0", path],
        capture_output=True, text=True, check=False)
    num, _, den = out.stdout.strip().partition("/")
    try:
        fps = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        fps = 0.0
    if out.returncode != 0:
        raise Fail(f"ffprobe cannot read {path}: {out.stderr.strip()}")
    return fps if 0 < fps < 1000 else 30.0


def filters(spec, fps):
    """ffmpeg's filter graph: sample, then crop/scale/pad as the manifest's `resize` says."""
    w, h = spec["w"], spec["h"]
    size = {
        "stretch": f"scale={w}:{h}",
        "center_crop": f"crop='min(iw,ih*{w}/{h})':'min(ih,iw*{h}/{w})',scale={w}:{h}",
        "letterbox": f"scale={w}:{h}:force_original_aspect_ratio=decrease,"
                     f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2",
    }[spec["resize"]]
    return f"fps={fps:g},{size}"


def start_ffmpeg(args, spec, fps):
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-threads", "1"]
    if args.realtime:
        cmd.append("-re")
    cmd += ["-stream_loop", "-1", "-i", args.input, "-map", "0:v:0", "-vf", filters(spec, fps),
            "-pix_fmt", "rgb24" if spec["order"] == "RGB" else "bgr24", "-f", "rawvideo", "pipe:1"]
    try:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    except OSError as e:
        raise Fail(f"cannot start ffmpeg: {e}")


def proc_cpu_seconds(pid):
    """User + system CPU seconds of process `pid` from /proc (0 when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def proc_peak_rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Classifier:
    """Normalises a pipe frame with one multiply-add and runs the session."""

    def __init__(self, sess, spec):
        self.sess, self.spec = sess, spec
        self.a = (1.0 / (spec["scale"] * spec["std"])).astype(np.float32)
        self.b = (-spec["mean"] / spec["std"]).astype(np.float32)
        self.x = np.empty((1, spec["h"], spec["w"], 3), np.float32)

    def __call__(self, buf):
        s = self.spec
        img = np.frombuffer(buf, np.uint8).reshape(s["h"], s["w"], 3)
        np.multiply(img, self.a, out=self.x[0])
        self.x[0] += self.b
        x = self.x if s["layout"] == "NHWC" else np.ascontiguousarray(self.x.transpose(0, 3, 1, 2))
        out = self.sess.run([s["out_name"]], {s["in_name"]: x})[0].reshape(-1)
        i = int(np.argmax(out))  # softmax keeps the order: no need for it on logits
        return s["labels"][i] if i < len(s["labels"]) else str(i)


def run(pipe, classify, frame_bytes, seconds, stats=None):
    """Classifies the frames arriving for `seconds`; counts into `stats` when given."""
    buf = bytearray(frame_bytes)
    view = memoryview(buf)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = 0
        while got < frame_bytes:
            n = pipe.readinto(view[got:])
            if not n:
                raise Fail("ffmpeg ended its output")
            got += n
        t_read = time.monotonic()
        count(stats, classify(buf), t_read)


def main():
    args = arguments(__doc__.splitlines()[0], tunable=True)
    spec = load_manifest(args.manifest)
    classify = Classifier(open_session(args, spec), spec)
    rate = probe_fps(args.input)
    fps = rate / args.every
    ff = start_ffmpeg(args, spec, fps)
    try:
        frame_bytes = spec["w"] * spec["h"] * 3
        run(ff.stdout, classify, frame_bytes, args.warmup)
        stats = {"analyzed": 0, "decoded": 0, "late": 0, "latency": [], "labels": {}}
        t0, c0, f0 = time.monotonic(), cpu_seconds(), proc_cpu_seconds(ff.pid)
        run(ff.stdout, classify, frame_bytes, args.duration, stats)
        wall = time.monotonic() - t0
        cpu = cpu_seconds() - c0 + proc_cpu_seconds(ff.pid) - f0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + proc_peak_rss_kb(ff.pid)
    except Fail:
        ff.kill()
        err = ff.stderr.read().decode(errors="replace").strip().splitlines()
        raise Fail(err[-1] if err else "ffmpeg failed")
    finally:
        ff.kill()
        ff.wait()
    stats["decoded"] = round(stats["analyzed"] * args.every)
    if args.realtime:
        stats["late"] = max(0, round(wall * fps) - stats["analyzed"])
    report(stats, wall, cpu, args, rss, sampled_fps=round(fps, 3))


if __name__ == "__main__":
    guarded("careful.py", main)
