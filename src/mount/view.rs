//! The merged view of the mounts a principal may see: their tools, resources, templates
//! and prompts as listed, and which mount serves an exposed name or URI.

use std::sync::Arc;

use rmcp::model::{Prompt, Resource, ResourceTemplate, Tool};

use super::{Catalog, Mount, Mounts, names};
use crate::model::Principal;

impl Mounts {
    /// The mounted tools `who` may see, as listed.
    pub fn tools(&self, who: &Principal) -> Vec<Tool> {
        self.collect(who, |c| c.tools.clone())
    }

    /// The mounted resources `who` may see, as listed.
    pub fn resources(&self, who: &Principal) -> Vec<Resource> {
        self.collect(who, |c| c.resources.clone())
    }

    /// The mounted resource templates `who` may see, as listed.
    pub fn templates(&self, who: &Principal) -> Vec<ResourceTemplate> {
        self.collect(who, |c| c.templates.clone())
    }

    /// The mounted prompts `who` may see, as listed.
    pub fn prompts(&self, who: &Principal) -> Vec<Prompt> {
        self.collect(who, |c| c.prompts.clone())
    }

    fn collect<T>(&self, who: &Principal, items: impl Fn(&Catalog) -> Vec<T>) -> Vec<T> {
        let entries = self.shared.read();
        let visible = entries.iter().filter(|m| m.ownership.allows(who));
        visible.flat_map(|m| items(&m.catalog())).collect()
    }

    /// The mount serving the exposed tool `name` to `who`, and the child's name for it.
    pub fn route_tool(&self, name: &str, who: &Principal) -> Option<(Arc<Mount>, String)> {
        self.find(who, |c| c.tool_names.get(name).cloned())
    }

    /// The mount serving the exposed prompt `name` to `who`, and the child's name for it.
    pub fn route_prompt(&self, name: &str, who: &Principal) -> Option<(Arc<Mount>, String)> {
        self.find(who, |c| c.prompt_names.get(name).cloned())
    }

    /// The mount serving the exposed resource template `template` to `who` (for
    /// completions).
    pub fn route_template(&self, template: &str, who: &Principal) -> Option<(Arc<Mount>, String)> {
        self.find(who, |c| c.template_uris.get(template).cloned())
    }

    /// The mount serving resource `uri` to `who`, and the child's URI: a listed resource,
    /// or one under a named mount's prefix (from a template), or an unnamed mount's own URI.
    pub fn route_resource(&self, uri: &str, who: &Principal) -> Option<(Arc<Mount>, String)> {
        if let Some(found) = self.find(who, |c| c.resource_uris.get(uri).cloned()) {
            return Some(found);
        }
        let entries = self.shared.read();
        let visible = || entries.iter().filter(|m| m.ownership.allows(who));
        if let Some((name, original)) = names::split_uri(uri)
            && let Some(mount) = visible().find(|m| m.name.as_deref() == Some(name))
        {
            return Some((mount.clone(), original));
        }
        visible()
            .find(|m| m.name.is_none())
            .map(|m| (m.clone(), uri.to_owned()))
    }

    fn find(
        &self,
        who: &Principal,
        lookup: impl Fn(&Catalog) -> Option<String>,
    ) -> Option<(Arc<Mount>, String)> {
        let entries = self.shared.read();
        let mut visible = entries.iter().filter(|m| m.ownership.allows(who));
        visible.find_map(|m| lookup(&m.catalog()).map(|original| (m.clone(), original)))
    }
}
