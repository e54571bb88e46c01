//! `seriesByTag(*tagExpressions)`: the series whose tags match every expression, read as a
//! path expression would be (graphite-web resolves it in its store's fetch). Expressions are
//! `tag=value`, `tag!=value`, `tag=~regex`, `tag!=~regex` (regexes anchored at the start);
//! one that matches an empty value also matches series without the tag, and at least one
//! must not. Arguments that are not strings are ignored, as graphite-web ignores them.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::{EvalError, Value};
use crate::store::metrics::MetricsError;

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(*tagExpressions)",
    description: "Returns the series matching all the given tag expressions.",
    params: &[Param::new("tagExpressions", ParamType::String)
        .required()
        .multiple()],
    run: |ctx, args| {
        let exprs: Vec<String> = args
            .values_from(0)
            .into_iter()
            .filter_map(|v| match v {
                Value::Str(s) => Some(s),
                _ => None,
            })
            .collect();
        let names = ctx.backend.find_tagged(&exprs).map_err(|e| match e {
            MetricsError::Tag(t) => args.bad(t.to_string()),
            other => EvalError::Store(other.to_string()),
        })?;
        // graphite-web's series keep the whole call as their path expression
        ctx.read_all(names, &args.call.raw)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    #[test]
    fn selects_by_tags_and_keeps_the_call_as_path_expression() {
        let out = eval("seriesByTag('name=cpu', 'host=~web')");
        assert_eq!(names(&out), ["cpu;host=web1"]);
        assert_eq!(vals(&out[0]), [Some(5.0)]);
        assert_eq!(out[0].tags["host"], "web1");
        assert_eq!(
            out[0].path_expression,
            "seriesByTag('name=cpu', 'host=~web')"
        );
        // untagged series carry their name as the tag `name`
        assert_eq!(names(&eval("seriesByTag('name=~a[.]')")), ["a.x", "a.y"]);
        assert!(eval("seriesByTag('name=cpu', 'host!=web1')").is_empty());
        // tag functions work on the result
        let out = eval("aliasByTags(seriesByTag('name=cpu'), 'host')");
        assert_eq!(names(&out), ["web1"]);
        let out = eval("seriesByTag('name=cpu')|groupByTags('sum', 'host')");
        assert_eq!(names(&out), ["cpu;host=web1"]);
    }

    #[test]
    fn bad_expressions_are_the_request_s_fault() {
        for (target, msg) in [
            (
                "seriesByTag('host!=web1')",
                "seriesByTag: At least one tagspec must not match the empty string",
            ),
            ("seriesByTag('host')", "seriesByTag: Invalid tagspec host"),
            (
                "seriesByTag()",
                "seriesByTag: missing required parameter tagExpressions",
            ),
        ] {
            let e = ctx_none().eval_target(target).unwrap_err();
            assert!(e.is_client_error(), "{target}");
            assert_eq!(e.to_string(), msg, "{target}");
        }
    }
}
