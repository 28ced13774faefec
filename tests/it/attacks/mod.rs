//! The attack suite (issue "Safe to expose, for real"): each test is one attack that got
//! through once, now refused with an error that names the fix, and nothing left behind.

mod child_tokens;
mod children;
mod exhaustion;
mod listings;
mod sandbox;
mod tenants;
mod url_mounts;
