//! Shared data generators for the criterion benchmarks.
