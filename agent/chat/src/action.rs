//! What the agent records around a guarded tool call, written by the loop and read by the rule planner: the
//! proposal that stands in for the call's result, and (as the result of the `confirm_` call recorded afterwards)
//! the shopper's decision and how it ended. Stored conversations hold it as JSON, so its shape (field names, their
//! order, what is left out) stays as it is.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A proposal waiting for the shopper, or their decision on one, by its `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ActionRecord {
    /// A guarded call's result: nothing has happened yet; the action waits for the shopper's approval.
    ConfirmationRequired {
        #[serde(default)]
        pending_action_id: String,
        #[serde(default)]
        expires_in_seconds: i64,
        /// What the model is told about what happens next.
        #[serde(default)]
        note: String,
    },
    /// Approved, and it ran: `result` is the tool's own.
    Approved {
        #[serde(default)]
        result: Value,
    },
    /// Approved, but it did not go through: `result` is the tool's error.
    Failed {
        #[serde(default)]
        result: Value,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    /// The shopper said no; nothing was done.
    Rejected {
        #[serde(default)]
        result: Value,
    },
    /// Live state changed since the proposal: nothing was done, and a new proposal waits instead.
    Changed {
        #[serde(default)]
        result: Value,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
        #[serde(default)]
        new_pending_action_id: String,
    },
}

impl ActionRecord {
    /// The `status` it is recorded under.
    pub fn status(&self) -> &'static str {
        match self {
            ActionRecord::ConfirmationRequired { .. } => "confirmation_required",
            ActionRecord::Approved { .. } => "approved",
            ActionRecord::Failed { .. } => "failed",
            ActionRecord::Rejected { .. } => "rejected",
            ActionRecord::Changed { .. } => "changed",
        }
    }

    /// What a decided action's tool answered, or what the shop says in its place; `Null` for a proposal.
    pub fn result(&self) -> &Value {
        match self {
            ActionRecord::ConfirmationRequired { .. } => &Value::Null,
            ActionRecord::Approved { result }
            | ActionRecord::Failed { result, .. }
            | ActionRecord::Rejected { result }
            | ActionRecord::Changed { result, .. } => result,
        }
    }

    /// Why a decided action failed or changed ("" otherwise).
    pub fn reason(&self) -> &str {
        match self {
            ActionRecord::Failed { reason, .. } | ActionRecord::Changed { reason, .. } => reason,
            _ => "",
        }
    }

    /// The proposal made in place of a changed action ("" otherwise).
    pub fn new_pending_action_id(&self) -> &str {
        match self {
            ActionRecord::Changed {
                new_pending_action_id,
                ..
            } => new_pending_action_id,
            _ => "",
        }
    }

    /// The record as the JSON a tool message carries.
    pub fn to_json(&self) -> Value {
        // Strings, numbers and JSON values always serialize; the status alone is the fallback all the same.
        serde_json::to_value(self)
            .unwrap_or_else(|_| serde_json::json!({ "status": self.status() }))
    }

    /// `value` read as a record; `None` for anything else (a tool's own result).
    pub fn read(value: &Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::ActionRecord;

    /// `record` encodes as `written` did (the `json!` the loop used to build), byte for byte, and reads back.
    fn same_wire(record: &ActionRecord, written: Value) {
        assert_eq!(record.to_json().to_string(), written.to_string());
        assert_eq!(record.to_json()["status"], record.status());
        assert_eq!(ActionRecord::read(&written).as_ref(), Some(record));
    }

    #[test]
    fn records_keep_their_wire_form() {
        let note = "Nothing has happened yet.";
        same_wire(
            &ActionRecord::ConfirmationRequired {
                pending_action_id: "pa_1".into(),
                expires_in_seconds: 600,
                note: note.into(),
            },
            json!({"status": "confirmation_required", "pending_action_id": "pa_1",
                   "expires_in_seconds": 600, "note": note}),
        );
        let order = json!({"order": {"id": "ord_1"}});
        same_wire(
            &ActionRecord::Approved {
                result: order.clone(),
            },
            json!({"status": "approved", "result": order}),
        );
        let declined = json!({"error": "card_declined", "message": "the card was declined"});
        same_wire(
            &ActionRecord::Failed {
                result: declined.clone(),
                reason: "the card was declined".into(),
            },
            json!({"status": "failed", "result": declined, "reason": "the card was declined"}),
        );
        same_wire(
            &ActionRecord::Failed {
                result: json!({"error": "internal"}),
                reason: String::new(),
            },
            json!({"status": "failed", "result": {"error": "internal"}}),
        );
        let no = json!({"status": "rejected", "message": "the shopper said no; nothing was done"});
        same_wire(
            &ActionRecord::Rejected { result: no.clone() },
            json!({"status": "rejected", "result": no}),
        );
        let moved = json!({"status": "changed", "changed": "total"});
        same_wire(
            &ActionRecord::Changed {
                result: moved.clone(),
                reason: "changed since it was proposed: total".into(),
                new_pending_action_id: "pa_2".into(),
            },
            json!({"status": "changed", "result": moved,
                   "reason": "changed since it was proposed: total", "new_pending_action_id": "pa_2"}),
        );
    }

    /// Field order is declaration order whatever the JSON map keeps, so the stored text starts with the status.
    #[test]
    fn the_status_comes_first() {
        let record = ActionRecord::Changed {
            result: json!({}),
            reason: "r".into(),
            new_pending_action_id: "pa_2".into(),
        };
        assert_eq!(
            serde_json::to_string(&record).ok().as_deref(),
            Some(r#"{"status":"changed","result":{},"reason":"r","new_pending_action_id":"pa_2"}"#)
        );
    }

    #[test]
    fn a_tools_own_result_is_no_record() {
        assert_eq!(
            ActionRecord::read(&json!({"order": {"status": "paid"}})),
            None
        );
        assert_eq!(ActionRecord::read(&json!({"status": "paid"})), None);
        assert_eq!(ActionRecord::read(&json!("confirmation_required")), None);
    }
}
