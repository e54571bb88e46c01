//! Any (app, message) pair must go through every shipped rule without panicking or hanging
//! (the regex engine is linear-time, so a slow input here is a bug).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use telltale::model::LogRecord;
use telltale::normalize::Normalizer;

/// Shipped apps, so most inputs reach real rules rather than the "no rules" path.
const APPS: &[&str] = &[
    "sshd",
    "sudo",
    "su",
    "cron",
    "CRON",
    "systemd",
    "kernel",
    "postfix/smtpd",
    "postfix/qmgr",
    "nginx",
    "apache",
    "php-fpm",
    "mysqld",
    "redis",
    "haproxy",
    "monit",
    "ftpd",
    "sshd(pam_unix)",
    "other",
];

fuzz_target!(|data: &[u8]| {
    static N: OnceLock<Normalizer> = OnceLock::new();
    let n = N.get_or_init(|| Normalizer::with_errors(None).0);
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let app = APPS[first as usize % APPS.len()];
    let message = String::from_utf8_lossy(rest).into_owned();
    let mut rec = LogRecord {
        app: app.to_string(),
        message: message.clone(),
        ..LogRecord::default()
    };
    if n.apply(&mut rec).is_none() {
        assert!(rec.fields.is_empty());
    }
    assert_eq!(rec.message, message);
});
