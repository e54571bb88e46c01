//! An archive line (format 2) is read back from disk: any bytes must decode or fail without
//! panicking, and whatever decodes must encode to a line that decodes to the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale::store::logs::archive::record::{Context, decode_v2, encode_v2};

fuzz_target!(|data: &[u8]| {
    let ctx = Context {
        day: 20_781,
        recv_unit_ns: 1_000_000_000,
    };
    if let Ok(r) = decode_v2(data, ctx) {
        let mut line = Vec::new();
        encode_v2(&r, ctx, &mut line);
        assert_eq!(line.pop(), Some(b'\n'));
        let mut again = decode_v2(&line, ctx).expect("an encoded line decodes");
        // the receive time is kept in whole units: compare it rounded
        let unit = ctx.recv_unit_ns;
        let round = |t: i64, rx: i64| t.saturating_add(rx.saturating_sub(t).div_euclid(unit) * unit);
        again.received_ns = round(again.timestamp_ns, again.received_ns);
        let mut want = r;
        want.received_ns = round(want.timestamp_ns, want.received_ns);
        assert_eq!(again, want);
    }
});
