//! Asking to return units of a delivered order.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokshop_proto::order as pb;

use super::{Item, fetch};
use crate::{
    ToolContext, ToolError,
    guard::{Effect, GuardedTool, Lang, block, quote},
    view,
};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnArgs {
    pub order_id: String,
    pub lines: Vec<Item>,
    pub reason: String,
}
pub struct RequestReturn;

/// A return request as the orders service recorded it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Return {
    pub id: String,
    pub status: String,
    pub amount: String,
}

/// `request_return`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ReturnResult {
    #[serde(rename = "return")]
    pub request: Return,
}

/// Longest return reason, in characters: it is shown in full in the summary.
const RETURN_REASON_CHARS: usize = 500;

/// A line to return, as approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub variant_id: String,
    pub title: String,
    pub quantity: i64,
}

/// A return request as approved: which units of which order, and the shopper's reason in their words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnEffect {
    pub order_id: String,
    pub lines: Vec<ReturnLine>,
    pub reason: String,
}

impl Effect for ReturnEffect {
    fn describe(&self, lang: Lang) -> String {
        let lines: Vec<String> = self
            .lines
            .iter()
            .map(|l| format!("{} × {}", l.quantity, quote(&l.title, 80)))
            .collect();
        match lang {
            Lang::En => format!(
                "Ask to return {} from order {}, with this reason sent to the seller in your name:\n{}\n",
                lines.join(", "),
                self.order_id,
                block(&self.reason)
            ),
            Lang::Zh => format!(
                "申请退货：订单 {} 的 {}，并以你的名义向卖家说明原因：\n{}\n",
                self.order_id,
                lines.join("、"),
                block(&self.reason)
            ),
        }
    }
}

#[async_trait::async_trait]
impl GuardedTool for RequestReturn {
    type Args = ReturnArgs;
    type Effect = ReturnEffect;
    type Output = ReturnResult;
    const NAME: &'static str = "request_return";
    const DESCRIPTION: &'static str =
        "Return units of a delivered order; refunded once the shop accepts.";

    async fn effect(
        &self,
        ctx: &ToolContext,
        args: &ReturnArgs,
    ) -> Result<ReturnEffect, ToolError> {
        let order = fetch(ctx, &args.order_id).await?;
        let reason = args.reason.trim();
        if reason.is_empty() || reason.chars().count() > RETURN_REASON_CHARS {
            return Err(ToolError::invalid_arguments(format!(
                "give the shopper's reason, 1 to {RETURN_REASON_CHARS} characters"
            ))
            .with_param("reason"));
        }
        let mut lines = Vec::new();
        for line in &args.lines {
            let bought = order
                .lines
                .iter()
                .find(|l| l.variant_id == line.variant_id)
                .ok_or_else(|| {
                    ToolError::new(
                        "line_not_found",
                        format!("{} is not in order {}", line.variant_id, order.id),
                    )
                    .with_param("lines")
                })?;
            lines.push(ReturnLine {
                variant_id: line.variant_id.clone(),
                title: bought.title.clone(),
                quantity: line.quantity,
            });
        }
        if lines.is_empty() {
            return Err(
                ToolError::invalid_arguments("give the lines to return").with_param("lines")
            );
        }
        Ok(ReturnEffect {
            order_id: order.id.clone(),
            lines,
            reason: reason.to_owned(),
        })
    }

    async fn commit(
        &self,
        ctx: &ToolContext,
        effect: ReturnEffect,
    ) -> Result<Self::Output, ToolError> {
        let request = ctx.request(pb::RequestReturnRequest {
            order_id: effect.order_id,
            lines: effect
                .lines
                .into_iter()
                .map(|l| pb::LineChoice {
                    variant_id: l.variant_id,
                    quantity: l.quantity,
                })
                .collect(),
            reason: effect.reason,
        });
        let created = ctx
            .clients
            .orders
            .clone()
            .request_return(request)
            .await?
            .into_inner();
        Ok(ReturnResult {
            request: Return {
                id: created.id,
                status: created.status,
                amount: view::money(created.amount.as_ref()),
            },
        })
    }
}
