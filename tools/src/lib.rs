//! Every backend operation the shopping agent can use, as a typed function tool. A tool is a Rust argument type
//! with a schemars-derived JSON schema, a short exact description, and a call to the real gRPC service made as
//! the signed-in shopper. Adding one is local: write a [`TypedTool`] in the module of its service and list it in
//! [`Registry::shop`]. The catalogue, arguments and result shapes are in `tools/README.md`.

pub mod account;
pub mod cart;
pub mod catalog;
pub mod coupons;
mod error;
pub mod guard;
pub mod orders;
pub mod payments;
pub mod social;
pub mod untrusted;
pub mod view;

#[cfg(test)]
mod budget_tests;
#[cfg(test)]
mod shapes_tests;

use std::{collections::BTreeMap, sync::Arc};

use schemars::{JsonSchema, generate::SchemaSettings};
use serde::{Serialize, de::DeserializeOwned};
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
pub use guard::{Effect, GuardedTool, Lang, Proposal};

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

/// A tool that reads, or changes nothing another guarded action relies on: it runs when the model calls it.
/// Implement this for read tools; consequential ones implement [`GuardedTool`].
#[async_trait::async_trait]
pub trait TypedTool: Send + Sync + 'static {
    type Args: DeserializeOwned + JsonSchema + Send + Sync;
    /// What the tool answers. The model sees it serialized as it is; the rule planner reads it back as this type.
    type Output: Serialize + DeserializeOwned + JsonSchema + Send;
    const NAME: &'static str;
    const DESCRIPTION: &'static str;

    async fn run(&self, ctx: &ToolContext, args: Self::Args) -> Result<Self::Output, ToolError>;
}

/// A tool as the agent sees it: name, description, JSON schema; read tools run on untyped JSON arguments, guarded
/// ones propose an effect and commit it only once approved.
#[async_trait::async_trait]
pub trait Tool: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn parameters(&self) -> Value;
    /// Guarded: runs only on the shopper's approval of its frozen effect.
    fn consequential(&self) -> bool;
    /// Checks the arguments without acting.
    fn check(&self, args: &Value) -> Result<(), ToolError>;
    /// Runs a read tool; a failure is a structured result (`{"error": ...}`), never a panic. A guarded tool
    /// refuses: it acts only through [`Tool::propose`] and [`Tool::commit`].
    async fn call(&self, ctx: &ToolContext, args: &Value) -> Result<Value, ToolError>;
    /// A guarded tool's effect on live state now, frozen, with its digest.
    async fn propose(&self, ctx: &ToolContext, args: &Value) -> Result<Proposal, ToolError>;
    /// What the shopper approves, rendered by the server from a frozen effect.
    fn describe(&self, effect: &Value, lang: Lang) -> Result<String, ToolError>;
    /// Carries out a frozen effect the shopper approved (and the agent re-checked against live state).
    async fn commit(&self, ctx: &ToolContext, effect: &Value) -> Result<Value, ToolError>;
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

/// A tool's typed result as the JSON the model reads.
fn shown<O: Serialize>(output: &O) -> Result<Value, ToolError> {
    serde_json::to_value(output).map_err(|err| ToolError::new("internal", err.to_string()))
}

fn stored_effect<E: DeserializeOwned>(effect: &Value) -> Result<E, ToolError> {
    serde_json::from_value(effect.clone())
        .map_err(|err| ToolError::new("invalid_effect", format!("unreadable stored effect: {err}")))
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
        // The arguments type's own doc comment: the tool's description and the fields' say it for the model.
        object.remove("description");
    }
    compact(&mut value);
    value
}

/// Takes out of a schema what costs the model tokens and tells it nothing: an optional field's `null` (leaving the
/// field out means the same, and the arguments are parsed by the same types either way), the storage details
/// schemars adds for integer types (`format`, and bounds that are only the type's: a `u8`'s 0 to 255), and
/// `additionalProperties: false` (the argument types refuse unknown fields themselves). A choice of constants
/// becomes a plain `enum`. Bounds that mean something, and the fields' descriptions, stay.
fn compact(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        if let Some(items) = schema.as_array_mut() {
            items.iter_mut().for_each(compact);
        }
        return;
    };
    if object.get("additionalProperties") == Some(&Value::Bool(false)) {
        object.remove("additionalProperties");
    }
    let constants: Option<Vec<Value>> = object
        .get("oneOf")
        .and_then(Value::as_array)
        .and_then(|choices| choices.iter().map(|c| c.get("const").cloned()).collect());
    if let Some(constants) = constants
        && constants.iter().all(Value::is_string)
    {
        object.remove("oneOf");
        object.insert("type".into(), Value::from("string"));
        object.insert("enum".into(), Value::Array(constants));
    }
    let required: Vec<String> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            if !required.contains(name) {
                drop_null(property);
            }
        }
    }
    if object.remove("format").is_some() {
        let type_bound = |key: &str, bounds: &[i64]| {
            object
                .get(key)
                .and_then(Value::as_i64)
                .is_some_and(|b| bounds.contains(&b))
        };
        if type_bound("minimum", &[0]) && type_bound("maximum", &[255, 65_535, 4_294_967_295]) {
            object.remove("minimum");
            object.remove("maximum");
        }
    }
    for value in object.values_mut() {
        compact(value);
    }
}

/// `"type": ["string", "null"]` -> `"type": "string"`, `null` out of an `enum`, and `anyOf: [X, null]` -> X.
fn drop_null(property: &mut Value) {
    let Some(object) = property.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(choices)) = object.get_mut("anyOf") {
        choices.retain(|c| c.get("type").and_then(Value::as_str) != Some("null"));
        if choices.len() == 1
            && let Some(Value::Object(only)) = choices.pop()
        {
            object.remove("anyOf");
            for (key, value) in only {
                object.entry(key).or_insert(value);
            }
        }
    }
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            object.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = object.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
}

fn not_guarded(name: &str) -> ToolError {
    ToolError::new(
        "not_guarded",
        format!("{name} runs directly; it has nothing to approve"),
    )
}

/// The part of [`Tool`] every registered tool has alike: its name, description, schema, class and argument check.
macro_rules! described {
    ($guarded:expr) => {
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
            $guarded
        }

        fn check(&self, args: &Value) -> Result<(), ToolError> {
            parse::<T::Args>(args).map(|_| ())
        }
    };
}

/// A read tool in the registry.
struct Read<T>(T);
/// A guarded tool in the registry.
struct Guarded<T>(T);

#[async_trait::async_trait]
impl<T: TypedTool> Tool for Read<T> {
    described!(false);

    async fn call(&self, ctx: &ToolContext, args: &Value) -> Result<Value, ToolError> {
        let args = parse::<T::Args>(args)?;
        shown(&self.0.run(ctx, args).await?)
    }

    async fn propose(&self, _: &ToolContext, _: &Value) -> Result<Proposal, ToolError> {
        Err(not_guarded(T::NAME))
    }

    fn describe(&self, _: &Value, _: Lang) -> Result<String, ToolError> {
        Err(not_guarded(T::NAME))
    }

    async fn commit(&self, _: &ToolContext, _: &Value) -> Result<Value, ToolError> {
        Err(not_guarded(T::NAME))
    }
}

#[async_trait::async_trait]
impl<T: GuardedTool> Tool for Guarded<T> {
    described!(true);

    async fn call(&self, _: &ToolContext, _: &Value) -> Result<Value, ToolError> {
        Err(ToolError::new(
            "approval_required",
            format!(
                "{} acts only on the shopper's approval of its proposal",
                T::NAME
            ),
        ))
    }

    async fn propose(&self, ctx: &ToolContext, args: &Value) -> Result<Proposal, ToolError> {
        let args = parse::<T::Args>(args)?;
        let effect = self.0.effect(ctx, &args).await?;
        Proposal::of(T::NAME, &effect)
    }

    fn describe(&self, effect: &Value, lang: Lang) -> Result<String, ToolError> {
        Ok(stored_effect::<T::Effect>(effect)?.describe(lang))
    }

    async fn commit(&self, ctx: &ToolContext, effect: &Value) -> Result<Value, ToolError> {
        let effect = stored_effect::<T::Effect>(effect)?;
        shown(&self.0.commit(ctx, effect).await?)
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

    /// A read tool: it runs when the model calls it.
    pub fn add(&mut self, tool: impl TypedTool) {
        let tool = Read(tool);
        self.tools.insert(tool.name(), Arc::new(tool));
    }

    /// A consequential tool: it runs only on the shopper's approval of its frozen effect.
    pub fn add_guarded(&mut self, tool: impl GuardedTool) {
        let tool = Guarded(tool);
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
            serde_json::json!(["relevance", "price_asc", "price_desc", "newest"])
        );
        // Compact: optional fields are not spelled nullable, integer storage details are gone, real bounds stay;
        // a model that still sends null for an optional field is understood.
        assert_eq!(
            search["properties"]["limit"],
            serde_json::json!({"description": "1 to 10; default 5.", "type": "integer"})
        );
        assert_eq!(search["properties"]["max_price"]["minimum"], 0);
        for tool in registry.iter() {
            let text = tool.parameters().to_string();
            assert!(
                !text.contains("null") && !text.contains("format"),
                "{}: {text}",
                tool.name()
            );
        }
        let tool = registry.get("search_products").unwrap();
        assert!(
            tool.check(&serde_json::json!({"sort": null, "limit": null}))
                .is_ok()
        );
        let feed = registry.get("view_feed").unwrap().parameters();
        assert_eq!(
            feed["properties"]["which"]["enum"],
            serde_json::json!(["following", "discover"]),
            "{feed}"
        );
        for tool in registry.iter() {
            let text = tool.parameters().to_string();
            assert!(!text.contains("additionalProperties"), "{text}");
        }
        // What the model is no longer told is still enforced.
        assert!(
            registry
                .get("view_cart")
                .unwrap()
                .check(&serde_json::json!({"extra": 1}))
                .is_err()
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
                "add_address",
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

    /// docs/SECURITY.md classifies every tool under the approval rule; a tool added without a decision there, or
    /// classified differently from the code, fails here.
    #[test]
    fn every_tool_has_a_written_approval_decision() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/SECURITY.md"))
                .unwrap();
        let mut decided = BTreeMap::new();
        for line in doc.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if let [_, tool, class, _why, _] = cells.as_slice()
                && let Some(tool) = tool.strip_prefix('`').and_then(|t| t.strip_suffix('`'))
            {
                decided.insert(tool.to_owned(), *class == "guarded");
            }
        }
        let registry = Registry::shop();
        for tool in registry.iter() {
            match decided.get(tool.name()) {
                None => panic!(
                    "{} has no approval decision in docs/SECURITY.md",
                    tool.name()
                ),
                Some(guarded) => assert_eq!(
                    *guarded,
                    tool.consequential(),
                    "{} is classified differently in docs/SECURITY.md",
                    tool.name()
                ),
            }
        }
        assert_eq!(
            decided.len(),
            registry.len(),
            "docs/SECURITY.md lists a tool that does not exist"
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
