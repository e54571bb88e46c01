//! Parser shape tests, behaviour tests against a real in-RAM index, and property tests that
//! hostile input never panics.
// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tantivy::collector::DocSetCollector;
use tantivy::schema::Value as _;
use tantivy::{Index, IndexWriter, TantivyDocument};

use super::*;
use crate::store::logs::schema::register_tokenizers;

fn shape(q: &str) -> String {
    match parse(q) {
        Ok(ast) => ast.to_string(),
        Err(e) => panic!("{q:?} failed: {e}"),
    }
}

fn err(q: &str) -> String {
    match parse(q) {
        Ok(ast) => panic!("{q:?} parsed as {ast}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn parses_terms_phrases_and_fields() {
    assert_eq!(shape(""), "*");
    assert_eq!(shape("   "), "*");
    assert_eq!(shape("*"), "*");
    assert_eq!(shape("error"), "error");
    assert_eq!(shape(r#""connection refused""#), r#""connection refused""#);
    assert_eq!(shape(r#""say \"hi\"""#), r#""say \"hi\"""#);
    assert_eq!(shape("host:web1"), "host:web1");
    assert_eq!(shape(r#"app:"my app""#), r#"app:"my app""#);
    assert_eq!(shape("10.0.0.1"), "10.0.0.1");
    assert_eq!(shape("10.0.0.1:22"), "10.0.0.1:22");
    assert_eq!(shape("url:http://x/y"), "url:http://x/y");
    assert_eq!(shape("exampleSDID@32473.iut:3"), "exampleSDID@32473.iut:3");
    assert_eq!(shape(r"foo\:bar"), "foo:bar");
    assert_eq!(shape("host:AND"), "host:AND");
}

#[test]
fn parses_comparisons_and_ranges() {
    assert_eq!(shape("severity:<=warning"), "severity:<=warning");
    assert_eq!(shape("severity:<4"), "severity:<4");
    assert_eq!(shape("severity:>=err"), "severity:>=err");
    assert_eq!(shape("severity:>err"), "severity:>err");
    assert_eq!(shape("severity:[2 TO 4]"), "severity:[2 TO 4]");
    assert_eq!(shape("severity:{2 TO 4}"), "severity:{2 TO 4}");
    assert_eq!(shape("severity:[2 TO 4}"), "severity:[2 TO 4}");
    assert_eq!(shape("severity:[* TO 4]"), "severity:[* TO 4]");
    assert_eq!(shape("severity:[ 2  TO  * ]"), "severity:[2 TO *]");
    assert!(matches!(
        parse("severity:[2 TO 4]"),
        Ok(Ast::Clause(Clause {
            value: Value::Range(std::ops::Bound::Included(_), std::ops::Bound::Included(_)),
            ..
        }))
    ));
}

#[test]
fn parses_wildcards() {
    assert_eq!(
        parse("foo*"),
        Ok(Ast::Clause(Clause {
            field: None,
            value: Value::Wildcard(vec![WildPart::Lit("foo".into()), WildPart::Any]),
            col: 1,
        }))
    );
    assert_eq!(shape("f?o"), "f?o");
    assert_eq!(shape("host:web**"), "host:web*");
    assert_eq!(
        parse(r"foo\*"),
        Ok(Ast::Clause(Clause {
            field: None,
            value: Value::Term("foo*".into()),
            col: 1,
        }))
    );
}

#[test]
fn boolean_precedence() {
    assert_eq!(shape("a b"), "(AND a b)");
    assert_eq!(shape("a AND b"), "(AND a b)");
    assert_eq!(shape("a && b"), "(AND a b)");
    assert_eq!(shape("a OR b"), "(OR a b)");
    assert_eq!(shape("a || b"), "(OR a b)");
    assert_eq!(shape("a OR b AND c"), "(OR a (AND b c))");
    assert_eq!(shape("a AND b OR c"), "(OR (AND a b) c)");
    assert_eq!(shape("a OR b c"), "(OR a (AND b c))");
    assert_eq!(shape("NOT a AND b"), "(AND (NOT a) b)");
    assert_eq!(shape("NOT a OR b"), "(OR (NOT a) b)");
    assert_eq!(shape("!a"), "(NOT a)");
    assert_eq!(shape("-a b"), "(AND (NOT a) b)");
    assert_eq!(shape("+a -b"), "(AND a (NOT b))");
    assert_eq!(shape("NOT NOT a"), "(NOT (NOT a))");
    assert_eq!(shape("(a OR b) c"), "(AND (OR a b) c)");
    assert_eq!(shape("((a))"), "a");
    assert_eq!(
        shape("a (b OR (c AND -d))"),
        "(AND a (OR b (AND c (NOT d))))"
    );
    assert_eq!(shape("host:(web1 OR web2)"), "(OR host:web1 host:web2)");
    assert_eq!(shape("a - b"), "(AND a - b)");
    assert_eq!(shape("and or not"), "(AND and or not)");
}

#[test]
fn errors_point_at_the_problem() {
    assert_eq!(err("foo bar)"), "unexpected ')' at column 8");
    assert_eq!(err("(a OR b))"), "unexpected ')' at column 9");
    assert_eq!(err(")"), "unexpected ')' at column 1");
    assert_eq!(
        err("a \"b c"),
        "unterminated quoted string starting at column 3"
    );
    assert_eq!(err("a AND ()"), "empty parentheses at column 7");
    assert_eq!(err("(a"), "unclosed '(' at column 1");
    assert_eq!(err("("), "unclosed '(' at column 1");
    assert_eq!(err("a AND"), "missing term after 'AND' at column 3");
    assert_eq!(err("a OR"), "missing term after 'OR' at column 3");
    assert_eq!(err("NOT"), "missing term after 'NOT' at column 1");
    assert_eq!(err("a AND OR b"), "unexpected 'OR' at column 7");
    assert_eq!(err("OR a"), "unexpected 'OR' at column 1");
    assert_eq!(err("host:"), "missing value after 'host:' at column 1");
    assert_eq!(err("x host: y"), "missing value after 'host:' at column 3");
    assert_eq!(
        err("severity:<="),
        "missing value after 'severity:<=' at column 10"
    );
    assert_eq!(
        err("foo\\"),
        "dangling '\\' at column 4 (write '\\\\' for a backslash)"
    );
    assert_eq!(
        err("severity:[2 4]"),
        "expected 'TO' in range at column 10 (write e.g. [2 TO 4])"
    );
    assert_eq!(
        err("severity:[2 TO 4"),
        "unterminated range starting at column 10 (write e.g. [2 TO 4])"
    );
    // Columns count characters, not bytes.
    assert_eq!(err("héllo )"), "unexpected ')' at column 7");
    for q in ["a AND", "(", "x)", "\"", "host:"] {
        assert!(!err(q).ends_with('.'), "{q}");
    }
}

#[test]
fn hostile_input_is_bounded() {
    let deep = "(".repeat(100) + "a" + &")".repeat(100);
    assert!(
        err(&deep).starts_with("query is nested too deeply"),
        "{}",
        err(&deep)
    );
    let nots = "NOT ".repeat(100) + "a";
    assert!(err(&nots).starts_with("query is nested too deeply"));
    let dashes = "-".repeat(1000) + "a";
    assert!(err(&dashes).starts_with("query is nested too deeply"));
    let long = "a ".repeat(MAX_QUERY_LEN);
    assert!(err(&long).starts_with("query is too long"));
    let many = "a ".repeat(MAX_CLAUSES + 1);
    assert!(err(&many).starts_with("query has too many terms"));
    let ok = "(".repeat(MAX_DEPTH) + "a" + &")".repeat(MAX_DEPTH);
    assert_eq!(shape(&ok), "a");
}

// ---- behaviour against a real index ----

struct Doc {
    host: &'static str,
    app: &'static str,
    pid: &'static str,
    severity: u64,
    facility: u64,
    msgid: &'static str,
    message: &'static str,
    fields: &'static str,
}

const DOCS: &[Doc] = &[
    // 0
    Doc {
        host: "web1",
        app: "sshd",
        pid: "123",
        severity: 6,
        facility: 4,
        msgid: "",
        message: "Accepted publickey for root from 10.0.0.1 port 22",
        fields: r#"{"user":"root"}"#,
    },
    // 1
    Doc {
        host: "web1",
        app: "sshd",
        pid: "124",
        severity: 4,
        facility: 4,
        msgid: "",
        message: "Failed password for invalid user admin from 10.0.0.2 port 4711",
        fields: r#"{"user":"admin"}"#,
    },
    // 2
    Doc {
        host: "web2",
        app: "nginx",
        pid: "900",
        severity: 3,
        facility: 3,
        msgid: "",
        message: "connect() failed (111: Connection refused) while connecting to upstream",
        fields: "{}",
    },
    // 3
    Doc {
        host: "db1",
        app: "mariadbd",
        pid: "77",
        severity: 2,
        facility: 3,
        msgid: "",
        message: "InnoDB: Database page corruption on disk",
        fields: "{}",
    },
    // 4
    Doc {
        host: "DB2",
        app: "CRON",
        pid: "555",
        severity: 6,
        facility: 9,
        msgid: "",
        message: "(root) CMD (run-parts /etc/cron.hourly)",
        fields: "{}",
    },
    // 5
    Doc {
        host: "web2",
        app: "app",
        pid: "123",
        severity: 5,
        facility: 16,
        msgid: "ID47",
        message: "user login ok",
        fields: r#"{"exampleSDID@32473.iut":"3","timeQuality":{"tzKnown":"1"}}"#,
    },
    // 6
    Doc {
        host: "mail1",
        app: "postfix",
        pid: "31",
        severity: 7,
        facility: 2,
        msgid: "",
        message: "connection refused by foo-bar.example.com",
        fields: "{}",
    },
    // 7
    Doc {
        host: "web10",
        app: "kernel",
        pid: "",
        severity: 0,
        facility: 0,
        msgid: "",
        message: "Kernel panic - not syncing: Fatal exception",
        fields: "{}",
    },
    // 8
    Doc {
        host: "web1",
        app: "sudo",
        pid: "8",
        severity: 5,
        facility: 10,
        msgid: "",
        message: "admin : TTY=pts/0 ; COMMAND=/bin/ls",
        fields: r#"{"user":"Admin","status":500}"#,
    },
    // 9
    Doc {
        host: "web3",
        app: "php-fpm",
        pid: "1000",
        severity: 1,
        facility: 3,
        msgid: "",
        message: "WARNING: pool www seems busy",
        fields: "{}",
    },
];

fn index() -> (Index, LogFields) {
    let (schema, f) = LogFields::build();
    let index = Index::create_in_ram(schema);
    register_tokenizers(index.tokenizers());
    let mut w: IndexWriter = index.writer(15_000_000).unwrap();
    for (i, d) in DOCS.iter().enumerate() {
        let mut doc = TantivyDocument::default();
        doc.add_text(f.host, d.host);
        doc.add_text(f.app, d.app);
        if !d.pid.is_empty() {
            doc.add_text(f.pid, d.pid);
        }
        if !d.msgid.is_empty() {
            doc.add_text(f.msgid, d.msgid);
        }
        doc.add_u64(f.severity, d.severity);
        doc.add_u64(f.facility, d.facility);
        doc.add_text(f.message, d.message);
        let json: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(d.fields).unwrap();
        doc.add_object(
            f.fields,
            json.into_iter()
                .map(|(k, v)| (k, serde_json::from_value(v).unwrap()))
                .collect(),
        );
        // Store the position so results can be named by it.
        doc.add_i64(f.received, i as i64);
        w.add_document(doc).unwrap();
    }
    w.commit().unwrap();
    (index, f)
}

fn hits(q: &str) -> Vec<i64> {
    let (index, f) = index();
    let query = match build_query(q, &f, &index.schema()) {
        Ok(query) => query,
        Err(e) => panic!("{q:?}: {e}"),
    };
    let searcher = index.reader().unwrap().searcher();
    let mut out: Vec<i64> = searcher
        .search(&*query, &DocSetCollector)
        .unwrap()
        .into_iter()
        .map(|addr| {
            let doc: TantivyDocument = searcher.doc(addr).unwrap();
            doc.get_first(f.received).and_then(|v| v.as_i64()).unwrap()
        })
        .collect();
    out.sort();
    out
}

fn compile_err(q: &str) -> String {
    let (schema, f) = LogFields::build();
    match build_query(q, &f, &schema) {
        Ok(_) => panic!("{q:?} compiled"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn all_and_empty() {
    assert_eq!(hits(""), (0..10).collect::<Vec<_>>());
    assert_eq!(hits("*"), (0..10).collect::<Vec<_>>());
    // Analyses to no token at all: dropped, like Lucene's stop words.
    assert_eq!(hits("-"), (0..10).collect::<Vec<_>>());
}

#[test]
fn free_text_and_phrases() {
    assert_eq!(hits("failed"), vec![1, 2]);
    assert_eq!(hits("FAILED"), vec![1, 2]);
    assert_eq!(hits("message:failed"), vec![1, 2]);
    assert_eq!(hits(r#""connection refused""#), vec![2, 6]);
    assert_eq!(hits(r#"message:"refused by""#), vec![6]);
    assert_eq!(hits(r#""refused connection""#), Vec::<i64>::new());
    assert_eq!(hits("10.0.0.1"), vec![0]);
    assert_eq!(hits("foo-bar"), vec![6]);
    assert_eq!(hits("cron.hourly"), vec![4]);
}

#[test]
fn keyword_fields() {
    assert_eq!(hits("host:WEB1"), vec![0, 1, 8]);
    assert_eq!(hits("host:db2"), vec![4]);
    assert_eq!(hits("Host:web2"), vec![2, 5]);
    assert_eq!(hits("app:sshd"), vec![0, 1]);
    assert_eq!(hits("app:cron"), vec![4]);
    assert_eq!(hits("app:php-fpm"), vec![9]);
    assert_eq!(hits(r#"app:"php-fpm""#), vec![9]);
    assert_eq!(hits("pid:123"), vec![0, 5]);
    assert_eq!(hits("msgid:id47"), vec![5]);
}

#[test]
fn severity_and_facility() {
    assert_eq!(hits("severity:warning"), vec![1]);
    assert_eq!(hits("severity:4"), vec![1]);
    assert_eq!(hits("severity:<=warning"), vec![1, 2, 3, 7, 9]);
    assert_eq!(hits("severity:<=4"), vec![1, 2, 3, 7, 9]);
    assert_eq!(hits("severity:<4"), vec![2, 3, 7, 9]);
    assert_eq!(hits("severity:>=err"), vec![0, 1, 2, 4, 5, 6, 8]);
    assert_eq!(hits("severity:>notice"), vec![0, 4, 6]);
    assert_eq!(hits("severity:[2 TO 4]"), vec![1, 2, 3]);
    assert_eq!(hits("severity:{2 TO 4]"), vec![1, 2]);
    assert_eq!(hits("severity:[warning TO crit]"), vec![1, 2, 3]);
    assert_eq!(hits("severity:[* TO 1]"), vec![7, 9]);
    assert_eq!(hits("severity:[6 TO *]"), vec![0, 4, 6]);
    assert_eq!(hits("severity:*"), (0..10).collect::<Vec<_>>());
    assert_eq!(hits("facility:auth"), vec![0, 1]);
    assert_eq!(hits("facility:4"), vec![0, 1]);
    assert_eq!(hits("facility:local0"), vec![5]);
    assert_eq!(hits("facility:(cron OR authpriv)"), vec![4, 8]);
}

#[test]
fn boolean_logic() {
    assert_eq!(hits("host:web1 AND severity:warning"), vec![1]);
    assert_eq!(hits("host:web1 severity:warning"), vec![1]);
    assert_eq!(hits("app:sshd OR app:nginx"), vec![0, 1, 2]);
    assert_eq!(hits("host:web1 NOT app:sshd"), vec![8]);
    assert_eq!(hits("host:web1 -app:sshd"), vec![8]);
    assert_eq!(hits("host:web1 !app:sshd"), vec![8]);
    assert_eq!(hits("+host:web1 +root"), vec![0]);
    assert_eq!(
        hits("(app:sshd OR app:nginx) AND (failed OR refused)"),
        vec![1, 2]
    );
    assert_eq!(hits("app:sshd OR app:nginx AND refused"), vec![0, 1, 2]);
    assert_eq!(hits("refused || panic && kernel"), vec![2, 6, 7]);
    assert_eq!(hits("root OR NOT host:web1"), vec![0, 2, 3, 4, 5, 6, 7, 9]);
}

#[test]
fn pure_negative() {
    assert_eq!(hits("NOT host:web1"), vec![2, 3, 4, 5, 6, 7, 9]);
    assert_eq!(hits("-host:web1"), vec![2, 3, 4, 5, 6, 7, 9]);
    assert_eq!(hits("-host:web1 -host:web2"), vec![3, 4, 6, 7, 9]);
    assert_eq!(hits("NOT (host:web1 OR host:web2)"), vec![3, 4, 6, 7, 9]);
    assert_eq!(hits("NOT NOT app:sshd"), vec![0, 1]);
}

#[test]
fn wildcards() {
    assert_eq!(hits("host:web*"), vec![0, 1, 2, 5, 7, 8, 9]);
    assert_eq!(hits("host:WEB?"), vec![0, 1, 2, 5, 8, 9]);
    assert_eq!(hits("host:*1"), vec![0, 1, 3, 6, 8]);
    assert_eq!(hits("app:php-*"), vec![9]);
    assert_eq!(hits("conn*"), vec![2, 6]);
    assert_eq!(hits("Conn*ing"), vec![2]);
    assert_eq!(hits("*used"), vec![2, 6]);
    assert_eq!(hits("f?iled"), vec![1, 2]);
    assert_eq!(hits("10.0.*"), vec![0, 1]);
    assert_eq!(hits("10.0.0.?"), vec![0, 1]);
    assert_eq!(hits("host:*"), (0..10).collect::<Vec<_>>());
    // Regex metacharacters in the literal part are literal.
    assert_eq!(hits("host:w.b*"), Vec::<i64>::new());
    assert_eq!(hits("pid:(1*)"), vec![0, 1, 5, 9]);
}

#[test]
fn structured_fields() {
    assert_eq!(hits("user:root"), vec![0]);
    assert_eq!(hits("user:admin"), vec![1, 8]);
    assert_eq!(hits("user:ADMIN"), vec![1, 8]);
    assert_eq!(hits(r#"user:"root""#), vec![0]);
    assert_eq!(hits("user:nobody"), Vec::<i64>::new());
    assert_eq!(hits("status:500"), vec![8]);
    // A flat key with dots (how SD params may be stored) and a nested object both match.
    assert_eq!(hits("exampleSDID@32473.iut:3"), vec![5]);
    assert_eq!(hits("timeQuality.tzKnown:1"), vec![5]);
    assert_eq!(hits("user:root OR user:admin -host:web1"), vec![0]);
    assert_eq!(
        hits("(user:root OR user:admin) -host:web1"),
        Vec::<i64>::new()
    );
}

#[test]
fn compile_errors() {
    assert_eq!(
        compile_err("severity:warnx"),
        "unknown severity 'warnx' at column 10 (use emergency, alert, critical, error, warning, \
         notice, info, debug or 0-7)"
    );
    assert_eq!(
        compile_err("severity:8"),
        "unknown severity '8' at column 10 (use emergency, alert, critical, error, warning, \
         notice, info, debug or 0-7)"
    );
    assert!(compile_err("a severity:<=bogus").contains("'bogus' at column 14"));
    assert!(compile_err("severity:[1 TO x]").starts_with("unknown severity 'x' at column 10"));
    assert!(compile_err("facility:nope").starts_with("unknown facility 'nope' at column 10"));
    assert_eq!(
        compile_err("host:>a"),
        "a comparison on field 'host' at column 6 is not supported (comparisons work on \
         severity and facility)"
    );
    assert!(compile_err("message:[a TO b]").starts_with("a range on field 'message'"));
    assert!(compile_err("severity:w*").starts_with("a wildcard on field 'severity'"));
    assert!(compile_err("user:ro*").starts_with("a wildcard on field 'user'"));
    assert!(
        compile_err("status:>abc").starts_with("a comparison with a non-number on field 'status'")
    );
    assert!(compile_err("bytes:[* TO *]").starts_with("a range open at both ends"));
    assert!(compile_err("raw:x").starts_with("field 'raw' at column 5 is not searchable"));
    assert!(compile_err("timestamp:1").contains("from and until"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn parse_and_compile_never_panic_on_query_alphabet(
        parts in proptest::collection::vec(
            prop_oneof![
                "[a-z]{1,3}",
                Just(":".to_string()),
                Just("\"".to_string()),
                Just("(".to_string()),
                Just(")".to_string()),
                Just("*".to_string()),
                Just("?".to_string()),
                Just("AND".to_string()),
                Just("OR".to_string()),
                Just("NOT".to_string()),
                Just(" ".to_string()),
                Just("[".to_string()),
                Just("]".to_string()),
                Just("{".to_string()),
                Just("}".to_string()),
                Just("TO".to_string()),
                Just("-".to_string()),
                Just("!".to_string()),
                Just("\\".to_string()),
                Just("<=".to_string()),
                Just("severity".to_string()),
                Just("host".to_string()),
            ],
            0..24,
        )
    ) {
        let q = parts.concat();
        let (schema, f) = LogFields::build();
        if let Ok(ast) = parse(&q) {
            // Whatever parses must also compile (to a query or an error) without panicking.
            let _ = compile(&ast, &f, &schema);
        }
    }
}

#[test]
fn hostile_wildcards_compile_quickly_or_fail_cleanly() {
    let (schema, f) = LogFields::build();
    for q in [
        "*?".repeat(2000),
        format!("host:{}", "?".repeat(4000)),
        format!("host:{}", "a*".repeat(2000)),
        "a?b*".repeat(1000),
    ] {
        let start = std::time::Instant::now();
        let _ = build_query(&q, &f, &schema);
        assert!(start.elapsed().as_secs() < 5, "{}", &q[..20]);
    }
}

/// The test documents as records, the way the store gives them back (nested JSON flattened to
/// dotted keys, numbers as strings).
fn doc_records() -> Vec<crate::model::LogRecord> {
    fn flat(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flat(&key, v, out);
                }
            }
            serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    DOCS.iter()
        .map(|d| {
            let mut fields = Vec::new();
            flat("", &serde_json::from_str(d.fields).unwrap(), &mut fields);
            crate::model::LogRecord {
                host: d.host.into(),
                app: d.app.into(),
                pid: d.pid.into(),
                severity: Some(d.severity as u8),
                facility: Some(d.facility as u8),
                msgid: d.msgid.into(),
                message: d.message.into(),
                fields,
                ..Default::default()
            }
        })
        .collect()
}

/// The in-memory matcher (archive search) agrees with the index on every query the index
/// tests use.
#[test]
fn the_matcher_finds_what_the_index_finds() {
    let records = doc_records();
    let queries = [
        "",
        "*",
        "-",
        "failed",
        "FAILED",
        "message:failed",
        r#""connection refused""#,
        r#"message:"refused by""#,
        r#""refused connection""#,
        "10.0.0.1",
        "foo-bar",
        "cron.hourly",
        "host:WEB1",
        "host:db2",
        "Host:web2",
        "app:sshd",
        "app:cron",
        "app:php-fpm",
        r#"app:"php-fpm""#,
        "pid:123",
        "msgid:id47",
        "severity:warning",
        "severity:4",
        "severity:<=warning",
        "severity:<=4",
        "severity:<4",
        "severity:>=err",
        "severity:>notice",
        "severity:[2 TO 4]",
        "severity:{2 TO 4]",
        "severity:[warning TO crit]",
        "severity:[* TO 1]",
        "severity:[6 TO *]",
        "severity:*",
        "severity:<0",
        "severity:[0 TO 0}",
        "facility:auth",
        "facility:4",
        "facility:local0",
        "facility:(cron OR authpriv)",
        "host:web1 AND severity:warning",
        "host:web1 severity:warning",
        "app:sshd OR app:nginx",
        "host:web1 NOT app:sshd",
        "host:web1 -app:sshd",
        "host:web1 !app:sshd",
        "+host:web1 +root",
        "(app:sshd OR app:nginx) AND (failed OR refused)",
        "app:sshd OR app:nginx AND refused",
        "refused || panic && kernel",
        "root OR NOT host:web1",
        "NOT host:web1",
        "-host:web1",
        "-host:web1 -host:web2",
        "NOT (host:web1 OR host:web2)",
        "NOT NOT app:sshd",
        "host:web*",
        "host:WEB?",
        "host:*1",
        "app:php-*",
        "conn*",
        "Conn*ing",
        "*used",
        "f?iled",
        "10.0.*",
        "10.0.0.?",
        "host:*",
        "host:w.b*",
        "pid:(1*)",
        "pid:*",
        "msgid:*",
        "user:root",
        "user:admin",
        "user:ADMIN",
        r#"user:"root""#,
        "user:nobody",
        "status:500",
        "exampleSDID@32473.iut:3",
        "timeQuality.tzKnown:1",
        "user:root OR user:admin -host:web1",
        "(user:root OR user:admin) -host:web1",
        "- -host:web1",
    ];
    for q in queries {
        let mut m = Matcher::new(&parse(q).unwrap()).unwrap();
        let got: Vec<i64> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| m.matches(r))
            .map(|(i, _)| i as i64)
            .collect();
        assert_eq!(got, hits(q), "{q}");
    }
    // the test index has no typed column; the writer's (see store tests) answers these
    let typed = |q: &str| -> Vec<usize> {
        let mut m = Matcher::new(&parse(q).unwrap()).unwrap();
        (0..records.len())
            .filter(|&i| m.matches(&records[i]))
            .collect()
    };
    assert_eq!(typed("status:>=500"), [8]);
    assert_eq!(typed("status:<500"), Vec::<usize>::new());
    assert_eq!(typed("status:[400 TO 599]"), [8]);
    assert_eq!(typed("status:{500 TO *]"), Vec::<usize>::new());
    let mut ip = records[0].clone();
    ip.fields = vec![("client".into(), "10.1.2.3".into())];
    let mut m = Matcher::new(&parse("client:10.0.0.0/8").unwrap()).unwrap();
    assert!(m.matches(&ip));
    let mut m = Matcher::new(&parse("client:11.0.0.0/8").unwrap()).unwrap();
    assert!(!m.matches(&ip));
}

#[test]
fn the_matcher_rejects_what_compile_rejects_and_knows_required_hosts() {
    for q in [
        "severity:warnx",
        "host:>a",
        "user:ro*",
        "raw:x",
        "timestamp:1",
    ] {
        assert!(Matcher::new(&parse(q).unwrap()).is_err(), "{q}");
    }
    let hosts = |q: &str| Matcher::new(&parse(q).unwrap()).unwrap().required_hosts();
    assert_eq!(hosts("host:WEB1 failed"), Some(vec!["web1".to_string()]));
    assert_eq!(
        hosts("(host:a OR host:b) app:x"),
        Some(vec!["a".to_string(), "b".to_string()])
    );
    assert_eq!(hosts("host:a OR failed"), None);
    assert_eq!(hosts("-host:a"), None);
    assert_eq!(hosts("host:a*"), None);
    let apps = Matcher::new(&parse("app:sshd").unwrap())
        .unwrap()
        .required_apps();
    assert_eq!(apps, Some(vec!["sshd".to_string()]));
}
