//! Any bytes as the sidecar of one engine: accepted only if it describes that engine and its
//! fingerprint is its build inputs', and what is accepted survives a write and a read unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trtctl::identity::{EngineKey, Sidecar};

fuzz_target!(|bytes: &[u8]| {
    let (key, _) = EngineKey::parse("arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt")
        .expect("a valid key");
    if let Ok(sidecar) = Sidecar::parse_for(bytes, &key) {
        assert_eq!(sidecar.key(), key);
        let again = Sidecar::parse_for(&sidecar.to_json(), &key).expect("our own JSON parses");
        assert_eq!(again, sidecar);
        assert!(sidecar.check_consistent().is_ok(), "parse_for checks it");
    }
});
