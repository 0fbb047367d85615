//! Our [`ModelRequest`] as rig-core's chat-completions request: the system prompt, the conversation (tool calls
//! and the results that answer them), the tools and the output cap.

use rig_core::completion::{CompletionRequest, ToolDefinition};
use rig_core::message::{
    AssistantContent, AssistantMessage, CallId, Message, ToolName, ToolResultContent, UserContent,
};

use crate::model::{ChatMessage, ModelError, ModelRequest, Role};

/// The request as rig-core's wire takes it: the system prompt as the leading system message, then
/// the conversation, the tools and the output cap.
pub(super) fn completion_request(request: &ModelRequest) -> Result<CompletionRequest, ModelError> {
    let mut history = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.trim().is_empty() {
        history.push(Message::system(request.system.clone()));
    }
    for (at, message) in request.messages.iter().enumerate() {
        let earlier = request.messages.get(..at).unwrap_or_default();
        history.extend(rig_message(message, earlier)?);
    }
    let Some(first) = history.first().cloned() else {
        return Err(ModelError::Other(
            "a model request needs a system prompt or at least one message".to_owned(),
        ));
    };
    let tools = request
        .tools
        .iter()
        .map(|tool| {
            Ok(ToolDefinition::new(
                tool_name(&tool.name)?,
                tool.description.clone(),
                tool.parameters.clone(),
            ))
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let mut completion = CompletionRequest::new(first)
        .tools(tools)
        .max_tokens(request.max_output_tokens.map(u64::from));
    completion.chat_history = history;
    Ok(completion)
}

/// One of our messages as rig-core's; an assistant message with neither text nor calls says
/// nothing and is left out, as chat-completions servers reject it. `earlier` is the conversation
/// before it, where a tool result without a name finds the call it answers.
fn rig_message(
    message: &ChatMessage,
    earlier: &[ChatMessage],
) -> Result<Option<Message>, ModelError> {
    Ok(match message.role {
        Role::User => Some(Message::user(message.content.clone())),
        Role::Assistant => assistant_message(message)?,
        Role::Tool => Some(tool_result(message, earlier)?),
    })
}

fn assistant_message(message: &ChatMessage) -> Result<Option<Message>, ModelError> {
    let mut content = Vec::with_capacity(message.tool_calls.len() + 1);
    if !message.content.is_empty() {
        content.push(AssistantContent::text(message.content.clone()));
    }
    for call in &message.tool_calls {
        // Arguments that were never a JSON object (kept as the model's raw text) go back as the
        // part of an object that could be read, or `{}`.
        content.push(AssistantContent::tool_call(
            call.id.clone(),
            tool_name(&call.name)?,
            call.arguments.clone(),
        ));
    }
    Ok((!content.is_empty()).then(|| Message::Assistant(AssistantMessage::new(content))))
}

/// A tool's result, answering the call with the same id; its content is the tool's JSON as text.
fn tool_result(message: &ChatMessage, earlier: &[ChatMessage]) -> Result<Message, ModelError> {
    let id = message
        .tool_call_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ModelError::Other("a tool result message names no tool call id".to_owned())
        })?;
    let name = match &message.tool_name {
        Some(name) => name.clone(),
        None => called_tool(id, earlier).ok_or_else(|| {
            ModelError::Other(format!(
                "the tool result for call `{id}` names no tool and answers no earlier call"
            ))
        })?,
    };
    Ok(Message::User {
        content: vec![UserContent::tool_result(
            CallId::from_wire(id),
            tool_name(&name)?,
            vec![ToolResultContent::text(message.content.clone())],
        )],
    })
}

/// The name of the tool the assistant called with `id`, latest call first.
fn called_tool(id: &str, earlier: &[ChatMessage]) -> Option<String> {
    earlier
        .iter()
        .rev()
        .flat_map(|message| message.tool_calls.iter())
        .find(|call| call.id == id)
        .map(|call| call.name.clone())
}

fn tool_name(name: &str) -> Result<ToolName, ModelError> {
    ToolName::new(name).map_err(|_| ModelError::Other("a tool has an empty name".to_owned()))
}
