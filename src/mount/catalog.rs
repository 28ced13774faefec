//! What one mounted child offers, under the names the meta-server shows: its tools,
//! resources, resource templates and prompts, and the way back to the child's names.

use std::collections::HashMap;

use rmcp::{
    model::{Prompt, Resource, ResourceTemplate, Tool},
    service::ServiceError,
};

use super::names::{expose, prefix_uri};
use crate::{model::ToolSelection, upstream::Upstream};

/// A mounted child's lists, renamed for the meta-server.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    /// Tools with their exposed names, in the child's order.
    pub tools: Vec<Tool>,
    /// Exposed tool name → the child's tool name.
    pub tool_names: HashMap<String, String>,
    /// The child's tools the mount's selection leaves out, by the child's names.
    pub unselected: Vec<String>,
    /// Resources with exposed URIs.
    pub resources: Vec<Resource>,
    /// Exposed resource URI → the child's URI.
    pub resource_uris: HashMap<String, String>,
    /// Resource templates with exposed URI templates.
    pub templates: Vec<ResourceTemplate>,
    /// Exposed template → the child's template (for completions).
    pub template_uris: HashMap<String, String>,
    /// Prompts with exposed names.
    pub prompts: Vec<Prompt>,
    /// Exposed prompt name → the child's prompt name.
    pub prompt_names: HashMap<String, String>,
}

impl Catalog {
    /// Fetches the lists the child advertises, renaming them for mount `name`, with only
    /// the tools `selection` keeps, under the names it gives them.
    ///
    /// # Errors
    /// The child's error for any list it advertises but cannot produce.
    pub async fn fetch(
        upstream: &Upstream,
        name: Option<&str>,
        selection: &ToolSelection,
    ) -> Result<Self, ServiceError> {
        let capabilities = &upstream.info().capabilities;
        let peer = upstream.peer();
        let mut catalog = Self::default();
        if capabilities.tools.is_some() {
            for mut tool in peer.list_all_tools().await? {
                if !selection.keeps(&tool.name) {
                    catalog.unselected.push(tool.name.to_string());
                    continue;
                }
                let exposed = expose(name, selection.renamed(&tool.name));
                catalog
                    .tool_names
                    .insert(exposed.clone(), tool.name.to_string());
                tool.name = exposed.into();
                catalog.tools.push(tool);
            }
        }
        if capabilities.resources.is_some() {
            for mut resource in peer.list_all_resources().await? {
                let exposed = rename_uri(name, &resource.uri);
                catalog.resource_uris.insert(
                    exposed.clone(),
                    std::mem::replace(&mut resource.uri, exposed),
                );
                catalog.resources.push(resource);
            }
            for mut template in peer.list_all_resource_templates().await? {
                let exposed = rename_uri(name, &template.uri_template);
                let original = std::mem::replace(&mut template.uri_template, exposed.clone());
                catalog.template_uris.insert(exposed, original);
                catalog.templates.push(template);
            }
        }
        if capabilities.prompts.is_some() {
            for mut prompt in peer.list_all_prompts().await? {
                let exposed = expose(name, &prompt.name);
                catalog.prompt_names.insert(
                    exposed.clone(),
                    std::mem::replace(&mut prompt.name, exposed),
                );
                catalog.prompts.push(prompt);
            }
        }
        Ok(catalog)
    }

    /// Every tool the child offers, by its own name: those kept and those left out.
    pub fn offered(&self) -> Vec<&str> {
        let kept = self.tool_names.values().map(String::as_str);
        let mut offered: Vec<&str> = kept
            .chain(self.unselected.iter().map(String::as_str))
            .collect();
        offered.sort_unstable();
        offered
    }

    /// Drops the tools and prompts whose exposed names are taken elsewhere, returning a
    /// description of each (`tool x`, `prompt y`).
    pub fn remove_taken(
        &mut self,
        tool_taken: &dyn Fn(&str) -> bool,
        prompt_taken: &dyn Fn(&str) -> bool,
    ) -> Vec<String> {
        let tools: Vec<String> = self
            .tools
            .iter()
            .map(|t| t.name.to_string())
            .filter(|n| tool_taken(n))
            .collect();
        let prompts: Vec<String> = self
            .prompts
            .iter()
            .map(|p| p.name.clone())
            .filter(|n| prompt_taken(n))
            .collect();
        self.tools
            .retain(|tool| !tools.iter().any(|t| *t == tool.name));
        self.tool_names
            .retain(|exposed, _| !tools.contains(exposed));
        self.prompts
            .retain(|prompt| !prompts.contains(&prompt.name));
        self.prompt_names
            .retain(|exposed, _| !prompts.contains(exposed));
        let tools = tools.into_iter().map(|t| format!("tool {t}"));
        tools
            .chain(prompts.into_iter().map(|p| format!("prompt {p}")))
            .collect()
    }
}

/// A child's resource URI as the meta-server shows it.
pub fn rename_uri(mount: Option<&str>, uri: &str) -> String {
    match mount {
        Some(mount) => prefix_uri(mount, uri),
        None => uri.to_owned(),
    }
}
