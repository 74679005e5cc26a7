//! `trtctl._trtctl`: the Rust library behind the `trtctl` Python package. The Python side
//! (`python/trtctl/`) only shapes arguments and results; every decision is made here, by the
//! same code the native binary runs.

mod arguments;
mod blocking;
mod deploy;
mod environment;
mod errors;
mod manifest;
mod one_engine;
mod progress;

use pyo3::prelude::*;

/// Runs a `trtctl` command line (program name first) exactly as the native binary does and
/// returns its exit code; the `trtctl` console script enters here.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| trtctl::cli::main(argv))
}

#[pymodule]
fn _trtctl(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(cli_main, module)?)?;
    module.add_function(wrap_pyfunction!(one_engine::ensure, module)?)?;
    module.add_function(wrap_pyfunction!(one_engine::read_engine, module)?)?;
    module.add_function(wrap_pyfunction!(manifest::plan, module)?)?;
    module.add_function(wrap_pyfunction!(manifest::apply, module)?)?;
    module.add_function(wrap_pyfunction!(deploy::fetch, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
