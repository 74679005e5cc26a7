//! trtctl: declarative build tool for NVIDIA TensorRT engines.
//!
//! The pipeline every command follows: [`manifest`] says what is wanted, [`observe`] looks at
//! the world (ONNX files, the local [`store`], the remote), [`plan`] decides (pure), [`exec`]
//! carries the plan out with a [`builder`], and [`report`] renders all of it for people.
//! [`trust`] signs and verifies engines. [`workspace`] ties them together; [`workspace::ensure_engine`] is the one-call API.
pub mod builder;
pub mod cli;
pub mod exec;
pub mod export;
pub mod fleet;
pub mod gpu;
pub mod identity;
pub mod lock;
pub mod manifest;
pub mod observe;
pub mod onnx;
pub mod plan;
pub mod report;
pub mod store;
pub mod sys;
pub mod task;
pub mod trust;
pub mod workspace;
