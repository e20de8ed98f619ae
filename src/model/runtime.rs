//! Finding and loading the ONNX Runtime shared library.

use std::path::{Path, PathBuf};

use super::ModelError;

/// Environment variable naming the ONNX Runtime library.
pub const ENV_VAR: &str = "ORT_DYLIB_PATH";

/// The library paths to try, in order: config, `$ORT_DYLIB_PATH`, project-local copies.
pub fn candidates(configured: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = configured {
        out.push(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(p));
    }
    let local = Path::new(".ort").join("libonnxruntime.so");
    if let Ok(cwd) = std::env::current_dir() {
        out.push(cwd.join(&local));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            out.push(dir.join("libonnxruntime.so"));
            // target/{debug,release}/actiond inside a checkout.
            if let Some(root) = dir.parent().and_then(Path::parent) {
                out.push(root.join(&local));
            }
        }
    }
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(&local));
    out.push(PathBuf::from("/usr/lib/actiond/libonnxruntime.so"));
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// Loads ONNX Runtime from the first candidate that works and builds the global environment.
pub fn init(
    configured: Option<&Path>,
) -> Result<(ort::environment::Environment, PathBuf), ModelError> {
    init_from_list(candidates(configured))
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
            Ok(builder) => match builder.with_name("actiond").with_telemetry(false).build() {
                Ok(env) => return Ok((env, path)),
                Err(e) => tried.push((path, e.to_string())),
            },
            Err(e) => tried.push((path, e.to_string())),
        }
    }
    Err(ModelError::RuntimeNotFound { tried })
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
