//! KuaiRand-Pure (Gao et al., CIKM 2022): Kuaishou logs with randomly exposed videos.
//! - `log_standard_4_08_to_4_21_pure.csv` and/or `log_standard_4_22_to_5_08_pure.csv`:
//!   the logged interactions (`user_id,video_id,date,hourmin,time_ms,is_click,...,tab`);
//!   the value is `is_click`.
//! - optional `log_random_4_22_to_5_08_pure.csv`: videos shown at random -> `test`.
//! - `video_features_basic_pure.csv` (`video_id,author_id,video_type,upload_dt,
//!   upload_type,visible_status,video_duration,...,tag`).
//! - optional `user_features_pure.csv` -> user text.
//!
//! Columns are found by header name, so extra or reordered columns are fine.
//! Items are the videos of the features file (a logged video missing there is an
//! error), users those in any log, both in ascending id order. Categories are
//! the `tag` ids (`"20,43"`, the first primary; no names in the release, so
//! `tag 20`); without a `tag` column, the `video_type` (NORMAL / AD). Timestamps
//! come from `time_ms`, else `date` + `hourmin` (Beijing time), else 0.

use super::csv::{parse_datetime, utf8, Table};
use super::index::{sort_interactions, Categories, IdIndex, UNKNOWN};
use super::kuairec::{user_texts, BEIJING};
use super::{
    check_files, find_file, one_line, require_file, DataFiles, Dataset, Interaction, ItemInfo,
};
use crate::error::{Error, Result};
use std::collections::HashMap;

pub const LOG_EARLY: &str = "log_standard_4_08_to_4_21_pure.csv";
pub const LOG_LATE: &str = "log_standard_4_22_to_5_08_pure.csv";
pub const LOG_RANDOM: &str = "log_random_4_22_to_5_08_pure.csv";
pub const VIDEO_FEATURES: &str = "video_features_basic_pure.csv";
pub const USER_FEATURES: &str = "user_features_pure.csv";

const LOG_HEADER: &str = "user_id,video_id,date,hourmin,time_ms,is_click,...";

/// (original user id, dense item, is_click, timestamp)
type Logged = (u64, u32, f32, i64);

pub fn load(files: &DataFiles) -> Result<Dataset> {
    check_files("kuairand", files)?;
    let (video_file, bytes) = require_file(files, VIDEO_FEATURES)?;
    let (videos, items, category_names) = read_videos(video_file, utf8(video_file, bytes)?)?;

    let mut logged = Vec::new();
    for name in [LOG_EARLY, LOG_LATE] {
        if let Some((file, bytes)) = find_file(files, name)? {
            read_log(file, utf8(file, bytes)?, &videos, video_file, &mut logged)?;
        }
    }
    if logged.is_empty() {
        return Err(Error::new(
            "kuairand: the standard logs hold no interactions",
        ));
    }
    let mut random = Vec::new();
    if let Some((file, bytes)) = find_file(files, LOG_RANDOM)? {
        read_log(file, utf8(file, bytes)?, &videos, video_file, &mut random)?;
    }
    let user_text = match find_file(files, USER_FEATURES)? {
        Some((file, bytes)) => user_texts(file, utf8(file, bytes)?)?,
        None => HashMap::new(),
    };

    let users = IdIndex::new(logged.iter().chain(&random).map(|r| r.0).collect());
    let dense = |rows: &[Logged]| {
        let mut out: Vec<Interaction> = rows
            .iter()
            .map(|&(u, item, value, timestamp)| Interaction {
                user: users.get(u).unwrap_or(0),
                item,
                value,
                timestamp,
            })
            .collect();
        sort_interactions(&mut out);
        out
    };
    Ok(Dataset {
        name: "kuairand-pure".to_string(),
        interactions: dense(&logged),
        test: dense(&random),
        user_text: users
            .ids()
            .iter()
            .map(|u| user_text.get(u).cloned().unwrap_or_default())
            .collect(),
        user_ids: users.strings(),
        item_ids: videos.strings(),
        items,
        category_names,
        value_range: (0.0, 1.0),
        fully_observed: false,
        duplicate_rows: 0,
        repeated_pairs: 0,
    })
}

fn read_log(
    file: &str,
    text: &str,
    videos: &IdIndex,
    video_file: &str,
    out: &mut Vec<Logged>,
) -> Result<()> {
    let mut t = Table::new(file, text, LOG_HEADER)?;
    let (c_user, c_video, c_click) = (t.col("user_id")?, t.col("video_id")?, t.col("is_click")?);
    let h = t.header();
    let (c_millis, c_date, c_hourmin) = (h.find("time_ms"), h.find("date"), h.find("hourmin"));
    while let Some(row) = t.next_row()? {
        let video = row.id(c_video)?;
        let item = videos.get(video).ok_or_else(|| {
            Error::new(format!(
                "{file} line {}: video_id {video} is not in {video_file}",
                row.line
            ))
        })?;
        let click = row.f32(c_click)?;
        if click != 0.0 && click != 1.0 {
            return Err(Error::new(format!(
                "{file} line {}: is_click {click} is not 0 or 1",
                row.line
            )));
        }
        let millis = match c_millis {
            Some(c) => row.opt_f64(c)?,
            None => None,
        };
        let timestamp = match (millis, c_date, c_hourmin) {
            (Some(ms), _, _) => (ms / 1000.0).floor() as i64,
            // The date (20220408) and hour-minute (1600 = 16:00) in Beijing time.
            (None, Some(d), Some(hm)) => {
                let (d, hm) = (row.get(d).trim(), row.id(hm)?);
                let at = format!("{d} {:02}:{:02}", hm / 100, hm % 100);
                parse_datetime(&at, BEIJING).ok_or_else(|| {
                    Error::new(format!(
                        "{file} line {}: date \"{d}\" and hourmin {hm} are not a time \
                         like 20220408 and 1600",
                        row.line
                    ))
                })?
            }
            _ => 0,
        };
        out.push((row.id(c_user)?, item, click, timestamp));
    }
    Ok(())
}

/// The videos with their info and the category names.
fn read_videos(file: &str, text: &str) -> Result<(IdIndex, Vec<ItemInfo>, Vec<String>)> {
    let mut t = Table::new(file, text, "video_id,author_id,video_type,...,tag")?;
    let c_video = t.col("video_id")?;
    let h = t.header();
    let (c_tag, c_type) = (h.find("tag"), h.find("video_type"));
    let (c_upload, c_upload_type, c_duration) = (
        h.find("upload_dt"),
        h.find("upload_type"),
        h.find("video_duration"),
    );
    // (video, line, categories, info parts)
    let mut rows: Vec<(u64, usize, Vec<String>, Vec<String>)> = Vec::new();
    while let Some(row) = t.next_row()? {
        let field = |c: Option<usize>| -> String {
            let s = c.map_or("", |c| row.get(c)).trim();
            if s.is_empty() || s == "UNKNOWN" || s.eq_ignore_ascii_case("nan") {
                String::new()
            } else {
                one_line(s)
            }
        };
        let video = row.id(c_video)?;
        let kind = field(c_type);
        let tags: Vec<String> = field(c_tag)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.strip_suffix(".0")
                    .unwrap_or(s)
                    .parse::<u64>()
                    .map_err(|_| {
                        Error::new(format!(
                            "{file} line {}: tag \"{s}\" is not a list of tag ids like 20,43",
                            row.line
                        ))
                    })
            })
            .map(|id| id.map(|id| format!("tag {id}")))
            .collect::<Result<_>>()?;
        let categories = if c_tag.is_some() {
            tags.clone()
        } else if kind.is_empty() {
            Vec::new()
        } else {
            vec![kind.clone()]
        };
        let mut parts = vec![format!("video {video}")];
        if !kind.is_empty() {
            parts.push(format!("type: {kind}"));
        }
        if !tags.is_empty() {
            parts.push(format!("tags: {}", tags.join(", ")));
        }
        let duration = field(c_duration);
        if let Ok(ms) = duration.parse::<f64>() {
            parts.push(format!("duration: {:.0} s", ms / 1000.0));
        }
        let (upload, upload_type) = (field(c_upload), field(c_upload_type));
        if !upload.is_empty() {
            let how = if upload_type.is_empty() {
                String::new()
            } else {
                format!(" ({upload_type})")
            };
            parts.push(format!("uploaded {upload}{how}"));
        }
        rows.push((video, row.line, categories, parts));
    }
    if rows.is_empty() {
        return Err(Error::new(format!("{file}: no videos")));
    }
    rows.sort_by_key(|r| r.0);
    for pair in rows.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(Error::new(format!(
                "{file} line {}: video_id {} appears again (first on line {})",
                pair[0].1.max(pair[1].1),
                pair[0].0,
                pair[0].1.min(pair[1].1)
            )));
        }
    }
    let index = IdIndex::new(rows.iter().map(|r| r.0).collect());
    let mut categories = Categories::default();
    let items = rows
        .into_iter()
        .map(|(video, _, cats, parts)| ItemInfo {
            title: format!("video {video}"),
            categories: if cats.is_empty() {
                vec![categories.id(UNKNOWN)]
            } else {
                cats.iter().map(|c| categories.id(c)).collect()
            },
            text: parts.join("; "),
        })
        .collect();
    Ok((index, items, categories.into_names()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user_id,video_id,date,hourmin,time_ms,is_click,is_like,is_follow,is_comment,is_forward,is_hate,long_view,play_time_ms,duration_ms,profile_stay_time,comment_stay_time,is_profile_enter,is_rand,tab";
    const VIDEOS: &str = "video_id,author_id,video_type,upload_dt,upload_type,visible_status,video_duration,server_width,server_height,music_id,music_type,tag\n\
        0,7349781,NORMAL,2022-04-10,LongImport,0.0,87433.0,720.0,1280.0,9155697141,9.0,39\n\
        5,8367059,NORMAL,2022-04-10,Web,0.0,358016.0,960.0,720.0,9148581891,9.0,\"20,43\"\n\
        8,8496788,AD,2022-04-09,UNKNOWN,0.0,,720.0,1280.0,0,,\n";

    fn files(list: &[(&str, String)]) -> DataFiles {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn logs_random_exposure_and_videos() {
        let early = format!(
            "{HEADER}\n3,5,20220408,1600,1649408076860,1,0,0,0,0,0,1,175045,87433,0,0,0,0,1\n\
             3,0,20220408,1500,1649405000000,0,0,0,0,0,0,0,0,87433,0,0,0,0,1\n"
        );
        // Extra column and another order: found by name.
        let random = "tab,extra,video_id,user_id,is_click,time_ms,date,hourmin\n\
            1,x,8,9,1,,20220422,0930\n";
        let f = files(&[
            (LOG_EARLY, early),
            (LOG_RANDOM, random.to_string()),
            (VIDEO_FEATURES, VIDEOS.to_string()),
        ]);
        let d = crate::data::load("kuairand", &f).unwrap();
        assert_eq!(d.name, "kuairand-pure");
        assert_eq!(d.user_ids, ["3", "9"]);
        assert_eq!(d.item_ids, ["0", "5", "8"]);
        let got: Vec<_> = d
            .interactions
            .iter()
            .map(|x| (x.user, x.item, x.value, x.timestamp))
            .collect();
        assert_eq!(got, [(0, 0, 0.0, 1649405000), (0, 1, 1.0, 1649408076)]);
        // 2022-04-22 09:30 Beijing time.
        assert_eq!(d.test.len(), 1);
        assert_eq!(
            (d.test[0].user, d.test[0].item, d.test[0].timestamp),
            (1, 2, 1650591000)
        );
        assert_eq!(d.category_names, ["tag 39", "tag 20", "tag 43", "unknown"]);
        assert_eq!(
            d.items[1].text,
            "video 5; type: NORMAL; tags: tag 20, tag 43; duration: 358 s; uploaded 2022-04-10 (Web)"
        );
        assert_eq!(d.items[2].text, "video 8; type: AD; uploaded 2022-04-09");
    }

    #[test]
    fn bad_inputs() {
        let unknown =
            format!("{HEADER}\n3,77,20220408,1600,1649408076860,1,0,0,0,0,0,1,1,1,0,0,0,0,1\n");
        let f = files(&[(LOG_LATE, unknown), (VIDEO_FEATURES, VIDEOS.to_string())]);
        let e = crate::data::load("kuairand", &f).unwrap_err();
        assert_eq!(
            e.message(),
            format!("{LOG_LATE} line 2: video_id 77 is not in {VIDEO_FEATURES}")
        );
        let no_click = "user_id,video_id,time_ms\n3,5,1\n".to_string();
        let f = files(&[(LOG_LATE, no_click), (VIDEO_FEATURES, VIDEOS.to_string())]);
        let e = crate::data::load("kuairand", &f).unwrap_err();
        assert!(
            e.message()
                .starts_with(&format!("{LOG_LATE}: missing column \"is_click\"")),
            "{e}"
        );
        let f = files(&[(LOG_LATE, format!("{HEADER}\n"))]);
        let e = crate::data::load("kuairand", &f).unwrap_err();
        assert!(
            e.message()
                .starts_with(&format!("kuairand: missing {VIDEO_FEATURES}")),
            "{e}"
        );
    }
}
