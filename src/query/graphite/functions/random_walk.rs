//! `randomWalkFunction(name, step=60)` (also `randomWalk`): a walk from 0 that moves by a
//! uniform random amount in [-0.5, 0.5) each step, for testing without data. Random, so
//! its values cannot match graphite-web's; its shape (start, step, count) does.

use std::hash::{BuildHasher, Hasher};

use super::sin_function::timestamps;
use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(name, step=60)",
    description: "A random walk from 0 (each point the previous plus a random value in [-0.5, 0.5)), for testing.",
    params: &[
        Param::new("name", ParamType::String).required(),
        Param::new("step", ParamType::Integer).default(Literal::Int(60)),
    ],
    run: |ctx, args| {
        let name = args.string(0).unwrap_or_default().to_string();
        let step = args.int(1).unwrap_or(60);
        if step <= 0 || (ctx.until - ctx.from) / step > 10_000_000 {
            return Err(args.bad("step must be positive and give at most 10000000 points"));
        }
        // std's per-process random hasher keys seed a xorshift; no crate needed for test data
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(ctx.from);
        let mut state = h.finish() | 1;
        let mut current = 0.0;
        let values = timestamps(ctx.from, ctx.until, step)
            .map(|_| {
                let v = current;
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                current += (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                Some(v)
            })
            .collect();
        let mut s = TimeSeries::new(name, ctx.from, ctx.until, step, values);
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        Ok(vec![s])
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn walks_from_zero_by_at_most_half() {
        let out = eval("randomWalk('w', 10)");
        assert_eq!(names(&out), ["w"]);
        let v: Vec<f64> = vals(&out[0]).into_iter().flatten().collect();
        assert_eq!(v.len(), 4);
        assert_eq!(v[0], 0.0);
        assert!(v.windows(2).all(|w| (w[1] - w[0]).abs() <= 0.5), "{v:?}");
    }
}
