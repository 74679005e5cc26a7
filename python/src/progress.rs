//! Executor events for Python: each as a JSON object to a sink (the package's logging and the
//! caller's callback), and the per-engine outcomes kept for the result.
//!
//! An exception raised by the callback is not swallowed: the run is stopped as Ctrl-C stops it
//! (nothing half-written is committed), the callback is not called again, and `apply` raises
//! that exception once the run has wound down.

use std::sync::Mutex;

use pyo3::prelude::*;
use trtctl::exec::{Event, Reporter, StopSignal};

pub struct PythonReporter<'a> {
    sink: Py<PyAny>,
    /// Stopped when the callback raises.
    stop: &'a StopSignal,
    finished: Mutex<Vec<String>>,
    /// The first exception the callback raised.
    raised: Mutex<Option<PyErr>>,
}

impl<'a> PythonReporter<'a> {
    pub fn new(sink: Py<PyAny>, stop: &'a StopSignal) -> Self {
        PythonReporter {
            sink,
            stop,
            finished: Mutex::new(Vec::new()),
            raised: Mutex::new(None),
        }
    }

    /// The `finished` events, one JSON object each, in the order the actions ended; or the
    /// exception the callback raised.
    pub fn into_finished(self) -> PyResult<Vec<String>> {
        match self.raised.into_inner().expect("progress exception") {
            Some(err) => Err(err),
            None => Ok(self.finished.into_inner().expect("progress outcomes")),
        }
    }
}

impl Reporter for PythonReporter<'_> {
    fn event(&self, event: &Event) {
        let json = serde_json::to_string(event).expect("events serialize");
        if matches!(event, Event::Finished { .. }) {
            self.finished
                .lock()
                .expect("progress outcomes")
                .push(json.clone());
        }
        if self.raised.lock().expect("progress exception").is_some() {
            return;
        }
        if let Err(err) = Python::attach(|py| self.sink.call1(py, (json,))) {
            self.raised
                .lock()
                .expect("progress exception")
                .get_or_insert(err);
            self.stop.cancel();
        }
    }
}
