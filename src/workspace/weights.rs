//! The graphs of the models whose weights are stripped: what a refit needs to know of each
//! desired engine before the plan is made.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rayon::prelude::*;

use super::{Workspace, WorkspaceError};
use crate::onnx;
use crate::plan::{self, DesiredEngine};

impl Workspace {
    /// Records the graph of each engine whose weights are stripped: its ONNX's structure hash,
    /// read once per file (weights are skipped, not hashed).
    pub(super) fn attach_graphs(
        &self,
        desired: &mut [DesiredEngine],
    ) -> Result<(), WorkspaceError> {
        let files: BTreeSet<&PathBuf> = (desired.iter())
            .filter(|e| !e.build.flags.weights.is_embedded())
            .map(|e| &e.onnx)
            .collect();
        if files.is_empty() {
            return Ok(());
        }
        let graphs: BTreeMap<PathBuf, String> = (files.into_par_iter())
            .map(|path| match onnx::read_graph_sha256(path) {
                Ok(graph) => Ok((path.clone(), graph)),
                Err(source) => Err(WorkspaceError::OnnxGraph {
                    path: path.clone(),
                    source,
                }),
            })
            .collect::<Result<_, _>>()?;
        for engine in desired {
            if let Some(graph) = graphs.get(&engine.onnx) {
                plan::with_graph(engine, graph);
            }
        }
        Ok(())
    }
}
