//! The TensorRT of a Python interpreter (`pip install tensorrt`): `tensorrt.__version__`, asked
//! of the interpreter in a child process. Importing TensorRT into trtctl's own process would load
//! its libraries here, and the interpreter that answers is the one that builds.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::{is_executable, runnable};
use crate::identity::TrtVersion;

/// Prints one `trtctl-probe {json}` line: the version, or why `tensorrt` does not import.
const PROBE: &str = r#"
import json, sys
try:
    import tensorrt
    answer = {"version": str(tensorrt.__version__)}
except Exception as error:
    answer = {"error": type(error).__name__ + ": " + str(error)}
sys.stdout.write("\ntrtctl-probe " + json.dumps(answer) + "\n")
"#;
const PROBE_MARK: &str = "trtctl-probe ";

/// Names tried on `PATH` when nothing names a Python.
const PYTHON_NAMES: [&str; 2] = ["python3", "python"];

/// A Python whose `tensorrt` imports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PythonTrt {
    pub python: PathBuf,
    /// What the builds are for: the first three parts of `reported`.
    pub version: TrtVersion,
    /// `tensorrt.__version__` as the package says it: four parts (`10.3.0.26`) in most wheels,
    /// three in some (`10.3.0`).
    pub reported: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PythonTrtError {
    #[error(
        "no Python found (tried `[builder] python`, TRTCTL_PYTHON, python3 and python on PATH): install Python with `pip install tensorrt`, or point `[builder] python` / TRTCTL_PYTHON at one"
    )]
    NoPython,
    #[error(
        "cannot run {} to ask its tensorrt version: {source}; point `[builder] python` or TRTCTL_PYTHON at a working Python",
        python.display()
    )]
    Run {
        python: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} cannot import tensorrt ({detail}): `pip install tensorrt` into it, or point `[builder] python` / TRTCTL_PYTHON at a Python that has it",
        python.display()
    )]
    NoTensorrt { python: PathBuf, detail: String },
    #[error(
        "{} did not answer the tensorrt probe (is it a Python?): {output}",
        python.display()
    )]
    NoAnswer { python: PathBuf, output: String },
    #[error(
        "tensorrt.__version__ of {} is `{reported}`, not a TensorRT version like 10.3.0.26",
        python.display()
    )]
    BadVersion { python: PathBuf, reported: String },
}

/// The Python that builds: the configured one, `env_python` (`TRTCTL_PYTHON`, or the Python
/// package's own interpreter), then `python3` and `python` on `PATH`.
pub fn find_python(configured: Option<&Path>, env_python: Option<&Path>) -> Option<PathBuf> {
    find_python_in(configured, env_python, std::env::var_os("PATH"))
}

fn find_python_in(
    configured: Option<&Path>,
    env_python: Option<&Path>,
    path_env: Option<OsString>,
) -> Option<PathBuf> {
    let from_path = path_env
        .iter()
        .flat_map(std::env::split_paths)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| PYTHON_NAMES.map(|name| dir.join(name)))
        .collect::<Vec<_>>();
    configured
        .into_iter()
        .chain(env_python)
        .map(Path::to_path_buf)
        .chain(from_path)
        .find(|p| is_executable(p))
        .map(runnable)
}

/// Asks `python` for its `tensorrt.__version__`.
pub fn python_trt(python: &Path) -> Result<PythonTrt, PythonTrtError> {
    let output = Command::new(python)
        .args(["-c", PROBE])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| PythonTrtError::Run {
            python: python.to_path_buf(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answer = stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(PROBE_MARK))
        .and_then(|json| serde_json::from_str::<ProbeAnswer>(json).ok());
    let python = python.to_path_buf();
    match answer {
        Some(ProbeAnswer {
            version: Some(reported),
            ..
        }) => match parse_tensorrt_version(&reported) {
            Some(version) => Ok(PythonTrt {
                python,
                version,
                reported,
            }),
            None => Err(PythonTrtError::BadVersion { python, reported }),
        },
        Some(ProbeAnswer {
            error: Some(detail),
            ..
        }) => Err(PythonTrtError::NoTensorrt { python, detail }),
        _ => Err(PythonTrtError::NoAnswer {
            python,
            output: last_line(&format!(
                "{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )),
        }),
    }
}

#[derive(serde::Deserialize)]
struct ProbeAnswer {
    version: Option<String>,
    error: Option<String>,
}

fn last_line(text: &str) -> String {
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty());
    line.unwrap_or("no output").to_string()
}

/// `10.3.0.26` → 10.3.0. The build number (the fourth part, where the wheel has one) is what
/// TensorRT checks when it loads a plan; it stays in [`PythonTrt::reported`] until
/// [`TrtVersion`] holds it. `10.7.0.post1` → 10.7.0.
pub fn parse_tensorrt_version(reported: &str) -> Option<TrtVersion> {
    let numbers: Vec<u32> = reported
        .trim()
        .split('.')
        .map_while(|part| {
            (!part.is_empty() && part.len() <= 5 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        })
        .collect();
    match numbers[..] {
        [major, minor, patch, ..] => Some(TrtVersion::new(major, minor, patch)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::tests::script;

    #[test]
    fn tensorrt_versions_as_wheels_report_them() {
        let v = |text| parse_tensorrt_version(text);
        assert_eq!(v("10.3.0.26"), Some(TrtVersion::new(10, 3, 0)));
        assert_eq!(v("10.3.0"), Some(TrtVersion::new(10, 3, 0)));
        assert_eq!(v("11.4.0.106"), Some(TrtVersion::new(11, 4, 0)));
        assert_eq!(v("10.7.0.post1"), Some(TrtVersion::new(10, 7, 0)));
        assert_eq!(v("8.6"), None);
        assert_eq!(v("ten"), None);
        assert_eq!(v(""), None);
    }

    #[test]
    fn python_is_found_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let on_path = script(&bin, "python", "exit 0");
        let configured = script(dir.path(), "configured", "exit 0");
        let from_env = script(dir.path(), "from-env", "exit 0");
        let path_env = Some(OsString::from(format!("/nonexistent:{}", bin.display())));
        let find = |c: Option<&Path>, e: Option<&Path>| find_python_in(c, e, path_env.clone());
        assert_eq!(find(Some(&configured), Some(&from_env)), Some(configured));
        assert_eq!(find(None, Some(&from_env)), Some(from_env));
        let missing = dir.path().join("missing");
        assert_eq!(find(Some(&missing), None), Some(on_path.clone()));
        let python3 = script(&bin, "python3", "exit 0");
        assert_eq!(find(None, None), Some(python3), "python3 before python");
        assert_eq!(find_python_in(None, None, Some(OsString::from(":"))), None);
    }

    #[test]
    fn the_probe_reads_the_version_or_says_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let ok = script(
            dir.path(),
            "ok",
            r#"echo 'noise'; echo 'trtctl-probe {"version": "10.3.0.26"}'"#,
        );
        let trt = python_trt(&ok).unwrap();
        assert_eq!(trt.version, TrtVersion::new(10, 3, 0));
        assert_eq!(trt.reported, "10.3.0.26");
        let missing = script(
            dir.path(),
            "missing",
            r#"echo 'trtctl-probe {"error": "ModuleNotFoundError: No module named '"'"'tensorrt'"'"'"}'"#,
        );
        let err = python_trt(&missing).unwrap_err();
        assert!(matches!(err, PythonTrtError::NoTensorrt { .. }), "{err}");
        assert!(err.to_string().contains("pip install tensorrt"), "{err}");
        let odd = script(
            dir.path(),
            "odd",
            r#"echo 'trtctl-probe {"version": "dev"}'"#,
        );
        assert!(matches!(
            python_trt(&odd),
            Err(PythonTrtError::BadVersion { .. })
        ));
        let silent = script(dir.path(), "silent", "echo oops >&2; exit 3");
        let err = python_trt(&silent).unwrap_err();
        assert!(err.to_string().ends_with("oops"), "{err}");
        assert!(matches!(
            python_trt(&dir.path().join("absent")),
            Err(PythonTrtError::Run { .. })
        ));
    }
}
