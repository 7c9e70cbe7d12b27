//! KuaiRec 2.0 (Gao et al., CIKM 2022): Kuaishou short videos.
//! - `small_matrix.csv` (1,411 users x 3,327 videos, nearly every pair watched) or
//!   `big_matrix.csv`: `user_id,video_id,play_duration,video_duration,time,date,
//!   timestamp,watch_ratio`; the value is `watch_ratio`. The small matrix is used
//!   when both are given (set `fully_observed`).
//! - `item_categories.csv`: `video_id,feat`, feat a list of tag ids (`[8]`, `"[27, 9]"`).
//! - optional `kuairec_caption_category.csv` (captions, topics, a 3-level category
//!   tree in Chinese) and `user_features.csv`.
//!
//! Items are the videos of the matrix and users its users, both in ascending id
//! order (the side files cover all 10,728 videos of the big matrix; the others
//! are left out so that the small matrix stays fully observed). Categories are
//! the `feat` tags, the first one primary, as in KuaiEnv/EasyRL4Rec. Tags have
//! no names in the release; with the caption file a tag is named after the
//! first-level category most of its videos carry, e.g. `颜值 (tag 8)` (the tag ids
//! match the first-level category ids for about three videos in four only).
//! Timestamps: the `timestamp` column, else `time`, else `date` (Beijing time);
//! a row with none of them gets 0 and so comes first in its user's sequence.

use super::csv::{is_missing, parse_datetime, utf8, Row, Table};
use super::index::{sort_interactions, Categories, IdIndex, UNKNOWN};
use super::{
    check_files, find_file, one_line, require_file, DataFiles, Dataset, Interaction, ItemInfo,
};
use crate::error::{Error, Result};
use std::collections::HashMap;

/// Beijing time, in which Kuaishou writes dates, is UTC+8.
pub const BEIJING: i64 = 8 * 3600;

/// Characters of a caption kept in an item's title (the text has all of it).
const TITLE_CHARS: usize = 60;

/// Missing values in the Kuaishou releases.
fn is_absent(s: &str) -> bool {
    let s = s.trim();
    is_missing(s) || s == "UNKNOWN" || s == "-124"
}

struct Caption {
    cover: String,
    caption: String,
    topics: String,
    levels: Vec<String>,
    first_level: Option<(i64, String)>,
}

pub fn load(files: &DataFiles) -> Result<Dataset> {
    let set = check_files("kuairec", files)?;
    let small = set.variant == "kuairec-small";
    let tags = read_item_categories(files)?;
    let captions = match find_file(files, "kuairec_caption_category.csv")? {
        Some((file, bytes)) => Some(read_captions(file, utf8(file, bytes)?)?),
        None => None,
    };
    let user_text = match find_file(files, "user_features.csv")? {
        Some((file, bytes)) => user_texts(file, utf8(file, bytes)?)?,
        None => HashMap::new(),
    };

    let (file, bytes) = require_file(files, set.required[0])?;
    let mut t = Table::new(
        file,
        utf8(file, bytes)?,
        "user_id,video_id,play_duration,video_duration,time,date,timestamp,watch_ratio",
    )?;
    let (c_user, c_video, c_value) = (t.col("user_id")?, t.col("video_id")?, t.col("watch_ratio")?);
    let times = TimeColumns {
        seconds: t.header().find("timestamp"),
        datetime: t.header().find("time"),
        date: t.header().find("date"),
    };
    let (tags_file, _) = require_file(files, "item_categories.csv")?;
    let mut rows: Vec<(u64, u64, f32, i64)> = Vec::new();
    while let Some(row) = t.next_row()? {
        let video = row.id(c_video)?;
        if !tags.contains_key(&video) {
            return Err(Error::new(format!(
                "{file} line {}: video_id {video} is not in {tags_file}",
                row.line
            )));
        }
        let value = row.f32(c_value)?;
        if value < 0.0 {
            return Err(Error::new(format!(
                "{file} line {}: watch_ratio {value} is negative",
                row.line
            )));
        }
        rows.push((row.id(c_user)?, video, value, times.read(&row)?));
    }
    if rows.is_empty() {
        return Err(Error::new(format!("{file}: no interactions")));
    }

    let users = IdIndex::new(rows.iter().map(|r| r.0).collect());
    let videos = IdIndex::new(rows.iter().map(|r| r.1).collect());
    let mut interactions: Vec<Interaction> = rows
        .iter()
        .map(|&(u, v, value, timestamp)| Interaction {
            user: users.get(u).unwrap_or(0),
            item: videos.get(v).unwrap_or(0),
            value,
            timestamp,
        })
        .collect();
    sort_interactions(&mut interactions);
    let lo = interactions
        .iter()
        .map(|x| x.value)
        .fold(f32::INFINITY, f32::min);
    let hi = interactions
        .iter()
        .map(|x| x.value)
        .fold(f32::NEG_INFINITY, f32::max);

    let tag_names = captions
        .as_ref()
        .map(|c| name_tags(&tags, c))
        .unwrap_or_default();
    let tag_name = |t: u32| {
        tag_names
            .get(&t)
            .map_or_else(|| format!("tag {t}"), |n| format!("{n} (tag {t})"))
    };
    let mut categories = Categories::default();
    let mut items = Vec::with_capacity(videos.len());
    for &video in videos.ids() {
        let video_tags: &[u32] = tags.get(&video).map_or(&[], Vec::as_slice);
        let names: Vec<String> = video_tags.iter().map(|&t| tag_name(t)).collect();
        let cats = if names.is_empty() {
            vec![categories.id(UNKNOWN)]
        } else {
            names.iter().map(|n| categories.id(n)).collect()
        };
        let caption = captions.as_ref().and_then(|c| c.get(&video));
        items.push(video_info(video, caption, &names, cats));
    }

    Ok(Dataset {
        name: if small {
            "kuairec-small"
        } else {
            "kuairec-big"
        }
        .to_string(),
        user_text: users
            .ids()
            .iter()
            .map(|u| user_text.get(u).cloned().unwrap_or_default())
            .collect(),
        user_ids: users.strings(),
        item_ids: videos.strings(),
        interactions,
        test: Vec::new(),
        items,
        category_names: categories.into_names(),
        value_range: (lo, hi),
        fully_observed: small,
        duplicate_rows: 0,
        repeated_pairs: 0,
    })
}

fn video_info(
    video: u64,
    caption: Option<&Caption>,
    tags: &[String],
    categories: Vec<u32>,
) -> ItemInfo {
    let mut title = format!("video {video}");
    let mut parts = Vec::new();
    if let Some(c) = caption {
        if !c.caption.is_empty() {
            title = c.caption.chars().take(TITLE_CHARS).collect();
            if c.caption.chars().count() > TITLE_CHARS {
                title.push('…');
            }
            parts.push(c.caption.clone());
        } else if !c.cover.is_empty() {
            title = c.cover.clone();
        }
        if !c.cover.is_empty() {
            parts.push(format!("cover text: {}", c.cover));
        }
        if !c.topics.is_empty() {
            parts.push(format!("topics: {}", c.topics));
        }
        if !c.levels.is_empty() {
            parts.push(format!("category: {}", c.levels.join(" > ")));
        }
    }
    if parts.is_empty() {
        parts.push(format!("video {video}"));
    }
    if !tags.is_empty() {
        parts.push(format!("tags: {}", tags.join(", ")));
    }
    ItemInfo {
        title,
        categories,
        text: parts.join("; "),
    }
}

/// `item_categories.csv`: video id -> tag ids.
fn read_item_categories(files: &DataFiles) -> Result<HashMap<u64, Vec<u32>>> {
    let (file, bytes) = require_file(files, "item_categories.csv")?;
    let mut t = Table::new(file, utf8(file, bytes)?, "video_id,feat")?;
    let (c_video, c_feat) = (t.col("video_id")?, t.col("feat")?);
    let mut tags = HashMap::new();
    while let Some(row) = t.next_row()? {
        let video = row.id(c_video)?;
        let feat = row.get(c_feat);
        let list = parse_list(feat).ok_or_else(|| {
            Error::new(format!(
                "{file} line {}: feat \"{feat}\" is not a list of tag ids like [8] or [27, 9]",
                row.line
            ))
        })?;
        if tags.insert(video, list).is_some() {
            return Err(Error::new(format!(
                "{file} line {}: video_id {video} appears again",
                row.line
            )));
        }
    }
    Ok(tags)
}

/// A Python list of small integers, `[27, 9]`.
fn parse_list(s: &str) -> Option<Vec<u32>> {
    let inner = s.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    if inner.is_empty() {
        return Some(Vec::new());
    }
    inner.split(',').map(|t| t.trim().parse().ok()).collect()
}

fn read_captions(file: &str, text: &str) -> Result<HashMap<u64, Caption>> {
    let mut t = Table::new(
        file,
        text,
        "video_id,manual_cover_text,caption,topic_tag,...",
    )?;
    let c_video = t.col("video_id")?;
    let h = t.header();
    let col = |name: &str| h.find(name);
    let (c_cover, c_caption, c_topic) =
        (col("manual_cover_text"), col("caption"), col("topic_tag"));
    let c_levels = [
        col("first_level_category_name"),
        col("second_level_category_name"),
        col("third_level_category_name"),
    ];
    let c_first_id = col("first_level_category_id");
    let mut out = HashMap::new();
    while let Some(row) = t.next_row()? {
        let get = |c: Option<usize>| -> String {
            match c.map(|c| row.get(c)) {
                Some(s) if !is_absent(s) => one_line(s),
                _ => String::new(),
            }
        };
        let topics = get(c_topic);
        let topics = topics.trim_start_matches('[').trim_end_matches(']');
        let levels: Vec<String> = c_levels
            .iter()
            .map(|&c| get(c))
            .filter(|s| !s.is_empty())
            .collect();
        let first_name = get(c_levels[0]);
        let first_level = match c_first_id.map(|c| row.get(c).trim()) {
            Some(id) if !first_name.is_empty() => id.parse().ok().map(|id| (id, first_name)),
            _ => None,
        };
        let video = row.id(c_video)?;
        let caption = Caption {
            cover: get(c_cover),
            caption: get(c_caption),
            topics: topics
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
            levels,
            first_level,
        };
        if out.insert(video, caption).is_some() {
            return Err(Error::new(format!(
                "{file} line {}: video_id {video} appears again",
                row.line
            )));
        }
    }
    Ok(out)
}

/// Each tag's name: the first-level category most of the videos whose primary
/// tag it is carry (ties to the smaller category id).
fn name_tags(
    tags: &HashMap<u64, Vec<u32>>,
    captions: &HashMap<u64, Caption>,
) -> HashMap<u32, String> {
    let mut votes: HashMap<u32, HashMap<(i64, &str), usize>> = HashMap::new();
    for (video, list) in tags {
        let (
            Some(&tag),
            Some(Caption {
                first_level: Some((id, name)),
                ..
            }),
        ) = (list.first(), captions.get(video))
        else {
            continue;
        };
        *votes
            .entry(tag)
            .or_default()
            .entry((*id, name.as_str()))
            .or_default() += 1;
    }
    votes
        .into_iter()
        .filter_map(|(tag, counts)| {
            counts
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0 .0.cmp(&a.0 .0)))
                .map(|((_, name), _)| (tag, name.to_string()))
        })
        .collect()
}

/// Where the matrix keeps its time: Unix seconds, a date and time, a date (the
/// latter two in Beijing time); the first one a row has is used.
struct TimeColumns {
    seconds: Option<usize>,
    datetime: Option<usize>,
    date: Option<usize>,
}

impl TimeColumns {
    fn read(&self, row: &Row<'_, '_>) -> Result<i64> {
        if let Some(c) = self.seconds {
            if let Some(v) = row.opt_f64(c)? {
                return Ok(v.floor() as i64);
            }
        }
        for c in [self.datetime, self.date].into_iter().flatten() {
            let s = row.get(c).trim();
            if is_missing(s) {
                continue;
            }
            let s = s.strip_suffix(".0").unwrap_or(s);
            return parse_datetime(s, BEIJING).ok_or_else(|| {
                Error::new(format!(
                    "{} line {}: \"{s}\" is not a date like 20200705 or 2020-07-05 05:27:48",
                    row.file, row.line
                ))
            });
        }
        Ok(0)
    }
}

/// User words from the user features of KuaiRec and KuaiRand (same columns);
/// the encrypted one-hot features are left out.
pub(crate) fn user_texts(file: &str, text: &str) -> Result<HashMap<u64, String>> {
    let mut t = Table::new(file, text, "user_id,user_active_degree,...")?;
    let c_user = t.col("user_id")?;
    let h = t.header();
    let words: Vec<(Option<usize>, &str)> = [
        ("user_active_degree", "activity"),
        ("follow_user_num_range", "follows"),
        ("fans_user_num_range", "fans"),
        ("friend_user_num_range", "friends"),
        ("register_days_range", "registered days"),
    ]
    .iter()
    .map(|&(c, w)| (h.find(c), w))
    .collect();
    let flags: Vec<(Option<usize>, &str)> = [
        ("is_lowactive_period", "in a low-activity period"),
        ("is_live_streamer", "live streamer"),
        ("is_video_author", "uploads videos"),
    ]
    .iter()
    .map(|&(c, w)| (h.find(c), w))
    .collect();
    let mut out = HashMap::new();
    while let Some(row) = t.next_row()? {
        let mut parts = Vec::new();
        for &(c, w) in &words {
            if let Some(c) = c {
                let v = row.get(c).trim();
                if !is_absent(v) {
                    parts.push(format!("{w}: {}", v.replace('_', " ")));
                }
            }
        }
        for &(c, w) in &flags {
            if let Some(c) = c {
                if matches!(row.get(c).trim(), "1" | "1.0") {
                    parts.push(w.to_string());
                }
            }
        }
        let user = row.id(c_user)?;
        if out.insert(user, parts.join(", ")).is_some() {
            return Err(Error::new(format!(
                "{file} line {}: user_id {user} appears again",
                row.line
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> DataFiles {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    const MATRIX: &str =
        "user_id,video_id,play_duration,video_duration,time,date,timestamp,watch_ratio\n\
        14,148,4381,6067,2020-07-05 05:27:48.378,20200705,1593898068.378,0.722\n\
        14,183,11635,6100,2020-07-05 05:28:00.057,20200705,1593898080.057,1.907\n\
        19,148,1000,6067,,,,0.164\n\
        19,183,900,6100,2020-07-05 05:28:00,20200705.0,,0.147\n";
    const CATEGORIES: &str = "video_id,feat\n148,[11]\n183,\"[28, 6]\"\n7,[]\n";
    const CAPTIONS: &str = "video_id,manual_cover_text,caption,topic_tag,first_level_category_id,first_level_category_name,second_level_category_id,second_level_category_name,third_level_category_id,third_level_category_name\n\
        148,UNKNOWN,\"晚饭后，运动一下！\nline two\",[],11,生活,-124,UNKNOWN,-124,UNKNOWN\n\
        183,封面,\"say \"\"hi\"\"\",\"[a,b]\",28,民生资讯,1,x,-124,UNKNOWN\n";

    #[test]
    fn small_matrix_with_captions() {
        let f = files(&[
            ("KuaiRec 2.0/data/small_matrix.csv", MATRIX),
            ("KuaiRec 2.0/data/item_categories.csv", CATEGORIES),
            ("KuaiRec 2.0/data/kuairec_caption_category.csv", CAPTIONS),
            (
                "user_features.csv",
                "user_id,user_active_degree,is_lowactive_period,is_live_streamer,is_video_author,follow_user_num_range,fans_user_num_range\n\
                 14,high_active,0,0,1,\"(0,10]\",0\n",
            ),
        ]);
        let d = crate::data::load("kuairec", &f).unwrap();
        assert_eq!(d.name, "kuairec-small");
        assert!(d.fully_observed);
        assert_eq!(d.user_ids, ["14", "19"]);
        assert_eq!(d.item_ids, ["148", "183"]);
        assert_eq!(d.value_range, (0.147, 1.907));
        let ts: Vec<i64> = d.interactions.iter().map(|x| x.timestamp).collect();
        // user 19: no time at all -> 0; `time` in Beijing time -> Unix seconds.
        assert_eq!(ts, [1593898068, 1593898080, 0, 1593898080]);
        assert_eq!(
            d.category_names,
            ["生活 (tag 11)", "民生资讯 (tag 28)", "tag 6"]
        );
        assert_eq!(d.items[1].categories, [1, 2]);
        assert_eq!(d.items[0].title, "晚饭后，运动一下！ line two");
        assert_eq!(
            d.items[1].text,
            "say \"hi\"; cover text: 封面; topics: a, b; category: 民生资讯 > x; tags: 民生资讯 (tag 28), tag 6"
        );
        assert_eq!(
            d.user_text,
            [
                "activity: high active, follows: (0,10], fans: 0, uploads videos",
                ""
            ]
        );
    }

    #[test]
    fn bad_inputs() {
        let e = crate::data::load(
            "kuairec",
            &files(&[
                ("big_matrix.csv", MATRIX),
                ("item_categories.csv", "video_id,feat\n148,[11]\n"),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "big_matrix.csv line 3: video_id 183 is not in item_categories.csv"
        );
        let e = crate::data::load(
            "kuairec",
            &files(&[
                ("big_matrix.csv", MATRIX),
                ("item_categories.csv", "video_id,feat\n148,eight\n"),
            ]),
        )
        .unwrap_err();
        assert!(
            e.message()
                .starts_with("item_categories.csv line 2: feat \"eight\""),
            "{e}"
        );
        let e = crate::data::load("kuairec", &files(&[("item_categories.csv", CATEGORIES)]))
            .unwrap_err();
        assert!(
            e.message()
                .starts_with("kuairec: none of small_matrix.csv, big_matrix.csv found"),
            "{e}"
        );
        let bad_date = MATRIX.replace("20200705.0", "July");
        let e = crate::data::load(
            "kuairec",
            &files(&[
                (
                    "big_matrix.csv",
                    &bad_date.replace("2020-07-05 05:28:00,", ","),
                ),
                ("item_categories.csv", CATEGORIES),
            ]),
        )
        .unwrap_err();
        assert!(
            e.message()
                .starts_with("big_matrix.csv line 5: \"July\" is not a date"),
            "{e}"
        );
    }
}
