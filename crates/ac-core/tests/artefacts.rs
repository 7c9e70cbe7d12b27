//! The three artefact formats (policy IALPPOL, reward model IALPRWD, user model
//! IALPUMF; docs/artefacts.md) against damaged, foreign and newer files: every
//! one is an error that names the file kind, never a panic and never a model.

use ialp_ac_core::encoder::StateEncoder;
use ialp_ac_core::{NetConfig, Policy, PolicyMeta, RewardModel, RewardModelConfig};
use ialp_sim::artefact;
use ialp_sim::data::Interaction;
use ialp_sim::mf::{MfConfig, MfModel};
use std::panic::{catch_unwind, AssertUnwindSafe};

type Load = fn(&[u8]) -> Result<(), String>;

fn encoder() -> StateEncoder {
    StateEncoder::new(4, 8, (0..16).map(|i| i as f32 / 16.0).collect()).unwrap()
}

fn policy_bytes() -> Vec<u8> {
    let meta = PolicyMeta {
        env: "test".into(),
        source: String::new(),
        fingerprint: String::new(),
        n_items: 8,
        history: 4,
        net: NetConfig {
            hidden: 6,
            depth: 1,
            embed_dim: 3,
        },
        training: serde_json::Value::Null,
        created_with: "test".into(),
    };
    Policy::untrained(meta, encoder(), 1).unwrap().to_bytes()
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
            ("\"hidden\":64", "\"depth\":1", "\"embedDim\":16")
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
