//! The integration tests, one binary (one link) for all: each module drives an area the way a
//! user would, through the real binary or the library's public API.

mod apply_cli;
mod architecture;
mod cache_cli;
mod common;
mod credential_chain;
mod documented;
mod ensure_cli;
mod exact_build;
mod export_cli;
mod fetch_cli;
mod fleet_cli;
mod gpu_host;
mod hardware_compat;
mod lock_cli;
mod messages;
mod plan_cli;
mod python_builder;
mod rebuilds;
mod refit;
mod reliability;
mod remote_cli;
mod remote_scale;
mod remote_store;
mod timing_cache;
mod trt_versions;
mod trust_cli;
mod version_compat;
