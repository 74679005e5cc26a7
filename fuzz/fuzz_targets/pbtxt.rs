//! Any text as a Triton config.pbtxt: splitting it never panics, spans stay in bounds and in
//! order, and what is left once owned fields are dropped splits again into the other fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trtctl::export::pbtxt;
use trtctl::export::triton::OWNED_FIELDS;

fuzz_target!(|text: &str| {
    let Ok(fields) = pbtxt::fields(text) else {
        return;
    };
    let mut at = 0;
    for field in &fields {
        assert!(at <= field.span.start && field.span.start < field.span.end);
        assert!(field.span.end <= text.len());
        at = field.span.end;
    }
    let kept = pbtxt::without_fields(text, &OWNED_FIELDS).expect("splits as before");
    let names: Vec<String> = pbtxt::fields(&kept)
        .expect("what is kept splits too")
        .into_iter()
        .map(|f| f.name)
        .collect();
    let expected: Vec<String> = fields
        .into_iter()
        .map(|f| f.name)
        .filter(|n| !OWNED_FIELDS.contains(&n.as_str()))
        .collect();
    assert_eq!(names, expected);
});
