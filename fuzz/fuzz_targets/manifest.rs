//! Any text as `engines.toml`: an error names a line and column inside the text, never panics.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trtctl::manifest::Manifest;

fuzz_target!(|text: &str| {
    // A directory that does not exist: ONNX paths never resolve to a real file.
    let path = Path::new("/nonexistent-trtctl-fuzz/engines.toml");
    if let Err(error) = Manifest::parse(path, text)
        && let Some(diagnostic) = error.diagnostic()
    {
        let lines = text.lines().count().max(1);
        assert!(diagnostic.line >= 1 && diagnostic.line <= lines + 1, "{diagnostic:?}");
        assert!(diagnostic.column >= 1, "{diagnostic:?}");
        assert!(!diagnostic.message.is_empty());
    }
});
