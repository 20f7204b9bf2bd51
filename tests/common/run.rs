//! What the tests that run the `pagelab` binary share.

use std::process::Output;

/// The stderr of a run that must have exited with `status` and said each of `needles` on
/// stderr; else the test fails, showing what the run wrote.
pub fn exited_saying(output: &Output, status: i32, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(status),
        "stdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "`{needle}` missing from:\n{stderr}"
        );
    }
    stderr
}
