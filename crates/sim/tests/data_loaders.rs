//! Loaders through the public API on the fixtures under tests/fixtures, and the
//! bad inputs each must reject with the file and line.

use ialp_sim::data::{self, DataFiles, Dataset};
use std::path::Path;

/// Every file under `dir`, keyed by its path relative to `dir`.
fn read_folder(dir: &Path) -> DataFiles {
    fn walk(root: &Path, dir: &Path, out: &mut DataFiles) {
        for entry in std::fs::read_dir(dir).expect("fixture folder") {
            let path = entry.expect("fixture entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let key = path.strip_prefix(root).expect("under root");
                let key = key.to_string_lossy().replace('\\', "/");
                out.insert(key, std::fs::read(&path).expect("fixture file"));
            }
        }
    }
    let mut out = DataFiles::new();
    walk(dir, dir, &mut out);
    out
}

fn fixture(name: &str) -> DataFiles {
    read_folder(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
}

fn files(list: &[(&str, &[u8])]) -> DataFiles {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

fn err(format: &str, f: &DataFiles) -> String {
    match data::load(format, f) {
        Ok(d) => panic!(
            "expected an error, loaded {} with {} interactions",
            d.name,
            d.interactions.len()
        ),
        Err(e) => e.message().to_string(),
    }
}

/// (user id, item id, value, timestamp) in the original ids.
fn triples(d: &Dataset) -> Vec<(String, String, f32, i64)> {
    d.interactions
        .iter()
        .map(|x| {
            (
                d.user_ids[x.user as usize].clone(),
                d.item_ids[x.item as usize].clone(),
                x.value,
                x.timestamp,
            )
        })
        .collect()
}

fn genres(d: &Dataset) -> Vec<Vec<String>> {
    d.items
        .iter()
        .map(|i| {
            i.categories
                .iter()
                .map(|&c| d.category_names[c as usize].clone())
                .collect()
        })
        .collect()
}

#[test]
fn the_same_movielens_data_in_three_formats_loads_the_same() {
    let latest = data::load("movielens", &fixture("movielens/latest")).unwrap();
    let ml100k = data::load("movielens", &fixture("movielens/100k")).unwrap();
    let ml1m = data::load("movielens", &fixture("movielens/1m")).unwrap();
    assert_eq!(latest.name, "ml-latest-small");
    assert_eq!(ml100k.name, "ml-100k");
    assert_eq!(ml1m.name, "ml-1m");
    assert_eq!(latest.value_range, (0.5, 5.0));
    assert_eq!(ml100k.value_range, (1.0, 5.0));

    // Users in ascending id order: 2, 7, 10; movie 4 has no rating but is an item.
    assert_eq!(latest.user_ids, ["2", "7", "10"]);
    assert_eq!(latest.item_ids, ["1", "2", "3", "4"]);
    let expected = [
        ("2", "1", 1.0, 1400),
        ("2", "3", 3.0, 1500),
        ("7", "2", 2.0, 1200),
        ("7", "3", 4.0, 1200),
        ("10", "2", 5.0, 900),
        ("10", "1", 4.0, 1000),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|&(u, i, v, t)| (u.to_string(), i.to_string(), v, t))
        .collect();
    assert_eq!(triples(&latest), expected);
    assert_eq!(
        latest.items[1].title,
        "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)"
    );
    assert_eq!(
        latest.items[0].text,
        "Toy Story (1995); genres: Adventure, Animation, Comedy"
    );
    assert_eq!(genres(&latest)[3], ["unknown"]);

    for other in [&ml100k, &ml1m] {
        assert_eq!(other.user_ids, latest.user_ids, "{}", other.name);
        assert_eq!(other.item_ids, latest.item_ids, "{}", other.name);
        assert_eq!(triples(other), triples(&latest), "{}", other.name);
        assert_eq!(other.items, latest.items, "{}", other.name);
        assert_eq!(
            other.category_names, latest.category_names,
            "{}",
            other.name
        );
        assert_eq!(genres(other), genres(&latest), "{}", other.name);
    }
    // u.user has a user (99) without ratings: not a user.
    assert_eq!(
        ml100k.user_text,
        [
            "age 24, male, occupation: technician, zip code 85711",
            "age 53, female, occupation: other, zip code 94043",
            "age 23, male, occupation: writer, zip code 32067",
        ]
    );
    assert_eq!(
        ml1m.user_text[0],
        "male, age 25-34, occupation: programmer, zip code 85711"
    );
    assert_eq!(latest.user_text, ["", "", ""]);
}

#[test]
fn files_under_a_folder_are_found() {
    let mut f = DataFiles::new();
    for (k, v) in fixture("movielens/1m") {
        f.insert(format!("ml-1m/{k}"), v);
    }
    assert_eq!(data::load("movielens", &f).unwrap().name, "ml-1m");
}

const MOVIES: &[u8] = b"movieId,title,genres\n1,A (1999),Drama\n2,B (2000),Comedy\n";

#[test]
fn malformed_line() {
    let f = files(&[
        ("movies.csv", MOVIES),
        (
            "ratings.csv",
            b"userId,movieId,rating,timestamp\n1,1,4,5\n1,2,4\n",
        ),
    ]);
    assert_eq!(
        err("movielens", &f),
        "ratings.csv line 3: expected 4 fields (userId,movieId,rating,timestamp), found 3"
    );
    let f = files(&[
        ("movies.dat", b"1::A::Drama\n2::B\n"),
        ("ratings.dat", b"1::1::4::5\n"),
    ]);
    assert!(err("movielens", &f).starts_with("movies.dat line 2: expected 3 fields"));
    let f = files(&[
        ("movies.csv", b"movieId,title,genres\n1,\"A, (1999),Drama\n"),
        ("ratings.csv", b"userId,movieId,rating,timestamp\n1,1,4,5\n"),
    ]);
    assert_eq!(
        err("movielens", &f),
        "movies.csv line 2: a quoted field is never closed (missing \")"
    );
}

#[test]
fn missing_column() {
    let f = files(&[
        ("movies.csv", b"movieId,name,genres\n1,A,Drama\n"),
        ("ratings.csv", b"userId,movieId,rating,timestamp\n1,1,4,5\n"),
    ]);
    assert_eq!(
        err("movielens", &f),
        "movies.csv: missing column \"title\" (the header has: movieId, name, genres)"
    );
}

#[test]
fn non_numeric_rating() {
    let f = files(&[
        ("movies.csv", MOVIES),
        (
            "ratings.csv",
            b"userId,movieId,rating,timestamp\n1,1,4,5\n1,2,abc,6\n",
        ),
    ]);
    assert_eq!(
        err("movielens", &f),
        "ratings.csv line 3: rating \"abc\" is not a number"
    );
    let f = files(&[
        ("u.item", b"1|A|||x|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n"),
        ("u.data", b"1\t1\tfour\t5\n"),
    ]);
    assert_eq!(
        err("movielens", &f),
        "u.data line 1: rating \"four\" is not a number"
    );
}

#[test]
fn empty_file() {
    let f = files(&[
        ("movies.csv", b""),
        ("ratings.csv", b"userId,movieId,rating,timestamp\n1,1,4,5\n"),
    ]);
    assert_eq!(
        err("movielens", &f),
        "movies.csv: the file is empty (expected a header line movieId,title,genres)"
    );
    let f = files(&[("movies.dat", b"1::A::Drama\n"), ("ratings.dat", b"\n\n")]);
    assert_eq!(err("movielens", &f), "ratings.dat: no ratings");
    let f = files(&[
        ("train.ascii", b""),
        ("test.ascii", b""),
        ("user_item_features/item_features.ascii", b""),
        ("user_item_features/item_features_map.txt", b""),
    ]);
    assert_eq!(err("coat", &f), "train.ascii: the file is empty");
}

#[test]
fn unknown_ids_in_a_side_file() {
    let f = files(&[
        ("movies.csv", MOVIES),
        (
            "ratings.csv",
            b"userId,movieId,rating,timestamp\n1,1,4,5\n1,99999,4,5\n",
        ),
    ]);
    assert_eq!(
        err("movielens", &f),
        "ratings.csv line 3: movieId 99999 is not in movies.csv"
    );
    let f = files(&[
        ("movies.csv", MOVIES),
        ("ratings.csv", b"userId,movieId,rating,timestamp\n1,1,4,5\n"),
        ("tags.csv", b"userId,movieId,tag,timestamp\n1,3,funny,5\n"),
    ]);
    assert_eq!(
        err("movielens", &f),
        "tags.csv line 2: movieId 3 is not in movies.csv"
    );
    let f = files(&[
        ("movies.dat", b"1::A::Drama\n"),
        ("ratings.dat", b"1::2::4::5\n"),
    ]);
    assert_eq!(
        err("movielens", &f),
        "ratings.dat line 1: MovieID 2 is not in movies.dat"
    );
}

#[test]
fn duplicated_header_row_or_column() {
    let f = files(&[
        ("movies.csv", MOVIES),
        (
            "ratings.csv",
            b"userId,movieId,rating,timestamp\n1,1,4,5\nuserId,movieId,rating,timestamp\n1,2,4,6\n",
        ),
    ]);
    assert_eq!(
        err("movielens", &f),
        "ratings.csv line 3: the header line appears again (were two files concatenated?)"
    );
    let f = files(&[
        ("movies.csv", MOVIES),
        ("ratings.csv", b"userId,movieId,rating,rating\n1,1,4,5\n"),
    ]);
    assert_eq!(
        err("movielens", &f),
        "ratings.csv line 1: column \"rating\" appears twice in the header"
    );
}

#[test]
fn wrong_encoding() {
    // Latin-1 bytes in a UTF-8 format.
    let f = files(&[
        (
            "movies.csv",
            b"movieId,title,genres\n1,A (1999),Drama\n2,Am\xe9lie (2001),Comedy\n",
        ),
        ("ratings.csv", b"userId,movieId,rating,timestamp\n1,1,4,5\n"),
    ]);
    let e = err("movielens", &f);
    assert!(
        e.starts_with("movies.csv line 3: invalid UTF-8 (byte 0xe9"),
        "{e}"
    );
    // The Latin-1 formats decode any byte.
    let f = files(&[
        ("movies.dat", b"1::Am\xe9lie (2001)::Comedy\n"),
        ("ratings.dat", b"1::1::4::5\n"),
    ]);
    assert_eq!(
        data::load("movielens", &f).unwrap().items[0].title,
        "Amélie (2001)"
    );
}

#[test]
fn coat_matrix_with_a_wrong_number_of_columns() {
    let map = b"gender:men\ngender:women\njackettype:bomber\ncolor:red";
    let f = files(&[
        ("train.ascii", b"0 1 2\n3 0 4 5\n"),
        ("test.ascii", b"0 1 2\n3 0 4\n"),
        (
            "user_item_features/item_features.ascii",
            b"1 0 1 1\n0 1 1 1\n0 1 1 1\n",
        ),
        ("user_item_features/item_features_map.txt", map),
    ]);
    assert_eq!(
        err("coat", &f),
        "train.ascii line 2: expected 3 columns (as on the first line), found 4"
    );
    let f = files(&[
        ("train.ascii", b"0 1 2\n3 0 4\n"),
        ("test.ascii", b"0 1\n3 0\n"),
        (
            "user_item_features/item_features.ascii",
            b"1 0 1 1\n0 1 1 1\n0 1 1 1\n",
        ),
        ("user_item_features/item_features_map.txt", map),
    ]);
    assert_eq!(
        err("coat", &f),
        "test.ascii: expected 2 rows x 3 columns (the shape of train.ascii), found 2 rows x 2 columns"
    );
}

#[test]
fn formats_and_their_files() {
    assert_eq!(data::FORMATS, ["movielens", "coat", "kuairec", "kuairand"]);
    assert_eq!(
        data::required_files("coat").unwrap(),
        [
            "train.ascii",
            "test.ascii",
            "user_item_features/item_features.ascii",
            "user_item_features/item_features_map.txt"
        ]
    );
    assert!(data::wanted_files("movielens").unwrap().contains(&"u.user"));
    assert!(data::describe_files("kuairec")
        .unwrap()
        .contains("small_matrix.csv"));
    let e = err("imdb", &DataFiles::new());
    assert_eq!(
        e,
        "unknown dataset format \"imdb\" (expected one of: movielens, coat, kuairec, kuairand)"
    );
    let e = err("movielens", &files(&[("README.txt", b"hi")]));
    assert!(
        e.starts_with("movielens: none of ratings.csv, u.data, ratings.dat found"),
        "{e}"
    );
    assert!(e.ends_with("found: README.txt)"), "{e}");
    let e = err("movielens", &files(&[("u.data", b"1\t1\t4\t5\n")]));
    assert_eq!(
        e,
        "movielens: missing u.item (expected the files of ml-100k: u.data, u.item \
         (optional: u.genre, u.user))"
    );
    let e = err(
        "movielens",
        &files(&[
            ("a/ratings.dat", b""),
            ("b/ratings.dat", b""),
            ("movies.dat", b""),
        ]),
    );
    assert!(e.starts_with("ratings.dat: several files match"), "{e}");
}

/// ml-1m size: a million ratings load in a couple of seconds (release builds
/// take a fraction of that; the bound leaves room for slow test machines).
#[test]
fn a_million_ratings_load_quickly() {
    let mut movies = String::new();
    for m in 1..=3900 {
        movies += &format!("{m}::Movie {m} (1999)::Drama|Comedy\n");
    }
    let mut ratings = String::with_capacity(25_000_000);
    let mut x: u64 = 1;
    for i in 0..1_000_000u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let movie = 1 + (x >> 33) % 3900;
        let rating = 1 + (x >> 20) % 5;
        ratings += &format!("{}::{movie}::{rating}::{}\n", 1 + i / 166, 978_300_000 + i);
    }
    let f: DataFiles = [
        ("movies.dat".to_string(), movies.into_bytes()),
        ("ratings.dat".to_string(), ratings.into_bytes()),
    ]
    .into_iter()
    .collect();
    let start = std::time::Instant::now();
    let d = data::load("movielens", &f).unwrap();
    let took = start.elapsed();
    println!("1,000,000 ml-1m ratings loaded in {took:?}");
    assert_eq!(d.interactions.len(), 1_000_000);
    assert_eq!(d.n_users(), 6025);
    assert!(took.as_secs_f64() < 10.0, "took {took:?}");
}

/// A file with every row twice loads as the file once, the repeats counted
/// (issue 18: it loaded without a word); a re-rating at another time is no repeat.
#[test]
fn duplicated_rows_are_counted_and_dropped() {
    let base = fixture("movielens/latest");
    let once = data::load("movielens", &base).unwrap();
    assert_eq!(once.duplicate_rows, 0);
    let mut twice = base.clone();
    let ratings = String::from_utf8(base["ratings.csv"].clone()).unwrap();
    let mut lines = ratings.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let doubled = std::iter::once(header)
        .chain(rows.iter().copied())
        .chain(rows.iter().copied())
        .collect::<Vec<_>>()
        .join("\n");
    twice.insert("ratings.csv".into(), doubled.into_bytes());
    let d = data::load("movielens", &twice).unwrap();
    assert_eq!(d.duplicate_rows, rows.len());
    assert_eq!(d.interactions, once.interactions);
    // the same user and item at another time is a second rating, kept
    let mut again = base.clone();
    again.insert(
        "ratings.csv".into(),
        format!("{ratings}\n10,1,2.0,5000\n").into_bytes(),
    );
    let d = data::load("movielens", &again).unwrap();
    assert_eq!(d.duplicate_rows, 0);
    assert_eq!(d.interactions.len(), once.interactions.len() + 1);
    // ... but counted, to be reported, as is a conflicting value at the same time
    assert_eq!((once.repeated_pairs, d.repeated_pairs), (0, 1));
    let first = rows[0].rsplitn(3, ',').collect::<Vec<_>>(); // [time, rating, "user,item"]
    let conflict = format!(
        "{},{},{}",
        first[2],
        if first[1] == "1.0" { "2.0" } else { "1.0" },
        first[0]
    );
    let mut conflicting = base.clone();
    conflicting.insert(
        "ratings.csv".into(),
        format!("{ratings}\n{conflict}\n").into_bytes(),
    );
    let d = data::load("movielens", &conflicting).unwrap();
    assert_eq!((d.duplicate_rows, d.repeated_pairs), (0, 1), "{conflict}");
}

/// ml-100k's u.item is Latin-1; one line saved as Latin-1 in a file otherwise
/// re-encoded to UTF-8 is an error naming both lines, not every title garbled.
#[test]
fn mixed_encodings_in_one_file_name_the_lines() {
    let mut f = fixture("movielens/100k");
    let item = f["u.item"].clone();
    let text = String::from_utf8_lossy(&item).replace('\u{fffd}', "é");
    let mut lines: Vec<Vec<u8>> = text.lines().map(|l| l.as_bytes().to_vec()).collect();
    // line 1 in UTF-8 with an accent, the last line with a Latin-1 é (0xe9)
    lines[0].extend_from_slice("é".as_bytes());
    lines.last_mut().unwrap().push(0xe9);
    f.insert("u.item".into(), lines.join(&b'\n'));
    let e = err("movielens", &f);
    assert!(
        e.contains("u.item: mixed encodings: line 1 is UTF-8 but line")
            && e.contains("is not (byte 0xe9"),
        "{e}"
    );
}
