//! Just enough of the ONNX protobuf to list a model's graph inputs and their dims, so a batch
//! range in the manifest becomes trtexec's `--minShapes/--optShapes/--maxShapes`.
//!
//! A small, dependency-free protobuf reader: it walks only the messages on the path
//! `ModelProto.graph → GraphProto.input → ValueInfoProto.type → TypeProto.tensor_type →
//! TensorShapeProto.dim`, skips every other field by its wire type (weights included, without
//! copying them), and turns anything malformed — truncated files, lengths past the end, varints
//! that never end, group or unknown wire types — into an [`OnnxError`], never a panic.

use std::collections::HashSet;
use std::path::Path;

mod graph;

pub use graph::{graph_sha256, read_graph_sha256};

// Field numbers from onnx.proto.
const MODEL_GRAPH: u64 = 7; // ModelProto.graph: GraphProto
const GRAPH_INITIALIZER: u64 = 5; // GraphProto.initializer: repeated TensorProto
const GRAPH_INPUT: u64 = 11; // GraphProto.input: repeated ValueInfoProto
const GRAPH_SPARSE_INITIALIZER: u64 = 15; // GraphProto.sparse_initializer: repeated SparseTensorProto
const SPARSE_VALUES: u64 = 1; // SparseTensorProto.values: TensorProto (its name is the weight's)
const TENSOR_NAME: u64 = 8; // TensorProto.name: string
const VALUE_INFO_NAME: u64 = 1; // ValueInfoProto.name: string
const VALUE_INFO_TYPE: u64 = 2; // ValueInfoProto.type: TypeProto
const TYPE_TENSOR: u64 = 1; // TypeProto.tensor_type: TypeProto.Tensor
const TENSOR_TYPE_SHAPE: u64 = 2; // TypeProto.Tensor.shape: TensorShapeProto
const SHAPE_DIM: u64 = 1; // TensorShapeProto.dim: repeated Dimension
const DIM_VALUE: u64 = 1; // Dimension.dim_value: int64
const DIM_PARAM: u64 = 2; // Dimension.dim_param: string

/// One dim of an input's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    /// A known size (`dim_value`).
    Fixed(i64),
    /// A symbolic dim (`dim_param`, e.g. `"batch"`), or an unknown one (`""`: neither set).
    Dynamic(String),
}

/// A real input of the graph (not a weight), with its shape as declared in the model. `dims`
/// is empty for a scalar and for an input whose shape the model does not declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxInput {
    pub name: String,
    pub dims: Vec<Dim>,
}

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a valid ONNX file: a varint is cut off by the end of the data (truncated file?)")]
    TruncatedVarint,
    #[error("not a valid ONNX file: a varint runs past 10 bytes")]
    VarintTooLong,
    #[error(
        "not a valid ONNX file: field {field} has wire type {wire_type}, which ONNX does not use"
    )]
    BadWireType { field: u64, wire_type: u8 },
    #[error(
        "not a valid ONNX file: field {field} needs {len} bytes but only {left} are left (truncated file?)"
    )]
    Truncated { field: u64, len: u64, left: usize },
    #[error("not a valid ONNX file: a field has the invalid number 0")]
    ZeroField,
    #[error("not an ONNX model: it has no graph")]
    NoGraph,
    #[error(
        "input `{input}` has a dynamic dim {dim} at position {index} besides the leading batch dim: a batch range sets only the batch; give explicit `shapes` for `{input}` in engines.toml instead of `batch`"
    )]
    DynamicBeyondBatch {
        input: String,
        index: usize,
        /// The dim's name in backquotes, or `(unnamed)`.
        dim: String,
    },
    #[error("batch range min={min} opt={opt} max={max} is not 1 <= min <= opt <= max")]
    BadBatchRange { min: u32, opt: u32, max: u32 },
}

/// The payload of one protobuf field. Fixed-size payloads (wire types 1 and 5) are only
/// skipped: no field on the path to the inputs uses them.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// The fields of one message, in order. Stops after the first error.
struct Fields<'a> {
    rest: &'a [u8],
}

fn varint(buf: &mut &[u8]) -> Result<u64, OnnxError> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let (&byte, rest) = buf.split_first().ok_or(OnnxError::TruncatedVarint)?;
        *buf = rest;
        // Bits past the 64th (only in a malformed 10th byte) are dropped, as protobuf does.
        value |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(OnnxError::VarintTooLong)
}

fn take<'a>(buf: &mut &'a [u8], field: u64, len: u64) -> Result<&'a [u8], OnnxError> {
    let truncated = || OnnxError::Truncated {
        field,
        len,
        left: buf.len(),
    };
    let n = usize::try_from(len).map_err(|_| truncated())?;
    if n > buf.len() {
        return Err(truncated());
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

impl<'a> Fields<'a> {
    fn read(&mut self) -> Result<(u64, Value<'a>), OnnxError> {
        let key = varint(&mut self.rest)?;
        let field = key >> 3;
        if field == 0 {
            return Err(OnnxError::ZeroField);
        }
        let value = match key & 7 {
            0 => Value::Varint(varint(&mut self.rest)?),
            1 => take(&mut self.rest, field, 8).map(|_| Value::Fixed)?,
            2 => {
                let len = varint(&mut self.rest)?;
                Value::Bytes(take(&mut self.rest, field, len)?)
            }
            5 => take(&mut self.rest, field, 4).map(|_| Value::Fixed)?,
            // 3 and 4 are the deprecated groups, 6 and 7 do not exist.
            wire_type => {
                return Err(OnnxError::BadWireType {
                    field,
                    wire_type: wire_type as u8,
                });
            }
        };
        Ok((field, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), OnnxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let item = self.read();
        if item.is_err() {
            self.rest = &[];
        }
        Some(item)
    }
}

fn fields(bytes: &[u8]) -> Fields<'_> {
    Fields { rest: bytes }
}

/// The payloads of every length-delimited field `number` of the message in `bytes`, in order.
/// Fields of that number with another wire type are not what onnx.proto says: skipped.
fn messages(bytes: &[u8], number: u64) -> Result<Vec<&[u8]>, OnnxError> {
    let mut found = Vec::new();
    for field in fields(bytes) {
        if let (n, Value::Bytes(payload)) = field?
            && n == number
        {
            found.push(payload);
        }
    }
    Ok(found)
}

/// A string field: the last occurrence wins, as in protobuf.
fn string(bytes: &[u8], number: u64) -> Result<String, OnnxError> {
    Ok(messages(bytes, number)?
        .last()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default())
}

fn dim(bytes: &[u8]) -> Result<Dim, OnnxError> {
    // `value` is a oneof: the last member set wins.
    let mut result = Dim::Dynamic(String::new());
    for field in fields(bytes) {
        match field? {
            (DIM_VALUE, Value::Varint(v)) => result = Dim::Fixed(v as i64),
            (DIM_PARAM, Value::Bytes(b)) => {
                result = Dim::Dynamic(String::from_utf8_lossy(b).into_owned())
            }
            _ => {}
        }
    }
    Ok(result)
}

fn input(bytes: &[u8]) -> Result<OnnxInput, OnnxError> {
    let mut dims = Vec::new();
    for ty in messages(bytes, VALUE_INFO_TYPE)? {
        for tensor in messages(ty, TYPE_TENSOR)? {
            for shape in messages(tensor, TENSOR_TYPE_SHAPE)? {
                dims = messages(shape, SHAPE_DIM)?
                    .into_iter()
                    .map(dim)
                    .collect::<Result<_, _>>()?;
            }
        }
    }
    Ok(OnnxInput {
        name: string(bytes, VALUE_INFO_NAME)?,
        dims,
    })
}

/// The graph's real inputs, in order: declared inputs that are not initializers (weights,
/// which older exporters also list as inputs).
pub fn parse_inputs(bytes: &[u8]) -> Result<Vec<OnnxInput>, OnnxError> {
    let graph = *messages(bytes, MODEL_GRAPH)?
        .last()
        .ok_or(OnnxError::NoGraph)?;
    let mut weights: HashSet<String> = messages(graph, GRAPH_INITIALIZER)?
        .into_iter()
        .map(|t| string(t, TENSOR_NAME))
        .collect::<Result<_, _>>()?;
    for sparse in messages(graph, GRAPH_SPARSE_INITIALIZER)? {
        for values in messages(sparse, SPARSE_VALUES)? {
            weights.insert(string(values, TENSOR_NAME)?);
        }
    }
    let mut inputs = Vec::new();
    for bytes in messages(graph, GRAPH_INPUT)? {
        let input = input(bytes)?;
        if !weights.contains(&input.name) {
            inputs.push(input);
        }
    }
    Ok(inputs)
}

/// [`parse_inputs`] of the file at `path`.
pub fn read_inputs(path: &Path) -> Result<Vec<OnnxInput>, OnnxError> {
    parse_inputs(&std::fs::read(path)?)
}

/// Dynamic for TensorRT: a symbolic or unknown dim, or a negative `dim_value` (-1, as some
/// exporters write for "any").
fn is_dynamic(dim: &Dim) -> bool {
    match dim {
        Dim::Fixed(v) => *v < 0,
        Dim::Dynamic(_) => true,
    }
}

/// The optimization profile a batch range makes: every input whose leading dim is dynamic gets
/// `batch x rest` (e.g. `32x3x112x112`) at min, opt and max. Inputs whose shapes are all static
/// need no profile and are left out, so the list is empty when no input is dynamic. An input
/// with a dynamic dim other than the leading one cannot be shaped by a batch alone: an error
/// that names it and asks for explicit `shapes` in engines.toml.
pub fn batch_ranges(
    inputs: &[OnnxInput],
    min: u32,
    opt: u32,
    max: u32,
) -> Result<Vec<(String, [String; 3])>, OnnxError> {
    if min == 0 || min > opt || opt > max {
        return Err(OnnxError::BadBatchRange { min, opt, max });
    }
    let mut ranges = Vec::new();
    for input in inputs {
        let Some((first, rest)) = input.dims.split_first() else {
            continue; // a scalar, or no declared shape: nothing a batch can say
        };
        if let Some((index, dim)) = rest.iter().enumerate().find(|(_, d)| is_dynamic(d)) {
            return Err(OnnxError::DynamicBeyondBatch {
                input: input.name.clone(),
                index: index + 1,
                dim: match dim {
                    Dim::Dynamic(name) if !name.is_empty() => format!("`{name}`"),
                    _ => "(unnamed)".to_string(),
                },
            });
        }
        if !is_dynamic(first) {
            continue;
        }
        let rest: String = rest
            .iter()
            .map(|d| match d {
                Dim::Fixed(v) => format!("x{v}"),
                Dim::Dynamic(_) => unreachable!("checked above"),
            })
            .collect();
        let dims = [min, opt, max].map(|batch| format!("{batch}{rest}"));
        ranges.push((input.name.clone(), dims));
    }
    Ok(ranges)
}

/// [`batch_ranges`] as trtexec's `--minShapes/--optShapes/--maxShapes` take them:
/// `input:32x3x112x112`, several inputs joined by `,`; all three empty when no input is dynamic.
pub fn batch_shapes(
    inputs: &[OnnxInput],
    min: u32,
    opt: u32,
    max: u32,
) -> Result<(String, String, String), OnnxError> {
    Ok(join_shapes(&batch_ranges(inputs, min, opt, max)?))
}

/// `name:dims` per input (dims at min, opt and max), joined by `,`, for min, opt and max.
pub fn join_shapes(ranges: &[(String, [String; 3])]) -> (String, String, String) {
    let join = |at: usize| {
        (ranges.iter())
            .map(|(name, dims)| format!("{name}:{}", dims[at]))
            .collect::<Vec<_>>()
            .join(",")
    };
    (join(0), join(1), join(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &[u8] = include_bytes!("../models/arcface_r100.onnx");

    // A minimal protobuf encoder for hand-built models.
    fn varint_bytes(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn key(number: u64, wire_type: u64) -> Vec<u8> {
        varint_bytes(number << 3 | wire_type)
    }

    /// A length-delimited field: a sub-message or a string.
    fn field(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = key(number, 2);
        out.extend(varint_bytes(payload.len() as u64));
        out.extend_from_slice(payload);
        out
    }

    fn varint_field(number: u64, value: u64) -> Vec<u8> {
        let mut out = key(number, 0);
        out.extend(varint_bytes(value));
        out
    }

    fn value_info(name: &str, dims: &[Dim]) -> Vec<u8> {
        let mut shape = Vec::new();
        for d in dims {
            let dim = match d {
                Dim::Fixed(v) => varint_field(DIM_VALUE, *v as u64),
                Dim::Dynamic(p) if p.is_empty() => Vec::new(),
                Dim::Dynamic(p) => field(DIM_PARAM, p.as_bytes()),
            };
            shape.extend(field(SHAPE_DIM, &dim));
        }
        let mut tensor = varint_field(1, 1); // elem_type FLOAT
        tensor.extend(field(TENSOR_TYPE_SHAPE, &shape));
        let mut info = field(VALUE_INFO_NAME, name.as_bytes());
        info.extend(field(VALUE_INFO_TYPE, &field(TYPE_TENSOR, &tensor)));
        info
    }

    fn model(graph: &[u8]) -> Vec<u8> {
        let mut out = varint_field(1, 8); // ir_version
        out.extend(field(MODEL_GRAPH, graph));
        out
    }

    fn fixed(dims: &[i64]) -> Vec<Dim> {
        dims.iter().map(|&d| Dim::Fixed(d)).collect()
    }

    fn dynamic(name: &str) -> Dim {
        Dim::Dynamic(name.into())
    }

    fn tiny_inputs() -> Vec<OnnxInput> {
        vec![OnnxInput {
            name: "input".into(),
            dims: vec![
                dynamic("batch"),
                Dim::Fixed(3),
                Dim::Fixed(112),
                Dim::Fixed(112),
            ],
        }]
    }

    #[test]
    fn reads_the_tiny_model() {
        // Its weights `conv_w` and `conv_b` are initializers, not inputs.
        let inputs = parse_inputs(TINY).unwrap();
        assert_eq!(inputs, tiny_inputs());
        assert_eq!(
            batch_shapes(&inputs, 1, 32, 64).unwrap(),
            (
                "input:1x3x112x112".into(),
                "input:32x3x112x112".into(),
                "input:64x3x112x112".into()
            )
        );
    }

    #[test]
    fn reads_a_file_and_names_io_errors() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/arcface_r100.onnx");
        assert_eq!(read_inputs(&path).unwrap(), tiny_inputs());
        let err = read_inputs(Path::new("/nonexistent/model.onnx")).unwrap_err();
        assert!(matches!(err, OnnxError::Io(_)), "{err:?}");
    }

    #[test]
    fn every_truncation_of_the_model_is_an_error_or_the_same_inputs() {
        let full = parse_inputs(TINY).unwrap();
        let mut errors = 0;
        for len in 0..TINY.len() {
            match parse_inputs(&TINY[..len]) {
                // Cut after the graph, at a field boundary: still the whole graph.
                Ok(inputs) => assert_eq!(inputs, full, "prefix of {len} bytes"),
                Err(_) => errors += 1,
            }
        }
        assert!(errors > TINY.len() / 2, "only {errors} prefixes failed");
    }

    #[test]
    fn corrupted_and_random_bytes_never_panic() {
        for i in 0..TINY.len() {
            for flip in [0x01u8, 0x08, 0x80, 0xff] {
                let mut bytes = TINY.to_vec();
                bytes[i] ^= flip;
                let _ = parse_inputs(&bytes);
            }
        }
        // xorshift: deterministic garbage, biased toward small bytes so that some of it nests.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r & 1 == 0 {
                        (r >> 8) as u8 & 0x7f
                    } else {
                        (r >> 8) as u8
                    }
                })
                .collect();
            let _ = parse_inputs(&bytes);
            let _ = parse_inputs(&model(&bytes));
        }
    }

    #[test]
    fn malformed_protobuf_is_a_clear_error() {
        let err = |bytes: &[u8]| parse_inputs(bytes).unwrap_err();
        assert!(matches!(err(&[]), OnnxError::NoGraph));
        assert!(matches!(err(&varint_field(1, 8)), OnnxError::NoGraph));
        assert!(matches!(err(&[0x08, 0x80]), OnnxError::TruncatedVarint));
        assert!(matches!(err(&[0x08]), OnnxError::TruncatedVarint));
        let mut long = vec![0x08];
        long.extend([0xff; 11]);
        assert!(matches!(err(&long), OnnxError::VarintTooLong));
        // The graph says 127 bytes follow; there is 1.
        assert!(matches!(
            err(&[0x3a, 0x7f, 1]),
            OnnxError::Truncated {
                field: 7,
                len: 127,
                left: 1
            }
        ));
        // A length of u64::MAX does not overflow anything.
        let mut huge = key(MODEL_GRAPH, 2);
        huge.extend(varint_bytes(u64::MAX));
        assert!(matches!(err(&huge), OnnxError::Truncated { .. }));
        // Fixed-size fields cut short.
        assert!(matches!(
            err(&[0x09, 1, 2]),
            OnnxError::Truncated { len: 8, .. }
        ));
        assert!(matches!(
            err(&[0x0d, 1]),
            OnnxError::Truncated { len: 4, .. }
        ));
        for wire_type in [3u8, 4, 6, 7] {
            assert!(
                matches!(err(&[0x08 | wire_type]), OnnxError::BadWireType { field: 1, wire_type: w } if w == wire_type),
                "wire type {wire_type}"
            );
        }
        assert!(matches!(err(&[0x02, 0]), OnnxError::ZeroField));
        // Errors deep inside the graph come out too.
        let bad_dim = field(SHAPE_DIM, &[0x08]);
        let tensor = field(TENSOR_TYPE_SHAPE, &bad_dim);
        let mut info = field(VALUE_INFO_NAME, b"x");
        info.extend(field(VALUE_INFO_TYPE, &field(TYPE_TENSOR, &tensor)));
        assert!(matches!(
            err(&model(&field(GRAPH_INPUT, &info))),
            OnnxError::TruncatedVarint
        ));
        let message = OnnxError::Truncated {
            field: 7,
            len: 127,
            left: 1,
        }
        .to_string();
        assert!(
            message.contains("not a valid ONNX file") && message.contains("truncated"),
            "{message}"
        );
    }

    #[test]
    fn skips_unknown_fields_of_every_wire_type() {
        let mut graph = Vec::new();
        graph.extend(varint_field(99, u64::MAX)); // varint, 10 bytes
        graph.extend(key(98, 1));
        graph.extend([0xaa; 8]); // 64-bit
        graph.extend(key(97, 5));
        graph.extend([0xbb; 4]); // 32-bit
        graph.extend(field(96, &[0xff; 40])); // length-delimited garbage, never parsed
        graph.extend(varint_field(GRAPH_INPUT, 3)); // a known number with the wrong wire type
        graph.extend(field(GRAPH_INPUT, &value_info("x", &fixed(&[2, 3]))));
        graph.extend(field(1, b"a node")); // GraphProto.node, not read
        let mut bytes = model(&graph);
        bytes.extend(field(8, &field(1, b""))); // opset_import after the graph
        assert_eq!(
            parse_inputs(&bytes).unwrap(),
            [OnnxInput {
                name: "x".into(),
                dims: fixed(&[2, 3])
            }]
        );
    }

    #[test]
    fn hand_built_model_with_every_kind_of_dim() {
        let mut info = field(VALUE_INFO_NAME, b"images");
        let mut shape = Vec::new();
        shape.extend(field(SHAPE_DIM, &field(DIM_PARAM, b"N"))); // symbolic
        shape.extend(field(SHAPE_DIM, &varint_field(DIM_VALUE, 3)));
        shape.extend(field(SHAPE_DIM, &[])); // neither set: unknown
        shape.extend(field(SHAPE_DIM, &varint_field(DIM_VALUE, -1i64 as u64))); // 10-byte varint
        // A oneof set twice: the last one wins.
        let mut both = field(DIM_PARAM, b"w");
        both.extend(varint_field(DIM_VALUE, 640));
        shape.extend(field(SHAPE_DIM, &both));
        let mut tensor = varint_field(1, 1);
        tensor.extend(field(TENSOR_TYPE_SHAPE, &shape));
        info.extend(field(VALUE_INFO_TYPE, &field(TYPE_TENSOR, &tensor)));
        // An input without any type, and one with a type but no shape.
        let untyped = field(VALUE_INFO_NAME, b"flag");
        let mut shapeless = field(VALUE_INFO_NAME, b"seq");
        shapeless.extend(field(
            VALUE_INFO_TYPE,
            &field(TYPE_TENSOR, &varint_field(1, 7)),
        ));
        let mut graph = field(GRAPH_INPUT, &info);
        graph.extend(field(GRAPH_INPUT, &untyped));
        graph.extend(field(GRAPH_INPUT, &shapeless));
        assert_eq!(
            parse_inputs(&model(&graph)).unwrap(),
            [
                OnnxInput {
                    name: "images".into(),
                    dims: vec![
                        dynamic("N"),
                        Dim::Fixed(3),
                        dynamic(""),
                        Dim::Fixed(-1),
                        Dim::Fixed(640)
                    ],
                },
                OnnxInput {
                    name: "flag".into(),
                    dims: vec![]
                },
                OnnxInput {
                    name: "seq".into(),
                    dims: vec![]
                },
            ]
        );
    }

    #[test]
    fn initializers_are_not_inputs() {
        let mut graph = field(GRAPH_INPUT, &value_info("x", &fixed(&[4])));
        graph.extend(field(GRAPH_INPUT, &value_info("w", &fixed(&[8, 4]))));
        graph.extend(field(GRAPH_INPUT, &value_info("sparse_w", &fixed(&[8, 8]))));
        graph.extend(field(
            GRAPH_INPUT,
            &value_info("y", &[dynamic("n"), Dim::Fixed(2)]),
        ));
        // TensorProto: dims (1), data_type (2), name (8), raw_data (9).
        let mut w = varint_field(1, 8);
        w.extend(varint_field(2, 1));
        w.extend(field(TENSOR_NAME, b"w"));
        w.extend(field(9, &[0u8; 128]));
        graph.extend(field(GRAPH_INITIALIZER, &w));
        let sparse = field(SPARSE_VALUES, &field(TENSOR_NAME, b"sparse_w"));
        graph.extend(field(GRAPH_SPARSE_INITIALIZER, &sparse));
        let inputs = parse_inputs(&model(&graph)).unwrap();
        assert_eq!(
            inputs,
            [
                OnnxInput {
                    name: "x".into(),
                    dims: fixed(&[4])
                },
                OnnxInput {
                    name: "y".into(),
                    dims: vec![dynamic("n"), Dim::Fixed(2)]
                },
            ]
        );
        // The static `x` needs no profile.
        assert_eq!(
            batch_shapes(&inputs, 1, 2, 3).unwrap(),
            ("y:1x2".into(), "y:2x2".into(), "y:3x2".into())
        );
    }

    #[test]
    fn batch_shapes_of_several_inputs() {
        let inputs = [
            OnnxInput {
                name: "image".into(),
                dims: vec![
                    dynamic("batch"),
                    Dim::Fixed(3),
                    Dim::Fixed(640),
                    Dim::Fixed(640),
                ],
            },
            OnnxInput {
                name: "scale".into(),
                dims: fixed(&[1]),
            },
            OnnxInput {
                name: "scalar".into(),
                dims: vec![],
            },
            OnnxInput {
                name: "mask".into(),
                dims: vec![dynamic(""), Dim::Fixed(16)],
            },
            OnnxInput {
                name: "ids".into(),
                dims: vec![Dim::Fixed(-1)],
            },
        ];
        assert_eq!(
            batch_shapes(&inputs, 1, 8, 16).unwrap(),
            (
                "image:1x3x640x640,mask:1x16,ids:1".into(),
                "image:8x3x640x640,mask:8x16,ids:8".into(),
                "image:16x3x640x640,mask:16x16,ids:16".into()
            )
        );
        assert_eq!(
            batch_shapes(&inputs[1..3], 1, 8, 16).unwrap(),
            (String::new(), String::new(), String::new())
        );
        assert_eq!(
            batch_shapes(&[], 4, 4, 4).unwrap(),
            (String::new(), String::new(), String::new())
        );
    }

    #[test]
    fn a_dynamic_dim_besides_the_batch_needs_explicit_shapes() {
        let inputs = [OnnxInput {
            name: "images".into(),
            dims: vec![dynamic("n"), Dim::Fixed(3), dynamic("h"), dynamic("w")],
        }];
        let err = batch_shapes(&inputs, 1, 2, 3).unwrap_err();
        assert!(
            matches!(&err, OnnxError::DynamicBeyondBatch { input, index: 2, .. } if input == "images"),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("input `images`")
                && message.contains("`h`")
                && message.contains("explicit `shapes`")
                && message.contains("engines.toml"),
            "{message}"
        );
        // Also when the leading dim is fixed, and for unnamed dims.
        let inputs = [OnnxInput {
            name: "tokens".into(),
            dims: vec![Dim::Fixed(1), dynamic("")],
        }];
        let message = batch_shapes(&inputs, 1, 2, 3).unwrap_err().to_string();
        assert!(
            message.contains("input `tokens`") && message.contains("(unnamed)"),
            "{message}"
        );
    }

    #[test]
    fn a_batch_range_out_of_order_is_refused() {
        for (min, opt, max) in [(0, 1, 2), (4, 2, 8), (1, 9, 8)] {
            let err = batch_shapes(&tiny_inputs(), min, opt, max).unwrap_err();
            assert!(matches!(err, OnnxError::BadBatchRange { .. }), "{err:?}");
            assert!(err.to_string().contains("1 <= min <= opt <= max"));
        }
        assert!(batch_shapes(&tiny_inputs(), 5, 5, 5).is_ok());
    }
}
