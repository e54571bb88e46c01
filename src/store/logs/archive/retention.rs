//! `retention/logs.toml`: how long logs stay hot and what happens to them afterwards. Parsed
//! strictly (unknown keys are errors) because a typo here would silently keep or drop years of
//! logs.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The shipped defaults, documented in place.
pub const SHIPPED: &str = include_str!("../../../../retention/logs.toml");

/// Why a retention file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

/// How many years of archives to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepYears {
    Forever,
    Years(u32),
}

impl<'de> Deserialize<'de> for KeepYears {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeepYears, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u32),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(0) => Err(serde::de::Error::custom(
                "keep_years must be at least 1 (or \"forever\")",
            )),
            Raw::N(n) => Ok(KeepYears::Years(n)),
            Raw::S(s) if s == "forever" => Ok(KeepYears::Forever),
            Raw::S(s) => Err(serde::de::Error::custom(format!(
                "keep_years is \"forever\" or a number of years, not \"{s}\""
            ))),
        }
    }
}

/// The parsed retention file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogRetention {
    /// Days kept hot, today included (at least 1).
    pub hot_days: u32,
    /// Seal old days into the archive (else delete them).
    pub archive: bool,
    pub keep_years: KeepYears,
}

impl Default for LogRetention {
    fn default() -> Self {
        LogRetention {
            hot_days: 30,
            archive: true,
            keep_years: KeepYears::Forever,
        }
    }
}

impl LogRetention {
    /// Parses retention TOML; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<LogRetention, RetentionError> {
        let r: LogRetention = toml::from_str(text).map_err(|e| RetentionError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        if r.hot_days == 0 {
            return Err(RetentionError::Parse {
                path: path.to_path_buf(),
                message: "hot_days must be at least 1".into(),
            });
        }
        Ok(r)
    }

    /// Loads a retention file; a missing file means the defaults.
    pub fn load(path: &Path) -> Result<LogRetention, RetentionError> {
        match std::fs::read_to_string(path) {
            Ok(text) => LogRetention::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LogRetention::default()),
            Err(source) => Err(RetentionError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(s: &str) -> Result<LogRetention, RetentionError> {
        LogRetention::parse(s, Path::new("logs.toml"))
    }

    #[test]
    fn the_shipped_file_is_the_defaults() {
        assert_eq!(parse(SHIPPED).unwrap(), LogRetention::default());
        assert_eq!(parse("").unwrap(), LogRetention::default());
    }

    #[test]
    fn parses_values_and_rejects_typos_and_nonsense() {
        let r = parse("hot_days = 7\narchive = false\nkeep_years = 3\n").unwrap();
        assert_eq!(
            r,
            LogRetention {
                hot_days: 7,
                archive: false,
                keep_years: KeepYears::Years(3)
            }
        );
        for bad in [
            "hot_dayz = 7",
            "hot_days = 0",
            "hot_days = -1",
            "keep_years = 0",
            "keep_years = \"always\"",
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("logs.toml: "), "{bad}: {e}");
        }
    }
}
