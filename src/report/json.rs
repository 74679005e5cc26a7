//! One JSON object per event and line, for scripts.

use std::io::Write;
use std::sync::Mutex;

use crate::exec::events::{Event, Reporter};

/// One JSON object per line, for scripts.
pub struct JsonReporter {
    out: Mutex<Box<dyn std::io::Write + Send>>,
}

impl JsonReporter {
    pub fn new(out: Box<dyn std::io::Write + Send>) -> Self {
        JsonReporter {
            out: Mutex::new(out),
        }
    }
}

impl Reporter for JsonReporter {
    fn event(&self, event: &Event) {
        if matches!(event, Event::Bytes { .. }) {
            return;
        }
        let mut out = self.out.lock().expect("reporter output");
        let _ = serde_json::to_writer(&mut *out, event);
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }
}
