//! Any string as an engine file name or `{family}/{file}` key: what parses round-trips exactly
//! and stays one plain relative path, so no name ever reaches outside the cache or the prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trtctl::identity::{EngineId, EngineKey};

fuzz_target!(|name: &str| {
    if let Ok(id) = EngineId::parse_file_name(name) {
        assert_eq!(id.file_name(), name);
        assert!(!name.contains('/') && !name.contains('\\') && !name.starts_with('.'));
    }
    if let Ok((key, id)) = EngineKey::parse(name) {
        assert_eq!(key.path(), name);
        assert_eq!(key.file, id.file_name());
        let parts: Vec<&str> = name.split('/').collect();
        assert_eq!(parts.len(), 2, "{name}");
        assert!(
            parts
                .iter()
                .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.starts_with('.')),
            "{name}"
        );
    }
});
