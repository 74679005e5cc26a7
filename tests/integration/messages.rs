//! Errors about the user's own input say what is really there and what is really wrong: a
//! directory is not "missing", a letter outside ASCII is named as such, a control character in
//! a name shows escaped instead of as a blank.

use crate::common::manifest::{Manifest, Model};
use crate::common::project::{Project, stderr_of};

/// `trtctl ensure` of `onnx` (fp16, batch 8, sm_86), with `extra` arguments; its stderr.
fn ensure_fails(project: &Project, onnx: &str, extra: &[&str]) -> String {
    let out = project.ensure(onnx).args(extra).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(project.builds().is_empty(), "nothing was built: {err}");
    err
}

#[test]
fn an_onnx_path_that_is_a_directory_is_called_a_directory() {
    let project = Project::new();
    std::fs::create_dir(project.path().join("models/x.onnx")).unwrap();
    let err = ensure_fails(&project, "models/x.onnx", &[]);
    assert!(
        err.contains("ONNX file models/x.onnx is a directory, not a file"),
        "{err}"
    );
    assert!(!err.contains("does not exist"), "{err}");

    project.write_manifest(&one_model_x("models/x.onnx"));
    let plan = project.trtctl().arg("plan").output().unwrap();
    assert!(
        stderr_of(&plan).contains("ONNX file `models/x.onnx` is a directory, not a file"),
        "{}",
        stderr_of(&plan)
    );
}

#[test]
fn a_letter_outside_ascii_is_named_as_such_and_a_control_character_shows_escaped() {
    let project = Project::new();
    project.add_model("arcface_r100");
    let err = ensure_fails(&project, "models/arcface_r100.onnx", &["--name", "café"]);
    assert!(
        err.contains(
            "model name `café` contains `é`; allowed are ASCII letters (a-z, A-Z), digits"
        ),
        "{err}"
    );
    let err = ensure_fails(&project, "models/arcface_r100.onnx", &["--name", "a\tb"]);
    assert!(err.contains("model name `a\\tb` contains `\\t`"), "{err}");

    // A NUL cannot reach argv; a manifest can hold one.
    project.write_manifest(&one_model_x("models/a\\u0000b.onnx"));
    let plan = project.trtctl().arg("plan").output().unwrap();
    let err = stderr_of(&plan);
    assert!(
        err.contains("ONNX file `models/a\\0b.onnx` cannot exist: its name holds a NUL character"),
        "{err}"
    );
    assert!(!err.contains('\0'), "{err:?}");
}

/// A manifest of one model `x` read from `onnx` (as TOML writes it).
fn one_model_x(onnx: &str) -> String {
    Manifest::new("10.3.0")
        .model(Model::named("x").onnx(onnx).archs(&["sm_86"]))
        .text()
}
