//! The social side of the final state: follows, posts, comments, favorites and messages.

use tokshop_platform::auth::authorized;
use tokshop_proto::social as spb;
use tokshop_tools::Clients;

use crate::{
    fixture::Loaded,
    scenario::{Scenario, TextsExpect},
};

use super::state::show_id;
use super::transcript::contains;
use super::*;

/// Follows, favorites, comments and messages, read as the shopper through the social service.
pub(super) async fn social_state(
    scenario: &Scenario,
    clients: &mut Clients,
    loaded: &Loaded,
    token: Option<&str>,
) -> anyhow::Result<Vec<Failure>> {
    let expect = &scenario.expect.state;
    let mut failures = Vec::new();
    let username = |id: &str| {
        loaded
            .user_ids
            .iter()
            .find(|(_, v)| v.as_str() == id)
            .map_or_else(|| id.to_owned(), |(name, _)| name.clone())
    };

    if let Some(wanted) = &expect.following {
        let users = clients
            .relations
            .list_following(authorized(
                spb::ListRelationsRequest {
                    user_id: String::new(),
                    limit: 50,
                    cursor: String::new(),
                },
                token,
            ))
            .await?
            .into_inner()
            .users;
        let mut found: Vec<String> = users.iter().map(|u| username(&u.id)).collect();
        let mut wanted = wanted.clone();
        found.sort();
        wanted.sort();
        if found != wanted {
            failures.push(fail(
                "state.following",
                format!("expected the shopper to follow {wanted:?}, found {found:?}"),
            ));
        }
    }

    if let Some(wanted) = &expect.favorites {
        let favorites = clients
            .interactions
            .list_favorites(authorized(
                spb::ListFavoritesRequest {
                    limit: 50,
                    cursor: String::new(),
                },
                token,
            ))
            .await?
            .into_inner()
            .favorites;
        let mut found: Vec<String> = favorites
            .iter()
            .filter_map(|f| f.product.as_ref())
            .map(|p| show_id(&p.id, loaded))
            .collect();
        let mut wanted = wanted.clone();
        found.sort();
        wanted.sort();
        if found != wanted {
            failures.push(fail(
                "state.favorites",
                format!("expected the favorites {wanted:?}, found {found:?}"),
            ));
        }
    }

    for (key, wanted) in &expect.comments {
        let id = loaded.id(key)?.to_owned();
        let on_post = scenario.world.posts.iter().any(|p| &p.key == key);
        let (product_id, post_id) = if on_post {
            (String::new(), id)
        } else {
            (id, String::new())
        };
        let list = clients
            .interactions
            .list_comments(authorized(
                spb::ListCommentsRequest {
                    product_id,
                    post_id,
                    parent_id: String::new(),
                    limit: 50,
                    cursor: String::new(),
                },
                token,
            ))
            .await?
            .into_inner();
        let texts: Vec<String> = list.comments.iter().map(|c| c.text.clone()).collect();
        failures.extend(texts_match(
            &format!("state.comments.{key}"),
            wanted,
            list.total,
            &texts,
        ));
    }

    for (name, wanted) in &expect.messages {
        let with_user_id = loaded.user_ids.get(name).cloned().unwrap_or_default();
        let messages = clients
            .messages
            .list_messages(authorized(
                spb::ListMessagesRequest {
                    with_user_id,
                    limit: 50,
                    cursor: String::new(),
                },
                token,
            ))
            .await?
            .into_inner()
            .messages;
        let texts: Vec<String> = messages.iter().map(|m| m.text.clone()).collect();
        let count = i64::try_from(texts.len()).unwrap_or(i64::MAX);
        failures.extend(texts_match(
            &format!("state.messages.{name}"),
            wanted,
            count,
            &texts,
        ));
    }
    Ok(failures)
}

pub(super) fn texts_match(
    check: &str,
    wanted: &TextsExpect,
    count: i64,
    texts: &[String],
) -> Vec<Failure> {
    let mut failures = Vec::new();
    if let Some(expected) = wanted.count
        && expected != count
    {
        failures.push(fail(
            check,
            format!("expected {expected}, found {count}: {texts:?}"),
        ));
    }
    for phrase in &wanted.contains {
        if !texts.iter().any(|t| contains(t, phrase)) {
            failures.push(fail(check, format!("none contains {phrase:?}: {texts:?}")));
        }
    }
    for phrase in &wanted.not_contains {
        if texts.iter().any(|t| contains(t, phrase)) {
            failures.push(fail(check, format!("one contains {phrase:?}: {texts:?}")));
        }
    }
    failures
}
