//! Laying out what a lock pins for a model server.

pub mod pbtxt;
pub mod triton;
