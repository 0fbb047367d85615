//! Social journeys: the goal call of a social request, after the information calls it needs (a search for the
//! product to comment on, the product page for its seller), then a reply from the result. Follow, comment and
//! send go through the agent's confirmation guard like every consequential tool.

use serde_json::{Value, json};
use tokshop_tools::social::{Feed, Post};

use super::pick::Picked;
use super::{Planner, Step, call, pages, search_args};
use crate::reply::{self as common, social as reply};
use crate::slots::{self, ItemRequest, Reference};
use crate::social::{Person, Social};

impl Planner<'_, '_> {
    pub(super) fn social(&self, request: &Social) -> Step {
        let lang = self.lang;
        match request {
            Social::Follow(person) => self.about_person("follow_user", person),
            Social::Unfollow(person) => self.about_person("unfollow_user", person),
            Social::Profile(Person::Me) => self.simple("view_profile", json!({})),
            Social::Profile(person) => self.about_person("view_profile", person),
            Social::Following => self.simple("list_following", json!({})),
            Social::Followers => self.simple("list_followers", json!({})),
            Social::Favorites => self.simple("list_favorites", json!({})),
            Social::Feed { discover } => {
                let which = if *discover { "discover" } else { "following" };
                self.simple("view_feed", json!({ "which": which }))
            }
            Social::Message { to, text } => {
                self.simple("send_message", json!({ "username": to, "text": text }))
            }
            Social::Messages { with: Some(name) } => {
                self.simple("read_messages", json!({ "username": name }))
            }
            Social::Messages { with: None } => self.simple("read_messages", json!({})),
            Social::Like(reference) => self.like(*reference),
            Social::Favorite(item) => self.on_product("favorite_product", item, json!({})),
            Social::Unfavorite(item) => {
                self.on_product("favorite_product", item, json!({ "favorite": false }))
            }
            Social::Comments { on, post: false } => self.on_product("list_comments", on, json!({})),
            Social::Comments { on, post: true } => self.on_post("list_comments", on, json!({})),
            Social::Comment {
                on,
                post: false,
                text,
            } => self.on_product("comment", on, json!({ "text": text })),
            Social::Comment {
                on,
                post: true,
                text,
            } => self.on_post("comment", on, json!({ "text": text })),
            Social::CommentWithoutText => Step::Reply(reply::ask_comment_text(lang)),
        }
    }

    /// A tool about one person: by the name the shopper typed, or the seller of the product in focus.
    fn about_person(&self, tool: &'static str, person: &Person) -> Step {
        if let Some(obs) = self.conv.turn_result(tool) {
            return self.reply(obs);
        }
        match person {
            Person::Named(name) => call(tool, json!({ "username": name })),
            Person::Me => call(tool, json!({})),
            Person::SellerInFocus => {
                let focus = ItemRequest {
                    reference: Some(Reference::This),
                    ..ItemRequest::default()
                };
                match self.pick_product(&focus) {
                    Picked::One(p) => {
                        let seller = self
                            .conv
                            .product(p.id())
                            .and_then(|page| page.seller_id.as_deref());
                        match seller.unwrap_or("") {
                            "" if self.conv.turn_called("get_product") => {
                                Step::Reply(reply::which_person(self.lang))
                            }
                            "" => call("get_product", json!({ "product_id": p.id() })),
                            seller => call(tool, json!({ "user_id": seller })),
                        }
                    }
                    Picked::Many(candidates) => {
                        Step::Reply(common::ask_product(&candidates, self.lang))
                    }
                    Picked::Fetch(cards) => pages(&cards, &focus.text),
                    Picked::NoList | Picked::Fail(_) => Step::Reply(reply::which_person(self.lang)),
                }
            }
        }
    }

    /// A tool about one product: picked from what was shown, else searched for by the words the shopper used.
    fn on_product(&self, tool: &'static str, item: &ItemRequest, extra: Value) -> Step {
        if let Some(obs) = self.conv.turn_result(tool) {
            return self.reply(obs);
        }
        let searched = self.conv.turn_result("search_products");
        let query = slots::search_filters(&item.text).query;
        let search = || {
            let filters = slots::search_filters(&item.text);
            let mut args = search_args(&filters);
            args["limit"] = json!(5);
            call("search_products", args)
        };
        let product = match self.pick_product(item) {
            Picked::One(p) => p,
            Picked::Many(_)
                if searched.is_none() && item.reference.is_none() && !query.is_empty() =>
            {
                return search();
            }
            Picked::Many(candidates) => {
                return Step::Reply(common::ask_product(&candidates, self.lang));
            }
            Picked::Fetch(cards) => return pages(&cards, &item.text),
            Picked::NoList if let Some(obs) = searched => return self.reply(obs),
            Picked::NoList if item.reference.is_none() && !query.is_empty() => return search(),
            Picked::NoList => return Step::Reply(common::no_list(self.lang)),
            Picked::Fail(text) => return Step::Reply(text),
        };
        // A named product that is not the one just listed is searched for rather than guessed.
        let words = crate::text::ascii_words(&query);
        let title = product.title().to_lowercase();
        if searched.is_none()
            && item.reference.is_none()
            && !words.is_empty()
            && !words.iter().any(|w| title.contains(w.as_str()))
        {
            return search();
        }
        let mut args = json!({ "product_id": product.id() });
        merge(&mut args, extra);
        call(tool, args)
    }

    /// A tool about one post of the feed shown last.
    fn on_post(&self, tool: &'static str, item: &ItemRequest, extra: Value) -> Step {
        if let Some(obs) = self.conv.turn_result(tool) {
            return self.reply(obs);
        }
        match self.pick_post(item.reference) {
            Ok(post_id) => {
                let mut args = json!({ "post_id": post_id });
                merge(&mut args, extra);
                call(tool, args)
            }
            Err(step) => step,
        }
    }

    fn like(&self, reference: Option<Reference>) -> Step {
        if let Some(obs) = self.conv.turn_result("like_post") {
            return self.reply(obs);
        }
        match self.pick_post(reference) {
            Ok(post_id) => call("like_post", json!({ "post_id": post_id })),
            Err(step) => step,
        }
    }

    /// The post a reference means in the latest feed shown: "the second post", "this post", the only one.
    fn pick_post(&self, reference: Option<Reference>) -> Result<String, Step> {
        let posts: Vec<&Post> = self
            .conv
            .latest_ok(&["view_feed"])
            .and_then(|o| o.get::<Feed>())
            .map(|feed| feed.posts.iter().collect())
            .unwrap_or_default();
        if posts.is_empty() {
            return Err(Step::Reply(reply::no_feed(self.lang)));
        }
        let chosen = match (reference, posts.as_slice()) {
            (Some(Reference::Ordinal(n)), _) => posts.get(n.wrapping_sub(1)).copied(),
            (Some(Reference::Last), _) => posts.last().copied(),
            (_, [only]) => Some(*only),
            (Some(Reference::This), [first, ..]) => Some(*first),
            _ => None,
        };
        match chosen {
            Some(post) => Ok(post.id.clone()),
            None if matches!(reference, Some(Reference::Ordinal(_))) => {
                Err(Step::Reply(common::out_of_range(
                    match reference {
                        Some(Reference::Ordinal(n)) => n,
                        _ => 0,
                    },
                    posts.len(),
                    self.lang,
                )))
            }
            None => Err(Step::Reply(reply::which_post(posts.len(), self.lang))),
        }
    }
}

fn merge(args: &mut Value, extra: Value) {
    if let (Some(args), Value::Object(extra)) = (args.as_object_mut(), extra) {
        args.extend(extra);
    }
}
