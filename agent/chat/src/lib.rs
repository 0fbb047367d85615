//! What the agent's loop, its model backends and the rule planner share, below all of them so none depends on
//! another: the conversation as models see it and the model trait ([`model`]), what a shopper's message says
//! about the one action waiting for their approval ([`approval`]), which the agent's guard acts on and the rule
//! planner recognises, and the record of a proposal and its decision that the loop writes and the planner reads
//! ([`action`]).

pub mod action;
pub mod approval;
pub mod model;
