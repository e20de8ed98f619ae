//! What the daemon says about bad configs and bad models.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{run_actiond, Daemon, DaemonConfig, StreamSpec};

/// `check-config` and failing `run`s must end within this.
const QUICK: Duration = Duration::from_secs(20);

fn config_text() -> (DaemonConfig, String) {
    let cfg = DaemonConfig {
        streams: vec![StreamSpec::test("cam1", "ball")],
        ..DaemonConfig::default()
    };
    let text = cfg.to_toml(Path::new("/tmp/actiond-never-bound.sock"));
    (cfg, text)
}

/// 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in\n{text}"))
        + 1
}

#[test]
fn check_config_accepts_a_valid_config() {
    common::require_model();
    let dir = common::tempdir();
    let path = dir.path().join("good.toml");
    std::fs::write(&path, config_text().1).unwrap();
    let out = run_actiond([Path::new("check-config"), &path], QUICK);
    assert!(out.success(), "check-config rejected a valid config\n{out}");
}

#[test]
fn check_config_rejects_a_typo_with_file_line_col_and_key() {
    let dir = common::tempdir();
    let path = dir.path().join("typo.toml");
    let text = config_text().1.replace("window = 4", "windw = 4");
    let line = line_of(&text, "windw");
    std::fs::write(&path, &text).unwrap();

    let out = run_actiond([Path::new("check-config"), &path], QUICK);
    assert!(
        out.failed_cleanly(),
        "check-config accepted (or crashed on) an unknown key\n{out}"
    );
    let want = format!("{}:{line}:", path.display());
    // FILE:LINE:COL: key.path: message
    let located = out.stderr.lines().find_map(|l| {
        let rest = l[l.find(&want)?..].strip_prefix(&want)?;
        let col_end = rest.find(':')?;
        rest[..col_end].parse::<u32>().ok()?;
        Some(rest[col_end + 1..].to_owned())
    });
    let rest =
        located.unwrap_or_else(|| panic!("stderr has no {want}COL: …\nconfig:\n{text}\n{out}"));
    assert!(
        rest.contains("windw"),
        "the located error does not name the key windw: {rest:?}\n{out}"
    );
}

#[test]
fn check_config_names_a_missing_config_file() {
    let dir = common::tempdir();
    let path = dir.path().join("nope.toml");
    let out = run_actiond([Path::new("check-config"), &path], QUICK);
    assert!(out.failed_cleanly(), "{out}");
    assert!(
        out.stderr.contains(path.to_str().unwrap()),
        "stderr does not name {}\n{out}",
        path.display()
    );
}

/// Starts `run` and expects a quick, clean failure; returns stderr with the
/// test directory's path replaced by `<dir>`, so that digits in it cannot
/// satisfy a search.
fn run_expecting_failure(builder: common::DaemonBuilder, dir: &Path) -> (String, String) {
    let mut daemon = builder.spawn_unready();
    let status = daemon.wait_exit(QUICK).unwrap_or_else(|| {
        panic!(
            "actiond run kept running for {QUICK:?} with a bad model\n{}",
            daemon.describe()
        )
    });
    assert!(
        status.code().is_some_and(|c| c != 0),
        "actiond run exited with {status}, want a non-zero exit code\n{}",
        daemon.describe()
    );
    let stderr = daemon.stderr();
    let masked = stderr.replace(dir.to_str().unwrap(), "<dir>");
    (stderr, masked)
}

#[test]
fn run_with_a_missing_model_fails_naming_the_path() {
    let dir = common::tempdir();
    let missing = dir.path().join("missing/model.onnx");
    let builder = Daemon::builder()
        .model(&missing)
        .stream(StreamSpec::test("cam1", "ball"));
    let (stderr, _) = run_expecting_failure(builder, dir.path());
    assert!(
        stderr.contains(missing.to_str().unwrap()),
        "stderr does not name {}:\n{stderr}",
        missing.display()
    );
}

#[test]
fn run_with_a_manifest_that_disagrees_with_the_model_names_tensor_and_shapes() {
    let model = common::require_model();
    let dir = common::tempdir();
    std::fs::copy(&model, dir.path().join("model.onnx")).unwrap();
    let manifest = std::fs::read_to_string(common::model_manifest()).unwrap();
    let mut table: toml::Table = manifest.parse().unwrap();
    let input = table["input"]
        .as_table_mut()
        .expect("[input] in model.toml");
    assert_eq!(input["name"].as_str(), Some("input"));
    assert_eq!(input["width"].as_integer(), Some(224));
    input.insert("width".into(), toml::Value::Integer(160));
    std::fs::write(
        dir.path().join("model.toml"),
        toml::to_string(&table).unwrap(),
    )
    .unwrap();

    let builder = Daemon::builder()
        .model(dir.path().join("model.onnx"))
        .stream(StreamSpec::test("cam1", "ball"));
    let (stderr, masked) = run_expecting_failure(builder, dir.path());
    for want in ["input", "224", "160"] {
        assert!(
            masked.contains(want),
            "stderr does not contain {want:?} (tensor name and both shapes):\n{stderr}"
        );
    }
}

#[test]
fn run_with_a_file_that_is_not_onnx_fails_naming_it() {
    let dir = common::tempdir();
    let bogus = dir.path().join("model.onnx");
    std::fs::write(&bogus, b"this is not an ONNX model\n").unwrap();
    std::fs::copy(common::model_manifest(), dir.path().join("model.toml")).ok();
    let builder = Daemon::builder()
        .model(&bogus)
        .stream(StreamSpec::test("cam1", "ball"));
    let (stderr, _) = run_expecting_failure(builder, dir.path());
    assert!(
        stderr.contains(bogus.to_str().unwrap()),
        "stderr does not name {}:\n{stderr}",
        bogus.display()
    );
}

#[test]
fn check_config_names_file_line_key_and_reference_of_an_unresolvable_secret() {
    let dir = common::tempdir();
    let path = dir.path().join("refs.toml");
    let missing = dir.path().join("missing.pw");
    let cases = [
        (
            "${ACTIOND_TEST_NEVER_SET}",
            "environment variable ACTIOND_TEST_NEVER_SET is not set",
        ),
        (&format!("${{file:{}}}", missing.display()), "cannot read"),
        (
            &format!("${{file:{}}}", dir.path().display()),
            "cannot read",
        ),
        ("${credential:cam1}", "$CREDENTIALS_DIRECTORY is not set"),
        ("${vault:cam1}", "unknown reference kind `vault`"),
        ("${credential:cam1", "without its closing `}`"),
    ];
    for (reference, why) in cases {
        let uri = format!("rtsp://admin:inline-Zz9{reference}@127.0.0.1:9/x");
        let cfg = DaemonConfig {
            streams: vec![StreamSpec::test("ok", "ball"), StreamSpec::uri("cam", &uri)],
            ..DaemonConfig::default()
        };
        let text = cfg.to_toml(Path::new("/tmp/actiond-never-bound.sock"));
        std::fs::write(&path, &text).unwrap();
        let line = text.lines().position(|l| l.contains("inline-Zz9")).unwrap() + 1;
        let out = run_actiond([Path::new("check-config"), &path], QUICK);
        assert!(out.failed_cleanly(), "{reference} was accepted\n{out}");
        let want = format!("{}:{line}:", path.display());
        assert!(
            out.stderr.contains(&want)
                && out.stderr.contains("stream[1].uri")
                && out.stderr.contains(why),
            "{reference}: not {want}COL: stream[1].uri: …{why}\n{out}"
        );
        if reference.ends_with('}') {
            assert!(out.stderr.contains(&format!("`{reference}`")), "{out}");
        }
        assert!(!out.stderr.contains("inline-Zz9"), "{out}");
    }
}
