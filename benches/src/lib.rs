//! Shared data generators for the criterion benchmarks.
//!
//! Generators are deterministic (a fixed-seed xorshift), so two runs measure the same bytes,
//! and nothing generated is checked in. Scenarios are named through `Display`, and the name
//! becomes the criterion benchmark parameter.

use std::fmt::{self, Write};

/// Telegraf-like `cpu` line protocol: `series` series (tags `cpu`, `host`, `region`, sorted as
/// Telegraf writes them), two float fields with Telegraf's full-precision values, nanosecond
/// timestamps ten seconds apart; each interval writes every series once.
///
/// ```text
/// cpu,cpu=cpu3,host=host-0042,region=eu-central-1 usage_user=12.734127211189315,usage_system=3.0117648 1700000000000000000
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuScenario {
    /// Number of distinct series (host × cpu combinations).
    pub series: usize,
    /// Points written for each series.
    pub points_per_series: usize,
}

impl CpuScenario {
    /// The scenario of the line protocol benchmark: 10k series, 10 points each (100k lines).
    pub const TELEGRAF_10K: CpuScenario = CpuScenario {
        series: 10_000,
        points_per_series: 10,
    };

    /// Number of lines [`CpuScenario::generate`] writes.
    pub fn lines(&self) -> usize {
        self.series * self.points_per_series
    }

    /// The body, one line per point, each ending in `\n`.
    pub fn generate(&self) -> String {
        const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-central-1", "ap-southeast-1"];
        const CPUS_PER_HOST: usize = 8;
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut out = String::with_capacity(self.lines() * 120);
        for t in 0..self.points_per_series {
            let ts = 1_700_000_000_000_000_000i64 + t as i64 * 10_000_000_000;
            for s in 0..self.series {
                let host = s / CPUS_PER_HOST;
                let cpu = s % CPUS_PER_HOST;
                let region = REGIONS[host % REGIONS.len()];
                let user = rng.unit() * 100.0;
                // A mix of short and full-precision values, as Telegraf's inputs produce.
                let system = if s % 2 == 0 {
                    (rng.unit() * 1e4).round() / 1e2
                } else {
                    rng.unit() * 10.0
                };
                // Writing to a String cannot fail.
                let _ = writeln!(
                    out,
                    "cpu,cpu=cpu{cpu},host=host-{host:04},region={region} \
                     usage_user={user},usage_system={system} {ts}"
                );
            }
        }
        out
    }
}

impl fmt::Display for CpuScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}_series_{}_points",
            self.series, self.points_per_series
        )
    }
}

/// Tiny deterministic PRNG; quality is irrelevant, reproducibility is not.
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_sized() {
        let s = CpuScenario {
            series: 16,
            points_per_series: 2,
        };
        let a = s.generate();
        assert_eq!(a, s.generate());
        assert_eq!(a.lines().count(), s.lines());
        assert_eq!(s.to_string(), "16_series_2_points");
        assert!(a.starts_with("cpu,cpu=cpu0,host=host-0000,region=us-east-1 usage_user="));
    }
}
