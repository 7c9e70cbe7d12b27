//! The safetensors file layout (<https://github.com/huggingface/safetensors>), for
//! f32 tensors: a u64 little-endian header length N, N bytes of JSON header
//! (`{"__metadata__": {string: string}, "<name>": {"dtype": "F32", "shape": [..],
//! "data_offsets": [begin, end]}, ...}`, padded with spaces to a multiple of 8
//! bytes), then the tensors' little-endian bytes, back to back.
//!
//! The reader trusts nothing in the header: the file size, the header length and
//! every tensor's shape and offsets are checked against [`crate::limits`] and the
//! bytes present before anything is allocated by a header's word, and the tensors
//! must cover the data exactly (no gaps, no overlaps), as the format requires.

use crate::error::{Error, Result};
use crate::limits::{MAX_ARTEFACT_BYTES, MAX_HEADER_BYTES};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One tensor of a file being written: name, shape and values (row-major).
pub struct TensorOut<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub data: &'a [f32],
}

/// One tensor read back: its bytes are a view of the file.
#[derive(Debug)]
pub struct TensorIn<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    /// Little-endian f32 bytes, `4 x` the shape's product.
    pub bytes: &'a [u8],
}

impl TensorIn<'_> {
    /// The values (the bytes are checked to be whole f32 values when read).
    pub fn to_f32(&self) -> Vec<f32> {
        self.bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect()
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A safetensors file of `tensors` (in that order) with `metadata` (in that order).
pub fn write(metadata: &[(&str, &str)], tensors: &[TensorOut]) -> Vec<u8> {
    let mut header = String::from("{\"__metadata__\":{");
    for (i, (k, v)) in metadata.iter().enumerate() {
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!("{}:{}", json_string(k), json_string(v)));
    }
    header.push('}');
    let mut offset = 0usize;
    for t in tensors {
        let end = offset + 4 * t.data.len();
        let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        header.push_str(&format!(
            ",{}:{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{offset},{end}]}}",
            json_string(t.name),
            shape.join(",")
        ));
        offset = end;
    }
    header.push('}');
    // the data starts 8-byte aligned, as the reference writer makes it
    while !(8 + header.len()).is_multiple_of(8) {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for t in tensors {
        for &x in t.data {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    dtype: String,
    // u64, not usize: the checks below read the same on a 32-bit build (wasm32)
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// The header, parsed straight into its two kinds of entry (no `serde_json::Value`
/// in between: it keeps the WebAssembly build small).
struct Header {
    metadata: BTreeMap<String, String>,
    tensors: Vec<(String, Entry)>,
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Header;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object of tensors and __metadata__")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Header, A::Error> {
                let mut h = Header {
                    metadata: BTreeMap::new(),
                    tensors: Vec::new(),
                };
                let mut seen = std::collections::BTreeSet::new();
                while let Some(name) = map.next_key::<String>()? {
                    if name == "__metadata__" {
                        h.metadata = map.next_value().map_err(|e: A::Error| {
                            serde::de::Error::custom(format!(
                                "__metadata__: expected an object of strings: {e}"
                            ))
                        })?;
                    } else {
                        let e = map.next_value::<Entry>().map_err(|e: A::Error| {
                            serde::de::Error::custom(format!(
                                "tensor \"{name}\": expected {{\"dtype\", \"shape\", \"data_offsets\"}}: {e}"
                            ))
                        })?;
                        if !seen.insert(name.clone()) {
                            return Err(serde::de::Error::custom(format!(
                                "tensor \"{name}\" appears twice"
                            )));
                        }
                        h.tensors.push((name, e));
                    }
                }
                Ok(h)
            }
        }
        d.deserialize_map(V)
    }
}

/// The checked metadata and tensors (sorted by offset) of a safetensors file;
/// `what` names the file kind in errors.
pub fn read<'a>(
    what: &str,
    bytes: &'a [u8],
) -> Result<(BTreeMap<String, String>, Vec<TensorIn<'a>>)> {
    let err = |m: String| Error::new(format!("{what}: {m}"));
    if bytes.len() > MAX_ARTEFACT_BYTES {
        return Err(err(format!(
            "{} bytes is more than the limit of {MAX_ARTEFACT_BYTES} bytes for an artefact",
            bytes.len()
        )));
    }
    if bytes.len() < 10 {
        return Err(err(format!(
            "{} bytes is too short to be a {what}",
            bytes.len()
        )));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if n > MAX_HEADER_BYTES as u64 {
        return Err(err(format!(
            "not a {what}: neither ialp's framing nor safetensors (its first 8 bytes give a safetensors header length of {n}, more than the limit of {MAX_HEADER_BYTES} bytes)"
        )));
    }
    let n = n as usize;
    if n > bytes.len() - 8 {
        return Err(err(format!(
            "safetensors header length {n} runs past the end of the file ({} bytes): the file is truncated or not a {what}",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(&bytes[8..8 + n])
        .map_err(|e| err(format!("safetensors header is not UTF-8: {e}")))?;
    if !text.starts_with('{') {
        return Err(err(format!(
            "not a {what}: neither an ialp artefact nor a safetensors file (its header does not start with '{{')"
        )));
    }
    let header: Header = serde_json::from_slice(text.trim_end_matches(' ').as_bytes())
        .map_err(|e| err(format!("safetensors header is not valid: {e}")))?;
    let data = &bytes[8 + n..];
    let metadata = header.metadata;
    let mut tensors = Vec::new();
    for (name, e) in header.tensors {
        if e.dtype != "F32" {
            return Err(err(format!(
                "tensor \"{name}\": dtype {}, expected F32",
                e.dtype
            )));
        }
        // in u64 on every build, so that a forged size is the same error on wasm32
        // as on 64 bits, and nothing is indexed before it fits
        let [begin, end] = e.data_offsets;
        let values = e.shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
        let bytes_needed = values.and_then(|n| n.checked_mul(4));
        let fits = begin <= end && bytes_needed == Some(end - begin) && end <= data.len() as u64;
        if !fits {
            return Err(err(format!(
                "tensor \"{name}\": shape {:?} ({} F32 values) does not fit data_offsets [{begin}, {end}] within the {} data bytes",
                e.shape,
                values.map_or("too many".to_string(), |n| n.to_string()),
                data.len()
            )));
        }
        // fits: both offsets are within `data`, so they fit in usize; a dimension
        // may not (a zero beside it), and is named
        let shape = e
            .shape
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                usize::try_from(d).map_err(|_| {
                    err(format!(
                        "tensor \"{name}\": shape[{i}]: expected an integer in [0, {}], got {d}",
                        usize::MAX
                    ))
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        let (begin, end) = (begin as usize, end as usize);
        tensors.push(TensorIn {
            name,
            shape,
            bytes: &data[begin..end],
        });
    }
    // the tensors tile the data: sorted by offset, each starts where the last ended
    let offset_of = |t: &TensorIn| t.bytes.as_ptr() as usize - data.as_ptr() as usize;
    tensors.sort_by_key(|t| (offset_of(t), t.bytes.len()));
    let mut at = 0usize;
    for t in &tensors {
        if offset_of(t) != at {
            return Err(err(format!(
                "tensor \"{}\" starts at data byte {}, expected {at} (tensors must cover the data without gaps or overlaps)",
                t.name,
                offset_of(t)
            )));
        }
        at += t.bytes.len();
    }
    if at != data.len() {
        return Err(err(format!(
            "the tensors cover {at} of the {} data bytes (tensors must cover the data without gaps or overlaps)",
            data.len()
        )));
    }
    Ok((metadata, tensors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_the_standard_layout() {
        let a = [1.0f32, -2.5, 3.0, 0.25, 5.0, 6.0];
        let b = [7.5f32];
        let bytes = write(
            &[("format", "test"), ("k", "v\"q")],
            &[
                TensorOut {
                    name: "a",
                    shape: &[2, 3],
                    data: &a,
                },
                TensorOut {
                    name: "b",
                    shape: &[1],
                    data: &b,
                },
            ],
        );
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + n) % 8, 0);
        assert_eq!(
            std::str::from_utf8(&bytes[8..8 + n]).unwrap().trim_end(),
            r#"{"__metadata__":{"format":"test","k":"v\"q"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[1],"data_offsets":[24,28]}}"#
        );
        assert_eq!(bytes.len(), 8 + n + 28);
        let (meta, t) = read("test file", &bytes).unwrap();
        assert_eq!(meta["k"], "v\"q");
        assert_eq!(t[0].name, "a");
        assert_eq!(t[0].shape, vec![2, 3]);
        assert_eq!(t[0].to_f32(), a);
        assert_eq!(t[1].to_f32(), b);
    }

    fn with_header(header: &str, data: usize) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.resize(out.len() + data, 0);
        out
    }

    #[test]
    fn forged_headers_are_errors_before_allocating() {
        let cases: &[(&str, usize, &str)] = &[
            (
                r#"{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#,
                8,
                "dtype F64, expected F32",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[18446744073709551615,2],"data_offsets":[0,8]}}"#,
                8,
                "(too many F32 values) does not fit",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}"#,
                8,
                "does not fit",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                4,
                "does not fit",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#,
                8,
                "does not fit",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                8,
                "without gaps or overlaps",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                8,
                "starts at data byte 4, expected 0",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                8,
                "cover 4 of the 8",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}"#,
                4,
                "unknown field",
            ),
            (
                r#"{"__metadata__":{"k":1}}"#,
                0,
                "expected an object of strings",
            ),
            (r#"[1,2]"#, 0, "header does not start with '{'"),
            (r#"{"a":"#, 0, "safetensors header is not valid: "),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                8,
                "tensor \"a\" appears twice",
            ),
        ];
        for (header, data, says) in cases {
            let e = read("test file", &with_header(header, *data)).unwrap_err();
            assert!(e.message().starts_with("test file: "), "{e}");
            assert!(e.message().contains(says), "{header}: {e}");
        }
        let mut huge = (u64::MAX).to_le_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        assert!(read("test file", &huge)
            .unwrap_err()
            .message()
            .contains("more than the limit of 16777216"));
        let mut past = 100u64.to_le_bytes().to_vec();
        past.extend_from_slice(b"{}");
        assert!(read("test file", &past)
            .unwrap_err()
            .message()
            .contains("runs past the end of the file (10 bytes)"));
        assert!(read("test file", b"short")
            .unwrap_err()
            .message()
            .contains("5 bytes is too short"));
    }
}
