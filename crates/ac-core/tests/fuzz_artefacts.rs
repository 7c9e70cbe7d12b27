//! Property-based fuzzing of the three artefact readers (policy, reward model,
//! user model) behind the checksum: the header and payload are edited and framed
//! again with a valid checksum, as a buggy or hostile writer would, so the
//! parser itself is exercised, not only the checksum. Any such file is loaded or
//! refused with an error naming the file kind, at once: never a panic, never an
//! allocation the size of a forged number (which would abort the process).
//! `PROPTEST_CASES=100000 cargo test --test fuzz_artefacts` runs a longer session.

mod common;
use common::{encoder, policy};
use ialp_ac_core::{Policy, RewardModel, RewardModelConfig};
use ialp_sim::artefact;
use ialp_sim::data::Interaction;
use ialp_sim::mf::{MfConfig, MfModel};
use proptest::prelude::*;
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

type Load = fn(&[u8]) -> Result<(), String>;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

/// (file kind as errors name it, magic, good bytes, loader)
fn formats() -> Vec<(&'static str, &'static [u8; 8], Vec<u8>, Load)> {
    // format version 1 here; version 2 (safetensors) has its own properties below
    let policy = policy().to_bytes_v1();
    let rm = RewardModel::new(
        RewardModelConfig {
            hidden: 5,
            embed_dim: 3,
            ..Default::default()
        },
        encoder(),
    )
    .unwrap()
    .to_bytes();
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
    let um = MfModel::fit(6, 4, &data, &cfg, "toy").unwrap().to_bytes();
    vec![
        ("policy file", ialp_ac_core::policy::MAGIC, policy, |b| {
            Policy::from_bytes(b).map(drop).map_err(|e| e.to_string())
        }),
        ("reward model", ialp_ac_core::reward_model::MAGIC, rm, |b| {
            RewardModel::from_bytes(b)
                .map(drop)
                .map_err(|e| e.to_string())
        }),
        ("user model", ialp_sim::mf::MAGIC, um, |b| {
            MfModel::from_bytes(b).map(drop).map_err(|e| e.to_string())
        }),
    ]
}

/// A policy file of format version 2 (safetensors).
fn policy_v2() -> Vec<u8> {
    policy().to_bytes()
}

fn load_policy(b: &[u8]) -> Result<(), String> {
    Policy::from_bytes(b).map(drop).map_err(|e| e.to_string())
}

/// (header JSON text, data) of a version-2 file.
fn v2_split(bytes: &[u8]) -> (String, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (
        String::from_utf8(bytes[8..8 + n].to_vec()).unwrap(),
        bytes[8 + n..].to_vec(),
    )
}

/// A version-2 file of `header` (its `__metadata__.checksum` made valid, when it
/// has one) and `data`.
fn v2_frame(header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut header = header.to_vec();
    if let Ok(mut h) = serde_json::from_slice::<Value>(&header) {
        let meta = h["__metadata__"]["meta"].as_str().map(str::to_string);
        let named: Vec<(String, Vec<u8>)> = h
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "__metadata__")
            .filter_map(|(k, e)| {
                let a = e["data_offsets"][0].as_u64()? as usize;
                let b = e["data_offsets"][1].as_u64()? as usize;
                Some((k.clone(), data.get(a..b)?.to_vec()))
            })
            .collect();
        let named: Vec<(&str, &[u8])> = named
            .iter()
            .map(|(k, b)| (k.as_str(), b.as_slice()))
            .collect();
        if let (Some(meta), Some(m)) = (
            meta,
            h.get_mut("__metadata__").and_then(Value::as_object_mut),
        ) {
            m.insert(
                "checksum".into(),
                ialp_ac_core::policy::checksum_v2(&meta, &named).into(),
            );
            header = serde_json::to_vec(&h).unwrap();
        }
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

/// Loads `bytes`, failing the property on a panic, a slow load or an error
/// that does not name the file kind.
fn check(what: &str, load: Load, bytes: &[u8]) -> Result<(), TestCaseError> {
    let t0 = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| load(bytes)))
        .map_err(|_| TestCaseError::fail(format!("{what}: the load panicked")))?;
    prop_assert!(
        t0.elapsed().as_secs_f64() < 2.0,
        "{what}: took {:?}",
        t0.elapsed()
    );
    if let Err(e) = r {
        prop_assert!(e.starts_with(what), "{what}: error without the kind: {e}");
    }
    Ok(())
}

/// Every number in a JSON value, by path, so one can be replaced.
fn number_paths(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Number(_) => out.push(path.clone()),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| {
            path.push(i.to_string());
            number_paths(x, path, out);
            path.pop();
        }),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            path.push(k.clone());
            number_paths(x, path, out);
            path.pop();
        }),
        _ => {}
    }
}

fn at_path<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        Value::Object(m) => m.get_mut(k).unwrap(),
        _ => unreachable!("paths lead through containers"),
    })
}

/// Numbers a hostile header would hold.
fn hostile_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..70).prop_map(Value::from),
        prop::sample::select(vec![
            4096u64,
            4097,
            16384,
            16385,
            1 << 27,
            1 << 31,
            (1 << 32) - 1,
            1 << 32,
            1 << 40,
            1 << 53,
            u64::MAX
        ])
        .prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        Just(Value::from(-1i64)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// One to three numbers of the header replaced (sizes, shapes, offsets,
    /// lengths, configs), the file framed again with a valid checksum.
    #[test]
    fn forged_header_numbers(which in 0usize..3, picks in prop::collection::vec((any::<prop::sample::Index>(), hostile_number()), 1..4)) {
        let (what, magic, bytes, load) = formats().swap_remove(which);
        let (header, floats) = artefact::read(what, magic, 1, &bytes).unwrap();
        let mut h: Value = serde_json::from_slice(header).unwrap();
        let mut paths = Vec::new();
        number_paths(&h, &mut Vec::new(), &mut paths);
        for (i, n) in picks {
            *at_path(&mut h, &paths[i.index(paths.len())]) = n;
        }
        let forged = artefact::write(magic, 1, &serde_json::to_vec(&h).unwrap(), &floats);
        check(what, load, &forged)?;
    }

    /// Bytes of the header text edited and payload values resized or replaced
    /// (NaN, infinities), framed again with a valid checksum.
    #[test]
    fn edited_header_bytes_and_payload(
        which in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        resize in -3i64..3,
        poison in prop::option::of((any::<prop::sample::Index>(), prop::sample::select(vec![f32::NAN, f32::INFINITY, -f32::INFINITY, f32::MAX]))),
    ) {
        let (what, magic, bytes, load) = formats().swap_remove(which);
        let (header, floats) = artefact::read(what, magic, 1, &bytes).unwrap();
        let mut header = header.to_vec();
        for (i, b) in edits {
            let at = i.index(header.len());
            header[at] = b;
        }
        let mut floats = floats;
        floats.resize((floats.len() as i64 + resize).max(0) as usize, 0.25);
        if let (Some((i, x)), false) = (poison, floats.is_empty()) {
            let at = i.index(floats.len());
            floats[at] = x;
        }
        check(what, load, &artefact::write(magic, 1, &header, &floats))?;
    }

    /// Arbitrary bytes behind a valid magic and version: the framing itself.
    #[test]
    fn arbitrary_bytes_behind_the_magic(which in 0usize..3, tail in prop::collection::vec(any::<u8>(), 0..200), fix_checksum in any::<bool>()) {
        let (what, magic, _, load) = formats().swap_remove(which);
        let mut b = magic.to_vec();
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&tail);
        if fix_checksum {
            let sum = artefact::fnv1a64(&b);
            b.extend_from_slice(&sum.to_le_bytes());
        }
        check(what, load, &b)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Version 2: one to three numbers of the safetensors header or of the
    /// metadata it carries replaced, the checksum made valid again.
    #[test]
    fn v2_forged_header_numbers(picks in prop::collection::vec((any::<prop::sample::Index>(), hostile_number()), 1..4), in_meta in any::<bool>()) {
        let (header, data) = v2_split(&policy_v2());
        let mut h: Value = serde_json::from_str(header.trim_end()).unwrap();
        let mut meta: Value = serde_json::from_str(h["__metadata__"]["meta"].as_str().unwrap()).unwrap();
        let target = if in_meta { &mut meta } else { &mut h };
        let mut paths = Vec::new();
        number_paths(target, &mut Vec::new(), &mut paths);
        for (i, n) in picks {
            *at_path(target, &paths[i.index(paths.len())]) = n;
        }
        h["__metadata__"]["meta"] = serde_json::to_string(&meta).unwrap().into();
        check("policy file", load_policy, &v2_frame(&serde_json::to_vec(&h).unwrap(), &data))?;
    }

    /// Version 2: bytes of the header text edited and the data resized, the
    /// checksum made valid again where the header still parses.
    #[test]
    fn v2_edited_header_bytes_and_data(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        resize in -9i64..9,
    ) {
        let (header, mut data) = v2_split(&policy_v2());
        let mut header = header.into_bytes();
        for (i, b) in edits {
            let at = i.index(header.len());
            header[at] = b;
        }
        data.resize((data.len() as i64 + resize).max(0) as usize, 0x3f);
        check("policy file", load_policy, &v2_frame(&header, &data))?;
    }

    /// Version 2: arbitrary bytes behind a header length.
    #[test]
    fn v2_arbitrary_bytes(len in prop::sample::select(vec![0u64, 1, 2, 8, 100, 1 << 24, (1 << 24) + 1, u64::MAX]), tail in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut b = len.to_le_bytes().to_vec();
        b.extend_from_slice(&tail);
        check("policy file", load_policy, &b)?;
    }
}
