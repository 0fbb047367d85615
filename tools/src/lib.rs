//! Shopping tools.
