//! Coat (Schnabel et al., ICML 2016): 290 users x 300 coats.
//! - `train.ascii`, `test.ascii`: whitespace-separated rating matrices (row =
//!   user, column = item, 1..5, 0 = not rated); train ratings are self-selected,
//!   test ratings were asked for on random items, so `test` is unbiased.
//! - `user_item_features/item_features.ascii` (+ `item_features_map.txt`): one-hot
//!   item features, one `group:value` name per column (gender, jackettype, color,
//!   onfrontpage); `user_features.ascii` (+ map) likewise for users.
//!
//! Users are the matrix rows and items its columns, numbered as in the files.
//! The primary (and only) category is the jacket type: the feature group whose
//! name contains "type" (`jackettype` in the release), so the quit model's
//! boredom reads "too many bombers in a row". Item text spells out all features
//! ("women's jacket, type: bomber, color: black, on front page: no"), user text
//! likewise. Coat has no time: an entry's timestamp is its cell index
//! `user * n_items + item`, the same in train and test.

use super::csv::{parse_f32, utf8};
use super::index::{Categories, UNKNOWN};
use super::{check_files, find_file, require_file, DataFiles, Dataset, Interaction, ItemInfo};
use crate::error::{Error, Result};

/// A whitespace-separated numeric matrix, row-major.
struct Matrix {
    file: String,
    rows: usize,
    cols: usize,
    values: Vec<f32>,
}

impl Matrix {
    fn parse(file: &str, text: &str) -> Result<Matrix> {
        let mut values = Vec::new();
        let mut rows = 0;
        let mut cols = 0;
        for (i, line) in text.split('\n').enumerate() {
            let before = values.len();
            for field in line.split_ascii_whitespace() {
                values.push(parse_f32(file, i + 1, "value", field)?);
            }
            let n = values.len() - before;
            if n == 0 {
                continue;
            }
            if rows == 0 {
                cols = n;
            } else if n != cols {
                return Err(Error::new(format!(
                    "{file} line {}: expected {cols} columns (as on the first line), found {n}",
                    i + 1
                )));
            }
            rows += 1;
        }
        if rows == 0 {
            return Err(Error::new(format!("{file}: the file is empty")));
        }
        Ok(Matrix {
            file: file.to_string(),
            rows,
            cols,
            values,
        })
    }

    fn row(&self, r: usize) -> &[f32] {
        &self.values[r * self.cols..(r + 1) * self.cols]
    }

    fn expect_shape(&self, rows: usize, cols: Option<usize>, why: &str) -> Result<()> {
        if self.rows != rows || cols.is_some_and(|c| c != self.cols) {
            let want = match cols {
                Some(c) => format!("{rows} rows x {c} columns"),
                None => format!("{rows} rows"),
            };
            return Err(Error::new(format!(
                "{}: expected {want} ({why}), found {} rows x {} columns",
                self.file, self.rows, self.cols
            )));
        }
        Ok(())
    }
}

/// One column name of a feature map: `group:value`.
struct Feature {
    group: String,
    value: String,
}

fn parse_map(text: &str) -> Vec<Feature> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(':') {
            Some((g, v)) => Feature {
                group: g.trim().to_string(),
                value: v.trim().to_string(),
            },
            // A name without a group is a yes/no flag.
            None => Feature {
                group: l.to_string(),
                value: String::new(),
            },
        })
        .collect()
}

/// A feature file with its map: the active features of each row.
fn read_features(
    files: &DataFiles,
    matrix_name: &str,
    map_name: &str,
    rows: usize,
    why: &str,
) -> Result<Vec<Vec<(String, String)>>> {
    let (file, bytes) = require_file(files, matrix_name)?;
    let matrix = Matrix::parse(file, utf8(file, bytes)?)?;
    let (map_file, bytes) = require_file(files, map_name)?;
    let map = parse_map(utf8(map_file, bytes)?);
    matrix.expect_shape(
        rows,
        Some(map.len()),
        &format!("{why}, and one column per name in {map_file}"),
    )?;
    Ok((0..rows)
        .map(|r| {
            matrix
                .row(r)
                .iter()
                .zip(&map)
                .filter(|(v, _)| **v != 0.0)
                .map(|(_, f)| (f.group.clone(), f.value.clone()))
                .collect()
        })
        .collect())
}

/// Group names in words.
fn group_words(group: &str) -> String {
    match group {
        "jackettype" => "type".to_string(),
        "onfrontpage" => "on front page".to_string(),
        "fashioninterest" => "fashion interest".to_string(),
        other => other.to_string(),
    }
}

fn describe(features: &[(String, String)], skip_gender: bool) -> Vec<String> {
    features
        .iter()
        .filter(|(g, _)| !(skip_gender && g == "gender"))
        .map(|(g, v)| {
            if v.is_empty() {
                group_words(g)
            } else {
                format!("{}: {v}", group_words(g))
            }
        })
        .collect()
}

fn value_of<'a>(features: &'a [(String, String)], group: &str) -> Option<&'a str> {
    features
        .iter()
        .find(|(g, _)| g == group)
        .map(|(_, v)| v.as_str())
}

pub fn load(files: &DataFiles) -> Result<Dataset> {
    check_files("coat", files)?;
    let (file, bytes) = require_file(files, "train.ascii")?;
    let train = Matrix::parse(file, utf8(file, bytes)?)?;
    let (n_users, n_items) = (train.rows, train.cols);
    let (file, bytes) = require_file(files, "test.ascii")?;
    let test = Matrix::parse(file, utf8(file, bytes)?)?;
    test.expect_shape(n_users, Some(n_items), "the shape of train.ascii")?;

    let item_features = read_features(
        files,
        "user_item_features/item_features.ascii",
        "user_item_features/item_features_map.txt",
        n_items,
        "one row per column of train.ascii",
    )?;
    let user_features = match (
        find_file(files, "user_item_features/user_features.ascii")?,
        find_file(files, "user_item_features/user_features_map.txt")?,
    ) {
        (None, None) => None,
        (Some(_), Some(_)) => Some(read_features(
            files,
            "user_item_features/user_features.ascii",
            "user_item_features/user_features_map.txt",
            n_users,
            "one row per row of train.ascii",
        )?),
        (Some((f, _)), None) => {
            return Err(Error::new(format!(
                "{f} needs user_item_features/user_features_map.txt to name its columns"
            )))
        }
        (None, Some((f, _))) => {
            return Err(Error::new(format!(
                "{f} comes without user_item_features/user_features.ascii"
            )))
        }
    };

    let mut categories = Categories::default();
    let mut items = Vec::with_capacity(n_items);
    for (i, features) in item_features.iter().enumerate() {
        let kind = features
            .iter()
            .find(|(g, v)| g.contains("type") && !v.is_empty())
            .map(|(_, v)| v.as_str());
        let gender = value_of(features, "gender");
        let color = value_of(features, "color");
        let whose = gender.map(|g| format!("{g}'s ")).unwrap_or_default();
        let title = match (kind, color) {
            (Some(k), Some(c)) => format!("{whose}{k} jacket ({c})"),
            (Some(k), None) => format!("{whose}{k} jacket"),
            (None, Some(c)) => format!("{whose}jacket ({c})"),
            (None, None) => format!("{whose}jacket {i}"),
        };
        let mut parts = vec![format!("{whose}jacket")];
        parts.extend(describe(features, true));
        items.push(ItemInfo {
            title,
            categories: vec![categories.id(kind.unwrap_or(UNKNOWN))],
            text: parts.join(", "),
        });
    }

    let cells = |m: &Matrix| -> Result<Vec<Interaction>> {
        let mut out = Vec::new();
        for u in 0..n_users {
            for (i, &v) in m.row(u).iter().enumerate() {
                if v == 0.0 {
                    continue;
                }
                if !(1.0..=5.0).contains(&v) {
                    return Err(Error::new(format!(
                        "{} line {}: rating {v} in column {} is not 0 (missing) or 1..5",
                        m.file,
                        u + 1,
                        i + 1
                    )));
                }
                out.push(Interaction {
                    user: u as u32,
                    item: i as u32,
                    value: v,
                    timestamp: (u * n_items + i) as i64,
                });
            }
        }
        Ok(out)
    };

    Ok(Dataset {
        name: "coat".to_string(),
        user_ids: (0..n_users).map(|u| u.to_string()).collect(),
        item_ids: (0..n_items).map(|i| i.to_string()).collect(),
        interactions: cells(&train)?,
        test: cells(&test)?,
        items,
        category_names: categories.into_names(),
        user_text: match user_features {
            Some(rows) => rows.iter().map(|f| describe(f, false).join(", ")).collect(),
            None => vec![String::new(); n_users],
        },
        value_range: (1.0, 5.0),
        fully_observed: false,
        duplicate_rows: 0,
        repeated_pairs: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "gender:men\ngender:women\njackettype:bomber\njackettype:parkas\ncolor:black\ncolor:red\nonfrontpage:yes\nonfrontpage:no";

    fn coat(train: &str, test: &str, items: &str) -> DataFiles {
        [
            ("train.ascii", train),
            ("test.ascii", test),
            ("user_item_features/item_features.ascii", items),
            ("user_item_features/item_features_map.txt", MAP),
            (
                "user_item_features/user_features.ascii",
                "1 0 1\r\n0 1 0\r\n",
            ),
            (
                "user_item_features/user_features_map.txt",
                "gender:men\ngender:women\nfashioninterest:very",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
    }

    const ITEMS: &str = "0 1 1 0 1 0 0 1\r\n1 0 0 1 0 1 1 0\r\n0 1 0 0 0 0 0 1\r\n";

    #[test]
    fn loads_matrices_features_and_text() {
        let d = load(&coat("0 3 0\r\n5 0 1\r\n", "1 0 0 \r\n0 2 0\r\n", ITEMS)).unwrap();
        assert_eq!((d.n_users(), d.n_items()), (2, 3));
        let train: Vec<_> = d
            .interactions
            .iter()
            .map(|x| (x.user, x.item, x.value, x.timestamp))
            .collect();
        assert_eq!(train, [(0, 1, 3.0, 1), (1, 0, 5.0, 3), (1, 2, 1.0, 5)]);
        assert_eq!(d.test.len(), 2);
        assert_eq!(d.category_names, ["bomber", "parkas", "unknown"]);
        assert_eq!(
            d.items[0].text,
            "women's jacket, type: bomber, color: black, on front page: no"
        );
        assert_eq!(d.items[0].title, "women's bomber jacket (black)");
        assert_eq!(d.items[2].categories, [2]);
        assert_eq!(
            d.user_text,
            ["gender: men, fashion interest: very", "gender: women"]
        );
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let e = load(&coat("0 3 0\r\n5 0\r\n", "1 0 0\n0 2 0\n", ITEMS)).unwrap_err();
        assert_eq!(
            e.message(),
            "train.ascii line 2: expected 3 columns (as on the first line), found 2"
        );
        let e = load(&coat("0 3 0\n5 0 1\n", "1 0 0 0\n0 2 0 0\n", ITEMS)).unwrap_err();
        assert!(
            e.message()
                .starts_with("test.ascii: expected 2 rows x 3 columns"),
            "{e}"
        );
        let e = load(&coat(
            "0 3 0\n5 0 1\n",
            "1 0 0\n0 2 0\n",
            "0 1 1 0 1 0 0 1\n",
        ))
        .unwrap_err();
        assert!(
            e.message()
                .starts_with("user_item_features/item_features.ascii: expected 3 rows x 8"),
            "{e}"
        );
        let e = load(&coat("0 7 0\n5 0 1\n", "1 0 0\n0 2 0\n", ITEMS)).unwrap_err();
        assert!(
            e.message().starts_with("train.ascii line 1: rating 7"),
            "{e}"
        );
        let e = load(&coat("0 x 0\n5 0 1\n", "1 0 0\n0 2 0\n", ITEMS)).unwrap_err();
        assert_eq!(
            e.message(),
            "train.ascii line 1: value \"x\" is not a number"
        );
    }

    #[test]
    fn missing_files_are_listed() {
        let mut f = coat("1\n", "1\n", "1 0 1 0 1 0 1 0\n");
        f.remove("user_item_features/item_features.ascii");
        let e = crate::data::load("coat", &f).unwrap_err();
        assert!(
            e.message().starts_with(
                "coat: missing user_item_features/item_features.ascii (expected the files of the Coat release: "
            ),
            "{e}"
        );
    }
}
