//! The loaders on the real releases, when present: first `data/<name>` at the
//! repository root, then `../shared/data/<name>` next to the checkout. A test
//! whose folder is absent says so and passes (a fresh clone may have neither).

use ialp_sim::data::{self, csv::Table, DataFiles, Dataset};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn read_folder(dir: &Path) -> DataFiles {
    fn walk(root: &Path, dir: &Path, out: &mut DataFiles) {
        for entry in std::fs::read_dir(dir).expect("data folder") {
            let path = entry.expect("data entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let key = path.strip_prefix(root).expect("under root");
                let key = key.to_string_lossy().replace('\\', "/");
                // Propensities (2 MB) are not read by the loader.
                if !key.ends_with("propensities.ascii") {
                    out.insert(key, std::fs::read(&path).expect("data file"));
                }
            }
        }
    }
    let mut out = DataFiles::new();
    walk(dir, dir, &mut out);
    out
}

/// The folder of dataset `name`, or `None` after saying it was not found.
fn folder(name: &str) -> Option<PathBuf> {
    let candidates = [
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../data"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"),
    ];
    for base in candidates {
        let dir = Path::new(base).join(name);
        if dir.is_dir() {
            return Some(dir);
        }
    }
    println!("{name}: not found under data/ or ../shared/data; skipping this test");
    None
}

fn load_timed(format: &str, files: &DataFiles) -> Dataset {
    let start = Instant::now();
    let d = data::load(format, files).unwrap();
    println!(
        "{}: {} users, {} items, {} interactions, {} test, in {:?}",
        d.name,
        d.n_users(),
        d.n_items(),
        d.interactions.len(),
        d.test.len(),
        start.elapsed()
    );
    d
}

#[test]
fn ml_latest_small() {
    let Some(dir) = folder("ml-latest-small") else {
        return;
    };
    let d = load_timed("movielens", &read_folder(&dir));
    assert_eq!(d.name, "ml-latest-small");
    assert_eq!(d.interactions.len(), 100_836);
    assert_eq!(d.n_users(), 610);
    assert_eq!(d.n_items(), 9_742);
    assert_eq!(d.user_text.len(), 610);
    assert_eq!(d.value_range, (0.5, 5.0));
    let rated: std::collections::BTreeSet<u32> = d.interactions.iter().map(|x| x.item).collect();
    assert_eq!(rated.len(), 9_724);
    // 19 genres, and "unknown" for the 34 movies with "(no genres listed)".
    assert_eq!(d.category_names.len(), 20);
    let unknown = d
        .category_names
        .iter()
        .position(|c| c == "unknown")
        .unwrap() as u32;
    assert_eq!(
        d.items.iter().filter(|i| i.categories == [unknown]).count(),
        34
    );
    assert!(d.items[0]
        .text
        .starts_with("Toy Story (1995); genres: Adventure, Animation, Children, Comedy, Fantasy"));
    assert!(d
        .interactions
        .windows(2)
        .all(|w| (w[0].user, w[0].timestamp) <= (w[1].user, w[1].timestamp)));
    // Titles quoted for commas and doubled quotes.
    assert!(d
        .items
        .iter()
        .any(|i| i.title == "11'09\"01 - September 11 (2002)"));
}

#[test]
fn coat() {
    let Some(dir) = folder("coat") else {
        return;
    };
    let d = load_timed("coat", &read_folder(&dir));
    assert_eq!((d.n_users(), d.n_items()), (290, 300));
    assert_eq!(d.interactions.len(), 6_960);
    assert_eq!(d.test.len(), 4_640);
    let histogram = |xs: &[ialp_sim::data::Interaction]| {
        let mut h = [0; 5];
        for x in xs {
            h[x.value as usize - 1] += 1;
        }
        h
    };
    assert_eq!(histogram(&d.interactions), [1901, 1437, 1717, 1275, 630]);
    assert_eq!(histogram(&d.test), [1879, 899, 1002, 641, 219]);
    // Every coat has one of the 16 jacket types.
    assert_eq!(d.category_names.len(), 16);
    assert!(!d.category_names.iter().any(|c| c == "unknown"));
    assert!(d.items.iter().all(|i| i.categories.len() == 1));
    assert!(
        d.items[0].text.contains("jacket, type: "),
        "{}",
        d.items[0].text
    );
    assert!(d.user_text.iter().all(|t| t.starts_with("gender: ")));
    println!("item 0: {} | user 0: {}", d.items[0].text, d.user_text[0]);
}

/// The KuaiRec side files here come without a matrix: check that the loader
/// says so, then load them with a small matrix over real video ids.
#[test]
fn kuairec_side_files() {
    let Some(dir) = folder("kuairec") else {
        return;
    };
    let mut files = read_folder(&dir);
    let e = data::load("kuairec", &files).unwrap_err();
    assert!(e
        .message()
        .starts_with("kuairec: none of small_matrix.csv, big_matrix.csv found"));

    let text = |name: &str| std::str::from_utf8(&files[name]).unwrap().to_string();
    let count = |name: &str| {
        let text = text(name);
        let mut t = Table::new(name, &text, "").unwrap();
        let mut n = 0;
        while t.next_row().unwrap().is_some() {
            n += 1;
        }
        n
    };
    // Four captions hold a bare CR inside an unquoted field: still 10,728 rows.
    assert_eq!(count("kuairec_caption_category.csv"), 10_728);
    assert_eq!(count("item_categories.csv"), 10_728);
    assert_eq!(count("user_features.csv"), 7_176);

    let mut matrix =
        "user_id,video_id,play_duration,video_duration,time,date,timestamp,watch_ratio\n"
            .to_string();
    for user in 0..20 {
        // The four videos with a CR in their caption, and every 7th.
        let with_cr = [1378, 1613, 5910, 6331];
        for video in (0..10_728).step_by(7).chain(with_cr) {
            let ratio = ((user * 31 + video) % 200) as f32 / 100.0;
            matrix += &format!("{user},{video},1,1,,,{},{ratio}\n", 1_593_878_400 + video);
        }
    }
    files.insert("small_matrix.csv".to_string(), matrix.into_bytes());
    let d = load_timed("kuairec", &files);
    assert!(d.fully_observed);
    assert_eq!(d.n_users(), 20);
    assert_eq!(d.n_items(), 10_728usize.div_ceil(7) + 4);
    assert_eq!(d.value_range, (0.0, 1.99));
    assert!(d.category_names.len() <= 32);
    assert!(d.category_names.iter().any(|c| c == "颜值 (tag 8)"));
    assert!(d
        .items
        .iter()
        .all(|i| !i.text.contains(['\r', '\n']) && !i.title.is_empty()));
    assert!(
        d.user_text[0].starts_with("activity: "),
        "{}",
        d.user_text[0]
    );
    println!("{:?}", d.category_names);
    println!("item 0: {} | user 0: {}", d.items[0].text, d.user_text[0]);
}

#[test]
fn kuairand_pure() {
    let Some(dir) = folder("kuairand") else {
        return;
    };
    let d = load_timed("kuairand", &read_folder(&dir));
    assert_eq!(d.name, "kuairand-pure");
    assert!(d.n_items() > 0);
}
