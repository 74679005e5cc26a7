//! Just enough of the ONNX protobuf to list a model's graph inputs and their dims, so a batch
//! range in the manifest becomes trtexec's `--minShapes/--optShapes/--maxShapes`.

use std::collections::HashSet;
use std::path::Path;

// Field numbers from onnx.proto.
const MODEL_GRAPH: u64 = 7;
const GRAPH_INITIALIZER: u64 = 5;
const GRAPH_INPUT: u64 = 11;
const TENSOR_NAME: u64 = 8;
const VALUE_INFO_NAME: u64 = 1;
const VALUE_INFO_TYPE: u64 = 2;
const TYPE_TENSOR: u64 = 1;
const TENSOR_TYPE_SHAPE: u64 = 2;
const SHAPE_DIM: u64 = 1;
const DIM_VALUE: u64 = 1;
const DIM_PARAM: u64 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    Fixed(i64),
    /// A symbolic dim (`dim_param`), or an unknown one (empty).
    Dynamic(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxInput {
    pub name: String,
    pub dims: Vec<Dim>,
}

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not an ONNX model: {0}")]
    Malformed(&'static str),
    #[error("the ONNX model has no graph")]
    NoGraph,
    #[error(
        "input `{input}` has a dynamic dim besides the batch: a batch range cannot shape it; give explicit `shapes` for it in engines.toml"
    )]
    DynamicBeyondBatch { input: String },
}

/// One protobuf field: its number and its payload.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

struct Fields<'a> {
    rest: &'a [u8],
}

fn varint(buf: &mut &[u8]) -> Result<u64, OnnxError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf
            .split_first()
            .ok_or(OnnxError::Malformed("truncated varint"))?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(OnnxError::Malformed("varint longer than 64 bits"))
}

fn take<'a>(buf: &mut &'a [u8], len: u64) -> Result<&'a [u8], OnnxError> {
    let len = usize::try_from(len).map_err(|_| OnnxError::Malformed("length out of range"))?;
    if len > buf.len() {
        return Err(OnnxError::Malformed("field runs past the end"));
    }
    let (head, tail) = buf.split_at(len);
    *buf = tail;
    Ok(head)
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), OnnxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let mut read = || {
            let key = varint(&mut self.rest)?;
            let value = match key & 7 {
                0 => Value::Varint(varint(&mut self.rest)?),
                1 => take(&mut self.rest, 8).map(|_| Value::Fixed)?,
                2 => {
                    let len = varint(&mut self.rest)?;
                    Value::Bytes(take(&mut self.rest, len)?)
                }
                5 => take(&mut self.rest, 4).map(|_| Value::Fixed)?,
                _ => return Err(OnnxError::Malformed("unsupported wire type")),
            };
            Ok((key >> 3, value))
        };
        let item = read();
        if item.is_err() {
            self.rest = &[];
        }
        Some(item)
    }
}

fn fields(bytes: &[u8]) -> Fields<'_> {
    Fields { rest: bytes }
}

/// The payloads of every length-delimited field `number` in `bytes`.
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

fn string(bytes: &[u8], number: u64) -> Result<String, OnnxError> {
    Ok(messages(bytes, number)?
        .last()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default())
}

fn dim(bytes: &[u8]) -> Result<Dim, OnnxError> {
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

/// The graph's real inputs: declared inputs that are not initializers (weights).
pub fn parse_inputs(bytes: &[u8]) -> Result<Vec<OnnxInput>, OnnxError> {
    let graph = *messages(bytes, MODEL_GRAPH)?
        .last()
        .ok_or(OnnxError::NoGraph)?;
    let weights: HashSet<String> = messages(graph, GRAPH_INITIALIZER)?
        .into_iter()
        .map(|t| string(t, TENSOR_NAME))
        .collect::<Result<_, _>>()?;
    messages(graph, GRAPH_INPUT)?
        .into_iter()
        .map(input)
        .filter(|i| i.as_ref().map_or(true, |i| !weights.contains(&i.name)))
        .collect()
}

pub fn read_inputs(path: &Path) -> Result<Vec<OnnxInput>, OnnxError> {
    parse_inputs(&std::fs::read(path)?)
}

/// trtexec's min/opt/max shapes for a batch range: each input whose leading dim is dynamic
/// gets `batch x rest`; inputs with static shapes need no profile and are left out.
pub fn batch_shapes(
    inputs: &[OnnxInput],
    min: u32,
    opt: u32,
    max: u32,
) -> Result<(String, String, String), OnnxError> {
    let mut profiles = [Vec::new(), Vec::new(), Vec::new()];
    for input in inputs {
        let Some((Dim::Dynamic(_), rest)) = input.dims.split_first() else {
            continue;
        };
        let rest: Vec<String> = rest
            .iter()
            .map(|d| match d {
                Dim::Fixed(v) => Ok(v.to_string()),
                Dim::Dynamic(_) => Err(OnnxError::DynamicBeyondBatch {
                    input: input.name.clone(),
                }),
            })
            .collect::<Result<_, _>>()?;
        for (profile, batch) in profiles.iter_mut().zip([min, opt, max]) {
            let dims = std::iter::once(batch.to_string())
                .chain(rest.iter().cloned())
                .collect::<Vec<_>>();
            profile.push(format!("{}:{}", input.name, dims.join("x")));
        }
    }
    let [min, opt, max] = profiles.map(|p| p.join(","));
    Ok((min, opt, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &[u8] = include_bytes!("../models/arcface_r100.onnx");

    fn field(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3 | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn reads_the_tiny_model() {
        let inputs = parse_inputs(TINY).unwrap();
        assert_eq!(
            inputs,
            [OnnxInput {
                name: "input".into(),
                dims: vec![
                    Dim::Dynamic("batch".into()),
                    Dim::Fixed(3),
                    Dim::Fixed(112),
                    Dim::Fixed(112)
                ],
            }]
        );
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
    fn truncated_models_are_errors_not_panics() {
        for len in 0..TINY.len() {
            let _ = parse_inputs(&TINY[..len]);
        }
        assert!(parse_inputs(&[0xff; 12]).is_err());
        assert!(matches!(parse_inputs(&[]), Err(OnnxError::NoGraph)));
        assert!(
            parse_inputs(&[0x3a, 0x7f, 1]).is_err(),
            "a length past the end"
        );
        assert!(parse_inputs(&[0x0b]).is_err(), "a group wire type");
    }

    #[test]
    fn initializers_are_not_inputs() {
        let dim = field(SHAPE_DIM, &[(DIM_VALUE << 3) as u8, 4]);
        let shape = field(TENSOR_TYPE_SHAPE, &dim);
        let tensor = field(TYPE_TENSOR, &shape);
        let mut x = field(VALUE_INFO_NAME, b"x");
        x.extend(field(VALUE_INFO_TYPE, &tensor));
        let w = field(VALUE_INFO_NAME, b"w");
        let mut graph = field(GRAPH_INPUT, &x);
        graph.extend(field(GRAPH_INPUT, &w));
        graph.extend(field(GRAPH_INITIALIZER, &field(TENSOR_NAME, b"w")));
        let model = field(MODEL_GRAPH, &graph);
        let inputs = parse_inputs(&model).unwrap();
        assert_eq!(
            inputs,
            [OnnxInput {
                name: "x".into(),
                dims: vec![Dim::Fixed(4)]
            }]
        );
        assert_eq!(
            batch_shapes(&inputs, 1, 2, 3).unwrap(),
            (String::new(), String::new(), String::new())
        );
    }

    #[test]
    fn a_second_dynamic_dim_needs_explicit_shapes() {
        let inputs = [OnnxInput {
            name: "images".into(),
            dims: vec![
                Dim::Dynamic("n".into()),
                Dim::Fixed(3),
                Dim::Dynamic("h".into()),
            ],
        }];
        let err = batch_shapes(&inputs, 1, 2, 3).unwrap_err().to_string();
        assert!(
            err.contains("input `images`") && err.contains("explicit `shapes`"),
            "{err}"
        );
    }
}
