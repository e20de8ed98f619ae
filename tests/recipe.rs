//! The training recipe and the shipped models, through the real binary: the recipe end
//! to end on a tiny generated dataset, the shipped pattern and people models on freshly
//! rendered held-out demo streams, prediction parity with ONNX Runtime's Python API,
//! and the recipe's Python unit tests (augmentations, parameter counts, splits).
//!
//! They need the recipe's environment: `scripts/python-env.sh` (makes `.venv/`).

mod recipe_support;

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use recipe_support::{
    lossless_config, lossless_video, manifest_labels, manifest_table, probability_rows, python,
    recipe, root, scores, Daemon,
};
use serde_json::Value;

const DEFAULT_MODEL: &str = "models/default";
/// The shipped int8 quantization of the default model.
const INT8_MODEL: &str = "models/default-int8";
/// The shipped people model: the online TSM of the best attempt so far (issue 14).
const PEOPLE_MODEL: &str = "models/people";
/// The people demo as the committed one was rendered: 10 scenes of 6 s, 320×240, 10 fps.
const PEOPLE_DEMO: [&str; 7] = [
    "render-people-demo",
    "--scenes",
    "10",
    "--seconds",
    "6",
    "--scale",
    "0.4-0.9",
];

/// These tests run one at a time: training and real-time playback share two cores, and
/// a daemon starved by a parallel training run would drop frames.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The recipe's own pytest suite: every augmentation (changes the image as specified,
/// keeps shape and dtype), normalization, Keras parameter counts of the backbones
/// against Keras' published summaries, multiply-add counts, group splits.
#[test]
fn recipe_python_unit_tests() {
    let _serial = serial();
    let out = Command::new(python())
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "models/recipe/tests",
        ])
        .current_dir(root())
        .env("TF_CPP_MIN_LOG_LEVEL", "2")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(" passed"), "{text}");
}

/// render → extract (actiond extract-frames) → train one short epoch → export → the
/// daemon loads the result unchanged and publishes predictions with its labels.
#[test]
fn recipe_end_to_end_on_a_tiny_dataset() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = tmp.path().join("run");
    let d = data.to_str().unwrap();
    recipe(&[
        "render",
        "--out",
        d,
        "--groups",
        "1-3",
        "--clips",
        "1",
        "--seed",
        "11",
        "--seconds",
        "2",
        "2.5",
        "--labels",
        "ball,smpte,snow",
    ]);
    for label in ["ball", "smpte", "snow"] {
        for g in 1..=3 {
            let f = data.join(label).join(format!("v_{label}_g{g:02}_c01.mp4"));
            assert!(f.is_file(), "{} not rendered", f.display());
        }
    }
    // The tiny runs' settings, shared by the trainings and their untrained re-exports below;
    // train-temporal has no --smoothing.
    let common = [
        "--data",
        d,
        "--name",
        "tiny",
        "--size",
        "32",
        "--alpha",
        "0.35",
        "--test-groups",
        "3",
        "--val-groups",
        "2",
        "--threads",
        "1",
    ];
    let tiny = [&common[..], &["--smoothing", "mean:4:2"]].concat();
    let log = recipe(
        &[
            &["train", "--epochs", "1", "--out", run.to_str().unwrap()][..],
            &tiny,
        ]
        .concat(),
    );
    assert!(
        log.contains("split by group: train 1, val 2, test 3"),
        "{log}"
    );
    for f in [
        "model.onnx",
        "model.toml",
        "report.json",
        "REPORT.md",
        "confusion.json",
        "confusion.png",
        "training_config.json",
        "cache/model.weights.h5",
    ] {
        assert!(run.join(f).is_file(), "{f} missing from the run folder");
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        report["data"]["labels"],
        serde_json::json!(["ball", "smpte", "snow"])
    );
    assert_eq!(
        report["data"]["split"]["test_groups"],
        serde_json::json!([3])
    );
    assert_eq!(
        report["data"]["extraction"]["tool"],
        "actiond extract-frames"
    );
    let test = &report["results"]["test"];
    for level in ["frame", "clip", "video"] {
        assert!(
            test[level]["accuracy"].as_f64().is_some(),
            "{level} accuracy missing"
        );
    }
    assert_eq!(test["clip"]["confusion"].as_array().unwrap().len(), 3);
    let png = std::fs::read(run.join("confusion.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // The manifest records the rate the frames were sampled at (the recipe's default, 5 fps),
    // so the daemon can warn a stream that feeds the model at another.
    assert_eq!(
        manifest_table(&run)["input"]["sample_fps"].as_float(),
        Some(5.0)
    );
    let inspect = |json: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_actiond"));
        c.arg("inspect-model");
        if json {
            c.arg("--json");
        }
        let out = c.arg(run.join("model.onnx")).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let inspected: Value = serde_json::from_str(&inspect(true)).unwrap();
    assert_eq!(
        inspected["manifest"]["input"]["sample_fps"], 5.0,
        "{inspected}"
    );
    let text = inspect(false);
    assert!(
        text.contains("trained at") && text.contains("5 fps"),
        "{text}"
    );

    // `assess` scores the exported model on the held-out group through its own frame
    // cache and gets what training reported for it.
    let assessed = tmp.path().join("assess.json");
    recipe(&[
        "assess",
        "--model",
        run.join("model.onnx").to_str().unwrap(),
        "--data",
        d,
        "--groups",
        "3",
        "--smoothing",
        "mean:4:2",
        "--out",
        assessed.to_str().unwrap(),
    ]);
    let a: Value = serde_json::from_str(&std::fs::read_to_string(&assessed).unwrap()).unwrap();
    assert_eq!(a["videos"], 3, "{a}");
    for level in ["frame", "clip", "video"] {
        assert_eq!(
            a["results"][level]["accuracy"], test[level]["accuracy"],
            "{level}"
        );
        assert_eq!(
            a["results"][level]["confusion"], test[level]["confusion"],
            "{level}"
        );
    }
    assert!(std::fs::read_to_string(assessed.with_extension("md"))
        .unwrap()
        .contains("Clip confusion matrix"));

    // `--epochs 0` exports the kept weights again untrained (a machine that has only the
    // committed weights): the same model, so the same held-out results, with no epoch run.
    let again = tmp.path().join("again");
    let args = [
        &["train", "--epochs", "0", "--out", again.to_str().unwrap()][..],
        &tiny,
    ]
    .concat();
    let weights = run.join("cache/model.weights.h5");
    let log = recipe(&[&args[..], &["--init-from", weights.to_str().unwrap()]].concat());
    assert!(log.contains("no training (--epochs 0)"), "{log}");
    let re: Value =
        serde_json::from_str(&std::fs::read_to_string(again.join("report.json")).unwrap()).unwrap();
    assert_eq!(re["model"]["epochs_run"], 0);
    for level in ["frame", "clip", "video"] {
        assert_eq!(
            re["results"]["test"][level], test[level],
            "{level}: the re-export scores otherwise"
        );
    }
    // The same for train-temporal (how models/people is made again from an attempt's
    // committed weights): the re-export's ONNX holds the trained run's weights exactly.
    // It skips the evaluation (--no-evaluate, as an attempt too large to evaluate on one
    // thread does): its reports say so and hold no results where the trained run's do.
    let (tsm_run, tsm_again) = (tmp.path().join("tsm"), tmp.path().join("tsm-again"));
    let temporal = ["train-temporal", "--frames", "4", "--clip-step", "4"];
    let tsm_out = ["--out", tsm_run.to_str().unwrap(), "--epochs", "1"];
    recipe(&[&temporal[..], &tsm_out, &common].concat());
    let tsm_bare = [
        &temporal[..],
        &["--out", tsm_again.to_str().unwrap(), "--epochs", "0"],
        &["--no-evaluate"],
        &common,
    ]
    .concat();
    let tsm_weights = tsm_run.join("cache/tsm.weights.h5");
    let log = recipe(
        &[
            &tsm_bare[..],
            &["--init-from", tsm_weights.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(log.contains("no training (--epochs 0)"), "{log}");
    for form in ["tsm", "clip"] {
        let compare = Command::new(python())
            .args(["-c", SAME_WEIGHTS])
            .arg(tsm_run.join(form).join("model.onnx"))
            .arg(tsm_again.join(form).join("model.onnx"))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&compare.stdout);
        assert!(
            compare.status.success()
                && said.contains(", 0 differ")
                && said.contains("outputs agree"),
            "{form}: {said}{}",
            String::from_utf8_lossy(&compare.stderr)
        );
    }
    for (run, evaluated) in [(&tsm_run, true), (&tsm_again, false)] {
        for form in ["tsm", "clip"] {
            let report: Value = serde_json::from_str(
                &std::fs::read_to_string(run.join(form).join("report.json")).unwrap(),
            )
            .unwrap();
            let results = report["results"].as_object().expect("results");
            assert_eq!(results.contains_key("test"), evaluated, "{form}: {report}");
            let text = std::fs::read_to_string(run.join(form).join("REPORT.md")).unwrap();
            assert_eq!(text.contains("Not evaluated"), !evaluated, "{form}: {text}");
        }
    }

    // Refused before TensorFlow loads, with the reason: nothing to export, no such count, an
    // augmentation range that a training draw could not survive, or a misspelt parameter (named
    // with the file and the line).
    let mut negative = args.clone();
    negative[2] = "-1";
    let bad_config = |name: &str, text: &str, said: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        let said = format!("{}{said}", path.display());
        (path.to_str().unwrap().to_owned(), said)
    };
    let (bad_range_json, bad_range_said) = bad_config(
        "bad-range.json",
        r#"{"augment": {"ops": [{"name": "low_resolution", "p": 0.5, "factor": [0, 0.5]}]}}"#,
        ":1: \"augment\": augmentation low_resolution: factor must be in (0, 1], got 0.0",
    );
    let (misspelt_json, misspelt_said) = bad_config(
        "misspelt.json",
        "{\n \"hidden\": 0,\n \"augment\": {\"ops\": [{\"name\": \"blur\", \"sigm\": [0, 1]}]}\n}\n",
        ":3: \"augment\": augmentation blur: unknown parameter \"sigm\" (did you mean \"sigma\"?)",
    );
    let bad_range = [&tsm_bare[..], &["--config", &bad_range_json]].concat();
    let misspelt = [&tsm_bare[..], &["--config", &misspelt_json]].concat();
    for (bad, reason) in [
        (&args, "give --init-from"),
        (&negative, "--epochs -1: give 0"),
        (&tsm_bare, "give --init-from"),
        (&bad_range, bad_range_said.as_str()),
        (&misspelt, misspelt_said.as_str()),
    ] {
        let refused = Command::new(python())
            .arg(root().join("models/recipe/recipe.py"))
            .args(bad)
            .current_dir(root())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{bad:?} ran");
        assert!(
            stderr.contains(reason) && !stderr.contains("Traceback"),
            "{bad:?}: {stderr}"
        );
    }

    // The daemon runs the exported model as it is.
    let config = format!(
        "[model]\npath = \"{}\"\n[smoothing]\nwindow = 4\nstride = 2\ntop_k = 3\n\
         [output]\nsocket = \"{}\"\nstdout = true\n\
         [[stream]]\nname = \"cam\"\nuri = \"test:ball\"\nsample_fps = 5\n",
        run.join("model.onnx").display(),
        tmp.path().join("p.sock").display()
    );
    let check = Command::new(env!("CARGO_BIN_EXE_actiond"))
        .arg("check-config")
        .arg({
            std::fs::write(tmp.path().join("check.toml"), &config).unwrap();
            tmp.path().join("check.toml")
        })
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "check-config: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let mut daemon = Daemon::start(tmp.path(), &config);
    let got = daemon.collect_until(Duration::from_secs(60), |m| {
        m["type"] == "prediction" && m["seq"].as_u64() >= Some(2)
    });
    assert!(got, "no predictions: {:?}", daemon.messages);
    let preds = daemon.of_type("prediction");
    assert!(preds.iter().all(|p| p["model"] == "tiny"));
    assert!(preds
        .iter()
        .all(|p| ["ball", "smpte", "snow"].contains(&p["label"].as_str().unwrap())));
    daemon.stop();

    quantized(&run, &data, tmp.path());
}

/// `recipe.py quantize` on a trained run: an int8 (QDQ) model measured against the fp32
/// one on the run's own held-out group, which the daemon runs exactly as ONNX Runtime
/// (Python) does.
fn quantized(run: &Path, data: &Path, tmp: &Path) {
    let int8 = tmp.join("int8");
    recipe(&[
        "quantize",
        "--model",
        run.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        int8.to_str().unwrap(),
    ]);
    let q: Value =
        serde_json::from_str(&std::fs::read_to_string(int8.join("quantization.json")).unwrap())
            .unwrap();
    assert_eq!(q["held_out_groups"], serde_json::json!([3]), "{q}");
    for kind in ["fp32", "int8"] {
        assert!(q[kind]["clip_accuracy"].as_f64().is_some(), "{q}");
        assert!(
            q[kind]["latency_ms"]["threads_1"].as_f64() > Some(0.0),
            "{q}"
        );
    }
    // int8 weights: well under half the fp32 file.
    assert!(q["int8"]["bytes"].as_u64() < q["fp32"]["bytes"].as_u64().map(|b| b / 2));
    assert!(std::fs::read_to_string(int8.join("REPORT.md"))
        .unwrap()
        .contains("clip accuracy"));
    let man = manifest_table(&int8);
    assert_eq!(man["name"].as_str(), Some("tiny-int8"));
    // The graph really is quantized.
    let out = Command::new(env!("CARGO_BIN_EXE_actiond"))
        .args(["inspect-model", "--json"])
        .arg(int8.join("model.onnx"))
        .output()
        .unwrap();
    let inspected: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        inspected["operators"]["QuantizeLinear"].as_u64() > Some(0),
        "{}",
        inspected["operators"]
    );
    let parity_dir = tmp.join("parity-int8");
    std::fs::create_dir_all(&parity_dir).unwrap();
    parity(&int8, &parity_dir);
}

/// The daemon's per-frame outputs on lossless input equal ONNX Runtime (Python) on
/// the same frames within 1e-4, and its clips equal the mean formula on those frames.
fn parity(model_dir: &Path, tmp: &Path) {
    let labels = manifest_labels(model_dir);
    let man = manifest_table(model_dir);
    let size = man["input"]["width"].as_integer().unwrap() as usize;
    let raw = tmp.join("frames.rgb");
    let mkv = tmp.join("frames.mkv");
    let per_pattern = 8;
    lossless_video(&raw, &mkv, size, per_pattern);
    let n_frames = 6 * per_pattern;

    let reference = tmp.join("reference.json");
    recipe(&[
        "reference",
        "--model",
        model_dir.join("model.onnx").to_str().unwrap(),
        "--frames",
        raw.to_str().unwrap(),
        "--out",
        reference.to_str().unwrap(),
    ]);
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(&reference).unwrap()).unwrap();
    let want = probability_rows(&reference);
    assert_eq!(want.len(), n_frames);

    let (window, stride) = (4usize, 2usize);
    let config = lossless_config(model_dir, labels.len(), tmp, &mkv, window, stride);
    let mut daemon = Daemon::start(tmp, &config);
    daemon.until_stream_stopped("lossless", Duration::from_secs(90));
    let frames: Vec<Value> = daemon.of_type("frame").into_iter().cloned().collect();
    let preds: Vec<Value> = daemon.of_type("prediction").into_iter().cloned().collect();
    daemon.stop();

    // Every frame the daemon classified matches the reference at its index (pts / 200 ms).
    assert!(
        frames.len() >= n_frames * 9 / 10,
        "only {} of {n_frames} frames were classified",
        frames.len()
    );
    let mut worst = 0.0f64;
    let mut seen = Vec::new();
    for f in &frames {
        let pts = f["pts_ns"].as_u64().expect("pts_ns");
        let index = ((pts as f64) / 2e8).round() as usize;
        assert_eq!(
            pts,
            index as u64 * 200_000_000,
            "frame pts {pts} off the 5 fps grid"
        );
        seen.push(index);
        let got = scores(f, &labels);
        for (g, w) in got.iter().zip(&want[index]) {
            worst = worst.max((g - w).abs());
        }
    }
    assert!(
        worst < 1e-4,
        "daemon and ONNX Runtime differ by up to {worst:e} (must be < 1e-4)"
    );
    assert!(
        seen.windows(2).all(|w| w[1] > w[0]),
        "frames out of order: {seen:?}"
    );
    // The reference's top-1 varies across the patterns: the comparison covers more than one class.
    let distinct: std::collections::HashSet<usize> = want
        .iter()
        .map(|p| (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap())
        .collect();
    eprintln!(
        "parity {}: {} frames, max |daemon - onnxruntime| = {worst:e}, {} distinct top-1 labels",
        model_dir.display(),
        frames.len(),
        distinct.len()
    );

    // Clips: the mean of the last `window` frame outputs, first at frame `window`, then every `stride`.
    let frame_scores: Vec<Vec<f64>> = frames.iter().map(|f| scores(f, &labels)).collect();
    let expected_clips = (frames.len() - window) / stride + 1;
    assert_eq!(preds.len(), expected_clips, "clip count");
    for (k, p) in preds.iter().enumerate() {
        let end = window + k * stride; // 1-based index of the clip's last frame
        let slice = &frame_scores[end - window..end];
        let got = scores(p, &labels);
        for c in 0..labels.len() {
            let mean = slice.iter().map(|s| s[c]).sum::<f64>() / window as f64;
            assert!(
                (got[c] - mean).abs() < 1e-5,
                "clip {k} label {}: {} vs mean {mean}",
                labels[c],
                got[c]
            );
        }
        assert_eq!(p["frames"].as_u64(), Some(window as u64));
        assert_eq!(p["pts_start_ns"], frames[end - window]["pts_ns"]);
        assert_eq!(p["pts_end_ns"], frames[end - 1]["pts_ns"]);
    }
}

/// The shipped model as it is: NHWC input, probabilities output.
#[test]
fn parity_nhwc_probabilities_model() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    parity(&root().join(DEFAULT_MODEL), tmp.path());
}

/// The same network with an NCHW input and logits output (made by graph surgery):
/// the daemon transposes and applies softmax itself.
#[test]
fn parity_nchw_logits_model() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let variant = tmp.path().join("nchw");
    recipe(&[
        "variant",
        "--model",
        root()
            .join(DEFAULT_MODEL)
            .join("model.onnx")
            .to_str()
            .unwrap(),
        "--layout",
        "NCHW",
        "--kind",
        "logits",
        "--out",
        variant.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(variant.join("model.toml")).unwrap();
    assert!(text.contains("layout = \"NCHW\"") && text.contains("kind = \"logits\""));
    parity(&variant, tmp.path());
}

/// A held-out demo stream: the model, how it is rendered and sampled, and the bar.
struct HeldOutDemo {
    /// The model folder, from the repository root.
    model_dir: &'static str,
    /// The recipe command and its options besides `--out` and `--seed`.
    render: &'static [&'static str],
    /// The seed used when ACTIOND_DEMO_SEED is not set.
    seed: u64,
    /// The stream's `sample_fps` (the model's training rate).
    sample_fps: u32,
    /// The lowest clip accuracy that passes.
    bar: f64,
}

/// The pattern demo: 8 scenes of 5 s, sampled at 5 fps.
const PATTERN_DEMO: [&str; 5] = ["render-demo", "--scenes", "8", "--seconds", "5"];

/// The shipped model through the real daemon on a demo stream rendered now, with a
/// seed used neither for training nor for the committed demo video: clip-level accuracy
/// ≥ 95 % against the known schedule. Clips whose frames span a scene change are not
/// scored (their correct label is ambiguous); every other clip is. The seed is fixed
/// (1001, chosen before the model was evaluated on it) so CI is deterministic; set
/// ACTIOND_DEMO_SEED to try others (`recipe.py demo-eval` scores many seeds offline).
#[test]
fn shipped_model_on_held_out_demo_stream() {
    held_out_demo_stream(&HeldOutDemo {
        model_dir: DEFAULT_MODEL,
        render: &PATTERN_DEMO,
        seed: 1001,
        sample_fps: 5,
        bar: 0.95,
    });
}

/// The shipped int8 model (`models/default-int8`) on the same held-out demo stream, to
/// the same bar: quantization must not cost the daemon its accuracy.
#[test]
fn shipped_int8_model_on_held_out_demo_stream() {
    held_out_demo_stream(&HeldOutDemo {
        model_dir: INT8_MODEL,
        render: &PATTERN_DEMO,
        seed: 1001,
        sample_fps: 5,
        bar: 0.95,
    });
}

/// The shipped people model (the online TSM) through the real daemon on a people demo
/// rendered now (unseen performers and scenes, people 0.4-0.9 of the frame height, as in
/// the committed demo): the labels follow the actions in ≥ 75 % of the clips inside a
/// scene. Seed 3001 was fixed before the model ran on it; chance is 10 % (ten classes).
#[test]
fn shipped_people_model_on_held_out_people_demo() {
    held_out_demo_stream(&HeldOutDemo {
        model_dir: PEOPLE_MODEL,
        render: &PEOPLE_DEMO,
        seed: 3001,
        sample_fps: 10,
        bar: 0.75,
    });
}

/// Renders the held-out demo stream, scores `demo.model_dir`'s clips through the daemon,
/// and checks that `recipe.py demo-eval` (offline) scores the same demo alike.
fn held_out_demo_stream(demo: &HeldOutDemo) {
    let _serial = serial();
    let model_dir = demo.model_dir;
    let tmp = tempfile::tempdir().unwrap();
    let seed: u64 = std::env::var("ACTIOND_DEMO_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(demo.seed);
    eprintln!("demo seed {seed} (replay with ACTIOND_DEMO_SEED={seed})");
    let video = tmp.path().join("demo.mp4");
    let seed_s = seed.to_string();
    let mut args = demo.render.to_vec();
    args.extend(["--out", video.to_str().unwrap(), "--seed", &seed_s]);
    recipe(&args);
    let sidecar: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("demo.mp4.json")).unwrap())
            .unwrap();
    let schedule: Vec<(u64, u64, String)> = sidecar["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["start_ns"].as_u64().unwrap(),
                s["end_ns"].as_u64().unwrap(),
                s["label"].as_str().unwrap().to_string(),
            )
        })
        .collect();

    let config = format!(
        "[model]\npath = \"{}\"\n[smoothing]\nmethod = \"mean\"\nwindow = 8\nstride = 4\n\
         [output]\nsocket = \"{}\"\nstdout = true\n\
         [[stream]]\nname = \"demo\"\nuri = \"{}\"\nsample_fps = {}\n",
        root().join(model_dir).join("model.onnx").display(),
        tmp.path().join("p.sock").display(),
        video.display(),
        demo.sample_fps
    );
    let mut daemon = Daemon::start(tmp.path(), &config);
    daemon.until_stream_stopped("demo", Duration::from_secs(120));
    let preds: Vec<Value> = daemon.of_type("prediction").into_iter().cloned().collect();
    daemon.stop();

    let (mut scored, mut correct, mut straddling) = (0, 0, 0);
    let mut wrong = Vec::new();
    for p in &preds {
        let start = p["pts_start_ns"].as_u64().unwrap();
        let end = p["pts_end_ns"].as_u64().unwrap();
        let scene = schedule.iter().find(|(s, e, _)| start >= *s && end < *e);
        match scene {
            None => straddling += 1,
            Some((_, _, label)) => {
                scored += 1;
                if p["label"] == label.as_str() {
                    correct += 1;
                } else {
                    wrong.push(format!(
                        "{:.1}-{:.1} s: {} (score {}), want {label}",
                        start as f64 / 1e9,
                        end as f64 / 1e9,
                        p["label"],
                        p["score"]
                    ));
                }
            }
        }
    }
    let accuracy = correct as f64 / scored.max(1) as f64;
    eprintln!(
        "{model_dir}, held-out demo (seed {seed}): {correct}/{scored} clips correct ({:.1} %), {straddling} spanning a scene change; wrong: {wrong:?}",
        100.0 * accuracy
    );
    // Patterns: 40 s at 5 fps, clips of 8 frames every 4, ~48 clips; people: 60 s at 10 fps,
    // ~150 clips. Most lie inside one scene.
    assert!(scored >= 25, "only {scored} clips scored");
    assert!(
        accuracy >= demo.bar,
        "clip accuracy {:.1} % < {:.0} % (seed {seed}); wrong: {wrong:?}",
        100.0 * accuracy,
        100.0 * demo.bar
    );

    // `recipe.py demo-eval` renders the same demo again and scores it offline (the frames
    // from extract-frames, the model and smoothing run as the daemon runs them): its
    // figures are what the model folders' demo_eval.json and the attempts report, so they
    // must be the daemon's. A daemon starved by the machine may drop a frame, hence the
    // slack of 3 clips.
    let offline_json = tmp.path().join("offline.json");
    let onnx = root().join(model_dir).join("model.onnx");
    let mut args = vec![
        "demo-eval",
        "--model",
        onnx.to_str().unwrap(),
        "--seeds",
        &seed_s,
        "--actiond",
        env!("CARGO_BIN_EXE_actiond"),
        "--out",
        offline_json.to_str().unwrap(),
    ];
    if demo.render[0] == "render-people-demo" {
        args.push("--people");
    }
    args.extend(&demo.render[1..]);
    recipe(&args);
    let offline: Value =
        serde_json::from_str(&std::fs::read_to_string(&offline_json).unwrap()).unwrap();
    let (off_scored, off_correct) = (
        offline["clips"].as_i64().unwrap(),
        offline["correct"].as_i64().unwrap(),
    );
    eprintln!("demo-eval offline: {off_correct}/{off_scored} clips correct");
    assert!(
        (off_scored - scored).abs() <= 3 && (off_correct - correct).abs() <= 3,
        "demo-eval scored {off_correct}/{off_scored}, the daemon {correct}/{scored}: {offline}"
    );
}

/// The shipped model folder is complete and self-consistent: the recorded sha256 is the
/// file's, the manifest lists the six scene classes, the report is there, and
/// config/demo.toml (which plays it) passes check-config.
#[test]
fn shipped_model_folder_is_consistent() {
    let _serial = serial();
    let dir = root().join(DEFAULT_MODEL);
    for f in [
        "model.onnx",
        "model.toml",
        "model.onnx.sha256",
        "training_config.json",
        "report.json",
        "REPORT.md",
        "confusion.json",
        "confusion.png",
        "comparison.md",
        "demo_eval.json",
        "demo.mp4",
        "demo.mp4.json",
        "README.md",
    ] {
        assert!(dir.join(f).is_file(), "{DEFAULT_MODEL}/{f} missing");
    }
    let recorded = recorded_sha256(&dir);
    assert_eq!(
        manifest_labels(&dir),
        ["ball", "checkers", "circular", "pinwheel", "smpte", "snow"]
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["model"]["sha256"].as_str(), Some(recorded.as_str()));
    assert_eq!(report["model"]["params"]["backbone"], 2_257_984);
    let check = Command::new(env!("CARGO_BIN_EXE_actiond"))
        .args(["check-config", "config/demo.toml"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "config/demo.toml: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// The shipped int8 folder: its sha256 is the file's, its labels are the fp32 model's,
/// its manifest names it `-int8`, and its quantization report shows at most one point
/// of accuracy lost on the held-out groups and a faster one-thread run.
#[test]
fn shipped_int8_model_folder_is_consistent() {
    let dir = root().join(INT8_MODEL);
    for f in [
        "model.onnx",
        "model.toml",
        "model.onnx.sha256",
        "quantization.json",
        "REPORT.md",
        "demo_eval.json",
        "README.md",
    ] {
        assert!(dir.join(f).is_file(), "{INT8_MODEL}/{f} missing");
    }
    recorded_sha256(&dir);
    assert_eq!(
        manifest_labels(&dir),
        manifest_labels(&root().join(DEFAULT_MODEL))
    );
    let manifest = std::fs::read_to_string(dir.join("model.toml")).unwrap();
    assert!(
        manifest.contains("name = \"actiond-default-mobilenetv2-int8\""),
        "{manifest}"
    );
    let q: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("quantization.json")).unwrap())
            .unwrap();
    for key in [
        "frame_accuracy_change_points",
        "clip_accuracy_change_points",
    ] {
        let change = q[key].as_f64().unwrap();
        assert!(change >= -1.0, "{key} = {change}: more than one point lost");
    }
    assert!(q["speedup_1_thread"].as_f64().unwrap() > 1.0, "{q}");
    assert!(q["int8"]["bytes"].as_u64() < q["fp32"]["bytes"].as_u64().map(|b| b / 2));
}

/// The shipped people folder: its sha256 is the file's and the one the attempt named in
/// its README recorded (`models/recipe/people/attempt-N/tsm/report.json`), the manifest
/// is the stateful TSM's with the ten actions at 10 fps, demo_eval.json scored it on people
/// demos, the demo video's schedule uses only those labels, and config/demo.toml plays the
/// video with this model.
#[test]
fn shipped_people_model_folder_is_consistent() {
    let dir = root().join(PEOPLE_MODEL);
    for f in [
        "model.onnx",
        "model.toml",
        "model.onnx.sha256",
        "README.md",
        "demo.mp4",
        "demo.mp4.json",
        "demo_eval.json",
    ] {
        assert!(dir.join(f).is_file(), "{PEOPLE_MODEL}/{f} missing");
    }
    let recorded = recorded_sha256(&dir);
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let attempt = readme
        .split("models/recipe/people/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the README names the attempt folder that made the model");
    let report = root().join(format!("models/recipe/people/{attempt}/tsm/report.json"));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        report["model"]["sha256"].as_str(),
        Some(recorded.as_str()),
        "{attempt}"
    );
    let labels = manifest_labels(&dir);
    let actions = [
        "boxing",
        "clapping",
        "falling",
        "idle",
        "jumping",
        "kicking",
        "running",
        "sitting_down",
        "walking",
        "waving",
    ];
    assert_eq!(labels, actions);
    let manifest = manifest_table(&dir);
    assert_eq!(
        manifest["state"].as_array().map(Vec::len),
        Some(10),
        "{manifest:?}"
    );
    // demo_eval.json scored this model (by name) on people demos.
    let eval: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("demo_eval.json")).unwrap())
            .unwrap();
    assert_eq!(eval["model"].as_str(), manifest["name"].as_str());
    assert_eq!(eval["demo"], "people");
    assert_eq!(manifest["input"]["sample_fps"].as_float(), Some(10.0));
    let sidecar: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("demo.mp4.json")).unwrap()).unwrap();
    let scenes = sidecar["schedule"].as_array().unwrap();
    assert!(scenes.len() >= 8, "{sidecar}");
    for s in scenes {
        let label = s["label"].as_str().unwrap();
        assert!(
            labels.iter().any(|l| l == label),
            "{label} not a model label"
        );
    }
    let demo = std::fs::read_to_string(root().join("config/demo.toml")).unwrap();
    for line in [
        "path = \"../models/people/model.onnx\"",
        "uri = \"../models/people/demo.mp4\"",
    ] {
        assert!(
            demo.lines().any(|l| l.trim() == line),
            "config/demo.toml lacks {line}"
        );
    }
}

/// Python: compares the models argv[1] and argv[2] by their float weights (ONNX initializers)
/// as a multiset of exact (dtype, shape, bytes), not by name, and by their outputs on one
/// random input; prints "N weight tensors, K differ" (K: those either model has and the other
/// lacks), the node counts, and whether the outputs agree within 1e-5. Integer initializers
/// (shapes, axes) are the graph's structure, checked through the outputs. Names are positional
/// (the order the exporter's graph first uses each tensor): two clean-clone CI runs saw 4
/// tensors "differ" by name (stop 47: clip; stop 48: tsm, `w114`–`w117`, the first an int64
/// reshape shape, so not rounding) while this machine's exports were identical, as if the
/// exporter had dropped one no-op Reshape there and the next four names had rotated.
const SAME_WEIGHTS: &str = "import sys, collections, hashlib, onnx, numpy as np, onnxruntime as ort
from onnx import numpy_helper as nh
def weights(m):
    return collections.Counter((str(a.dtype), a.shape, hashlib.sha256(a.tobytes()).hexdigest())
                               for a in map(nh.to_array, m.graph.initializer) if a.dtype.kind == 'f')
ma, mb = (onnx.load(p) for p in sys.argv[1:3])
wa, wb = weights(ma), weights(mb)
lacking = (wa - wb) + (wb - wa)
print(f'{sum(wa.values())} weight tensors, {sum(lacking.values())} differ {sorted(lacking)[:3]}; '
      f'nodes {len(ma.graph.node)} and {len(mb.graph.node)}')
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
sa, sb = (ort.InferenceSession(p, opts, providers=['CPUExecutionProvider']) for p in sys.argv[1:3])
rng = np.random.default_rng(0)
feed = {i.name: rng.standard_normal([d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)
        for i in sa.get_inputs()}
names = [o.name for o in sa.get_outputs()]
gap = max(float(np.abs(x - y).max()) for x, y in zip(sa.run(names, feed), sb.run(names, feed)))
print(f'outputs {\"agree\" if gap <= 1e-5 else \"disagree\"} (largest difference {gap:g})')";

/// The sha256 recorded in `dir/model.onnx.sha256`, checked against the file's own.
fn recorded_sha256(dir: &Path) -> String {
    let sum = Command::new("sha256sum")
        .arg("model.onnx")
        .current_dir(dir)
        .output()
        .unwrap();
    let recorded = std::fs::read_to_string(dir.join("model.onnx.sha256")).unwrap();
    let recorded = recorded.split_whitespace().next().unwrap_or("").to_string();
    assert_eq!(
        String::from_utf8_lossy(&sum.stdout)
            .split_whitespace()
            .next(),
        Some(recorded.as_str()),
        "{}/model.onnx.sha256 does not match model.onnx",
        dir.display()
    );
    recorded
}
