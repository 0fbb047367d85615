//! Opaque, time-ordered identifiers: a short type prefix plus a UUIDv7 (`prd_0192f3...`). The prefix tells a
//! human or a model what an id names; the UUIDv7 keeps inserts index-friendly and reveals no count.

/// A new id such as `usr_01932c0e5f6a7b8c9d0e1f2a3b4c5d6e`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// True when `id` has the given prefix and a well-formed body; a cheap guard before touching storage.
pub fn looks_like(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|body| body.len() == 32 && body.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_unique_and_recognised() {
        let a = new_id("usr");
        let b = new_id("usr");
        assert_ne!(a, b);
        assert!(looks_like(&a, "usr"));
        assert!(!looks_like(&a, "prd"));
        assert!(!looks_like("usr_123", "usr"));
    }
}
