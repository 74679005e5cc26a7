//! Which builder backend builds on this machine, and why: `[builder] backend`, where `auto`
//! takes trtexec when one is found, else a Python whose `tensorrt` imports. A manifest with
//! `trt_version = "auto"` builds for that backend's TensorRT.

use std::path::{Path, PathBuf};

use super::Environment;
use crate::builder::{BuildError, Builder, PythonBuilder, Trtexec};
use crate::gpu::{self, PythonTrt, PythonTrtError, TrtDetectError, TrtFact, TrtSource};
use crate::manifest::{BuilderBackend, BuilderSettings};

/// A backend found on this machine, its version not yet checked against the pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Trtexec(PathBuf),
    Python(PythonTrt),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendChoice {
    pub found: Found,
    /// Why this backend, for `trtctl gpus`.
    pub why: String,
}

impl BackendChoice {
    pub fn backend(&self) -> BuilderBackend {
        match self.found {
            Found::Trtexec(_) => BuilderBackend::Trtexec,
            Found::Python(_) => BuilderBackend::Python,
        }
    }

    /// The program that builds: trtexec, or the Python interpreter.
    pub fn program(&self) -> &Path {
        match &self.found {
            Found::Trtexec(path) => path,
            Found::Python(trt) => &trt.python,
        }
    }

    /// The builder, checked to build for `wanted`.
    pub fn into_builder(self, wanted: &TrtFact) -> Result<Box<dyn Builder>, BuildError> {
        Ok(match self.found {
            Found::Trtexec(path) => Box::new(Trtexec::at(path, wanted)?),
            Found::Python(trt) => Box::new(PythonBuilder::new(trt, wanted)?),
        })
    }
}

/// A configured path that is not an executable file is a mistake to report, not a reason to
/// use another program.
fn configured_executable(path: Option<&Path>, key: &'static str) -> Result<(), BuildError> {
    match path.filter(|p| !gpu::is_executable(p)) {
        Some(path) => Err(BuildError::NotExecutable {
            key,
            path: path.to_path_buf(),
        }),
        None => Ok(()),
    }
}

/// The Python of the python backend, asked for its `tensorrt`.
fn python_trt(
    settings: &BuilderSettings,
    env_python: Option<&Path>,
) -> Result<PythonTrt, BuildError> {
    configured_executable(settings.python.as_deref(), "python")?;
    let python = gpu::find_python(settings.python.as_deref(), env_python)
        .ok_or(TrtDetectError::Python(PythonTrtError::NoPython))?;
    Ok(gpu::python_trt(&python).map_err(TrtDetectError::from)?)
}

/// The backend that builds here. `env_python` is `TRTCTL_PYTHON`, or the interpreter of the
/// Python package, tried after `[builder] python`.
pub fn choose_backend(
    settings: &BuilderSettings,
    env_python: Option<&Path>,
) -> Result<BackendChoice, BuildError> {
    let named = |backend: BuilderBackend| format!("`[builder] backend = \"{}\"`", backend.as_str());
    let trtexec = || {
        configured_executable(settings.trtexec.as_deref(), "trtexec")?;
        Ok::<_, BuildError>(gpu::find_trtexec(settings.trtexec.as_deref()))
    };
    match settings.backend {
        BuilderBackend::Trtexec => Ok(BackendChoice {
            found: Found::Trtexec(trtexec()?.ok_or(BuildError::NotFound)?),
            why: named(BuilderBackend::Trtexec),
        }),
        BuilderBackend::Python => Ok(BackendChoice {
            found: Found::Python(python_trt(settings, env_python)?),
            why: named(BuilderBackend::Python),
        }),
        BuilderBackend::Auto => {
            if let Some(path) = trtexec()? {
                return Ok(BackendChoice {
                    why: "auto: trtexec was found".to_string(),
                    found: Found::Trtexec(path),
                });
            }
            match python_trt(settings, env_python) {
                Ok(trt) => Ok(BackendChoice {
                    why: format!(
                        "auto: no trtexec was found, and {} imports tensorrt",
                        trt.python.display()
                    ),
                    found: Found::Python(trt),
                }),
                Err(BuildError::Version(TrtDetectError::Python(
                    why @ (PythonTrtError::NoPython
                    | PythonTrtError::NoTensorrt { .. }
                    | PythonTrtError::NoAnswer { .. }
                    | PythonTrtError::Run { .. }),
                ))) => Err(BuildError::NoBuilder {
                    python: why.to_string(),
                }),
                Err(other) => Err(other),
            }
        }
    }
}

/// The local TensorRT: `TRTCTL_TRT_VERSION`, else the version of the backend that builds here,
/// else (when none does) libnvinfer's, for planning.
pub fn local_trt(settings: &BuilderSettings, env: &Environment) -> Result<TrtFact, TrtDetectError> {
    if env.trt_version.is_some() {
        return gpu::detect_trt(env.trt_version.as_deref(), None);
    }
    match choose_backend(settings, env.python.as_deref()) {
        Ok(BackendChoice {
            found: Found::Trtexec(path),
            ..
        }) => gpu::detect_trt(None, Some(&path)),
        Ok(BackendChoice {
            found: Found::Python(trt),
            ..
        }) => Ok(TrtFact {
            // Three parts, as trtexec's banner gives: a detected version names engines as the
            // seed did (only a four-part pin names the exact build); each plan's header still
            // records and checks the exact build.
            version: trt.version,
            source: TrtSource::Python(trt.python),
        }),
        // The chosen backend is there and says what is wrong with it.
        Err(BuildError::Version(why)) => Err(why),
        // Nothing builds here (a plan may still be made): a trtexec found despite a broken
        // `[builder] trtexec` (the build reports that), else libnvinfer.
        Err(_) => gpu::detect_trt(
            None,
            gpu::find_trtexec(settings.trtexec.as_deref()).as_deref(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(backend: BuilderBackend, python: Option<&Path>) -> BuilderSettings {
        BuilderSettings {
            backend,
            python: python.map(Path::to_path_buf),
            ..BuilderSettings::default()
        }
    }

    #[test]
    fn a_configured_program_that_is_not_there_is_named() {
        let broken_trtexec = BuilderSettings {
            trtexec: Some(PathBuf::from("/nonexistent/trtexec")),
            ..settings(
                BuilderBackend::Python,
                Some(Path::new("/nonexistent/python3")),
            )
        };
        assert!(
            matches!(
                choose_backend(&broken_trtexec, None),
                Err(BuildError::NotExecutable { key: "python", .. })
            ),
            "the python backend does not care for `[builder] trtexec`"
        );
        let missing = Path::new("/nonexistent/python3");
        let err =
            choose_backend(&settings(BuilderBackend::Python, Some(missing)), None).unwrap_err();
        assert!(
            err.to_string()
                .contains("`[builder] python` = /nonexistent/python3 is not an executable file"),
            "{err}"
        );
        let trtexec = BuilderSettings {
            trtexec: Some(PathBuf::from("/nonexistent/trtexec")),
            ..settings(BuilderBackend::Auto, None)
        };
        assert!(matches!(
            choose_backend(&trtexec, None),
            Err(BuildError::NotExecutable { key: "trtexec", .. })
        ));
    }
}
