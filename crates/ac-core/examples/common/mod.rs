//! What the benchmark examples share: failing with a message, and parsing lists.

/// Prints `prog: msg` and exits with status 2 (a usage error).
pub fn fail_as(prog: &str, msg: &str) -> ! {
    eprintln!("{prog}: {msg}");
    std::process::exit(2)
}

/// Parses a comma-separated list of positive integers given to `flag`.
pub fn list_as(prog: &str, flag: &str, v: &str) -> Vec<usize> {
    v.split(',')
        .map(|x| match x.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => fail_as(
                prog,
                &format!("{flag}: \"{x}\" is not a positive integer (expected e.g. 256,1024)"),
            ),
        })
        .collect()
}
