//! Sizes carry their unit: bytes inside the program, kB only where smaps prints them.

use std::fmt;

/// A size in bytes. smaps prints sizes in kB (1024 bytes); we convert at the edges.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Bytes(pub u64);

impl Bytes {
    pub const ZERO: Bytes = Bytes(0);

    pub const fn from_kib(kib: u64) -> Bytes {
        Bytes(kib * 1024)
    }

    /// Whole kB, as smaps would print this size.
    pub const fn kib(self) -> u64 {
        self.0 / 1024
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).expect("size exceeds the address space")
    }
}

impl fmt::Display for Bytes {
    /// Prints like smaps does (`16384 kB`) whenever the size is whole kB.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1024) {
            write!(f, "{} kB", self.kib())
        } else {
            write!(f, "{} B", self.0)
        }
    }
}

impl std::ops::Add for Bytes {
    type Output = Bytes;
    fn add(self, rhs: Bytes) -> Bytes {
        Bytes(self.0 + rhs.0)
    }
}

impl std::ops::Mul<u64> for Bytes {
    type Output = Bytes;
    fn mul(self, rhs: u64) -> Bytes {
        Bytes(self.0 * rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_whole_kib_like_smaps() {
        assert_eq!(Bytes::from_kib(16384).to_string(), "16384 kB");
        assert_eq!(Bytes(1).to_string(), "1 B");
    }
}
