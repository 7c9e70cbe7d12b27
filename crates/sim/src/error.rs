use std::fmt;

/// An error that names the input, the place and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }

    /// `what` was `got`, but `expected` was required.
    pub fn invalid(what: &str, expected: &str, got: impl fmt::Display) -> Self {
        Error::new(format!("{what}: expected {expected}, got {got}"))
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix the message with where it happened, e.g. a file or a field.
    pub fn context(self, place: impl fmt::Display) -> Self {
        Error::new(format!("{place}: {}", self.message))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::new(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Parses JSON into `T`; errors name `what` and the path of the offending field.
pub fn from_json<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| path_error(what, e))
}

/// Parses the JSON header of an artefact into `T`. Text that is not JSON is
/// "header is not valid JSON"; JSON of the wrong shape is "header: ..." with
/// serde's words, and a size too large for the build's `usize` (2^40 in a
/// 32-bit wasm `usize`) names its field (`policy file: header: meta.net.hidden:
/// expected an integer in [0, 4294967295], got 1099511627776`), a size error as
/// the native build's range check gives, never "not valid JSON". (The field is
/// found afterwards, in the parsed value, so that the fast path stays serde's
/// own: path tracking for every header type cost the wasm build 30 KB.)
pub fn from_json_header<T: serde::de::DeserializeOwned>(what: &str, json: &[u8]) -> Result<T> {
    from_json_at(what, "header", json)
}

/// [`from_json_header`] for JSON held at `at` in the artefact `what` (a
/// safetensors file's `__metadata__.meta`): the errors name that place.
pub fn from_json_at<T: serde::de::DeserializeOwned>(
    what: &str,
    at: &str,
    json: &[u8],
) -> Result<T> {
    serde_json::from_slice(json).map_err(|e| {
        if !e.is_data() {
            return Error::new(format!("{what}: {at} is not valid JSON: {e}"));
        }
        let message = e.to_string();
        let found = usize_overflow(&message).and_then(|n| {
            let value: serde_json::Value = serde_json::from_slice(json).ok()?;
            Some((find_number(&value, n)?, n))
        });
        match found {
            Some((path, n)) => Error::new(format!(
                "{what}: {at}: {path}: expected an integer in [0, {}], got {n}",
                usize::MAX
            )),
            None => Error::new(format!("{what}: {at}: {message}")),
        }
    })
}

/// The path (`meta.net.hidden`, `tensors[0].len`) of the first number written
/// `n` in `v`, in document order, outside the free-form `training` record.
fn find_number(v: &serde_json::Value, n: &str) -> Option<String> {
    use serde_json::Value;
    let mut stack = vec![(v, String::new())];
    while let Some((x, path)) = stack.pop() {
        match x {
            Value::Number(m) if m.to_string() == n => return Some(path),
            Value::Object(o) => {
                for (k, y) in o.iter().rev() {
                    if k == "training" {
                        continue;
                    }
                    let at = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    stack.push((y, at));
                }
            }
            Value::Array(a) => {
                for (i, y) in a.iter().enumerate().rev() {
                    stack.push((y, format!("{path}[{i}]")));
                }
            }
            _ => {}
        }
    }
    None
}

/// `what: path: message`, with an integer too large for the build's `usize`
/// said the same way on every build: `expected an integer in [0, MAX], got N`.
fn path_error(what: &str, e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = e.path().to_string();
    let inner = e.inner().to_string();
    let message = match usize_overflow(&inner) {
        Some(n) => format!("expected an integer in [0, {}], got {n}", usize::MAX),
        None => inner,
    };
    if path.is_empty() || path == "." || path == "?" {
        Error::new(format!("{what}: {message}"))
    } else {
        Error::new(format!("{what}: {path}: {message}"))
    }
}

/// The integer of serde's "invalid value: integer `N`, expected usize" (a
/// number that fits a `u64` but not this build's `usize`), if that is the error.
fn usize_overflow(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("invalid value: integer `")?;
    let (n, rest) = rest.split_once('`')?;
    rest.starts_with(", expected usize").then_some(n)
}

/// Parses an already-decoded JSON value (a JavaScript object handed over by a
/// binding) into `T`; errors name `what` and the path of the offending field,
/// as [`from_json`] does. `null` members count as absent: a JavaScript options
/// object's `undefined` and `null` both mean "the default". Whole numbers read
/// as integers however the binding passed them, as they would from JSON text.
pub fn from_value<T: serde::de::DeserializeOwned>(
    what: &str,
    mut value: serde_json::Value,
) -> Result<T> {
    if value.is_null() {
        value = serde_json::Value::Object(Default::default()); // no options at all
    }
    normalise(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| path_error(what, e))
}

fn normalise(v: &mut serde_json::Value) {
    use serde_json::Value;
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(normalise);
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x.fract() == 0.0 && x.abs() <= EXACT {
                *v = if x >= 0.0 {
                    Value::from(x as u64)
                } else {
                    Value::from(x as i64)
                };
            }
        }
        _ => {}
    }
}

/// Fails unless `value` lies in `[lo, hi]` and is a number.
/// The value is shown as given (an f32 `1.1` as `1.1`, not as the f64 it
/// widens to, `1.100000023841858`).
pub fn check_range<T: Copy + Into<f64> + fmt::Display>(
    what: &str,
    value: T,
    lo: f64,
    hi: f64,
) -> Result<()> {
    let v: f64 = value.into();
    if v.is_nan() || v < lo || v > hi {
        return Err(Error::invalid(
            what,
            &format!("a number in [{lo}, {hi}]"),
            value,
        ));
    }
    Ok(())
}

/// Fails unless `value` is at least `lo`.
pub fn check_min(what: &str, value: usize, lo: usize) -> Result<()> {
    if value < lo {
        return Err(Error::invalid(what, &format!("an integer >= {lo}"), value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Sizes {
        net: Net,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Net {
        hidden: usize,
        small: u8,
    }

    #[test]
    fn a_range_error_shows_the_value_as_given() {
        let e = check_range("a2c.gamma", 1.1f32, 0.0, 1.0).unwrap_err();
        assert_eq!(
            e.message(),
            "a2c.gamma: expected a number in [0, 1], got 1.1"
        );
        let e = check_range("adaptive.prior", f32::NAN, -1.0, 1.0).unwrap_err();
        assert_eq!(
            e.message(),
            "adaptive.prior: expected a number in [-1, 1], got NaN"
        );
        assert!(check_range("x", 0.25f32, 0.0, 1.0).is_ok());
        assert!(check_range("x", 7.0f64, 0.0, 1.0).is_err());
    }

    #[test]
    fn header_errors_say_json_or_name_the_field() {
        let e = from_json_header::<Sizes>("policy file", b"{\"net\": ").unwrap_err();
        assert!(
            e.message()
                .starts_with("policy file: header is not valid JSON"),
            "{e}"
        );
        let e =
            from_json_header::<Sizes>("policy file", br#"{"net": {"hidden": "x", "small": 1}}"#)
                .unwrap_err();
        assert!(
            e.message()
                .starts_with("policy file: header: invalid type: string"),
            "{e}"
        );
        // a size that does not fit the build's usize names its field
        let e = from_json_header::<Sizes>("policy file", br#"{"net": {"small": 1, "hidden": -1}}"#)
            .unwrap_err();
        assert_eq!(
            e.message(),
            format!(
                "policy file: header: net.hidden: expected an integer in [0, {}], got -1",
                usize::MAX
            )
        );
        let json = serde_json::json!({"training": {"x": 7}, "a": [1, {"b": 7}]});
        assert_eq!(find_number(&json, "7").as_deref(), Some("a[1].b"));
        assert_eq!(
            usize_overflow(
                "invalid value: integer `1099511627776`, expected usize at line 1 column 9"
            ),
            Some("1099511627776")
        );
        assert_eq!(
            usize_overflow("invalid value: integer `300`, expected u8"),
            None
        );
    }
}
