//! The plan as a DAG of actions, and its Graphviz DOT.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use super::{Decision, Plan};
use crate::identity::EngineKey;

impl Plan {
    /// The DAG of actions: one hash node per ONNX file feeds each of its builds; an upload
    /// waits for the build that makes its engine.
    pub fn graph(&self) -> DiGraph<Node, ()> {
        let mut graph = DiGraph::new();
        let mut hashes: BTreeMap<&PathBuf, NodeIndex> = BTreeMap::new();
        for step in &self.steps {
            let key = &step.engine.key;
            match &step.decision {
                Decision::Fetch { .. } => {
                    graph.add_node(Node::Fetch(key.clone()));
                }
                Decision::Upload => {
                    graph.add_node(Node::Upload(key.clone()));
                }
                Decision::Refit { .. } => {
                    graph.add_node(Node::Refit(key.clone()));
                }
                Decision::Build { upload, .. } => {
                    let hash = *hashes.entry(&step.engine.onnx).or_insert_with(|| {
                        graph.add_node(Node::HashOnnx(step.engine.onnx.clone()))
                    });
                    let build = graph.add_node(Node::Build(key.clone()));
                    graph.add_edge(hash, build, ());
                    if *upload {
                        let up = graph.add_node(Node::Upload(key.clone()));
                        graph.add_edge(build, up, ());
                    }
                }
                Decision::UpToDate { .. }
                | Decision::CannotBuild { .. }
                | Decision::Untrusted { .. } => {}
            }
        }
        graph
    }

    /// Graphviz DOT of [`Plan::graph`].
    pub fn to_dot(&self) -> String {
        let graph = self.graph();
        let mut dot = String::from("digraph plan {\n  rankdir=LR;\n");
        for index in graph.node_indices() {
            dot.push_str(&format!(
                "  n{} [label=\"{}\"];\n",
                index.index(),
                graph[index]
            ));
        }
        for edge in graph.raw_edges() {
            dot.push_str(&format!(
                "  n{} -> n{};\n",
                edge.source().index(),
                edge.target().index()
            ));
        }
        dot.push_str("}\n");
        dot
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "node", content = "target")]
pub enum Node {
    HashOnnx(PathBuf),
    Fetch(EngineKey),
    Build(EngineKey),
    Upload(EngineKey),
    Refit(EngineKey),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::HashOnnx(path) => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default();
                write!(f, "hash {name}")
            }
            Node::Fetch(key) => write!(f, "fetch {}", key.file),
            Node::Build(key) => write!(f, "build {}", key.file),
            Node::Upload(key) => write!(f, "upload {}", key.file),
            Node::Refit(key) => write!(f, "refit {}", key.file),
        }
    }
}
