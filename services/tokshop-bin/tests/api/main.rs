//! End-to-end tests of the REST API against the real services, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod contract;

mod abuse;
mod addresses;
mod agent;
mod agent_limits;
mod approvals;
mod auth;
mod cart;
mod catalog;
mod catalog_cache;
mod chat;
mod distributed;
mod grpc;
mod hardening;
mod idempotency;
mod ops;
mod orders;
mod payments;
mod search;
mod shared_limits;
mod shop;
mod social_events;
mod social_interactions;
mod social_media;
mod social_messages;
mod social_posts;
mod social_relations;
mod stock;
