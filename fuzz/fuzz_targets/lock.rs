//! Any text as engines.lock: reading never panics, and a lock that reads renders to a text
//! that reads back as the same lock.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trtctl::lock::Lock;

fuzz_target!(|text: &str| {
    let path = Path::new("engines.lock");
    if let Ok(lock) = Lock::parse(path, text) {
        let again = Lock::parse(path, &lock.render()).expect("a rendered lock reads back");
        assert_eq!(again.desired_sha256, lock.desired_sha256);
        assert_eq!(again.engines.len(), lock.engines.len());
        assert_eq!(again.missing.len(), lock.missing.len());
    }
});
