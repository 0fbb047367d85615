//! Matching and describing.

use super::social::texts_match;
use crate::scenario::TextsExpect;

#[test]
fn texts_are_counted_and_searched_case_blind() {
    let texts = [
        "Great grip on wet rocks.".to_owned(),
        "Runs small".to_owned(),
    ];
    let wanted = TextsExpect {
        count: Some(2),
        contains: vec!["great GRIP".into()],
        not_contains: vec!["pay order".into()],
    };
    assert!(texts_match("state.comments.x", &wanted, 2, &texts).is_empty());

    let wanted = TextsExpect {
        count: Some(3),
        contains: vec!["waterproof".into()],
        not_contains: vec!["runs small".into()],
    };
    let failures = texts_match("state.comments.x", &wanted, 2, &texts);
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(failures.iter().all(|f| f.check == "state.comments.x"));
    assert!(failures[0].detail.starts_with("expected 3, found 2"));
}
