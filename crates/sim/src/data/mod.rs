//! Datasets from the file formats researchers have, parsed from bytes (so the
//! same code runs natively and in WebAssembly), with errors that name the file,
//! the line and what was expected.
//!
//! [`load`] takes a format name and the files of a release ([`DataFiles`], found
//! by their official names, also under a folder). Shared conventions: users and
//! items are numbered in ascending order of their original numeric id (the order
//! of lines in the files does not matter); category names in order of first use
//! going through the items; items without a category get `unknown`; interactions
//! are sorted by (user, timestamp), ties in file order. No line is skipped
//! silently: one that cannot be read, an id missing from the file that defines
//! it, or a value outside the format's scale is an error (only side-file rows of
//! ids the dataset does not have, e.g. users without ratings, go unused).

use std::collections::BTreeMap;

/// File name (relative to the dataset folder, e.g. `ratings.csv` or
/// `user_item_features/item_features.ascii`) -> contents.
pub type DataFiles = BTreeMap<String, Vec<u8>>;

/// One logged or held-out interaction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interaction {
    /// Dense user index (0..n_users).
    pub user: u32,
    /// Dense item index (0..n_items).
    pub item: u32,
    /// The feedback as in the source (rating, watch ratio, click).
    pub value: f32,
    /// Seconds since the epoch, or the position in the file where the format has no time.
    pub timestamp: i64,
}

/// What a prompt and the quit model need to know of an item.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemInfo {
    pub title: String,
    /// Indices into `Dataset::category_names`; the first is the primary category
    /// the quit model uses. Never empty (an "unknown" category is made if needed).
    pub categories: Vec<u32>,
    /// The item described in words for an LLM prompt (title, genres, features).
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// e.g. "ml-latest-small", "ml-100k", "ml-1m", "coat", "kuairec-small", "kuairand-pure".
    pub name: String,
    /// Original ids, indexed by dense id.
    pub user_ids: Vec<String>,
    pub item_ids: Vec<String>,
    /// The logged (training) interactions, sorted by (user, timestamp).
    pub interactions: Vec<Interaction>,
    /// Held-out interactions from a separate source (Coat's random-exposure test
    /// set); empty when the format has none.
    pub test: Vec<Interaction>,
    pub items: Vec<ItemInfo>,
    pub category_names: Vec<String>,
    /// Per-user words for prompts (demographics, features); empty strings when unknown.
    pub user_text: Vec<String>,
    /// The feedback scale of `value`, e.g. (0.5, 5.0) for MovieLens latest.
    pub value_range: (f32, f32),
    /// True when every (user, item) pair is observed (KuaiRec's small matrix).
    pub fully_observed: bool,
    /// Rows that repeated another row exactly (same user, item, value and
    /// time) and were dropped, the first of each kept; in `test` as well.
    pub duplicate_rows: usize,
    /// Rows (after dropping duplicates) whose (user, item) pair an earlier row
    /// already has, at another time or with another value (a re-rating, a
    /// re-watch); kept, and counted so that they are reported, not hidden.
    pub repeated_pairs: usize,
}

impl Dataset {
    pub fn n_users(&self) -> usize {
        self.user_ids.len()
    }
    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }
}

pub mod coat;
pub mod csv;
pub mod index;
pub mod kuairand;
pub mod kuairec;
pub mod movielens;

use crate::error::{Error, Result};

/// The dataset formats [`load`] reads.
pub const FORMATS: &[&str] = &["movielens", "coat", "kuairec", "kuairand"];

/// The files of one variant of a format, named as in the official release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSet {
    /// The variant's name, e.g. "ml-100k" (the dataset name it loads as, except
    /// that "ml-latest" loads as "ml-latest-small" under 200,000 ratings).
    pub variant: &'static str,
    /// All must be present; the first one identifies the variant.
    pub required: &'static [&'static str],
    /// Read when present.
    pub optional: &'static [&'static str],
}

const MOVIELENS_FILES: &[FileSet] = &[
    FileSet {
        variant: "ml-latest",
        required: &["ratings.csv", "movies.csv"],
        optional: &["tags.csv"],
    },
    FileSet {
        variant: "ml-100k",
        required: &["u.data", "u.item"],
        optional: &["u.genre", "u.user"],
    },
    FileSet {
        variant: "ml-1m",
        required: &["ratings.dat", "movies.dat"],
        optional: &["users.dat"],
    },
];

const COAT_FILES: &[FileSet] = &[FileSet {
    variant: "coat",
    required: &[
        "train.ascii",
        "test.ascii",
        "user_item_features/item_features.ascii",
        "user_item_features/item_features_map.txt",
    ],
    optional: &[
        "user_item_features/user_features.ascii",
        "user_item_features/user_features_map.txt",
    ],
}];

const KUAIREC_OPTIONAL: &[&str] = &["kuairec_caption_category.csv", "user_features.csv"];
const KUAIREC_FILES: &[FileSet] = &[
    FileSet {
        variant: "kuairec-small",
        required: &["small_matrix.csv", "item_categories.csv"],
        optional: KUAIREC_OPTIONAL,
    },
    FileSet {
        variant: "kuairec-big",
        required: &["big_matrix.csv", "item_categories.csv"],
        optional: KUAIREC_OPTIONAL,
    },
];

const KUAIRAND_FILES: &[FileSet] = &[
    FileSet {
        variant: "kuairand-pure",
        required: &[kuairand::LOG_EARLY, kuairand::VIDEO_FEATURES],
        optional: &[
            kuairand::LOG_LATE,
            kuairand::LOG_RANDOM,
            kuairand::USER_FEATURES,
        ],
    },
    FileSet {
        variant: "kuairand-pure",
        required: &[kuairand::LOG_LATE, kuairand::VIDEO_FEATURES],
        optional: &[
            kuairand::LOG_EARLY,
            kuairand::LOG_RANDOM,
            kuairand::USER_FEATURES,
        ],
    },
];

fn unknown_format(format: &str) -> Error {
    Error::new(format!(
        "unknown dataset format \"{format}\" (expected one of: {})",
        FORMATS.join(", ")
    ))
}

/// The variants of `format` and their files, in the order they are tried.
pub fn file_sets(format: &str) -> Result<&'static [FileSet]> {
    match format {
        "movielens" => Ok(MOVIELENS_FILES),
        "coat" => Ok(COAT_FILES),
        "kuairec" => Ok(KUAIREC_FILES),
        "kuairand" => Ok(KUAIRAND_FILES),
        _ => Err(unknown_format(format)),
    }
}

/// The files a folder of `format` must contain (for a format with several
/// variants, those of the first: ml-latest, kuairec-small, KuaiRand's first log).
pub fn required_files(format: &str) -> Result<&'static [&'static str]> {
    Ok(file_sets(format)?[0].required)
}

/// Every file a loader of `format` may read, required or optional, in any
/// variant: a caller reading a folder into [`DataFiles`] needs only these.
pub fn wanted_files(format: &str) -> Result<Vec<&'static str>> {
    let mut names = Vec::new();
    for set in file_sets(format)? {
        for &name in set.required.iter().chain(set.optional) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// The files of `format` in words, e.g. for a command's help.
pub fn describe_files(format: &str) -> Result<String> {
    let sets = file_sets(format)?;
    let parts: Vec<String> = sets
        .iter()
        .map(|set| format!("{}: {}", set.variant, describe_set(set)))
        .collect();
    Ok(parts.join("; or "))
}

fn describe_set(set: &FileSet) -> String {
    let mut s = set.required.join(", ");
    if !set.optional.is_empty() {
        s += &format!(" (optional: {})", set.optional.join(", "));
    }
    s
}

/// The variant of `format` that `files` hold (chosen by its first required
/// file), or an error naming the missing files.
pub fn check_files(format: &str, files: &DataFiles) -> Result<&'static FileSet> {
    let sets = file_sets(format)?;
    let mut chosen = None;
    for set in sets {
        if find_file(files, set.required[0])?.is_some() {
            chosen = Some(set);
            break;
        }
    }
    let Some(set) = chosen else {
        let keys: Vec<&str> = sets.iter().map(|s| s.required[0]).collect();
        let found: Vec<&str> = files.keys().map(String::as_str).collect();
        return Err(Error::new(format!(
            "{format}: none of {} found (expected {}; found: {})",
            keys.join(", "),
            describe_files(format)?,
            if found.is_empty() {
                "no files".to_string()
            } else {
                found.join(", ")
            }
        )));
    };
    let mut missing = Vec::new();
    for &name in set.required {
        if find_file(files, name)?.is_none() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        let release = match format {
            "coat" => "the Coat release".to_string(),
            _ => set.variant.to_string(),
        };
        return Err(Error::new(format!(
            "{format}: missing {} (expected the files of {release}: {})",
            missing.join(", "),
            describe_set(set)
        )));
    }
    Ok(set)
}

/// Loads a dataset of `format` ("movielens" detects ml-latest, ml-100k or
/// ml-1m from the files present; "coat", "kuairec", "kuairand").
pub fn load(format: &str, files: &DataFiles) -> Result<Dataset> {
    check_files(format, files)?;
    let mut ds = match format {
        "movielens" => movielens::load(files),
        "coat" => coat::load(files),
        "kuairec" => kuairec::load(files),
        "kuairand" => kuairand::load(files),
        _ => Err(unknown_format(format)),
    }?;
    ds.duplicate_rows =
        drop_duplicate_rows(&mut ds.interactions) + drop_duplicate_rows(&mut ds.test);
    ds.repeated_pairs = count_repeated_pairs(&ds.interactions) + count_repeated_pairs(&ds.test);
    Ok(ds)
}

/// Rows whose (user, item) pair an earlier row already has.
pub fn count_repeated_pairs(rows: &[Interaction]) -> usize {
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    rows.iter()
        .filter(|r| !seen.insert((r.user, r.item)))
        .count()
}

/// Drops rows that repeat an earlier row exactly (user, item, value, time),
/// keeping the first and the order of the rest; returns how many were dropped.
/// `rows` is sorted by (user, timestamp), so repeats lie in the same run.
pub fn drop_duplicate_rows(rows: &mut Vec<Interaction>) -> usize {
    let before = rows.len();
    let mut keep = vec![true; rows.len()];
    let mut start = 0;
    while start < rows.len() {
        let key = |x: &Interaction| (x.user, x.timestamp);
        let end = start
            + rows[start..]
                .iter()
                .take_while(|x| key(x) == key(&rows[start]))
                .count();
        if end - start > 1 {
            let mut run: Vec<(u32, u32, usize)> = (start..end)
                .map(|i| (rows[i].item, rows[i].value.to_bits(), i))
                .collect();
            run.sort_unstable();
            for w in run.windows(2) {
                if (w[0].0, w[0].1) == (w[1].0, w[1].1) {
                    keep[w[1].2] = false; // sorted by index within equal keys: the later one
                }
            }
        }
        start = end;
    }
    let mut i = 0;
    rows.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    before - rows.len()
}

/// A file of the release by its official name, also found under a folder
/// (`ml-100k/u.data`, `KuaiRand-Pure/data/...`) or, for a name with a folder,
/// by its base name alone. Returns the key it was stored under and its bytes;
/// an error when two keys match equally well.
pub fn find_file<'a>(files: &'a DataFiles, name: &str) -> Result<Option<(&'a str, &'a [u8])>> {
    let norm = |k: &str| k.replace('\\', "/");
    if let Some((k, v)) = files.get_key_value(name) {
        return Ok(Some((k.as_str(), v.as_slice())));
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    let under_folder = format!("/{name}");
    let tests: [&dyn Fn(&str) -> bool; 3] = [
        &|k: &str| norm(k) == name,
        &|k: &str| norm(k).ends_with(&under_folder),
        &|k: &str| norm(k).rsplit('/').next() == Some(base),
    ];
    for test in tests {
        let hits: Vec<(&String, &Vec<u8>)> = files.iter().filter(|(k, _)| test(k)).collect();
        match hits.as_slice() {
            [] => continue,
            [(k, v)] => return Ok(Some((k.as_str(), v.as_slice()))),
            _ => {
                let keys: Vec<&str> = hits.iter().map(|(k, _)| k.as_str()).collect();
                return Err(Error::new(format!(
                    "{name}: several files match ({}); pass one folder's files",
                    keys.join(", ")
                )));
            }
        }
    }
    Ok(None)
}

/// Like [`find_file`], for a file the caller has checked is there.
pub(crate) fn require_file<'a>(files: &'a DataFiles, name: &str) -> Result<(&'a str, &'a [u8])> {
    find_file(files, name)?.ok_or_else(|| Error::new(format!("missing {name}")))
}

/// Replaces line ends, tabs and runs of spaces with single spaces.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
