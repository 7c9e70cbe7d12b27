//! Property-based fuzzing of the dataset loaders: the fixtures' files with lines
//! duplicated, dropped or edited, hostile numbers and stray bytes. Any such
//! folder is loaded (consistently: every id within the dataset's sizes) or
//! refused with an error, never a panic. `PROPTEST_CASES=100000 cargo test
//! --test fuzz_loaders` runs a longer session.

use ialp_sim::data::{self, DataFiles};
use proptest::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

fn fixture(name: &str) -> DataFiles {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// One edit of a file's lines.
#[derive(Clone, Debug)]
enum Edit {
    Duplicate(prop::sample::Index),
    Drop(prop::sample::Index),
    /// Replace a field-like run of digits in a line with this text.
    Number(prop::sample::Index, String),
    /// Insert raw bytes (invalid UTF-8, NUL, separators) into a line.
    Bytes(prop::sample::Index, Vec<u8>),
}

fn edit() -> impl Strategy<Value = Edit> {
    let number = prop_oneof![
        Just("-1".to_string()),
        Just("4294967296".to_string()),
        Just("18446744073709551616".to_string()),
        Just("1e300".to_string()),
        Just("NaN".to_string()),
        Just("".to_string()),
        Just("0.5".to_string()),
        (0u32..100).prop_map(|n| n.to_string()),
    ];
    let bytes = prop::collection::vec(
        prop::sample::select(vec![
            0xffu8, 0xe9, 0xc3, 0, b',', b'|', b':', b'"', b'\t', b'\r',
        ]),
        1..4,
    );
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Edit::Duplicate),
        any::<prop::sample::Index>().prop_map(Edit::Drop),
        (any::<prop::sample::Index>(), number).prop_map(|(i, n)| Edit::Number(i, n)),
        (any::<prop::sample::Index>(), bytes).prop_map(|(i, b)| Edit::Bytes(i, b)),
    ]
}

fn apply(bytes: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    for e in edits {
        if lines.is_empty() {
            break;
        }
        match e {
            Edit::Duplicate(i) => {
                let l = lines[i.index(lines.len())].clone();
                lines.push(l);
            }
            Edit::Drop(i) => {
                lines.remove(i.index(lines.len()));
            }
            Edit::Number(i, text) => {
                let n = lines.len();
                let l = &mut lines[i.index(n)];
                if let Some(start) = l.iter().position(u8::is_ascii_digit) {
                    let end = start + l[start..].iter().take_while(|b| b.is_ascii_digit()).count();
                    l.splice(start..end, text.bytes());
                }
            }
            Edit::Bytes(i, b) => {
                let n = lines.len();
                let l = &mut lines[i.index(n)];
                let at = l.len() / 2;
                l.splice(at..at, b.iter().copied());
            }
        }
    }
    lines.join(&b'\n')
}

fn check(format: &str, files: &DataFiles) -> Result<(), TestCaseError> {
    let r = catch_unwind(AssertUnwindSafe(|| data::load(format, files)))
        .map_err(|_| TestCaseError::fail(format!("{format}: the loader panicked")))?;
    if let Ok(d) = r {
        let (nu, ni) = (d.n_users() as u32, d.n_items() as u32);
        prop_assert!(d
            .interactions
            .iter()
            .chain(&d.test)
            .all(|x| x.user < nu && x.item < ni));
        prop_assert_eq!(d.items.len(), d.n_items());
        prop_assert!(d.items.iter().all(|i| !i.categories.is_empty()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn movielens_files_edited(
        which in prop::sample::select(vec!["latest", "100k", "1m"]),
        file in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut files = fixture(&format!("movielens/{which}"));
        let names: Vec<String> = files.keys().cloned().collect();
        let name = &names[file.index(names.len())];
        let edited = apply(&files[name], &edits);
        files.insert(name.clone(), edited);
        check("movielens", &files)?;
    }
}
