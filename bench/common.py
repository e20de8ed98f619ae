"""What the Python rows of `actiond bench` share: the manifest, the session, CPU time,
the argument set and the one JSON line they print."""
import argparse
import json
import platform
import resource
import sys
import time
import tomllib
from pathlib import Path

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


def open_session(args, spec):
    """A plain CPU InferenceSession (graph optimisations on, sequential, one inter-op
    thread) checked against the manifest. With `args.tuned`: one intra-op thread when
    --threads is 0 and no spin-waiting between runs, as a careful engineer tunes it."""
    tuned = getattr(args, "tuned", False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads or (1 if tuned else 0)
    if tuned:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
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
    return sess


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def arguments(description, tunable=False):
    """The command line every Python row takes (see bench/README.md); `tunable` adds --tuned."""
    p = argparse.ArgumentParser(description=description)
    if tunable:
        p.add_argument("--tuned", action="store_true",
                       help="one intra-op thread (when --threads is 0), no spin-waiting")
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
    return args


def count(stats, label, t_read):
    """Counts one analysed frame into the window's `stats` (none while warming up), its
    latency from `t_read` (when the frame was read) to now."""
    if stats is not None:
        stats["latency"].append((time.monotonic() - t_read) * 1000.0)
        stats["analyzed"] += 1
        stats["labels"][label] = stats["labels"].get(label, 0) + 1


def report(stats, wall, cpu, args, peak_rss_kb, **extra):
    """Prints the measured window as the one JSON line `actiond bench` reads."""
    lat = stats["latency"]
    pct = (lambda q: round(float(np.percentile(lat, q)), 3)) if lat else (lambda q: None)
    print(json.dumps({
        "analyzed": stats["analyzed"], "decoded": stats["decoded"],
        "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "latency_p50_ms": pct(50), "latency_p99_ms": pct(99), "late": stats["late"],
        "peak_rss_kb": peak_rss_kb, "labels": stats["labels"], "every": args.every,
        "threads": args.threads, "python": platform.python_version(),
        "onnxruntime": ort.__version__, **extra,
    }))


def guarded(name, main):
    """Runs `main`, turning any failure into one line on stderr and exit code 2."""
    try:
        main()
    except Fail as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # e.g. an onnxruntime failure mid-run: still one line, exit 2
        print(f"{name}: error: {type(e).__name__}: {first_line(e)}", file=sys.stderr)
        sys.exit(2)
