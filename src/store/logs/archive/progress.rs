//! Progress of long archive work (seal, verify, search, restore, export), reported through a
//! callback so the CLI can draw a bar and the HTTP search can stream it, from the real work:
//! a call after each unit is done.

/// How far a piece of work is. `frames_*` count its units: frames read (verify, search,
/// restore, export) or days sealed (seal); `bytes_*` the compressed bytes of those frames
/// (0 when unknown up front, as for sealing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub frames_done: u64,
    pub frames_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// The callback: called after every unit of work.
pub type OnProgress<'a> = &'a mut dyn FnMut(Progress);

/// A callback that ignores progress.
pub fn ignore(_: Progress) {}
