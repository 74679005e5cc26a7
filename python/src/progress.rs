//! Executor events for Python: each as a JSON object to a sink (the package's logging and the
//! caller's callback), and the per-engine outcomes kept for the result.

use std::sync::Mutex;

use pyo3::prelude::*;
use trtctl::exec::{Event, Reporter};

pub struct PythonReporter {
    sink: Py<PyAny>,
    finished: Mutex<Vec<String>>,
}

impl PythonReporter {
    pub fn new(sink: Py<PyAny>) -> Self {
        PythonReporter {
            sink,
            finished: Mutex::new(Vec::new()),
        }
    }

    /// The `finished` events, one JSON object each, in the order the actions ended.
    pub fn into_finished(self) -> Vec<String> {
        self.finished.into_inner().expect("progress outcomes")
    }
}

impl Reporter for PythonReporter {
    fn event(&self, event: &Event) {
        let json = serde_json::to_string(event).expect("events serialize");
        if matches!(event, Event::Finished { .. }) {
            self.finished
                .lock()
                .expect("progress outcomes")
                .push(json.clone());
        }
        Python::attach(|py| {
            // A failing callback must not fail the build; Python reports it like an error in __del__.
            if let Err(err) = self.sink.call1(py, (json,)) {
                err.write_unraisable(py, Some(self.sink.bind(py)));
            }
        });
    }
}
