//! Text helpers the loaders share: decoding bytes, an RFC 4180 CSV reader,
//! splitting the delimiter formats (`::`, `|`, tabs) into fields, header lookup
//! by column name and number parsing. Every error names the file and the line.

use crate::error::{Error, Result};
use std::borrow::Cow;

/// `bytes` as UTF-8 (a leading byte-order mark is dropped), or an error naming
/// the line of the first invalid byte.
pub fn utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(e) => {
            let at = e.valid_up_to();
            let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
            let byte = bytes.get(at).copied().unwrap_or(0);
            Err(Error::new(format!(
                "{file} line {line}: invalid UTF-8 (byte 0x{byte:02x} at offset {at}); \
                 this file must be UTF-8 encoded"
            )))
        }
    }
}

/// Text of a file the official release writes in Latin-1 (ml-100k, ml-1m),
/// its encoding detected for the whole file: valid UTF-8 (a re-encoded copy) is
/// read as UTF-8, anything else byte by byte as Latin-1. A file that is both,
/// some lines UTF-8 with accents and others not UTF-8 at all (an edit saved in
/// another encoding), is an error naming one line of each: read either way it
/// would garble the other lines' accented titles.
pub fn latin1<'a>(file: &str, bytes: &'a [u8]) -> Result<Cow<'a, str>> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text.strip_prefix('\u{feff}').unwrap_or(text)));
    }
    let (mut utf8_line, mut latin1_line) = (None, None);
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_ascii() {
            continue;
        }
        match std::str::from_utf8(line) {
            Ok(_) => utf8_line = utf8_line.or(Some(i + 1)),
            Err(e) => latin1_line = latin1_line.or(Some((i + 1, line[e.valid_up_to()]))),
        }
        if let (Some(u), Some((l, byte))) = (utf8_line, latin1_line) {
            return Err(Error::new(format!(
                "{file}: mixed encodings: line {u} is UTF-8 but line {l} is not (byte 0x{byte:02x}, \
                 Latin-1?); save the whole file in one encoding (UTF-8, or Latin-1 as the release)"
            )));
        }
    }
    Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()))
}

/// The non-blank lines of `text` with their 1-based numbers, without the line end.
pub fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
        .filter(|(_, line)| !line.trim().is_empty())
}

/// Splits one line of a delimiter format (no quoting) into exactly `expected`
/// fields; `layout` describes them for the error message.
pub fn split_exact<'a>(
    file: &str,
    line_no: usize,
    line: &'a str,
    sep: &str,
    expected: usize,
    layout: &str,
    out: &mut Vec<&'a str>,
) -> Result<()> {
    out.clear();
    out.extend(line.split(sep));
    if out.len() != expected {
        return Err(Error::new(format!(
            "{file} line {line_no}: expected {expected} fields ({layout}) separated by \"{sep}\", found {}",
            out.len()
        )));
    }
    Ok(())
}

/// A streaming RFC 4180 reader: fields separated by commas, records by LF or
/// CRLF, fields in double quotes may hold commas, line ends and doubled quotes
/// (`""`). A bare CR inside a field is kept as text (KuaiRec's captions have some).
/// Blank lines are skipped. Fields borrow from the text unless they had to be
/// unescaped.
pub struct CsvReader<'a> {
    file: &'a str,
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> CsvReader<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        CsvReader {
            file,
            text: text.strip_prefix('\u{feff}').unwrap_or(text),
            pos: 0,
            line: 1,
        }
    }

    /// Reads the next record into `fields` (cleared first) and returns the line
    /// it starts on, or `None` at the end of the text.
    pub fn read(&mut self, fields: &mut Vec<Cow<'a, str>>) -> Result<Option<usize>> {
        fields.clear();
        let text = self.text;
        let b = text.as_bytes();
        loop {
            match b.get(self.pos) {
                None => return Ok(None),
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                }
                Some(b'\r') if b.get(self.pos + 1) == Some(&b'\n') => {
                    self.pos += 2;
                    self.line += 1;
                }
                Some(_) => break,
            }
        }
        let start_line = self.line;
        loop {
            // the line the last field's opening quote is on, when it is quoted
            let mut opened = None;
            if b.get(self.pos) == Some(&b'"') {
                opened = Some(self.line);
                fields.push(self.quoted(self.line)?);
            } else {
                let start = self.pos;
                while let Some(&c) = b.get(self.pos) {
                    if c == b','
                        || c == b'\n'
                        || (c == b'\r' && b.get(self.pos + 1) == Some(&b'\n'))
                    {
                        break;
                    }
                    self.pos += 1;
                }
                fields.push(Cow::Borrowed(&text[start..self.pos]));
            }
            match b.get(self.pos) {
                None => return Ok(Some(start_line)),
                Some(b',') => self.pos += 1,
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    return Ok(Some(start_line));
                }
                Some(b'\r') if b.get(self.pos + 1) == Some(&b'\n') => {
                    self.pos += 2;
                    self.line += 1;
                    return Ok(Some(start_line));
                }
                Some(_) => {
                    // a field that ran over lines most likely began with a stray quote
                    let from = match opened {
                        Some(l) if l < self.line => format!(
                            ", which opened on line {l} (a quote there without its closing one?)"
                        ),
                        _ => String::new(),
                    };
                    return Err(Error::new(format!(
                        "{} line {}: unexpected text after the closing quote of field {}{from} \
                         (a quote inside a quoted field must be doubled: \"\")",
                        self.file,
                        self.line,
                        fields.len()
                    )));
                }
            }
        }
    }

    /// The quoted field at `self.pos` (on its opening quote).
    fn quoted(&mut self, start_line: usize) -> Result<Cow<'a, str>> {
        let text = self.text;
        let b = text.as_bytes();
        self.pos += 1;
        let start = self.pos;
        let mut segment = start;
        let mut owned: Option<String> = None;
        loop {
            let Some(offset) = b[self.pos..].iter().position(|&c| c == b'"') else {
                return Err(Error::new(format!(
                    "{} line {start_line}: a quoted field is never closed (missing \")",
                    self.file
                )));
            };
            let quote = self.pos + offset;
            self.line += b[self.pos..quote].iter().filter(|&&c| c == b'\n').count();
            if b.get(quote + 1) == Some(&b'"') {
                // A doubled quote stands for one quote: keep it, skip its twin.
                owned
                    .get_or_insert_with(String::new)
                    .push_str(&text[segment..=quote]);
                self.pos = quote + 2;
                segment = self.pos;
            } else {
                self.pos = quote + 1;
                return Ok(match owned {
                    None => Cow::Borrowed(&text[start..quote]),
                    Some(mut s) => {
                        s.push_str(&text[segment..quote]);
                        Cow::Owned(s)
                    }
                });
            }
        }
    }
}

/// Column names of a CSV header line, looked up by name.
#[derive(Clone, Debug)]
pub struct Header {
    file: String,
    names: Vec<String>,
}

impl Header {
    /// Checks that no name appears twice.
    pub fn new(file: &str, line: usize, fields: &[Cow<'_, str>]) -> Result<Header> {
        let names: Vec<String> = fields.iter().map(|f| f.trim().to_string()).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(Error::new(format!(
                    "{file} line {line}: column \"{name}\" appears twice in the header"
                )));
            }
        }
        Ok(Header {
            file: file.to_string(),
            names,
        })
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The index of column `name`, if the header has it.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The index of column `name`, or an error listing the columns there are.
    pub fn col(&self, name: &str) -> Result<usize> {
        self.find(name).ok_or_else(|| {
            Error::new(format!(
                "{}: missing column \"{name}\" (the header has: {})",
                self.file,
                self.names.join(", ")
            ))
        })
    }
}

/// A CSV file with a header line: rows are checked to have as many fields as
/// the header, and a repeat of the header line (concatenated files) is an error.
pub struct Table<'a> {
    file: &'a str,
    reader: CsvReader<'a>,
    header: Header,
    fields: Vec<Cow<'a, str>>,
}

impl<'a> Table<'a> {
    /// Reads the header; `expected` (e.g. `userId,movieId,rating,timestamp`) is
    /// quoted when the file is empty.
    pub fn new(file: &'a str, text: &'a str, expected: &str) -> Result<Table<'a>> {
        let mut reader = CsvReader::new(file, text);
        let mut fields = Vec::new();
        let Some(line) = reader.read(&mut fields)? else {
            return Err(Error::new(format!(
                "{file}: the file is empty (expected a header line {expected})"
            )));
        };
        let header = Header::new(file, line, &fields)?;
        Ok(Table {
            file,
            reader,
            header,
            fields,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The index of column `name`, or an error listing the columns there are.
    pub fn col(&self, name: &str) -> Result<usize> {
        self.header.col(name)
    }

    /// The next data row, or `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Row<'_, 'a>>> {
        let Some(line) = self.reader.read(&mut self.fields)? else {
            return Ok(None);
        };
        let file = self.file;
        if self.fields.len() != self.header.len() {
            return Err(Error::new(format!(
                "{file} line {line}: expected {} fields ({}), found {}",
                self.header.len(),
                self.header.names.join(","),
                self.fields.len()
            )));
        }
        if self
            .fields
            .iter()
            .zip(&self.header.names)
            .all(|(f, n)| f.trim() == n)
        {
            return Err(Error::new(format!(
                "{file} line {line}: the header line appears again (were two files concatenated?)"
            )));
        }
        Ok(Some(Row {
            file,
            line,
            fields: &self.fields,
            header: &self.header,
        }))
    }
}

/// One data row of a [`Table`]; field accessors parse and name the column in errors.
pub struct Row<'t, 'a> {
    pub file: &'t str,
    pub line: usize,
    fields: &'t [Cow<'a, str>],
    header: &'t Header,
}

impl Row<'_, '_> {
    /// The raw field in column `col` (an index from [`Table::col`]).
    pub fn get(&self, col: usize) -> &str {
        self.fields.get(col).map_or("", |f| f.as_ref())
    }

    fn name(&self, col: usize) -> &str {
        self.header.names.get(col).map_or("?", String::as_str)
    }

    pub fn f32(&self, col: usize) -> Result<f32> {
        parse_f32(self.file, self.line, self.name(col), self.get(col))
    }

    pub fn f64(&self, col: usize) -> Result<f64> {
        parse_f64(self.file, self.line, self.name(col), self.get(col))
    }

    /// `None` when the field is empty or a missing-value marker (`nan`, `NaN`).
    pub fn opt_f64(&self, col: usize) -> Result<Option<f64>> {
        let s = self.get(col).trim();
        if is_missing(s) {
            return Ok(None);
        }
        self.f64(col).map(Some)
    }

    pub fn id(&self, col: usize) -> Result<u64> {
        parse_id(self.file, self.line, self.name(col), self.get(col))
    }
}

/// An empty field or pandas' `nan`.
pub fn is_missing(s: &str) -> bool {
    s.is_empty() || s.eq_ignore_ascii_case("nan")
}

/// A finite number, or `file line N: name "s" is not a number`.
pub fn parse_f64(file: &str, line: usize, name: &str, s: &str) -> Result<f64> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Error::new(format!(
            "{file} line {line}: {name} \"{s}\" is not a number"
        ))),
    }
}

pub fn parse_f32(file: &str, line: usize, name: &str, s: &str) -> Result<f32> {
    let v = parse_f64(file, line, name, s)?;
    // Values beyond f32 would become infinite.
    if v.abs() > f64::from(f32::MAX) {
        return Err(Error::new(format!(
            "{file} line {line}: {name} \"{s}\" is out of range"
        )));
    }
    Ok(v as f32)
}

/// A non-negative integer id; `12.0` is accepted (pandas writes integer columns
/// with missing values as floats).
pub fn parse_id(file: &str, line: usize, name: &str, s: &str) -> Result<u64> {
    let t = s.trim();
    if let Ok(v) = t.parse::<u64>() {
        return Ok(v);
    }
    if let Some(int) = t.strip_suffix(".0") {
        if let Ok(v) = int.parse::<u64>() {
            return Ok(v);
        }
    }
    Err(Error::new(format!(
        "{file} line {line}: {name} \"{s}\" is not a non-negative integer id"
    )))
}

/// An integer such as a Unix time; a float is truncated toward minus infinity.
pub fn parse_i64(file: &str, line: usize, name: &str, s: &str) -> Result<i64> {
    let t = s.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Ok(v);
    }
    let v = parse_f64(file, line, name, s)?;
    if v.abs() >= 9.2e18 {
        return Err(Error::new(format!(
            "{file} line {line}: {name} \"{s}\" is out of range"
        )));
    }
    Ok(v.floor() as i64)
}

/// Days from 1970-01-01 to the proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch of a wall-clock time `YYYY-MM-DD[ HH:MM[:SS[.fff]]]`
/// or `YYYYMMDD` in a zone `utc_offset` seconds east of UTC; `None` if it is not one.
pub fn parse_datetime(s: &str, utc_offset: i64) -> Option<i64> {
    let s = s.trim();
    let num = |t: &str| -> Option<i64> {
        if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let (y, m, d) = if date.len() == 8 && !date.contains('-') {
        (num(&date[..4])?, num(&date[4..6])?, num(&date[6..])?)
    } else {
        let mut parts = date.split('-');
        let ymd = (
            num(parts.next()?)?,
            num(parts.next()?)?,
            num(parts.next()?)?,
        );
        if parts.next().is_some() {
            return None;
        }
        ymd
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m as u32, d as u32) * 86_400;
    if let Some(time) = time {
        let time = time.split('.').next()?;
        let mut parts = time.split(':');
        let h = num(parts.next()?)?;
        let min = parts.next().map_or(Some(0), num)?;
        let sec = parts.next().map_or(Some(0), num)?;
        if h > 24 || min > 59 || sec > 60 {
            return None;
        }
        secs += h * 3600 + min * 60 + sec;
    }
    Some(secs - utc_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>> {
        let mut reader = CsvReader::new("t.csv", text);
        let mut fields = Vec::new();
        let mut out = Vec::new();
        while let Some(line) = reader.read(&mut fields)? {
            out.push((line, fields.iter().map(|f| f.to_string()).collect()));
        }
        Ok(out)
    }

    #[test]
    fn rfc4180_quotes_crlf_and_newlines() {
        let text = "a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n\r\n2,\"two\nlines\",\r\n3,,\"\"\n4,bare\rcr,z";
        let r = records(text).unwrap();
        assert_eq!(r.len(), 5);
        assert_eq!(
            r[1],
            (2, vec!["1".into(), "x, y".into(), "say \"hi\"".into()])
        );
        assert_eq!(r[2], (4, vec!["2".into(), "two\nlines".into(), "".into()]));
        assert_eq!(r[3], (6, vec!["3".into(), "".into(), "".into()]));
        assert_eq!(r[4], (7, vec!["4".into(), "bare\rcr".into(), "z".into()]));
    }

    #[test]
    fn unclosed_quote_and_text_after_quote_are_errors() {
        let e = records("a,b\n1,\"open\n2,3\n").unwrap_err();
        assert!(e.message().contains("t.csv line 2"), "{e}");
        assert!(e.message().contains("never closed"), "{e}");
        let e = records("a,b\n1,\"x\"y\n").unwrap_err();
        assert!(e.message().contains("t.csv line 2"), "{e}");
        assert!(!e.message().contains("opened on"), "{e}");
        // a stray quote on line 2 runs the field on to the next quote, on line 4:
        // both lines are named
        let e = records("a,b\n1,\"open\n2,3\n4,\"x\"\n").unwrap_err();
        assert_eq!(
            e.message(),
            "t.csv line 4: unexpected text after the closing quote of field 2, which opened on line 2 \
             (a quote there without its closing one?) (a quote inside a quoted field must be doubled: \"\")"
        );
    }

    #[test]
    fn table_checks_field_count_header_repeats_and_duplicates() {
        let mut t = Table::new("r.csv", "u,i,r\n1,2,3\n1,2\n", "u,i,r").unwrap();
        assert!(t.next_row().unwrap().is_some());
        let e = t.next_row().err().unwrap();
        assert_eq!(
            e.message(),
            "r.csv line 3: expected 3 fields (u,i,r), found 2"
        );

        let mut t = Table::new("r.csv", "u,i,r\n1,2,3\nu,i,r\n", "u,i,r").unwrap();
        assert!(t.next_row().unwrap().is_some());
        let e = t.next_row().err().unwrap();
        assert!(e
            .message()
            .starts_with("r.csv line 3: the header line appears again"));

        let e = Table::new("r.csv", "u,i,u\n", "u,i,r").err().unwrap();
        assert_eq!(
            e.message(),
            "r.csv line 1: column \"u\" appears twice in the header"
        );
        let e = Table::new("r.csv", "", "u,i,r").err().unwrap();
        assert!(e.message().contains("r.csv: the file is empty"), "{e}");

        let t = Table::new("r.csv", "\u{feff}u,i\n", "u,i").unwrap();
        assert_eq!(t.col("u").unwrap(), 0);
        let e = t.col("rating").unwrap_err();
        assert_eq!(
            e.message(),
            "r.csv: missing column \"rating\" (the header has: u, i)"
        );
    }

    #[test]
    fn numbers_name_file_line_and_column() {
        let e = parse_f32("ratings.csv", 812, "rating", "abc").unwrap_err();
        assert_eq!(
            e.message(),
            "ratings.csv line 812: rating \"abc\" is not a number"
        );
        assert!(parse_f32("f", 1, "x", "nan").is_err());
        assert!(parse_f32("f", 1, "x", "1e300").is_err());
        assert_eq!(parse_id("f", 1, "id", " 12.0 ").unwrap(), 12);
        assert!(parse_id("f", 1, "id", "-3").is_err());
        assert!(parse_id("f", 1, "id", "1.5").is_err());
        assert_eq!(
            parse_i64("f", 1, "t", "1593878903.938").unwrap(),
            1593878903
        );
    }

    #[test]
    fn invalid_utf8_names_the_line_and_latin1_decodes() {
        let bytes = b"a,b\n1,2\n3,caf\xe9\n";
        let e = utf8("movies.csv", bytes).unwrap_err();
        assert!(
            e.message().starts_with("movies.csv line 3: invalid UTF-8"),
            "{e}"
        );
        assert_eq!(latin1("f", bytes).unwrap(), "a,b\n1,2\n3,café\n");
        assert_eq!(latin1("f", "café".as_bytes()).unwrap(), "café");
        // one line saved in Latin-1 in a UTF-8 file: named, not garbled
        let mixed = b"1|Caf\xc3\xa9 (1995)|x\n2|Plain|x\n3|Caf\xe9 (1996)|x\n";
        let e = latin1("u.item", mixed).unwrap_err();
        assert_eq!(
            e.message(),
            "u.item: mixed encodings: line 1 is UTF-8 but line 3 is not (byte 0xe9, Latin-1?); \
             save the whole file in one encoding (UTF-8, or Latin-1 as the release)"
        );
    }

    #[test]
    fn datetimes() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(parse_datetime("1970-01-02 00:00:01.5", 0), Some(86_401));
        assert_eq!(parse_datetime("20200705", 8 * 3600), Some(1_593_878_400));
        assert_eq!(parse_datetime("2020-07-05", 0), Some(1_593_907_200));
        assert_eq!(parse_datetime("yesterday", 0), None);
        assert_eq!(parse_datetime("2020-13-05", 0), None);
    }
}
