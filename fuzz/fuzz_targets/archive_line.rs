//! An archive line (format 2, and format 3 with the shipped rules as its snapshot) is read back
//! from disk: any bytes must decode or fail without panicking, and whatever decodes must encode
//! to a line that decodes to the same record.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use telltale::normalize::Normalizer;
use telltale::store::logs::archive::record::{Context, decode_with, encode_with};

fn shipped() -> &'static Normalizer {
    static N: OnceLock<Normalizer> = OnceLock::new();
    N.get_or_init(|| Normalizer::with_errors(None).0)
}

fuzz_target!(|data: &[u8]| {
    let ctx = Context {
        day: 20_781,
        recv_unit_ns: 1_000_000_000,
    };
    // the first byte picks the format: odd = 3 (rules), even = 2
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    let rules = (sel & 1 == 1).then(shipped);
    if let Ok(r) = decode_with(data, ctx, rules) {
        let mut line = Vec::new();
        encode_with((&r).into(), ctx, rules, false, &mut line).expect("a whole record encodes");
        assert_eq!(line.pop(), Some(b'\n'));
        let mut again = decode_with(&line, ctx, rules).expect("an encoded line decodes");
        // the receive time is kept in whole units: compare it rounded
        let unit = ctx.recv_unit_ns;
        let round = |t: i64, rx: i64| t.saturating_add(rx.saturating_sub(t).div_euclid(unit) * unit);
        again.received_ns = round(again.timestamp_ns, again.received_ns);
        let mut want = r;
        want.received_ns = round(want.timestamp_ns, want.received_ns);
        assert_eq!(again, want);
    }
});
