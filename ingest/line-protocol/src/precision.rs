//! Timestamp precision.

use std::fmt;
use std::str::FromStr;

use crate::error::ParsePrecisionError;

/// The unit of the timestamps in a body, as given by the `precision` parameter of InfluxDB's
/// `/write`. Parsed timestamps are always scaled to nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// `n` or `ns` (the default).
    #[default]
    Nanoseconds,
    /// `u`.
    Microseconds,
    /// `ms`.
    Milliseconds,
    /// `s`.
    Seconds,
    /// `m`.
    Minutes,
    /// `h`.
    Hours,
}

impl Precision {
    /// Nanoseconds per unit.
    pub fn multiplier(self) -> i64 {
        match self {
            Precision::Nanoseconds => 1,
            Precision::Microseconds => 1_000,
            Precision::Milliseconds => 1_000_000,
            Precision::Seconds => 1_000_000_000,
            Precision::Minutes => 60_000_000_000,
            Precision::Hours => 3_600_000_000_000,
        }
    }

    /// The InfluxDB name of the unit: `n`, `u`, `ms`, `s`, `m` or `h`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Nanoseconds => "n",
            Precision::Microseconds => "u",
            Precision::Milliseconds => "ms",
            Precision::Seconds => "s",
            Precision::Minutes => "m",
            Precision::Hours => "h",
        }
    }
}

impl FromStr for Precision {
    type Err = ParsePrecisionError;

    /// Accepts what InfluxDB 1.x's `/write` accepts: `n`, `ns`, `u`, `ms`, `s`, `m`, `h`, and
    /// the empty string (nanoseconds, as when the parameter is absent).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "" | "n" | "ns" => Precision::Nanoseconds,
            "u" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            "m" => Precision::Minutes,
            "h" => Precision::Hours,
            _ => {
                return Err(ParsePrecisionError {
                    input: s.to_owned(),
                });
            }
        })
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in [
            Precision::Nanoseconds,
            Precision::Microseconds,
            Precision::Milliseconds,
            Precision::Seconds,
            Precision::Minutes,
            Precision::Hours,
        ] {
            assert_eq!(p.as_str().parse::<Precision>(), Ok(p));
        }
        assert_eq!("ns".parse::<Precision>(), Ok(Precision::Nanoseconds));
        assert_eq!("".parse::<Precision>(), Ok(Precision::Nanoseconds));
        let err = "sec".parse::<Precision>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid precision `sec` (use n, u, ms, s, m or h)"
        );
    }
}
