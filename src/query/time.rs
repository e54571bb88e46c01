//! TEMPORARY stub replaced by the query branch.
#[derive(Debug, thiserror::Error)]
pub enum TimeError {
    #[error("bad time '{0}'")]
    Bad(String),
}

pub fn parse_time(s: &str, now_ns: i64) -> Result<i64, TimeError> {
    if s == "now" {
        return Ok(now_ns);
    }
    if let Some(h) = s.strip_prefix('-').and_then(|x| x.strip_suffix('h')) {
        let h: i64 = h.parse().map_err(|_| TimeError::Bad(s.into()))?;
        return Ok(now_ns - h * 3_600_000_000_000);
    }
    s.parse::<i64>()
        .map(|x| x * 1_000_000_000)
        .map_err(|_| TimeError::Bad(s.into()))
}
