//! `randomWalkFunction(name, step=60)` (also `randomWalk`): a walk from 0 by uniform steps in
//! [-0.5, 0.5), one per `step` from the request's start; for trying dashboards without data.
//! The generator is a small splitmix64 seeded from the clock: the values need only look
//! random, as graphite-web's `random.random()` ones do.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(name, step=60)",
    description: "A random walk from 0, for testing without data.",
    params: &[
        Param::new("name", ParamType::String).required(),
        Param::new("step", ParamType::Integer).default(Literal::Int(60)),
    ],
    run: |ctx, args| {
        let name = args.string(0).unwrap_or_default().to_string();
        let step = args.int(1).unwrap_or(60);
        if step <= 0 {
            return Err(args.bad("step must be positive"));
        }
        if (ctx.until - ctx.from) / step > 10_000_000 {
            return Err(args.bad("too many points"));
        }
        let mut state = seed();
        let mut current = 0.0;
        let values = (ctx.from..ctx.until)
            .step_by(usize::try_from(step).unwrap_or(60))
            .map(|_| {
                let v = current;
                current += unit(&mut state) - 0.5;
                Some(v)
            })
            .collect();
        let mut s = TimeSeries::new(name, ctx.from, ctx.until, step, values);
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        Ok(vec![s])
    },
};

/// A different seed per call: the clock plus a counter (two calls in one nanosecond differ).
fn seed() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ CALLS.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
}

/// splitmix64's next value as a float in [0, 1).
fn unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn walks_from_zero_by_small_steps() {
        let out = eval("randomWalk('rw', 10)");
        assert_eq!(names(&out), ["rw"]);
        let v: Vec<f64> = vals(&out[0]).into_iter().flatten().collect();
        assert_eq!(v.len(), 4);
        assert_eq!(v[0], 0.0);
        for w in v.windows(2) {
            assert!((w[1] - w[0]).abs() <= 0.5, "{v:?}");
        }
        let out = eval("randomWalkFunction('rw')");
        assert_eq!(vals(&out[0]), [Some(0.0)]);
    }
}
