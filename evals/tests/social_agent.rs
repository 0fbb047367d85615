//! The rule planner's social journeys against a real embedded shop loaded with the standard fixture: a follow and
//! a comment each wait for the shopper's yes (the service holds nothing before it) and exist in the service
//! after it; a message to someone who is not a friend never becomes an action to approve.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{path::Path, sync::Arc};

use tokio::sync::mpsc::unbounded_channel;
use tokshop_agent::{
    rules::RulePlanner,
    runner::{Agent, AgentEvent, Caller, Limits},
};
use tokshop_evals::{
    fixture::{self, ProductFixture, SellerFixture, VariantFixture},
    scenario::Suite,
    trial::Instance,
};
use tokshop_platform::auth::authorized;
use tokshop_proto::social as spb;
use tokshop_tools::Clients;

async fn say(
    agent: &Agent,
    who: &Caller,
    conversation: &str,
    text: &str,
) -> (String, Vec<AgentEvent>) {
    let (sender, mut receiver) = unbounded_channel();
    let reply = agent.turn(who, conversation, text, &sender).await.unwrap();
    drop(sender);
    let mut events = Vec::new();
    while let Some(event) = receiver.recv().await {
        events.push(event);
    }
    (reply, events)
}

fn asked_to_confirm(events: &[AgentEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ConfirmationRequired { summary, .. } => Some(summary.clone()),
            _ => None,
        })
        .collect()
}

async fn following(clients: &Clients, token: &str) -> Vec<String> {
    let mut usernames: Vec<String> = clients
        .relations
        .clone()
        .list_following(authorized(
            spb::ListRelationsRequest {
                user_id: String::new(),
                limit: 50,
                cursor: String::new(),
            },
            Some(token),
        ))
        .await
        .unwrap()
        .into_inner()
        .users
        .into_iter()
        .map(|u| u.username)
        .collect();
    usernames.sort();
    usernames
}

async fn comments(clients: &Clients, token: &str, product_id: &str) -> Vec<String> {
    clients
        .interactions
        .clone()
        .list_comments(authorized(
            spb::ListCommentsRequest {
                product_id: product_id.to_owned(),
                limit: 50,
                ..Default::default()
            },
            Some(token),
        ))
        .await
        .unwrap()
        .into_inner()
        .comments
        .into_iter()
        .map(|c| c.text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_and_comments_happen_only_after_the_shoppers_yes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let suite = Suite::load(root, "core").unwrap();
    // Any scenario without extras carries the standard shop; a seller who has never posted is added, so finding
    // them by shop name goes through the catalogue's sellers.
    let mut world = suite
        .scenarios
        .iter()
        .find(|s| s.id == "social-list-following")
        .unwrap()
        .world
        .clone();
    world.sellers.push(SellerFixture {
        username: "lampworks".into(),
        shop: "Lamp Works".into(),
    });
    world.products.push(ProductFixture {
        key: "desk-lamp".into(),
        seller: "lampworks".into(),
        category: "kitchen".into(),
        title: "Brass Desk Lamp".into(),
        description: String::new(),
        variants: vec![VariantFixture {
            key: "desk-lamp-brass".into(),
            options: Default::default(),
            price: "45.00".into(),
            stock: 2,
        }],
    });
    let world = &world;
    let instance = Instance::start().await.unwrap();
    let loaded = fixture::load(world, &instance.clients, &instance.keys)
        .await
        .unwrap();
    let token = loaded.token("ana").unwrap().to_owned();
    let ana = Caller {
        user_id: loaded.user_ids["ana"].clone(),
        token: token.clone(),
    };
    let agent = instance
        .agent(Arc::new(RulePlanner), Limits::default())
        .await
        .unwrap();
    let conversation = agent.start(&ana, "social").await.unwrap().id;
    let clients = &instance.clients;

    // Follow: a confirmation first, and nobody new is followed until the shopper says yes.
    let (reply, events) = say(&agent, &ana, &conversation, "follow trailco").await;
    assert_eq!(
        asked_to_confirm(&events),
        ["Follow @trailco (\u{201c}Trail Co\u{201d})."]
    );
    assert!(reply.contains("Please confirm"), "{reply}");
    assert_eq!(following(clients, &token).await, ["bruno", "homegoods"]);
    let (reply, _) = say(&agent, &ana, &conversation, "yes").await;
    assert!(reply.contains("now following @trailco"), "{reply}");
    assert_eq!(
        following(clients, &token).await,
        ["bruno", "homegoods", "trailco"]
    );

    // Comment: found by name, confirmed, then really posted with the shopper's words.
    let runner = loaded.id("trail-runner").unwrap().to_owned();
    let before = comments(clients, &token, &runner).await;
    assert_eq!(before.len(), 2);
    let (reply, events) = say(
        &agent,
        &ana,
        &conversation,
        "comment \"Comfortable from the first run\" on the trail runner",
    )
    .await;
    assert_eq!(
        asked_to_confirm(&events),
        [
            "Comment publicly on \u{201c}Trail Runner Shoe\u{201d}, in your name:\n> Comfortable from the first run\n"
        ]
    );
    assert!(reply.contains("Please confirm"), "{reply}");
    assert_eq!(comments(clients, &token, &runner).await, before);
    let (reply, _) = say(&agent, &ana, &conversation, "yes").await;
    assert!(reply.contains("comment is posted"), "{reply}");
    let after = comments(clients, &token, &runner).await;
    assert_eq!(after.len(), 3);
    assert_eq!(after[0], "Comfortable from the first run");

    // A seller known only from the catalogue, by shop name.
    let (_, events) = say(&agent, &ana, &conversation, "follow lamp works").await;
    assert_eq!(
        asked_to_confirm(&events),
        ["Follow @lampworks (\u{201c}Lamp Works\u{201d})."]
    );
    let (_, events) = say(&agent, &ana, &conversation, "no").await;
    assert!(asked_to_confirm(&events).is_empty());
    assert!(
        !following(clients, &token)
            .await
            .contains(&"lampworks".to_owned())
    );
    // Nobody by that name: no action to approve.
    let (reply, events) = say(&agent, &ana, &conversation, "follow nosuchshop").await;
    assert!(asked_to_confirm(&events).is_empty());
    assert!(
        reply.contains("couldn't find a user or shop called \"nosuchshop\""),
        "{reply}"
    );

    // A message to dora (who follows ana, not back) is refused before anything is put to the shopper.
    let (reply, events) = say(&agent, &ana, &conversation, "send dora a message: hello!").await;
    assert!(asked_to_confirm(&events).is_empty());
    assert!(reply.contains("only message friends"), "{reply}");

    instance.stop().await.unwrap();
}
