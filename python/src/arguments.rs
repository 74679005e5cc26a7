//! Python arguments as the library takes them. A Python int has no size limit, so one that does
//! not fit (a negative batch size, a GPU index of -1, 2**40) is the caller's bad input, raised
//! as `InputError` naming the argument, never as Python's bare `OverflowError`.

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;

use crate::errors;

/// `value` as a count or index of at most `u32::MAX` (`least` is the smallest that makes
/// sense, for the message); other types raise `TypeError` as usual.
pub fn whole(value: &Bound<'_, PyAny>, name: &str, least: u32) -> PyResult<u32> {
    value.extract::<u32>().map_err(|err| {
        if err.is_instance_of::<PyOverflowError>(value.py()) {
            errors::bad_input(format!(
                "{name} = {value} is out of range: pass a whole number from {least} to {}",
                u32::MAX
            ))
        } else {
            err
        }
    })
}

/// `value` when given, as [`whole`].
pub fn whole_or(value: Option<&Bound<'_, PyAny>>, name: &str, least: u32) -> PyResult<Option<u32>> {
    value.map(|v| whole(v, name, least)).transpose()
}
