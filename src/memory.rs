//! How much memory this machine has free, so that a declared size is checked before it is
//! allocated: a small file can declare a dataset of 10⁹ frames, and a config can ask for millions
//! of hidden units. Refusing with the size needed beats an out-of-memory kill that leaves a run
//! `running` for ever.

use crate::error::{Error, Result};

/// Memory available to new allocations, bytes: `MemAvailable` of `/proc/meminfo` (Linux), or
/// `None` where it cannot be read (then nothing is refused).
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Refuse to allocate `bytes` for `what` when the machine has less available; `fix` says how to
/// need less.
pub fn require(bytes: u128, what: &str, fix: &str) -> Result<()> {
    let Some(free) = available_bytes() else {
        return Ok(());
    };
    if bytes <= free as u128 {
        return Ok(());
    }
    Err(Error::Unsupported {
        problem: format!(
            "{what} needs {} of memory, and this machine has {} available",
            human(bytes),
            human(free as u128)
        ),
        fix: fix.into(),
    })
}

/// `bytes` as GB or MB, for messages.
fn human(bytes: u128) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else {
        format!("{:.0} MB", b / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impossible_allocation_is_refused_with_its_size() {
        if available_bytes().is_none() {
            return;
        }
        let err = require(10u128.pow(15), "the traces", "read fewer frames").unwrap_err();
        assert!(err.to_string().contains("1000000.0 GB"), "{err}");
        assert!(require(1024, "a little", "").is_ok());
    }
}
