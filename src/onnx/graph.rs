//! The graph identity of an ONNX model: a sha256 of its structure without the values of its
//! weights. Two files that differ only in initializer values (a retrained model) share it;
//! any change to a node, an attribute, an input or output, or an initializer's name, dtype or
//! shape changes it. A refittable engine built from one file takes the weights of any other
//! file of the same graph.
//!
//! What is hashed, in file order: `ModelProto.ir_version`, `opset_import` and `functions`;
//! of the graph, every node, input, output, value_info and quantization annotation as written;
//! of every initializer (dense or sparse) its name, data type and dims. What is left out:
//! weight values (`raw_data`, the typed `*_data` fields, external data locations), names and
//! doc strings of the model and the graph, producer fields and metadata: none of them changes
//! what TensorRT builds.

use sha2::{Digest, Sha256};

use super::{OnnxError, Value, fields, messages};

/// Domain of the hash: a different definition of "structure" must never collide with this one.
const GRAPH_DOMAIN: &str = "trtctl-onnx-graph-v1";

// Field numbers from onnx.proto.
const MODEL_IR_VERSION: u64 = 1;
const MODEL_OPSET_IMPORT: u64 = 8;
const MODEL_FUNCTIONS: u64 = 25;
const GRAPH_NODE: u64 = 1;
const GRAPH_OUTPUT: u64 = 12;
const GRAPH_VALUE_INFO: u64 = 13;
const GRAPH_QUANTIZATION: u64 = 14;
const TENSOR_DIMS: u64 = 1;
const TENSOR_DATA_TYPE: u64 = 2;
const SPARSE_INDICES: u64 = 2;
const SPARSE_DIMS: u64 = 3;

/// The graph's sha256 (hex) from the bytes of a model.
pub fn graph_sha256(bytes: &[u8]) -> Result<String, OnnxError> {
    let graph = *messages(bytes, super::MODEL_GRAPH)?
        .last()
        .ok_or(OnnxError::NoGraph)?;
    let mut hasher = Sha256::new();
    hasher.update(GRAPH_DOMAIN.as_bytes());
    hasher.update([0]);
    for field in fields(bytes) {
        if let (n @ (MODEL_IR_VERSION | MODEL_OPSET_IMPORT | MODEL_FUNCTIONS), value) = field? {
            put(&mut hasher, 'm', n, &value);
        }
    }
    hash_graph(&mut hasher, graph)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// [`graph_sha256`] of the file at `path`.
pub fn read_graph_sha256(path: &std::path::Path) -> Result<String, OnnxError> {
    graph_sha256(&std::fs::read(path)?)
}

fn hash_graph(hasher: &mut Sha256, graph: &[u8]) -> Result<(), OnnxError> {
    for field in fields(graph) {
        match field? {
            (
                n @ (GRAPH_NODE
                | super::GRAPH_INPUT
                | GRAPH_OUTPUT
                | GRAPH_VALUE_INFO
                | GRAPH_QUANTIZATION),
                value,
            ) => put(hasher, 'g', n, &value),
            (super::GRAPH_INITIALIZER, Value::Bytes(tensor)) => {
                hasher.update(b"init");
                hash_tensor_shape(hasher, tensor)?;
            }
            (super::GRAPH_SPARSE_INITIALIZER, Value::Bytes(sparse)) => {
                hasher.update(b"sparse");
                for field in fields(sparse) {
                    match field? {
                        (n @ (super::SPARSE_VALUES | SPARSE_INDICES), Value::Bytes(tensor)) => {
                            put(hasher, 's', n, &Value::Bytes(&[]));
                            hash_tensor_shape(hasher, tensor)?;
                        }
                        (SPARSE_DIMS, value) => put(hasher, 's', SPARSE_DIMS, &value),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A weight's name, data type and dims: everything of it but its values.
fn hash_tensor_shape(hasher: &mut Sha256, tensor: &[u8]) -> Result<(), OnnxError> {
    for field in fields(tensor) {
        if let (n @ (TENSOR_DIMS | TENSOR_DATA_TYPE | super::TENSOR_NAME), value) = field? {
            put(hasher, 't', n, &value);
        }
    }
    hasher.update(b"end");
    Ok(())
}

/// One field, framed so that no two sequences of fields hash alike: a scope tag, the field
/// number, then the value's kind and length.
fn put(hasher: &mut Sha256, scope: char, number: u64, value: &Value) {
    hasher.update([scope as u8]);
    hasher.update(number.to_le_bytes());
    match value {
        Value::Varint(v) => {
            hasher.update(b"v");
            hasher.update(v.to_le_bytes());
        }
        Value::Bytes(bytes) => {
            hasher.update(b"b");
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
        Value::Fixed => hasher.update(b"f"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn bytes(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint(number << 3 | 2, &mut out);
        varint(payload.len() as u64, &mut out);
        out.extend_from_slice(payload);
        out
    }

    fn int(number: u64, v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        varint(number << 3, &mut out);
        varint(v, &mut out);
        out
    }

    /// A model with one node of `op` and one initializer `w` of `weights`, named `graph_name`.
    fn model(op: &str, weights: &[u8], graph_name: &str, producer: &str) -> Vec<u8> {
        let node = [
            bytes(1, b"x"),
            bytes(1, b"w"),
            bytes(2, b"y"),
            bytes(4, op.as_bytes()),
        ]
        .concat();
        let tensor = [
            int(1, weights.len() as u64),
            int(2, 2),
            bytes(8, b"w"),
            bytes(9, weights),
        ]
        .concat();
        let graph = [
            bytes(1, &node),
            bytes(2, graph_name.as_bytes()),
            bytes(5, &tensor),
        ]
        .concat();
        [
            int(1, 8),
            bytes(2, producer.as_bytes()),
            bytes(7, &graph),
            bytes(8, &int(2, 17)),
        ]
        .concat()
    }

    #[test]
    fn weight_values_and_names_do_not_change_the_graph_but_nodes_and_shapes_do() {
        let base = graph_sha256(&model("Add", &[1, 2, 3, 4], "g", "a")).unwrap();
        assert_eq!(base.len(), 64);
        let retrained = graph_sha256(&model("Add", &[9, 8, 7, 6], "other", "b")).unwrap();
        assert_eq!(retrained, base);
        let other_op = graph_sha256(&model("Mul", &[1, 2, 3, 4], "g", "a")).unwrap();
        assert_ne!(other_op, base);
        let other_shape = graph_sha256(&model("Add", &[1, 2, 3], "g", "a")).unwrap();
        assert_ne!(other_shape, base);
    }

    #[test]
    fn the_tiny_model_has_a_graph_and_garbage_is_an_error() {
        let tiny = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/arcface_r100.onnx"
        ))
        .unwrap();
        assert_eq!(graph_sha256(&tiny).unwrap().len(), 64);
        assert!(matches!(graph_sha256(&int(1, 8)), Err(OnnxError::NoGraph)));
        assert!(graph_sha256(&tiny[..tiny.len() / 2]).is_err());
    }
}
