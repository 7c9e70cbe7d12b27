//! MovieLens in its three official layouts, detected from the files present:
//! - ml-latest / ml-latest-small: `ratings.csv`, `movies.csv`, optional `tags.csv` (UTF-8 CSV);
//! - ml-100k: `u.data` (tab-separated), `u.item` (`|`-separated, Latin-1), optional
//!   `u.genre` and `u.user`;
//! - ml-1m: `ratings.dat`, `movies.dat` (Latin-1), optional `users.dat`, `::`-separated.
//!
//! Items are the movies of the movies file (also those nobody rated), users those
//! with at least one rating; both are numbered in ascending order of their
//! original id. A movie's first genre is its primary category (`unknown` when it
//! has none); category names are numbered in order of first use, going through
//! the items in order. Item text is `Title (year); genres: A, B` plus, for
//! ml-latest with `tags.csv`, its most frequent tags.

use super::csv::{latin1, lines, parse_f32, parse_i64, parse_id, split_exact, utf8, Table};
use super::index::{sort_interactions, Categories, IdIndex, UNKNOWN};
use super::{check_files, find_file, require_file, DataFiles, Dataset, Interaction, ItemInfo};
use crate::error::{Error, Result};
use std::collections::HashMap;

/// ml-latest datasets with fewer ratings than this are named "ml-latest-small".
pub const SMALL_LIMIT: usize = 200_000;

/// Tags shown per movie in its text (the most frequent first).
const MAX_TAGS: usize = 5;

/// The genres of ml-100k in `u.genre` order, used when `u.genre` is absent.
pub const ML_100K_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// ml-1m `users.dat` age codes (from the release's README).
const ML_1M_AGES: [(u64, &str); 7] = [
    (1, "under 18"),
    (18, "18-24"),
    (25, "25-34"),
    (35, "35-44"),
    (45, "45-49"),
    (50, "50-55"),
    (56, "56+"),
];

/// ml-1m `users.dat` occupation codes 0..=20 (from the release's README).
const ML_1M_OCCUPATIONS: [&str; 21] = [
    "other or not specified",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
];

struct Movie {
    id: u64,
    line: usize,
    title: String,
    genres: Vec<String>,
}

/// The movies of one file, sorted by id, with their index.
struct Movies {
    file: String,
    list: Vec<Movie>,
    index: IdIndex,
}

impl Movies {
    fn new(file: &str, mut list: Vec<Movie>) -> Result<Movies> {
        if list.is_empty() {
            return Err(Error::new(format!("{file}: no movies")));
        }
        list.sort_by_key(|m| m.id);
        for pair in list.windows(2) {
            if pair[0].id == pair[1].id {
                let (a, b) = (
                    pair[0].line.min(pair[1].line),
                    pair[0].line.max(pair[1].line),
                );
                return Err(Error::new(format!(
                    "{file} line {b}: movie id {} appears again (first on line {a})",
                    pair[0].id
                )));
            }
        }
        let index = IdIndex::new(list.iter().map(|m| m.id).collect());
        Ok(Movies {
            file: file.to_string(),
            list,
            index,
        })
    }

    /// The dense index of movie `id`, or an error for line `line` of `file`.
    fn item(&self, file: &str, line: usize, column: &str, id: u64) -> Result<u32> {
        self.index.get(id).ok_or_else(|| {
            Error::new(format!(
                "{file} line {line}: {column} {id} is not in {}",
                self.file
            ))
        })
    }
}

/// A rating with the original user id (users are numbered once all are known).
struct Rating {
    user: u64,
    item: u32,
    value: f32,
    timestamp: i64,
}

/// Loads whichever MovieLens layout `files` holds.
pub fn load(files: &DataFiles) -> Result<Dataset> {
    match check_files("movielens", files)?.variant {
        "ml-latest" => load_latest(files),
        "ml-100k" => load_100k(files),
        _ => load_1m(files),
    }
}

/// A rating from the fields (user, item, rating, timestamp) of a headerless
/// format (ml-100k, ml-1m), named as that format's documentation names them.
fn rating_row(
    file: &str,
    line: usize,
    names: [&str; 4],
    fields: &[&str],
    movies: &Movies,
    range: (f32, f32),
) -> Result<Rating> {
    let [user, item, rating, time] = names;
    Ok(Rating {
        user: parse_id(file, line, user, fields[0])?,
        item: movies.item(file, line, item, parse_id(file, line, item, fields[1])?)?,
        value: check_value(
            file,
            line,
            rating,
            parse_f32(file, line, rating, fields[2])?,
            range,
        )?,
        timestamp: parse_i64(file, line, time, fields[3])?,
    })
}

fn check_value(file: &str, line: usize, what: &str, v: f32, range: (f32, f32)) -> Result<f32> {
    if v < range.0 || v > range.1 {
        return Err(Error::new(format!(
            "{file} line {line}: {what} {v} is outside [{}, {}]",
            range.0, range.1
        )));
    }
    Ok(v)
}

/// ml-latest and ml-latest-small.
pub fn load_latest(files: &DataFiles) -> Result<Dataset> {
    let range = (0.5, 5.0);
    let (file, bytes) = require_file(files, "movies.csv")?;
    let mut t = Table::new(file, utf8(file, bytes)?, "movieId,title,genres")?;
    let (c_id, c_title, c_genres) = (t.col("movieId")?, t.col("title")?, t.col("genres")?);
    let mut list = Vec::new();
    while let Some(row) = t.next_row()? {
        let genres = row
            .get(c_genres)
            .split('|')
            .map(str::trim)
            .filter(|g| !g.is_empty() && *g != "(no genres listed)")
            .map(str::to_string)
            .collect();
        list.push(Movie {
            id: row.id(c_id)?,
            line: row.line,
            title: row.get(c_title).trim().to_string(),
            genres,
        });
    }
    let movies = Movies::new(file, list)?;

    let (file, bytes) = require_file(files, "ratings.csv")?;
    let mut t = Table::new(file, utf8(file, bytes)?, "userId,movieId,rating,timestamp")?;
    let (c_user, c_movie) = (t.col("userId")?, t.col("movieId")?);
    let (c_rating, c_time) = (t.col("rating")?, t.col("timestamp")?);
    let mut ratings = Vec::new();
    while let Some(row) = t.next_row()? {
        let item = movies.item(file, row.line, "movieId", row.id(c_movie)?)?;
        ratings.push(Rating {
            user: row.id(c_user)?,
            item,
            value: check_value(file, row.line, "rating", row.f32(c_rating)?, range)?,
            timestamp: parse_i64(file, row.line, "timestamp", row.get(c_time))?,
        });
    }
    if ratings.is_empty() {
        return Err(Error::new(format!("{file}: no ratings")));
    }

    let tags = match find_file(files, "tags.csv")? {
        Some((file, bytes)) => top_tags(file, utf8(file, bytes)?, &movies)?,
        None => HashMap::new(),
    };
    let name = if ratings.len() < SMALL_LIMIT {
        "ml-latest-small"
    } else {
        "ml-latest"
    };
    Ok(assemble(
        name,
        movies,
        ratings,
        HashMap::new(),
        &tags,
        range,
    ))
}

/// The most frequent tags of each movie (case-insensitive; ties in order of first use).
fn top_tags(file: &str, text: &str, movies: &Movies) -> Result<HashMap<u32, Vec<String>>> {
    let mut t = Table::new(file, text, "userId,movieId,tag,timestamp")?;
    let (c_movie, c_tag) = (t.col("movieId")?, t.col("tag")?);
    // (item, lower-case tag) -> (count, first use, spelling first seen)
    let mut counts: HashMap<(u32, String), (usize, usize, String)> = HashMap::new();
    let mut order = 0;
    while let Some(row) = t.next_row()? {
        let item = movies.item(file, row.line, "movieId", row.id(c_movie)?)?;
        let tag = super::one_line(row.get(c_tag));
        if tag.is_empty() {
            continue;
        }
        order += 1;
        counts
            .entry((item, tag.to_lowercase()))
            .or_insert((0, order, tag))
            .0 += 1;
    }
    let mut by_item: HashMap<u32, Vec<(usize, usize, String)>> = HashMap::new();
    for ((item, _), entry) in counts {
        by_item.entry(item).or_default().push(entry);
    }
    Ok(by_item
        .into_iter()
        .map(|(item, mut tags)| {
            tags.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            (item, tags.into_iter().take(MAX_TAGS).map(|t| t.2).collect())
        })
        .collect())
}

/// ml-100k.
pub fn load_100k(files: &DataFiles) -> Result<Dataset> {
    let range = (1.0, 5.0);
    let genre_names: Vec<String> = match find_file(files, "u.genre")? {
        Some((file, bytes)) => read_100k_genres(file, &latin1(file, bytes)?)?,
        None => ML_100K_GENRES.iter().map(|g| g.to_string()).collect(),
    };

    let (file, bytes) = require_file(files, "u.item")?;
    let text = latin1(file, bytes)?;
    let expected = 5 + genre_names.len();
    let layout = format!(
        "movie id | title | release date | video release date | IMDb URL | {} genre flags",
        genre_names.len()
    );
    let mut fields = Vec::new();
    let mut list = Vec::new();
    for (line, content) in lines(&text) {
        split_exact(file, line, content, "|", expected, &layout, &mut fields)?;
        let mut genres = Vec::new();
        for (flag, genre) in fields[5..].iter().zip(&genre_names) {
            match flag.trim() {
                "0" => {}
                "1" => genres.push(genre.clone()),
                other => {
                    return Err(Error::new(format!(
                        "{file} line {line}: genre flag \"{other}\" ({genre}) must be 0 or 1"
                    )))
                }
            }
        }
        list.push(Movie {
            id: parse_id(file, line, "movie id", fields[0])?,
            line,
            title: fields[1].trim().to_string(),
            genres,
        });
    }
    let movies = Movies::new(file, list)?;

    let (file, bytes) = require_file(files, "u.data")?;
    let text = latin1(file, bytes)?;
    let mut ratings = Vec::new();
    for (line, content) in lines(&text) {
        fields.clear();
        fields.extend(content.split_ascii_whitespace());
        if fields.len() != 4 {
            return Err(Error::new(format!(
                "{file} line {line}: expected 4 fields (user id, item id, rating, timestamp) \
                 separated by tabs, found {}",
                fields.len()
            )));
        }
        let names = ["user id", "item id", "rating", "timestamp"];
        ratings.push(rating_row(file, line, names, &fields, &movies, range)?);
    }
    if ratings.is_empty() {
        return Err(Error::new(format!("{file}: no ratings")));
    }

    let mut user_text = HashMap::new();
    if let Some((file, bytes)) = find_file(files, "u.user")? {
        let text = latin1(file, bytes)?;
        for (line, content) in lines(&text) {
            split_exact(
                file,
                line,
                content,
                "|",
                5,
                "user id | age | gender | occupation | zip code",
                &mut fields,
            )?;
            let id = parse_id(file, line, "user id", fields[0])?;
            let words = format!(
                "age {}, {}, occupation: {}, zip code {}",
                fields[1].trim(),
                gender(fields[2]),
                fields[3].trim(),
                fields[4].trim()
            );
            insert_user(&mut user_text, file, line, id, words)?;
        }
    }
    Ok(assemble(
        "ml-100k",
        movies,
        ratings,
        user_text,
        &HashMap::new(),
        range,
    ))
}

/// `u.genre`: `name|index` lines; the indices must be 0..n.
fn read_100k_genres(file: &str, text: &str) -> Result<Vec<String>> {
    let mut pairs = Vec::new();
    let mut fields = Vec::new();
    for (line, content) in lines(text) {
        split_exact(file, line, content, "|", 2, "name | index", &mut fields)?;
        let index = parse_id(file, line, "index", fields[1])?;
        pairs.push((index, fields[0].trim().to_string(), line));
    }
    pairs.sort_by_key(|p| p.0);
    for (i, (index, _, line)) in pairs.iter().enumerate() {
        if *index != i as u64 {
            return Err(Error::new(format!(
                "{file} line {line}: genre index {index} out of sequence \
                 (expected the indices 0..{} once each)",
                pairs.len()
            )));
        }
    }
    if pairs.is_empty() {
        return Err(Error::new(format!("{file}: no genres")));
    }
    Ok(pairs.into_iter().map(|p| p.1).collect())
}

/// ml-1m.
pub fn load_1m(files: &DataFiles) -> Result<Dataset> {
    let range = (1.0, 5.0);
    let (file, bytes) = require_file(files, "movies.dat")?;
    let text = latin1(file, bytes)?;
    let mut fields = Vec::new();
    let mut list = Vec::new();
    for (line, content) in lines(&text) {
        split_exact(
            file,
            line,
            content,
            "::",
            3,
            "MovieID::Title::Genres",
            &mut fields,
        )?;
        list.push(Movie {
            id: parse_id(file, line, "MovieID", fields[0])?,
            line,
            title: fields[1].trim().to_string(),
            genres: fields[2]
                .split('|')
                .map(str::trim)
                .filter(|g| !g.is_empty() && *g != "(no genres listed)")
                .map(str::to_string)
                .collect(),
        });
    }
    let movies = Movies::new(file, list)?;

    let (file, bytes) = require_file(files, "ratings.dat")?;
    let text = latin1(file, bytes)?;
    let mut ratings = Vec::new();
    for (line, content) in lines(&text) {
        split_exact(
            file,
            line,
            content,
            "::",
            4,
            "UserID::MovieID::Rating::Timestamp",
            &mut fields,
        )?;
        let names = ["UserID", "MovieID", "Rating", "Timestamp"];
        ratings.push(rating_row(file, line, names, &fields, &movies, range)?);
    }
    if ratings.is_empty() {
        return Err(Error::new(format!("{file}: no ratings")));
    }

    let mut user_text = HashMap::new();
    if let Some((file, bytes)) = find_file(files, "users.dat")? {
        let text = latin1(file, bytes)?;
        for (line, content) in lines(&text) {
            split_exact(
                file,
                line,
                content,
                "::",
                5,
                "UserID::Gender::Age::Occupation::Zip-code",
                &mut fields,
            )?;
            let id = parse_id(file, line, "UserID", fields[0])?;
            let age = parse_id(file, line, "Age", fields[2])?;
            let age = ML_1M_AGES
                .iter()
                .find(|a| a.0 == age)
                .map_or_else(|| format!("age code {age}"), |a| format!("age {}", a.1));
            let occupation = parse_id(file, line, "Occupation", fields[3])?;
            let occupation = usize::try_from(occupation)
                .ok()
                .and_then(|o| ML_1M_OCCUPATIONS.get(o))
                .map_or_else(|| format!("code {occupation}"), |o| o.to_string());
            let words = format!(
                "{}, {age}, occupation: {occupation}, zip code {}",
                gender(fields[1]),
                fields[4].trim()
            );
            insert_user(&mut user_text, file, line, id, words)?;
        }
    }
    Ok(assemble(
        "ml-1m",
        movies,
        ratings,
        user_text,
        &HashMap::new(),
        range,
    ))
}

fn gender(code: &str) -> String {
    match code.trim() {
        "M" | "m" => "male".to_string(),
        "F" | "f" => "female".to_string(),
        other => format!("gender {other}"),
    }
}

fn insert_user(
    map: &mut HashMap<u64, String>,
    file: &str,
    line: usize,
    id: u64,
    words: String,
) -> Result<()> {
    if map.insert(id, words).is_some() {
        return Err(Error::new(format!(
            "{file} line {line}: user id {id} appears again"
        )));
    }
    Ok(())
}

fn assemble(
    name: &str,
    movies: Movies,
    ratings: Vec<Rating>,
    mut user_text: HashMap<u64, String>,
    tags: &HashMap<u32, Vec<String>>,
    value_range: (f32, f32),
) -> Dataset {
    let users = IdIndex::new(ratings.iter().map(|r| r.user).collect());
    let mut interactions: Vec<Interaction> = ratings
        .iter()
        .map(|r| Interaction {
            // Every rating's user is in the index built from the ratings.
            user: users.get(r.user).unwrap_or(0),
            item: r.item,
            value: r.value,
            timestamp: r.timestamp,
        })
        .collect();
    sort_interactions(&mut interactions);

    let mut categories = Categories::default();
    let mut items = Vec::with_capacity(movies.list.len());
    for (i, movie) in movies.list.iter().enumerate() {
        let cats = if movie.genres.is_empty() {
            vec![categories.id(UNKNOWN)]
        } else {
            movie.genres.iter().map(|g| categories.id(g)).collect()
        };
        let mut text = movie.title.clone();
        if !movie.genres.is_empty() {
            text += &format!("; genres: {}", movie.genres.join(", "));
        }
        if let Some(tags) = tags.get(&(i as u32)) {
            text += &format!("; tags: {}", tags.join(", "));
        }
        items.push(ItemInfo {
            title: movie.title.clone(),
            categories: cats,
            text,
        });
    }
    Dataset {
        name: name.to_string(),
        user_text: users
            .ids()
            .iter()
            .map(|id| user_text.remove(id).unwrap_or_default())
            .collect(),
        user_ids: users.strings(),
        item_ids: movies.index.strings(),
        interactions,
        test: Vec::new(),
        items,
        category_names: categories.into_names(),
        value_range,
        fully_observed: false,
        duplicate_rows: 0,
        repeated_pairs: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &[u8])]) -> DataFiles {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect()
    }

    const LATEST_MOVIES: &str = "movieId,title,genres\n\
        1,Toy Story (1995),Adventure|Animation|Comedy\n\
        3,\"American President, The (1995)\",Comedy|Drama|Romance\n\
        2,\"Big \"\"Quote\"\" (2000)\",(no genres listed)\n";

    #[test]
    fn latest_loads_ratings_titles_genres_and_tags() {
        let f = files(&[
            ("movies.csv", LATEST_MOVIES.as_bytes()),
            (
                "ratings.csv",
                b"userId,movieId,rating,timestamp\r\n5,3,4.5,20\r\n5,1,0.5,10\r\n1,1,5.0,30\r\n",
            ),
            (
                "tags.csv",
                b"userId,movieId,tag,timestamp\n1,1,pixar,1\n2,1,Pixar,2\n3,1,\"toys, fun\",3\n",
            ),
        ]);
        let d = load(&f).unwrap();
        assert_eq!(d.name, "ml-latest-small");
        assert_eq!(d.user_ids, ["1", "5"]);
        assert_eq!(d.item_ids, ["1", "2", "3"]);
        assert_eq!(d.items[2].title, "American President, The (1995)");
        assert_eq!(d.items[1].title, "Big \"Quote\" (2000)");
        assert_eq!(
            d.items[0].text,
            "Toy Story (1995); genres: Adventure, Animation, Comedy; tags: pixar, toys, fun"
        );
        assert_eq!(
            d.category_names,
            [
                "Adventure",
                "Animation",
                "Comedy",
                "unknown",
                "Drama",
                "Romance"
            ]
        );
        assert_eq!(d.items[1].categories, [3]);
        assert_eq!(d.items[2].categories, [2, 4, 5]);
        let got: Vec<_> = d
            .interactions
            .iter()
            .map(|x| (x.user, x.item, x.value, x.timestamp))
            .collect();
        assert_eq!(got, [(0, 0, 5.0, 30), (1, 0, 0.5, 10), (1, 2, 4.5, 20)]);
        assert_eq!(d.value_range, (0.5, 5.0));
        assert_eq!(d.user_text, ["", ""]);
    }

    #[test]
    fn latest_errors_name_file_and_line() {
        let movies = ("movies.csv", LATEST_MOVIES.as_bytes());
        let e = load(&files(&[
            movies,
            (
                "ratings.csv",
                b"userId,movieId,rating,timestamp\n1,1,4,1\n1,99999,4,1\n",
            ),
        ]))
        .unwrap_err();
        assert_eq!(
            e.message(),
            "ratings.csv line 3: movieId 99999 is not in movies.csv"
        );
        let e = load(&files(&[
            movies,
            (
                "ratings.csv",
                b"userId,movieId,rating,timestamp\n1,1,abc,1\n",
            ),
        ]))
        .unwrap_err();
        assert_eq!(
            e.message(),
            "ratings.csv line 2: rating \"abc\" is not a number"
        );
        let e = load(&files(&[
            movies,
            ("ratings.csv", b"userId,movieId,rating,timestamp\n1,1,7,1\n"),
        ]))
        .unwrap_err();
        assert_eq!(
            e.message(),
            "ratings.csv line 2: rating 7 is outside [0.5, 5]"
        );
        let e = load(&files(&[
            movies,
            ("ratings.csv", b"userId,movieId,timestamp\n1,1,1\n"),
        ]))
        .unwrap_err();
        assert!(e
            .message()
            .starts_with("ratings.csv: missing column \"rating\""));
        let e = load(&files(&[
            movies,
            ("ratings.csv", b"userId,movieId,rating,timestamp\n"),
        ]))
        .unwrap_err();
        assert_eq!(e.message(), "ratings.csv: no ratings");
        let e = load(&files(&[
            (
                "movies.csv",
                b"movieId,title,genres\n1,A,Drama\n1,B,Drama\n",
            ),
            ("ratings.csv", b"userId,movieId,rating,timestamp\n1,1,4,1\n"),
        ]))
        .unwrap_err();
        assert_eq!(
            e.message(),
            "movies.csv line 3: movie id 1 appears again (first on line 2)"
        );
    }

    #[test]
    fn ml_100k_decodes_latin1_and_reads_flags_and_users() {
        let mut item =
            b"1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
                .to_vec();
        item.extend_from_slice(
            b"2|Am\xe9lie (2001)|01-Jan-2001||http://y|0|0|0|0|0|1|0|0|0|0|0|0|0|0|1|0|0|0|0\n",
        );
        item.extend_from_slice(b"3|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
        let f = files(&[
            ("u.item", &item),
            ("u.data", b"7\t2\t5\t881250949\n3\t1\t3\t881250000\n"),
            (
                "u.user",
                b"3|24|M|technician|85711\n7|53|F|other|94043\n9|1|M|x|0\n",
            ),
        ]);
        let d = load(&f).unwrap();
        assert_eq!(d.name, "ml-100k");
        assert_eq!(d.items[1].title, "Amélie (2001)");
        assert_eq!(
            d.items[0].text,
            "Toy Story (1995); genres: Animation, Children's, Comedy"
        );
        assert_eq!(
            d.category_names[d.items[2].categories[0] as usize],
            "unknown"
        );
        assert_eq!(d.user_ids, ["3", "7"]);
        assert_eq!(
            d.user_text,
            [
                "age 24, male, occupation: technician, zip code 85711",
                "age 53, female, occupation: other, zip code 94043"
            ]
        );
        assert_eq!(d.value_range, (1.0, 5.0));

        let e = load(&files(&[("u.item", &item), ("u.data", b"7\t2\t5\n")])).unwrap_err();
        assert!(
            e.message().starts_with("u.data line 1: expected 4 fields"),
            "{e}"
        );
        let e = load(&files(&[("u.item", &item), ("u.data", b"7\t4\t5\t1\n")])).unwrap_err();
        assert_eq!(e.message(), "u.data line 1: item id 4 is not in u.item");
        let e = load(&files(&[
            ("u.item", b"1|A|||x|0|2\n"),
            ("u.data", b"1\t1\t5\t1\n"),
        ]))
        .unwrap_err();
        assert!(
            e.message().starts_with("u.item line 1: expected 24 fields"),
            "{e}"
        );
    }

    #[test]
    fn ml_100k_uses_u_genre_when_present() {
        let f = files(&[
            ("u.genre", b"unknown|0\nDrama|2\nComedy|1\n\n"),
            ("u.item", b"1|A (1999)|||x|0|1|1\n"),
            ("u.data", b"1\t1\t4\t5\n"),
        ]);
        let d = load(&f).unwrap();
        assert_eq!(d.items[0].text, "A (1999); genres: Comedy, Drama");
        let f = files(&[
            ("u.genre", b"unknown|0\nDrama|2\n"),
            ("u.item", b"1|A (1999)|||x|0|1\n"),
            ("u.data", b"1\t1\t4\t5\n"),
        ]);
        assert!(load(&f).unwrap_err().message().contains("out of sequence"));
    }

    #[test]
    fn ml_1m_reads_dat_files() {
        let f = files(&[
            (
                "movies.dat",
                b"1::Toy Story (1995)::Animation|Children's|Comedy\n2::Caf\xe9 (1999)::Drama\n",
            ),
            ("ratings.dat", b"1::1::5::978300760\n1::2::3::978302109\n"),
            ("users.dat", b"1::F::1::10::48067\n2::M::56::16::70072\n"),
        ]);
        let d = load(&f).unwrap();
        assert_eq!(d.name, "ml-1m");
        assert_eq!(d.items[1].title, "Café (1999)");
        assert_eq!(
            d.user_text,
            ["female, age under 18, occupation: K-12 student, zip code 48067"]
        );
        let e = load(&files(&[
            ("movies.dat", b"1::A::Drama\n"),
            ("ratings.dat", b"1::1::5\n"),
        ]))
        .unwrap_err();
        assert!(
            e.message()
                .starts_with("ratings.dat line 1: expected 4 fields"),
            "{e}"
        );
    }
}
