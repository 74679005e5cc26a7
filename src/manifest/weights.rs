//! `weights`: whether a model's engines embed their weights, and the TensorRT it takes to strip
//! them.

use toml::Spanned;

use super::raw::{RawDefaults, RawModel};
use super::source::Source;
use super::{ManifestError, TrtPin};
use crate::identity::{STRIPPED_SINCE, TrtVersion, WeightsMode};

/// The model's `weights`, else `[defaults]`'s, else `embedded`; an error located at the key
/// when the pinned TensorRT cannot strip or refit.
pub(super) fn resolve_weights(
    source: &Source,
    model: &RawModel,
    defaults: &RawDefaults,
    trt: &TrtPin,
) -> Result<WeightsMode, ManifestError> {
    let Some(weights) = model.weights.as_ref().or(defaults.weights.as_ref()) else {
        return Ok(WeightsMode::Embedded);
    };
    let mode = *weights.get_ref();
    let pinned = match trt {
        TrtPin::Pinned(version) => Some(*version),
        TrtPin::Resolved(fact) => Some(fact.version),
        TrtPin::Auto => None,
    };
    match pinned {
        Some(version) if !mode.is_embedded() && version.release() < STRIPPED_SINCE => {
            Err(too_old(source, weights, version))
        }
        _ => Ok(mode),
    }
}

fn too_old(source: &Source, weights: &Spanned<WeightsMode>, version: TrtVersion) -> ManifestError {
    source.error(
        weights.span(),
        format!(
            "`weights = \"{}\"` needs TensorRT {STRIPPED_SINCE} or later (trtexec's --stripWeights, and --refitFromOnnx to refit on each host); the engines are for TensorRT {version}",
            weights.get_ref()
        ),
        Some(format!(
            "set `trt_version` to {STRIPPED_SINCE} or later, or `weights = \"embedded\"`"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    fn parse(trt: &str, defaults: &str, model: &str) -> Result<Manifest, ManifestError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.onnx"), b"onnx").unwrap();
        let text = format!(
            "trt_version = \"{trt}\"\n[defaults]\narchs = [\"sm_86\"]\n{defaults}\n[[model]]\nname = \"a\"\nonnx = \"a.onnx\"\n{model}\n"
        );
        Manifest::parse(&dir.path().join("engines.toml"), &text)
    }

    #[test]
    fn weights_come_from_the_model_else_the_defaults_else_embedded() {
        let weights = |defaults, model| {
            parse("10.14.1", defaults, model).unwrap().models[0]
                .flags
                .weights
        };
        assert_eq!(weights("", ""), WeightsMode::Embedded);
        assert_eq!(weights("weights = \"stripped\"", ""), WeightsMode::Stripped);
        assert_eq!(
            weights("weights = \"stripped\"", "weights = \"refittable\""),
            WeightsMode::Refittable
        );
        assert!(parse("10.14.1", "weights = \"thin\"", "").is_err());
    }

    #[test]
    fn a_tensorrt_without_the_flags_is_an_error_at_the_key_naming_the_fix() {
        let Err(ManifestError::Invalid(d)) = parse("10.3.0", "", "weights = \"refittable\"") else {
            panic!("TensorRT 10.3 cannot refit from an ONNX");
        };
        assert_eq!(d.line, 8, "{d}");
        assert!(d.message.contains("needs TensorRT 10.14.0 or later"), "{d}");
        assert!(d.message.contains("TensorRT 10.3.0"), "{d}");
        assert_eq!(
            d.help.as_deref(),
            Some("set `trt_version` to 10.14.0 or later, or `weights = \"embedded\"`")
        );
        assert!(parse("10.3.0", "weights = \"embedded\"", "").is_ok());
    }
}
