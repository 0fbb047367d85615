//! The social service: follows and friends, public profiles with exact counts, likes, favorites, comments, posts
//! with media and linked products, feeds, and direct messages between friends with live delivery.
//!
//! Four gRPC services over one database: `relations` (follows, profiles), `interactions` (likes, favorites,
//! comments, count repair), `posts` (media uploads, posts, feeds) and `messages` (direct messages and their live
//! stream). Every area keeps its SQL in its own `store.rs`; `counts` keeps the stored counts exact, `policy`
//! checks user text, `directory` turns ids into user and product cards; paging is `tokshop_platform::page`, the
//! shop's one policy. A background sweep
//! ([`run_media_sweeper`]) deletes media no post carries.

mod counts;
mod directory;
mod interactions;
pub mod media;
mod messages;
mod policy;
mod posts;
mod relations;

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;
use tokshop_platform::{
    ServiceContext, ServiceError, ServiceResult,
    auth::{Principal, TokenKeys},
    config::Settings,
    db::{Db, Migrations},
    grpc::GrpcChannel,
    migrations,
};
use tokshop_proto::social::{
    interaction_service_server::InteractionServiceServer,
    relation_service_server::RelationServiceServer,
};
use tonic::service::Routes;

pub use directory::Directory;
pub use policy::ContentPolicy;
pub use posts::sweep::MediaSwept;

/// Recomputes every stored social count from the rows (see [`counts::repair`]).
pub async fn repair_counts(db: &Db) -> ServiceResult<tokshop_proto::social::RepairCountsResponse> {
    counts::repair(db).await
}

pub const RELATION_SERVICE: &str = "tokshop.social.v1.RelationService";
pub const INTERACTION_SERVICE: &str = "tokshop.social.v1.InteractionService";
pub const POST_SERVICE: &str = "tokshop.social.v1.PostService";
pub const MESSAGE_SERVICE: &str = "tokshop.social.v1.MessageService";

/// The fully qualified gRPC service names, as health checks report them.
pub const SERVICE_NAMES: [&str; 4] = [
    RELATION_SERVICE,
    INTERACTION_SERVICE,
    POST_SERVICE,
    MESSAGE_SERVICE,
];

/// Topic prefix of every event this service records (`social.followed`, `social.message_sent`, ...); the process
/// running it relays these.
pub const EVENT_TOPICS: &[&str] = &["social."];

const MIGRATIONS: Migrations = migrations!(
    1 => "0001_relations",
    2 => "0002_interactions",
    3 => "0003_posts",
    4 => "0004_messages",
    5 => "0005_media_lifecycle",
);

/// Deletes media that no post carries and that has been unused since before `idle_before_ms`, from the database
/// and from `library`'s object store.
pub async fn sweep_media(
    db: &Db,
    library: &media::Library,
    idle_before_ms: i64,
) -> ServiceResult<MediaSwept> {
    posts::sweep::sweep(db, library, idle_before_ms).await
}

/// Sweeps unused media every `social.media_gc_interval_secs` (never when 0) until `shutdown`, deleting what has been
/// unused for `social.media_gc_after_secs`. Run it where the social service runs, after [`router`] has migrated.
pub async fn run_media_sweeper(
    ctx: ServiceContext,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let social = &ctx.settings.social;
    if social.media_gc_interval_secs == 0 {
        return Ok(());
    }
    let library = media::Library::open(&ctx.settings).await?;
    let pause = Duration::from_secs(social.media_gc_interval_secs);
    let grace_ms =
        i64::try_from(social.media_gc_after_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    loop {
        let idle_before_ms = tokshop_platform::time::now_ms().saturating_sub(grace_ms);
        match sweep_media(&ctx.db, &library, idle_before_ms).await {
            Ok(swept) if swept != MediaSwept::default() => tracing::info!(?swept, "media sweep"),
            Ok(_) => {}
            Err(err) => tracing::error!(error = ?err, "media sweep failed; will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Channels to the services social calls.
#[derive(Clone, Debug)]
pub struct Upstreams {
    pub identity: GrpcChannel,
    pub catalog: GrpcChannel,
}

/// What every social API shares: the database, token keys, settings, the directory and the content policy.
#[derive(Clone, Debug)]
pub(crate) struct Social {
    pub db: Db,
    pub keys: TokenKeys,
    pub settings: Arc<Settings>,
    pub directory: Directory,
    pub policy: Arc<ContentPolicy>,
}

/// `id` unless empty, else the caller's own id (a 401 without a caller).
pub(crate) fn user_or_self(id: &str, viewer: Option<&Principal>) -> ServiceResult<String> {
    match (id.is_empty(), viewer) {
        (false, _) => Ok(id.to_owned()),
        (true, Some(viewer)) => Ok(viewer.user_id.clone()),
        (true, None) => Err(ServiceError::unauthenticated(
            "sign in, or name the user whose list this is",
        )),
    }
}

/// The ready gRPC router: the four social services plus grpc.health.v1 (and reflection when enabled). Serve it with
/// [`tokshop_platform::grpc::serve`].
pub async fn router(ctx: &ServiceContext, upstreams: Upstreams) -> anyhow::Result<Routes> {
    ctx.db.migrate("social", &MIGRATIONS).await?;
    let social = Social {
        db: ctx.db.clone(),
        keys: ctx.keys.clone(),
        settings: ctx.settings.clone(),
        directory: Directory::new(ctx.db.clone(), upstreams.identity, upstreams.catalog),
        policy: Arc::new(ContentPolicy::new(&ctx.settings.social.blocked_words)),
    };
    let router =
        tokshop_platform::grpc::router_with_health(&ctx.settings.grpc, &SERVICE_NAMES).await?;
    // Each area adds its service here.
    let router = router.add_service(messages::service(&social).await?);
    let router = router.add_service(posts::service(social.clone()).await?);
    let router = router
        .add_service(RelationServiceServer::new(relations::RelationApi::new(
            social.clone(),
        )))
        .add_service(InteractionServiceServer::new(
            interactions::InteractionApi::new(social.clone()),
        ));
    Ok(router)
}
