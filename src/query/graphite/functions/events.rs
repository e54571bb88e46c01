//! `events(*tags)`: how many Graphite events fall in each second of the request (null where
//! none), for drawing deploys over a graph with `drawAsInfinite`. `events("*")` counts every
//! event; otherwise events carrying all the given tags (tags no event has are ignored, as in
//! graphite-web). Named `events("a", "b")`, consolidated by sum.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::{EvalError, Value};
use crate::query::graphite::series::{Consolidation, TimeSeries};
use crate::store::events::SetOp;

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(*tags)",
    description: "Returns the number of events at each point in time.",
    params: &[Param::new("tags", ParamType::String).required().multiple()],
    run: |ctx, args| {
        let tags: Vec<String> = args
            .values_from(0)
            .into_iter()
            .map(|v| match v {
                Value::Str(s) => s,
                Value::Int(i) => i.to_string(),
                _ => String::new(),
            })
            .collect();
        let name = format!("events(\"{}\")", tags.join("\", \""));
        let (start, end) = (ctx.from, ctx.until);
        let points = usize::try_from(end - start).unwrap_or(0);
        // one slot a second: refuse ranges whose series would not fit in memory
        if points > 10_000_000 {
            return Err(args.bad("the range is too long for one point a second"));
        }
        let mut values: Vec<Option<f64>> = vec![None; points];
        if let Some(store) = ctx.events {
            let filter = (tags != ["*"]).then_some(tags.as_slice());
            let found = store
                .find(start, end, filter, SetOp::All)
                .map_err(|e| EvalError::Store(e.to_string()))?;
            for e in found {
                // graphite-web fails on an event at exactly `until`; it has no slot here
                if let Some(v) = usize::try_from(e.when - start)
                    .ok()
                    .and_then(|i| values.get_mut(i))
                {
                    *v = Some(v.unwrap_or(0.0) + 1.0);
                }
            }
        }
        let mut s = TimeSeries::new(name, start, end, 1, values);
        s.consolidation = Consolidation::Sum;
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        Ok(vec![s])
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::eval::Context;
    use crate::query::graphite::functions::tests::{backend, names};
    use crate::store::events::{EventStore, parse_post};

    #[test]
    fn counts_events_per_second_by_tags() {
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open(tmp.path()).unwrap();
        for body in [
            r#"{"what":"a","tags":"deploy web","when":103}"#,
            r#"{"what":"b","tags":"deploy db","when":103}"#,
            r#"{"what":"c","tags":"deploy","when":105}"#,
            r#"{"what":"d","tags":"deploy","when":110}"#,
        ] {
            store.post(parse_post(body.as_bytes(), 0).unwrap()).unwrap();
        }
        let mem = backend();
        let mut ctx = Context::new(&mem, 100, 110, 1000);
        ctx.events = Some(&store);
        let out = ctx.eval_target("events('deploy')").unwrap();
        assert_eq!(names(&out), ["events(\"deploy\")"]);
        let mut want = vec![None; 10];
        want[3] = Some(2.0);
        want[5] = Some(1.0);
        assert_eq!(out[0].values, want);
        assert_eq!((out[0].start, out[0].end, out[0].step), (100, 110, 1));
        let out = ctx.eval_target("events('web', 'deploy')").unwrap();
        assert_eq!(out[0].name, "events(\"web\", \"deploy\")");
        assert_eq!(out[0].values.iter().flatten().sum::<f64>(), 1.0);
        let out = ctx.eval_target("events('*')").unwrap();
        assert_eq!(out[0].values.iter().flatten().sum::<f64>(), 3.0);
        let out = ctx.eval_target("events('nosuch')").unwrap();
        assert!(out[0].values.iter().all(Option::is_none));
    }
}
