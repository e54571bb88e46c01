//! Progress on stderr for `telltale archive` (hand-rolled: a bar is 100 lines, indicatif
//! would add a crate tree for the same). On a terminal a bar redrawn in place at most 10 times
//! a second; otherwise (a log file, a pipe, CI) a plain line every 2 seconds and one at the
//! end; `--quiet` draws nothing. The numbers come from the work itself through the archive's
//! progress callback ([`Progress`]).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::store::logs::archive::progress::Progress;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Quiet,
    /// A bar redrawn in place (`\r`).
    Bar,
    /// A line now and then.
    Lines,
}

impl Mode {
    /// A bar when stderr is a terminal, lines otherwise, nothing with `quiet`.
    pub fn for_stderr(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }

    fn every(self) -> Duration {
        match self {
            Mode::Bar => Duration::from_millis(100),
            _ => Duration::from_secs(2),
        }
    }
}

/// One piece of work's progress display.
pub struct Reporter<W: Write> {
    mode: Mode,
    /// What is counted: "frames", "days".
    unit: &'static str,
    label: String,
    out: W,
    started: Instant,
    last_drawn: Option<Instant>,
    /// Least time between drawings (the first and last report always draw).
    every: Duration,
}

impl Reporter<std::io::Stderr> {
    pub fn stderr(label: impl Into<String>, unit: &'static str, quiet: bool) -> Self {
        Reporter::new(Mode::for_stderr(quiet), label, unit, std::io::stderr())
    }
}

impl<W: Write> Reporter<W> {
    pub fn new(mode: Mode, label: impl Into<String>, unit: &'static str, out: W) -> Self {
        Reporter {
            mode,
            unit,
            label: label.into(),
            out,
            started: Instant::now(),
            last_drawn: None,
            every: mode.every(),
        }
    }

    /// Sets the least time between drawings.
    pub fn with_interval(mut self, every: Duration) -> Self {
        self.every = every;
        self
    }

    /// Takes a progress report; draws when the last drawing is old enough (the first report
    /// and the last unit always draw).
    pub fn update(&mut self, p: Progress) {
        if self.mode == Mode::Quiet {
            return;
        }
        let due = self.last_drawn.is_none_or(|t| t.elapsed() >= self.every);
        if due || p.frames_done == p.frames_total {
            self.draw(p);
        }
    }

    fn draw(&mut self, p: Progress) {
        self.last_drawn = Some(Instant::now());
        let text = render(&self.label, self.unit, p, self.started.elapsed());
        let _ = match self.mode {
            Mode::Quiet => Ok(()),
            Mode::Bar => write!(self.out, "\r{text}\x1b[K"),
            Mode::Lines => writeln!(self.out, "{text}"),
        };
        let _ = self.out.flush();
    }

    /// Ends the display (the bar's line is closed); returns the writer.
    pub fn finish(mut self) -> W {
        if self.mode == Mode::Bar && self.last_drawn.is_some() {
            let _ = writeln!(self.out);
        }
        self.out
    }
}

fn size(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `label [########............]  40% 12/30 frames, 1.2 MiB of 3.0 MiB, 4.1 s`
pub fn render(label: &str, unit: &str, p: Progress, elapsed: Duration) -> String {
    const WIDTH: u64 = 24;
    let (done, total) = if p.bytes_total > 0 {
        (p.bytes_done, p.bytes_total)
    } else {
        (p.frames_done, p.frames_total)
    };
    // nothing to do is done
    let filled = (done.min(total) * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH);
    let pct = (done.min(total) * 100).checked_div(total).unwrap_or(100);
    let mut out = format!(
        "{label} [{}{}] {pct:>3}% {}/{} {unit}",
        "#".repeat(filled as usize),
        ".".repeat((WIDTH - filled) as usize),
        p.frames_done,
        p.frames_total
    );
    if p.bytes_total > 0 {
        out.push_str(&format!(
            ", {} of {}",
            size(p.bytes_done),
            size(p.bytes_total)
        ));
    }
    out.push_str(&format!(", {:.1} s", elapsed.as_secs_f64()));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p(frames_done: u64, frames_total: u64, bytes_done: u64, bytes_total: u64) -> Progress {
        Progress {
            frames_done,
            frames_total,
            bytes_done,
            bytes_total,
        }
    }

    #[test]
    fn renders_the_share_of_bytes_done_and_the_counts() {
        let s = render(
            "search",
            "frames",
            p(1, 4, 512, 2048),
            Duration::from_secs(3),
        );
        assert_eq!(
            s,
            "search [######..................]  25% 1/4 frames, 512 B of 2.0 KiB, 3.0 s"
        );
        // without bytes (sealing counts days) the share is of units
        let s = render("seal", "days", p(3, 3, 0, 0), Duration::ZERO);
        assert!(
            s.starts_with("seal [########################] 100% 3/3 days"),
            "{s}"
        );
        // nothing to do is done, not a division by zero
        assert!(render("x", "frames", p(0, 0, 0, 0), Duration::ZERO).contains("100%"));
    }

    #[test]
    fn lines_mode_writes_the_first_and_last_reports_and_quiet_writes_nothing() {
        let mut r = Reporter::new(Mode::Lines, "verify 2026", "frames", Vec::new())
            .with_interval(Duration::from_secs(3600));
        for i in 1..=100 {
            r.update(p(i, 100, i * 10, 1000));
        }
        let text = String::from_utf8(r.finish()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // the first report draws; the rest come within the interval, except the last
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains(" 1/100 frames"), "{text}");
        assert!(lines[1].contains("100/100 frames"), "{text}");
        assert!(!text.contains('\r'));

        let mut q = Reporter::new(Mode::Quiet, "x", "frames", Vec::new());
        q.update(p(1, 1, 1, 1));
        assert!(q.finish().is_empty());

        let mut b = Reporter::new(Mode::Bar, "x", "frames", Vec::new());
        b.update(p(1, 2, 1, 2));
        b.update(p(2, 2, 2, 2));
        let text = String::from_utf8(b.finish()).unwrap();
        assert!(
            text.starts_with("\rx [") && text.ends_with("\x1b[K\n"),
            "{text:?}"
        );
        assert_eq!(text.matches('\r').count(), 2);
    }
}
