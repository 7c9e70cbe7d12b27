//! The three artefact formats (policy IALPPOL, reward model IALPRWD, user model
//! IALPUMF; docs/artefacts.md) against damaged, foreign and newer files: every
//! one is an error that names the file kind, never a panic and never a model.
//! The policy's format version 1 (IALPPOL framing, still read) is checked here with
//! the other two; its version 2 (safetensors) has its own tests at the end.

mod common;
use common::{encoder, policy};
use ialp_ac_core::{Policy, RewardModel, RewardModelConfig};
use ialp_sim::artefact;
use ialp_sim::data::Interaction;
use ialp_sim::mf::{MfConfig, MfModel};
use std::panic::{catch_unwind, AssertUnwindSafe};

type Load = fn(&[u8]) -> Result<(), String>;

fn policy_bytes() -> Vec<u8> {
    policy().to_bytes_v1()
}

fn reward_model_bytes() -> Vec<u8> {
    RewardModel::new(RewardModelConfig::default(), encoder())
        .unwrap()
        .to_bytes()
}

fn user_model_bytes() -> Vec<u8> {
    let data: Vec<Interaction> = (0..6u32)
        .flat_map(|u| {
            (0..4u32).map(move |i| Interaction {
                user: u,
                item: i,
                value: ((u + i) % 5 + 1) as f32,
                timestamp: (u * 4 + i) as i64,
            })
        })
        .collect();
    let cfg = MfConfig {
        dim: 2,
        epochs: 2,
        ..Default::default()
    };
    MfModel::fit(6, 4, &data, &cfg, "toy").unwrap().to_bytes()
}

/// (file kind as errors name it, magic, good bytes, loader)
fn formats() -> Vec<(&'static str, &'static [u8; 8], Vec<u8>, Load)> {
    vec![
        (
            "policy file",
            ialp_ac_core::policy::MAGIC,
            policy_bytes(),
            |b| Policy::from_bytes(b).map(drop).map_err(|e| e.to_string()),
        ),
        (
            "reward model",
            ialp_ac_core::reward_model::MAGIC,
            reward_model_bytes(),
            |b| {
                RewardModel::from_bytes(b)
                    .map(drop)
                    .map_err(|e| e.to_string())
            },
        ),
        ("user model", ialp_sim::mf::MAGIC, user_model_bytes(), |b| {
            MfModel::from_bytes(b).map(drop).map_err(|e| e.to_string())
        }),
    ]
}

/// Loads without letting a panic through; a panic fails the test with the input named.
fn load(what: &str, f: Load, bytes: &[u8], case: &str) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| f(bytes)))
        .unwrap_or_else(|_| panic!("{what}: loading {case} panicked"))
}

#[test]
fn good_files_load() {
    for (what, _, bytes, f) in formats() {
        load(what, f, &bytes, "the good file").unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

#[test]
fn every_truncation_is_an_error() {
    for (what, _, bytes, f) in formats() {
        for len in 0..bytes.len() {
            let e =
                load(what, f, &bytes[..len], &format!("the first {len} bytes")).expect_err(what);
            assert!(e.starts_with(what), "{e}");
            assert!(
                e.contains("too short")
                    || e.contains("checksum mismatch: the file is truncated or corrupted"),
                "{len} bytes: {e}"
            );
        }
    }
}

#[test]
fn every_flipped_byte_is_an_error() {
    for (what, _, bytes, f) in formats() {
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x5a;
            let e = load(what, f, &bad, &format!("byte {at} flipped")).expect_err(what);
            assert!(e.starts_with(what), "{e}");
            let expected = match at {
                0..8 => "bad magic bytes",
                8..12 => "format version",
                _ => "checksum mismatch",
            };
            assert!(e.contains(expected), "byte {at}: {e}");
        }
    }
}

#[test]
fn newer_older_and_foreign_files_say_what_they_are() {
    let all = formats();
    for (what, _, bytes, f) in &all {
        let mut newer = bytes.clone();
        newer[8..12].copy_from_slice(&2u32.to_le_bytes());
        let e = load(what, *f, &newer, "version 2").unwrap_err();
        assert_eq!(e, format!("{what}: format version 2 is not supported (this build reads version 1); upgrade ialp"));
        let mut older = bytes.clone();
        older[8..12].copy_from_slice(&0u32.to_le_bytes());
        let e = load(what, *f, &older, "version 0").unwrap_err();
        assert_eq!(
            e,
            format!("{what}: format version 0 is not supported (this build reads version 1)")
        );
        // another kind of ialp artefact, intact
        for (other, _, other_bytes, _) in &all {
            if other != what {
                let e = load(what, *f, other_bytes, other).unwrap_err();
                assert!(
                    e.starts_with(&format!("{what}: not an ialp {what} (bad magic bytes")),
                    "{e}"
                );
            }
        }
        let e = load(what, *f, b"{\"not\": \"an artefact at all\"}", "JSON").unwrap_err();
        assert!(e.contains("bad magic bytes"), "{e}");
    }
}

/// A forged header re-framed with a valid checksum (a bug in a writer, not damage
/// on disk): absurd sizes are errors, not panics or huge allocations.
#[test]
fn forged_headers_with_valid_checksums_are_errors() {
    for (what, magic, bytes, f) in formats() {
        let (header, floats) = artefact::read(what, magic, 1, &bytes).unwrap();
        let header = String::from_utf8(header.to_vec()).unwrap();
        let huge = usize::MAX.to_string();
        let forgeries = [
            ("\"nItems\":8", format!("\"nItems\":{huge}")),
            ("\"nItems\":4", format!("\"nItems\":{huge}")),
            ("\"nUsers\":6", format!("\"nUsers\":{huge}")),
            ("\"history\":4", format!("\"history\":{huge}")),
            ("\"featureDim\":2", format!("\"featureDim\":{huge}")),
            ("\"shape\":[8,2]", format!("\"shape\":[{huge},{huge}]")),
            ("\"dim\":2", format!("\"dim\":{huge}")),
            ("{", "[".to_string()),
        ];
        let mut tried = 0;
        for (from, to) in &forgeries {
            if !header.contains(from) {
                continue;
            }
            tried += 1;
            let forged =
                artefact::write(magic, 1, header.replacen(from, to, 1).as_bytes(), &floats);
            let e = load(what, f, &forged, &format!("header with {to}")).expect_err(to);
            assert!(e.starts_with(what), "{to}: {e}");
        }
        // payload one value short / long
        for n in [floats.len() - 1, floats.len() + 1] {
            let mut p = floats.clone();
            p.resize(n, 0.5);
            let forged = artefact::write(magic, 1, header.as_bytes(), &p);
            let r = load(what, f, &forged, &format!("a payload of {n} values"));
            if n < floats.len() {
                assert!(r.is_err(), "{what}: a short payload loaded");
            }
        }
        assert!(
            tried >= 2,
            "{what}: the forgeries matched nothing in {header}"
        );
    }
}

/// Network sizes in a header with a valid checksum (issue 18: the addon tried to
/// allocate hundreds of GB and aborted): each is checked against the stated
/// limits and against the values the payload holds before anything is built,
/// so the load fails at once with an error that names the file kind.
#[test]
fn forged_network_sizes_fail_before_allocating() {
    let huge = (1usize << 40).to_string();
    for (what, magic, bytes, f) in formats().into_iter().take(2) {
        let (header, floats) = artefact::read(what, magic, 1, &bytes).unwrap();
        let header = String::from_utf8(header.to_vec()).unwrap();
        let (hidden, depth, embed) = if what == "policy file" {
            ("\"hidden\":6", "\"depth\":1", "\"embedDim\":3")
        } else {
            ("\"hidden\":64", "\"depth\":2", "\"embedDim\":16")
        };
        let forgeries = [
            (hidden, format!("\"hidden\":{huge}"), "hidden"),
            (hidden, "\"hidden\":16384".to_string(), "parameters"),
            (depth, format!("\"depth\":{huge}"), "depth"),
            (depth, "\"depth\":64".to_string(), "parameters"),
            (embed, format!("\"embedDim\":{huge}"), "embedDim"),
            (embed, "\"embedDim\":16384".to_string(), "parameters"),
        ];
        for (from, to, says) in &forgeries {
            assert!(header.contains(from), "{what}: no {from} in {header}");
            let forged =
                artefact::write(magic, 1, header.replacen(from, to, 1).as_bytes(), &floats);
            let t0 = std::time::Instant::now();
            let e = load(what, f, &forged, to).expect_err(to);
            assert!(e.starts_with(what) && e.contains(says), "{to}: {e}");
            assert!(
                t0.elapsed().as_secs_f64() < 1.0,
                "{to}: took {:?}",
                t0.elapsed()
            );
        }
    }
}

/// A header length over the stated limit is refused before the header is read.
#[test]
fn header_and_file_sizes_have_stated_limits() {
    for (what, _, bytes, f) in formats() {
        let mut forged = bytes[..bytes.len() - 8].to_vec();
        let too_long = (ialp_sim::limits::MAX_HEADER_BYTES + 1) as u32;
        forged[12..16].copy_from_slice(&too_long.to_le_bytes());
        let sum = artefact::fnv1a64(&forged);
        forged.extend_from_slice(&sum.to_le_bytes());
        let e = load(what, f, &forged, "a 16 MiB + 1 header length").unwrap_err();
        assert!(
            e.starts_with(what) && e.contains("limit of 16777216"),
            "{e}"
        );
    }
    assert_eq!(ialp_sim::limits::MAX_ARTEFACT_BYTES, 1 << 30);
}

// ---- policy format version 2: safetensors ----

/// (header JSON, data) of a version-2 file.
fn v2_parts(bytes: &[u8]) -> (serde_json::Map<String, serde_json::Value>, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(
        std::str::from_utf8(&bytes[8..8 + n])
            .unwrap()
            .trim_end()
            .as_bytes(),
    )
    .unwrap();
    (header, bytes[8 + n..].to_vec())
}

/// The checksum a version-2 file with this header, `meta` and data carries.
fn v2_sum(header: &serde_json::Map<String, serde_json::Value>, meta: &str, data: &[u8]) -> String {
    let named: Vec<(&str, &[u8])> = header
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .filter_map(|(k, e)| {
            let a = e["data_offsets"][0].as_u64()? as usize;
            let b = e["data_offsets"][1].as_u64()? as usize;
            Some((k.as_str(), data.get(a..b)?))
        })
        .collect();
    ialp_ac_core::policy::checksum_v2(meta, &named)
}

/// A version-2 file from a header and data, its checksum made valid again.
fn v2_frame(mut header: serde_json::Map<String, serde_json::Value>, data: &[u8]) -> Vec<u8> {
    let meta = header
        .get("__metadata__")
        .and_then(|m| m["meta"].as_str())
        .unwrap_or("")
        .to_string();
    let sum = v2_sum(&header, &meta, data);
    if let Some(m) = header
        .get_mut("__metadata__")
        .and_then(|m| m.as_object_mut())
    {
        m.insert("checksum".into(), sum.into());
    }
    let h = serde_json::to_string(&header).unwrap();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

fn load_policy(bytes: &[u8], case: &str) -> Result<Policy, String> {
    catch_unwind(AssertUnwindSafe(|| {
        Policy::from_bytes(bytes).map_err(|e| e.to_string())
    }))
    .unwrap_or_else(|_| panic!("policy file: loading {case} panicked"))
}

#[test]
fn v2_is_safetensors_with_ialp_metadata_and_round_trips() {
    let p = policy();
    let bytes = p.to_bytes();
    let (header, data) = v2_parts(&bytes);
    let m = header["__metadata__"].as_object().unwrap();
    assert_eq!(m["format"], "ialp-policy");
    assert_eq!(m["version"], "2");
    assert!(
        m.values().all(|v| v.is_string()),
        "metadata values are strings"
    );
    let meta: serde_json::Value = serde_json::from_str(m["meta"].as_str().unwrap()).unwrap();
    assert_eq!(meta["nItems"], 8);
    assert_eq!(header["item_features"]["shape"], serde_json::json!([8, 2]));
    assert_eq!(header["item_features"]["dtype"], "F32");
    assert_eq!(
        header["item_features"]["data_offsets"],
        serde_json::json!([0, 64])
    );
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!((8 + n) % 8, 0, "data 8-byte aligned");
    let total: usize = p
        .params()
        .tensors
        .iter()
        .map(|t| t.data.len())
        .sum::<usize>()
        + 16;
    assert_eq!(data.len(), 4 * total);
    let q = Policy::from_bytes(&bytes).unwrap();
    assert_eq!(p.params(), q.params());
    assert_eq!(q.to_bytes(), bytes, "writing again gives the same bytes");
    // tensors in another order (as PyTorch's writer may sort them) load the same
    let mut names: Vec<String> = header
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    names.reverse();
    let mut reordered = serde_json::Map::new();
    reordered.insert("__metadata__".into(), header["__metadata__"].clone());
    let mut new_data = Vec::new();
    for name in &names {
        let mut e = header[name].clone();
        let [a, b] = [
            e["data_offsets"][0].as_u64().unwrap() as usize,
            e["data_offsets"][1].as_u64().unwrap() as usize,
        ];
        e["data_offsets"] = serde_json::json!([new_data.len(), new_data.len() + b - a]);
        new_data.extend_from_slice(&data[a..b]);
        reordered.insert(name.clone(), e);
    }
    let r = load_policy(&v2_frame(reordered, &new_data), "tensors reordered").unwrap();
    assert_eq!(r.params(), p.params());
    assert_eq!(
        r.recommend(&[1, 2], &[1.0, 0.0], 3, true).unwrap(),
        p.recommend(&[1, 2], &[1.0, 0.0], 3, true).unwrap()
    );
}

#[test]
fn v1_files_are_still_read() {
    // written by the version-1 code (commit 055a31e) from `policy()`; the numbers are what it recommended
    let old = include_bytes!("../../../__test__/fixtures/artefacts/policy-v1.ialp");
    assert_eq!(&old[..8], b"IALPPOL\0");
    let p = load_policy(old, "the version-1 fixture").unwrap();
    assert_eq!(p.params(), policy().params());
    let recs = p.recommend(&[1, 2], &[1.0, 0.0], 6, true).unwrap();
    let expected = [
        (7, 0.12528655),
        (6, 0.12520456),
        (5, 0.12512265),
        (4, 0.12504078),
        (3, 0.124958955),
        (0, 0.12471383),
    ];
    assert_eq!(recs, expected);
    assert_eq!(
        policy().to_bytes_v1(),
        old.to_vec(),
        "the version-1 writer is unchanged"
    );
    // converted to version 2, the same policy
    let v2 = load_policy(&p.to_bytes(), "converted").unwrap();
    assert_eq!(
        v2.recommend(&[1, 2], &[1.0, 0.0], 6, true).unwrap(),
        expected
    );
}

#[test]
fn v2_every_truncation_and_flipped_byte_is_an_error() {
    let bytes = policy().to_bytes();
    for len in 0..bytes.len() {
        let e = load_policy(&bytes[..len], &format!("the first {len} bytes"))
            .map(drop)
            .unwrap_err();
        assert!(e.starts_with("policy file: "), "{len}: {e}");
    }
    for at in 0..bytes.len() {
        for mask in [0x5a, 0x01, 0x80] {
            let mut bad = bytes.clone();
            bad[at] ^= mask;
            let e = load_policy(&bad, &format!("byte {at} ^ {mask:#x}")).map(drop);
            assert!(
                e.as_ref().is_err_and(|e| e.starts_with("policy file: ")),
                "byte {at} ^ {mask:#x}: {e:?}"
            );
        }
    }
}

#[test]
fn v2_forged_metadata_and_tensors_with_valid_checksums_are_errors_before_allocating() {
    let (header, data) = v2_parts(&policy().to_bytes());
    let meta = header["__metadata__"]["meta"].as_str().unwrap().to_string();
    let huge = (1usize << 40).to_string();
    let with_meta = |m: String| {
        let mut h = header.clone();
        h["__metadata__"]["meta"] = m.into();
        v2_frame(h, &data)
    };
    let meta_forgeries = [
        ("\"hidden\":6", format!("\"hidden\":{huge}"), "hidden"),
        ("\"hidden\":6", "\"hidden\":16384".to_string(), "parameters"),
        ("\"depth\":1", format!("\"depth\":{huge}"), "depth"),
        ("\"depth\":1", "\"depth\":64".to_string(), "parameters"),
        ("\"embedDim\":3", format!("\"embedDim\":{huge}"), "embedDim"),
        (
            "\"nItems\":8",
            format!("\"nItems\":{}", usize::MAX),
            "item_features",
        ),
        ("\"history\":4", format!("\"history\":{huge}"), "history"),
        ("{", "[".to_string(), "__metadata__.meta is not valid JSON"),
    ];
    for (from, to, says) in &meta_forgeries {
        assert!(meta.contains(from), "no {from} in {meta}");
        let t0 = std::time::Instant::now();
        let e = load_policy(&with_meta(meta.replacen(from, to, 1)), to)
            .map(drop)
            .unwrap_err();
        assert!(
            e.starts_with("policy file: ") && e.contains(says),
            "{to}: {e}"
        );
        assert!(
            t0.elapsed().as_secs_f64() < 1.0,
            "{to}: took {:?}",
            t0.elapsed()
        );
    }
    let edit = |f: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
        let mut h = header.clone();
        f(&mut h);
        v2_frame(h, &data)
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            edit(&|h| h["item_features"]["shape"] = serde_json::json!([usize::MAX, usize::MAX])),
            "(too many F32 values) does not fit",
        ),
        // 4 x 2^62 wraps to 0 and the offsets run backwards: both "no size", never a slice
        (
            edit(&|h| {
                h["actor.0.w"]["shape"] = serde_json::json!([1u64 << 62]);
                h["actor.0.w"]["data_offsets"] = serde_json::json!([1, 0]);
            }),
            "does not fit data_offsets [1, 0]",
        ),
        (
            edit(&|h| h["actor.0.w"]["data_offsets"] = serde_json::json!([0, 1u64 << 40])),
            "does not fit data_offsets [0, 1099511627776]",
        ),
        (
            edit(&|h| h["actor.0.w"]["data_offsets"] = serde_json::json!([0, -1])),
            "safetensors header is not valid: tensor \"actor.0.w\": expected {\"dtype\", \"shape\", \"data_offsets\"}: invalid value: integer `-1`, expected u64",
        ),
        (
            edit(&|h| h["item_features"]["dtype"] = "F16".into()),
            "dtype F16, expected F32",
        ),
        (
            edit(&|h| h["actor.0.w"]["data_offsets"][1] = serde_json::json!(usize::MAX)),
            "does not fit",
        ),
        (
            edit(&|h| {
                h.remove("actor.0.b");
            }),
            "without gaps or overlaps",
        ),
        (
            edit(&|h| h["__metadata__"]["format"] = "other".into()),
            "not an ialp policy (its __metadata__ has format \"other\"",
        ),
        (
            edit(&|h| {
                h.remove("__metadata__");
            }),
            "has format missing",
        ),
        (
            edit(&|h| h["__metadata__"]["version"] = "3".into()),
            "format version 3 is not supported (this build reads versions 1 and 2); upgrade ialp",
        ),
        (
            edit(&|h| h["__metadata__"]["version"] = "1".into()),
            "format version 1 is not supported",
        ),
    ];
    for (bytes, says) in &cases {
        let e = load_policy(bytes, says).map(drop).unwrap_err();
        assert!(
            e.starts_with("policy file: ") && e.contains(says),
            "{says}: {e}"
        );
    }
    // a checksum that does not match
    let mut h = header.clone();
    h["__metadata__"]["checksum"] = "fnv1a64:0000000000000000".into();
    let s = serde_json::to_string(&h).unwrap();
    let mut bad = (s.len() as u64).to_le_bytes().to_vec();
    bad.extend_from_slice(s.as_bytes());
    bad.extend_from_slice(&data);
    assert_eq!(
        load_policy(&bad, "bad checksum").map(drop).unwrap_err(),
        "policy file: checksum mismatch: the file is truncated or corrupted"
    );
    // the untouched header, re-framed, still loads
    assert!(load_policy(&v2_frame(header.clone(), &data), "re-framed").is_ok());
}
