//! Direct messages between friends (mutual follows) and their live stream. Sending numbers each recipient's
//! inbox 1, 2, 3, ... in commit order; a stream replays the inbox after the last seq its client saw and then
//! forwards new messages as they commit, so a reconnect misses and repeats nothing.

mod hub;
mod store;

use std::pin::Pin;

use futures::Stream;
use tokio::sync::mpsc;
use tokshop_platform::{
    ServiceError, ServiceResult,
    auth::Principal,
    grpc::{Reply, signed_in},
    non_empty,
    page::{self, Cursor},
};
use tokshop_proto::social::{
    self as pb,
    message_service_server::{MessageService, MessageServiceServer},
};
use tonic::{Request, Status};

use self::{
    hub::Hub,
    store::{MessageRow, NewMessage, Store},
};
use crate::{Social, directory::unknown_user};

/// Longest message, in characters.
pub const MAX_TEXT: usize = tokshop_platform::limits::social::MAX_MESSAGE;
/// Longest retry key a sender may give.
const MAX_REQUEST_ID: usize = 255;
/// Messages a stream buffers for a slow client before it waits.
const STREAM_BUFFER: usize = 16;

#[derive(Clone, Debug)]
pub struct MessagesApi {
    social: Social,
    store: Store,
    hub: Hub,
}

/// The message service; with `redis.url`, its live streams are rung by every replica's sends.
pub(crate) async fn service(social: &Social) -> anyhow::Result<MessageServiceServer<MessagesApi>> {
    let hub = match tokshop_platform::redis::Redis::connect(&social.settings.redis).await? {
        Some(redis) => Hub::shared(redis),
        None => Hub::default(),
    };
    Ok(MessageServiceServer::new(MessagesApi {
        social: social.clone(),
        store: Store::new(social.db.clone()),
        hub,
    }))
}

fn rows(rows: Vec<MessageRow>) -> Vec<pb::Message> {
    rows.into_iter().map(pb::Message::from).collect()
}

impl MessagesApi {
    async fn send(
        &self,
        sender: Principal,
        req: pb::SendMessageRequest,
    ) -> ServiceResult<pb::Message> {
        let sender_id = sender.user_id.as_str();
        let recipient_id = req.to_user_id.trim();
        if recipient_id.is_empty() {
            return Err(ServiceError::invalid(
                "to_user_id",
                "name the friend to message",
            ));
        }
        tokshop_platform::limits::check_id("to_user_id", recipient_id)?;
        if recipient_id == sender_id {
            return Err(ServiceError::invalid(
                "to_user_id",
                "you cannot message yourself",
            ));
        }
        let text = self.social.policy.check("text", &req.text, 1, MAX_TEXT)?;
        let request_id = req.request_id.trim();
        if request_id.chars().count() > MAX_REQUEST_ID {
            return Err(ServiceError::invalid(
                "request_id",
                format!("request_id must be at most {MAX_REQUEST_ID} characters"),
            ));
        }
        self.social.directory.profile(recipient_id).await?;
        let sent: pb::Message = self
            .store
            .send(&NewMessage {
                sender_id,
                recipient_id,
                text: &text,
                request_id: non_empty(request_id),
            })
            .await?
            .into();
        self.hub.publish(&sent);
        Ok(sent)
    }

    async fn conversations(
        &self,
        user_id: &str,
        limit: i64,
    ) -> ServiceResult<Vec<pb::Conversation>> {
        let latest = self.store.latest_per_conversation(user_id, limit).await?;
        let others: Vec<String> = latest
            .iter()
            .map(|m| {
                if m.sender_id == user_id {
                    m.recipient_id.clone()
                } else {
                    m.sender_id.clone()
                }
            })
            .collect();
        let mut cards = self
            .social
            .directory
            .user_cards(Some(user_id), &others)
            .await?;
        Ok(latest
            .into_iter()
            .zip(others)
            .map(|(message, other)| pb::Conversation {
                // A user who has since gone still shows by id.
                with: Some(cards.remove(&other).unwrap_or_else(|| unknown_user(&other))),
                last_message: Some(message.into()),
            })
            .collect())
    }
}

type MessageStream = Pin<Box<dyn Stream<Item = Result<pb::Message, Status>> + Send>>;

impl MessagesApi {
    /// One page of the conversation between the caller and another user, newest first.
    async fn history(
        &self,
        caller: Principal,
        req: pb::ListMessagesRequest,
    ) -> ServiceResult<pb::ListMessagesResponse> {
        let with = req.with_user_id.trim();
        if with.is_empty() {
            return Err(ServiceError::invalid(
                "with_user_id",
                "name the user whose conversation to list",
            ));
        }
        let limit = page::limit(req.limit)?;
        let cursor = Cursor::decode(&req.cursor)?;
        let found = self
            .store
            .conversation(&caller.user_id, with, &cursor, limit + 1)
            .await?;
        let (found, next_cursor) = page::finish(found, limit, |m| (m.sent_at_ms, m.id.clone()));
        Ok(pb::ListMessagesResponse {
            messages: rows(found),
            next_cursor,
        })
    }

    async fn inbox(
        &self,
        caller: Principal,
        req: pb::ListConversationsRequest,
    ) -> ServiceResult<pb::ListConversationsResponse> {
        let limit = page::limit(req.limit)?;
        Ok(pb::ListConversationsResponse {
            conversations: self.conversations(&caller.user_id, limit).await?,
        })
    }

    /// The caller's inbox after `after_seq`, then each new message as it commits, until their token expires.
    async fn stream(
        &self,
        caller: Principal,
        req: pb::SubscribeRequest,
    ) -> ServiceResult<MessageStream> {
        let after_seq = req.after_seq;
        if after_seq < 0 {
            return Err(ServiceError::invalid(
                "after_seq",
                "after_seq must be 0 or more",
            ));
        }
        // Registered before the replay reads the database, so a message committed in between is not lost.
        let subscription = self.hub.subscribe(&caller.user_id);
        let store = self.store.clone();
        let user_id = caller.user_id.clone();
        let read_after = move |after: i64| {
            let store = store.clone();
            let user_id = user_id.clone();
            async move { store.inbox_after(&user_id, after).await.map(rows) }
        };
        let (out, received) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(hub::deliver(
            subscription,
            after_seq,
            read_after,
            out,
            self.hub.recheck(),
        ));
        Ok(Box::pin(until_expiry(received, caller.expires_at_ms)))
    }
}

#[tonic::async_trait]
impl MessageService for MessagesApi {
    async fn send_message(&self, request: Request<pb::SendMessageRequest>) -> Reply<pb::Message> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.send(caller, req)
        })
        .await
    }

    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Reply<pb::ListMessagesResponse> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.history(caller, req)
        })
        .await
    }

    async fn list_conversations(
        &self,
        request: Request<pb::ListConversationsRequest>,
    ) -> Reply<pb::ListConversationsResponse> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.inbox(caller, req)
        })
        .await
    }

    type SubscribeStream = MessageStream;

    async fn subscribe(&self, request: Request<pb::SubscribeRequest>) -> Reply<MessageStream> {
        signed_in(&self.social.keys, request, |caller, req| {
            self.stream(caller, req)
        })
        .await
    }
}

/// The inbox stream, ended when the subscriber's access token expires: a last `UNAUTHENTICATED` item says so, and
/// the client reconnects with a fresh token from the last seq it saw. A revoked or expired token never keeps a
/// live feed of someone's messages open. Dropping the receiver stops the delivery task.
fn until_expiry(
    received: mpsc::Receiver<ServiceResult<pb::Message>>,
    expires_at_ms: i64,
) -> impl Stream<Item = Result<pb::Message, Status>> + Send + 'static {
    let left = u64::try_from(expires_at_ms - tokshop_platform::time::now_ms()).unwrap_or(0);
    let expiry = Box::pin(tokio::time::sleep(std::time::Duration::from_millis(left)));
    futures::stream::unfold(
        (received, expiry, false),
        |(mut received, mut expiry, ended)| async move {
            if ended {
                return None;
            }
            tokio::select! {
                item = received.recv() => {
                    item.map(|item| (item.map_err(Status::from), (received, expiry, false)))
                }
                () = &mut expiry => Some((
                    Err(Status::unauthenticated(
                        "access token expired: reconnect with a fresh token and the last seq seen",
                    )),
                    (received, expiry, true),
                )),
            }
        },
    )
}
