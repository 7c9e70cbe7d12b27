//! A framed binary file for model artefacts (user models, policies):
//! 8 magic bytes | u32 format version | u32 header length L | L bytes of JSON
//! header | little-endian f32 payload | u64 FNV-1a checksum of all before it.
//! Readers check the size (at most [`MAX_ARTEFACT_BYTES`]), the magic, the
//! version and the checksum before anything else; the sizes a header declares
//! are then checked against the payload present by [`tensor_len`] and [`slice`].

use crate::error::{Error, Result};
pub use crate::limits::{MAX_ARTEFACT_BYTES, MAX_HEADER_BYTES};

pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Frames `header` (JSON) and `payload` under `magic` and `version`.
pub fn write(magic: &[u8; 8], version: u32, header: &[u8], payload: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + header.len() + payload.len() * 4);
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header);
    for &x in payload {
        out.extend_from_slice(&x.to_le_bytes());
    }
    let sum = fnv1a64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// The checked (header, payload) of a framed file. `what` names the file kind
/// in errors ("policy file", "user model").
pub fn read<'a>(
    what: &str,
    magic: &[u8; 8],
    version: u32,
    bytes: &'a [u8],
) -> Result<(&'a [u8], Vec<f32>)> {
    let err = |m: String| Error::new(format!("{what}: {m}"));
    if bytes.len() > MAX_ARTEFACT_BYTES {
        return Err(err(format!(
            "{} bytes is more than the limit of {MAX_ARTEFACT_BYTES} bytes for an artefact",
            bytes.len()
        )));
    }
    if bytes.len() < 24 {
        return Err(err(format!(
            "{} bytes is too short to be a {what}",
            bytes.len()
        )));
    }
    if &bytes[..8] != magic {
        return Err(err(format!(
            "not an ialp {what} (bad magic bytes, expected {:?})",
            String::from_utf8_lossy(magic).trim_end_matches('\0')
        )));
    }
    let found = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if found != version {
        return Err(err(format!(
            "format version {found} is not supported (this build reads version {version}){}",
            if found > version {
                "; upgrade ialp"
            } else {
                ""
            }
        )));
    }
    let body = &bytes[..bytes.len() - 8];
    let stored = u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().expect("8 bytes"));
    if fnv1a64(body) != stored {
        return Err(err(
            "checksum mismatch: the file is truncated or corrupted".into()
        ));
    }
    let hlen = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    if hlen > MAX_HEADER_BYTES {
        return Err(err(format!(
            "header length {hlen} is more than the limit of {MAX_HEADER_BYTES} bytes"
        )));
    }
    if hlen > body.len() - 16 {
        return Err(err(format!(
            "header length {hlen} runs past the end of the file"
        )));
    }
    let payload = &body[16 + hlen..];
    if !payload.len().is_multiple_of(4) {
        return Err(err(format!(
            "payload of {} bytes is not whole f32 values",
            payload.len()
        )));
    }
    let floats = payload
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    Ok((&body[16..16 + hlen], floats))
}

/// The number of values of a tensor of shape `dims`, or an error naming it when the
/// product overflows (a forged or garbled header, not a real model).
pub fn tensor_len(what: &str, name: &str, dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            Error::new(format!(
                "{what}: tensor \"{name}\" has shape {dims:?}, too large for this machine"
            ))
        })
}

/// `floats[offset..offset + len]`, or an error naming the tensor.
pub fn slice(
    what: &str,
    name: &str,
    floats: &[f32],
    offset: usize,
    len: usize,
) -> Result<Vec<f32>> {
    match offset.checked_add(len).filter(|&end| end <= floats.len()) {
        Some(end) => Ok(floats[offset..end].to_vec()),
        None => Err(Error::new(format!(
            "{what}: tensor \"{name}\" lies outside the payload"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let m = b"TESTART\0";
        let bytes = write(m, 3, b"{}", &[1.0, 2.5]);
        let (h, p) = read("test file", m, 3, &bytes).unwrap();
        assert_eq!((h, p), (&b"{}"[..], vec![1.0, 2.5]));
        assert!(read("test file", m, 3, &bytes[..bytes.len() - 1]).is_err());
        let e = read("test file", m, 2, &bytes).unwrap_err();
        assert!(
            e.message().contains("version 3") && e.message().contains("upgrade"),
            "{e}"
        );
        let e = read("test file", b"OTHERAR\0", 3, &bytes).unwrap_err();
        assert!(e.message().contains("magic"), "{e}");
        // a forged header length (with a valid checksum) is an error, not a panic
        let forge = |hlen: u32| {
            let mut forged = bytes[..bytes.len() - 8].to_vec();
            forged[12..16].copy_from_slice(&hlen.to_le_bytes());
            let sum = fnv1a64(&forged);
            forged.extend_from_slice(&sum.to_le_bytes());
            read("test file", m, 3, &forged).unwrap_err()
        };
        let e = forge(1000);
        assert!(e.message().contains("runs past the end"), "{e}");
        let e = forge(u32::MAX);
        assert!(e.message().contains("more than the limit"), "{e}");
    }

    #[test]
    fn files_over_the_stated_size_are_refused_before_reading() {
        // zeroed pages: the allocator maps them lazily and the size check comes
        // before any byte is read, so this costs no real memory
        let big = vec![0u8; MAX_ARTEFACT_BYTES + 1];
        let e = read("test file", b"TESTART\0", 1, &big).unwrap_err();
        assert!(
            e.message()
                .contains("1073741825 bytes is more than the limit of 1073741824"),
            "{e}"
        );
    }
}
