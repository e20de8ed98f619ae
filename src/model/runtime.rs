//! Finding and loading the ONNX Runtime shared library.

use std::path::{Path, PathBuf};

use super::ModelError;

/// Environment variable naming the ONNX Runtime library.
pub const ENV_VAR: &str = "ORT_DYLIB_PATH";

/// Where an installed actiond keeps its ONNX Runtime (the .deb puts it there).
pub const INSTALLED_DIR: &str = "/usr/lib/actiond";

/// The library paths to try, in order: config, `$ORT_DYLIB_PATH`, the checkout's
/// `.ort/` (only for a binary built in a checkout), [`INSTALLED_DIR`]. Never the
/// working directory: a library there could be planted.
pub fn candidates(configured: Option<&Path>) -> Vec<PathBuf> {
    let env = std::env::var_os(ENV_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let exe = std::env::current_exe().ok();
    candidates_for(configured, env, exe.as_deref())
}

/// [`candidates`] from explicit inputs: the config's path, `$ORT_DYLIB_PATH`, the binary's path.
fn candidates_for(
    configured: Option<&Path>,
    env: Option<PathBuf>,
    exe: Option<&Path>,
) -> Vec<PathBuf> {
    let local = Path::new(".ort").join("libonnxruntime.so");
    let mut out: Vec<PathBuf> = configured.map(Path::to_path_buf).into_iter().collect();
    out.extend(env);
    if let Some(root) = exe.and_then(checkout_of) {
        out.push(root.join(&local));
        out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(&local));
    }
    let installed = Path::new(INSTALLED_DIR);
    out.push(installed.join("libonnxruntime.so"));
    out.push(installed.join("libonnxruntime.so.1"));
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// The checkout a binary was built in (`<root>/target/<profile>/[deps|examples/]actiond`
/// beside `<root>/Cargo.toml`); `None` for an installed binary.
fn checkout_of(exe: &Path) -> Option<PathBuf> {
    let mut dir = exe.parent()?;
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir = dir.parent()?;
    }
    let target = dir.parent()?;
    let root = target.parent()?;
    (target.file_name()? == "target" && root.join("Cargo.toml").is_file())
        .then(|| root.to_path_buf())
}

/// The environment built by the first successful [`init`]: ONNX Runtime allows one
/// per process, and every model's session shares it.
static LOADED: std::sync::Mutex<Option<(ort::environment::Environment, PathBuf)>> =
    std::sync::Mutex::new(None);

/// Loads ONNX Runtime from the first candidate that works and builds the global
/// environment; later calls (another model) share the one built first.
pub fn init(
    configured: Option<&Path>,
) -> Result<(ort::environment::Environment, PathBuf), ModelError> {
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(done) = loaded.as_ref() {
        return Ok(done.clone());
    }
    let done = init_from_list(candidates(configured))?;
    *loaded = Some(done.clone());
    Ok(done)
}

fn init_from_list(
    paths: Vec<PathBuf>,
) -> Result<(ort::environment::Environment, PathBuf), ModelError> {
    let mut tried = Vec::new();
    for path in paths {
        if !path.exists() {
            tried.push((path, "not found".to_string()));
            continue;
        }
        match ort::init_from(&path) {
            Ok(builder) => match builder
                .with_name("actiond")
                .with_telemetry(false)
                .with_logger(std::sync::Arc::new(log_ort))
                .build()
            {
                Ok(env) => return Ok((env, path)),
                Err(e) => tried.push((path, e.to_string())),
            },
            Err(e) => tried.push((path, e.to_string())),
        }
    }
    Err(ModelError::RuntimeNotFound { tried })
}

/// ONNX Runtime's own messages, through tracing (target `onnxruntime`): to the journal
/// with a priority, like the daemon's. Its verbose and info chatter go to trace and debug.
fn log_ort(level: ort::logging::LogLevel, category: &str, id: &str, location: &str, message: &str) {
    use ort::logging::LogLevel;
    match level {
        LogLevel::Verbose => {
            tracing::trace!(target: "onnxruntime", category, id, location, "{message}")
        }
        LogLevel::Info => {
            tracing::debug!(target: "onnxruntime", category, id, location, "{message}")
        }
        LogLevel::Warning => {
            tracing::warn!(target: "onnxruntime", id, location, "ONNX Runtime: {message}")
        }
        LogLevel::Error | LogLevel::Fatal => {
            tracing::error!(target: "onnxruntime", id, location, "ONNX Runtime: {message}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_path_comes_first_and_no_duplicates() {
        let c = candidates(Some(Path::new("/opt/x/libonnxruntime.so")));
        assert_eq!(c[0], Path::new("/opt/x/libonnxruntime.so"));
        let set: std::collections::HashSet<_> = c.iter().collect();
        assert_eq!(set.len(), c.len());
        assert!(c.iter().any(|p| p.ends_with(".ort/libonnxruntime.so")));
    }

    #[test]
    fn an_installed_binary_looks_only_at_config_env_and_usr_lib_actiond() {
        let c = candidates_for(
            Some(Path::new("/etc/actiond/lib/libonnxruntime.so")),
            Some(PathBuf::from("/opt/ort/libonnxruntime.so")),
            Some(Path::new("/usr/bin/actiond")),
        );
        assert_eq!(c[0], Path::new("/etc/actiond/lib/libonnxruntime.so"));
        assert_eq!(c[1], Path::new("/opt/ort/libonnxruntime.so"));
        assert!(c[2..].iter().all(|p| p.starts_with(INSTALLED_DIR)), "{c:?}");
        let none = candidates_for(None, None, Some(Path::new("/usr/bin/actiond")));
        assert_eq!(none[0], Path::new("/usr/lib/actiond/libonnxruntime.so"));
    }

    #[test]
    fn the_working_directory_is_never_searched() {
        let cwd = std::env::current_dir().unwrap();
        let exe = Path::new("/usr/bin/actiond");
        assert!(!candidates_for(None, None, Some(exe))
            .iter()
            .any(|p| p.starts_with(&cwd)));
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(
            checkout_of(&checkout.join("target/debug/actiond")).as_deref(),
            Some(checkout)
        );
        assert_eq!(
            checkout_of(&checkout.join("target/debug/deps/actiond-1")).as_deref(),
            Some(checkout)
        );
        assert_eq!(checkout_of(exe), None);
    }

    #[test]
    fn missing_library_lists_every_path_tried() {
        let dir = tempfile::tempdir().unwrap();
        let bogus = dir.path().join("libonnxruntime.so");
        std::fs::write(&bogus, b"not a library").unwrap();
        let list = vec![
            PathBuf::from("/nonexistent/libonnxruntime.so"),
            bogus.clone(),
        ];
        let Err(e) = init_from_list(list) else {
            panic!("no library in the list can load")
        };
        let e = e.to_string();
        assert!(
            e.contains("/nonexistent/libonnxruntime.so: not found"),
            "{e}"
        );
        assert!(e.contains(&bogus.display().to_string()), "{e}");
    }
}
