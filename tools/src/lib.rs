//! Every backend operation the shopping agent can use, as a typed function tool. A tool is a Rust argument type
//! with a schemars-derived JSON schema, a short exact description, and a call to the real gRPC service made as
//! the signed-in shopper. Adding one is local: write a [`TypedTool`] in the module of its service and list it in
//! [`Registry::shop`]. The catalogue, arguments and result shapes are in `tools/README.md`.

mod account;
mod cart;
mod catalog;
mod coupons;
mod error;
mod orders;
mod payments;
mod social;
mod view;

use std::{collections::BTreeMap, sync::Arc};

use schemars::{JsonSchema, generate::SchemaSettings};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokshop_platform::auth::authorized;
use tokshop_platform::grpc::GrpcChannel;
use tokshop_proto::{
    cart::cart_service_client::CartServiceClient,
    catalog::catalog_service_client::CatalogServiceClient,
    identity::identity_service_client::IdentityServiceClient,
    order::{coupon_service_client::CouponServiceClient, order_service_client::OrderServiceClient},
    payment::payment_service_client::PaymentServiceClient,
    social::{
        interaction_service_client::InteractionServiceClient,
        message_service_client::MessageServiceClient, post_service_client::PostServiceClient,
        relation_service_client::RelationServiceClient,
    },
};

pub use error::ToolError;

/// gRPC clients of every service the tools call; clones share the channels.
#[derive(Clone, Debug)]
pub struct Clients {
    pub identity: IdentityServiceClient<GrpcChannel>,
    pub catalog: CatalogServiceClient<GrpcChannel>,
    pub cart: CartServiceClient<GrpcChannel>,
    pub orders: OrderServiceClient<GrpcChannel>,
    pub coupons: CouponServiceClient<GrpcChannel>,
    pub payments: PaymentServiceClient<GrpcChannel>,
    pub relations: RelationServiceClient<GrpcChannel>,
    pub interactions: InteractionServiceClient<GrpcChannel>,
    pub posts: PostServiceClient<GrpcChannel>,
    pub messages: MessageServiceClient<GrpcChannel>,
}

impl Clients {
    /// From the channels to identity, catalog, cart, the orders service (orders, coupons, payments) and the
    /// social service (relations, interactions, posts, messages).
    pub fn new(
        identity: GrpcChannel,
        catalog: GrpcChannel,
        cart: GrpcChannel,
        orders: GrpcChannel,
        social: GrpcChannel,
    ) -> Self {
        Self {
            identity: IdentityServiceClient::new(identity),
            catalog: CatalogServiceClient::new(catalog),
            cart: CartServiceClient::new(cart),
            orders: OrderServiceClient::new(orders.clone()),
            coupons: CouponServiceClient::new(orders.clone()),
            payments: PaymentServiceClient::new(orders),
            relations: RelationServiceClient::new(social.clone()),
            interactions: InteractionServiceClient::new(social.clone()),
            posts: PostServiceClient::new(social.clone()),
            messages: MessageServiceClient::new(social),
        }
    }
}

/// Who a tool acts for: the shopper's own access token, forwarded to every service, which checks it.
#[derive(Clone, Debug)]
pub struct ToolContext {
    pub clients: Clients,
    token: String,
    /// The shop's currency, for price filters given in major units.
    pub currency: String,
    /// Prefix of request ids for consequential calls, so a retried action never acts twice.
    pub request_id: String,
}

impl ToolContext {
    pub fn new(clients: Clients, token: String, currency: String, request_id: String) -> Self {
        Self {
            clients,
            token,
            currency,
            request_id,
        }
    }

    /// `message` as a gRPC request made as the shopper.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        authorized(message, Some(&self.token))
    }
}

/// A tool with typed arguments. Implement this; [`Tool`] (what the agent uses) comes with it.
#[async_trait::async_trait]
pub trait TypedTool: Send + Sync + 'static {
    type Args: DeserializeOwned + JsonSchema + Send + Sync;
    const NAME: &'static str;
    const DESCRIPTION: &'static str;
    /// Consequential tools run only after the shopper approves (the agent's confirmation guard).
    const CONSEQUENTIAL: bool = false;

    async fn run(&self, ctx: &ToolContext, args: Self::Args) -> Result<Value, ToolError>;

    /// For consequential tools: what the shopper approves, in words ("Pay 59.90 USD for order ... with wallet").
    /// Checking the arguments here means a pending action never exists for an order that does not.
    async fn summary(&self, _ctx: &ToolContext, _args: &Self::Args) -> Result<String, ToolError> {
        Ok(format!("Run {}", Self::NAME))
    }
}

/// A tool as the agent sees it: name, description, JSON schema, and calls on untyped JSON arguments.
#[async_trait::async_trait]
pub trait Tool: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn parameters(&self) -> Value;
    fn consequential(&self) -> bool;
    /// Checks the arguments without acting.
    fn check(&self, args: &Value) -> Result<(), ToolError>;
    async fn summarize(&self, ctx: &ToolContext, args: &Value) -> Result<String, ToolError>;
    /// Runs the tool; a failure is a structured result (`{"error": ...}`), never a panic.
    async fn call(&self, ctx: &ToolContext, args: &Value) -> Result<Value, ToolError>;
}

fn parse<A: DeserializeOwned>(args: &Value) -> Result<A, ToolError> {
    // A model that sends no arguments for a tool without any means an empty object.
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args.clone()
    };
    serde_json::from_value(args).map_err(|err| ToolError::invalid_arguments(err.to_string()))
}

/// The JSON schema of `T` as function-calling APIs want it: subschemas inlined, no `$schema` or `title`.
pub fn schema_of<T: JsonSchema>() -> Value {
    let schema = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.remove("$schema");
        object.remove("title");
    }
    value
}

#[async_trait::async_trait]
impl<T: TypedTool> Tool for T {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn description(&self) -> &'static str {
        T::DESCRIPTION
    }

    fn parameters(&self) -> Value {
        schema_of::<T::Args>()
    }

    fn consequential(&self) -> bool {
        T::CONSEQUENTIAL
    }

    fn check(&self, args: &Value) -> Result<(), ToolError> {
        parse::<T::Args>(args).map(|_| ())
    }

    async fn summarize(&self, ctx: &ToolContext, args: &Value) -> Result<String, ToolError> {
        let args = parse::<T::Args>(args)?;
        self.summary(ctx, &args).await
    }

    async fn call(&self, ctx: &ToolContext, args: &Value) -> Result<Value, ToolError> {
        let args = parse::<T::Args>(args)?;
        self.run(ctx, args).await
    }
}

/// The tools on offer, by name.
#[derive(Clone, Default)]
pub struct Registry {
    tools: BTreeMap<&'static str, Arc<dyn Tool>>,
}

impl Registry {
    /// Every shopping tool.
    pub fn shop() -> Self {
        let mut registry = Self::default();
        catalog::register(&mut registry);
        cart::register(&mut registry);
        coupons::register(&mut registry);
        orders::register(&mut registry);
        payments::register(&mut registry);
        account::register(&mut registry);
        social::register(&mut registry);
        registry
    }

    pub fn add(&mut self, tool: impl Tool + 'static) {
        self.tools.insert(tool.name(), Arc::new(tool));
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Tool>> {
        self.tools.values()
    }

    pub fn len(&self) -> usize {
        self.tools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_a_clean_object_schema() {
        let registry = Registry::shop();
        assert_eq!(registry.len(), 37);
        for tool in registry.iter() {
            let schema = tool.parameters();
            assert_eq!(schema["type"], "object", "{}", tool.name());
            assert!(schema.get("$schema").is_none() && schema.get("title").is_none());
            assert!(
                !schema.to_string().contains("$ref"),
                "{} inlines its subschemas",
                tool.name()
            );
            assert!(
                tool.description().len() <= 160,
                "{} description is short",
                tool.name()
            );
        }
        let search = registry.get("search_products").unwrap().parameters();
        assert_eq!(
            search["properties"]["sort"]["enum"],
            serde_json::json!(["relevance", "price_asc", "price_desc", "newest", null])
        );
        let pay = registry.get("pay_order").unwrap().parameters();
        assert_eq!(
            pay["required"],
            serde_json::json!(["order_id", "payment_method_id"])
        );
        let consequential: Vec<&str> = registry
            .iter()
            .filter(|t| t.consequential())
            .map(|t| t.name())
            .collect();
        assert_eq!(
            consequential,
            [
                "cancel_order",
                "change_order_address",
                "checkout",
                "claim_coupon",
                "comment",
                "confirm_receipt",
                "follow_user",
                "pay_order",
                "request_return",
                "send_message"
            ]
        );
    }

    #[test]
    fn bad_arguments_are_structured_errors() {
        let registry = Registry::shop();
        let err = registry
            .get("add_to_cart")
            .unwrap()
            .check(&serde_json::json!({"variant_id": 5}))
            .unwrap_err();
        assert_eq!(err.code, "invalid_arguments");
        assert!(
            registry
                .get("view_cart")
                .unwrap()
                .check(&Value::Null)
                .is_ok()
        );
    }
}
