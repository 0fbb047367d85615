//! One trial: a fresh embedded tokshop in its own folder (its own SQLite file, its own ports), the scenario's
//! fixture loaded through the services, the agent with the chosen model, the shopper's turns, and the transcript.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use tokio::sync::mpsc::unbounded_channel;
use tokio_util::sync::CancellationToken;
use tokshop_agent::{
    model::ChatModel,
    runner::{Agent, Caller, Limits},
    store::Store,
};
use tokshop_platform::{
    auth::TokenKeys,
    config::{Secret, Settings},
    db::Db,
    grpc,
};
use tokshop_tools::{Clients, Registry};

use crate::{
    fixture::{self, Loaded},
    scenario::{Decision, Scenario, Shopper},
    shop_change,
    shopper::SimulatedShopper,
    transcript::{ShopperAct, Transcript, TurnRecord},
};

/// An isolated shop for one trial. Nothing is shared with any other trial: the folder, the database and the
/// ports are its own, and everything goes when it stops.
pub struct Instance {
    running: tokshop::Running,
    settings: Arc<Settings>,
    pub clients: Clients,
    pub keys: TokenKeys,
    _dir: tempfile::TempDir,
}

impl Instance {
    pub async fn start() -> anyhow::Result<Instance> {
        let dir = tempfile::tempdir().context("creating the trial's folder")?;
        let mut settings = Settings {
            data_dir: PathBuf::from(dir.path()),
            ..Settings::default()
        };
        settings.gateway.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        settings.seed.demo = false;
        // Sandbox cards are the test provider: a demo shop, whatever its database.
        settings.mode = Some(tokshop_platform::config::Mode::Demo);
        let secret: [u8; 32] = rand::random();
        settings.auth.jwt_secret = Some(Secret::new(hex::encode(secret)));
        let settings = Arc::new(settings);
        let running = tokshop::start(settings.clone(), None, CancellationToken::new())
            .await
            .context("starting the trial's shop")?;
        let channel = |addr: Option<SocketAddr>, name: &str| {
            let addr = addr.with_context(|| format!("the {name} service did not start"))?;
            grpc::channel(&format!("http://{addr}"))
        };
        let clients = Clients::new(
            channel(running.identity_addr, "identity")?,
            channel(running.catalog_addr, "catalog")?,
            channel(running.cart_addr, "cart")?,
            channel(running.orders_addr, "orders")?,
            channel(running.social_addr, "social")?,
        );
        let keys = TokenKeys::from_settings(&settings)?;
        Ok(Instance {
            running,
            settings,
            clients,
            keys,
            _dir: dir,
        })
    }

    /// The shopping agent of this instance, with `model`.
    pub async fn agent(&self, model: Arc<dyn ChatModel>, limits: Limits) -> anyhow::Result<Agent> {
        let db = Db::connect(&self.settings.database_url(), 4).await?;
        Ok(Agent::new(
            Store::new(db),
            model,
            Registry::shop(),
            self.clients.clone(),
            self.settings.shop.currency.clone(),
            limits,
        ))
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}

/// Runs the scenario's conversation against `agent` as the fixture's shopper.
pub async fn converse(
    scenario: &Scenario,
    trial: usize,
    agent: &Agent,
    caller: &Caller,
    shopper_model: Option<&Arc<dyn ChatModel>>,
    loaded: &Loaded,
    clients: &Clients,
) -> Transcript {
    let mut transcript = Transcript {
        scenario: scenario.id.clone(),
        trial,
        ..Transcript::default()
    };
    let started = Instant::now();
    let conversation = match agent.start(caller, &scenario.id).await {
        Ok(conversation) => conversation,
        Err(err) => {
            transcript.error = Some(format!("could not start a conversation: {err}"));
            return transcript;
        }
    };
    match &scenario.shopper {
        Shopper::Turns(turns) => {
            for turn in turns {
                if let Some(change) = &turn.shop
                    && let Err(err) =
                        shop_change::apply(change, clients, loaded, &caller.token).await
                {
                    transcript.error = Some(format!("changing the shop: {err:#}"));
                    break;
                }
                let act = match (&turn.say, turn.decide) {
                    (Some(text), _) => ShopperAct::Say(text.clone()),
                    (None, Some(decision)) => match transcript.last_pending() {
                        Some(id) => ShopperAct::Decide {
                            pending_action_id: id.to_owned(),
                            approve: decision == Decision::Approve,
                        },
                        None => {
                            transcript.error = Some(
                                "the shopper was to decide, but the agent never asked for a confirmation".into(),
                            );
                            break;
                        }
                    },
                    (None, None) => continue,
                };
                let record = act_on(agent, caller, &conversation.id, act).await;
                transcript.turns.push(record);
            }
        }
        Shopper::Simulated(sim) => {
            let Some(model) = shopper_model else {
                transcript.error = Some("a simulated shopper needs a shopper model".into());
                return transcript;
            };
            let mut shopper = SimulatedShopper::new(model.clone(), sim, loaded);
            for _ in 0..sim.max_turns {
                let message = match shopper.next(&transcript).await {
                    Ok(Some(message)) => message,
                    Ok(None) => break,
                    Err(err) => {
                        transcript.error = Some(format!("the simulated shopper failed: {err}"));
                        break;
                    }
                };
                let record =
                    act_on(agent, caller, &conversation.id, ShopperAct::Say(message)).await;
                transcript.turns.push(record);
            }
            transcript.shopper_usage = shopper.usage;
        }
    }
    transcript.duration_ms = millis(started.elapsed());
    transcript
}

async fn act_on(
    agent: &Agent,
    caller: &Caller,
    conversation_id: &str,
    act: ShopperAct,
) -> TurnRecord {
    let (sender, mut receiver) = unbounded_channel();
    let started = Instant::now();
    let outcome = match &act {
        ShopperAct::Say(text) => agent.turn(caller, conversation_id, text, &sender).await,
        ShopperAct::Decide {
            pending_action_id,
            approve,
        } => {
            // As a page would: approve the digest of the summary the conversation shows.
            let shown = agent
                .store()
                .pending(&caller.user_id, conversation_id, pending_action_id)
                .await
                .map(|action| action.digest)
                .unwrap_or_default();
            agent
                .decide(
                    caller,
                    conversation_id,
                    pending_action_id,
                    *approve,
                    Some(&shown),
                    &sender,
                )
                .await
                .map(|_| String::new())
        }
    };
    drop(sender);
    let mut events = Vec::new();
    while let Some(event) = receiver.recv().await {
        events.push(event);
    }
    let (reply, error) = match outcome {
        Ok(reply) => (reply, None),
        Err(err) => (String::new(), Some(format!("{}: {err}", err.code()))),
    };
    TurnRecord {
        shopper: act,
        events,
        reply,
        error,
        duration_ms: millis(started.elapsed()),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Loads the scenario's world into `instance` and returns who shops.
pub async fn prepare(scenario: &Scenario, instance: &Instance) -> anyhow::Result<(Loaded, Caller)> {
    let loaded = fixture::load(&scenario.world, &instance.clients, &instance.keys)
        .await
        .context("loading the fixture")?;
    let shopper = scenario.world.shopper()?;
    let caller = Caller {
        user_id: loaded
            .user_ids
            .get(shopper)
            .cloned()
            .with_context(|| format!("the shopper {shopper:?} is not a fixture user"))?,
        token: loaded.token(shopper)?.to_owned(),
    };
    Ok((loaded, caller))
}
