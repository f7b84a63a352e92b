//! Helpers shared by the command-line tests: run `awd` and check outcomes.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Run `awd` with `args`.
pub fn awd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_awd")).args(args).output().expect("run awd")
}

/// Run a command that must succeed; its stdout and stderr.
pub fn ok_both(args: &[&str]) -> (String, String) {
    let out = awd(args);
    let (so, se) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    assert!(out.status.success(), "awd {args:?} failed: {se}");
    (so, se)
}

/// Run a command that must succeed; its stdout.
pub fn ok(args: &[&str]) -> String {
    ok_both(args).0
}

/// Run a command that must fail our way: exit status 1, one line on stderr
/// starting `awd: `, no panic. Returns the line.
pub fn fails(args: &[&str]) -> String {
    let out = awd(args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "awd {args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected: {err}");
    assert!(err.starts_with("awd: "), "{err}");
    err
}

/// Run a command that must fail (argument errors included: clap prints usage
/// and exits 2); no panic. Returns stderr.
pub fn fails_any(args: &[&str]) -> String {
    let out = awd(args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "awd {args:?} should fail");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// A path as `&str`.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
