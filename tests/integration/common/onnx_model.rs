//! Real ONNX files made in the tests: a ModelProto written field by field as onnx.proto lays it
//! out (as models/make_tiny_onnx.py makes the tiny model with the onnx package): input `input`
//! float32 [batch, 3, 112, 112], a Conv with weight `conv_w` and bias `conv_b`, then Relu (or
//! another op), output `embedding`. Models of one `op` differ only in their weight values.

/// A model whose weight is `weight_bytes` bytes of float32 values drawn from `seed`.
pub fn conv_model(seed: u32, weight_bytes: usize, op: &str) -> Vec<u8> {
    let floats = weight_bytes / 4;
    let weight: Vec<u8> = (0..floats as u32)
        .flat_map(|i| ((i.wrapping_mul(seed) % 19) as f32 / 64.0).to_le_bytes())
        .collect();
    let bias: Vec<u8> = (0..8u32)
        .flat_map(|i| ((i * seed) as f32 / 16.0).to_le_bytes())
        .collect();
    let conv = [
        bytes(1, b"input"),
        bytes(1, b"conv_w"),
        bytes(1, b"conv_b"),
        bytes(2, b"conv"),
        bytes(4, b"Conv"),
    ]
    .concat();
    let second = [
        bytes(1, b"conv"),
        bytes(2, b"embedding"),
        bytes(4, op.as_bytes()),
    ]
    .concat();
    let graph = [
        bytes(1, &conv),
        bytes(1, &second),
        bytes(2, b"tiny"),
        bytes(
            5,
            &tensor("conv_w", &[floats as u64 / 27, 3, 3, 3], &weight),
        ),
        bytes(5, &tensor("conv_b", &[8], &bias)),
        bytes(
            11,
            &value_info("input", &[None, Some(3), Some(112), Some(112)]),
        ),
        bytes(12, &value_info("embedding", &[None, Some(8)])),
    ]
    .concat();
    [
        int(1, 8),
        bytes(2, b"trtctl-tests"),
        bytes(7, &graph),
        bytes(8, &[bytes(1, b""), int(2, 17)].concat()),
    ]
    .concat()
}

/// A float32 initializer with its values as `raw_data`.
fn tensor(name: &str, dims: &[u64], raw: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = dims.iter().flat_map(|&d| int(1, d)).collect();
    out.extend(int(2, 1));
    out.extend(bytes(8, name.as_bytes()));
    out.extend(bytes(9, raw));
    out
}

/// A float32 graph input or output; `None` dims are the symbolic `batch`.
fn value_info(name: &str, dims: &[Option<u64>]) -> Vec<u8> {
    let shape: Vec<u8> = dims
        .iter()
        .flat_map(|d| {
            bytes(
                1,
                &match d {
                    Some(v) => int(1, *v),
                    None => bytes(2, b"batch"),
                },
            )
        })
        .collect();
    let tensor_type = [int(1, 1), bytes(2, &shape)].concat();
    [bytes(1, name.as_bytes()), bytes(2, &bytes(1, &tensor_type))].concat()
}

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
    let mut out = Vec::with_capacity(payload.len() + 12);
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
